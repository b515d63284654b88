/* SPDX-License-Identifier: Apache-2.0 */
/* History held back while a refill runs: the live events of a kind being
 * refilled (and the refilled ones) wait here for their history entry, and
 * are written out merged in timestamp order once the refill is over, so
 * that a history stream stays in order per symbol. Pure (no I/O;
 * unit-tested); bounded: past max_events or max_bytes, td_hold_add fails
 * and the caller writes through.
 *
 *   td_hold_t *h = td_hold_new(65536, 32 << 20);
 *   td_hold_add(h, ev, refilled, ts_ns)      // 0, or -1: full
 *   td_hold_flush(h, bound, emit, ud)       // those older than bound[kind]
 */
#ifndef TD_REFILL_HOLD_H
#define TD_REFILL_HOLD_H

#include "proto/event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct td_hold_s td_hold_t;

td_hold_t *td_hold_new(size_t max_events, size_t max_bytes);
void td_hold_free(td_hold_t *h);
/* Copies ev (its kind, symbol and payload). 0, or -1 if that would pass a
 * bound (nothing kept). */
int td_hold_add(td_hold_t *h, const td_event_t *ev, int refilled, int64_t ts_ns);
/* Hands to emit, and forgets, the events of each kind k with a timestamp
 * before bound[k] (INT64_MAX: all of them), in timestamp order; on equal
 * timestamps the refilled first, then in the order they were added. */
void td_hold_flush(td_hold_t *h, const int64_t bound[TD_KIND__COUNT],
                   void (*emit)(void *ud, const td_event_t *ev, int refilled), void *ud);
size_t td_hold_count(const td_hold_t *h);

#endif
