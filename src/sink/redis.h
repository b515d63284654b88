/* SPDX-License-Identifier: Apache-2.0 */
/* Redis sink: publishes every event it is given to the channel
 * <prefix><kind>.<SYMBOL> with the vendor's object as the message, and (with
 * last values on) keeps it in the hash <prefix>last:<kind>, field SYMBOL, in
 * the same pipeline; with history on, it also appends it to the stream
 * <prefix>history:<kind>.<SYMBOL> (XADD, trimmed to about N entries).
 *
 * Over one redis/conn connection on the caller's libuv loop (redis://,
 * rediss://, unix://; redis+sentinel:// follows the master). Commands are
 * pre-formatted RESP (no printf-style formatting on the hot path) and
 * pipelined, with a cap on events in flight. While Redis is unreachable or
 * the cap is reached, commands wait in a bounded buffer; past that they are
 * dropped and counted (one rate-limited log line). Events Redis rejects (an
 * error reply to PUBLISH) are dropped and counted too. Everything queued
 * during a loop turn is handed to the connection once per turn.
 *
 * redis+cluster:// (redis/cluster): SPUBLISH instead of PUBLISH, each
 * command queued for the primary that owns its slot (the channel's; the
 * hash's for HSET, whose key is the same as on one Redis), pipelined per
 * primary; MOVED/ASK are followed and a failover is picked up by the slot
 * map refresh. */
#ifndef TD_SINK_REDIS_H
#define TD_SINK_REDIS_H

#include "proto/event.h"
#include "proto/sub.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct td_redis_sink_s td_redis_sink_t;

typedef struct td_redis_sink_cfg_s {
    const char *url;       /* redis/url.h syntax; borrowed during _new only */
    const char *prefix;    /* channel prefix, may be ""; copied */
    size_t max_buffer;     /* bytes of commands kept while Redis is away (0: 64 MiB) */
    uint32_t max_inflight; /* events sent and not yet answered (0: 10000) */
    const char *ca_file, *cert_file, *key_file; /* rediss:// (NULL: system CAs) */
    double timeout_s;                           /* connect/reply bound (0: 5 s) */
    int last_values;                            /* also HSET <prefix>last:<kind> SYMBOL payload */
    uint32_t history; /* also XADD <prefix>history:<kind>.<SYMBOL> MAXLEN ~ history * e payload
                         (0: off) */
} td_redis_sink_cfg_t;

typedef struct td_redis_sink_stats_s {
    uint64_t published;       /* PUBLISH replies received (integer replies) */
    uint64_t dropped;         /* events dropped: buffer full, rejected, lost with a connection */
    uint64_t errors;          /* error replies (logged, rate-limited) */
    uint64_t rejected;        /* of the dropped: PUBLISH answered with an error */
    uint64_t lost;            /* of the dropped: in flight when a connection died */
    uint64_t timeouts;        /* connections given up: Redis stopped answering */
    uint64_t moved, ask;      /* redis+cluster://: redirects followed */
    uint64_t switches;        /* redis+sentinel://: master changes followed;
                                 redis+cluster://: slot map changes followed */
    uint64_t reconnects;      /* successful connections after the first */
    uint64_t fenced;          /* of the dropped: refused by the gate (HA fencing) */
    uint64_t gaps;            /* outages that dropped events: gap notices published */
    uint64_t buffered;        /* bytes waiting now (not yet sent) */
    uint64_t buffered_events; /* commands waiting now */
    uint64_t inflight;        /* events sent, not yet answered */
    int connected;
    const char *status; /* "up", "down", "partial" (a cluster with a primary down or slots
                           unserved), "rejecting" (error replies in the last 10 s) or
                           "not answering" (a reply overdue by 1 s) */
} td_redis_sink_stats_t;

/* Returns NULL (and logs why) if the URL or the TLS files are invalid.
 * Connects on _start.
 * Borrows `loop` (must outlive the sink); copies what it needs from `cfg`.
 * Initialises uv handles on `loop`: once _new succeeded, the sink must be
 * released with _stop (run the loop until `done`), then _free. */
td_redis_sink_t *td_redis_sink_new(uv_loop_t *loop, const td_redis_sink_cfg_t *cfg);
/* Starts connecting (failures are retried with backoff, never fatal).
 * Returns 0, or -1 if already started or stopping. */
int td_redis_sink_start(td_redis_sink_t *s);
/* Hot path: copies what it needs from ev. Never blocks, never fails. */
void td_redis_sink_publish(td_redis_sink_t *s, const td_event_t *ev);
/* A gate asked (cheaply: it runs once per batch, i.e. per loop turn with
 * events) before every batch is handed to the connection: 0 drops every
 * pending event (counted as dropped and fenced). For HA fencing: a holder
 * whose lease deadline passed publishes nothing more. */
void td_redis_sink_set_gate(td_redis_sink_t *s, int (*gate)(void *ud), void *ud);
/* Publishes a notice (JSON text) on <prefix>tickerd.gaps and, with history
 * on, appends it (field g) to the history stream of every symbol named in
 * `where` (may be NULL). Kept while Redis is away, like events. */
void td_redis_sink_notice(td_redis_sink_t *s, const char *json, size_t n, const td_subset_t *where);
/* While on, published events are refilled ones (not live): their history
 * entries get the field r = 1 after e. */
void td_redis_sink_mark_refilled(td_redis_sink_t *s, int on);
/* With history on, every event published is first offered to hold (NULL:
 * none): if it returns 1, the event's history entry is not written now (its
 * PUBLISH is); the caller writes it later with td_redis_sink_history. */
void td_redis_sink_set_hold(td_redis_sink_t *s,
                            int (*hold)(void *ud, const td_event_t *ev, int refilled), void *ud);
/* The history entry (XADD only) of an event held back; refilled: r = 1. */
void td_redis_sink_history(td_redis_sink_t *s, const td_event_t *ev, int refilled);
void td_redis_sink_stats(const td_redis_sink_t *s, td_redis_sink_stats_t *out);
/* Flushes what it can (if connected or connecting: waits up to 1 s for the
 * pending commands to be answered; whatever is left is counted as dropped),
 * closes the connection and its handles; `done` is called once everything is
 * closed (the loop must keep running until then; it is never called from
 * inside _stop). Then call _free. A second _stop is ignored. Events published
 * once the connection is closed are counted as dropped. */
void td_redis_sink_stop(td_redis_sink_t *s, void (*done)(void *ud), void *ud);
void td_redis_sink_free(td_redis_sink_t *s);

#endif
