/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd run: the gateway's wiring: /healthz and /metrics (on --listen,
 * and alone on --metrics-listen), reloads on SIGHUP. */
#include "cmd/cmd.h"
#include "cmd/run_app.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "gateway/jwt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef TD_WEB_FROM_BIN
#define TD_WEB_FROM_BIN "../share/tickerd/web" /* CMake sets it from the install dirs */
#endif

/* ---- the gateway ----------------------------------------------------------- */

/* /healthz: 200 if every upstream is streaming, else 503. */
static int on_health(void *ud, td_buf_t *out)
{
    app_t *a = ud;
    size_t streaming = 0;
    td_buf_appends(out, "{\"upstreams\":[");
    for (size_t i = 0; i < a->nfeeds; i++) {
        td_feed_stats_t fs;
        td_feed_stats(a->feeds[i], &fs);
        streaming += fs.state == TD_FEED_STREAMING;
        td_buf_appends(out, i ? ",{\"url\":" : "{\"url\":");
        const char *url = td_feed_url(a->feeds[i]);
        td_buf_append_json_str(out, url, strlen(url));
        td_buf_appendf(out, ",\"state\":\"%s\",\"reconnects\":%llu}", td_feed_state_name(fs.state),
                       (unsigned long long)fs.reconnects);
    }
    td_buf_appends(out, "],\"redis\":");
    int ok = streaming == a->nfeeds;
    if (a->redis) {
        td_redis_sink_stats_t rs;
        td_redis_sink_stats(a->redis, &rs);
        td_buf_appendf(out, "\"%s\"", rs.status);
        ok = ok && strcmp(rs.status, "up") == 0;
    } else {
        td_buf_appends(out, "null");
    }
    if (a->source) {
        td_redis_source_stats_t ss;
        td_redis_source_stats(a->source, &ss);
        td_buf_appends(out, ss.connected ? ",\"source\":\"up\"" : ",\"source\":\"down\"");
        ok = ok && ss.connected;
    }
    if (a->ha) ok = td__run_ha_health(a, out) && ok;
    td_buf_appendf(out, ",\"status\":\"%s\"}\n", ok ? "ok" : "degraded");
    return ok ? 200 : 503;
}

static void metric_head(td_buf_t *o, const char *name, const char *type, const char *help)
{
    td_buf_appendf(o, "# HELP tickerd_%s %s\n# TYPE tickerd_%s %s\n", name, help, name, type);
}

static void metrics_kinds(td_buf_t *o, const char *name, const uint64_t *v, const char *help)
{
    metric_head(o, name, "counter", help);
    for (int k = 0; k < TD_KIND__COUNT; k++)
        td_buf_appendf(o, "tickerd_%s{kind=\"%s\"} %llu\n", name, td_kind_name((td_kind_t)k),
                       (unsigned long long)v[k]);
}

static void metric(td_buf_t *o, const char *name, const char *type, uint64_t v, const char *help)
{
    metric_head(o, name, type, help);
    td_buf_appendf(o, "tickerd_%s %llu\n", name, (unsigned long long)v);
}

static void metrics_upstreams(app_t *a, td_buf_t *o)
{
    static const char *names[] = {"upstream_streaming", "upstream_reconnects_total",
                                  "upstream_subscription_messages_total", "upstream_gaps_total"};
    static const char *types[] = {"gauge", "counter", "counter", "counter"};
    static const char *helps[] = {
        "1 if the upstream connection is streaming", "reconnections to the upstream",
        "subscribe/unsubscribe messages sent upstream", "outages reported as gap notices"};
    for (int m = 0; m < 4; m++) {
        metric_head(o, names[m], types[m], helps[m]);
        for (size_t i = 0; i < a->nfeeds; i++) {
            td_feed_stats_t fs;
            td_feed_stats(a->feeds[i], &fs);
            uint64_t v = m == 0   ? fs.state == TD_FEED_STREAMING
                         : m == 1 ? fs.reconnects
                         : m == 2 ? td_feed_sub_messages(a->feeds[i])
                                  : fs.gaps;
            td_buf_appendf(o, "tickerd_%s{url=\"%s\"} %llu\n", names[m], td_feed_url(a->feeds[i]),
                           (unsigned long long)v);
        }
    }
}

/* Per upstream: events and malformed frames (m 0, 1), and the reconnects it
 * scheduled by reason (m 2); each family's samples together. */
static void metrics_upstream_counts(app_t *a, td_buf_t *o, int m)
{
    for (size_t i = 0; i < a->nfeeds; i++) {
        td_feed_stats_t fs;
        td_feed_stats(a->feeds[i], &fs);
        const char *url = td_feed_url(a->feeds[i]);
        if (m < 2)
            td_buf_appendf(o, "tickerd_upstream_%s_total{url=\"%s\"} %llu\n",
                           m ? "malformed" : "events", url,
                           (unsigned long long)(m ? fs.malformed : fs.events));
        for (int r = 0; m == 2 && r < TD_FEED_RETRY__COUNT; r++)
            td_buf_appendf(o, "tickerd_upstream_retries_total{url=\"%s\",reason=\"%s\"} %llu\n",
                           url, td_feed_retry_name((td_feed_retry_t)r),
                           (unsigned long long)fs.retries[r]);
    }
}

/* Per upstream: seconds since its last event, and the counts above. */
static void metrics_upstream_detail(app_t *a, td_buf_t *o)
{
    uint64_t now = td_mono_ms();
    metric_head(o, "upstream_last_event_age_seconds", "gauge",
                "seconds since the upstream's last event (since start if none yet)");
    for (size_t i = 0; i < a->nfeeds; i++) {
        td_feed_stats_t fs;
        td_feed_stats(a->feeds[i], &fs);
        td_buf_appendf(o, "tickerd_upstream_last_event_age_seconds{url=\"%s\"} %.3f\n",
                       td_feed_url(a->feeds[i]),
                       now > fs.last_event_ms ? (now - fs.last_event_ms) / 1000.0 : 0.0);
    }
    metric_head(o, "upstream_events_total", "counter", "events parsed from the upstream");
    metrics_upstream_counts(a, o, 0);
    metric_head(o, "upstream_malformed_total", "counter", "upstream messages skipped as malformed");
    metrics_upstream_counts(a, o, 1);
    metric_head(o, "upstream_retries_total", "counter",
                "reconnects scheduled, by reason (resolve, connect, closed, closed_by_tickerd, "
                "conn_limit)");
    metrics_upstream_counts(a, o, 2);
}

static void metrics_redis(app_t *a, td_buf_t *o)
{
    td_redis_sink_stats_t rs;
    td_redis_sink_stats(a->redis, &rs);
    metric(o, "redis_up", "gauge", (uint64_t)rs.connected, "1 if Redis is connected");
    metric(o, "redis_published_total", "counter", rs.published, "PUBLISH commands answered");
    metric(o, "redis_dropped_total", "counter", rs.dropped,
           "events dropped for Redis (buffer full, rejected, lost with a connection)");
    metric(o, "redis_errors_total", "counter", rs.errors, "error replies from Redis");
    metric(o, "redis_rejected_total", "counter", rs.rejected,
           "events whose PUBLISH Redis answered with an error (also in dropped)");
    metric(o, "redis_lost_total", "counter", rs.lost,
           "events in flight when a Redis connection died, e.g. a failover (also in dropped)");
    metric(o, "redis_timeouts_total", "counter", rs.timeouts,
           "connections given up because Redis stopped answering");
    metric(o, "redis_master_switches_total", "counter", rs.switches,
           "redis+sentinel://: master changes followed (redis+cluster://: slot map changes)");
    metric(o, "redis_fenced_total", "counter", rs.fenced,
           "events not published because the HA lease was not held (also in dropped)");
    metric_head(o, "redis_redirects_total", "counter",
                "redis+cluster://: MOVED and ASK replies followed");
    td_buf_appendf(o, "tickerd_redis_redirects_total{kind=\"moved\"} %llu\n",
                   (unsigned long long)rs.moved);
    td_buf_appendf(o, "tickerd_redis_redirects_total{kind=\"ask\"} %llu\n",
                   (unsigned long long)rs.ask);
    metric(o, "redis_gaps_total", "counter", rs.gaps,
           "Redis outages that dropped events, reported as gap notices");
    metric(o, "redis_healthy", "gauge", strcmp(rs.status, "up") == 0,
           "1 if Redis is connected, answering and accepting commands");
    metric(o, "redis_reconnects_total", "counter", rs.reconnects, "connections after the first");
    metric(o, "redis_inflight", "gauge", rs.inflight,
           "pipeline depth: commands sent and not yet answered");
    metric(o, "redis_buffered_bytes", "gauge", rs.buffered, "bytes waiting for Redis");
    metric(o, "redis_buffered_events", "gauge", rs.buffered_events, "events waiting for Redis");
}

static void on_metrics_gateway(app_t *a, td_buf_t *o)
{
    td_gateway_stats_t gs;
    td_gateway_stats(a->gw, &gs);
    metrics_kinds(o, "events_out_total", gs.events_out, "events written to gateway clients");
    metric(o, "clients", "gauge", gs.clients, "gateway clients connected");
    metric(o, "clients_authenticated", "gauge", gs.authed, "gateway clients authenticated");
    metric(o, "client_queued_bytes", "gauge", gs.queued_bytes, "bytes queued for clients");
    metric_head(o, "client_queue_bytes", "histogram",
                "clients by the bytes their queue holds now (a scrape-time snapshot)");
    for (int i = 0; i < TD_GW_QUEUE_BUCKETS; i++)
        td_buf_appendf(o, "tickerd_client_queue_bytes_bucket{le=\"%llu\"} %llu\n",
                       (unsigned long long)td_gateway_queue_bounds[i],
                       (unsigned long long)gs.queue_le[i]);
    td_buf_appendf(o,
                   "tickerd_client_queue_bytes_bucket{le=\"+Inf\"} %llu\n"
                   "tickerd_client_queue_bytes_sum %llu\ntickerd_client_queue_bytes_count %llu\n",
                   (unsigned long long)gs.queue_le[TD_GW_QUEUE_BUCKETS],
                   (unsigned long long)gs.queued_bytes,
                   (unsigned long long)gs.queue_le[TD_GW_QUEUE_BUCKETS]);
    metric(o, "client_conflated_total", "counter", gs.conflated,
           "queued quotes/bars replaced by newer ones");
    metric(o, "client_slow_disconnects_total", "counter", gs.slow_disconnects,
           "clients closed with 407 slow client");
    metric(o, "client_auth_failures_total", "counter", gs.auth_failures,
           "402 auth failed and 404 auth timeout");
    metric(o, "client_malformed_total", "counter", gs.malformed, "client messages answered 400");
    metric(o, "client_rejected_total", "counter", gs.rejected, "406 connection limit exceeded");
    metric(o, "client_snapshots_total", "counter", gs.snapshots, "last values sent on subscribe");
    metric(o, "client_since_events_total", "counter", gs.since_events,
           "events sent from Redis history to clients that subscribed with \"since\"");
    metric(o, "client_frames_out_total", "counter", gs.frames_out, "frames written to clients");
    metric(o, "client_token_auths_total", "counter", gs.token_auths,
           "clients authenticated with a token");
    metric(o, "client_token_expired_total", "counter", gs.token_expired_closes,
           "clients closed as their token expired");
    metric(o, "client_claim_refusals_total", "counter", gs.refused_claims,
           "subscriptions refused by a token's claim");
    metric_head(o, "upgrade_refusals_total", "counter", "upgrades refused, by reason");
    td_buf_appendf(o, "tickerd_upgrade_refusals_total{reason=\"origin\"} %llu\n",
                   (unsigned long long)gs.refused_origin);
    td_buf_appendf(o, "tickerd_upgrade_refusals_total{reason=\"per_ip\"} %llu\n",
                   (unsigned long long)gs.refused_per_ip);
    td_buf_appendf(o, "tickerd_upgrade_refusals_total{reason=\"rate\"} %llu\n",
                   (unsigned long long)gs.refused_rate);
    metric(o, "client_subscribe_refused_total", "counter", gs.sub_refused,
           "subscribes refused over --client-subscribe-rate");
}

static void on_metrics(void *ud, td_buf_t *o)
{
    app_t *a = ud;
    uint64_t in[TD_KIND__COUNT];
    for (int k = 0; k < TD_KIND__COUNT; k++)
        in[k] = td_bus_count(a->bus, (td_kind_t)k);
    metrics_kinds(o, "events_in_total", in, "events received from upstreams");
    td_bus_stats_t bs;
    td_bus_stats(a->bus, &bs);
    metric(o, "bus_symbols", "gauge", bs.symbols,
           "(kind, symbol) pairs wanted, or holding a wildcard's last value");
    if (a->gw) on_metrics_gateway(a, o);
    metrics_upstreams(a, o);
    if (a->ha) td__run_ha_metrics(a, o);
    td__run_refill_metrics(a, o);
    if (a->poll) {
        td_poll_stats_t ps;
        td_poll_stats(a->poll, &ps);
        metric(o, "poll_calls_total", "counter", ps.calls, "REST calls made");
        metric(o, "poll_published_total", "counter", ps.published, "changed quotes published");
        metric(o, "poll_throttled_total", "counter", ps.throttled, "answers saying over quota");
        metric(o, "poll_errors_total", "counter", ps.errors, "tickers with a permanent error");
        metric(o, "poll_tickers", "gauge", ps.tickers, "tickers wanted");
        metric_head(o, "poll_effective_period_seconds", "gauge",
                    "refresh period each ticker gets under the quota");
        td_buf_appendf(o, "tickerd_poll_effective_period_seconds %.3f\n", ps.effective_period_s);
    }
    if (a->redis) metrics_redis(a, o);
    if (a->rec) {
        td_rec_stats_t rs;
        td_recdir_stats(a->rec, &rs);
        metric(o, "record_frames_total", "counter", rs.frames, "upstream messages recorded");
        metric(o, "record_bytes_total", "counter", rs.bytes_out,
               "compressed bytes written to the recordings");
        metric(o, "record_errors_total", "counter", rs.errors,
               "recording write errors (each ends its file)");
        metric(o, "record_files_deleted_total", "counter", rs.deleted,
               "recordings deleted to stay under --record-max-gb");
    }
    metrics_upstream_detail(a, o);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The web root: --web-root if given; else the page installed with this
 * binary (TD_WEB_FROM_BIN relative to its directory: an installed tickerd
 * finds its page wherever the prefix is); else ./web (a tickerd of the build
 * tree, run from the repository root). buf holds the result. */
static const char *web_root(const run_cfg *c, char *buf, size_t cap)
{
    if (c->web_root && *c->web_root) return c->web_root;
    size_t n = cap;
    if (uv_exepath(buf, &n) == 0) {
        char *slash = strrchr(buf, '/');
        if (slash && (size_t)(slash - buf) + sizeof "/" TD_WEB_FROM_BIN <= cap) {
            strcpy(slash + 1, TD_WEB_FROM_BIN);
            if (is_dir(buf)) return buf;
        }
    }
    return "web";
}

static const td_gateway_cb_t http_cb = {on_metrics, on_health, NULL};
static const td_gateway_cb_t http_rest_cb = {on_metrics, on_health, td__run_snapshots};

/* --metrics-listen: a gateway that serves only its HTTP handlers. */
static int setup_metrics(app_t *a)
{
    char err[512];
    td_gateway_cfg_t mc = {.listen = a->cfg.metrics_listen, .http_only = 1};
    a->metrics = td_gateway_new(&a->loop, a->ctx, a->bus, &mc, &http_cb, a, err, sizeof err);
    if (!a->metrics) {
        TD_ERR("--metrics-listen: %s", err);
        return -1;
    }
    return td_gateway_start(a->metrics);
}

static int setup_gateway(app_t *a)
{
    run_cfg *c = &a->cfg;
    char err[512];
    /* client keys and the token key: loaded by td__run_check */
    if (a->jwt) TD_INFO("gateway: tokens accepted (%s)", td_jwt_key_alg(a->jwt));
    td_bus_cache_kinds(a->bus, (1u << TD_KIND_QUOTE) | (1u << TD_KIND_TRADE) | (1u << TD_KIND_BAR) |
                                   (1u << TD_KIND_DAILY_BAR) | (1u << TD_KIND_STATUS));
    td_bus_cache_max(a->bus, (size_t)c->snapshot_cache);
    /* Conflate before a limit is reached, so quotes and bars alone never
     * make a client "slow": at most half of the smallest limit. */
    size_t conflate = (size_t)c->client_conflate_after << 10;
    size_t hard = (size_t)c->client_buffer_hard << 20, soft = (size_t)c->client_buffer_soft << 20;
    if (hard && conflate > hard / 2) conflate = hard / 2;
    if (soft && conflate > soft / 2) conflate = soft / 2;
    char web[4096];
    const char *root = web_root(c, web, sizeof web);
    if (!is_dir(root))
        TD_WARN("web root '%s' is not a directory: GET / answers 404 (--web-root DIR)", root);
    td_gateway_cfg_t gc = {
        /* the events' vendor: the feed's, or with --source what --feed names */
        .dialect = strcmp(c->feed, "polygon") == 0 ? TD_VENDOR_POLYGON : TD_VENDOR_ALPACA,
        .listen = c->listen,
        .keys = (const char *const *)a->client_keys.v,
        .secrets = (const char *const *)a->client_secrets.v,
        .nkeys = a->client_keys.n,
        .max_clients = (size_t)c->max_clients,
        .max_symbols = (size_t)c->client_max_symbols,
        .sub_rate = (double)c->client_subscribe_rate,
        .sub_burst = (double)c->client_subscribe_burst,
        .auth_timeout_s = c->client_auth_timeout,
        .max_message = (size_t)c->client_max_message,
        .buffer_hard = hard,
        .buffer_soft = soft,
        .soft_seconds = c->client_buffer_soft_seconds,
        .write_cap = 65536,
        .conflate_after = conflate,
        .web_root = root,
        .jwt = a->jwt,
        .origins = (const char *const *)c->allow_origin.v,
        .norigins = c->allow_origin.n,
        .max_per_ip = (size_t)c->max_clients_per_ip,
        .conn_rate = c->conn_rate_per_ip,
        .conn_burst = (double)c->conn_burst_per_ip,
        .listen_tls = c->listen_tls,
        .tls_cert = c->tls_cert,
        .tls_key = c->tls_key,
        .deflate = c->permessage_deflate,
        /* "since": the history the Redis sink writes (or, with --source,
         * the publisher's: --redis-history says it keeps one) */
        .history_url = c->redis_history > 0 ? (c->redis ? c->redis : c->source) : NULL,
        .history_prefix = c->channel_prefix,
        .history_ca_file = c->redis_ca_file,
        .history_cert_file = c->redis_cert,
        .history_key_file = c->redis_key,
    };
    a->gw = td_gateway_new(&a->loop, a->ctx, a->bus, &gc, a->prev ? &http_rest_cb : &http_cb, a,
                           err, sizeof err);
    if (!a->gw) {
        TD_ERR("%s", err);
        return -1;
    }
    return td_gateway_start(a->gw);
}

/* ---- SIGHUP ----------------------------------------------------------------- */

/* What a reload applies: the client keys, the token key, these options (the
 * gateway's limits) and the TLS certificate. Others need a restart. */
static const char *const reloadable[] = {"client",
                                         "jwt-hs256-secret",
                                         "jwt-hs256-secret-file",
                                         "jwt-public-key",
                                         "allow-origin",
                                         "max-clients",
                                         "max-clients-per-ip",
                                         "conn-rate-per-ip",
                                         "conn-burst-per-ip",
                                         "client-auth-timeout",
                                         "client-max-symbols",
                                         "client-subscribe-rate",
                                         "client-subscribe-burst",
                                         "log-level",
                                         NULL};

static int is_reloadable(const char *name)
{
    for (int i = 0; reloadable[i]; i++)
        if (strcmp(reloadable[i], name) == 0) return 1;
    return 0;
}

static int str_differ(const char *x, const char *y)
{
    return (x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0);
}

/* One line per option that changed but is not applied by a reload. */
static void warn_fixed(const run_cfg *old, const run_cfg *nc)
{
    for (const td_opt_t *t = td_cmd_run_opts()->table; t->name; t++) {
        if (is_reloadable(t->name)) continue;
        const char *x = (const char *)old + t->offset, *y = (const char *)nc + t->offset;
        int differ = 0;
        if (t->type == TD_OPT_STR) {
            differ = str_differ(*(char *const *)x, *(char *const *)y);
        } else if (t->type == TD_OPT_LIST) {
            const td_strlist_t *p = (const td_strlist_t *)x, *q = (const td_strlist_t *)y;
            differ = p->n != q->n;
            for (size_t i = 0; !differ && i < p->n; i++)
                differ = strcmp(p->v[i], q->v[i]) != 0;
        } else {
            size_t n = t->type == TD_OPT_INT      ? sizeof(int64_t)
                       : t->type == TD_OPT_DOUBLE ? sizeof(double)
                                                  : sizeof(int);
            differ = memcmp(x, y, n) != 0;
        }
        if (differ) TD_WARN("reload: --%s changed: not applied until a restart", t->name);
    }
}

static td_gateway_limits_t limits_of(const run_cfg *c)
{
    return (td_gateway_limits_t){
        .origins = (const char *const *)c->allow_origin.v,
        .norigins = c->allow_origin.n,
        .max_per_ip = (size_t)c->max_clients_per_ip,
        .max_clients = (size_t)c->max_clients,
        .max_symbols = (size_t)c->client_max_symbols,
        .conn_rate = c->conn_rate_per_ip,
        .conn_burst = (double)c->conn_burst_per_ip,
        .auth_timeout_s = c->client_auth_timeout,
        .sub_rate = (double)c->client_subscribe_rate,
        .sub_burst = (double)c->client_subscribe_burst,
    };
}

/* Moves the reloadable options of nc into a->cfg (nc gets the old ones). */
static void take_reloadable(run_cfg *cur, run_cfg *nc)
{
    run_cfg t = *cur;
#define TAKE(f) (cur->f = nc->f, nc->f = t.f)
    TAKE(client);
    TAKE(jwt_hs256_secret);
    TAKE(jwt_hs256_secret_file);
    TAKE(jwt_public_key);
    TAKE(allow_origin);
    TAKE(max_clients);
    TAKE(max_clients_per_ip);
    TAKE(conn_rate_per_ip);
    TAKE(conn_burst_per_ip);
    TAKE(client_auth_timeout);
    TAKE(client_max_symbols);
    TAKE(client_subscribe_rate);
    TAKE(client_subscribe_burst);
    TAKE(log_level);
#undef TAKE
}

/* The configuration as at startup (defaults, -c file, environment, flags)
 * into nc, with its client keys and token key: 0, or -1 (logged with the
 * file:line; nothing of the running gateway touched). */
static int reload_parse(app_t *a, run_cfg *nc, td_jwt_key_t **jwt)
{
    char err[512];
    memset(nc, 0, sizeof *nc);
    int rc = td_opts_parse(td_cmd_run_opts(), nc, a->argc, a->argv, err, sizeof err);
    if (rc != 0) {
        TD_ERR("reload: %s", rc < 0 ? err : "nothing to do");
        return -1;
    }
    td_strlist_t keys = a->client_keys, secrets = a->client_secrets;
    memset(&a->client_keys, 0, sizeof a->client_keys);
    memset(&a->client_secrets, 0, sizeof a->client_secrets);
    rc = td__run_load_clients(a, nc, a->config_path);
    td_strlist_t nk = a->client_keys, ns = a->client_secrets;
    a->client_keys = keys, a->client_secrets = secrets;
    const char *opt;
    if (rc == 0 && td__run_load_jwt(nc, jwt, &opt, err, sizeof err) != 0)
        TD_ERR("reload: %s", err);
    else if (rc == 0) {
        td_strlist_free(&keys); /* the gateway borrows them: replaced next */
        td_strlist_free(&secrets);
        a->client_keys = nk, a->client_secrets = ns;
        return 0;
    }
    td_strlist_free(&nk);
    td_strlist_free(&ns);
    return -1;
}

void td__run_reload_gateway(app_t *a)
{
    char err[512];
    run_cfg nc;
    td_jwt_key_t *jwt = NULL;
    TD_INFO("SIGHUP: reloading the gateway's keys, limits and certificate");
    if (reload_parse(a, &nc, &jwt) != 0) {
        TD_ERR("reload: invalid configuration; the old one is kept");
        td_opts_free(td_cmd_run_opts(), &nc);
    } else {
        warn_fixed(&a->cfg, &nc);
        take_reloadable(&a->cfg, &nc);
        td_gateway_set_keys(a->gw, (const char *const *)a->client_keys.v,
                            (const char *const *)a->client_secrets.v, a->client_keys.n);
        td_gateway_set_jwt(a->gw, jwt);
        td_jwt_key_free(a->jwt);
        a->jwt = jwt;
        td_gateway_limits_t l = limits_of(&a->cfg);
        td_gateway_set_limits(a->gw, &l);
        td_opts_free(td_cmd_run_opts(), &nc);
        TD_INFO("reload: %zu client keys, tokens %s, limits applied", a->client_keys.n,
                a->jwt ? td_jwt_key_alg(a->jwt) : "off");
    }
    /* the parse set up the log from the new file: keep its level only if taken */
    td_log_setup(a->cfg.log_level, a->cfg.log_format, err, sizeof err);
    if (a->cfg.listen_tls && td_gateway_reload_tls(a->gw, err, sizeof err) != 0)
        TD_ERR("reload: TLS: %s; the old certificate is kept", err);
}

int td__run_setup_gateway(app_t *a)
{
    if (a->cfg.listen && setup_gateway(a) != 0) return -1;
    return a->cfg.metrics_listen ? setup_metrics(a) : 0;
}
