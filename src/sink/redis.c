/* SPDX-License-Identifier: Apache-2.0 */
/* Redis sink: pre-formatted pipelined PUBLISH (+ HSET of the last value)
 * over one redis/conn connection.
 *
 * Data path: td_redis_sink_publish() appends the hand-formatted RESP of one
 * event (PUBLISH, and HSET with last values) to a pending byte buffer (plus
 * its length to a parallel ring of lengths). A uv_prepare_t, active only
 * while there is something to hand over, copies the commands of at most
 * max_inflight unanswered events into the connection's output buffer once
 * per loop turn, which writes them at once.
 *
 * Replies are counted in place (redis/resp nodes, no reply objects): the
 * n-th reply belongs to the n-th command. Each pending entry (an event's
 * PUBLISH [HSET] [XADD], or a gap notice's PUBLISH and XADDs) carries its
 * command count next to its length; once sent, the counts wait in a FIFO of
 * entries in flight, so that each reply is attributed to its command.
 *
 * redis+cluster:// is redis_cluster.c's: the same commands, routed per slot. */
#include "sink/redis_int.h"

#include "core/clock.h"
#include "core/mem.h"
#include "proto/gap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

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
            while (cap < 2 * (live + n)) /* at least half free: no copy per event */
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
        uint64_t *nl = td_xmalloc(ncap * sizeof *nl);
        for (size_t i = 0; i < s->lcount; i++)
            nl[i] = s->lens[(s->lhead + i) % s->lcap];
        free(s->lens);
        s->lens = nl;
        s->lcap = ncap;
        s->lhead = 0;
    }
}

/* Drops every pending command, counting them. Returns how many. */
static uint64_t pending_drop_all(td_redis_sink_t *s)
{
    uint64_t n = 0; /* events: gap notices are not counted as dropped events */
    for (size_t i = 0; i < s->lcount; i++)
        n += !(ENT_TAG(s->lens[(s->lhead + i) % s->lcap]) & ENT_NONEV);
    s->dropped += n;
    s->head = s->tail = s->lhead = s->lcount = 0;
    return n;
}

const char *td__rsink_label(const td_redis_sink_t *s)
{
    return s->cl ? td_rcluster_label(s->cl) : td_rconn_label(s->conn);
}

/* Connected (a cluster: at least one primary). */
static int is_up(const td_redis_sink_t *s)
{
    if (s->cl) return strcmp(td_rcluster_status(s->cl), "down") != 0;
    return td_rconn_state(s->conn) == TD_RCONN_READY;
}

/* ---- handing commands to hiredis ---------------------------------------- */

static void kick(td_redis_sink_t *s);

/* Copies the commands of as many pending events as the in-flight cap allows
 * into the connection's buffer, in one block, and sends them. */
static void prep_cb(uv_prepare_t *h)
{
    td_redis_sink_t *s = h->data;
    td_buf_t *out = td_rconn_out(s->conn);
    uv_prepare_stop(h); /* restarted by publish or by a reply freeing a slot */
    if (!out || s->lcount == 0) return;
    if (s->gate && !s->gate(s->gate_ud)) {
        s->fenced += pending_drop_all(s);
        return;
    }
    size_t bytes = 0, n = 0, cmds = 0;
    while (n < s->lcount && s->inflight + n < s->max_inflight) {
        uint64_t v = s->lens[(s->lhead + n) % s->lcap];
        bytes += ENT_LEN(v);
        cmds += ENT_CMDS(ENT_TAG(v));
        s->fq[(s->fqhead + s->inflight + n++) % s->max_inflight] = ENT_TAG(v);
    }
    td_buf_append(out, s->buf + s->head, bytes);
    s->head += bytes;
    s->lhead = (s->lhead + n) % s->lcap;
    s->lcount -= n;
    if (s->lcount == 0) s->head = s->tail = s->lhead = 0;
    s->inflight += (uint32_t)n;
    td_rconn_send(s->conn, (uint32_t)cmds);
}

static void kick(td_redis_sink_t *s)
{
    if (s->lcount && s->inflight < s->max_inflight && td_rconn_state(s->conn) == TD_RCONN_READY &&
        !uv_is_active((uv_handle_t *)&s->prep))
        uv_prepare_start(&s->prep, prep_cb);
}

void td__rsink_log_error(td_redis_sink_t *s, const char *cmd, const td_resp_node_t *r)
{
    uint64_t sup;
    s->errors++;
    s->last_error_ms = uv_now(s->loop);
    if (td_ratelimit_ok(&s->rl_err, td_mono_ms(), &sup))
        TD_ERR("redis %s: %s rejected by Redis: %.*s (%llu more suppressed)", td__rsink_label(s),
               cmd, (int)(r->len > 200 ? 200 : r->len), r->s, (unsigned long long)sup);
}

/* One reply, in command order: an event's PUBLISH, then HSET with last
 * values, then XADD with history; a notice's PUBLISH, then its XADDs. */
static void on_reply(void *ud, td_rconn_t *c, const td_resp_reader_t *rd)
{
    td_redis_sink_t *s = ud;
    const td_resp_node_t *r = &rd->v[0];
    (void)c;
    if (!s->inflight) return;
    uint32_t tag = s->fq[s->fqhead];
    int notice = (tag & ENT_NONEV) != 0;
    if (s->phase == 0 && !notice) {
        if (r->type == TD_RESP_ERROR) {
            td__rsink_log_error(s, "PUBLISH", r);
            s->dropped++;
            s->rejected++;
        } else {
            s->published++;
        }
    } else if (r->type == TD_RESP_ERROR) {
        td__rsink_log_error(s,
                            s->phase == 0 && !(tag & ENT_HIST)           ? "PUBLISH"
                            : !notice && s->last_values && s->phase == 1 ? "HSET"
                                                                         : "XADD",
                            r);
    }
    if (++s->phase < ENT_CMDS(tag)) return;
    s->phase = 0;
    s->fqhead = (s->fqhead + 1) % s->max_inflight;
    s->inflight--;
    kick(s);
}

/* Events of the entries in flight (the oldest one only if its PUBLISH is
 * not answered yet); forgets them all. */
static uint64_t inflight_forget(td_redis_sink_t *s)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < s->inflight; i++)
        n += !(s->fq[(s->fqhead + i) % s->max_inflight] & ENT_NONEV) && (i > 0 || !s->phase);
    s->inflight = 0;
    s->fqhead = 0;
    s->phase = 0;
    return n;
}

/* Back after an outage that lost events: a gap notice (every kind, every
 * symbol: the sink does not know which were hit). */
static void notice_outage(td_redis_sink_t *s, td_rconn_t *c)
{
    uint64_t lost = s->down_lost + (s->dropped - s->dropped_mark);
    if (lost == 0) return;
    td_buf_t b = {0};
    td_gap_t g = {.feed = td_rconn_label(c),
                  .from_ns = s->down_ns,
                  .to_ns = td_now_ns(),
                  .refill = "impossible",
                  .lost = (int64_t)lost,
                  .reason = "Redis unreachable: events dropped"};
    td_gap_json(&b, &g);
    s->gaps++;
    td_redis_sink_notice(s, b.data, b.len, NULL);
    td_buf_free(&b);
}

static void on_ready(void *ud, td_rconn_t *c)
{
    td_redis_sink_t *s = ud;
    s->phase = 0;
    if (s->ever_ready++) {
        s->reconnects++;
        TD_WARN("redis %s: %zu events (%zu bytes) buffered, %llu dropped while away",
                td_rconn_label(c), s->lcount, pending_bytes(s),
                (unsigned long long)(s->dropped - s->dropped_mark));
        if (s->down_ns) notice_outage(s, c);
    }
    s->down_ns = 0;
    s->down_lost = 0;
    kick(s);
}

/* The events whose PUBLISH was sent and not answered are lost. */
static void on_down(void *ud, td_rconn_t *c, uint64_t unanswered)
{
    td_redis_sink_t *s = ud;
    uint64_t lost = inflight_forget(s);
    (void)unanswered;
    s->lost += lost;
    s->dropped += lost;
    if (!s->down_ns) {
        s->down_ns = td_now_ns();
        s->dropped_mark = s->dropped;
    }
    s->down_lost += lost;
    if (!s->stopping)
        TD_WARN("redis %s: %llu events in flight lost; buffering up to %zu MiB", td_rconn_label(c),
                (unsigned long long)lost, s->max_buffer >> 20);
}

/* ---- stop ---------------------------------------------------------------- */

/* One of the handles (or the Redis connection) closed; `done` once all are. */
static void conn_closed(void *ud)
{
    td_redis_sink_t *s = ud;
    if (--s->open_handles == 0 && s->done) s->done(s->done_ud);
}

static void close_cb(uv_handle_t *hd)
{
    conn_closed(hd->data);
}

static void stop_finish(td_redis_sink_t *s)
{
    uint64_t n = pending_drop_all(s), lost = s->cl ? 0 : inflight_forget(s), before = s->dropped;
    int was = is_up(s);
    if (s->cl) td_rcluster_close(s->cl, conn_closed, s); /* counts what it still held */
    n += s->dropped - before;
    s->dropped += lost;
    s->lost += lost;
    s->closed = 1;
    TD_INFO("redis: stopped (%s); published %llu, dropped %llu (%llu pending at stop, %llu "
            "unanswered), errors %llu, reconnects %llu",
            was ? "was connected" : "was not connected", (unsigned long long)s->published,
            (unsigned long long)s->dropped, (unsigned long long)n, (unsigned long long)lost,
            (unsigned long long)s->errors, (unsigned long long)s->reconnects);
    if (s->sentinel) {
        s->open_handles++;
        td_rsentinel_close(s->sentinel, conn_closed, s);
    }
    if (!s->cl) td_rconn_close(s->conn, conn_closed, s);
    uv_close((uv_handle_t *)&s->prep, close_cb);
    uv_close((uv_handle_t *)&s->timer, close_cb);
}

static void timer_cb(uv_timer_t *t)
{
    td_redis_sink_t *s = t->data;
    int live = is_up(s);
    td_rcluster_stats_t cs = {0};
    if (s->cl) td_rcluster_stats(s->cl, &cs);
    if (live && (s->lcount || s->inflight || cs.buffered || cs.inflight) &&
        td_mono_ms() < s->stop_deadline_ms) {
        kick(s);
        uv_timer_start(&s->timer, timer_cb, STOP_POLL_MS, 0);
        return;
    }
    stop_finish(s);
}

/* ---- public API ----------------------------------------------------------- */

static td_rconn_t *make_conn(td_redis_sink_t *s, const td_redis_sink_cfg_t *cfg)
{
    td_redis_url_t u;
    char err[512];
    static const td_rconn_cb_t cb = {on_ready, on_reply, on_down};
    if (td_redis_url_parse(&u, cfg->url, err, sizeof err) != 0) {
        TD_ERR("redis: %s", err);
        td_redis_url_free(&u);
        return NULL;
    }
    if (u.scheme == TD_REDIS_CLUSTER) {
        s->cl = td__rsink_cluster_new(s, &u, cfg, err, sizeof err);
        if (!s->cl) TD_ERR("redis: %s", err);
        td_redis_url_free(&u);
        return NULL;
    }
    td_rconn_cfg_t cc = {.url = &u,
                         .ca_file = cfg->ca_file,
                         .cert_file = cfg->cert_file,
                         .key_file = cfg->key_file,
                         .name = "redis",
                         .timeout_s = cfg->timeout_s,
                         .want_master = u.scheme == TD_REDIS_SENTINEL,
                         .lazy_read = 1};
    td_rconn_t *c = td_rconn_new(s->loop, &cc, &cb, s, err, sizeof err);
    if (c && u.scheme == TD_REDIS_SENTINEL) s->sentinel = td_rsentinel_new(s->loop, &u, c);
    if (!c) TD_ERR("redis: %s", err);
    td_redis_url_free(&u);
    return c;
}

td_redis_sink_t *td_redis_sink_new(uv_loop_t *loop, const td_redis_sink_cfg_t *cfg)
{
    td_redis_sink_t *s = td_xcalloc(1, sizeof *s);
    s->loop = loop;
    if (!cfg->url || (!(s->conn = make_conn(s, cfg)) && !s->cl)) {
        free(s);
        return NULL;
    }
    s->prefix = td_xstrdup(cfg->prefix ? cfg->prefix : "");
    s->prefix_len = strlen(s->prefix);
    s->max_buffer = cfg->max_buffer ? cfg->max_buffer : DEF_MAX_BUFFER;
    s->max_inflight = cfg->max_inflight ? cfg->max_inflight : DEF_MAX_INFLIGHT;
    s->last_values = cfg->last_values;
    s->ev_cmds = 1 + (cfg->last_values != 0) + (cfg->history != 0);
    s->fq = td_xmalloc(s->max_inflight * sizeof *s->fq);
    s->history = cfg->history;
    if (cfg->history) { /* $6 MAXLEN $1 ~ $<d> N $1 * $1 e */
        char *p = s->hist_mid;
        memcpy(p, "$6\r\nMAXLEN\r\n$1\r\n~\r\n$", 20);
        p = td_put_uint(p + 20, td_uint_digits(cfg->history));
        *p++ = '\r', *p++ = '\n';
        p = td_put_uint(p, cfg->history);
        memcpy(p, "\r\n$1\r\n*\r\n$1\r\ne\r\n", 16);
        s->hist_mid_len = (size_t)(p + 16 - s->hist_mid);
    }
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        s->kind_len[k] = (uint8_t)strlen(td_kind_name((td_kind_t)k));
        s->chan.len = 0;
        td_buf_appendf(&s->chan, "%slast:%s", s->prefix, td_kind_name((td_kind_t)k));
        s->hslot[k] = (uint16_t)td_rslot_key(s->chan.data, s->chan.len);
    }
    s->rl_full = (td_ratelimit_t)TD_RATELIMIT_INIT(10000, 1);
    s->rl_err = (td_ratelimit_t)TD_RATELIMIT_INIT(10000, 3);
    uv_prepare_init(loop, &s->prep);
    uv_timer_init(loop, &s->timer);
    s->prep.data = s->timer.data = s;
    s->open_handles = 3; /* prep, timer, the connection */
    return s;
}

int td_redis_sink_start(td_redis_sink_t *s)
{
    if (s->stopping || s->started) return -1;
    s->started = 1;
    if (s->sentinel)
        td_rsentinel_start(s->sentinel);
    else if (s->cl)
        td_rcluster_start(s->cl);
    else
        td_rconn_start(s->conn);
    return 0;
}

void td__rsink_drop_full(td_redis_sink_t *s)
{
    uint64_t sup;
    s->dropped++;
    if (td_ratelimit_ok(&s->rl_full, td_mono_ms(), &sup))
        TD_WARN("redis %s: buffer full (%zu bytes, %s): dropping events; %llu dropped so far",
                td__rsink_label(s), pending_bytes(s), is_up(s) ? "Redis too slow" : "Redis away",
                (unsigned long long)s->dropped);
}

/* "$<n>\r\n<prefix><mid><kind>[.<symbol>]\r\n" */
char *td__rsink_put_name(const td_redis_sink_t *s, char *p, const char *mid, size_t midl,
                         const td_event_t *ev, int with_symbol)
{
    size_t kl = s->kind_len[ev->kind], sl = with_symbol ? 1 + ev->symbol_len : 0;
    *p++ = '$';
    p = td_put_uint(p, s->prefix_len + midl + kl + sl);
    *p++ = '\r', *p++ = '\n';
    memcpy(p, s->prefix, s->prefix_len);
    p += s->prefix_len;
    memcpy(p, mid, midl);
    p += midl;
    memcpy(p, td_kind_name(ev->kind), kl);
    p += kl;
    if (with_symbol) {
        *p++ = '.';
        memcpy(p, ev->symbol, ev->symbol_len);
        p += ev->symbol_len;
    }
    *p++ = '\r', *p++ = '\n';
    return p;
}

char *td__rsink_put_bulk(char *p, const char *v, size_t n)
{
    *p++ = '$';
    p = td_put_uint(p, n);
    *p++ = '\r', *p++ = '\n';
    memcpy(p, v, n);
    p += n;
    *p++ = '\r', *p++ = '\n';
    return p;
}

/* History: "XADD <prefix>history:<kind>.<SYMBOL> MAXLEN ~ N * e <payload>".
 * With p NULL, only returns the length. */
static size_t append_history(const td_redis_sink_t *s, char *p, const td_event_t *ev)
{
    static const char mark[] = "$1\r\nr\r\n$1\r\n1\r\n"; /* refilled: r 1 */
    size_t kl = s->kind_len[ev->kind], pl = ev->payload_len;
    size_t hl = s->prefix_len + 8 + kl + 1 + ev->symbol_len;
    size_t n = 14 + 1 + td_uint_digits(hl) + 2 + hl + 2 + s->hist_mid_len + 1 + td_uint_digits(pl) +
               2 + pl + 2 + (s->refilled ? sizeof mark - 1 + 1 : 0);
    if (!p) return n;
    memcpy(p, s->refilled ? "*10\r\n$4\r\nXADD\r\n" : "*8\r\n$4\r\nXADD\r\n", 14 + !!s->refilled);
    p = td__rsink_put_name(s, p + 14 + !!s->refilled, "history:", 8, ev, 1);
    memcpy(p, s->hist_mid, s->hist_mid_len);
    p = td__rsink_put_bulk(p + s->hist_mid_len, ev->payload, pl);
    if (s->refilled) memcpy(p, mark, sizeof mark - 1);
    return n;
}

void td_redis_sink_mark_refilled(td_redis_sink_t *s, int on)
{
    s->refilled = on;
}

void td_redis_sink_publish(td_redis_sink_t *s, const td_event_t *ev)
{
    if ((unsigned)ev->kind >= TD_KIND__COUNT || s->closed) {
        s->dropped++;
        return;
    }
    int held = s->hold && s->hist_mid_len && s->hold(s->hold_ud, ev, s->refilled);
    if (s->cl) {
        td__rsink_cluster_publish(s, ev, held);
        return;
    }
    size_t kl = s->kind_len[ev->kind], sl = ev->symbol_len, pl = ev->payload_len;
    size_t cl = s->prefix_len + kl + 1 + sl;
    size_t xl = s->hist_mid_len && !held ? append_history(s, NULL, ev) : 0;
    /* *3 $7 PUBLISH $cl ch $pl payload [*4 $4 HSET $hl key $sl sym $pl payload] */
    size_t n = 4 + 13 + 1 + td_uint_digits(cl) + 2 + cl + 2 + 1 + td_uint_digits(pl) + 2 + pl + 2;
    size_t hl = s->prefix_len + 5 + kl;
    if (s->last_values)
        n += 4 + 10 + 1 + td_uint_digits(hl) + 2 + hl + 2 + 1 + td_uint_digits(sl) + 2 + sl + 2 +
             1 + td_uint_digits(pl) + 2 + pl + 2;
    n += xl;
    if (pending_bytes(s) + n > s->max_buffer || n > UINT32_MAX) {
        td__rsink_drop_full(s);
        return;
    }
    pending_reserve(s, n);
    char *p = s->buf + s->tail;
    memcpy(p, "*3\r\n$7\r\nPUBLISH\r\n", 17);
    p = td__rsink_put_name(s, p + 17, "", 0, ev, 1);
    p = td__rsink_put_bulk(p, ev->payload, pl);
    if (s->last_values) {
        memcpy(p, "*4\r\n$4\r\nHSET\r\n", 14);
        p = td__rsink_put_name(s, p + 14, "last:", 5, ev, 0);
        p = td__rsink_put_bulk(p, ev->symbol, sl);
        p = td__rsink_put_bulk(p, ev->payload, pl);
    }
    if (xl) p += append_history(s, p, ev);
    assert((size_t)(p - (s->buf + s->tail)) == n);
    s->tail += n;
    s->lens[(s->lhead + s->lcount++) % s->lcap] = ENT(n, s->ev_cmds - (uint32_t)held);
    kick(s);
}

void td_redis_sink_set_hold(td_redis_sink_t *s, int (*hold)(void *, const td_event_t *, int),
                            void *ud)
{
    s->hold = hold;
    s->hold_ud = ud;
}

void td_redis_sink_history(td_redis_sink_t *s, const td_event_t *ev, int refilled)
{
    if ((unsigned)ev->kind >= TD_KIND__COUNT || s->closed || !s->hist_mid_len) return;
    int was = s->refilled;
    s->refilled = refilled;
    if (s->cl) {
        s->chan.len = 0;
        td_buf_append(&s->chan, s->prefix, s->prefix_len);
        td_buf_append(&s->chan, td_kind_name(ev->kind), s->kind_len[ev->kind]);
        td_buf_appendc(&s->chan, '.');
        td_buf_append(&s->chan, ev->symbol, ev->symbol_len);
        td__rsink_cluster_history(s, td_rslot_key(s->chan.data, s->chan.len), ev);
    } else {
        size_t n = append_history(s, NULL, ev);
        if (pending_bytes(s) + n <= s->max_buffer && n <= UINT32_MAX) {
            pending_reserve(s, n);
            append_history(s, s->buf + s->tail, ev);
            s->tail += n;
            s->lens[(s->lhead + s->lcount++) % s->lcap] = ENT(n, 1 | ENT_HIST);
            kick(s);
        }
    }
    s->refilled = was;
}

/* XADD <history key> MAXLEN ~ N * g <json> into s->note; the key is
 * <prefix>history:<kind>.<sym>, on a cluster <prefix>history:{<channel>}.
 * Returns the key's slot, or -1 (a name too long: nothing appended). */
int td__rsink_notice_xadd(td_redis_sink_t *s, td_kind_t k, const char *sym, const char *json,
                          size_t n)
{
    char key[512], num[24];
    const char *kn = td_kind_name(k);
    int kl = s->cl ? snprintf(key, sizeof key, "%shistory:{%s%s.%s}", s->prefix, s->prefix, kn, sym)
                   : snprintf(key, sizeof key, "%shistory:%s.%s", s->prefix, kn, sym);
    int nl = snprintf(num, sizeof num, "%u", s->history);
    if (kl < 0 || (size_t)kl >= sizeof key) return -1;
    const char *argv[] = {"XADD", key, "MAXLEN", "~", num, "*", "g", json};
    const size_t lens[] = {4, (size_t)kl, 6, 1, (size_t)nl, 1, 1, n};
    td_resp_append_cmd(&s->note, 8, argv, lens);
    return (int)td_rslot_key(key, (size_t)kl);
}

void td_redis_sink_notice(td_redis_sink_t *s, const char *json, size_t n, const td_subset_t *where)
{
    if (s->closed) return;
    char ch[256];
    int cl = snprintf(ch, sizeof ch, "%stickerd.gaps", s->prefix);
    if (cl < 0 || (size_t)cl >= sizeof ch) return;
    if (s->cl) {
        td__rsink_cluster_notice(s, ch, (size_t)cl, json, n, where);
        return;
    }
    const char *argv[] = {"PUBLISH", ch, json};
    const size_t lens[] = {7, (size_t)cl, n};
    uint32_t cmds = 1;
    td_buf_reset(&s->note);
    td_resp_append_cmd(&s->note, 3, argv, lens);
    for (int k = 0; s->history && where && k < TD_KIND__COUNT; k++)
        for (size_t i = 0; i < where->k[k].n; i++, cmds++)
            td__rsink_notice_xadd(s, (td_kind_t)k, where->k[k].v[i], json, n);
    if (s->note.len > UINT32_MAX || cmds >= ENT_NOTICE) return;
    pending_reserve(s, s->note.len);
    memcpy(s->buf + s->tail, s->note.data, s->note.len);
    s->tail += s->note.len;
    s->lens[(s->lhead + s->lcount++) % s->lcap] = ENT(s->note.len, cmds | ENT_NOTICE);
    kick(s);
}

void td_redis_sink_stats(const td_redis_sink_t *s, td_redis_sink_stats_t *out)
{
    td_rconn_stats_t cs;
    out->published = s->published;
    out->dropped = s->dropped;
    out->errors = s->errors;
    out->rejected = s->rejected;
    out->lost = s->lost;
    out->reconnects = s->reconnects;
    out->gaps = s->gaps;
    out->fenced = s->fenced;
    if (s->cl) {
        td__rsink_cluster_stats(s, out);
        return;
    }
    td_rconn_stats(s->conn, &cs);
    out->timeouts = cs.timeouts;
    out->switches = s->sentinel ? td_rsentinel_switches(s->sentinel) : 0;
    out->reconnects = s->reconnects;
    out->fenced = s->fenced;
    out->moved = out->ask = 0;
    out->buffered = pending_bytes(s);
    out->buffered_events = s->lcount;
    out->inflight = s->inflight;
    out->connected = cs.state == TD_RCONN_READY;
    uint64_t now = uv_now(s->loop);
    out->status = !out->connected                                      ? "down"
                  : s->errors && now - s->last_error_ms < REJECTING_MS ? "rejecting"
                  : cs.waiting_ms >= OVERDUE_MS                        ? "not answering"
                                                                       : "up";
}

void td_redis_sink_set_gate(td_redis_sink_t *s, int (*gate)(void *ud), void *ud)
{
    s->gate = gate;
    s->gate_ud = ud;
    if (s->cl) td_rcluster_set_gate(s->cl, gate, ud);
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
    assert(s->open_handles == 0); /* _stop must have called `done` */
    td_rconn_free(s->conn);
    td_rsentinel_free(s->sentinel);
    td_rcluster_free(s->cl);
    td_buf_free(&s->chan);
    free(s->buf);
    free(s->lens);
    free(s->fq);
    td_buf_free(&s->note);
    free(s->prefix);
    free(s);
}
