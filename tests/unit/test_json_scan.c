/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the shared JSON helpers of src/proto/json_scan.c used by
 * the REST parsers and the Redis source: td_json_valid, td_json_name_is,
 * td_json_name_index, td_json_top_members. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proto/json_scan.h"

#include <string.h>

static int valid(const char *s, int object_only)
{
    return td_json_valid(s, strlen(s), object_only);
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(valid("{}", 1));
    assert_true(valid(" \n{\"T\":\"q\",\"a\":[1,2.5e3,null,true]}\t", 1));
    assert_true(valid("[1]", 0));
    assert_true(valid("\"x\"", 0));
    assert_false(valid("[1]", 1)); /* an array is not an object */
    assert_false(valid("", 0));
    assert_false(valid("   ", 0));
    assert_false(valid("{", 1));
    assert_false(valid("{\"a\":1} {\"b\":2}", 1)); /* two values */
    assert_false(valid("{\"a\":01}", 1));          /* strict numbers */
    assert_false(valid("{\"a\":\"\xff\"}", 1));    /* invalid UTF-8 */
    assert_true(valid("{\"a\":\"\\ud800\"}", 1));  /* grammatical (RFC 8259 §8.2) */
    assert_false(valid("{'a':1}", 1));
    /* only the given bytes are read: a valid prefix of a longer buffer */
    const char buf[] = "{\"a\":1}garbage";
    assert_true(td_json_valid(buf, 7, 1));
    assert_false(td_json_valid(buf, 8, 1));
}

static void test_names(void **state)
{
    (void)state;
    assert_true(td_json_name_is("bars", 4, 0, "bars"));
    assert_false(td_json_name_is("bar", 3, 0, "bars"));
    assert_true(td_json_name_is("b\\u0061rs", 9, 1, "bars")); /* compared decoded */
    static const char *const names[] = {"t", "o", "next_page_token"};
    assert_int_equal(td_json_name_index("o", 1, 0, names, 3), 1);
    assert_int_equal(td_json_name_index("next_page_token", 15, 0, names, 3), 2);
    assert_int_equal(td_json_name_index("x", 1, 0, names, 3), -1);
}

static void test_top_members(void **state)
{
    (void)state;
    static const char *const names[] = {"bars", "next_page_token", "symbol"};
    const char *body = "{\"symbol\":\"AAPL\",\"bars\":[{\"t\":1}],\"x\":{\"bars\":0},"
                       "\"bars\":\"second\",\"next_page_token\":null}";
    td_json_span_t k[3] = {{0}};
    assert_int_equal(td_json_top_members(body, body + strlen(body), names, 3, k), 0);
    /* the first occurrence wins; nested members do not count */
    assert_int_equal(k[0].e - k[0].p, 9);
    assert_memory_equal(k[0].p, "[{\"t\":1}]", 9);
    assert_memory_equal(k[1].p, "null", 4);
    assert_memory_equal(k[2].p, "\"AAPL\"", 6);
    td_json_span_t z[3] = {{0}};
    const char *empty = " {} ";
    assert_int_equal(td_json_top_members(empty, empty + 4, names, 3, z), 0);
    assert_null(z[0].p);
    static const char *const bad[] = {"", "[]", "{\"bars\":}", "{\"bars\":1,}", "{\"a\":1}x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        td_json_span_t w[3] = {{0}};
        assert_int_equal(td_json_top_members(bad[i], bad[i] + strlen(bad[i]), names, 3, w), -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_top_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
