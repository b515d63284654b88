/* SPDX-License-Identifier: Apache-2.0 */
/* The per-client subscribe rate: a token bucket on the symbols each
 * subscribe message names (cfg.sub_rate per second, cfg.sub_burst at once),
 * so that one client cannot churn the bus and the upstream subscriptions
 * (a storm of subscribes and unsubscribes of new symbols). */
#include "core/log.h"
#include "gateway/gw_int.h"

#define ID(c) ((unsigned long long)(c)->id)

/* Refusals a client may collect before it is closed; one is forgiven every
 * SUB_STRIKE_PERIOD seconds (a bucket too, so that accepted subscribes in
 * between do not wipe them out). */
#define SUB_STRIKES       10
#define SUB_STRIKE_PERIOD 10.0

/* Token bucket on symbols subscribed, per client. The session tells the
 * client (Alpaca has no code for a rate: 405, the closest, with our own
 * text; Polygon an "error" status); the subscription stays unchanged. */
int td__gw_client_sub_rate(gw_client_t *c, size_t n)
{
    static td_ratelimit_t rl = TD_RATELIMIT_INIT(10000, 5);
    td_gateway_t *g = c->g;
    uint64_t now = uv_now(g->loop), sup;
    if (g->cfg.sub_rate <= 0) return TD_SRV_RATE_OK;
    if (c->sub_bucket.rate <= 0) {
        td_bucket_init(&c->sub_bucket, g->cfg.sub_rate, g->cfg.sub_burst, now);
        td_bucket_init(&c->sub_strikes, 1.0 / SUB_STRIKE_PERIOD, SUB_STRIKES - 1, now);
    }
    if (td_bucket_take(&c->sub_bucket, (double)n, now)) return TD_SRV_RATE_OK;
    g->st.sub_refused++;
    int close = !td_bucket_take(&c->sub_strikes, 1, now);
    if (close)
        TD_INFO("client #%llu: %d subscribes refused over the subscribe rate (%g/s, burst %g), "
                "one forgiven per %g s: closing",
                ID(c), SUB_STRIKES, g->cfg.sub_rate, g->cfg.sub_burst, SUB_STRIKE_PERIOD);
    else if (td_ratelimit_ok(&rl, now, &sup))
        TD_INFO("client #%llu: %zu symbols over the subscribe rate (%g/s, burst %g): refused "
                "(%llu more suppressed)",
                ID(c), n, g->cfg.sub_rate, g->cfg.sub_burst, (unsigned long long)sup);
    return close ? TD_SRV_RATE_CLOSE : TD_SRV_RATE_REFUSE;
}
