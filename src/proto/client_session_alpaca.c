/* SPDX-License-Identifier: Apache-2.0 */
/* The Alpaca client session (PROTOCOLS.md §1.3-1.5): auth with key and
 * secret; a full confirmation after each subscription change; errors by
 * code, each to a decision. */
#include "core/log.h"
#include "proto/alpaca.h"
#include "proto/client_session.h"

#include <stdio.h>
#include <string.h>

static void build_auth(const td_csess_t *s, td_buf_t *b)
{
    td_alpaca_build_auth(b, s->cfg.key ? s->cfg.key : "", s->cfg.secret ? s->cfg.secret : "");
}

/* tickerd's "since": the resumed channels of this part, with their ids, as
 * one more member of the subscribe object. */
static void add_since(const td_csess_t *s, td_buf_t *b, const td_subset_t *part)
{
    size_t n0 = b->len, added = 0;
    if (!b->len || b->data[b->len - 1] != '}') return;
    b->len--;
    td_buf_appends(b, ",\"since\":{");
    for (size_t i = 0; i < s->cfg.nsince; i++) {
        const td_alpaca_since_t *e = &s->cfg.since[i];
        if (!td_subset_has(part, e->kind, e->sym, strlen(e->sym))) continue;
        char name[96];
        int nl = snprintf(name, sizeof name, "%s.%s", td_kind_name(e->kind), e->sym);
        if (added++) td_buf_appendc(b, ',');
        td_buf_append_json_str(b, name, (size_t)nl);
        td_buf_appendf(b, ":\"%s\"", e->id);
    }
    td_buf_appends(b, "}}");
    if (!added) b->len = n0, b->data[n0] = '\0';
}

static void build_sub(const td_csess_t *s, td_buf_t *b, const char *action, const td_subset_t *part)
{
    td_alpaca_build_sub(b, action, part, s->cfg.kinds);
    if (s->cfg.nsince && strcmp(action, "subscribe") == 0) add_since(s, b, part);
}

static void add_confirmed(void *ud, td_kind_t k, const char *sym, size_t n)
{
    td_subset_add(ud, k, sym, n);
}

/* 405: lists what was requested but is not in the last confirmation. */
static void log_unfit(td_csess_t *s)
{
    td_buf_t *b = &s->line;
    size_t count = 0;
    td_buf_reset(b);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &s->requested.k[k];
        for (size_t i = 0; i < ss->n; i++) {
            if (td_subset_has(&s->confirmed, (td_kind_t)k, ss->v[i], strlen(ss->v[i]))) continue;
            if (count++ < 50)
                td_buf_appendf(b, "%s%s.%s", b->len ? " " : "", td_kind_name(k), ss->v[i]);
        }
    }
    if (s->cb.log) {
        td_buf_t l = TD_BUF_INIT;
        td_buf_appendf(&l, "symbol limit exceeded (405): %zu subscription(s) did not fit: %s%s",
                       count, b->len ? b->data : "(none named)", count > 50 ? " ..." : "");
        s->cb.log(s->ud, TD_LOG_ERROR, l.data);
        td_buf_free(&l);
    }
    td_buf_reset(b);
}

/* PROTOCOLS.md §1.5: each code to what the shell does. */
static void on_error(td_csess_t *s, const td_alpaca_ctl_t *c)
{
    char why[200];
    int ml = (int)(c->msg_len > 120 ? 120 : c->msg_len);
    const char *msg = c->msg ? c->msg : "";
    switch (c->code) {
    case 402: /* auth failed */
        td__csess_decide(s, TD_CSD_FATAL, 402,
                         "auth failed (402): check the key and secret (APCA_API_KEY_ID, "
                         "APCA_API_SECRET_KEY)");
        return;
    case 409: /* insufficient subscription */
        snprintf(why, sizeof why,
                 "insufficient subscription (409): the plan does not include %.100s",
                 s->cfg.path ? s->cfg.path : "this stream");
        td__csess_decide(s, TD_CSD_FATAL, 409, why);
        return;
    case 405: /* symbol limit exceeded: subscriptions stay unchanged */
        log_unfit(s);
        td__csess_decide(s, TD_CSD_SYMBOL_LIMIT, 405, NULL);
        return;
    case 406: /* connection limit exceeded */
        td__csess_decide(s, TD_CSD_CONN_LIMIT, 406, "connection limit exceeded (406)");
        return;
    case 404: /* auth timeout: the vendor closes */
    case 407: /* slow client: a disconnect follows */
    case 500: /* internal error */
        snprintf(why, sizeof why, "vendor error %d: %.*s", c->code, ml, msg);
        td__csess_decide(s, TD_CSD_RETRY, c->code, why);
        return;
    default: /* 400, 401, 403, 408, 410, 411 and unknown codes */
        td__csess_log(s, TD_LOG_WARN, "vendor error %d: %.*s", c->code, ml, msg);
        td__csess_decide(s, TD_CSD_WARN, c->code, NULL);
    }
}

static void on_subscription(td_csess_t *s, const td_alpaca_ctl_t *c)
{
    td_subset_t now;
    td_subset_init(&now);
    td_alpaca_subscription_each(c->raw, c->raw_len, add_confirmed, &now);
    td__csess_confirmed_set(s, &now);
    td_subset_free(&now);
    if (s->phase != TD_CSESS_STREAMING)
        td__csess_log(s, TD_LOG_INFO, "subscribed, streaming (%.*s)",
                      (int)(c->raw_len > 300 ? 300 : c->raw_len), c->raw);
    td__csess_streaming(s);
}

static void on_control(void *ud, const td_alpaca_ctl_t *c)
{
    td_csess_t *s = ud;
    if (td__csess_closed(s)) return;
    switch (c->type) {
    case TD_ALPACA_CTL_CONNECTED:
        td__csess_greeting(s);
        break;
    case TD_ALPACA_CTL_AUTHENTICATED:
        td__csess_authenticated(s);
        break;
    case TD_ALPACA_CTL_SUBSCRIPTION:
        on_subscription(s, c);
        break;
    case TD_ALPACA_CTL_ERROR:
        on_error(s, c);
        break;
    case TD_ALPACA_CTL_SUCCESS:
        td__csess_log(s, TD_LOG_INFO, "%.*s", (int)(c->msg_len > 300 ? 300 : c->msg_len),
                      c->msg ? c->msg : "");
        td__csess_decide(s, TD_CSD_NONE, 0, NULL);
        break;
    }
}

static void on_event(void *ud, const td_event_t *ev)
{
    td__csess_event(ud, ev);
}

static int read_msg(td_csess_t *s, const char *p, size_t n)
{
    static const td_alpaca_cb_t cbs = {on_event, on_control};
    td_alpaca_stats_t st = {0};
    int rc = td_alpaca_split(p, n, &cbs, s, &st);
    s->unknown += st.unknown;
    return rc == 0 ? 0 : -1; /* 0: OK, else a negative error code */
}

const td_csess_ops_t td_csess_alpaca = {"alpaca", build_auth, build_sub, read_msg};
