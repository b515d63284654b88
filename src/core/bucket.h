/* SPDX-License-Identifier: Apache-2.0 */
/* Token bucket: `rate` tokens per second on average, at most `burst` at
 * once. Time is given by the caller (ms, monotonic), so it is pure logic.
 * Used for limits on what a client may ask per second (the gateway's
 * subscribe rate). Request limits of vendors use sliding windows instead
 * (see poll/ and backfill/): a vendor counts calls in a rolling window. */
#ifndef TD_CORE_BUCKET_H
#define TD_CORE_BUCKET_H

#include <stdint.h>

typedef struct td_bucket_s {
    double rate, burst, tokens;
    uint64_t last_ms;
} td_bucket_t;

/* Starts full. */
void td_bucket_init(td_bucket_t *b, double rate, double burst, uint64_t now_ms);
/* Takes n tokens and returns 1 if there are that many; else takes nothing
 * and returns 0 (n over the burst never fits). */
int td_bucket_take(td_bucket_t *b, double n, uint64_t now_ms);

#endif
