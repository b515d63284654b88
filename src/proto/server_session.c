/* SPDX-License-Identifier: Apache-2.0 */
/* What the server sessions of both dialects share: life, auth, time, error
 * reporting and the subscribe rate (server_session.h). */
#include "proto/server_session.h"
#include "proto/server_session_int.h"

#include <string.h>

/* Each vendor's dialect: the one place a new vendor's server session is
 * registered. */
static const td_srv_ops_t *const dialects[TD_VENDOR__COUNT] = {
    [TD_VENDOR_ALPACA] = &td__srv_alpaca_ops,
    [TD_VENDOR_POLYGON] = &td__srv_polygon_ops,
};

static const td_srv_ops_t *ops_of(td_vendor_t v)
{
    return (unsigned)v < TD_VENDOR__COUNT && dialects[v] ? dialects[v] : &td__srv_alpaca_ops;
}

void td_srv_sess_init(td_srv_sess_t *s, const td_srv_cfg_t *cfg, const td_srv_cb_t *cb, void *ud,
                      uint64_t now_ms)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->ops = ops_of(cfg->vs->vendor);
    s->cls = cfg->vs->cls;
    s->cluster = (td_polygon_cluster_t)td_vendor_cluster(cfg->vs);
    s->cb = cb;
    s->ud = ud;
    s->open_ms = now_ms;
    td_subset_init(&s->sub);
}

void td_srv_sess_free(td_srv_sess_t *s)
{
    td_subset_free(&s->sub);
    td_buf_free(&s->rx);
}

unsigned td_srv_offered(const td_srv_cfg_t *cfg)
{
    return cfg->vs->offered;
}

const char *td_srv_error_frame(td_vendor_t v, td_buf_t *b, int code)
{
    const char *status;
    return ops_of(v)->error_frame(b, code, &status);
}

void td_srv_gap_frame(td_vendor_t v, td_buf_t *b, const char *members, size_t n)
{
    td_buf_appends(b, ops_of(v)->gap_head);
    td_buf_append(b, members, n);
    td_buf_appendc(b, ']');
}

int td_srv_key_only(td_vendor_t v)
{
    return ops_of(v)->token_is_key;
}

int td_srv_header_auth(td_vendor_t v)
{
    return ops_of(v)->header_auth;
}

/* ---- sending -------------------------------------------------------------- */

void td__srv_send(td_srv_sess_t *s, const td_buf_t *b)
{
    s->cb->send(s->ud, b->data, b->len);
}

void td__srv_close(td_srv_sess_t *s, int code)
{
    if (s->closing) return;
    s->closing = 1;
    s->cb->close(s->ud, code);
}

void td__srv_report(td_srv_sess_t *s, const td_buf_t *b, td_srv_error_t *e)
{
    td__srv_send(s, b);
    int spent = s->cb->error ? s->cb->error(s->ud, e) : 0;
    if (e->close || (e->counted && spent)) td__srv_close(s, e->code);
}

void td__srv_error(td_srv_sess_t *s, int code, int close, int malformed, const char *why)
{
    if (s->closing) return;
    td_buf_t b = TD_BUF_INIT;
    td_srv_error_t e = {.code = code, .why = why, .close = close, .malformed = malformed};
    e.text = s->ops->error_frame(&b, code, &e.status);
    e.counted = !close;
    td__srv_report(s, &b, &e);
    td_buf_free(&b);
}

void td_srv_sess_error(td_srv_sess_t *s, int code, int close)
{
    td__srv_error(s, code, close, 0, NULL);
}

void td_srv_sess_refuse(td_srv_sess_t *s, int code, const char *text)
{
    if (s->closing) return;
    td_buf_t b = TD_BUF_INIT;
    s->ops->refuse_frame(&b, code, text);
    td__srv_send(s, &b);
    td_buf_free(&b);
}

void td_srv_sess_oversize(td_srv_sess_t *s)
{
    td__srv_error(s, 400, 0, 1, "message too large");
}

/* ---- life ------------------------------------------------------------------ */

void td_srv_sess_open(td_srv_sess_t *s, const char *hkey, const char *hsecret)
{
    s->ops->greet(s);
    if (s->ops->header_auth && (hkey || hsecret))
        td_srv_sess_auth(s, hkey, hkey ? strlen(hkey) : 0, hsecret, hsecret ? strlen(hsecret) : 0,
                         "headers");
}

void td_srv_sess_message(td_srv_sess_t *s, const char *msg, size_t len, int binary)
{
    if (s->closing) return;
    s->ops->message(s, msg, len, binary);
}

int td_srv_sess_rx(td_srv_sess_t *s, const void *in, size_t len, int final, int binary)
{
    if (s->rx.len == 0 && !s->rx_overflow) s->rx_binary = binary;
    if (!s->rx_overflow) {
        if (s->rx.len + len > s->cfg.max_message) {
            s->rx_overflow = 1;
            td_buf_free(&s->rx);
        } else {
            td_buf_append(&s->rx, in, len);
        }
    }
    if (!final) return 0;
    int over = s->rx_overflow;
    if (over)
        td_srv_sess_oversize(s);
    else
        td_srv_sess_message(s, s->rx.data ? s->rx.data : "", s->rx.len, s->rx_binary);
    s->rx_overflow = 0;
    if (s->rx.cap > 65536)
        td_buf_free(&s->rx);
    else
        td_buf_reset(&s->rx);
    return over;
}

void td_srv_sess_tick(td_srv_sess_t *s, uint64_t now_ms)
{
    if (s->authed || s->closing || !s->cfg.auth_timeout_ms) return;
    if (now_ms >= s->open_ms + s->cfg.auth_timeout_ms) td_srv_sess_error(s, 404, 1);
}

/* ---- auth ------------------------------------------------------------------- */

static void auth_result(td_srv_sess_t *s, int rc)
{
    if (rc == TD_SRV_AUTH_HELD) {
        s->auth_held = 1;
    } else if (rc != TD_SRV_AUTH_OK) {
        td_srv_sess_error(s, rc, rc == 402 || rc == 406);
    } else {
        s->authed = 1;
        s->ops->authed(s);
    }
}

void td_srv_sess_token(td_srv_sess_t *s, const char *tok, size_t n)
{
    if (s->ops->token_is_key)
        td_srv_sess_auth(s, tok, n, NULL, 0, "url");
    else
        td_srv_sess_auth(s, "jwt", 3, tok, n, "url");
}

void td_srv_sess_auth(td_srv_sess_t *s, const char *key, size_t kn, const char *secret, size_t sn,
                      const char *how)
{
    if (s->closing) return;
    if (s->authed || s->auth_held) {
        td_srv_sess_error(s, s->authed ? 403 : 401, 0);
        return;
    }
    auth_result(s, s->cb->auth(s->ud, key, kn, secret, sn, how));
}

void td_srv_sess_auth_done(td_srv_sess_t *s, int rc)
{
    s->auth_held = 0;
    if (!s->closing && !s->authed) auth_result(s, rc == TD_SRV_AUTH_HELD ? 402 : rc);
}

/* ---- subscriptions ------------------------------------------------------------ */

int td__srv_rate_ok(td_srv_sess_t *s, size_t n)
{
    int rc = s->cb->sub_rate ? s->cb->sub_rate(s->ud, n) : TD_SRV_RATE_OK;
    if (rc == TD_SRV_RATE_OK) return 1;
    td_srv_sess_refuse(s, 405, TD_SRV_RATE_TEXT);
    if (rc == TD_SRV_RATE_CLOSE) td__srv_close(s, 405);
    return 0;
}

int td__srv_within(const td_srv_sess_t *s, const td_subset_t *next, unsigned offered)
{
    return !s->cfg.max_symbols || td_subset_count_symbols(next, offered) <= s->cfg.max_symbols;
}
