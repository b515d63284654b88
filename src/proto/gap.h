/* SPDX-License-Identifier: Apache-2.0 */
/* Gap notices: the JSON text tickerd publishes when an upstream outage (or a
 * Redis outage with drops) may have lost events:
 *
 *   {"type":"gap","feed":URL,"from":RFC3339,"to":RFC3339,"kinds":[...],
 *    "symbols":[...] or "*","refill":"pending|done|partial|impossible",
 *    "lost":N or null,"reason":TEXT[,"token":N]}
 *
 * Pure formatting (no I/O). */
#ifndef TD_PROTO_GAP_H
#define TD_PROTO_GAP_H

#include "core/buf.h"
#include "proto/sub.h"

#include <stdint.h>

typedef struct td_gap_s {
    const char *feed;         /* the upstream URL (or the Redis URL, masked) */
    int64_t from_ns, to_ns;   /* the window, ns since the epoch (UTC) */
    const td_subset_t *where; /* kinds and symbols affected (NULL: every kind, "*") */
    const char *refill;       /* "pending", "done", "partial" or "impossible" */
    int64_t lost;             /* events known lost, or -1: unknown (null) */
    const char *reason;       /* why, in words (may be NULL) */
    uint64_t token;           /* HA: the holder's fencing token ("token"), 0: none */
} td_gap_t;

/* Appends the notice (one JSON object, no newline) to b. "kinds" lists the
 * kinds of `where` that name a symbol or the wildcard; "symbols" is "*" if
 * any of them is a wildcard, else the distinct symbols named, in order of
 * kind then symbol. */
void td_gap_json(td_buf_t *b, const td_gap_t *g);

#endif
