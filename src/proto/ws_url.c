/* SPDX-License-Identifier: Apache-2.0 */
#include "proto/ws_url.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *dup_n(const char *p, size_t n)
{
    char *s = td_xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* The host at p up to the first '/', '?' or end: [host, host + *hn) and the
 * port text after a ':' (NULL if none). Returns the end of the authority,
 * or NULL if it is malformed. */
static const char *authority(const char *p, const char **host, size_t *hn, const char **port,
                             size_t *pn)
{
    const char *end = p + strcspn(p, "/?#");
    const char *hend;
    *port = NULL;
    *pn = 0;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close) return NULL;
        *host = p + 1, *hn = (size_t)(close - p - 1);
        hend = close + 1;
        if (hend < end && *hend != ':') return NULL;
    } else {
        hend = memchr(p, ':', (size_t)(end - p));
        if (!hend) hend = end;
        *host = p, *hn = (size_t)(hend - p);
    }
    if (hend < end) *port = hend + 1, *pn = (size_t)(end - hend - 1);
    return end;
}

static int parse_port(const char *p, size_t n)
{
    if (n == 0 || n > 5) return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v >= 1 && v <= 65535 ? v : -1;
}

static int fail(td_ws_url_t *u, char *err, size_t errlen, const char *url, const char *why)
{
    snprintf(err, errlen, "bad upstream URL '%.200s': %s", url, why);
    td_ws_url_free(u);
    return -1;
}

int td_ws_url_parse(td_ws_url_t *u, const char *url, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= ' ' || *c == 0x7f) return fail(u, err, errlen, url, "spaces or control bytes");
    const char *p;
    if (strncasecmp(url, "ws://", 5) == 0)
        p = url + 5;
    else if (strncasecmp(url, "wss://", 6) == 0)
        p = url + 6, u->tls = 1;
    else
        return fail(u, err, errlen, url, "scheme must be ws or wss (ws://HOST:PORT/PATH)");
    const char *host, *port;
    size_t hn, pn;
    const char *rest = authority(p, &host, &hn, &port, &pn);
    if (!rest || hn == 0) return fail(u, err, errlen, url, "expected ws://HOST:PORT/PATH");
    if (memchr(host, '@', hn) || (port && memchr(port, '@', pn)))
        return fail(u, err, errlen, url, "user info is not supported (give keys as options)");
    if (*rest == '#') return fail(u, err, errlen, url, "a fragment has no meaning here");
    if (strchr(rest, '#')) return fail(u, err, errlen, url, "a fragment has no meaning here");
    u->port = port ? parse_port(port, pn) : u->tls ? 443 : 80;
    if (u->port < 0) return fail(u, err, errlen, url, "the port must be 1-65535");
    u->host = dup_n(host, hn);
    if (*rest == '/') {
        u->path = dup_n(rest, strlen(rest));
    } else {
        u->path = td_xmalloc(strlen(rest) + 2); /* "" or "?query" */
        u->path[0] = '/';
        memcpy(u->path + 1, rest, strlen(rest) + 1);
    }
    return 0;
}

void td_ws_url_free(td_ws_url_t *u)
{
    free(u->host);
    free(u->path);
    memset(u, 0, sizeof *u);
}
