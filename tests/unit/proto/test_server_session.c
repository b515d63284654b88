/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the server sessions (proto/server_session.h), both dialects,
 * driven with messages and time through recording hooks: every error the
 * server sends (PROTOCOLS.md §1.5) and Polygon's statuses (§3.2) with the
 * exact bytes, confirmations byte for byte, header auth, held-back auths,
 * the auth timeout, the budget and rate hooks, and what a subscribe hands
 * back (interest, "since", "gaps", "snapshot"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "proto/polygon_server.h"
#include "proto/server_session.h"

#include <stdio.h>
#include <string.h>

/* ---- a recording shell ---------------------------------------------------- */

typedef struct rec_s {
    td_buf_t out;  /* frames, one per line */
    td_buf_t log;  /* hook calls, one per line */
    int closed;    /* close code + 1000 (0: open) */
    int auth_rc;   /* what the auth hook answers */
    int rate_rc;   /* what the sub_rate hook answers */
    int spent;     /* what the error hook answers */
    int malformed; /* errors reported as malformed */
} rec_t;

static void r_send(void *ud, const char *f, size_t n)
{
    rec_t *r = ud;
    td_buf_append(&r->out, f, n);
    td_buf_appendc(&r->out, '\n');
}

static void r_close(void *ud, int code)
{
    ((rec_t *)ud)->closed = 1000 + code;
}

static int r_auth(void *ud, const char *key, size_t kn, const char *secret, size_t sn,
                  const char *how)
{
    rec_t *r = ud;
    td_buf_appendf(&r->log, "auth %.*s %.*s %s\n", key ? (int)kn : 1, key ? key : "-",
                   secret ? (int)sn : 1, secret ? secret : "-", how);
    return r->auth_rc;
}

static int r_error(void *ud, const td_srv_error_t *e)
{
    rec_t *r = ud;
    r->malformed += e->malformed;
    return e->counted && r->spent;
}

static void r_interest(void *ud, td_kind_t k, const char *sym, size_t n, int add)
{
    rec_t *r = ud;
    td_buf_appendf(&r->log, "%c%s.%.*s\n", add ? '+' : '-', td_kind_name(k), (int)n, sym);
}

/* Symbols starting with X are outside the client's token. */
static int r_allow(void *ud, td_kind_t k, const char *sym, size_t n)
{
    (void)ud, (void)k;
    return !(n && sym[0] == 'X');
}

static void r_denied(void *ud, const char *what)
{
    td_buf_appendf(&((rec_t *)ud)->log, "denied %s\n", what);
}

static int r_rate(void *ud, size_t n)
{
    (void)n;
    return ((rec_t *)ud)->rate_rc;
}

static void r_applied(void *ud, const td_srv_applied_t *a)
{
    rec_t *r = ud;
    size_t fresh = 0;
    for (int k = 0; k < TD_KIND__COUNT; k++)
        fresh += a->fresh->k[k].n;
    td_buf_appendf(&r->log, "applied %d %s fresh=%zu snap=%x since=%zu gaps=%d\n", a->add, a->what,
                   fresh, a->snapshot_all, a->nsince, a->gaps);
}

static const td_srv_cb_t cb = {r_send,  r_close,  r_auth, r_error,  r_interest,
                               r_allow, r_denied, r_rate, r_applied};
static const td_srv_cb_t cb_min = {r_send, r_close, r_auth, NULL, NULL, NULL, NULL, NULL, NULL};

typedef struct fix_s {
    rec_t r;
    td_srv_sess_t s;
} fix_t;

static void start(fix_t *f, td_vendor_t v, int cls, size_t max_symbols)
{
    memset(&f->r, 0, sizeof f->r);
    const td_vstream_t *vs = td_vendor_first(v, (td_class_t)cls);
    assert_non_null(vs);
    td_srv_cfg_t c = {
        .vs = vs, .max_symbols = max_symbols, .auth_timeout_ms = 10000, .max_message = 256};
    td_srv_sess_init(&f->s, &c, &cb, &f->r, 1000);
}

static void stop(fix_t *f)
{
    td_srv_sess_free(&f->s);
    td_buf_free(&f->r.out);
    td_buf_free(&f->r.log);
}

static void msg(fix_t *f, const char *m)
{
    td_srv_sess_message(&f->s, m, strlen(m), 0);
}

/* The frames sent since the last call, then forgets them. */
static void expect(fix_t *f, const char *frames)
{
    assert_string_equal(f->r.out.data ? f->r.out.data : "", frames);
    td_buf_reset(&f->r.out);
}

static void expect_log(fix_t *f, const char *lines)
{
    assert_string_equal(f->r.log.data ? f->r.log.data : "", lines);
    td_buf_reset(&f->r.log);
}

#define AUTH          "{\"action\":\"auth\",\"key\":\"k\",\"secret\":\"s\"}"
#define E(code, text) "[{\"T\":\"error\",\"code\":" #code ",\"msg\":\"" text "\"}]\n"
#define OK(text)      "[{\"T\":\"success\",\"msg\":\"" text "\"}]\n"
#define ST(st, text)  "[{\"ev\":\"status\",\"status\":\"" st "\",\"message\":\"" text "\"}]\n"

static void alpaca_authed(fix_t *f, int cls, size_t max)
{
    start(f, TD_VENDOR_ALPACA, cls, max);
    td_srv_sess_open(&f->s, NULL, NULL);
    msg(f, AUTH);
    expect(f, OK("connected") OK("authenticated"));
    expect_log(f, "auth k s message\n");
}

/* ---- Alpaca ------------------------------------------------------------------- */

static void test_alpaca_handshake(void **state)
{
    (void)state;
    fix_t f;
    alpaca_authed(&f, TD_CLASS_STOCKS, 0);
    assert_true(f.s.authed);
    msg(&f, AUTH); /* 403, no second check */
    expect(&f, E(403, "already authenticated"));
    expect_log(&f, "");
    assert_int_equal(f.r.closed, 0);
    stop(&f);
}

static void test_alpaca_header_auth(void **state)
{
    (void)state;
    fix_t f;
    start(&f, TD_VENDOR_ALPACA, TD_CLASS_STOCKS, 0);
    td_srv_sess_open(&f.s, "hk", "hs");
    expect(&f, OK("connected") OK("authenticated"));
    expect_log(&f, "auth hk hs headers\n");
    msg(&f, AUTH);
    expect(&f, E(403, "already authenticated"));
    stop(&f);
    /* a key without a secret is still checked (the hook says no) */
    start(&f, TD_VENDOR_ALPACA, TD_CLASS_STOCKS, 0);
    f.r.auth_rc = 402;
    td_srv_sess_open(&f.s, "hk", NULL);
    expect(&f, OK("connected") E(402, "auth failed"));
    expect_log(&f, "auth hk - headers\n");
    assert_int_equal(f.r.closed, 1402);
    stop(&f);
}

static void test_alpaca_auth_errors(void **state)
{
    (void)state;
    fix_t f;
    static const struct {
        int rc, close;
        const char *frame;
    } t[] = {{402, 1, E(402, "auth failed")},
             {406, 1, E(406, "connection limit exceeded")},
             {409, 0, E(409, "insufficient subscription")},
             {411, 0, E(411, "insufficient scope")}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        start(&f, TD_VENDOR_ALPACA, TD_CLASS_STOCKS, 0);
        f.r.auth_rc = t[i].rc;
        msg(&f, AUTH);
        expect(&f, t[i].frame);
        assert_int_equal(f.r.closed, t[i].close ? 1000 + t[i].rc : 0);
        assert_false(f.s.authed);
        msg(&f, "{\"action\":\"subscribe\",\"trades\":[\"AAPL\"]}");
        expect(&f, t[i].close ? "" : E(401, "not authenticated")); /* nothing once closing */
        stop(&f);
    }
}

static void test_alpaca_held_auth(void **state)
{
    (void)state;
    fix_t f;
    start(&f, TD_VENDOR_ALPACA, TD_CLASS_STOCKS, 0);
    f.r.auth_rc = TD_SRV_AUTH_HELD;
    msg(&f, AUTH);
    expect(&f, "");
    msg(&f, AUTH); /* while one is being checked: 401, not checked */
    expect(&f, E(401, "not authenticated"));
    expect_log(&f, "auth k s message\n");
    td_srv_sess_auth_done(&f.s, TD_SRV_AUTH_OK);
    expect(&f, OK("authenticated"));
    assert_true(f.s.authed);
    stop(&f);
    start(&f, TD_VENDOR_ALPACA, TD_CLASS_STOCKS, 0);
    f.r.auth_rc = TD_SRV_AUTH_HELD;
    msg(&f, AUTH);
    td_srv_sess_auth_done(&f.s, 402);
    expect(&f, E(402, "auth failed"));
    assert_int_equal(f.r.closed, 1402);
    stop(&f);
}

static void test_alpaca_auth_timeout(void **state)
{
    (void)state;
    fix_t f;
    start(&f, TD_VENDOR_ALPACA, TD_CLASS_STOCKS, 0);
    td_srv_sess_tick(&f.s, 10999);
    expect(&f, "");
    td_srv_sess_tick(&f.s, 11000);
    expect(&f, E(404, "auth timeout"));
    assert_int_equal(f.r.closed, 1404);
    td_srv_sess_tick(&f.s, 12000); /* once */
    msg(&f, AUTH);                 /* nothing after the close */
    expect(&f, "");
    stop(&f);
    /* authenticated in time: never */
    alpaca_authed(&f, TD_CLASS_STOCKS, 0);
    td_srv_sess_tick(&f.s, 99999);
    expect(&f, "");
    stop(&f);
}

static void test_alpaca_malformed(void **state)
{
    (void)state;
    fix_t f;
    start(&f, TD_VENDOR_ALPACA, TD_CLASS_STOCKS, 0);
    msg(&f, "{\"action\":");
    msg(&f, "[]");
    td_srv_sess_message(&f.s, AUTH, strlen(AUTH), 1); /* a binary frame on a JSON session */
    expect(&f, E(400, "invalid syntax") E(400, "invalid syntax") E(400, "invalid syntax"));
    expect_log(&f, "");
    assert_int_equal(f.r.malformed, 3);
    /* over max_message (256) in fragments: dropped, 400, then the next message is read */
    char big[200];
    memset(big, ' ', sizeof big);
    assert_int_equal(td_srv_sess_rx(&f.s, big, sizeof big, 0, 0), 0);
    assert_int_equal(td_srv_sess_rx(&f.s, big, sizeof big, 1, 0), 1);
    expect(&f, E(400, "invalid syntax"));
    assert_int_equal(td_srv_sess_rx(&f.s, AUTH, 10, 0, 0), 0);
    assert_int_equal(td_srv_sess_rx(&f.s, AUTH + 10, strlen(AUTH) - 10, 1, 0), 0);
    expect(&f, OK("authenticated"));
    assert_int_equal(f.r.closed, 0);
    stop(&f);
}

static void test_alpaca_confirmations(void **state)
{
    (void)state;
    fix_t f;
    alpaca_authed(&f, TD_CLASS_STOCKS, 0);
    msg(&f, "{\"action\":\"subscribe\",\"trades\":[\"AAPL\"],\"quotes\":[\"AMD\",\"CLDR\"],"
            "\"bars\":[\"*\"],\"dailyBars\":[\"VOO\"],\"statuses\":[\"*\"]}");
    expect(&f, "[{\"T\":\"subscription\",\"trades\":[\"AAPL\"],\"quotes\":[\"AMD\",\"CLDR\"],"
               "\"bars\":[\"*\"],\"updatedBars\":[],\"dailyBars\":[\"VOO\"],\"statuses\":[\"*\"],"
               "\"lulds\":[],\"imbalances\":[],\"corrections\":[\"AAPL\"],"
               "\"cancelErrors\":[\"AAPL\"]}]\n");
    expect_log(&f, "+trades.AAPL\n+quotes.AMD\n+quotes.CLDR\n+bars.*\n+dailyBars.VOO\n"
                   "+statuses.*\napplied 1 trades=AAPL;quotes=AMD,CLDR;bars=*;dailyBars=VOO;"
                   "statuses=* fresh=4 snap=0 since=0 gaps=0\n");
    /* again: no change reported, nothing fresh */
    msg(&f, "{\"action\":\"subscribe\",\"trades\":[\"AAPL\"]}");
    expect_log(&f, "applied 1 trades=AAPL fresh=0 snap=0 since=0 gaps=0\n");
    td_buf_reset(&f.r.out);
    msg(&f,
        "{\"action\":\"unsubscribe\",\"bars\":[\"*\"],\"quotes\":[\"AMD\"],\"trades\":[\"AAPL\"]}");
    expect(&f, "[{\"T\":\"subscription\",\"trades\":[],\"quotes\":[\"CLDR\"],\"bars\":[],"
               "\"updatedBars\":[],\"dailyBars\":[\"VOO\"],\"statuses\":[\"*\"],\"lulds\":[],"
               "\"imbalances\":[],\"corrections\":[],\"cancelErrors\":[]}]\n");
    expect_log(&f, "-trades.AAPL\n-quotes.AMD\n-bars.*\n"
                   "applied 0 trades=AAPL;quotes=AMD;bars=* fresh=0 snap=0 since=0 gaps=0\n");
    stop(&f);
    alpaca_authed(&f, TD_CLASS_CRYPTO, 0);
    msg(&f, "{\"action\":\"subscribe\",\"bars\":[\"BTC/USD\"]}");
    expect(&f, "[{\"T\":\"subscription\",\"trades\":[],\"quotes\":[],\"orderbooks\":[],"
               "\"bars\":[\"BTC/USD\"],\"updatedBars\":[],\"dailyBars\":[]}]\n");
    stop(&f);
    alpaca_authed(&f, TD_CLASS_NEWS, 0);
    msg(&f, "{\"action\":\"subscribe\",\"news\":[\"*\"]}");
    expect(&f, "[{\"T\":\"subscription\",\"news\":[\"*\"]}]\n");
    stop(&f);
}

/* tickerd's extensions are handed back once the subscribe is applied. */
static void test_alpaca_extensions(void **state)
{
    (void)state;
    fix_t f;
    alpaca_authed(&f, TD_CLASS_STOCKS, 0);
    msg(&f, "{\"action\":\"subscribe\",\"bars\":[\"*\"],\"quotes\":[\"A\"],\"snapshot\":true,"
            "\"gaps\":true,\"since\":{\"quotes.A\":\"1-0\"}}");
    expect_log(&f, "+quotes.A\n+bars.*\napplied 1 quotes=A;bars=* fresh=1 snap=4 since=1 gaps=1\n");
    stop(&f);
}

static void test_alpaca_sub_errors(void **state)
{
    (void)state;
    fix_t f;
    start(&f, TD_VENDOR_ALPACA, TD_CLASS_STOCKS, 2);
    msg(&f, "{\"action\":\"subscribe\",\"trades\":[\"AAPL\"]}");
    msg(&f, "{\"action\":\"unsubscribe\",\"trades\":[\"AAPL\"]}");
    expect(&f, E(401, "not authenticated") E(401, "not authenticated"));
    stop(&f);
    alpaca_authed(&f, TD_CLASS_STOCKS, 2);
    msg(&f, "{\"action\":\"subscribe\",\"trades\":[\"A\",\"B\"],\"quotes\":[\"A\",\"*\"]}");
    expect_log(&f, "+trades.A\n+trades.B\n+quotes.*\n+quotes.A\n"
                   "applied 1 trades=A,B;quotes=*,A fresh=3 snap=0 since=0 gaps=0\n");
    td_buf_reset(&f.r.out);
    msg(&f, "{\"action\":\"subscribe\",\"bars\":[\"C\"]}"); /* a third symbol */
    expect(&f, E(405, "symbol limit exceeded"));
    expect_log(&f, "");
    msg(&f, "{\"action\":\"subscribe\",\"news\":[\"*\"]}"); /* not on stocks */
    msg(&f, "{\"action\":\"subscribe\",\"orderbooks\":[\"A\"]}");
    expect(&f, E(410, "invalid subscribe action for this feed")
                   E(410, "invalid subscribe action for this feed"));
    /* names outside the token go, the rest is applied */
    msg(&f, "{\"action\":\"subscribe\",\"trades\":[\"XA\",\"A\"],\"bars\":[\"*\"]}");
    expect(&f, E(409, "insufficient subscription") "[{\"T\":\"subscription\",\"trades\":[\"A\","
                                                   "\"B\"],\"quotes\":[\"*\",\"A\"],"
                                                   "\"bars\":[\"*\"],\"updatedBars\":[],"
                                                   "\"dailyBars\":[],\"statuses\":[],"
                                                   "\"lulds\":[],\"imbalances\":[],\"corrections\":"
                                                   "[\"A\",\"B\"],"
                                                   "\"cancelErrors\":[\"A\",\"B\"]}]\n");
    expect_log(&f, "denied \"trades\":[\"XA\"]\n+bars.*\n"
                   "applied 1 trades=A;bars=* fresh=0 snap=0 since=0 gaps=0\n");
    /* the subscribe rate: refused with our text, then refused and closed */
    f.r.rate_rc = TD_SRV_RATE_REFUSE;
    msg(&f, "{\"action\":\"subscribe\",\"trades\":[\"A\"]}");
    expect(&f, E(405, TD_SRV_RATE_TEXT));
    f.r.rate_rc = TD_SRV_RATE_CLOSE;
    msg(&f, "{\"action\":\"subscribe\",\"trades\":[\"A\"]}");
    expect(&f, E(405, TD_SRV_RATE_TEXT));
    assert_int_equal(f.r.closed, 1405);
    stop(&f);
}

/* Errors the shell raises, our own refusals, and the error budget. */
static void test_alpaca_shell_errors(void **state)
{
    (void)state;
    fix_t f;
    alpaca_authed(&f, TD_CLASS_STOCKS, 0);
    td_srv_sess_refuse(&f.s, 400, "since: no \"history\"");
    expect(&f, E(400, "since: no \\\"history\\\""));
    td_srv_sess_error(&f.s, 408, 0);
    td_srv_sess_error(&f.s, 500, 0);
    expect(&f, E(408, "v2 not enabled") E(500, "internal error"));
    f.r.spent = 1; /* the budget is spent: the next counted error closes */
    msg(&f, "x");
    expect(&f, E(400, "invalid syntax"));
    assert_int_equal(f.r.closed, 1400);
    td_srv_sess_error(&f.s, 407, 1); /* nothing once closing */
    expect(&f, "");
    stop(&f);
    alpaca_authed(&f, TD_CLASS_STOCKS, 0);
    td_srv_sess_error(&f.s, 407, 1);
    expect(&f, E(407, "slow client"));
    assert_int_equal(f.r.closed, 1407);
    stop(&f);
}

/* The hooks a shell may leave out. */
static void test_minimal_hooks(void **state)
{
    (void)state;
    rec_t r = {0};
    td_srv_sess_t s;
    td_srv_cfg_t c = {.vs = td_vendor_find("/v2/iex")};
    td_srv_sess_init(&s, &c, &cb_min, &r, 0);
    td_srv_sess_open(&s, NULL, NULL);
    td_srv_sess_message(&s, AUTH, strlen(AUTH), 0);
    static const char sub[] = "{\"action\":\"subscribe\",\"trades\":[\"XA\"]}";
    td_srv_sess_message(&s, sub, strlen(sub), 0);
    td_srv_sess_tick(&s, 1u << 30); /* no timeout configured */
    assert_string_equal(
        r.out.data,
        OK("connected")
            OK("authenticated") "[{\"T\":\"subscription\",\"trades\":[\"XA\"],\"quotes\":[],"
                                "\"bars\":[],"
                                "\"updatedBars\":[],\"dailyBars\":[],\"statuses\":[],\"lulds\":[],"
                                "\"imbalances\":[],\"corrections\":[\"XA\"],\"cancelErrors\":["
                                "\"XA\"]}]\n");
    td_srv_sess_free(&s);
    td_buf_free(&r.out);
    td_buf_free(&r.log);
}

/* ---- Polygon ------------------------------------------------------------------- */

#define PAUTH "{\"action\":\"auth\",\"params\":\"KEY\"}"

static void polygon_authed(fix_t *f, size_t max)
{
    start(f, TD_VENDOR_POLYGON, TD_POLYGON_STOCKS, max);
    td_srv_sess_open(&f->s, "ignored", "ignored"); /* no header auth on Polygon */
    msg(f, PAUTH);
    expect(f, ST("connected", "Connected Successfully") ST("auth_success", "authenticated"));
    expect_log(f, "auth KEY - message\n");
}

static void test_polygon_handshake(void **state)
{
    (void)state;
    fix_t f;
    polygon_authed(&f, 0);
    msg(&f, PAUTH);
    expect(&f, ST("error", "already authenticated"));
    stop(&f);
    start(&f, TD_VENDOR_POLYGON, TD_POLYGON_STOCKS, 0);
    f.r.auth_rc = 402;
    msg(&f, PAUTH);
    expect(&f, ST("auth_failed", "authentication failed"));
    assert_int_equal(f.r.closed, 1402);
    stop(&f);
    start(&f, TD_VENDOR_POLYGON, TD_POLYGON_STOCKS, 0);
    f.r.auth_rc = 406;
    msg(&f, "{\"action\":\"auth\"}"); /* no params: the hook gets no key */
    expect_log(&f, "auth - - message\n");
    expect(&f, ST("max_connections", TD_POLYGON_TEXT_MAX_CONNECTIONS));
    assert_int_equal(f.r.closed, 1406);
    stop(&f);
    start(&f, TD_VENDOR_POLYGON, TD_POLYGON_STOCKS, 0);
    td_srv_sess_tick(&f.s, 11000);
    expect(&f, ST("auth_timeout", "No authentication request received."));
    assert_int_equal(f.r.closed, 1404);
    stop(&f);
}

static void test_polygon_statuses(void **state)
{
    (void)state;
    fix_t f;
    start(&f, TD_VENDOR_POLYGON, TD_POLYGON_STOCKS, 0);
    msg(&f, "{\"action\":\"subscribe\",\"params\":\"T.AAPL\"}");
    expect(&f, ST("error", "not authorized"));
    msg(&f, "{\"action\":");
    td_srv_sess_message(&f.s, PAUTH, strlen(PAUTH), 1);
    msg(&f, "{\"action\":\"dance\"}");
    msg(&f, "{\"params\":\"x\"}");
    expect(&f, ST("error", "invalid JSON") ST("error", "invalid JSON")
                   ST("error", "unknown action: dance") ST("error", "unknown action: (none)"));
    assert_int_equal(f.r.malformed, 4);
    char big[300];
    memset(big, ' ', sizeof big);
    assert_int_equal(td_srv_sess_rx(&f.s, big, sizeof big, 1, 0), 1);
    expect(&f, ST("error", "message too large"));
    msg(&f, PAUTH);
    expect(&f, ST("auth_success", "authenticated"));
    msg(&f, "{\"action\":\"subscribe\"}");
    msg(&f, "{\"action\":\"subscribe\",\"params\":\"T.AAPL,ZZ.MSFT\"}");
    expect(&f, ST("error", "missing params") ST("error", "invalid subscription: ZZ.MSFT"));
    td_srv_sess_error(&f.s, 407, 1);
    expect(&f, ST("error", "slow client"));
    assert_int_equal(f.r.closed, 1407);
    stop(&f);
}

static void test_polygon_confirmations(void **state)
{
    (void)state;
    fix_t f;
    polygon_authed(&f, 0);
    msg(&f, "{\"action\":\"subscribe\",\"params\":\"T.AAPL,Q.MSFT, AM.*\"}");
    expect(&f, ST("success", "subscribed to: T.AAPL") ST("success", "subscribed to: Q.MSFT")
                   ST("success", "subscribed to: AM.*"));
    expect_log(&f, "+trades.AAPL\n+quotes.MSFT\n+bars.*\n"
                   "applied 1 T.AAPL,Q.MSFT,AM.* fresh=2 snap=0 since=0 gaps=0\n");
    msg(&f, "{\"action\":\"unsubscribe\",\"params\":\"T.AAPL\"}");
    expect(&f, ST("success", "unsubscribed to: T.AAPL"));
    expect_log(&f, "-trades.AAPL\napplied 0 T.AAPL fresh=0 snap=0 since=0 gaps=0\n");
    /* tickerd's extensions; a bad "since" is told, the subscribe stands */
    msg(&f, "{\"action\":\"subscribe\",\"params\":\"T.A\",\"gaps\":true,"
            "\"since\":{\"T.A\":\"1-0\"}}");
    expect_log(&f, "+trades.A\napplied 1 T.A fresh=1 snap=0 since=1 gaps=1\n");
    td_buf_reset(&f.r.out);
    msg(&f, "{\"action\":\"subscribe\",\"params\":\"T.B\",\"since\":7}");
    expect(&f, ST("success", "subscribed to: T.B")
                   ST("error", "invalid since: an object of \\\"EV.TICKER\\\": \\\"stream id\\\""));
    stop(&f);
}

static void test_polygon_sub_errors(void **state)
{
    (void)state;
    fix_t f;
    polygon_authed(&f, 2);
    msg(&f, "{\"action\":\"subscribe\",\"params\":\"T.A,Q.B\"}");
    td_buf_reset(&f.r.out);
    td_buf_reset(&f.r.log);
    msg(&f, "{\"action\":\"subscribe\",\"params\":\"T.C\"}");
    expect(&f, ST("error", "symbol limit exceeded"));
    /* one status per topic outside the token; one count against the budget */
    f.r.spent = 1;
    msg(&f, "{\"action\":\"subscribe\",\"params\":\"T.XA,T.B,Q.XB\"}");
    expect(&f, ST("error", "insufficient subscription: T.XA")
                   ST("error", "insufficient subscription: Q.XB"));
    expect_log(&f, "denied T.XA\n");
    assert_int_equal(f.r.closed, 1000);
    stop(&f);
    polygon_authed(&f, 0);
    msg(&f, "{\"action\":\"subscribe\",\"params\":\"T.XA,T.B\"}");
    expect(&f, ST("error", "insufficient subscription: T.XA") ST("success", "subscribed to: T.B"));
    f.r.rate_rc = TD_SRV_RATE_REFUSE;
    msg(&f, "{\"action\":\"subscribe\",\"params\":\"T.C\"}");
    expect(&f, ST("error", TD_SRV_RATE_TEXT));
    f.r.rate_rc = TD_SRV_RATE_OK;
    msg(&f, "{\"action\":\"unsubscribe\",\"params\":\"T.XA\"}"); /* no check on the way out */
    expect(&f, ST("success", "unsubscribed to: T.XA"));
    td_srv_sess_refuse(&f.s, 400, "since: no history");
    expect(&f, ST("error", "since: no history"));
    stop(&f);
}

static void test_error_frames(void **state)
{
    (void)state;
    td_buf_t b = TD_BUF_INIT;
    assert_string_equal(td_srv_error_frame(TD_VENDOR_ALPACA, &b, 402), "auth failed");
    assert_string_equal(b.data, "[{\"T\":\"error\",\"code\":402,\"msg\":\"auth failed\"}]");
    td_buf_reset(&b);
    assert_string_equal(td_srv_error_frame(TD_VENDOR_POLYGON, &b, 404),
                        "No authentication request received.");
    td_buf_reset(&b);
    assert_string_equal(td_srv_error_frame(TD_VENDOR_POLYGON, &b, 411), "error");
    assert_string_equal(b.data, "[{\"ev\":\"status\",\"status\":\"error\",\"message\":\"error\"}]");
    td_buf_free(&b);
    td_srv_cfg_t c = {.vs = td_vendor_find("/stocks")};
    assert_int_equal(td_srv_offered(&c), td_polygon_kinds(TD_POLYGON_STOCKS));
    c.vs = td_vendor_find("/v1beta1/news");
    assert_int_equal(td_srv_offered(&c), 1u << TD_KIND_NEWS);
    /* tickerd's gap notice and the token on the URL, in each dialect */
    static const char members[] = "\"feed\":\"x\"}";
    td_srv_gap_frame(TD_VENDOR_ALPACA, &b, members, strlen(members));
    assert_string_equal(b.data, "[{\"T\":\"gap\",\"feed\":\"x\"}]");
    td_buf_reset(&b);
    td_srv_gap_frame(TD_VENDOR_POLYGON, &b, members, strlen(members));
    assert_string_equal(b.data, "[{\"ev\":\"status\",\"status\":\"gap\",\"message\":\"gap "
                                "notice\",\"feed\":\"x\"}]");
    td_buf_free(&b);
    assert_true(td_srv_header_auth(TD_VENDOR_ALPACA));
    assert_false(td_srv_header_auth(TD_VENDOR_POLYGON));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alpaca_handshake),     cmocka_unit_test(test_alpaca_header_auth),
        cmocka_unit_test(test_alpaca_auth_errors),   cmocka_unit_test(test_alpaca_held_auth),
        cmocka_unit_test(test_alpaca_auth_timeout),  cmocka_unit_test(test_alpaca_malformed),
        cmocka_unit_test(test_alpaca_confirmations), cmocka_unit_test(test_alpaca_extensions),
        cmocka_unit_test(test_alpaca_sub_errors),    cmocka_unit_test(test_alpaca_shell_errors),
        cmocka_unit_test(test_minimal_hooks),        cmocka_unit_test(test_polygon_handshake),
        cmocka_unit_test(test_polygon_statuses),     cmocka_unit_test(test_polygon_confirmations),
        cmocka_unit_test(test_polygon_sub_errors),   cmocka_unit_test(test_error_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
