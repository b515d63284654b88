/* SPDX-License-Identifier: Apache-2.0 */
/* The colder half of the shared JSON scanner (json_scan.h): escapes, UTF-8,
 * nested containers, unescaping. */
#include "proto/json_scan.h"

const char *td_json_scan_escape(const char *p, const char *end)
{
    if (end - p < 2) return NULL;
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return p + 2;
    case 'u':
        if (end - p < 6) return NULL;
        for (int i = 2; i < 6; i++)
            if (td_json_hexval(p[i]) < 0) return NULL;
        return p + 6;
    default:
        return NULL;
    }
}

const char *td_json_scan_utf8(const char *p, const char *end)
{
    const unsigned char *s = (const unsigned char *)p;
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    ptrdiff_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : lo;
        hi = c == 0xED ? 0x9F : hi;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    } else {
        return NULL;
    }
    if (end - p < n || s[1] < lo || s[1] > hi) return NULL;
    for (ptrdiff_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return NULL;
    return p + n;
}

/* Iterative, with one bit per open level saying "object". */
const char *td_json_skip_nested(const char *p, const char *end, int depth, int *too_deep)
{
    uint64_t objs = 0;
    int lvl = 0;
    for (;;) {
        if (*p == '[' || *p == '{') {
            if (depth + lvl > TD_JSON_MAX_DEPTH) {
                *too_deep = 1;
                return NULL;
            }
            int obj = *p == '{';
            objs = objs << 1 | (uint64_t)obj;
            lvl++;
            p = td_json_skip_ws(p + 1, end);
            if (p >= end) return NULL;
            if (*p == (obj ? '}' : ']')) {
                p++;
                goto closed;
            }
            if (obj && !(p = td_json_scan_name(p, end))) return NULL;
            continue;
        }
        if (!(p = td_json_scan_scalar(p, end))) return NULL;
        for (;;) {
            if (lvl == 0) return p;
            p = td_json_skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == ',') break;
            if (*p != ((objs & 1) ? '}' : ']')) return NULL;
            p++;
        closed:
            lvl--;
            objs >>= 1;
        }
        p = td_json_skip_ws(p + 1, end);
        if (p >= end || ((objs & 1) && !(p = td_json_scan_name(p, end)))) return NULL;
    }
}

static unsigned hex4(const char *p)
{
    return (unsigned)(td_json_hexval(p[0]) << 12 | td_json_hexval(p[1]) << 8 |
                      td_json_hexval(p[2]) << 4 | td_json_hexval(p[3]));
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 63)), 2;
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 63));
        o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 63));
    o[2] = (char)(0x80 | (cp >> 6 & 63));
    o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* Decodes escape at p (validated) into *cp; returns its length or 0 for a
 * lone surrogate. */
static size_t decode_escape(const char *p, const char *end, unsigned *cp)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (p[1] != 'u') {
        *cp = (unsigned char)to[strchr(from, p[1]) - from];
        return 2;
    }
    unsigned c = hex4(p + 2);
    if (c >= 0xDC00 && c <= 0xDFFF) return 0;
    if (c >= 0xD800 && c <= 0xDBFF) {
        if (end - p < 12 || p[6] != '\\' || p[7] != 'u') return 0;
        unsigned lo = hex4(p + 8);
        if (lo < 0xDC00 || lo > 0xDFFF) return 0;
        *cp = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        return 12;
    }
    *cp = c;
    return 6;
}

long td_json_unescape(const char *p, size_t n, char *out, size_t cap)
{
    const char *end = p + n;
    size_t o = 0;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t run = (size_t)((bs ? bs : end) - p);
        if (run > cap - o) return -1;
        memcpy(out + o, p, run);
        o += run;
        p += run;
        if (!bs) break;
        unsigned cp;
        size_t len = decode_escape(p, end, &cp);
        if (!len || cap - o < 4) return -1;
        o += put_utf8(out + o, cp);
        p += len;
    }
    return o > cap ? -1 : (long)o;
}

size_t td_json_symbol(const char *p, size_t n, int esc, char *scratch, const char **sym)
{
    if (!esc) {
        *sym = p;
        return n <= TD_JSON_MAX_SYM ? n : 0;
    }
    char tmp[TD_JSON_MAX_SYM + 4];
    int len = td_json_unescape(p, n, tmp, sizeof tmp);
    if (len <= 0 || len > TD_JSON_MAX_SYM) return 0;
    for (int i = 0; i < len; i++)
        if ((unsigned char)tmp[i] < 0x20) return 0;
    memcpy(scratch, tmp, (size_t)len);
    *sym = scratch;
    return (size_t)len;
}

int td_json_name_is(const char *k, size_t n, int esc, const char *want)
{
    char tmp[64];
    const char *s = k;
    if (esc) {
        int len = td_json_unescape(k, n, tmp, sizeof tmp);
        if (len < 0) return 0;
        n = (size_t)len;
        s = tmp;
    }
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

int td_json_name_index(const char *k, size_t n, int esc, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (td_json_name_is(k, n, esc, names[i])) return i;
    return -1;
}

int td_json_each_member(const char *p, const char *end, td_json_each_fn fn, void *ud)
{
    int too_deep = 0;
    p = td_json_skip_ws(p, end);
    if (p >= end || *p != '{') return -1;
    p = td_json_skip_ws(p + 1, end);
    if (p < end && *p == '}') return td_json_skip_ws(p + 1, end) == end ? 0 : -1;
    for (;;) {
        int esc = 0;
        if (p >= end || *p != '"') return -1;
        const char *k = p + 1, *ke = td_json_scan_str(k, end, &esc);
        if (!ke || !(p = td_json_scan_name(p, end))) return -1;
        const char *v = p, *ve = td_json_scan_value(p, end, 1, &too_deep);
        if (!ve) return -1;
        int rc = fn(ud, k, (size_t)(ke - k), esc, v, ve);
        if (rc) return rc;
        p = td_json_skip_ws(ve, end);
        if (p >= end) return -1;
        if (*p == '}') return td_json_skip_ws(p + 1, end) == end ? 0 : -1;
        if (*p != ',') return -1;
        p = td_json_skip_ws(p + 1, end);
    }
}

typedef struct {
    const char *const *names;
    int count;
    td_json_span_t *keys;
} top_t;

static int top_member(void *ud, const char *k, size_t n, int esc, const char *v, const char *ve)
{
    top_t *t = ud;
    int key = td_json_name_index(k, n, esc, t->names, t->count);
    if (key >= 0 && !t->keys[key].p) {
        t->keys[key].p = v;
        t->keys[key].e = ve;
    }
    return 0;
}

int td_json_top_members(const char *p, const char *end, const char *const *names, int count,
                        td_json_span_t *keys)
{
    top_t t = {names, count, keys};
    return td_json_each_member(p, end, top_member, &t);
}

int td_json_valid(const char *p, size_t n, int object_only)
{
    const char *end = p + n;
    int too_deep = 0;
    p = td_json_skip_ws(p, end);
    if (p == end || (object_only && *p != '{')) return 0;
    p = td_json_scan_value(p, end, 1, &too_deep);
    return p && td_json_skip_ws(p, end) == end;
}

typedef struct {
    const char *key;
    td_json_span_t *v;
} last_t;

static int last_member(void *ud, const char *k, size_t n, int esc, const char *v, const char *ve)
{
    last_t *l = ud;
    if (td_json_name_is(k, n, esc, l->key)) {
        l->v->p = v;
        l->v->e = ve;
    }
    return 0;
}

int td_json_member(const char *p, const char *end, const char *key, td_json_span_t *v)
{
    last_t l = {key, v};
    v->p = v->e = NULL;
    return td_json_each_member(p, end, last_member, &l) == 0 && v->p ? 0 : -1;
}

int td_json_each_element(const char *p, const char *end,
                         int (*fn)(void *ud, const char *v, const char *ve), void *ud)
{
    int too_deep = 0;
    p = td_json_skip_ws(p + 1, end);
    while (p < end && *p != ']') {
        const char *q = td_json_scan_value(p, end, 1, &too_deep);
        if (!q) return -1; /* not validated after all */
        int rc = fn(ud, p, q);
        if (rc) return rc;
        p = td_json_skip_ws(q, end);
        if (p < end && *p == ',') p = td_json_skip_ws(p + 1, end);
    }
    return 0;
}

int td_json_int64(const char *p, const char *q, int64_t *out)
{
    int neg = p < q && *p == '-';
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (p + neg >= q) return -1;
    for (const char *c = p + neg; c < q; c++) {
        if (!TD_JSON_IS_DIGIT(*c)) return -1;
        unsigned d = (unsigned)(*c - '0');
        if (v > (lim - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}
