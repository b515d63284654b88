/* SPDX-License-Identifier: Apache-2.0 */
/* One downstream client: the Alpaca handshake and auth, subscriptions (bus
 * interest), snapshots, its queue with conflation and limits, and writing
 * one batched frame per WRITEABLE. The Polygon dialect's messages are
 * client_polygon.c's; the rest is shared. */
#include "core/log.h"
#include "core/lws_util.h"
#include "core/mem.h"
#include "gateway/gw_int.h"

#include <stdlib.h>
#include <string.h>

#define ID(c) ((unsigned long long)(c)->id)

/* Kinds kept by the bus's last-value cache and sent as snapshots. */
#define SNAPSHOT_KINDS                                                                             \
    ((1u << TD_KIND_QUOTE) | (1u << TD_KIND_TRADE) | (1u << TD_KIND_BAR) |                         \
     (1u << TD_KIND_DAILY_BAR) | (1u << TD_KIND_STATUS))

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

gw_client_t *td__gw_client_new(td_gateway_t *g, struct lws *wsi, const char *path,
                               td_alpaca_stream_t cls, int codec)
{
    gw_client_t *c = td_xcalloc(1, sizeof *c);
    c->g = g;
    c->wsi = wsi;
    c->id = ++g->next_id;
    c->open_ms = uv_now(g->loop);
    c->path = path;
    c->cls = cls;
    c->codec = codec;
    td_subset_init(&c->sub);
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
    if (c->authed) /* clients that never authenticated are limited (guard.c) */
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
    if (c->authed) g->st.authed--;
    if (c->dirty) td__gw_unmark_dirty(g, c); /* closed with data waiting to be written */
    td__gw_queue_free(&c->q);
    td_subset_free(&c->sub);
    td_buf_free(&c->rx);
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
    gw_msg_t *m = td__gw_msg_new(p, n, GW_CONTROL, 0, ++g->next_msg_id);
    td__gw_queue_push(&c->q, m);
    td__gw_msg_unref(m);
    td_buf_free(&out);
    kick(c);
}

static void send_success(gw_client_t *c, const char *msg)
{
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_success(&b, msg);
    td__gw_client_send_ctl(c, b.data, b.len);
    td_buf_free(&b);
}

void td__gw_client_error(gw_client_t *c, int code, int close)
{
    if (c->closing) return;
    td_buf_t b = TD_BUF_INIT;
    const char *text;
    if (c->polygon) {
        text = td__gw_pclient_error_frame(&b, code);
    } else {
        td_alpaca_server_error(&b, code);
        text = td_alpaca_server_err_text(code);
    }
    td__gw_client_send_ctl(c, b.data, b.len);
    td_buf_free(&b);
    int spent = !close && td__gw_guard_error(c);
    const char *how = spent ? " (too many errors: closing)" : close ? " (closing)" : "";
    /* a client's last line is limited only across clients */
    GW_LOG(TD_LOG_INFO, c->g, close || spent ? NULL : c, "client #%llu error %d %s%s", ID(c), code,
           text, how);
    if (close || spent) td__gw_client_close_after(c);
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
    GW_LOG(TD_LOG_INFO, c->g, NULL, "client #%llu open %s from %s (%s)", ID(c), c->path,
           c->guard.peer, td__gw_codecs[c->codec].name);
    if (c->polygon) {
        td__gw_pclient_open(c);
        return;
    }
    send_success(c, "connected");
    if (hkey || hsecret)
        td__gw_client_auth(c, hkey, hkey ? strlen(hkey) : 0, hsecret, hsecret ? strlen(hsecret) : 0,
                           "headers");
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
    if (k == TD_KIND_TRADE && !c->polygon && c->cls == TD_ALPACA_STREAM_STOCK) {
        fn(bus, c->bc, TD_KIND_CORRECTION, sym, n);
        fn(bus, c->bc, TD_KIND_CANCEL_ERROR, sym, n);
    }
}

static int class_ok(const gw_client_t *c, const td_event_t *ev)
{
    if (c->polygon) return td__gw_pclient_class_ok(c, ev);
    if (ev->kind == TD_KIND_NEWS) return c->cls == TD_ALPACA_STREAM_NEWS;
    if (c->cls == TD_ALPACA_STREAM_NEWS) return 0;
    int pair = memchr(ev->symbol, '/', ev->symbol_len) != NULL;
    return pair == (c->cls == TD_ALPACA_STREAM_CRYPTO);
}

static void snap_one(void *ud, const td_event_t *ev)
{
    gw_client_t *c = ud;
    if (c->closing || !class_ok(c, ev) || (c->since && td__gw_since_owns(c, ev))) return;
    gw_msg_t *m = td__gw_event_msg_once(c->g, ev, c->codec);
    if (!m) return;
    c->g->st.snapshots++;
    td__gw_client_push(c, m);
    td__gw_msg_unref(m);
}

/* Last values of what was just subscribed by name (fresh), and of the
 * wildcards of m (NULL: none) if it asked for "snapshot":true. */
static void snapshot(gw_client_t *c, const td_subset_t *fresh, const td_alpaca_client_msg_t *m)
{
    td_bus_t *bus = c->g->bus;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!(SNAPSHOT_KINDS & (1u << k))) continue;
        if (m && m->snapshot && m->sub.k[k].all) {
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

void td__gw_client_snapshot(gw_client_t *c, const td_subset_t *fresh)
{
    snapshot(c, fresh, NULL);
}

/* Symbols a subscribe message names (a wildcard counts as one). */
static size_t named(const td_alpaca_client_msg_t *m)
{
    size_t n = 0;
    for (int k = 0; k < TD_KIND__COUNT; k++)
        n += m->sub.k[k].n + (m->sub.k[k].all != 0);
    return n;
}

static int over_limit(const gw_client_t *c, const td_alpaca_client_msg_t *m, unsigned offered)
{
    size_t max = c->g->cfg.max_symbols;
    if (!max || m->action != TD_ALPACA_CLIENT_SUBSCRIBE) return 0;
    td_subset_t next;
    td_subset_init(&next);
    td_subset_copy(&next, &c->sub);
    for (int k = 0; k < TD_KIND__COUNT; k++)
        for (size_t i = 0; i < m->sub.k[k].n; i++)
            td_subset_add(&next, (td_kind_t)k, m->sub.k[k].v[i], strlen(m->sub.k[k].v[i]));
    size_t n = td_subset_count_symbols(&next, offered);
    td_subset_free(&next);
    return n > max;
}

static void apply_sub(gw_client_t *c, const td_alpaca_client_msg_t *m, td_subset_t *fresh)
{
    int add = m->action == TD_ALPACA_CLIENT_SUBSCRIBE;
    int (*op)(td_subset_t *, td_kind_t, const char *, size_t) =
        add ? td_subset_add : td_subset_remove;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &m->sub.k[k];
        if (k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR) continue; /* follow trades */
        if (ss->all && op(&c->sub, (td_kind_t)k, "*", 1))
            td__gw_client_bus_change(c, (td_kind_t)k, "*", 1, add);
        for (size_t i = 0; i < ss->n; i++) {
            size_t n = strlen(ss->v[i]);
            if (!op(&c->sub, (td_kind_t)k, ss->v[i], n)) continue;
            td__gw_client_bus_change(c, (td_kind_t)k, ss->v[i], n, add);
            if (add) td_subset_add(fresh, (td_kind_t)k, ss->v[i], n);
        }
    }
}

/* Takes out of a subscribe what the client's token does not allow (the
 * rest goes ahead); 409 insufficient subscription if anything was. */
static void restrict_sub(gw_client_t *c, td_alpaca_client_msg_t *m)
{
    if (!c->jwt || m->action != TD_ALPACA_CLIENT_SUBSCRIBE) return;
    td_subset_t out;
    td_subset_init(&out);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &m->sub.k[k];
        if (ss->all && !td__gw_client_allows(c, (td_kind_t)k, "*", 1))
            td_subset_add(&out, (td_kind_t)k, "*", 1);
        for (size_t i = 0; i < ss->n; i++)
            if (!td__gw_client_allows(c, (td_kind_t)k, ss->v[i], strlen(ss->v[i])))
                td_subset_append(&out, (td_kind_t)k, ss->v[i], strlen(ss->v[i]));
    }
    td_subset_settle(&out);
    if (td_subset_empty(&out)) {
        td_subset_free(&out);
        return;
    }
    td_buf_t b = TD_BUF_INIT;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (out.k[k].all) td_subset_remove(&m->sub, (td_kind_t)k, "*", 1);
        for (size_t i = 0; i < out.k[k].n; i++)
            td_subset_remove(&m->sub, (td_kind_t)k, out.k[k].v[i], strlen(out.k[k].v[i]));
        if (!out.k[k].all && !out.k[k].n) continue;
        if (b.len) td_buf_appendc(&b, ',');
        td_subset_append_json_list(&out, (td_kind_t)k, &b);
    }
    GW_LOG(TD_LOG_INFO, c->g, c, "client #%llu ('%s'): outside its token: %.300s", ID(c),
           c->jwt->sub, b.data);
    td_buf_free(&b);
    td_subset_free(&out);
    td__gw_client_error(c, 409, 0);
}

static void do_sub(gw_client_t *c, td_alpaca_client_msg_t *m)
{
    if (!c->authed) {
        td__gw_client_error(c, 401, 0);
        return;
    }
    restrict_sub(c, m);
    if (c->closing) return;
    unsigned offered = td_alpaca_server_offered(c->cls);
    if (m->kinds & ~offered) {
        td__gw_client_error(c, 410, 0);
        return;
    }
    if (m->action == TD_ALPACA_CLIENT_SUBSCRIBE && !td__gw_client_sub_rate_ok(c, named(m))) return;
    if (over_limit(c, m, offered)) {
        td__gw_client_error(c, 405, 0);
        return;
    }
    td_subset_t fresh;
    td_subset_init(&fresh);
    apply_sub(c, m, &fresh);
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_subscription(&b, &c->sub, c->cls);
    td__gw_client_send_ctl(c, b.data, b.len);
    TD_DEBUG("client #%llu subscription %s", ID(c), b.data);
    td_buf_free(&b);
    if (m->action == TD_ALPACA_CLIENT_SUBSCRIBE) td__gw_since_add(c, m->since, m->nsince);
    if (m->action == TD_ALPACA_CLIENT_SUBSCRIBE) snapshot(c, &fresh, m);
    if (m->action == TD_ALPACA_CLIENT_SUBSCRIBE && m->gaps) c->gaps = 1;
    if (m->action == TD_ALPACA_CLIENT_UNSUBSCRIBE) td__gw_since_unsubscribe(c);
    td_subset_free(&fresh);
}

static void on_message(gw_client_t *c, const char *msg, size_t len)
{
    if (c->polygon) {
        td__gw_pclient_message(c, msg, len, c->rx_binary);
        return;
    }
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    /* a JSON session takes text frames only (MessagePack ones: binary) */
    int wrong_frame = c->rx_binary && !td__gw_codecs[c->codec].binary;
    int rc = wrong_frame ? TD_EMALFORMED : td__gw_codecs[c->codec].parse(msg, len, &m);
    if (rc != 0) {
        GW_LOG(TD_LOG_DEBUG, c->g, c, "client #%llu: bad message: %s", ID(c),
               wrong_frame ? "a binary frame on a JSON session" : td_strerror(rc));
        c->g->st.malformed++;
        td__gw_client_error(c, 400, 0);
    } else if (m.action == TD_ALPACA_CLIENT_AUTH) {
        td__gw_client_auth(c, m.has_key ? m.key : NULL, m.key_len, m.has_secret ? m.secret : NULL,
                           m.secret_len, "message");
    } else {
        do_sub(c, &m);
    }
    memset(m.secret, 0, sizeof m.secret);
    td_alpaca_client_msg_free(&m);
}

void td__gw_client_rx(gw_client_t *c, const void *in, size_t len, int final, int binary)
{
    if (c->closing || c->dead || td__gw_guard_rx(c, len, final) != 0) return;
    if (c->rx.len == 0 && !c->rx_overflow) c->rx_binary = binary;
    if (!c->rx_overflow) {
        if (c->rx.len + len > c->g->cfg.max_message) {
            c->rx_overflow = 1;
            td_buf_free(&c->rx);
        } else {
            td_buf_append(&c->rx, in, len);
        }
    }
    if (!final) return;
    if (c->rx_overflow) {
        GW_LOG(TD_LOG_INFO, c->g, c, "client #%llu: message over %zu bytes dropped", ID(c),
               c->g->cfg.max_message);
        c->g->st.malformed++;
        td__gw_client_error(c, 400, 0);
    } else {
        on_message(c, c->rx.data ? c->rx.data : "", c->rx.len);
    }
    c->rx_overflow = 0;
    if (c->rx.cap > 65536)
        td_buf_free(&c->rx);
    else
        td_buf_reset(&c->rx);
}

/* ---- data out ------------------------------------------------------------------ */

static void slow(gw_client_t *c, const char *why)
{
    TD_WARN("client #%llu: %zu bytes queued, over the %s limit: slow client", ID(c), c->q.bytes,
            why);
    c->g->st.slow_disconnects++;
    td__gw_queue_free(&c->q); /* what it could not take is dropped, and it is told */
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
void td__gw_client_push(gw_client_t *c, gw_msg_t *m)
{
    /* A client that keeps up gets every quote; one that is behind gets the
     * newest value of each symbol in place of older unsent ones. */
    if (c->q.bytes >= c->g->cfg.conflate_after && td__gw_queue_conflate(&c->q, m))
        c->g->st.conflated++;
    else
        td__gw_queue_push(&c->q, m);
    check_limits(c, uv_now(c->g->loop));
    if (!c->closing) kick(c);
}

void td__gw_client_on_event(void *ud, const td_event_t *ev)
{
    gw_client_t *c = ud;
    if (c->closing || c->dead || !class_ok(c, ev)) return;
    if (c->since && td__gw_since_owns(c, ev)) return; /* served from history */
    gw_msg_t *m = td__gw_event_msg(c->g, ev, c->codec);
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
    const gw_codec_t *co = &td__gw_codecs[c->codec];
    gw_msg_t *m = td__gw_queue_peek(&c->q, 0);
    if (m->kind == GW_CONTROL) {
        td_buf_append(f, m->data, m->len);
        td__gw_msg_unref(td__gw_queue_pop(&c->q));
        return 0;
    }
    size_t n = 0, bytes = 0;
    for (gw_msg_t *x; (x = td__gw_queue_peek(&c->q, n)) && x->kind != GW_CONTROL; n++) {
        if (n && bytes + x->len > c->g->cfg.write_cap) break;
        bytes += x->len + 1;
    }
    co->open(f, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        gw_msg_t *x = td__gw_queue_pop(&c->q);
        if (i) co->sep(f);
        td_buf_append(f, x->data, x->len);
        c->g->st.events_out[x->kind]++;
        td__gw_msg_unref(x);
    }
    co->close(f);
    return (uint32_t)n;
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
    const td_gateway_cfg_t *cfg = &c->g->cfg;
    if (c->closing || c->dead) return;
    if (!c->authed && cfg->auth_timeout_s > 0 &&
        (double)(now - c->open_ms) >= cfg->auth_timeout_s * 1000.0) {
        c->g->st.auth_failures++;
        td__gw_client_error(c, 404, 1);
        return;
    }
    td__gw_guard_cron(c, now);
    if (c->soft_since_ms) check_limits(c, now);
}
