#include "feed/redis_source.h"
#include "core/backoff.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/redis_uv.h"
#include "core/rng.h"
#include "proto/json_scan.h"
#include "proto/sub.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

struct td_redis_source_s {
    uv_loop_t *loop;
    td_redis_addr_t addr;
    char *prefix;
    size_t prefix_len;
    td_redis_source_cb_t cb;
    void *ud;
    redisAsyncContext *ac; /* owned by hiredis while connected */
    int connected, stopping, open_handles;
    td_subset_t want;
    uv_timer_t timer;
    td_backoff_t backoff;
    td_rng_t rng;
    uint64_t connected_at_ms;
    void (*done)(void *ud);
    void *done_ud;
    td_redis_source_stats_t st;
    td_ratelimit_t rl_bad;
};

td_redis_source_t *td_redis_source_new(uv_loop_t *loop, const char *url, const char *prefix,
                                       const td_redis_source_cb_t *cb, void *ud, char *err,
                                       size_t errlen)
{
    td_redis_source_t *s = td_xcalloc(1, sizeof *s);
    if (td_redis_addr_parse(&s->addr, url, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    s->loop = loop;
    s->prefix = td_xstrdup(prefix ? prefix : "");
    s->prefix_len = strlen(s->prefix);
    s->cb = *cb;
    s->ud = ud;
    td_subset_init(&s->want);
    td_backoff_init(&s->backoff, 100, 5000);
    td_rng_seed(&s->rng, (uint64_t)td_now_ns());
    s->rl_bad = (td_ratelimit_t)TD_RATELIMIT_INIT(10000, 3);
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    s->open_handles = 1;
    return s;
}

/* Counts a message that is not served, with one rate-limited line. */
static void skip(td_redis_source_t *s, const redisReply *ch, const char *why)
{
    uint64_t sup;
    s->st.malformed++;
    if (td_ratelimit_ok(&s->rl_bad, td_mono_ms(), &sup))
        TD_WARN("redis source: message on '%.*s' skipped: %s", (int)(ch->len > 80 ? 80 : ch->len),
                ch->str, why);
}

/* "<prefix><kind>.<SYMBOL>" → event; the payload is the message, which must
 * be one JSON object (what tickerd publishes): anything else is counted and
 * skipped, never served to clients. */
static void on_message(td_redis_source_t *s, const redisReply *ch, const redisReply *data)
{
    const char *c = ch->str, *dot = NULL;
    size_t n = ch->len;
    int kind = -1;
    if (ch->type != REDIS_REPLY_STRING || data->type != REDIS_REPLY_STRING) {
        s->st.malformed++;
        return;
    }
    if (n > s->prefix_len && memcmp(c, s->prefix, s->prefix_len) == 0) {
        c += s->prefix_len;
        n -= s->prefix_len;
        dot = memchr(c, '.', n);
        if (dot && dot + 1 < c + n) kind = td_kind_parse(c, (size_t)(dot - c));
    }
    if (kind < 0) {
        skip(s, ch, "unexpected channel");
        return;
    }
    if (!td_json_valid(data->str, data->len, 1)) {
        skip(s, ch, "not one JSON object");
        return;
    }
    td_event_t ev = {(td_kind_t)kind, dot + 1, (size_t)(c + n - dot - 1), data->str, data->len};
    s->st.events++;
    s->cb.on_event(s->ud, &ev);
}

static void on_reply(redisAsyncContext *ac, void *r, void *priv)
{
    (void)priv;
    td_redis_source_t *s = ac->data;
    const redisReply *rep = r;
    if (!s || !rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3) return;
    const redisReply *type = rep->element[0];
    if (type->type != REDIS_REPLY_STRING) return;
    if (strcmp(type->str, "message") == 0 && rep->elements == 3)
        on_message(s, rep->element[1], rep->element[2]);
    else if (strcmp(type->str, "pmessage") == 0 && rep->elements == 4)
        on_message(s, rep->element[2], rep->element[3]);
}

/* Sends one (P)(UN)SUBSCRIBE for (kind, sym). */
static void send_sub(td_redis_source_t *s, td_kind_t kind, const char *sym, size_t n, int on)
{
    int pattern = n == 1 && sym[0] == '*';
    const char *cmd =
        pattern ? (on ? "PSUBSCRIBE" : "PUNSUBSCRIBE") : (on ? "SUBSCRIBE" : "UNSUBSCRIBE");
    td_buf_t ch = TD_BUF_INIT;
    td_buf_appendf(&ch, "%s%s.%.*s", s->prefix, td_kind_name(kind), (int)n, sym);
    const char *argv[2] = {cmd, ch.data};
    size_t argl[2] = {strlen(cmd), ch.len};
    redisAsyncCommandArgv(s->ac, on ? on_reply : NULL, NULL, 2, argv, argl);
    s->st.sub_commands++;
    td_buf_free(&ch);
}

static void subscribe_all(td_redis_source_t *s)
{
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (s->want.k[k].all) send_sub(s, (td_kind_t)k, "*", 1, 1);
        for (size_t i = 0; i < s->want.k[k].n; i++)
            send_sub(s, (td_kind_t)k, s->want.k[k].v[i], strlen(s->want.k[k].v[i]), 1);
    }
}

static void connect_now(td_redis_source_t *s);

static void on_timer(uv_timer_t *t)
{
    connect_now(t->data);
}

static void retry(td_redis_source_t *s, const char *why)
{
    if (s->stopping) return;
    if (s->connected_at_ms && td_mono_ms() - s->connected_at_ms > 5000)
        td_backoff_reset(&s->backoff);
    uint32_t d = td_backoff_next(&s->backoff, td_rng_next(&s->rng));
    TD_WARN("redis source %s:%d: %s; reconnecting in %.1fs", s->addr.host, s->addr.port, why,
            d / 1000.0);
    uv_timer_start(&s->timer, on_timer, d, 0);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    td_redis_source_t *s = ac->data;
    if (!s) return;
    if (status != REDIS_OK) {
        s->ac = NULL; /* hiredis frees it */
        retry(s, ac->errstr);
        return;
    }
    if (s->st.reconnects++ == 0) s->st.reconnects = 0; /* the first is not a reconnect */
    s->connected = s->st.connected = 1;
    s->connected_at_ms = td_mono_ms();
    TD_INFO("redis source: connected to %s:%d", s->addr.host, s->addr.port);
    subscribe_all(s);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    td_redis_source_t *s = ac->data;
    if (!s) return;
    s->ac = NULL;
    s->connected = s->st.connected = 0;
    if (s->stopping) return; /* td_redis_source_stop closes the timer */
    retry(s, status == REDIS_OK ? "connection closed" : ac->errstr);
}

static void connect_now(td_redis_source_t *s)
{
    redisAsyncContext *ac = redisAsyncConnect(s->addr.host, s->addr.port);
    if (!ac || ac->err) {
        retry(s, ac ? ac->errstr : "out of memory");
        if (ac) redisAsyncFree(ac);
        return;
    }
    if (td_redis_uv_attach(ac, s->loop) != 0) {
        redisAsyncFree(ac);
        retry(s, "cannot attach to the event loop");
        return;
    }
    ac->data = s;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    s->ac = ac;
}

void td_redis_source_start(td_redis_source_t *s)
{
    connect_now(s);
}

void td_redis_source_want(td_redis_source_t *s, td_kind_t kind, const char *sym, size_t n,
                          int wanted)
{
    int changed =
        wanted ? td_subset_add(&s->want, kind, sym, n) : td_subset_remove(&s->want, kind, sym, n);
    if (changed && s->connected) send_sub(s, kind, sym, n, wanted);
}

void td_redis_source_stats(const td_redis_source_t *s, td_redis_source_stats_t *out)
{
    *out = s->st;
}

static void on_closed(uv_handle_t *h)
{
    td_redis_source_t *s = h->data;
    if (s->done) s->done(s->done_ud);
}

void td_redis_source_stop(td_redis_source_t *s, void (*done)(void *ud), void *ud)
{
    s->stopping = 1;
    s->done = done;
    s->done_ud = ud;
    if (s->ac) {
        redisAsyncContext *ac = s->ac;
        s->ac = NULL;
        if (s->connected) {
            redisAsyncDisconnect(ac); /* calls on_disconnect, which sees stopping */
        } else {
            /* Still connecting: hiredis would call neither callback. */
            ac->data = NULL;
            redisAsyncFree(ac);
        }
    }
    s->connected = s->st.connected = 0;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_closed);
}

void td_redis_source_free(td_redis_source_t *s)
{
    if (!s) return;
    td_subset_free(&s->want);
    td_redis_addr_free(&s->addr);
    free(s->prefix);
    free(s);
}
