/* Redis sink: hiredis async on libuv, pre-formatted pipelined PUBLISH.
 *
 * Data path: td_redis_sink_publish() appends one hand-formatted RESP command
 * to a pending byte buffer (plus its length to a parallel ring of lengths).
 * A uv_prepare_t, active only while there is something to hand over, gives
 * the commands to hiredis (redisAsyncFormattedCommand, one per command) once
 * per loop turn, keeping at most max_inflight unanswered. hiredis writes its
 * output buffer when the socket is writable.
 *
 * Connection life: DOWN -> (timer) CONNECTING -> CONNECTED -> DOWN ...
 * hiredis frees its context itself after a failed connect or a lost
 * connection (after calling our callbacks); we only ever call redisAsyncFree
 * from a uv timer callback (stop) or right after a failed redisAsyncConnect,
 * never from inside a hiredis callback. */
#include "sink/redis.h"

#include "core/backoff.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/redis_uv.h"
#include "core/rng.h"

#include <assert.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define DEF_MAX_BUFFER   ((size_t)64 << 20)
#define DEF_MAX_INFLIGHT 10000u
#define BACKOFF_BASE_MS  100u
#define BACKOFF_MAX_MS   5000u
#define HEALTHY_MS       5000u /* a connection that lived this long resets the backoff */
#define STOP_WAIT_MS     1000u /* how long _stop waits for replies */
#define STOP_POLL_MS     10u

enum { ST_DOWN, ST_CONNECTING, ST_CONNECTED, ST_CLOSED };

struct td_redis_sink_s {
    uv_loop_t *loop;
    redisAsyncContext *ac; /* NULL unless CONNECTING or CONNECTED; owned by hiredis */
    char *host;
    int port;
    int db; /* -1: no SELECT */
    char *prefix;
    size_t prefix_len;
    size_t max_buffer;
    uint32_t max_inflight;
    uint8_t kind_len[TD_KIND__COUNT];

    uv_prepare_t prep; /* hands pending commands to hiredis once per turn */
    uv_timer_t timer;  /* reconnect backoff, then the stop sequence */
    int state;
    int stopping;
    int open_handles;
    uint64_t stop_deadline_ms;
    void (*done)(void *ud);
    void *done_ud;

    /* Pending commands: bytes [head, tail) of buf; their lengths in the ring
     * lens[lhead .. lhead+lcount) (mod lcap). */
    char *buf;
    size_t cap, head, tail;
    uint32_t *lens;
    size_t lcap, lhead, lcount;
    uint32_t inflight;

    td_backoff_t backoff;
    td_rng_t rng;
    uint64_t connected_at_ms;
    int ever_connected;
    int down_logged;

    uint64_t published, dropped, errors, reconnects;
    uint64_t lost, lost_mark; /* in flight when a connection died; at the last log */
    uint64_t dropped_mark;    /* `dropped` when the connection went down */
    td_ratelimit_t rl_full, rl_err;
};

static void reply_cb(redisAsyncContext *ac, void *r, void *priv);
static void timer_cb(uv_timer_t *t);

/* Accepts redis://HOST[:PORT][/DB] and HOST:PORT. Returns 0 or -1 (logged). */
static int parse_url(td_redis_sink_t *s, const char *url)
{
    td_redis_addr_t a;
    char err[256];
    if (td_redis_addr_parse(&a, url, err, sizeof err) != 0) {
        TD_ERR("redis: %s", err);
        return -1;
    }
    s->host = a.host;
    s->port = a.port;
    s->db = a.db;
    return 0;
}

/* ---- pending buffer ------------------------------------------------------ */

static size_t pending_bytes(const td_redis_sink_t *s)
{
    return s->tail - s->head;
}

/* Makes room for n more bytes and one more length. */
static void pending_reserve(td_redis_sink_t *s, size_t n)
{
    if (s->tail + n > s->cap) {
        size_t live = s->tail - s->head;
        if (s->head > 0 && s->head >= live && live + n <= s->cap) {
            memmove(s->buf, s->buf + s->head, live); /* moves at most half */
        } else {
            size_t cap = s->cap ? s->cap : 64 * 1024;
            while (cap < live + n)
                cap *= 2;
            char *nb = td_xmalloc(cap);
            if (live) memcpy(nb, s->buf + s->head, live);
            free(s->buf);
            s->buf = nb;
            s->cap = cap;
        }
        s->head = 0;
        s->tail = live;
    }
    if (s->lcount == s->lcap) { /* grow the ring, unwrapping it */
        size_t ncap = s->lcap ? s->lcap * 2 : 1024;
        uint32_t *nl = td_xmalloc(ncap * sizeof *nl);
        for (size_t i = 0; i < s->lcount; i++)
            nl[i] = s->lens[(s->lhead + i) % s->lcap];
        free(s->lens);
        s->lens = nl;
        s->lcap = ncap;
        s->lhead = 0;
    }
}

static void pending_pop(td_redis_sink_t *s, uint32_t len)
{
    s->head += len;
    s->lhead = (s->lhead + 1) % s->lcap;
    if (--s->lcount == 0) s->head = s->tail = s->lhead = 0;
}

/* Drops every pending command, counting them. Returns how many. */
static uint64_t pending_drop_all(td_redis_sink_t *s)
{
    uint64_t n = s->lcount;
    s->dropped += n;
    s->head = s->tail = s->lhead = s->lcount = 0;
    return n;
}

static char *put_uint(char *p, size_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static size_t digits(size_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* ---- handing commands to hiredis ---------------------------------------- */

static void kick(td_redis_sink_t *s);

static void prep_cb(uv_prepare_t *h)
{
    td_redis_sink_t *s = h->data;
    if (s->state != ST_CONNECTED || s->lcount == 0) {
        uv_prepare_stop(h);
        return;
    }
    while (s->lcount && s->inflight < s->max_inflight) {
        uint32_t len = s->lens[s->lhead];
        if (redisAsyncFormattedCommand(s->ac, reply_cb, NULL, s->buf + s->head, len) != REDIS_OK)
            return; /* context is going away; the disconnect callback follows */
        s->inflight++;
        pending_pop(s, len);
    }
    uv_prepare_stop(h); /* restarted by publish or by a reply freeing a slot */
}

static void kick(td_redis_sink_t *s)
{
    if (s->state == ST_CONNECTED && s->lcount && s->inflight < s->max_inflight &&
        !uv_is_active((uv_handle_t *)&s->prep))
        uv_prepare_start(&s->prep, prep_cb);
}

static void reply_cb(redisAsyncContext *ac, void *r, void *priv)
{
    td_redis_sink_t *s = ac->data;
    redisReply *reply = r;
    (void)priv;
    s->inflight--;
    if (!reply) {
        s->dropped++; /* lost with the connection */
        s->lost++;
    } else if (reply->type == REDIS_REPLY_ERROR) {
        uint64_t sup;
        s->errors++;
        if (td_ratelimit_ok(&s->rl_err, td_mono_ms(), &sup))
            TD_ERR("redis: PUBLISH failed: %.*s (%llu more suppressed)", (int)reply->len,
                   reply->str, (unsigned long long)sup);
    } else {
        s->published++;
    }
    kick(s);
}

static void select_cb(redisAsyncContext *ac, void *r, void *priv)
{
    td_redis_sink_t *s = ac->data;
    redisReply *reply = r;
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        TD_ERR("redis: SELECT %d failed: %.*s", s->db, (int)reply->len, reply->str);
}

/* ---- connection --------------------------------------------------------- */

static void schedule_reconnect(td_redis_sink_t *s)
{
    s->state = ST_DOWN;
    if (s->stopping) return; /* the stop sequence owns the timer */
    uint32_t ms = td_backoff_next(&s->backoff, td_rng_next(&s->rng));
    TD_DEBUG("redis: reconnecting in %u ms", ms);
    uv_timer_start(&s->timer, timer_cb, ms, 0);
}

static void log_connected(td_redis_sink_t *s)
{
    if (!s->ever_connected) {
        TD_INFO("redis: connected to %s:%d", s->host, s->port);
        s->ever_connected = 1;
        return;
    }
    s->reconnects++;
    TD_WARN("redis: reconnected to %s:%d; %zu events (%zu bytes) buffered, %llu dropped while "
            "away",
            s->host, s->port, s->lcount, pending_bytes(s),
            (unsigned long long)(s->dropped - s->dropped_mark));
}

static void connect_cb(const redisAsyncContext *cac, int status)
{
    td_redis_sink_t *s = cac->data;
    if (status != REDIS_OK) { /* hiredis frees the context after we return */
        if (!s->down_logged) {
            TD_WARN("redis: cannot connect to %s:%d: %s; retrying with backoff", s->host, s->port,
                    cac->errstr);
            s->down_logged = 1;
        }
        s->ac = NULL;
        schedule_reconnect(s);
        return;
    }
    s->state = ST_CONNECTED;
    s->down_logged = 0;
    s->connected_at_ms = td_mono_ms();
    log_connected(s);
    if (s->db >= 0) {
        char cmd[64], *p = cmd;
        size_t dn = digits((size_t)s->db);
        memcpy(p, "*2\r\n$6\r\nSELECT\r\n$", 17);
        p = put_uint(p + 17, dn);
        *p++ = '\r', *p++ = '\n';
        p = put_uint(p, (size_t)s->db);
        *p++ = '\r', *p++ = '\n';
        redisAsyncFormattedCommand(s->ac, select_cb, NULL, cmd, (size_t)(p - cmd));
    }
    kick(s);
}

static void disconnect_cb(const redisAsyncContext *cac, int status)
{
    td_redis_sink_t *s = cac->data;
    s->ac = NULL; /* hiredis frees it after we return */
    if (s->stopping) {
        if (s->state != ST_CLOSED) s->state = ST_DOWN;
        return;
    }
    uint64_t now = td_mono_ms();
    if (now - s->connected_at_ms >= HEALTHY_MS) td_backoff_reset(&s->backoff);
    TD_WARN("redis: connection to %s:%d lost (%s); %llu events in flight lost, buffering up to "
            "%zu MiB",
            s->host, s->port, status == REDIS_OK ? "closed" : cac->errstr,
            (unsigned long long)(s->lost - s->lost_mark), s->max_buffer >> 20);
    s->lost_mark = s->lost;
    s->dropped_mark = s->dropped;
    s->down_logged = 1;
    schedule_reconnect(s);
}

static void start_connect(td_redis_sink_t *s)
{
    redisAsyncContext *ac = redisAsyncConnect(s->host, s->port);
    if (!ac || ac->err) {
        if (!s->down_logged) {
            TD_WARN("redis: cannot connect to %s:%d: %s; retrying with backoff", s->host, s->port,
                    ac ? ac->errstr : "out of memory");
            s->down_logged = 1;
        }
        if (ac) redisAsyncFree(ac);
        schedule_reconnect(s);
        return;
    }
    ac->data = s;
    redisEnableKeepAlive(&ac->c);
    if (td_redis_uv_attach(ac, s->loop) != 0) {
        redisAsyncFree(ac);
        TD_ERR("redis: cannot attach the connection to the loop");
        schedule_reconnect(s);
        return;
    }
    redisAsyncSetConnectCallback(ac, connect_cb); /* after attach: arms the write event */
    redisAsyncSetDisconnectCallback(ac, disconnect_cb);
    s->ac = ac;
    s->state = ST_CONNECTING;
}

/* ---- stop ---------------------------------------------------------------- */

static void close_cb(uv_handle_t *h)
{
    td_redis_sink_t *s = h->data;
    if (--s->open_handles == 0 && s->done) s->done(s->done_ud);
}

static void stop_finish(td_redis_sink_t *s)
{
    uint64_t n = pending_drop_all(s);
    int was = s->state;
    s->state = ST_CLOSED;
    if (s->ac) {
        redisAsyncContext *ac = s->ac;
        s->ac = NULL;
        redisAsyncFree(ac); /* runs reply_cb(NULL) for what is unanswered */
    }
    TD_INFO("redis: stopped (%s); published %llu, dropped %llu (%llu pending at stop), errors "
            "%llu, reconnects %llu",
            was == ST_CONNECTED ? "was connected" : "was not connected",
            (unsigned long long)s->published, (unsigned long long)s->dropped, (unsigned long long)n,
            (unsigned long long)s->errors, (unsigned long long)s->reconnects);
    uv_close((uv_handle_t *)&s->prep, close_cb);
    uv_close((uv_handle_t *)&s->timer, close_cb);
}

static void timer_cb(uv_timer_t *t)
{
    td_redis_sink_t *s = t->data;
    if (!s->stopping) {
        start_connect(s);
        return;
    }
    int live = s->state == ST_CONNECTED || s->state == ST_CONNECTING;
    if (live && (s->lcount || s->inflight) && td_mono_ms() < s->stop_deadline_ms) {
        kick(s);
        uv_timer_start(&s->timer, timer_cb, STOP_POLL_MS, 0);
        return;
    }
    stop_finish(s);
}

/* ---- public API ----------------------------------------------------------- */

td_redis_sink_t *td_redis_sink_new(uv_loop_t *loop, const td_redis_sink_cfg_t *cfg)
{
    td_redis_sink_t *s = td_xcalloc(1, sizeof *s);
    s->loop = loop;
    if (!cfg->url || parse_url(s, cfg->url) != 0) {
        free(s->host);
        free(s);
        return NULL;
    }
    s->prefix = td_xstrdup(cfg->prefix ? cfg->prefix : "");
    s->prefix_len = strlen(s->prefix);
    s->max_buffer = cfg->max_buffer ? cfg->max_buffer : DEF_MAX_BUFFER;
    s->max_inflight = cfg->max_inflight ? cfg->max_inflight : DEF_MAX_INFLIGHT;
    for (int k = 0; k < TD_KIND__COUNT; k++)
        s->kind_len[k] = (uint8_t)strlen(td_kind_name((td_kind_t)k));
    td_backoff_init(&s->backoff, BACKOFF_BASE_MS, BACKOFF_MAX_MS);
    td_rng_seed(&s->rng, (uint64_t)td_now_ns() ^ (uint64_t)(uintptr_t)s);
    s->rl_full = (td_ratelimit_t)TD_RATELIMIT_INIT(10000, 1);
    s->rl_err = (td_ratelimit_t)TD_RATELIMIT_INIT(10000, 3);
    s->state = ST_DOWN;
    uv_prepare_init(loop, &s->prep);
    uv_timer_init(loop, &s->timer);
    s->prep.data = s->timer.data = s;
    s->open_handles = 2;
    /* hiredis writes with write(2): a peer that went away must give EPIPE,
     * not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    return s;
}

int td_redis_sink_start(td_redis_sink_t *s)
{
    if (s->stopping || s->state != ST_DOWN || s->ac) return -1;
    start_connect(s);
    return 0;
}

static void drop_full(td_redis_sink_t *s)
{
    uint64_t sup;
    s->dropped++;
    if (td_ratelimit_ok(&s->rl_full, td_mono_ms(), &sup))
        TD_WARN("redis: buffer full (%zu bytes, %s): dropping events; %llu dropped so far",
                pending_bytes(s), s->state == ST_CONNECTED ? "Redis too slow" : "Redis away",
                (unsigned long long)s->dropped);
}

void td_redis_sink_publish(td_redis_sink_t *s, const td_event_t *ev)
{
    if ((unsigned)ev->kind >= TD_KIND__COUNT || s->state == ST_CLOSED) {
        s->dropped++;
        return;
    }
    size_t kl = s->kind_len[ev->kind];
    size_t cl = s->prefix_len + kl + 1 + ev->symbol_len, pl = ev->payload_len;
    /* *3 $7 PUBLISH $cl ch $pl payload */
    size_t n = 4 + 13 + 1 + digits(cl) + 2 + cl + 2 + 1 + digits(pl) + 2 + pl + 2;
    if (pending_bytes(s) + n > s->max_buffer || n > UINT32_MAX) {
        drop_full(s);
        return;
    }
    pending_reserve(s, n);
    char *p = s->buf + s->tail;
    memcpy(p, "*3\r\n$7\r\nPUBLISH\r\n$", 18);
    p = put_uint(p + 18, cl);
    *p++ = '\r', *p++ = '\n';
    memcpy(p, s->prefix, s->prefix_len);
    p += s->prefix_len;
    memcpy(p, td_kind_name(ev->kind), kl);
    p += kl;
    *p++ = '.';
    memcpy(p, ev->symbol, ev->symbol_len);
    p += ev->symbol_len;
    memcpy(p, "\r\n$", 3);
    p = put_uint(p + 3, pl);
    *p++ = '\r', *p++ = '\n';
    memcpy(p, ev->payload, pl);
    p += pl;
    *p++ = '\r', *p++ = '\n';
    assert((size_t)(p - (s->buf + s->tail)) == n);
    s->tail += n;
    s->lens[(s->lhead + s->lcount++) % s->lcap] = (uint32_t)n;
    kick(s);
}

void td_redis_sink_stats(const td_redis_sink_t *s, td_redis_sink_stats_t *out)
{
    out->published = s->published;
    out->dropped = s->dropped;
    out->errors = s->errors;
    out->reconnects = s->reconnects;
    out->buffered = pending_bytes(s);
    out->buffered_events = s->lcount;
    out->inflight = s->inflight;
    out->connected = s->state == ST_CONNECTED;
}

void td_redis_sink_stop(td_redis_sink_t *s, void (*done)(void *ud), void *ud)
{
    if (s->stopping) return;
    s->stopping = 1;
    s->done = done;
    s->done_ud = ud;
    s->stop_deadline_ms = td_mono_ms() + STOP_WAIT_MS;
    uv_timer_start(&s->timer, timer_cb, 0, 0); /* never act inside a caller's callback */
}

void td_redis_sink_free(td_redis_sink_t *s)
{
    if (!s) return;
    assert(s->open_handles == 0 && !s->ac); /* _stop must have called `done` */
    free(s->buf);
    free(s->lens);
    free(s->host);
    free(s->prefix);
    free(s);
}
