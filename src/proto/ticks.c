/* SPDX-License-Identifier: Apache-2.0 */
/* Alpaca REST trades and quotes bodies (see ticks.h). */
#include "proto/ticks.h"

#include "core/clock.h"
#include "proto/json_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TICKS 1000000

typedef struct {
    td_ticks_page_t *pg;
    char sym[TD_BARS_MAX_SYM + 1];
    const char *why;
} walk_t;

static int fail(td_ticks_page_t *pg, const char *why)
{
    pg->n = 0;
    pg->next[0] = '\0';
    pg->status = TD_BARS_MALFORMED;
    snprintf(pg->message, sizeof pg->message, "%s", why);
    return -1;
}

static td_tick_t *push(td_ticks_page_t *pg)
{
    if (pg->n == MAX_TICKS) return NULL;
    if (pg->n == pg->cap) {
        size_t c = pg->cap ? pg->cap * 2 : 256;
        td_tick_t *v = realloc(pg->v, c * sizeof *v);
        if (!v) return NULL;
        pg->v = v;
        pg->cap = c;
    }
    return &pg->v[pg->n++];
}

static int uint_span(const td_json_span_t *k, uint64_t *out);
static int id_span(const td_json_span_t *k, uint64_t *out);

/* "t" (string, RFC 3339) and "i" (unsigned integer) of a record. */
static int record_fields(const char *p, const char *e, td_tick_t *t)
{
    /* "T" and "S" would clash with the stream event's own (the refill adds
     * them): no REST record has them */
    static const char *const names[] = {"t", "i", "T", "S"};
    td_json_span_t keys[4] = {{0}};
    if (td_json_top_members(p, e, names, 4, keys) != 0 || !keys[0].p || *keys[0].p != '"' ||
        keys[2].p || keys[3].p)
        return -1;
    const char *s = keys[0].p + 1;
    if (td_rfc3339_parse(s, (size_t)(keys[0].e - 1 - s), &t->ts_ns) != 0) return -1;
    t->has_id = uint_span(&keys[1], &t->id) == 0;
    return 0;
}

/* One element of a symbol's records array (validated). */
static int per_record(void *ud, const char *p, const char *e)
{
    walk_t *w = ud;
    if (*p != '{') return w->why = "a record is not an object", 1;
    td_tick_t *t = push(w->pg);
    if (!t) return w->why = "too many records", 1;
    if (record_fields(p, e, t) != 0)
        return w->why = "a record without a valid \"t\" (or with \"T\" or \"S\")", 1;
    memcpy(t->symbol, w->sym, strlen(w->sym) + 1);
    t->rec = p;
    t->rec_len = (size_t)(e - p);
    return 0;
}

static int per_symbol(void *ud, const char *k, size_t n, int esc, const char *v, const char *ve)
{
    walk_t *w = ud;
    char scratch[TD_JSON_MAX_SYM];
    const char *sym;
    size_t sl = td_json_symbol(k, n, esc, scratch, &sym);
    if (!sl || sl > TD_BARS_MAX_SYM) return w->why = "unusable symbol", 1;
    memcpy(w->sym, sym, sl);
    w->sym[sl] = '\0';
    if (*v == 'n') return 0; /* null: no records */
    if (*v != '[') return w->why = "records are not an array", 1;
    if (td_json_each_element(v, ve, per_record, w) < 0) return w->why = "malformed record", 1;
    return w->why ? 1 : 0;
}

int td_ticks_parse_alpaca(const char *body, size_t len, td_kind_t kind, td_ticks_page_t *out)
{
    out->n = 0;
    out->next[0] = out->message[0] = '\0';
    out->status = TD_BARS_OK;
    const char *names[] = {kind == TD_KIND_TRADE ? "trades" : "quotes", "next_page_token",
                           "message"};
    td_json_span_t keys[3] = {{0}};
    if (!body || !td_json_valid(body, len, 1) ||
        td_json_top_members(body, body + len, names, 3, keys) != 0)
        return fail(out, "not one JSON object");
    if (!keys[0].p) {
        if (!keys[2].p) return fail(out, "neither records nor message");
        out->status = TD_BARS_INVALID;
        size_t n = (size_t)(keys[2].e - keys[2].p);
        snprintf(out->message, sizeof out->message, "%.*s", (int)(n > 200 ? 200 : n), keys[2].p);
        for (char *c = out->message; *c; c++)
            if ((unsigned char)*c < 0x20) *c = '?';
        return -1;
    }
    walk_t w = {out, "", NULL};
    if (*keys[0].p == '{') {
        if (td_json_each_member(keys[0].p, keys[0].e, per_symbol, &w) != 0)
            return fail(out, w.why ? w.why : "malformed records");
    } else if (*keys[0].p != 'n') {
        return fail(out, "records are not an object");
    }
    if (keys[1].p && *keys[1].p == '"') {
        const char *s = keys[1].p + 1;
        size_t n = (size_t)(keys[1].e - 1 - s);
        if (n > TD_BARS_MAX_NEXT || memchr(s, '\\', n)) return fail(out, "bad next_page_token");
        memcpy(out->next, s, n);
        out->next[n] = '\0';
    } else if (keys[1].p && *keys[1].p != 'n') {
        return fail(out, "bad next_page_token");
    }
    out->status = out->n ? TD_BARS_OK : TD_BARS_EMPTY;
    return 0;
}

/* A trade id: an unsigned integer, or a string: its value if decimal
 * digits (at most 19), else an FNV-1a hash of its bytes. 0 and *out, or -1. */
static int id_span(const td_json_span_t *k, uint64_t *out)
{
    if (!k->p || *k->p != '"') return uint_span(k, out);
    const char *s = k->p + 1, *e = k->e;
    while (e > s && *--e != '"')
        ;
    size_t n = (size_t)(e - s);
    if (n == 0) return -1;
    uint64_t v = 0, h = 1469598103934665603ULL;
    int digits = n <= 19;
    for (size_t i = 0; i < n; i++) {
        digits = digits && s[i] >= '0' && s[i] <= '9';
        v = v * 10 + (uint64_t)(s[i] - '0');
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    }
    *out = digits ? v : h;
    return 0;
}

/* An integer (optionally negative) of [p, e) into *v: 0, or -1. */
static int int_span(const td_json_span_t *k, int64_t *v)
{
    if (!k->p) return -1;
    int neg = *k->p == '-';
    td_json_span_t m = {k->p + neg, k->e};
    uint64_t u;
    if (uint_span(&m, &u) != 0 || u > (uint64_t)INT64_MAX) return -1;
    *v = neg ? -(int64_t)u : (int64_t)u;
    return 0;
}

static int poly_record(td_ticks_page_t *pg, td_kind_t kind, const char *sym, const char *p,
                       const char *e)
{
    static const char *const names[] = {"sip_timestamp", "id"};
    td_json_span_t keys[2] = {{0}};
    td_tick_t *t = push(pg);
    if (!t) return fail(pg, "too many records");
    int64_t ns;
    if (td_json_top_members(p, e, names, 2, keys) != 0 || int_span(&keys[0], &ns) != 0)
        return fail(pg, "a record without an integer \"sip_timestamp\"");
    t->ts_ns = td_floor_div(ns, 1000000) * 1000000;
    t->has_id = kind == TD_KIND_TRADE && id_span(&keys[1], &t->id) == 0;
    snprintf(t->symbol, sizeof t->symbol, "%s", sym);
    t->rec = p;
    t->rec_len = (size_t)(e - p);
    return 0;
}

/* A short text member (status, message) into out, control bytes as '?'. */
static void text_of(const td_json_span_t *k, char *out, size_t cap)
{
    out[0] = '\0';
    if (!k->p) return;
    size_t n = (size_t)(k->e - k->p);
    snprintf(out, cap, "%.*s", (int)(n > 200 ? 200 : n), k->p);
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20) *c = '?';
}

int td_ticks_parse_polygon(const char *body, size_t len, td_kind_t kind, const char *sym,
                           td_ticks_page_t *out)
{
    out->n = 0;
    out->next[0] = out->message[0] = '\0';
    out->status = TD_BARS_OK;
    static const char *const names[] = {"results", "next_url", "status", "message", "error"};
    td_json_span_t k[5] = {{0}};
    if (!sym || !*sym || strlen(sym) > TD_BARS_MAX_SYM) return fail(out, "unusable symbol");
    if (!body || !td_json_valid(body, len, 1) ||
        td_json_top_members(body, body + len, names, 5, k) != 0)
        return fail(out, "not one JSON object");
    char st[32];
    text_of(&k[2], st, sizeof st);
    if (!k[0].p && (k[3].p || k[4].p) && strcmp(st, "\"OK\"") != 0 &&
        strcmp(st, "\"DELAYED\"") != 0) {
        out->status = TD_BARS_INVALID;
        text_of(k[3].p ? &k[3] : &k[4], out->message, sizeof out->message);
        return -1;
    }
    if (k[0].p && *k[0].p == '[') {
        const char *p = td_json_skip_ws(k[0].p + 1, k[0].e);
        while (p < k[0].e && *p != ']') {
            if (*p != '{') return fail(out, "a record is not an object");
            int deep = 0;
            const char *e = td_json_scan_value(p, k[0].e, 1, &deep);
            if (!e) return fail(out, "malformed record");
            if (poly_record(out, kind, sym, p, e) != 0) return -1;
            p = td_json_skip_ws(e, k[0].e);
            if (p < k[0].e && *p == ',') p = td_json_skip_ws(p + 1, k[0].e);
        }
    } else if (k[0].p && *k[0].p != 'n') {
        return fail(out, "results are not an array");
    }
    if (k[1].p && *k[1].p == '"') {
        const char *s = k[1].p + 1, *e = k[1].e;
        while (e > s && *--e != '"')
            ;
        size_t n = (size_t)(e - s);
        if (n > TD_BARS_MAX_NEXT || memchr(s, '\\', n)) return fail(out, "bad next_url");
        memcpy(out->next, s, n);
        out->next[n] = '\0';
    } else if (k[1].p && *k[1].p != 'n') {
        return fail(out, "bad next_url");
    }
    out->status = out->n ? TD_BARS_OK : TD_BARS_EMPTY;
    return 0;
}

static int uint_span(const td_json_span_t *k, uint64_t *out)
{
    uint64_t v = 0;
    const char *q = k->p;
    if (!q || q == k->e || *q < '0' || *q > '9') return -1;
    for (; q < k->e && *q >= '0' && *q <= '9'; q++) {
        if (v > (UINT64_MAX - (uint64_t)(*q - '0')) / 10) return -1;
        v = v * 10 + (uint64_t)(*q - '0');
    }
    while (q < k->e && td_json_is_ws((unsigned char)*q))
        q++;
    if (q != k->e) return -1;
    *out = v;
    return 0;
}

int td_ticks_event_fields(const char *p, size_t n, int64_t *ns, int *has_id, uint64_t *id)
{
    static const char *const names[] = {"t", "s", "i"};
    td_json_span_t k[3] = {{0}};
    if (td_json_top_members(p, p + n, names, 3, k) != 0) return -1;
    *has_id = id_span(&k[2], id) == 0;
    if (k[0].p && *k[0].p != '"') { /* Polygon trades and quotes: Unix ms */
        int64_t ms;
        if (int_span(&k[0], &ms) != 0 || ms > INT64_MAX / 1000000 || ms < INT64_MIN / 1000000)
            return -1;
        *ns = ms * 1000000;
        return 0;
    }
    if (k[0].p && *k[0].p == '"') {
        const char *e = k[0].e;
        while (e > k[0].p && td_json_is_ws((unsigned char)e[-1]))
            e--;
        return td_rfc3339_parse(k[0].p + 1, (size_t)(e - 1 - (k[0].p + 1)), ns) == 0 ? 0 : -1;
    }
    if (!k[1].p) return -1;
    int neg = *k[1].p == '-';
    td_json_span_t m = {k[1].p + neg, k[1].e};
    uint64_t ms;
    if (uint_span(&m, &ms) != 0 || ms > (uint64_t)(INT64_MAX / 1000000)) return -1;
    *ns = (neg ? -(int64_t)ms : (int64_t)ms) * 1000000;
    return 0;
}

void td_ticks_page_free(td_ticks_page_t *p)
{
    if (!p) return;
    free(p->v);
    memset(p, 0, sizeof *p);
}
