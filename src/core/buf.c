/* SPDX-License-Identifier: Apache-2.0 */
#include "core/buf.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void td_buf_reserve(td_buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = td_xrealloc(b->data, cap);
    b->cap = cap;
}

void td_buf_append(td_buf_t *b, const void *p, size_t n)
{
    td_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void td_buf_appends(td_buf_t *b, const char *s)
{
    td_buf_append(b, s, strlen(s));
}

void td_buf_appendc(td_buf_t *b, char c)
{
    td_buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void td_buf_appendf(td_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    td_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void td_buf_append_json_str(td_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    td_buf_reserve(b, n + 2);
    td_buf_appendc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            td_buf_append(b, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            td_buf_append(b, e, 6);
        } else {
            td_buf_appendc(b, (char)c);
        }
    }
    td_buf_appendc(b, '"');
}

void td_buf_consume(td_buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data) b->data[b->len] = '\0';
}

void td_buf_reset(td_buf_t *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void td_buf_free(td_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int url_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* One byte as it goes into a URL; returns 1 or 3. */
static size_t url_byte(unsigned char c, char e[3])
{
    static const char hex[] = "0123456789ABCDEF";
    if (url_unreserved(c)) {
        e[0] = (char)c;
        return 1;
    }
    e[0] = '%';
    e[1] = hex[c >> 4];
    e[2] = hex[c & 15];
    return 3;
}

void td_buf_append_url(td_buf_t *b, const char *s, size_t n)
{
    char e[3];
    for (size_t i = 0; i < n; i++)
        td_buf_append(b, e, url_byte((unsigned char)s[i], e));
}

size_t td_url_escape(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    char e[3];
    if (!cap) return 0;
    for (; *s; s++) {
        size_t k = url_byte((unsigned char)*s, e);
        if (o + k >= cap) break;
        memcpy(out + o, e, k);
        o += k;
    }
    out[o] = '\0';
    return o;
}
