/* SPDX-License-Identifier: Apache-2.0 */
/* One downstream client: its life, the messages it sends (reassembled,
 * then handed to its server session, proto/server_session.h, whose hooks
 * are client_hooks.c's), its queue with conflation and limits, and
 * writing one batched frame per WRITEABLE. */
#include "core/log.h"
#include "core/lws_util.h"
#include "core/mem.h"
#include "gateway/gw_int.h"
#include "proto/polygon_server.h"

#include <stdlib.h>
#include <string.h>

#define ID(c) ((unsigned long long)(c)->id)

static void wake(gw_client_t *c)
{
    if (c->want_write) return;
    c->want_write = 1;
    lws_callback_on_writable(c->wsi);
}

/* Something was queued: write it at the end of this loop turn. */
static void kick(gw_client_t *c)
{
    if (c->dirty || c->want_write) return;
    td__gw_mark_dirty(c->g, c);
}

/* ---- life ------------------------------------------------------------------ */

gw_client_t *td__gw_client_new(td_gateway_t *g, struct lws *wsi, const td_vstream_t *vs, int codec)
{
    gw_client_t *c = td_xcalloc(1, sizeof *c);
    c->g = g;
    c->wsi = wsi;
    c->id = ++g->next_id;
    c->open_ms = uv_now(g->loop);
    c->path = vs->path;
    c->vs = vs;
    c->codec = codec;
    td_subset_init(&c->sess.sub);
    td_outq_init(&c->q, GW_ENTRY_OVERHEAD);
    td__gw_guard_init(c);
    c->bc = td_bus_attach(g->bus, td__gw_client_on_event, c);
    c->next = g->clients;
    if (g->clients) g->clients->prev = c;
    g->clients = c;
    g->st.clients++;
    g->st.accepted++;
    return c;
}

void td__gw_client_free(gw_client_t *c)
{
    td_gateway_t *g = c->g;
    if (c->sess.authed) /* clients that never authenticated are limited (guard.c) */
        TD_INFO("client #%llu closed after %.1f s: %llu events in %llu frames, %llu bytes", ID(c),
                (double)(uv_now(g->loop) - c->open_ms) / 1000.0, (unsigned long long)c->events_sent,
                (unsigned long long)c->frames_sent, (unsigned long long)c->bytes_sent);
    else
        GW_LOG(TD_LOG_INFO, g, NULL, "client #%llu closed after %.1f s, not authenticated", ID(c),
               (double)(uv_now(g->loop) - c->open_ms) / 1000.0);
    td_bus_detach(g->bus, c->bc); /* the last unwants go upstream */
    td__gw_limits_close(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    g->st.clients--;
    if (c->sess.authed) g->st.authed--;
    if (c->dirty) td__gw_unmark_dirty(g, c); /* closed with data waiting to be written */
    td_outq_clear(&c->q);
    td_srv_sess_free(&c->sess);
    td__gw_guard_free(c);
    td__gw_since_free(c);
    free(c);
}

/* ---- control messages ---------------------------------------------------------- */

void td__gw_client_send_ctl(gw_client_t *c, const char *json, size_t len)
{
    td_gateway_t *g = c->g;
    const gw_codec_t *co = &td__gw_codecs[c->codec];
    td_buf_t out = TD_BUF_INIT;
    const char *p = json;
    size_t n = len;
    if (co->control != td__gw_codecs[GW_CODEC_JSON].control) {
        if (co->control(&out, json, len) != 0) return;
        p = out.data, n = out.len;
    }
    td_outmsg_t *m = td_outmsg_new(p, n, TD_OUTQ_CONTROL, 0, ++g->next_msg_id);
    td_outq_push(&c->q, m);
    td_outmsg_unref(m);
    td_buf_free(&out);
    kick(c);
}

void td__gw_client_error(gw_client_t *c, int code, int close)
{
    td_srv_sess_error(&c->sess, code, close);
}

void td__gw_client_close_after(gw_client_t *c)
{
    c->closing = 1;
    /* a client that does not read never gets writeable: lws closes it */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 2);
    /* Called from the bus (outside lws's own service, e.g. while the
     * upstream feed is read): lws 4.1 re-arms its timer on the loop only
     * after it services one of its sockets, so wake it or the timeout waits
     * for the client's next byte (possibly forever). */
    lws_cancel_service(lws_get_context(c->wsi));
}

/* ---- open ------------------------------------------------------------------------- */

void td__gw_client_open(gw_client_t *c, const char *hkey, const char *hsecret)
{
    const td_gateway_cfg_t *cfg = &c->g->cfg;
    GW_LOG(TD_LOG_INFO, c->g, NULL, "client #%llu open %s from %s (%s)", ID(c), c->path,
           c->guard.peer, td__gw_codecs[c->codec].name);
    td_srv_cfg_t sc = {
        .vs = c->vs,
        .max_symbols = cfg->max_symbols,
        .auth_timeout_ms = cfg->auth_timeout_s > 0 ? (uint64_t)(cfg->auth_timeout_s * 1000.0) : 0,
        .parse = td__gw_codecs[c->codec].parse,
        .binary = td__gw_codecs[c->codec].binary,
        .max_message = cfg->max_message,
    };
    td_srv_sess_free(&c->sess);
    td_srv_sess_init(&c->sess, &sc, &td__gw_session_cb, c, c->open_ms);
    td_srv_sess_open(&c->sess, hkey, hsecret);
}

/* ---- subscriptions --------------------------------------------------------------- */

/* Bus interest for one channel entry; trades on stocks bring corrections
 * and cancel errors of the same symbols (PROTOCOLS.md §1.4). */
void td__gw_client_bus_change(gw_client_t *c, td_kind_t k, const char *sym, size_t n, int add)
{
    td_bus_t *bus = c->g->bus;
    void (*fn)(td_bus_t *, td_bus_consumer_t *, td_kind_t, const char *, size_t) =
        add ? td_bus_want : td_bus_unwant;
    fn(bus, c->bc, k, sym, n);
    if (k == TD_KIND_TRADE && (c->vs->offered & (1u << TD_KIND_CORRECTION))) {
        fn(bus, c->bc, TD_KIND_CORRECTION, sym, n);
        fn(bus, c->bc, TD_KIND_CANCEL_ERROR, sym, n);
    }
}

/* Whether ev belongs on c's stream: a kind its path offers (corrections
 * and cancel errors with trades on Alpaca stocks), a symbol of its class. */
static int class_ok(const gw_client_t *c, const td_event_t *ev)
{
    return (c->vs->offered & (1u << ev->kind)) &&
           td_vendor_sym_ok(c->vs, ev->symbol, ev->symbol_len);
}

static void snap_one(void *ud, const td_event_t *ev)
{
    gw_client_t *c = ud;
    if (c->closing || !class_ok(c, ev) || (c->since && td__gw_since_owns(c, ev))) return;
    td_outmsg_t *m = td__gw_event_msg_once(c->g, ev, c->codec);
    if (!m) return;
    c->g->st.snapshots++;
    td__gw_client_push(c, m);
    td_outmsg_unref(m);
}

void td__gw_client_snapshot(gw_client_t *c, const td_subset_t *fresh, unsigned all)
{
    td_bus_t *bus = c->g->bus;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!(TD_GW_SNAPSHOT_KINDS & (1u << k))) continue;
        if (all & (1u << k)) {
            td_bus_last_each(bus, (td_kind_t)k, snap_one, c);
            continue;
        }
        const td_symset_t *ss = &fresh->k[k];
        for (size_t i = 0; i < ss->n; i++) {
            td_event_t ev;
            if (td_bus_last(bus, (td_kind_t)k, ss->v[i], strlen(ss->v[i]), &ev)) snap_one(c, &ev);
        }
    }
}

/* ---- messages in ------------------------------------------------------------------ */

void td__gw_client_rx(gw_client_t *c, const void *in, size_t len, int final, int binary)
{
    if (c->closing || c->dead || td__gw_guard_rx(c, len, final) != 0) return;
    if (td_srv_sess_rx(&c->sess, in, len, final, binary))
        GW_LOG(TD_LOG_INFO, c->g, c, "client #%llu: message over %zu bytes dropped", ID(c),
               c->g->cfg.max_message);
}

/* ---- data out ------------------------------------------------------------------ */

static void slow(gw_client_t *c, const char *why)
{
    TD_WARN("client #%llu: %zu bytes queued, over the %s limit: slow client", ID(c), c->q.bytes,
            why);
    c->g->st.slow_disconnects++;
    td_outq_clear(&c->q); /* what it could not take is dropped, and it is told */
    td__gw_client_error(c, 407, 1);
}

static void check_limits(gw_client_t *c, uint64_t now)
{
    const td_gateway_cfg_t *cfg = &c->g->cfg;
    if (cfg->buffer_hard && c->q.bytes > cfg->buffer_hard) {
        slow(c, "hard");
    } else if (cfg->buffer_soft && c->q.bytes > cfg->buffer_soft) {
        if (!c->soft_since_ms)
            c->soft_since_ms = now ? now : 1;
        else if ((double)(now - c->soft_since_ms) >= cfg->soft_seconds * 1000.0)
            slow(c, "soft");
    } else {
        c->soft_since_ms = 0;
    }
}

/* Takes no reference from the caller: the queue takes its own. */
void td__gw_client_push(gw_client_t *c, td_outmsg_t *m)
{
    /* A client that keeps up gets every quote; one that is behind gets the
     * newest value of each symbol in place of older unsent ones. */
    if (c->q.bytes >= c->g->cfg.conflate_after && td_outq_conflate(&c->q, m))
        c->g->st.conflated++;
    else
        td_outq_push(&c->q, m);
    check_limits(c, uv_now(c->g->loop));
    if (!c->closing) kick(c);
}

void td__gw_client_on_event(void *ud, const td_event_t *ev)
{
    gw_client_t *c = ud;
    if (c->closing || c->dead || !class_ok(c, ev)) return;
    if (c->since && td__gw_since_owns(c, ev)) return; /* served from history */
    td_outmsg_t *m = td__gw_event_msg(c->g, ev, c->codec);
    if (!m) return;
    if (ev->kind == TD_KIND_NEWS) { /* once per item, not once per symbol */
        if (m->id == c->last_news_id) return;
        c->last_news_id = m->id;
    }
    td__gw_client_push(c, m);
}

/* Control messages go alone (arrays of length 1); data events are batched
 * into one array of at most write_cap bytes (at least one event). */
static uint32_t build_frame(gw_client_t *c, td_buf_t *f)
{
    return td_outq_build(&c->q, f, &td__gw_codecs[c->codec].frame, c->g->cfg.write_cap, 0,
                         c->g->st.events_out);
}

/* Builds and writes one frame from the queue. Returns -1 if lws failed. */
static int write_frame(gw_client_t *c)
{
    td_gateway_t *g = c->g;
    td_buf_t *f = &g->frame;
    td_buf_reset(f);
    td_buf_reserve(f, LWS_PRE + g->cfg.write_cap);
    f->len = LWS_PRE;
    uint32_t nev = build_frame(c, f);
    size_t n = f->len - LWS_PRE;
    int binary = td__gw_codecs[c->codec].binary;
    if (lws_write(c->wsi, (unsigned char *)f->data + LWS_PRE, n,
                  binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < 0)
        return -1;
    c->events_sent += nev;
    c->frames_sent++;
    c->bytes_sent += n;
    g->st.frames_out++;
    g->st.bytes_out += n;
    if (g->cfg.buffer_soft && c->q.bytes <= g->cfg.buffer_soft) c->soft_since_ms = 0;
    return 0;
}

int td__gw_client_writeable(gw_client_t *c)
{
    c->want_write = 0;
    if (c->dead) {
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_GOINGAWAY, NULL, 0);
        return -1;
    }
    if (!c->q.n) {
        if (!c->closing) return 0;
        td_lws_write_close(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION);
        return -1;
    }
    if (write_frame(c) < 0) return -1;
    if (c->q.n || c->closing) wake(c);
    return 0;
}

#define FLUSH_FRAMES 4 /* frames written straight away per client per turn */

void td__gw_client_flush(gw_client_t *c)
{
    if (c->want_write) return; /* lws will call WRITEABLE anyway */
    /* closing goes through WRITEABLE, which can return -1; with
     * permessage-deflate, lws must drain a compressed frame before the next
     * write (it asserts so), which only WRITEABLE guarantees */
    if (c->closing || c->dead || c->g->cfg.deflate) {
        wake(c);
        return;
    }
    for (int i = 0; i < FLUSH_FRAMES && c->q.n; i++) {
        if (lws_partial_buffered(c->wsi)) break; /* the socket is full: wait */
        if (write_frame(c) < 0) {
            c->dead = 1;
            break;
        }
    }
    if (c->q.n || c->dead) wake(c);
}

void td__gw_client_cron(gw_client_t *c, uint64_t now)
{
    if (c->closing || c->dead) return;
    td_srv_sess_tick(&c->sess, now); /* 404 auth timeout */
    if (c->closing) return;
    td__gw_guard_cron(c, now);
    if (c->soft_since_ms) check_limits(c, now);
}
