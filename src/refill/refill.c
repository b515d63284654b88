/* SPDX-License-Identifier: Apache-2.0 */
/* Refill engine: jobs, requests, rate limit, dedupe (see refill.h). */
#include "refill/refill.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/opt.h"
#include "http/http.h"
#include "proto/bars.h"
#include "proto/ticks.h"
#include "refill/logic.h"

#include <stdlib.h>
#include <string.h>

#define GROUP_MAX     100 /* symbols per Alpaca request */
#define TRIES         3   /* per request: 5xx and transport errors */
#define TRIES_429     6
#define SEEN_SYMS_MAX 100000
#define SLICE         64 /* refilled events published per loop turn */
static const td_kind_t PHASES[] = {TD_KIND_BAR, TD_KIND_TRADE, TD_KIND_QUOTE};

typedef struct job_s {
    struct job_s *next;
    int64_t from_ns, to_ns, t0, t1;
    td_subset_t what;  /* what the job covers (bars) */
    int phase;         /* index into PHASES: the kind being fetched (-1: not started) */
    td_strlist_t syms; /* the phase's symbols, in request order */
    size_t next_sym;   /* the next group starts here */
    size_t group0, group_n;
    char *label;
    uint64_t token;
    char page[TD_BARS_MAX_NEXT + 1]; /* the next page's token or URL, "" for the first */
    int tries, tries_429;
    uint64_t events, skipped;
    size_t ok_groups, failed_groups;
    char why[256];
} job_t;

struct td_refill_s {
    uv_loop_t *loop;
    td_refill_cfg_t cfg;
    td_refill_cb_t cb;
    void *ud;
    int polygon;
    char *base, *key, *secret;
    td_http_t *http;
    td_http_req_t *req;
    uv_timer_t timer; /* delay, rate limit, retry waits */
    job_t *head, *tail;
    int running; /* the head job has started (delay over) */
    td_seen_t seen;
    td_subset_t seen_syms; /* symbols seen in events of the refilled kinds */
    td_ticks_page_t ticks;
    td_buf_t body;   /* the answer being published (ticks point into it) */
    size_t pub_i;    /* its next record to publish */
    int draining;    /* publishing it, SLICE records per loop turn */
    uint64_t *times; /* ring of the last rate_n request starts (ms) */
    size_t ntimes, tpos;
    uint64_t window_ms;
    td_bars_page_t page;
    td_buf_t url, ev;
    td_refill_stats_t st;
    int stopping, open_handles;
    void (*stop_done)(void *ud);
    void *stop_ud;
};

static void kick(td_refill_t *r);
static void on_timer(uv_timer_t *t)
{
    kick(t->data);
}

td_refill_t *td_refill_new(uv_loop_t *loop, const td_refill_cfg_t *cfg, const td_refill_cb_t *cb,
                           void *ud, char *err, size_t errlen)
{
    const char *v = cfg->vendor ? cfg->vendor : "alpaca";
    if (strcmp(v, "alpaca") != 0 && strcmp(v, "polygon") != 0) {
        snprintf(err, errlen, "refill: unknown vendor '%s' (alpaca or polygon)", v);
        return NULL;
    }
    if (!cfg->base_url ||
        (strncmp(cfg->base_url, "http://", 7) != 0 && strncmp(cfg->base_url, "https://", 8) != 0)) {
        snprintf(err, errlen, "refill: the REST URL must be http:// or https:// (got '%s')",
                 cfg->base_url ? cfg->base_url : "");
        return NULL;
    }
    td_http_t *http = td_http_new(loop, NULL);
    if (!http) {
        snprintf(err, errlen, "refill: libcurl did not start");
        return NULL;
    }
    td_refill_t *r = td_xcalloc(1, sizeof *r);
    r->loop = loop;
    r->cfg = *cfg;
    r->cb = *cb;
    r->ud = ud;
    r->http = http;
    r->polygon = strcmp(v, "polygon") == 0;
    r->base = td_xstrdup(cfg->base_url);
    size_t bl = strlen(r->base);
    while (bl && r->base[bl - 1] == '/')
        r->base[--bl] = '\0';
    r->key = td_xstrdup(cfg->key ? cfg->key : "");
    r->secret = td_xstrdup(cfg->secret ? cfg->secret : "");
    if (r->cfg.bar_ns <= 0) r->cfg.bar_ns = 60 * (int64_t)1000000000;
    if (!r->cfg.timeout_ms) r->cfg.timeout_ms = 10000;
    td_seen_init(&r->seen, cfg->remember ? cfg->remember : 65536);
    td_subset_init(&r->seen_syms);
    if (cfg->rate_n >= 1 && cfg->rate_s > 0) {
        r->ntimes = (size_t)cfg->rate_n;
        r->times = td_xcalloc(r->ntimes, sizeof *r->times);
        double ms = cfg->rate_s * 1000, margin = ms * 0.02 < 50 ? 50 : ms * 0.02;
        r->window_ms = (uint64_t)(ms + margin + 0.5);
    }
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    r->open_handles = 1;
    return r;
}

/* ---- what was delivered --------------------------------------------------------- */

void td_refill_seen(td_refill_t *r, const td_event_t *ev)
{
    if (!(r->cfg.kinds & (1u << ev->kind))) return;
    int64_t ns;
    if (td_refill_event_time(ev->payload, ev->payload_len, &ns) != 0) return;
    if (ev->kind == TD_KIND_BAR) {
        td_seen_add(&r->seen, td_refill_key(ev->kind, ev->symbol, ev->symbol_len, ns));
    } else {
        uint64_t id = 0;
        if (ev->kind == TD_KIND_TRADE) (void)td_refill_event_id(ev->payload, ev->payload_len, &id);
        td_seen_add(&r->seen, td_refill_tick_key(ev->kind, ev->symbol, ev->symbol_len, ns, id));
    }
    if (r->seen_syms.k[ev->kind].n < SEEN_SYMS_MAX &&
        !td_subset_names(&r->seen_syms, ev->kind, ev->symbol, ev->symbol_len))
        td_subset_add(&r->seen_syms, ev->kind, ev->symbol, ev->symbol_len);
}

void td_refill_covered(const td_refill_t *r, const td_subset_t *what, td_subset_t *out)
{
    td_subset_clear(out);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!(r->cfg.kinds & (1u << k))) continue;
        out->k[k].all = what->k[k].all;
        for (size_t i = 0; i < what->k[k].n; i++)
            td_subset_add(out, (td_kind_t)k, what->k[k].v[i], strlen(what->k[k].v[i]));
    }
}

/* ---- jobs ---------------------------------------------------------------------------- */

static void job_free(job_t *j)
{
    td_subset_free(&j->what);
    td_strlist_free(&j->syms);
    free(j->label);
    free(j);
}

int td_refill_start(td_refill_t *r, int64_t from_ns, int64_t to_ns, const td_subset_t *what,
                    const char *label, uint64_t token)
{
    if (r->stopping) return -1;
    job_t *j = td_xcalloc(1, sizeof *j);
    td_subset_init(&j->what);
    td_refill_covered(r, what, &j->what);
    if (td_subset_empty(&j->what)) {
        job_free(j);
        return -1;
    }
    j->phase = -1;
    j->from_ns = from_ns;
    j->to_ns = to_ns;
    j->label = td_xstrdup(label ? label : "");
    j->token = token;
    if (r->tail)
        r->tail->next = j;
    else
        r->head = j;
    r->tail = j;
    r->st.jobs++;
    r->st.queued++;
    if (r->head == j) {
        r->running = 0;
        uv_timer_start(&r->timer, on_timer, (uint64_t)(r->cfg.delay_s * 1000 + 0.5), 0);
    }
    return 0;
}

/* The head job is over: report it, start the next. */
static void finish(td_refill_t *r)
{
    job_t *j = r->head;
    td_refill_job_t v = {j->from_ns, j->to_ns,   &j->what,
                         j->label,   j->token,   "done",
                         j->events,  j->skipped, j->why[0] ? j->why : NULL};
    if (j->failed_groups) v.outcome = j->ok_groups ? "partial" : "impossible";
    r->st.done += !j->failed_groups;
    r->st.partial += j->failed_groups && j->ok_groups;
    r->st.impossible += j->failed_groups && !j->ok_groups;
    TD_INFO("refill %s: %s, %llu event(s) refilled, %llu already delivered%s%s", j->label,
            v.outcome, (unsigned long long)j->events, (unsigned long long)j->skipped,
            v.why ? ": " : "", v.why ? v.why : "");
    r->head = j->next;
    if (!r->head) r->tail = NULL;
    r->st.queued--;
    r->running = 0;
    r->cb.on_done(r->ud, &v);
    job_free(j);
    if (r->head && !r->stopping)
        uv_timer_start(&r->timer, on_timer, (uint64_t)(r->cfg.delay_s * 1000 + 0.5), 0);
}

/* The current group failed for good: its symbols are not refilled. */
static void group_failed(td_refill_t *r, job_t *j, const char *why)
{
    j->failed_groups++;
    if (!j->why[0]) { /* the first failure, truncated */
        size_t n = strnlen(why, sizeof j->why - 1);
        memcpy(j->why, why, n);
        j->why[n] = '\0';
    }
    TD_WARN("refill %s: %s", j->label, why);
    j->page[0] = '\0';
    j->group_n = 0;
    kick(r);
}

/* ---- requests ---------------------------------------------------------------------- */

static void url_alpaca(td_refill_t *r, job_t *j)
{
    td_buf_t *u = &r->url;
    char t0[TD_RFC3339_MAX], t1[TD_RFC3339_MAX];
    td_rfc3339_format(t0, j->t0);
    td_rfc3339_format(t1, j->t1);
    int crypto = strchr(j->syms.v[j->group0], '/') != NULL;
    td_kind_t k = PHASES[j->phase];
    const char *what = k == TD_KIND_BAR ? "bars" : k == TD_KIND_TRADE ? "trades" : "quotes";
    td_buf_appendf(u, "%s%s%s?symbols=", r->base, crypto ? "/v1beta3/crypto/us/" : "/v2/stocks/",
                   what);
    for (size_t i = 0; i < j->group_n; i++) {
        if (i) td_buf_appends(u, "%2C");
        const char *s = j->syms.v[j->group0 + i];
        td_buf_append_url(u, s, strlen(s));
    }
    td_buf_appends(u, k == TD_KIND_BAR ? "&timeframe=1Min&start=" : "&start=");
    td_buf_append_url(u, t0, strlen(t0));
    td_buf_appends(u, "&end=");
    td_buf_append_url(u, t1, strlen(t1));
    td_buf_appends(u, "&limit=10000&sort=asc");
    if (j->page[0]) {
        td_buf_appends(u, "&page_token=");
        td_buf_append_url(u, j->page, strlen(j->page));
    }
}

static void url_polygon(td_refill_t *r, job_t *j)
{
    td_buf_t *u = &r->url;
    if (j->page[0]) { /* next_url: the whole URL, without the key */
        td_buf_appends(u, j->page);
    } else {
        const char *s = j->syms.v[j->group0];
        td_kind_t k = PHASES[j->phase];
        if (k == TD_KIND_BAR) {
            td_buf_appendf(u, "%s/v2/aggs/ticker/", r->base);
            td_buf_append_url(u, s, strlen(s));
            td_buf_appendf(u, "/range/1/minute/%lld/%lld?adjusted=true&sort=asc&limit=50000",
                           (long long)(j->t0 / 1000000), (long long)(j->t1 / 1000000));
        } else { /* [t0, t1]: ms in the stream, ns here */
            td_buf_appendf(u, "%s/v3/%s/", r->base, k == TD_KIND_TRADE ? "trades" : "quotes");
            td_buf_append_url(u, s, strlen(s));
            td_buf_appendf(u,
                           "?timestamp.gte=%lld&timestamp.lt=%lld&order=asc&sort=timestamp"
                           "&limit=50000",
                           (long long)j->t0, (long long)(j->t1 + 1000000));
        }
    }
    td_buf_appends(u, strchr(u->data, '?') ? "&apiKey=" : "?apiKey=");
    td_buf_append_url(u, r->key, strlen(r->key));
}

/* The next group of the head job (or the job's end). 0: a group to fetch. */
static int next_group(td_refill_t *r, job_t *j)
{
    if (j->group_n) return 0; /* the current one continues (next page or retry) */
    if (j->next_sym >= j->syms.n) return -1;
    size_t max = r->polygon ? 1 : GROUP_MAX;
    j->group0 = j->next_sym;
    int crypto = strchr(j->syms.v[j->group0], '/') != NULL;
    j->group_n = 0;
    while (j->next_sym < j->syms.n && j->group_n < max &&
           (strchr(j->syms.v[j->next_sym], '/') != NULL) == crypto) {
        j->group_n++;
        j->next_sym++;
    }
    j->tries = j->tries_429 = 0;
    return 0;
}

/* ms until the rate limit allows a request (0: now). */
static uint64_t rate_wait(td_refill_t *r)
{
    if (!r->ntimes) return 0;
    uint64_t oldest = r->times[r->tpos], now = uv_now(r->loop);
    if (!oldest || now >= oldest + r->window_ms) return 0;
    return oldest + r->window_ms - now;
}

static void on_response(void *ud, const td_http_result_t *res);

static void send_request(td_refill_t *r, job_t *j)
{
    const char *hdr[3] = {NULL, NULL, NULL};
    char h1[300], h2[300];
    r->url.len = 0;
    if (r->polygon) {
        url_polygon(r, j);
    } else {
        url_alpaca(r, j);
        snprintf(h1, sizeof h1, "APCA-API-KEY-ID: %s", r->key);
        snprintf(h2, sizeof h2, "APCA-API-SECRET-KEY: %s", r->secret);
        hdr[0] = h1;
        hdr[1] = h2;
    }
    if (r->ntimes) {
        r->times[r->tpos] = uv_now(r->loop);
        r->tpos = (r->tpos + 1) % r->ntimes;
    }
    r->st.requests++;
    r->req = td_http_request(r->http, NULL, r->url.data, hdr, NULL, 0, r->cfg.timeout_ms,
                             on_response, r);
    memset(h2, 0, sizeof h2);
    if (!r->req) group_failed(r, j, "the HTTP request could not be started");
}

/* The symbols of kind k the job fetches: those named, or for a wildcard
 * those seen (bars: all of them; trades and quotes: at most max_symbols). */
static void phase_symbols(td_refill_t *r, job_t *j, td_kind_t k)
{
    const td_symset_t *w = &j->what.k[k], *seen = &r->seen_syms.k[k];
    size_t cap = k == TD_KIND_BAR || !r->cfg.max_symbols ? SIZE_MAX : r->cfg.max_symbols;
    td_strlist_free(&j->syms);
    for (size_t i = 0; i < w->n && j->syms.n < cap; i++)
        td_strlist_push(&j->syms, w->v[i]);
    for (size_t i = 0; w->all && i < seen->n && j->syms.n < cap; i++)
        if (!td_subset_names(&j->what, k, seen->v[i], strlen(seen->v[i])))
            td_strlist_push(&j->syms, seen->v[i]);
    if (w->all && j->syms.n == cap && seen->n + w->n > cap && !j->why[0])
        snprintf(j->why, sizeof j->why, "%s of at most %zu symbols (--refill-max-symbols)",
                 td_kind_name(k), cap);
}

/* Moves the head job to its next kind with something to fetch: 0, or -1 if
 * none is left. */
static int next_phase(td_refill_t *r, job_t *j)
{
    while (++j->phase < (int)TD_ARRAY_LEN(PHASES)) {
        td_kind_t k = PHASES[j->phase];
        if (!j->what.k[k].n && !j->what.k[k].all) continue;
        if (k == TD_KIND_BAR) {
            if (td_refill_bar_window(j->from_ns, j->to_ns, r->cfg.bar_ns, &j->t0, &j->t1))
                continue; /* no bar complete in the window */
        } else {
            j->t0 = j->from_ns - 1000000000; /* the last second before: deduped */
            j->t1 = j->to_ns;
        }
        phase_symbols(r, j, k);
        j->next_sym = j->group_n = 0;
        j->page[0] = '\0';
        if (j->syms.n) return 0;
    }
    return -1;
}

/* Starts the head job if its delay is over, and its next request when the
 * rate limit allows. */
static void kick(td_refill_t *r)
{
    job_t *j = r->head;
    if (r->stopping || !j || r->req || r->draining) return;
    if (!r->running) {
        r->running = 1;
        if (next_phase(r, j) != 0) {
            finish(r); /* nothing to fetch: no complete bar in the window, no symbol */
            return;
        }
    }
    while (next_group(r, j) != 0)
        if (next_phase(r, j) != 0) {
            finish(r);
            return;
        }
    uint64_t w = rate_wait(r);
    if (w) {
        uv_timer_start(&r->timer, on_timer, w, 0);
        return;
    }
    send_request(r, j);
}

/* ---- answers ----------------------------------------------------------------------- */

/* One record of the page (bars or ticks) at r->pub_i: published unless
 * outside the window or already delivered. */
static void publish_one(td_refill_t *r, job_t *j, td_kind_t k, size_t i)
{
    const char *sym;
    int64_t ts;
    uint64_t key;
    r->ev.len = 0;
    if (k == TD_KIND_BAR) {
        const td_bar_t *b = &r->page.bars[i];
        sym = b->symbol;
        ts = b->ts_ns;
        key = td_refill_key(k, sym, strlen(sym), ts);
    } else {
        const td_tick_t *t = &r->ticks.v[i];
        sym = t->symbol;
        ts = t->ts_ns;
        key = td_refill_tick_key(k, sym, strlen(sym), ts, t->has_id ? t->id : 0);
    }
    if (ts < j->t0 || ts > j->t1) return;
    if (!td_seen_add(&r->seen, key)) {
        j->skipped++;
        r->st.skipped++;
        return;
    }
    if (k == TD_KIND_BAR)
        td_refill_bar_json(&r->page.bars[i], r->polygon, r->cfg.bar_ns, &r->ev);
    else if (!r->polygon)
        td_refill_tick_json(k, sym, r->ticks.v[i].rec, r->ticks.v[i].rec_len, &r->ev);
    else if (td_refill_tick_json_polygon(k, sym, r->ticks.v[i].rec, r->ticks.v[i].rec_len,
                                         &r->ev) != 0) {
        j->failed_groups++; /* not refilled: the job is partial */
        if (!j->why[0])
            snprintf(j->why, sizeof j->why, "a %s record of %s could not be converted",
                     td_kind_name(k), sym);
        return;
    }
    td_event_t ev = {.kind = k,
                     .symbol = sym,
                     .symbol_len = strlen(sym),
                     .payload = r->ev.data,
                     .payload_len = r->ev.len};
    j->events++;
    r->st.events++;
    r->cb.on_event(r->ud, &ev);
}

static void on_drain(uv_timer_t *t);

/* Publishes the page SLICE records per loop turn (a 1 ms timer between
 * slices), so that live events are never queued behind a whole page in the
 * sinks; then the next page or group. */
static void drain(td_refill_t *r)
{
    job_t *j = r->head;
    td_kind_t k = PHASES[j->phase];
    size_t n = k == TD_KIND_BAR ? r->page.n : r->ticks.n;
    for (size_t end = r->pub_i + SLICE; r->pub_i < n && r->pub_i < end; r->pub_i++)
        publish_one(r, j, k, r->pub_i);
    if (r->pub_i < n) {
        uv_timer_start(&r->timer, on_drain, 1, 0);
        return;
    }
    r->draining = 0;
    const char *next = k == TD_KIND_BAR ? r->page.next : r->ticks.next;
    if (next[0]) {
        snprintf(j->page, sizeof j->page, "%s", next);
    } else {
        j->page[0] = '\0';
        j->group_n = 0;
        j->ok_groups++;
    }
    kick(r);
}

static void on_drain(uv_timer_t *t)
{
    td_refill_t *r = t->data;
    if (!r->stopping && r->head) drain(r);
}

/* A whole 200 answer: parsed from a copy of its body (its records are
 * published over several loop turns), then drained. */
static void on_page(td_refill_t *r, job_t *j, const td_http_result_t *res)
{
    td_kind_t k = PHASES[j->phase];
    r->body.len = 0;
    td_buf_append(&r->body, res->body, res->body_len);
    const char *body = r->body.data ? r->body.data : "";
    const char *one = r->polygon ? j->syms.v[j->group0] : NULL;
    int rc = k == TD_KIND_BAR ? r->polygon
                                    ? td_bars_parse_polygon(body, res->body_len, one, &r->page)
                                    : td_bars_parse_alpaca(body, res->body_len, NULL, &r->page)
             : r->polygon ? td_ticks_parse_polygon(body, res->body_len, k, one, &r->ticks)
                              : td_ticks_parse_alpaca(body, res->body_len, k, &r->ticks);
    if (rc != 0) {
        char why[400];
        snprintf(why, sizeof why, "unreadable history answer (%s)",
                 k != TD_KIND_BAR ? r->ticks.message : r->page.message);
        group_failed(r, j, why);
        return;
    }
    r->pub_i = 0;
    r->draining = 1;
    drain(r);
}

/* 429, 5xx, transport errors: the same request later, a bounded number of
 * times. Returns 1 if it will be retried. */
static int retry(td_refill_t *r, job_t *j, const td_http_result_t *res)
{
    uint64_t wait;
    if (res->status == 429) {
        if (++j->tries_429 >= TRIES_429) return 0;
        long ra = res->retry_after ? strtol(res->retry_after, NULL, 10) : 1;
        wait = (uint64_t)(ra < 1 ? 1 : ra > 60 ? 60 : ra) * 1000;
    } else if (res->error || res->status >= 500) {
        if (++j->tries >= TRIES) return 0;
        wait = 250u << j->tries;
    } else {
        return 0;
    }
    r->st.retries++;
    uv_timer_start(&r->timer, on_timer, wait, 0);
    return 1;
}

static void on_response(void *ud, const td_http_result_t *res)
{
    td_refill_t *r = ud;
    job_t *j = r->head;
    r->req = NULL;
    if (r->stopping || !j) return;
    if (!res->error && res->status == 200) {
        on_page(r, j, res);
        return;
    }
    if (retry(r, j, res)) return;
    char why[400];
    if (res->error)
        snprintf(why, sizeof why, "%s: %s", r->url.data, res->error);
    else
        snprintf(why, sizeof why, "history answered %d: %.200s", res->status, res->body);
    /* never log the key: Polygon's is in the URL */
    char *k = r->polygon ? strstr(why, "apiKey=") : NULL;
    if (k) snprintf(k, sizeof why - (size_t)(k - why), "apiKey=***");
    group_failed(r, j, why);
}

/* ---- the rest ---------------------------------------------------------------------- */

void td_refill_stats(const td_refill_t *r, td_refill_stats_t *out)
{
    *out = r->st;
}

int64_t td_refill_earliest(const td_refill_t *r, td_kind_t k)
{
    int64_t t = INT64_MAX;
    for (const job_t *j = r->head; j; j = j->next)
        if ((j->what.k[k].n || j->what.k[k].all) && j->from_ns < t) t = j->from_ns;
    return t;
}

static void closed(void *ud)
{
    td_refill_t *r = ud;
    if (--r->open_handles == 0 && r->stop_done) r->stop_done(r->stop_ud);
}

static void timer_closed(uv_handle_t *h)
{
    closed(h->data);
}

void td_refill_stop(td_refill_t *r, void (*done)(void *ud), void *ud)
{
    if (r->stopping) return;
    r->stopping = 1;
    r->stop_done = done;
    r->stop_ud = ud;
    r->req = NULL;
    r->open_handles++;
    td_http_stop(r->http, closed, r);
    uv_close((uv_handle_t *)&r->timer, timer_closed);
}

void td_refill_free(td_refill_t *r)
{
    if (!r) return;
    while (r->head) {
        job_t *j = r->head;
        r->head = j->next;
        job_free(j);
    }
    td_http_free(r->http);
    td_seen_free(&r->seen);
    td_subset_free(&r->seen_syms);
    td_bars_page_free(&r->page);
    td_ticks_page_free(&r->ticks);
    td_buf_free(&r->body);
    td_buf_free(&r->url);
    td_buf_free(&r->ev);
    free(r->times);
    free(r->base);
    free(r->key);
    if (r->secret) memset(r->secret, 0, strlen(r->secret));
    free(r->secret);
    free(r);
}
