/* SPDX-License-Identifier: Apache-2.0 */
#include "core/bucket.h"

void td_bucket_init(td_bucket_t *b, double rate, double burst, uint64_t now_ms)
{
    b->rate = rate;
    b->burst = burst;
    b->tokens = burst;
    b->last_ms = now_ms;
}

int td_bucket_take(td_bucket_t *b, double n, uint64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
        if (b->tokens > b->burst) b->tokens = b->burst;
        b->last_ms = now_ms;
    }
    if (n > b->tokens) return 0;
    b->tokens -= n;
    return 1;
}
