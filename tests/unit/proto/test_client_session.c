/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the client sessions (proto/client_session.h): every vendor
 * error code and Polygon status to its decision, the auth and subscribe
 * frames byte for byte, reconcile after a reconnect and on interest
 * changes, the plan's symbol limit, the 405 list, the handshake timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/log.h"
#include "proto/client_session.h"
#include "proto/polygon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXN 64

typedef struct {
    char *sent[MAXN];
    size_t nsent;
    td_csess_decision_t d[MAXN];
    char why[MAXN][256];
    size_t nd;
    char *log[MAXN];
    int level[MAXN];
    size_t nlog;
    size_t events, confirmed;
    char last_sym[80];
} rec_t;

static void on_send(void *ud, const char *p, size_t n)
{
    rec_t *r = ud;
    assert_true(r->nsent < MAXN);
    r->sent[r->nsent] = malloc(n + 1);
    memcpy(r->sent[r->nsent], p, n);
    r->sent[r->nsent++][n] = '\0';
}

static void on_event(void *ud, const td_event_t *ev)
{
    rec_t *r = ud;
    r->events++;
    snprintf(r->last_sym, sizeof r->last_sym, "%.*s", (int)ev->symbol_len, ev->symbol);
}

static void on_decision(void *ud, const td_csess_decision_t *d)
{
    rec_t *r = ud;
    assert_true(r->nd < MAXN);
    r->d[r->nd] = *d;
    snprintf(r->why[r->nd], sizeof r->why[0], "%s", d->why);
    r->d[r->nd].why = r->why[r->nd];
    r->nd++;
}

static void on_log(void *ud, int level, const char *line)
{
    rec_t *r = ud;
    assert_true(r->nlog < MAXN);
    r->level[r->nlog] = level;
    r->log[r->nlog++] = strdup(line);
}

static void on_confirmed(void *ud, const td_subset_t *set)
{
    (void)set;
    ((rec_t *)ud)->confirmed++;
}

static void rec_clear(rec_t *r)
{
    for (size_t i = 0; i < r->nsent; i++)
        free(r->sent[i]);
    for (size_t i = 0; i < r->nlog; i++)
        free(r->log[i]);
    memset(r, 0, sizeof *r);
}

static const td_csess_cb_t CB = {on_send, on_event, on_decision, on_log, on_confirmed};

typedef struct {
    td_csess_t s;
    td_subset_t want;
    rec_t r;
} fix_t;

static void fix_init(fix_t *x, const td_csess_ops_t *ops, const char *spec, unsigned kinds,
                     int cluster, uint32_t max_symbols)
{
    char err[128];
    memset(x, 0, sizeof *x);
    td_subset_init(&x->want);
    if (spec) assert_int_equal(td_subset_parse(&x->want, spec, err, sizeof err), 0);
    td_csess_cfg_t cfg = {.key = "PKTEST",
                          .secret = "s\"cret",
                          .path = "/v2/sip",
                          .kinds = kinds,
                          .cluster = cluster,
                          .max_symbols = max_symbols,
                          .want = &x->want};
    td_csess_init(&x->s, ops, &cfg, &CB, &x->r);
    td_csess_begin(&x->s, 1000);
}

static void fix_free(fix_t *x)
{
    td_csess_free(&x->s);
    td_subset_free(&x->want);
    rec_clear(&x->r);
}

static int feed(fix_t *x, const char *msg)
{
    return td_csess_read(&x->s, msg, strlen(msg));
}

static int starts_with(const char *s, const char *pre)
{
    return strncmp(s, pre, strlen(pre)) == 0;
}

static const td_csess_decision_t *last(const fix_t *x)
{
    assert_true(x->r.nd > 0);
    return &x->r.d[x->r.nd - 1];
}

static const char *last_log(const fix_t *x)
{
    assert_true(x->r.nlog > 0);
    return x->r.log[x->r.nlog - 1];
}

#define ALPACA(x, spec)  fix_init((x), &td_csess_alpaca, (spec), TD_ALPACA_KINDS, 0, 0)
#define POLYGON(x, spec) fix_init((x), &td_csess_polygon, (spec), POLY_KINDS, TD_POLYGON_STOCKS, 0)
#define TD_ALPACA_KINDS                                                                            \
    ((1u << TD_KIND_TRADE) | (1u << TD_KIND_QUOTE) | (1u << TD_KIND_BAR) |                         \
     (1u << TD_KIND_DAILY_BAR) | (1u << TD_KIND_UPDATED_BAR) | (1u << TD_KIND_STATUS) |            \
     (1u << TD_KIND_LULD) | (1u << TD_KIND_IMBALANCE))
#define POLY_KINDS td_polygon_kinds(TD_POLYGON_STOCKS)

static const char CONNECTED[] = "[{\"T\":\"success\",\"msg\":\"connected\"}]";
static const char AUTHED[] = "[{\"T\":\"success\",\"msg\":\"authenticated\"}]";
static const char P_CONNECTED[] =
    "[{\"ev\":\"status\",\"status\":\"connected\",\"message\":\"Connected Successfully\"}]";
static const char P_AUTHED[] =
    "[{\"ev\":\"status\",\"status\":\"auth_success\",\"message\":\"authenticated\"}]";

/* Greeting, auth: the session is subscribing. */
static void alpaca_up(fix_t *x)
{
    assert_int_equal(feed(x, CONNECTED), 0);
    assert_int_equal(feed(x, AUTHED), 0);
}

/* ---- Alpaca ----------------------------------------------------------------- */

static void test_alpaca_handshake(void **state)
{
    (void)state;
    fix_t x;
    ALPACA(&x, "trades=AAPL,MSFT;quotes=*");
    assert_int_equal(x.s.phase, TD_CSESS_GREETING);
    assert_int_equal(feed(&x, CONNECTED), 0);
    assert_int_equal(last(&x)->verdict, TD_CSD_SEND_AUTH);
    assert_int_equal(x.s.phase, TD_CSESS_AUTHENTICATING);
    assert_int_equal(x.r.nsent, 1);
    assert_string_equal(x.r.sent[0],
                        "{\"action\":\"auth\",\"key\":\"PKTEST\",\"secret\":\"s\\\"cret\"}");

    assert_int_equal(feed(&x, AUTHED), 0);
    assert_int_equal(last(&x)->verdict, TD_CSD_AUTHENTICATED);
    assert_int_equal(last(&x)->phase, TD_CSESS_SUBSCRIBING);
    assert_string_equal(last_log(&x), "authenticated");
    assert_int_equal(x.r.nsent, 2);
    assert_string_equal(
        x.r.sent[1],
        "{\"action\":\"subscribe\",\"trades\":[\"AAPL\",\"MSFT\"],\"quotes\":[\"*\"]}");
    assert_int_equal(x.s.sub_messages, 1);

    const char *conf = "[{\"T\":\"subscription\",\"trades\":[\"AAPL\",\"MSFT\"],\"quotes\":[\"*\"],"
                       "\"bars\":[],\"corrections\":[\"AAPL\",\"MSFT\"]}]";
    assert_int_equal(feed(&x, conf), 0);
    assert_int_equal(last(&x)->verdict, TD_CSD_STREAMING);
    assert_int_equal(x.s.phase, TD_CSESS_STREAMING);
    assert_int_equal(x.r.confirmed, 1);
    assert_true(td_subset_names(&x.s.confirmed, TD_KIND_TRADE, "MSFT", 4));
    assert_true(x.s.confirmed.k[TD_KIND_QUOTE].all);
    assert_true(starts_with(last_log(&x), "subscribed, streaming ({\"T\":\"subscription\""));
    /* the same set again: no change to report, no second line */
    size_t nlog = x.r.nlog;
    assert_int_equal(feed(&x, conf), 0);
    assert_int_equal(x.r.confirmed, 1);
    assert_int_equal(x.r.nlog, nlog);

    assert_int_equal(
        feed(&x, "[{\"T\":\"q\",\"S\":\"AAPL\",\"bp\":1},{\"T\":\"t\",\"S\":\"MSFT\"}]"), 0);
    assert_int_equal(x.r.events, 2);
    assert_string_equal(x.r.last_sym, "MSFT");
    assert_int_equal(feed(&x, "[{\"T\":\"zz\",\"S\":\"AAPL\"}]"), 0);
    assert_int_equal(x.s.unknown, 1);
    /* a malformed frame: -1, nothing reported */
    size_t nd = x.r.nd;
    assert_int_equal(feed(&x, "[{\"T\":\"error\",\"code\":402"), -1);
    assert_int_equal(x.r.nd, nd);
    assert_int_equal(x.s.phase, TD_CSESS_STREAMING);
    fix_free(&x);
}

static void test_alpaca_nothing_wanted(void **state)
{
    (void)state;
    fix_t x;
    ALPACA(&x, NULL);
    alpaca_up(&x);
    assert_int_equal(last(&x)->verdict, TD_CSD_AUTHENTICATED);
    assert_int_equal(last(&x)->phase, TD_CSESS_STREAMING);
    assert_int_equal(x.r.nsent, 1); /* the auth only */
    fix_free(&x);
}

typedef struct {
    int code;
    td_csd_t verdict;
    const char *why; /* the decision's reason, or the warning logged */
} err_case_t;

static void test_alpaca_error_codes(void **state)
{
    (void)state;
    static const err_case_t cases[] = {
        {400, TD_CSD_WARN, "vendor error 400: invalid syntax"},
        {401, TD_CSD_WARN, "vendor error 401: not authenticated"},
        {402, TD_CSD_FATAL,
         "auth failed (402): check the key and secret (APCA_API_KEY_ID, APCA_API_SECRET_KEY)"},
        {403, TD_CSD_WARN, "vendor error 403: already authenticated"},
        {404, TD_CSD_RETRY, "vendor error 404: auth timeout"},
        {405, TD_CSD_SYMBOL_LIMIT, NULL},
        {406, TD_CSD_CONN_LIMIT, "connection limit exceeded (406)"},
        {407, TD_CSD_RETRY, "vendor error 407: slow client"},
        {408, TD_CSD_WARN, "vendor error 408: v2 not enabled"},
        {409, TD_CSD_FATAL, "insufficient subscription (409): the plan does not include /v2/sip"},
        {410, TD_CSD_WARN, "vendor error 410: invalid subscribe action for this feed"},
        {411, TD_CSD_WARN, "vendor error 411: insufficient scope"},
        {500, TD_CSD_RETRY, "vendor error 500: internal error"},
        {499, TD_CSD_WARN, "vendor error 499: something new"},
    };
    static const char *texts[] = {"invalid syntax",
                                  "not authenticated",
                                  "auth failed",
                                  "already authenticated",
                                  "auth timeout",
                                  "symbol limit exceeded",
                                  "connection limit exceeded",
                                  "slow client",
                                  "v2 not enabled",
                                  "insufficient subscription",
                                  "invalid subscribe action for this feed",
                                  "insufficient scope",
                                  "internal error",
                                  "something new"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const err_case_t *c = &cases[i];
        fix_t x;
        char msg[200];
        ALPACA(&x, "trades=AAPL");
        alpaca_up(&x);
        size_t nsent = x.r.nsent;
        snprintf(msg, sizeof msg, "[{\"T\":\"error\",\"code\":%d,\"msg\":\"%s\"}]", c->code,
                 texts[i]);
        assert_int_equal(feed(&x, msg), 0);
        const td_csess_decision_t *d = last(&x);
        assert_int_equal(d->code, c->code);
        assert_string_equal(td_csess_verdict_name(d->verdict), td_csess_verdict_name(c->verdict));
        switch (c->verdict) {
        case TD_CSD_RETRY:
        case TD_CSD_CONN_LIMIT:
        case TD_CSD_FATAL:
            assert_string_equal(d->why, c->why);
            assert_int_equal(d->phase, TD_CSESS_CLOSED);
            /* nothing more goes out on a connection being closed */
            x.want.k[TD_KIND_QUOTE].all = 1;
            td_csess_reconcile(&x.s);
            assert_int_equal(x.r.nsent, nsent);
            break;
        case TD_CSD_WARN:
            assert_string_equal(d->why, "");
            assert_string_equal(last_log(&x), c->why);
            assert_int_equal(x.r.level[x.r.nlog - 1], TD_LOG_WARN);
            assert_int_equal(d->phase, TD_CSESS_SUBSCRIBING);
            break;
        default:
            assert_int_equal(d->phase, TD_CSESS_SUBSCRIBING);
            break;
        }
        fix_free(&x);
    }
}

/* 405: the subscriptions requested but absent from the last confirmation. */
static void test_alpaca_405_lists_what_did_not_fit(void **state)
{
    (void)state;
    fix_t x;
    ALPACA(&x, "trades=AAPL,MSFT,TSLA;quotes=AAPL");
    alpaca_up(&x);
    assert_int_equal(
        feed(&x, "[{\"T\":\"subscription\",\"trades\":[\"AAPL\",\"MSFT\"],\"quotes\":[]}]"), 0);
    assert_int_equal(feed(&x, "[{\"T\":\"error\",\"code\":405,\"msg\":\"symbol limit exceeded\"}]"),
                     0);
    assert_int_equal(last(&x)->verdict, TD_CSD_SYMBOL_LIMIT);
    assert_int_equal(last(&x)->phase, TD_CSESS_STREAMING);
    assert_string_equal(last_log(&x),
                        "symbol limit exceeded (405): 2 subscription(s) did not fit: trades.TSLA "
                        "quotes.AAPL");
    assert_int_equal(x.r.level[x.r.nlog - 1], TD_LOG_ERROR);
    fix_free(&x);

    /* none confirmed, more than 50: the first 50 and "..." */
    char spec[1200] = "trades=";
    for (int i = 0; i < 60; i++)
        snprintf(spec + strlen(spec), sizeof spec - strlen(spec), "%sS%02d", i ? "," : "", i);
    ALPACA(&x, spec);
    alpaca_up(&x);
    assert_int_equal(feed(&x, "[{\"T\":\"error\",\"code\":405,\"msg\":\"symbol limit exceeded\"}]"),
                     0);
    const char *l = last_log(&x);
    assert_true(starts_with(l, "symbol limit exceeded (405): 60 subscription(s) did not fit: "
                               "trades.S00 trades.S01 "));
    assert_non_null(strstr(l, "trades.S49 ..."));
    assert_null(strstr(l, "S50"));
    fix_free(&x);

    /* nothing requested: said so */
    ALPACA(&x, NULL);
    alpaca_up(&x);
    assert_int_equal(feed(&x, "[{\"T\":\"error\",\"code\":405,\"msg\":\"symbol limit exceeded\"}]"),
                     0);
    assert_string_equal(last_log(&x),
                        "symbol limit exceeded (405): 0 subscription(s) did not fit: (none named)");
    fix_free(&x);
}

static void test_alpaca_other_success_and_greeting_again(void **state)
{
    (void)state;
    fix_t x;
    ALPACA(&x, "trades=AAPL");
    alpaca_up(&x);
    size_t nsent = x.r.nsent;
    assert_int_equal(feed(&x, CONNECTED), 0); /* a second greeting: no second auth */
    assert_int_equal(last(&x)->verdict, TD_CSD_NONE);
    assert_int_equal(x.r.nsent, nsent);
    assert_int_equal(feed(&x, "[{\"T\":\"success\",\"msg\":\"hello\"}]"), 0);
    assert_int_equal(last(&x)->verdict, TD_CSD_NONE);
    assert_string_equal(last_log(&x), "hello");
    assert_int_equal(x.r.level[x.r.nlog - 1], TD_LOG_INFO);
    fix_free(&x);
}

/* Once a closing decision is made, control messages change nothing: no
 * frame goes out on a connection being closed. A second "authenticated"
 * does not subscribe again. */
static void test_after_close_and_twice(void **state)
{
    (void)state;
    fix_t x;
    ALPACA(&x, "trades=AAPL");
    assert_int_equal(feed(&x, CONNECTED), 0);
    assert_int_equal(feed(&x,
                          "[{\"T\":\"error\",\"code\":402,\"msg\":\"auth failed\"},"
                          "{\"T\":\"success\",\"msg\":\"authenticated\"},"
                          "{\"T\":\"subscription\",\"trades\":[\"AAPL\"]},"
                          "{\"T\":\"error\",\"code\":406,\"msg\":\"connection limit exceeded\"}]"),
                     0);
    assert_int_equal(x.r.nd, 5);
    assert_int_equal(x.r.d[1].verdict, TD_CSD_FATAL);
    for (int i = 2; i < 5; i++) {
        assert_int_equal(x.r.d[i].verdict, TD_CSD_NONE);
        assert_int_equal(x.r.d[i].phase, TD_CSESS_CLOSED);
    }
    assert_int_equal(x.r.nsent, 1); /* the auth only */
    assert_int_equal(x.r.confirmed, 0);
    /* data is still delivered */
    assert_int_equal(feed(&x, "[{\"T\":\"t\",\"S\":\"AAPL\"}]"), 0);
    assert_int_equal(x.r.events, 1);
    fix_free(&x);

    ALPACA(&x, "trades=AAPL");
    alpaca_up(&x);
    assert_int_equal(x.r.nsent, 2);
    assert_int_equal(feed(&x, AUTHED), 0);
    assert_int_equal(last(&x)->verdict, TD_CSD_NONE);
    assert_int_equal(last(&x)->phase, TD_CSESS_SUBSCRIBING);
    assert_int_equal(x.r.nsent, 2);
    fix_free(&x);

    /* before any connection (closed): ignored */
    ALPACA(&x, "trades=AAPL");
    td_csess_end(&x.s);
    assert_int_equal(feed(&x, CONNECTED), 0);
    assert_int_equal(last(&x)->verdict, TD_CSD_NONE);
    assert_int_equal(x.r.nsent, 0);
    fix_free(&x);
}

/* After a reconnect the whole of `want` is subscribed again; while
 * streaming, interest changes go out as diffs (unsubscribe first). */
static void test_reconcile(void **state)
{
    (void)state;
    fix_t x;
    ALPACA(&x, "trades=AAPL;quotes=*");
    td_csess_reconcile(&x.s); /* before auth: nothing goes out */
    assert_int_equal(x.r.nsent, 0);
    alpaca_up(&x);
    assert_string_equal(x.r.sent[1],
                        "{\"action\":\"subscribe\",\"trades\":[\"AAPL\"],\"quotes\":[\"*\"]}");
    assert_int_equal(feed(&x, "[{\"T\":\"subscription\",\"trades\":[\"AAPL\"]}]"), 0);

    td_subset_add(&x.want, TD_KIND_TRADE, "MSFT", 4);
    td_subset_remove(&x.want, TD_KIND_TRADE, "AAPL", 4);
    x.want.k[TD_KIND_QUOTE].all = 0;
    td_csess_reconcile(&x.s);
    assert_int_equal(x.r.nsent, 4);
    assert_string_equal(x.r.sent[2],
                        "{\"action\":\"unsubscribe\",\"trades\":[\"AAPL\"],\"quotes\":[\"*\"]}");
    assert_string_equal(x.r.sent[3], "{\"action\":\"subscribe\",\"trades\":[\"MSFT\"]}");
    td_csess_reconcile(&x.s); /* nothing changed: nothing sent */
    assert_int_equal(x.r.nsent, 4);

    /* reconnect: the whole current set, once more */
    td_csess_end(&x.s);
    assert_int_equal(x.s.phase, TD_CSESS_CLOSED);
    td_subset_add(&x.want, TD_KIND_BAR, "SPY", 3);
    td_csess_reconcile(&x.s);
    assert_int_equal(x.r.nsent, 4);
    td_csess_begin(&x.s, 5000);
    alpaca_up(&x);
    assert_int_equal(x.r.nsent, 6);
    assert_string_equal(x.r.sent[4],
                        "{\"action\":\"auth\",\"key\":\"PKTEST\",\"secret\":\"s\\\"cret\"}");
    assert_string_equal(x.r.sent[5],
                        "{\"action\":\"subscribe\",\"trades\":[\"MSFT\"],\"bars\":[\"SPY\"]}");
    assert_int_equal(x.s.sub_messages, 4);
    fix_free(&x);
}

/* The plan's limit of distinct symbols: what does not fit waits (one
 * warning) and goes out once others are released. */
static void test_max_symbols(void **state)
{
    (void)state;
    fix_t x;
    fix_init(&x, &td_csess_alpaca, "trades=AAPL,MSFT,TSLA;quotes=AAPL", TD_ALPACA_KINDS, 0, 2);
    alpaca_up(&x);
    assert_string_equal(
        x.r.sent[1],
        "{\"action\":\"subscribe\",\"trades\":[\"AAPL\",\"MSFT\"],\"quotes\":[\"AAPL\"]}");
    assert_string_equal(last_log(&x),
                        "the plan's limit of 2 symbols is reached: 1 subscription(s) left out "
                        "until others are released (--upstream-max-symbols)");
    assert_int_equal(x.r.level[x.r.nlog - 1], TD_LOG_WARN);
    td_subset_remove(&x.want, TD_KIND_TRADE, "MSFT", 4);
    td_csess_reconcile(&x.s);
    assert_string_equal(x.r.sent[2], "{\"action\":\"unsubscribe\",\"trades\":[\"MSFT\"]}");
    assert_string_equal(x.r.sent[3], "{\"action\":\"subscribe\",\"trades\":[\"TSLA\"]}");
    fix_free(&x);
}

/* Long lists are split into messages of about max_sub_bytes. */
static void test_chunked(void **state)
{
    (void)state;
    fix_t x;
    char spec[8192] = "trades=";
    for (int i = 0; i < 500; i++)
        snprintf(spec + strlen(spec), sizeof spec - strlen(spec), "%sSYM%03d", i ? "," : "", i);
    memset(&x, 0, sizeof x);
    ALPACA(&x, spec);
    x.s.cfg.max_sub_bytes = 1024;
    alpaca_up(&x);
    assert_true(x.r.nsent > 4);
    size_t names = 0;
    for (size_t i = 1; i < x.r.nsent; i++) {
        assert_true(strlen(x.r.sent[i]) <= 1024);
        assert_true(starts_with(x.r.sent[i], "{\"action\":\"subscribe\",\"trades\":[\"SYM"));
        for (const char *p = x.r.sent[i]; (p = strstr(p, "SYM")); p += 3)
            names++;
    }
    assert_int_equal(names, 500);
    assert_int_equal(x.s.sub_messages, x.r.nsent - 1);
    fix_free(&x);
}

static void test_alpaca_since(void **state)
{
    (void)state;
    fix_t x;
    static const td_alpaca_since_t since[] = {{TD_KIND_TRADE, "AAPL", "1700000000000-3"},
                                              {TD_KIND_BAR, "SPY", "1700000000001"}};
    ALPACA(&x, "trades=AAPL,MSFT");
    x.s.cfg.since = since;
    x.s.cfg.nsince = 2;
    alpaca_up(&x);
    assert_string_equal(x.r.sent[1], "{\"action\":\"subscribe\",\"trades\":[\"AAPL\",\"MSFT\"],"
                                     "\"since\":{\"trades.AAPL\":\"1700000000000-3\"}}");
    td_subset_remove(&x.want, TD_KIND_TRADE, "MSFT", 4);
    td_csess_reconcile(&x.s);
    assert_string_equal(x.r.sent[2], "{\"action\":\"unsubscribe\",\"trades\":[\"MSFT\"]}");
    fix_free(&x);
}

static void test_handshake_timeout(void **state)
{
    (void)state;
    fix_t x;
    ALPACA(&x, "trades=AAPL"); /* began at 1000 */
    assert_int_equal(td_csess_tick(&x.s, 16000), 0);
    assert_int_equal(feed(&x, CONNECTED), 0);
    assert_int_equal(td_csess_tick(&x.s, 16001), 1);
    assert_int_equal(last(&x)->verdict, TD_CSD_RETRY);
    assert_string_equal(last(&x)->why, "no greeting, auth or subscription answer within 15s");
    assert_int_equal(x.s.phase, TD_CSESS_CLOSED);
    assert_int_equal(td_csess_tick(&x.s, 20000), 0); /* once */
    fix_free(&x);

    ALPACA(&x, "trades=AAPL");
    alpaca_up(&x);
    assert_int_equal(td_csess_tick(&x.s, 16001), 1); /* subscribed, never confirmed */
    fix_free(&x);

    ALPACA(&x, "trades=AAPL");
    alpaca_up(&x);
    assert_int_equal(feed(&x, "[{\"T\":\"subscription\",\"trades\":[\"AAPL\"]}]"), 0);
    assert_int_equal(td_csess_tick(&x.s, 100000), 0); /* streaming: the watchdog's business */
    fix_free(&x);
}

/* ---- Polygon ---------------------------------------------------------------- */

static void polygon_up(fix_t *x)
{
    assert_int_equal(feed(x, P_CONNECTED), 0);
    assert_int_equal(feed(x, P_AUTHED), 0);
}

static const char *success(const char *topics)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "[{\"ev\":\"status\",\"status\":\"success\",\"message\":\"subscribed to: %s\"}]",
             topics);
    return buf;
}

static void test_polygon_handshake(void **state)
{
    (void)state;
    fix_t x;
    POLYGON(&x, "trades=AAPL,MSFT;quotes=*");
    assert_int_equal(feed(&x, P_CONNECTED), 0);
    assert_int_equal(last(&x)->verdict, TD_CSD_SEND_AUTH);
    assert_string_equal(x.r.sent[0], "{\"action\":\"auth\",\"params\":\"PKTEST\"}");
    assert_int_equal(feed(&x, P_AUTHED), 0);
    assert_int_equal(last(&x)->verdict, TD_CSD_AUTHENTICATED);
    assert_int_equal(last(&x)->phase, TD_CSESS_SUBSCRIBING);
    assert_string_equal(x.r.sent[1], "{\"action\":\"subscribe\",\"params\":\"T.AAPL,T.MSFT,Q.*\"}");

    /* one status per topic: one log line once all three are in */
    size_t nlog = x.r.nlog;
    assert_int_equal(feed(&x, success("T.AAPL")), 0);
    assert_int_equal(last(&x)->verdict, TD_CSD_STREAMING);
    assert_int_equal(x.s.phase, TD_CSESS_STREAMING);
    assert_int_equal(feed(&x, success("Q.*")), 0);
    assert_int_equal(x.r.nlog, nlog);
    assert_int_equal(feed(&x, success("T.MSFT")), 0);
    assert_int_equal(x.r.nlog, nlog + 1);
    assert_string_equal(last_log(&x), "subscribed, streaming (T.AAPL, Q.*, T.MSFT)");
    assert_int_equal(x.r.confirmed, 3);
    assert_true(td_subset_names(&x.s.confirmed, TD_KIND_TRADE, "MSFT", 4));
    assert_true(x.s.confirmed.k[TD_KIND_QUOTE].all);

    /* later confirmations: debug */
    assert_int_equal(feed(&x, "[{\"ev\":\"status\",\"status\":\"success\",\"message\":"
                              "\"unsubscribed to: T.AAPL\"}]"),
                     0);
    assert_int_equal(last(&x)->verdict, TD_CSD_STREAMING);
    assert_false(td_subset_names(&x.s.confirmed, TD_KIND_TRADE, "AAPL", 4));
    assert_int_equal(x.r.level[x.r.nlog - 1], TD_LOG_DEBUG);
    assert_int_equal(x.r.confirmed, 4);

    assert_int_equal(
        feed(&x, "[{\"ev\":\"T\",\"sym\":\"MSFT\",\"p\":1},{\"ev\":\"Q\",\"sym\":\"X\"}]"), 0);
    assert_int_equal(x.r.events, 2);
    assert_int_equal(feed(&x, "[{\"ev\":\"XT\",\"pair\":\"BTC-USD\"}]"), 0);
    assert_int_equal(x.s.unknown, 1);
    fix_free(&x);
}

/* "subscribed to: T.AAPL,Q.AAPL" confirms two topics at once. */
static void test_polygon_combined_success(void **state)
{
    (void)state;
    fix_t x;
    POLYGON(&x, "trades=AAPL;quotes=AAPL;bars=AAPL");
    polygon_up(&x);
    assert_string_equal(x.r.sent[1],
                        "{\"action\":\"subscribe\",\"params\":\"T.AAPL,Q.AAPL,AM.AAPL\"}");
    size_t nlog = x.r.nlog;
    assert_int_equal(feed(&x, success("T.AAPL,Q.AAPL")), 0);
    assert_int_equal(last(&x)->verdict, TD_CSD_STREAMING);
    assert_int_equal(x.r.nlog, nlog);
    assert_true(td_subset_names(&x.s.confirmed, TD_KIND_QUOTE, "AAPL", 4));
    assert_int_equal(feed(&x, success("AM.AAPL")), 0);
    assert_string_equal(last_log(&x), "subscribed, streaming (T.AAPL,Q.AAPL, AM.AAPL)");
    fix_free(&x);

    /* an event before the last confirmation logs what was confirmed */
    POLYGON(&x, "trades=AAPL;quotes=AAPL");
    polygon_up(&x);
    assert_int_equal(feed(&x, success("T.AAPL")), 0);
    assert_int_equal(feed(&x, "[{\"ev\":\"T\",\"sym\":\"AAPL\"}]"), 0);
    assert_string_equal(last_log(&x), "subscribed, streaming (T.AAPL)");
    fix_free(&x);

    /* the connection ends before the last confirmation: logged then */
    POLYGON(&x, "trades=AAPL;quotes=AAPL");
    polygon_up(&x);
    assert_int_equal(feed(&x, success("Q.AAPL")), 0);
    td_csess_end(&x.s);
    assert_string_equal(last_log(&x), "subscribed, streaming (Q.AAPL)");
    fix_free(&x);
}

typedef struct {
    const char *status, *message;
    td_csd_t verdict;
    const char *why; /* the decision's reason, or the warning logged */
} status_case_t;

static void test_polygon_statuses(void **state)
{
    (void)state;
    static const status_case_t cases[] = {
        {"auth_failed", "authentication failed", TD_CSD_FATAL,
         "auth failed (auth_failed): check the key (POLYGON_API_KEY)"},
        {"auth_timeout", "No authentication request received.", TD_CSD_RETRY,
         "auth_timeout: No authentication request received."},
        {"max_connections", "Maximum number of connections exceeded.", TD_CSD_CONN_LIMIT,
         "max_connections"},
        {"max_connections",
         "Maximum number of websocket connections exceeded. You have reached the connection "
         "limit for your account. Please contact support at https://polygon.io/contact to "
         "increase your limit.",
         TD_CSD_CONN_LIMIT, "max_connections"},
        {"max_connections", "Maximum number of websocket connections exceeded. ", TD_CSD_CONN_LIMIT,
         "max_connections"},
        {"something_new", "what is this", TD_CSD_WARN, "status something_new: what is this"},
        {"success", "all good", TD_CSD_STREAMING, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const status_case_t *c = &cases[i];
        for (int authed = 0; authed < 2; authed++) {
            fix_t x;
            char msg[512];
            POLYGON(&x, "trades=AAPL");
            assert_int_equal(feed(&x, P_CONNECTED), 0);
            if (authed) assert_int_equal(feed(&x, P_AUTHED), 0);
            snprintf(msg, sizeof msg, "[{\"ev\":\"status\",\"status\":\"%s\",\"message\":\"%s\"}]",
                     c->status, c->message);
            size_t nsent = x.r.nsent;
            assert_int_equal(feed(&x, msg), 0);
            const td_csess_decision_t *d = last(&x);
            assert_int_equal(d->code, 0);
            if (c->verdict == TD_CSD_STREAMING && !authed) {
                /* a confirmation before auth: nothing subscribed yet */
                assert_int_equal(d->verdict, TD_CSD_WARN);
                assert_string_equal(last_log(&x),
                                    "a subscription confirmed before auth (in authenticating): "
                                    "ignored");
                assert_int_equal(d->phase, TD_CSESS_AUTHENTICATING);
                assert_int_equal(feed(&x, P_AUTHED), 0);
                assert_int_equal(last(&x)->verdict, TD_CSD_AUTHENTICATED);
                assert_int_equal(x.r.nsent, nsent + 1); /* subscribed all the same */
                fix_free(&x);
                continue;
            }
            assert_string_equal(td_csess_verdict_name(d->verdict),
                                td_csess_verdict_name(c->verdict));
            if (c->verdict == TD_CSD_WARN) {
                assert_string_equal(last_log(&x), c->why);
                assert_string_equal(d->why, "");
            } else {
                assert_string_equal(d->why, c->why);
            }
            if (c->verdict == TD_CSD_FATAL || c->verdict == TD_CSD_RETRY ||
                c->verdict == TD_CSD_CONN_LIMIT)
                assert_int_equal(d->phase, TD_CSESS_CLOSED);
            assert_int_equal(x.r.nsent, nsent);
            fix_free(&x);
        }
    }
}

/* A status whose message holds escapes is decoded before it is read. */
static void test_polygon_escaped_message(void **state)
{
    (void)state;
    fix_t x;
    POLYGON(&x, "trades=AAPL");
    polygon_up(&x);
    assert_int_equal(feed(&x, "[{\"ev\":\"status\",\"status\":\"success\",\"message\":"
                              "\"subscribed to: T.\\u0041APL\"}]"),
                     0);
    assert_true(td_subset_names(&x.s.confirmed, TD_KIND_TRADE, "AAPL", 4));
    assert_string_equal(last_log(&x), "subscribed, streaming (T.AAPL)");
    fix_free(&x);
}

static void test_polygon_reconnect(void **state)
{
    (void)state;
    fix_t x;
    POLYGON(&x, "trades=AAPL");
    polygon_up(&x);
    assert_int_equal(feed(&x, success("T.AAPL")), 0);
    td_subset_add(&x.want, TD_KIND_QUOTE, "MSFT", 4);
    td_csess_reconcile(&x.s);
    assert_string_equal(x.r.sent[2], "{\"action\":\"subscribe\",\"params\":\"Q.MSFT\"}");
    td_csess_end(&x.s);
    td_csess_begin(&x.s, 9000);
    assert_int_equal(x.s.confirmed.k[TD_KIND_TRADE].n, 0);
    polygon_up(&x);
    assert_string_equal(x.r.sent[3], "{\"action\":\"auth\",\"params\":\"PKTEST\"}");
    assert_string_equal(x.r.sent[4], "{\"action\":\"subscribe\",\"params\":\"T.AAPL,Q.MSFT\"}");
    fix_free(&x);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(td_csess_verdict_name(TD_CSD_CONN_LIMIT), "conn_limit");
    assert_string_equal(td_csess_verdict_name((td_csd_t)99), "?");
    assert_string_equal(td_csess_phase_name(TD_CSESS_SUBSCRIBING), "subscribing");
    assert_string_equal(td_csess_alpaca.name, "alpaca");
    assert_string_equal(td_csess_polygon.name, "polygon");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alpaca_handshake),
        cmocka_unit_test(test_alpaca_nothing_wanted),
        cmocka_unit_test(test_alpaca_error_codes),
        cmocka_unit_test(test_alpaca_405_lists_what_did_not_fit),
        cmocka_unit_test(test_alpaca_other_success_and_greeting_again),
        cmocka_unit_test(test_after_close_and_twice),
        cmocka_unit_test(test_reconcile),
        cmocka_unit_test(test_max_symbols),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_alpaca_since),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_polygon_handshake),
        cmocka_unit_test(test_polygon_combined_success),
        cmocka_unit_test(test_polygon_statuses),
        cmocka_unit_test(test_polygon_escaped_message),
        cmocka_unit_test(test_polygon_reconnect),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
