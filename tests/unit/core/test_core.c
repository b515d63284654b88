/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/core (backoff, RFC 3339, td_buf JSON escaping, options)
 * and td_subset_parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/backoff.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/opt.h"
#include "core/rng.h"
#include "proto/sub.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- backoff ---------------------------------------------------------------- */

static void test_backoff_schedule(void **state)
{
    (void)state;
    td_backoff_t b;
    td_backoff_init(&b, 100, 1000);
    /* random 0 gives the low end d - d/2; random d/2 gives the high end d. */
    const uint32_t d[] = {100, 200, 400, 800, 1000, 1000, 1000};
    for (size_t i = 0; i < sizeof d / sizeof *d; i++) {
        td_backoff_t hi = b;
        assert_int_equal(td_backoff_next(&hi, d[i] / 2), d[i]);
        assert_int_equal(td_backoff_next(&b, 0), d[i] - d[i] / 2);
    }
    for (int i = 0; i < 200; i++) { /* no overflow however long it runs */
        uint32_t v = td_backoff_next(&b, (uint64_t)i * 0x9e3779b97f4a7c15ull);
        assert_true(v >= 500 && v <= 1000);
    }
    td_backoff_reset(&b);
    assert_int_equal(td_backoff_next(&b, 0), 50);
    /* Random values: always within [d/2, d]. */
    td_rng_t rng;
    td_rng_seed(&rng, 7);
    td_backoff_init(&b, 250, 30000);
    uint32_t cap = 250;
    for (int i = 0; i < 20; i++) {
        uint32_t v = td_backoff_next(&b, td_rng_next(&rng));
        assert_true(v >= cap - cap / 2 && v <= cap);
        cap = cap * 2 > 30000 ? 30000 : cap * 2;
    }
    /* Degenerate settings. */
    td_backoff_init(&b, 0, 0);
    assert_int_equal(b.base_ms, 1);
    assert_int_equal(b.max_ms, 1);
    assert_int_equal(td_backoff_next(&b, 12345), 1);
    td_backoff_init(&b, 500, 100);
    assert_int_equal(b.max_ms, 500);
}

/* ---- RFC 3339 --------------------------------------------------------------- */

static void expect_format(int64_t ns, const char *want)
{
    char out[TD_RFC3339_MAX];
    size_t n = td_rfc3339_format(out, ns);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_rfc3339_format(void **state)
{
    (void)state;
    expect_format(0, "1970-01-01T00:00:00Z");
    expect_format(1614009105335689322, "2021-02-22T15:51:45.335689322Z");
    expect_format(1613994944208000000, "2021-02-22T11:55:44.208Z");
    expect_format(1680786942835409580, "2023-04-06T13:15:42.83540958Z");
    expect_format(1614021300000000000, "2021-02-22T19:15:00Z");
    expect_format(1000000001, "1970-01-01T00:00:01.000000001Z");
    expect_format(100000000, "1970-01-01T00:00:00.1Z");
    expect_format(-1, "1969-12-31T23:59:59.999999999Z");
    expect_format(951782400000000000, "2000-02-29T00:00:00Z");
}

static void expect_parse(const char *s, int64_t want)
{
    int64_t ns = 42;
    if (td_rfc3339_parse(s, strlen(s), &ns) != 0) fail_msg("rejected %s", s);
    assert_int_equal(ns, want);
}

static void test_rfc3339_parse(void **state)
{
    (void)state;
    /* 0 to 9 fraction digits. */
    const int64_t base = 1614009105000000000; /* 2021-02-22T15:51:45Z */
    const char *fr[] = {"",       ".3",      ".33",      ".335",      ".3356",
                        ".33568", ".335689", ".3356893", ".33568932", ".335689322"};
    const int64_t add[] = {0,         300000000, 330000000, 335000000, 335600000,
                           335680000, 335689000, 335689300, 335689320, 335689322};
    for (int i = 0; i < 10; i++) {
        char s[64];
        snprintf(s, sizeof s, "2021-02-22T15:51:45%sZ", fr[i]);
        expect_parse(s, base + add[i]);
    }
    expect_parse("2021-02-22t15:51:45z", base);
    expect_parse("2021-02-22T16:51:45+01:00", base);
    expect_parse("2021-02-22T10:21:45.5-05:30", base + 500000000);
    expect_parse("1970-01-01T00:00:00Z", 0);
    expect_parse("1969-12-31T23:59:59.999999999Z", -1);
    expect_parse("2000-02-29T00:00:00Z", 951782400000000000);
    expect_parse("2262-04-11T23:47:16.854775807Z", INT64_MAX);

    const char *bad[] = {"",
                         "2021-02-22",
                         "2021-02-22T15:51:45",
                         "2021-02-22T15:51:45.Z",
                         "2021-02-22T15:51:45.1234567890Z",
                         "2021-02-22 15:51:45Z",
                         "2021-02-22T15:51:45ZZ",
                         "2021-13-22T15:51:45Z",
                         "2021-00-22T15:51:45Z",
                         "2021-02-00T15:51:45Z",
                         "2021-02-32T15:51:45Z",
                         "2021-02-29T15:51:45Z",
                         "2021-04-31T15:51:45Z",
                         "1900-02-29T00:00:00Z",
                         "2021-02-22T24:00:00Z",
                         "2021-02-22T15:60:00Z",
                         "2021-02-22T15:51:61Z",
                         "2021-02-22T15:51:45+1:00",
                         "2021-02-22T15:51:45+01:60",
                         "2021-02-22T15:51:45+24:00",
                         "2021-02-22T15:51:45+01:00x",
                         "2O21-02-22T15:51:45Z",
                         "2021-02-22T15:51:4aZ",
                         "9999-12-31T23:59:59Z", /* beyond int64 nanoseconds */
                         "1677-09-21T00:00:00Z",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        int64_t ns;
        if (td_rfc3339_parse(bad[i], strlen(bad[i]), &ns) == 0) fail_msg("accepted %s", bad[i]);
    }
    int64_t ns;
    assert_int_equal(td_rfc3339_parse("2021-02-22T15:51:45Z", 19, &ns), -1); /* length bound */
}

static void test_rfc3339_round_trip(void **state)
{
    (void)state;
    td_rng_t rng;
    td_rng_seed(&rng, 3339);
    for (int i = 0; i < 100000; i++) {
        /* Any instant between 1678 and 2261, with 0..9 significant digits. */
        int64_t ns = (int64_t)(td_rng_next(&rng) % 9000000000000000000ull);
        if (td_rng_next(&rng) & 1) ns = -ns;
        static const int64_t p10[] = {1000000000, 100000000, 10000000, 1000000, 100000,
                                      10000,      1000,      100,      10,      1};
        int64_t unit = p10[i % 10];
        ns -= ((ns % unit) + unit) % unit;
        char s[TD_RFC3339_MAX];
        size_t n = td_rfc3339_format(s, ns);
        int64_t back;
        assert_int_equal(td_rfc3339_parse(s, n, &back), 0);
        assert_int_equal(back, ns);
    }
}

/* ---- td_buf JSON escaping --------------------------------------------------- */

static void expect_json(const char *in, size_t n, const char *want)
{
    td_buf_t b = TD_BUF_INIT;
    td_buf_appends(&b, "x=");
    td_buf_append_json_str(&b, in, n);
    assert_string_equal(b.data, want);
    assert_int_equal(b.len, strlen(want));
    td_buf_free(&b);
}

static void test_buf_json(void **state)
{
    (void)state;
    expect_json("", 0, "x=\"\"");
    expect_json("AAPL", 4, "x=\"AAPL\"");
    expect_json("a\"b\\c/d", 7, "x=\"a\\\"b\\\\c/d\"");
    expect_json("\n\r\t\b\f", 5, "x=\"\\u000a\\u000d\\u0009\\u0008\\u000c\"");
    expect_json("a\0b", 3, "x=\"a\\u0000b\"");
    expect_json("\x1f\x7f", 2, "x=\"\\u001f\x7f\"");
    expect_json("caf\xc3\xa9 \xf0\x9f\x9a\x80", 10, "x=\"caf\xc3\xa9 \xf0\x9f\x9a\x80\"");
    td_buf_t b = TD_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        td_buf_append_json_str(&b, "\"", 1);
    assert_int_equal(b.len, 4000);
    td_buf_consume(&b, 3996);
    assert_string_equal(b.data, "\"\\\"\"");
    td_buf_free(&b);
}

static void test_date_parse(void **state)
{
    (void)state;
    int64_t d = -1;
    assert_int_equal(td_date_parse("1970-01-01", 10, &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(td_date_parse("2024-02-29", 10, &d), 0); /* leap day */
    assert_int_equal(d, td_days_from_civil(2024, 2, 29));
    static const char *const bad[] = {"2023-02-29", "2022-02-31", "2022-13-01", "2022-00-10",
                                      " 2022-4-11", "+2022-04-1", "2022/04/11", "2022-04-1x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(td_date_parse(bad[i], strlen(bad[i]), &d), -1);
    assert_int_equal(td_date_parse("2022-04-11T", 11, &d), -1);
    assert_int_equal(td_date_parse("2022-04-11", 9, &d), -1);
}

static void test_url_escape(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(td_url_escape(out, sizeof out, "BRK.B-x_~9"), 10);
    assert_string_equal(out, "BRK.B-x_~9");
    td_url_escape(out, sizeof out, "A,B /&=?%\xc3\xa9");
    assert_string_equal(out, "A%2CB%20%2F%26%3D%3F%25%C3%A9");
    /* never a partial %XX: stops before what does not fit */
    assert_int_equal(td_url_escape(out, 6, "ab,cd"), 5);
    assert_string_equal(out, "ab%2C");
    assert_int_equal(td_url_escape(out, 5, "ab,cd"), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(td_url_escape(out, 1, "ab"), 0);
    assert_string_equal(out, "");
    td_buf_t b = TD_BUF_INIT;
    td_buf_append_url(&b, "X:BTC\0USD", 9);
    assert_int_equal(b.len, 13);
    assert_memory_equal(b.data, "X%3ABTC%00USD", 13);
    td_buf_free(&b);
}

/* ---- options ---------------------------------------------------------------- */

typedef struct {
    char *url;
    char *key;
    int64_t port;
    double timeout, ratio;
    int verbose;
    int color;
    td_strlist_t sub;
} cfg_t;

static const td_opt_t table[] = {
    {"url", TD_OPT_STR, offsetof(cfg_t, url), 0, 0, "ws://localhost", "URL", NULL, 0, "upstream"},
    {"key", TD_OPT_STR, offsetof(cfg_t, key), 0, 0, NULL, "KEY", "TD_TEST_KEY", TD_OPT_SECRET,
     "key"},
    {"port", TD_OPT_INT, offsetof(cfg_t, port), 1, 65535, "8080", "N", "TD_TEST_PORT", 0, "port"},
    {"timeout", TD_OPT_DOUBLE, offsetof(cfg_t, timeout), 0, 60, "2.5", "S", NULL, TD_OPT_DURATION,
     "timeout"},
    {"ratio", TD_OPT_DOUBLE, offsetof(cfg_t, ratio), 0, 1e6, "1", "R", NULL, 0, "not a duration"},
    {"verbose", TD_OPT_BOOL, offsetof(cfg_t, verbose), 0, 0, "no", NULL, NULL, 0, "chatty"},
    {"color", TD_OPT_BOOL, offsetof(cfg_t, color), 0, 0, "yes", NULL, NULL, 0, "colors"},
    {"subscribe", TD_OPT_LIST, offsetof(cfg_t, sub), 0, 0, NULL, "SPEC", NULL, 0, "subs"},
    TD_OPT_END,
};
static const td_opts_t opts = {"run", table, "usage: run", "about"};

static char ini_path[64];

static void write_ini(const char *text)
{
    strcpy(ini_path, "/tmp/td-test-core-XXXXXX");
    int fd = mkstemp(ini_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int parse(cfg_t *c, char *err, int argc, const char **argv)
{
    memset(c, 0, sizeof *c);
    err[0] = '\0';
    return td_opts_parse(&opts, c, argc, (char **)argv, err, 256);
}

static void test_opt_defaults_and_flags(void **state)
{
    (void)state;
    cfg_t c;
    char err[256];
    unsetenv("TD_TEST_KEY");
    unsetenv("TD_TEST_PORT");
    const char *a0[] = {"run"};
    assert_int_equal(parse(&c, err, 1, a0), 0);
    assert_string_equal(c.url, "ws://localhost");
    assert_null(c.key);
    assert_int_equal(c.port, 8080);
    assert_true(c.timeout == 2.5);
    assert_int_equal(c.verbose, 0);
    assert_int_equal(c.color, 1);
    td_opts_free(&opts, &c);

    const char *a1[] = {"run",         "--url=ws://x", "--port",         "9",
                        "--verbose",   "--no-color",   "--timeout",      "0.25",
                        "--subscribe", "trades=A",     "--subscribe=q=B"};
    assert_int_equal(parse(&c, err, 11, a1), 0);
    assert_string_equal(c.url, "ws://x");
    assert_int_equal(c.port, 9);
    assert_int_equal(c.verbose, 1);
    assert_int_equal(c.color, 0);
    assert_true(c.timeout == 0.25);
    assert_int_equal(c.sub.n, 2);
    assert_string_equal(c.sub.v[1], "q=B");
    td_opts_free(&opts, &c);

    /* durations with a unit */
    const char *units[][2] = {{"20s", "20"}, {"250ms", "0.25"}, {"0.5min", "30"}, {"0.01h", "36"}};
    for (size_t i = 0; i < 4; i++) {
        const char *au[] = {"run", "--timeout", units[i][0]};
        assert_int_equal(parse(&c, err, 3, au), 0);
        assert_true(fabs(c.timeout - atof(units[i][1])) < 1e-9);
        td_opts_free(&opts, &c);
    }
    const char *bad_unit[] = {"run", "--timeout", "5sec"};
    assert_int_equal(parse(&c, err, 3, bad_unit), -1);
    td_opts_free(&opts, &c);
    const char *not_duration[] = {"run", "--ratio", "2min"}; /* units only for durations */
    assert_int_equal(parse(&c, err, 3, not_duration), -1);
    td_opts_free(&opts, &c);

    const char *bad[][3] = {{"run", "--bogus", NULL},    {"run", "--port", "0"},
                            {"run", "--port", "65536"},  {"run", "--port", "12x"},
                            {"run", "--timeout", "nan"}, {"run", "--verbose=maybe", NULL},
                            {"run", "--no-port", NULL},  {"run", "stray", NULL},
                            {"run", "--url", NULL},      {"run", "-c", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int argc = bad[i][2] ? 3 : 2;
        if (parse(&c, err, argc, bad[i]) != -1) fail_msg("accepted %s %s", bad[i][1], bad[i][2]);
        assert_true(strlen(err) > 0);
        td_opts_free(&opts, &c);
    }
}

static void expect_file_error(const char *text, int line, const char *what)
{
    cfg_t c;
    char err[256], want[128];
    write_ini(text);
    const char *argv[] = {"run", "-c", ini_path};
    assert_int_equal(parse(&c, err, 3, argv), -1);
    snprintf(want, sizeof want, "%s:%d: ", ini_path, line);
    if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, what))
        fail_msg("error '%s', want '%s...%s'", err, want, what);
    td_opts_free(&opts, &c);
    unlink(ini_path);
}

static void test_opt_file_errors(void **state)
{
    (void)state;
    expect_file_error("[run]\nport = 1\nbogus = 2\n", 3, "unknown key 'bogus'");
    expect_file_error("[run]\n\n# comment\nport = 99999\n", 4, "port");
    expect_file_error("[run]\ntimeout = soon\n", 2, "timeout");
    expect_file_error("[run]\nverbose = perhaps\n", 2, "verbose");
    expect_file_error("port = 1\n", 1, "outside a section");
    expect_file_error("[run]\nport = 1\n[nope]\nx = 1\n", 4, "unknown section [nope]");
    expect_file_error("[run]\nthis line has no equals sign\n", 2, "syntax error");

    cfg_t c;
    char err[256];
    const char *argv[] = {"run", "-c", "/nonexistent/td.conf"};
    assert_int_equal(parse(&c, err, 3, argv), -1);
    assert_non_null(strstr(err, "/nonexistent/td.conf"));
    td_opts_free(&opts, &c);
}

/* Long lines are read whole, never split into a second line. */
static void test_opt_file_long_lines(void **state)
{
    (void)state;
    cfg_t c;
    char err[512];
    const char *argv[] = {"run", "-c", NULL};
    char text[4096], val[1001];
    memset(val, 'c', 1000);
    val[1000] = '\0';
    /* 190 c's then "key = evil": one value, not a second key. */
    snprintf(text, sizeof text, "[run]\nurl = %.190skey = evil\nport = 7\n", val);
    write_ini(text);
    argv[2] = ini_path;
    memset(&c, 0, sizeof c);
    assert_int_equal(td_opts_parse(&opts, &c, 3, (char **)argv, err, sizeof err), 0);
    assert_int_equal(strlen(c.url), 200);
    assert_null(c.key);
    assert_int_equal(c.port, 7);
    td_opts_free(&opts, &c);
    unlink(ini_path);
    /* A 1000-character value is taken whole. */
    snprintf(text, sizeof text, "[run]\n\nurl = %s\n", val);
    write_ini(text);
    argv[2] = ini_path;
    memset(&c, 0, sizeof c);
    assert_int_equal(td_opts_parse(&opts, &c, 3, (char **)argv, err, sizeof err), 0);
    assert_string_equal(c.url, val);
    td_opts_free(&opts, &c);
    unlink(ini_path);
    /* An indented line is its own key, not a continuation of the previous. */
    expect_file_error("[run]\nport = 1\n   bogus = 2\n", 3, "unknown key 'bogus'");
    /* Past the limit: an error naming the line. */
    size_t big = TD_INI_MAX_LINE + 10;
    char *huge = malloc(big + 64);
    strcpy(huge, "[run]\n; c\nurl = ");
    size_t n = strlen(huge);
    memset(huge + n, 'x', big);
    strcpy(huge + n + big, "\nport = 5\n");
    expect_file_error(huge, 3, "line longer than");
    free(huge);
}

/* Typos get a suggestion from the options table; "2m" is not guessed. */
static void test_opt_did_you_mean(void **state)
{
    (void)state;
    /* {flag, value, what the error must say (NULL: no suggestion)} */
    const char *cases[][3] = {
        {"--timout", "3", "unknown option --timout; did you mean --timeout?"},
        {"--zzzzzzzz", "3", NULL},
        {"--timeout", "2m", "did you mean 2min?"},
        {"--timeout", "0.5m", "did you mean 0.5min?"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cfg_t c;
        char err[256];
        const char *argv[] = {"run", cases[i][0], cases[i][1]};
        assert_int_equal(parse(&c, err, 3, argv), -1);
        if (cases[i][2] ? !strstr(err, cases[i][2]) : !!strstr(err, "did you mean"))
            fail_msg("%s %s: '%s'", cases[i][0], cases[i][1], err);
        td_opts_free(&opts, &c);
    }
    expect_file_error("[run]\nverbos = yes\n", 2,
                      "unknown key 'verbos' in [run]; did you mean verbose?");
}

static void test_credential_syntax(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(td_opt_check_credential("PK_1.a-b", "s3cr3t!", err, sizeof err), 0);
    const char *bad[][2] = {{"PK", "X = s"}, {"PK:X", "s"},  {"", "s"},     {"PK", ""},
                            {"P K", "s"},    {"PK", "a b"},  {"PK", "a=b"}, {"PK", "a:b"},
                            {"PK", "a\tb"},  {"PK\x01", "s"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        if (td_opt_check_credential(bad[i][0], bad[i][1], err, sizeof err) != -1)
            fail_msg("accepted key '%s' secret '%s'", bad[i][0], bad[i][1]);
        assert_true(strlen(err) > 0);
    }
    char long_key[300];
    memset(long_key, 'K', 299);
    long_key[299] = '\0';
    assert_int_equal(td_opt_check_credential(long_key, "s", err, sizeof err), -1);
}

static void test_opt_precedence(void **state)
{
    (void)state;
    cfg_t c;
    char err[256];
    write_ini("[sim]\nanything = goes\n[run]\nurl = ws://file\nport = 1111\nkey = filekey\n"
              "verbose = yes\nsubscribe = trades=F1\nsubscribe = trades=F2\n");
    unsetenv("TD_TEST_KEY");
    unsetenv("TD_TEST_PORT");
    const char *a1[] = {"run", "-c", ini_path};
    assert_int_equal(parse(&c, err, 3, a1), 0);
    assert_string_equal(c.url, "ws://file");
    assert_int_equal(c.port, 1111);
    assert_string_equal(c.key, "filekey");
    assert_int_equal(c.verbose, 1);
    assert_int_equal(c.sub.n, 2);
    /* where each value came from: FILE:LINE, or NULL for a default */
    char at[96];
    snprintf(at, sizeof at, "%s:4", ini_path);
    assert_string_equal(td_opts_origin(&opts, "url"), at);
    snprintf(at, sizeof at, "%s:7", ini_path);
    assert_string_equal(td_opts_origin(&opts, "verbose"), at);
    snprintf(at, sizeof at, "%s:9", ini_path);
    assert_string_equal(td_opts_origin(&opts, "subscribe"), at); /* its last line */
    assert_null(td_opts_origin(&opts, "timeout"));
    assert_null(td_opts_origin(&opts, "nosuch"));
    td_opts_free(&opts, &c);

    /* env beats the file; a flag beats both, wherever -c is on the line. */
    setenv("TD_TEST_PORT", "2222", 1);
    setenv("TD_TEST_KEY", "envkey", 1);
    assert_int_equal(parse(&c, err, 3, a1), 0);
    assert_int_equal(c.port, 2222);
    assert_string_equal(c.key, "envkey");
    assert_null(td_opts_origin(&opts, "port")); /* the environment's */
    assert_non_null(td_opts_origin(&opts, "url"));
    td_opts_free(&opts, &c);

    const char *a2[] = {"run",    "--port",      "3333",     "--no-verbose", "--url",
                        "ws://f", "--subscribe", "trades=X", "-c",           ini_path};
    assert_int_equal(parse(&c, err, 10, a2), 0);
    assert_int_equal(c.port, 3333);
    assert_string_equal(c.url, "ws://f");
    assert_string_equal(c.key, "envkey");
    assert_int_equal(c.verbose, 0);
    assert_int_equal(c.sub.n, 1); /* flags replace the file's list */
    assert_string_equal(c.sub.v[0], "trades=X");
    assert_null(td_opts_origin(&opts, "url")); /* a flag's */
    assert_null(td_opts_origin(&opts, "subscribe"));
    td_opts_free(&opts, &c);

    /* --check-config: td_opts_parse says ok itself; _checked leaves it to
     * the caller's own checks */
    const char *a3[] = {"run", "-c", ini_path, "--check-config"};
    memset(&c, 0, sizeof c);
    assert_int_equal(td_opts_parse_checked(&opts, &c, 4, (char **)a3, err, 256), TD_OPTS_CHECK);
    td_opts_free(&opts, &c);

    /* A bad environment value is ignored (with a warning), not fatal. */
    setenv("TD_TEST_PORT", "notanumber", 1);
    assert_int_equal(parse(&c, err, 3, a1), 0);
    assert_int_equal(c.port, 1111);
    td_opts_free(&opts, &c);
    unsetenv("TD_TEST_PORT");
    unsetenv("TD_TEST_KEY");
    unlink(ini_path);
}

static void test_opt_help(void **state)
{
    (void)state;
    cfg_t c;
    char err[256];
    const char *argv[] = {"run", "--port", "1", "--help"};
    assert_int_equal(parse(&c, err, 4, argv), 1);
    td_opts_free(&opts, &c);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    td_opts_help(&opts, f);
    fclose(f);
    assert_non_null(strstr(text, "--[no-]verbose"));
    assert_non_null(strstr(text, "[env TD_TEST_PORT]"));
    assert_non_null(strstr(text, "(default: 8080)"));
    free(text);
}

/* ---- td_subset_parse ---------------------------------------------------------- */

static void test_subset_parse(void **state)
{
    (void)state;
    td_subset_t s;
    char err[256];
    td_subset_init(&s);
    assert_int_equal(td_subset_parse(&s,
                                     " trades = AAPL , MSFT ;quotes=*;news=*; bars=BRK.B,"
                                     "BTC/USD,AAPL,AAPL ;",
                                     err, sizeof err),
                     0);
    assert_int_equal(s.k[TD_KIND_TRADE].n, 2);
    assert_string_equal(s.k[TD_KIND_TRADE].v[0], "AAPL");
    assert_string_equal(s.k[TD_KIND_TRADE].v[1], "MSFT");
    assert_true(s.k[TD_KIND_QUOTE].all);
    assert_int_equal(s.k[TD_KIND_QUOTE].n, 0);
    assert_true(s.k[TD_KIND_NEWS].all);
    assert_int_equal(s.k[TD_KIND_BAR].n, 3);
    assert_true(td_subset_has(&s, TD_KIND_BAR, "BTC/USD", 7));
    assert_true(td_subset_has(&s, TD_KIND_QUOTE, "ANY", 3));
    assert_false(td_subset_has(&s, TD_KIND_TRADE, "ANY", 3));
    assert_int_equal(td_subset_count_symbols(&s, ~0u), 4);
    td_subset_free(&s);

    td_subset_init(&s);
    assert_int_equal(td_subset_parse(&s, "", err, sizeof err), 0);
    assert_true(td_subset_empty(&s));
    const char *bad[] = {"trades",       "trades=",     "trades= , ;", "bogus=AAPL",
                         "=AAPL",        "trades=A B",  "trades=A\"",  "quotes=A\\B",
                         "trades=A;x=B", "Trades=AAPL", NULL};
    for (int i = 0; bad[i]; i++) {
        err[0] = '\0';
        if (td_subset_parse(&s, bad[i], err, sizeof err) != -1) fail_msg("accepted %s", bad[i]);
        assert_true(strlen(err) > 0);
        td_subset_clear(&s);
    }
    td_subset_free(&s);
}

/* Bulk loading: appended in any order, settled into the sorted set that
 * td_subset_add keeps; a reversed list of thousands costs no n^2 moves. */
static void test_subset_append(void **state)
{
    (void)state;
    td_subset_t s, ref;
    td_subset_init(&s);
    td_subset_init(&ref);
    char sym[16];
    for (int i = 20000; i > 0; i--) {
        int n = snprintf(sym, sizeof sym, "S%05d", i % 15000); /* some twice */
        td_subset_append(&s, TD_KIND_QUOTE, sym, (size_t)n);
        if (i % 997 == 0) td_subset_add(&ref, TD_KIND_QUOTE, sym, (size_t)n);
    }
    td_subset_append(&s, TD_KIND_TRADE, "*", 1);
    td_subset_settle(&s);
    assert_int_equal(s.k[TD_KIND_QUOTE].n, 15000);
    for (size_t i = 1; i < s.k[TD_KIND_QUOTE].n; i++)
        assert_true(strcmp(s.k[TD_KIND_QUOTE].v[i - 1], s.k[TD_KIND_QUOTE].v[i]) < 0);
    for (size_t i = 0; i < ref.k[TD_KIND_QUOTE].n; i++)
        assert_true(td_subset_names(&s, TD_KIND_QUOTE, ref.k[TD_KIND_QUOTE].v[i],
                                    strlen(ref.k[TD_KIND_QUOTE].v[i])));
    assert_true(s.k[TD_KIND_TRADE].all);
    assert_int_equal(s.k[TD_KIND_TRADE].n, 0);
    assert_int_equal(td_subset_add(&s, TD_KIND_QUOTE, "S00001", 6), 0); /* usable as a set */
    td_subset_free(&s);
    td_subset_free(&ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_schedule),
        cmocka_unit_test(test_rfc3339_format),
        cmocka_unit_test(test_rfc3339_parse),
        cmocka_unit_test(test_rfc3339_round_trip),
        cmocka_unit_test(test_buf_json),
        cmocka_unit_test(test_url_escape),
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_opt_defaults_and_flags),
        cmocka_unit_test(test_opt_file_errors),
        cmocka_unit_test(test_opt_precedence),
        cmocka_unit_test(test_opt_help),
        cmocka_unit_test(test_subset_parse),
        cmocka_unit_test(test_opt_file_long_lines),
        cmocka_unit_test(test_credential_syntax),
        cmocka_unit_test(test_opt_did_you_mean),
        cmocka_unit_test(test_subset_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
