/* SPDX-License-Identifier: Apache-2.0 */
#include "feed/redis_source.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "proto/json_scan.h"
#include "proto/sub.h"
#include "redis/cluster.h"
#include "redis/conn.h"
#include "redis/url.h"

#include <stdlib.h>
#include <string.h>

struct td_redis_source_s {
    td_rconn_t *sub;            /* SUBSCRIBE / PSUBSCRIBE */
    td_rconn_t *cmd;            /* HGET of last values (NULL without them) */
    td_rcluster_t *csub, *ccmd; /* redis+cluster:// instead of sub and cmd */
    char **cl_asked;            /* cluster: HGETs in flight by tag, "<kind><symbol>" */
    size_t cl_nasked;
    unsigned warned_kinds; /* cluster: wildcards refused (one line per kind) */
    char *prefix;
    size_t prefix_len;
    td_redis_source_cb_t cb;
    void *ud;
    td_subset_t want;
    td_subset_t awaiting; /* snapshots asked, not answered, no live event yet */
    td_buf_t asked;       /* the HGETs in flight, in order: "<kind byte><symbol>\0" */
    size_t asked_off;
    int open_handles;
    void (*done)(void *ud);
    void *done_ud;
    td_redis_source_stats_t st;
    td_ratelimit_t rl_bad;
};

/* Counts a message that is not served, with one rate-limited line. */
static void skip(td_redis_source_t *s, const td_resp_node_t *ch, const char *why)
{
    uint64_t sup;
    s->st.malformed++;
    if (td_ratelimit_ok(&s->rl_bad, td_mono_ms(), &sup))
        TD_WARN("redis source: message on '%.*s' skipped: %s", (int)(ch->len > 80 ? 80 : ch->len),
                ch->s, why);
}

/* Hands on one payload as an event of (kind, sym) if it is one JSON object
 * (what tickerd publishes): anything else is counted and skipped, never
 * served to clients. */
static int emit(td_redis_source_t *s, int kind, const char *sym, size_t n,
                const td_resp_node_t *data, const td_resp_node_t *ch)
{
    if (!td_json_valid(data->s, data->len, 1)) {
        skip(s, ch, "not one JSON object");
        return -1;
    }
    td_event_t ev = {(td_kind_t)kind, sym, n, data->s, data->len};
    s->cb.on_event(s->ud, &ev);
    return 0;
}

/* "<prefix><kind>.<SYMBOL>" → event. */
static void on_message(td_redis_source_t *s, const td_resp_node_t *ch, const td_resp_node_t *data)
{
    const char *c = ch->s, *dot = NULL;
    size_t n = ch->len;
    int kind = -1;
    if (ch->type != TD_RESP_BULK || data->type != TD_RESP_BULK) {
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
    const char *sym = dot + 1;
    size_t sl = (size_t)(c + n - sym);
    if (!td_subset_empty(&s->awaiting)) /* a live event beats an older snapshot */
        td_subset_remove(&s->awaiting, (td_kind_t)kind, sym, sl);
    if (emit(s, kind, sym, sl, data, ch) == 0) s->st.events++;
}

static void on_sub_reply(void *ud, td_rconn_t *c, const td_resp_reader_t *rd)
{
    td_redis_source_t *s = ud;
    const td_resp_node_t *type = td_resp_elem(rd, 0, 0);
    (void)c;
    if ((td_resp_is(type, "message") || td_resp_is(type, "smessage")) && rd->v[0].n == 3)
        on_message(s, td_resp_elem(rd, 0, 1), td_resp_elem(rd, 0, 2));
    else if (td_resp_is(type, "pmessage") && rd->v[0].n == 4)
        on_message(s, td_resp_elem(rd, 0, 2), td_resp_elem(rd, 0, 3));
}

/* Sends `cmd channel` for (kind, sym) on c. */
static void sub_command(td_redis_source_t *s, td_rconn_t *c, const char *cmd, td_kind_t kind,
                        const char *sym, size_t n)
{
    td_buf_t ch = TD_BUF_INIT;
    td_buf_appendf(&ch, "%s%s.%.*s", s->prefix, td_kind_name(kind), (int)n, sym);
    const char *argv[2] = {cmd, ch.data};
    size_t argl[2] = {strlen(cmd), ch.len};
    if (td_rconn_command(c, 2, argv, argl) == 0) s->st.sub_commands++;
    td_buf_free(&ch);
}

/* A cluster: S(UN)SUBSCRIBE on the primary that owns the channel's slot (if
 * it is `node`, or any with node < 0). A wildcard cannot be served: sharded
 * messages never reach pattern subscriptions (one line per kind). */
static void cluster_sub(td_redis_source_t *s, td_kind_t kind, const char *sym, size_t n, int on,
                        int node)
{
    if (n == 1 && sym[0] == '*') {
        if (on && !(s->warned_kinds & (1u << kind)))
            TD_WARN("redis source %s: %s=* is not served from a cluster: SPUBLISH messages never "
                    "reach pattern subscriptions; clients get symbols they name",
                    td_rcluster_label(s->csub), td_kind_name(kind));
        s->warned_kinds |= on ? 1u << kind : 0;
        return;
    }
    td_buf_t ch = TD_BUF_INIT;
    td_buf_appendf(&ch, "%s%s.%.*s", s->prefix, td_kind_name(kind), (int)n, sym);
    int owner = td_rcluster_node_of(s->csub, td_rslot_key(ch.data, ch.len));
    td_rconn_t *c = td_rcluster_conn(s->csub, owner);
    td_buf_free(&ch);
    if (c && (node < 0 || owner == node) && td_rconn_state(c) == TD_RCONN_READY)
        sub_command(s, c, on ? "SSUBSCRIBE" : "SUNSUBSCRIBE", kind, sym, n);
}

/* Sends one (P)(UN)SUBSCRIBE for (kind, sym). */
static void send_sub(td_redis_source_t *s, td_kind_t kind, const char *sym, size_t n, int on)
{
    int pattern = n == 1 && sym[0] == '*';
    if (s->csub) {
        cluster_sub(s, kind, sym, n, on, -1);
        return;
    }
    sub_command(s, s->sub,
                pattern ? (on ? "PSUBSCRIBE" : "PUNSUBSCRIBE") : (on ? "SUBSCRIBE" : "UNSUBSCRIBE"),
                kind, sym, n);
}

/* Subscribes the whole interest (a cluster: what primary `node` owns). */
static void resubscribe(td_redis_source_t *s, int node)
{
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (s->want.k[k].all) send_sub(s, (td_kind_t)k, "*", 1, 1);
        for (size_t i = 0; i < s->want.k[k].n; i++) {
            const char *sym = s->want.k[k].v[i];
            if (s->csub)
                cluster_sub(s, (td_kind_t)k, sym, strlen(sym), 1, node);
            else
                send_sub(s, (td_kind_t)k, sym, strlen(sym), 1);
        }
    }
}

static void on_sub_ready(void *ud, td_rconn_t *c)
{
    td_redis_source_t *s = ud;
    td_rconn_stats_t cs;
    td_rconn_stats(c, &cs);
    s->st.reconnects = cs.connects - 1;
    s->st.connected = 1;
    resubscribe(s, -1);
}

static void on_cl_sub_reply(void *ud, uint32_t node, const td_resp_reader_t *rd)
{
    (void)node;
    on_sub_reply(ud, NULL, rd);
}

static void on_cl_node_ready(void *ud, int node)
{
    resubscribe(ud, node);
}

static void on_sub_down(void *ud, td_rconn_t *c, uint64_t unanswered)
{
    td_redis_source_t *s = ud;
    (void)c, (void)unanswered;
    s->st.connected = 0;
}

/* ---- snapshots ------------------------------------------------------------ */

/* A cluster: the HGET goes to the primary of the hash's slot, tagged with
 * its entry in cl_asked (replies of different primaries come in any order). */
static void cluster_ask(td_redis_source_t *s, const td_buf_t *key, td_kind_t kind, const char *sym,
                        size_t n)
{
    td_buf_t cmd = TD_BUF_INIT;
    const char *argv[3] = {"HGET", key->data, sym};
    size_t argl[3] = {4, key->len, n}, tag = 0;
    td_resp_append_cmd(&cmd, 3, argv, argl);
    char *p = td_rcluster_reserve(s->ccmd, td_rslot_key(key->data, key->len), cmd.len);
    if (p) {
        memcpy(p, cmd.data, cmd.len);
        while (tag < s->cl_nasked && s->cl_asked[tag])
            tag++;
        if (tag == s->cl_nasked)
            s->cl_asked = td_xrealloc(s->cl_asked, ++s->cl_nasked * sizeof *s->cl_asked);
        s->cl_asked[tag] = td_xmalloc(n + 2);
        s->cl_asked[tag][0] = (char)kind;
        memcpy(s->cl_asked[tag] + 1, sym, n);
        s->cl_asked[tag][n + 1] = '\0';
        td_rcluster_commit(s->ccmd, (uint32_t)tag);
        td_subset_add(&s->awaiting, kind, sym, n);
    }
    td_buf_free(&cmd);
}

static void ask_snapshot(td_redis_source_t *s, td_kind_t kind, const char *sym, size_t n)
{
    td_buf_t key = TD_BUF_INIT;
    td_buf_appendf(&key, "%slast:%s", s->prefix, td_kind_name(kind));
    if (s->ccmd) cluster_ask(s, &key, kind, sym, n);
    if (!s->cmd || td_rconn_state(s->cmd) != TD_RCONN_READY) {
        td_buf_free(&key);
        return;
    }
    const char *argv[3] = {"HGET", key.data, sym};
    size_t argl[3] = {4, key.len, n};
    td_rconn_command(s->cmd, 3, argv, argl);
    td_buf_free(&key);
    td_subset_add(&s->awaiting, kind, sym, n);
    td_buf_appendc(&s->asked, (char)kind);
    td_buf_append(&s->asked, sym, n);
    td_buf_appendc(&s->asked, '\0');
}

/* The answer r to the HGET of (kind, sym): handed on unless a live event
 * came first. */
static void got_snapshot(td_redis_source_t *s, int kind, const char *sym, size_t n,
                         const td_resp_node_t *r)
{
    if (!td_subset_has(&s->awaiting, (td_kind_t)kind, sym, n)) return;
    td_subset_remove(&s->awaiting, (td_kind_t)kind, sym, n);
    td_resp_node_t ch = {.type = TD_RESP_BULK, .s = "last value", .len = 10};
    if (r->type == TD_RESP_BULK && emit(s, kind, sym, n, r, &ch) == 0) s->st.snapshots++;
}

static void on_cmd_reply(void *ud, td_rconn_t *c, const td_resp_reader_t *rd)
{
    td_redis_source_t *s = ud;
    const td_resp_node_t *r = &rd->v[0];
    (void)c;
    if (s->asked_off >= s->asked.len) return; /* an idle PING's answer */
    const char *e = s->asked.data + s->asked_off;
    int kind = (unsigned char)e[0];
    const char *sym = e + 1;
    size_t n = strlen(sym);
    s->asked_off += n + 2;
    if (s->asked_off == s->asked.len) s->asked.len = s->asked_off = 0;
    got_snapshot(s, kind, sym, n, r);
}

/* A cluster's HGET answered (r) or lost (NULL). */
static void cluster_answer(td_redis_source_t *s, uint32_t tag, const td_resp_node_t *r)
{
    char *e = tag < s->cl_nasked ? s->cl_asked[tag] : NULL;
    if (!e) return;
    s->cl_asked[tag] = NULL;
    size_t n = strlen(e + 1);
    if (r)
        got_snapshot(s, (unsigned char)e[0], e + 1, n, r);
    else
        td_subset_remove(&s->awaiting, (td_kind_t)(unsigned char)e[0], e + 1, n);
    free(e);
}

static void on_cl_cmd_reply(void *ud, uint32_t tag, const td_resp_reader_t *rd)
{
    cluster_answer(ud, tag, &rd->v[0]);
}

static void on_cl_cmd_lost(void *ud, uint32_t tag)
{
    cluster_answer(ud, tag, NULL);
}

static void on_cmd_down(void *ud, td_rconn_t *c, uint64_t unanswered)
{
    td_redis_source_t *s = ud;
    (void)c, (void)unanswered;
    s->asked.len = s->asked_off = 0;
    td_subset_clear(&s->awaiting);
}

/* ---- life ----------------------------------------------------------------- */

static td_rconn_t *make_conn(uv_loop_t *loop, const td_redis_url_t *u,
                             const td_redis_source_cfg_t *cfg, const td_rconn_cb_t *cb, void *ud,
                             const char *name, char *err, size_t errlen)
{
    td_rconn_cfg_t cc = {.url = u,
                         .ca_file = cfg->ca_file,
                         .cert_file = cfg->cert_file,
                         .key_file = cfg->key_file,
                         .name = name,
                         .timeout_s = cfg->timeout_s,
                         .idle_ping = 1};
    return td_rconn_new(loop, &cc, cb, ud, err, errlen);
}

static void closed(void *ud)
{
    td_redis_source_t *s = ud;
    if (--s->open_handles == 0 && s->done) s->done(s->done_ud);
}

/* redis+cluster://: SSUBSCRIBE per primary; HGETs routed by slot. */
static int make_cluster(td_redis_source_t *s, uv_loop_t *loop, const td_redis_url_t *u,
                        const td_redis_source_cfg_t *cfg, char *err, size_t errlen)
{
    static const td_rcluster_cb_t subcb = {on_cl_sub_reply, NULL, on_cl_node_ready};
    static const td_rcluster_cb_t cmdcb = {on_cl_cmd_reply, on_cl_cmd_lost, NULL};
    td_rcluster_cfg_t cc = {.url = u, .name = "redis source", .timeout_s = cfg->timeout_s};
    cc.pubsub = 1;
    s->csub = td_rcluster_new(loop, &cc, &subcb, s, err, errlen);
    cc.pubsub = 0;
    cc.name = "redis source (last values)";
    if (s->csub && cfg->last_values) s->ccmd = td_rcluster_new(loop, &cc, &cmdcb, s, err, errlen);
    return s->csub ? 0 : -1;
}

td_redis_source_t *td_redis_source_new(uv_loop_t *loop, const td_redis_source_cfg_t *cfg,
                                       const td_redis_source_cb_t *cb, void *ud, char *err,
                                       size_t errlen)
{
    static const td_rconn_cb_t subcb = {on_sub_ready, on_sub_reply, on_sub_down};
    static const td_rconn_cb_t cmdcb = {NULL, on_cmd_reply, on_cmd_down};
    td_redis_url_t u;
    td_redis_source_t *s = td_xcalloc(1, sizeof *s);
    int rc = td_redis_url_parse(&u, cfg->url, err, errlen);
    if (rc == 0 && u.scheme == TD_REDIS_SENTINEL) {
        snprintf(err, errlen, "%s: --source takes redis://, rediss://, unix:// or redis+cluster://",
                 u.masked);
        rc = -1;
    }
    if (rc == 0 && u.scheme == TD_REDIS_CLUSTER)
        rc = make_cluster(s, loop, &u, cfg, err, errlen);
    else if (rc == 0)
        s->sub = make_conn(loop, &u, cfg, &subcb, s, "redis source", err, errlen);
    if (s->sub && cfg->last_values)
        s->cmd = make_conn(loop, &u, cfg, &cmdcb, s, "redis source (last values)", err, errlen);
    td_redis_url_free(&u);
    if (!s->sub && !s->csub) {
        free(s);
        return NULL;
    }
    s->prefix = td_xstrdup(cfg->prefix ? cfg->prefix : "");
    s->prefix_len = strlen(s->prefix);
    s->cb = *cb;
    s->ud = ud;
    td_subset_init(&s->want);
    td_subset_init(&s->awaiting);
    s->rl_bad = (td_ratelimit_t)TD_RATELIMIT_INIT(10000, 3);
    return s;
}

void td_redis_source_start(td_redis_source_t *s)
{
    if (s->csub) {
        td_rcluster_start(s->csub);
        if (s->ccmd) td_rcluster_start(s->ccmd);
        return;
    }
    td_rconn_start(s->sub);
    if (s->cmd) td_rconn_start(s->cmd);
}

void td_redis_source_want(td_redis_source_t *s, td_kind_t kind, const char *sym, size_t n,
                          int wanted)
{
    int changed =
        wanted ? td_subset_add(&s->want, kind, sym, n) : td_subset_remove(&s->want, kind, sym, n);
    if (!changed) return;
    if (s->csub || td_rconn_state(s->sub) == TD_RCONN_READY) send_sub(s, kind, sym, n, wanted);
    if (wanted && !(n == 1 && sym[0] == '*')) ask_snapshot(s, kind, sym, n);
}

void td_redis_source_stats(const td_redis_source_t *s, td_redis_source_stats_t *out)
{
    *out = s->st;
    if (s->csub)
        out->connected = strcmp(td_rcluster_status(s->csub), "up") == 0;
    else
        out->connected = td_rconn_state(s->sub) == TD_RCONN_READY;
}

void td_redis_source_stop(td_redis_source_t *s, void (*done)(void *ud), void *ud)
{
    s->done = done;
    s->done_ud = ud;
    s->open_handles = (s->cmd || s->ccmd) ? 2 : 1;
    if (s->csub) {
        td_rcluster_close(s->csub, closed, s);
        if (s->ccmd) td_rcluster_close(s->ccmd, closed, s);
        return;
    }
    td_rconn_close(s->sub, closed, s);
    if (s->cmd) td_rconn_close(s->cmd, closed, s);
}

void td_redis_source_free(td_redis_source_t *s)
{
    if (!s) return;
    td_rconn_free(s->sub);
    td_rconn_free(s->cmd);
    td_rcluster_free(s->csub);
    td_rcluster_free(s->ccmd);
    for (size_t i = 0; i < s->cl_nasked; i++)
        free(s->cl_asked[i]);
    free(s->cl_asked);
    td_subset_free(&s->want);
    td_subset_free(&s->awaiting);
    td_buf_free(&s->asked);
    free(s->prefix);
    free(s);
}
