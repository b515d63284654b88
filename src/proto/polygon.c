/* SPDX-License-Identifier: Apache-2.0 */
/* Polygon stream codec. The splitter works as alpaca.c's does: one pass
 * validates the whole frame as strict RFC 8259 JSON (split.h) while
 * recording, for each top-level element, its byte range, its "ev" and the
 * string members that may matter ("sym", "T", "pair", "p", "status",
 * "message"); only when the frame is valid does a second pass over those
 * records dispatch. Which member holds the symbol depends on "ev", which may
 * come after it, so every candidate is recorded.
 *
 * Rules (as in alpaca.c): a repeated member name takes its last value (a
 * non-string value clears a string capture); names and values are compared
 * after unescaping; a symbol is usable if it is a string of 1..64 decoded
 * bytes with no control character and no lone surrogate escape. */
#include "proto/polygon.h"

#include "proto/split.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PARAM TD_JSON_MAX_SYM /* ticker bytes in a params item */

/* Event prefixes of every cluster, and the status object. */
typedef enum {
    EV_UNKNOWN = -1,
    EV_T,
    EV_Q,
    EV_A,
    EV_AM,
    EV_LULD,
    EV_NOI,
    EV_C,
    EV_CA,
    EV_CAS,
    EV_XT,
    EV_XQ,
    EV_XA,
    EV_XAS,
    EV_XL2,
    EV_STATUS,
    EV__COUNT
} ev_t;

static const char *const ev_names[EV__COUNT] = {
    "T", "Q", "A", "AM", "LULD", "NOI", "C", "CA", "CAS", "XT", "XQ", "XA", "XAS", "XL2", "status",
};

/* Captured string members: the symbol candidates, then the status texts. */
enum { SLOT_SYM, SLOT_T, SLOT_PAIR, SLOT_P, SLOT_STATUS, SLOT_MESSAGE, SLOTS };
enum { KEY_OTHER = SLOTS, KEY_EV };

/* The member that names the symbol, per prefix (PROTOCOLS.md §3.3). */
static const uint8_t ev_symkey[EV_STATUS] = {
    [EV_T] = SLOT_SYM,    [EV_Q] = SLOT_SYM,    [EV_A] = SLOT_SYM,   [EV_AM] = SLOT_SYM,
    [EV_LULD] = SLOT_T,   [EV_NOI] = SLOT_T,    [EV_C] = SLOT_P,     [EV_CA] = SLOT_PAIR,
    [EV_CAS] = SLOT_PAIR, [EV_XT] = SLOT_PAIR,  [EV_XQ] = SLOT_PAIR, [EV_XA] = SLOT_PAIR,
    [EV_XAS] = SLOT_PAIR, [EV_XL2] = SLOT_PAIR,
};

/* td_kind_t + 1 per cluster and prefix; 0: the cluster does not offer it. */
#define K(k) (TD_KIND_##k + 1)
static const int8_t ev_kind[TD_POLYGON__CLUSTERS][EV_STATUS] = {
    [TD_POLYGON_STOCKS] = {[EV_T] = K(TRADE),
                           [EV_Q] = K(QUOTE),
                           [EV_AM] = K(BAR),
                           [EV_A] = K(SECOND_BAR),
                           [EV_LULD] = K(LULD),
                           [EV_NOI] = K(IMBALANCE)},
    [TD_POLYGON_OPTIONS] =
        {[EV_T] = K(TRADE), [EV_Q] = K(QUOTE), [EV_AM] = K(BAR), [EV_A] = K(SECOND_BAR)},
    [TD_POLYGON_FOREX] = {[EV_C] = K(QUOTE), [EV_CA] = K(BAR), [EV_CAS] = K(SECOND_BAR)},
    [TD_POLYGON_CRYPTO] = {[EV_XT] = K(TRADE),
                           [EV_XQ] = K(QUOTE),
                           [EV_XA] = K(BAR),
                           [EV_XAS] = K(SECOND_BAR),
                           [EV_XL2] = K(ORDERBOOK)},
};
#undef K

static const char *const cluster_names[TD_POLYGON__CLUSTERS] = {"stocks", "options", "forex",
                                                                "crypto"};

typedef struct {
    td_split_elem_t elem; /* the object */
    uint32_t off[SLOTS];  /* string contents */
    uint32_t len[SLOTS];
    int8_t ev;        /* ev_t */
    uint8_t has, esc; /* bit per slot */
} rec_t;
_Static_assert(TD_SPLIT_STACK_BYTES / sizeof(rec_t) >= 256, "256 records on the stack");

/* ---- tables --------------------------------------------------------------- */

static int ev_of_plain(const char *t, size_t n)
{
    switch (n) {
    case 1:
        switch (*t) {
        case 'T':
            return EV_T;
        case 'Q':
            return EV_Q;
        case 'A':
            return EV_A;
        case 'C':
            return EV_C;
        }
        return EV_UNKNOWN;
    case 2:
        if (t[0] == 'A' && t[1] == 'M') return EV_AM;
        if (t[0] == 'C' && t[1] == 'A') return EV_CA;
        if (t[0] != 'X') return EV_UNKNOWN;
        return t[1] == 'T' ? EV_XT : t[1] == 'Q' ? EV_XQ : t[1] == 'A' ? EV_XA : EV_UNKNOWN;
    case 3:
        if (memcmp(t, "CAS", 3) == 0) return EV_CAS;
        if (memcmp(t, "XAS", 3) == 0) return EV_XAS;
        if (memcmp(t, "XL2", 3) == 0) return EV_XL2;
        if (memcmp(t, "NOI", 3) == 0) return EV_NOI;
        return EV_UNKNOWN;
    case 4:
        return memcmp(t, "LULD", 4) == 0 ? EV_LULD : EV_UNKNOWN;
    case 6:
        return memcmp(t, "status", 6) == 0 ? EV_STATUS : EV_UNKNOWN;
    }
    return EV_UNKNOWN;
}

static inline int key_id_plain(const char *k, size_t n)
{
    switch (n) {
    case 1:
        return *k == 'T' ? SLOT_T : *k == 'p' ? SLOT_P : KEY_OTHER;
    case 2:
        return k[0] == 'e' && k[1] == 'v' ? KEY_EV : KEY_OTHER;
    case 3:
        return memcmp(k, "sym", 3) == 0 ? SLOT_SYM : KEY_OTHER;
    case 4:
        return memcmp(k, "pair", 4) == 0 ? SLOT_PAIR : KEY_OTHER;
    case 6:
        return memcmp(k, "status", 6) == 0 ? SLOT_STATUS : KEY_OTHER;
    case 7:
        return memcmp(k, "message", 7) == 0 ? SLOT_MESSAGE : KEY_OTHER;
    }
    return KEY_OTHER;
}

static inline int key_id(const char *k, size_t n, int esc)
{
    return td_split_id(k, n, esc, key_id_plain, KEY_OTHER);
}

int td_polygon_cluster_parse(const char *path)
{
    if (!path) return -1;
    if (*path == '/') path++;
    for (int c = 0; c < TD_POLYGON__CLUSTERS; c++)
        if (strcmp(path, cluster_names[c]) == 0) return c;
    return -1;
}

const char *td_polygon_cluster_name(td_polygon_cluster_t c)
{
    return (unsigned)c < TD_POLYGON__CLUSTERS ? cluster_names[c] : NULL;
}

unsigned td_polygon_kinds(td_polygon_cluster_t c)
{
    unsigned m = 0;
    if ((unsigned)c >= TD_POLYGON__CLUSTERS) return 0;
    for (int e = 0; e < EV_STATUS; e++)
        if (ev_kind[c][e]) m |= 1u << (ev_kind[c][e] - 1);
    return m;
}

const char *td_polygon_prefix(td_polygon_cluster_t c, td_kind_t kind)
{
    if ((unsigned)c >= TD_POLYGON__CLUSTERS) return NULL;
    for (int e = 0; e < EV_STATUS; e++)
        if (ev_kind[c][e] && ev_kind[c][e] - 1 == (int)kind) return ev_names[e];
    return NULL;
}

int td_polygon_kind(td_polygon_cluster_t c, const char *ev, size_t n)
{
    if ((unsigned)c >= TD_POLYGON__CLUSTERS || !ev) return -1;
    int e = ev_of_plain(ev, n);
    return e >= 0 && e < EV_STATUS && ev_kind[c][e] ? ev_kind[c][e] - 1 : -1;
}

/* ---- the frame scan ------------------------------------------------------- */

/* One member's value at p (< end), captured into r per its name id. */
static const char *scan_member(td_split_t *s, void *rv, int id, const char *p)
{
    rec_t *r = rv;
    const char *end = s->end;
    if (*p == '"') {
        int esc = 0;
        const char *v = p + 1, *ve = td_json_scan_str(v, end, &esc);
        if (!ve) return NULL;
        if (id == KEY_EV) {
            r->ev = (int8_t)td_split_id(v, (size_t)(ve - v), esc, ev_of_plain, EV_UNKNOWN);
        } else if (id < SLOTS) {
            unsigned bit = 1u << id;
            r->has |= (uint8_t)bit;
            r->esc = (uint8_t)(esc ? r->esc | bit : r->esc & ~bit);
            r->off[id] = (uint32_t)(v - s->base);
            r->len[id] = (uint32_t)(ve - v);
        }
        return ve + 1;
    }
    const char *q = td_split_value(s, p);
    if (id == KEY_EV)
        r->ev = EV_UNKNOWN;
    else if (id < SLOTS)
        r->has &= (uint8_t) ~(1u << id);
    return q;
}

static void rec_init(void *rv)
{
    rec_t *r = rv;
    r->ev = EV_UNKNOWN;
    r->has = r->esc = 0;
}

/* ---- dispatch ------------------------------------------------------------- */

static td_polygon_status_type_t status_type(const char *p, size_t n, int esc)
{
    static const char *const names[] = {
        [TD_POLYGON_ST_CONNECTED] = "connected",
        [TD_POLYGON_ST_AUTH_SUCCESS] = "auth_success",
        [TD_POLYGON_ST_AUTH_FAILED] = "auth_failed",
        [TD_POLYGON_ST_AUTH_TIMEOUT] = "auth_timeout",
        [TD_POLYGON_ST_SUCCESS] = "success",
        [TD_POLYGON_ST_MAX_CONNECTIONS] = "max_connections",
    };
    char tmp[32];
    if (esc) {
        int len = td_json_unescape(p, n, tmp, sizeof tmp);
        if (len < 0) return TD_POLYGON_ST_OTHER;
        p = tmp;
        n = (size_t)len;
    }
    for (int t = 0; t < TD_POLYGON_ST_OTHER; t++)
        if (strlen(names[t]) == n && memcmp(names[t], p, n) == 0)
            return (td_polygon_status_type_t)t;
    return TD_POLYGON_ST_OTHER;
}

static void status(const td_split_t *s, const rec_t *r, const td_polygon_cb_t *cb, void *ud)
{
    td_polygon_status_t st = {.type = TD_POLYGON_ST_OTHER};
    if (r->has & (1u << SLOT_STATUS)) {
        st.status = s->base + r->off[SLOT_STATUS];
        st.status_len = r->len[SLOT_STATUS];
        st.type = status_type(st.status, st.status_len, r->esc & (1u << SLOT_STATUS));
    }
    if (r->has & (1u << SLOT_MESSAGE)) {
        st.message = s->base + r->off[SLOT_MESSAGE];
        st.message_len = r->len[SLOT_MESSAGE];
    }
    st.raw = s->base + r->elem.beg;
    st.raw_len = r->elem.end - r->elem.beg;
    if (cb && cb->on_status) cb->on_status(ud, &st);
}

typedef struct {
    td_polygon_cluster_t c;
    const td_polygon_cb_t *cb;
    void *ud;
    td_polygon_stats_t *st;
} split_ctx;

static void dispatch(const td_split_t *s, void *ctx)
{
    const split_ctx *sc = ctx;
    const td_polygon_cb_t *cb = sc->cb;
    void *ud = sc->ud;
    td_polygon_stats_t *st = sc->st;
    char scratch[TD_JSON_MAX_SYM];
    void (*on_event)(void *, const td_event_t *) = cb ? cb->on_event : NULL;
    const int8_t *kinds = (unsigned)sc->c < TD_POLYGON__CLUSTERS ? ev_kind[sc->c] : NULL;
    const rec_t *recs = s->recs;
    for (size_t i = 0; i < s->n; i++) {
        const rec_t *r = &recs[i];
        if (r->ev == EV_STATUS) {
            status(s, r, cb, ud);
            st->status++;
            continue;
        }
        int k = r->ev >= 0 && kinds ? kinds[r->ev] - 1 : -1;
        unsigned slot = r->ev >= 0 ? ev_symkey[r->ev] : 0;
        td_event_t ev = {.kind = (td_kind_t)k,
                         .payload = s->base + r->elem.beg,
                         .payload_len = r->elem.end - r->elem.beg};
        if (k >= 0 && (r->has & (1u << slot)) &&
            (ev.symbol_len = td_json_symbol(s->base + r->off[slot], r->len[slot],
                                            r->esc & (1u << slot), scratch, &ev.symbol)) != 0) {
            if (on_event) on_event(ud, &ev);
            st->events++;
        } else {
            st->unknown++;
        }
    }
}

int td_polygon_split(td_polygon_cluster_t c, const char *frame, size_t len,
                     const td_polygon_cb_t *cb, void *ud, td_polygon_stats_t *stats)
{
    td_polygon_stats_t local = {0};
    split_ctx sc = {c, cb, ud, stats ? stats : &local};
    return td_split_run(frame, len, sizeof(rec_t), rec_init, key_id, scan_member, dispatch, &sc,
                        &sc.st->frames, &sc.st->malformed);
}

/* ---- integers ------------------------------------------------------------- */

int td_polygon_int64(const char *obj, size_t len, const char *key, int64_t *out)
{
    td_json_span_t sp;
    int64_t v;
    if (!obj || !key || td_json_member(obj, obj + len, key, &sp) != 0 ||
        td_json_int64(sp.p, sp.e, &v) != 0)
        return -1;
    if (out) *out = v;
    return 0;
}

/* ---- client messages ------------------------------------------------------ */

void td_polygon_build_auth(td_buf_t *b, const char *key)
{
    td_buf_appends(b, "{\"action\":\"auth\",\"params\":");
    td_buf_append_json_str(b, key, strlen(key));
    td_buf_appendc(b, '}');
}

static void add_item(td_buf_t *params, const char *prefix, const char *sym)
{
    if (params->len) td_buf_appendc(params, ',');
    td_buf_appends(params, prefix);
    td_buf_appendc(params, '.');
    td_buf_appends(params, sym);
}

size_t td_polygon_build_sub(td_buf_t *b, const char *action, td_polygon_cluster_t c,
                            const td_subset_t *s, unsigned kinds)
{
    td_buf_t params = TD_BUF_INIT;
    size_t count = 0;
    kinds &= td_polygon_kinds(c);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!(kinds & (1u << k))) continue;
        const char *prefix = td_polygon_prefix(c, (td_kind_t)k);
        const td_symset_t *ss = &s->k[k];
        if (ss->all) {
            add_item(&params, prefix, "*");
            count++;
        }
        for (size_t i = 0; i < ss->n; i++, count++)
            add_item(&params, prefix, ss->v[i]);
    }
    if (count) {
        td_buf_appends(b, "{\"action\":");
        td_buf_append_json_str(b, action, strlen(action));
        td_buf_appends(b, ",\"params\":");
        td_buf_append_json_str(b, params.data, params.len);
        td_buf_appendc(b, '}');
    }
    td_buf_free(&params);
    return count;
}

/* ---- params --------------------------------------------------------------- */

/* Item [a, b) (trimmed): its kind and ticker, or -1. */
static int param_item(td_polygon_cluster_t c, const char *a, const char *b, const char **sym,
                      size_t *len)
{
    const char *dot = memchr(a, '.', (size_t)(b - a));
    if (!dot) return -1;
    int kind = td_polygon_kind(c, a, (size_t)(dot - a));
    *sym = dot + 1;
    *len = (size_t)(b - dot - 1);
    if (kind < 0 || *len == 0 || *len > MAX_PARAM) return -1;
    for (const char *x = *sym; x < b; x++)
        if ((unsigned char)*x <= ' ' || (unsigned char)*x >= 0x7f) return -1;
    return kind;
}

/* One pass over the items; calls fn only if `call`. */
static int params_walk(td_polygon_cluster_t c, const char *p, const char *end, int call,
                       void (*fn)(void *, td_kind_t, const char *, size_t), void *ud,
                       const char **bad, size_t *bad_len)
{
    int count = 0;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *a = p, *b = comma ? comma : end, *sym;
        size_t len;
        td_json_trim(&a, &b);
        int kind = param_item(c, a, b, &sym, &len);
        if (kind < 0) {
            if (bad) *bad = a;
            if (bad_len) *bad_len = (size_t)(b - a);
            return -1;
        }
        if (call && fn) fn(ud, (td_kind_t)kind, sym, len);
        count++;
        if (!comma) return count;
        p = comma + 1;
    }
}

int td_polygon_params_each(td_polygon_cluster_t c, const char *params, size_t n,
                           void (*fn)(void *ud, td_kind_t kind, const char *sym, size_t len),
                           void *ud, const char **bad, size_t *bad_len)
{
    const char *end = params ? params + n : NULL;
    if (td_json_skip_ws(params, end) == end) return 0; /* an empty list */
    if (params_walk(c, params, end, 0, NULL, NULL, bad, bad_len) < 0) return -1;
    return params_walk(c, params, end, 1, fn, ud, NULL, NULL);
}
