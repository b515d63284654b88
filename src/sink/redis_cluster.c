/* SPDX-License-Identifier: Apache-2.0 */
/* The Redis sink on redis+cluster://: SPUBLISH, HSET and history XADD go
 * to the primary of their slot through redis/cluster (which follows MOVED,
 * ASK and failovers); replies and losses are counted per command tag. */
#include "sink/redis_int.h"

#include "core/buf.h"
#include "core/mem.h"
#include "core/clock.h"

#include <stdio.h>
#include <string.h>

enum { TAG_SPUBLISH, TAG_HSET, TAG_NOTICE, TAG_XADD };

static void on_cl_reply(void *ud, uint32_t tag, const td_resp_reader_t *rd);
static void on_cl_lost(void *ud, uint32_t tag);

/* redis+cluster://: SPUBLISH and HSET go to the primary of their slot. */
td_rcluster_t *td__rsink_cluster_new(td_redis_sink_t *s, const td_redis_url_t *u,
                                     const td_redis_sink_cfg_t *cfg, char *err, size_t errlen)
{
    static const td_rcluster_cb_t cb = {on_cl_reply, on_cl_lost, NULL};
    td_rcluster_cfg_t cc = {.url = u,
                            .name = "redis",
                            .timeout_s = cfg->timeout_s,
                            .max_buffer = cfg->max_buffer ? cfg->max_buffer : DEF_MAX_BUFFER,
                            .max_inflight = cfg->max_inflight,
                            .lazy_read = 1};
    return td_rcluster_new(s->loop, &cc, &cb, s, err, errlen);
}

static void on_cl_reply(void *ud, uint32_t tag, const td_resp_reader_t *rd)
{
    td_redis_sink_t *s = ud;
    const td_resp_node_t *r = &rd->v[0];
    if (r->type != TD_RESP_ERROR) {
        s->published += tag == TAG_SPUBLISH;
        return;
    }
    td__rsink_log_error(s, tag == TAG_HSET ? "HSET" : tag == TAG_XADD ? "XADD" : "SPUBLISH", r);
    if (tag == TAG_SPUBLISH) s->dropped++, s->rejected++;
}

static void on_cl_lost(void *ud, uint32_t tag)
{
    td_redis_sink_t *s = ud;
    if (tag & TD_RCLUSTER_FENCED) { /* refused by the gate */
        if ((tag & ~TD_RCLUSTER_FENCED) == TAG_SPUBLISH) s->dropped++, s->fenced++;
        return;
    }
    if (tag == TAG_SPUBLISH) s->dropped++, s->lost += !s->stopping; /* at stop: pending */
}

/* Cluster history: "XADD <prefix>history:{<channel>} MAXLEN ~ N * e <payload>
 * [r 1]"
 * for the channel's slot (s->chan holds the channel): the hash tag is the
 * channel's name, so the stream lives on the channel's shard and goes in the
 * same pipeline as its SPUBLISH. */
void td__rsink_cluster_history(td_redis_sink_t *s, unsigned slot, const td_event_t *ev)
{
    size_t cl = s->chan.len, pl = ev->payload_len, kl = s->prefix_len + 9 + cl + 1;
    static const char mark[] = "$1\r\nr\r\n$1\r\n1\r\n"; /* refilled: r 1 */
    size_t m = s->refilled ? sizeof mark - 1 : 0;
    size_t n = 14 + !!m + 1 + td_uint_digits(kl) + 2 + kl + 2 + s->hist_mid_len + 1 +
               td_uint_digits(pl) + 2 + pl + 2 + m;
    char *p = td_rcluster_reserve(s->cl, slot, n);
    if (!p) return;
    memcpy(p, m ? "*10\r\n$4\r\nXADD\r\n$" : "*8\r\n$4\r\nXADD\r\n$", 15 + !!m);
    p = td_put_uint(p + 15 + !!m, kl);
    *p++ = '\r', *p++ = '\n';
    memcpy(p, s->prefix, s->prefix_len);
    memcpy(p += s->prefix_len, "history:{", 9);
    memcpy(p += 9, s->chan.data, cl);
    p += cl;
    *p++ = '}', *p++ = '\r', *p++ = '\n';
    memcpy(p, s->hist_mid, s->hist_mid_len);
    p = td__rsink_put_bulk(p + s->hist_mid_len, ev->payload, pl);
    if (m) memcpy(p, mark, m);
    td_rcluster_commit(s->cl, TAG_XADD);
}

/* SPUBLISH to the primary of the channel's slot, HSET to the hash's. */
void td__rsink_cluster_publish(td_redis_sink_t *s, const td_event_t *ev, int held)
{
    size_t kl = s->kind_len[ev->kind], sl = ev->symbol_len, pl = ev->payload_len;
    size_t cl = s->prefix_len + kl + 1 + sl, hl = s->prefix_len + 5 + kl;
    size_t body = 1 + td_uint_digits(pl) + 2 + pl + 2;
    size_t n = 4 + 14 + 1 + td_uint_digits(cl) + 2 + cl + 2 + body;
    s->chan.len = 0;
    td_buf_append(&s->chan, s->prefix, s->prefix_len);
    td_buf_append(&s->chan, td_kind_name(ev->kind), kl);
    td_buf_appendc(&s->chan, '.');
    td_buf_append(&s->chan, ev->symbol, sl);
    unsigned slot = td_rslot_key(s->chan.data, s->chan.len);
    char *p = td_rcluster_reserve(s->cl, slot, n);
    if (!p) {
        td__rsink_drop_full(s);
        return;
    }
    memcpy(p, "*3\r\n$8\r\nSPUBLISH\r\n", 18);
    td__rsink_put_bulk(td__rsink_put_name(s, p + 18, "", 0, ev, 1), ev->payload, pl);
    td_rcluster_commit(s->cl, TAG_SPUBLISH);
    if (s->history && !held) td__rsink_cluster_history(s, slot, ev);
    if (!s->last_values) return;
    n = 4 + 10 + 1 + td_uint_digits(hl) + 2 + hl + 2 + 1 + td_uint_digits(sl) + 2 + sl + 2 + body;
    if (!(p = td_rcluster_reserve(s->cl, s->hslot[ev->kind], n))) return;
    memcpy(p, "*4\r\n$4\r\nHSET\r\n", 14);
    p = td__rsink_put_name(s, p + 14, "last:", 5, ev, 0);
    td__rsink_put_bulk(td__rsink_put_bulk(p, ev->symbol, sl), ev->payload, pl);
    td_rcluster_commit(s->cl, TAG_HSET);
}

/* Copies s->note as one command for slot. */
static void cluster_note(td_redis_sink_t *s, unsigned slot, uint32_t tag)
{
    char *p = td_rcluster_reserve(s->cl, slot, s->note.len);
    if (!p) return;
    memcpy(p, s->note.data, s->note.len);
    td_rcluster_commit(s->cl, tag);
}

/* A notice on a cluster: SPUBLISH on the gaps channel's shard, and one XADD
 * per channel named, each to its own shard. */
void td__rsink_cluster_notice(td_redis_sink_t *s, const char *ch, size_t cl, const char *json,
                              size_t n, const td_subset_t *where)
{
    const char *cargv[] = {"SPUBLISH", ch, json};
    const size_t clens[] = {8, cl, n};
    td_buf_reset(&s->note);
    td_resp_append_cmd(&s->note, 3, cargv, clens);
    cluster_note(s, td_rslot_key(ch, cl), TAG_NOTICE);
    for (int k = 0; s->history && where && k < TD_KIND__COUNT; k++)
        for (size_t i = 0; i < where->k[k].n; i++) {
            td_buf_reset(&s->note);
            int slot = td__rsink_notice_xadd(s, (td_kind_t)k, where->k[k].v[i], json, n);
            if (slot >= 0) cluster_note(s, (unsigned)slot, TAG_XADD);
        }
}

/* A cluster's figures in the sink's terms. */
void td__rsink_cluster_stats(const td_redis_sink_t *s, td_redis_sink_stats_t *out)
{
    td_rcluster_stats_t cs;
    td_rcluster_stats(s->cl, &cs);
    const char *st = td_rcluster_status(s->cl);
    out->timeouts = cs.timeouts;
    out->switches = cs.changes;
    out->moved = cs.moved;
    out->ask = cs.ask;
    out->buffered = cs.buffered;
    out->buffered_events = 0;
    out->inflight = cs.inflight;
    out->connected = strcmp(st, "down") != 0;
    uint64_t now = uv_now(s->loop);
    out->status =
        s->errors && now - s->last_error_ms < REJECTING_MS && out->connected ? "rejecting" : st;
}
