/* SPDX-License-Identifier: Apache-2.0 */
/* The per-element scan the vendor splitters (alpaca.c, polygon.c) share;
 * private to src/proto. A frame is one JSON array of objects. One pass
 * validates it with json_scan.h and fills one record per element, of the
 * splitter's own type (which starts with td_split_elem_t): the element's byte
 * range, and whatever the splitter's member callback captures of the member
 * names its key callback knows. Only a frame that is valid as a whole is
 * dispatched, from the records, by the splitter.
 *
 * td_split_run is the whole of a splitter's td_*_split. Everything here is
 * always inlined and the callbacks are the splitters' static functions, so
 * each splitter compiles to one loop with its own member code in it, as if
 * written by hand (bench_split, bench_polygon). */
#ifndef TD_PROTO_SPLIT_H
#define TD_PROTO_SPLIT_H

#include "core/err.h"
#include "proto/json_scan.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TD_SPLIT_INLINE      static inline __attribute__((always_inline))
#define TD_SPLIT_MAX_ELEMS   1000000     /* elements per frame */
#define TD_SPLIT_MAX_FRAME   0xffffffffu /* bytes: offsets are 32-bit */
#define TD_SPLIT_STACK_BYTES 16384       /* records kept on the stack (256 or more) */

/* The head of every splitter's record: the element object, [beg, end). */
typedef struct td_split_elem_s {
    uint32_t beg, end;
} td_split_elem_t;

typedef struct td_split_s {
    const char *base, *end; /* the frame */
    int err;                /* TD_ETOOBIG once a bound is hit */
    void *recs;             /* the records: the caller's stack array, then the heap */
    size_t n, cap;
    int heap;
} td_split_t;

/* The splitter's id of a member name: its content [k, k+n), with an escape
 * iff esc. */
typedef int (*td_split_key_fn)(const char *k, size_t n, int esc);
/* A member (name id `id`) of the element whose record is rec, its value at
 * v (< s->end): returns the byte after the value or NULL. */
typedef const char *(*td_split_member_fn)(td_split_t *s, void *rec, int id, const char *v);
/* Resets a new record (its td_split_elem_t is set by the scan). */
typedef void (*td_split_init_fn)(void *rec);

/* Applies plain() to a name or value [k, k+n) once decoded (short ones
 * only: longer than 15 bytes decoded, or a lone surrogate, is `other`). */
TD_SPLIT_INLINE int td_split_id(const char *k, size_t n, int esc,
                                int (*plain)(const char *, size_t), int other)
{
    char tmp[16];
    int len;
    if (!esc) return plain(k, n);
    if ((len = td_json_unescape(k, n, tmp, sizeof tmp)) < 0) return other;
    return plain(tmp, (size_t)len);
}

/* A member's value at p (< s->end) that is not a string (the splitters
 * take strings first): the byte after it, or NULL (a value nested too deep
 * sets TD_ETOOBIG; the frame's array is depth 1, the elements depth 2). */
TD_SPLIT_INLINE const char *td_split_value(td_split_t *s, const char *p)
{
    int too_deep = 0;
    if (*p == '-' || TD_JSON_IS_DIGIT(*p)) return td_json_scan_num(p, s->end);
    if (*p != '[' && *p != '{') return td_json_scan_lit(p, s->end);
    const char *q = td_json_skip_nested(p, s->end, 3, &too_deep);
    if (too_deep) s->err = TD_ETOOBIG;
    return q;
}

/* The slot for one more record of elsz bytes (grown 4x on the heap), or NULL
 * at TD_SPLIT_MAX_ELEMS records or out of memory. */
TD_SPLIT_INLINE void *td_split_push(td_split_t *s, size_t elsz)
{
    if (s->n >= TD_SPLIT_MAX_ELEMS) return NULL;
    if (s->n == s->cap) {
        size_t c = s->cap * 4;
        void *w = s->heap ? realloc(s->recs, c * elsz) : malloc(c * elsz);
        if (!w) return NULL;
        if (!s->heap) memcpy(w, s->recs, s->n * elsz);
        s->recs = w;
        s->cap = c;
        s->heap = 1;
    }
    return (char *)s->recs + s->n++ * elsz;
}

/* The element object at p ('{'): validates it and fills a new record.
 * Returns the byte after its '}' or NULL. */
TD_SPLIT_INLINE const char *td_split_elem(td_split_t *s, const char *p, size_t elsz,
                                          td_split_init_fn init, td_split_key_fn key,
                                          td_split_member_fn member)
{
    const char *end = s->end;
    void *rec = td_split_push(s, elsz);
    if (!rec) {
        s->err = TD_ETOOBIG;
        return NULL;
    }
    init(rec);
    td_split_elem_t *e = rec;
    e->beg = (uint32_t)(p - s->base);
    p = td_json_skip_ws(p + 1, end);
    if (p < end && *p == '}') goto closed;
    for (;;) {
        int esc = 0;
        if (p >= end || *p != '"') return NULL;
        const char *k = p + 1, *ke = td_json_scan_str(k, end, &esc);
        if (!ke) return NULL;
        int id = key(k, (size_t)(ke - k), esc);
        p = ke + 1;
        if (p < end && *p != ':') p = td_json_skip_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        p = td_json_skip_ws(p + 1, end);
        if (p >= end || !(p = member(s, rec, id, p))) return NULL;
        if (p < end && *p != ',' && *p != '}') p = td_json_skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == '}') break;
        if (*p != ',') return NULL;
        p = td_json_skip_ws(p + 1, end);
    }
closed:
    e->end = (uint32_t)(p + 1 - s->base);
    return p + 1;
}

/* The elements of the array [p, end), p after ws: TD_OK or an error. */
TD_SPLIT_INLINE int td_split_array(td_split_t *s, const char *p, size_t elsz, td_split_init_fn init,
                                   td_split_key_fn key, td_split_member_fn member)
{
    const char *end = s->end;
    if (p >= end || *p != '[') return TD_EMALFORMED;
    p = td_json_skip_ws(p + 1, end);
    if (p < end && *p == ']') {
        p++;
        goto tail;
    }
    for (;;) {
        if (p >= end || *p != '{') return TD_EMALFORMED;
        if (!(p = td_split_elem(s, p, elsz, init, key, member)))
            return s->err ? s->err : TD_EMALFORMED;
        if (p < end && *p != ',' && *p != ']') p = td_json_skip_ws(p, end);
        if (p >= end) return TD_EMALFORMED;
        if (*p++ == ']') break;
        if (p[-1] != ',') return TD_EMALFORMED;
        p = td_json_skip_ws(p, end);
    }
tail:
    return td_json_skip_ws(p, end) == end ? TD_OK : TD_EMALFORMED;
}

/* Scans the frame [frame, frame+len) (NULL: empty) into s, the records
 * starting in the caller's array `stack` of cap records of elsz bytes.
 * Returns TD_OK, TD_EMALFORMED or TD_ETOOBIG; either way the caller ends
 * with td_split_done(s). */
TD_SPLIT_INLINE int td_split_scan(td_split_t *s, const char *frame, size_t len, void *stack,
                                  size_t cap, size_t elsz, td_split_init_fn init,
                                  td_split_key_fn key, td_split_member_fn member)
{
    if (!frame) {
        frame = "";
        len = 0;
    }
    *s = (td_split_t){.base = frame, .end = frame + len, .recs = stack, .cap = cap};
    return len > TD_SPLIT_MAX_FRAME
               ? TD_ETOOBIG
               : td_split_array(s, td_json_skip_ws(frame, s->end), elsz, init, key, member);
}

static inline void td_split_done(td_split_t *s)
{
    if (s->heap) free(s->recs);
}

/* The splitter's dispatch of a valid frame's records (s->recs, s->n). */
typedef void (*td_split_dispatch_fn)(const td_split_t *s, void *ctx);

/* A splitter's whole job on one frame: scans it (td_split_scan, the first
 * records on this function's stack), then, if it is valid, dispatch(s, ctx);
 * counts it in *frames, and in *malformed when it is not valid. Returns
 * TD_OK, TD_EMALFORMED or TD_ETOOBIG. */
TD_SPLIT_INLINE int td_split_run(const char *frame, size_t len, size_t elsz, td_split_init_fn init,
                                 td_split_key_fn key, td_split_member_fn member,
                                 td_split_dispatch_fn dispatch, void *ctx, uint64_t *frames,
                                 uint64_t *malformed)
{
    _Alignas(max_align_t) unsigned char stack[TD_SPLIT_STACK_BYTES];
    td_split_t s;
    int rc = td_split_scan(&s, frame, len, stack, sizeof stack / elsz, elsz, init, key, member);
    if (rc == TD_OK) dispatch(&s, ctx);
    td_split_done(&s);
    ++*frames;
    if (rc != TD_OK) ++*malformed;
    return rc;
}

#endif
