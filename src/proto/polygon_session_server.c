/* SPDX-License-Identifier: Apache-2.0 */
/* The Polygon server session (PROTOCOLS.md §3.2): a "connected" status,
 * {"action":"auth","params":KEY} (one key, no secret), subscribe and
 * unsubscribe with an EV.TICKER params list answered by one "success"
 * status per topic, and errors as statuses: "auth_failed" and
 * "max_connections" (then a close), "auth_timeout", and status "error" for
 * the rest. Statuses the vendor's documents do not give (our choice, all
 * "error"): "not authorized" (subscribe before auth), "invalid JSON",
 * "unknown action: X", "already authenticated", "missing params", "invalid
 * subscription: X", "insufficient subscription: EV.SYM", "symbol limit
 * exceeded", "subscribe rate limit exceeded", "invalid since: …", "message
 * too large", "slow client". tickerd's "gaps":true and "since" on a
 * subscribe are handed to the shell once it is applied. */
#include "core/mem.h"
#include "proto/polygon_server.h"
#include "proto/server_session_int.h"

#include <stdlib.h>
#include <string.h>

static void status(td_srv_sess_t *s, const char *st, const char *msg)
{
    td_buf_t b = TD_BUF_INIT;
    td_polygon_server_status(&b, st, msg);
    td__srv_send(s, &b);
    td_buf_free(&b);
}

static void greet(td_srv_sess_t *s)
{
    status(s, "connected", TD_POLYGON_TEXT_CONNECTED);
}

static void authed(td_srv_sess_t *s)
{
    status(s, "auth_success", TD_POLYGON_TEXT_AUTHED);
}

static const char *error_frame(td_buf_t *b, int code, const char **status_word)
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
    *status_word = st;
    return msg;
}

static void refuse_frame(td_buf_t *b, int code, const char *text)
{
    (void)code;
    td_polygon_server_status(b, "error", text);
}

/* An error status the client caused, of our own text: malformed, counted. */
static void refuse(td_srv_sess_t *s, const char *msg, const char *why)
{
    td_buf_t b = TD_BUF_INIT;
    td_polygon_server_status(&b, "error", msg);
    td_srv_error_t e = {.status = "error", .text = msg, .why = why, .malformed = 1, .counted = 1};
    td__srv_report(s, &b, &e);
    td_buf_free(&b);
}

/* ---- subscriptions ------------------------------------------------------------ */

/* Takes the topics the allow hook refuses out of t, each answered with
 * "insufficient subscription: EV.SYM"; the message counts once against the
 * error budget (with its last status). */
static void restrict_topics(td_srv_sess_t *s, td_polygon_topics_t *t)
{
    if (!s->cb->allow) return;
    size_t kept = 0, refused = 0, left;
    char *ok = td_xcalloc(t->n ? t->n : 1, 1);
    for (size_t i = 0; i < t->n; i++) {
        ok[i] = (char)(s->cb->allow(s->ud, t->v[i].kind, t->v[i].sym, t->v[i].len) != 0);
        refused += !ok[i];
    }
    left = refused;
    for (size_t i = 0; i < t->n; i++) {
        td_polygon_topic_t *tp = &t->v[i];
        if (ok[i]) {
            t->v[kept++] = *tp;
            continue;
        }
        td_buf_t m = TD_BUF_INIT, b = TD_BUF_INIT;
        td_buf_appendf(&m, "insufficient subscription: %s.%s",
                       td_polygon_prefix(s->cluster, tp->kind), tp->sym);
        if (left == refused && s->cb->denied) s->cb->denied(s->ud, m.data + 27);
        td_polygon_server_status(&b, "error", m.data);
        td_srv_error_t e = {.status = "error", .text = m.data, .counted = --left == 0};
        if (!s->closing) td__srv_report(s, &b, &e);
        td_buf_free(&b);
        td_buf_free(&m);
        free(tp->sym);
    }
    t->n = kept;
    free(ok);
}

/* Applies t to the set (each change reported), one "success" status per
 * topic; fresh gets the names newly subscribed, log the topics. */
static void apply(td_srv_sess_t *s, const td_polygon_topics_t *t, int add, td_subset_t *fresh,
                  td_buf_t *log)
{
    int (*op)(td_subset_t *, td_kind_t, const char *, size_t) =
        add ? td_subset_add : td_subset_remove;
    td_buf_t m = TD_BUF_INIT;
    for (size_t i = 0; i < t->n; i++) {
        const td_polygon_topic_t *tp = &t->v[i];
        const char *prefix = td_polygon_prefix(s->cluster, tp->kind);
        if (op(&s->sub, tp->kind, tp->sym, tp->len)) {
            if (s->cb->interest) s->cb->interest(s->ud, tp->kind, tp->sym, tp->len, add);
            if (add && strcmp(tp->sym, "*") != 0) td_subset_add(fresh, tp->kind, tp->sym, tp->len);
        }
        td_buf_reset(&m);
        td_polygon_server_topic_text(&m, s->cluster, add, tp->kind, tp->sym);
        status(s, "success", m.data);
        if (log->len < TD_SRV_WHAT_MAX)
            td_buf_appendf(log, "%s%s.%s", log->len ? "," : "", prefix ? prefix : "?", tp->sym);
    }
    td_buf_free(&m);
}

static int within(const td_srv_sess_t *s, const td_polygon_topics_t *t)
{
    if (!s->cfg.max_symbols) return 1;
    td_subset_t next;
    td_subset_init(&next);
    td_subset_copy(&next, &s->sub);
    for (size_t i = 0; i < t->n; i++)
        td_subset_add(&next, t->v[i].kind, t->v[i].sym, t->v[i].len);
    int ok = td__srv_within(s, &next, td_polygon_kinds(s->cluster));
    td_subset_free(&next);
    return ok;
}

/* The topics are applied: statuses, then tickerd's "since" and the hook. */
static void applied(td_srv_sess_t *s, const td_polygon_topics_t *t, int add, const char *msg,
                    size_t len)
{
    td_subset_t fresh;
    td_subset_init(&fresh);
    td_buf_t log = TD_BUF_INIT;
    apply(s, t, add, &fresh, &log);
    if (!log.len)
        td_buf_appends(&log, "(nothing)");
    else if (log.len >= TD_SRV_WHAT_MAX)
        td_buf_appends(&log, "...");
    td_alpaca_since_t *since = NULL;
    size_t nsince = 0;
    if (add && td_polygon_server_since(s->cluster, msg, len, &since, &nsince) != 0)
        refuse(s, "invalid since: an object of \"EV.TICKER\": \"stream id\"", NULL);
    td_srv_applied_t a = {.add = add,
                          .fresh = &fresh,
                          .since = since,
                          .nsince = nsince,
                          .gaps = add && td_polygon_server_wants_gaps(msg, len),
                          .what = log.data};
    if (s->cb->applied) s->cb->applied(s->ud, &a);
    free(since);
    td_buf_free(&log);
    td_subset_free(&fresh);
}

static void subscribe(td_srv_sess_t *s, const char *params, int add, const char *msg, size_t len)
{
    if (!s->authed) {
        td_srv_sess_error(s, 401, 0);
        return;
    }
    if (!params) {
        refuse(s, "missing params", NULL);
        return;
    }
    td_polygon_topics_t t = {0};
    const char *bad = NULL;
    size_t bad_len = 0;
    if (td_polygon_topics_parse(s->cluster, params, &t, &bad, &bad_len) < 0) {
        td_buf_t m = TD_BUF_INIT;
        td_buf_appendf(&m, "invalid subscription: %.*s", (int)(bad_len > 200 ? 200 : bad_len),
                       bad ? bad : "");
        refuse(s, m.data, NULL);
        td_buf_free(&m);
    } else if (add && !td__srv_rate_ok(s, t.n)) {
        /* refused (and told) */
    } else if (add && (restrict_topics(s, &t), s->closing)) {
        /* too many errors */
    } else if (add && !within(s, &t)) {
        td_srv_sess_error(s, 405, 0);
    } else {
        applied(s, &t, add, msg, len);
    }
    td_polygon_topics_free(&t);
}

static void message(td_srv_sess_t *s, const char *msg, size_t len, int binary)
{
    char *action = NULL, *params = NULL;
    if (binary || td_polygon_server_parse(msg, len, &action, &params) != 0) {
        refuse(s, "invalid JSON", binary ? "a binary frame" : "not a JSON object");
    } else if (action && strcmp(action, "auth") == 0) {
        td_srv_sess_auth(s, params, params ? strlen(params) : 0, NULL, 0, "message");
    } else if (action && (!strcmp(action, "subscribe") || !strcmp(action, "unsubscribe"))) {
        subscribe(s, params, action[0] == 's', msg, len);
    } else {
        td_buf_t m = TD_BUF_INIT;
        td_buf_appendf(&m, "unknown action: %.64s", action ? action : "(none)");
        refuse(s, m.data, NULL);
        td_buf_free(&m);
    }
    if (params) memset(params, 0, strlen(params)); /* the key */
    free(action);
    free(params);
}

/* tickerd's gap notice, as a status */
#define GAP_HEAD "[{\"ev\":\"status\",\"status\":\"gap\",\"message\":\"gap notice\","

const td_srv_ops_t td__srv_polygon_ops = {greet,  message,  error_frame, refuse_frame,
                                          authed, GAP_HEAD, 0,           1};
