/* SPDX-License-Identifier: Apache-2.0 */
/* The HA lease: acquire / renew / fence / release over one Redis connection.
 * One lease command is in flight at a time (the acquire or renew of the
 * current tick); a tick runs every ttl/3, and while active also at the local
 * deadline, so fencing never waits for a tick. */
#include "ha/lease.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "redis/cluster.h"
#include "redis/conn.h"
#include "redis/resp.h"
#include "redis/sentinel.h"
#include "redis/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RELEASE_WAIT_MS 300u /* how long _stop waits for the release's answer */

/* KEYS: lease, token, interest. ARGV: id, ttl ms. */
static const char ACQUIRE_LUA[] = "if redis.call('SET',KEYS[1],ARGV[1],'NX','PX',ARGV[2]) then "
                                  "local t=redis.call('INCR',KEYS[2]) "
                                  "redis.call('SET',KEYS[1],ARGV[1]..':'..t,'PX',ARGV[2]) "
                                  "return {t,redis.call('GET',KEYS[3]) or ''} end "
                                  "return {0,redis.call('GET',KEYS[1]) or ''}";
/* KEYS: lease, interest. ARGV: value, ttl ms [, interest spec]. */
static const char RENEW_LUA[] = "if redis.call('GET',KEYS[1])~=ARGV[1] then return 0 end "
                                "redis.call('PEXPIRE',KEYS[1],ARGV[2]) "
                                "if ARGV[3] then redis.call('SET',KEYS[2],ARGV[3]) end "
                                "return 1";
/* KEYS: lease. ARGV: value. */
static const char RELEASE_LUA[] = "if redis.call('GET',KEYS[1])==ARGV[1] then "
                                  "return redis.call('DEL',KEYS[1]) end return 0";

enum { OP_NONE, OP_ACQUIRE, OP_RENEW, OP_RELEASE };

struct td_ha_s {
    uv_loop_t *loop;
    td_rconn_t *conn;
    td_rsentinel_t *sentinel;
    td_rcluster_t *cl; /* redis+cluster:// (then conn is NULL) */
    unsigned slot;     /* cluster: the lease keys' slot (hash tag {NAME}) */
    td_buf_t cmd;      /* cluster: a command being formatted */
    td_ha_cb_t cb;
    void *ud;
    char *id, *name, *k_lease, *k_token, *k_interest;
    uint64_t ttl_ms, period_ms;
    uv_timer_t tick, stop_timer;
    td_ha_role_t role;
    uint64_t token, deadline_ms;
    char value[320];  /* "<id>:<token>" while active */
    char holder[320]; /* the lease's value as last seen */
    int op;           /* the lease command in flight */
    uint64_t op_sent_ms;
    int interest_dirty, seen_other, stopping, open_handles;
    uint64_t acquired_ms, first_batch_pending;
    uint64_t takeovers, acquisitions, fenced, refused;
    double last_takeover_s;
    void (*done)(void *ud);
    void *done_ud;
    td_ratelimit_t rl_err;
};

uint64_t td_ha_margin_ms(uint64_t ttl_ms)
{
    uint64_t m = ttl_ms / 5;
    return m < 50 ? 50 : m;
}

uint64_t td_ha_deadline(uint64_t sent_ms, uint64_t ttl_ms)
{
    uint64_t m = td_ha_margin_ms(ttl_ms);
    return ttl_ms > m ? sent_ms + ttl_ms - m : sent_ms;
}

void td_ha_spec_format(const td_subset_t *s, td_buf_t *out)
{
    int first = 1;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &s->k[k];
        if (!ss->all && ss->n == 0) continue;
        td_buf_appendf(out, "%s%s=", first ? "" : ";", td_kind_name((td_kind_t)k));
        first = 0;
        if (ss->all) td_buf_appendc(out, '*');
        for (size_t i = 0; i < ss->n; i++) {
            if (ss->all || i) td_buf_appendc(out, ',');
            td_buf_appends(out, ss->v[i]);
        }
    }
}

/* The connection that carries the lease commands is ready (on a cluster:
 * the one to the primary of the lease's slot). */
static int lease_ready(const td_ha_t *h)
{
    if (!h->cl) return td_rconn_state(h->conn) == TD_RCONN_READY;
    td_rconn_t *c = td_rcluster_conn(h->cl, td_rcluster_node_of(h->cl, h->slot));
    return c && td_rconn_state(c) == TD_RCONN_READY;
}

static void send_cmd(td_ha_t *h, int op, int argc, const char *const *argv)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if (h->cl) { /* to the slot's primary; MOVED and ASK are followed */
        td_buf_reset(&h->cmd);
        td_resp_append_cmd(&h->cmd, argc, argv, lens);
        char *p = td_rcluster_reserve(h->cl, h->slot, h->cmd.len);
        if (!p) return;
        memcpy(p, h->cmd.data, h->cmd.len);
        td_rcluster_commit(h->cl, (uint32_t)op);
    } else if (td_rconn_command(h->conn, argc, argv, lens) != 0) {
        return;
    }
    h->op = op;
    h->op_sent_ms = td_mono_ms();
}

static void set_role(td_ha_t *h, td_ha_role_t role, const char *why, const char *inherited)
{
    h->role = role;
    TD_INFO("ha: lease %s: %s (%s), fencing token %llu", h->name,
            role == TD_HA_ACTIVE ? "now ACTIVE" : "now STANDBY", why, (unsigned long long)h->token);
    h->cb.on_role(h->ud, role, h->token, inherited);
}

static void fence(td_ha_t *h, const char *why)
{
    if (h->role != TD_HA_ACTIVE) return;
    h->fenced++;
    h->first_batch_pending = 0;
    set_role(h, TD_HA_STANDBY, why, NULL);
}

static void tick_cb(uv_timer_t *t);
static void stop_finish(uv_timer_t *t);

static void rearm(td_ha_t *h)
{
    uint64_t now = td_mono_ms(), delay = h->period_ms;
    if (h->role == TD_HA_ACTIVE && h->deadline_ms < now + delay)
        delay = h->deadline_ms > now ? h->deadline_ms - now : 1; /* 0: rerun in this pass */
    uv_timer_start(&h->tick, tick_cb, delay, 0);
}

static void send_lease_op(td_ha_t *h)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)h->ttl_ms);
    if (h->role == TD_HA_STANDBY) {
        const char *argv[] = {"EVAL",     ACQUIRE_LUA,   "3",   h->k_lease,
                              h->k_token, h->k_interest, h->id, ttl};
        send_cmd(h, OP_ACQUIRE, 8, argv);
        return;
    }
    td_buf_t spec = TD_BUF_INIT;
    if (h->interest_dirty && h->cb.interest) {
        h->cb.interest(h->ud, &spec);
        td_buf_appendc(&spec, '\0');
    }
    const char *argv[] = {"EVAL",        RENEW_LUA, "2", h->k_lease,
                          h->k_interest, h->value,  ttl, spec.data};
    send_cmd(h, OP_RENEW, spec.data ? 8 : 7, argv);
    if (h->op == OP_RENEW) h->interest_dirty = 0;
    td_buf_free(&spec);
}

static void tick_cb(uv_timer_t *t)
{
    td_ha_t *h = t->data;
    if (h->role == TD_HA_ACTIVE && td_mono_ms() >= h->deadline_ms)
        fence(h, "lease not renewed in time: stopped publishing");
    if (h->op == OP_NONE && lease_ready(h)) send_lease_op(h);
    rearm(h);
}

static void on_acquire_reply(td_ha_t *h, const td_resp_reader_t *rd, uint64_t sent)
{
    const td_resp_node_t *t = td_resp_elem(rd, 0, 0), *v = td_resp_elem(rd, 0, 1);
    if (!t || t->type != TD_RESP_INT || !v || v->type != TD_RESP_BULK) return;
    if (t->i <= 0) {
        int changed = v->len != strlen(h->holder) || memcmp(v->s, h->holder, v->len) != 0;
        snprintf(h->holder, sizeof h->holder, "%.*s", (int)v->len, v->s);
        if (changed) TD_INFO("ha: lease %s held by %s; standing by", h->name, h->holder);
        h->seen_other = 1;
        return;
    }
    h->token = (uint64_t)t->i;
    snprintf(h->value, sizeof h->value, "%s:%llu", h->id, (unsigned long long)h->token);
    snprintf(h->holder, sizeof h->holder, "%s", h->value);
    h->deadline_ms = td_ha_deadline(sent, h->ttl_ms);
    h->acquisitions++;
    h->acquired_ms = td_mono_ms();
    h->first_batch_pending = 1;
    h->interest_dirty = 1;
    const char *why = h->seen_other ? "took over the lease" : "acquired the free lease";
    if (h->seen_other) h->takeovers++;
    h->seen_other = 0;
    char *inherited = td_xmalloc(v->len + 1);
    memcpy(inherited, v->s, v->len);
    inherited[v->len] = '\0';
    set_role(h, TD_HA_ACTIVE, why, inherited);
    free(inherited);
}

static void log_redis_error(td_ha_t *h, const td_resp_node_t *r)
{
    uint64_t sup;
    if (td_ratelimit_ok(&h->rl_err, td_mono_ms(), &sup))
        TD_ERR("ha: lease %s: Redis refused a lease command: %.*s (%llu more suppressed)", h->name,
               (int)(r->len > 200 ? 200 : r->len), r->s, (unsigned long long)sup);
}

static void on_reply(void *ud, td_rconn_t *c, const td_resp_reader_t *rd)
{
    td_ha_t *h = ud;
    const td_resp_node_t *r = &rd->v[0];
    int op = h->op;
    (void)c;
    h->op = OP_NONE;
    if (r->type == TD_RESP_ERROR) {
        log_redis_error(h, r);
    } else if (op == OP_ACQUIRE && h->role == TD_HA_STANDBY) {
        on_acquire_reply(h, rd, h->op_sent_ms);
        /* a new holder stores its interest at once (a renewal), not a third
         * of the ttl later: it may die before that */
        if (h->role == TD_HA_ACTIVE) uv_timer_start(&h->tick, tick_cb, 0, 0);
    } else if (op == OP_RENEW && h->role == TD_HA_ACTIVE) {
        if (r->type == TD_RESP_INT && r->i == 1)
            h->deadline_ms = td_ha_deadline(h->op_sent_ms, h->ttl_ms);
        else
            fence(h, "lease lost (expired or taken): stopped publishing");
    }
    if (op == OP_RELEASE && h->stopping) uv_timer_start(&h->stop_timer, stop_finish, 0, 0);
}

static void on_ready(void *ud, td_rconn_t *c)
{
    td_ha_t *h = ud;
    (void)c;
    h->op = OP_NONE;
    if (!h->stopping) uv_timer_start(&h->tick, tick_cb, 0, 0);
}

static void on_down(void *ud, td_rconn_t *c, uint64_t unanswered)
{
    td_ha_t *h = ud;
    (void)c;
    (void)unanswered;
    h->op = OP_NONE; /* the deadline still runs: no renewal, no publishing after it */
}

static void on_cl_reply(void *ud, uint32_t tag, const td_resp_reader_t *rd)
{
    (void)tag;
    on_reply(ud, NULL, rd);
}

static void on_cl_lost(void *ud, uint32_t tag)
{
    td_ha_t *h = ud;
    int op = h->op;
    (void)tag;
    h->op = OP_NONE; /* the deadline still runs */
    if (op == OP_RELEASE && h->stopping) uv_timer_start(&h->stop_timer, stop_finish, 0, 0);
}

/* redis+cluster://: command mode, one lease command at a time. */
static int make_cluster(td_ha_t *h, const td_redis_url_t *u, double to, char *err, size_t errlen)
{
    static const td_rcluster_cb_t cb = {on_cl_reply, on_cl_lost, NULL};
    td_rcluster_cfg_t cc = {.url = u, .name = "ha lease", .timeout_s = to, .max_inflight = 16};
    h->cl = td_rcluster_new(h->loop, &cc, &cb, h, err, errlen);
    return h->cl ? 0 : -1;
}

static td_rconn_t *make_conn(td_ha_t *h, const td_ha_cfg_t *cfg, char *err, size_t errlen)
{
    td_redis_url_t u;
    static const td_rconn_cb_t cb = {on_ready, on_reply, on_down};
    if (td_redis_url_parse(&u, cfg->url, err, errlen) != 0) {
        td_redis_url_free(&u);
        return NULL;
    }
    double to = cfg->ttl_s < 5 ? cfg->ttl_s : 5;
    td_rconn_cfg_t cc = {.url = &u,
                         .ca_file = cfg->ca_file,
                         .cert_file = cfg->cert_file,
                         .key_file = cfg->key_file,
                         .name = "ha lease",
                         .timeout_s = to,
                         .backoff_min_s = 0.05,
                         .backoff_max_s = to,
                         .want_master = u.scheme == TD_REDIS_SENTINEL};
    td_rconn_t *c = NULL;
    if (u.scheme == TD_REDIS_CLUSTER)
        make_cluster(h, &u, to, err, errlen);
    else
        c = td_rconn_new(h->loop, &cc, &cb, h, err, errlen);
    if (c && u.scheme == TD_REDIS_SENTINEL) h->sentinel = td_rsentinel_new(h->loop, &u, c);
    td_redis_url_free(&u);
    return c;
}

/* <prefix>lease:NAME<suffix>; on a cluster <prefix>lease:{NAME}<suffix>:
 * the hash tag puts the three keys in one slot, as the scripts need. */
static char *key_of(const char *prefix, const char *name, const char *suffix, int tag)
{
    td_buf_t b = TD_BUF_INIT;
    td_buf_appendf(&b, tag ? "%slease:{%s}%s" : "%slease:%s%s", prefix ? prefix : "", name, suffix);
    td_buf_appendc(&b, '\0');
    return b.data;
}

td_ha_t *td_ha_new(uv_loop_t *loop, const td_ha_cfg_t *cfg, const td_ha_cb_t *cb, void *ud,
                   char *err, size_t errlen)
{
    if (!cfg->name || !*cfg->name || strlen(cfg->name) > 128 || cfg->ttl_s <= 0) {
        snprintf(err, errlen, "the lease needs a name (at most 128 bytes) and a ttl > 0");
        return NULL;
    }
    td_ha_t *h = td_xcalloc(1, sizeof *h);
    h->loop = loop;
    if (!(h->conn = make_conn(h, cfg, err, errlen)) && !h->cl) {
        free(h);
        return NULL;
    }
    h->cb = *cb;
    h->ud = ud;
    char host[128] = "host";
    gethostname(host, sizeof host - 1);
    char id[200];
    snprintf(id, sizeof id, "%s:%ld", host, (long)getpid());
    h->id = td_xstrdup(cfg->id && *cfg->id ? cfg->id : id);
    h->name = td_xstrdup(cfg->name);
    int tag = h->cl != NULL;
    h->k_lease = key_of(cfg->prefix, cfg->name, "", tag);
    h->k_token = key_of(cfg->prefix, cfg->name, ":token", tag);
    h->k_interest = key_of(cfg->prefix, cfg->name, ":interest", tag);
    h->slot = td_rslot_key(h->k_lease, strlen(h->k_lease));
    h->ttl_ms = (uint64_t)(cfg->ttl_s * 1000);
    h->period_ms = h->ttl_ms / 3 ? h->ttl_ms / 3 : 1;
    h->last_takeover_s = -1;
    h->rl_err = (td_ratelimit_t)TD_RATELIMIT_INIT(10000, 3);
    uv_timer_init(loop, &h->tick);
    uv_timer_init(loop, &h->stop_timer);
    h->tick.data = h->stop_timer.data = h;
    h->open_handles = 3; /* tick, stop_timer, the connection */
    return h;
}

void td_ha_start(td_ha_t *h)
{
    if (h->sentinel) {
        td_rsentinel_start(h->sentinel);
    } else if (h->cl) { /* no READY of its own: the tick waits for the slot's primary */
        td_rcluster_start(h->cl);
        uv_timer_start(&h->tick, tick_cb, 0, 0);
    } else {
        td_rconn_start(h->conn);
    }
}

int td_ha_gate(void *ud)
{
    td_ha_t *h = ud;
    if (h->role != TD_HA_ACTIVE || td_mono_ms() >= h->deadline_ms) {
        h->refused++;
        return 0;
    }
    if (h->first_batch_pending) {
        h->first_batch_pending = 0;
        h->last_takeover_s = (double)(td_mono_ms() - h->acquired_ms) / 1000.0;
    }
    return 1;
}

void td_ha_interest_changed(td_ha_t *h)
{
    h->interest_dirty = 1;
}

td_ha_role_t td_ha_role(const td_ha_t *h)
{
    return h->role;
}

void td_ha_stats(const td_ha_t *h, td_ha_stats_t *out)
{
    out->role = h->role;
    out->token = h->token;
    out->holder = h->holder;
    out->takeovers = h->takeovers;
    out->acquisitions = h->acquisitions;
    out->fenced = h->fenced;
    out->refused_batches = h->refused;
    out->last_takeover_s = h->last_takeover_s;
    out->connected = lease_ready(h);
}

/* One of the handles (or the Redis connection) closed; `done` once all are. */
static void conn_closed(void *ud)
{
    td_ha_t *h = ud;
    if (--h->open_handles == 0 && h->done) h->done(h->done_ud);
}

static void close_cb(uv_handle_t *hd)
{
    conn_closed(hd->data);
}

static void stop_finish(uv_timer_t *t)
{
    td_ha_t *h = t->data;
    h->role = TD_HA_STANDBY;
    if (h->sentinel) {
        h->open_handles++;
        td_rsentinel_close(h->sentinel, conn_closed, h);
    }
    if (h->cl)
        td_rcluster_close(h->cl, conn_closed, h);
    else
        td_rconn_close(h->conn, conn_closed, h);
    uv_close((uv_handle_t *)&h->tick, close_cb);
    uv_close((uv_handle_t *)&h->stop_timer, close_cb);
}

void td_ha_stop(td_ha_t *h, void (*done)(void *ud), void *ud)
{
    if (h->stopping) return;
    h->stopping = 1;
    h->done = done;
    h->done_ud = ud;
    uv_timer_stop(&h->tick);
    uint64_t wait = 0;
    if (h->role == TD_HA_ACTIVE && lease_ready(h)) {
        const char *argv[] = {"EVAL", RELEASE_LUA, "1", h->k_lease, h->value};
        send_cmd(h, OP_RELEASE, 5, argv);
        wait = RELEASE_WAIT_MS;
        TD_INFO("ha: lease %s: released (stopping), fencing token %llu", h->name,
                (unsigned long long)h->token);
    }
    /* still active (to its deadline) until the release is answered: the
     * sink's last flush at shutdown passes the gate */
    uv_timer_start(&h->stop_timer, stop_finish, wait, 0);
}

void td_ha_free(td_ha_t *h)
{
    if (!h) return;
    td_rconn_free(h->conn);
    td_rsentinel_free(h->sentinel);
    td_rcluster_free(h->cl);
    td_buf_free(&h->cmd);
    free(h->id);
    free(h->name);
    free(h->k_lease);
    free(h->k_token);
    free(h->k_interest);
    free(h);
}
