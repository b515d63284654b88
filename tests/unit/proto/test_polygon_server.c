/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: Polygon client → server messages (proto/polygon_server.c,
 * td_polygon_server_parse): strict JSON, escapes, NUL bytes, nesting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "deep_json.h"
#include "proto/polygon_server.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int parse(const char *s, char **action, char **params)
{
    *action = *params = NULL;
    return td_polygon_server_parse(s, strlen(s), action, params);
}

static void test_parse(void **state)
{
    (void)state;
    char *a, *p;
    assert_int_equal(parse(" {\"action\":\"auth\",\"params\":\"PK\\u00e9\\/1\"}\n", &a, &p), 0);
    assert_string_equal(a, "auth");
    assert_string_equal(p, "PK\xc3\xa9/1");
    free(a);
    free(p);
    /* the first member of a name counts; non-strings are absent */
    assert_int_equal(parse("{\"params\":[1],\"action\":\"x\",\"action\":\"y\",\"z\":{}}", &a, &p),
                     0);
    assert_string_equal(a, "x");
    assert_null(p);
    free(a);
    assert_int_equal(parse("[{\"action\":\"auth\"}]", &a, &p), -1);
    assert_int_equal(parse("{\"action\":\"auth\"} x", &a, &p), -1);
    assert_int_equal(parse("{\"action\":\"a\x01\"}", &a, &p), -1);
    assert_null(a);
    assert_null(p);
}

static int gaps(const char *s)
{
    return td_polygon_server_wants_gaps(s, strlen(s));
}

/* tickerd's "gaps":true on a subscribe: only the literal true, at the top. */
static void test_wants_gaps(void **state)
{
    (void)state;
    assert_int_equal(gaps("{\"action\":\"subscribe\",\"params\":\"T.AAPL\",\"gaps\":true}"), 1);
    assert_int_equal(gaps(" { \"g\\u0061ps\" : true } "), 1);
    assert_int_equal(gaps("{\"action\":\"subscribe\",\"params\":\"T.AAPL\"}"), 0);
    assert_int_equal(gaps("{\"gaps\":\"true\"}"), 0);
    assert_int_equal(gaps("{\"gaps\":1}"), 0);
    assert_int_equal(gaps("{\"gaps\":false,\"gaps\":true}"), 0); /* the first counts */
    assert_int_equal(gaps("{\"x\":{\"gaps\":true}}"), 0);
    assert_int_equal(gaps("{\"gaps\":true"), 0);
}

/* A key with a NUL byte is never a key: as a C string "PK1\u0000junk"
 * would read as "PK1". */
static void test_nul(void **state)
{
    (void)state;
    char *a, *p;
    assert_int_equal(parse("{\"action\":\"auth\",\"params\":\"PK1\\u0000junk\"}", &a, &p), 0);
    assert_string_equal(a, "auth");
    assert_null(p);
    free(a);
    static const char raw[] = "{\"action\":\"auth\",\"params\":\"PK1\0junk\"}";
    assert_int_equal(td_polygon_server_parse(raw, sizeof raw - 1, &a, &p), -1);
    assert_int_equal(parse("{\"action\":\"auth\",\"params\":\"PK1\\ud800\"}", &a, &p), 0);
    assert_null(p);
    free(a);
}

/* Nesting is bounded (64 levels) and the time linear: 32000 levels are
 * refused at once (jsmn's parent walk took over a second per message). */
static void test_deep(void **state)
{
    (void)state;
    size_t n;
    char *s = deep_json("{\"action\":\"auth\",\"x\":", 32000, &n), *a, *p;
    clock_t t0 = clock();
    for (int i = 0; i < 10; i++)
        assert_int_equal(td_polygon_server_parse(s, n, &a, &p), -1);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC / 10 < 0.05);
    free(s);
    for (size_t levels = 63; levels <= 64; levels++) { /* with the object: 64 is the limit */
        s = deep_json("{\"action\":\"auth\",\"x\":", levels, &n);
        a = p = NULL;
        assert_int_equal(td_polygon_server_parse(s, n, &a, &p), levels == 63 ? 0 : -1);
        free(a);
        free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_nul),
        cmocka_unit_test(test_wants_gaps),
        cmocka_unit_test(test_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
