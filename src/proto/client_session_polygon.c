/* SPDX-License-Identifier: Apache-2.0 */
/* The Polygon client session (PROTOCOLS.md §3.2): one cluster per
 * connection; auth with one key; a success status per subscribed topic (or
 * one for several: "subscribed to: T.AAPL,Q.AAPL"); max_connections when
 * another connection holds the key's cluster. */
#include "core/log.h"
#include "proto/client_session.h"
#include "proto/json_scan.h"
#include "proto/polygon.h"

#include <stdio.h>
#include <string.h>

static void build_auth(const td_csess_t *s, td_buf_t *b)
{
    td_polygon_build_auth(b, s->cfg.key ? s->cfg.key : "");
}

static void build_sub(const td_csess_t *s, td_buf_t *b, const char *action, const td_subset_t *part)
{
    td_polygon_build_sub(b, action, (td_polygon_cluster_t)s->cfg.cluster, part, s->cfg.kinds);
}

static int starts(const char *p, size_t n, const char *pre, size_t *skip)
{
    size_t k = strlen(pre);
    if (n < k || memcmp(p, pre, k) != 0) return 0;
    *skip = k;
    return 1;
}

typedef struct {
    td_subset_t *set;
    int remove, changed;
} topics_t;

static void on_topic(void *ud, td_kind_t kind, const char *sym, size_t n)
{
    topics_t *t = ud;
    t->changed |=
        t->remove ? td_subset_remove(t->set, kind, sym, n) : td_subset_add(t->set, kind, sym, n);
}

/* "subscribed to: T.AAPL" (or several, comma-separated) and "unsubscribed
 * to: T.AAPL": the confirmed set follows; topics of a subscription are
 * noted for the confirmation line. */
static void on_success(td_csess_t *s, const char *msg, size_t n)
{
    size_t skip = 0;
    int sub = starts(msg, n, "subscribed to: ", &skip);
    if (!sub && !starts(msg, n, "unsubscribed to: ", &skip) &&
        !starts(msg, n, "unsubscribed from: ", &skip)) {
        td__csess_log(s, TD_LOG_DEBUG, "%.*s", (int)(n > 300 ? 300 : n), msg);
        td__csess_streaming(s);
        return;
    }
    topics_t t = {&s->confirmed, !sub, 0};
    int count = td_polygon_params_each((td_polygon_cluster_t)s->cfg.cluster, msg + skip, n - skip,
                                       on_topic, &t, NULL, NULL);
    if (t.changed && s->cb.confirmed) s->cb.confirmed(s->ud, &s->confirmed);
    if (sub)
        td__csess_note(s, count > 0 ? (size_t)count : 1, msg + skip, n - skip);
    else
        td__csess_log(s, TD_LOG_DEBUG, "%.*s", (int)(n > 300 ? 300 : n), msg);
    td__csess_streaming(s);
}

static void on_status(void *ud, const td_polygon_status_t *st)
{
    td_csess_t *s = ud;
    if (td__csess_closed(s)) return;
    /* The message decoded (a vendor's text may hold escapes). */
    td_buf_t *b = &s->line;
    const char *msg = "";
    size_t ml = 0;
    if (st->message) {
        td_buf_reset(b);
        td_buf_reserve(b, st->message_len + 4);
        long r = td_json_unescape(st->message, st->message_len, b->data, st->message_len + 4);
        if (r >= 0) msg = b->data, ml = (size_t)r;
    }
    int pl = (int)(ml > 200 ? 200 : ml);
    switch (st->type) {
    case TD_POLYGON_ST_CONNECTED:
        td__csess_greeting(s);
        break;
    case TD_POLYGON_ST_AUTH_SUCCESS:
        td__csess_authenticated(s);
        break;
    case TD_POLYGON_ST_AUTH_FAILED:
        td__csess_decide(s, TD_CSD_FATAL, 0,
                         "auth failed (auth_failed): check the key (POLYGON_API_KEY)");
        break;
    case TD_POLYGON_ST_AUTH_TIMEOUT: {
        char why[256];
        snprintf(why, sizeof why, "auth_timeout: %.*s", pl, msg);
        td__csess_decide(s, TD_CSD_RETRY, 0, why);
        break;
    }
    case TD_POLYGON_ST_SUCCESS:
        on_success(s, msg, ml);
        break;
    case TD_POLYGON_ST_MAX_CONNECTIONS:
        /* Whichever connection the vendor evicts, this one steps aside for
         * long: two instances never evict each other in a loop. */
        td__csess_decide(s, TD_CSD_CONN_LIMIT, 0, "max_connections");
        break;
    case TD_POLYGON_ST_OTHER:
        td__csess_log(s, TD_LOG_WARN, "status %.*s: %.*s",
                      (int)(st->status_len > 60 ? 60 : st->status_len),
                      st->status ? st->status : "?", pl, msg);
        td__csess_decide(s, TD_CSD_WARN, 0, NULL);
        break;
    }
    if (b->cap > 65536) td_buf_free(b); /* a huge message: do not keep its scratch */
}

static void on_event(void *ud, const td_event_t *ev)
{
    td__csess_event(ud, ev);
}

static int read_msg(td_csess_t *s, const char *p, size_t n)
{
    static const td_polygon_cb_t cbs = {on_event, on_status};
    td_polygon_stats_t st = {0};
    int rc = td_polygon_split((td_polygon_cluster_t)s->cfg.cluster, p, n, &cbs, s, &st);
    s->unknown += st.unknown;
    return rc == 0 ? 0 : -1; /* 0: OK, else a negative error code */
}

const td_csess_ops_t td_csess_polygon = {"polygon", build_auth, build_sub, read_msg};
