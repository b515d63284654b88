/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd run: the gateway's wiring: client keys ([clients] and --client),
 * /healthz and /metrics (on --listen, and alone on --metrics-listen). */
#include "cmd/run_app.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "gateway/jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef TD_WEB_FROM_BIN
#define TD_WEB_FROM_BIN "../share/tickerd/web" /* CMake sets it from the install dirs */
#endif

/* ---- the gateway ----------------------------------------------------------- */

static int add_client(app_t *a, const char *key, const char *secret, char *err, size_t errlen)
{
    if (td_opt_check_credential(key, secret, err, errlen) != 0) return -1;
    for (size_t i = 0; i < a->client_keys.n; i++)
        if (strcmp(a->client_keys.v[i], key) == 0) {
            snprintf(err, errlen, "client key '%s' given twice", key);
            return -1;
        }
    td_strlist_push(&a->client_keys, key);
    td_strlist_push(&a->client_secrets, secret);
    return 0;
}

typedef struct {
    app_t *a;
    char err[256];
    int failed;
} clients_ini;

static int on_clients_ini(void *user, const char *section, const char *name, const char *value)
{
    clients_ini *ci = user;
    if (ci->failed || strcmp(section, "clients") != 0) return 1;
    if (add_client(ci->a, name, value, ci->err, sizeof ci->err) != 0) {
        ci->failed = 1;
        return 0;
    }
    return 1;
}

/* Client credentials: lines KEY = SECRET of [clients] in the -c file, then
 * every --client KEY:SECRET. */
static int load_clients(app_t *a, const char *config)
{
    char err[256];
    if (config) {
        clients_ini ci = {a, "", 0};
        char why[64];
        int rc = td_ini_parse(config, on_clients_ini, &ci, why, sizeof why);
        if (rc != 0) {
            TD_ERR("%s:%d: [clients]: %s", config, rc,
                   *why        ? why
                   : ci.failed ? ci.err
                               : "cannot read");
            return -1;
        }
    }
    for (size_t i = 0; i < a->cfg.client.n; i++) {
        char *kv = a->cfg.client.v[i], *colon = strchr(kv, ':');
        if (!colon) {
            TD_ERR("--client: expected KEY:SECRET");
            return -1;
        }
        *colon = '\0';
        int rc = add_client(a, kv, colon + 1, err, sizeof err);
        *colon = ':';
        if (rc != 0) {
            TD_ERR("--client: %s", err);
            return -1;
        }
    }
    return 0;
}

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

static const td_gateway_cb_t http_cb = {on_metrics, on_health};

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

/* The token key: --jwt-hs256-secret or --jwt-public-key (not both). */
static int load_jwt(app_t *a)
{
    const run_cfg *c = &a->cfg;
    char err[256];
    if (c->jwt_hs256_secret && c->jwt_public_key) {
        TD_ERR("--jwt-hs256-secret and --jwt-public-key: give one");
        return -1;
    }
    if (c->jwt_hs256_secret) {
        if (strlen(c->jwt_hs256_secret) < 32)
            TD_WARN("--jwt-hs256-secret is shorter than 32 bytes: easy to guess");
        a->jwt = td_jwt_key_hs256(c->jwt_hs256_secret, strlen(c->jwt_hs256_secret));
    } else if (c->jwt_public_key &&
               !(a->jwt = td_jwt_key_pem(c->jwt_public_key, err, sizeof err))) {
        TD_ERR("--jwt-public-key: %s", err);
        return -1;
    }
    if (a->jwt) TD_INFO("gateway: tokens accepted (%s)", td_jwt_key_alg(a->jwt));
    return 0;
}

static int setup_gateway(app_t *a)
{
    run_cfg *c = &a->cfg;
    char err[512];
    if (load_clients(a, a->config_path) != 0 || load_jwt(a) != 0) return -1;
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
        .dialect = strcmp(c->feed, "polygon") == 0 ? TD_GATEWAY_POLYGON : TD_GATEWAY_ALPACA,
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
    };
    a->gw = td_gateway_new(&a->loop, a->ctx, a->bus, &gc, &http_cb, a, err, sizeof err);
    if (!a->gw) {
        TD_ERR("%s", err);
        return -1;
    }
    return td_gateway_start(a->gw);
}

/* [clients] of the -c file and --client again; on an error (logged with
 * file:line) the old keys stay. */
static void reload_keys(app_t *a)
{
    td_strlist_t keys = a->client_keys, secrets = a->client_secrets;
    memset(&a->client_keys, 0, sizeof a->client_keys);
    memset(&a->client_secrets, 0, sizeof a->client_secrets);
    if (load_clients(a, a->config_path) != 0) {
        TD_ERR("reload: client keys unchanged");
        td_strlist_free(&a->client_keys);
        td_strlist_free(&a->client_secrets);
        a->client_keys = keys, a->client_secrets = secrets;
        return;
    }
    td_gateway_set_keys(a->gw, (const char *const *)a->client_keys.v,
                        (const char *const *)a->client_secrets.v, a->client_keys.n);
    td_strlist_free(&keys);
    td_strlist_free(&secrets);
    TD_INFO("reload: %zu client keys", a->client_keys.n);
}

/* --jwt-public-key's file again (an HS256 secret comes from the
 * environment or the command line, which do not change). */
static void reload_jwt(app_t *a)
{
    char err[256];
    if (!a->cfg.jwt_public_key) return;
    td_jwt_key_t *k = td_jwt_key_pem(a->cfg.jwt_public_key, err, sizeof err);
    if (!k) {
        TD_ERR("reload: --jwt-public-key: %s; the old key is kept", err);
        return;
    }
    td_gateway_set_jwt(a->gw, k);
    td_jwt_key_free(a->jwt);
    a->jwt = k;
}

void td__run_reload_gateway(app_t *a)
{
    char err[512];
    TD_INFO("SIGHUP: reloading the gateway's keys and certificate");
    reload_keys(a);
    reload_jwt(a);
    if (a->cfg.listen_tls && td_gateway_reload_tls(a->gw, err, sizeof err) != 0)
        TD_ERR("reload: TLS: %s; the old certificate is kept", err);
}

int td__run_setup_gateway(app_t *a)
{
    if (a->cfg.listen && setup_gateway(a) != 0) return -1;
    return a->cfg.metrics_listen ? setup_metrics(a) : 0;
}
