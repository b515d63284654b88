/* SPDX-License-Identifier: Apache-2.0 */
/* redis+cluster://: one redis/conn connection per primary, the slot map, and
 * the topology kept current.
 *
 * Topology: a control connection (to a seed of the URL, or a known primary,
 * whichever answers) asks CLUSTER SHARDS (CLUSTER SLOTS if the server is
 * older than Redis 7) at start, every 5 s, at once after a MOVED, and every
 * 0.5 s while a primary is down, so a failover (a replica promoted) is
 * picked up within a refresh of the cluster's own election. A primary that
 * no longer serves slots is closed; a new one gets a connection.
 *
 * Command mode (the sink, last-value reads): the owner appends a whole
 * command for a slot; it waits in that primary's queue (bounded in bytes
 * over all queues, with a cap on commands in flight per primary) and is
 * handed to the connection once per loop turn. The bytes are kept until the
 * command is answered, so a MOVED is followed (the slot is updated, the
 * command sent again to the new owner) and an ASK too (ASKING + the command
 * to the node named, once). A command whose slot has no known owner waits in
 * a queue of its own until a refresh gives it one. Commands in flight when a
 * connection dies are reported lost (they may or may not have run).
 *
 * Pub/sub mode (SSUBSCRIBE): no queues; the owner writes to the connection
 * of the primary that owns a channel's slot, and is told when to
 * (re)subscribe a primary's channels: when it connects and after a
 * topology change. */
#ifndef TD_REDIS_CLUSTER_H
#define TD_REDIS_CLUSTER_H

#include "redis/conn.h"
#include "redis/slots.h"
#include "redis/url.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct td_rcluster_s td_rcluster_t;

typedef struct td_rcluster_cfg_s {
    const td_redis_url_t *url; /* redis+cluster:// (borrowed during _new) */
    const char *name;          /* log label ("redis", "redis source"); copied */
    double timeout_s;          /* connect/reply bound per connection (0: 5 s) */
    int pubsub;                /* pub/sub mode (else command mode) */
    size_t max_buffer;         /* command mode: bytes queued, all primaries (0: 64 MiB) */
    uint32_t max_inflight;     /* command mode: commands in flight per primary (0: 10000) */
    int lazy_read;             /* command mode: td_rconn_cfg_t's lazy_read for the primaries */
} td_rcluster_cfg_t;

typedef struct td_rcluster_cb_s {
    /* Command mode: the answer to the command queued with `tag` (after any
     * redirect). Pub/sub mode: a reply or message from primary `node`
     * (tag = node). r->v[0] is the reply. */
    void (*on_reply)(void *ud, uint32_t tag, const td_resp_reader_t *r);
    /* Command mode: the command queued with `tag` was in flight when its
     * connection died, or could not be routed (too many redirects). */
    void (*on_lost)(void *ud, uint32_t tag);
    /* Pub/sub mode: primary `node` is connected (again), or the slots it
     * serves changed: (re)subscribe the channels whose slot it owns. */
    void (*on_node_ready)(void *ud, int node);
} td_rcluster_cb_t;

typedef struct td_rcluster_stats_s {
    uint64_t refreshes;   /* slot maps read */
    uint64_t changes;     /* slot maps that differed from the previous one */
    uint64_t moved, ask;  /* redirects followed */
    uint64_t buffered;    /* command mode: bytes queued, not yet sent */
    uint64_t inflight;    /* command mode: commands sent, not answered */
    uint64_t timeouts;    /* connections given up (no answer within the bound) */
    size_t primaries, up; /* primaries known; of them connected */
    size_t covered;       /* slots with a known primary */
} td_rcluster_stats_t;

/* NULL + err if the URL is not redis+cluster://. Initialises handles on
 * loop: release with _close, then _free. */
td_rcluster_t *td_rcluster_new(uv_loop_t *loop, const td_rcluster_cfg_t *cfg,
                               const td_rcluster_cb_t *cb, void *ud, char *err, size_t errlen);
void td_rcluster_start(td_rcluster_t *cl);

/* Command mode. Room for one command of exactly n bytes for `slot`: the
 * owner writes it there and calls _commit. NULL if the queues are full (the
 * owner counts the drop); nothing to commit then. */
char *td_rcluster_reserve(td_rcluster_t *cl, unsigned slot, size_t n);
void td_rcluster_commit(td_rcluster_t *cl, uint32_t tag);

/* Pub/sub mode: the primary that owns slot (-1: unknown), and its
 * connection (NULL: none); commands for it: td_rconn_command. */
int td_rcluster_node_of(const td_rcluster_t *cl, unsigned slot);
td_rconn_t *td_rcluster_conn(const td_rcluster_t *cl, int node);

/* Command mode: a gate asked before the waiting commands are handed to the
 * connections (once per loop turn with commands; HA fencing): 0 drops every
 * command not yet sent, each reported through on_lost with its tag |
 * TD_RCLUSTER_FENCED. gate NULL: none. */
#define TD_RCLUSTER_FENCED 0x80000000u
void td_rcluster_set_gate(td_rcluster_t *cl, int (*gate)(void *ud), void *ud);

void td_rcluster_stats(const td_rcluster_t *cl, td_rcluster_stats_t *out);
/* "up" (every slot served by a connected primary), "partial" or "down". */
const char *td_rcluster_status(const td_rcluster_t *cl);
const char *td_rcluster_label(const td_rcluster_t *cl);

/* Closes every connection; commands queued or in flight are reported lost
 * first. `done` once all handles are closed (never from inside _close). */
void td_rcluster_close(td_rcluster_t *cl, void (*done)(void *ud), void *ud);
void td_rcluster_free(td_rcluster_t *cl);

#endif
