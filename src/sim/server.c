/* SPDX-License-Identifier: Apache-2.0 */
/* The simulator's server: the lws context on the caller's libuv loop, the
 * stream paths, the generator tick that fans events out to the sessions, the
 * housekeeping timer and the record file. */
#include "core/clock.h"
#include "core/log.h"
#include "core/lws_util.h"
#include "core/lws_log.h"
#include "core/mem.h"
#include "record/record.h"
#include "sim/sim_int.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define CRON_MS 50

typedef struct {
    td_sim_sess_t *s;
    td_sim_reply_t *av;   /* HTTP: the /query answer being written */
    td_sim_reply_t *hist; /* HTTP: a history answer being written */
} pss_t;

/* ---- streams ------------------------------------------------------------- */

static td_sim_stream_t *find_stream(td_sim_t *sim, const char *uri)
{
    for (int i = 0; i < TD_SIM_NSTREAMS; i++)
        if (strcmp(sim->streams[i].path, uri) == 0 && (!sim->replay || sim->streams[i].rp))
            return &sim->streams[i];
    return NULL;
}

void td__sim_stream_dirty(td_sim_stream_t *st)
{
    st->any_dirty = 1;
}

static void tick_cb(uv_timer_t *t);

void td__sim_stream_interest(td_sim_stream_t *st)
{
    td_sim_t *sim = st->sim;
    if (st->started || sim->stopping) return;
    st->started = 1;
    st->t0_ns = uv_hrtime();
    st->produced = 0;
    if (st->rp)
        td__sim_replay_start(st);
    else
        TD_INFO("%s: generator started (%.0f events/s)", st->path, st->rate);
    if (!sim->tick_running) {
        uv_timer_start(&sim->tick, tick_cb, (uint64_t)sim->cfg->tick_ms,
                       (uint64_t)sim->cfg->tick_ms);
        sim->tick_running = 1;
    }
}

static void rebuild_any(td_sim_stream_t *st)
{
    size_t n = (size_t)TD_KIND__COUNT * td__sim_gen_nsyms(st->gen);
    memset(st->any, 0, n);
    for (td_sim_sess_t *s = st->sessions; s; s = s->next)
        for (size_t i = 0; i < n; i++)
            st->any[i] |= s->want[i];
    st->any_dirty = 0;
}

static int wants(const uint8_t *want, size_t nsyms, const td_sim_ev_t *ev)
{
    const uint8_t *row = want + (size_t)ev->kind * nsyms;
    if (ev->kind != TD_KIND_NEWS) return row[ev->sym];
    for (uint32_t i = 0; i < ev->nsyms; i++)
        if (row[ev->syms[i]]) return 1;
    return 0;
}

/* --record-frames: the event joins this tick's frame of the stream. */
static void frame_flush(td_sim_stream_t *st)
{
    td_sim_framerec_t *fr = &st->fr;
    if (!fr->nev) return;
    td_buf_appendc(&fr->buf, ']');
    td_rec_frame(fr->w, fr->buf.data, fr->buf.len, td_now_ns(), 0);
    td_buf_reset(&fr->buf);
    fr->nev = 0;
}

static void frame_add(td_sim_stream_t *st, const char *p, size_t n)
{
    td_sim_framerec_t *fr = &st->fr;
    td_buf_appendc(&fr->buf, fr->nev ? ',' : '[');
    td_buf_append(&fr->buf, p, n);
    if (++fr->nev >= (uint32_t)st->sim->cfg->batch) frame_flush(st);
}

static void record(td_sim_t *sim, const char *p, size_t n)
{
    if (!sim->rec) return;
    fwrite(p, 1, n, sim->rec);
    fputc('\n', sim->rec);
    sim->rec_dirty = 1;
}

/* The streams whose history the REST endpoints serve: stocks on both
 * vendors, Alpaca's crypto. */
static int ticks_history(const td_sim_stream_t *st)
{
    return st->cls == TD_CLASS_STOCKS || (!st->poly && st->cls == TD_CLASS_CRYPTO);
}

/* Builds the event once, for the first session that wants it (or at once
 * for the trades and quotes ring). */
static void deliver(td_sim_t *sim, td_sim_stream_t *st, const td_sim_ev_t *ev)
{
    size_t nsyms = td__sim_gen_nsyms(st->gen), len = 0;
    int built = 0;
    if (sim->ticks && ticks_history(st) &&
        (ev->kind == TD_KIND_TRADE || ev->kind == TD_KIND_QUOTE)) {
        len = td__sim_gen_build(st->gen, ev, &sim->scratch);
        built = 1;
        sim->built++;
        td__sim_ticks_push(sim->ticks, ev->kind, sim->scratch.data, len);
        if (!wants(st->any, nsyms, ev)) return;
        record(sim, sim->scratch.data, len);
    }
    for (td_sim_sess_t *s = st->sessions; s; s = s->next) {
        if (s->no_more_data || !wants(s->want, nsyms, ev)) continue;
        if (!built) {
            len = td__sim_gen_build(st->gen, ev, &sim->scratch);
            built = 1;
            sim->built++;
            record(sim, sim->scratch.data, len);
            if (st->fr.w) frame_add(st, sim->scratch.data, len);
        }
        td__sim_sess_push_event(s, sim->scratch.data, len);
    }
}

/* --bar-seconds: the stock and crypto streams send the history source's
 * bars (stream_bars) instead of generated ones. */
static int hist_bars(const td_sim_t *sim, const td_sim_stream_t *st)
{
    return sim->cfg->bar_seconds > 0 && ticks_history(st);
}

/* --bar-seconds: the bars of every period over since the last call, one per
 * symbol some session wants, from the history source (so the stream and
 * the REST endpoints agree bar for bar). The first call only notes the
 * period in progress. */
static void stream_bars(td_sim_t *sim, td_sim_stream_t *st)
{
    int64_t step = sim->cfg->bar_seconds, now = td_now_ns() / 1000000000;
    int64_t cur = now - now % step;
    if (!st->bar_t) st->bar_t = cur;
    if (st->bar_t >= cur) return;
    if (st->any_dirty) rebuild_any(st);
    size_t nsyms = td__sim_gen_nsyms(st->gen);
    const td_sim_hdata_t *d = td__sim_hist_data(sim->hist);
    const uint8_t *row = st->any + (size_t)TD_KIND_BAR * nsyms;
    for (; st->bar_t < cur; st->bar_t += step)
        for (size_t i = 0; i < nsyms; i++) {
            if (!row[i]) continue;
            size_t len;
            char name[32];
            const char *sym = td__sim_gen_symbol(st->gen, i, &len);
            snprintf(name, sizeof name, "%.*s", (int)len, sym);
            td_sim_bar_t b;
            td__sim_hdata_bar(d, name, td__sim_hdata_base(d, name), step, st->bar_t, &b);
            td_buf_t *o = &sim->scratch;
            td_buf_reset(o);
            if (st->poly) {
                td__sim_hdata_am_json(&b, name, step, o);
            } else {
                td_buf_appends(o, "{\"T\":\"b\",\"S\":");
                td_buf_append_json_str(o, name, len);
                td_buf_appendc(o, ',');
                size_t at = o->len;
                td__sim_hdata_bar_json(&b, 0, o); /* {"t":...}: drop its '{' */
                memmove(o->data + at, o->data + at + 1, o->len - at - 1);
                o->len--;
                o->data[o->len] = '\0';
            }
            sim->built++;
            record(sim, o->data, o->len);
            td_sim_ev_t ev = {.kind = TD_KIND_BAR, .sym = (uint32_t)i};
            for (td_sim_sess_t *s = st->sessions; s; s = s->next)
                if (!s->no_more_data && wants(s->want, nsyms, &ev))
                    td__sim_sess_push_event(s, o->data, o->len);
        }
}

static void run_stream(td_sim_t *sim, td_sim_stream_t *st, uint64_t now_ns)
{
    const td_sim_cfg_t *cfg = sim->cfg;
    uint64_t target = (uint64_t)((double)(now_ns - st->t0_ns) / 1e9 * st->rate);
    if (target <= st->produced) return;
    uint64_t n = target - st->produced, cap = (uint64_t)(st->rate / 10) + 1;
    if (n > cap) { /* over 100 ms behind: skip time rather than burst */
        st->produced += n - cap;
        n = cap;
    }
    if (st->any_dirty) rebuild_any(st);
    size_t nsyms = td__sim_gen_nsyms(st->gen);
    td_sim_ev_t ev;
    for (uint64_t i = 0; i < n; i++) {
        if (cfg->count > 0 && sim->generated >= (uint64_t)cfg->count) {
            if (!sim->count_done) TD_INFO("--count %lld reached", (long long)cfg->count);
            sim->count_done = 1;
            break;
        }
        td__sim_gen_next(st->gen, &ev);
        sim->generated++;
        st->produced++;
        if (ev.kind == TD_KIND_BAR && hist_bars(sim, st))
            continue; /* the bars come from stream_bars */
        if (sim->ticks || wants(st->any, nsyms, &ev)) deliver(sim, st, &ev);
    }
    if (st->fr.w) frame_flush(st);
    for (td_sim_sess_t *s = st->sessions; s; s = s->next)
        if (s->wake) td__sim_sess_wake(s);
}

static void tick_cb(uv_timer_t *t)
{
    td_sim_t *sim = t->data;
    uint64_t now = uv_hrtime();
    int busy = 0; /* a started stream has more to send */
    for (int i = 0; i < TD_SIM_NSTREAMS; i++) {
        td_sim_stream_t *st = &sim->streams[i];
        if (!st->started) continue;
        if (st->rp) {
            busy |= td__sim_replay_run(st, now);
            continue;
        }
        run_stream(sim, st, now);
        busy = 1;
        if (hist_bars(sim, st)) {
            stream_bars(sim, st);
            for (td_sim_sess_t *s = st->sessions; s; s = s->next)
                if (s->wake) td__sim_sess_wake(s);
        }
    }
    if (sim->rec_dirty) {
        fflush(sim->rec);
        sim->rec_dirty = 0;
    }
    if (sim->count_done || !busy) { /* --count reached, or every replay has ended */
        uv_timer_stop(&sim->tick);
        sim->tick_running = 0;
    }
}

static void stats_line(td_sim_t *sim, uint64_t now)
{
    double dt = (double)(now - sim->stats_ms) / 1000.0;
    if (dt <= 0) return;
    TD_INFO("stats: %.0f events/s generated, %.0f events/s sent, %.1f MB/s; totals: %llu "
            "generated, %llu built, %llu sent in %llu frames",
            (double)(sim->generated - sim->stats_generated) / dt,
            (double)(sim->events_sent - sim->stats_events_sent) / dt,
            (double)(sim->bytes_sent - sim->stats_bytes) / dt / 1e6,
            (unsigned long long)sim->generated, (unsigned long long)sim->built,
            (unsigned long long)sim->events_sent, (unsigned long long)sim->frames_sent);
    sim->stats_ms = now;
    sim->stats_generated = sim->generated;
    sim->stats_events_sent = sim->events_sent;
    sim->stats_bytes = sim->bytes_sent;
}

static void cron_cb(uv_timer_t *t)
{
    td_sim_t *sim = t->data;
    uint64_t now = uv_now(sim->loop);
    for (int i = 0; i < TD_SIM_NSTREAMS; i++)
        for (td_sim_sess_t *s = sim->streams[i].sessions; s; s = s->next)
            td__sim_sess_cron(s, now);
    if (sim->cfg->stats > 0 && now - sim->stats_ms >= (uint64_t)(sim->cfg->stats * 1000))
        stats_line(sim, now);
}

/* ---- lws ----------------------------------------------------------------- */

static int established(td_sim_t *sim, struct lws *wsi, pss_t *pss)
{
    char uri[256] = "";
    lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    td_sim_stream_t *st = find_stream(sim, uri);
    if (!st || sim->stopping) return -1;
    pss->s = td__sim_sess_new(sim, st, wsi);
    char k[300], sec[300];
    const char *hk, *hs;
    td_lws_alpaca_keys(wsi, k, sec, sizeof k, &hk, &hs);
    td__sim_sess_open(pss->s, hk, hs);
    memset(sec, 0, sizeof sec);
    return 0;
}

static int confirm_upgrade(td_sim_t *sim, struct lws *wsi)
{
    char uri[256] = "";
    lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    if (find_stream(sim, uri)) return 0;
    TD_INFO("refusing upgrade to unknown path '%s' (404)", uri);
    return td_lws_refuse_upgrade(wsi, "not found\n");
}

/* A session's WebSocket events (core/lws_util.h): its messages go to its
 * server session, which reassembles them. */
static void sess_rx(void *s, const void *in, size_t len, int final, int binary)
{
    td_srv_sess_rx(&((td_sim_sess_t *)s)->sess, in, len, final, binary);
}

static int sess_writeable(void *s)
{
    return td__sim_sess_writeable(s);
}

static void sess_closed(void *s)
{
    td__sim_sess_free(s);
}

static const td_lws_conn_ops_t conn_ops = {sess_rx, sess_writeable, sess_closed};

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    td_sim_t *sim = ctx ? lws_context_user(ctx) : NULL;
    pss_t *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(sim, wsi);
    case LWS_CALLBACK_HTTP:
        if (pss && in && strcmp(in, "/query") == 0 && !sim->stopping)
            return td__sim_av_http(sim->av, wsi, &pss->av);
        if (pss && in && td__sim_hist_path(in) && !sim->stopping)
            return td__sim_hist_http(sim->hist, wsi, in, &pss->hist);
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL)) return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_TIMER:
        if (pss) td__sim_reply_timer(wsi, pss->av);
        if (pss) td__sim_reply_timer(wsi, pss->hist);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (pss && pss->av) return td__sim_reply_writeable(wsi, &pss->av);
        if (pss && pss->hist) return td__sim_reply_writeable(wsi, &pss->hist);
        break;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss) td__sim_reply_free(&pss->av);
        if (pss) td__sim_reply_free(&pss->hist);
        break;
    case LWS_CALLBACK_ESTABLISHED:
        return established(sim, wsi, pss);
    default:
        break;
    }
    int rc;
    if (pss && td_lws_conn_event(&conn_ops, pss->s, wsi, (int)reason, in, len, &rc)) {
        if (reason == LWS_CALLBACK_CLOSED) pss->s = NULL;
        return rc;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"alpaca", callback, sizeof(pss_t), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- lifecycle ----------------------------------------------------------- */

static int parse_listen(td_sim_t *sim, const char *s, char *err, size_t errlen)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof sim->host || *end || port < 1 ||
        port > 65535) {
        snprintf(err, errlen, "bad --listen '%s': expected IPV4:PORT, e.g. 127.0.0.1:8765",
                 s ? s : "");
        return -1;
    }
    memcpy(sim->host, s, (size_t)(colon - s));
    sim->host[colon - s] = '\0';
    sim->port = (int)port;
    return 0;
}

td_sim_t *td_sim_new(uv_loop_t *loop, const td_sim_cfg_t *cfg, char *err, size_t errlen)
{
    if (cfg->malformed_every == 1) {
        snprintf(err, errlen, "--malformed-every must be 0 (off) or at least 2");
        return NULL;
    }
    const char *ev = cfg->polygon_evict ? cfg->polygon_evict : "new";
    if (strcmp(ev, "new") != 0 && strcmp(ev, "old") != 0) {
        snprintf(err, errlen, "bad --polygon-evict '%s': expected new or old", ev);
        return NULL;
    }
    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together (wss:// needs both)");
        return NULL;
    }
    td_sim_av_t *av = td__sim_av_new(cfg, err, errlen);
    if (!av) return NULL;
    td_sim_hist_t *hist = td__sim_hist_new(cfg, err, errlen);
    if (!hist) {
        td__sim_av_free(av);
        return NULL;
    }
    td_sim_t *sim = td_xcalloc(1, sizeof *sim);
    sim->loop = loop;
    sim->cfg = cfg;
    sim->av = av;
    sim->hist = hist;
    sim->evict_old = strcmp(ev, "old") == 0;
    if (parse_listen(sim, cfg->listen, err, errlen) != 0) {
        td__sim_av_free(sim->av);
        td__sim_hist_free(sim->hist);
        free(sim);
        return NULL;
    }
    for (int i = 0; i < TD_SIM_NSTREAMS; i++) {
        td_sim_stream_t *st = &sim->streams[i];
        st->sim = sim;
        st->vs = &td_vendor_streams[i];
        st->path = st->vs->path;
        st->feed = st->vs->feed;
        st->cls = st->vs->cls;
        st->poly = st->vs->vendor == TD_VENDOR_POLYGON;
        if (st->poly) st->cluster = (td_polygon_cluster_t)td_vendor_cluster(st->vs);
        st->gen = td__sim_gen_new(st->vs, (uint64_t)cfg->seed + (uint64_t)i, (size_t)cfg->symbols);
        st->any = td_xcalloc((size_t)TD_KIND__COUNT * td__sim_gen_nsyms(st->gen), 1);
        st->rate =
            st->cls == TD_CLASS_NEWS ? (cfg->rate / 100 < 1 ? 1 : cfg->rate / 100) : cfg->rate;
    }
    if (cfg->replay.n && td__sim_replay_open(sim, err, errlen) != 0) {
        td_sim_free(sim);
        return NULL;
    }
    uv_timer_init(loop, &sim->tick);
    uv_timer_init(loop, &sim->cron);
    sim->tick.data = sim->cron.data = sim;
    sim->handles_open = 2;
    return sim;
}

/* --record-frames DIR: one writer per stream, opened with its first frame. */
static int start_frames(td_sim_t *s)
{
    char err[512], url[160];
    td_recdir_cfg_t rc = {
        .dir = s->cfg->record_frames, .workers = 1, .writer = "tickerd sim " TD_VERSION};
    s->frames = td_recdir_new(s->loop, &rc, err, sizeof err);
    if (!s->frames) {
        TD_ERR("%s", err);
        return -1;
    }
    for (int i = 0; i < TD_SIM_NSTREAMS; i++) {
        td_sim_stream_t *st = &s->streams[i];
        snprintf(url, sizeof url, "%s://%s:%d%s", s->cfg->tls_cert ? "wss" : "ws", s->host, s->port,
                 st->path);
        st->fr.w = td_recdir_stream(s->frames, td_vendor_name(st->vs->vendor), url);
    }
    return 0;
}

int td_sim_start(td_sim_t *s)
{
    if (s->cfg->record) {
        s->rec = fopen(s->cfg->record, "w");
        if (!s->rec) {
            TD_ERR("cannot open --record file '%s'", s->cfg->record);
            return -1;
        }
        setvbuf(s->rec, NULL, _IOFBF, 1 << 20);
    }
    if (s->cfg->record_frames && start_frames(s) != 0) return -1;
    if (td__sim_av_start(s->av) != 0) return -1;
    char base[128];
    snprintf(base, sizeof base, "%s://%s:%d", s->cfg->tls_cert ? "https" : "http", s->host,
             s->port);
    td__sim_hist_start(s->hist, base, td__sim_av_rec(s->av));
    if (s->cfg->bar_seconds > 0) {
        s->ticks = td__sim_ticks_new(1u << 16);
        td__sim_hist_set_ticks(s->hist, s->ticks);
    }
    td_lws_log_init(1);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6;
    int tls = s->cfg->tls_cert != NULL;
    if (tls) info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    s->foreign_loops[0] = s->loop;
    info.foreign_loops = s->foreign_loops;
    info.fd_limit_per_thread = 4096;
    info.user = s;
    info.pcontext = &s->ctx; /* lws clears it when the context is really freed */
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        TD_ERR("cannot create the libwebsockets context");
        return -1;
    }
    /* The listener is a second vhost: when it fails (port in use, bad
     * certificate or key) lws keeps the context, which must still have a
     * vhost for lws_context_destroy to finish its teardown on our loop. */
    info.vhost_name = "sim";
    info.port = s->port;
    info.iface = s->host;
    info.ssl_cert_filepath = s->cfg->tls_cert;
    info.ssl_private_key_filepath = s->cfg->tls_key;
    if (!lws_create_vhost(s->ctx, &info)) {
        if (tls)
            TD_ERR("cannot listen on %s:%d with TLS (check --tls-cert '%s' and --tls-key '%s': "
                   "readable PEM files, a key that matches the certificate)",
                   s->host, s->port, s->cfg->tls_cert, s->cfg->tls_key);
        else
            TD_ERR("cannot listen on %s:%d", s->host, s->port);
        return -1; /* td_sim_stop destroys the context */
    }
    uv_timer_start(&s->cron, cron_cb, CRON_MS, CRON_MS);
    s->stats_ms = uv_now(s->loop);
    if (s->replay) {
        td_buf_t b = TD_BUF_INIT;
        for (int i = 0; i < TD_SIM_NSTREAMS; i++)
            td__sim_replay_describe(&s->streams[i], &b);
        TD_INFO("listening on %s://%s:%d, replaying%s", tls ? "wss" : "ws", s->host, s->port,
                b.data ? b.data : "");
        td_buf_free(&b);
        return 0;
    }
    char ap[160], pp[160];
    TD_INFO("listening on %s://%s:%d (Alpaca paths %s; Polygon paths %s; Alpha Vantage GET "
            "/query; history GET /v2/stocks/.../bars /v2/aggs/ticker/... /exchanges /symbols "
            "/price/...)",
            tls ? "wss" : "ws", s->host, s->port, td_vendor_paths(TD_VENDOR_ALPACA, ap, sizeof ap),
            td_vendor_paths(TD_VENDOR_POLYGON, pp, sizeof pp));
    return 0;
}

static void on_close(uv_handle_t *h)
{
    td_sim_t *sim = h->data;
    sim->handles_open--;
}

void td_sim_stop(td_sim_t *s)
{
    if (s->stopping) return;
    s->stopping = 1;
    if (s->ctx) lws_context_destroy(s->ctx); /* finished in td_sim_free */
    uv_timer_stop(&s->tick);
    uv_timer_stop(&s->cron);
    uv_close((uv_handle_t *)&s->tick, on_close);
    uv_close((uv_handle_t *)&s->cron, on_close);
    stats_line(s, uv_now(s->loop));
    if (s->rec) {
        fclose(s->rec);
        s->rec = NULL;
    }
    for (int i = 0; i < TD_SIM_NSTREAMS; i++)
        if (s->streams[i].fr.w) frame_flush(&s->streams[i]);
    td_recdir_close(s->frames);
    s->frames = NULL;
}

void td_sim_free(td_sim_t *s)
{
    if (!s) return;
    /* On a foreign loop lws stops at its last stage until it is called again
     * outside the loop; it clears s->ctx once the context is gone. */
    if (s->ctx) lws_context_destroy(s->ctx);
    if (s->ctx) TD_WARN("lws context not freed");
    for (int i = 0; i < TD_SIM_NSTREAMS; i++) {
        td_sim_stream_t *st = &s->streams[i];
        while (st->sessions) /* only if lws never reported the close */
            td__sim_sess_free(st->sessions);
        td__sim_gen_free(st->gen);
        free(st->any);
        td__sim_replay_free(st->rp);
        td_buf_free(&st->fr.buf);
    }
    if (s->rec) fclose(s->rec);
    td__sim_av_free(s->av);
    td__sim_hist_free(s->hist);
    td__sim_ticks_free(s->ticks);
    td_buf_free(&s->scratch);
    free(s);
}
