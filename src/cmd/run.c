/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd run: vendor streams → bus → Redis channels and/or stdout. Wiring
 * only; the work is in feed/, bus/ and sink/. */
#include "bus/bus.h"
#include "cmd/cmd.h"
#include "cmd/run_app.h"
#include "core/log.h"
#include "core/lws_ctx.h"
#include "core/mem.h"
#include "core/opt.h"
#include "feed/feed.h"
#include "gateway/gateway.h"
#include "proto/gap.h"
#include "gateway/jwt.h"
#include "proto/sub.h"
#include "sink/redis.h"
#include "sink/stdout.h"

#include <errno.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

void td__run_on_event(void *ud, const td_event_t *ev)
{
    td_bus_publish(((app_t *)ud)->bus, ev);
}

/* Interest changes (first want, last unwant) go to every feed; each keeps
 * what its stream carries. */
static void on_interest(void *ud, td_kind_t kind, const char *sym, size_t n, int wanted)
{
    app_t *a = ud;
    if (a->stopping) return; /* clients leaving at shutdown; feeds are stopped */
    for (size_t i = 0; i < a->nfeeds; i++)
        td_feed_want(a->feeds[i], kind, sym, n, wanted);
    if (a->source) td_redis_source_want(a->source, kind, sym, n, wanted);
    if (a->poll && kind == TD_KIND_QUOTE) td_poll_want(a->poll, sym, n, wanted);
    if (a->ha) td_ha_interest_changed(a->ha);
}

/* The static --subscribe set is pinned by a consumer that wants it and
 * takes no events. */
static void pin_static(app_t *a)
{
    td_bus_consumer_t *pin = td_bus_attach(a->bus, NULL, NULL);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &a->subs.k[k];
        if (ss->all) td_bus_want(a->bus, pin, (td_kind_t)k, "*", 1);
        for (size_t i = 0; i < ss->n; i++)
            td_bus_want(a->bus, pin, (td_kind_t)k, ss->v[i], strlen(ss->v[i]));
    }
}

static void to_redis(void *ud, const td_event_t *ev)
{
    td_redis_sink_publish(ud, ev);
}
static void to_stdout(void *ud, const td_event_t *ev)
{
    td_stdout_sink_publish(ud, ev);
}

/* An upstream outage: its gap notices and refill (run_refill.c). */
static void on_feed_gap(void *ud, td_feed_t *f, const td_feed_gap_t *g)
{
    td__run_gap(ud, td_feed_url(f), g->from_ns, g->to_ns, g->subs, g->why);
}

static void shutdown_app(app_t *a, int code);

static void on_fatal(void *ud, const char *why)
{
    (void)why; /* already logged by the feed */
    shutdown_app(ud, 3);
}

static void on_stopped(void *ud)
{
    app_t *a = ud;
    if (--a->pending == 0) uv_stop(&a->loop);
}

static void shutdown_app(app_t *a, int code)
{
    if (a->stopping) return;
    a->stopping = 1;
    a->exit_code = code;
    a->pending = 1; /* released below, once everything is asked to stop */
    for (size_t i = 0; i < a->nfeeds; i++) {
        a->pending++;
        td_feed_record(a->feeds[i], NULL);
        td_feed_stop(a->feeds[i], on_stopped, a);
    }
    td_recdir_close(a->rec); /* ends every file; freed as the loop closes its timer */
    a->rec = NULL;
    if (a->redis) {
        a->pending++;
        td__run_flush_history(a);
        td_redis_sink_stop(a->redis, on_stopped, a);
    }
    if (a->source) {
        a->pending++;
        td_redis_source_stop(a->source, on_stopped, a);
    }
    if (a->poll) {
        a->pending++;
        td_poll_stop(a->poll, on_stopped, a);
    }
    if (a->ha) td__run_stop_ha(a, on_stopped);
    td__run_stop_refill(a, on_stopped);
    if (a->http) {
        a->pending++;
        td_http_stop(a->http, on_stopped, a);
    }
    if (a->out) {
        a->pending++;
        td_stdout_sink_stop(a->out, on_stopped, a);
    }
    if (a->gw) {
        a->pending++;
        td_gateway_stop(a->gw, on_stopped, a);
    }
    if (a->metrics) {
        a->pending++;
        td_gateway_stop(a->metrics, on_stopped, a);
    }
    /* The signal handles stay open until teardown: a second SIGINT/SIGTERM
     * (timeout(1), an impatient Ctrl-C) must not kill the process with the
     * default action while the sinks flush. */
    uv_close((uv_handle_t *)&a->stats, NULL);
    td__run_notify_stop(a);
    on_stopped(a);
}

static void on_signal(uv_signal_t *s, int signum)
{
    app_t *a = s->data;
    const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";
    if (a->stopping) {
        TD_INFO("caught %s again; already shutting down", name);
        return;
    }
    TD_INFO("caught %s, shutting down", name);
    shutdown_app(a, 0);
}

static void on_sighup(uv_signal_t *s, int signum)
{
    app_t *a = s->data;
    (void)signum;
    td_log_on_sighup(a->gw != NULL);
    if (a->gw && !a->stopping) td__run_reload_gateway(a);
}

static void on_stats(uv_timer_t *t)
{
    app_t *a = t->data;
    uint64_t now = uv_now(&a->loop);
    double secs = (now - a->last_stats_ms) / 1000.0;
    a->last_stats_ms = now;
    if (secs <= 0) secs = 1;
    char line[1024];
    size_t n = 0;
    uint64_t total = 0;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        uint64_t c = td_bus_count(a->bus, (td_kind_t)k), d = c - a->last_count[k];
        a->last_count[k] = c;
        total += d;
        if (d && n < sizeof line - 64)
            n += (size_t)snprintf(line + n, sizeof line - n, " %s=%.0f", td_kind_name(k), d / secs);
    }
    td_feed_stats_t fs, sum = {0};
    size_t streaming = 0;
    for (size_t i = 0; i < a->nfeeds; i++) {
        td_feed_stats(a->feeds[i], &fs);
        sum.frames += fs.frames;
        sum.malformed += fs.malformed;
        sum.unknown += fs.unknown;
        sum.reconnects += fs.reconnects;
        sum.conn_limit += fs.conn_limit;
        streaming += fs.state == TD_FEED_STREAMING;
    }
    char redis[160] = "";
    if (a->redis) {
        td_redis_sink_stats_t rs;
        td_redis_sink_stats(a->redis, &rs);
        snprintf(redis, sizeof redis,
                 " | redis %s published/s=%.0f dropped=%llu errors=%llu buffered=%lluB", rs.status,
                 (rs.published - a->last_published) / secs, (unsigned long long)rs.dropped,
                 (unsigned long long)rs.errors, (unsigned long long)rs.buffered);
        a->last_published = rs.published;
    }
    char gw[200] = "";
    if (a->gw) {
        td_gateway_stats_t gs;
        td_gateway_stats(a->gw, &gs);
        uint64_t out = 0;
        for (int k = 0; k < TD_KIND__COUNT; k++)
            out += gs.events_out[k];
        snprintf(gw, sizeof gw,
                 " | gateway clients=%llu out/s=%.0f queued=%lluB conflated=%llu slow=%llu",
                 (unsigned long long)gs.clients, (out - a->last_out) / secs,
                 (unsigned long long)gs.queued_bytes, (unsigned long long)gs.conflated,
                 (unsigned long long)gs.slow_disconnects);
        a->last_out = out;
    }
    TD_INFO("stats: events/s=%.0f%s | upstream %zu/%zu streaming frames/s=%.0f reconnects=%llu "
            "malformed=%llu unknown=%llu conn_limit=%llu%s%s",
            total / secs, n ? line : "", streaming, a->nfeeds, (sum.frames - a->last_frames) / secs,
            (unsigned long long)sum.reconnects, (unsigned long long)sum.malformed,
            (unsigned long long)sum.unknown, (unsigned long long)sum.conn_limit, redis, gw);
    a->last_frames = sum.frames;
}

/* lws sizes its fd tables from fd_limit_per_thread and refuses fds past it:
 * raise the soft RLIMIT_NOFILE to the hard limit and use that (capped), so
 * the gateway can hold as many clients as the process may open sockets. */
static unsigned fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 4096;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = want;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 20)) return 1u << 20;
    return rl.rlim_cur < 4096 ? 4096 : (unsigned)rl.rlim_cur;
}

/* lws's per-thread service buffer (its default is 4 KiB): the gateway's
 * and the HTTP endpoints' connections are read through it. The upstream
 * feeds read on their own (feed/ws_conn.c, 256 KiB per read). */
#define UPSTREAM_READ (256 * 1024)

static int make_lws(app_t *a)
{
    static struct lws_protocols list[2]; /* lws keeps the pointer; the last entry is zeros */
    list[0] = (struct lws_protocols){"td-default", lws_callback_http_dummy, 0, 0, 0, NULL, 0};
    td_lws_ctx_cfg_t lc = {
        .loop = &a->loop,
        .protocols = list,
        .ca_file = a->cfg.ca_file,
        .fd_limit = fd_limit(), /* feeds, Redis and the gateway's clients */
        .pt_serv_buf_size = UPSTREAM_READ,
        .pcontext = &a->ctx,
    };
    a->ctx = td_lws_context_new(&lc);
    return a->ctx ? 0 : -1;
}

/* A permanent error for a polled ticker reaches its subscribers on its
 * quotes channel, as an Alpaca-style error object naming the symbol. */
static void on_poll_error(void *ud, const char *sym, size_t n, const char *why)
{
    app_t *a = ud;
    td_buf_t b = TD_BUF_INIT;
    td_buf_appends(&b, "{\"T\":\"error\",\"code\":400,\"msg\":");
    td_buf_t m = TD_BUF_INIT;
    td_buf_appendf(&m, "%.*s: %s (alphavantage)", (int)n, sym, why);
    td_buf_append_json_str(&b, m.data, m.len);
    td_buf_appends(&b, ",\"S\":");
    td_buf_append_json_str(&b, sym, n);
    td_buf_appendc(&b, '}');
    td_event_t ev = {TD_KIND_QUOTE, sym, n, b.data, b.len};
    td_bus_publish(a->bus, &ev);
    td_buf_free(&m);
    td_buf_free(&b);
}

static size_t poll_subscribers(void *ud, const char *sym, size_t n)
{
    return td_bus_wanters(((app_t *)ud)->bus, TD_KIND_QUOTE, sym, n);
}

static int setup_poll(app_t *a)
{
    run_cfg *c = &a->cfg;
    char err[256];
    td_poll_cfg_t pc = {
        .url = c->url.v[0], .key = c->key, .interval_s = c->poll_interval, .timeout_s = 10};
    if (c->url.n != 1 || td__run_parse_quota(c->quota, &pc) != 0) {
        TD_ERR(c->url.n != 1 ? "--feed alphavantage takes one --url (http://HOST:PORT/query)"
                             : "--quota: expected N/WINDOW[,N/WINDOW] like 5/min,25/day");
        return -1;
    }
    static const td_poll_cb_t pcb = {td__run_on_event, on_poll_error, poll_subscribers};
    a->http = td_http_new(&a->loop, NULL);
    a->poll = td_poll_new(&a->loop, a->http, &pc, &pcb, a, err, sizeof err);
    if (!a->poll) {
        TD_ERR("%s", err);
        return -1;
    }
    return 0;
}

static void setup_sinks(app_t *a)
{
    run_cfg *c = &a->cfg;
    if (c->redis) {
        td_redis_sink_cfg_t rc = {.url = c->redis,
                                  .prefix = c->channel_prefix,
                                  .max_buffer = (size_t)c->redis_buffer_mb << 20,
                                  .max_inflight = (uint32_t)c->redis_inflight,
                                  .ca_file = c->redis_ca_file,
                                  .cert_file = c->redis_cert,
                                  .key_file = c->redis_key,
                                  .timeout_s = c->redis_timeout,
                                  .last_values = c->redis_last_values,
                                  .history = (uint32_t)c->redis_history};
        if ((a->redis = td_redis_sink_new(&a->loop, &rc))) {
            if (!c->ha_lease) td_bus_tap(a->bus, to_redis, a->redis); /* else run_ha.c's */
            td_redis_sink_start(a->redis);
        }
    }
    if (c->to_stdout) {
        a->out = td_stdout_sink_new(&a->loop, c->channel_prefix);
        td_bus_tap(a->bus, to_stdout, a->out);
    }
}

/* One vendor connection per --url (streaming vendors). */
int td__run_setup_feeds(app_t *a)
{
    run_cfg *c = &a->cfg;
    char err[512];
    static const td_feed_cb_t fcb = {td__run_on_event, on_fatal, on_feed_gap};
    a->feeds = td_xcalloc(c->url.n, sizeof *a->feeds);
    for (size_t i = 0; i < c->url.n; i++) {
        td_feed_cfg_t fc = {
            .dialect = c->feed,
            .url = c->url.v[i],
            .ca_file = c->ca_file,
            .key = c->key,
            .secret = c->secret,
            .subs = NULL, /* the static set arrives through the pinned interest */
            .backoff_min_s = c->backoff_min,
            .backoff_max_s = c->backoff_max,
            .healthy_s = c->healthy,
            /* HA: the lease holder knows the other instance is fenced or dead, so a
             * 406 is its stale connection, which the vendor drops soon */
            .conn_limit_backoff_s = c->ha_lease && c->ha_ttl < c->conn_limit_backoff
                                        ? c->ha_ttl
                                        : c->conn_limit_backoff,
            .ping_interval_s = c->ping_interval,
            .ping_timeout_s = c->ping_timeout,
            .resolve_timeout_s = c->resolve_timeout,
            .seed = (uint64_t)i,
            .max_symbols = (uint32_t)c->upstream_max_symbols,
            .max_message = (size_t)c->upstream_max_message,
        };
        a->feeds[i] = td_feed_new(&a->loop, &fc, &fcb, a, err, sizeof err);
        if (!a->feeds[i]) {
            TD_ERR("%s", err);
            return -1;
        }
        if (a->rec) td_feed_record(a->feeds[i], a->rec);
        a->nfeeds++;
    }
    return 0;
}

static int setup(app_t *a)
{
    run_cfg *c = &a->cfg;
    int av = strcmp(c->feed, "alphavantage") == 0;
    if (td__run_check(a, td_cmd_run_opts()) != 0) return -1;
    if (make_lws(a) != 0) {
        TD_ERR("cannot create the libwebsockets context");
        return -1;
    }
    a->bus = td_bus_new();
    if (c->record && !(a->rec = td__run_new_recorder(a))) return -1;
    setup_sinks(a);
    if (c->redis && !a->redis) return -1;
    if (av && !c->source && setup_poll(a) != 0) return -1;
    if (c->ha_lease && td__run_setup_ha(a) != 0) return -1;
    if (td__run_setup_refill(a) != 0) return -1;
    if (!av && !c->source && !c->ha_lease && td__run_setup_feeds(a) != 0) return -1;
    if (c->source && !(a->source = td__run_new_source(a, c->source))) return -1;
    if (c->rest_url) td__run_prev_setup(a);
    td_bus_on_interest(a->bus, on_interest, a);
    pin_static(a);
    return c->listen || c->metrics_listen ? td__run_setup_gateway(a) : 0;
}

td_redis_source_t *td__run_new_source(app_t *a, const char *url)
{
    run_cfg *c = &a->cfg;
    char err[512];
    static const td_redis_source_cb_t scb = {td__run_on_event};
    td_redis_source_cfg_t sc = {.url = url,
                                .prefix = c->channel_prefix,
                                .ca_file = c->redis_ca_file,
                                .cert_file = c->redis_cert,
                                .key_file = c->redis_key,
                                .timeout_s = c->redis_timeout,
                                .last_values = c->redis_last_values};
    td_redis_source_t *s = td_redis_source_new(&a->loop, &sc, &scb, a, err, sizeof err);
    if (!s) TD_ERR("%s: %s", c->ha_lease ? "--ha-lease standby source" : "--source", err);
    return s;
}

/* What went through, and what a sink could not deliver (the Redis sink
 * logs its own at stop). */
static void log_final(app_t *a)
{
    uint64_t events = 0;
    for (int k = 0; a->bus && k < TD_KIND__COUNT; k++)
        events += td_bus_count(a->bus, (td_kind_t)k);
    char out[128] = "";
    if (a->out) {
        td_stdout_sink_stats_t st;
        td_stdout_sink_stats(a->out, &st);
        snprintf(out, sizeof out, "; stdout: %llu lines, %llu events dropped",
                 (unsigned long long)st.lines, (unsigned long long)st.dropped);
    }
    TD_INFO("stopped: %llu events received%s", (unsigned long long)events, out);
}

static void teardown(app_t *a)
{
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sighup, NULL);
    /* Closing them restored the default actions; the process is already on
     * its way out, so a late signal must not cut the teardown short. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    if (a->ctx && td_lws_context_destroy_blocking(&a->ctx, &a->loop) != 0)
        TD_WARN("libwebsockets context not freed");
    uv_run(&a->loop, UV_RUN_DEFAULT); /* let every handle close */
    log_final(a);
    for (size_t i = 0; i < a->nfeeds; i++)
        td_feed_free(a->feeds[i]);
    free(a->feeds);
    td_gateway_free(a->gw);
    td_gateway_free(a->metrics);
    td_jwt_key_free(a->jwt);
    td_redis_sink_free(a->redis);
    td_redis_source_free(a->source);
    td__run_free_ha(a);
    td__run_free_refill(a);
    td_poll_free(a->poll);
    td__run_prev_free(a);
    td_http_free(a->http);
    td_stdout_sink_free(a->out);
    td_strlist_free(&a->client_keys);
    td_strlist_free(&a->client_secrets);
    td_bus_free(a->bus);
    td_subset_free(&a->subs);
    td_opts_free(td_cmd_run_opts(), &a->cfg);
    if (uv_loop_close(&a->loop) != 0) TD_WARN("event loop closed with handles still open");
}

/* --check-config: every check of the startup (td__run_check), nothing
 * created, connected or bound. 0 or 2. */
static int check_only(app_t *a)
{
    td_subset_init(&a->subs);
    int rc = td__run_check(a, td_cmd_run_opts());
    td_jwt_key_free(a->jwt);
    td_strlist_free(&a->client_keys);
    td_strlist_free(&a->client_secrets);
    td_subset_free(&a->subs);
    td_opts_free(td_cmd_run_opts(), &a->cfg);
    if (rc != 0) return 2;
    printf("tickerd run: configuration ok\n");
    return 0;
}

int td_cmd_run(int argc, char **argv)
{
    static app_t app; /* large; and reachable from signal handlers while debugging */
    app_t *a = &app;
    char err[512];
    td_log_set_prefix("run");
    memset(a, 0, sizeof *a);
    a->argc = argc, a->argv = argv;
    int rc = td_opts_parse_checked(td_cmd_run_opts(), &a->cfg, argc, argv, err, sizeof err);
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            a->config_path = argv[++i];
        else if (strncmp(argv[i], "--key", 5) == 0 && (!argv[i][5] || argv[i][5] == '='))
            a->key_flag = 1;
    }
    if (rc != 0 && rc != TD_OPTS_CHECK) {
        if (rc < 0) fprintf(stderr, "tickerd run: %s\n", err);
        td_opts_free(td_cmd_run_opts(), &a->cfg);
        return rc < 0 ? 2 : 0;
    }
    if (rc == TD_OPTS_CHECK) return check_only(a);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&a->loop);
    td_subset_init(&a->subs);
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    uv_signal_init(&a->loop, &a->sighup);
    uv_timer_init(&a->loop, &a->stats);
    td__run_notify_start(a);
    a->sigint.data = a->sigterm.data = a->sighup.data = a->stats.data = a;
    td_log_note_file();
    /* From here on a hangup only reopens the log (it used to kill the process
     * on the spot, losing what was buffered); set before setup so that no
     * window is left. */
    uv_signal_start(&a->sighup, on_sighup, SIGHUP);
    if (setup(a) != 0) {
        shutdown_app(a, 2);
        uv_run(&a->loop, UV_RUN_DEFAULT);
        teardown(a);
        return 2;
    }
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    if (a->cfg.stats_interval > 0) {
        uint64_t every = (uint64_t)(a->cfg.stats_interval * 1000);
        a->last_stats_ms = uv_now(&a->loop);
        uv_timer_start(&a->stats, on_stats, every, every);
    }
    for (size_t i = 0; i < a->nfeeds; i++)
        td_feed_start(a->feeds[i]);
    if (a->source) td_redis_source_start(a->source);
    if (a->poll) td_poll_start(a->poll);
    if (a->ha) td__run_start_ha(a);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    teardown(a);
    return a->exit_code;
}
