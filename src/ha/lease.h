/* SPDX-License-Identifier: Apache-2.0 */
/* High availability on one vendor account: instances compete for a lease in
 * Redis; the holder is active (it alone opens the upstream and publishes),
 * the others are standbys that try to take the lease over.
 *
 * Keys (prefix = the channel prefix):
 *   <prefix>lease:NAME           "<instance id>:<fencing token>", PX ttl
 *   <prefix>lease:NAME:token     INCR on every acquisition (the fencing token)
 *   <prefix>lease:NAME:interest  what the holder subscribes (a --subscribe
 *                                spec), for the next holder
 *
 * Acquire: one script, SET NX PX ttl, then INCR the token and store the
 * value (returns the token and the stored interest, or 0 and the holder).
 * Renew every ttl/3: a compare-and-extend script (PEXPIRE only if the value
 * is still ours; stores the interest if it changed). The holder's local
 * deadline is (send time of the last answered acquire/renew) + ttl - margin
 * on the monotonic clock: once it passes, the module fences itself (role
 * standby, on_role called) whatever Redis says, and td_ha_gate refuses
 * every publish batch from that instant. On a clean stop an active holder
 * deletes its lease (compare-and-delete) so a standby takes over at once.
 *
 * Its own redis/conn connection (redis://, rediss://, unix://,
 * redis+sentinel:// following the master). */
#ifndef TD_HA_LEASE_H
#define TD_HA_LEASE_H

#include "core/buf.h"
#include "proto/sub.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct td_ha_s td_ha_t;

typedef enum { TD_HA_STANDBY, TD_HA_ACTIVE } td_ha_role_t;

typedef struct td_ha_cfg_s {
    const char *url;                            /* Redis URL; borrowed during _new */
    const char *prefix;                         /* key prefix; copied */
    const char *name;                           /* the lease name; copied */
    const char *id;                             /* this instance (NULL: host:pid); copied */
    double ttl_s;                               /* lease time to live (> 0) */
    const char *ca_file, *cert_file, *key_file; /* rediss:// */
} td_ha_cfg_t;

typedef struct td_ha_cb_s {
    /* Role changed. On TD_HA_ACTIVE, `inherited` is the interest the previous
     * holder stored ("" if none; valid during the call). */
    void (*on_role)(void *ud, td_ha_role_t role, uint64_t token, const char *inherited);
    /* Appends the current interest as a --subscribe spec (called while
     * active, after td_ha_interest_changed, at the next renewal). */
    void (*interest)(void *ud, td_buf_t *spec);
} td_ha_cb_t;

typedef struct td_ha_stats_s {
    td_ha_role_t role;
    uint64_t token;           /* ours while active; the last one we held otherwise */
    const char *holder;       /* the lease's value as last seen ("" if free / unknown) */
    uint64_t takeovers;       /* acquisitions while another holder had been seen */
    uint64_t acquisitions;    /* every acquisition */
    uint64_t fenced;          /* times this instance fenced itself (deadline or lease lost) */
    uint64_t refused_batches; /* publish batches td_ha_gate refused */
    double last_takeover_s;   /* acquisition -> first publish batch (-1: none yet) */
    int connected;            /* the lease connection is ready */
} td_ha_stats_t;

/* NULL + err on a bad URL or TLS files. On redis+cluster:// the keys are
 * <prefix>lease:{NAME}[:token|:interest] (one slot) and the commands go to
 * that slot's primary. */
td_ha_t *td_ha_new(uv_loop_t *loop, const td_ha_cfg_t *cfg, const td_ha_cb_t *cb, void *ud,
                   char *err, size_t errlen);
void td_ha_start(td_ha_t *h);
/* The publish gate (signature of the Redis sink's gate): 1 while this
 * instance holds the lease and its local deadline has not passed. */
int td_ha_gate(void *h);
/* The interest changed: stored at the next renewal. */
void td_ha_interest_changed(td_ha_t *h);
td_ha_role_t td_ha_role(const td_ha_t *h);
void td_ha_stats(const td_ha_t *h, td_ha_stats_t *out);
/* Releases the lease if held (the command is sent, best effort), closes the
 * connection; `done` once everything is closed. Then _free. */
void td_ha_stop(td_ha_t *h, void (*done)(void *ud), void *ud);
void td_ha_free(td_ha_t *h);

/* ---- pure helpers (unit-tested) ------------------------------------------ */

/* The safety margin kept before the lease's expiry: a fifth of the ttl, at
 * least 50 ms (covers clock-rate drift and the last batch's delivery). */
uint64_t td_ha_margin_ms(uint64_t ttl_ms);
/* The local deadline for a lease set (or extended) by a command sent at
 * sent_ms: sent_ms + ttl - margin. */
uint64_t td_ha_deadline(uint64_t sent_ms, uint64_t ttl_ms);
/* Appends s as a --subscribe spec ("trades=AAPL,MSFT;quotes=*"), which
 * td_subset_parse reads back into the same set. */
void td_ha_spec_format(const td_subset_t *s, td_buf_t *out);

#endif
