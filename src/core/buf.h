/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer (always NUL-terminated for convenience). */
#ifndef TD_CORE_BUF_H
#define TD_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct td_buf_s {
    char *data;
    size_t len;
    size_t cap;
} td_buf_t;

#define TD_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void td_buf_reserve(td_buf_t *b, size_t extra); /* ensures cap >= len + extra + 1 */
void td_buf_append(td_buf_t *b, const void *p, size_t n);
void td_buf_appends(td_buf_t *b, const char *s);
void td_buf_appendc(td_buf_t *b, char c);
void td_buf_appendf(td_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a JSON string literal (with quotes), escaping as RFC 8259 asks. */
void td_buf_append_json_str(td_buf_t *b, const char *s, size_t n);
/* URL percent-encoding (RFC 3986): every byte but A-Z a-z 0-9 - . _ ~ as %XX.
 * td_url_escape writes into out (always NUL-terminated, stopping before a
 * byte that does not fit) and returns the length written. */
void td_buf_append_url(td_buf_t *b, const char *s, size_t n);
size_t td_url_escape(char *out, size_t cap, const char *s);
void td_buf_consume(td_buf_t *b, size_t n); /* drops n bytes from the front */

/* Writes the decimal digits of v at p (no NUL); returns the new end. For hot
 * paths that size their output first (td_uint_digits). */
static inline char *td_put_uint(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static inline size_t td_uint_digits(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}
void td_buf_reset(td_buf_t *b);
void td_buf_free(td_buf_t *b);

#endif
