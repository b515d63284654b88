/* SPDX-License-Identifier: Apache-2.0 */
/* The Alpaca server session (PROTOCOLS.md §1.3–§1.5): [{"T":"success",
 * "msg":"connected"}], auth by message (or the upgrade's headers),
 * subscribe/unsubscribe with channel lists answered by the complete current
 * set, and the numbered errors. tickerd's extensions of a subscribe
 * ("since", "gaps", "snapshot") are handed to the shell once it is applied. */
#include "proto/server_session_int.h"

#include <string.h>

static void greet(td_srv_sess_t *s)
{
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_success(&b, "connected");
    td__srv_send(s, &b);
    td_buf_free(&b);
}

static void authed(td_srv_sess_t *s)
{
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_success(&b, "authenticated");
    td__srv_send(s, &b);
    td_buf_free(&b);
}

static const char *error_frame(td_buf_t *b, int code, const char **status)
{
    *status = NULL;
    td_alpaca_server_error(b, code);
    return td_alpaca_server_err_text(code);
}

static void refuse_frame(td_buf_t *b, int code, const char *text)
{
    td_alpaca_server_error_msg(b, code, text);
}

/* ---- subscriptions ------------------------------------------------------------ */

/* Symbols a subscribe message names (a wildcard counts as one). */
static size_t named(const td_alpaca_client_msg_t *m)
{
    size_t n = 0;
    for (int k = 0; k < TD_KIND__COUNT; k++)
        n += m->sub.k[k].n + (m->sub.k[k].all != 0);
    return n;
}

/* "trades=AAPL;quotes=*" (the message's lists, bounded). */
static void what(const td_alpaca_client_msg_t *m, td_buf_t *b)
{
    for (int k = 0; k < TD_KIND__COUNT && b->len < TD_SRV_WHAT_MAX; k++) {
        const td_symset_t *ss = &m->sub.k[k];
        if (!ss->all && !ss->n) continue;
        td_buf_appendf(b, "%s%s=%s", b->len ? ";" : "", td_kind_name((td_kind_t)k),
                       ss->all ? "*" : "");
        for (size_t i = 0; i < ss->n && b->len < TD_SRV_WHAT_MAX; i++)
            td_buf_appendf(b, "%s%s", i || ss->all ? "," : "", ss->v[i]);
    }
    if (!b->len)
        td_buf_appends(b, "(nothing)");
    else if (b->len >= TD_SRV_WHAT_MAX)
        td_buf_appends(b, "...");
}

/* Takes out of a subscribe what the allow hook refuses (the rest goes
 * ahead); 409 insufficient subscription if anything was. */
static void restrict_sub(td_srv_sess_t *s, td_alpaca_client_msg_t *m)
{
    void *ud = s->ud;
    if (!s->cb->allow || m->action != TD_ALPACA_CLIENT_SUBSCRIBE) return;
    td_subset_t out;
    td_subset_init(&out);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &m->sub.k[k];
        if (ss->all && !s->cb->allow(ud, (td_kind_t)k, "*", 1))
            td_subset_add(&out, (td_kind_t)k, "*", 1);
        for (size_t i = 0; i < ss->n; i++)
            if (!s->cb->allow(ud, (td_kind_t)k, ss->v[i], strlen(ss->v[i])))
                td_subset_append(&out, (td_kind_t)k, ss->v[i], strlen(ss->v[i]));
    }
    td_subset_settle(&out);
    if (td_subset_empty(&out)) {
        td_subset_free(&out);
        return;
    }
    td_buf_t b = TD_BUF_INIT;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (out.k[k].all) td_subset_remove(&m->sub, (td_kind_t)k, "*", 1);
        for (size_t i = 0; i < out.k[k].n; i++)
            td_subset_remove(&m->sub, (td_kind_t)k, out.k[k].v[i], strlen(out.k[k].v[i]));
        if (!out.k[k].all && !out.k[k].n) continue;
        if (b.len) td_buf_appendc(&b, ',');
        td_subset_append_json_list(&out, (td_kind_t)k, &b);
    }
    if (s->cb->denied) s->cb->denied(ud, b.data);
    td_buf_free(&b);
    td_subset_free(&out);
    td_srv_sess_error(s, 409, 0);
}

/* The set after m (corrections and cancelErrors follow trades: not kept). */
static void next_set(const td_srv_sess_t *s, const td_alpaca_client_msg_t *m, td_subset_t *next)
{
    int add = m->action == TD_ALPACA_CLIENT_SUBSCRIBE;
    td_subset_init(next);
    td_subset_copy(next, &s->sub);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &m->sub.k[k];
        if (k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR) continue;
        if (ss->all) (add ? td_subset_add : td_subset_remove)(next, (td_kind_t)k, "*", 1);
        for (size_t i = 0; i < ss->n; i++)
            (add ? td_subset_add : td_subset_remove)(next, (td_kind_t)k, ss->v[i],
                                                     strlen(ss->v[i]));
    }
}

static void change(td_srv_sess_t *s, td_kind_t k, const char *sym, size_t n, int add)
{
    if (s->cb->interest) s->cb->interest(s->ud, k, sym, n, add);
}

/* Applies m to the set, reporting each change; fresh gets the names newly
 * subscribed. */
static void apply(td_srv_sess_t *s, const td_alpaca_client_msg_t *m, td_subset_t *fresh)
{
    int add = m->action == TD_ALPACA_CLIENT_SUBSCRIBE;
    int (*op)(td_subset_t *, td_kind_t, const char *, size_t) =
        add ? td_subset_add : td_subset_remove;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &m->sub.k[k];
        if (k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR) continue; /* follow trades */
        if (ss->all && op(&s->sub, (td_kind_t)k, "*", 1)) change(s, (td_kind_t)k, "*", 1, add);
        for (size_t i = 0; i < ss->n; i++) {
            size_t n = strlen(ss->v[i]);
            if (!op(&s->sub, (td_kind_t)k, ss->v[i], n)) continue;
            change(s, (td_kind_t)k, ss->v[i], n, add);
            if (add) td_subset_add(fresh, (td_kind_t)k, ss->v[i], n);
        }
    }
}

/* The subscription confirmation, then the applied hook. */
static void confirm(td_srv_sess_t *s, const td_alpaca_client_msg_t *m, const td_subset_t *fresh)
{
    int add = m->action == TD_ALPACA_CLIENT_SUBSCRIBE;
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_subscription(&b, &s->sub, s->cls);
    td__srv_send(s, &b);
    td_buf_reset(&b);
    if (!s->cb->applied) {
        td_buf_free(&b);
        return;
    }
    what(m, &b);
    td_srv_applied_t a = {.add = add, .fresh = fresh, .what = b.data};
    if (add) {
        a.since = m->since, a.nsince = m->nsince, a.gaps = m->gaps;
        for (int k = 0; k < TD_KIND__COUNT && m->snapshot; k++)
            if (m->sub.k[k].all) a.snapshot_all |= 1u << k;
    }
    s->cb->applied(s->ud, &a);
    td_buf_free(&b);
}

static void subscribe(td_srv_sess_t *s, td_alpaca_client_msg_t *m)
{
    int add = m->action == TD_ALPACA_CLIENT_SUBSCRIBE;
    if (!s->authed) {
        td_srv_sess_error(s, 401, 0);
        return;
    }
    restrict_sub(s, m);
    if (s->closing) return;
    unsigned offered = td_alpaca_server_offered(s->cls);
    if (m->kinds & ~offered) {
        td_srv_sess_error(s, 410, 0);
        return;
    }
    if (add && !td__srv_rate_ok(s, named(m))) return;
    td_subset_t next;
    next_set(s, m, &next);
    int within = !add || td__srv_within(s, &next, offered);
    td_subset_free(&next);
    if (!within) {
        td_srv_sess_error(s, 405, 0);
        return;
    }
    td_subset_t fresh;
    td_subset_init(&fresh);
    apply(s, m, &fresh);
    confirm(s, m, &fresh);
    td_subset_free(&fresh);
}

static void message(td_srv_sess_t *s, const char *msg, size_t len, int binary)
{
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    /* a JSON session takes text frames only (MessagePack ones: binary) */
    int wrong_frame = binary && !s->cfg.binary;
    int (*parse)(const char *, size_t, td_alpaca_client_msg_t *) =
        s->cfg.parse ? s->cfg.parse : td_alpaca_client_parse;
    int rc = wrong_frame ? TD_EMALFORMED : parse(msg, len, &m);
    if (rc != 0)
        td__srv_error(s, 400, 0, 1,
                      wrong_frame ? "a binary frame on a JSON session" : td_strerror(rc));
    else if (m.action == TD_ALPACA_CLIENT_AUTH)
        td_srv_sess_auth(s, m.has_key ? m.key : NULL, m.key_len, m.has_secret ? m.secret : NULL,
                         m.secret_len, "message");
    else
        subscribe(s, &m);
    memset(m.secret, 0, sizeof m.secret);
    td_alpaca_client_msg_free(&m);
}

/* tickerd's gap notice */
#define GAP_HEAD "[{\"T\":\"gap\","

const td_srv_ops_t td__srv_alpaca_ops = {greet,  message,  error_frame, refuse_frame,
                                         authed, GAP_HEAD, 1,           0};
