/* SPDX-License-Identifier: Apache-2.0 */
#include "proto/alpaca_msgpack.h"
#include "core/clock.h"
#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * MessagePack output: bytes written straight into the td_buf.
 * ------------------------------------------------------------------------ */

/* Room for n more bytes (plus the NUL td_buf keeps); returns the write spot. */
static inline unsigned char *need(td_buf_t *b, size_t n)
{
    if (b->cap - b->len < n + 1) td_buf_reserve(b, n);
    return (unsigned char *)b->data + b->len;
}

static inline void be16(unsigned char *o, uint16_t v)
{
    o[0] = (unsigned char)(v >> 8);
    o[1] = (unsigned char)v;
}

static inline void be32(unsigned char *o, uint32_t v)
{
    o[0] = (unsigned char)(v >> 24);
    o[1] = (unsigned char)(v >> 16);
    o[2] = (unsigned char)(v >> 8);
    o[3] = (unsigned char)v;
}

static inline void be64(unsigned char *o, uint64_t v)
{
    be32(o, (uint32_t)(v >> 32));
    be32(o + 4, (uint32_t)v);
}

static void put_uint(td_buf_t *b, uint64_t v)
{
    unsigned char *o = need(b, 9);
    if (v < 128) {
        o[0] = (unsigned char)v;
        b->len += 1;
    } else if (v <= UINT8_MAX) {
        o[0] = 0xcc, o[1] = (unsigned char)v;
        b->len += 2;
    } else if (v <= UINT16_MAX) {
        o[0] = 0xcd, be16(o + 1, (uint16_t)v);
        b->len += 3;
    } else if (v <= UINT32_MAX) {
        o[0] = 0xce, be32(o + 1, (uint32_t)v);
        b->len += 5;
    } else {
        o[0] = 0xcf, be64(o + 1, v);
        b->len += 9;
    }
}

static void put_int(td_buf_t *b, int64_t v)
{
    if (v >= 0) {
        put_uint(b, (uint64_t)v);
        return;
    }
    unsigned char *o = need(b, 9);
    if (v >= -32) {
        o[0] = (unsigned char)(0xe0 | (v + 32));
        b->len += 1;
    } else if (v >= INT8_MIN) {
        o[0] = 0xd0, o[1] = (unsigned char)(uint8_t)(int8_t)v;
        b->len += 2;
    } else if (v >= INT16_MIN) {
        o[0] = 0xd1, be16(o + 1, (uint16_t)(int16_t)v);
        b->len += 3;
    } else if (v >= INT32_MIN) {
        o[0] = 0xd2, be32(o + 1, (uint32_t)(int32_t)v);
        b->len += 5;
    } else {
        o[0] = 0xd3, be64(o + 1, (uint64_t)v);
        b->len += 9;
    }
}

static void put_f64(td_buf_t *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    unsigned char *o = need(b, 9);
    o[0] = 0xcb;
    be64(o + 1, u);
    b->len += 9;
}

static size_t str_header_size(size_t n)
{
    return n < 32 ? 1 : n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5;
}

static void write_str_header(unsigned char *o, size_t n)
{
    if (n < 32) {
        o[0] = (unsigned char)(0xa0 | n);
    } else if (n <= UINT8_MAX) {
        o[0] = 0xd9, o[1] = (unsigned char)n;
    } else if (n <= UINT16_MAX) {
        o[0] = 0xda, be16(o + 1, (uint16_t)n);
    } else {
        o[0] = 0xdb, be32(o + 1, (uint32_t)n);
    }
}

/* Writes a map (map != 0) or array header for n elements at b[hdr], where
 * one placeholder byte was left and the elements follow it. */
static void fix_header(td_buf_t *b, size_t hdr, uint32_t n, int map)
{
    unsigned char *d = (unsigned char *)b->data;
    if (n < 16) {
        d[hdr] = (unsigned char)((map ? 0x80 : 0x90) | n);
        return;
    }
    size_t extra = n <= UINT16_MAX ? 2 : 4, body = b->len - hdr - 1;
    need(b, extra);
    d = (unsigned char *)b->data;
    memmove(d + hdr + 1 + extra, d + hdr + 1, body);
    if (extra == 2) {
        d[hdr] = map ? 0xde : 0xdc;
        be16(d + hdr + 1, (uint16_t)n);
    } else {
        d[hdr] = map ? 0xdf : 0xdd;
        be32(d + hdr + 1, n);
    }
    b->len += extra;
}

void td_msgpack_array_header(td_buf_t *b, uint32_t n)
{
    unsigned char *o = need(b, 5);
    if (n < 16) {
        o[0] = (unsigned char)(0x90 | n);
        b->len += 1;
    } else if (n <= UINT16_MAX) {
        o[0] = 0xdc, be16(o + 1, (uint16_t)n);
        b->len += 3;
    } else {
        o[0] = 0xdd, be32(o + 1, n);
        b->len += 5;
    }
    b->data[b->len] = '\0';
}

/* Timestamp extension (type -1): 64-bit format for 0 <= secs < 2^34, else
 * the 96-bit one. */
static void put_timestamp(td_buf_t *b, int64_t ns)
{
    int64_t secs = ns / 1000000000, nsec = ns % 1000000000;
    if (nsec < 0) {
        nsec += 1000000000;
        secs--;
    }
    unsigned char *o = need(b, 15);
    if (secs >= 0 && secs < (INT64_C(1) << 34)) {
        o[0] = 0xd7, o[1] = 0xff;
        be64(o + 2, (uint64_t)nsec << 34 | (uint64_t)secs);
        b->len += 10;
    } else {
        o[0] = 0xc7, o[1] = 12, o[2] = 0xff;
        be32(o + 3, (uint32_t)nsec);
        be64(o + 7, (uint64_t)secs);
        b->len += 15;
    }
}

/* ------------------------------------------------------------------------
 * JSON → MessagePack: a validating recursive-descent transcoder.
 * ------------------------------------------------------------------------ */

typedef struct {
    const char *s; /* input */
    size_t i, n;   /* cursor, length */
    td_buf_t *b;   /* output */
} jx_t;

static int jx_value(jx_t *x, int depth);
static int jx_object(jx_t *x, int depth, int top);

static inline void jx_ws(jx_t *x)
{
    while (x->i < x->n) {
        char c = x->s[x->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        x->i++;
    }
}

/* String byte classes: 0 plain ASCII, 1 '"', 2 '\\', 3 control, 4 >= 0x80. */
static const unsigned char str_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int hex4(const unsigned char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p[k]);
        if (h < 0) return -1;
        v = v << 4 | (uint32_t)h;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(unsigned char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* \uXXXX at p (just after "\u", n bytes left), with a low surrogate after
 * a high one. Returns the bytes consumed after "\u", or -1. */
static int decode_u(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (n < 4 || hex4(p, cp) != 0) return -1;
    if (*cp >= 0xdc00 && *cp <= 0xdfff) return -1; /* lone low surrogate */
    if (*cp < 0xd800 || *cp > 0xdbff) return 4;
    uint32_t lo;
    if (n < 10 || p[4] != '\\' || p[5] != 'u' || hex4(p + 6, &lo) != 0) return -1;
    if (lo < 0xdc00 || lo > 0xdfff) return -1;
    *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    return 10;
}

/* Length of the valid UTF-8 sequence at p (n bytes left, p[0] >= 0x80), or
 * 0 (overlongs, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if ((p[k] & 0xc0) != 0x80) return 0;
    return len;
}

/* One escape at in[0] == '\\' (n bytes left); writes to o. Returns the
 * input bytes used and sets *w to the bytes written, or returns 0. */
static size_t unescape(const unsigned char *in, size_t n, unsigned char *o, size_t *w)
{
    if (n < 2) return 0;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *f = in[1] ? strchr(from, in[1]) : NULL;
    if (f) {
        o[0] = (unsigned char)to[f - from];
        *w = 1;
        return 2;
    }
    uint32_t cp;
    int used = in[1] == 'u' ? decode_u(in + 2, n - 2, &cp) : -1;
    if (used < 0) return 0;
    *w = put_utf8(o, cp);
    return 2 + (size_t)used;
}

/* Decodes raw string bytes in[0..n) (escapes and/or non-ASCII) into o,
 * which has room for n bytes. Returns the decoded length or -1. */
static long decode_slow(const unsigned char *in, size_t n, unsigned char *o)
{
    size_t i = 0, w = 0;
    while (i < n) {
        unsigned char c = in[i];
        size_t used, k = 1;
        if (c == '\\') {
            used = unescape(in + i, n - i, o + w, &k);
        } else if (c >= 0x80) {
            used = k = utf8_len(in + i, n - i);
            if (used) memcpy(o + w, in + i, used);
        } else if (c < 0x20) {
            used = 0;
        } else {
            o[w] = c;
            used = 1;
        }
        if (used == 0) return -1;
        i += used;
        w += k;
    }
    return (long)w;
}

/* A JSON string at x->s[x->i] == '"': appends it as a msgpack str. */
static int jx_string(jx_t *x)
{
    const unsigned char *s = (const unsigned char *)x->s;
    size_t start = ++x->i, i = start, n = x->n;
    unsigned any = 0;
    for (;;) {
        if (i >= n) return -1;
        unsigned cls = str_class[s[i]];
        if (cls == 0) {
            i++;
        } else if (cls == 1) {
            break;
        } else if (cls == 3) {
            return -1;
        } else {
            any = 1;
            i += cls == 2 ? 2 : 1; /* skip the escaped byte (checked later) */
        }
    }
    size_t raw = i - start;
    if (raw > UINT32_MAX) return -1;
    size_t h = str_header_size(raw);
    unsigned char *o = need(x->b, h + raw);
    size_t len = raw;
    if (!any) {
        memcpy(o + h, s + start, raw);
    } else {
        long dl = decode_slow(s + start, raw, o + h);
        if (dl < 0) return -1;
        len = (size_t)dl;
        if (str_header_size(len) != h) {
            memmove(o + str_header_size(len), o + h, len);
            h = str_header_size(len);
        }
    }
    write_str_header(o, len);
    x->b->len += h + len;
    x->i = i + 1;
    return 0;
}

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Slow path for floats: strtod on a NUL-terminated copy. */
static double slow_double(const char *s, size_t n)
{
    char tmp[128];
    char *c = n < sizeof tmp ? tmp : td_xmalloc(n + 1);
    memcpy(c, s, n);
    c[n] = '\0';
    double d = strtod(c, NULL);
    if (c != tmp) free(c);
    return d;
}

typedef struct {
    uint64_t mant; /* all digits, integer and fraction */
    int overflow;  /* mant overflowed uint64 (then strtod decides) */
    long frac;     /* digits after the point (clamped) */
    long exp;      /* explicit exponent (clamped) */
    int is_float;
} num_t;

static size_t scan_digits(const char *s, size_t i, size_t n, num_t *v, int frac)
{
    size_t from = i;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v->mant > (UINT64_MAX - d) / 10)
            v->overflow = 1;
        else
            v->mant = v->mant * 10 + d;
        if (frac && v->frac++ == 100000) v->overflow = 1; /* strtod decides */
    }
    return i - from;
}

/* Scans the JSON number grammar at x->i; returns its end or 0. */
static size_t scan_number(const jx_t *x, size_t i, num_t *v)
{
    const char *s = x->s;
    size_t n = x->n;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return 0;
    if (s[i] == '0') {
        i++;
    } else {
        size_t k = scan_digits(s, i, n, v, 0);
        if (k == 0) return 0;
        i += k;
    }
    if (i < n && s[i] == '.') {
        size_t k = scan_digits(s, i + 1, n, v, 1);
        if (k == 0) return 0;
        i += 1 + k;
        v->is_float = 1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int neg = 0;
        if (++i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
        size_t from = i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (v->exp < 100000)
                v->exp = v->exp * 10 + (s[i] - '0');
            else
                v->overflow = 1;
        if (i == from) return 0;
        if (neg) v->exp = -v->exp;
        v->is_float = 1;
    }
    return i;
}

static int jx_number(jx_t *x)
{
    num_t v = {0, 0, 0, 0, 0};
    size_t start = x->i;
    int neg = x->s[start] == '-';
    size_t end = scan_number(x, start, &v);
    if (end == 0) return -1;
    x->i = end;
    if (!v.is_float && !v.overflow) {
        if (!neg)
            put_uint(x->b, v.mant);
        else if (v.mant <= (UINT64_C(1) << 63))
            put_int(x->b, (int64_t)(0 - v.mant));
        else
            put_f64(x->b, -(double)v.mant);
        return 0;
    }
    long e10 = v.exp - v.frac;
    if (!v.overflow && v.mant <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
        double d = (double)v.mant; /* exact; one correctly rounded op below */
        d = e10 < 0 ? d / pow10_tab[-e10] : d * pow10_tab[e10];
        put_f64(x->b, neg ? -d : d);
        return 0;
    }
    put_f64(x->b, slow_double(x->s + start, end - start));
    return 0;
}

static int jx_literal(jx_t *x, const char *lit, size_t n, unsigned char byte)
{
    if (x->n - x->i < n || memcmp(x->s + x->i, lit, n) != 0) return -1;
    x->i += n;
    *need(x->b, 1) = byte;
    x->b->len++;
    return 0;
}

static int jx_array(jx_t *x, int depth)
{
    if (depth > TD_ALPACA_MSGPACK_JSON_DEPTH) return -1;
    td_buf_t *b = x->b;
    size_t hdr = b->len;
    need(b, 1);
    b->len++;
    uint32_t count = 0;
    x->i++; /* '[' */
    jx_ws(x);
    if (x->i < x->n && x->s[x->i] == ']') {
        x->i++;
        fix_header(b, hdr, 0, 0);
        return 0;
    }
    for (;;) {
        if (count == UINT32_MAX || jx_value(x, depth)) return -1;
        count++;
        jx_ws(x);
        if (x->i >= x->n) return -1;
        char c = x->s[x->i++];
        if (c == ']') break;
        if (c != ',') return -1;
    }
    fix_header(b, hdr, count, 0);
    return 0;
}

static int jx_value(jx_t *x, int depth)
{
    jx_ws(x);
    if (x->i >= x->n) return -1;
    switch (x->s[x->i]) {
    case '{':
        return jx_object(x, depth + 1, 0);
    case '[':
        return jx_array(x, depth + 1);
    case '"':
        return jx_string(x);
    case 't':
        return jx_literal(x, "true", 4, 0xc3);
    case 'f':
        return jx_literal(x, "false", 5, 0xc2);
    case 'n':
        return jx_literal(x, "null", 4, 0xc0);
    default:
        return jx_number(x);
    }
}

/* Rotates d[0..n) left by k bytes (three reversals; no allocation). */
static void reverse(unsigned char *d, size_t n)
{
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        unsigned char t = d[i];
        d[i] = d[j - 1];
        d[j - 1] = t;
    }
}

static void rotate_left(unsigned char *d, size_t n, size_t k)
{
    reverse(d, k);
    reverse(d + k, n - k);
    reverse(d, n);
}

enum { KEY_OTHER, KEY_T, KEY_TIME };

/* What the just-written msgpack key at b[k..len) is, at the top level. */
static int key_kind(const td_buf_t *b, size_t k)
{
    const unsigned char *d = (const unsigned char *)b->data + k;
    size_t n = b->len - k;
    if (n == 2 && d[0] == 0xa1) return d[1] == 'T' ? KEY_T : d[1] == 't' ? KEY_TIME : KEY_OTHER;
    if (n == 11 && d[0] == 0xaa &&
        (memcmp(d + 1, "created_at", 10) == 0 || memcmp(d + 1, "updated_at", 10) == 0))
        return KEY_TIME;
    return KEY_OTHER;
}

/* If the value at b[v..len) is an RFC 3339 str, rewrites it as a timestamp. */
static void to_timestamp(td_buf_t *b, size_t v)
{
    const unsigned char *d = (const unsigned char *)b->data + v;
    size_t h, n;
    if ((d[0] & 0xe0) == 0xa0)
        h = 1, n = d[0] & 0x1f;
    else if (d[0] == 0xd9)
        h = 2, n = d[1];
    else
        return;
    int64_t ns;
    if (td_rfc3339_parse((const char *)d + h, n, &ns) != 0) return;
    b->len = v;
    put_timestamp(b, ns);
}

/* One member "key":value of an object; *kind gets the key's kind. */
static int jx_member(jx_t *x, int depth, int top, int *kind)
{
    jx_ws(x);
    if (x->i >= x->n || x->s[x->i] != '"') return -1;
    size_t k = x->b->len;
    if (jx_string(x)) return -1;
    *kind = top ? key_kind(x->b, k) : KEY_OTHER;
    jx_ws(x);
    if (x->i >= x->n || x->s[x->i] != ':') return -1;
    x->i++;
    size_t v = x->b->len;
    if (jx_value(x, depth)) return -1;
    if (*kind == KEY_TIME) to_timestamp(x->b, v);
    return 0;
}

/* An object at x->s[x->i] == '{'. At the top level (top != 0), the first
 * "T" member is moved first and timestamps are converted. */
static int jx_object(jx_t *x, int depth, int top)
{
    if (depth > TD_ALPACA_MSGPACK_JSON_DEPTH) return -1;
    td_buf_t *b = x->b;
    size_t hdr = b->len;
    need(b, 1);
    b->len++;
    uint32_t count = 0;
    int have_t = 0;
    x->i++; /* '{' */
    jx_ws(x);
    if (x->i < x->n && x->s[x->i] == '}') {
        x->i++;
        fix_header(b, hdr, 0, 1);
        return 0;
    }
    for (;;) {
        size_t m = b->len;
        int kind;
        if (count == UINT32_MAX || jx_member(x, depth, top, &kind)) return -1;
        if (kind == KEY_T && !have_t) {
            have_t = 1;
            if (m != hdr + 1)
                rotate_left((unsigned char *)b->data + hdr + 1, b->len - hdr - 1, m - hdr - 1);
        }
        count++;
        jx_ws(x);
        if (x->i >= x->n) return -1;
        char c = x->s[x->i++];
        if (c == '}') break;
        if (c != ',') return -1;
    }
    fix_header(b, hdr, count, 1);
    return 0;
}

/* Runs one top-level transcoding: f parses at x->i; then only whitespace
 * may follow. Restores b on failure. */
static int jx_run(td_buf_t *b, const char *json, size_t len, char open,
                  int (*f)(jx_t *x, int depth, int top))
{
    jx_t x = {json, 0, len, b};
    size_t start = b->len;
    jx_ws(&x);
    int rc = -1;
    if (x.i < x.n && json[x.i] == open && f(&x, 1, 1) == 0) {
        jx_ws(&x);
        rc = x.i == x.n ? 0 : -1;
    }
    if (rc != 0) b->len = start;
    if (b->data) b->data[b->len] = '\0';
    return rc;
}

int td_alpaca_msgpack_object(td_buf_t *b, const char *json, size_t len)
{
    return jx_run(b, json, len, '{', jx_object);
}

/* A frame: an array whose elements are all top-level objects. */
static int jx_frame(jx_t *x, int depth, int top)
{
    (void)top;
    td_buf_t *b = x->b;
    size_t hdr = b->len;
    need(b, 1);
    b->len++;
    uint32_t count = 0;
    x->i++; /* '[' */
    for (jx_ws(x); x->i < x->n && x->s[x->i] != ']';) {
        if (x->s[x->i] != '{' || count == UINT32_MAX) return -1;
        if (jx_object(x, depth + 1, 1)) return -1;
        count++;
        jx_ws(x);
        if (x->i < x->n && x->s[x->i] == ',') {
            x->i++;
            jx_ws(x);
            if (x->i < x->n && x->s[x->i] == ']') return -1; /* [{},] */
        } else if (x->i < x->n && x->s[x->i] != ']') {
            return -1;
        }
    }
    if (x->i >= x->n) return -1;
    x->i++; /* ']' */
    fix_header(b, hdr, count, 0);
    return 0;
}

int td_alpaca_msgpack_frame(td_buf_t *b, const char *json, size_t len)
{
    return jx_run(b, json, len, '[', jx_frame);
}
