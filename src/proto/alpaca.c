/* SPDX-License-Identifier: Apache-2.0 */
/* Alpaca stream codec. The splitter is a purpose-built single-pass scanner:
 * it validates the whole frame as strict RFC 8259 JSON (including UTF-8 and
 * \uXXXX escapes) while recording, for each top-level element, its byte range
 * and its top-level "T", "S", "code", "msg" and "symbols" members. Only when
 * the frame is valid does a second, cheap pass over those records dispatch
 * events. String bodies are skipped 16 bytes at a time with SSE2. The
 * lexical scanning is shared with polygon.c (json_scan.h).
 *
 * Rules shared with fuzz/fuzz_alpaca_diff.c (which checks them against jsmn):
 * - a duplicated member name: the last occurrence wins (as in Go, JS, Python);
 * - member names and values are compared after JSON unescaping;
 * - a symbol is usable if it is a string whose decoded form is 1..64 bytes,
 *   has no byte below 0x20 and no lone surrogate escape;
 * - "code" is the value of a number written -?[0-9]{1,9}, otherwise 0. */
#include "proto/alpaca.h"

#include "proto/json_scan.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ELEMS   1000000 /* elements per frame */
#define MAX_SYM     TD_JSON_MAX_SYM
#define STACK_RECS  256 /* element records kept on the stack */
#define MAX_FRAME   0xffffffffu
#define IS_DIGIT(c) TD_JSON_IS_DIGIT(c)

/* Element kinds beyond td_kind_t. */
enum { K_UNKNOWN = -1, K_SUCCESS = 64, K_ERROR, K_SUBSCRIPTION };
/* Top-level member names we capture. */
enum { KEY_OTHER, KEY_T, KEY_S, KEY_CODE, KEY_MSG, KEY_SYMBOLS };

typedef struct {
    uint32_t beg, end;     /* the object, [beg, end) */
    uint32_t sym, sym_len; /* "S" string content */
    uint32_t arr, arr_end; /* "symbols" array */
    uint32_t msg, msg_len; /* "msg" string content */
    int32_t code;
    int8_t kind; /* td_kind_t, K_* */
    uint8_t sym_esc, has_sym, has_arr, has_msg;
} rec_t;

typedef struct {
    const char *base, *end;
    int err;             /* set for errors other than TD_ALPACA_EMALFORMED */
    td_json_recs_t recs; /* rec_t, starting on the caller's stack */
} scan_t;

/* ---- scanning (json_scan.h) ---------------------------------------------- */

static const char *skip_nested(scan_t *s, const char *p, int depth)
{
    int too_deep = 0;
    const char *q = td_json_skip_nested(p, s->end, depth, &too_deep);
    if (too_deep) s->err = TD_ALPACA_ETOOBIG;
    return q;
}

/* Any value; p < end. */
static inline const char *scan_value(scan_t *s, const char *p, int depth)
{
    return *p == '[' || *p == '{' ? skip_nested(s, p, depth) : td_json_scan_scalar(p, s->end);
}

static int kind_of_plain(const char *t, size_t n)
{
    /* td_kind_t + 1 per letter; 0 for none. */
    static const int8_t letters[128] = {
        ['t'] = TD_KIND_TRADE + 1,       ['q'] = TD_KIND_QUOTE + 1,
        ['b'] = TD_KIND_BAR + 1,         ['d'] = TD_KIND_DAILY_BAR + 1,
        ['u'] = TD_KIND_UPDATED_BAR + 1, ['s'] = TD_KIND_STATUS + 1,
        ['l'] = TD_KIND_LULD + 1,        ['i'] = TD_KIND_IMBALANCE + 1,
        ['c'] = TD_KIND_CORRECTION + 1,  ['x'] = TD_KIND_CANCEL_ERROR + 1,
        ['o'] = TD_KIND_ORDERBOOK + 1,   ['n'] = TD_KIND_NEWS + 1,
    };
    if (n == 1) return (unsigned char)*t < 128 ? letters[(unsigned char)*t] - 1 : K_UNKNOWN;
    if (n == 7 && memcmp(t, "success", 7) == 0) return K_SUCCESS;
    if (n == 5 && memcmp(t, "error", 5) == 0) return K_ERROR;
    if (n == 12 && memcmp(t, "subscription", 12) == 0) return K_SUBSCRIPTION;
    return K_UNKNOWN;
}

static inline int kind_of(const char *t, size_t n, int esc)
{
    char tmp[16];
    int len;
    if (!esc) return kind_of_plain(t, n);
    if ((len = td_json_unescape(t, n, tmp, sizeof tmp)) < 0) return K_UNKNOWN;
    return kind_of_plain(tmp, (size_t)len);
}

static inline int key_id_plain(const char *k, size_t n)
{
    if (n == 1) return *k == 'T' ? KEY_T : *k == 'S' ? KEY_S : KEY_OTHER;
    if (n == 4 && memcmp(k, "code", 4) == 0) return KEY_CODE;
    if (n == 3 && memcmp(k, "msg", 3) == 0) return KEY_MSG;
    if (n == 7 && memcmp(k, "symbols", 7) == 0) return KEY_SYMBOLS;
    return KEY_OTHER;
}

static inline int key_id(const char *k, size_t n, int esc)
{
    char tmp[16];
    int len;
    if (!esc) return key_id_plain(k, n);
    if ((len = td_json_unescape(k, n, tmp, sizeof tmp)) < 0) return KEY_OTHER;
    return key_id_plain(tmp, (size_t)len);
}

static int32_t parse_code(const char *p, const char *q)
{
    int neg = *p == '-';
    int32_t v = 0;
    if (q - p - neg > 9) return 0;
    for (const char *c = p + neg; c < q; c++) {
        if (!IS_DIGIT(*c)) return 0;
        v = v * 10 + (*c - '0');
    }
    return neg ? -v : v;
}

/* ---- the frame scan ------------------------------------------------------- */

/* One member's value at p (< end), captured into r per its name id. */
static const char *scan_member(void *sv, void *rv, int id, const char *p)
{
    scan_t *s = sv;
    rec_t *r = rv;
    const char *end = s->end;
    uint32_t off = (uint32_t)(p - s->base);
    if (*p == '"') {
        int esc = 0;
        const char *v = p + 1, *ve = td_json_scan_str(v, end, &esc);
        if (!ve) return NULL;
        uint32_t n = (uint32_t)(ve - v);
        switch (id) {
        case KEY_T:
            r->kind = (int8_t)kind_of(v, n, esc);
            break;
        case KEY_S:
            r->has_sym = 1;
            r->sym = off + 1;
            r->sym_len = n;
            r->sym_esc = (uint8_t)esc;
            break;
        case KEY_MSG:
            r->has_msg = 1;
            r->msg = off + 1;
            r->msg_len = n;
            break;
        case KEY_SYMBOLS:
            r->has_arr = 0;
            break;
        case KEY_CODE:
            r->code = 0;
            break;
        }
        return ve + 1;
    }
    const char *q = scan_value(s, p, 3);
    if (!q) return NULL;
    switch (id) {
    case KEY_T:
        r->kind = K_UNKNOWN;
        break;
    case KEY_S:
        r->has_sym = 0;
        break;
    case KEY_MSG:
        r->has_msg = 0;
        break;
    case KEY_SYMBOLS:
        r->has_arr = *p == '[';
        r->arr = off;
        r->arr_end = (uint32_t)(q - s->base);
        break;
    case KEY_CODE:
        r->code = *p == '-' || IS_DIGIT(*p) ? parse_code(p, q) : 0;
        break;
    }
    return q;
}

/* The element object at p ('{'): validates it and records it. */
static const char *scan_elem(void *sv, const char *p)
{
    scan_t *s = sv;
    rec_t *r = td_json_recs_push(&s->recs, sizeof *r, MAX_ELEMS);
    if (!r) {
        s->err = TD_ALPACA_ETOOBIG;
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->kind = K_UNKNOWN;
    r->beg = (uint32_t)(p - s->base);
    if (!(p = td_json_walk_object(p, s->end, key_id, scan_member, s, r))) return NULL;
    r->end = (uint32_t)(p - s->base);
    return p;
}

static int scan_frame(scan_t *s)
{
    int rc = td_json_walk_frame(s->base, s->end, scan_elem, s);
    if (rc == TD_JSON_FRAME_OK) return TD_ALPACA_OK;
    return rc == TD_JSON_FRAME_ELEM && s->err ? s->err : TD_ALPACA_EMALFORMED;
}

/* ---- dispatch ------------------------------------------------------------- */

typedef void (*sym_fn)(void *ctx, const char *sym, size_t n);

/* Calls fn for each usable symbol of the validated array at p ('['). */
static size_t each_symbol(const char *p, const char *end, sym_fn fn, void *ctx)
{
    scan_t s = {.base = p, .end = end};
    char scratch[MAX_SYM];
    size_t count = 0;
    p = td_json_skip_ws(p + 1, end);
    while (*p != ']') {
        const char *q = scan_value(&s, p, 1);
        if (*p == '"') {
            int esc = memchr(p + 1, '\\', (size_t)(q - p - 2)) != NULL;
            const char *sym;
            size_t n = td_json_symbol(p + 1, (size_t)(q - p - 2), esc, scratch, &sym);
            if (n) {
                fn(ctx, sym, n);
                count++;
            }
        }
        p = td_json_skip_ws(q, end);
        if (*p == ',') p = td_json_skip_ws(p + 1, end);
    }
    return count;
}

typedef struct {
    const td_alpaca_cb_t *cb;
    void *ud;
    td_event_t ev;
} news_ctx;

static void news_symbol(void *ctx, const char *sym, size_t n)
{
    news_ctx *c = ctx;
    c->ev.symbol = sym;
    c->ev.symbol_len = n;
    if (c->cb && c->cb->on_event) c->cb->on_event(c->ud, &c->ev);
}

static void control(const scan_t *s, const rec_t *r, const td_alpaca_cb_t *cb, void *ud)
{
    td_alpaca_ctl_t ctl = {.code = r->code};
    ctl.msg = r->has_msg ? s->base + r->msg : NULL;
    ctl.msg_len = r->has_msg ? r->msg_len : 0;
    ctl.raw = s->base + r->beg;
    ctl.raw_len = r->end - r->beg;
    if (r->kind == K_ERROR) {
        ctl.type = TD_ALPACA_CTL_ERROR;
    } else if (r->kind == K_SUBSCRIPTION) {
        ctl.type = TD_ALPACA_CTL_SUBSCRIPTION;
    } else if (ctl.msg_len == 9 && memcmp(ctl.msg, "connected", 9) == 0) {
        ctl.type = TD_ALPACA_CTL_CONNECTED;
    } else if (ctl.msg_len == 13 && memcmp(ctl.msg, "authenticated", 13) == 0) {
        ctl.type = TD_ALPACA_CTL_AUTHENTICATED;
    } else {
        ctl.type = TD_ALPACA_CTL_SUCCESS;
    }
    if (cb && cb->on_control) cb->on_control(ud, &ctl);
}

static void dispatch(const scan_t *s, const td_alpaca_cb_t *cb, void *ud, td_alpaca_stats_t *st)
{
    char scratch[MAX_SYM];
    void (*on_event)(void *, const td_event_t *) = cb ? cb->on_event : NULL;
    const rec_t *recs = s->recs.v;
    for (size_t i = 0; i < s->recs.n; i++) {
        const rec_t *r = &recs[i];
        td_event_t ev = {.kind = (td_kind_t)r->kind,
                         .payload = s->base + r->beg,
                         .payload_len = r->end - r->beg};
        if (r->kind == TD_KIND_NEWS) {
            news_ctx c = {cb, ud, ev};
            size_t n = r->has_arr
                           ? each_symbol(s->base + r->arr, s->base + r->arr_end, news_symbol, &c)
                           : 0;
            st->events += n;
            st->unknown += n == 0;
        } else if (r->kind >= K_SUCCESS) {
            control(s, r, cb, ud);
            st->control++;
        } else if (r->kind >= 0 && r->has_sym &&
                   (ev.symbol_len = td_json_symbol(s->base + r->sym, r->sym_len, r->sym_esc,
                                                   scratch, &ev.symbol)) != 0) {
            if (on_event) on_event(ud, &ev);
            st->events++;
        } else {
            st->unknown++;
        }
    }
}

int td_alpaca_split(const char *frame, size_t len, const td_alpaca_cb_t *cb, void *ud,
                    td_alpaca_stats_t *stats)
{
    rec_t recs[STACK_RECS];
    td_alpaca_stats_t local = {0};
    td_alpaca_stats_t *st = stats ? stats : &local;
    if (!frame) {
        frame = "";
        len = 0;
    }
    scan_t s = {.base = frame, .end = frame + len, .recs = {.v = recs, .cap = STACK_RECS}};
    int rc = len > MAX_FRAME ? TD_ALPACA_ETOOBIG : scan_frame(&s);
    st->frames++;
    if (rc == TD_ALPACA_OK)
        dispatch(&s, cb, ud, st);
    else
        st->malformed++;
    if (s.recs.heap) free(s.recs.v);
    return rc;
}

/* ---- subscription objects ------------------------------------------------- */

typedef struct {
    void (*fn)(void *ud, td_kind_t k, const char *sym, size_t n);
    void *ud;
    td_kind_t kind;
} sub_ctx;

static void sub_symbol(void *ctx, const char *sym, size_t n)
{
    sub_ctx *c = ctx;
    c->fn(c->ud, c->kind, sym, n);
}

int td_alpaca_subscription_each(const char *obj, size_t len,
                                void (*fn)(void *ud, td_kind_t k, const char *sym, size_t n),
                                void *ud)
{
    if (!obj) return TD_ALPACA_EMALFORMED;
    scan_t s = {.base = obj, .end = obj + len};
    const char *end = s.end, *p = td_json_skip_ws(obj, end), *q;
    if (p >= end || *p != '{' || !(q = skip_nested(&s, p, 1)) || td_json_skip_ws(q, end) != end)
        return TD_ALPACA_EMALFORMED;
    p = td_json_skip_ws(p + 1, end);
    while (*p != '}') {
        int esc = 0, kind = -1;
        const char *k = p + 1, *ke = td_json_scan_str(k, end, &esc);
        char tmp[32];
        int n = esc ? td_json_unescape(k, (size_t)(ke - k), tmp, sizeof tmp) : (int)(ke - k);
        if (n >= 0) kind = td_kind_parse(esc ? tmp : k, (size_t)n);
        p = td_json_skip_ws(td_json_scan_name(p, end), end);
        q = scan_value(&s, p, 2);
        if (kind >= 0 && *p == '[' && fn) {
            sub_ctx c = {fn, ud, (td_kind_t)kind};
            each_symbol(p, q, sub_symbol, &c);
        }
        p = td_json_skip_ws(q, end);
        if (*p == ',') p = td_json_skip_ws(p + 1, end);
    }
    return TD_ALPACA_OK;
}

/* ---- client messages ------------------------------------------------------ */

void td_alpaca_build_auth(td_buf_t *b, const char *key, const char *secret)
{
    td_buf_appends(b, "{\"action\":\"auth\",\"key\":");
    td_buf_append_json_str(b, key, strlen(key));
    td_buf_appends(b, ",\"secret\":");
    td_buf_append_json_str(b, secret, strlen(secret));
    td_buf_appendc(b, '}');
}

void td_alpaca_build_sub(td_buf_t *b, const char *action, const td_subset_t *s, unsigned kinds)
{
    td_buf_appends(b, "{\"action\":");
    td_buf_append_json_str(b, action, strlen(action));
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!(kinds & (1u << k)) || k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR) continue;
        if (!s->k[k].all && s->k[k].n == 0) continue;
        td_buf_appendc(b, ',');
        td_subset_append_json_list(s, (td_kind_t)k, b);
    }
    td_buf_appendc(b, '}');
}
