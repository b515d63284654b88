/* SPDX-License-Identifier: Apache-2.0 */
/* The feed's connection: a libuv TCP stream, TLS through core/tls.c for
 * wss://, the WebSocket upgrade and frames through proto/ws_client.c. Reads
 * go into one large buffer and every complete unfragmented message is handed
 * to the feed from there, without a copy (td__feed_message).
 *
 * A connection ends once: conn_end records why, detaches it from the feed
 * and closes the socket; the close callback tells the feed (which schedules
 * the reconnect) and frees it, so the feed never sees a half-closed
 * connection and callbacks already running can finish with their bytes. */
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/outq.h"
#include "core/tls.h"
#include "feed/feed_int.h"
#include "proto/ws_client.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes asked of the kernel per read: everything read joins the gateway
 * clients' queues before they are next written, so under load a bigger read
 * means more events per client frame (BENCHMARKS.md §5–7); when the
 * upstream is not behind, reads are as small as what arrived. */
#define READ_SIZE (256 * 1024)
#define TLS_READ  (64 * 1024)

typedef enum { C_TCP, C_TLS, C_UPGRADE, C_OPEN } phase_t;

struct td_wsconn_s {
    uv_tcp_t tcp;
    uv_connect_t creq;
    td_feed_t *f;
    phase_t phase;
    int closing;
    td_feed_retry_t reason;
    char why[512];
    td_rtls_t *tls;
    td_buf_t in;     /* plaintext from the server not yet read */
    td_buf_t cipher; /* TLS: what the socket delivered */
    td_buf_t out;    /* frames being built / records to send */
    td_outq_t q;     /* text messages of this loop turn (td__feed_conn_flush) */
    char key_b64[25];
    td_ws_reader_t rd;
};

typedef struct wreq_s {
    uv_write_t req;
    td_wsconn_t *c;
    char data[];
} wreq;

static void on_conn_closed(uv_handle_t *h)
{
    td_wsconn_t *c = h->data;
    td_feed_t *f = c->f;
    td_rtls_free(c->tls);
    td_buf_free(&c->in);
    td_buf_free(&c->cipher);
    td_buf_free(&c->out);
    td_outq_clear(&c->q);
    td_ws_reader_free(&c->rd);
    td__feed_closed(f, c->reason, c->why);
    free(c);
    td__feed_handle_closed(f);
}

/* Ends the connection (once): the feed hears of it from the close callback. */
static void conn_end(td_wsconn_t *c, td_feed_retry_t reason, const char *why)
{
    if (c->closing) return;
    c->closing = 1;
    c->reason = reason;
    snprintf(c->why, sizeof c->why, "%s", why);
    if (c->f->conn == c) c->f->conn = NULL;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_written(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    td_wsconn_t *c = w->c;
    free(w);
    if (status < 0 && status != UV_ECANCELED && !c->closing) {
        char why[160];
        snprintf(why, sizeof why, "connection lost: write: %s", uv_strerror(status));
        conn_end(c, c->phase == C_OPEN ? TD_FEED_RETRY_CLOSED : TD_FEED_RETRY_CONNECT, why);
    }
}

/* Sends n bytes that are already on the wire's format (TLS records or
 * plain): a copy travels with the write request. */
static void send_wire(td_wsconn_t *c, const char *p, size_t n)
{
    if (!n || c->closing) return;
    wreq *w = td_xmalloc(sizeof *w + n);
    w->c = c;
    memcpy(w->data, p, n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc < 0) {
        free(w);
        char why[160];
        snprintf(why, sizeof why, "connection lost: write: %s", uv_strerror(rc));
        conn_end(c, c->phase == C_OPEN ? TD_FEED_RETRY_CLOSED : TD_FEED_RETRY_CONNECT, why);
    }
}

/* Sends plaintext: through TLS when the URL is wss://. */
static void send_plain(td_wsconn_t *c, const char *p, size_t n)
{
    if (!c->tls) {
        send_wire(c, p, n);
        return;
    }
    td_buf_t wire = TD_BUF_INIT;
    char err[256];
    if (td_rtls_write(c->tls, p, n, &wire, err, sizeof err) != 0)
        conn_end(c, TD_FEED_RETRY_CLOSED, err);
    else
        send_wire(c, wire.data, wire.len);
    td_buf_free(&wire);
}

static void send_frame(td_wsconn_t *c, int opcode, const char *p, size_t n)
{
    uint8_t mask[4];
    if (RAND_bytes(mask, sizeof mask) != 1) abort(); /* no CSPRNG: nothing is safe */
    c->out.len = 0;
    if (opcode == TD_WS_CLOSE)
        td_ws_close_frame(&c->out, (int)n, mask);
    else
        td_ws_frame(&c->out, opcode, p, n, mask);
    send_plain(c, c->out.data, c->out.len);
    if (c->out.cap > (1u << 20)) td_buf_free(&c->out);
}

static void send_upgrade(td_wsconn_t *c)
{
    td_feed_t *f = c->f;
    uint8_t key[16];
    if (RAND_bytes(key, sizeof key) != 1) abort();
    c->out.len = 0;
    td_ws_upgrade_request(&c->out, f->host, f->port, f->tls, f->path, key, c->key_b64);
    c->phase = C_UPGRADE;
    send_plain(c, c->out.data, c->out.len);
}

/* ---- frames in ------------------------------------------------------------------- */

static int on_message(void *ud, const char *p, size_t n, int binary)
{
    td_wsconn_t *c = ud;
    (void)binary;
    td__feed_message(c->f, p, n);
    return c->closing;
}

static int on_control(void *ud, int opcode, int code, const char *p, size_t n)
{
    td_wsconn_t *c = ud;
    if (opcode == TD_WS_PING) {
        send_frame(c, TD_WS_PONG, p, n);
    } else if (opcode == TD_WS_CLOSE) {
        char why[200];
        int m = 0;
        while ((size_t)m < n && m < 100 && p[m] >= 0x20 && p[m] < 0x7f)
            m++;
        snprintf(why, sizeof why, "connection closed by the server (close code %d%s%.*s)", code,
                 m ? ": " : "", m, p);
        send_frame(c, TD_WS_CLOSE, NULL, code == TD_WS_CLOSE_NONE ? 1000 : (size_t)code);
        conn_end(c, TD_FEED_RETRY_CLOSED, why);
    }
    return c->closing;
}

static int on_skipped(void *ud, uint64_t n, int first)
{
    td_wsconn_t *c = ud;
    td__feed_skipped(c->f, n, first);
    return c->closing;
}

static const td_ws_handler_t handler = {on_message, on_control, on_skipped};

/* The upgrade answer, then frames, from what is in c->in. */
static void read_plain(td_wsconn_t *c)
{
    if (c->phase == C_UPGRADE) {
        char err[256], why[300];
        int status;
        ssize_t h =
            td_ws_upgrade_response(c->in.data, c->in.len, c->key_b64, &status, err, sizeof err);
        if (h == 0) return;
        if (h < 0) {
            snprintf(why, sizeof why, "connect failed: %s", err);
            conn_end(c, TD_FEED_RETRY_CONNECT, why);
            return;
        }
        td_buf_consume(&c->in, (size_t)h);
        c->phase = C_OPEN;
        td__feed_established(c->f);
        if (c->closing) return;
    }
    ssize_t used = td_ws_read(&c->rd, c->in.data, c->in.len, &handler, c);
    if (c->closing) return;
    if (used < 0) {
        char why[200];
        snprintf(why, sizeof why, "WebSocket protocol error from the server: %s", c->rd.err);
        td__feed_kill(c->f, why);
        return;
    }
    td_buf_consume(&c->in, (size_t)used);
    if (c->in.cap > 4 * READ_SIZE && c->in.len < READ_SIZE && c->rd.need < READ_SIZE) {
        td_buf_t keep = TD_BUF_INIT; /* do not keep a huge buffer after a huge frame */
        td_buf_append(&keep, c->in.data, c->in.len);
        td_buf_free(&c->in);
        c->in = keep;
    }
}

/* ---- TLS ------------------------------------------------------------------------- */

/* A failed TLS handshake in words. */
static void tls_failed(td_wsconn_t *c, const char *err)
{
    char why[400];
    const char *verify = td_rtls_verify_error(c->tls);
    if (verify)
        snprintf(why, sizeof why,
                 "connect failed: TLS certificate verification failed for %s: %s (check "
                 "--ca-file)",
                 c->f->host, verify);
    else if (!err || strstr(err, "wrong version number") || strstr(err, "packet length") ||
             strstr(err, "http request"))
        snprintf(why, sizeof why,
                 "TLS handshake failed: the server did not speak TLS (a ws:// server behind a "
                 "wss:// URL?)%s",
                 err ? "" : ": it closed the connection during the handshake");
    else
        snprintf(why, sizeof why, "%s", err);
    conn_end(c, TD_FEED_RETRY_CONNECT, why);
}

static void tls_handshake(td_wsconn_t *c)
{
    char err[256];
    c->out.len = 0;
    int rc = td_rtls_handshake(c->tls, &c->out, err, sizeof err);
    send_wire(c, c->out.data, c->out.len);
    if (rc < 0) tls_failed(c, err);
    if (rc == 1 && !c->closing) send_upgrade(c);
}

static void read_tls(td_wsconn_t *c, const char *p, size_t n)
{
    char err[256];
    td_rtls_feed(c->tls, p, n);
    if (c->phase == C_TLS) {
        tls_handshake(c);
        if (c->closing || c->phase == C_TLS) return;
    }
    if (td_rtls_read(c->tls, &c->in, err, sizeof err) != 0) {
        read_plain(c); /* what came before the end */
        if (!c->closing)
            conn_end(c, c->phase == C_OPEN ? TD_FEED_RETRY_CLOSED : TD_FEED_RETRY_CONNECT, err);
        return;
    }
    read_plain(c);
}

/* ---- the socket ------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    td_wsconn_t *c = h->data;
    (void)hint;
    td_buf_t *b = c->tls ? &c->cipher : &c->in;
    size_t want = c->tls ? TLS_READ : READ_SIZE;
    if (!c->tls && c->rd.need > b->len && c->rd.need - b->len > want) want = c->rd.need - b->len;
    if (c->tls) b->len = 0;
    td_buf_reserve(b, want);
    buf->base = b->data + b->len;
    buf->len = b->cap - b->len - 1;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    td_wsconn_t *c = s->data;
    if (nread == 0 || c->closing) return;
    td_feed_t *f = c->f;
    if (nread < 0 && c->phase == C_TLS) {
        tls_failed(c, nread == UV_EOF ? NULL : uv_strerror((int)nread));
        return;
    }
    if (nread < 0) {
        char why[200];
        if (c->phase == C_UPGRADE)
            snprintf(why, sizeof why, "connect failed: %s before the upgrade answer",
                     nread == UV_EOF ? "connection closed" : uv_strerror((int)nread));
        else if (nread == UV_EOF)
            snprintf(why, sizeof why, "connection closed");
        else
            snprintf(why, sizeof why, "connection lost: %s", uv_strerror((int)nread));
        conn_end(c, c->phase == C_OPEN ? TD_FEED_RETRY_CLOSED : TD_FEED_RETRY_CONNECT, why);
        return;
    }
    f->last_rx_ms = td_mono_ms();
    if (c->tls) {
        read_tls(c, buf->base, (size_t)nread);
    } else {
        c->in.len += (size_t)nread;
        c->in.data[c->in.len] = '\0';
        read_plain(c);
    }
}

static void on_connected(uv_connect_t *req, int status)
{
    td_wsconn_t *c = req->data;
    td_feed_t *f = c->f;
    if (c->closing) return;
    if (status < 0) {
        char why[200];
        snprintf(why, sizeof why, "connect to %s:%d failed: %s", f->addr, f->port,
                 strerror(-status));
        conn_end(c, TD_FEED_RETRY_CONNECT, why);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (f->tls) {
        c->tls = td_rtls_new(f->tls_ctx, f->host);
        c->phase = C_TLS;
        tls_handshake(c);
    } else {
        send_upgrade(c);
    }
}

void td__feed_conn_open(td_feed_t *f)
{
    struct sockaddr_in sa;
    td_wsconn_t *c = td_xcalloc(1, sizeof *c);
    c->f = f;
    c->tcp.data = c->creq.data = c;
    td_ws_reader_init(&c->rd, f->max_message);
    uv_tcp_init(f->loop, &c->tcp);
    f->conn = c;
    f->open_handles++;
    f->conn_started_ms = td_mono_ms();
    uv_ip4_addr(f->addr, f->port, &sa);
    TD_DEBUG("upstream %s: connecting to %s", f->url, f->addr);
    int rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&sa, on_connected);
    if (rc < 0) {
        char why[200];
        snprintf(why, sizeof why, "connect to %s:%d failed: %s", f->addr, f->port, uv_strerror(rc));
        conn_end(c, TD_FEED_RETRY_CONNECT, why);
    }
}

int td__feed_conn_queue(td_feed_t *f, const char *p, size_t n)
{
    td_wsconn_t *c = f->conn;
    if (!c || c->closing || c->phase != C_OPEN) return -1;
    td_outmsg_t *m = td_outmsg_new(p, n, TD_OUTQ_CONTROL, 0, 0);
    td_outq_push(&c->q, m);
    td_outmsg_unref(m);
    return 0;
}

void td__feed_conn_flush(td_feed_t *f)
{
    td_wsconn_t *c = f->conn;
    if (!c || !c->q.n) return;
    if (c->closing) {
        td_outq_clear(&c->q);
        return;
    }
    c->out.len = 0;
    for (td_outmsg_t *m; (m = td_outq_pop(&c->q)); td_outmsg_unref(m)) {
        uint8_t mask[4];
        if (RAND_bytes(mask, sizeof mask) != 1) abort(); /* no CSPRNG: nothing is safe */
        td_ws_frame(&c->out, TD_WS_TEXT, m->data, m->len, mask);
    }
    send_plain(c, c->out.data, c->out.len); /* every frame in one write */
    if (c->out.cap > (1u << 20)) td_buf_free(&c->out);
}

int td__feed_conn_send(td_feed_t *f, int opcode, const char *p, size_t n)
{
    td_wsconn_t *c = f->conn;
    if (!c || c->closing || c->phase != C_OPEN) return -1;
    td__feed_conn_flush(f); /* what was queued goes first */
    send_frame(c, opcode, p, n);
    return 0;
}

void td__feed_conn_close(td_feed_t *f, td_feed_retry_t reason, const char *why)
{
    td_wsconn_t *c = f->conn;
    if (!c) return;
    if (c->phase == C_OPEN) td__feed_conn_flush(f); /* queued messages before the close */
    if (c->phase == C_OPEN && !c->closing) { /* a courtesy: cancelled if it cannot go at once */
        uint8_t mask[4] = {0};
        td_buf_t wire = TD_BUF_INIT;
        char err[64];
        RAND_bytes(mask, sizeof mask);
        c->out.len = 0;
        td_ws_close_frame(&c->out, 1000, mask);
        if (c->tls && td_rtls_write(c->tls, c->out.data, c->out.len, &wire, err, sizeof err) == 0)
            send_wire(c, wire.data, wire.len);
        else if (!c->tls)
            send_wire(c, c->out.data, c->out.len);
        td_buf_free(&wire);
    }
    conn_end(c, reason, why);
}
