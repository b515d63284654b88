/* SPDX-License-Identifier: Apache-2.0 */
#include "poll/poll.h"
#include "core/backoff.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rng.h"
#include "proto/alphavantage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 50
/* Calls in flight at once: a REST quota is spent slowly, and a vendor that
 * starts throttling must not see a burst of calls that all fail. */
#define MAX_IN_FLIGHT 2

typedef struct ticker_s {
    char sym[65]; /* as long as a client may name (64) */
    size_t n;
    uint64_t last_ms;     /* when its last answer came (0: never polled) */
    uint64_t retry_at_ms; /* transient failure: not before */
    td_backoff_t backoff;
    td_http_req_t *req; /* in flight */
    int failed;         /* permanent error until wanted again */
    td_buf_t last;      /* last payload published */
    struct td_poll_s *p;
} ticker;

/* The times of the last `cap` calls (a sliding window allows a call when
 * fewer than cap fall within it). The vendor counts arrivals and tickerd
 * starts: a margin of 2 % (at least 50 ms) keeps jitter on the way from
 * putting cap + 1 calls in one of its windows (which costs a whole window's
 * pause). */
typedef struct {
    uint64_t *t;
    uint32_t cap, n, head;
    uint64_t window_ms, margin_ms;
} window_log;

struct td_poll_s {
    uv_loop_t *loop;
    td_http_t *http;
    char *url, *key;
    uint64_t interval_ms;
    double timeout_s;
    td_poll_cb_t cb;
    void *ud;
    ticker **v;
    size_t n, cap;
    window_log minute, day;
    uint64_t pause_until_ms; /* throttled by the vendor: no call before */
    uv_timer_t timer;
    td_rng_t rng;
    double period_logged;
    int period_dirty; /* the wanted set changed: recompute (and log) at the next tick */
    void (*done)(void *ud);
    void *done_ud;
    td_poll_stats_t st;
};

static void window_init(window_log *w, uint32_t cap, double seconds)
{
    w->cap = cap;
    w->t = cap ? td_xcalloc(cap, sizeof *w->t) : NULL;
    w->window_ms = (uint64_t)(seconds * 1000.0 + 0.5);
    w->margin_ms = w->window_ms / 50 < 50 ? 50 : w->window_ms / 50;
}

/* When the next call may start (now if allowed now). */
static uint64_t window_next(const window_log *w, uint64_t now)
{
    if (!w->cap || w->n < w->cap) return now;
    uint64_t oldest = w->t[w->head], at = oldest + w->window_ms + w->margin_ms;
    return at > now ? at : now; /* the ring is full: head is the oldest */
}

static void window_add(window_log *w, uint64_t now)
{
    if (!w->cap) return;
    if (w->n < w->cap) {
        w->t[(w->head + w->n++) % w->cap] = now;
    } else {
        w->t[w->head] = now;
        w->head = (w->head + 1) % w->cap;
    }
}

td_poll_t *td_poll_new(uv_loop_t *loop, td_http_t *http, const td_poll_cfg_t *cfg,
                       const td_poll_cb_t *cb, void *ud, char *err, size_t errlen)
{
    if (!cfg->url || strncmp(cfg->url, "http", 4) != 0) {
        snprintf(err, errlen, "the REST URL must be http(s)://HOST:PORT/query, not '%s'",
                 cfg->url ? cfg->url : "");
        return NULL;
    }
    td_poll_t *p = td_xcalloc(1, sizeof *p);
    p->loop = loop;
    p->http = http;
    p->url = td_xstrdup(cfg->url);
    p->key = td_xstrdup(cfg->key ? cfg->key : "");
    p->interval_ms = (uint64_t)(cfg->interval_s * 1000.0 + 0.5);
    p->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 10;
    p->cb = *cb;
    p->ud = ud;
    window_init(&p->minute, cfg->per_minute, cfg->minute_s > 0 ? cfg->minute_s : 60);
    window_init(&p->day, cfg->per_day, cfg->day_s > 0 ? cfg->day_s : 86400);
    td_rng_seed(&p->rng, (uint64_t)td_now_ns());
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    return p;
}

/* ---- the wanted set ----------------------------------------------------- */

static ticker *find(const td_poll_t *p, const char *sym, size_t n, size_t *at)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i]->n == n && memcmp(p->v[i]->sym, sym, n) == 0) {
            if (at) *at = i;
            return p->v[i];
        }
    }
    return NULL;
}

static void ticker_free(td_poll_t *p, ticker *t)
{
    if (t->req) td_http_cancel(p->http, t->req);
    td_buf_free(&t->last);
    free(t);
}

static void log_period(td_poll_t *p)
{
    size_t active = 0;
    for (size_t i = 0; i < p->n; i++)
        active += !p->v[i]->failed;
    double rate = INFINITY; /* calls per second the quotas allow */
    if (p->minute.cap) rate = fmin(rate, p->minute.cap * 1000.0 / p->minute.window_ms);
    if (p->day.cap) rate = fmin(rate, p->day.cap * 1000.0 / p->day.window_ms);
    double period = p->interval_ms / 1000.0;
    if (active && isfinite(rate)) period = fmax(period, (double)active / rate);
    p->st.tickers = p->n;
    p->st.effective_period_s = active ? period : 0;
    if (fabs(period - p->period_logged) < 0.05 || !active) return;
    p->period_logged = period;
    TD_INFO("poll: %zu ticker(s) wanted: each refreshed every %.1fs (interval %.1fs, quota "
            "%.3g calls/s)",
            active, period, p->interval_ms / 1000.0, isfinite(rate) ? rate : 0.0);
}

void td_poll_want(td_poll_t *p, const char *sym, size_t n, int wanted)
{
    size_t at = 0;
    if (n == 1 && sym[0] == '*') {
        TD_WARN("poll: a REST vendor is polled per ticker: '*' ignored");
        return;
    }
    if (n >= sizeof((ticker *)0)->sym) return;
    ticker *t = find(p, sym, n, &at);
    if (wanted && !t) {
        t = td_xcalloc(1, sizeof *t);
        memcpy(t->sym, sym, n);
        t->n = n;
        t->p = p;
        td_backoff_init(&t->backoff, 1000, 60000);
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 16;
            p->v = td_xrealloc(p->v, p->cap * sizeof *p->v);
        }
        p->v[p->n++] = t;
    } else if (!wanted && t) {
        p->v[at] = p->v[--p->n]; /* nobody wants it: no more calls */
        ticker_free(p, t);
    }
    p->period_dirty = 1; /* logged once per tick, not once per ticker */
}

/* ---- calls -------------------------------------------------------------- */

static void fail_transient(td_poll_t *p, ticker *t, const char *why)
{
    uint32_t d = td_backoff_next(&t->backoff, td_rng_next(&p->rng));
    t->retry_at_ms = uv_now(p->loop) + d;
    p->st.retries++;
    TD_WARN("poll %.*s: %s; retrying in %.1fs", (int)t->n, t->sym, why, d / 1000.0);
}

static void fail_permanent(td_poll_t *p, ticker *t, const char *why)
{
    t->failed = 1;
    p->st.errors++;
    TD_WARN("poll %.*s: %s; not polled again until it is wanted anew", (int)t->n, t->sym, why);
    if (p->cb.on_error) p->cb.on_error(p->ud, t->sym, t->n, why);
    p->period_dirty = 1;
}

static void throttled(td_poll_t *p, const td_av_result_t *r)
{
    uint64_t now = uv_now(p->loop);
    uint64_t window = r->daily ? p->day.window_ms : p->minute.window_ms;
    p->pause_until_ms = now + window;
    p->st.throttled++;
    TD_WARN("poll: the vendor says we are over its %s quota (%.*s); no calls for %.0fs",
            r->daily ? "daily" : "per-minute", (int)(r->text_len > 120 ? 120 : r->text_len),
            r->text ? r->text : "", window / 1000.0);
}

static void on_quote(td_poll_t *p, ticker *t, const td_av_result_t *r)
{
    td_buf_t payload = TD_BUF_INIT;
    td_av_quote_payload(r, &payload);
    p->st.quotes++;
    td_backoff_reset(&t->backoff);
    if (payload.len == t->last.len && memcmp(payload.data, t->last.data, payload.len) == 0) {
        p->st.unchanged++;
        td_buf_free(&payload);
        return;
    }
    td_buf_free(&t->last);
    t->last = payload;
    td_event_t ev = {TD_KIND_QUOTE, t->sym, t->n, t->last.data, t->last.len};
    p->st.published++;
    p->cb.on_event(p->ud, &ev);
}

static void on_response(void *ud, const td_http_result_t *res)
{
    ticker *t = ud;
    td_poll_t *p = t->p;
    char why[160];
    t->req = NULL;
    if (res->error) {
        fail_transient(p, t, res->error);
        return;
    }
    if (res->status >= 500) {
        snprintf(why, sizeof why, "HTTP %d", res->status);
        fail_transient(p, t, why);
        return;
    }
    td_av_result_t r;
    td_av_parse_global_quote(res->body, res->body_len, &r);
    switch (r.kind) {
    case TD_AV_QUOTE:
        t->last_ms = uv_now(p->loop);
        on_quote(p, t, &r);
        break;
    case TD_AV_UNKNOWN:
        fail_permanent(p, t, "unknown symbol");
        break;
    case TD_AV_ERROR:
        snprintf(why, sizeof why, "vendor error: %.*s", (int)(r.text_len > 120 ? 120 : r.text_len),
                 r.text ? r.text : "");
        fail_permanent(p, t, why);
        break;
    case TD_AV_THROTTLED:
        throttled(p, &r); /* this ticker goes again first once the window frees */
        break;
    case TD_AV_MALFORMED:
        snprintf(why, sizeof why, "unreadable answer (HTTP %d, %zu bytes)", res->status,
                 res->body_len);
        fail_transient(p, t, why);
        break;
    }
}

static int start_call(td_poll_t *p, ticker *t)
{
    td_buf_t u = TD_BUF_INIT;
    td_buf_appends(&u, p->url);
    td_buf_appends(&u, strchr(p->url, '?') ? "&" : "?");
    td_buf_appends(&u, "function=GLOBAL_QUOTE&symbol=");
    td_buf_append_url(&u, t->sym, t->n);
    td_buf_appends(&u, "&apikey=");
    td_buf_append_url(&u, p->key, strlen(p->key));
    t->req = td_http_request(p->http, "GET", u.data, NULL, NULL, 0, (uint32_t)(p->timeout_s * 1000),
                             on_response, t);
    td_buf_free(&u);
    if (!t->req) {
        fail_transient(p, t, "the request could not be started");
        return -1;
    }
    p->st.calls++;
    return 0;
}

/* The most overdue ticker that may be polled now, weighted by subscribers. */
static ticker *pick(td_poll_t *p, uint64_t now)
{
    ticker *best = NULL;
    double best_score = 0;
    for (size_t i = 0; i < p->n; i++) {
        ticker *t = p->v[i];
        if (t->req || t->failed || now < t->retry_at_ms) continue;
        if (t->last_ms && now - t->last_ms < p->interval_ms) continue;
        double age = t->last_ms ? (double)(now - t->last_ms) : 1e12 + (double)(p->n - i);
        size_t subs = p->cb.subscribers ? p->cb.subscribers(p->ud, t->sym, t->n) : 1;
        double score = age * (1.0 + (double)subs);
        if (!best || score > best_score) best = t, best_score = score;
    }
    return best;
}

static void on_tick(uv_timer_t *h)
{
    td_poll_t *p = h->data;
    uint64_t now = uv_now(p->loop);
    if (p->period_dirty) {
        p->period_dirty = 0;
        log_period(p);
    }
    while (now >= p->pause_until_ms && window_next(&p->minute, now) <= now &&
           window_next(&p->day, now) <= now) {
        if (td_http_in_flight(p->http) >= MAX_IN_FLIGHT) break;
        ticker *t = pick(p, now);
        if (!t) break;
        /* The call counts against the quota whatever its answer. */
        window_add(&p->minute, now);
        window_add(&p->day, now);
        if (start_call(p, t) != 0) break;
    }
}

void td_poll_start(td_poll_t *p)
{
    uv_timer_start(&p->timer, on_tick, 0, TICK_MS);
}

void td_poll_stats(const td_poll_t *p, td_poll_stats_t *out)
{
    *out = p->st;
}

static void on_closed(uv_handle_t *h)
{
    td_poll_t *p = h->data;
    if (p->done) p->done(p->done_ud);
}

void td_poll_stop(td_poll_t *p, void (*done)(void *ud), void *ud)
{
    p->done = done;
    p->done_ud = ud;
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i]->req) td_http_cancel(p->http, p->v[i]->req);
        p->v[i]->req = NULL;
    }
    uv_close((uv_handle_t *)&p->timer, on_closed);
}

void td_poll_free(td_poll_t *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++)
        ticker_free(p, p->v[i]);
    free(p->v);
    free(p->minute.t);
    free(p->day.t);
    free(p->url);
    if (p->key) memset(p->key, 0, strlen(p->key));
    free(p->key);
    free(p);
}
