/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the shared JSON helpers of src/proto/json_scan.c used by
 * the REST parsers, the Redis source, the splitters and libtickerd's
 * accessors: td_json_valid, td_json_name_is, td_json_name_index,
 * td_json_top_members, td_json_member, td_json_each_element, td_json_int64,
 * td_json_unescape; and the error table of core/err.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/err.h"
#include "proto/json_scan.h"

#include <errno.h>
#include <stdint.h>

#include <stdio.h>
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

static int member(const char *obj, const char *key, const char *want)
{
    td_json_span_t v;
    int rc = td_json_member(obj, obj + strlen(obj), key, &v);
    if (rc != 0) return want == NULL;
    return want && (size_t)(v.e - v.p) == strlen(want) && memcmp(v.p, want, strlen(want)) == 0;
}

static void test_member(void **state)
{
    (void)state;
    const char *ev = " {\"T\":\"t\",\"p\":1.5,\"x\":{\"p\":9},\"s\":[1,{\"p\":2}],\"p\":2.25} ";
    assert_true(member(ev, "p", "2.25")); /* the last occurrence wins, nested ones do not count */
    assert_true(member(ev, "T", "\"t\""));
    assert_true(member(ev, "x", "{\"p\":9}"));
    assert_true(member(ev, "q", NULL));               /* absent */
    assert_true(member("{\"\\u0070\":7}", "p", "7")); /* names compared decoded */
    assert_true(member("{}", "p", NULL));
    /* not one valid object: nothing, even when the member came before the fault */
    static const char *const bad[] = {"{\"p\":1,}",
                                      "{\"p\":1} x",
                                      "[{\"p\":1}]",
                                      "{\"p\":01}",
                                      "{\"p\":\"\xff\"}",
                                      "{\"p\":1",
                                      ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_true(member(bad[i], "p", NULL));
}

typedef struct {
    char seen[8][16];
    int n, stop_at;
} elems_t;

static int on_elem(void *ud, const char *v, const char *ve)
{
    elems_t *e = ud;
    snprintf(e->seen[e->n], sizeof e->seen[0], "%.*s", (int)(ve - v), v);
    return ++e->n == e->stop_at ? 42 : 0;
}

static void test_each_element(void **state)
{
    (void)state;
    const char *a = "[ \"A\" , 1,[2,3] ,{\"k\":[]},null ]tail";
    elems_t e = {.stop_at = -1};
    assert_int_equal(td_json_each_element(a, a + strlen(a), on_elem, &e), 0);
    assert_int_equal(e.n, 5);
    assert_string_equal(e.seen[0], "\"A\"");
    assert_string_equal(e.seen[2], "[2,3]");
    assert_string_equal(e.seen[3], "{\"k\":[]}");
    assert_string_equal(e.seen[4], "null");
    elems_t f = {.stop_at = 2};
    assert_int_equal(td_json_each_element(a, a + strlen(a), on_elem, &f), 42); /* fn stops it */
    assert_int_equal(f.n, 2);
    elems_t g = {.stop_at = -1};
    assert_int_equal(td_json_each_element("[ ]", "[ ]" + 3, on_elem, &g), 0);
    assert_int_equal(g.n, 0);
}

static int int64_of(const char *s, int64_t *v)
{
    return td_json_int64(s, s + strlen(s), v);
}

static void test_int64(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(int64_of("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(int64_of("-42", &v), 0);
    assert_int_equal(v, -42);
    assert_int_equal(int64_of("9223372036854775807", &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(int64_of("-9223372036854775808", &v), 0);
    assert_true(v == INT64_MIN);
    static const char *const bad[] = {
        "9223372036854775808", "-9223372036854775809", "1.5", "1e3", "-", "", "12x",
        "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = 7;
        assert_int_equal(int64_of(bad[i], &v), -1);
        assert_int_equal(v, 7); /* untouched */
    }
}

static void test_unescape(void **state)
{
    (void)state;
    char out[16];
    const char *s = "a\\n\\u00e9\\ud83d\\ude00";
    long n = td_json_unescape(s, strlen(s), out, sizeof out);
    assert_int_equal(n, 1 + 1 + 2 + 4);
    assert_memory_equal(out, "a\n\xc3\xa9\xf0\x9f\x98\x80", 8);
    assert_int_equal(td_json_unescape("\\ud800", 6, out, sizeof out), -1); /* lone surrogate */
    assert_int_equal(td_json_unescape("\\udc00x", 7, out, sizeof out), -1);
    assert_int_equal(td_json_unescape("abcdef", 6, out, 5), -1); /* does not fit */
}

static void test_trim(void **state)
{
    (void)state;
    const char *s = " \t\r\n[1, 2] \n";
    const char *p = s, *e = s + strlen(s);
    td_json_trim(&p, &e);
    assert_int_equal(e - p, 6);
    assert_memory_equal(p, "[1, 2]", 6);
    const char *w = " \f ", *wp = w, *we = w + 3; /* form feed is not JSON whitespace */
    td_json_trim(&wp, &we);
    assert_int_equal(we - wp, 1);
    assert_int_equal(*wp, '\f');
    const char *z = "  ", *zp = z, *ze = z + 2;
    td_json_trim(&zp, &ze);
    assert_true(zp == ze);
}

static void test_err(void **state)
{
    (void)state;
    assert_string_equal(td_strerror(TD_OK), "ok");
    assert_string_equal(td_err_name(TD_OK), "OK");
    assert_string_equal(td_strerror(TD_EMALFORMED), "malformed JSON");
    assert_string_equal(td_err_name(TD_EMALFORMED), "EMALFORMED");
    assert_string_equal(td_err_name(TD_ECORRUPT), "ECORRUPT");
    assert_string_equal(td_strerror(TD_ETORN), "torn tail");
    /* every code of the table: negative, below any negated errno, its own name */
    static const int codes[] = {
#define XX(name, text) TD_##name,
        TD_ERRNO_MAP(XX)
#undef XX
    };
    static const char *const names[] = {
#define XX(name, text) #name,
        TD_ERRNO_MAP(XX)
#undef XX
    };
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        assert_true(codes[i] < TD_ERR__BASE);
        assert_string_equal(td_err_name(codes[i]), names[i]);
        assert_string_not_equal(td_strerror(codes[i]), "unknown error");
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
    /* negated errno values (the store, libuv) */
    assert_int_equal(TD_EAGAIN, -EAGAIN);
    assert_string_equal(td_strerror(-EINVAL), strerror(EINVAL));
    assert_string_equal(td_err_name(-EIO), "ERRNO");
    /* anything else */
    assert_string_equal(td_strerror(1), "unknown error");
    assert_string_equal(td_strerror(TD_ERR__BASE), "unknown error");
    assert_string_equal(td_strerror(TD_ERR__END), "unknown error");
    assert_string_equal(td_err_name(-1000000), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),        cmocka_unit_test(test_names),
        cmocka_unit_test(test_top_members),  cmocka_unit_test(test_member),
        cmocka_unit_test(test_each_element), cmocka_unit_test(test_int64),
        cmocka_unit_test(test_unescape),     cmocka_unit_test(test_trim),
        cmocka_unit_test(test_err),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
