/* SPDX-License-Identifier: Apache-2.0 */
#include "core/backoff.h"

void td_backoff_init(td_backoff_t *b, uint32_t base_ms, uint32_t max_ms)
{
    b->base_ms = base_ms ? base_ms : 1;
    b->max_ms = max_ms < b->base_ms ? b->base_ms : max_ms;
    b->attempt = 0;
}

uint32_t td_backoff_next(td_backoff_t *b, uint64_t random)
{
    uint64_t d = b->base_ms;
    for (uint32_t i = 0; i < b->attempt && d < b->max_ms; i++)
        d *= 2;
    if (d > b->max_ms) d = b->max_ms;
    if (b->attempt < 64) b->attempt++;
    uint64_t half = d / 2;
    return (uint32_t)(d - half + random % (half + 1));
}

void td_backoff_reset(td_backoff_t *b)
{
    b->attempt = 0;
}
