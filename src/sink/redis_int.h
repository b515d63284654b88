/* SPDX-License-Identifier: Apache-2.0 */
/* Private to sink/: the Redis sink's state, shared by redis.c (one server,
 * Sentinel, the pending buffer and the stop) and redis_cluster.c (the same
 * commands routed per slot on redis+cluster://). */
#ifndef TD_SINK_REDIS_INT_H
#define TD_SINK_REDIS_INT_H

#include "core/log.h"
#include "proto/sub.h"
#include "redis/cluster.h"
#include "redis/conn.h"
#include "redis/resp.h"
#include "redis/sentinel.h"
#include "redis/url.h"
#include "sink/redis.h"

#define DEF_MAX_BUFFER   ((size_t)64 << 20)
#define DEF_MAX_INFLIGHT 10000u
#define STOP_WAIT_MS     1000u /* how long _stop waits for replies */
#define STOP_POLL_MS     10u
#define REJECTING_MS     10000u /* an error reply this recent: status "rejecting" */
#define OVERDUE_MS       1000u  /* a reply this late: status "not answering" */
/* A pending entry's ring value: length | tag << 32; tag = commands | ENT_NOTICE
 * (a notice) or ENT_HIST (a history entry written late): not an event. */
#define ENT_NOTICE    0x80000000u
#define ENT_HIST      0x40000000u
#define ENT_NONEV     (ENT_NOTICE | ENT_HIST)
#define ENT_CMDS(tag) ((tag) & ~ENT_NONEV)
#define ENT_LEN(v)    ((size_t)((v)&0xffffffffu))
#define ENT_TAG(v)    ((uint32_t)((v) >> 32))
#define ENT(len, tag) ((uint64_t)(len) | (uint64_t)(tag) << 32)

struct td_redis_sink_s {
    uv_loop_t *loop;
    td_rconn_t *conn;
    td_rsentinel_t *sentinel;       /* redis+sentinel:// only */
    td_rcluster_t *cl;              /* redis+cluster:// (then conn is NULL) */
    uint16_t hslot[TD_KIND__COUNT]; /* cluster: slot of each last-values hash */
    td_buf_t chan;                  /* cluster: the channel name, for its slot */
    char *prefix;
    size_t prefix_len;
    size_t max_buffer;
    uint32_t max_inflight;
    int last_values;
    uint32_t ev_cmds; /* commands per event: PUBLISH [HSET] [XADD] */
    uint8_t kind_len[TD_KIND__COUNT];
    /* History (XADD ... MAXLEN ~ N * e payload): the arguments between the
     * key and the payload, pre-formatted; empty with history off. */
    char hist_mid[64];
    size_t hist_mid_len;
    uint32_t history;
    int refilled; /* the events published now are refilled: XADD ... r 1 */
    int (*hold)(void *ud, const td_event_t *ev, int refilled); /* takes history entries */
    void *hold_ud;
    td_buf_t note; /* a notice's commands, being formatted */

    uv_prepare_t prep; /* hands pending commands to the connection once per turn */
    uv_timer_t timer;  /* the stop sequence */
    int started, stopping, closed;
    int open_handles;
    uint64_t stop_deadline_ms;
    void (*done)(void *ud);
    void *done_ud;

    /* Pending entries: bytes [head, tail) of buf; their lengths and command
     * counts (ENT_*) in the ring lens[lhead .. lhead+lcount) (mod lcap). */
    char *buf;
    size_t cap, head, tail;
    uint64_t *lens;
    size_t lcap, lhead, lcount;
    uint32_t inflight; /* entries sent, not completely answered */
    uint32_t *fq;      /* their ENT_ tags, a ring of max_inflight */
    size_t fqhead;
    uint32_t phase; /* replies of the oldest entry in flight received */

    int (*gate)(void *ud); /* NULL, or asked before every batch (HA fencing) */
    void *gate_ud;
    uint64_t fenced; /* events the gate refused (also in dropped) */

    int ever_ready;
    uint64_t published, dropped, errors, rejected, lost, reconnects;
    uint64_t dropped_mark; /* `dropped` when the connection went down */
    int64_t down_ns;       /* wall clock when it went down (0: up) */
    uint64_t down_lost;    /* events in flight then, lost */
    uint64_t gaps;         /* Redis outages with drops, noticed */
    uint64_t last_error_ms;
    td_ratelimit_t rl_full, rl_err;
};

/* Shared by redis.c and redis_cluster.c. */
const char *td__rsink_label(const td_redis_sink_t *s);
void td__rsink_log_error(td_redis_sink_t *s, const char *cmd, const td_resp_node_t *r);
/* Counts an event dropped for a full buffer (one rate-limited line). */
void td__rsink_drop_full(td_redis_sink_t *s);
/* "$<n>\r\n<prefix><mid><kind>[.<symbol>]\r\n" at p; returns the end. */
char *td__rsink_put_name(const td_redis_sink_t *s, char *p, const char *mid, size_t midl,
                         const td_event_t *ev, int with_symbol);
/* "$<n>\r\n<v>\r\n" at p; returns the end. */
char *td__rsink_put_bulk(char *p, const char *v, size_t n);
/* XADD of a notice into s->note (td__rsink_notice_xadd in redis.c). */
int td__rsink_notice_xadd(td_redis_sink_t *s, td_kind_t k, const char *sym, const char *json,
                          size_t n);

/* redis+cluster:// (redis_cluster.c). */
td_rcluster_t *td__rsink_cluster_new(td_redis_sink_t *s, const td_redis_url_t *u,
                                     const td_redis_sink_cfg_t *cfg, char *err, size_t errlen);
/* SPUBLISH (and HSET, history XADD unless held) of ev on its slots. */
void td__rsink_cluster_publish(td_redis_sink_t *s, const td_event_t *ev, int held);
/* History XADD of ev on slot (s->chan holds its channel). */
void td__rsink_cluster_history(td_redis_sink_t *s, unsigned slot, const td_event_t *ev);
/* A notice: SPUBLISH on the gaps channel ch, XADDs per channel of where. */
void td__rsink_cluster_notice(td_redis_sink_t *s, const char *ch, size_t cl, const char *json,
                              size_t n, const td_subset_t *where);
void td__rsink_cluster_stats(const td_redis_sink_t *s, td_redis_sink_stats_t *out);

#endif
