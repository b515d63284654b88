/* SPDX-License-Identifier: Apache-2.0 */
/* Nodes: nodes[0] is the "unrouted" queue (no connection) for slots without
 * a known primary; nodes[1..] are primaries, each with its td_rconn. A
 * primary that leaves the map is closed and freed once its handles are
 * (its array entry is reused meanwhile: `gone` holds it).
 *
 * A node's queue: bytes [head, sent) are in flight, [sent, b.len) wait;
 * entries ents[eh, eh + esent) in flight, then the waiting ones, up to en. */
#include "redis/cluster.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEF_MAX_BUFFER   ((size_t)64 << 20)
#define DEF_MAX_INFLIGHT 10000u
#define TICK_MS          100u
#define REFRESH_MS       5000u /* all well: re-read the map this often */
#define REFRESH_DOWN_MS  500u  /* a primary down or slots uncovered */
#define CTL_WAIT_MS      1000u /* control connection not ready: try the next address */
#define MAX_HOPS         5
#define ASKING_CMD       "*1\r\n$6\r\nASKING\r\n"
#define ASKING_LEN       (sizeof ASKING_CMD - 1)

typedef struct ent_s {
    uint32_t len, tag;
    uint16_t slot;
    uint8_t asking, hops;
} ent_t;

typedef struct node_s {
    td_rcluster_t *cl;
    td_rconn_t *conn; /* NULL: the unrouted queue */
    int idx, phase;   /* phase 1: the ASKING of the head entry is answered */
    td_buf_t b;       /* the queue's bytes: [head, sent) in flight, [sent, b.len) waiting */
    size_t head, sent;
    ent_t *ents;
    size_t ecap, eh, esent, en;
} node_t;

struct td_rcluster_s {
    uv_loop_t *loop;
    td_rcluster_cb_t cb;
    void *ud;
    char *name, *label;
    td_redis_url_t url; /* a copy of the seeds, credentials (for new connections) */
    double timeout_s;
    int pubsub;
    size_t max_buffer, queued;
    uint32_t max_inflight;
    node_t **nodes;
    size_t nnodes;
    node_t *resv;        /* between _reserve and _commit */
    td_rslot_map_t *map; /* owner[] indexes pri[]; pri_node[] maps to nodes[] */
    int pri_node[TD_RSLOT_MAX_PRI];
    uint16_t slot_node[TD_RSLOTS]; /* node index per slot (0: unrouted) */
    td_rconn_t *ctl;
    size_t ctl_next; /* next address to try (seeds, then known primaries) */
    int ctl_asked, use_slots, started, prep_on, open_handles, closing, lazy_read;
    int ctl_warned; /* "no node answers" said for this outage */
    uint64_t next_refresh_ms, ctl_down_since;
    uv_timer_t tick;
    uv_prepare_t prep;
    td_buf_t scratch;
    int (*gate)(void *ud); /* NULL, or asked before handing commands out */
    void *gate_ud;
    void (*done)(void *ud);
    void *done_ud;
    td_rcluster_stats_t st;
};

static void want_refresh(td_rcluster_t *cl, uint64_t in_ms)
{
    uint64_t at = uv_now(cl->loop) + in_ms;
    if (at < cl->next_refresh_ms) cl->next_refresh_ms = at;
}

/* ---- queues --------------------------------------------------------------- */

static size_t waiting(const node_t *n)
{
    return n->en - n->esent;
}

static void q_reserve(node_t *n, size_t bytes)
{
    /* Drop what was answered once that is at least half: moves at most half. */
    if (n->head && n->head >= n->b.len - n->head && n->b.len + bytes >= n->b.cap) {
        n->b.len -= n->head;
        memmove(n->b.data, n->b.data + n->head, n->b.len);
        n->sent -= n->head;
        n->head = 0;
    }
    td_buf_reserve(&n->b, bytes);
    if (n->eh + n->en == n->ecap) {
        if (n->eh) {
            memmove(n->ents, n->ents + n->eh, n->en * sizeof *n->ents);
        } else {
            n->ecap = n->ecap ? n->ecap * 2 : 256;
            n->ents = td_xrealloc(n->ents, n->ecap * sizeof *n->ents);
        }
        n->eh = 0;
    }
}

/* Appends [asking] + bytes as one entry of n's queue. */
static void q_push(node_t *n, const char *bytes, size_t len, const ent_t *e)
{
    size_t total = len + (e->asking ? ASKING_LEN : 0);
    q_reserve(n, total);
    if (e->asking) memcpy(n->b.data + n->b.len, ASKING_CMD, ASKING_LEN);
    memcpy(n->b.data + n->b.len + total - len, bytes, len);
    n->b.len += total;
    n->ents[n->eh + n->en] = *e;
    n->ents[n->eh + n->en].len = (uint32_t)total;
    n->en++;
    n->cl->queued += total;
}

/* Removes the oldest entry (in flight or waiting). */
static void q_pop(node_t *n)
{
    ent_t *e = &n->ents[n->eh];
    n->head += e->len;
    if (n->sent < n->head) n->sent = n->head;
    n->cl->queued -= e->len;
    n->eh++;
    n->en--;
    if (n->esent) n->esent--;
    if (n->en == 0) n->eh = n->head = n->sent = n->b.len = 0;
}

/* The command of entry e (at byte offset off), without its ASKING. */
static const char *ent_cmd(const node_t *n, const ent_t *e, size_t off, size_t *len)
{
    size_t skip = e->asking ? ASKING_LEN : 0;
    *len = e->len - skip;
    return n->b.data + off + skip;
}

static node_t *node_at(const td_rcluster_t *cl, int i)
{
    return i >= 0 && (size_t)i < cl->nnodes ? cl->nodes[i] : NULL;
}

/* Queues a copy of a command for its slot's current node (redirected: to
 * `to`), or reports it lost after too many hops. */
static void route(td_rcluster_t *cl, const char *cmd, size_t len, ent_t e, node_t *to)
{
    if (e.hops > MAX_HOPS) {
        cl->cb.on_lost(cl->ud, e.tag);
        return;
    }
    node_t *n = to ? to : cl->nodes[cl->slot_node[e.slot]];
    td_buf_t *s = &cl->scratch; /* cmd may point into n's own buffer */
    s->len = 0;
    td_buf_append(s, cmd, len);
    q_push(n, s->data, s->len, &e);
}

/* Waiting entries of n that belong elsewhere now move there, in order (an
 * ASK's entry stays, unless `all`: n is leaving). */
static void reroute_waiting(td_rcluster_t *cl, node_t *n, int all)
{
    size_t off = n->sent, w = n->sent, we = n->eh + n->esent;
    size_t end = n->eh + n->en;
    for (size_t i = n->eh + n->esent; i < end; i++) {
        ent_t e = n->ents[i];
        size_t elen = e.len;
        if (!all && (cl->slot_node[e.slot] == n->idx || e.asking)) {
            memmove(n->b.data + w, n->b.data + off, elen);
            n->ents[we++] = e;
            w += elen;
        } else {
            size_t len;
            const char *cmd = ent_cmd(n, &e, off, &len);
            cl->queued -= e.len;
            e.asking = 0;
            route(cl, cmd, len, e, NULL);
        }
        off += elen;
    }
    n->b.len = w;
    n->en = we - n->eh;
    if (n->en == 0) n->eh = n->head = n->sent = n->b.len = 0;
}

/* ---- command mode: sending and replies ------------------------------------ */

/* The gate refused: every waiting command of the primaries is dropped
 * (those waiting for a slot owner meet the gate once routed). */
static void drop_waiting(td_rcluster_t *cl)
{
    for (size_t i = 1; i < cl->nnodes; i++) {
        node_t *n = cl->nodes[i];
        if (!n || !waiting(n)) continue;
        for (size_t k = n->eh + n->esent; k < n->eh + n->en; k++) {
            cl->queued -= n->ents[k].len;
            cl->cb.on_lost(cl->ud, n->ents[k].tag | TD_RCLUSTER_FENCED);
        }
        n->b.len = n->sent;
        n->en = n->esent;
        if (n->en == 0) n->eh = n->head = n->sent = n->b.len = 0;
    }
}

static void on_prep(uv_prepare_t *h)
{
    td_rcluster_t *cl = h->data;
    uv_prepare_stop(h); /* restarted by a commit, a reply or a connection */
    cl->prep_on = 0;
    if (cl->gate && !cl->gate(cl->gate_ud)) {
        drop_waiting(cl);
        return;
    }
    for (size_t i = 1; i < cl->nnodes; i++) {
        node_t *n = cl->nodes[i];
        td_buf_t *out = n && waiting(n) ? td_rconn_out(n->conn) : NULL;
        if (!out) continue;
        size_t bytes = 0, k = 0, cmds = 0;
        while (n->esent + k < n->en && n->esent + k < cl->max_inflight) {
            const ent_t *e = &n->ents[n->eh + n->esent + k++];
            bytes += e->len;
            cmds += 1 + e->asking;
        }
        if (!k) continue;
        td_buf_append(out, n->b.data + n->sent, bytes);
        n->sent += bytes;
        n->esent += k;
        td_rconn_send(n->conn, (uint32_t)cmds);
    }
}

static void kick(td_rcluster_t *cl)
{
    if (cl->prep_on || cl->pubsub || cl->closing) return;
    cl->prep_on = 1;
    uv_prepare_start(&cl->prep, on_prep);
}

static node_t *node_by_addr(td_rcluster_t *cl, const char *host, int port);
static node_t *node_new(td_rcluster_t *cl, const char *host, int port);

/* A MOVED or ASK for the head entry of n: sent again where Redis says. */
static int redirect(td_rcluster_t *cl, node_t *n, const td_resp_node_t *r)
{
    char host[256];
    unsigned slot;
    int port, kind = td_rslot_redirect(r->s, r->len, &slot, host, sizeof host, &port);
    if (!kind) return 0;
    ent_t e = n->ents[n->eh];
    size_t len;
    const char *cmd = ent_cmd(n, &e, n->head, &len);
    node_t *to = node_by_addr(cl, host, port);
    if (!to) to = node_new(cl, host, port); /* the next map says if it stays */
    e.hops++;
    e.asking = kind == 2;
    if (kind == 1) {
        cl->st.moved++;
        cl->slot_node[slot] = (uint16_t)to->idx;
        want_refresh(cl, 0);
    } else {
        cl->st.ask++;
    }
    n->phase = 0;
    route(cl, cmd, len, e, to);
    q_pop(n);
    kick(cl);
    return 1;
}

static void cmd_reply(td_rcluster_t *cl, node_t *n, const td_resp_reader_t *rd)
{
    const td_resp_node_t *r = &rd->v[0];
    if (n->esent == 0) return; /* nothing of ours in flight (a PING's answer) */
    ent_t *e = &n->ents[n->eh];
    if (e->asking && !n->phase) {
        n->phase = 1;
        return;
    }
    if (r->type == TD_RESP_ERROR && redirect(cl, n, r)) return;
    if (r->type == TD_RESP_ERROR && r->len >= 11 && memcmp(r->s, "CLUSTERDOWN", 11) == 0)
        want_refresh(cl, 0);
    uint32_t tag = e->tag;
    n->phase = 0;
    q_pop(n);
    cl->cb.on_reply(cl->ud, tag, rd);
    if (waiting(n)) kick(cl);
}

/* ---- connections ----------------------------------------------------------- */

static void on_node_reply(void *ud, td_rconn_t *c, const td_resp_reader_t *rd)
{
    node_t *n = ud;
    td_rcluster_t *cl = n->cl;
    (void)c;
    if (!cl->pubsub) {
        cmd_reply(cl, n, rd);
        return;
    }
    const td_resp_node_t *r = &rd->v[0], *kind = td_resp_elem(rd, 0, 0);
    char host[256];
    unsigned slot;
    int port;
    if ((r->type == TD_RESP_ERROR &&
         td_rslot_redirect(r->s, r->len, &slot, host, sizeof host, &port)) ||
        td_resp_is(kind, "sunsubscribe"))
        want_refresh(cl, 0); /* a slot moved: the map, then on_node_ready */
    cl->cb.on_reply(cl->ud, (uint32_t)n->idx, rd);
}

static void on_node_ready(void *ud, td_rconn_t *c)
{
    node_t *n = ud;
    (void)c;
    if (n->cl->pubsub && n->cl->cb.on_node_ready) n->cl->cb.on_node_ready(n->cl->ud, n->idx);
    if (waiting(n)) kick(n->cl);
}

/* Everything in flight on n is lost. */
static void lose_inflight(node_t *n)
{
    while (n->esent) {
        uint32_t tag = n->ents[n->eh].tag;
        q_pop(n);
        n->cl->cb.on_lost(n->cl->ud, tag);
    }
    n->phase = 0;
}

static void on_node_down(void *ud, td_rconn_t *c, uint64_t unanswered)
{
    node_t *n = ud;
    (void)c, (void)unanswered;
    if (!n->cl->pubsub) lose_inflight(n);
    want_refresh(n->cl, 0);
}

static node_t *node_new(td_rcluster_t *cl, const char *host, int port)
{
    static const td_rconn_cb_t cb = {on_node_ready, on_node_reply, on_node_down};
    char err[256];
    node_t *n = td_xcalloc(1, sizeof *n);
    n->cl = cl;
    size_t i = 1;
    while (i < cl->nnodes && cl->nodes[i])
        i++;
    if (i == cl->nnodes) cl->nodes = td_xrealloc(cl->nodes, ++cl->nnodes * sizeof *cl->nodes);
    cl->nodes[i] = n;
    n->idx = (int)i;
    td_redis_node_t nd = {(char *)host, port};
    td_rconn_cfg_t cc = {.url = &cl->url,
                         .node = &nd,
                         .name = cl->name,
                         .timeout_s = cl->timeout_s,
                         .backoff_min_s = 0.05,
                         .backoff_max_s = 1,
                         .idle_ping = cl->pubsub,
                         .lazy_read = cl->lazy_read};
    n->conn = td_rconn_new(cl->loop, &cc, &cb, n, err, sizeof err); /* TCP: cannot fail */
    cl->open_handles++;
    if (cl->started) td_rconn_start(n->conn);
    return n;
}

static node_t *node_by_addr(td_rcluster_t *cl, const char *host, int port)
{
    char name[300];
    td_redis_node_name(&(td_redis_node_t){(char *)host, port}, name, sizeof name);
    for (size_t i = 1; i < cl->nnodes; i++)
        if (cl->nodes[i] && strcmp(td_rconn_addr(cl->nodes[i]->conn), name) == 0)
            return cl->nodes[i];
    return NULL;
}

static void node_free(node_t *n)
{
    td_rconn_free(n->conn);
    td_buf_free(&n->b);
    free(n->ents);
    free(n);
}

static void handle_closed(td_rcluster_t *cl)
{
    if (--cl->open_handles == 0 && cl->done) cl->done(cl->done_ud);
}

static void node_closed(void *ud)
{
    node_t *n = ud;
    td_rcluster_t *cl = n->cl;
    node_free(n);
    handle_closed(cl);
}

/* A primary no longer in the map: its waiting commands go to their new
 * owners, those in flight are lost, the connection is closed. */
static void node_retire(td_rcluster_t *cl, node_t *n)
{
    cl->nodes[n->idx] = NULL;
    if (!cl->pubsub) lose_inflight(n);
    for (size_t s = 0; s < TD_RSLOTS; s++)
        if (cl->slot_node[s] == n->idx) cl->slot_node[s] = 0;
    reroute_waiting(cl, n, 1);
    TD_INFO("%s %s: %s no longer serves slots: closed", cl->name, cl->label,
            td_rconn_addr(n->conn));
    td_rconn_close(n->conn, node_closed, n);
}

/* ---- topology ---------------------------------------------------------------- */

static void log_map(td_rcluster_t *cl, const char *how, size_t moved)
{
    td_buf_t b = TD_BUF_INIT;
    char name[300];
    for (size_t i = 0; i < cl->map->npri; i++)
        td_buf_appendf(&b, "%s%s", i ? ", " : "",
                       td_redis_node_name(&cl->map->pri[i], name, sizeof name));
    TD_INFO("%s %s: %s: %zu primaries (%s), %zu of %d slots served, %zu changed hands", cl->name,
            cl->label, how, cl->map->npri, b.data ? b.data : "", cl->map->covered, TD_RSLOTS,
            moved);
    td_buf_free(&b);
}

/* Makes the nodes follow a new map. */
static void apply_map(td_rcluster_t *cl, td_rslot_map_t *m)
{
    int first = cl->st.refreshes++ == 0;
    if (!first && td_rslot_map_same(cl->map, m)) {
        td_rslot_map_clear(m);
        free(m);
        return;
    }
    if (cl->map) td_rslot_map_clear(cl->map);
    free(cl->map);
    cl->map = m;
    cl->st.changes += !first;
    char *used = td_xcalloc(cl->nnodes + m->npri + 1, 1);
    for (size_t i = 0; i < m->npri; i++) {
        node_t *n = node_by_addr(cl, m->pri[i].host, m->pri[i].port);
        if (!n) n = node_new(cl, m->pri[i].host, m->pri[i].port);
        cl->pri_node[i] = n->idx;
        used[n->idx] = 1;
    }
    size_t moved = 0;
    for (size_t s = 0; s < TD_RSLOTS; s++) {
        uint16_t was = cl->slot_node[s];
        cl->slot_node[s] = m->owner[s] == TD_RSLOT_NONE ? 0 : (uint16_t)cl->pri_node[m->owner[s]];
        moved += !first && was != cl->slot_node[s];
    }
    log_map(cl, first ? "slot map" : "topology changed", moved);
    for (size_t i = 1; i < cl->nnodes; i++)
        if (cl->nodes[i] && !used[i]) node_retire(cl, cl->nodes[i]);
    free(used);
    for (size_t i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i]) reroute_waiting(cl, cl->nodes[i], 0);
    if (cl->pubsub && cl->cb.on_node_ready)
        for (size_t i = 1; i < cl->nnodes; i++)
            if (cl->nodes[i] && td_rconn_state(cl->nodes[i]->conn) == TD_RCONN_READY)
                cl->cb.on_node_ready(cl->ud, (int)i);
    kick(cl);
}

static void ask_map(td_rcluster_t *cl)
{
    const char *argv[2] = {"CLUSTER", cl->use_slots ? "SLOTS" : "SHARDS"};
    size_t lens[2] = {7, cl->use_slots ? 5u : 6u};
    if (td_rconn_command(cl->ctl, 2, argv, lens) == 0) cl->ctl_asked = 1;
}

static void on_ctl_ready(void *ud, td_rconn_t *c)
{
    td_rcluster_t *cl = ud;
    (void)c;
    cl->ctl_asked = 0;
    ask_map(cl);
}

static void on_ctl_reply(void *ud, td_rconn_t *c, const td_resp_reader_t *rd)
{
    td_rcluster_t *cl = ud;
    const td_resp_node_t *r = &rd->v[0];
    const char *why = NULL;
    uint64_t sup;
    cl->ctl_asked = 0;
    if (r->type == TD_RESP_ERROR && !cl->use_slots) { /* older than Redis 7 */
        cl->use_slots = 1;
        ask_map(cl);
        return;
    }
    td_rslot_map_t *m = td_xcalloc(1, sizeof *m);
    td_rslot_map_clear(m);
    char host[256];
    snprintf(host, sizeof host, "%s", td_rconn_addr(c));
    char *colon = strrchr(host, ':');
    if (colon) *colon = '\0';
    if (host[0] == '[') memmove(host, host + 1, strlen(host)), host[strlen(host) - 1] = '\0';
    if (td_rslot_map_parse(m, rd, cl->use_slots ? TD_RSLOT_SLOTS : TD_RSLOT_SHARDS, host, &why) !=
            0 ||
        m->covered == 0) {
        static td_ratelimit_t rl = TD_RATELIMIT_INIT(10000, 1);
        if (td_ratelimit_ok(&rl, td_mono_ms(), &sup))
            TD_WARN("%s %s: slot map from %s refused: %s", cl->name, cl->label, td_rconn_addr(c),
                    why ? why : "no slot served");
        td_rslot_map_clear(m);
        free(m);
        cl->next_refresh_ms = uv_now(cl->loop) + REFRESH_DOWN_MS;
        return;
    }
    cl->ctl_warned = 0;
    apply_map(cl, m);
    size_t up = 0, pri = 0;
    for (size_t i = 1; i < cl->nnodes; i++)
        if (cl->nodes[i]) pri++, up += td_rconn_state(cl->nodes[i]->conn) == TD_RCONN_READY;
    int healthy = up == pri && cl->map->covered == TD_RSLOTS;
    cl->next_refresh_ms = uv_now(cl->loop) + (healthy ? REFRESH_MS : REFRESH_DOWN_MS);
}

/* The control connection's next address: the URL's seeds, then the known
 * primaries. */
static void ctl_next(td_rcluster_t *cl)
{
    size_t total = cl->url.nnodes + (cl->map ? cl->map->npri : 0);
    size_t i = cl->ctl_next++ % total;
    const td_redis_node_t *nd =
        i < cl->url.nnodes ? &cl->url.nodes[i] : &cl->map->pri[i - cl->url.nnodes];
    td_rconn_set_node(cl->ctl, nd->host, nd->port);
}

static void on_ctl_down(void *ud, td_rconn_t *c, uint64_t unanswered)
{
    td_rcluster_t *cl = ud;
    (void)c, (void)unanswered;
    cl->ctl_asked = 0;
    if (!cl->closing) ctl_next(cl);
}

static void on_tick(uv_timer_t *t)
{
    td_rcluster_t *cl = t->data;
    uint64_t now = uv_now(cl->loop);
    if (td_rconn_state(cl->ctl) != TD_RCONN_READY) {
        if (!cl->ctl_down_since) cl->ctl_down_since = now;
        if (now - cl->ctl_down_since >= CTL_WAIT_MS) {
            cl->ctl_down_since = now;
            if (!cl->ctl_warned++)
                TD_WARN("%s %s: no cluster node answers (%s: %s); still trying every node",
                        cl->name, cl->label, td_rconn_addr(cl->ctl), td_rconn_last_error(cl->ctl));
            ctl_next(cl);
        }
        return;
    }
    cl->ctl_down_since = 0;
    if (!cl->ctl_asked && now >= cl->next_refresh_ms) ask_map(cl);
}

/* ---- public API --------------------------------------------------------------- */

static void copy_url(td_redis_url_t *d, const td_redis_url_t *u)
{
    memset(d, 0, sizeof *d);
    d->scheme = u->scheme;
    d->user = u->user ? td_xstrdup(u->user) : NULL;
    d->pass = u->pass ? td_xstrdup(u->pass) : NULL;
    d->masked = td_xstrdup(u->masked);
    d->db = -1;
    d->nnodes = u->nnodes;
    for (size_t i = 0; i < u->nnodes; i++) {
        d->nodes[i].host = td_xstrdup(u->nodes[i].host);
        d->nodes[i].port = u->nodes[i].port;
    }
}

td_rcluster_t *td_rcluster_new(uv_loop_t *loop, const td_rcluster_cfg_t *cfg,
                               const td_rcluster_cb_t *cb, void *ud, char *err, size_t errlen)
{
    static const td_rconn_cb_t ctlcb = {on_ctl_ready, on_ctl_reply, on_ctl_down};
    if (cfg->url->scheme != TD_REDIS_CLUSTER || !cfg->url->nnodes) {
        snprintf(err, errlen, "%s: not a redis+cluster:// URL", cfg->url->masked);
        return NULL;
    }
    td_rcluster_t *cl = td_xcalloc(1, sizeof *cl);
    cl->loop = loop;
    cl->cb = *cb;
    cl->ud = ud;
    copy_url(&cl->url, cfg->url);
    cl->name = td_xstrdup(cfg->name ? cfg->name : "redis");
    cl->label = td_xstrdup(cfg->url->masked);
    cl->timeout_s = cfg->timeout_s;
    cl->pubsub = cfg->pubsub;
    cl->lazy_read = cfg->lazy_read && !cfg->pubsub;
    cl->max_buffer = cfg->max_buffer ? cfg->max_buffer : DEF_MAX_BUFFER;
    cl->max_inflight = cfg->max_inflight ? cfg->max_inflight : DEF_MAX_INFLIGHT;
    cl->nodes = td_xcalloc(1, sizeof *cl->nodes);
    cl->nodes[0] = td_xcalloc(1, sizeof *cl->nodes[0]);
    cl->nodes[0]->cl = cl;
    cl->nnodes = 1;
    td_rconn_cfg_t cc = {.url = &cl->url,
                         .name = "redis cluster",
                         .timeout_s = cfg->timeout_s,
                         .quiet = 1,
                         .backoff_min_s = 0.05,
                         .backoff_max_s = 1};
    cl->ctl = td_rconn_new(loop, &cc, &ctlcb, cl, err, errlen);
    cl->ctl_next = 1;
    uv_timer_init(loop, &cl->tick);
    uv_prepare_init(loop, &cl->prep);
    cl->tick.data = cl->prep.data = cl;
    cl->open_handles = 3; /* tick, prep, ctl */
    return cl;
}

void td_rcluster_start(td_rcluster_t *cl)
{
    if (cl->started++) return;
    td_rconn_start(cl->ctl);
    uv_timer_start(&cl->tick, on_tick, TICK_MS, TICK_MS);
    for (size_t i = 1; i < cl->nnodes; i++)
        if (cl->nodes[i]) td_rconn_start(cl->nodes[i]->conn);
}

char *td_rcluster_reserve(td_rcluster_t *cl, unsigned slot, size_t n)
{
    if (cl->closing || cl->queued + n > cl->max_buffer || n > UINT32_MAX) return NULL;
    node_t *nd = cl->nodes[cl->slot_node[slot & (TD_RSLOTS - 1)]];
    q_reserve(nd, n);
    nd->ents[nd->eh + nd->en].slot = (uint16_t)(slot & (TD_RSLOTS - 1));
    nd->ents[nd->eh + nd->en].len = (uint32_t)n;
    cl->resv = nd;
    return nd->b.data + nd->b.len;
}

void td_rcluster_commit(td_rcluster_t *cl, uint32_t tag)
{
    node_t *n = cl->resv;
    ent_t *e = &n->ents[n->eh + n->en];
    e->tag = tag;
    e->asking = e->hops = 0;
    n->b.len += e->len;
    n->en++;
    cl->queued += e->len;
    cl->resv = NULL;
    if (n->conn) kick(cl);
}

int td_rcluster_node_of(const td_rcluster_t *cl, unsigned slot)
{
    int i = cl->slot_node[slot & (TD_RSLOTS - 1)];
    return i > 0 ? i : -1;
}

td_rconn_t *td_rcluster_conn(const td_rcluster_t *cl, int node)
{
    const node_t *n = node_at(cl, node);
    return n ? n->conn : NULL;
}

void td_rcluster_set_gate(td_rcluster_t *cl, int (*gate)(void *ud), void *ud)
{
    cl->gate = gate;
    cl->gate_ud = ud;
}

void td_rcluster_stats(const td_rcluster_t *cl, td_rcluster_stats_t *out)
{
    *out = cl->st;
    out->buffered = out->inflight = 0;
    out->primaries = out->up = 0;
    for (size_t i = 0; i < cl->nnodes; i++) {
        const node_t *n = cl->nodes[i];
        if (!n) continue;
        out->buffered += n->b.len - n->sent;
        out->inflight += n->esent;
        if (!n->conn) continue;
        td_rconn_stats_t cs;
        td_rconn_stats(n->conn, &cs);
        out->primaries++;
        out->up += cs.state == TD_RCONN_READY;
        out->timeouts += cs.timeouts;
    }
    out->covered = cl->map ? cl->map->covered : 0;
}

const char *td_rcluster_status(const td_rcluster_t *cl)
{
    td_rcluster_stats_t st;
    td_rcluster_stats(cl, &st);
    if (st.up == 0) return "down";
    return st.up == st.primaries && st.covered == TD_RSLOTS ? "up" : "partial";
}

const char *td_rcluster_label(const td_rcluster_t *cl)
{
    return cl->label;
}

static void timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void ctl_closed(void *ud)
{
    handle_closed(ud);
}

void td_rcluster_close(td_rcluster_t *cl, void (*done)(void *ud), void *ud)
{
    if (cl->closing) return;
    cl->closing = 1;
    cl->done = done;
    cl->done_ud = ud;
    for (size_t i = 0; i < cl->nnodes; i++) {
        node_t *n = cl->nodes[i];
        if (!n) continue;
        while (n->en) {
            uint32_t tag = n->ents[n->eh].tag;
            q_pop(n);
            if (!cl->pubsub) cl->cb.on_lost(cl->ud, tag);
        }
        if (i == 0) continue;
        cl->nodes[i] = NULL;
        td_rconn_close(n->conn, node_closed, n);
    }
    td_rconn_close(cl->ctl, ctl_closed, cl);
    uv_close((uv_handle_t *)&cl->tick, timer_closed);
    uv_close((uv_handle_t *)&cl->prep, timer_closed);
}

void td_rcluster_free(td_rcluster_t *cl)
{
    if (!cl) return;
    for (size_t i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i]) node_free(cl->nodes[i]);
    free(cl->nodes);
    td_rconn_free(cl->ctl);
    if (cl->map) td_rslot_map_clear(cl->map);
    free(cl->map);
    td_redis_url_free(&cl->url);
    td_buf_free(&cl->scratch);
    free(cl->name);
    free(cl->label);
    free(cl);
}
