/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: Alpaca server → client control messages (proto/alpaca_server),
 * byte for byte as PROTOCOLS.md §1.3–§1.5 shows them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/alpaca.h"
#include "proto/alpaca_client.h"
#include "proto/alpaca_server.h"

#include <string.h>

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *text;
    } t[] = {{400, "invalid syntax"},
             {401, "not authenticated"},
             {402, "auth failed"},
             {403, "already authenticated"},
             {404, "auth timeout"},
             {405, "symbol limit exceeded"},
             {406, "connection limit exceeded"},
             {407, "slow client"},
             {409, "insufficient subscription"},
             {410, "invalid subscribe action for this feed"},
             {500, "internal error"},
             {499, "internal error"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_string_equal(td_alpaca_server_err_text(t[i].code), t[i].text);
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_error(&b, 402);
    assert_string_equal(b.data, "[{\"T\":\"error\",\"code\":402,\"msg\":\"auth failed\"}]");
    td_buf_reset(&b);
    td_alpaca_server_error(&b, 407);
    assert_string_equal(b.data, "[{\"T\":\"error\",\"code\":407,\"msg\":\"slow client\"}]");
    td_buf_reset(&b);
    td_alpaca_server_error_msg(&b, 405, "rate \"x\"");
    assert_string_equal(b.data, "[{\"T\":\"error\",\"code\":405,\"msg\":\"rate \\\"x\\\"\"}]");
    td_buf_free(&b);
}

static void test_success(void **state)
{
    (void)state;
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_success(&b, "connected");
    assert_string_equal(b.data, "[{\"T\":\"success\",\"msg\":\"connected\"}]");
    td_buf_reset(&b);
    td_alpaca_server_success(&b, "authenticated");
    assert_string_equal(b.data, "[{\"T\":\"success\",\"msg\":\"authenticated\"}]");
    td_buf_free(&b);
}

static void add(td_subset_t *s, td_kind_t k, const char *sym)
{
    td_subset_add(s, k, sym, strlen(sym));
}

/* The full example of PROTOCOLS.md §1.4. */
static void test_stock_confirmation(void **state)
{
    (void)state;
    td_subset_t s;
    td_subset_init(&s);
    add(&s, TD_KIND_TRADE, "AAPL");
    add(&s, TD_KIND_QUOTE, "CLDR");
    add(&s, TD_KIND_QUOTE, "AMD");
    add(&s, TD_KIND_BAR, "*");
    add(&s, TD_KIND_DAILY_BAR, "VOO");
    add(&s, TD_KIND_STATUS, "*");
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_subscription(&b, &s, TD_CLASS_STOCKS);
    assert_string_equal(
        b.data, "[{\"T\":\"subscription\",\"trades\":[\"AAPL\"],\"quotes\":[\"AMD\",\"CLDR\"],"
                "\"bars\":[\"*\"],\"updatedBars\":[],\"dailyBars\":[\"VOO\"],\"statuses\":[\"*\"],"
                "\"lulds\":[],\"imbalances\":[],\"corrections\":[\"AAPL\"],"
                "\"cancelErrors\":[\"AAPL\"]}]");
    /* a wildcard and names on one channel: "*" first */
    add(&s, TD_KIND_TRADE, "*");
    td_buf_reset(&b);
    td_alpaca_server_subscription(&b, &s, TD_CLASS_STOCKS);
    assert_non_null(strstr(b.data, "\"trades\":[\"*\",\"AAPL\"]"));
    assert_non_null(strstr(b.data, "\"cancelErrors\":[\"*\",\"AAPL\"]}]"));
    td_buf_free(&b);
    td_subset_free(&s);
}

static void test_crypto_and_news_confirmation(void **state)
{
    (void)state;
    td_subset_t s;
    td_subset_init(&s);
    add(&s, TD_KIND_BAR, "BTC/USD");
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_subscription(&b, &s, TD_CLASS_CRYPTO);
    assert_string_equal(b.data, "[{\"T\":\"subscription\",\"trades\":[],\"quotes\":[],"
                                "\"orderbooks\":[],\"bars\":[\"BTC/USD\"],\"updatedBars\":[],"
                                "\"dailyBars\":[]}]");
    td_subset_clear(&s);
    add(&s, TD_KIND_NEWS, "*");
    td_buf_reset(&b);
    td_alpaca_server_subscription(&b, &s, TD_CLASS_NEWS);
    assert_string_equal(b.data, "[{\"T\":\"subscription\",\"news\":[\"*\"]}]");
    td_buf_free(&b);
    td_subset_free(&s);
}

/* What the server builds, the client side reads back. */
static void test_round_trip(void **state)
{
    (void)state;
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_error(&b, 405);
    int n = 0;
    td_alpaca_cb_t cb = {NULL, NULL};
    td_alpaca_stats_t st = {0};
    assert_int_equal(td_alpaca_split(b.data, b.len, &cb, &n, &st), TD_OK);
    assert_int_equal(st.control, 1);
    td_buf_free(&b);
}

static void test_offered(void **state)
{
    (void)state;
    unsigned s = td_alpaca_server_offered(TD_CLASS_STOCKS);
    assert_true(s & (1u << TD_KIND_CORRECTION));
    assert_false(s & (1u << TD_KIND_NEWS));
    assert_false(s & (1u << TD_KIND_ORDERBOOK));
    assert_true(td_alpaca_server_offered(TD_CLASS_CRYPTO) & (1u << TD_KIND_ORDERBOOK));
    assert_int_equal(td_alpaca_server_offered(TD_CLASS_NEWS), 1u << TD_KIND_NEWS);
}

static void test_snapshot_extension(void **state)
{
    (void)state;
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    const char *s = "{\"action\":\"subscribe\",\"quotes\":[\"*\"],\"snapshot\":true}";
    assert_int_equal(td_alpaca_client_parse(s, strlen(s), &m), 0);
    assert_int_equal(m.snapshot, 1);
    s = "{\"action\":\"subscribe\",\"quotes\":[\"*\"],\"snapshot\":false}";
    assert_int_equal(td_alpaca_client_parse(s, strlen(s), &m), 0);
    assert_int_equal(m.snapshot, 0);
    td_alpaca_client_msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_stock_confirmation),
        cmocka_unit_test(test_crypto_and_news_confirmation),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_offered),
        cmocka_unit_test(test_snapshot_extension),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
