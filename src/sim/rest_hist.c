/* SPDX-License-Identifier: Apache-2.0 */
/* History REST on the simulator's listener (issue 6 item 6): routing of the
 * Alpaca bars v2 (stocks and crypto), Polygon aggregates and grid server paths, auth, the
 * per-vendor rolling rate limits (429), --hist-5xx-every, --hist-latency,
 * --hist-repeat-token (in rest_hist_vendor.c),
 * the --record-calls lines and the HTTP answer with its status and extra
 * headers. The bodies are built in rest_hist_vendor.c. */
#include "core/clock.h"
#include "core/log.h"
#include "core/lws_util.h"
#include "core/mem.h"
#include "core/rng.h"
#include "sim/sim_int.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

enum { V_ALPACA, V_POLYGON, V_GRID };
static const char *const VENDORS[] = {"alpaca", "polygon", "grid"};

typedef struct {
    size_t cap, n, head;
    double secs;
    uint64_t *ring; /* monotonic ns of the counted requests */
} window_t;

struct td_sim_hist_s {
    const td_sim_cfg_t *cfg;
    td_sim_hdata_t *data;
    window_t win[2]; /* alpaca, polygon */
    uint64_t nreq;   /* requests past auth and limits, for --hist-5xx-every */
    uint64_t nfail;  /* 5xx injected so far: the code cycles 500, 502, 503 */
    td_rng_t rng;    /* --hist-5xx-percent, from --seed */
    uint64_t seq;
    char base_url[128];
    FILE *rec;
    td_sim_reply_t *reqs;
    const td_sim_ticks_t *ticks;
};

/* ---- lifecycle ----------------------------------------------------------------- */

static int parse_rate(const char *s, const char *opt, window_t *w, char *err, size_t errlen)
{
    if (!s) return 0;
    char *end;
    long n = strtol(s, &end, 10);
    double secs = *end == '/' ? strtod(end + 1, &end) : 0;
    if (n < 1 || n > 1000000 || secs <= 0 || *end) {
        snprintf(err, errlen, "bad --%s '%s': expected N/SECONDS, e.g. 200/60", opt, s);
        return -1;
    }
    w->cap = (size_t)n;
    w->secs = secs;
    w->ring = td_xcalloc(w->cap, sizeof *w->ring);
    return 0;
}

td_sim_hist_t *td__sim_hist_new(const td_sim_cfg_t *cfg, char *err, size_t errlen)
{
    td_sim_hist_t *h = td_xcalloc(1, sizeof *h);
    h->cfg = cfg;
    if (parse_rate(cfg->alpaca_rate, "alpaca-rate", &h->win[V_ALPACA], err, errlen) ||
        parse_rate(cfg->polygon_rate, "polygon-rate", &h->win[V_POLYGON], err, errlen)) {
        td__sim_hist_free(h);
        return NULL;
    }
    h->data = td__sim_hdata_new((uint64_t)cfg->seed, (size_t)cfg->symbols);
    td_rng_seed(&h->rng, (uint64_t)cfg->seed ^ 0x5e5e5e5eULL);
    return h;
}

void td__sim_hist_start(td_sim_hist_t *h, const char *base_url, FILE *rec)
{
    snprintf(h->base_url, sizeof h->base_url, "%s", base_url);
    h->rec = rec;
}

void td__sim_hist_set_ticks(td_sim_hist_t *h, const td_sim_ticks_t *ticks)
{
    h->ticks = ticks;
}

const td_sim_hdata_t *td__sim_hist_data(const td_sim_hist_t *h)
{
    return h->data;
}

void td__sim_hist_free(td_sim_hist_t *h)
{
    if (!h) return;
    while (h->reqs) {
        td_sim_reply_t *r = h->reqs;
        td__sim_reply_free(&r);
    }
    free(h->win[0].ring);
    free(h->win[1].ring);
    td__sim_hdata_free(h->data);
    free(h);
}

/* ---- routing, auth, limits ----------------------------------------------------- */

static int crypto_path(const char *uri)
{
    size_t n = strlen(TD_SIM_CRYPTO_HIST);
    return strncmp(uri, TD_SIM_CRYPTO_HIST, n) == 0 &&
           (!strcmp(uri + n, "bars") || !strcmp(uri + n, "trades") || !strcmp(uri + n, "quotes"));
}

static int vendor_of(const char *uri)
{
    if (strncmp(uri, "/v2/stocks/", 11) == 0 || crypto_path(uri)) return V_ALPACA;
    if (strncmp(uri, "/v2/aggs/ticker/", 16) == 0 || strncmp(uri, "/v3/trades/", 11) == 0 ||
        strncmp(uri, "/v3/quotes/", 11) == 0)
        return V_POLYGON;
    if (strcmp(uri, "/exchanges") == 0 || strcmp(uri, "/symbols") == 0 ||
        strncmp(uri, "/price/", 7) == 0)
        return V_GRID;
    return -1;
}

int td__sim_hist_path(const char *uri)
{
    return vendor_of(uri) >= 0;
}

const char *td__sim_hq_get(const td_sim_hcall_t *c, const char *name)
{
    for (int i = 0; i < c->nq; i++)
        if (strcmp(c->q[i].name, name) == 0) return c->q[i].value;
    return NULL;
}

static void parse_query(struct lws *wsi, td_sim_hcall_t *c)
{
    char frag[1100];
    for (int i = 0; i < 64 && c->nq < TD_SIM_HQ_MAX; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0) break;
        char *eq = strchr(frag, '=');
        if (!eq) continue;
        *eq = '\0';
        td_sim_hq_t *q = &c->q[c->nq++];
        if (strlen(frag) >= sizeof q->name || strlen(eq + 1) >= sizeof q->value) {
            c->bad = 1;
            c->nq--;
            continue;
        }
        strcpy(q->name, frag);
        strcpy(q->value, eq + 1);
    }
}

static void error_body(td_sim_hcall_t *c, int vendor, int status, const char *msg)
{
    c->status = status;
    td_buf_t *o = c->out;
    if (vendor == V_ALPACA) {
        td_buf_appends(o, "{\"message\":");
        td_buf_append_json_str(o, msg, strlen(msg));
        td_buf_appendc(o, '}');
    } else if (vendor == V_POLYGON) {
        td_buf_appendf(o, "{\"status\":\"ERROR\",\"request_id\":\"%016llx\",\"error\":",
                       (unsigned long long)c->request_id);
        td_buf_append_json_str(o, msg, strlen(msg));
        td_buf_appendc(o, '}');
    } else {
        td_buf_appends(o, "{\"error\":");
        td_buf_append_json_str(o, msg, strlen(msg));
        td_buf_appendc(o, '}');
    }
}

/* 0 if authorized, else the error body is set. */
static int auth(const td_sim_hist_t *h, struct lws *wsi, td_sim_hcall_t *c, int vendor)
{
    const td_sim_cfg_t *cfg = h->cfg;
    char k[300], s[300];
    if (cfg->hist_forbidden && vendor != V_GRID) { /* --hist-forbidden */
        error_body(c, vendor, 403,
                   vendor == V_ALPACA ? "forbidden" : "NOT_AUTHORIZED: no history on this plan");
        c->outcome = "forbidden";
        return -1;
    }
    if (vendor == V_ALPACA) {
        const char *hk, *hs;
        td_lws_alpaca_keys(wsi, k, s, sizeof k, &hk, &hs);
        /* crypto history needs no key on Alpaca: none is fine, wrong ones are not */
        int none = !hk && !hs && crypto_path(c->uri);
        int ok = none || (hk && hs && *k && *s && (!cfg->key || strcmp(cfg->key, k) == 0) &&
                          (!cfg->secret || strcmp(cfg->secret, s) == 0));
        memset(s, 0, sizeof s);
        if (ok) return 0;
        error_body(c, vendor, 403, "forbidden");
        c->outcome = "forbidden";
        return -1;
    }
    if (vendor != V_POLYGON) return 0;
    const char *key = td__sim_hq_get(c, "apiKey");
    if (!key && lws_hdr_copy(wsi, k, sizeof k, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
        strncmp(k, "Bearer ", 7) == 0)
        key = k + 7;
    if (key && *key && (!cfg->key || strcmp(cfg->key, key) == 0)) return 0;
    error_body(c, vendor, 401, key && *key ? "Unknown API Key" : "API Key was not provided");
    c->outcome = "unauthorized";
    return -1;
}

static int win_full(const window_t *w, uint64_t now)
{
    return w->cap && w->n == w->cap && (double)(now - w->ring[w->head]) < w->secs * 1e9;
}

static void add_hdr(td_sim_reply_t *r, const char *name, long long v)
{
    char val[24];
    snprintf(val, sizeof val, "%lld", v);
    td__sim_reply_header(r, name, val);
}

/* Counts the request in the vendor's window, or answers 429. Alpaca gets the
 * X-Ratelimit-* headers on every answer. */
static int limit(td_sim_hist_t *h, td_sim_reply_t *r, td_sim_hcall_t *c, int vendor)
{
    if (vendor == V_GRID || !h->win[vendor].cap) return 0;
    window_t *w = &h->win[vendor];
    uint64_t now = uv_hrtime();
    int full = win_full(w, now);
    if (!full) {
        w->ring[w->head] = now;
        w->head = (w->head + 1) % w->cap;
        if (w->n < w->cap) w->n++;
    }
    size_t used = 0; /* requests still in the window */
    for (size_t i = 0; i < w->n; i++)
        used += (double)(now - w->ring[i]) < w->secs * 1e9;
    uint64_t oldest = w->n == w->cap ? w->ring[w->head] : now;
    double wait = (double)oldest / 1e9 + w->secs - (double)now / 1e9;
    long long retry = (long long)wait + (wait > (double)(long long)wait);
    if (vendor == V_ALPACA) {
        add_hdr(r, "x-ratelimit-limit:", (long long)w->cap);
        add_hdr(r, "x-ratelimit-remaining:", (long long)(w->cap - used));
        add_hdr(r, "x-ratelimit-reset:", (long long)(td_now_ns() / 1000000000) + retry);
    }
    if (!full) return 0;
    if (h->cfg->hist_retry_after) add_hdr(r, "retry-after:", retry < 1 ? 1 : retry);
    if (vendor == V_ALPACA)
        error_body(c, vendor, 429, "too many requests");
    else
        error_body(c, vendor, 429,
                   "You've exceeded the maximum requests per minute, please wait or upgrade "
                   "your subscription to continue. https://polygon.io/pricing");
    c->outcome = "throttled";
    return -1;
}

/* Every Nth request (--hist-5xx-every), and/or each with a probability
 * (--hist-5xx-percent, deterministic for a --seed). */
static int inject_5xx(td_sim_hist_t *h, td_sim_hcall_t *c, int vendor)
{
    int64_t n = h->cfg->hist_5xx_every;
    double pct = h->cfg->hist_5xx_percent;
    h->nreq++;
    int hit =
        (n > 0 && h->nreq % (uint64_t)n == 0) || (pct > 0 && td_rng_unit(&h->rng) * 100.0 < pct);
    if (!hit) return 0;
    static const int codes[] = {500, 502, 503};
    static const char *const msgs[] = {"internal server error", "bad gateway",
                                       "service unavailable"};
    int k = (int)(h->nfail++ % 3);
    error_body(c, vendor, codes[k], msgs[k]);
    c->outcome = "injected";
    return -1;
}

/* ---- record -------------------------------------------------------------------- */

static void record(td_sim_hist_t *h, const td_sim_hcall_t *c, int vendor, int64_t t_ns)
{
    if (!h->rec) return;
    td_buf_t b = TD_BUF_INIT;
    td_buf_appendf(&b, "{\"t\":%lld,\"conn\":%d,\"vendor\":\"%s\",\"path\":", (long long)t_ns,
                   c->conn, VENDORS[vendor]);
    td_buf_append_json_str(&b, c->uri, strlen(c->uri));
    td_buf_appends(&b, ",\"query\":{");
    for (int i = 0; i < c->nq; i++) {
        if (i) td_buf_appendc(&b, ',');
        td_buf_append_json_str(&b, c->q[i].name, strlen(c->q[i].name));
        td_buf_appendc(&b, ':');
        td_buf_append_json_str(&b, c->q[i].value, strlen(c->q[i].value));
    }
    td_buf_appends(&b, "},\"symbols\":");
    td_buf_append_json_str(&b, c->symbols, strlen(c->symbols));
    td_buf_appendf(&b, ",\"outcome\":\"%s\",\"status\":%d,\"rows\":%zu", c->outcome, c->status,
                   c->rows);
    if (c->rows)
        td_buf_appendf(&b, ",\"first\":%lld,\"last\":%lld}\n", (long long)c->first,
                       (long long)c->last);
    else
        td_buf_appends(&b, ",\"first\":null,\"last\":null}\n");
    fwrite(b.data, 1, b.len, h->rec);
    fflush(h->rec);
    td_buf_free(&b);
}

/* ---- lws ----------------------------------------------------------------------- */

static td_sim_reply_t *req_new(td_sim_hist_t *h, td_sim_reply_t **slot)
{
    td__sim_reply_free(slot); /* a pipelined request: cannot happen on HTTP/1.1 */
    return *slot = td__sim_reply_new(&h->reqs, 4096);
}

int td__sim_hist_http(td_sim_hist_t *h, struct lws *wsi, const char *uri, td_sim_reply_t **slot)
{
    int64_t t_ns = td_now_ns();
    int vendor = vendor_of(uri);
    td_sim_reply_t *r = req_new(h, slot);
    td_sim_hcall_t *c = td_xcalloc(1, sizeof *c);
    c->uri = uri;
    c->out = &r->body;
    c->base_url = h->base_url;
    c->status = 200;
    c->outcome = "ok";
    c->request_id = ++h->seq * 0x9e3779b97f4a7c15ULL ^ (uint64_t)h->cfg->seed;
    c->conn = (int)lws_get_socket_fd(wsi);
    c->repeat_token = h->cfg->hist_repeat_token;
    c->minute = h->cfg->bar_seconds > 0 ? h->cfg->bar_seconds : 60;
    c->ticks = h->ticks;
    parse_query(wsi, c);
    if (auth(h, wsi, c, vendor) == 0 && limit(h, r, c, vendor) == 0 &&
        inject_5xx(h, c, vendor) == 0) {
        if (c->bad)
            error_body(c, vendor, 400, "parameter too long"), c->outcome = "bad_request";
        else if (vendor == V_ALPACA)
            td__sim_hist_alpaca(h->data, c);
        else if (vendor == V_POLYGON)
            td__sim_hist_polygon(h->data, c);
        else
            td__sim_hist_grid(h->data, c);
    }
    r->status = c->status;
    record(h, c, vendor, t_ns);
    TD_DEBUG("%s: %d %s, %zu rows", uri, c->status, c->outcome, c->rows);
    free(c);
    if (h->cfg->hist_latency_ms > 0) {
        lws_set_timer_usecs(wsi, (lws_usec_t)h->cfg->hist_latency_ms * 1000);
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    } else {
        r->ready = 1;
        lws_callback_on_writable(wsi);
    }
    return 0;
}
