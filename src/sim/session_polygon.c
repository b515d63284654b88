/* SPDX-License-Identifier: Apache-2.0 */
/* The simulator's policies on a Polygon path (the dialect is the server
 * session's, proto/polygon_session_server.c): the key check, and the one
 * connection per key per cluster limit (max_connections, close 1008), with
 * the new or the old connection evicted (--polygon-evict). Frames, data and
 * faults are session.c's. */
#include "core/log.h"
#include "sim/sim_int.h"

#include <libwebsockets.h>
#include <string.h>

#define EVICT_GRACE_MS 1000 /* evict-new without a subscribe: evicted this long after auth */

/* ---- max_connections ----------------------------------------------------- */

static void evict(td_sim_sess_t *s, const char *why)
{
    TD_WARN("conn #%llu %s: max_connections (key %.4s... on %s), closing with 1008",
            (unsigned long long)s->id, why, s->key, s->st->path);
    s->evict_pending = 0;
    s->evicted = 1;
    td_srv_sess_error(&s->sess, 406, 1);
}

/* Live connections of the key on this cluster, not counting s. */
static size_t conns_of_key(const td_sim_sess_t *s, const char *key)
{
    size_t n = 0;
    for (const td_sim_sess_t *o = s->st->sessions; o; o = o->next)
        if (o != s && o->sess.authed && !o->kill && !o->evicted && !o->evict_pending &&
            strcmp(o->key, key) == 0)
            n++;
    return n;
}

/* At auth: the key already has n >= --max-conns connections. */
static void over_limit(td_sim_sess_t *s, size_t n)
{
    td_sim_t *sim = s->sim;
    size_t max = (size_t)sim->cfg->max_conns;
    TD_WARN("conn #%llu: key %.4s... already has %zu connection(s) on %s (--max-conns %zu): "
            "evicting the %s (--polygon-evict %s)",
            (unsigned long long)s->id, s->key, n, s->st->path, max,
            sim->evict_old ? "oldest" : "new one after its subscription",
            sim->evict_old ? "old" : "new");
    if (!sim->evict_old) {
        s->evict_pending = 1;
        s->evict_at_ms = uv_now(sim->loop) + EVICT_GRACE_MS;
        return;
    }
    /* sessions are listed newest first: the oldest are at the end */
    td_sim_sess_t *last = s->st->sessions;
    while (last->next)
        last = last->next;
    for (td_sim_sess_t *o = last; o && n >= max; o = o->prev) {
        if (o == s || !o->sess.authed || o->kill || o->evicted || o->evict_pending ||
            strcmp(o->key, s->key) != 0)
            continue;
        evict(o, "evicted by a newer connection");
        n--;
    }
}

void td__sim_psess_cron(td_sim_sess_t *s, uint64_t now_ms)
{
    if (s->evict_pending && now_ms >= s->evict_at_ms) evict(s, "over the limit");
}

/* ---- the session's hooks --------------------------------------------------- */

static int on_auth(void *ud, const char *key, size_t kn, const char *secret, size_t sn,
                   const char *how)
{
    td_sim_sess_t *s = ud;
    const td_sim_cfg_t *cfg = s->sim->cfg;
    (void)kn, (void)secret, (void)sn, (void)how;
    int ok = key && *key && strlen(key) < sizeof s->key && (!cfg->key || !strcmp(key, cfg->key));
    if (!ok) return 402;
    snprintf(s->key, sizeof s->key, "%s", key);
    size_t n = conns_of_key(s, key);
    if (cfg->max_conns > 0 && n >= (size_t)cfg->max_conns) over_limit(s, n);
    TD_INFO("conn #%llu authenticated (key %.4s...)", (unsigned long long)s->id, key);
    return TD_SRV_AUTH_OK;
}

static void on_applied(void *ud, const td_srv_applied_t *a)
{
    td_sim_sess_t *s = ud;
    td__sim_sess_log_applied(s, a);
    if (s->evict_pending)
        evict(s, "over the limit");
    else
        td__sim_sess_update_want(s);
}

const td_srv_cb_t td__sim_polygon_cb = TD_SIM_SESS_CB(on_auth, on_applied);
