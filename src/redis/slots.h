/* SPDX-License-Identifier: Apache-2.0 */
/* Redis Cluster's key space, pure (no I/O): the slot of a key (CRC16 of the
 * key, or of its hash tag: the part between the first '{' and the next '}'
 * when that part is not empty), and the slot map read from a CLUSTER SHARDS
 * (Redis >= 7) or CLUSTER SLOTS reply: which primary serves each of the
 * 16384 slots. The reply is outside input: every field is checked, and a
 * reply that is not the expected shape is refused with a reason. */
#ifndef TD_REDIS_SLOTS_H
#define TD_REDIS_SLOTS_H

#include "redis/resp.h"
#include "redis/url.h"

#include <stddef.h>
#include <stdint.h>

#define TD_RSLOTS        16384
#define TD_RSLOT_NONE    0xFFFFu
#define TD_RSLOT_MAX_PRI 1024 /* primaries in one map */

/* CRC16-CCITT (XModem), as Redis Cluster uses it. */
uint16_t td_rslot_crc16(const char *buf, size_t len);
/* The slot of a key (hash tags honoured). */
unsigned td_rslot_key(const char *key, size_t len);

typedef struct td_rslot_map_s {
    uint16_t owner[TD_RSLOTS]; /* index into pri, or TD_RSLOT_NONE */
    td_redis_node_t pri[TD_RSLOT_MAX_PRI];
    size_t npri;
    size_t covered; /* slots with an owner */
} td_rslot_map_t;

typedef enum {
    TD_RSLOT_SHARDS, /* CLUSTER SHARDS */
    TD_RSLOT_SLOTS,  /* CLUSTER SLOTS */
} td_rslot_fmt_t;

/* Fills m from the reply in r (r->v[0]): each slot range gets the primary
 * that serves it (CLUSTER SHARDS: the shard's node with role "master",
 * preferring one whose health is "online"). A node announced without an
 * address ("" or "?") is taken to be at `asked_host`, the host the reply
 * came from. Returns 0, or -1 with a static reason in *why (m is then
 * cleared). m must be zeroed or cleared before; it owns the host names
 * (td_rslot_map_clear frees them). */
int td_rslot_map_parse(td_rslot_map_t *m, const td_resp_reader_t *r, td_rslot_fmt_t fmt,
                       const char *asked_host, const char **why);
void td_rslot_map_clear(td_rslot_map_t *m);
/* Whether two maps give every slot the same primary address. */
int td_rslot_map_same(const td_rslot_map_t *a, const td_rslot_map_t *b);

/* A "MOVED <slot> <host>:<port>" or "ASK ..." error text: fills slot, host
 * (NUL-terminated) and port; returns 1 for MOVED, 2 for ASK, 0 otherwise. */
int td_rslot_redirect(const char *s, size_t len, unsigned *slot, char *host, size_t hostcap,
                      int *port);

#endif
