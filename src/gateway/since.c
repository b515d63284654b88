/* SPDX-License-Identifier: Apache-2.0 */
/* "since" (tickerd's extension of subscribe): each channel a client names
 * in "since" is served from its Redis history stream, from the id given
 * (exclusive) on, for as long as the client keeps it: history first, then
 * live, through the same XREAD cursor, so there is no seam to stitch. The
 * client still wants the channel on the bus (the upstream subscription and,
 * on a --source gateway, the SUBSCRIBE stay), but its bus events for that
 * channel are not queued (td__gw_since_owns).
 *
 * One Redis connection per gateway (redis/conn; Sentinel followed) and one
 * XREAD in flight: COUNT per stream, BLOCK HIST_BLOCK_MS, one key per
 * distinct channel with the smallest cursor of the clients that follow it
 * (each client then takes the entries past its own cursor). On a cluster
 * (keys of different slots cannot share an XREAD) the reader polls instead:
 * one XREAD without BLOCK per stream, each to its slot's primary (the
 * stream is history:{<channel>}), rounds back to back while they return
 * entries, HIST_POLL_MS apart when they do not. A client whose
 * queue holds more than HIST_QUEUE_MAX bytes is left out of the next reads
 * until it drains, so a long replay never gets it closed as slow; its
 * history messages are never conflated. Each event goes out as the vendor's
 * object with one member added at its end, "stream_id":"<id>", which the
 * client keeps to resume from. Entries of gap notices (field g) go to
 * clients that asked for gaps, as their control message. */
#include "core/mem.h"
#include "gateway/gw_int.h"
#include "proto/gap.h"
#include "proto/polygon_server.h"
#include "redis/cluster.h"
#include "redis/conn.h"
#include "redis/resp.h"
#include "redis/sentinel.h"
#include "redis/url.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_BLOCK_MS  "100"
#define HIST_QUEUE_MAX ((size_t)256 << 10)
#define HIST_MAX_KEYS  1024  /* streams per XREAD (more: read in turns) */
#define HIST_NODES     65536 /* entries per XREAD, all streams: COUNT = this / keys */
#define HIST_POLL_MS   10    /* cluster: between rounds that returned nothing */

typedef struct gw_cursor_s {
    td_kind_t kind;
    char sym[TD_ALPACA_CLIENT_SYMBOL_MAX + 1];
    uint64_t ms, seq; /* the last id delivered */
    int checked;      /* its start was checked against the trimming (send_checks) */
} gw_cursor_t;

/* A check of a new cursor's start against what the trimming deleted: the
 * XINFO STREAM sent for it. */
typedef struct trim_check_s {
    uint64_t client; /* gw_client_t.id */
    td_kind_t kind;
    char sym[TD_ALPACA_CLIENT_SYMBOL_MAX + 1];
    uint64_t ms, seq; /* the id the client resumes after */
} trim_check_t;

struct gw_since_s {
    gw_cursor_t *v;
    size_t n, cap;
};

struct gw_hist_s {
    td_gateway_t *g;
    td_rconn_t *conn;
    td_rsentinel_t *sentinel;
    td_rcluster_t *cl;    /* redis+cluster:// (then conn is NULL): polling */
    uv_timer_t poll;      /* cluster: the pause between empty rounds */
    uint32_t pending;     /* cluster: XREADs of the round not answered yet */
    int got;              /* cluster: the round returned entries */
    trim_check_t *checks; /* XINFO STREAMs in flight: [chead, nchecks) */
    size_t nchecks, ccap, chead;
    char *prefix;
    int inflight, closing, open;
    uint64_t rr; /* rotates the keys when there are more than HIST_MAX_KEYS */
    void (*done)(void *ud);
    void *done_ud;
};

/* ---- stream ids -------------------------------------------------------------- */

static int id_parse(const char *s, size_t n, uint64_t *ms, uint64_t *seq)
{
    char b[TD_ALPACA_STREAM_ID_MAX + 1];
    if (!td_alpaca_stream_id_ok(s, n)) return -1;
    memcpy(b, s, n);
    b[n] = '\0';
    char *end;
    *ms = strtoull(b, &end, 10);
    *seq = *end == '-' ? strtoull(end + 1, NULL, 10) : 0;
    return 0;
}

static int id_after(uint64_t ams, uint64_t aseq, uint64_t bms, uint64_t bseq)
{
    return ams > bms || (ams == bms && aseq > bseq);
}

/* ---- a client's cursors --------------------------------------------------------- */

static gw_cursor_t *cursor_of(const gw_client_t *c, td_kind_t k, const char *sym, size_t n)
{
    if (!c->since) return NULL;
    for (size_t i = 0; i < c->since->n; i++) {
        gw_cursor_t *u = &c->since->v[i];
        if (u->kind == k && strlen(u->sym) == n && memcmp(u->sym, sym, n) == 0) return u;
    }
    return NULL;
}

int td__gw_since_owns(const gw_client_t *c, const td_event_t *ev)
{
    return cursor_of(c, ev->kind, ev->symbol, ev->symbol_len) != NULL;
}

/* An error in the client's dialect (not counted against its budget: the
 * rest of its subscribe went through). */
static void refuse(gw_client_t *c, const char *why)
{
    td_srv_sess_refuse(&c->sess, 400, why);
    GW_LOG(TD_LOG_INFO, c->g, c, "client #%llu: since refused: %s", (unsigned long long)c->id, why);
}

void td__gw_since_add(gw_client_t *c, const td_alpaca_since_t *v, size_t nv)
{
    if (!nv) return;
    if (!c->g->hist) {
        refuse(c, "since: this server keeps no history (tickerd run --redis-history)");
        return;
    }
    size_t skipped = 0;
    for (size_t i = 0; i < nv; i++) {
        const td_alpaca_since_t *e = &v[i];
        size_t n = strlen(e->sym);
        uint64_t ms, seq;
        if (!td_subset_has(&c->sess.sub, e->kind, e->sym, n) ||
            id_parse(e->id, strlen(e->id), &ms, &seq)) {
            skipped++;
            continue;
        }
        gw_cursor_t *u = cursor_of(c, e->kind, e->sym, n);
        if (!u) {
            if (!c->since) c->since = td_xcalloc(1, sizeof *c->since);
            struct gw_since_s *s = c->since;
            if (s->n == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 4;
                s->v = td_xrealloc(s->v, s->cap * sizeof *s->v);
            }
            u = &s->v[s->n++];
            u->kind = e->kind;
            memcpy(u->sym, e->sym, n + 1);
        }
        u->ms = ms, u->seq = seq, u->checked = 0;
    }
    if (skipped) refuse(c, "since: names a channel this subscription does not have");
    td__gw_hist_kick(c->g);
}

void td__gw_since_unsubscribe(gw_client_t *c)
{
    struct gw_since_s *s = c->since;
    size_t w = 0;
    for (size_t i = 0; s && i < s->n; i++)
        if (td_subset_has(&c->sess.sub, s->v[i].kind, s->v[i].sym, strlen(s->v[i].sym)))
            s->v[w++] = s->v[i];
    if (s) s->n = w;
}

void td__gw_since_free(gw_client_t *c)
{
    if (!c->since) return;
    free(c->since->v);
    free(c->since);
    c->since = NULL;
}

/* ---- delivering entries ------------------------------------------------------------ */

static int follows(const gw_client_t *c)
{
    return c->since && c->since->n && c->sess.authed && !c->closing && !c->dead;
}

/* The vendor's object with ,"stream_id":"<id>" before its closing brace. */
static int with_id(td_buf_t *b, const char *p, size_t n, const char *id, size_t idl)
{
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == '\t'))
        n--;
    if (n < 2 || p[0] != '{' || p[n - 1] != '}') return -1;
    td_buf_reset(b);
    td_buf_append(b, p, n - 1);
    size_t i = n - 1;
    while (i > 1 && (p[i - 1] == ' ' || p[i - 1] == '\n' || p[i - 1] == '\r' || p[i - 1] == '\t'))
        i--;
    if (i > 1) td_buf_appendc(b, ',');
    td_buf_appends(b, "\"stream_id\":\"");
    td_buf_append(b, id, idl);
    td_buf_appends(b, "\"}");
    return 0;
}

/* One history entry (its id, and e or g) to client c at cursor u. */
static void deliver(gw_client_t *c, gw_cursor_t *u, const td_resp_node_t *id, const char *field,
                    const td_resp_node_t *val, td_buf_t *b)
{
    td_gateway_t *g = c->g;
    if (field[0] == 'g') { /* a gap notice: {"type":"gap",...} */
        static const char head[] = "{\"type\":\"gap\",";
        if (!c->gaps || val->len < sizeof head || memcmp(val->s, head, sizeof head - 1)) return;
        td_buf_reset(b);
        td_buf_appends(b, "[{\"T\":\"gap\",");
        td_buf_append(b, val->s + sizeof head - 1, val->len - (sizeof head - 1));
        td_buf_appendc(b, ']');
        td__gw_client_send_ctl(c, b->data, b->len);
        return;
    }
    if (with_id(b, val->s, val->len, id->s, id->len) != 0) {
        GW_LOG(TD_LOG_DEBUG, g, c, "client #%llu: history entry %.*s is not an object: skipped",
               (unsigned long long)c->id, (int)id->len, id->s);
        return;
    }
    td_event_t ev = {.kind = u->kind,
                     .symbol = u->sym,
                     .symbol_len = strlen(u->sym),
                     .payload = b->data,
                     .payload_len = b->len};
    td_outmsg_t *m = td__gw_event_msg_once(g, &ev, c->codec);
    if (!m) return;
    m->key = 0; /* never conflated: a replay has no holes */
    g->st.since_events++;
    td__gw_client_push(c, m);
    td_outmsg_unref(m);
}

/* The entries of one stream (node index `ents` of the reply) for every
 * client following (kind, sym). */
static void on_stream(td_gateway_t *g, const td_resp_reader_t *rd, size_t ents, td_kind_t kind,
                      const char *sym, size_t sn, td_buf_t *b)
{
    for (gw_client_t *c = g->clients; c; c = c->next) {
        gw_cursor_t *u = follows(c) ? cursor_of(c, kind, sym, sn) : NULL;
        for (uint32_t i = 0; u && i < rd->v[ents].n; i++) {
            const td_resp_node_t *ent = td_resp_elem(rd, ents, i);
            size_t ei = ent ? (size_t)(ent - rd->v) : 0;
            const td_resp_node_t *id = ent ? td_resp_elem(rd, ei, 0) : NULL;
            const td_resp_node_t *fv = ent ? td_resp_elem(rd, ei, 1) : NULL;
            uint64_t ms, seq;
            if (!id || id->type != TD_RESP_BULK || id_parse(id->s, id->len, &ms, &seq) ||
                !id_after(ms, seq, u->ms, u->seq))
                continue;
            u->ms = ms, u->seq = seq;
            size_t fi = fv && fv->type == TD_RESP_ARRAY ? (size_t)(fv - rd->v) : 0;
            for (uint32_t f = 0; fi && f + 1 < fv->n; f += 2) {
                const td_resp_node_t *k = td_resp_elem(rd, fi, f), *v = td_resp_elem(rd, fi, f + 1);
                if (k && v && k->len == 1 && (k->s[0] == 'e' || k->s[0] == 'g')) {
                    deliver(c, u, id, k->s[0] == 'e' ? "e" : "g", v, b);
                    break;
                }
            }
        }
    }
}

/* "<prefix>history:<kind>.<SYM>" → (kind, SYM). */
static int key_channel(const td_gateway_t *g, const td_resp_node_t *k, td_kind_t *kind,
                       const char **sym, size_t *sn)
{
    const char *pre = g->hist->prefix;
    size_t pl = strlen(pre);
    if (k->type != TD_RESP_BULK || k->len < pl + 8 || memcmp(k->s, pre, pl) ||
        memcmp(k->s + pl, "history:", 8))
        return -1;
    const char *p = k->s + pl + 8, *end = k->s + k->len;
    if (g->hist->cl) { /* {<prefix><kind>.<SYM>} */
        if (end - p < (ptrdiff_t)pl + 2 || *p != '{' || end[-1] != '}' || memcmp(p + 1, pre, pl))
            return -1;
        p += 1 + pl, end--;
    }
    const char *dot = memchr(p, '.', (size_t)(end - p));
    int kd = dot ? td_kind_parse(p, (size_t)(dot - p)) : -1;
    if (kd < 0) return -1;
    *kind = (td_kind_t)kd;
    *sym = dot + 1;
    *sn = (size_t)(end - dot - 1);
    return 0;
}

static void on_xread(td_gateway_t *g, const td_resp_reader_t *rd)
{
    const td_resp_node_t *r = &rd->v[0];
    if (r->type == TD_RESP_ERROR) {
        GW_LOG(TD_LOG_WARN, g, NULL, "gateway: history read refused by Redis: %.*s",
               (int)(r->len > 200 ? 200 : r->len), r->s);
        return;
    }
    if (r->type != TD_RESP_ARRAY) return; /* nil: nothing new within the block */
    td_buf_t b = TD_BUF_INIT;
    for (uint32_t i = 0; i < r->n; i++) {
        const td_resp_node_t *st = td_resp_elem(rd, 0, i);
        size_t si = st ? (size_t)(st - rd->v) : 0;
        const td_resp_node_t *k = st ? td_resp_elem(rd, si, 0) : NULL;
        const td_resp_node_t *ents = st ? td_resp_elem(rd, si, 1) : NULL;
        td_kind_t kind;
        const char *sym;
        size_t sn;
        if (!k || !ents || ents->type != TD_RESP_ARRAY || key_channel(g, k, &kind, &sym, &sn))
            continue;
        on_stream(g, rd, (size_t)(ents - rd->v), kind, sym, sn, &b);
    }
    td_buf_free(&b);
}

/* ---- the reader ------------------------------------------------------------------- */

typedef struct {
    td_kind_t kind;
    const char *sym;
    uint64_t ms, seq;
} want_t;

/* The distinct channels followed by clients with room, each with the
 * smallest cursor. Returns how many (*w: malloc'd). */
static size_t collect(td_gateway_t *g, want_t **wp)
{
    size_t n = 0, cap = 0;
    want_t *w = NULL;
    for (gw_client_t *c = g->clients; c; c = c->next) {
        if (!follows(c) || c->q.bytes > HIST_QUEUE_MAX) continue;
        for (size_t i = 0; i < c->since->n; i++) {
            const gw_cursor_t *u = &c->since->v[i];
            size_t j = 0;
            while (j < n && (w[j].kind != u->kind || strcmp(w[j].sym, u->sym) != 0))
                j++;
            if (j < n) {
                if (id_after(w[j].ms, w[j].seq, u->ms, u->seq)) w[j].ms = u->ms, w[j].seq = u->seq;
                continue;
            }
            if (n == cap) w = td_xrealloc(w, (cap = cap ? 2 * cap : 16) * sizeof *w);
            w[n++] = (want_t){u->kind, u->sym, u->ms, u->seq};
        }
    }
    *wp = w;
    return n;
}

/* ---- trimmed history ---------------------------------------------------------------- */

/* "<prefix>history:<channel>" (a cluster: "…history:{<prefix><channel>}"). */
static void key_of(const struct gw_hist_s *h, td_buf_t *b, td_kind_t k, const char *sym)
{
    if (h->cl)
        td_buf_appendf(b, "%shistory:{%s%s.%s}", h->prefix, h->prefix, td_kind_name(k), sym);
    else
        td_buf_appendf(b, "%shistory:%s.%s", h->prefix, td_kind_name(k), sym);
}

/* Queues one XINFO STREAM for cursor u of client c. */
static void send_check(struct gw_hist_s *h, const gw_client_t *c, const gw_cursor_t *u,
                       td_buf_t *key, td_buf_t *cmd)
{
    td_buf_reset(key);
    key_of(h, key, u->kind, u->sym);
    const char *argv[] = {"XINFO", "STREAM", key->data};
    const size_t lens[] = {5, 6, key->len};
    if (h->cl) {
        td_buf_reset(cmd);
        td_resp_append_cmd(cmd, 3, argv, lens);
        char *p = td_rcluster_reserve(h->cl, td_rslot_key(key->data, key->len), cmd->len);
        if (!p) return;
        memcpy(p, cmd->data, cmd->len);
        td_rcluster_commit(h->cl, (uint32_t)(1 + h->nchecks));
        h->pending++;
    } else if (td_rconn_command(h->conn, 3, argv, lens) != 0) {
        return;
    }
    if (h->nchecks == h->ccap) {
        h->ccap = h->ccap ? 2 * h->ccap : 8;
        h->checks = td_xrealloc(h->checks, h->ccap * sizeof *h->checks);
    }
    trim_check_t *t = &h->checks[h->nchecks++];
    *t = (trim_check_t){.client = c->id, .kind = u->kind, .ms = u->ms, .seq = u->seq};
    memcpy(t->sym, u->sym, strlen(u->sym) + 1);
}

/* The trimming (MAXLEN) may have deleted entries past the id a client
 * resumes after: if the stream's first entry (XINFO STREAM) is newer than
 * that id, the entries between them are gone (unless the id was the very
 * last one trimmed: "may"). Each new cursor (other than "0": everything
 * kept) is checked once, before its first read (the XINFO goes first in
 * the same pipeline, to the same node). */
static void send_checks(struct gw_hist_s *h)
{
    td_buf_t key = TD_BUF_INIT, cmd = TD_BUF_INIT;
    if (h->chead == h->nchecks) h->chead = h->nchecks = 0;
    for (gw_client_t *c = h->g->clients; c; c = c->next) {
        for (size_t i = 0; follows(c) && i < c->since->n; i++) {
            gw_cursor_t *u = &c->since->v[i];
            if (u->checked) continue;
            u->checked = 1;
            if (u->ms || u->seq) send_check(h, c, u, &key, &cmd);
        }
    }
    td_buf_free(&key);
    td_buf_free(&cmd);
}

/* Tells the client that entries between its id and `to` (the first kept)
 * may be gone: a gap notice (Alpaca), an error status (Polygon). */
static void trimmed(gw_client_t *c, const trim_check_t *t, uint64_t to_ms)
{
    td_buf_t b = TD_BUF_INIT, j = TD_BUF_INIT;
    td_subset_t where;
    td_subset_init(&where);
    td_subset_add(&where, t->kind, t->sym, strlen(t->sym));
    td_gap_t gap = {.feed = "history",
                    .from_ns = (int64_t)t->ms * 1000000,
                    .to_ns = (int64_t)to_ms * 1000000,
                    .where = &where,
                    .refill = "impossible",
                    .lost = -1,
                    .reason = "trimmed from the history (--redis-history N) before it was read"};
    td_gap_json(&j, &gap);
    if (c->vs->vendor == TD_VENDOR_POLYGON) {
        td_buf_appendf(&b, "since: %s.%s: history trimmed after the id given: %s",
                       td_kind_name(t->kind), t->sym, j.data);
        refuse(c, b.data);
    } else { /* {"type":"gap",...} → [{"T":"gap",...}] */
        td_buf_appends(&b, "[{\"T\":\"gap\",");
        td_buf_append(&b, j.data + 14, j.len - 14);
        td_buf_appendc(&b, ']');
        td__gw_client_send_ctl(c, b.data, b.len);
        GW_LOG(TD_LOG_INFO, c->g, c, "client #%llu: since %s.%s: trimmed history told",
               (unsigned long long)c->id, td_kind_name(t->kind), t->sym);
    }
    td_subset_free(&where);
    td_buf_free(&j);
    td_buf_free(&b);
}

/* The XINFO STREAM reply of check i. */
static void on_check(struct gw_hist_s *h, size_t i, const td_resp_reader_t *rd)
{
    if (i >= h->nchecks) return;
    const trim_check_t *t = &h->checks[i];
    const td_resp_node_t *r = &rd->v[0];
    for (uint32_t f = 0; r->type == TD_RESP_ARRAY && f + 1 < r->n; f += 2) {
        const td_resp_node_t *k = td_resp_elem(rd, 0, f), *v = td_resp_elem(rd, 0, f + 1);
        const td_resp_node_t *id =
            v && v->type == TD_RESP_ARRAY ? td_resp_elem(rd, (size_t)(v - rd->v), 0) : NULL;
        uint64_t ms, seq;
        if (!td_resp_is(k, "first-entry") || !id || id->type != TD_RESP_BULK ||
            id_parse(id->s, id->len, &ms, &seq) || !id_after(ms, seq, t->ms, t->seq))
            continue;
        for (gw_client_t *c = h->g->clients; c; c = c->next)
            if (c->id == t->client && follows(c)) trimmed(c, t, ms);
    }
}

/* XREAD COUNT c BLOCK b STREAMS <keys> <ids>: at most HIST_MAX_KEYS
 * streams, a window that moves on by that much each read. */
static void send_xread(struct gw_hist_s *h)
{
    want_t *w;
    size_t total = collect(h->g, &w), n = total < HIST_MAX_KEYS ? total : HIST_MAX_KEYS;
    if (!n) {
        free(w);
        return;
    }
    size_t first = total > n ? (size_t)(h->rr % total) : 0;
    h->rr += n;
    char count[24];
    snprintf(count, sizeof count, "%zu", HIST_NODES / n ? HIST_NODES / n : 1);
    int argc = 6 + 2 * (int)n;
    const char **argv = td_xmalloc((size_t)argc * sizeof *argv);
    size_t *lens = td_xmalloc((size_t)argc * sizeof *lens), *off = td_xmalloc(2 * n * sizeof *off);
    td_buf_t b = TD_BUF_INIT;
    for (size_t i = 0; i < n; i++) { /* every string into b first: it may move */
        const want_t *x = &w[(first + i) % total];
        off[2 * i] = b.len;
        td_buf_appendf(&b, "%shistory:%s.%s", h->prefix, td_kind_name(x->kind), x->sym);
        off[2 * i + 1] = b.len;
        td_buf_appendf(&b, "%" PRIu64 "-%" PRIu64, x->ms, x->seq);
    }
    send_checks(h);
    const char *fixed[] = {"XREAD", "COUNT", count, "BLOCK", HIST_BLOCK_MS, "STREAMS"};
    for (int i = 0; i < 6; i++)
        argv[i] = fixed[i], lens[i] = strlen(fixed[i]);
    for (size_t j = 0; j < 2 * n; j++) {
        size_t end = j + 1 < 2 * n ? off[j + 1] : b.len;
        size_t at = j % 2 ? 6 + n + j / 2 : 6 + j / 2; /* keys, then ids */
        argv[at] = b.data + off[j];
        lens[at] = end - off[j];
    }
    if (td_rconn_command(h->conn, argc, argv, lens) == 0) h->inflight = 1;
    td_buf_free(&b);
    free(off);
    free(lens);
    free(argv);
    free(w);
}

/* Cluster: one XREAD per stream, each to its slot's primary. */
static void send_round(struct gw_hist_s *h)
{
    want_t *w;
    size_t n = collect(h->g, &w);
    char count[24], id[48];
    snprintf(count, sizeof count, "%zu", n && HIST_NODES / n ? HIST_NODES / n : 1);
    td_buf_t key = TD_BUF_INIT, cmd = TD_BUF_INIT;
    h->got = 0;
    send_checks(h);
    for (size_t i = 0; i < n; i++) {
        td_buf_reset(&key);
        key_of(h, &key, w[i].kind, w[i].sym);
        int il = snprintf(id, sizeof id, "%" PRIu64 "-%" PRIu64, w[i].ms, w[i].seq);
        const char *argv[] = {"XREAD", "COUNT", count, "STREAMS", key.data, id};
        const size_t lens[] = {5, 5, strlen(count), 7, key.len, (size_t)il};
        td_buf_reset(&cmd);
        td_resp_append_cmd(&cmd, 6, argv, lens);
        char *p = td_rcluster_reserve(h->cl, td_rslot_key(key.data, key.len), cmd.len);
        if (!p) break;
        memcpy(p, cmd.data, cmd.len);
        td_rcluster_commit(h->cl, 0);
        h->pending++;
    }
    td_buf_free(&key);
    td_buf_free(&cmd);
    free(w);
}

static void on_poll(uv_timer_t *t)
{
    struct gw_hist_s *h = t->data;
    td__gw_hist_kick(h->g);
}

void td__gw_hist_kick(td_gateway_t *g)
{
    struct gw_hist_s *h = g->hist;
    if (!h || h->closing) return;
    if (h->cl) {
        if (!h->pending && !uv_is_active((uv_handle_t *)&h->poll)) send_round(h);
        return;
    }
    if (!h->inflight && td_rconn_state(h->conn) == TD_RCONN_READY) send_xread(h);
}

/* Cluster: a round's XREAD answered (rd) or lost (NULL). */
static void round_step(struct gw_hist_s *h, const td_resp_reader_t *rd)
{
    if (h->pending) h->pending--;
    if (h->closing) return;
    if (rd && rd->v[0].type == TD_RESP_ARRAY) {
        h->got = 1;
        on_xread(h->g, rd);
    }
    if (h->pending) return;
    if (h->got)
        td__gw_hist_kick(h->g);
    else
        uv_timer_start(&h->poll, on_poll, HIST_POLL_MS, 0);
}

static void on_cl_reply(void *ud, uint32_t tag, const td_resp_reader_t *rd)
{
    struct gw_hist_s *h = ud;
    if (tag && !h->closing) on_check(h, tag - 1, rd); /* an XINFO, not an XREAD */
    round_step(h, tag ? NULL : rd);
}

static void on_cl_lost(void *ud, uint32_t tag)
{
    (void)tag;
    round_step(ud, NULL);
}

static void on_ready(void *ud, td_rconn_t *c)
{
    struct gw_hist_s *h = ud;
    (void)c;
    h->inflight = 0;
    td__gw_hist_kick(h->g);
}

static void on_reply(void *ud, td_rconn_t *c, const td_resp_reader_t *rd)
{
    struct gw_hist_s *h = ud;
    (void)c;
    if (h->chead < h->nchecks) { /* the XINFOs come before their XREAD */
        if (!h->closing) on_check(h, h->chead, rd);
        h->chead++;
        return;
    }
    h->inflight = 0;
    if (h->closing) return;
    on_xread(h->g, rd);
    td__gw_hist_kick(h->g);
}

static void on_down(void *ud, td_rconn_t *c, uint64_t unanswered)
{
    struct gw_hist_s *h = ud;
    (void)c, (void)unanswered;
    h->inflight = 0; /* read again from the cursors once reconnected */
    h->chead = h->nchecks = 0;
}

int td__gw_hist_start(td_gateway_t *g, char *err, size_t errlen)
{
    const td_gateway_cfg_t *cfg = &g->cfg;
    if (!cfg->history_url) return 0;
    td_redis_url_t u;
    if (td_redis_url_parse(&u, cfg->history_url, err, errlen) != 0) {
        td_redis_url_free(&u);
        return -1;
    }
    static const td_rconn_cb_t cb = {on_ready, on_reply, on_down};
    struct gw_hist_s *h = td_xcalloc(1, sizeof *h);
    h->g = g;
    h->prefix = td_xstrdup(cfg->history_prefix ? cfg->history_prefix : "");
    if (u.scheme == TD_REDIS_CLUSTER) {
        static const td_rcluster_cb_t ccb = {on_cl_reply, on_cl_lost, NULL};
        td_rcluster_cfg_t cc = {.url = &u, .name = "gateway history"};
        h->cl = td_rcluster_new(g->loop, &cc, &ccb, h, err, errlen);
        td_redis_url_free(&u);
        if (!h->cl) {
            free(h->prefix);
            free(h);
            return -1;
        }
        uv_timer_init(g->loop, &h->poll);
        h->poll.data = h;
        g->hist = h;
        td_rcluster_start(h->cl);
        return 0;
    }
    td_rconn_cfg_t cc = {.url = &u,
                         .ca_file = cfg->history_ca_file,
                         .cert_file = cfg->history_cert_file,
                         .key_file = cfg->history_key_file,
                         .name = "gateway history",
                         .want_master = u.scheme == TD_REDIS_SENTINEL};
    h->conn = td_rconn_new(g->loop, &cc, &cb, h, err, errlen);
    if (h->conn && u.scheme == TD_REDIS_SENTINEL)
        h->sentinel = td_rsentinel_new(g->loop, &u, h->conn);
    td_redis_url_free(&u);
    if (!h->conn) {
        free(h->prefix);
        free(h);
        return -1;
    }
    uv_timer_init(g->loop, &h->poll);
    h->poll.data = h;
    g->hist = h;
    if (h->sentinel)
        td_rsentinel_start(h->sentinel);
    else
        td_rconn_start(h->conn);
    return 0;
}

static void hist_closed(void *ud)
{
    struct gw_hist_s *h = ud;
    if (--h->open == 0 && h->done) h->done(h->done_ud);
}

static void poll_closed(uv_handle_t *t)
{
    hist_closed(t->data);
}

void td__gw_hist_close(td_gateway_t *g, void (*done)(void *ud), void *ud)
{
    struct gw_hist_s *h = g->hist;
    h->closing = 1;
    h->done = done;
    h->done_ud = ud;
    h->open = 2 + (h->sentinel != NULL);
    uv_close((uv_handle_t *)&h->poll, poll_closed);
    if (h->sentinel) td_rsentinel_close(h->sentinel, hist_closed, h);
    if (h->cl)
        td_rcluster_close(h->cl, hist_closed, h);
    else
        td_rconn_close(h->conn, hist_closed, h);
}

void td__gw_hist_free(td_gateway_t *g)
{
    struct gw_hist_s *h = g->hist;
    if (!h) return;
    td_rconn_free(h->conn);
    td_rsentinel_free(h->sentinel);
    td_rcluster_free(h->cl);
    free(h->checks);
    free(h->prefix);
    free(h);
    g->hist = NULL;
}
