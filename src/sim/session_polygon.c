/* SPDX-License-Identifier: Apache-2.0 */
/* One client connection on a Polygon path (PROTOCOLS.md §3.2): the status
 * greeting, {"action":"auth","params":KEY}, subscribe/unsubscribe with an
 * EV.TICKER params list (one "success" status per topic), and the one
 * connection per key per cluster limit (max_connections, close 1008), with
 * the new or the old connection evicted (--polygon-evict). Frames, data and
 * faults are session.c's. Statuses the vendor's documents do not give (our
 * choice, all with status "error"): "not authorized" (subscribe before
 * auth), "invalid JSON", "unknown action: X", "already authenticated",
 * "missing params", "invalid subscription: X", "symbol limit exceeded",
 * "message too large", "slow client". */
#include "core/log.h"
#include "core/mem.h"
#include "proto/polygon_server.h"
#include "sim/sim_int.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define EVICT_GRACE_MS 1000 /* evict-new without a subscribe: evicted this long after auth */
#define LOG_MAX        1024

/* ---- statuses ------------------------------------------------------------ */

void td__sim_psess_status(td_sim_sess_t *s, const char *status, const char *message, int close)
{
    td_buf_t b = TD_BUF_INIT;
    td_polygon_server_status(&b, status, message);
    td__sim_sess_queue_ctl(s, b.data, b.len);
    td_buf_free(&b);
    if (strcmp(status, "success") != 0 && strcmp(status, "connected") != 0 &&
        strcmp(status, "auth_success") != 0)
        TD_INFO("conn #%llu status %s: %s%s", (unsigned long long)s->id, status, message,
                close ? " (closing)" : "");
    if (close) td__sim_sess_closing(s);
}

void td__sim_psess_error(td_sim_sess_t *s, int code, int close)
{
    switch (code) {
    case 404:
        td__sim_psess_status(s, "auth_timeout", TD_POLYGON_TEXT_AUTH_TIMEOUT, close);
        break;
    case 400:
        td__sim_psess_status(s, "error", "message too large", close);
        break;
    case 407:
        td__sim_psess_status(s, "error", "slow client", close);
        break;
    default:
        td__sim_psess_status(s, "error", "error", close);
        break;
    }
}

void td__sim_psess_open(td_sim_sess_t *s)
{
    td__sim_psess_status(s, "connected", TD_POLYGON_TEXT_CONNECTED, 0);
}

/* ---- max_connections ----------------------------------------------------- */

static void evict(td_sim_sess_t *s, const char *why)
{
    TD_WARN("conn #%llu %s: max_connections (key %.4s... on %s), closing with 1008",
            (unsigned long long)s->id, why, s->key, s->st->path);
    s->evict_pending = 0;
    s->evicted = 1;
    td__sim_psess_status(s, "max_connections", TD_POLYGON_TEXT_MAX_CONNECTIONS, 1);
}

/* Live connections of the key on this cluster, not counting s. */
static size_t conns_of_key(const td_sim_sess_t *s, const char *key)
{
    size_t n = 0;
    for (const td_sim_sess_t *o = s->st->sessions; o; o = o->next)
        if (o != s && o->authed && !o->kill && !o->evicted && !o->evict_pending &&
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
        if (o == s || !o->authed || o->kill || o->evicted || o->evict_pending ||
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

/* ---- auth ---------------------------------------------------------------- */

static void do_auth(td_sim_sess_t *s, const char *key)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    if (s->authed) {
        td__sim_psess_status(s, "error", "already authenticated", 0);
        return;
    }
    int ok = key && *key && strlen(key) < sizeof s->key && (!cfg->key || !strcmp(key, cfg->key));
    if (!ok) {
        td__sim_psess_status(s, "auth_failed", TD_POLYGON_TEXT_AUTH_FAILED, 1);
        return;
    }
    snprintf(s->key, sizeof s->key, "%s", key);
    size_t n = conns_of_key(s, key);
    if (cfg->max_conns > 0 && n >= (size_t)cfg->max_conns) over_limit(s, n);
    s->authed = 1;
    td__sim_psess_status(s, "auth_success", TD_POLYGON_TEXT_AUTHED, 0);
    TD_INFO("conn #%llu authenticated (key %.4s...)", (unsigned long long)s->id, key);
}

/* ---- subscriptions ------------------------------------------------------- */

/* Applies the topics to a copy of sub; 0, or -1 past --symbol-limit. */
static int apply(td_sim_sess_t *s, const td_polygon_topics_t *t, int add)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    td_subset_t next;
    td_subset_init(&next);
    td_subset_copy(&next, &s->sub);
    for (size_t i = 0; i < t->n; i++)
        (add ? td_subset_add : td_subset_remove)(&next, t->v[i].kind, t->v[i].sym, t->v[i].len);
    if (add && cfg->symbol_limit > 0 &&
        td_subset_count_symbols(&next, td_polygon_kinds(s->st->cluster)) >
            (size_t)cfg->symbol_limit) {
        td_subset_free(&next);
        return -1;
    }
    td_subset_free(&s->sub);
    s->sub = next;
    return 0;
}

/* "subscribed to: T.AAPL" per topic, one frame each (MS transcript). */
static void confirm(td_sim_sess_t *s, const td_polygon_topics_t *t, int add, td_buf_t *log)
{
    td_buf_t m = TD_BUF_INIT;
    for (size_t i = 0; i < t->n; i++) {
        const char *prefix = td_polygon_prefix(s->st->cluster, t->v[i].kind);
        td_buf_reset(&m);
        td_polygon_server_topic_text(&m, s->st->cluster, add, t->v[i].kind, t->v[i].sym);
        td__sim_psess_status(s, "success", m.data, 0);
        if (log->len < LOG_MAX)
            td_buf_appendf(log, "%s%s.%s", log->len ? "," : "", prefix ? prefix : "?", t->v[i].sym);
    }
    td_buf_free(&m);
}

static void do_sub(td_sim_sess_t *s, const char *params, int add)
{
    if (!s->authed) {
        td__sim_psess_status(s, "error", "not authorized", 0);
        return;
    }
    if (!params) {
        td__sim_psess_status(s, "error", "missing params", 0);
        return;
    }
    td_polygon_topics_t t = {0};
    const char *bad = NULL;
    size_t bad_len = 0;
    int rc = td_polygon_topics_parse(s->st->cluster, params, &t, &bad, &bad_len);
    if (rc < 0) {
        td_buf_t m = TD_BUF_INIT;
        td_buf_appendf(&m, "invalid subscription: %.*s", (int)(bad_len > 200 ? 200 : bad_len),
                       bad ? bad : "");
        td__sim_psess_status(s, "error", m.data, 0);
        td_buf_free(&m);
    } else if (apply(s, &t, add) != 0) {
        td__sim_psess_status(s, "error", "symbol limit exceeded", 0);
    } else {
        td_buf_t log = TD_BUF_INIT;
        confirm(s, &t, add, &log);
        TD_INFO("conn #%llu %s %s%s", (unsigned long long)s->id, add ? "subscribe" : "unsubscribe",
                log.len ? log.data : "(nothing)", log.len >= LOG_MAX ? "..." : "");
        td_buf_free(&log);
        if (s->evict_pending)
            evict(s, "over the limit");
        else
            td__sim_sess_update_want(s);
    }
    td_polygon_topics_free(&t);
}

/* ---- messages ------------------------------------------------------------ */

void td__sim_psess_message(td_sim_sess_t *s, const char *msg, size_t len, int binary)
{
    char *action = NULL, *params = NULL;
    if (binary || td_polygon_server_parse(msg, len, &action, &params) != 0) {
        TD_DEBUG("conn #%llu: bad message", (unsigned long long)s->id);
        td__sim_psess_status(s, "error", "invalid JSON", 0);
    } else if (action && strcmp(action, "auth") == 0) {
        do_auth(s, params);
    } else if (action && (!strcmp(action, "subscribe") || !strcmp(action, "unsubscribe"))) {
        do_sub(s, params, action[0] == 's');
    } else {
        td_buf_t m = TD_BUF_INIT;
        td_buf_appendf(&m, "unknown action: %.64s", action ? action : "(none)");
        td__sim_psess_status(s, "error", m.data, 0);
        td_buf_free(&m);
    }
    free(action);
    free(params);
}
