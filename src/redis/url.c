/* SPDX-License-Identifier: Apache-2.0 */
#include "redis/url.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_MAX 4096

static const struct {
    const char *prefix;
    td_redis_scheme_t scheme;
    int def_port;
} schemes[] = {
    {"redis://", TD_REDIS_TCP, 6379},
    {"rediss://", TD_REDIS_TLS, 6379},
    {"unix://", TD_REDIS_UNIX, 0},
    {"redis+sentinel://", TD_REDIS_SENTINEL, 26379},
    {"redis+cluster://", TD_REDIS_CLUSTER, 6379},
};

/* The userinfo of the text after "://": up to its last '@', unless the text
 * starts with '/' (a unix path without credentials). NULL if none. */
static const char *userinfo_end(const char *rest)
{
    if (*rest == '/') return NULL;
    return strrchr(rest, '@');
}

size_t td_redis_url_mask(char *out, size_t cap, const char *url)
{
    const char *sep = strstr(url, "://");
    const char *rest = sep ? sep + 3 : url;
    const char *at = userinfo_end(rest);
    if (!at) return (size_t)snprintf(out, cap, "%s", url);
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    const char *keep_end = colon ? colon + 1 : rest; /* keep "user:" */
    return (size_t)snprintf(out, cap, "%.*s***%s", (int)(keep_end - url), url, at);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [s, s+n) into a new string; NULL if a %XX is invalid or
 * decodes to NUL. "" gives NULL too (*bad stays 0). */
static char *decode(const char *s, size_t n, int *bad)
{
    if (n == 0) return NULL;
    char *out = td_xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
        int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            free(out);
            *bad = 1;
            return NULL;
        }
        *o++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *o = '\0';
    return out;
}

static int parse_uint(const char *s, size_t n, long max, long *out)
{
    long v = 0;
    if (n == 0 || n > 9) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

/* One "host[:port]" or "[v6]:port" in [p, end). */
static int parse_node(td_redis_node_t *nd, const char *p, const char *end, int def_port)
{
    const char *hend, *colon;
    long port = def_port;
    if (p < end && *p == '[') {
        hend = memchr(p, ']', (size_t)(end - p));
        if (!hend || hend == p + 1) return -1;
        colon = hend + 1 < end ? hend + 1 : NULL;
        if (colon && *colon != ':') return -1;
        nd->host = td_xstrndup(p + 1, (size_t)(hend - p - 1));
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        hend = colon ? colon : end;
        if (hend == p) return -1;
        nd->host = td_xstrndup(p, (size_t)(hend - p));
    }
    if (strpbrk(nd->host, "/?#@[] ")) return -1;
    if (colon && (parse_uint(colon + 1, (size_t)(end - colon - 1), 65535, &port) || !port))
        return -1;
    if (!colon && def_port == 0) return -1; /* a bare host:port needs its port */
    nd->port = (int)port;
    return 0;
}

static int parse_nodes(td_redis_url_t *u, const char *p, const char *end, int def_port)
{
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        if (u->nnodes == TD_REDIS_URL_MAX_NODES) return -1;
        if (parse_node(&u->nodes[u->nnodes++], p, e, def_port) != 0) return -1;
        if (comma && comma + 1 == end) return -1;
        p = comma ? comma + 1 : end;
    }
    return u->nnodes ? 0 : -1;
}

static int parse_db(const char *p, size_t n, int *db)
{
    long v;
    if (n == 0) return 0;
    if (parse_uint(p, n, 100000, &v) != 0) return -1;
    *db = (int)v;
    return 0;
}

/* unix: "/path[?db=N]" */
static int parse_unix(td_redis_url_t *u, const char *p)
{
    const char *q = strchr(p, '?');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n < 2 || *p != '/') return -1;
    u->path = td_xstrndup(p, n);
    if (!q) return 0;
    if (strncmp(q + 1, "db=", 3) != 0) return -1;
    return parse_db(q + 4, strlen(q + 4), &u->db) != 0 || !q[4] ? -1 : 0;
}

/* After the userinfo: by scheme. */
static int parse_rest(td_redis_url_t *u, const char *p, int def_port, int bare)
{
    if (u->scheme == TD_REDIS_UNIX) return parse_unix(u, p);
    const char *slash = strchr(p, '/'), *end = slash ? slash : p + strlen(p);
    if (strchr(p, '?')) return -1;
    if (parse_nodes(u, p, end, bare ? 0 : def_port) != 0) return -1;
    if (u->scheme != TD_REDIS_SENTINEL && u->scheme != TD_REDIS_CLUSTER && u->nnodes != 1)
        return -1;
    if (!slash) return u->scheme == TD_REDIS_SENTINEL ? -1 : 0;
    if (bare) return -1;
    const char *s = slash + 1;
    if (u->scheme == TD_REDIS_CLUSTER) return *s ? -1 : 0;
    if (u->scheme == TD_REDIS_SENTINEL) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0) return -1;
        u->master = td_xstrndup(s, n);
        if (!e) return 0;
        s = e + 1;
    }
    return parse_db(s, strlen(s), &u->db);
}

static int parse_userinfo(td_redis_url_t *u, const char *rest, const char *at)
{
    int bad = 0;
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    if (colon) {
        u->user = decode(rest, (size_t)(colon - rest), &bad);
        if (!bad) u->pass = decode(colon + 1, (size_t)(at - colon - 1), &bad);
    } else {
        u->pass = decode(rest, (size_t)(at - rest), &bad);
    }
    return bad ? -1 : 0;
}

int td_redis_url_parse(td_redis_url_t *u, const char *url, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    u->db = -1;
    size_t len = strlen(url), mlen = td_redis_url_mask(NULL, 0, url);
    u->masked = td_xmalloc(mlen + 1);
    td_redis_url_mask(u->masked, mlen + 1, url);
    int def_port = 0, bare = 1;
    const char *rest = url;
    for (size_t i = 0; i < TD_ARRAY_LEN(schemes); i++) {
        size_t n = strlen(schemes[i].prefix);
        if (strncmp(url, schemes[i].prefix, n) == 0) {
            u->scheme = schemes[i].scheme;
            def_port = schemes[i].def_port;
            rest = url + n;
            bare = 0;
        }
    }
    if (bare && strstr(url, "://")) {
        snprintf(err, errlen,
                 "unsupported Redis URL '%s' (redis://, rediss://, unix://, redis+sentinel://, "
                 "redis+cluster://)",
                 u->masked);
        return -1;
    }
    const char *at = userinfo_end(rest);
    if (len > URL_MAX || (at && parse_userinfo(u, rest, at) != 0) ||
        parse_rest(u, at ? at + 1 : rest, def_port, bare) != 0) {
        snprintf(err, errlen, "invalid Redis URL '%s'", u->masked);
        return -1;
    }
    return 0;
}

void td_redis_url_free(td_redis_url_t *u)
{
    for (size_t i = 0; i < u->nnodes; i++)
        free(u->nodes[i].host);
    free(u->user);
    free(u->pass);
    free(u->path);
    free(u->master);
    free(u->masked);
    memset(u, 0, sizeof *u);
    u->db = -1;
}

const char *td_redis_node_name(const td_redis_node_t *n, char *out, size_t cap)
{
    int v6 = strchr(n->host, ':') != NULL;
    snprintf(out, cap, v6 ? "[%s]:%d" : "%s:%d", n->host, n->port);
    return out;
}
