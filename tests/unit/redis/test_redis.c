/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/redis: URL parsing and masking, the RESP reader and
 * command formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "redis/resp.h"
#include "redis/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- URLs ------------------------------------------------------------------- */

static td_redis_url_t parse_ok(const char *s)
{
    td_redis_url_t u;
    char err[256];
    int rc = td_redis_url_parse(&u, s, err, sizeof err);
    if (rc != 0) fail_msg("'%s' refused: %s", s, err);
    return u;
}

static void test_url_tcp(void **state)
{
    (void)state;
    td_redis_url_t u = parse_ok("redis://127.0.0.1:6380/2");
    assert_int_equal(u.scheme, TD_REDIS_TCP);
    assert_int_equal(u.nnodes, 1);
    assert_string_equal(u.nodes[0].host, "127.0.0.1");
    assert_int_equal(u.nodes[0].port, 6380);
    assert_int_equal(u.db, 2);
    assert_null(u.user);
    assert_null(u.pass);
    assert_string_equal(u.masked, "redis://127.0.0.1:6380/2");
    td_redis_url_free(&u);

    u = parse_ok("redis://localhost");
    assert_int_equal(u.nodes[0].port, 6379);
    assert_int_equal(u.db, -1);
    td_redis_url_free(&u);

    u = parse_ok("127.0.0.1:7000"); /* bare host:port, as before */
    assert_int_equal(u.scheme, TD_REDIS_TCP);
    assert_int_equal(u.nodes[0].port, 7000);
    td_redis_url_free(&u);

    u = parse_ok("rediss://[::1]:6390");
    assert_int_equal(u.scheme, TD_REDIS_TLS);
    assert_string_equal(u.nodes[0].host, "::1");
    char name[64];
    assert_string_equal(td_redis_node_name(&u.nodes[0], name, sizeof name), "[::1]:6390");
    td_redis_url_free(&u);
}

static void test_url_credentials(void **state)
{
    (void)state;
    td_redis_url_t u = parse_ok("redis://:s3cret@127.0.0.1:6379");
    assert_null(u.user);
    assert_string_equal(u.pass, "s3cret");
    assert_string_equal(u.masked, "redis://:***@127.0.0.1:6379");
    td_redis_url_free(&u);

    u = parse_ok("rediss://tick:p%40ss%3Aw@redis.example:6380/1");
    assert_string_equal(u.user, "tick");
    assert_string_equal(u.pass, "p@ss:w");
    assert_string_equal(u.masked, "rediss://tick:***@redis.example:6380/1");
    td_redis_url_free(&u);

    u = parse_ok("redis://onlypass@h:1"); /* redis-cli reads a lone token as the password */
    assert_null(u.user);
    assert_string_equal(u.pass, "onlypass");
    assert_string_equal(u.masked, "redis://***@h:1");
    td_redis_url_free(&u);

    u = parse_ok("redis://a:b@c@h:1"); /* the last '@' ends the userinfo */
    assert_string_equal(u.pass, "b@c");
    assert_string_equal(u.nodes[0].host, "h");
    td_redis_url_free(&u);
}

static void test_url_unix_sentinel_cluster(void **state)
{
    (void)state;
    td_redis_url_t u = parse_ok("unix:///run/redis/redis.sock?db=3");
    assert_int_equal(u.scheme, TD_REDIS_UNIX);
    assert_string_equal(u.path, "/run/redis/redis.sock");
    assert_int_equal(u.db, 3);
    assert_int_equal(u.nnodes, 0);
    td_redis_url_free(&u);

    u = parse_ok("unix://:pw@/tmp/r.sock");
    assert_string_equal(u.pass, "pw");
    assert_string_equal(u.path, "/tmp/r.sock");
    assert_string_equal(u.masked, "unix://:***@/tmp/r.sock");
    td_redis_url_free(&u);

    u = parse_ok("redis+sentinel://u:pw@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/4");
    assert_int_equal(u.scheme, TD_REDIS_SENTINEL);
    assert_int_equal(u.nnodes, 3);
    assert_int_equal(u.nodes[1].port, 26379); /* Sentinel's default port */
    assert_string_equal(u.nodes[2].host, "::1");
    assert_string_equal(u.master, "mymaster");
    assert_int_equal(u.db, 4);
    assert_string_equal(u.masked, "redis+sentinel://u:***@10.0.0.1:26379,10.0.0.2,[::1]:26380/"
                                  "mymaster/4");
    td_redis_url_free(&u);

    u = parse_ok("redis+cluster://:pw@h1:7000,h2:7001");
    assert_int_equal(u.scheme, TD_REDIS_CLUSTER);
    assert_int_equal(u.nnodes, 2);
    assert_int_equal(u.nodes[1].port, 7001);
    td_redis_url_free(&u);
}

static void test_url_refused_without_leaking(void **state)
{
    (void)state;
    static const char *bad[] = {
        "http://h:1",
        "redis://",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:12x",
        "redis://h:1/x",
        "redis://h1:1,h2:2",
        "redis://[::1",
        "redis://:p%zz@h:1",
        "redis://:p%00@h:1",
        "unix://relative.sock",
        "unix:///s.sock?db=",
        "unix:///s.sock?foo=1",
        "redis+sentinel://h:1",
        "redis+sentinel://h:1/",
        "redis+cluster://h:1/x",
        "redis+cluster://h:1,",
        "h",
        "redis://h:1?x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        td_redis_url_t u;
        char err[256];
        if (td_redis_url_parse(&u, bad[i], err, sizeof err) == 0) fail_msg("'%s' accepted", bad[i]);
        td_redis_url_free(&u);
    }
    td_redis_url_t u;
    char err[256];
    assert_int_not_equal(td_redis_url_parse(&u, "redis://:hunter2@h:99999", err, sizeof err), 0);
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "redis://:***@h:99999"));
    td_redis_url_free(&u);
    assert_int_not_equal(td_redis_url_parse(&u, "foo://:hunter2@h", err, sizeof err), 0);
    assert_null(strstr(err, "hunter2"));
    td_redis_url_free(&u);
}

static void test_url_mask(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(td_redis_url_mask(out, sizeof out, "redis://u:pw@h:1"), 17);
    assert_string_equal(out, "redis://u:***@h:1");
    td_redis_url_mask(out, sizeof out, "garbage:pw@x");
    assert_string_equal(out, "garbage:***@x");
    td_redis_url_mask(out, sizeof out, "no credentials");
    assert_string_equal(out, "no credentials");
    assert_int_equal(td_redis_url_mask(out, 8, "redis://:longpassword@h"), 14);
    assert_string_equal(out, "redis:/"); /* truncated, still terminated */
}

/* ---- RESP ------------------------------------------------------------------- */

static void test_resp_scalars(void **state)
{
    (void)state;
    td_resp_reader_t r = TD_RESP_READER_INIT;
    const char *in =
        ":1\r\n+OK\r\n-NOAUTH Authentication required.\r\n$3\r\nabc\r\n$-1\r\n:-42\r\n";
    size_t len = strlen(in), off = 0;
    ssize_t n;
    n = td_resp_parse(&r, in, len);
    assert_int_equal(n, 4);
    assert_int_equal(r.v[0].type, TD_RESP_INT);
    assert_int_equal(r.v[0].i, 1);
    off += (size_t)n;
    n = td_resp_parse(&r, in + off, len - off);
    assert_int_equal(r.v[0].type, TD_RESP_STATUS);
    assert_true(td_resp_is(&r.v[0], "OK"));
    off += (size_t)n;
    n = td_resp_parse(&r, in + off, len - off);
    assert_int_equal(r.v[0].type, TD_RESP_ERROR);
    assert_true(td_resp_is(&r.v[0], "NOAUTH Authentication required."));
    off += (size_t)n;
    n = td_resp_parse(&r, in + off, len - off);
    assert_int_equal(r.v[0].type, TD_RESP_BULK);
    assert_true(td_resp_is(&r.v[0], "abc"));
    off += (size_t)n;
    n = td_resp_parse(&r, in + off, len - off);
    assert_int_equal(r.v[0].type, TD_RESP_NIL);
    off += (size_t)n;
    n = td_resp_parse(&r, in + off, len - off);
    assert_int_equal(r.v[0].i, -42);
    off += (size_t)n;
    assert_int_equal(off, len);
    td_resp_reader_free(&r);
}

static void test_resp_nested_and_partial(void **state)
{
    (void)state;
    td_resp_reader_t r = TD_RESP_READER_INIT;
    /* A pmessage, then CLUSTER SLOTS-like nesting. */
    const char *pm = "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$11\r\nquotes.AAPL\r\n$7\r\n{\"a\":1}\r\n";
    size_t len = strlen(pm);
    for (size_t cut = 0; cut < len; cut++) /* every prefix is incomplete */
        assert_int_equal(td_resp_parse(&r, pm, cut), 0);
    assert_int_equal(td_resp_parse(&r, pm, len), (ssize_t)len);
    assert_int_equal(r.n, 5);
    assert_true(td_resp_is(td_resp_elem(&r, 0, 0), "pmessage"));
    assert_true(td_resp_is(td_resp_elem(&r, 0, 2), "quotes.AAPL"));
    assert_true(td_resp_is(td_resp_elem(&r, 0, 3), "{\"a\":1}"));
    assert_null(td_resp_elem(&r, 0, 4));

    const char *nest = "*2\r\n*3\r\n:0\r\n:5460\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n*0\r\n";
    assert_int_equal(td_resp_parse(&r, nest, strlen(nest)), (ssize_t)strlen(nest));
    const td_resp_node_t *a = td_resp_elem(&r, 0, 0), *b = td_resp_elem(&r, 0, 1);
    assert_int_equal(a->type, TD_RESP_ARRAY);
    assert_int_equal(a->n, 3);
    assert_int_equal(b->type, TD_RESP_ARRAY);
    assert_int_equal(b->n, 0);
    size_t ai = (size_t)(a - r.v);
    const td_resp_node_t *node = td_resp_elem(&r, ai, 2);
    assert_true(td_resp_is(td_resp_elem(&r, (size_t)(node - r.v), 0), "127.0.0.1"));
    assert_int_equal(td_resp_elem(&r, (size_t)(node - r.v), 1)->i, 7000);
    td_resp_reader_free(&r);
}

static void test_resp_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "?x\r\n",           ":1x\r\n", ":\r\n", "$-2\r\n",
        "$3\r\nabcd\r\n",   "*-5\r\n", ":1\rx", ":99999999999999999999\r\n",
        "$99999999999\r\n",
    };
    td_resp_reader_t r = TD_RESP_READER_INIT;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (td_resp_parse(&r, bad[i], strlen(bad[i])) != -1) fail_msg("'%s' accepted", bad[i]);
        assert_non_null(r.err);
    }
    char deep[200] = "";
    for (int i = 0; i < 20; i++)
        strcat(deep, "*1\r\n");
    strcat(deep, ":1\r\n");
    assert_int_equal(td_resp_parse(&r, deep, strlen(deep)), -1);
    r.max_elems = 3;
    assert_int_equal(td_resp_parse(&r, "*4\r\n", 4), -1);
    td_resp_reader_free(&r);
}

static void test_resp_format(void **state)
{
    (void)state;
    td_buf_t b = TD_BUF_INIT;
    const char *argv[] = {"HSET", "last:quotes", "AAPL", ""};
    size_t lens[] = {4, 11, 4, 0};
    td_resp_append_cmd(&b, 4, argv, lens);
    assert_string_equal(b.data,
                        "*4\r\n$4\r\nHSET\r\n$11\r\nlast:quotes\r\n$4\r\nAAPL\r\n$0\r\n\r\n");
    td_resp_reader_t r = TD_RESP_READER_INIT; /* what we format, we parse */
    assert_int_equal(td_resp_parse(&r, b.data, b.len), (ssize_t)b.len);
    assert_true(td_resp_is(td_resp_elem(&r, 0, 1), "last:quotes"));
    td_resp_reader_free(&r);
    td_buf_free(&b);
    char d[32];
    assert_int_equal(td_put_uint(d, 1234567) - d, 7);
    assert_int_equal(td_uint_digits(0), 1);
    assert_int_equal(td_uint_digits(1000), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_tcp),
        cmocka_unit_test(test_url_credentials),
        cmocka_unit_test(test_url_unix_sentinel_cluster),
        cmocka_unit_test(test_url_refused_without_leaking),
        cmocka_unit_test(test_url_mask),
        cmocka_unit_test(test_resp_scalars),
        cmocka_unit_test(test_resp_nested_and_partial),
        cmocka_unit_test(test_resp_errors),
        cmocka_unit_test(test_resp_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
