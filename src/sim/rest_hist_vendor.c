/* SPDX-License-Identifier: Apache-2.0 */
/* History bodies (issue 6 item 6): Alpaca bars v2 and crypto bars
 * (/v1beta3/crypto/us/bars, same shape, symbols like BTC/USD) with
 * base64 page tokens "SYMBOL|unix seconds" of the next bar, Polygon
 * aggregates (§4) with next_url continuing from the next bar, and the grid
 * server's /exchanges, /symbols and /price/{exchange}/{symbol}/{date}. */
#include "core/clock.h"
#include "core/mem.h"
#include "sim/sim_int.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SYMS 100

typedef struct {
    char sym[MAX_SYMS][24];
    int n;
    int64_t step, start, end;
    long limit;
    int si;    /* page start: symbol index */
    int64_t t; /* and bar start */
} apage_t;

static void fail(td_sim_hcall_t *c, int status, const char *outcome, const char *msg)
{
    c->status = status;
    c->outcome = outcome;
    td_buf_appends(c->out, "{\"message\":");
    td_buf_append_json_str(c->out, msg, strlen(msg));
    td_buf_appendc(c->out, '}');
}

static int cmp_sym(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Symbols from the path or from symbols=; sorted, without duplicates. */
static int alpaca_symbols(td_sim_hcall_t *c, apage_t *p, int multi, int crypto)
{
    char list[1024], msg[64];
    const char *src = multi ? td__sim_hq_get(c, "symbols") : c->uri + 11;
    if (!src || !*src) return fail(c, 400, "bad_request", "missing symbols"), -1;
    snprintf(list, sizeof list, "%s", src);
    if (!multi) *strchr(list, '/') = '\0';
    snprintf(c->symbols, sizeof c->symbols, "%.200s", list);
    for (char *save = NULL, *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        if (!td__sim_hdata_valid_symbol(s, crypto ? "/" : "") || strlen(s) >= sizeof p->sym[0]) {
            snprintf(msg, sizeof msg, "invalid symbol: %.40s", s);
            return fail(c, 422, "invalid", msg), -1;
        }
        if (p->n == MAX_SYMS) return fail(c, 400, "bad_request", "too many symbols"), -1;
        strcpy(p->sym[p->n++], s);
    }
    qsort(p->sym, (size_t)p->n, sizeof p->sym[0], cmp_sym);
    int k = 0;
    for (int i = 0; i < p->n; i++)
        if (k == 0 || strcmp(p->sym[k - 1], p->sym[i]) != 0) memmove(p->sym[k++], p->sym[i], 24);
    p->n = k;
    return p->n ? 0 : (fail(c, 400, "bad_request", "missing symbols"), -1);
}

static int64_t timeframe(const char *s, int64_t minute)
{
    char *end;
    long n = s ? strtol(s, &end, 10) : 0;
    if (n < 1) return 0;
    if (strcmp(end, "Min") == 0 || strcmp(end, "T") == 0) return n <= 59 ? n * minute : 0;
    if (strcmp(end, "Hour") == 0 || strcmp(end, "H") == 0) return n <= 23 ? n * 3600 : 0;
    if (strcmp(end, "Day") == 0 || strcmp(end, "D") == 0) return n == 1 ? 86400 : 0;
    return 0;
}

static int alpaca_token(td_sim_hcall_t *c, apage_t *p, const char *tok)
{
    char raw[64];
    int n = lws_b64_decode_string(tok, raw, sizeof raw - 1);
    char *bar = n > 0 ? (raw[n] = '\0', strchr(raw, '|')) : NULL;
    if (bar) {
        *bar = '\0';
        char *end;
        long long t = strtoll(bar + 1, &end, 10);
        for (int i = 0; i < p->n && !*end; i++)
            if (strcmp(p->sym[i], raw) == 0) {
                p->si = i;
                p->t = t;
                return 0;
            }
    }
    return fail(c, 400, "bad_request", "invalid page token"), -1;
}

static int alpaca_params(td_sim_hcall_t *c, apage_t *p)
{
    const char *v;
    p->step = timeframe(td__sim_hq_get(c, "timeframe"), c->minute);
    if (!p->step) return fail(c, 400, "bad_request", "invalid timeframe"), -1;
    int64_t now = td_now_ns() / 1000000000;
    p->start = now - now % 86400;
    p->end = now;
    if ((v = td__sim_hq_get(c, "start")) && td__sim_hdata_parse_time(v, &p->start))
        return fail(c, 400, "bad_request", "invalid start"), -1;
    if ((v = td__sim_hq_get(c, "end")) && td__sim_hdata_parse_time(v, &p->end))
        return fail(c, 400, "bad_request", "invalid end"), -1;
    if (p->end < p->start) return fail(c, 422, "bad_request", "end should not be before start"), -1;
    if (p->end > now) p->end = now; /* no bar starts in the future */
    char *e = NULL;
    p->limit = (v = td__sim_hq_get(c, "limit")) ? strtol(v, &e, 10) : 1000;
    if (p->limit < 1 || p->limit > 10000 || (e && *e))
        return fail(c, 400, "bad_request", "invalid limit"), -1;
    if ((v = td__sim_hq_get(c, "sort")) && strcmp(v, "asc") != 0)
        return fail(c, 400, "bad_request", "sort: only asc is simulated"), -1;
    p->si = 0;
    p->t = td__sim_hdata_first(p->step, p->start);
    if ((v = td__sim_hq_get(c, "page_token")) && *v) return alpaca_token(c, p, v);
    return 0;
}

static void served(td_sim_hcall_t *c, int64_t t)
{
    if (!c->rows++) c->first = t;
    c->last = t;
}

/* The page from (si, t); leaves (si, t) at the next bar, si == n if none. */
static void alpaca_page(const td_sim_hdata_t *d, td_sim_hcall_t *c, apage_t *p, int multi)
{
    td_buf_t *o = c->out;
    td_buf_appends(o, multi ? "{\"bars\":{" : "{\"bars\":[");
    for (; p->si < p->n; p->si++, p->t = td__sim_hdata_first(p->step, p->start)) {
        if (p->t > p->end) continue;
        if ((long)c->rows == p->limit) break;
        if (multi) {
            if (c->rows) td_buf_appendc(o, ',');
            td_buf_append_json_str(o, p->sym[p->si], strlen(p->sym[p->si]));
            td_buf_appends(o, ":[");
        }
        int64_t base = td__sim_hdata_base(d, p->sym[p->si]);
        for (int k = 0; p->t <= p->end && (long)c->rows < p->limit; k++) {
            td_sim_bar_t b;
            td__sim_hdata_bar(d, p->sym[p->si], base, p->step, p->t, &b);
            if (k) td_buf_appendc(o, ',');
            td__sim_hdata_bar_json(&b, 0, o);
            served(c, p->t);
            p->t = td__sim_hdata_first(p->step, p->t + 1);
        }
        if (multi) td_buf_appendc(o, ']');
        if (p->t <= p->end) break; /* limit reached inside this symbol */
    }
    td_buf_appends(o, multi ? "}" : "],\"symbol\":");
    if (!multi) td_buf_append_json_str(o, p->sym[0], strlen(p->sym[0]));
}

void td__sim_hist_alpaca(const td_sim_hdata_t *d, td_sim_hcall_t *c)
{
    const char *ch = TD_SIM_CRYPTO_HIST;
    int cr = strncmp(c->uri, ch, strlen(ch)) == 0;
    const char *word = cr ? c->uri + strlen(ch) : c->uri + 11;
    int trades = strcmp(word, "trades") == 0;
    if (trades || strcmp(word, "quotes") == 0) {
        if (!c->ticks) return fail(c, 404, "not_found", "trades and quotes need --bar-seconds");
        return td__sim_hist_ticks(c->ticks, c, trades ? TD_KIND_TRADE : TD_KIND_QUOTE, cr);
    }
    int crypto = strcmp(c->uri, TD_SIM_CRYPTO_BARS) == 0;
    int multi = crypto || strcmp(c->uri, "/v2/stocks/bars") == 0;
    const char *rest = c->uri + 11, *slash = strchr(rest, '/');
    if (!multi && (!slash || slash == rest || strcmp(slash, "/bars") != 0))
        return fail(c, 404, "not_found", "not found");
    apage_t *p = td_xcalloc(1, sizeof *p);
    if (alpaca_symbols(c, p, multi, crypto) == 0 && alpaca_params(c, p) == 0) {
        alpaca_page(d, c, p, multi);
        td_buf_appends(c->out, ",\"next_page_token\":");
        const char *own = td__sim_hq_get(c, "page_token");
        if (p->si < p->n && c->repeat_token && own && *own) { /* --hist-repeat-token */
            td_buf_append_json_str(c->out, own, strlen(own));
            td_buf_appendc(c->out, '}');
        } else if (p->si < p->n) {
            char raw[64], tok[128];
            int n = snprintf(raw, sizeof raw, "%s|%lld", p->sym[p->si], (long long)p->t);
            lws_b64_encode_string(raw, n, tok, sizeof tok);
            td_buf_appendf(c->out, "\"%s\"}", tok);
        } else {
            td_buf_appends(c->out, "null}");
        }
    }
    free(p);
}

/* ---- Polygon ------------------------------------------------------------------- */

static void pfail(td_sim_hcall_t *c, const char *msg)
{
    c->status = 400;
    c->outcome = "bad_request";
    td_buf_appendf(c->out, "{\"status\":\"ERROR\",\"request_id\":\"%016llx\",\"error\":\"%s\"}",
                   (unsigned long long)c->request_id, msg);
}

/* from/to: YYYY-MM-DD (to: through the end of that UTC day) or Unix ms. */
static int ptime(const char *s, int is_to, int64_t *out)
{
    char *end;
    if (strlen(s) == 10 && s[4] == '-') {
        if (td__sim_hdata_parse_time(s, out)) return -1;
        if (is_to) *out += 86399;
        return 0;
    }
    long long ms = strtoll(s, &end, 10);
    if (!*s || *end || ms < 0) return -1;
    *out = is_to ? ms / 1000 : (ms + 999) / 1000;
    return 0;
}

static int64_t timespan(long mult, const char *span, int64_t minute)
{
    if (strcmp(span, "minute") == 0) return mult >= 1 && mult <= 59 ? mult * minute : 0;
    if (strcmp(span, "hour") == 0) return mult >= 1 && mult <= 23 ? mult * 3600 : 0;
    if (strcmp(span, "day") == 0) return mult == 1 ? 86400 : 0;
    return 0;
}

typedef struct {
    char tick[32], span[16], from[32], to[32];
    long mult, limit;
    int64_t step, start, end;
} ppath_t;

static int polygon_params(td_sim_hcall_t *c, ppath_t *pp)
{
    char rng[8];
    const char *v;
    if (sscanf(c->uri + 16, "%31[^/]/%7[^/]/%ld/%15[^/]/%31[^/]/%31[^/]", pp->tick, rng, &pp->mult,
               pp->span, pp->from, pp->to) != 6 ||
        strcmp(rng, "range") != 0)
        return pfail(c, "malformed path"), -1;
    snprintf(c->symbols, sizeof c->symbols, "%.31s", pp->tick);
    if (!(pp->step = timespan(pp->mult, pp->span, c->minute)))
        return pfail(c, "unsupported multiplier/timespan"), -1;
    if (ptime(pp->from, 0, &pp->start) || ptime(pp->to, 1, &pp->end))
        return pfail(c, "invalid from/to"), -1;
    int64_t now = td_now_ns() / 1000000000;
    if (pp->end > now) pp->end = now; /* no bar starts in the future */
    char *e = NULL;
    pp->limit = (v = td__sim_hq_get(c, "limit")) ? strtol(v, &e, 10) : 5000;
    if (pp->limit < 1 || (e && *e)) return pfail(c, "invalid limit"), -1;
    if (pp->limit > 50000) pp->limit = 50000;
    if ((v = td__sim_hq_get(c, "sort")) && strcmp(v, "asc") != 0)
        return pfail(c, "sort: only asc is simulated"), -1;
    return 0;
}

void td__sim_hist_polygon(const td_sim_hdata_t *d, td_sim_hcall_t *c)
{
    ppath_t pp;
    if (strncmp(c->uri, "/v3/", 4) == 0) {
        if (c->ticks) return td__sim_hist_ticks_polygon(c->ticks, c);
        c->status = 404;
        c->outcome = "not_found";
        td_buf_appends(c->out, "{\"status\":\"NOT_FOUND\",\"message\":\"trades and quotes "
                               "need --bar-seconds\"}");
        return;
    }
    if (polygon_params(c, &pp)) return;
    const char *adj = td__sim_hq_get(c, "adjusted");
    int adjusted = !adj || strcmp(adj, "false") != 0,
        known = td__sim_hdata_valid_symbol(pp.tick, ":-");
    td_buf_t res = TD_BUF_INIT;
    int64_t t = td__sim_hdata_first(pp.step, pp.start), base = td__sim_hdata_base(d, pp.tick);
    for (; known && t <= pp.end && (long)c->rows < pp.limit;
         t = td__sim_hdata_first(pp.step, t + 1)) {
        td_sim_bar_t b;
        td__sim_hdata_bar(d, pp.tick, base, pp.step, t, &b);
        td_buf_appendc(&res, c->rows ? ',' : '[');
        td__sim_hdata_bar_json(&b, 1, &res);
        served(c, t);
    }
    td_buf_appends(c->out, "{\"ticker\":");
    td_buf_append_json_str(c->out, pp.tick, strlen(pp.tick));
    td_buf_appendf(c->out, ",\"queryCount\":%zu,\"resultsCount\":%zu,\"adjusted\":%s", c->rows,
                   c->rows, adjusted ? "true" : "false");
    if (c->rows) {
        td_buf_appends(c->out, ",\"results\":");
        td_buf_append(c->out, res.data, res.len);
        td_buf_appendc(c->out, ']');
    }
    td_buf_appendf(c->out, ",\"status\":\"OK\",\"request_id\":\"%016llx\"",
                   (unsigned long long)c->request_id);
    char from[32]; /* --hist-repeat-token: the request's own from */
    snprintf(from, sizeof from, "%lld", (long long)t * 1000);
    if (known && t <= pp.end)
        td_buf_appendf(c->out,
                       ",\"next_url\":\"%s/v2/aggs/ticker/%s/range/%ld/%s/%s/%s?adjusted=%s&"
                       "sort=asc&limit=%ld\"",
                       c->base_url, pp.tick, pp.mult, pp.span, c->repeat_token ? pp.from : from,
                       pp.to, adjusted ? "true" : "false", pp.limit);
    td_buf_appendc(c->out, '}');
    if (!known) c->outcome = "unknown";
    td_buf_free(&res);
}

/* ---- grid ---------------------------------------------------------------------- */

void td__sim_hist_grid(const td_sim_hdata_t *d, td_sim_hcall_t *c)
{
    char ex[64], coin[64], date[64], extra;
    if (strcmp(c->uri, "/exchanges") == 0) return td__sim_hdata_exchanges(c->out);
    if (strcmp(c->uri, "/symbols") == 0) return td__sim_hdata_coins(c->out);
    if (sscanf(c->uri, "/price/%63[^/]/%63[^/]/%63[^/]%c", ex, coin, date, &extra) != 3) {
        c->status = 404;
        c->outcome = "not_found";
        td_buf_appends(c->out, "{\"error\":\"not found\"}");
        return;
    }
    snprintf(c->symbols, sizeof c->symbols, "%.63s", coin);
    c->status = td__sim_hdata_price(d, ex, coin, date, c->out);
    if (c->status == 200) {
        c->rows = 1;
    } else {
        c->outcome = c->status == 404 ? "not_found" : "bad_request";
    }
}
