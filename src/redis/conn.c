/* SPDX-License-Identifier: Apache-2.0 */
/* Connection life: DOWN -(retry timer)-> CONNECTING (resolve, connect, TLS)
 * -> HANDSHAKE (AUTH, SELECT, PING) -> READY -> (failure) DOWN ...
 *
 * Each attempt gets its own socket struct (a libuv handle may not be reused
 * after uv_close); a failure detaches it (sock->c = NULL) and closes it, so
 * late libuv callbacks for an old attempt find no connection and return.
 * `gen` changes with every teardown: loops that call the owner check it to
 * stop when the owner dropped or closed the connection meanwhile. */
#include "redis/conn.h"
#include "core/backoff.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rng.h"
#include "core/tls.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK  (64 * 1024)
#define HEALTHY_MS  5000u
#define DEF_TIMEOUT 5.0
#define LAZY_MS     5u /* lazy reading: replies not read by a send are read this late */

typedef struct sock_s {
    union {
        uv_handle_t h;
        uv_stream_t s;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } u;
    td_rconn_t *owner; /* always set: for the close callback */
    td_rconn_t *c;     /* NULL once detached */
    uv_connect_t creq;
    uv_write_t wreq;
    td_buf_t wbuf; /* handed to uv_write: pinned until write_cb */
    size_t woff;
    int writing;
} sock_t;

typedef struct resolve_s {
    uv_getaddrinfo_t req;
    td_rconn_t *owner, *c; /* c: NULL once cancelled */
} resolve_t;

struct td_rconn_s {
    uv_loop_t *loop;
    td_rconn_cb_t cb;
    void *ud;
    char *name, *label, *user, *pass, *path, *host;
    char addr[300], who[600];
    td_redis_scheme_t scheme;
    int port, db, no_auth, no_db, quiet;
    uint64_t timeout_ms;
    td_rtls_ctx_t *tlsx;
    td_rtls_t *tls;
    sock_t *sock;
    resolve_t *resolving;
    uv_timer_t retry, watch, lazy;
    int lazy_read, in_read;
    int open_handles;
    void (*done)(void *ud);
    void *done_ud;
    td_rconn_state_t state;
    unsigned gen;
    uint64_t attempt_ms, ready_ms, waiting_since;
    td_buf_t out, wire, in, cin; /* plaintext out, TLS records out, plaintext in, TLS in */
    size_t in_off;
    td_resp_reader_t rd;
    const char *hs_cmd[4];
    int want_master, idle_ping, started;
    uint64_t rx_ms; /* last bytes received */
    uint32_t hs_n, hs_i;
    td_backoff_t backoff;
    td_rng_t rng;
    char last_err[256], logged_err[256];
    td_rconn_stats_t st;
};

static void connect_now(td_rconn_t *c);
static void flush(td_rconn_t *c);

static void set_who(td_rconn_t *c)
{
    if (c->path)
        snprintf(c->addr, sizeof c->addr, "%s", c->path);
    else
        td_redis_node_name(&(td_redis_node_t){c->host, c->port}, c->addr, sizeof c->addr);
    int multi = c->scheme == TD_REDIS_SENTINEL || c->scheme == TD_REDIS_CLUSTER;
    snprintf(c->who, sizeof c->who, multi ? "%s %s [%s]" : "%s %s", c->name, c->label, c->addr);
}

/* ---- teardown and failure ---------------------------------------------- */

static void handle_closed(td_rconn_t *c)
{
    if (--c->open_handles == 0 && c->done) c->done(c->done_ud);
}

static void sock_closed(uv_handle_t *h)
{
    sock_t *s = h->data;
    td_rconn_t *owner = s->owner;
    td_buf_free(&s->wbuf);
    free(s);
    handle_closed(owner);
}

/* Closes the socket (or cancels the lookup) and forgets its state. */
static void teardown(td_rconn_t *c)
{
    c->gen++;
    if (c->sock) {
        c->sock->c = NULL;
        uv_close(&c->sock->u.h, sock_closed);
        c->sock = NULL;
    }
    if (c->resolving) {
        c->resolving->c = NULL;
        uv_cancel((uv_req_t *)&c->resolving->req);
        c->resolving = NULL;
    }
    td_rtls_free(c->tls);
    c->tls = NULL;
    uv_timer_stop(&c->lazy);
    c->out.len = c->wire.len = c->in.len = c->cin.len = c->in_off = 0;
    c->in_read = 0;
    c->st.unanswered = 0;
    c->hs_n = c->hs_i = 0;
}

static void on_retry(uv_timer_t *t)
{
    connect_now(t->data);
}

static void schedule_retry(td_rconn_t *c)
{
    uint32_t ms = td_backoff_next(&c->backoff, td_rng_next(&c->rng));
    TD_DEBUG("%s: reconnecting in %u ms", c->who, ms);
    uv_timer_start(&c->retry, on_retry, ms, 0);
}

/* Logs `why` once per distinct reason (a wrong password is one line, not
 * one per retry), tears the connection down and schedules a retry. */
static void fail(td_rconn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(td_rconn_t *c, const char *fmt, ...)
{
    va_list ap;
    if (c->state == TD_RCONN_CLOSED) return;
    va_start(ap, fmt);
    vsnprintf(c->last_err, sizeof c->last_err, fmt, ap);
    va_end(ap);
    int was_ready = c->state == TD_RCONN_READY;
    uint64_t lost = c->st.unanswered;
    c->st.failures++;
    if (strcmp(c->last_err, c->logged_err) != 0 || was_ready) {
        td_log(c->quiet ? TD_LOG_DEBUG : TD_LOG_WARN, "%s: %s; %s", c->who, c->last_err,
               was_ready ? "reconnecting" : "retrying with backoff");
        snprintf(c->logged_err, sizeof c->logged_err, "%s", c->last_err);
    }
    if (was_ready && uv_now(c->loop) - c->ready_ms >= HEALTHY_MS) td_backoff_reset(&c->backoff);
    teardown(c);
    c->state = TD_RCONN_DOWN;
    schedule_retry(c);
    if (was_ready && c->cb.on_down) c->cb.on_down(c->ud, c, lost);
}

/* ---- handshake and replies --------------------------------------------- */

static void add_hs(td_rconn_t *c, const char *what, int argc, const char *const *argv)
{
    size_t lens[3];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    td_resp_append_cmd(&c->out, argc, argv, lens);
    c->hs_cmd[c->hs_n++] = what;
}

static void begin_handshake(td_rconn_t *c)
{
    char db[16];
    c->state = TD_RCONN_HANDSHAKE;
    if (c->pass && !c->no_auth) {
        if (c->user)
            add_hs(c, "AUTH", 3, (const char *[]){"AUTH", c->user, c->pass});
        else
            add_hs(c, "AUTH", 2, (const char *[]){"AUTH", c->pass});
    }
    if (c->db >= 0 && !c->no_db) {
        snprintf(db, sizeof db, "%d", c->db);
        add_hs(c, "SELECT", 2, (const char *[]){"SELECT", db});
    }
    if (c->want_master) add_hs(c, "ROLE", 1, (const char *[]){"ROLE"});
    add_hs(c, "PING", 1, (const char *[]){"PING"});
    c->st.unanswered = c->hs_n;
    c->waiting_since = uv_now(c->loop);
    flush(c);
}

static void became_ready(td_rconn_t *c)
{
    c->state = TD_RCONN_READY;
    c->st.connects++;
    c->ready_ms = c->rx_ms = uv_now(c->loop);
    td_log(c->quiet ? TD_LOG_DEBUG : TD_LOG_INFO, "%s: connected%s", c->who,
           c->logged_err[0] ? " (recovered)" : "");
    c->logged_err[0] = '\0';
    c->last_err[0] = '\0';
    if (c->lazy_read) uv_read_stop(&c->sock->u.s); /* from now on: try_read */
    if (c->cb.on_ready) c->cb.on_ready(c->ud, c);
}

static void handshake_reply(td_rconn_t *c, const td_resp_node_t *r)
{
    const char *what = c->hs_cmd[c->hs_i++];
    c->st.unanswered--;
    c->waiting_since = uv_now(c->loop);
    /* An ACL user may lack PING: its NOPERM still proves Redis answers and
     * that we are authenticated. */
    int noperm = r->type == TD_RESP_ERROR && r->len >= 6 && memcmp(r->s, "NOPERM", 6) == 0;
    if (r->type == TD_RESP_ERROR && !(noperm && strcmp(what, "PING") == 0)) {
        fail(c, "%s rejected by Redis: %.*s", what, (int)(r->len > 200 ? 200 : r->len), r->s);
        return;
    }
    const td_resp_node_t *role = td_resp_elem(&c->rd, 0, 0);
    if (strcmp(what, "ROLE") == 0 && !td_resp_is(role, "master")) {
        int ok = role && role->s;
        fail(c, "not a master (ROLE: %.*s)", ok ? (int)(role->len > 32 ? 32 : role->len) : 1,
             ok ? role->s : "?");
        return;
    }
    if (c->hs_i == c->hs_n) became_ready(c);
}

/* Parses and dispatches every complete reply in the input buffer. */
static void process(td_rconn_t *c)
{
    unsigned gen = c->gen;
    while (c->in_off < c->in.len) {
        ssize_t n = td_resp_parse(&c->rd, c->in.data + c->in_off, c->in.len - c->in_off);
        if (n == 0) break;
        if (n < 0) {
            fail(c, "protocol error from Redis: %s", c->rd.err);
            return;
        }
        c->in_off += (size_t)n;
        if (c->state == TD_RCONN_HANDSHAKE) {
            handshake_reply(c, &c->rd.v[0]);
        } else {
            if (c->st.unanswered && --c->st.unanswered) c->waiting_since = uv_now(c->loop);
            c->cb.on_reply(c->ud, c, &c->rd);
        }
        if (c->gen != gen) return; /* dropped or closed meanwhile */
    }
    if (c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
    } else if (c->in_off > 0) {
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
}

/* ---- socket I/O -------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    sock_t *s = h->data;
    td_rconn_t *c = s->c ? s->c : s->owner;
    td_buf_t *b = c->tls ? &c->cin : &c->in;
    (void)hint;
    td_buf_reserve(b, READ_CHUNK);
    *buf = uv_buf_init(b->data + b->len, (unsigned)(b->cap - b->len - 1));
}

/* TLS: ciphertext in cin → handshake or plaintext in `in`. 0 or -1 (failed). */
static int tls_input(td_rconn_t *c)
{
    char err[300];
    td_rtls_feed(c->tls, c->cin.data, c->cin.len);
    c->cin.len = 0;
    if (c->state == TD_RCONN_CONNECTING) {
        int rc = td_rtls_handshake(c->tls, &c->wire, err, sizeof err);
        flush(c);
        if (rc < 0) {
            fail(c, "%s", err);
            return -1;
        }
        if (rc == 0) return 0;
        begin_handshake(c);
    }
    if (td_rtls_read(c->tls, &c->in, err, sizeof err) != 0) {
        fail(c, "%s", err);
        return -1;
    }
    return 0;
}

/* nread bytes were read into the buffer on_alloc gave. */
static void got_bytes(td_rconn_t *c, size_t nread)
{
    c->st.bytes_in += (uint64_t)nread;
    c->rx_ms = uv_now(c->loop);
    if (c->tls) {
        c->cin.len += nread;
        if (tls_input(c) != 0) return;
    } else {
        c->in.len += nread;
    }
    process(c);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    sock_t *s = st->data;
    td_rconn_t *c = s->c;
    (void)buf;
    if (!c || nread == 0) return;
    if (nread < 0) {
        fail(c, nread == UV_EOF ? "connection closed by Redis" : "read: %s",
             uv_strerror((int)nread));
        return;
    }
    got_bytes(c, (size_t)nread);
}

/* Lazy reading (a READY connection whose owner only counts replies): the
 * socket has no read interest; replies are read with read(2) when the owner
 * next sends, or by a short timer, so a pipelined batch costs one wake-up of
 * the loop (the upstream's) instead of two. Not re-entered from a reply. */
static void try_read(td_rconn_t *c)
{
    unsigned gen = c->gen;
    uv_os_fd_t fd;
    if (c->in_read || !c->sock || uv_fileno(&c->sock->u.h, &fd) != 0) return;
    c->in_read = 1;
    for (;;) {
        td_buf_t *b = c->tls ? &c->cin : &c->in;
        td_buf_reserve(b, READ_CHUNK);
        size_t room = b->cap - b->len - 1;
        ssize_t n = read(fd, b->data + b->len, room);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            c->in_read = 0;
            fail(c, n == 0 ? "connection closed by Redis" : "read: %s", strerror(errno));
            return;
        }
        got_bytes(c, (size_t)n);
        if (c->gen != gen) return; /* in_read was reset by the teardown */
        if ((size_t)n < room) break;
    }
    c->in_read = 0;
}

static void on_lazy(uv_timer_t *t)
{
    td_rconn_t *c = t->data;
    try_read(c);
    if (c->state == TD_RCONN_READY && c->st.unanswered)
        uv_timer_start(&c->lazy, on_lazy, LAZY_MS, 0);
}

static void on_write(uv_write_t *req, int status)
{
    sock_t *s = req->data;
    td_rconn_t *c = s->c;
    s->writing = 0;
    s->wbuf.len = 0;
    if (!c) return;
    if (status < 0) {
        fail(c, "write: %s", uv_strerror(status));
        return;
    }
    flush(c);
}

/* Writes what is pending: one try_write; what the kernel did not take waits
 * in the socket's pinned buffer for writability (the write interest is on
 * only then). */
static void flush(td_rconn_t *c)
{
    sock_t *s = c->sock;
    char err[300];
    unsigned gen = c->gen;
    if (!s || c->state == TD_RCONN_DOWN) return;
    if (c->lazy_read && c->state == TD_RCONN_READY) {
        try_read(c);
        if (c->gen != gen) return;
        if (c->st.unanswered) uv_timer_start(&c->lazy, on_lazy, LAZY_MS, 0);
    }
    td_buf_t *src = &c->out;
    if (c->tls) {
        if (c->out.len &&
            td_rtls_write(c->tls, c->out.data, c->out.len, &c->wire, err, sizeof err) != 0) {
            fail(c, "%s", err);
            return;
        }
        c->out.len = 0;
        src = &c->wire;
    }
    if (s->writing || src->len == 0) return;
    uv_buf_t b = uv_buf_init(src->data, (unsigned)src->len);
    int n = uv_try_write(&s->u.s, &b, 1);
    if (n == UV_EAGAIN) n = 0;
    if (n < 0) {
        fail(c, "write: %s", uv_strerror(n));
        return;
    }
    c->st.bytes_out += (uint64_t)n;
    if ((size_t)n == src->len) {
        src->len = 0;
        return;
    }
    td_buf_t t = s->wbuf; /* swap: the rest goes out from the pinned buffer */
    s->wbuf = *src;
    *src = t;
    src->len = 0;
    s->woff = (size_t)n;
    b = uv_buf_init(s->wbuf.data + n, (unsigned)(s->wbuf.len - (size_t)n));
    c->st.bytes_out += b.len;
    s->writing = 1;
    s->wreq.data = s;
    int rc = uv_write(&s->wreq, &s->u.s, &b, 1, on_write);
    if (rc < 0) {
        s->writing = 0;
        fail(c, "write: %s", uv_strerror(rc));
    }
}

/* ---- connecting ---------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status)
{
    sock_t *s = req->data;
    td_rconn_t *c = s->c;
    char err[300];
    if (!c) return;
    if (status < 0) {
        fail(c, "cannot connect: %s", uv_strerror(status));
        return;
    }
    if (!c->path) {
        uv_tcp_nodelay(&s->u.tcp, 1);
        uv_tcp_keepalive(&s->u.tcp, 1, 30);
    }
    uv_read_start(&s->u.s, on_alloc, on_read);
    if (c->tlsx) {
        c->tls = td_rtls_new(c->tlsx, c->host);
        if (td_rtls_handshake(c->tls, &c->wire, err, sizeof err) < 0) {
            fail(c, "%s", err);
            return;
        }
        flush(c);
        return;
    }
    begin_handshake(c);
}

static sock_t *new_sock(td_rconn_t *c)
{
    sock_t *s = td_xcalloc(1, sizeof *s);
    s->owner = s->c = c;
    if (c->path)
        uv_pipe_init(c->loop, &s->u.pipe, 0);
    else
        uv_tcp_init(c->loop, &s->u.tcp);
    s->u.h.data = s;
    s->creq.data = s;
    c->open_handles++;
    c->sock = s;
    return s;
}

static void connect_addr(td_rconn_t *c, const struct sockaddr *sa)
{
    sock_t *s = new_sock(c);
    int rc = uv_tcp_connect(&s->creq, &s->u.tcp, sa, on_connect);
    if (rc < 0) fail(c, "cannot connect: %s", uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_t *r = req->data;
    td_rconn_t *c = r->c, *owner = r->owner;
    if (c) {
        c->resolving = NULL;
        if (status < 0 || !res)
            fail(c, "cannot resolve %s: %s", c->host, uv_strerror(status));
        else
            connect_addr(c, res->ai_addr);
    }
    uv_freeaddrinfo(res);
    free(r);
    handle_closed(owner);
}

static void connect_now(td_rconn_t *c)
{
    struct sockaddr_storage ss;
    c->state = TD_RCONN_CONNECTING;
    c->attempt_ms = uv_now(c->loop);
    if (c->path) {
        sock_t *s = new_sock(c);
        uv_pipe_connect(&s->creq, &s->u.pipe, c->path, on_connect);
        return;
    }
    if (uv_ip4_addr(c->host, c->port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(c->host, c->port, (struct sockaddr_in6 *)&ss) == 0) {
        connect_addr(c, (struct sockaddr *)&ss);
        return;
    }
    resolve_t *r = td_xcalloc(1, sizeof *r);
    char port[16];
    snprintf(port, sizeof port, "%d", c->port);
    r->owner = r->c = c;
    r->req.data = r;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(c->loop, &r->req, on_resolved, c->host, port, &hints);
    if (rc < 0) {
        free(r);
        fail(c, "cannot resolve %s: %s", c->host, uv_strerror(rc));
        return;
    }
    c->open_handles++;
    c->resolving = r;
}

/* The connect, handshake and reply bound. */
static void on_watch(uv_timer_t *t)
{
    td_rconn_t *c = t->data;
    uint64_t now = uv_now(c->loop), secs10 = c->timeout_ms / 100;
    if (c->lazy_read && c->state == TD_RCONN_READY) {
        try_read(c); /* an idle lazy connection notices a close here */
        if (c->state != TD_RCONN_READY) return;
    }
    if ((c->state == TD_RCONN_CONNECTING || c->state == TD_RCONN_HANDSHAKE) &&
        now - c->attempt_ms >= c->timeout_ms) {
        c->st.timeouts++;
        fail(c, "no answer within %llu.%llu s (%s)", (unsigned long long)secs10 / 10,
             (unsigned long long)secs10 % 10,
             c->state == TD_RCONN_CONNECTING ? "connecting" : "handshake");
    } else if (c->state == TD_RCONN_READY && c->idle_ping && !c->st.unanswered &&
               now - c->rx_ms >= c->timeout_ms / 2) {
        td_rconn_command(c, 1, (const char *[]){"PING"}, (size_t[]){4});
    } else if (c->state == TD_RCONN_READY && c->st.unanswered &&
               now - c->waiting_since >= c->timeout_ms) {
        c->st.timeouts++;
        fail(c, "Redis stopped answering: no reply within %llu.%llu s, %llu commands unanswered",
             (unsigned long long)secs10 / 10, (unsigned long long)secs10 % 10,
             (unsigned long long)c->st.unanswered);
    }
}

/* ---- public API ----------------------------------------------------------- */

td_rconn_t *td_rconn_new(uv_loop_t *loop, const td_rconn_cfg_t *cfg, const td_rconn_cb_t *cb,
                         void *ud, char *err, size_t errlen)
{
    const td_redis_url_t *u = cfg->url;
    td_rtls_ctx_t *tlsx = NULL;
    if (u->scheme == TD_REDIS_TLS &&
        !(tlsx = td_rtls_ctx_new(cfg->ca_file, cfg->cert_file, cfg->key_file, err, errlen)))
        return NULL;
    td_rconn_t *c = td_xcalloc(1, sizeof *c);
    const td_redis_node_t *node = cfg->node ? cfg->node : u->nnodes ? &u->nodes[0] : NULL;
    c->loop = loop;
    c->cb = *cb;
    c->ud = ud;
    c->tlsx = tlsx;
    c->scheme = u->scheme;
    c->name = td_xstrdup(cfg->name ? cfg->name : "redis");
    c->label = td_xstrdup(u->masked);
    c->user = u->user ? td_xstrdup(u->user) : NULL;
    c->pass = u->pass ? td_xstrdup(u->pass) : NULL;
    c->path = u->path ? td_xstrdup(u->path) : NULL;
    c->host = td_xstrdup(node ? node->host : "");
    c->port = node ? node->port : 0;
    c->db = u->db;
    c->no_auth = cfg->no_auth;
    c->no_db = cfg->no_db;
    c->quiet = cfg->quiet;
    c->want_master = cfg->want_master;
    c->idle_ping = cfg->idle_ping;
    c->lazy_read = cfg->lazy_read;
    c->timeout_ms = (uint64_t)((cfg->timeout_s > 0 ? cfg->timeout_s : DEF_TIMEOUT) * 1000);
    td_backoff_init(&c->backoff,
                    (uint32_t)((cfg->backoff_min_s > 0 ? cfg->backoff_min_s : 0.1) * 1000),
                    (uint32_t)((cfg->backoff_max_s > 0 ? cfg->backoff_max_s : 5) * 1000));
    td_rng_seed(&c->rng, (uint64_t)td_now_ns() ^ (uint64_t)(uintptr_t)c);
    set_who(c);
    uv_timer_init(loop, &c->retry);
    uv_timer_init(loop, &c->watch);
    uv_timer_init(loop, &c->lazy);
    c->retry.data = c->watch.data = c->lazy.data = c;
    c->open_handles = 3;
    c->state = TD_RCONN_DOWN;
    signal(SIGPIPE, SIG_IGN); /* a peer gone away must give EPIPE */
    return c;
}

void td_rconn_start(td_rconn_t *c)
{
    uint64_t period = c->timeout_ms / 5;
    if (period < 20) period = 20;
    if (period > 1000) period = 1000;
    c->started = 1;
    uv_timer_start(&c->watch, on_watch, period, period);
    if (c->state == TD_RCONN_DOWN && !uv_is_active((uv_handle_t *)&c->retry)) connect_now(c);
}

void td_rconn_drop(td_rconn_t *c, const char *why)
{
    if (c->state == TD_RCONN_DOWN || c->state == TD_RCONN_CLOSED) return;
    if (why) {
        fail(c, "%s", why);
        return;
    }
    int was_ready = c->state == TD_RCONN_READY;
    uint64_t lost = c->st.unanswered;
    teardown(c);
    c->state = TD_RCONN_DOWN;
    schedule_retry(c);
    if (was_ready && c->cb.on_down) c->cb.on_down(c->ud, c, lost);
}

void td_rconn_set_node(td_rconn_t *c, const char *host, int port)
{
    if (c->state == TD_RCONN_CLOSED || (strcmp(c->host, host) == 0 && c->port == port)) return;
    free(c->host);
    c->host = td_xstrdup(host);
    c->port = port;
    set_who(c);
    td_backoff_reset(&c->backoff);
    if (c->state != TD_RCONN_DOWN) td_rconn_drop(c, NULL);
    uv_timer_stop(&c->retry);
    if (c->state == TD_RCONN_DOWN && c->started) uv_timer_start(&c->retry, on_retry, 0, 0);
}

td_buf_t *td_rconn_out(td_rconn_t *c)
{
    return c->state == TD_RCONN_READY ? &c->out : NULL;
}

void td_rconn_send(td_rconn_t *c, uint32_t ncmds)
{
    if (c->state != TD_RCONN_READY) return;
    if (ncmds && !c->st.unanswered) c->waiting_since = uv_now(c->loop);
    c->st.unanswered += ncmds;
    flush(c);
}

int td_rconn_command(td_rconn_t *c, int argc, const char *const *argv, const size_t *lens)
{
    if (c->state != TD_RCONN_READY) return -1;
    td_resp_append_cmd(&c->out, argc, argv, lens);
    td_rconn_send(c, 1);
    return 0;
}

td_rconn_state_t td_rconn_state(const td_rconn_t *c)
{
    return c->state;
}

void td_rconn_stats(const td_rconn_t *c, td_rconn_stats_t *out)
{
    *out = c->st;
    out->state = c->state;
    out->waiting_ms = c->st.unanswered ? uv_now(c->loop) - c->waiting_since : 0;
}

const char *td_rconn_label(const td_rconn_t *c)
{
    return c->label;
}

const char *td_rconn_addr(const td_rconn_t *c)
{
    return c->addr;
}

const char *td_rconn_last_error(const td_rconn_t *c)
{
    return c->last_err;
}

static void timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

void td_rconn_close(td_rconn_t *c, void (*done)(void *ud), void *ud)
{
    if (c->state == TD_RCONN_CLOSED) return;
    teardown(c);
    c->state = TD_RCONN_CLOSED;
    c->done = done;
    c->done_ud = ud;
    uv_close((uv_handle_t *)&c->retry, timer_closed);
    uv_close((uv_handle_t *)&c->watch, timer_closed);
    uv_close((uv_handle_t *)&c->lazy, timer_closed);
}

void td_rconn_free(td_rconn_t *c)
{
    if (!c) return;
    td_rtls_ctx_free(c->tlsx);
    td_buf_free(&c->out);
    td_buf_free(&c->wire);
    td_buf_free(&c->in);
    td_buf_free(&c->cin);
    td_resp_reader_free(&c->rd);
    if (c->pass) memset(c->pass, 0, strlen(c->pass));
    free(c->pass);
    free(c->user);
    free(c->name);
    free(c->label);
    free(c->path);
    free(c->host);
    free(c);
}
