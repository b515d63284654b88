/* SPDX-License-Identifier: Apache-2.0 */
/* Load generator for tickerd's gateway (`tickerd run --listen`): N WebSocket
 * clients in Alpaca's protocol on one libuv loop, with a minimal hand-written
 * WebSocket client (HTTP/1.1 upgrade, masked client frames, unmasked server
 * frames with 7/16/64-bit lengths, continuation frames, ping -> pong).
 *
 *   bench_gw --port P --clients N [--key K --secret S] [--path /v2/iex]
 *            [--symbols 1000] [--per-client 10] [--seed 1] [--inflight 256]
 *            [--settle-ms 300] [--window S --record FILE [--drain-max S]]
 *            [--hold S] [--counts FILE]
 *
 * Every client authenticates, then subscribes trades and quotes of
 * --per-client of the sim's --symbols symbols (client i: symbols
 * (i * per + j) mod symbols, so every symbol has N * per / symbols
 * subscribers; the names are the simulator's, from its generator). Once all
 * are subscribed it prints "ready ..." and the measuring window starts
 * --settle-ms later: [T0, T1 = T0 + --window).
 *
 * An event is in the window when its "t" (the sim's send time) is; for each
 * such event two latencies go into log-linear histograms (1 us resolution,
 * 2048 sub-buckets per power of two: 3 significant digits, up to 10 s):
 * "read", now (CLOCK_REALTIME) - t when this process parsed it, and
 * "kernel", the socket's receive timestamp (SO_TIMESTAMPING, software, also
 * CLOCK_REALTIME) - t: when the bytes reached the client's socket, without
 * the time they then waited for this single-threaded process to read them.
 * A read covering several segments carries the last one's stamp, so the
 * kernel figure can only err late. What each client should have got comes
 * from the sim's --record file (every event the sim built, in build order):
 * the events of the client's symbols with t in the window. The run ends when
 * every client got exactly that (the "drain" time is when the last in-window
 * event arrived, after T1), or --drain-max seconds after T1.
 *
 * --hold S instead: no window, clients stay subscribed S seconds (or until
 * SIGTERM/SIGINT), for memory measurements.
 *
 * Output: progress lines, then one line "RESULT {json}". Exit status 0
 * unless the generator itself failed (a client error is reported, not
 * fatal). */
#include "core/buf.h"
#include "core/clock.h"
#include "sim/sim_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/* ---- options ------------------------------------------------------------------ */

static struct {
    const char *host, *path, *key, *secret, *record, *counts;
    int port, clients, symbols, per, inflight, settle_ms;
    uint64_t seed;
    double window, drain_max, hold;
} opt = {"127.0.0.1", "/v2/iex", "bench", "bench", NULL, NULL, 0, 1000,
         1000,        10,        256,     300,     1,    0,    0, 0};

/* ---- latency histogram (HdrHistogram-like, values in us) ------------------------ */

#define H_SUB  2048 /* values below are exact; above, 1024 sub-buckets per power of two */
#define H_HALF 1024
#define H_MAX  10000000ull /* 10 s */
#define H_N    (H_SUB + 24 * H_HALF)

typedef struct {
    uint64_t v[H_N], count, over, neg;
    int64_t max_ns;
} hist_t;

static hist_t h_read, h_kern; /* see the top of the file */
static uint64_t h_unstamped;  /* events read without a kernel timestamp */

static int h_index(uint64_t v)
{
    if (v < H_SUB) return (int)v;
    int sh = 63 - __builtin_clzll(v) - 10; /* v >> sh in [1024, 2047] */
    return H_SUB + (sh - 1) * H_HALF + (int)((v >> sh) - H_HALF);
}

/* Highest value that lands in bucket i (what HdrHistogram reports). */
static uint64_t h_value(int i)
{
    if (i < H_SUB) return (uint64_t)i;
    int sh = (i - H_SUB) / H_HALF + 1;
    uint64_t sub = (uint64_t)((i - H_SUB) % H_HALF + H_HALF);
    return ((sub + 1) << sh) - 1;
}

static void h_record(hist_t *h, int64_t ns)
{
    if (ns > h->max_ns) h->max_ns = ns;
    if (ns < 0) {
        h->neg++;
        ns = 0;
    }
    uint64_t us = (uint64_t)(ns + 500) / 1000;
    if (us > H_MAX) {
        h->over++;
        us = H_MAX;
    }
    h->v[h_index(us)]++;
    h->count++;
}

static uint64_t h_pct(const hist_t *h, double p)
{
    if (!h->count) return 0;
    uint64_t want = (uint64_t)(p / 100.0 * (double)h->count + 0.999999), acc = 0;
    if (want < 1) want = 1;
    for (int i = 0; i < H_N; i++) {
        acc += h->v[i];
        if (acc >= want) return h_value(i);
    }
    return H_MAX;
}

static void h_print(const char *name, const hist_t *h)
{
    printf(",\"%s\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64
           ",\"max\":%.0f,\"n\":%" PRIu64 ",\"negative\":%" PRIu64 ",\"over_10s\":%" PRIu64 "}",
           name, h_pct(h, 50), h_pct(h, 90), h_pct(h, 99), h_pct(h, 99.9),
           (double)h->max_ns / 1000.0, h->count, h->neg, h->over);
}

/* ---- symbols -------------------------------------------------------------------- */

static char (*sym_name)[16];
static uint64_t *sym_count; /* events of the symbol the sim built with t in the window */
static int32_t *sym_tab;    /* open addressing: index + 1, 0 empty */
static size_t sym_cap;

static uint32_t sym_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int sym_find(const char *s, size_t n)
{
    for (size_t i = sym_hash(s, n) & (sym_cap - 1);; i = (i + 1) & (sym_cap - 1)) {
        int32_t v = sym_tab[i];
        if (!v) return -1;
        if (strlen(sym_name[v - 1]) == n && memcmp(sym_name[v - 1], s, n) == 0) return v - 1;
    }
}

static void symbols_init(void)
{
    td_sim_gen_t *g = td__sim_gen_new(td_vendor_find("/v2/iex"), opt.seed, (size_t)opt.symbols);
    sym_name = calloc((size_t)opt.symbols, sizeof *sym_name);
    sym_count = calloc((size_t)opt.symbols, sizeof *sym_count);
    for (sym_cap = 64; sym_cap < (size_t)opt.symbols * 2; sym_cap *= 2) {
    }
    sym_tab = calloc(sym_cap, sizeof *sym_tab);
    for (int i = 0; i < opt.symbols; i++) {
        size_t n;
        const char *s = td__sim_gen_symbol(g, (size_t)i, &n);
        snprintf(sym_name[i], sizeof sym_name[i], "%.*s", (int)n, s);
        size_t j = sym_hash(s, n) & (sym_cap - 1);
        while (sym_tab[j])
            j = (j + 1) & (sym_cap - 1);
        sym_tab[j] = i + 1;
    }
    td__sim_gen_free(g);
}

static int client_sym(int client, int j)
{
    return (int)(((int64_t)client * opt.per + j) % opt.symbols);
}

/* ---- clients ------------------------------------------------------------------ */

enum { C_IDLE, C_CONNECTING, C_UPGRADING, C_OPEN, C_AUTHING, C_SUBSCRIBING, C_READY, C_CLOSED };

typedef struct {
    uv_poll_t poll;
    int fd, idx, state, handle_open;
    int msg_op;   /* opcode of a fragmented message being reassembled; 0: none */
    td_buf_t in;  /* bytes of an incomplete frame (or of the HTTP response) */
    td_buf_t msg; /* fragments of a message */
    uint64_t events, win, expected;
    int err;
} conn_t;

static uv_loop_t *loop;
static conn_t *conns;
static int next_conn, inflight, n_ready, n_failed, n_closed, n_errors, all_ready;
static int64_t t_start_ns, t_ready_ns, T0 = INT64_MAX, T1 = INT64_MAX, last_win_ns;
static uint64_t total_events, total_win, frames, bytes_in, control_msgs, pings;
static struct sockaddr_in addr;
static uv_timer_t timer;
static uv_signal_t sigs[2];
static char rdbuf[1 << 18];
static char first_err[256];
static int64_t rx_stamp_ns; /* the kernel's receive time of the bytes being parsed; 0: none */

static void start_more(void);

static void note_err(conn_t *c, const char *what)
{
    n_errors++;
    if (!first_err[0]) snprintf(first_err, sizeof first_err, "client %d: %s", c->idx, what);
    if (n_errors <= 5) fprintf(stderr, "bench_gw: client %d: %s\n", c->idx, what);
}

static void on_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    c->handle_open = 0;
    close(c->fd);
    td_buf_free(&c->in);
    td_buf_free(&c->msg);
}

static void conn_close(conn_t *c)
{
    if (c->state == C_CLOSED) return;
    if (c->state < C_READY) { /* it never got ready: it counts as failed */
        inflight--;
        n_failed++;
    } else {
        n_closed++;
    }
    c->state = C_CLOSED;
    if (c->handle_open && !uv_is_closing((uv_handle_t *)&c->poll))
        uv_close((uv_handle_t *)&c->poll, on_closed);
    else if (!c->handle_open && c->fd >= 0)
        close(c->fd);
    if (!c->handle_open) c->fd = -1;
    start_more();
}

/* Client messages are few and small (upgrade, auth, subscribe, pongs): the
 * socket's send buffer takes each whole, or the client has failed. */
static void send_raw(conn_t *c, const char *p, size_t n)
{
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
    if (w != (ssize_t)n) note_err(c, w < 0 ? strerror(errno) : "short write");
}

/* One masked client frame (RFC 6455 5.3). */
static void send_frame(conn_t *c, int op, const char *p, size_t n)
{
    td_buf_t f = TD_BUF_INIT;
    td_buf_reserve(&f, n + 14);
    unsigned char *h = (unsigned char *)f.data;
    size_t hl = 2;
    h[0] = (unsigned char)(0x80 | op);
    if (n < 126) {
        h[1] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        h[1] = 0x80 | 126;
        h[2] = (unsigned char)(n >> 8), h[3] = (unsigned char)n;
        hl = 4;
    } else {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
        hl = 10;
    }
    uint32_t r = (uint32_t)rand();
    unsigned char mask[4] = {(unsigned char)r, (unsigned char)(r >> 8), (unsigned char)(r >> 16),
                             (unsigned char)(r >> 24)};
    memcpy(h + hl, mask, 4);
    hl += 4;
    for (size_t i = 0; i < n; i++)
        h[hl + i] = (unsigned char)p[i] ^ mask[i & 3];
    send_raw(c, f.data, hl + n);
    td_buf_free(&f);
}

static void send_auth(conn_t *c)
{
    char b[512];
    int n = snprintf(b, sizeof b, "{\"action\":\"auth\",\"key\":\"%s\",\"secret\":\"%s\"}", opt.key,
                     opt.secret);
    send_frame(c, 1, b, (size_t)n);
}

static void send_subscribe(conn_t *c)
{
    td_buf_t b = TD_BUF_INIT;
    td_buf_appends(&b, "{\"action\":\"subscribe\"");
    static const char *kinds[] = {"trades", "quotes"};
    for (int k = 0; k < 2; k++) {
        td_buf_appendf(&b, ",\"%s\":[", kinds[k]);
        for (int j = 0; j < opt.per; j++)
            td_buf_appendf(&b, "%s\"%s\"", j ? "," : "", sym_name[client_sym(c->idx, j)]);
        td_buf_appendc(&b, ']');
    }
    td_buf_appendc(&b, '}');
    send_frame(c, 1, b.data, b.len);
    td_buf_free(&b);
}

static void check_all_ready(void)
{
    if (all_ready || n_ready + n_failed < opt.clients) return;
    all_ready = 1;
    t_ready_ns = td_now_ns();
    T0 = t_ready_ns + (int64_t)opt.settle_ms * 1000000;
    if (opt.window > 0) T1 = T0 + (int64_t)(opt.window * 1e9);
    char ts[TD_RFC3339_MAX + 1];
    ts[td_rfc3339_format(ts, T0)] = 0;
    printf("ready: %d subscribed, %d failed, in %.2f s; window from %s\n", n_ready, n_failed,
           (double)(t_ready_ns - t_start_ns) / 1e9, ts);
    fflush(stdout);
}

/* Data events of one message: count them, and time those in the window. */
static void on_data(conn_t *c, const char *p, size_t n, int64_t now)
{
    const char *end = p + n;
    while (p < end) {
        const char *e = memmem(p, (size_t)(end - p), "{\"T\":\"", 6);
        if (!e) break;
        const char *t = memmem(e + 6, (size_t)(end - e - 6), "\"t\":\"", 5);
        if (!t) break;
        t += 5;
        const char *q = memchr(t, '"', (size_t)(end - t));
        if (!q) break;
        p = q + 1;
        int64_t ts;
        c->events++;
        total_events++;
        if (td_rfc3339_parse(t, (size_t)(q - t), &ts) != 0) continue;
        if (ts >= T0 && ts < T1) {
            c->win++;
            total_win++;
            last_win_ns = now;
            h_record(&h_read, now - ts);
            if (rx_stamp_ns)
                h_record(&h_kern, rx_stamp_ns - ts);
            else
                h_unstamped++;
        }
    }
}

static void on_message(conn_t *c, const char *p, size_t n)
{
    int64_t now = td_now_ns();
    /* control frames go alone: [{"T":"success"...}], [{"T":"subscription"...}],
     * [{"T":"error"...}]; a data event's T is one letter */
    if (n > 9 && memcmp(p, "[{\"T\":\"", 7) == 0 && p[8] == '"') {
        on_data(c, p, n, now);
        return;
    }
    control_msgs++;
    if (memmem(p, n, "\"T\":\"error\"", 11)) {
        const char *k = memmem(p, n, "\"code\":", 7);
        c->err = k ? atoi(k + 7) : -1;
        char what[160];
        snprintf(what, sizeof what, "%.*s", (int)(n < 150 ? n : 150), p);
        note_err(c, what);
        return;
    }
    if (c->state == C_OPEN && memmem(p, n, "\"connected\"", 11)) {
        c->state = C_AUTHING;
        send_auth(c);
    } else if (c->state == C_AUTHING && memmem(p, n, "\"authenticated\"", 15)) {
        c->state = C_SUBSCRIBING;
        send_subscribe(c);
    } else if (c->state == C_SUBSCRIBING && memmem(p, n, "\"T\":\"subscription\"", 18)) {
        c->state = C_READY;
        n_ready++;
        inflight--;
        start_more();
        check_all_ready();
    }
}

static void on_frame(conn_t *c, int fin, int op, const char *p, size_t n)
{
    switch (op) {
    case 0x0: /* continuation */
        if (!c->msg_op) {
            note_err(c, "continuation frame without a first fragment");
            return;
        }
        td_buf_append(&c->msg, p, n);
        if (fin) {
            on_message(c, c->msg.data, c->msg.len);
            c->msg_op = 0;
            if (c->msg.cap > (1u << 20))
                td_buf_free(&c->msg);
            else
                td_buf_reset(&c->msg);
        }
        break;
    case 0x1:
    case 0x2:
        if (fin) {
            on_message(c, p, n);
        } else {
            c->msg_op = op;
            td_buf_reset(&c->msg);
            td_buf_append(&c->msg, p, n);
        }
        break;
    case 0x8:
        note_err(c, "closed by the server (close frame)");
        conn_close(c);
        break;
    case 0x9:
        pings++;
        send_frame(c, 0xA, p, n);
        break;
    default:
        break;
    }
}

/* Consumes complete frames (and the HTTP response) from p; returns the bytes
 * used. Writes to p (unmasking, should the server mask). */
static size_t parse(conn_t *c, char *p, size_t n)
{
    size_t off = 0;
    if (c->state == C_UPGRADING) {
        char *e = memmem(p, n, "\r\n\r\n", 4);
        if (!e) return 0;
        if (n < 12 || memcmp(p + 9, "101", 3) != 0) {
            char what[120];
            snprintf(what, sizeof what, "upgrade refused: %.*s", (int)(n < 60 ? n : 60), p);
            note_err(c, what);
            conn_close(c);
            return n;
        }
        off = (size_t)(e + 4 - p);
        c->state = C_OPEN;
    }
    while (c->state != C_CLOSED && n - off >= 2) {
        const unsigned char *h = (const unsigned char *)p + off;
        size_t avail = n - off, hl = 2;
        uint64_t len = h[1] & 0x7f;
        if (len == 126) {
            if (avail < 4) break;
            len = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | h[2 + i];
            hl = 10;
        }
        int masked = h[1] & 0x80;
        if (masked) hl += 4;
        if (avail < hl || avail - hl < len) break;
        char *pl = p + off + hl;
        if (masked)
            for (uint64_t i = 0; i < len; i++)
                pl[i] ^= (char)h[hl - 4 + (i & 3)];
        frames++;
        on_frame(c, h[0] & 0x80, h[0] & 0x0f, pl, (size_t)len);
        off += hl + (size_t)len;
    }
    return off;
}

static int64_t rx_stamp(struct msghdr *mh)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPING) continue;
        struct scm_timestamping ts;
        memcpy(&ts, CMSG_DATA(cm), sizeof ts);
        return (int64_t)ts.ts[0].tv_sec * 1000000000 + ts.ts[0].tv_nsec;
    }
    return 0;
}

static void on_bytes(conn_t *c, char *p, size_t nread)
{
    bytes_in += (uint64_t)nread;
    if (c->in.len == 0) { /* the common case: parse in place, keep the tail */
        size_t used = parse(c, p, nread);
        if (c->state != C_CLOSED && used < nread) td_buf_append(&c->in, p + used, nread - used);
    } else {
        td_buf_append(&c->in, p, nread);
        size_t used = parse(c, c->in.data, c->in.len);
        if (c->state == C_CLOSED) return;
        td_buf_consume(&c->in, used);
        if (c->in.len == 0 && c->in.cap > (1u << 17)) td_buf_free(&c->in);
    }
}

static void read_some(conn_t *c)
{
    char ctl[256];
    struct iovec iov = {rdbuf, sizeof rdbuf};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    ssize_t nread = recvmsg(c->fd, &mh, 0);
    if (nread < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (nread <= 0) {
        if (c->state != C_CLOSED) note_err(c, nread == 0 ? "EOF" : strerror(errno));
        conn_close(c);
        return;
    }
    rx_stamp_ns = rx_stamp(&mh);
    on_bytes(c, rdbuf, (size_t)nread);
}

static void on_poll(uv_poll_t *h, int status, int events);

static void on_connected(conn_t *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err) {
        note_err(c, strerror(err));
        conn_close(c);
        return;
    }
    char b[512];
    int n = snprintf(b, sizeof b,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     opt.path, opt.host, opt.port);
    c->state = C_UPGRADING;
    send_raw(c, b, (size_t)n);
    uv_poll_start(&c->poll, UV_READABLE, on_poll);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    conn_t *c = h->data;
    if (c->state == C_CLOSED) return;
    if (status < 0) {
        note_err(c, uv_strerror(status));
        conn_close(c);
    } else if (c->state == C_CONNECTING) {
        on_connected(c);
    } else if (events & UV_READABLE) {
        read_some(c);
    }
}

/* A non-blocking socket with receive timestamps, polled by libuv (the
 * stamps need recvmsg, which uv_tcp_t's reads do not use). */
static int conn_start(conn_t *c)
{
    int one = 1, ts = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return -errno;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPING, &ts, sizeof ts) != 0) return -errno;
    if (connect(c->fd, (const struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS)
        return -errno;
    int rc = uv_poll_init_socket(loop, &c->poll, c->fd);
    if (rc != 0) return rc;
    c->poll.data = c;
    c->handle_open = 1;
    return uv_poll_start(&c->poll, UV_WRITABLE, on_poll);
}

static void start_more(void)
{
    while (inflight < opt.inflight && next_conn < opt.clients) {
        conn_t *c = &conns[next_conn];
        c->idx = next_conn++;
        inflight++;
        c->state = C_CONNECTING;
        int rc = conn_start(c);
        if (rc != 0) {
            note_err(c, uv_strerror(rc)); /* libuv's codes are -errno */
            conn_close(c);
        }
    }
}

/* ---- the sim's record: what each client should get ------------------------------ */

static int rec_fd = -1, rec_done;
static td_buf_t rec_buf;
static uint64_t rec_lines, rec_unknown;
static int expected_set;

/* Reads the complete lines written so far; rec_done once an event with t >=
 * T1 was seen (the file is in build order, so every event before it is in). */
static void read_record(void)
{
    if (rec_fd < 0 || rec_done || T0 == INT64_MAX) return;
    for (;;) {
        td_buf_reserve(&rec_buf, 1 << 20);
        ssize_t r = read(rec_fd, rec_buf.data + rec_buf.len, rec_buf.cap - rec_buf.len - 1);
        if (r <= 0) break;
        rec_buf.len += (size_t)r;
        char *p = rec_buf.data, *end = p + rec_buf.len, *nl;
        while (!rec_done && (nl = memchr(p, '\n', (size_t)(end - p)))) {
            size_t n = (size_t)(nl - p);
            const char *s = memmem(p, n, "\"S\":\"", 5), *t = memmem(p, n, "\"t\":\"", 5);
            if (s && t) {
                s += 5, t += 5;
                const char *se = memchr(s, '"', (size_t)(nl - s)),
                           *te = memchr(t, '"', (size_t)(nl - t));
                int64_t ts;
                if (se && te && td_rfc3339_parse(t, (size_t)(te - t), &ts) == 0) {
                    rec_lines++;
                    if (ts >= T1) {
                        rec_done = 1;
                    } else if (ts >= T0) {
                        int i = sym_find(s, (size_t)(se - s));
                        if (i >= 0)
                            sym_count[i]++;
                        else
                            rec_unknown++;
                    }
                }
            }
            p = nl + 1;
        }
        td_buf_consume(&rec_buf, (size_t)(p - rec_buf.data));
        if (rec_done) break;
    }
}

static void set_expected(void)
{
    expected_set = 1;
    for (int i = 0; i < opt.clients; i++) {
        conns[i].expected = 0;
        for (int j = 0; j < opt.per; j++)
            conns[i].expected += sym_count[client_sym(i, j)];
    }
}

/* ---- the end ---------------------------------------------------------------------- */

static void finish(const char *why)
{
    int64_t now = td_now_ns();
    uint64_t expected = 0, received = 0, missing = 0, extra = 0;
    int complete = 0, ready_now = 0, short_clients = 0, over_clients = 0;
    FILE *cf = opt.counts ? fopen(opt.counts, "w") : NULL;
    for (int i = 0; i < opt.clients; i++) {
        conn_t *c = &conns[i];
        ready_now += c->state == C_READY;
        expected += c->expected;
        received += c->win;
        if (c->win < c->expected) missing += c->expected - c->win, short_clients++;
        if (c->win > c->expected) extra += c->win - c->expected, over_clients++;
        complete += c->win == c->expected;
        if (cf)
            fprintf(cf, "%d %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %d\n", i,
                    sym_name[client_sym(i, 0)], c->expected, c->win, c->events, c->err);
    }
    if (cf) fclose(cf);
    double w = opt.window;
    uint64_t sym_total = 0;
    for (int i = 0; i < opt.symbols; i++)
        sym_total += sym_count[i];
    printf("RESULT {\"why\":\"%s\",\"clients\":%d,\"subscribed\":%d,\"failed\":%d,"
           "\"connected_at_end\":%d,\"closed\":%d,\"errors\":%d,\"first_error\":\"",
           why, opt.clients, n_ready, n_failed, ready_now, n_closed, n_errors);
    for (const char *p = first_err; *p; p++)
        if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) putchar(*p);
    printf(
        "\",\"setup_s\":%.3f,\"window_s\":%.3f,\"record_complete\":%s,\"record_lines\":%" PRIu64
        ",\"record_unknown_symbols\":%" PRIu64 ",\"sim_events_in_window\":%" PRIu64
        ",\"sim_rate_in_window\":%.0f,\"expected\":%" PRIu64 ",\"received\":%" PRIu64
        ",\"missing\":%" PRIu64 ",\"extra\":%" PRIu64 ",\"complete_clients\":%d,"
        "\"short_clients\":%d,\"over_clients\":%d,\"delivered_per_s\":%.0f,"
        "\"drain_s\":%.3f,\"events_total\":%" PRIu64 ",\"frames\":%" PRIu64 ",\"bytes_in\":%" PRIu64
        ",\"control_msgs\":%" PRIu64 ",\"pings\":%" PRIu64 ",\"unstamped\":%" PRIu64,
        (double)(t_ready_ns ? t_ready_ns - t_start_ns : 0) / 1e9, w, rec_done ? "true" : "false",
        rec_lines, rec_unknown, sym_total, w > 0 ? (double)sym_total / w : 0.0, expected, received,
        missing, extra, complete, short_clients, over_clients, w > 0 ? (double)received / w : 0.0,
        last_win_ns && T1 != INT64_MAX ? (double)(last_win_ns - T1) / 1e9 : 0.0, total_events,
        frames, bytes_in, control_msgs, pings, h_unstamped);
    h_print("latency_us", &h_read);
    h_print("latency_kernel_us", &h_kern);
    printf(",\"ran_s\":%.3f}\n", (double)(now - t_start_ns) / 1e9);
    fflush(stdout);
    exit(0);
}

static void tick(uv_timer_t *t)
{
    (void)t;
    int64_t now = td_now_ns();
    if (!all_ready) {
        if (now - t_start_ns > 90 * 1000000000ll) finish("setup timed out");
        return;
    }
    if (opt.hold > 0) {
        if (now >= T0 + (int64_t)(opt.hold * 1e9)) finish("hold over");
        return;
    }
    if (T1 == INT64_MAX || now < T1) return;
    if (!expected_set) {
        read_record();
        if (rec_done || (rec_fd < 0 && now >= T1 + 500000000ll)) set_expected();
    }
    if (expected_set) {
        int all = 1;
        for (int i = 0; i < opt.clients && all; i++)
            if (conns[i].state != C_CLOSED && conns[i].win < conns[i].expected) all = 0;
        if (all && rec_fd >= 0) finish("complete");
    }
    if (now >= T1 + (int64_t)(opt.drain_max * 1e9)) finish("drain deadline");
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s, (void)signum;
    finish("signal");
}

/* ---- main --------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_gw --port P [--clients N] [--key K] [--secret S] [--path P]\n"
            "                [--symbols 1000] [--per-client 10] [--seed 1] [--inflight 256]\n"
            "                [--settle-ms 300] [--window S --record FILE [--drain-max S]]\n"
            "                [--hold S] [--counts FILE] [--host 127.0.0.1]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    opt.drain_max = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) usage();
        i++;
        if (!strcmp(a, "--port"))
            opt.port = atoi(v);
        else if (!strcmp(a, "--host"))
            opt.host = v;
        else if (!strcmp(a, "--clients"))
            opt.clients = atoi(v);
        else if (!strcmp(a, "--key"))
            opt.key = v;
        else if (!strcmp(a, "--secret"))
            opt.secret = v;
        else if (!strcmp(a, "--path"))
            opt.path = v;
        else if (!strcmp(a, "--symbols"))
            opt.symbols = atoi(v);
        else if (!strcmp(a, "--per-client"))
            opt.per = atoi(v);
        else if (!strcmp(a, "--seed"))
            opt.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--inflight"))
            opt.inflight = atoi(v);
        else if (!strcmp(a, "--settle-ms"))
            opt.settle_ms = atoi(v);
        else if (!strcmp(a, "--window"))
            opt.window = atof(v);
        else if (!strcmp(a, "--drain-max"))
            opt.drain_max = atof(v);
        else if (!strcmp(a, "--record"))
            opt.record = v;
        else if (!strcmp(a, "--hold"))
            opt.hold = atof(v);
        else if (!strcmp(a, "--counts"))
            opt.counts = v;
        else
            usage();
    }
    if (opt.port <= 0 || opt.clients <= 0 || opt.symbols <= 0 || opt.per <= 0 ||
        opt.per > opt.symbols || (opt.window <= 0) == (opt.hold <= 0))
        usage();
    if (opt.drain_max <= 0) opt.drain_max = opt.window > 4 ? opt.window / 2 : 2;

    /* one fd per client: raise the soft limit to the hard one */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)opt.clients + 64) {
        fprintf(stderr, "bench_gw: RLIMIT_NOFILE %llu is too low for %d clients\n",
                (unsigned long long)rl.rlim_cur, opt.clients);
        return 1;
    }
    if (opt.record && (rec_fd = open(opt.record, O_RDONLY)) < 0) {
        fprintf(stderr, "bench_gw: cannot open %s: %s\n", opt.record, strerror(errno));
        return 1;
    }
    symbols_init();
    srand(12345);
    conns = calloc((size_t)opt.clients, sizeof *conns);
    loop = uv_default_loop();
    if (uv_ip4_addr(opt.host, opt.port, &addr) != 0) usage();
    t_start_ns = td_now_ns();
    uv_timer_init(loop, &timer);
    uv_timer_start(&timer, tick, 50, 50);
    uv_signal_init(loop, &sigs[0]);
    uv_signal_start(&sigs[0], on_signal, SIGTERM);
    uv_signal_init(loop, &sigs[1]);
    uv_signal_start(&sigs[1], on_signal, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    start_more();
    uv_run(loop, UV_RUN_DEFAULT);
    finish("loop ended");
    return 0;
}
