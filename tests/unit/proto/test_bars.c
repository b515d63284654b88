/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/proto/bars.c: the Alpaca bars (PROTOCOLS.md §2) and
 * Polygon aggregates (§4) examples, error bodies, malformed and truncated
 * bodies, hostile variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proto/bars.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALPACA_SINGLE                                                                              \
    "{\"bars\":[{\"t\":\"2022-04-11T08:00:00Z\",\"o\":168.99,\"h\":169.81,\"l\":168.99,\"c\":169," \
    "\"v\":7170,\"n\":206,\"vw\":169.233976}],\n \"symbol\":\"AAPL\",\"next_page_token\":"         \
    "\"QUFQTHxNfDIwMjItMDQtMTFUMDg6MDA6MDAuMDAwMDAwMDAwWg==\"}"
#define ALPACA_MULTI                                                                               \
    "{\"bars\":{\"AAPL\":[{\"t\":\"2022-04-11T04:00:00Z\",\"o\":168.77,\"h\":169.03,\"l\":166.1,"  \
    "\"c\":166.975,\"v\":40180280,\"n\":435528,\"vw\":167.08951}],\n         "                     \
    "\"TSLA\":[{\"t\":\"2022-04-11T04:00:00Z\",\"o\":980.14,\"h\":1008.4681,\"l\":976,\"c\":991."  \
    "1412,\"v\":13754547,\"n\":547096,\"vw\":990.827506}]},\n \"next_page_token\":null}"
#define POLYGON_OK                                                                                 \
    "{\"ticker\":\"AAPL\",\"adjusted\":true,\"queryCount\":2,\"resultsCount\":2,\"status\":"       \
    "\"OK\","                                                                                      \
    "\n \"request_id\":\"6a7e466379af0a71039d60cc78e72282\",\n "                                   \
    "\"results\":[{\"v\":135647456,\"vw\":74.6099,\"o\":74.06,\"c\":75.0875,\"h\":75.15,\"l\":73." \
    "7975,\"t\":1577941200000,\"n\":1},\n            "                                             \
    "{\"v\":146535512,\"vw\":74.7026,\"o\":74.2875,\"c\":74.3575,\"h\":75.145,\"l\":74.125,\"t\":" \
    "1578027600000,\"n\":1}],\n "                                                                  \
    "\"next_url\":\"https://api.polygon.io/v2/aggs/ticker/AAPL/range/1/day/1578114000000/"         \
    "2020-01-10?cursor=bGltaXQ9MiZzb3J0PWFzYw\"}"
#define POLYGON_429                                                                                \
    "{\"status\":\"ERROR\",\"request_id\":\"abc\",\"error\":\"You've exceeded the maximum "        \
    "requests per minute, please wait or upgrade your subscription to continue. "                  \
    "https://polygon.io/pricing\"}"
#define POLYGON_403                                                                                \
    "{\"status\":\"NOT_AUTHORIZED\",\"request_id\":\"abc\",\"message\":\"You are not entitled to " \
    "this data. Please upgrade your plan.\"}"
#define POLYGON_401 "{\"status\":\"ERROR\",\"request_id\":\"abc\",\"error\":\"Unknown API Key\"}"

typedef int (*parse_fn)(const char *, size_t, const char *, td_bars_page_t *);

/* Parses an exact-size heap copy, so ASan sees any read past the body. */
static int parse_n(parse_fn fn, const char *body, size_t n, const char *sym, td_bars_page_t *pg)
{
    char *copy = malloc(n ? n : 1);
    memcpy(copy, body, n);
    int rc = fn(copy, n, sym, pg);
    free(copy);
    assert_true(strlen(pg->next) <= TD_BARS_MAX_NEXT);
    assert_true(strlen(pg->message) <= TD_BARS_MAX_MSG);
    assert_int_equal(rc, pg->status == TD_BARS_OK || pg->status == TD_BARS_EMPTY ? 0 : -1);
    if (pg->status != TD_BARS_OK) assert_int_equal(pg->n, 0);
    return rc;
}

static td_bars_status_t alpaca(const char *body, const char *sym, td_bars_page_t *pg)
{
    parse_n(td_bars_parse_alpaca, body, strlen(body), sym, pg);
    return pg->status;
}

static td_bars_status_t polygon(const char *body, const char *sym, td_bars_page_t *pg)
{
    parse_n(td_bars_parse_polygon, body, strlen(body), sym, pg);
    return pg->status;
}

static void test_alpaca_single(void **state)
{
    (void)state;
    td_bars_page_t pg = TD_BARS_PAGE_INIT;
    assert_int_equal(alpaca(ALPACA_SINGLE, NULL, &pg), TD_BARS_OK);
    assert_int_equal(pg.n, 1);
    const td_bar_t *b = &pg.bars[0];
    assert_string_equal(b->symbol, "AAPL");
    assert_true(b->ts_ns == 1649664000LL * 1000000000LL);
    assert_true(b->open == 168.99 && b->high == 169.81 && b->low == 168.99);
    assert_true(b->close == 169.0 && b->volume == 7170.0 && b->vwap == 169.233976);
    assert_int_equal(b->trade_count, 206);
    assert_string_equal(pg.next, "QUFQTHxNfDIwMjItMDQtMTFUMDg6MDA6MDAuMDAwMDAwMDAwWg==");
    assert_string_equal(pg.message, "");
    /* The caller's symbol agrees; a different one is refused. */
    assert_int_equal(alpaca(ALPACA_SINGLE, "AAPL", &pg), TD_BARS_OK);
    assert_int_equal(alpaca(ALPACA_SINGLE, "TSLA", &pg), TD_BARS_MALFORMED);
    /* Without "symbol" in the body, the caller's is used. */
    assert_int_equal(
        alpaca("{\"bars\":[{\"t\":\"2022-04-11T08:00:00.5Z\",\"o\":1,\"h\":2,\"l\":0.5,\"c\":1,"
               "\"v\":0.25}],\"next_page_token\":null}",
               "BTC/USD", &pg),
        TD_BARS_OK);
    assert_string_equal(pg.bars[0].symbol, "BTC/USD");
    assert_true(pg.bars[0].ts_ns == 1649664000500000000LL);
    assert_true(pg.bars[0].volume == 0.25);
    assert_true(isnan(pg.bars[0].vwap));
    assert_int_equal(pg.bars[0].trade_count, -1);
    assert_string_equal(pg.next, "");
    /* ... and with neither, bars cannot be attributed. */
    assert_int_equal(alpaca("{\"bars\":[{\"t\":\"2022-04-11T08:00:00Z\",\"o\":1,\"h\":2,\"l\":0.5,"
                            "\"c\":1,\"v\":1}]}",
                            NULL, &pg),
                     TD_BARS_MALFORMED);
    td_bars_page_free(&pg);
}

static void test_alpaca_multi(void **state)
{
    (void)state;
    td_bars_page_t pg = TD_BARS_PAGE_INIT;
    assert_int_equal(alpaca(ALPACA_MULTI, NULL, &pg), TD_BARS_OK);
    assert_int_equal(pg.n, 2);
    assert_string_equal(pg.bars[0].symbol, "AAPL");
    assert_string_equal(pg.bars[1].symbol, "TSLA");
    assert_true(pg.bars[1].low == 976.0 && pg.bars[1].close == 991.1412);
    assert_int_equal(pg.bars[1].trade_count, 547096);
    assert_true(pg.bars[0].ts_ns == 1649649600LL * 1000000000LL);
    assert_string_equal(pg.next, "");
    /* Empty pages: null, [], {}, a symbol with null or [] bars. */
    assert_int_equal(
        alpaca("{\"bars\":null,\"symbol\":\"AAPL\",\"next_page_token\":null}", NULL, &pg),
        TD_BARS_EMPTY);
    assert_int_equal(alpaca("{\"bars\":[],\"next_page_token\":null}", NULL, &pg), TD_BARS_EMPTY);
    assert_int_equal(alpaca("{\"bars\":{},\"next_page_token\":null}", NULL, &pg), TD_BARS_EMPTY);
    assert_int_equal(
        alpaca("{\"bars\":{\"AAPL\":[],\"TSLA\":null},\"next_page_token\":\"x\"}", NULL, &pg),
        TD_BARS_EMPTY);
    assert_string_equal(pg.next, "x");
    td_bars_page_free(&pg);
}

static void test_alpaca_errors(void **state)
{
    (void)state;
    td_bars_page_t pg = TD_BARS_PAGE_INIT;
    assert_int_equal(alpaca("{\"message\":\"too many requests\"}", NULL, &pg),
                     TD_BARS_RATE_LIMITED);
    assert_string_equal(pg.message, "too many requests");
    assert_int_equal(alpaca("{\"code\":42910000,\"message\":\"too many requests\"}", NULL, &pg),
                     TD_BARS_RATE_LIMITED);
    assert_int_equal(pg.code, 42910000);
    assert_int_equal(
        alpaca("{\"message\":\"subscription does not permit querying recent SIP data\"}", "AAPL",
               &pg),
        TD_BARS_AUTH);
    assert_string_equal(pg.message, "subscription does not permit querying recent SIP data");
    assert_int_equal(
        alpaca("{\"code\":40110000,\"message\":\"request is not authorized\"}", NULL, &pg),
        TD_BARS_AUTH);
    assert_int_equal(alpaca("{\"message\":\"forbidden.\"}", NULL, &pg), TD_BARS_AUTH);
    assert_int_equal(alpaca("{\"code\":42210000,\"message\":\"invalid timeframe\"}", NULL, &pg),
                     TD_BARS_INVALID);
    assert_int_equal(alpaca("{\"message\":\"invalid start: \\\"x\\\"\"}", NULL, &pg),
                     TD_BARS_INVALID);
    assert_string_equal(pg.message, "invalid start: \"x\"");
    assert_int_equal(alpaca("{\"code\":\"x\",\"message\":\"m\"}", NULL, &pg), TD_BARS_MALFORMED);
    assert_int_equal(alpaca("{\"message\":5}", NULL, &pg), TD_BARS_MALFORMED);
    assert_int_equal(alpaca("{}", NULL, &pg), TD_BARS_MALFORMED);
    td_bars_page_free(&pg);
}

static void test_polygon(void **state)
{
    (void)state;
    td_bars_page_t pg = TD_BARS_PAGE_INIT;
    assert_int_equal(polygon(POLYGON_OK, "AAPL", &pg), TD_BARS_OK);
    assert_int_equal(pg.n, 2);
    assert_string_equal(pg.bars[1].symbol, "AAPL");
    assert_true(pg.bars[0].ts_ns == 1577941200000LL * 1000000);
    assert_true(pg.bars[0].volume == 135647456.0 && pg.bars[0].vwap == 74.6099);
    assert_true(pg.bars[1].open == 74.2875 && pg.bars[1].high == 75.145);
    assert_int_equal(pg.bars[1].trade_count, 1);
    assert_string_equal(pg.next, "https://api.polygon.io/v2/aggs/ticker/AAPL/range/1/day/"
                                 "1578114000000/2020-01-10?cursor=bGltaXQ9MiZzb3J0PWFzYw");
    assert_int_equal(polygon(POLYGON_OK, NULL, &pg), TD_BARS_OK);
    assert_int_equal(polygon(POLYGON_OK, "MSFT", &pg), TD_BARS_MALFORMED);
    /* Absent, null or empty results. */
    assert_int_equal(polygon("{\"ticker\":\"AAPL\",\"queryCount\":0,\"resultsCount\":0,"
                             "\"adjusted\":true,\"status\":\"OK\",\"request_id\":\"r\"}",
                             "AAPL", &pg),
                     TD_BARS_EMPTY);
    assert_int_equal(polygon("{\"status\":\"DELAYED\",\"results\":null}", NULL, &pg),
                     TD_BARS_EMPTY);
    assert_int_equal(polygon("{\"status\":\"OK\",\"results\":[]}", NULL, &pg), TD_BARS_EMPTY);
    /* Fractional volume, no vw or n, negative t (before 1970). */
    assert_int_equal(polygon("{\"results\":[{\"v\":0.5,\"o\":1,\"c\":1,\"h\":1,\"l\":1,\"t\":-1000,"
                             "\"otc\":true}]}",
                             "X:BTCUSD", &pg),
                     TD_BARS_OK);
    assert_true(pg.bars[0].ts_ns == -1000000000LL && pg.bars[0].volume == 0.5);
    assert_true(isnan(pg.bars[0].vwap) && pg.bars[0].trade_count == -1);
    td_bars_page_free(&pg);
}

static void test_polygon_errors(void **state)
{
    (void)state;
    td_bars_page_t pg = TD_BARS_PAGE_INIT;
    assert_int_equal(polygon(POLYGON_429, "AAPL", &pg), TD_BARS_RATE_LIMITED);
    assert_true(strncmp(pg.message, "You've exceeded", 15) == 0);
    assert_int_equal(polygon(POLYGON_403, "AAPL", &pg), TD_BARS_AUTH);
    assert_string_equal(pg.message, "You are not entitled to this data. Please upgrade your plan.");
    assert_int_equal(polygon(POLYGON_401, "AAPL", &pg), TD_BARS_AUTH);
    assert_int_equal(
        polygon("{\"status\":\"ERROR\",\"request_id\":\"r\",\"message\":\"Unknown API Key\"}",
                "AAPL", &pg),
        TD_BARS_AUTH);
    assert_int_equal(polygon("{\"status\":\"ERROR\",\"error\":\"Could not parse the time "
                             "parameter: 'from'.\"}",
                             "AAPL", &pg),
                     TD_BARS_INVALID);
    assert_int_equal(polygon("{\"status\":\"ERROR\"}", "AAPL", &pg), TD_BARS_INVALID);
    assert_int_equal(polygon("", "AAPL", &pg), TD_BARS_MALFORMED); /* empty 429 body */
    assert_int_equal(polygon("{\"request_id\":\"r\"}", "AAPL", &pg), TD_BARS_MALFORMED);
    td_bars_page_free(&pg);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", " ", "[]", "null", "{", "{\"bars\":[]", "{\"bars\":[]} x", "{\"bars\":[],}",
        "{\"bars\":\"x\",\"symbol\":\"A\"}", "{\"bars\":1}", "{\"bars\":[1],\"symbol\":\"A\"}",
        "{\"bars\":[{}],\"symbol\":\"A\"}",
        /* missing field, string price, bad time, NaN-ish number, negative volume */
        "{\"bars\":[{\"t\":\"2022-04-11T08:00:00Z\",\"o\":1,\"h\":1,\"l\":1,\"c\":1}],"
        "\"symbol\":\"A\"}",
        "{\"bars\":[{\"t\":\"2022-04-11T08:00:00Z\",\"o\":\"1\",\"h\":1,\"l\":1,\"c\":1,\"v\":1}],"
        "\"symbol\":\"A\"}",
        "{\"bars\":[{\"t\":\"2022-04-11 08:00:00\",\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1}],"
        "\"symbol\":\"A\"}",
        "{\"bars\":[{\"t\":\"2022-04-11T08:00:00Z\",\"o\":1e999,\"h\":1,\"l\":1,\"c\":1,\"v\":1}],"
        "\"symbol\":\"A\"}",
        "{\"bars\":[{\"t\":\"2022-04-11T08:00:00Z\",\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":-1}],"
        "\"symbol\":\"A\"}",
        "{\"bars\":[{\"t\":\"2022-04-11T08:00:00Z\",\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1,"
        "\"n\":1.5}],\"symbol\":\"A\"}",
        "{\"bars\":[],\"symbol\":\"\"}", "{\"bars\":[],\"symbol\":5}", "{\"bars\":{\"\":[]}}",
        "{\"bars\":{\"A\":{}}}", "{\"bars\":[],\"next_page_token\":5}",
        "{\"bars\":[],\"next_page_token\":\"a\\u0000b\"}", "{\"bars\":[],\"symbol\":\"A\\ud800\"}",
        "{\"bars\":[],\"symbol\":\"\xff\"}", "{\"bars\":[01],\"symbol\":\"A\"}", "{'bars':[]}"};
    td_bars_page_t pg = TD_BARS_PAGE_INIT;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (alpaca(bad[i], NULL, &pg) != TD_BARS_MALFORMED) fail_msg("accepted: %s", bad[i]);
        assert_true(pg.message[0] != '\0');
    }
    static const char *const pbad[] = {
        "{\"results\":{}}",
        "{\"results\":[{\"v\":1,\"o\":1,\"c\":1,\"h\":1,\"l\":1,\"t\":1.5}]}",
        "{\"results\":[{\"v\":1,\"o\":1,\"c\":1,\"h\":1,\"l\":1,\"t\":\"1\"}]}",
        "{\"results\":[{\"v\":1,\"o\":1,\"c\":1,\"h\":1,\"l\":1,\"t\":9223372036855}]}",
        "{\"results\":[{\"v\":1,\"o\":1,\"c\":1,\"h\":1,\"l\":1,\"t\":1}]}", /* no ticker */
        "{\"status\":5}"};
    for (size_t i = 0; i < sizeof pbad / sizeof *pbad; i++)
        if (polygon(pbad[i], NULL, &pg) != TD_BARS_MALFORMED) fail_msg("accepted: %s", pbad[i]);
    td_bars_page_free(&pg);
}

/* Every proper prefix of a valid body is MALFORMED (none is a JSON object). */
static void test_truncated(void **state)
{
    (void)state;
    static const char *const bodies[] = {ALPACA_SINGLE, ALPACA_MULTI, POLYGON_OK, POLYGON_429,
                                         POLYGON_403};
    td_bars_page_t pg = TD_BARS_PAGE_INIT;
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        size_t n = strlen(bodies[i]);
        for (size_t k = 0; k < n; k++) {
            parse_n(td_bars_parse_alpaca, bodies[i], k, "AAPL", &pg);
            assert_int_equal(pg.status, TD_BARS_MALFORMED);
            parse_n(td_bars_parse_polygon, bodies[i], k, "AAPL", &pg);
            assert_int_equal(pg.status, TD_BARS_MALFORMED);
        }
    }
    assert_int_equal(td_bars_parse_alpaca(NULL, 0, NULL, &pg), -1);
    assert_int_equal(pg.status, TD_BARS_MALFORMED);
    td_bars_page_free(&pg);
}

/* Escaped names and symbols, duplicates, unknown members, symbol and token bounds. */
static void test_hostile(void **state)
{
    (void)state;
    td_bars_page_t pg = TD_BARS_PAGE_INIT;
    /* Escaped member names and symbol; first of a repeated member counts. */
    assert_int_equal(alpaca("{\"\\u0062ars\":[{\"\\u0074\":\"2022-04-11T08:00:00Z\",\"o\":1,"
                            "\"o\":2,\"h\":3,\"l\":0,\"c\":1,\"v\":1,\"x\":{\"y\":[1,{}]}}],"
                            "\"symbol\":\"A\\u0041\",\"bars\":5}",
                            NULL, &pg),
                     TD_BARS_OK);
    assert_string_equal(pg.bars[0].symbol, "AA");
    assert_true(pg.bars[0].open == 1.0);
    /* 64-byte symbol is fine, 65 is not (body or argument). */
    char body[512], sym[70];
    memset(sym, 'S', 65);
    sym[65] = '\0';
    snprintf(body, sizeof body, "{\"bars\":null,\"symbol\":\"%s\"}", sym);
    assert_int_equal(alpaca(body, NULL, &pg), TD_BARS_MALFORMED);
    assert_int_equal(alpaca("{\"bars\":null}", sym, &pg), TD_BARS_MALFORMED);
    sym[64] = '\0';
    snprintf(body, sizeof body, "{\"bars\":null,\"symbol\":\"%s\"}", sym);
    assert_int_equal(alpaca(body, sym, &pg), TD_BARS_EMPTY);
    /* Token of 4096 bytes is kept, 4097 refused. */
    char *big = malloc(8192);
    memcpy(big, "{\"bars\":[],\"next_page_token\":\"", 30);
    memset(big + 30, 'Q', 4096);
    strcpy(big + 30 + 4096, "\"}");
    assert_int_equal(alpaca(big, "A", &pg), TD_BARS_EMPTY);
    assert_int_equal(strlen(pg.next), 4096);
    memset(big + 30, 'Q', 4097);
    strcpy(big + 30 + 4097, "\"}");
    assert_int_equal(alpaca(big, "A", &pg), TD_BARS_MALFORMED);
    assert_string_equal(pg.next, "");
    free(big);
    td_bars_page_free(&pg);
}

/* Long messages, deep nesting, reuse after an error. */
static void test_hostile_messages(void **state)
{
    (void)state;
    td_bars_page_t pg = TD_BARS_PAGE_INIT;
    char *big = malloc(8192);
    /* A long message is truncated at a UTF-8 boundary; control bytes become '?'. */
    size_t o = (size_t)sprintf(big, "{\"message\":\"\\nx");
    for (int i = 0; i < 200; i++)
        o += (size_t)sprintf(big + o, "\xc3\xa9");
    strcpy(big + o, "\"}");
    assert_int_equal(alpaca(big, NULL, &pg), TD_BARS_INVALID);
    assert_int_equal(strlen(pg.message), 254); /* 255 would split an é */
    assert_true(pg.message[0] == '?');
    o = (size_t)sprintf(big, "{\"message\":\"");
    memset(big + o, 'a', 3000);
    strcpy(big + o + 3000, "\"}");
    assert_int_equal(alpaca(big, NULL, &pg), TD_BARS_INVALID);
    assert_int_equal(strlen(pg.message), TD_BARS_MAX_MSG);
    free(big);
    /* Deep nesting in an ignored member is refused, not recursed into. */
    char deep[300];
    o = (size_t)sprintf(deep, "{\"x\":");
    for (int i = 0; i < 100; i++)
        deep[o++] = '[';
    for (int i = 0; i < 100; i++)
        deep[o++] = ']';
    strcpy(deep + o, ",\"bars\":null,\"symbol\":\"A\"}");
    assert_int_equal(alpaca(deep, NULL, &pg), TD_BARS_MALFORMED);
    /* Reuse: a page after an error is clean. */
    assert_int_equal(alpaca(ALPACA_SINGLE, NULL, &pg), TD_BARS_OK);
    assert_int_equal(pg.code, 0);
    assert_string_equal(pg.message, "");
    td_bars_page_reset(&pg);
    assert_int_equal(pg.n, 0);
    assert_string_equal(pg.next, "");
    td_bars_page_free(&pg);
    td_bars_page_free(NULL);
}

/* Many bars grow the array. */
static void test_many(void **state)
{
    (void)state;
    const char *bar = "{\"t\":\"2022-04-11T08:00:00Z\",\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1},";
    size_t bl = strlen(bar), count = 5000;
    char *body = malloc(64 + bl * count);
    size_t o = (size_t)sprintf(body, "{\"symbol\":\"A\",\"bars\":[");
    for (size_t i = 0; i < count; i++, o += bl)
        memcpy(body + o, bar, bl);
    strcpy(body + o - 1, "]}");
    td_bars_page_t pg = TD_BARS_PAGE_INIT;
    assert_int_equal(alpaca(body, NULL, &pg), TD_BARS_OK);
    assert_int_equal(pg.n, count);
    assert_true(pg.cap >= count);
    free(body);
    td_bars_page_free(&pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alpaca_single),    cmocka_unit_test(test_alpaca_multi),
        cmocka_unit_test(test_alpaca_errors),    cmocka_unit_test(test_polygon),
        cmocka_unit_test(test_polygon_errors),   cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncated),        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_hostile_messages), cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
