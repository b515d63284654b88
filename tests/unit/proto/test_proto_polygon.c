/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the Polygon splitter, tables, builders and params parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proto/polygon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXREC 64

typedef struct {
    int is_status;
    td_kind_t kind;
    td_polygon_status_type_t st;
    char sym[80];
    char status[80], msg[256];
    int has_status, has_msg;
    const char *raw;
    size_t raw_len;
} rec_t;

typedef struct {
    rec_t r[MAXREC];
    size_t n;
    td_polygon_stats_t st;
} sink_t;

static void on_event(void *ud, const td_event_t *ev)
{
    sink_t *s = ud;
    assert_true(s->n < MAXREC);
    rec_t *r = &s->r[s->n++];
    memset(r, 0, sizeof *r);
    r->kind = ev->kind;
    assert_true(ev->symbol_len > 0 && ev->symbol_len < sizeof r->sym);
    memcpy(r->sym, ev->symbol, ev->symbol_len);
    r->raw = ev->payload;
    r->raw_len = ev->payload_len;
}

static void on_status(void *ud, const td_polygon_status_t *st)
{
    sink_t *s = ud;
    assert_true(s->n < MAXREC);
    rec_t *r = &s->r[s->n++];
    memset(r, 0, sizeof *r);
    r->is_status = 1;
    r->st = st->type;
    r->has_status = st->status != NULL;
    if (st->status) {
        assert_true(st->status_len < sizeof r->status);
        memcpy(r->status, st->status, st->status_len);
    }
    r->has_msg = st->message != NULL;
    if (st->message) {
        assert_true(st->message_len < sizeof r->msg);
        memcpy(r->msg, st->message, st->message_len);
    }
    r->raw = st->raw;
    r->raw_len = st->raw_len;
}

static const td_polygon_cb_t cbs = {on_event, on_status};

static int split(sink_t *s, td_polygon_cluster_t c, const char *frame)
{
    memset(s, 0, sizeof *s);
    return td_polygon_split(c, frame, strlen(frame), &cbs, s, &s->st);
}

static void assert_raw(const rec_t *r, const char *frame, const char *obj)
{
    const char *at = strstr(frame, obj);
    assert_non_null(at);
    assert_ptr_equal(r->raw, at);
    assert_int_equal(r->raw_len, strlen(obj));
}

/* A one-element frame [obj] of cluster c gives one event (kind, sym). */
static void expect_one(td_polygon_cluster_t c, const char *obj, td_kind_t kind, const char *sym)
{
    char frame[2048];
    sink_t s;
    snprintf(frame, sizeof frame, "[%s]", obj);
    assert_int_equal(split(&s, c, frame), TD_OK);
    assert_int_equal(s.n, 1);
    assert_false(s.r[0].is_status);
    assert_int_equal(s.r[0].kind, kind);
    assert_string_equal(s.r[0].sym, sym);
    assert_raw(&s.r[0], frame, obj);
    assert_int_equal(s.st.events, 1);
    assert_int_equal(s.st.unknown, 0);
    assert_int_equal(s.st.frames, 1);
}

/* ... and gives nothing (counted unknown) in cluster c. */
static void expect_unknown(td_polygon_cluster_t c, const char *obj)
{
    char frame[2048];
    sink_t s;
    snprintf(frame, sizeof frame, "[%s]", obj);
    assert_int_equal(split(&s, c, frame), TD_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.st.unknown, 1);
}

static void expect_malformed(const char *frame, size_t len)
{
    sink_t s;
    memset(&s, 0, sizeof s);
    int rc = td_polygon_split(TD_POLYGON_STOCKS, frame, len, &cbs, &s, &s.st);
    if (rc != TD_EMALFORMED) fail_msg("accepted (rc=%d): %.*s", rc, (int)len, frame);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.st.malformed, 1);
    assert_int_equal(s.st.events + s.st.status + s.st.unknown, 0);
}

/* ---- PROTOCOLS.md §3.3 examples ------------------------------------------- */

#define STOCK_T                                                                                    \
    "{\"ev\":\"T\",\"sym\":\"MSFT\",\"x\":4,\"i\":\"12345\",\"z\":3,\"p\":114.125,\"s\":100,"      \
    "\"c\":[0,12],\"t\":1536036818784,\"q\":3681328}"
#define STOCK_Q                                                                                    \
    "{\"ev\":\"Q\",\"sym\":\"MSFT\",\"bx\":4,\"bp\":114.125,\"bs\":100,\"ax\":7,\"ap\":114.128,"   \
    "\"as\":160,\"c\":0,\"i\":[604],\"t\":1536036818784,\"q\":50385480,\"z\":3}"
#define STOCK_AM                                                                                   \
    "{\"ev\":\"AM\",\"sym\":\"GTE\",\"v\":4110,\"av\":9470157,\"op\":0.4372,\"vw\":0.4488,"        \
    "\"o\":0.4488,\"c\":0.4486,\"h\":0.4489,\"l\":0.4486,\"a\":0.4352,\"z\":685,"                  \
    "\"s\":1610144640000,\"e\":1610144700000}"
#define STOCK_A                                                                                    \
    "{\"ev\":\"A\",\"sym\":\"GTE\",\"v\":41,\"av\":9470157,\"op\":0.4372,\"vw\":0.4488,"           \
    "\"o\":0.4488,\"c\":0.4486,\"h\":0.4489,\"l\":0.4486,\"a\":0.4352,\"z\":685,"                  \
    "\"s\":1610144640000,\"e\":1610144641000,\"otc\":true}"
#define STOCK_LULD                                                                                 \
    "{\"ev\":\"LULD\",\"T\":\"MSFT\",\"h\":218.96,\"l\":198.11,\"i\":[21],\"z\":3,"                \
    "\"t\":1601316752683746,\"q\":290317}"
#define STOCK_NOI                                                                                  \
    "{\"ev\":\"NOI\",\"T\":\"NTEST.Q\",\"t\":1601318039223013600,\"at\":930,\"a\":\"M\","          \
    "\"i\":44,\"x\":10,\"o\":480,\"p\":440,\"b\":25.03}"
#define CRYPTO_XT                                                                                  \
    "{\"ev\":\"XT\",\"pair\":\"BTC-USD\",\"p\":33021.9,\"t\":1610462007425,\"s\":0.01616617,"      \
    "\"c\":[2],\"i\":14272084,\"x\":3,\"r\":1610462007576}"
#define CRYPTO_XQ                                                                                  \
    "{\"ev\":\"XQ\",\"pair\":\"BTC-USD\",\"bp\":33052.79,\"bs\":0.48,\"ap\":33073.19,"             \
    "\"as\":0.601,\"t\":1610462411115,\"x\":1,\"r\":1610462411128}"
#define CRYPTO_XL2                                                                                 \
    "{\"ev\":\"XL2\",\"pair\":\"BTC-USD\",\"t\":1610462411115,\"r\":1610462411128,\"x\":1,"        \
    "\"b\":[[33712.71,0.18635],[33712.7,0.134]],\"a\":[[33718.23,3.5527483],[33718.24,0.1]]}"
#define CRYPTO_XA                                                                                  \
    "{\"ev\":\"XA\",\"pair\":\"BCD-USD\",\"v\":951.6112,\"vw\":0.7756,\"z\":73,\"o\":0.772,"       \
    "\"c\":0.784,\"h\":0.784,\"l\":0.771,\"s\":1610463240000,\"e\":1610463300000}"
#define FOREX_CA                                                                                   \
    "{\"ev\":\"CA\",\"pair\":\"USD/EUR\",\"o\":0.8687,\"c\":0.86889,\"h\":0.86889,"                \
    "\"l\":0.8686,\"v\":20,\"s\":1539145740000,\"e\":1539145800000}"
#define FOREX_C                                                                                    \
    "{\"ev\":\"C\",\"p\":\"USD/CNH\",\"x\":44,\"a\":6.83366,\"b\":6.83363,\"t\":1536036818784}"

static void test_stocks(void **state)
{
    (void)state;
    expect_one(TD_POLYGON_STOCKS, STOCK_T, TD_KIND_TRADE, "MSFT");
    expect_one(TD_POLYGON_STOCKS, STOCK_Q, TD_KIND_QUOTE, "MSFT");
    expect_one(TD_POLYGON_STOCKS, STOCK_AM, TD_KIND_BAR, "GTE");
    expect_one(TD_POLYGON_STOCKS, STOCK_A, TD_KIND_SECOND_BAR, "GTE");
    expect_one(TD_POLYGON_STOCKS, STOCK_LULD, TD_KIND_LULD, "MSFT");
    expect_one(TD_POLYGON_STOCKS, STOCK_NOI, TD_KIND_IMBALANCE, "NTEST.Q");
    /* LULD and NOI name the ticker in T, not sym. */
    expect_unknown(TD_POLYGON_STOCKS, "{\"ev\":\"LULD\",\"sym\":\"MSFT\"}");
    expect_unknown(TD_POLYGON_STOCKS, "{\"ev\":\"T\",\"T\":\"MSFT\"}");
    /* Other clusters' prefixes are unknown here. */
    expect_unknown(TD_POLYGON_STOCKS, CRYPTO_XT);
    expect_unknown(TD_POLYGON_STOCKS, FOREX_C);
}

static void test_options(void **state)
{
    (void)state;
    expect_one(TD_POLYGON_OPTIONS,
               "{\"ev\":\"T\",\"sym\":\"O:SPY241220P00720000\",\"x\":65,\"p\":1.25,\"s\":10,"
               "\"c\":[227],\"t\":1703001234567,\"q\":123}",
               TD_KIND_TRADE, "O:SPY241220P00720000");
    expect_one(TD_POLYGON_OPTIONS,
               "{\"ev\":\"Q\",\"sym\":\"O:SPY241220P00720000\",\"bx\":65,\"ax\":65,\"bp\":1.2,"
               "\"ap\":1.3,\"bs\":5,\"as\":7,\"t\":1703001234568,\"q\":124}",
               TD_KIND_QUOTE, "O:SPY241220P00720000");
    expect_one(TD_POLYGON_OPTIONS, STOCK_AM, TD_KIND_BAR, "GTE");
    expect_one(TD_POLYGON_OPTIONS, STOCK_A, TD_KIND_SECOND_BAR, "GTE");
    expect_unknown(TD_POLYGON_OPTIONS, STOCK_LULD);
    expect_unknown(TD_POLYGON_OPTIONS, STOCK_NOI);
}

static void test_forex_crypto(void **state)
{
    (void)state;
    expect_one(TD_POLYGON_FOREX, FOREX_C, TD_KIND_QUOTE, "USD/CNH");
    /* The spec example has "x":"44", a string. */
    expect_one(TD_POLYGON_FOREX, "{\"ev\":\"C\",\"p\":\"USD/CNH\",\"x\":\"44\",\"a\":6.8}",
               TD_KIND_QUOTE, "USD/CNH");
    expect_one(TD_POLYGON_FOREX, FOREX_CA, TD_KIND_BAR, "USD/EUR");
    expect_one(TD_POLYGON_FOREX, "{\"ev\":\"CAS\",\"pair\":\"USD/EUR\",\"o\":0.8687,\"v\":2}",
               TD_KIND_SECOND_BAR, "USD/EUR");
    expect_unknown(TD_POLYGON_FOREX, "{\"ev\":\"C\",\"pair\":\"USD/CNH\",\"p\":6.8}");
    expect_unknown(TD_POLYGON_FOREX, STOCK_T);
    expect_one(TD_POLYGON_CRYPTO, CRYPTO_XT, TD_KIND_TRADE, "BTC-USD");
    expect_one(TD_POLYGON_CRYPTO, CRYPTO_XQ, TD_KIND_QUOTE, "BTC-USD");
    expect_one(TD_POLYGON_CRYPTO, CRYPTO_XL2, TD_KIND_ORDERBOOK, "BTC-USD");
    expect_one(TD_POLYGON_CRYPTO, CRYPTO_XA, TD_KIND_BAR, "BCD-USD");
    expect_one(TD_POLYGON_CRYPTO, "{\"ev\":\"XAS\",\"pair\":\"BCD-USD\",\"v\":1.5}",
               TD_KIND_SECOND_BAR, "BCD-USD");
    expect_unknown(TD_POLYGON_CRYPTO, FOREX_CA);
    expect_unknown(TD_POLYGON_CRYPTO, STOCK_Q);
}

static void expect_status(const char *obj, td_polygon_status_type_t type, const char *status,
                          const char *msg)
{
    char frame[1024];
    sink_t s;
    snprintf(frame, sizeof frame, "[%s]", obj);
    for (int c = 0; c < TD_POLYGON__CLUSTERS; c++) {
        assert_int_equal(split(&s, (td_polygon_cluster_t)c, frame), TD_OK);
        assert_int_equal(s.n, 1);
        assert_true(s.r[0].is_status);
        assert_int_equal(s.r[0].st, type);
        assert_int_equal(s.r[0].has_status, status != NULL);
        if (status) assert_string_equal(s.r[0].status, status);
        assert_int_equal(s.r[0].has_msg, msg != NULL);
        if (msg) assert_string_equal(s.r[0].msg, msg);
        assert_raw(&s.r[0], frame, obj);
        assert_int_equal(s.st.status, 1);
        assert_int_equal(s.st.events + s.st.unknown, 0);
    }
}

#define MAXCONN_NEW                                                                                \
    "Maximum number of websocket connections exceeded. You have reached the connection limit "     \
    "for your account. Please contact support at https://polygon.io/contact to increase your "     \
    "limit."

static void test_status(void **state)
{
    (void)state;
    expect_status("{\"ev\":\"status\",\"status\":\"connected\",\"message\":\"Connected "
                  "Successfully\"}",
                  TD_POLYGON_ST_CONNECTED, "connected", "Connected Successfully");
    expect_status("{\"ev\":\"status\",\"status\":\"auth_success\",\"message\":\"authenticated\"}",
                  TD_POLYGON_ST_AUTH_SUCCESS, "auth_success", "authenticated");
    expect_status("{\"ev\":\"status\",\"status\":\"auth_failed\",\"message\":\"authentication "
                  "failed\"}",
                  TD_POLYGON_ST_AUTH_FAILED, "auth_failed", "authentication failed");
    expect_status("{\"ev\":\"status\",\"status\":\"auth_timeout\",\"message\":\"No authentication "
                  "request received.\"}",
                  TD_POLYGON_ST_AUTH_TIMEOUT, "auth_timeout",
                  "No authentication request received.");
    expect_status("{\"ev\":\"status\",\"status\":\"success\",\"message\":\"subscribed to: "
                  "T.AAPL\"}",
                  TD_POLYGON_ST_SUCCESS, "success", "subscribed to: T.AAPL");
    expect_status("{\"ev\":\"status\",\"status\":\"success\",\"message\":\"subscribed to: "
                  "T.AAPL,Q.AAPL,A.AAPL\"}",
                  TD_POLYGON_ST_SUCCESS, "success", "subscribed to: T.AAPL,Q.AAPL,A.AAPL");
    expect_status("{\"ev\":\"status\",\"status\":\"max_connections\",\"message\":\"Maximum number "
                  "of connections exceeded.\"}",
                  TD_POLYGON_ST_MAX_CONNECTIONS, "max_connections",
                  "Maximum number of connections exceeded.");
    expect_status("{\"ev\":\"status\",\"status\":\"max_connections\",\"message\":\"" MAXCONN_NEW
                  "\"}",
                  TD_POLYGON_ST_MAX_CONNECTIONS, "max_connections", MAXCONN_NEW);
    expect_status("{\"ev\":\"status\",\"status\":\"max_connections\",\"message\":\"Maximum number "
                  "of websocket connections exceeded. \"}",
                  TD_POLYGON_ST_MAX_CONNECTIONS, "max_connections",
                  "Maximum number of websocket connections exceeded. ");
    /* Other statuses, an escaped one, none, a non-string one, member order. */
    expect_status("{\"ev\":\"status\",\"status\":\"error\",\"message\":\"x\"}", TD_POLYGON_ST_OTHER,
                  "error", "x");
    expect_status("{\"message\":\"m\",\"status\":\"auth\\u005fsuccess\",\"ev\":\"status\"}",
                  TD_POLYGON_ST_AUTH_SUCCESS, "auth\\u005fsuccess", "m");
    expect_status("{\"ev\":\"status\"}", TD_POLYGON_ST_OTHER, NULL, NULL);
    expect_status("{\"ev\":\"status\",\"status\":1,\"message\":null}", TD_POLYGON_ST_OTHER, NULL,
                  NULL);
    expect_status("{\"ev\":\"status\",\"status\":\"connected\",\"status\":\"Connected\"}",
                  TD_POLYGON_ST_OTHER, "Connected", NULL);
}

static void test_mixed(void **state)
{
    (void)state;
    const char *frame = "[" STOCK_T "," STOCK_Q ",{\"ev\":\"status\",\"status\":\"success\","
                        "\"message\":\"subscribed to: AM.*\"}," STOCK_AM ",{\"ev\":\"ZZ\","
                        "\"sym\":\"X\"},{\"sym\":\"NOEV\"},{}," CRYPTO_XT "," STOCK_NOI "]";
    sink_t s;
    assert_int_equal(split(&s, TD_POLYGON_STOCKS, frame), TD_OK);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.r[0].kind, TD_KIND_TRADE);
    assert_raw(&s.r[0], frame, STOCK_T);
    assert_int_equal(s.r[1].kind, TD_KIND_QUOTE);
    assert_raw(&s.r[1], frame, STOCK_Q);
    assert_true(s.r[2].is_status);
    assert_int_equal(s.r[2].st, TD_POLYGON_ST_SUCCESS);
    assert_int_equal(s.r[3].kind, TD_KIND_BAR);
    assert_string_equal(s.r[3].sym, "GTE");
    assert_int_equal(s.r[4].kind, TD_KIND_IMBALANCE);
    assert_string_equal(s.r[4].sym, "NTEST.Q");
    assert_int_equal(s.st.events, 4);
    assert_int_equal(s.st.status, 1);
    assert_int_equal(s.st.unknown, 4); /* ZZ, no ev, {}, XT on stocks */
    /* Stats add up over calls; NULL callbacks and stats are fine. */
    assert_int_equal(td_polygon_split(TD_POLYGON_STOCKS, frame, strlen(frame), NULL, NULL, &s.st),
                     0);
    assert_int_equal(s.st.frames, 2);
    assert_int_equal(s.st.events, 8);
    td_polygon_cb_t none = {NULL, NULL};
    assert_int_equal(td_polygon_split(TD_POLYGON_STOCKS, frame, strlen(frame), &none, NULL, NULL),
                     0);
    /* Empty frames and whitespace. */
    assert_int_equal(split(&s, TD_POLYGON_CRYPTO, " [ ] "), 0);
    assert_int_equal(s.n + s.st.unknown, 0);
    assert_int_equal(split(&s, TD_POLYGON_CRYPTO, "\r\n[ {\"ev\" : \"XT\" ,\t\"pair\":\"A-B\" } ]"),
                     0);
    assert_string_equal(s.r[0].sym, "A-B");
    /* An out-of-range cluster offers nothing, but statuses still arrive. */
    assert_int_equal(split(&s, (td_polygon_cluster_t)9, "[" STOCK_T ",{\"ev\":\"status\"}]"), 0);
    assert_int_equal(s.st.unknown, 1);
    assert_int_equal(s.st.status, 1);
}

static void test_symbols(void **state)
{
    (void)state;
    /* Escaped names, values and symbols are compared/decoded. */
    expect_one(TD_POLYGON_STOCKS, "{\"\\u0065v\":\"\\u0054\",\"s\\u0079m\":\"BRK\\/B\"}",
               TD_KIND_TRADE, "BRK/B");
    expect_one(TD_POLYGON_FOREX, "{\"ev\":\"C\",\"p\":\"EUR\\u002fUSD\"}", TD_KIND_QUOTE,
               "EUR/USD");
    expect_one(TD_POLYGON_CRYPTO, "{\"ev\":\"XT\",\"pair\":\"\\ud83d\\ude00-USD\"}", TD_KIND_TRADE,
               "\xf0\x9f\x98\x80-USD");
    expect_one(TD_POLYGON_STOCKS, "{\"ev\":\"T\",\"sym\":\"caf\xc3\xa9\"}", TD_KIND_TRADE,
               "caf\xc3\xa9");
    /* Last value wins; a non-string value clears the symbol. */
    expect_one(TD_POLYGON_STOCKS, "{\"ev\":\"Q\",\"sym\":\"A\",\"sym\":\"B\"}", TD_KIND_QUOTE, "B");
    expect_one(TD_POLYGON_STOCKS, "{\"ev\":\"XT\",\"sym\":\"A\",\"ev\":\"Q\"}", TD_KIND_QUOTE, "A");
    expect_unknown(TD_POLYGON_STOCKS, "{\"ev\":\"Q\",\"sym\":\"A\",\"sym\":null}");
    expect_unknown(TD_POLYGON_STOCKS, "{\"ev\":\"Q\",\"ev\":1,\"sym\":\"A\"}");
    expect_unknown(TD_POLYGON_STOCKS, "{\"ev\":\"q\",\"sym\":\"A\"}");
    expect_unknown(TD_POLYGON_STOCKS, "{\"ev\":\"TT\",\"sym\":\"A\"}");
    /* Unusable symbols: empty, too long, control characters, lone surrogates. */
    expect_unknown(TD_POLYGON_STOCKS, "{\"ev\":\"T\",\"sym\":\"\"}");
    expect_unknown(TD_POLYGON_STOCKS, "{\"ev\":\"T\",\"sym\":\"\\u0000\"}");
    expect_unknown(TD_POLYGON_STOCKS, "{\"ev\":\"T\",\"sym\":\"A\\nB\"}");
    expect_unknown(TD_POLYGON_STOCKS, "{\"ev\":\"T\",\"sym\":\"\\ud800\"}");
    expect_unknown(TD_POLYGON_STOCKS, "{\"ev\":\"T\",\"sym\":\"\\udc00\\ud800\"}");
    char obj[256], sym[80];
    memset(sym, 'A', 64);
    sym[64] = '\0';
    snprintf(obj, sizeof obj, "{\"ev\":\"T\",\"sym\":\"%s\"}", sym);
    expect_one(TD_POLYGON_STOCKS, obj, TD_KIND_TRADE, sym);
    snprintf(obj, sizeof obj, "{\"ev\":\"T\",\"sym\":\"%sA\"}", sym);
    expect_unknown(TD_POLYGON_STOCKS, obj);
    snprintf(obj, sizeof obj, "{\"ev\":\"T\",\"sym\":\"%.63s\\u00e9\"}", sym);
    expect_unknown(TD_POLYGON_STOCKS, obj); /* 65 bytes once decoded */
}

static void test_malformed(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         " ",
                         "{}",
                         STOCK_T,
                         "[1]",
                         "[\"a\"]",
                         "[[]]",
                         "[null]",
                         "[{}",
                         "[{}]]",
                         "[{}] x",
                         "[{},]",
                         "[,{}]",
                         "[{}{}]",
                         "[{\"ev\":\"T\"},1]",
                         "[{\"ev\":\"T\",\"p\":01}]",
                         "[{\"ev\":\"T\",\"p\":1.}]",
                         "[{\"ev\":\"T\",\"p\":+1}]",
                         "[{\"ev\":\"T\",\"sym\":\"A\x01\"}]",
                         "[{\"ev\":\"T\",\"sym\":\"\\x41\"}]",
                         "[{\"ev\":\"T\",\"sym\":\"\xc0\xaf\"}]",
                         "[{\"ev\":\"T\",\"sym\":\"\xed\xa0\x80\"}]",
                         "[{\"ev\":\"T\",\"c\":[0,]}]",
                         "[{\"ev\":\"T\",\"o\":{\"a\"}}]",
                         "[{\"ev\":\"T\" \"sym\":\"A\"}]",
                         "[{\"ev\":tru}]",
                         "\xef\xbb\xbf[]",
                         NULL};
    for (int i = 0; bad[i]; i++)
        expect_malformed(bad[i], strlen(bad[i]));
    expect_malformed("[{}]\0", 5);
    /* The good parts of a frame are not dispatched when a later part is bad. */
    const char *f = "[" STOCK_T "," STOCK_Q ",{\"ev\":\"T\",\"sym\":\"B\",\"p\":1.}]";
    expect_malformed(f, strlen(f));

    /* Every proper prefix of valid frames is rejected. */
    const char *frames[] = {
        "[" STOCK_T "," STOCK_Q "," STOCK_NOI "]",
        "[" CRYPTO_XL2 ",{\"ev\":\"XT\",\"pair\":\"\\ud83d\\ude00\",\"n\":-1.5e-3,\"ok\":true,"
        "\"no\":false,\"nil\":null,\"o\":{\"a\":[{}]}}]",
        "[{\"ev\":\"status\",\"status\":\"max_connections\",\"message\":\"" MAXCONN_NEW "\"}]",
        "[{\"ev\":\"C\",\"p\":\"caf\xc3\xa9/\xe2\x82\xac\"}]",
    };
    for (size_t i = 0; i < sizeof frames / sizeof *frames; i++) {
        size_t n = strlen(frames[i]);
        sink_t s;
        memset(&s, 0, sizeof s);
        assert_int_equal(td_polygon_split(TD_POLYGON_STOCKS, frames[i], n, &cbs, &s, &s.st), 0);
        assert_int_equal(s.st.events + s.st.status + s.st.unknown, i == 0 ? 3 : i == 1 ? 2 : 1);
        for (size_t k = 0; k < n; k++) {
            char *copy = malloc(k ? k : 1); /* exact size so ASan sees overreads */
            memcpy(copy, frames[i], k);
            expect_malformed(copy, k);
            free(copy);
        }
    }
    sink_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(td_polygon_split(TD_POLYGON_STOCKS, NULL, 0, &cbs, &s, &s.st), TD_EMALFORMED);
}

static void test_limits(void **state)
{
    (void)state;
    char frame[512];
    sink_t s;
    /* Depth: the array is 1, the element 2; 64 is allowed, 65 is too deep. */
    for (int depth = 63; depth <= 66; depth++) {
        int open = depth - 2, n = 0;
        n += snprintf(frame + n, sizeof frame - (size_t)n, "[{\"ev\":\"T\",\"sym\":\"A\",\"c\":");
        for (int i = 0; i < open; i++)
            frame[n++] = '[';
        for (int i = 0; i < open; i++)
            frame[n++] = ']';
        snprintf(frame + n, sizeof frame - (size_t)n, "}]");
        int rc = split(&s, TD_POLYGON_STOCKS, frame);
        assert_int_equal(rc, depth <= 64 ? TD_OK : TD_ETOOBIG);
        assert_int_equal(s.n, depth <= 64 ? 1 : 0);
        assert_int_equal(s.st.malformed, depth <= 64 ? 0 : 1);
    }
    /* More elements than the stack holds: the heap path, order kept. */
    td_buf_t b = TD_BUF_INIT;
    td_buf_appendc(&b, '[');
    for (int i = 0; i < 5000; i++)
        td_buf_appendf(&b, "%s{\"ev\":\"%s\",\"pair\":\"S%d\"}", i ? "," : "", i % 7 ? "XQ" : "Q",
                       i);
    td_buf_appendc(&b, ']');
    td_polygon_stats_t st = {0};
    assert_int_equal(td_polygon_split(TD_POLYGON_CRYPTO, b.data, b.len, NULL, NULL, &st), 0);
    assert_int_equal(st.unknown, 715);
    assert_int_equal(st.events, 5000 - 715);
    /* A million elements are allowed, one more is not. */
    td_buf_reset(&b);
    td_buf_appendc(&b, '[');
    for (int i = 0; i < 1000000; i++)
        td_buf_append(&b, "{},", 3);
    b.data[b.len - 1] = ']';
    memset(&st, 0, sizeof st);
    assert_int_equal(td_polygon_split(TD_POLYGON_STOCKS, b.data, b.len, NULL, NULL, &st), 0);
    assert_int_equal(st.unknown, 1000000);
    b.data[b.len - 1] = ',';
    td_buf_append(&b, "{}]", 3);
    assert_int_equal(td_polygon_split(TD_POLYGON_STOCKS, b.data, b.len, NULL, NULL, &st),
                     TD_ETOOBIG);
    assert_int_equal(st.malformed, 1);
    td_buf_free(&b);
}

static void test_int64(void **state)
{
    (void)state;
    int64_t v = 0;
    const char *luld = STOCK_LULD, *noi = STOCK_NOI;
    assert_int_equal(td_polygon_int64(luld, strlen(luld), "t", &v), 0);
    assert_int_equal(v, 1601316752683746); /* µs in the spec example */
    assert_int_equal(td_polygon_int64(noi, strlen(noi), "t", &v), 0);
    assert_int_equal(v, 1601318039223013600); /* ns */
    assert_int_equal(td_polygon_int64(noi, strlen(noi), "at", &v), 0);
    assert_int_equal(v, 930);
    const char *o =
        "{\"a\":-9223372036854775808,\"b\":9223372036854775807,\"c\":9223372036854775808,"
        "\"d\":1.5,\"e\":1e3,\"f\":\"1\",\"g\":[1],\"\\u0068\":7,\"i\":1,\"i\":2,"
        "\"j\":-0,\"k\":-9223372036854775809}";
    size_t n = strlen(o);
    assert_int_equal(td_polygon_int64(o, n, "a", &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(td_polygon_int64(o, n, "b", &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(td_polygon_int64(o, n, "h", &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(td_polygon_int64(o, n, "i", &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(td_polygon_int64(o, n, "j", &v), 0);
    assert_int_equal(v, 0);
    const char *no[] = {"c", "d", "e", "f", "g", "k", "z", "", NULL};
    for (int i = 0; no[i]; i++)
        assert_int_equal(td_polygon_int64(o, n, no[i], &v), -1);
    assert_int_equal(td_polygon_int64("{\"t\":1", 6, "t", &v), -1);
    assert_int_equal(td_polygon_int64("[{\"t\":1}]", 9, "t", &v), -1);
    assert_int_equal(td_polygon_int64(NULL, 0, "t", &v), -1);
}

typedef struct {
    char out[1024];
} items_t;

static void on_item(void *ud, td_kind_t k, const char *sym, size_t n)
{
    items_t *it = ud;
    size_t len = strlen(it->out);
    snprintf(it->out + len, sizeof it->out - len, "%s%s=%.*s", len ? ";" : "", td_kind_name(k),
             (int)n, sym);
}

static void expect_params(td_polygon_cluster_t c, const char *params, int count, const char *out)
{
    items_t it = {{0}};
    const char *bad = NULL;
    size_t bad_len = 0;
    assert_int_equal(
        td_polygon_params_each(c, params, strlen(params), on_item, &it, &bad, &bad_len), count);
    assert_string_equal(it.out, out);
    assert_null(bad);
}

static void expect_bad_params(td_polygon_cluster_t c, const char *params, const char *item)
{
    items_t it = {{0}};
    const char *bad = NULL;
    size_t bad_len = 99;
    assert_int_equal(
        td_polygon_params_each(c, params, strlen(params), on_item, &it, &bad, &bad_len), -1);
    assert_string_equal(it.out, ""); /* fn is never called for a bad list */
    assert_non_null(bad);
    assert_true(bad >= params && bad + bad_len <= params + strlen(params));
    assert_int_equal(bad_len, strlen(item));
    assert_memory_equal(bad, item, bad_len);
}

static void test_params(void **state)
{
    (void)state;
    expect_params(TD_POLYGON_STOCKS, "T.AAPL,Q.MSFT,AM.*", 3, "trades=AAPL;quotes=MSFT;bars=*");
    expect_params(TD_POLYGON_STOCKS, " AM.AAPL, AM.MSFT ,\tA.BRK.B\r\n,LULD.NTEST.Q,NOI.*", 5,
                  "bars=AAPL;bars=MSFT;secondBars=BRK.B;lulds=NTEST.Q;imbalances=*");
    expect_params(TD_POLYGON_OPTIONS, "T.O:SPY241220P00720000,Q.*", 2,
                  "trades=O:SPY241220P00720000;quotes=*");
    expect_params(TD_POLYGON_FOREX, "C.EUR/USD,CA.*,CAS.USD/JPY", 3,
                  "quotes=EUR/USD;bars=*;secondBars=USD/JPY");
    expect_params(TD_POLYGON_CRYPTO, "XT.BTC-USD,XQ.*,XA.E-U,XAS.*,XL2.BTC-USD", 5,
                  "trades=BTC-USD;quotes=*;bars=E-U;secondBars=*;orderbooks=BTC-USD");
    expect_params(TD_POLYGON_STOCKS, "", 0, "");
    expect_params(TD_POLYGON_STOCKS, "  \t ", 0, "");
    assert_int_equal(td_polygon_params_each(TD_POLYGON_STOCKS, NULL, 0, on_item, NULL, NULL, NULL),
                     0);
    /* Only the listed length is read. */
    items_t it = {{0}};
    assert_int_equal(
        td_polygon_params_each(TD_POLYGON_STOCKS, "T.AAPL,Q.MSFT", 6, on_item, &it, NULL, NULL), 1);
    assert_string_equal(it.out, "trades=AAPL");

    expect_bad_params(TD_POLYGON_STOCKS, "T.AAPL,XT.BTC-USD", "XT.BTC-USD");
    expect_bad_params(TD_POLYGON_CRYPTO, "T.AAPL", "T.AAPL");
    expect_bad_params(TD_POLYGON_FOREX, "C.EUR/USD, Q.EUR/USD ", "Q.EUR/USD");
    expect_bad_params(TD_POLYGON_STOCKS, "T.AAPL, AAPL", "AAPL");
    expect_bad_params(TD_POLYGON_STOCKS, "*", "*");
    expect_bad_params(TD_POLYGON_STOCKS, "T.", "T.");
    expect_bad_params(TD_POLYGON_STOCKS, ".AAPL", ".AAPL");
    expect_bad_params(TD_POLYGON_STOCKS, "t.AAPL", "t.AAPL");
    expect_bad_params(TD_POLYGON_STOCKS, "status.AAPL", "status.AAPL");
    expect_bad_params(TD_POLYGON_STOCKS, "T.AAPL,", "");
    expect_bad_params(TD_POLYGON_STOCKS, "T.AAPL,,Q.A", "");
    expect_bad_params(TD_POLYGON_STOCKS, "T.AA PL", "T.AA PL");
    expect_bad_params(TD_POLYGON_STOCKS, "T.AA\x01", "T.AA\x01");
    expect_bad_params(TD_POLYGON_STOCKS, "T.caf\xc3\xa9", "T.caf\xc3\xa9");
    char long_item[80] = "T.";
    memset(long_item + 2, 'A', 65);
    long_item[67] = '\0';
    expect_bad_params(TD_POLYGON_STOCKS, long_item, long_item);
    long_item[66] = '\0'; /* 64 bytes is fine */
    assert_int_equal(td_polygon_params_each(TD_POLYGON_STOCKS, long_item, strlen(long_item), NULL,
                                            NULL, NULL, NULL),
                     1);
}

static void test_builders(void **state)
{
    (void)state;
    td_buf_t b = TD_BUF_INIT;
    td_polygon_build_auth(&b, "k\"ey\\1");
    assert_string_equal(b.data, "{\"action\":\"auth\",\"params\":\"k\\\"ey\\\\1\"}");
    td_buf_reset(&b);

    td_subset_t s;
    td_subset_init(&s);
    td_subset_add(&s, TD_KIND_TRADE, "AAPL", 4);
    td_subset_add(&s, TD_KIND_TRADE, "MSFT", 4);
    td_subset_add(&s, TD_KIND_QUOTE, "MSFT", 4);
    td_subset_add(&s, TD_KIND_BAR, "*", 1);
    td_subset_add(&s, TD_KIND_BAR, "BRK.B", 5);
    td_subset_add(&s, TD_KIND_SECOND_BAR, "A\"B", 3);
    td_subset_add(&s, TD_KIND_LULD, "NTEST.Q", 7);
    td_subset_add(&s, TD_KIND_ORDERBOOK, "BTC-USD", 7);
    td_subset_add(&s, TD_KIND_NEWS, "*", 1);
    assert_int_equal(td_polygon_build_sub(&b, "subscribe", TD_POLYGON_STOCKS, &s, ~0u), 7);
    assert_string_equal(b.data, "{\"action\":\"subscribe\",\"params\":\"T.AAPL,T.MSFT,Q.MSFT,AM.*,"
                                "AM.BRK.B,LULD.NTEST.Q,A.A\\\"B\"}");
    /* What it builds parses back. */
    items_t it = {{0}};
    const char *params = "T.AAPL,T.MSFT,Q.MSFT,AM.*,AM.BRK.B,LULD.NTEST.Q,A.A\"B";
    assert_int_equal(
        td_polygon_params_each(TD_POLYGON_STOCKS, params, strlen(params), on_item, &it, NULL, NULL),
        7);
    td_buf_reset(&b);
    assert_int_equal(td_polygon_build_sub(&b, "unsubscribe", TD_POLYGON_CRYPTO, &s,
                                          (1u << TD_KIND_TRADE) | (1u << TD_KIND_ORDERBOOK)),
                     3);
    assert_string_equal(b.data, "{\"action\":\"unsubscribe\",\"params\":\"XT.AAPL,XT.MSFT,"
                                "XL2.BTC-USD\"}");
    td_buf_reset(&b);
    assert_int_equal(
        td_polygon_build_sub(&b, "subscribe", TD_POLYGON_FOREX, &s, 1u << TD_KIND_QUOTE), 1);
    assert_string_equal(b.data, "{\"action\":\"subscribe\",\"params\":\"C.MSFT\"}");
    /* Nothing to send: nothing appended. */
    td_buf_reset(&b);
    assert_int_equal(
        td_polygon_build_sub(&b, "subscribe", TD_POLYGON_OPTIONS, &s, 1u << TD_KIND_LULD), 0);
    assert_int_equal(b.len, 0);
    td_subset_free(&s);
    td_buf_free(&b);
}

static void test_tables(void **state)
{
    (void)state;
    static const struct {
        td_polygon_cluster_t c;
        const char *prefix;
        td_kind_t kind;
    } map[] = {
        {TD_POLYGON_STOCKS, "T", TD_KIND_TRADE},
        {TD_POLYGON_STOCKS, "Q", TD_KIND_QUOTE},
        {TD_POLYGON_STOCKS, "AM", TD_KIND_BAR},
        {TD_POLYGON_STOCKS, "A", TD_KIND_SECOND_BAR},
        {TD_POLYGON_STOCKS, "LULD", TD_KIND_LULD},
        {TD_POLYGON_STOCKS, "NOI", TD_KIND_IMBALANCE},
        {TD_POLYGON_OPTIONS, "T", TD_KIND_TRADE},
        {TD_POLYGON_OPTIONS, "Q", TD_KIND_QUOTE},
        {TD_POLYGON_OPTIONS, "AM", TD_KIND_BAR},
        {TD_POLYGON_OPTIONS, "A", TD_KIND_SECOND_BAR},
        {TD_POLYGON_FOREX, "C", TD_KIND_QUOTE},
        {TD_POLYGON_FOREX, "CA", TD_KIND_BAR},
        {TD_POLYGON_FOREX, "CAS", TD_KIND_SECOND_BAR},
        {TD_POLYGON_CRYPTO, "XT", TD_KIND_TRADE},
        {TD_POLYGON_CRYPTO, "XQ", TD_KIND_QUOTE},
        {TD_POLYGON_CRYPTO, "XA", TD_KIND_BAR},
        {TD_POLYGON_CRYPTO, "XAS", TD_KIND_SECOND_BAR},
        {TD_POLYGON_CRYPTO, "XL2", TD_KIND_ORDERBOOK},
    };
    unsigned kinds[TD_POLYGON__CLUSTERS] = {0};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        assert_string_equal(td_polygon_prefix(map[i].c, map[i].kind), map[i].prefix);
        assert_int_equal(td_polygon_kind(map[i].c, map[i].prefix, strlen(map[i].prefix)),
                         map[i].kind);
        kinds[map[i].c] |= 1u << map[i].kind;
    }
    for (int c = 0; c < TD_POLYGON__CLUSTERS; c++) {
        assert_int_equal(td_polygon_kinds((td_polygon_cluster_t)c), kinds[c]);
        for (int k = 0; k < TD_KIND__COUNT; k++)
            if (!(kinds[c] & (1u << k)))
                assert_null(td_polygon_prefix((td_polygon_cluster_t)c, (td_kind_t)k));
        assert_int_equal(td_polygon_kind((td_polygon_cluster_t)c, "status", 6), -1);
        assert_int_equal(td_polygon_kind((td_polygon_cluster_t)c, "", 0), -1);
    }
    assert_int_equal(td_polygon_kind(TD_POLYGON_STOCKS, "XT", 2), -1);
    assert_int_equal(td_polygon_kind(TD_POLYGON_FOREX, "T", 1), -1);
    assert_int_equal(td_polygon_kind(TD_POLYGON_STOCKS, "AMX", 2), TD_KIND_BAR); /* n bytes only */
    assert_int_equal(td_polygon_kind(TD_POLYGON__CLUSTERS, "T", 1), -1);
    assert_int_equal(td_polygon_kinds(TD_POLYGON__CLUSTERS), 0);
    assert_null(td_polygon_prefix(TD_POLYGON__CLUSTERS, TD_KIND_TRADE));

    const char *names[] = {"stocks", "options", "forex", "crypto"};
    for (int c = 0; c < TD_POLYGON__CLUSTERS; c++) {
        char path[16];
        assert_string_equal(td_polygon_cluster_name((td_polygon_cluster_t)c), names[c]);
        assert_int_equal(td_polygon_cluster_parse(names[c]), c);
        snprintf(path, sizeof path, "/%s", names[c]);
        assert_int_equal(td_polygon_cluster_parse(path), c);
    }
    assert_null(td_polygon_cluster_name(TD_POLYGON__CLUSTERS));
    const char *bad[] = {"", "/", "indices", "/futures", "Stocks", "/stocks/", "//stocks", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(td_polygon_cluster_parse(bad[i]), -1);
    assert_int_equal(td_polygon_cluster_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stocks),       cmocka_unit_test(test_options),
        cmocka_unit_test(test_forex_crypto), cmocka_unit_test(test_status),
        cmocka_unit_test(test_mixed),        cmocka_unit_test(test_symbols),
        cmocka_unit_test(test_malformed),    cmocka_unit_test(test_limits),
        cmocka_unit_test(test_int64),        cmocka_unit_test(test_params),
        cmocka_unit_test(test_builders),     cmocka_unit_test(test_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
