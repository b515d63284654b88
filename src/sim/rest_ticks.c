/* SPDX-License-Identifier: Apache-2.0 */
/* The simulator's trades and quotes history (with --bar-seconds): a ring of
 * the last stock and crypto trades and quotes the generators produced,
 * whether or not anyone was subscribed, and the Alpaca REST endpoints that
 * serve them: GET /v2/stocks/trades and /v2/stocks/quotes?symbols=A,B
 * &start=&end=&limit=&page_token= (PROTOCOLS.md §2 shape:
 * {"trades":{"SYM":[records]},"next_page_token":...}; a record is the
 * stream event without "T" and "S"), and the same for pairs under
 * /v1beta3/crypto/us/trades|quotes?symbols=BTC/USD,... (a crypto trade
 * record: t, p, s, i, tks in the stream's order; a quote: bp, bs, ap, as, t).
 * Polygon stocks (--bar-seconds with a Polygon session): GET /v3/trades/{T}
 * and /v3/quotes/{T}?timestamp.gte=&timestamp.lt= (ns; also .gt, .lte)
 * &limit=&order=asc, next_url with a cursor; a record is the stream event
 * with the REST names ("x" -> "exchange", "t" ms -> "sip_timestamp" ns,
 * ...; see poly_record).
 * So the REST answer of a window holds exactly the events the stream
 * generated in it. */
#include "core/clock.h"
#include "core/mem.h"
#include "proto/json_scan.h"
#include "sim/sim_int.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define TICK_JSON 232

typedef struct {
    int64_t t;
    uint8_t kind, len, poly; /* poly: a Polygon event ({"ev":..,"sym":..}) */
    char sym[22];
    char json[TICK_JSON]; /* the record: the event without "T" and "S" */
} tick_t;

struct td_sim_ticks_s {
    tick_t *v;
    size_t cap, head, n; /* head: the oldest */
};

td_sim_ticks_t *td__sim_ticks_new(size_t cap)
{
    td_sim_ticks_t *r = td_xcalloc(1, sizeof *r);
    r->cap = cap;
    r->v = td_xcalloc(cap, sizeof *r->v);
    return r;
}

void td__sim_ticks_free(td_sim_ticks_t *r)
{
    if (!r) return;
    free(r->v);
    free(r);
}

/* A Polygon event's "t" (Unix ms, after the symbol at q) in ns: 0, or -1. */
static int poly_time(const char *q, const char *end, int64_t *t)
{
    const char *tv = memmem(q, (size_t)(end - q), ",\"t\":", 5);
    if (!tv) return -1;
    int64_t ms = 0;
    const char *d = tv + 5;
    for (; d < end && *d >= '0' && *d <= '9' && ms < INT64_MAX / 10000000; d++)
        ms = ms * 10 + (*d - '0');
    if (d == tv + 5) return -1;
    *t = ms * 1000000;
    return 0;
}

void td__sim_ticks_push(td_sim_ticks_t *r, td_kind_t kind, const char *ev, size_t n)
{
    /* {"T":"t","S":"SYM",<rest>} or {"ev":"T","sym":"SYM",<rest>} built by
     * the generator: SYM is plain */
    int poly = n > 6 && memcmp(ev, "{\"ev\":", 6) == 0;
    const char *key = poly ? "\"sym\":\"" : "\"S\":\"";
    size_t kl = strlen(key);
    const char *s = n > 14 ? memmem(ev, n, key, kl) : NULL;
    const char *q = s ? memchr(s + kl, '"', n - (size_t)(s + kl - ev)) : NULL;
    if (!q || (size_t)(q - s - kl) >= sizeof r->v->sym) return;
    size_t rest = n - (size_t)(q + 2 - ev); /* after `",` */
    if (rest + 1 > TICK_JSON) return;
    int64_t t;
    const char *tv = poly ? NULL : memmem(q, n - (size_t)(q - ev), "\"t\":\"", 5), *te;
    if (poly ? poly_time(q, ev + n, &t) != 0
             : !tv || !(te = memchr(tv + 5, '"', n - (size_t)(tv + 5 - ev))) ||
                   td_rfc3339_parse(tv + 5, (size_t)(te - tv - 5), &t) != 0)
        return;
    tick_t *k = &r->v[(r->head + r->n) % r->cap];
    if (r->n == r->cap)
        r->head = (r->head + 1) % r->cap;
    else
        r->n++;
    k->t = t;
    k->kind = (uint8_t)kind;
    k->poly = (uint8_t)poly;
    memcpy(k->sym, s + kl, (size_t)(q - s - kl));
    k->sym[q - s - kl] = '\0';
    k->json[0] = '{';
    memcpy(k->json + 1, q + 2, rest);
    k->len = (uint8_t)(rest + 1);
}

static void fail(td_sim_hcall_t *c, int status, const char *msg)
{
    c->status = status;
    c->outcome = "bad_request";
    td_buf_appendf(c->out, "{\"message\":\"%s\"}", msg);
}

typedef struct {
    int64_t start, end;
    long limit, skip;
    char syms[1024];
} tq_t;

static int params(td_sim_hcall_t *c, tq_t *q)
{
    const char *v = td__sim_hq_get(c, "symbols");
    if (!v || !*v || strlen(v) >= sizeof q->syms) return fail(c, 400, "missing symbols"), -1;
    snprintf(q->syms, sizeof q->syms, "%s", v);
    snprintf(c->symbols, sizeof c->symbols, "%.200s", v);
    q->start = 0;
    q->end = td_now_ns();
    if ((v = td__sim_hq_get(c, "start")) && td_rfc3339_parse(v, strlen(v), &q->start))
        return fail(c, 400, "invalid start"), -1;
    if ((v = td__sim_hq_get(c, "end")) && td_rfc3339_parse(v, strlen(v), &q->end))
        return fail(c, 400, "invalid end"), -1;
    char *e = NULL;
    q->limit = (v = td__sim_hq_get(c, "limit")) ? strtol(v, &e, 10) : 1000;
    if (q->limit < 1 || q->limit > 10000 || (e && *e)) return fail(c, 400, "invalid limit"), -1;
    q->skip = 0;
    if ((v = td__sim_hq_get(c, "page_token")) && *v) {
        char raw[64];
        int n = lws_b64_decode_string(v, raw, sizeof raw - 1);
        if (n <= 5 || (raw[n] = '\0', strncmp(raw, "skip|", 5) != 0) ||
            (q->skip = strtol(raw + 5, &e, 10)) < 0 || *e)
            return fail(c, 400, "invalid page token"), -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const tick_t *at(const td_sim_ticks_t *r, size_t k)
{
    return &r->v[(r->head + k) % r->cap];
}

/* The ring's first entry at or after t (entries are in time order). */
static size_t first_at(const td_sim_ticks_t *r, int64_t t)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (at(r, mid)->t < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The records of `kind` for the symbols of q, by symbol then time: one pass
 * over the window's entries, each filed under its symbol. */
void td__sim_hist_ticks(const td_sim_ticks_t *r, td_sim_hcall_t *c, td_kind_t kind, int crypto)
{
    tq_t q;
    if (params(c, &q)) return;
    char *sv[100], *save = NULL;
    size_t ns = 0;
    for (char *s = strtok_r(q.syms, ",", &save); s && ns < 100; s = strtok_r(NULL, ",", &save))
        sv[ns++] = s;
    qsort(sv, ns, sizeof *sv, cmp_str);
    size_t *cnt = td_xcalloc(ns + 1, sizeof *cnt), nm = 0;
    uint32_t *idx = NULL, *sym_of = NULL;
    size_t k0 = r ? first_at(r, q.start) : 0, k1 = k0;
    while (r && k1 < r->n && at(r, k1)->t <= q.end)
        k1++;
    if (k1 > k0) {
        idx = td_xmalloc((k1 - k0) * sizeof *idx);
        sym_of = td_xmalloc((k1 - k0) * sizeof *sym_of);
    }
    for (size_t k = k0; k < k1; k++) {
        const tick_t *t = at(r, k);
        if (t->kind != kind || t->poly || (strchr(t->sym, '/') != NULL) != crypto) continue;
        const char *key = t->sym;
        char **hit = bsearch(&key, sv, ns, sizeof *sv, cmp_str);
        if (!hit) continue;
        idx[nm] = (uint32_t)k;
        sym_of[nm++] = (uint32_t)(hit - sv);
        cnt[hit - sv]++;
    }
    td_buf_t *o = c->out;
    td_buf_appendf(o, "{\"%s\":{", kind == TD_KIND_TRADE ? "trades" : "quotes");
    long seen = 0, out = 0;
    int more = 0;
    for (size_t i = 0; i < ns && !more; i++) {
        if ((i && !strcmp(sv[i], sv[i - 1])) || !cnt[i]) continue;
        int open = 0;
        for (size_t m = 0; m < nm; m++) {
            if (sym_of[m] != i || seen++ < q.skip) continue;
            if (out == q.limit) {
                more = 1;
                break;
            }
            const tick_t *t = at(r, idx[m]);
            if (!open) td_buf_appendf(o, "%s\"%s\":[", out ? "," : "", sv[i]);
            td_buf_appendf(o, "%s%.*s", open ? "," : "", (int)t->len, t->json);
            open = 1;
            if (!c->rows++) c->first = t->t / 1000000000;
            c->last = t->t / 1000000000;
            out++;
        }
        if (open) td_buf_appendc(o, ']');
    }
    free(cnt);
    free(idx);
    free(sym_of);
    td_buf_appends(o, "},\"next_page_token\":");
    if (more) {
        char raw[32], tok[64];
        int n = snprintf(raw, sizeof raw, "skip|%ld", q.skip + out);
        lws_b64_encode_string(raw, n, tok, sizeof tok);
        td_buf_appendf(o, "\"%s\"}", tok);
    } else {
        td_buf_appends(o, "null}");
    }
}

/* ---- Polygon /v3/trades/{T}, /v3/quotes/{T} ------------------------------------- */

typedef struct {
    const char *rest, *stream;
    int how; /* 0: as is; 1: ms -> ns; 2: x -> [x] */
} pname_t;

/* In the REST record's (alphabetical) order. */
static const pname_t PTRADE[] = {{"conditions", "c", 0},
                                 {"exchange", "x", 0},
                                 {"id", "i", 0},

                                 {"price", "p", 0},
                                 {"sequence_number", "q", 0},
                                 {"sip_timestamp", "t", 1},
                                 {"size", "s", 0},
                                 {"tape", "z", 0},
                                 {"trf_id", "trfi", 0},
                                 {"trf_timestamp", "trft", 1}};
static const pname_t PQUOTE[] = {
    {"ask_exchange", "ax", 0}, {"ask_price", "ap", 0}, {"ask_size", "as", 0},
    {"bid_exchange", "bx", 0}, {"bid_price", "bp", 0}, {"bid_size", "bs", 0},
    {"conditions", "c", 2},    {"indicators", "i", 0}, {"sequence_number", "q", 0},
    {"sip_timestamp", "t", 1}, {"tape", "z", 0}};

/* The stream record (the event without "ev" and "sym") with REST names. */
static void poly_record(const tick_t *t, td_buf_t *o)
{
    const pname_t *m = t->kind == TD_KIND_TRADE ? PTRADE : PQUOTE;
    int n = t->kind == TD_KIND_TRADE ? (int)TD_ARRAY_LEN(PTRADE) : (int)TD_ARRAY_LEN(PQUOTE);
    const char *names[12];
    td_json_span_t k[12] = {{0}};
    for (int i = 0; i < n; i++)
        names[i] = m[i].stream;
    td_buf_appendc(o, '{');
    if (td_json_top_members(t->json, t->json + t->len, names, n, k) != 0) {
        td_buf_appendc(o, '}');
        return;
    }
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (!k[i].p) continue;
        td_buf_appendf(o, "%s\"%s\":%s", first ? "" : ",", m[i].rest, m[i].how == 2 ? "[" : "");
        td_buf_append(o, k[i].p, (size_t)(k[i].e - k[i].p));
        td_buf_appends(o, m[i].how == 1 ? "000000" : m[i].how == 2 ? "]" : "");
        first = 0;
    }
    td_buf_appendc(o, '}');
}

static void pfail(td_sim_hcall_t *c, const char *msg)
{
    c->status = 400;
    c->outcome = "bad_request";
    td_buf_appendf(c->out, "{\"status\":\"ERROR\",\"request_id\":\"%016llx\",\"error\":\"%s\"}",
                   (unsigned long long)c->request_id, msg);
}

typedef struct {
    int64_t start, end; /* [start, end) ns */
    long limit, skip;
} pq_t;

static int pnum(const td_sim_hcall_t *c, const char *name, int64_t *v)
{
    const char *s = td__sim_hq_get(c, name);
    char *e = NULL;
    if (!s) return 0;
    long long x = strtoll(s, &e, 10);
    if (!*s || *e) return -1;
    *v = x;
    return 1;
}

static int poly_params(td_sim_hcall_t *c, pq_t *q)
{
    const char *v = td__sim_hq_get(c, "cursor");
    if (v && *v) { /* the first request's window and limit, and the records served */
        char raw[128];
        int n = lws_b64_decode_string(v, raw, sizeof raw - 1);
        long long a, b;
        if (n <= 0 ||
            (raw[n] = '\0', sscanf(raw, "%lld|%lld|%ld|%ld", &a, &b, &q->limit, &q->skip) != 4))
            return pfail(c, "invalid cursor"), -1;
        q->start = a;
        q->end = b;
        return 0;
    }
    int64_t x;
    q->start = 0;
    q->end = INT64_MAX;
    q->skip = 0;
    int rc;
    if ((rc = pnum(c, "timestamp.gte", &x)) < 0) return pfail(c, "invalid timestamp.gte"), -1;
    if (rc) q->start = x;
    if ((rc = pnum(c, "timestamp.gt", &x)) < 0) return pfail(c, "invalid timestamp.gt"), -1;
    if (rc) q->start = x + 1;
    if ((rc = pnum(c, "timestamp.lt", &x)) < 0) return pfail(c, "invalid timestamp.lt"), -1;
    if (rc) q->end = x;
    if ((rc = pnum(c, "timestamp.lte", &x)) < 0) return pfail(c, "invalid timestamp.lte"), -1;
    if (rc) q->end = x + 1;
    q->limit = 1000;
    if ((rc = pnum(c, "limit", &x)) < 0 || (rc && (x < 1 || x > 50000)))
        return pfail(c, "invalid limit"), -1;
    if (rc) q->limit = (long)x;
    if ((v = td__sim_hq_get(c, "order")) && strcmp(v, "asc") != 0)
        return pfail(c, "order: only asc is simulated"), -1;
    return 0;
}

void td__sim_hist_ticks_polygon(const td_sim_ticks_t *r, td_sim_hcall_t *c)
{
    int trades = strncmp(c->uri, "/v3/trades/", 11) == 0;
    const char *sym = c->uri + 11;
    td_kind_t kind = trades ? TD_KIND_TRADE : TD_KIND_QUOTE;
    pq_t q;
    if (!*sym || strchr(sym, '/')) return pfail(c, "malformed path");
    snprintf(c->symbols, sizeof c->symbols, "%.63s", sym);
    if (poly_params(c, &q)) return;
    td_buf_t *o = c->out;
    td_buf_appends(o, "{\"results\":[");
    long seen = 0, out = 0;
    int more = 0;
    for (size_t k = r ? first_at(r, q.start) : 0; r && k < r->n && at(r, k)->t < q.end; k++) {
        const tick_t *t = at(r, k);
        if (t->kind != kind || !t->poly || strcmp(t->sym, sym) != 0 || seen++ < q.skip) continue;
        if (out == q.limit) {
            more = 1;
            break;
        }
        if (out) td_buf_appendc(o, ',');
        poly_record(t, o);
        if (!c->rows++) c->first = t->t / 1000000000;
        c->last = t->t / 1000000000;
        out++;
    }
    td_buf_appendf(o, "],\"status\":\"OK\",\"request_id\":\"%016llx\"",
                   (unsigned long long)c->request_id);
    if (more) {
        char raw[96], tok[160];
        int n = snprintf(raw, sizeof raw, "%lld|%lld|%ld|%ld", (long long)q.start, (long long)q.end,
                         q.limit, q.skip + out);
        lws_b64_encode_string(raw, n, tok, sizeof tok);
        td_buf_appendf(o, ",\"next_url\":\"%s/v3/%s/%s?cursor=%s\"", c->base_url,
                       trades ? "trades" : "quotes", sym, tok);
    }
    td_buf_appendc(o, '}');
}
