/* SPDX-License-Identifier: Apache-2.0 */
/* Strict RFC 8259 JSON scanning: the project's one JSON reader (the vendor
 * splitters through split.h, the MessagePack transcoder, the REST bodies,
 * the client messages, libtickerd's event accessors). Nothing is allocated
 * or copied: each scanner takes [p, end) and returns the byte after what it
 * recognised, or NULL if the input is not valid JSON there (including
 * invalid UTF-8 and \uXXXX escapes). The hot helpers are inline so that
 * each splitter's frame loop has them in it.
 *
 * Shared rules: member names and values are compared after unescaping; a
 * symbol is usable if it is a string whose decoded form is 1..64 bytes, has
 * no byte below 0x20 and no lone surrogate escape. */
#ifndef TD_PROTO_JSON_SCAN_H
#define TD_PROTO_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define TD_JSON_MAX_DEPTH   64 /* a frame's array is depth 1, its objects depth 2 */
#define TD_JSON_MAX_SYM     64 /* decoded symbol bytes */
#define TD_JSON_IS_DIGIT(c) ((unsigned char)((c) - '0') < 10)
#define TD_JSON_WS_MASK     ((1ull << ' ') | (1ull << '\t') | (1ull << '\n') | (1ull << '\r'))

static inline int td_json_is_ws(unsigned char c)
{
    return c <= ' ' && ((TD_JSON_WS_MASK >> c) & 1);
}

static inline const char *td_json_skip_ws(const char *p, const char *end)
{
    while (p < end && td_json_is_ws((unsigned char)*p))
        p++;
    return p;
}

/* [*p, *e) without the JSON whitespace around it. */
static inline void td_json_trim(const char **p, const char **e)
{
    *p = td_json_skip_ws(*p, *e);
    while (*e > *p && td_json_is_ws((unsigned char)(*e)[-1]))
        (*e)--;
}

static inline int td_json_hexval(char c)
{
    if (TD_JSON_IS_DIGIT(c)) return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Bytes that end the fast path inside a string: '"', '\\', controls, non-ASCII. */
static inline int td_json_str_special(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

static inline const char *td_json_next_special(const char *p, const char *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && !td_json_str_special((unsigned char)*p))
        p++;
    return p;
}

/* p at a backslash; returns the byte after the escape or NULL. */
const char *td_json_scan_escape(const char *p, const char *end);
/* p at a byte >= 0x80; returns the byte after a valid UTF-8 sequence or NULL
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
const char *td_json_scan_utf8(const char *p, const char *end);

/* p just past the opening quote; returns the closing quote or NULL. Sets
 * *esc if the string holds an escape. */
static inline const char *td_json_scan_str(const char *p, const char *end, int *esc)
{
    /* Most vendor names and many values ("T", "ev", "bx", "C") are 1 or 2 bytes. */
    if (end - p >= 3 && !td_json_str_special((unsigned char)p[0])) {
        if (p[1] == '"') return p + 1;
        if (!td_json_str_special((unsigned char)p[1]) && p[2] == '"') return p + 2;
    }
    for (;;) {
        p = td_json_next_special(p, end);
        if (p >= end) return NULL;
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p;
        if (c == '\\') {
            *esc = 1;
            p = td_json_scan_escape(p, end);
        } else if (c < 0x20) {
            return NULL;
        } else {
            p = td_json_scan_utf8(p, end);
        }
        if (!p) return NULL;
    }
}

/* RFC 8259 number; the caller checks what follows it. */
static inline const char *td_json_scan_num(const char *p, const char *end)
{
    if (p < end && *p == '-') p++;
    if (p >= end || !TD_JSON_IS_DIGIT(*p)) return NULL;
    if (*p++ != '0')
        while (p < end && TD_JSON_IS_DIGIT(*p))
            p++;
    if (p < end && *p == '.') {
        if (++p >= end || !TD_JSON_IS_DIGIT(*p)) return NULL;
        while (p < end && TD_JSON_IS_DIGIT(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !TD_JSON_IS_DIGIT(*p)) return NULL;
        while (p < end && TD_JSON_IS_DIGIT(*p))
            p++;
    }
    return p;
}

/* true, false or null; p < end. */
static inline const char *td_json_scan_lit(const char *p, const char *end)
{
    static const char *const lits[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if (*p == lits[i][0])
            return (size_t)(end - p) >= n && memcmp(p, lits[i], n) == 0 ? p + n : NULL;
    }
    return NULL;
}

/* Any value but an array or object; p < end. */
static inline const char *td_json_scan_scalar(const char *p, const char *end)
{
    if (*p == '"') {
        int esc = 0;
        const char *q = td_json_scan_str(p + 1, end, &esc);
        return q ? q + 1 : NULL;
    }
    if (*p == '-' || TD_JSON_IS_DIGIT(*p)) return td_json_scan_num(p, end);
    return td_json_scan_lit(p, end);
}

/* p at '"' of a member name: returns the start of its value (< end) or NULL. */
static inline const char *td_json_scan_name(const char *p, const char *end)
{
    int esc = 0;
    if (p >= end || *p != '"' || !(p = td_json_scan_str(p + 1, end, &esc))) return NULL;
    p = td_json_skip_ws(p + 1, end);
    if (p >= end || *p != ':') return NULL;
    p = td_json_skip_ws(p + 1, end);
    return p < end ? p : NULL;
}

/* p at '[' or '{' at nesting `depth` (the container's own level is depth+1
 * and may be at most TD_JSON_MAX_DEPTH): validates it and returns the byte
 * after it, or NULL. Sets *too_deep when it fails for nesting. */
const char *td_json_skip_nested(const char *p, const char *end, int depth, int *too_deep);

/* Any value at nesting `depth`; p < end. */
static inline const char *td_json_scan_value(const char *p, const char *end, int depth,
                                             int *too_deep)
{
    return *p == '[' || *p == '{' ? td_json_skip_nested(p, end, depth, too_deep)
                                  : td_json_scan_scalar(p, end);
}

/* Unescapes the (validated) string content [p, p+n) into out; returns the
 * length, or -1 if it needs more than cap bytes or has a lone surrogate. */
long td_json_unescape(const char *p, size_t n, char *out, size_t cap);

/* A usable symbol (see the top comment) from validated string content
 * [p, p+n) that holds an escape iff esc: returns its length and sets *sym (to
 * p, or into scratch of TD_JSON_MAX_SYM bytes if it had escapes), or 0. */
size_t td_json_symbol(const char *p, size_t n, int esc, char *scratch, const char **sym);

/* [p, p+n) is exactly one JSON value (objects only if object_only), with
 * whitespace around: the strict RFC 8259 rules of this file. */
int td_json_valid(const char *p, size_t n, int object_only);

/* A value's bytes [p, e); p NULL if absent. */
typedef struct td_json_span_s {
    const char *p, *e;
} td_json_span_t;

/* Is the member name with content [k, k+n) (an escape iff esc) `want` once
 * decoded? Names of more than 64 decoded bytes are never equal. */
int td_json_name_is(const char *k, size_t n, int esc, const char *want);
/* The first i with td_json_name_is(names[i]), or -1. */
int td_json_name_index(const char *k, size_t n, int esc, const char *const *names, int count);

/* Walks [p, end), which must be one JSON object (whitespace around): the
 * first member named names[i] (decoded) gets its value's span in keys[i]
 * (keys zeroed by the caller). Returns 0, or -1 if [p, end) is not one
 * valid object. For the REST bodies (alphavantage.c, bars.c). */
int td_json_top_members(const char *p, const char *end, const char *const *names, int count,
                        td_json_span_t *keys);

/* One member of an object: its name's content [k, k+n) (an escape iff esc)
 * and its value's bytes [v, ve). A nonzero return stops the walk. */
typedef int (*td_json_each_fn)(void *ud, const char *k, size_t n, int esc, const char *v,
                               const char *ve);

/* Calls fn for each member of the object [p, end) (whitespace around), in
 * order, in one pass (time linear in the bytes, nesting at most
 * TD_JSON_MAX_DEPTH). Returns fn's first nonzero result, 0 at the end, or
 * -1 as soon as [p, end) turns out not to be one valid object (fn may have
 * seen the members before that point: check with td_json_valid first when
 * that matters). */
int td_json_each_member(const char *p, const char *end, td_json_each_fn fn, void *ud);

/* The value of the last member named key (decoded) of the object [p, end)
 * (whitespace around) into *v: 0, or -1 if there is none or [p, end) is not
 * one valid object. The rule of the splitters: the last occurrence wins. */
int td_json_member(const char *p, const char *end, const char *key, td_json_span_t *v);

/* Calls fn for each element [v, ve) of the array at p ('['), which must have
 * been validated (td_json_valid, or a splitter's scan) and ends before end.
 * Returns fn's first nonzero result or 0. */
int td_json_each_element(const char *p, const char *end,
                         int (*fn)(void *ud, const char *v, const char *ve), void *ud);

/* [p, q) as -?[0-9]+ that fits in int64 (what a JSON integer may be): 0 with
 * *out set, or -1 (empty, a fraction or exponent, out of range). */
int td_json_int64(const char *p, const char *q, int64_t *out);

#endif
