/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd run --ha-lease: the wiring of the HA lease (ha/lease.h).
 *
 * Active: the feeds of --url exist and publish through the Redis sink (its
 * gate asks the lease before every batch). Standby: no feed (the vendor
 * sees no second connection), and with --listen a Redis source reads the
 * active's channels from the same Redis, so the standby's gateway clients
 * get the same events as a --source gateway's. On a role change the old
 * side is stopped (freed once closed) and the new one created; the bus
 * keeps the clients' interest across it, and the new holder also pins the
 * interest the previous holder stored next to the lease. */
#include "cmd/run_app.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

typedef struct run_retired_s {
    struct run_retired_s *next;
    app_t *a;
    td_feed_t *feed;
    td_redis_source_t *source;
    int done;
    int had_conn; /* the feed had a connection at stop: lws closes it later */
} run_retired_t;

#define REAP_MS 100

/* A feed's handles may close before lws has closed its connection (it
 * reports that as TD_FEED_STOPPED): freed only once both are done. */
static int reapable(const run_retired_t *r)
{
    if (!r->done) return 0;
    if (!r->feed || !r->had_conn) return 1;
    td_feed_stats_t fs;
    td_feed_stats(r->feed, &fs);
    return fs.state == TD_FEED_STOPPED;
}

static void reap_cb(uv_timer_t *t)
{
    app_t *a = t->data;
    for (run_retired_t **pp = &a->retired; *pp;) {
        run_retired_t *r = *pp;
        if (!reapable(r)) {
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        td_feed_free(r->feed);
        td_redis_source_free(r->source);
        free(r);
    }
    if (a->retired && !a->stopping) uv_timer_start(&a->ha_reap, reap_cb, REAP_MS, 0);
}

static void retired_done(void *ud)
{
    run_retired_t *r = ud;
    r->done = 1;
    if (!r->a->stopping) uv_timer_start(&r->a->ha_reap, reap_cb, 0, 0);
}

static run_retired_t *retire(app_t *a)
{
    run_retired_t *r = td_xcalloc(1, sizeof *r);
    r->a = a;
    r->next = a->retired;
    a->retired = r;
    return r;
}

static void want_feeds(void *ud, td_kind_t kind, const char *sym, size_t n)
{
    app_t *a = ud;
    for (size_t i = 0; i < a->nfeeds; i++)
        td_feed_want(a->feeds[i], kind, sym, n, 1);
}

static void want_source(void *ud, td_kind_t kind, const char *sym, size_t n)
{
    app_t *a = ud;
    td_redis_source_want(a->source, kind, sym, n, 1);
}

/* The previous holder's interest, pinned while this instance is active. */
static void pin_inherited(app_t *a, const char *spec)
{
    td_subset_t s;
    char err[256];
    td_subset_init(&s);
    if (td_subset_parse(&s, spec, err, sizeof err) != 0) {
        TD_WARN("ha: the stored interest is not a subscription spec (%s); ignored", err);
    } else if (!td_subset_empty(&s)) {
        a->ha_pin = td_bus_attach(a->bus, NULL, NULL);
        for (int k = 0; k < TD_KIND__COUNT; k++) {
            if (s.k[k].all) td_bus_want(a->bus, a->ha_pin, (td_kind_t)k, "*", 1);
            for (size_t i = 0; i < s.k[k].n; i++)
                td_bus_want(a->bus, a->ha_pin, (td_kind_t)k, s.k[k].v[i], strlen(s.k[k].v[i]));
        }
    }
    td_subset_free(&s);
}

static void become_active(app_t *a, const char *inherited, uint64_t token)
{
    if (a->source) {
        run_retired_t *r = retire(a);
        r->source = a->source;
        a->source = NULL;
        td_redis_source_stop(r->source, retired_done, r);
    }
    if (td__run_setup_feeds(a) != 0) { /* the config was checked at start: not expected */
        TD_ERR("ha: cannot create the upstream feeds; stopping");
        uv_stop(&a->loop);
        return;
    }
    td_bus_interest_each(a->bus, want_feeds, a);
    pin_inherited(a, inherited);
    td__run_takeover(a, token);
    for (size_t i = 0; i < a->nfeeds; i++)
        td_feed_start(a->feeds[i]);
}

static void become_standby(app_t *a)
{
    for (size_t i = 0; i < a->nfeeds; i++) {
        run_retired_t *r = retire(a);
        td_feed_record(a->feeds[i], NULL);
        r->feed = a->feeds[i];
        td_feed_stats_t fs;
        td_feed_stats(r->feed, &fs);
        r->had_conn = fs.state != TD_FEED_IDLE && fs.state != TD_FEED_WAITING;
        td_feed_stop(r->feed, retired_done, r);
    }
    free(a->feeds);
    a->feeds = NULL;
    a->nfeeds = 0;
    if (a->ha_pin) td_bus_detach(a->bus, a->ha_pin);
    a->ha_pin = NULL;
    /* with --refill too: what the active published is what a takeover
     * refill must not publish again */
    if ((a->cfg.listen || a->refill) && !a->source &&
        (a->source = td__run_new_source(a, a->cfg.redis))) {
        td_bus_interest_each(a->bus, want_source, a);
        td_redis_source_start(a->source);
    }
}

static void on_role(void *ud, td_ha_role_t role, uint64_t token, const char *inherited)
{
    app_t *a = ud;
    if (a->stopping) return;
    if (role == TD_HA_ACTIVE)
        become_active(a, inherited, token);
    else
        become_standby(a);
}

static void add_to_set(void *ud, td_kind_t kind, const char *sym, size_t n)
{
    td_subset_add(ud, kind, sym, n);
}

static void on_interest_spec(void *ud, td_buf_t *spec)
{
    app_t *a = ud;
    td_subset_t s;
    td_subset_init(&s);
    td_bus_interest_each(a->bus, add_to_set, &s);
    td_ha_spec_format(&s, spec);
    td_subset_free(&s);
}

/* Only the holder's events reach the sink (a standby's come from Redis). */
static void to_redis(void *ud, const td_event_t *ev)
{
    app_t *a = ud;
    if (td_ha_role(a->ha) == TD_HA_ACTIVE) td_redis_sink_publish(a->redis, ev);
}

int td__run_setup_ha(app_t *a)
{
    run_cfg *c = &a->cfg;
    char err[512];
    if (!a->redis || c->source || c->url.n == 0 || strcmp(c->feed, "alphavantage") == 0) {
        TD_ERR("--ha-lease needs --redis and a streaming --url (not --source, not alphavantage)");
        return -1;
    }
    static const td_ha_cb_t cb = {on_role, on_interest_spec};
    td_ha_cfg_t hc = {.url = c->redis,
                      .prefix = c->channel_prefix,
                      .name = c->ha_lease,
                      .ttl_s = c->ha_ttl,
                      .ca_file = c->redis_ca_file,
                      .cert_file = c->redis_cert,
                      .key_file = c->redis_key};
    if (!(a->ha = td_ha_new(&a->loop, &hc, &cb, a, err, sizeof err))) {
        TD_ERR("--ha-lease: %s", err);
        return -1;
    }
    uv_timer_init(&a->loop, &a->ha_reap);
    a->ha_reap.data = a;
    td_redis_sink_set_gate(a->redis, td_ha_gate, a->ha);
    td_bus_tap(a->bus, to_redis, a);
    return 0;
}

void td__run_start_ha(app_t *a)
{
    td_ha_start(a->ha);
    become_standby(a); /* until the lease is ours: the gateway serves from Redis */
}

void td__run_stop_ha(app_t *a, void (*done)(void *ud))
{
    a->pending++;
    td_ha_stop(a->ha, done, a);
    uv_close((uv_handle_t *)&a->ha_reap, NULL);
}

void td__run_free_ha(app_t *a)
{
    while (a->retired) {
        run_retired_t *r = a->retired;
        a->retired = r->next;
        td_feed_free(r->feed);
        td_redis_source_free(r->source);
        free(r);
    }
    td_ha_free(a->ha);
}

int td__run_ha_health(app_t *a, td_buf_t *out)
{
    td_ha_stats_t hs;
    td_ha_stats(a->ha, &hs);
    td_buf_appendf(out, ",\"ha\":{\"role\":\"%s\",\"holder\":",
                   hs.role == TD_HA_ACTIVE ? "active" : "standby");
    td_buf_append_json_str(out, hs.holder, strlen(hs.holder));
    td_buf_appendf(out,
                   ",\"fencing_token\":%llu,\"takeovers\":%llu,\"fenced\":%llu,"
                   "\"last_takeover_seconds\":%.3f,\"lease_redis\":\"%s\"}",
                   (unsigned long long)hs.token, (unsigned long long)hs.takeovers,
                   (unsigned long long)hs.fenced, hs.last_takeover_s, hs.connected ? "up" : "down");
    return hs.connected;
}

void td__run_ha_metrics(app_t *a, td_buf_t *o)
{
    td_ha_stats_t hs;
    td_ha_stats(a->ha, &hs);
    td_buf_appendf(o,
                   "# HELP tickerd_ha_active 1 if this instance holds the lease\n"
                   "# TYPE tickerd_ha_active gauge\ntickerd_ha_active %d\n"
                   "# HELP tickerd_ha_fencing_token the fencing token held (or last held)\n"
                   "# TYPE tickerd_ha_fencing_token gauge\ntickerd_ha_fencing_token %llu\n"
                   "# HELP tickerd_ha_takeovers_total leases taken over from another holder\n"
                   "# TYPE tickerd_ha_takeovers_total counter\ntickerd_ha_takeovers_total %llu\n"
                   "# HELP tickerd_ha_fenced_total times this instance fenced itself\n"
                   "# TYPE tickerd_ha_fenced_total counter\ntickerd_ha_fenced_total %llu\n"
                   "# HELP tickerd_ha_last_takeover_seconds lease acquired to first batch "
                   "published (-1: none)\n"
                   "# TYPE tickerd_ha_last_takeover_seconds gauge\n"
                   "tickerd_ha_last_takeover_seconds %.3f\n",
                   hs.role == TD_HA_ACTIVE, (unsigned long long)hs.token,
                   (unsigned long long)hs.takeovers, (unsigned long long)hs.fenced,
                   hs.last_takeover_s);
    td_buf_appendf(o, "# HELP tickerd_ha_holder the lease's holder as last seen\n"
                      "# TYPE tickerd_ha_holder gauge\ntickerd_ha_holder{holder=\"");
    for (const char *p = hs.holder; *p; p++) /* label value: escape \ " and newlines */
        if (*p == '\\' || *p == '"')
            td_buf_appendf(o, "\\%c", *p);
        else if (*p != '\n')
            td_buf_appendc(o, *p);
    td_buf_appends(o, "\"} 1\n");
}
