/* SPDX-License-Identifier: Apache-2.0 */
/* One client connection of the simulator: the Alpaca handshake, auth,
 * subscriptions, and the outgoing queue of frames (each frame built in place
 * with LWS_PRE headroom, data events batched into JSON arrays). */
#include "core/log.h"
#include "core/lws_util.h"
#include "core/mem.h"
#include "proto/alpaca.h"
#include "proto/alpaca_client.h"
#include "proto/alpaca_server.h"
#include "sim/sim_int.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define RX_MAX     (1u << 20) /* a client message larger than this is refused (400) */
#define FRAME_MIN  16384
#define SPARES_MAX 2

/* ---- frames -------------------------------------------------------------- */

static void frame_reserve(td_sim_frame_t *f, size_t extra)
{
    if (f->len + extra + 1 <= f->cap) return;
    size_t cap = f->cap ? f->cap * 2 : FRAME_MIN;
    while (cap < f->len + extra + 1)
        cap *= 2;
    f->mem = td_xrealloc(f->mem, LWS_PRE + cap + 1);
    f->cap = cap;
}

static td_sim_frame_t *frame_new(td_sim_sess_t *s, size_t need, int control)
{
    td_sim_frame_t *f = s->spare;
    if (f)
        s->spare = f->next;
    else
        f = td_xcalloc(1, sizeof *f);
    f->next = NULL;
    f->len = 0;
    f->nev = 0;
    f->control = control;
    f->sealed = control;
    frame_reserve(f, need);
    if (s->tail)
        s->tail->next = f;
    else
        s->head = f;
    s->tail = f;
    return f;
}

static void frame_release(td_sim_sess_t *s, td_sim_frame_t *f)
{
    size_t n = 0;
    for (td_sim_frame_t *x = s->spare; x; x = x->next)
        n++;
    if (n < SPARES_MAX && f->cap <= 4 * FRAME_MIN) {
        f->next = s->spare;
        s->spare = f;
        return;
    }
    free(f->mem);
    free(f);
}

static void frames_free(td_sim_frame_t *f)
{
    while (f) {
        td_sim_frame_t *n = f->next;
        free(f->mem);
        free(f);
        f = n;
    }
}

void td__sim_sess_queue_ctl(td_sim_sess_t *s, const char *text, size_t len)
{
    td_sim_frame_t *f = frame_new(s, len, 1);
    memcpy(f->mem + LWS_PRE, text, len);
    f->len = len;
    s->pending += len;
    lws_callback_on_writable(s->wsi);
}

static void drop_queue(td_sim_sess_t *s)
{
    while (s->head) {
        td_sim_frame_t *f = s->head;
        s->head = f->next;
        frame_release(s, f);
    }
    s->tail = NULL;
    s->pending = 0;
}

void td__sim_sess_closing(td_sim_sess_t *s)
{
    s->close_after_flush = 1;
    s->no_more_data = 1;
    /* a client that does not read would never let the queue drain */
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, 3);
}

void td__sim_sess_error(td_sim_sess_t *s, int code, int close)
{
    if (s->st->poly) {
        td__sim_psess_error(s, code, close);
        return;
    }
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_error(&b, code);
    td__sim_sess_queue_ctl(s, b.data, b.len);
    td_buf_free(&b);
    TD_INFO("conn #%llu error %d %s%s", (unsigned long long)s->id, code,
            td_alpaca_server_err_text(code), close ? " (closing)" : "");
    if (close) td__sim_sess_closing(s);
}

static void queue_success(td_sim_sess_t *s, const char *msg)
{
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_success(&b, msg);
    td__sim_sess_queue_ctl(s, b.data, b.len);
    td_buf_free(&b);
}

/* ---- life ---------------------------------------------------------------- */

td_sim_sess_t *td__sim_sess_new(td_sim_t *sim, td_sim_stream_t *st, struct lws *wsi)
{
    td_sim_sess_t *s = td_xcalloc(1, sizeof *s);
    s->sim = sim;
    s->st = st;
    s->wsi = wsi;
    s->id = ++sim->next_id;
    s->open_ms = uv_now(sim->loop);
    td_subset_init(&s->sub);
    s->want = td_xcalloc((size_t)TD_KIND__COUNT * td__sim_gen_nsyms(st->gen), 1);
    s->next = st->sessions;
    if (st->sessions) st->sessions->prev = s;
    st->sessions = s;
    return s;
}

void td__sim_sess_free(td_sim_sess_t *s)
{
    uint64_t now = uv_now(s->sim->loop);
    TD_INFO("conn #%llu closed after %.1f s: %llu events, %llu frames, %llu bytes sent",
            (unsigned long long)s->id, (double)(now - s->open_ms) / 1000.0,
            (unsigned long long)s->events_sent, (unsigned long long)s->frames_sent,
            (unsigned long long)s->bytes_sent);
    if (s->prev)
        s->prev->next = s->next;
    else
        s->st->sessions = s->next;
    if (s->next) s->next->prev = s->prev;
    td__sim_stream_dirty(s->st);
    frames_free(s->head);
    frames_free(s->spare);
    td_buf_free(&s->rx);
    td_subset_free(&s->sub);
    free(s->want);
    free(s);
}

/* ---- auth ---------------------------------------------------------------- */

static int feed_denied(const td_sim_sess_t *s)
{
    const td_strlist_t *l = &s->sim->cfg->deny_feed;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s->st->feed) == 0) return 1;
    return 0;
}

static size_t conns_of_key(const td_sim_sess_t *s, const char *key)
{
    size_t n = 0;
    for (const td_sim_sess_t *o = s->st->sessions; o; o = o->next)
        if (o != s && o->authed && !o->kill && strcmp(o->key, key) == 0) n++;
    return n;
}

static void do_auth(td_sim_sess_t *s, const char *key, const char *secret, const char *how)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    if (s->authed) {
        td__sim_sess_error(s, 403, 0);
        return;
    }
    int ok = key && secret && *key && *secret && strlen(key) < sizeof s->key;
    if (ok && cfg->key && strcmp(key, cfg->key) != 0) ok = 0;
    if (ok && cfg->secret && strcmp(secret, cfg->secret) != 0) ok = 0;
    if (!ok) {
        td__sim_sess_error(s, 402, 1);
        return;
    }
    if (feed_denied(s)) {
        td__sim_sess_error(s, 409, 0);
        return;
    }
    if (cfg->max_conns > 0 && conns_of_key(s, key) >= (size_t)cfg->max_conns) {
        td__sim_sess_error(s, 406, 1);
        return;
    }
    s->authed = 1;
    snprintf(s->key, sizeof s->key, "%s", key);
    queue_success(s, "authenticated");
    TD_INFO("conn #%llu authenticated by %s (key %.4s...)", (unsigned long long)s->id, how, key);
}

void td__sim_sess_open(td_sim_sess_t *s, const char *hkey, const char *hsecret)
{
    char peer[64] = "?";
    lws_get_peer_simple(s->wsi, peer, sizeof peer);
    TD_INFO("conn #%llu open %s from %s", (unsigned long long)s->id, s->st->path, peer);
    if (s->st->poly) {
        td__sim_psess_open(s);
        return;
    }
    queue_success(s, "connected");
    if (hkey || hsecret) do_auth(s, hkey, hsecret, "headers");
}

/* ---- subscriptions ------------------------------------------------------- */

static td_alpaca_stream_t stream_class(const td_sim_stream_t *st)
{
    return st->cls == TD_SIM_CRYPTO ? TD_ALPACA_STREAM_CRYPTO
           : st->cls == TD_SIM_NEWS ? TD_ALPACA_STREAM_NEWS
                                    : TD_ALPACA_STREAM_STOCK;
}

static unsigned offered(const td_sim_stream_t *st)
{
    if (st->poly) return td_polygon_kinds(st->cluster);
    return td_alpaca_server_offered(stream_class(st));
}

/* PROTOCOLS.md §1.4: the complete current set, keys in the vendor's order. */
static void confirm(td_sim_sess_t *s)
{
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_subscription(&b, &s->sub, stream_class(s->st));
    td__sim_sess_queue_ctl(s, b.data, b.len);
    td_buf_free(&b);
}

void td__sim_sess_update_want(td_sim_sess_t *s)
{
    size_t n = td__sim_gen_nsyms(s->st->gen);
    memset(s->want, 0, (size_t)TD_KIND__COUNT * n);
    unsigned kinds = offered(s->st);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!(kinds & (1u << k)) || k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR) continue;
        if (!s->sub.k[k].all && !s->sub.k[k].n) continue;
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *sym = td__sim_gen_symbol(s->st->gen, i, &len);
            s->want[(size_t)k * n + i] = (uint8_t)td_subset_has(&s->sub, (td_kind_t)k, sym, len);
        }
    }
    /* corrections and cancel errors go with trades */
    memcpy(s->want + (size_t)TD_KIND_CORRECTION * n, s->want + (size_t)TD_KIND_TRADE * n, n);
    memcpy(s->want + (size_t)TD_KIND_CANCEL_ERROR * n, s->want + (size_t)TD_KIND_TRADE * n, n);
    td__sim_stream_dirty(s->st);
    if (!td_subset_empty(&s->sub)) td__sim_stream_interest(s->st);
}

/* One info line per subscription change, for tests that count upstream
 * subscribe/unsubscribe messages: "conn #N subscribe trades=AAPL;quotes=*". */
static void log_sub(const td_sim_sess_t *s, const td_alpaca_client_msg_t *m)
{
    td_buf_t b = TD_BUF_INIT;
    for (int k = 0; k < TD_KIND__COUNT && b.len < 1024; k++) {
        const td_symset_t *ss = &m->sub.k[k];
        if (!ss->all && !ss->n) continue;
        td_buf_appendf(&b, "%s%s=%s", b.len ? ";" : "", td_kind_name((td_kind_t)k),
                       ss->all ? "*" : "");
        for (size_t i = 0; i < ss->n && b.len < 1024; i++)
            td_buf_appendf(&b, "%s%s", i || ss->all ? "," : "", ss->v[i]);
    }
    TD_INFO("conn #%llu %s %s%s", (unsigned long long)s->id,
            m->action == TD_ALPACA_CLIENT_SUBSCRIBE ? "subscribe" : "unsubscribe",
            b.len ? b.data : "(nothing)", b.len >= 1024 ? "..." : "");
    td_buf_free(&b);
}

static void do_sub(td_sim_sess_t *s, const td_alpaca_client_msg_t *m)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    int add = m->action == TD_ALPACA_CLIENT_SUBSCRIBE;
    if (!s->authed) {
        td__sim_sess_error(s, 401, 0);
        return;
    }
    unsigned kinds = offered(s->st);
    if (m->kinds & ~kinds) {
        td__sim_sess_error(s, 410, 0);
        return;
    }
    td_subset_t next;
    td_subset_init(&next);
    td_subset_copy(&next, &s->sub);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &m->sub.k[k];
        if (k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR) continue; /* follow trades */
        if (ss->all) (add ? td_subset_add : td_subset_remove)(&next, (td_kind_t)k, "*", 1);
        for (size_t i = 0; i < ss->n; i++)
            (add ? td_subset_add : td_subset_remove)(&next, (td_kind_t)k, ss->v[i],
                                                     strlen(ss->v[i]));
    }
    if (add && cfg->symbol_limit > 0 &&
        td_subset_count_symbols(&next, kinds) > (size_t)cfg->symbol_limit) {
        td_subset_free(&next);
        td__sim_sess_error(s, 405, 0);
        return;
    }
    td_subset_free(&s->sub);
    s->sub = next;
    td__sim_sess_update_want(s);
    confirm(s);
    if (td_log_level_current >= TD_LOG_INFO) log_sub(s, m);
}

void td__sim_sess_message(td_sim_sess_t *s, const char *msg, size_t len, int binary)
{
    if (s->st->poly) {
        td__sim_psess_message(s, msg, len, binary);
        return;
    }
    if (binary) { /* MessagePack mode is not simulated */
        td__sim_sess_error(s, 400, 0);
        return;
    }
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    int rc = td_alpaca_client_parse(msg, len, &m);
    if (rc != 0) {
        TD_DEBUG("conn #%llu: bad message: %s", (unsigned long long)s->id, td_strerror(rc));
        td__sim_sess_error(s, 400, 0);
    } else if (m.action == TD_ALPACA_CLIENT_AUTH) {
        do_auth(s, m.has_key ? m.key : NULL, m.has_secret ? m.secret : NULL, "message");
    } else {
        do_sub(s, &m);
    }
    td_alpaca_client_msg_free(&m);
}

void td__sim_sess_rx(td_sim_sess_t *s, const void *in, size_t len, int final, int binary)
{
    if (s->rx.len == 0 && !s->rx_overflow) s->rx_binary = binary;
    if (!s->rx_overflow) {
        if (s->rx.len + len > RX_MAX) {
            s->rx_overflow = 1;
            td_buf_free(&s->rx);
        } else {
            td_buf_append(&s->rx, in, len);
        }
    }
    if (!final) return;
    if (s->rx_overflow)
        td__sim_sess_error(s, 400, 0);
    else
        td__sim_sess_message(s, s->rx.data ? s->rx.data : "", s->rx.len, s->rx_binary);
    s->rx_overflow = 0;
    if (s->rx.cap > 65536)
        td_buf_free(&s->rx);
    else
        td_buf_reset(&s->rx);
}

/* ---- data out ------------------------------------------------------------ */

static void slow_client(td_sim_sess_t *s)
{
    TD_WARN("conn #%llu: %zu bytes pending, over the limit: slow client", (unsigned long long)s->id,
            s->pending);
    drop_queue(s);
    td__sim_sess_error(s, 407, 1);
}

void td__sim_sess_push_event(td_sim_sess_t *s, const char *ev, size_t len)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    if (s->no_more_data) return;
    td_sim_frame_t *f = s->tail;
    if (!f || f->sealed || f->nev >= (uint32_t)cfg->batch) {
        f = frame_new(s, len + 2, 0);
        f->mem[LWS_PRE] = '[';
        f->len = 1;
        s->pending++;
    } else {
        frame_reserve(f, len + 2);
        f->mem[LWS_PRE + f->len++] = ',';
        s->pending++;
    }
    memcpy(f->mem + LWS_PRE + f->len, ev, len);
    f->len += len;
    f->nev++;
    s->pending += len;
    s->events_queued++;
    s->sim->deliveries++;
    s->wake = 1;
    if (cfg->drop_after > 0 && s->events_queued >= (uint64_t)cfg->drop_after) {
        s->no_more_data = 1;
        s->close_after_flush = 1;
        TD_INFO("conn #%llu: %llu events queued, closing after them (--drop-after)",
                (unsigned long long)s->id, (unsigned long long)s->events_queued);
    }
    if (s->pending > (size_t)cfg->max_pending_mb << 20) slow_client(s);
}

static void written(td_sim_sess_t *s, td_sim_frame_t *f, size_t n)
{
    s->frames_sent++;
    s->bytes_sent += n;
    s->sim->frames_sent++;
    s->sim->bytes_sent += n;
    if (f->control) return;
    s->events_sent += f->nev;
    s->sim->events_sent += f->nev;
    if (!s->first_data_ms) s->first_data_ms = uv_now(s->sim->loop);
}

/* --oversize-once: "garbage", spaces, then a trade that parses if a reader
 * keeps only the tail of the message. */
static int write_oversized(td_sim_sess_t *s)
{
    static const char head[] = "\"garbage\"",
                      tail[] =
                          "[{\"T\":\"t\",\"S\":\"EVIL\",\"i\":1,\"x\":\"V\",\"p\":6.66,"
                          "\"s\":666,\"c\":[\"@\"],\"z\":\"C\",\"t\":\"2024-01-02T15:04:05Z\"}]";
    size_t n = (size_t)s->sim->cfg->oversize_once, fixed = sizeof head - 1 + sizeof tail - 1;
    if (n < fixed) n = fixed;
    unsigned char *m = td_xmalloc(LWS_PRE + n);
    memcpy(m + LWS_PRE, head, sizeof head - 1);
    memset(m + LWS_PRE + sizeof head - 1, ' ', n - fixed);
    memcpy(m + LWS_PRE + n - (sizeof tail - 1), tail, sizeof tail - 1);
    s->oversize_sent = 1;
    int rc = lws_write(s->wsi, m + LWS_PRE, n, LWS_WRITE_TEXT);
    free(m);
    TD_INFO("conn #%llu: sent an oversized message of %zu bytes (--oversize-once)",
            (unsigned long long)s->id, n);
    lws_callback_on_writable(s->wsi);
    return rc < 0 ? -1 : 0;
}

int td__sim_sess_writeable(td_sim_sess_t *s)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    if (s->kill) {
        lws_close_reason(s->wsi, LWS_CLOSE_STATUS_GOINGAWAY, NULL, 0);
        return -1;
    }
    if (s->stalled) return 0;
    td_sim_frame_t *f = s->head;
    if (!f) {
        if (!s->close_after_flush) return 0;
        td_lws_write_close(s->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION);
        return -1;
    }
    if (!f->control && cfg->oversize_once > 0 && !s->oversize_sent) return write_oversized(s);
    if (!f->sealed) {
        f->mem[LWS_PRE + f->len++] = ']';
        f->sealed = 1;
        s->pending++;
    }
    size_t n = f->len;
    int malformed =
        !f->control && cfg->malformed_every > 1 && ++s->slots % (uint64_t)cfg->malformed_every == 0;
    if (malformed) n = f->len / 2; /* a truncated array: never valid JSON */
    if (lws_write(s->wsi, f->mem + LWS_PRE, n, LWS_WRITE_TEXT) < 0) return -1;
    if (malformed) {
        s->frames_sent++;
        s->bytes_sent += n;
    } else {
        written(s, f, n);
        s->head = f->next;
        if (!s->head) s->tail = NULL;
        s->pending -= f->len;
        frame_release(s, f);
    }
    if (s->head || s->close_after_flush) lws_callback_on_writable(s->wsi);
    return 0;
}

void td__sim_sess_wake(td_sim_sess_t *s)
{
    s->wake = 0;
    if (!s->stalled) lws_callback_on_writable(s->wsi);
}

static void stall_cron(td_sim_sess_t *s, uint64_t now)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    if (!s->stall_done && s->first_data_ms && now >= s->first_data_ms + 1000) {
        s->stall_done = 1;
        s->stalled = 1;
        s->stall_until_ms = now + (uint64_t)(cfg->stall * 1000);
        lws_rx_flow_control(s->wsi, 0);
        TD_INFO("conn #%llu: stalling for %.1f s (--stall)", (unsigned long long)s->id, cfg->stall);
    } else if (s->stalled && now >= s->stall_until_ms) {
        s->stalled = 0;
        lws_rx_flow_control(s->wsi, 1);
        lws_callback_on_writable(s->wsi);
        TD_INFO("conn #%llu: stall over, %zu bytes pending", (unsigned long long)s->id, s->pending);
    }
}

void td__sim_sess_cron(td_sim_sess_t *s, uint64_t now)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    if (s->kill) return;
    if (!s->authed && !s->close_after_flush && cfg->auth_timeout > 0 &&
        now >= s->open_ms + (uint64_t)(cfg->auth_timeout * 1000))
        td__sim_sess_error(s, 404, 1);
    if (s->st->poly) td__sim_psess_cron(s, now);
    if (cfg->drop_every > 0 && now >= s->open_ms + (uint64_t)(cfg->drop_every * 1000)) {
        TD_INFO("conn #%llu: dropping (--drop-every)", (unsigned long long)s->id);
        s->kill = 1;
        s->no_more_data = 1;
        s->stalled = 0;
        lws_callback_on_writable(s->wsi);
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, 1); /* if it never gets writeable */
        return;
    }
    if (cfg->stall > 0) stall_cron(s, now);
}
