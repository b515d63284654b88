/* SPDX-License-Identifier: Apache-2.0 */
/* Exponential backoff with "equal jitter": the n-th delay is drawn uniformly
 * from [d/2, d] where d = min(max, base * 2^n). Pure: the caller supplies the
 * randomness and decides when a connection was healthy long enough to reset. */
#ifndef TD_CORE_BACKOFF_H
#define TD_CORE_BACKOFF_H

#include <stdint.h>

typedef struct td_backoff_s {
    uint32_t base_ms;
    uint32_t max_ms;
    uint32_t attempt;
} td_backoff_t;

void td_backoff_init(td_backoff_t *b, uint32_t base_ms, uint32_t max_ms);
/* Returns the next delay in ms and advances the schedule. */
uint32_t td_backoff_next(td_backoff_t *b, uint64_t random);
void td_backoff_reset(td_backoff_t *b);

#endif
