/* SPDX-License-Identifier: Apache-2.0 */
#include "proto/alpaca_msgpack.h"
#include "core/clock.h"
#include "core/mem.h"
#include "proto/json_scan.h"

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
 * JSON → MessagePack: a recursive-descent transcoder over the project's one
 * JSON reader (json_scan.h), which does the lexing and the validation
 * (strings, escapes, UTF-8, numbers, literals); this part keeps the
 * structure and writes msgpack.
 * ------------------------------------------------------------------------ */

typedef struct {
    const char *p, *end; /* input: cursor, end */
    td_buf_t *b;         /* output */
} jx_t;

static int jx_value(jx_t *x, int depth);

static inline void jx_ws(jx_t *x)
{
    x->p = td_json_skip_ws(x->p, x->end);
}

/* A JSON string at x->p ('"'): appends it as a msgpack str, decoded. */
static int jx_string(jx_t *x)
{
    int esc = 0;
    const char *v = x->p + 1, *ve = td_json_scan_str(v, x->end, &esc);
    if (!ve) return -1;
    size_t raw = (size_t)(ve - v), len = raw;
    if (raw > UINT32_MAX) return -1;
    size_t h = str_header_size(raw);
    unsigned char *o = need(x->b, h + raw + 4); /* + td_json_unescape's scratch */
    if (!esc) {
        memcpy(o + h, v, raw);
    } else {
        long dl = td_json_unescape(v, raw, (char *)o + h, raw + 4);
        if (dl < 0) return -1; /* a lone surrogate */
        len = (size_t)dl;
        if (str_header_size(len) != h) {
            memmove(o + str_header_size(len), o + h, len);
            h = str_header_size(len);
        }
    }
    write_str_header(o, len);
    x->b->len += h + len;
    x->p = ve + 1;
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
    int overflow;  /* mant overflowed uint64, or a huge exponent (strtod decides) */
    long frac;     /* digits after the point (clamped) */
    long exp;      /* explicit exponent (clamped) */
    int is_float;
} num_t;

/* The value of the number [p, q), which td_json_scan_num accepted. */
static void num_value(const char *p, const char *q, num_t *v)
{
    int frac = 0;
    for (p += *p == '-'; p < q && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            frac = v->is_float = 1;
            continue;
        }
        unsigned d = (unsigned)(*p - '0');
        if (v->mant > (UINT64_MAX - d) / 10)
            v->overflow = 1;
        else
            v->mant = v->mant * 10 + d;
        if (frac && v->frac++ == 100000) v->overflow = 1;
    }
    if (p == q) return;
    int neg = *++p == '-';
    v->is_float = 1;
    for (p += *p == '-' || *p == '+'; p < q; p++)
        if (v->exp < 100000)
            v->exp = v->exp * 10 + (*p - '0');
        else
            v->overflow = 1;
    if (neg) v->exp = -v->exp;
}

static int jx_number(jx_t *x)
{
    num_t v = {0, 0, 0, 0, 0};
    const char *start = x->p, *q = td_json_scan_num(start, x->end);
    if (!q) return -1;
    int neg = *start == '-';
    num_value(start, q, &v);
    x->p = q;
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
    put_f64(x->b, slow_double(start, (size_t)(q - start)));
    return 0;
}

/* true, false or null at x->p. */
static int jx_literal(jx_t *x)
{
    const char *q = td_json_scan_lit(x->p, x->end);
    if (!q) return -1;
    *need(x->b, 1) = *x->p == 't' ? 0xc3 : *x->p == 'f' ? 0xc2 : 0xc0;
    x->b->len++;
    x->p = q;
    return 0;
}

static int jx_container(jx_t *x, int depth, int top);

static int jx_value(jx_t *x, int depth)
{
    jx_ws(x);
    if (x->p >= x->end) return -1;
    switch (*x->p) {
    case '{':
    case '[':
        return jx_container(x, depth + 1, 0);
    case '"':
        return jx_string(x);
    case 't':
    case 'f':
    case 'n':
        return jx_literal(x);
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
    if (x->p >= x->end || *x->p != '"') return -1;
    size_t k = x->b->len;
    if (jx_string(x)) return -1;
    *kind = top ? key_kind(x->b, k) : KEY_OTHER;
    jx_ws(x);
    if (x->p >= x->end || *x->p != ':') return -1;
    x->p++;
    size_t v = x->b->len;
    if (jx_value(x, depth)) return -1;
    if (*kind == KEY_TIME) to_timestamp(x->b, v);
    return 0;
}

/* One element of an array; in a frame (top), an object at the top level. */
static int jx_element(jx_t *x, int depth, int top)
{
    if (!top) return jx_value(x, depth);
    jx_ws(x);
    return x->p < x->end && *x->p == '{' ? jx_container(x, depth + 1, 1) : -1;
}

/* An object or array at x->p ('{' or '['). A top-level object (top) has its
 * first "T" member moved first and its timestamps converted; a top-level
 * array (top: a frame) may hold only such objects. */
static int jx_container(jx_t *x, int depth, int top)
{
    int obj = *x->p == '{', have_t = 0;
    char close = obj ? '}' : ']';
    if (depth > TD_ALPACA_MSGPACK_JSON_DEPTH) return -1;
    td_buf_t *b = x->b;
    size_t hdr = b->len;
    need(b, 1);
    b->len++;
    uint32_t count = 0;
    x->p++;
    jx_ws(x);
    if (x->p < x->end && *x->p == close) {
        x->p++;
        fix_header(b, hdr, 0, obj);
        return 0;
    }
    for (;;) {
        size_t m = b->len;
        int kind = KEY_OTHER;
        if (count == UINT32_MAX) return -1;
        if (obj ? jx_member(x, depth, top, &kind) : jx_element(x, depth, top)) return -1;
        if (kind == KEY_T && !have_t) {
            have_t = 1;
            if (m != hdr + 1)
                rotate_left((unsigned char *)b->data + hdr + 1, b->len - hdr - 1, m - hdr - 1);
        }
        count++;
        jx_ws(x);
        if (x->p >= x->end) return -1;
        char c = *x->p++;
        if (c == close) break;
        if (c != ',') return -1;
    }
    fix_header(b, hdr, count, obj);
    return 0;
}

/* One top-level transcoding of a container opening with `open`; then only
 * whitespace may follow. Restores b on failure. */
static int jx_run(td_buf_t *b, const char *json, size_t len, char open)
{
    jx_t x = {json, json + len, b};
    size_t start = b->len;
    int rc = -1;
    jx_ws(&x);
    if (x.p < x.end && *x.p == open && jx_container(&x, 1, 1) == 0) {
        jx_ws(&x);
        rc = x.p == x.end ? 0 : -1;
    }
    if (rc != 0) b->len = start;
    if (b->data) b->data[b->len] = '\0';
    return rc;
}

int td_alpaca_msgpack_object(td_buf_t *b, const char *json, size_t len)
{
    return jx_run(b, json, len, '{');
}

int td_alpaca_msgpack_frame(td_buf_t *b, const char *json, size_t len)
{
    return jx_run(b, json, len, '[');
}
