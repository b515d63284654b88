/* SPDX-License-Identifier: Apache-2.0 */
/* Limits checked when a client asks to upgrade, before any WebSocket work:
 * the browser's Origin against the allowed list (403), the connection rate
 * of its address (a token bucket; 429) and the connections open from it
 * (429). Addresses are kept while they have connections or an unfilled
 * bucket. */
#include "core/log.h"
#include "core/lws_util.h"
#include "core/mem.h"
#include "gateway/gw_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tokens of a refilled at now. */
static void refill(const td_gateway_t *g, gw_addr_t *a, uint64_t now)
{
    a->tokens += (double)(now - a->at_ms) / 1000.0 * g->cfg.conn_rate;
    if (a->tokens > g->cfg.conn_burst) a->tokens = g->cfg.conn_burst;
    a->at_ms = now;
}

/* ip's entry (with create: a new one); idle ones met on the way are dropped. */
static gw_addr_t *addr(td_gateway_t *g, const char *ip, int create)
{
    uint64_t now = uv_now(g->loop);
    for (size_t i = 0; i < g->naddrs; i++) {
        gw_addr_t *a = &g->addrs[i];
        if (strcmp(a->ip, ip) == 0) return a;
        refill(g, a, now);
        if (!a->open && (g->cfg.conn_rate <= 0 || a->tokens >= g->cfg.conn_burst))
            g->addrs[i--] = g->addrs[--g->naddrs];
    }
    if (!create) return NULL;
    if (g->naddrs == g->addrs_cap) {
        g->addrs_cap = g->addrs_cap ? g->addrs_cap * 2 : 16;
        g->addrs = td_xrealloc(g->addrs, g->addrs_cap * sizeof *g->addrs);
    }
    gw_addr_t *a = &g->addrs[g->naddrs++];
    memset(a, 0, sizeof *a);
    snprintf(a->ip, sizeof a->ip, "%s", ip);
    a->tokens = g->cfg.conn_burst;
    a->at_ms = now;
    return a;
}

static int origin_ok(const td_gateway_t *g, struct lws *wsi)
{
    char origin[256];
    if (!g->cfg.norigins || lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0) return 1;
    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) < 0) return 0;
    for (size_t i = 0; i < g->cfg.norigins; i++)
        if (strcmp(origin, g->cfg.origins[i]) == 0) return 1;
    return 0;
}

static int refuse(td_gateway_t *g, struct lws *wsi, const char *ip, int status, const char *why)
{
    char body[160];
    snprintf(body, sizeof body, "%s\n", why);
    GW_LOG(TD_LOG_INFO, g, NULL, "refusing upgrade from %s (%d): %s", ip, status, why);
    return td_lws_refuse_upgrade_status(wsi, status,
                                        status == 403 ? "Forbidden" : "Too Many Requests", body);
}

int td__gw_limits_upgrade(td_gateway_t *g, struct lws *wsi)
{
    char ip[48] = "?";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    if (!origin_ok(g, wsi)) {
        g->st.refused_origin++;
        return refuse(g, wsi, ip, 403, "origin not allowed");
    }
    if (!g->cfg.max_per_ip && g->cfg.conn_rate <= 0) return 0;
    gw_addr_t *a = addr(g, ip, 1);
    if (g->cfg.max_per_ip && a->open >= g->cfg.max_per_ip) {
        g->st.refused_per_ip++;
        return refuse(g, wsi, ip, 429, "too many connections from this address");
    }
    if (g->cfg.conn_rate > 0) {
        refill(g, a, uv_now(g->loop));
        if (a->tokens < 1.0) {
            g->st.refused_rate++;
            return refuse(g, wsi, ip, 429, "connection rate exceeded for this address");
        }
        a->tokens -= 1.0;
    }
    return 0;
}

int td__gw_limits_open(gw_client_t *c)
{
    td_gateway_t *g = c->g;
    if (!g->cfg.max_per_ip) return 0;
    gw_addr_t *a = addr(g, c->guard.peer, 1);
    if (a->open >= g->cfg.max_per_ip) {
        g->st.refused_per_ip++;
        return -1;
    }
    a->open++;
    c->addr_counted = 1;
    return 0;
}

void td__gw_limits_close(gw_client_t *c)
{
    if (!c->addr_counted) return;
    gw_addr_t *a = addr(c->g, c->guard.peer, 0);
    if (a && a->open) a->open--;
    c->addr_counted = 0;
}

void td__gw_limits_free(td_gateway_t *g)
{
    free(g->addrs);
    g->addrs = NULL;
    g->naddrs = g->addrs_cap = 0;
}

void td_gateway_set_limits(td_gateway_t *g, const td_gateway_limits_t *l)
{
    td_gateway_cfg_t *c = &g->cfg;
    int count = l->max_per_ip && !c->max_per_ip;
    c->origins = l->origins, c->norigins = l->norigins;
    c->max_per_ip = l->max_per_ip, c->max_clients = l->max_clients;
    c->max_symbols = l->max_symbols, c->auth_timeout_s = l->auth_timeout_s;
    c->conn_rate = l->conn_rate, c->conn_burst = l->conn_burst;
    c->sub_rate = l->sub_rate, c->sub_burst = l->sub_burst;
    for (gw_client_t *cl = g->clients; cl; cl = cl->next) {
        if (count && !cl->addr_counted) {
            addr(g, cl->guard.peer, 1)->open++;
            cl->addr_counted = 1;
        }
        td_bucket_t *b = &cl->sub_bucket;
        if (b->rate <= 0) continue; /* not started: starts with the new values */
        if (l->sub_rate <= 0) {
            b->rate = 0;
            continue;
        }
        b->rate = l->sub_rate, b->burst = l->sub_burst;
        if (b->tokens > b->burst) b->tokens = b->burst;
    }
}
