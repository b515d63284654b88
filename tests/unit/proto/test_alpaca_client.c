/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: Alpaca client → server message parser (proto/alpaca_client). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "deep_json.h"
#include "proto/alpaca_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

static int parse(td_alpaca_client_msg_t *m, const char *s)
{
    return td_alpaca_client_parse(s, strlen(s), m);
}

static int has(const td_alpaca_client_msg_t *m, td_kind_t k, const char *sym)
{
    return td_subset_has(&m->sub, k, sym, strlen(sym));
}

static void test_auth(void **state)
{
    (void)state;
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    assert_int_equal(parse(&m, "{\"action\":\"auth\",\"key\":\"PK123\",\"secret\":\"s3cr3t\"}"), 0);
    assert_int_equal(m.action, TD_ALPACA_CLIENT_AUTH);
    assert_true(m.has_key);
    assert_true(m.has_secret);
    assert_string_equal(m.key, "PK123");
    assert_int_equal(m.key_len, 5);
    assert_string_equal(m.secret, "s3cr3t");
    /* order does not matter, whitespace allowed, escapes decoded */
    assert_int_equal(parse(&m, " {\"secret\" : \"a\\\"b\\u00e9\\ud83d\\ude00\", \"key\":\"k\\/1\","
                               "\"action\":\"auth\", \"extra\":[1,2]}\n"),
                     0);
    assert_int_equal(m.action, TD_ALPACA_CLIENT_AUTH);
    assert_string_equal(m.key, "k/1");
    assert_string_equal(m.secret, "a\"b\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(m.secret_len, 9);
    /* missing or non-string credentials are reported as absent */
    assert_int_equal(parse(&m, "{\"action\":\"auth\",\"key\":42}"), 0);
    assert_int_equal(m.action, TD_ALPACA_CLIENT_AUTH);
    assert_false(m.has_key);
    assert_false(m.has_secret);
    td_alpaca_client_msg_free(&m);
}

static void test_auth_too_long(void **state)
{
    (void)state;
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    char buf[TD_ALPACA_CLIENT_CRED_MAX + 64];
    char key[TD_ALPACA_CLIENT_CRED_MAX + 2];
    memset(key, 'A', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    snprintf(buf, sizeof buf, "{\"action\":\"auth\",\"key\":\"%s\",\"secret\":\"x\"}", key);
    assert_int_equal(parse(&m, buf), TD_ETOOLONG);
    assert_int_equal(m.action, TD_ALPACA_CLIENT_NONE);
    key[sizeof key - 2] = '\0'; /* exactly the maximum */
    snprintf(buf, sizeof buf, "{\"action\":\"auth\",\"key\":\"%s\",\"secret\":\"x\"}", key);
    assert_int_equal(parse(&m, buf), 0);
    assert_int_equal(m.key_len, TD_ALPACA_CLIENT_CRED_MAX);
    td_alpaca_client_msg_free(&m);
}

/* A key or secret holding a NUL byte is never a credential: compared as a C
 * string, "PK1\u0000junk" would pass for "PK1". Treated as absent (402). */
static void test_auth_nul(void **state)
{
    (void)state;
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    assert_int_equal(parse(&m, "{\"action\":\"auth\",\"key\":\"PK1\\u0000junk\","
                               "\"secret\":\"sekret1\\u0000junk\"}"),
                     0);
    assert_int_equal(m.action, TD_ALPACA_CLIENT_AUTH);
    assert_false(m.has_key);
    assert_false(m.has_secret);
    assert_int_equal(m.key_len, 0);
    assert_int_equal(m.secret_len, 0);
    assert_int_equal(parse(&m, "{\"action\":\"auth\",\"key\":\"\\u0000\",\"secret\":\"s\"}"), 0);
    assert_false(m.has_key);
    assert_true(m.has_secret);
    td_alpaca_client_msg_free(&m);
}

/* Nesting is bounded (TD_JSON_MAX_DEPTH) and parsing is linear: 32000
 * levels are refused at once (jsmn's parent walk took over a second). */
static void test_deep_nesting(void **state)
{
    (void)state;
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    size_t n;
    char *s = deep_json("{\"action\":\"subscribe\",\"trades\":", 32000, &n);
    clock_t t0 = clock();
    for (int i = 0; i < 10; i++)
        assert_int_equal(td_alpaca_client_parse(s, n, &m), TD_EMALFORMED);
    double per = (double)(clock() - t0) / CLOCKS_PER_SEC / 10;
    assert_true(per < 0.05); /* linear: well under a millisecond here */
    free(s);
    /* the object and 63 arrays are 64 levels: fine; one more is not */
    for (size_t levels = 63; levels <= 64; levels++) {
        s = deep_json("{\"action\":\"subscribe\",\"foo\":", levels, &n);
        assert_int_equal(td_alpaca_client_parse(s, n, &m),
                         levels == 63 ? TD_ECHANNEL : TD_EMALFORMED);
        free(s);
    }
    td_alpaca_client_msg_free(&m);
}

static void test_subscribe(void **state)
{
    (void)state;
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    assert_int_equal(parse(&m,
                           "{\"action\":\"subscribe\",\"trades\":[\"AAPL\"],\"quotes\":[\"AMD\","
                           "\"CLDR\"],\"bars\":[\"*\"],\"dailyBars\":[\"VOO\"],\"statuses\":"
                           "[\"*\"]}"),
                     0);
    assert_int_equal(m.action, TD_ALPACA_CLIENT_SUBSCRIBE);
    assert_true(has(&m, TD_KIND_TRADE, "AAPL"));
    assert_false(has(&m, TD_KIND_TRADE, "AMD"));
    assert_true(has(&m, TD_KIND_QUOTE, "AMD"));
    assert_true(has(&m, TD_KIND_QUOTE, "CLDR"));
    assert_true(m.sub.k[TD_KIND_BAR].all);
    assert_int_equal(m.sub.k[TD_KIND_BAR].n, 0);
    assert_true(has(&m, TD_KIND_BAR, "ANYTHING"));
    assert_true(has(&m, TD_KIND_DAILY_BAR, "VOO"));
    assert_true(m.sub.k[TD_KIND_STATUS].all);
    assert_int_equal(m.kinds, (1u << TD_KIND_TRADE) | (1u << TD_KIND_QUOTE) | (1u << TD_KIND_BAR) |
                                  (1u << TD_KIND_DAILY_BAR) | (1u << TD_KIND_STATUS));
    /* a second parse replaces the first result */
    assert_int_equal(parse(&m, "{\"action\":\"unsubscribe\",\"bars\":[\"*\"]}"), 0);
    assert_int_equal(m.action, TD_ALPACA_CLIENT_UNSUBSCRIBE);
    assert_true(m.sub.k[TD_KIND_BAR].all);
    assert_false(has(&m, TD_KIND_TRADE, "AAPL"));
    assert_int_equal(m.kinds, 1u << TD_KIND_BAR);
    assert_false(m.gaps);
    /* tickerd's "gaps" extension: only true sets it; the lists are unchanged */
    assert_int_equal(parse(&m, "{\"action\":\"subscribe\",\"gaps\":true,\"bars\":[\"X\"]}"), 0);
    assert_true(m.gaps);
    assert_true(has(&m, TD_KIND_BAR, "X"));
    assert_int_equal(m.kinds, 1u << TD_KIND_BAR);
    assert_int_equal(parse(&m, "{\"action\":\"subscribe\",\"gaps\":\"true\"}"), 0);
    assert_false(m.gaps);
    td_alpaca_client_msg_free(&m);
}

static void test_null_and_empty(void **state)
{
    (void)state;
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    /* What the Go SDK sends: every key, null or [] when unused, plus words
     * that are not channels of this stream and unknown words with null. */
    assert_int_equal(parse(&m,
                           "{\"action\":\"subscribe\",\"trades\":[\"AAPL\",\"AAPL\"],\"quotes\":"
                           "null,\"bars\":[],\"updatedBars\":null,\"dailyBars\":[],"
                           "\"statuses\":null,\"imbalances\":null,\"lulds\":[],"
                           "\"cancelErrors\":[\"AAPL\"],\"corrections\":[\"AAPL\"],"
                           "\"orderbooks\":null,\"news\":[],\"pricing\":null,\"future\":[]}"),
                     0);
    assert_int_equal(m.action, TD_ALPACA_CLIENT_SUBSCRIBE);
    assert_int_equal(m.sub.k[TD_KIND_TRADE].n, 1);
    assert_int_equal(m.kinds, (1u << TD_KIND_TRADE) | (1u << TD_KIND_CANCEL_ERROR) |
                                  (1u << TD_KIND_CORRECTION));
    assert_int_equal(m.sub.k[TD_KIND_QUOTE].n, 0);
    assert_false(m.sub.k[TD_KIND_QUOTE].all);
    /* nothing at all is a valid (empty) subscribe */
    assert_int_equal(parse(&m, "{\"action\":\"subscribe\"}"), 0);
    assert_int_equal(m.kinds, 0);
    assert_true(td_subset_empty(&m.sub));
    td_alpaca_client_msg_free(&m);
}

static void test_wildcard_and_symbols(void **state)
{
    (void)state;
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    assert_int_equal(parse(&m, "{\"action\":\"subscribe\",\"trades\":[\"*\",\"BRK.B\",\"BTC/USD\"],"
                               "\"news\":[\"*\"]}"),
                     0);
    assert_true(m.sub.k[TD_KIND_TRADE].all);
    assert_int_equal(m.sub.k[TD_KIND_TRADE].n, 2);
    assert_true(has(&m, TD_KIND_TRADE, "BRK.B"));
    assert_true(m.sub.k[TD_KIND_NEWS].all);
    assert_int_equal(m.kinds, (1u << TD_KIND_TRADE) | (1u << TD_KIND_NEWS));
    td_alpaca_client_msg_free(&m);
}

static void expect(const char *s, int code)
{
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    int rc = parse(&m, s);
    if (rc != code) fail_msg("%s: got %d (%s), want %d", s, rc, td_strerror(rc), code);
    if (code != 0) {
        assert_int_equal(m.action, TD_ALPACA_CLIENT_NONE);
        assert_true(td_subset_empty(&m.sub));
        assert_int_equal(m.kinds, 0);
    }
    td_alpaca_client_msg_free(&m);
}

static void test_malformed(void **state)
{
    (void)state;
    expect("", TD_EMALFORMED);
    expect("   ", TD_EMALFORMED);
    expect("{", TD_EMALFORMED);
    expect("{\"action\":\"auth\"", TD_EMALFORMED);
    expect("[{\"action\":\"auth\"}]", TD_EMALFORMED);
    expect("\"auth\"", TD_EMALFORMED);
    expect("{\"action\":\"auth\"} {}", TD_EMALFORMED);
    expect("{\"action\":\"auth\"}x", TD_EMALFORMED);
    expect("{action:\"auth\"}", TD_EMALFORMED);
    expect("{\"action\":\"auth\",\"key\":\"a\\qb\"}", TD_EMALFORMED);
    expect("{\"action\":\"auth\",\"key\":\"a\\ud800\"}", TD_EMALFORMED);
    expect("{\"action\":\"auth\",\"key\":\"a\x01\"}", TD_EMALFORMED);
    /* a known channel word must hold a list or null */
    expect("{\"action\":\"subscribe\",\"trades\":\"AAPL\"}", TD_EMALFORMED);
    expect("{\"action\":\"subscribe\",\"trades\":{}}", TD_EMALFORMED);
    /* an embedded NUL ends the text */
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    static const char nul[] = "{\"action\":\"auth\"}\0{";
    assert_int_equal(td_alpaca_client_parse(nul, sizeof nul - 1, &m), TD_EMALFORMED);
    td_alpaca_client_msg_free(&m);
}

static void test_bad_action(void **state)
{
    (void)state;
    expect("{}", TD_EACTION);
    expect("{\"key\":\"a\",\"secret\":\"b\"}", TD_EACTION);
    expect("{\"action\":\"listen\"}", TD_EACTION);
    expect("{\"action\":\"Auth\"}", TD_EACTION);
    expect("{\"action\":1}", TD_EACTION);
    expect("{\"action\":null,\"trades\":[\"A\"]}", TD_EACTION);
}

static void test_bad_symbols(void **state)
{
    (void)state;
    expect("{\"action\":\"subscribe\",\"trades\":[1]}", TD_ESYMBOL);
    expect("{\"action\":\"subscribe\",\"trades\":[null]}", TD_ESYMBOL);
    expect("{\"action\":\"subscribe\",\"trades\":[[\"A\"]]}", TD_ESYMBOL);
    expect("{\"action\":\"subscribe\",\"trades\":[\"\"]}", TD_ESYMBOL);
    expect("{\"action\":\"subscribe\",\"trades\":[\"AA PL\"]}", TD_ESYMBOL);
    expect("{\"action\":\"subscribe\",\"trades\":[\"A\\nB\"]}", TD_ESYMBOL);
    expect("{\"action\":\"subscribe\",\"trades\":[\"A\\u0000\"]}", TD_ESYMBOL);
    expect("{\"action\":\"subscribe\",\"trades\":[\"\\u00e9\"]}", TD_ESYMBOL);
    expect("{\"action\":\"subscribe\",\"trades\":[\"A*\"]}", TD_ESYMBOL);
    expect(
        "{\"action\":\"subscribe\",\"quotes\":[\"AAPL\",\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAA\"]}",
        TD_ESYMBOL);
}

static void test_unknown_channel(void **state)
{
    (void)state;
    expect("{\"action\":\"subscribe\",\"foo\":[\"AAPL\"]}", TD_ECHANNEL);
    expect("{\"action\":\"unsubscribe\",\"Trades\":[\"AAPL\"]}", TD_ECHANNEL);
    expect("{\"action\":\"subscribe\",\"foo\":null,\"bar\":[],\"baz\":3}", 0);
}

static void test_since(void **state)
{
    (void)state;
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    assert_int_equal(parse(&m, "{\"action\":\"subscribe\",\"bars\":[\"AAPL\"],\"since\":"
                               "{\"bars.AAPL\":\"1700000000000-3\",\"trades.BTC/USD\":\"17\"}}"),
                     0);
    assert_int_equal(m.nsince, 2);
    assert_int_equal(m.since[0].kind, TD_KIND_BAR);
    assert_string_equal(m.since[0].sym, "AAPL");
    assert_string_equal(m.since[0].id, "1700000000000-3");
    assert_int_equal(m.since[1].kind, TD_KIND_TRADE);
    assert_string_equal(m.since[1].sym, "BTC/USD");
    assert_string_equal(m.since[1].id, "17");
    assert_true(has(&m, TD_KIND_BAR, "AAPL"));
    /* null is no since; on an unsubscribe it is ignored */
    assert_int_equal(parse(&m, "{\"action\":\"subscribe\",\"since\":null}"), 0);
    assert_int_equal(m.nsince, 0);
    assert_int_equal(parse(&m, "{\"action\":\"unsubscribe\",\"since\":{\"x\":1}}"), 0);
    assert_int_equal(m.nsince, 0);
    static const char *const bad[] = {
        "{\"action\":\"subscribe\",\"since\":[]}",
        "{\"action\":\"subscribe\",\"since\":{\"barsAAPL\":\"1-0\"}}",
        "{\"action\":\"subscribe\",\"since\":{\"nope.AAPL\":\"1-0\"}}",
        "{\"action\":\"subscribe\",\"since\":{\"bars.*\":\"1-0\"}}",
        "{\"action\":\"subscribe\",\"since\":{\"bars.\":\"1-0\"}}",
        "{\"action\":\"subscribe\",\"since\":{\"bars.AAPL\":1}}",
        "{\"action\":\"subscribe\",\"since\":{\"bars.AAPL\":\"1-\"}}",
        "{\"action\":\"subscribe\",\"since\":{\"bars.AAPL\":\"-1\"}}",
        "{\"action\":\"subscribe\",\"since\":{\"bars.AAPL\":\"1-2-3\"}}",
        "{\"action\":\"subscribe\",\"since\":{\"bars.AAPL\":\"$\"}}",
        "{\"action\":\"subscribe\",\"since\":{\"bars.AAPL\":\"123456789012345678901\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(parse(&m, bad[i]), TD_ESINCE);
        assert_int_equal(m.nsince, 0);
        assert_null(m.since);
    }
    assert_true(td_alpaca_stream_id_ok("0", 1));
    assert_true(td_alpaca_stream_id_ok("12345678901234567890-12345678901234567890", 41));
    assert_false(td_alpaca_stream_id_ok("", 0));
    td_alpaca_client_msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_auth_too_long),
        cmocka_unit_test(test_auth_nul),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_subscribe),
        cmocka_unit_test(test_null_and_empty),
        cmocka_unit_test(test_wildcard_and_symbols),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bad_action),
        cmocka_unit_test(test_bad_symbols),
        cmocka_unit_test(test_unknown_channel),
        cmocka_unit_test(test_since),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
