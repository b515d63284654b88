/* SPDX-License-Identifier: Apache-2.0 */
#include "feed/feed.h"
#include "feed/feed_int.h"
#include "core/backoff.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rng.h"
#include "core/tls.h"
#include "proto/ws_client.h"
#include "proto/vendor.h"
#include "proto/ws_url.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

const char *td_feed_state_name(td_feed_state_t s)
{
    static const char *names[] = {"idle",      "connecting", "authenticating", "subscribing",
                                  "streaming", "waiting",    "stopped"};
    return (unsigned)s < TD_ARRAY_LEN(names) ? names[s] : "?";
}

int td__feed_read(td_feed_t *f, const char *p, size_t n)
{
    uint64_t unknown = f->cs.unknown;
    int rc = td_csess_read(&f->cs, p, n);
    f->st.unknown += f->cs.unknown - unknown;
    return rc;
}

/* Streaming again: the outage open since gap_from_ns is a gap. */
static void gap_close(td_feed_t *f)
{
    td_feed_gap_t g = {f->gap_from_ns, td_now_ns(), f->gap_why, &f->want};
    f->gap_from_ns = 0;
    f->st.gaps++;
    TD_WARN("upstream %s: streaming again after %.1fs (%s): gap notice", f->url,
            (g.to_ns - g.from_ns) / 1e9, f->gap_why);
    if (f->cb.on_gap) f->cb.on_gap(f->ud, f, &g);
}

/* The connection is lost: an outage opens at the last bytes received. */
static void gap_open(td_feed_t *f, const char *why)
{
    if (!f->streamed || f->gap_from_ns) return;
    uint64_t now = td_mono_ms(), rx = f->last_rx_ms ? f->last_rx_ms : now;
    f->gap_from_ns = td_now_ns() - (int64_t)(now - (rx < now ? rx : now)) * 1000000;
    snprintf(f->gap_why, sizeof f->gap_why, "%s", why);
}

void td__feed_set_state(td_feed_t *f, td_feed_state_t s)
{
    f->state = f->st.state = s;
    if (s != TD_FEED_STREAMING) return;
    f->streamed = 1;
    if (f->gap_from_ns) gap_close(f);
}

static void on_diff_prep(uv_prepare_t *h);

void td__feed_queue(td_feed_t *f, const char *p, size_t n)
{
    /* Only once the connection is open (the dialect answers the greeting):
     * a message for a connection that is gone has no one to go to. The
     * messages of one loop turn go out together at its end (on_diff_prep). */
    if (td__feed_conn_queue(f, p, n) != 0)
        TD_DEBUG("upstream %s: no connection: message of %zu bytes dropped", f->url, n);
    else if (!f->stopping)
        uv_prepare_start(&f->diff_prep, on_diff_prep);
    else
        td__feed_conn_flush(f);
}

/* Keeps from `all` what this stream carries (the dialect decides). */
static void filter_for_stream(const td_feed_t *f, const td_subset_t *all, td_subset_t *out)
{
    td_subset_clear(out);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!(f->kinds & (1u << k))) continue;
        const td_symset_t *ss = &all->k[k];
        out->k[k].all = ss->all;
        for (size_t i = 0; i < ss->n; i++)
            if (f->d->carries(f, (td_kind_t)k, ss->v[i], strlen(ss->v[i])))
                td_subset_add(out, (td_kind_t)k, ss->v[i], strlen(ss->v[i]));
    }
}

static int parse_url(td_feed_t *f, const char *url, char *err, size_t errlen)
{
    td_ws_url_t u;
    if (td_ws_url_parse(&u, url, err, errlen) != 0) return -1;
    f->tls = u.tls;
    f->port = u.port;
    f->host = u.host;
    f->path = u.path;
    return f->d->setup(f, err, errlen);
}

static uint32_t ms(double s)
{
    return (uint32_t)(s * 1000.0 + 0.5);
}

/* Each vendor's feed dialect (the table's vendor names are the words):
 * the one place a new vendor's feed is registered. */
static const td_feed_dialect_t *const dialects[TD_VENDOR__COUNT] = {
    [TD_VENDOR_ALPACA] = &td__feed_alpaca,
    [TD_VENDOR_POLYGON] = &td__feed_polygon,
};

/* The dialect and the URL into f (its host and path, NULL on error). */
static int dialect_and_url(td_feed_t *f, const char *dialect, const char *url, char *err,
                           size_t errlen)
{
    dialect = dialect ? dialect : "alpaca";
    f->d = NULL;
    for (int v = 0; v < TD_VENDOR__COUNT; v++)
        if (strcmp(dialect, td_vendor_name((td_vendor_t)v)) == 0) f->d = dialects[v];
    if (!f->d) {
        snprintf(err, errlen, "unknown feed dialect '%s' (alpaca or polygon)", dialect);
        return -1;
    }
    return parse_url(f, url, err, errlen);
}

int td_feed_check_url(const char *dialect, const char *url, char *err, size_t errlen)
{
    td_feed_t f;
    memset(&f, 0, sizeof f);
    int rc = dialect_and_url(&f, dialect, url, err, errlen);
    free(f.host);
    free(f.path);
    return rc;
}

/* ---- the session with the vendor (proto/client_session.h) ---------------- */

static void session_send(void *ud, const char *p, size_t n)
{
    td__feed_queue(ud, p, n);
}

static void session_event(void *ud, const td_event_t *ev)
{
    td__feed_event(ud, ev);
}

static void session_log(void *ud, int level, const char *line)
{
    td_feed_t *f = ud;
    td_log(level, "upstream %s: %s", f->url, line);
}

static void session_decision(void *ud, const td_csess_decision_t *d)
{
    td_feed_t *f = ud;
    switch (d->verdict) {
    case TD_CSD_AUTHENTICATED:
    case TD_CSD_STREAMING:
        td__feed_set_state(f, d->phase == TD_CSESS_STREAMING ? TD_FEED_STREAMING
                                                             : TD_FEED_SUBSCRIBING);
        break;
    case TD_CSD_RETRY:
        td__feed_kill(f, d->why);
        break;
    case TD_CSD_CONN_LIMIT:
        td__feed_conn_limit(f, d->why);
        break;
    case TD_CSD_FATAL:
        td__feed_fatal(f, d->why);
        break;
    default: /* logged by the session, or nothing to do */
        break;
    }
}

static void session_init(td_feed_t *f, const td_feed_cfg_t *cfg)
{
    static const td_csess_cb_t cb = {session_send, session_event, session_decision, session_log,
                                     NULL};
    td_csess_cfg_t sc = {
        .key = f->key,
        .secret = f->secret,
        .path = f->path,
        .kinds = f->kinds,
        .cluster = f->cluster,
        .max_symbols = cfg->max_symbols,
        .max_sub_bytes = TD_FEED_MAX_SUB_BYTES,
        .want = &f->want,
        .since = cfg->since ? cfg->since->v : NULL,
        .nsince = cfg->since ? cfg->since->n : 0,
    };
    td_csess_init(&f->cs, f->d->session, &sc, &cb, f);
}

td_feed_t *td_feed_new(uv_loop_t *loop, const td_feed_cfg_t *cfg, const td_feed_cb_t *cb, void *ud,
                       char *err, size_t errlen)
{
    td_feed_t *f = td_xcalloc(1, sizeof *f);
    f->st.last_event_ms = td_mono_ms(); /* the age counts from start until a first event */
    if (dialect_and_url(f, cfg->dialect, cfg->url, err, errlen) != 0) {
        free(f->host);
        free(f->path);
        free(f);
        return NULL;
    }
    if (f->tls && !(f->tls_ctx = td_rtls_ctx_new(cfg->ca_file, NULL, NULL, err, errlen))) {
        free(f->host);
        free(f->path);
        free(f);
        return NULL;
    }
    f->loop = loop;
    f->cb = *cb;
    f->ud = ud;
    f->url = td_xstrdup(cfg->url);
    f->key = td_xstrdup(cfg->key ? cfg->key : "");
    f->secret = td_xstrdup(cfg->secret ? cfg->secret : "");
    td_subset_init(&f->want);
    f->max_message = cfg->max_message ? cfg->max_message : TD_FEED_MAX_MESSAGE;
    if (cfg->subs) filter_for_stream(f, cfg->subs, &f->want);
    session_init(f, cfg);
    td_backoff_init(&f->backoff, ms(cfg->backoff_min_s), ms(cfg->backoff_max_s));
    td_rng_seed(&f->rng, cfg->seed ^ (uint64_t)td_now_ns());
    f->healthy_ms = ms(cfg->healthy_s);
    f->conn_limit_ms = ms(cfg->conn_limit_backoff_s);
    f->ping_interval_ms = ms(cfg->ping_interval_s);
    f->ping_timeout_ms = ms(cfg->ping_timeout_s);
    f->resolve_timeout_ms = cfg->resolve_timeout_s > 0 ? ms(cfg->resolve_timeout_s) : 10000;
    f->rl_malformed = (td_ratelimit_t)TD_RATELIMIT_INIT(10000, 3);
    uv_timer_init(loop, &f->retry_timer);
    uv_timer_init(loop, &f->watchdog);
    uv_timer_init(loop, &f->resolve_timer);
    uv_prepare_init(loop, &f->diff_prep);
    f->retry_timer.data = f->watchdog.data = f->diff_prep.data = f->resolve_timer.data = f;
    f->open_handles = 4;
    td__feed_set_state(f, TD_FEED_IDLE);
    return f;
}

const char *td_feed_url(const td_feed_t *f)
{
    return f->url;
}

void td_feed_stats(const td_feed_t *f, td_feed_stats_t *out)
{
    *out = f->st;
}

static void connect_now(td_feed_t *f);

static void on_retry(uv_timer_t *t)
{
    connect_now(t->data);
}

const char *td_feed_retry_name(td_feed_retry_t r)
{
    static const char *const names[] = {"resolve", "connect", "closed", "closed_by_tickerd",
                                        "conn_limit"};
    return (unsigned)r < TD_FEED_RETRY__COUNT ? names[r] : "unknown";
}

static void schedule_reconnect(td_feed_t *f, td_feed_retry_t reason, const char *why)
{
    if (f->stopping || f->fatal) return;
    f->st.retries[f->conn_limit_hit ? TD_FEED_RETRY_CONN_LIMIT : reason]++;
    gap_open(f, why);
    uint64_t now = td_mono_ms();
    if (f->established_ms && now - f->established_ms >= f->healthy_ms)
        td_backoff_reset(&f->backoff);
    uint32_t delay;
    if (f->conn_limit_hit) {
        /* Another instance holds the account: wait long, with ±10 % jitter
         * so two standbys do not retry in lockstep. */
        delay = f->conn_limit_ms - f->conn_limit_ms / 10 +
                (uint32_t)td_rng_below(&f->rng, f->conn_limit_ms / 5 + 1);
        f->conn_limit_hit = 0;
    } else {
        delay = td_backoff_next(&f->backoff, td_rng_next(&f->rng));
    }
    TD_WARN("upstream %s: %s; reconnecting in %.1fs", f->url, why, delay / 1000.0);
    td__feed_set_state(f, TD_FEED_WAITING);
    uv_timer_start(&f->retry_timer, on_retry, delay, 0);
}

/* A name lookup in libuv's thread pool. Abandoned (timeout, stop) by
 * clearing f; the callback then only frees it. */
typedef struct resolve_req_s {
    uv_getaddrinfo_t req;
    td_feed_t *f;
} resolve_req;

static void abandon_resolve(td_feed_t *f)
{
    if (!f->resolving) return;
    f->resolving->f = NULL;
    uv_cancel((uv_req_t *)&f->resolving->req); /* fails harmlessly once running */
    f->resolving = NULL;
    uv_timer_stop(&f->resolve_timer);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_req *r = (resolve_req *)req;
    td_feed_t *f = r->f;
    free(r);
    if (!f) {
        uv_freeaddrinfo(res);
        return;
    }
    f->resolving = NULL;
    uv_timer_stop(&f->resolve_timer);
    if (status != 0 || !res) {
        char why[320];
        snprintf(why, sizeof why, "cannot resolve '%s': %s", f->host,
                 status ? uv_strerror(status) : "no IPv4 address");
        uv_freeaddrinfo(res);
        schedule_reconnect(f, TD_FEED_RETRY_RESOLVE, why);
        return;
    }
    uv_ip4_name((const struct sockaddr_in *)res->ai_addr, f->addr, sizeof f->addr);
    uv_freeaddrinfo(res);
    TD_DEBUG("upstream %s: %s is %s", f->url, f->host, f->addr);
    td__feed_conn_open(f);
}

static void on_resolve_timeout(uv_timer_t *t)
{
    td_feed_t *f = t->data;
    char why[320];
    abandon_resolve(f);
    snprintf(why, sizeof why, "cannot resolve '%s': no answer from the resolver within %.1fs",
             f->host, f->resolve_timeout_ms / 1000.0);
    schedule_reconnect(f, TD_FEED_RETRY_RESOLVE, why);
}

static void connect_now(td_feed_t *f)
{
    f->established_ms = 0;
    f->kill_why[0] = '\0';
    td__feed_set_state(f, TD_FEED_CONNECTING);
    struct in_addr a4;
    if (inet_pton(AF_INET, f->host, &a4) == 1) { /* numeric: nothing to look up */
        snprintf(f->addr, sizeof f->addr, "%s", f->host);
        td__feed_conn_open(f);
        return;
    }
    /* getaddrinfo blocks for as long as the resolver takes: never on the
     * loop. IPv4 only. */
    resolve_req *r = td_xcalloc(1, sizeof *r);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    r->f = f;
    int rc = uv_getaddrinfo(f->loop, &r->req, on_resolved, f->host, NULL, &hints);
    if (rc != 0) {
        char why[320];
        free(r);
        snprintf(why, sizeof why, "cannot resolve '%s': %s", f->host, uv_strerror(rc));
        schedule_reconnect(f, TD_FEED_RETRY_RESOLVE, why);
        return;
    }
    f->resolving = r;
    uv_timer_start(&f->resolve_timer, on_resolve_timeout, f->resolve_timeout_ms, 0);
}

void td__feed_kill(td_feed_t *f, const char *why)
{
    if (!f->conn) return;
    TD_WARN("upstream %s: %s; closing", f->url, why);
    snprintf(f->kill_why, sizeof f->kill_why, "closed by tickerd: %s", why);
    td__feed_conn_close(f, TD_FEED_RETRY_KILLED, f->kill_why);
}

#define CONNECT_TIMEOUT_MS 10000

static void on_watchdog(uv_timer_t *t)
{
    td_feed_t *f = t->data;
    uint64_t now = td_mono_ms();
    if (f->conn && !f->established_ms && now - f->conn_started_ms > CONNECT_TIMEOUT_MS) {
        td__feed_conn_close(f, TD_FEED_RETRY_CONNECT,
                            "connect failed: no TCP, TLS or upgrade answer within 10s");
        return;
    }
    if (!f->conn || !f->established_ms) return;
    if (td_csess_tick(&f->cs, now)) return; /* the handshake took too long */
    if (f->ping_sent_ms) {
        if (f->last_rx_ms >= f->ping_sent_ms) {
            f->ping_sent_ms = 0;
        } else if (now - f->ping_sent_ms >= f->ping_timeout_ms) {
            char why[160];
            snprintf(why, sizeof why,
                     "watchdog: no data and no pong for %.1fs (--ping-interval %.1fs, "
                     "--ping-timeout %.1fs)",
                     (now - f->last_rx_ms) / 1000.0, f->ping_interval_ms / 1000.0,
                     f->ping_timeout_ms / 1000.0);
            f->ping_sent_ms = 0;
            td__feed_kill(f, why);
        }
        return;
    }
    if (now - f->last_rx_ms >= f->ping_interval_ms) {
        f->ping_sent_ms = now;
        td__feed_conn_send(f, TD_WS_PING, NULL, 0);
    }
}

void td_feed_start(td_feed_t *f)
{
    uint32_t tick = f->ping_timeout_ms < 2000 ? f->ping_timeout_ms / 2 + 1 : 1000;
    uv_timer_start(&f->watchdog, on_watchdog, tick, tick);
    connect_now(f);
}

static void on_diff_prep(uv_prepare_t *h)
{
    td_feed_t *f = h->data;
    uv_prepare_stop(h);
    /* Not yet authenticated: the whole `want` goes out after auth. */
    if (f->diff_pending) td_csess_reconcile(&f->cs);
    f->diff_pending = 0;
    td__feed_conn_flush(f); /* this turn's messages, in one write */
}

void td_feed_want(td_feed_t *f, td_kind_t kind, const char *sym, size_t n, int wanted)
{
    if (f->stopping || !f->d->carries(f, kind, sym, n)) return;
    int changed =
        wanted ? td_subset_add(&f->want, kind, sym, n) : td_subset_remove(&f->want, kind, sym, n);
    if (changed) {
        f->diff_pending = 1;
        uv_prepare_start(&f->diff_prep, on_diff_prep);
    }
}

uint64_t td_feed_sub_messages(const td_feed_t *f)
{
    return f->cs.sub_messages;
}

void td__feed_fatal(td_feed_t *f, const char *why)
{
    char msg[256];
    snprintf(msg, sizeof msg, "upstream %s: %s", f->url, why);
    TD_ERR("%s", msg);
    f->fatal = 1;
    td__feed_kill(f, "fatal vendor error");
    if (f->cb.on_fatal) f->cb.on_fatal(f->ud, msg);
}

void td__feed_conn_limit(td_feed_t *f, const char *what)
{
    f->st.conn_limit++;
    f->conn_limit_hit = 1;
    TD_ERR("upstream %s: %s: another instance holds this account's connection; backing off "
           "%.0fs instead of fighting for it",
           f->url, what, f->conn_limit_ms / 1000.0);
    td__feed_kill(f, "connection limit");
}

void td__feed_event(td_feed_t *f, const td_event_t *ev)
{
    f->st.events++;
    f->st.last_event_ms = f->last_rx_ms; /* the frame's arrival: no clock read per event */
    f->cb.on_event(f->ud, ev);
}

void td__feed_message(td_feed_t *f, const char *p, size_t n)
{
    if (f->rec) td_rec_frame(f->rec, p, n, td_now_ns(), 0);
    int rc = td__feed_read(f, p, n);
    f->st.frames++;
    f->st.bytes += n;
    if (rc != 0) {
        uint64_t suppressed;
        f->st.malformed++;
        if (td_ratelimit_ok(&f->rl_malformed, td_mono_ms(), &suppressed)) {
            char preview[64];
            size_t m = n < 60 ? n : 60;
            for (size_t i = 0; i < m; i++)
                preview[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '.';
            preview[m] = '\0';
            TD_WARN("upstream %s: malformed frame skipped (%zu bytes: %s%s; %llu suppressed)",
                    f->url, n, preview, n > m ? "..." : "", (unsigned long long)suppressed);
        }
    }
}

/* A message past max_message is skipped whole: this fragment and every
 * following one up to its final fragment, counted once as malformed. */
void td__feed_skipped(td_feed_t *f, uint64_t n, int first)
{
    f->st.bytes += n;
    if (!first) return;
    uint64_t suppressed;
    if (td_ratelimit_ok(&f->rl_malformed, f->last_rx_ms, &suppressed))
        TD_WARN("upstream %s: message over %zu bytes skipped whole (--upstream-max-message; "
                "%llu suppressed)",
                f->url, f->max_message, (unsigned long long)suppressed);
    f->st.frames++;
    f->st.malformed++;
}

void td__feed_established(td_feed_t *f)
{
    f->established_ms = f->last_rx_ms = td_mono_ms();
    f->st.connects++;
    if (f->st.connects > 1) f->st.reconnects++;
    TD_INFO("upstream %s: connected", f->url);
    td_csess_begin(&f->cs, f->established_ms);
    td__feed_set_state(f, TD_FEED_AUTHENTICATING);
}

void td__feed_closed(td_feed_t *f, td_feed_retry_t reason, const char *why)
{
    f->ping_sent_ms = 0;
    td_csess_end(&f->cs);
    if (f->stopping) {
        td__feed_set_state(f, TD_FEED_STOPPED);
        return;
    }
    if (*f->kill_why)
        schedule_reconnect(f, TD_FEED_RETRY_KILLED, f->kill_why);
    else
        schedule_reconnect(f, reason, why);
}

void td__feed_handle_closed(td_feed_t *f)
{
    if (--f->open_handles == 0 && f->stop_done) f->stop_done(f->stop_ud);
}

static void on_handle_closed(uv_handle_t *h)
{
    td__feed_handle_closed(h->data);
}

void td_feed_stop(td_feed_t *f, void (*done)(void *ud), void *ud)
{
    f->stopping = 1;
    f->stop_done = done;
    f->stop_ud = ud;
    abandon_resolve(f);
    td__feed_conn_close(f, TD_FEED_RETRY_CLOSED, "stopped");
    uv_close((uv_handle_t *)&f->resolve_timer, on_handle_closed);
    uv_close((uv_handle_t *)&f->retry_timer, on_handle_closed);
    uv_close((uv_handle_t *)&f->watchdog, on_handle_closed);
    uv_close((uv_handle_t *)&f->diff_prep, on_handle_closed);
}

void td_feed_free(td_feed_t *f)
{
    if (!f) return;
    td_rtls_ctx_free(f->tls_ctx);
    td_csess_free(&f->cs);
    td_subset_free(&f->want);
    free(f->url);
    free(f->host);
    free(f->path);
    if (f->secret) memset(f->secret, 0, strlen(f->secret));
    free(f->key);
    free(f->secret);
    free(f);
}
