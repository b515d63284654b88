/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's side of a client's server session (proto/server_session.h):
 * where its frames go (the client's queue), how it closes, and the
 * gateway's policies the session asks about: credentials and tokens
 * (guard.c), the token's claims on symbols (409), the subscribe rate
 * (sub_rate.c), the error budget and rate-limited log lines, and what a
 * subscribe brings once applied: bus interest, "since" cursors (since.c),
 * snapshots and gap notices. The dialects themselves are the session's. */
#include "core/log.h"
#include "gateway/gw_int.h"

#define ID(c) ((unsigned long long)(c)->id)

static void on_send(void *ud, const char *frame, size_t len)
{
    td__gw_client_send_ctl(ud, frame, len);
}

static void on_close(void *ud, int code)
{
    (void)code;
    td__gw_client_close_after(ud);
}

static int on_auth(void *ud, const char *key, size_t kn, const char *secret, size_t sn,
                   const char *how)
{
    return td__gw_client_auth(ud, key, kn, secret, sn, how);
}

/* Counts, the error budget and the client's log line (rate-limited; its
 * last line only across clients). */
static int on_error(void *ud, const td_srv_error_t *e)
{
    gw_client_t *c = ud;
    td_gateway_t *g = c->g;
    if (e->malformed) g->st.malformed++;
    if (e->why) GW_LOG(TD_LOG_DEBUG, g, c, "client #%llu: bad message: %s", ID(c), e->why);
    if (e->code == 404) g->st.auth_failures++;
    int spent = e->counted && td__gw_guard_error(c);
    const char *how = spent ? " (too many errors: closing)" : e->close ? " (closing)" : "";
    if (e->code)
        GW_LOG(TD_LOG_INFO, g, e->close || spent ? NULL : c, "client #%llu error %d %s%s", ID(c),
               e->code, e->text, how);
    else if (spent)
        GW_LOG(TD_LOG_INFO, g, NULL, "client #%llu error %s%s", ID(c), e->text, how);
    return spent;
}

static void on_interest(void *ud, td_kind_t k, const char *sym, size_t n, int add)
{
    td__gw_client_bus_change(ud, k, sym, n, add);
}

static int on_allow(void *ud, td_kind_t k, const char *sym, size_t n)
{
    return td__gw_client_allows(ud, k, sym, n);
}

static void on_denied(void *ud, const char *what)
{
    gw_client_t *c = ud;
    GW_LOG(TD_LOG_INFO, c->g, c, "client #%llu ('%s'): outside its token: %.300s", ID(c),
           c->jwt ? c->jwt->sub : "?", what);
}

static int on_sub_rate(void *ud, size_t n)
{
    return td__gw_client_sub_rate(ud, n);
}

static void on_applied(void *ud, const td_srv_applied_t *a)
{
    gw_client_t *c = ud;
    TD_DEBUG("client #%llu %s %s", ID(c), a->add ? "subscribe" : "unsubscribe", a->what);
    if (!a->add) {
        td__gw_since_unsubscribe(c);
        return;
    }
    td__gw_since_add(c, a->since, a->nsince);
    td__gw_client_snapshot(c, a->fresh, a->snapshot_all);
    if (a->gaps) c->gaps = 1;
}

/* send, close, auth, error, interest, allow, denied, sub_rate, applied */
const td_srv_cb_t td__gw_session_cb = {on_send,  on_close,  on_auth,     on_error,  on_interest,
                                       on_allow, on_denied, on_sub_rate, on_applied};
