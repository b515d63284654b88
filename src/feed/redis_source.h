/* SPDX-License-Identifier: Apache-2.0 */
/* Redis source: instead of a vendor stream, take events from the Redis
 * channels that a publishing tickerd writes (<prefix><kind>.<SYMBOL>), so
 * several gateway processes can serve clients from one upstream connection
 * (DESIGN.md §6). It subscribes to what the bus's interest asks: SUBSCRIBE
 * for named symbols, PSUBSCRIBE <prefix><kind>.* for a kind's wildcard. It
 * reconnects with backoff and resubscribes the current interest.
 *
 * With last values, a second connection reads the publisher's hashes: when
 * a symbol is first wanted by name, HGET <prefix>last:<kind> SYMBOL, and the
 * value (unless a live event of that symbol came first) is handed on as an
 * event, so the bus's snapshot reaches the client that asked.
 *
 * From redis+cluster:// (redis/cluster): SSUBSCRIBE on the primary that owns
 * each channel's slot, resubscribed when a primary (re)connects or the slot
 * map changes; a wildcard is refused with one log line per kind (SPUBLISH
 * messages never reach pattern subscriptions); HGETs go to the hash's
 * primary. */
#ifndef TD_FEED_REDIS_SOURCE_H
#define TD_FEED_REDIS_SOURCE_H

#include "proto/event.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct td_redis_source_s td_redis_source_t;

typedef struct td_redis_source_cb_s {
    void (*on_event)(void *ud, const td_event_t *ev);
} td_redis_source_cb_t;

typedef struct td_redis_source_cfg_s {
    const char *url;    /* redis/url.h syntax (not sentinel); borrowed during _new */
    const char *prefix; /* copied */
    const char *ca_file, *cert_file, *key_file; /* rediss:// */
    double timeout_s;                           /* connect/reply bound (0: 5 s) */
    int last_values;                            /* snapshots from <prefix>last:<kind> */
} td_redis_source_cfg_t;

typedef struct td_redis_source_stats_s {
    uint64_t events;    /* messages turned into events */
    uint64_t malformed; /* messages on channels that are not <prefix><kind>.<SYMBOL> */
    uint64_t reconnects;
    uint64_t sub_commands; /* SUBSCRIBE/UNSUBSCRIBE/PSUBSCRIBE/PUNSUBSCRIBE sent */
    uint64_t snapshots;    /* last values read from Redis and handed on */
    int connected;
} td_redis_source_stats_t;

/* NULL + err on a bad URL or TLS files. */
td_redis_source_t *td_redis_source_new(uv_loop_t *loop, const td_redis_source_cfg_t *cfg,
                                       const td_redis_source_cb_t *cb, void *ud, char *err,
                                       size_t errlen);
void td_redis_source_start(td_redis_source_t *s);
/* Interest change from the bus (sym "*" for the kind's wildcard). */
void td_redis_source_want(td_redis_source_t *s, td_kind_t kind, const char *sym, size_t n,
                          int wanted);
void td_redis_source_stats(const td_redis_source_t *s, td_redis_source_stats_t *out);
/* Disconnects and closes the handles; `done` runs when all are closed. */
void td_redis_source_stop(td_redis_source_t *s, void (*done)(void *ud), void *ud);
void td_redis_source_free(td_redis_source_t *s);

#endif
