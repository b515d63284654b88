/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd run --refill: the gap notices of an outage and its refill
 * (refill/refill.h).
 *
 * An outage of `where` closes (td__run_gap): the kinds --refill does not
 * cover get one notice "refill":"impossible" at once; the covered ones a
 * notice "refill":"pending", and once their refill is over a second notice
 * for the same window and kinds with "done", "partial" or "impossible".
 * Refilled events go through the bus like live ones (so gateway clients,
 * stdout and Redis get them), with "refilled":true in their JSON and, in the
 * Redis history, the field r = 1.
 *
 * History in order: while a refill of a kind is queued, the history entries
 * (not the PUBLISHes) of that kind's live and refilled events are held back
 * (refill/hold.h), and written merged in timestamp order as the refill ends
 * (those before the next queued refill's window; all once none is left).
 * Past HOLD_EVENTS or HOLD_BYTES they are written through, and the final
 * notice says the order could not be kept. */
#include "backfill/backfill.h"
#include "cmd/run_app.h"
#include "core/clock.h"
#include "core/log.h"
#include "proto/gap.h"
#include "refill/hold.h"
#include "refill/logic.h"
#include "refill/refill.h"

#include <string.h>

#define HOLD_EVENTS ((size_t)1 << 16)
#define HOLD_BYTES  ((size_t)32 << 20)

static uint64_t ha_token(app_t *a)
{
    if (!a->ha) return 0;
    td_ha_stats_t hs;
    td_ha_stats(a->ha, &hs);
    return hs.token;
}

static void notice(app_t *a, const char *label, int64_t from, int64_t to, const td_subset_t *where,
                   const char *refill, int64_t lost, const char *why, uint64_t token)
{
    td_buf_t b = TD_BUF_INIT;
    td_gap_t n = {.feed = label,
                  .from_ns = from,
                  .to_ns = to,
                  .where = where,
                  .refill = refill,
                  .lost = lost,
                  .reason = why,
                  .token = token};
    td_gap_json(&b, &n);
    if (a->redis) td_redis_sink_notice(a->redis, b.data, b.len, where);
    if (a->gw) td_gateway_notice(a->gw, b.data, b.len);
    td_buf_free(&b);
}

static void write_history(void *ud, const td_event_t *ev, int refilled)
{
    app_t *a = ud;
    td_redis_sink_history(a->redis, ev, refilled);
}

/* Writes the held history entries older than every queued refill's window
 * (each kind's), all of them with `all`. */
static void hold_flush(app_t *a, int all)
{
    int64_t bound[TD_KIND__COUNT];
    int64_t margin = 2 * (int64_t)(a->cfg.refill_bar_seconds * 1e9) + 1000000000;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        int64_t t = all || !a->holding[k] ? INT64_MAX : td_refill_earliest(a->refill, (td_kind_t)k);
        bound[k] = t == INT64_MAX ? INT64_MAX : t - margin;
    }
    td_hold_flush(a->hold, bound, write_history, a);
}

/* The sink's hold: the history entry of an event of a kind being refilled
 * waits (1), unless the hold is full (then everything of that kind held so
 * far is written, and the rest until the refill ends goes through: 0). */
static int hold_entry(void *ud, const td_event_t *ev, int refilled)
{
    app_t *a = ud;
    int64_t ts;
    if (!a->holding[ev->kind] || a->hold_full[ev->kind]) return 0;
    if (td_refill_event_time(ev->payload, ev->payload_len, &ts) != 0) return 0;
    if (td_hold_add(a->hold, ev, refilled, ts) == 0) return 1;
    TD_WARN("refill: more than %zu events or %zu MiB of %s held back while refilling: history "
            "written through, its order per symbol not kept until the refill ends",
            HOLD_EVENTS, HOLD_BYTES >> 20, td_kind_name(ev->kind));
    a->hold_full[ev->kind] = 1;
    int64_t bound[TD_KIND__COUNT];
    for (int k = 0; k < TD_KIND__COUNT; k++)
        bound[k] = k == (int)ev->kind ? INT64_MAX : INT64_MIN;
    td_hold_flush(a->hold, bound, write_history, a);
    return 0;
}

/* A refill of `what` queued (+1) or over (-1): the history of its kinds is
 * held while one is queued. */
static void hold_count(app_t *a, const td_subset_t *what, int d)
{
    if (!a->redis || !a->cfg.redis_history) return;
    int any = 0;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (what->k[k].n || what->k[k].all) a->holding[k] += d;
        if (!a->holding[k]) a->hold_full[k] = 0;
        any |= a->holding[k] != 0;
    }
    if (!a->hold) a->hold = td_hold_new(HOLD_EVENTS, HOLD_BYTES);
    if (d < 0) hold_flush(a, 0);
    td_redis_sink_set_hold(a->redis, any ? hold_entry : NULL, a);
}

void td__run_flush_history(app_t *a)
{
    if (!a->hold || !a->redis) return;
    hold_flush(a, 1);
    td_redis_sink_set_hold(a->redis, NULL, NULL);
}

void td__run_gap(app_t *a, const char *label, int64_t from_ns, int64_t to_ns,
                 const td_subset_t *where, const char *why)
{
    uint64_t token = ha_token(a);
    if (!a->refill) {
        notice(a, label, from_ns, to_ns, where, "impossible", -1, why, token);
        return;
    }
    td_subset_t cov, rest;
    td_subset_init(&cov);
    td_subset_init(&rest);
    td_refill_covered(a->refill, where, &cov);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!cov.k[k].n && !cov.k[k].all) { /* a kind --refill does not cover */
            rest.k[k].all = where->k[k].all;
            for (size_t i = 0; i < where->k[k].n; i++)
                td_subset_add(&rest, (td_kind_t)k, where->k[k].v[i], strlen(where->k[k].v[i]));
        }
    }
    if (!td_subset_empty(&rest))
        notice(a, label, from_ns, to_ns, &rest, "impossible", -1, why, token);
    if (!td_subset_empty(&cov)) {
        int ok = td_refill_start(a->refill, from_ns, to_ns, &cov, label, token) == 0;
        if (ok) hold_count(a, &cov, 1);
        notice(a, label, from_ns, to_ns, &cov, ok ? "pending" : "impossible", -1, why, token);
    }
    td_subset_free(&cov);
    td_subset_free(&rest);
}

static void on_refilled(void *ud, const td_event_t *ev)
{
    app_t *a = ud;
    if (a->redis) td_redis_sink_mark_refilled(a->redis, 1);
    td_bus_publish(a->bus, ev);
    if (a->redis) td_redis_sink_mark_refilled(a->redis, 0);
}

static void on_refill_done(void *ud, const td_refill_job_t *j)
{
    app_t *a = ud;
    if (a->stopping) return;
    int full = 0;
    for (int k = 0; k < TD_KIND__COUNT; k++)
        full |= a->hold_full[k] && (j->what->k[k].n || j->what->k[k].all);
    hold_count(a, j->what, -1);
    int done = strcmp(j->outcome, "done") == 0;
    char why[512];
    snprintf(why, sizeof why, "%s%shistory order per symbol not kept (too many events held)",
             j->why ? j->why : "", j->why ? "; " : "");
    notice(a, j->label, j->from_ns, j->to_ns, j->what, j->outcome, done ? 0 : -1,
           full ? why : j->why, j->token);
}

static void add_to_set(void *ud, td_kind_t kind, const char *sym, size_t n)
{
    td_subset_add(ud, kind, sym, n);
}

/* The takeover window closes at the new holder's first event. */
static void close_takeover(app_t *a)
{
    td_subset_t s;
    td_subset_init(&s);
    td_bus_interest_each(a->bus, add_to_set, &s);
    int64_t from = a->takeover_from_ns;
    a->takeover_from_ns = 0;
    td__run_gap(a, a->cfg.url.v[0], from, td_now_ns(), &s,
                "HA takeover: the previous holder stopped publishing");
    td_subset_free(&s);
}

void td__run_takeover(app_t *a, uint64_t token)
{
    td_ha_stats_t hs;
    td_ha_stats(a->ha, &hs);
    if (!a->refill || hs.takeovers == a->takeovers_seen) return; /* a free lease: no gap */
    a->takeovers_seen = hs.takeovers;
    int64_t now = td_now_ns(), ttl = (int64_t)(a->cfg.ha_ttl * 1e9);
    /* nothing seen from the previous holder: its lease expired after at most a ttl */
    a->takeover_from_ns = a->last_seen_ns ? a->last_seen_ns : now - ttl;
    TD_INFO("ha: refill of the takeover window from %.3f s ago (fencing token %llu)",
            (double)(now - a->takeover_from_ns) / 1e9, (unsigned long long)token);
}

/* Every event: remembered (dedupe); while standby, the time of the
 * active's last one; once active after a takeover, the first one closes
 * the window. */
static void tap(void *ud, const td_event_t *ev)
{
    app_t *a = ud;
    td_refill_seen(a->refill, ev);
    if (!a->ha) return;
    if (td_ha_role(a->ha) != TD_HA_ACTIVE)
        a->last_seen_ns = td_now_ns();
    else if (a->takeover_from_ns)
        close_takeover(a);
}

int td__run_refill_config(const run_cfg *c, td_refill_cfg_t *rc, char *base, size_t baselen,
                          const char **opt, char *err, size_t errlen)
{
    unsigned kinds;
    *opt = "refill";
    if (td_refill_parse_kinds(c->refill, &kinds, err, errlen) != 0) return -1;
    int polygon = strcmp(c->feed, "polygon") == 0;
    if (!kinds || c->source || c->url.n == 0 || (!polygon && strcmp(c->feed, "alpaca") != 0))
        return 0; /* nothing to refill from */
    unsigned ticks = kinds & (1u << TD_KIND_TRADE | 1u << TD_KIND_QUOTE);
    const char *host = strstr(c->url.v[0], "://"), *path = host ? strchr(host + 3, '/') : NULL;
    if (polygon && ticks &&
        (!path || strncmp(path, "/stocks", 7) != 0 || (path[7] && path[7] != '?'))) {
        snprintf(err, errlen,
                 "--refill trades/quotes with --feed polygon: the /stocks cluster only (its T "
                 "and Q events)");
        return -1;
    }
    if (c->refill_url)
        snprintf(base, baselen, "%s", c->refill_url);
    else if (td_refill_rest_base(c->url.v[0], base, baselen) != 0) {
        snprintf(err, errlen, "--refill: no REST URL for '%s': give --refill-url", c->url.v[0]);
        return -1;
    }
    double rn = 0, rs = 0;
    if (c->refill_rate && *c->refill_rate && td_backfill_parse_rate(c->refill_rate, &rn, &rs)) {
        *opt = "refill-rate";
        snprintf(err, errlen, "--refill-rate '%s': expected N/WINDOW, e.g. 200/min",
                 c->refill_rate);
        return -1;
    }
    *rc = (td_refill_cfg_t){.vendor = polygon ? "polygon" : "alpaca",
                            .base_url = base,
                            .key = c->key,
                            .secret = c->secret,
                            .kinds = kinds,
                            .max_symbols = (uint32_t)c->refill_max_symbols,
                            .remember = ticks ? 1u << 19 : 0,
                            .rate_n = rn,
                            .rate_s = rs,
                            .delay_s = c->refill_delay,
                            .bar_ns = (int64_t)(c->refill_bar_seconds * 1e9)};
    return 1;
}

int td__run_setup_refill(app_t *a)
{
    run_cfg *c = &a->cfg;
    char err[512], base[512];
    const char *opt;
    td_refill_cfg_t rc;
    int on = td__run_refill_config(c, &rc, base, sizeof base, &opt, err, sizeof err);
    if (on < 0) TD_ERR("%s", err);
    if (on <= 0) return on;
    static const td_refill_cb_t cb = {on_refilled, on_refill_done};
    if (!(a->refill = td_refill_new(&a->loop, &rc, &cb, a, err, sizeof err))) {
        TD_ERR("%s", err);
        return -1;
    }
    td_bus_tap(a->bus, tap, a);
    TD_INFO("refill after outages from %s (%s, at most %s)", base, c->refill,
            c->refill_rate && *c->refill_rate ? c->refill_rate : "no rate limit");
    return 0;
}

void td__run_stop_refill(app_t *a, void (*done)(void *ud))
{
    if (!a->refill) return;
    a->pending++;
    td_refill_stop(a->refill, done, a);
}

void td__run_free_refill(app_t *a)
{
    td_hold_free(a->hold);
    a->hold = NULL;
    td_refill_free(a->refill);
    a->refill = NULL;
}

void td__run_refill_metrics(app_t *a, td_buf_t *o)
{
    if (!a->refill) return;
    td_refill_stats_t s;
    td_refill_stats(a->refill, &s);
    td_buf_appendf(o,
                   "# HELP tickerd_refill_jobs_total refills finished, by outcome\n"
                   "# TYPE tickerd_refill_jobs_total counter\n"
                   "tickerd_refill_jobs_total{outcome=\"done\"} %llu\n"
                   "tickerd_refill_jobs_total{outcome=\"partial\"} %llu\n"
                   "tickerd_refill_jobs_total{outcome=\"impossible\"} %llu\n"
                   "# HELP tickerd_refill_queued refills waiting or running\n"
                   "# TYPE tickerd_refill_queued gauge\ntickerd_refill_queued %llu\n"
                   "# HELP tickerd_refill_requests_total REST history requests made by refills\n"
                   "# TYPE tickerd_refill_requests_total counter\n"
                   "tickerd_refill_requests_total %llu\n"
                   "# HELP tickerd_refill_retries_total refill requests retried (429, 5xx, "
                   "transport)\n"
                   "# TYPE tickerd_refill_retries_total counter\n"
                   "tickerd_refill_retries_total %llu\n"
                   "# HELP tickerd_refill_events_total refilled events published\n"
                   "# TYPE tickerd_refill_events_total counter\n"
                   "tickerd_refill_events_total %llu\n"
                   "# HELP tickerd_refill_skipped_total history records not published: "
                   "already delivered live\n"
                   "# TYPE tickerd_refill_skipped_total counter\n"
                   "tickerd_refill_skipped_total %llu\n",
                   (unsigned long long)s.done, (unsigned long long)s.partial,
                   (unsigned long long)s.impossible, (unsigned long long)s.queued,
                   (unsigned long long)s.requests, (unsigned long long)s.retries,
                   (unsigned long long)s.events, (unsigned long long)s.skipped);
}
