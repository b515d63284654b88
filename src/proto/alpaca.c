/* SPDX-License-Identifier: Apache-2.0 */
/* Alpaca stream codec. The splitter is a purpose-built single-pass scanner:
 * it validates the whole frame as strict RFC 8259 JSON (including UTF-8 and
 * \uXXXX escapes) while recording, for each top-level element, its byte range
 * and its top-level "T", "S", "code", "msg" and "symbols" members. Only when
 * the frame is valid does a second, cheap pass over those records dispatch
 * events. String bodies are skipped 16 bytes at a time with SSE2. The scan
 * of each element is shared with polygon.c (split.h over json_scan.h).
 *
 * Rules shared with fuzz/fuzz_alpaca_diff.c (which checks them against jsmn):
 * - a duplicated member name: the last occurrence wins (as in Go, JS, Python);
 * - member names and values are compared after JSON unescaping;
 * - a symbol is usable if it is a string whose decoded form is 1..64 bytes,
 *   has no byte below 0x20 and no lone surrogate escape;
 * - "code" is the value of a number written -?[0-9]{1,9}, otherwise 0. */
#include "proto/alpaca.h"

#include "proto/split.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SYM     TD_JSON_MAX_SYM
#define IS_DIGIT(c) TD_JSON_IS_DIGIT(c)

/* Element kinds beyond td_kind_t. */
enum { K_UNKNOWN = -1, K_SUCCESS = 64, K_ERROR, K_SUBSCRIPTION };
/* Top-level member names we capture. */
enum { KEY_OTHER, KEY_T, KEY_S, KEY_CODE, KEY_MSG, KEY_SYMBOLS };

typedef struct {
    td_split_elem_t elem;  /* the object */
    uint32_t sym, sym_len; /* "S" string content */
    uint32_t arr, arr_end; /* "symbols" array */
    uint32_t msg, msg_len; /* "msg" string content */
    int32_t code;
    int8_t kind; /* td_kind_t, K_* */
    uint8_t sym_esc, has_sym, has_arr, has_msg;
} rec_t;
_Static_assert(TD_SPLIT_STACK_BYTES / sizeof(rec_t) >= 256, "256 records on the stack");

/* ---- names ---------------------------------------------------------------- */

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
    return td_split_id(k, n, esc, key_id_plain, KEY_OTHER);
}

/* "code": an integer of at most 9 digits, else 0. */
static int32_t parse_code(const char *p, const char *q)
{
    int64_t v;
    return q - p - (*p == '-') <= 9 && td_json_int64(p, q, &v) == 0 ? (int32_t)v : 0;
}

/* ---- the frame scan ------------------------------------------------------- */

/* One member's value at p (< end), captured into r per its name id. */
static const char *scan_member(td_split_t *s, void *rv, int id, const char *p)
{
    rec_t *r = rv;
    const char *end = s->end;
    uint32_t off = (uint32_t)(p - s->base);
    if (*p == '"') {
        int esc = 0;
        const char *v = p + 1, *ve = td_json_scan_str(v, end, &esc);
        if (!ve) return NULL;
        uint32_t n = (uint32_t)(ve - v);
        if (id == KEY_OTHER) return ve + 1; /* most members: no jump table */
        switch (id) {
        case KEY_T:
            r->kind = (int8_t)td_split_id(v, n, esc, kind_of_plain, K_UNKNOWN);
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
    const char *q = td_split_value(s, p);
    if (!q || id == KEY_OTHER) return q;
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

static void rec_init(void *rv)
{
    rec_t *r = rv;
    memset(r, 0, sizeof *r);
    r->kind = K_UNKNOWN;
}

/* ---- dispatch ------------------------------------------------------------- */

typedef void (*sym_fn)(void *ctx, const char *sym, size_t n);

typedef struct {
    sym_fn fn;
    void *ctx;
    size_t count;
} syms_t;

static int symbol_elem(void *ud, const char *v, const char *ve)
{
    syms_t *w = ud;
    char scratch[MAX_SYM];
    const char *sym;
    if (*v != '"') return 0;
    int esc = memchr(v + 1, '\\', (size_t)(ve - v - 2)) != NULL;
    size_t n = td_json_symbol(v + 1, (size_t)(ve - v - 2), esc, scratch, &sym);
    if (n) {
        w->fn(w->ctx, sym, n);
        w->count++;
    }
    return 0;
}

/* Calls fn for each usable symbol of the validated array at p ('['). */
static size_t each_symbol(const char *p, const char *end, sym_fn fn, void *ctx)
{
    syms_t w = {fn, ctx, 0};
    td_json_each_element(p, end, symbol_elem, &w);
    return w.count;
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

static void control(const td_split_t *s, const rec_t *r, const td_alpaca_cb_t *cb, void *ud)
{
    td_alpaca_ctl_t ctl = {.code = r->code};
    ctl.msg = r->has_msg ? s->base + r->msg : NULL;
    ctl.msg_len = r->has_msg ? r->msg_len : 0;
    ctl.raw = s->base + r->elem.beg;
    ctl.raw_len = r->elem.end - r->elem.beg;
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

typedef struct {
    const td_alpaca_cb_t *cb;
    void *ud;
    td_alpaca_stats_t *st;
} split_ctx;

static void dispatch(const td_split_t *s, void *ctx)
{
    const split_ctx *sc = ctx;
    const td_alpaca_cb_t *cb = sc->cb;
    void *ud = sc->ud;
    td_alpaca_stats_t *st = sc->st;
    char scratch[MAX_SYM];
    void (*on_event)(void *, const td_event_t *) = cb ? cb->on_event : NULL;
    const rec_t *recs = s->recs;
    for (size_t i = 0; i < s->n; i++) {
        const rec_t *r = &recs[i];
        td_event_t ev = {.kind = (td_kind_t)r->kind,
                         .payload = s->base + r->elem.beg,
                         .payload_len = r->elem.end - r->elem.beg};
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
    td_alpaca_stats_t local = {0};
    split_ctx c = {cb, ud, stats ? stats : &local};
    return td_split_run(frame, len, sizeof(rec_t), rec_init, key_id, scan_member, dispatch, &c,
                        &c.st->frames, &c.st->malformed);
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

static int sub_member(void *ud, const char *k, size_t n, int esc, const char *v, const char *ve)
{
    sub_ctx *c = ud;
    char tmp[32];
    int len = esc ? td_json_unescape(k, n, tmp, sizeof tmp) : (int)n;
    int kind = len >= 0 ? td_kind_parse(esc ? tmp : k, (size_t)len) : -1;
    if (kind >= 0 && *v == '[') {
        c->kind = (td_kind_t)kind;
        each_symbol(v, ve, sub_symbol, c);
    }
    return 0;
}

int td_alpaca_subscription_each(const char *obj, size_t len,
                                void (*fn)(void *ud, td_kind_t k, const char *sym, size_t n),
                                void *ud)
{
    if (!obj || !td_json_valid(obj, len, 1)) return TD_EMALFORMED;
    sub_ctx c = {fn, ud, TD_KIND_TRADE};
    if (fn) td_json_each_member(obj, obj + len, sub_member, &c);
    return TD_OK;
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
