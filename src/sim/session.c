/* SPDX-License-Identifier: Apache-2.0 */
/* One client connection of the simulator: its server session
 * (proto/server_session.h: the dialect's handshake, auth, subscriptions and
 * errors) with the simulator's policies as its hooks (keys, --deny-feed,
 * --max-conns; Polygon's in session_polygon.c), and the outgoing queue
 * (core/outq.h: control messages and data frames, each built in place with
 * LWS_PRE headroom, data events
 * batched into JSON arrays). */
#include "core/log.h"
#include "core/lws_util.h"
#include "core/mem.h"
#include "sim/sim_int.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define RX_MAX    (1u << 20) /* a client message larger than this is refused (400) */
#define FRAME_MIN 16384
#define SIM_DATA  0 /* td_outmsg_t.kind of a data frame */

/* ---- the queue ----------------------------------------------------------- */

/* The data frame being filled goes to the queue, closed. */
static void batch_seal(td_sim_sess_t *s)
{
    td_outmsg_t *m = s->batch;
    if (!m) return;
    m->data[m->len++] = ']';
    m->data[m->len] = '\0';
    td_outq_push(&s->q, m);
    td_outmsg_unref(m);
    s->batch = NULL;
}

void td__sim_sess_queue_ctl(td_sim_sess_t *s, const char *text, size_t len)
{
    batch_seal(s); /* the events before it go first */
    td_outmsg_t *m = td_outmsg_alloc(LWS_PRE + len, TD_OUTQ_CONTROL, 0, 0);
    memcpy(m->data + LWS_PRE, text, len);
    td_outq_push(&s->q, m);
    td_outmsg_unref(m);
    lws_callback_on_writable(s->wsi);
}

static void drop_queue(td_sim_sess_t *s)
{
    td_outq_clear(&s->q);
    td_outmsg_unref(s->batch);
    s->batch = NULL;
}

size_t td__sim_sess_pending(const td_sim_sess_t *s)
{
    return s->q.bytes + (s->batch ? s->batch->len - LWS_PRE : 0);
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
    td_srv_sess_error(&s->sess, code, close);
}

/* ---- the session's hooks --------------------------------------------------- */

void td__sim_sess_on_send(void *ud, const char *frame, size_t len)
{
    td__sim_sess_queue_ctl(ud, frame, len);
}

void td__sim_sess_on_close(void *ud, int code)
{
    (void)code;
    td__sim_sess_closing(ud);
}

int td__sim_sess_on_error(void *ud, const td_srv_error_t *e)
{
    const td_sim_sess_t *s = ud;
    if (e->why) TD_DEBUG("conn #%llu: bad message: %s", (unsigned long long)s->id, e->why);
    if (e->status)
        TD_INFO("conn #%llu status %s: %s%s", (unsigned long long)s->id, e->status, e->text,
                e->close ? " (closing)" : "");
    else
        TD_INFO("conn #%llu error %d %s%s", (unsigned long long)s->id, e->code, e->text,
                e->close ? " (closing)" : "");
    return 0;
}

/* One info line per subscription change, for tests that count upstream
 * subscribe/unsubscribe messages: "conn #N subscribe trades=AAPL;quotes=*". */
void td__sim_sess_log_applied(const td_sim_sess_t *s, const td_srv_applied_t *a)
{
    TD_INFO("conn #%llu %s %s", (unsigned long long)s->id, a->add ? "subscribe" : "unsubscribe",
            a->what);
}

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
        if (o != s && o->sess.authed && !o->kill && strcmp(o->key, key) == 0) n++;
    return n;
}

static int on_auth(void *ud, const char *key, size_t kn, const char *secret, size_t sn,
                   const char *how)
{
    td_sim_sess_t *s = ud;
    const td_sim_cfg_t *cfg = s->sim->cfg;
    (void)kn, (void)sn;
    int ok = key && secret && *key && *secret && strlen(key) < sizeof s->key;
    if (ok && cfg->key && strcmp(key, cfg->key) != 0) ok = 0;
    if (ok && cfg->secret && strcmp(secret, cfg->secret) != 0) ok = 0;
    if (!ok) return 402;
    if (feed_denied(s)) return 409;
    if (cfg->max_conns > 0 && conns_of_key(s, key) >= (size_t)cfg->max_conns) return 406;
    snprintf(s->key, sizeof s->key, "%s", key);
    TD_INFO("conn #%llu authenticated by %s (key %.4s...)", (unsigned long long)s->id, how, key);
    return TD_SRV_AUTH_OK;
}

static void on_applied(void *ud, const td_srv_applied_t *a)
{
    td_sim_sess_t *s = ud;
    td__sim_sess_update_want(s);
    td__sim_sess_log_applied(s, a);
}

static const td_srv_cb_t alpaca_cb = TD_SIM_SESS_CB(on_auth, on_applied);

/* ---- life ---------------------------------------------------------------- */

td_sim_sess_t *td__sim_sess_new(td_sim_t *sim, td_sim_stream_t *st, struct lws *wsi)
{
    const td_sim_cfg_t *cfg = sim->cfg;
    td_sim_sess_t *s = td_xcalloc(1, sizeof *s);
    s->sim = sim;
    s->st = st;
    s->wsi = wsi;
    s->id = ++sim->next_id;
    s->open_ms = uv_now(sim->loop);
    td_srv_cfg_t sc = {
        .vs = st->vs,
        .max_symbols = cfg->symbol_limit > 0 ? (size_t)cfg->symbol_limit : 0,
        .auth_timeout_ms = cfg->auth_timeout > 0 ? (uint64_t)(cfg->auth_timeout * 1000) : 0,
        .max_message = RX_MAX,
    };
    td_srv_sess_init(&s->sess, &sc, st->poly ? &td__sim_polygon_cb : &alpaca_cb, s, s->open_ms);
    td_outq_init(&s->q, 0);
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
    drop_queue(s);
    td_srv_sess_free(&s->sess);
    free(s->want);
    free(s);
}

void td__sim_sess_open(td_sim_sess_t *s, const char *hkey, const char *hsecret)
{
    char peer[64] = "?";
    lws_get_peer_simple(s->wsi, peer, sizeof peer);
    TD_INFO("conn #%llu open %s from %s", (unsigned long long)s->id, s->st->path, peer);
    td_srv_sess_open(&s->sess, hkey, hsecret);
}

/* ---- subscriptions ------------------------------------------------------- */

void td__sim_sess_update_want(td_sim_sess_t *s)
{
    const td_subset_t *sub = &s->sess.sub;
    size_t n = td__sim_gen_nsyms(s->st->gen);
    memset(s->want, 0, (size_t)TD_KIND__COUNT * n);
    unsigned kinds = td_srv_offered(&s->sess.cfg);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!(kinds & (1u << k)) || k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR) continue;
        if (!sub->k[k].all && !sub->k[k].n) continue;
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *sym = td__sim_gen_symbol(s->st->gen, i, &len);
            s->want[(size_t)k * n + i] = (uint8_t)td_subset_has(sub, (td_kind_t)k, sym, len);
        }
    }
    /* corrections and cancel errors go with trades */
    memcpy(s->want + (size_t)TD_KIND_CORRECTION * n, s->want + (size_t)TD_KIND_TRADE * n, n);
    memcpy(s->want + (size_t)TD_KIND_CANCEL_ERROR * n, s->want + (size_t)TD_KIND_TRADE * n, n);
    td__sim_stream_dirty(s->st);
    if (!td_subset_empty(sub)) td__sim_stream_interest(s->st);
}

/* ---- data out ------------------------------------------------------------ */

static void slow_client(td_sim_sess_t *s)
{
    TD_WARN("conn #%llu: %zu bytes pending, over the limit: slow client", (unsigned long long)s->id,
            td__sim_sess_pending(s));
    drop_queue(s);
    td__sim_sess_error(s, 407, 1);
}

void td__sim_sess_push_event(td_sim_sess_t *s, const char *ev, size_t len)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    if (s->no_more_data) return;
    td_outmsg_t *m = s->batch;
    if (m && m->id >= (uint64_t)cfg->batch) {
        batch_seal(s);
        m = NULL;
    }
    if (!m) { /* headroom, '[' */
        s->batch_cap = LWS_PRE + (len + 2 > FRAME_MIN ? len + 2 : FRAME_MIN);
        m = s->batch = td_outmsg_alloc(s->batch_cap, SIM_DATA, 0, 0);
        m->len = LWS_PRE + 1;
        m->data[LWS_PRE] = '[';
    } else { /* ',' */
        if (m->len + len + 2 > s->batch_cap) {
            while (m->len + len + 2 > s->batch_cap)
                s->batch_cap *= 2;
            m = s->batch = td_outmsg_room(m, s->batch_cap);
        }
        m->data[m->len++] = ',';
    }
    memcpy(m->data + m->len, ev, len); /* room for ']' is kept */
    m->len += len;
    m->id++;
    s->events_queued++;
    s->sim->deliveries++;
    s->wake = 1;
    if (cfg->drop_after > 0 && s->events_queued >= (uint64_t)cfg->drop_after) {
        s->no_more_data = 1;
        s->close_after_flush = 1;
        TD_INFO("conn #%llu: %llu events queued, closing after them (--drop-after)",
                (unsigned long long)s->id, (unsigned long long)s->events_queued);
    }
    if (td__sim_sess_pending(s) > (size_t)cfg->max_pending_mb << 20) slow_client(s);
}

static void written(td_sim_sess_t *s, const td_outmsg_t *m, size_t n)
{
    s->frames_sent++;
    s->bytes_sent += n;
    s->sim->frames_sent++;
    s->sim->bytes_sent += n;
    if (m->kind == TD_OUTQ_CONTROL) return;
    s->events_sent += m->id;
    s->sim->events_sent += m->id;
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
    if (!s->q.n) batch_seal(s); /* the frame being filled goes as it is */
    td_outmsg_t *m = td_outq_peek(&s->q, 0);
    if (!m) {
        if (!s->close_after_flush) return 0;
        td_lws_write_close(s->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION);
        return -1;
    }
    int data = m->kind != TD_OUTQ_CONTROL;
    if (data && cfg->oversize_once > 0 && !s->oversize_sent) return write_oversized(s);
    size_t n = m->len - LWS_PRE;
    int malformed =
        data && cfg->malformed_every > 1 && ++s->slots % (uint64_t)cfg->malformed_every == 0;
    if (malformed) n /= 2; /* a truncated array: never valid JSON */
    if (lws_write(s->wsi, (unsigned char *)m->data + LWS_PRE, n, LWS_WRITE_TEXT) < 0) return -1;
    if (malformed) { /* the whole frame goes next time */
        s->frames_sent++;
        s->bytes_sent += n;
    } else {
        written(s, m, n);
        td_outmsg_unref(td_outq_pop(&s->q));
    }
    if (s->q.n || s->batch || s->close_after_flush) lws_callback_on_writable(s->wsi);
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
        TD_INFO("conn #%llu: stall over, %zu bytes pending", (unsigned long long)s->id,
                td__sim_sess_pending(s));
    }
}

void td__sim_sess_cron(td_sim_sess_t *s, uint64_t now)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    if (s->kill) return;
    if (!s->close_after_flush) td_srv_sess_tick(&s->sess, now); /* 404 auth timeout */
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
