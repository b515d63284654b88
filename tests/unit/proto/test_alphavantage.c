/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/proto/alphavantage.c: GLOBAL_QUOTE bodies from
 * PROTOCOLS.md §5 (quote, unknown symbol, throttle texts under Note and
 * Information, demo key, Error Message) and hostile variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proto/alphavantage.h"

#include <stdlib.h>
#include <string.h>

#define AAPL_OBJ                                                                                   \
    "{\"01. symbol\":\"AAPL\",\"02. open\":\"225.5400\",\"03. high\":\"226.1900\",\"04. "          \
    "low\":\"223.8900\",\n \"05. price\":\"225.9700\",\"06. volume\":\"9226278\",\"07. latest "    \
    "trading day\":\"2019-10-04\",\n \"08. previous close\":\"220.8200\",\"09. "                   \
    "change\":\"5.1500\",\"10. change percent\":\"2.3322%\"}"
#define AAPL "{\"Global Quote\":" AAPL_OBJ "}"

#define NOTE_OLD                                                                                   \
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute "    \
    "and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like "  \
    "to target a higher API call frequency."
#define INFO_DAILY                                                                                 \
    "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. "      \
    "Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to "     \
    "instantly remove all daily rate limits."
#define INFO_DETECTED                                                                              \
    "We have detected your API key as XXXX and our standard API rate limit is 25 requests per "    \
    "day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ "   \
    "to instantly remove all daily rate limits."
#define INFO_DEMO                                                                                  \
    "The **demo** API key is for demo purposes only. Please claim your free API key at "           \
    "(https://www.alphavantage.co/support/#api-key) to explore our full API offerings. It takes "  \
    "fewer than 20 seconds."
#define ERR_CALL                                                                                   \
    "Invalid API call. Please retry or visit the documentation "                                   \
    "(https://www.alphavantage.co/documentation/) for GLOBAL_QUOTE."
#define ERR_KEY                                                                                    \
    "the parameter apikey is invalid or missing. Please claim your free API key on "               \
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."

/* Parses an exact-size heap copy, so ASan sees any read past the body, and
 * checks the views stay inside it. */
static td_av_kind_t parse(const char *body, td_av_result_t *r)
{
    size_t n = strlen(body);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, body, n);
    td_av_parse_global_quote(copy, n, r);
    if (r->text) {
        assert_true(r->text >= copy && r->text + r->text_len <= copy + n);
        r->text = body + (r->text - copy);
    }
    if (r->object) {
        assert_true(r->object >= copy && r->object + r->object_len <= copy + n);
        r->object = body + (r->object - copy);
    }
    free(copy);
    return r->kind;
}

static void expect_text(const td_av_result_t *r, const char *want)
{
    assert_int_equal(r->text_len, strlen(want));
    assert_memory_equal(r->text, want, r->text_len);
}

static void test_quote(void **state)
{
    (void)state;
    td_av_result_t r;
    assert_int_equal(parse(AAPL, &r), TD_AV_QUOTE);
    assert_string_equal(r.quote.symbol, "AAPL");
    assert_true(r.quote.open == 225.54);
    assert_true(r.quote.high == 226.19);
    assert_true(r.quote.low == 223.89);
    assert_true(r.quote.price == 225.97);
    assert_int_equal(r.quote.volume, 9226278);
    assert_string_equal(r.quote.latest_day, "2019-10-04");
    assert_true(r.quote.previous_close == 220.82);
    assert_true(r.quote.change == 5.15);
    assert_true(r.quote.change_percent == 2.3322);
    assert_int_equal(r.object_len, strlen(AAPL_OBJ));
    assert_memory_equal(r.object, AAPL_OBJ, r.object_len);
    assert_null(r.text);
    td_buf_t b = TD_BUF_INIT;
    td_av_quote_payload(&r, &b);
    assert_string_equal(b.data, AAPL_OBJ);
    td_buf_free(&b);
}

static void test_quote_variants(void **state)
{
    (void)state;
    td_av_result_t r;
    /* delayed key, negative change, whitespace, extra keys everywhere */
    const char *b = " {\"Meta\":[1,{\"x\":null}], \"Global Quote - DATA DELAYED\" : {\"01. "
                    "symbol\":\"BRK.B\",\"05. price\":\"410.1000\",\"09. change\":\"-1.2000\","
                    "\"10. change percent\":\"-0.2917%\",\"11. extra\":{\"a\":[true]},"
                    "\"06. volume\":\"0\"}, \"Information\":\"x per day\"}\r\n";
    assert_int_equal(parse(b, &r), TD_AV_QUOTE);
    assert_string_equal(r.quote.symbol, "BRK.B");
    assert_true(r.quote.price == 410.1);
    assert_true(r.quote.change == -1.2);
    assert_true(r.quote.change_percent == -0.2917);
    assert_int_equal(r.quote.volume, 0);
    assert_int_equal(r.object[0], '{');
    assert_int_equal(r.object[r.object_len - 1], '}');
    assert_int_equal(r.daily, 0);
    /* escaped names and values decode before matching */
    assert_int_equal(
        parse("{\"Global\\u0020Quote\":{\"01. symbol\":\"\\u0041B\",\"05. pr\\u0069ce\":\"1\"}}",
              &r),
        TD_AV_QUOTE);
    assert_string_equal(r.quote.symbol, "AB");
    assert_true(r.quote.price == 1.0);
    /* change percent without '%' is accepted too */
    assert_int_equal(parse("{\"Global Quote\":{\"01. symbol\":\"X\",\"05. price\":\"2.5\","
                           "\"10. change percent\":\"0.5\"}}",
                           &r),
                     TD_AV_QUOTE);
    assert_true(r.quote.change_percent == 0.5);
}

static void test_unknown_symbol(void **state)
{
    (void)state;
    td_av_result_t r;
    assert_int_equal(parse("{\"Global Quote\":{}}", &r), TD_AV_UNKNOWN);
    assert_int_equal(parse("{ \"Global Quote\" : { \n } }\n", &r), TD_AV_UNKNOWN);
    assert_int_equal(r.quote.symbol[0], '\0');
    td_buf_t b = TD_BUF_INIT;
    td_av_quote_payload(&r, &b);
    assert_int_equal(b.len, 0);
    td_buf_free(&b);
}

static void test_throttled(void **state)
{
    (void)state;
    td_av_result_t r;
    assert_int_equal(parse("{\"Note\":\"" NOTE_OLD "\"}", &r), TD_AV_THROTTLED);
    expect_text(&r, NOTE_OLD);
    assert_int_equal(r.daily, 0); /* the per-minute limit speaking */
    assert_int_equal(parse("{\"Information\":\"" INFO_DAILY "\"}", &r), TD_AV_THROTTLED);
    expect_text(&r, INFO_DAILY);
    assert_int_equal(r.daily, 1);
    assert_int_equal(parse("{\"Note\":\"" INFO_DAILY "\"}", &r), TD_AV_THROTTLED);
    assert_int_equal(r.daily, 1);
    assert_int_equal(parse("{\"Information\":\"" INFO_DETECTED "\"}", &r), TD_AV_THROTTLED);
    assert_int_equal(r.daily, 1);
    assert_int_equal(parse("{\"Information\":\"" NOTE_OLD "\"}", &r), TD_AV_THROTTLED);
    assert_int_equal(r.daily, 0);
    assert_int_equal(parse("{\"Information\":\"" INFO_DEMO "\"}", &r), TD_AV_THROTTLED);
    expect_text(&r, INFO_DEMO);
    assert_int_equal(r.daily, 0);
    assert_int_equal(parse("{\"Note\":\"Daily limit reached\"}", &r), TD_AV_THROTTLED);
    assert_int_equal(r.daily, 1);
    /* Note wins over Information; the empty text is still a throttle */
    assert_int_equal(parse("{\"Information\":\"b\",\"Note\":\"a\"}", &r), TD_AV_THROTTLED);
    expect_text(&r, "a");
    assert_int_equal(parse("{\"Note\":\"\"}", &r), TD_AV_THROTTLED);
    assert_int_equal(r.text_len, 0);
}

static void test_error(void **state)
{
    (void)state;
    td_av_result_t r;
    assert_int_equal(parse("{\"Error Message\":\"" ERR_CALL "\"}", &r), TD_AV_ERROR);
    expect_text(&r, ERR_CALL);
    assert_int_equal(parse("{\n    \"Error Message\": \"" ERR_KEY "\"\n}", &r), TD_AV_ERROR);
    expect_text(&r, ERR_KEY);
    /* an error beats a throttle note; raw (still escaped) text */
    assert_int_equal(parse("{\"Note\":\"n\",\"Error Message\":\"a\\\"b\"}", &r), TD_AV_ERROR);
    expect_text(&r, "a\\\"b");
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "null",
        "[]",
        "[{\"Global Quote\":{}}]",
        "\"Global Quote\"",
        "{}",
        "{\"Other\":1}",
        "{\"Global Quote\":{}} x",
        "{\"Global Quote\":{}}{}",
        "{\"Global Quote\":[]}",
        "{\"Global Quote\":\"AAPL\"}",
        "{\"Global Quote\":{\"01. symbol\":\"AAPL\"}}", /* no price */
        "{\"Global Quote\":{\"05. price\":\"1.0\"}}",   /* no symbol */
        "{\"Global Quote\":{\"01. symbol\":\"A\",\"05. price\":\"\"}}",
        "{\"Global Quote\":{\"01. symbol\":\"A\",\"05. price\":\"1e3\"}}",
        "{\"Global Quote\":{\"01. symbol\":\"A\",\"05. price\":\"nan\"}}",
        "{\"Global Quote\":{\"01. symbol\":\"A\",\"05. price\":1.0}}",
        "{\"Global Quote\":{\"01. symbol\":\"A\",\"05. price\":\"1\",\"06. volume\":\"-1\"}}",
        "{\"Global Quote\":{\"01. symbol\":\"A\",\"05. price\":\"1\",\"06. volume\":"
        "\"99999999999999999999\"}}",
        "{\"Global Quote\":{\"01. symbol\":\"A\",\"05. price\":\"1\",\"07. latest trading "
        "day\":\"2019/10/04\"}}",
        "{\"Global Quote\":{\"01. symbol\":\"\",\"05. price\":\"1\"}}",
        "{\"Global Quote\":{\"01. symbol\":\"\\u0001\",\"05. price\":\"1\"}}",
        "{\"Global Quote\":{\"01. symbol\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\",\"05. "
        "price\":\"1\"}}", /* 33 bytes */
        "{\"Note\":5}",
        "{\"Error Message\":null}",
        "{\"Note\":\"a\",}",
        "{\"Note\" \"a\"}",
        "{'Note':'a'}",
        "{\"Note\":\"a\\x\"}",
        "{\"Note\":\"\xff\"}",
        "{\"Note\":\"tab\there\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        td_av_result_t r;
        if (parse(bad[i], &r) != TD_AV_MALFORMED) fail_msg("not MALFORMED: %s", bad[i]);
        assert_null(r.text);
        assert_null(r.object);
    }
    td_av_result_t r;
    td_av_parse_global_quote(NULL, 0, &r);
    assert_int_equal(r.kind, TD_AV_MALFORMED);
}

/* Every strict prefix of a valid body is malformed (and read in bounds). */
static void test_truncated(void **state)
{
    (void)state;
    static const char *const good[] = {AAPL, "{\"Global Quote\":{}}",
                                       "{\"Information\":\"" INFO_DAILY "\"}",
                                       "{\"Error Message\":\"" ERR_KEY "\"}"};
    for (size_t g = 0; g < sizeof good / sizeof *good; g++) {
        size_t n = strlen(good[g]);
        for (size_t i = 0; i < n; i++) {
            char *copy = malloc(i ? i : 1);
            memcpy(copy, good[g], i);
            td_av_result_t r;
            td_av_parse_global_quote(copy, i, &r);
            assert_int_equal(r.kind, TD_AV_MALFORMED);
            free(copy);
        }
    }
}

static void test_deep_nesting(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *b = malloc(depth * 2 + 32);
    size_t n = 5;
    memcpy(b, "{\"x\":", n);
    memset(b + n, '[', depth);
    memset(b + n + depth, ']', depth);
    n += 2 * depth;
    memcpy(b + n, ",\"Global Quote\":{}}", 20);
    td_av_result_t r;
    td_av_parse_global_quote(b, strlen(b), &r);
    assert_int_equal(r.kind, TD_AV_MALFORMED); /* too deep: refused, no stack overflow */
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),          cmocka_unit_test(test_quote_variants),
        cmocka_unit_test(test_unknown_symbol), cmocka_unit_test(test_throttled),
        cmocka_unit_test(test_error),          cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncated),      cmocka_unit_test(test_deep_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
