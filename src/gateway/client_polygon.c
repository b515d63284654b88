/* SPDX-License-Identifier: Apache-2.0 */
/* A client on a Polygon path (/stocks, /options, /forex, /crypto): the
 * simulator's answers (src/sim/session_polygon.c) byte for byte, built by
 * proto/polygon_server.c. The greeting is a "connected" status; auth is
 * {"action":"auth","params":KEY} with a key tickerd issued (its secret is
 * not asked: Polygon's clients send one key); subscribe/unsubscribe take an
 * EV.TICKER params list and get one "success" status per topic. Errors are
 * statuses: "auth_failed" and "max_connections" (the gateway's client
 * limit) then a close with 1008, "auth_timeout", and status "error" with
 * "not authorized", "invalid JSON", "unknown action: X", "already
 * authenticated", "missing params", "invalid subscription: X", "symbol
 * limit exceeded", "subscribe rate limit exceeded" (sub_rate.c), "message too
 * large", "slow client" (then 1008). tickerd's extension: "gaps":true on a
 * subscribe asks for gap notices, sent as status "gap" (gateway.c). */
#include "core/log.h"
#include "core/mem.h"
#include "gateway/gw_int.h"
#include "proto/polygon_server.h"

#include <stdlib.h>
#include <string.h>

#define ID(c)   ((unsigned long long)(c)->id)
#define LOG_MAX 1024

static void status(gw_client_t *c, const char *st, const char *msg)
{
    td_buf_t b = TD_BUF_INIT;
    td_polygon_server_status(&b, st, msg);
    td__gw_client_send_ctl(c, b.data, b.len);
    td_buf_free(&b);
}

void td__gw_pclient_open(gw_client_t *c)
{
    status(c, "connected", TD_POLYGON_TEXT_CONNECTED);
}

void td__gw_pclient_authed(gw_client_t *c)
{
    status(c, "auth_success", TD_POLYGON_TEXT_AUTHED);
}

const char *td__gw_pclient_error_frame(td_buf_t *b, int code)
{
    const char *st = "error", *msg;
    switch (code) {
    case 400:
        msg = "message too large";
        break;
    case 401:
        msg = "not authorized";
        break;
    case 402:
        st = "auth_failed", msg = TD_POLYGON_TEXT_AUTH_FAILED;
        break;
    case 403:
        msg = "already authenticated";
        break;
    case 404:
        st = "auth_timeout", msg = TD_POLYGON_TEXT_AUTH_TIMEOUT;
        break;
    case 405:
        msg = "symbol limit exceeded";
        break;
    case 406:
        st = "max_connections", msg = TD_POLYGON_TEXT_MAX_CONNECTIONS;
        break;
    case 407:
        msg = "slow client";
        break;
    default:
        msg = "error";
        break;
    }
    td_polygon_server_status(b, st, msg);
    return msg;
}

int td__gw_pclient_class_ok(const gw_client_t *c, const td_event_t *ev)
{
    if (!(td_polygon_kinds(c->cluster) & (1u << ev->kind))) return 0;
    return td_polygon_ticker_cluster(ev->symbol, ev->symbol_len) == c->cluster;
}

/* An error status the client caused: counted against its error budget,
 * closed past it (gw_int.h). */
static void refuse(gw_client_t *c, const char *msg)
{
    c->g->st.malformed++;
    status(c, "error", msg);
    if (!td__gw_guard_error(c)) return;
    GW_LOG(TD_LOG_INFO, c->g, NULL, "client #%llu error %s (too many errors: closing)", ID(c), msg);
    td__gw_client_close_after(c);
}

/* ---- subscriptions ---------------------------------------------------------------- */

/* Whether the subscription after t stays within max_symbols. */
static int within_limit(const gw_client_t *c, const td_polygon_topics_t *t)
{
    size_t max = c->g->cfg.max_symbols;
    if (!max) return 1;
    td_subset_t next;
    td_subset_init(&next);
    td_subset_copy(&next, &c->sub);
    for (size_t i = 0; i < t->n; i++)
        td_subset_add(&next, t->v[i].kind, t->v[i].sym, t->v[i].len);
    size_t n = td_subset_count_symbols(&next, td_polygon_kinds(c->cluster));
    td_subset_free(&next);
    return n <= max;
}

/* Takes the topics the client's token does not allow out of t, each
 * answered with an error status "insufficient subscription: EV.SYM"; the
 * message counts once against the error budget. */
static void restrict_topics(gw_client_t *c, td_polygon_topics_t *t)
{
    size_t kept = 0, refused = 0;
    for (size_t i = 0; i < t->n; i++) {
        td_polygon_topic_t *tp = &t->v[i];
        if (td__gw_client_allows(c, tp->kind, tp->sym, tp->len)) {
            t->v[kept++] = *tp;
            continue;
        }
        td_buf_t m = TD_BUF_INIT;
        td_buf_appendf(&m, "insufficient subscription: %s.%s",
                       td_polygon_prefix(c->cluster, tp->kind), tp->sym);
        status(c, "error", m.data);
        if (!refused++)
            GW_LOG(TD_LOG_INFO, c->g, c, "client #%llu ('%s'): outside its token: %s", ID(c),
                   c->jwt->sub, m.data + 27);
        td_buf_free(&m);
        free(tp->sym);
    }
    t->n = kept;
    if (refused && td__gw_guard_error(c)) td__gw_client_close_after(c);
}

/* Applies t to the client's set and the bus; fresh gets what is newly
 * subscribed by name (snapshots). One status per topic, as the vendor. */
static void apply(gw_client_t *c, const td_polygon_topics_t *t, int add, td_subset_t *fresh,
                  td_buf_t *log)
{
    int (*op)(td_subset_t *, td_kind_t, const char *, size_t) =
        add ? td_subset_add : td_subset_remove;
    td_buf_t m = TD_BUF_INIT;
    for (size_t i = 0; i < t->n; i++) {
        const td_polygon_topic_t *tp = &t->v[i];
        if (op(&c->sub, tp->kind, tp->sym, tp->len)) {
            td__gw_client_bus_change(c, tp->kind, tp->sym, tp->len, add);
            if (add && strcmp(tp->sym, "*") != 0) td_subset_add(fresh, tp->kind, tp->sym, tp->len);
        }
        td_buf_reset(&m);
        td_polygon_server_topic_text(&m, c->cluster, add, tp->kind, tp->sym);
        status(c, "success", m.data);
        if (log->len < LOG_MAX)
            td_buf_appendf(log, "%s%s.%s", log->len ? "," : "",
                           td_polygon_prefix(c->cluster, tp->kind), tp->sym);
    }
    td_buf_free(&m);
}

/* tickerd's "since" of a subscribe message (gateway/since.c). */
static void since(gw_client_t *c, const char *msg, size_t len)
{
    td_alpaca_since_t *v;
    size_t n;
    if (td_polygon_server_since(c->cluster, msg, len, &v, &n) != 0)
        refuse(c, "invalid since: an object of \"EV.TICKER\": \"stream id\"");
    td__gw_since_add(c, v, n);
    free(v);
}

static void do_sub(gw_client_t *c, const char *params, int add, const char *msg, size_t len)
{
    if (!c->authed) {
        td__gw_client_error(c, 401, 0);
        return;
    }
    if (!params) {
        refuse(c, "missing params");
        return;
    }
    td_polygon_topics_t t = {0};
    const char *bad = NULL;
    size_t bad_len = 0;
    if (td_polygon_topics_parse(c->cluster, params, &t, &bad, &bad_len) < 0) {
        td_buf_t m = TD_BUF_INIT;
        td_buf_appendf(&m, "invalid subscription: %.*s", (int)(bad_len > 200 ? 200 : bad_len),
                       bad ? bad : "");
        refuse(c, m.data);
        td_buf_free(&m);
    } else if (add && !td__gw_client_sub_rate_ok(c, t.n)) {
        /* refused (and told) */
    } else if (add && (restrict_topics(c, &t), c->closing)) {
        /* too many errors */
    } else if (add && !within_limit(c, &t)) {
        td__gw_client_error(c, 405, 0);
    } else {
        td_subset_t fresh;
        td_subset_init(&fresh);
        td_buf_t log = TD_BUF_INIT;
        apply(c, &t, add, &fresh, &log);
        TD_DEBUG("client #%llu %s %s", ID(c), add ? "subscribe" : "unsubscribe",
                 log.len ? log.data : "(nothing)");
        td_buf_free(&log);
        if (add) since(c, msg, len);
        if (add) td__gw_client_snapshot(c, &fresh);
        td_subset_free(&fresh);
    }
    td_polygon_topics_free(&t);
}

void td__gw_pclient_message(gw_client_t *c, const char *msg, size_t len, int binary)
{
    char *action = NULL, *params = NULL;
    if (binary || td_polygon_server_parse(msg, len, &action, &params) != 0) {
        GW_LOG(TD_LOG_DEBUG, c->g, c, "client #%llu: bad message (%s)", ID(c),
               binary ? "a binary frame" : "not a JSON object");
        refuse(c, "invalid JSON");
    } else if (action && strcmp(action, "auth") == 0) {
        td__gw_client_auth(c, params, params ? strlen(params) : 0, NULL, 0, "message");
    } else if (action && (!strcmp(action, "subscribe") || !strcmp(action, "unsubscribe"))) {
        do_sub(c, params, action[0] == 's', msg, len);
        if (action[0] == 's' && c->authed && td_polygon_server_wants_gaps(msg, len)) c->gaps = 1;
    } else {
        td_buf_t m = TD_BUF_INIT;
        td_buf_appendf(&m, "unknown action: %.64s", action ? action : "(none)");
        refuse(c, m.data);
        td_buf_free(&m);
    }
    if (params) memset(params, 0, strlen(params)); /* the key */
    free(action);
    free(params);
}
