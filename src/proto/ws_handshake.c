/* SPDX-License-Identifier: Apache-2.0 */
/* The WebSocket upgrade, client side (RFC 6455 §4.1): the request and the
 * check of the server's answer (see ws_client.h). */
#include "proto/ws_client.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void td_ws_accept_value(const char *key_b64, char out[29])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    char in[64];
    int n = snprintf(in, sizeof in, "%.24s%s", key_b64, GUID);
    SHA1((const unsigned char *)in, (size_t)n, md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

void td_ws_upgrade_request(td_buf_t *out, const char *host, int port, int tls, const char *path,
                           const uint8_t key[16], char key_b64[25])
{
    EVP_EncodeBlock((unsigned char *)key_b64, key, 16);
    td_buf_appendf(out, "GET %s HTTP/1.1\r\nHost: %s", path && *path ? path : "/", host);
    if (port != (tls ? 443 : 80)) td_buf_appendf(out, ":%d", port);
    td_buf_appendf(out,
                   "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                   "User-Agent: tickerd/" TD_VERSION "\r\n\r\n",
                   key_b64);
}

/* Whether the comma-separated list v[0..n) holds token (any case). */
static int has_token(const char *v, size_t n, const char *token)
{
    size_t t = strlen(token), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == t && strncasecmp(v + s, token, t) == 0) return 1;
    }
    return 0;
}

typedef struct head_s {
    int upgrade, connection, accept_ok, accept_seen, extensions;
} head_t;

/* One "Name: value" line of the head. */
static void header_line(head_t *h, const char *l, size_t n, const char *want_accept)
{
    const char *colon = memchr(l, ':', n);
    if (!colon) return;
    size_t k = (size_t)(colon - l), vs = k + 1;
    while (vs < n && (l[vs] == ' ' || l[vs] == '\t'))
        vs++;
    size_t ve = n;
    while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
        ve--;
    const char *v = l + vs;
    size_t vn = ve - vs;
#define IS(name) (k == sizeof name - 1 && strncasecmp(l, name, k) == 0)
    if (IS("Upgrade"))
        h->upgrade |= has_token(v, vn, "websocket");
    else if (IS("Connection"))
        h->connection |= has_token(v, vn, "upgrade");
    else if (IS("Sec-WebSocket-Accept")) {
        h->accept_seen = 1;
        h->accept_ok = vn == 28 && memcmp(v, want_accept, 28) == 0;
    } else if (IS("Sec-WebSocket-Extensions"))
        h->extensions = vn > 0;
#undef IS
}

/* "HTTP/1.x NNN reason": the status, or 0. */
static int status_line(const char *l, size_t n, const char **reason, size_t *rn)
{
    if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[8] != ' ') return 0;
    for (int i = 9; i < 12; i++)
        if (l[i] < '0' || l[i] > '9') return 0;
    if (n > 12 && l[12] != ' ') return 0;
    *reason = l + (n > 12 ? 13 : 12);
    *rn = n > 12 ? n - 13 : 0;
    return (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
}

/* The printable prefix of s[0..n), at most 80 bytes, for an error text. */
static int printable(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && i < 80 && s[i] >= 0x20 && s[i] < 0x7f)
        i++;
    return (int)i;
}

static ssize_t check_head(const head_t *h, int status, const char *reason, size_t rn, ssize_t len,
                          char *err, size_t errlen)
{
    if (status != 101)
        snprintf(err, errlen, "the upgrade was refused: HTTP %d %.*s", status,
                 printable(reason, rn), reason);
    else if (!h->upgrade || !h->connection)
        snprintf(err, errlen, "the 101 answer lacks Upgrade: websocket or Connection: upgrade");
    else if (!h->accept_ok)
        snprintf(err, errlen, "the 101 answer has %s Sec-WebSocket-Accept",
                 h->accept_seen ? "a wrong" : "no");
    else if (h->extensions)
        snprintf(err, errlen, "the server chose a WebSocket extension none was offered");
    else
        return len;
    return -1;
}

ssize_t td_ws_upgrade_response(const char *p, size_t n, const char *key_b64, int *status, char *err,
                               size_t errlen)
{
    const char *end = NULL;
    size_t scan = n < TD_WS_HEAD_MAX ? n : TD_WS_HEAD_MAX;
    *status = 0;
    for (size_t i = 3; i < scan && !end; i++)
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
            end = p + i + 1;
    if (!end) {
        if (n < TD_WS_HEAD_MAX) return 0;
        snprintf(err, errlen, "the server's answer has no end of head within %d bytes",
                 TD_WS_HEAD_MAX);
        return -1;
    }
    char accept[29];
    td_ws_accept_value(key_b64, accept);
    const char *l = p, *reason = "";
    size_t rn = 0;
    const char *eol = memchr(l, '\r', (size_t)(end - l));
    *status = status_line(l, (size_t)(eol - l), &reason, &rn);
    if (!*status) {
        snprintf(err, errlen, "not an HTTP answer: '%.*s'", printable(l, (size_t)(eol - l)), l);
        return -1;
    }
    head_t h = {0};
    for (l = eol + 2; l < end - 2; l = eol + 2) {
        eol = memchr(l, '\r', (size_t)(end - l));
        header_line(&h, l, (size_t)(eol - l), accept);
    }
    return check_head(&h, *status, reason, rn, end - p, err, errlen);
}
