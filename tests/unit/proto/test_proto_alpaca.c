/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the Alpaca splitter, subscription walker and builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proto/alpaca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXREC 64

typedef struct {
    int is_ctl;
    td_kind_t kind;
    td_alpaca_ctl_type_t ctl;
    int code;
    char sym[80];
    char msg[80];
    int has_msg;
    const char *raw;
    size_t raw_len;
} rec_t;

typedef struct {
    rec_t r[MAXREC];
    size_t n;
    td_alpaca_stats_t st;
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

static void on_control(void *ud, const td_alpaca_ctl_t *c)
{
    sink_t *s = ud;
    assert_true(s->n < MAXREC);
    rec_t *r = &s->r[s->n++];
    memset(r, 0, sizeof *r);
    r->is_ctl = 1;
    r->ctl = c->type;
    r->code = c->code;
    r->has_msg = c->msg != NULL;
    if (c->msg) {
        assert_true(c->msg_len < sizeof r->msg);
        memcpy(r->msg, c->msg, c->msg_len);
    }
    r->raw = c->raw;
    r->raw_len = c->raw_len;
}

static const td_alpaca_cb_t cbs = {on_event, on_control};

static int split(sink_t *s, const char *frame)
{
    memset(s, 0, sizeof *s);
    return td_alpaca_split(frame, strlen(frame), &cbs, s, &s->st);
}

/* The payload of record i must be the exact bytes `obj` found in `frame`. */
static void assert_raw(const rec_t *r, const char *frame, const char *obj)
{
    const char *at = strstr(frame, obj);
    assert_non_null(at);
    assert_ptr_equal(r->raw, at);
    assert_int_equal(r->raw_len, strlen(obj));
}

static void expect_one(const char *obj, td_kind_t kind, const char *sym)
{
    char frame[2048];
    sink_t s;
    snprintf(frame, sizeof frame, "[%s]", obj);
    assert_int_equal(split(&s, frame), TD_OK);
    assert_int_equal(s.n, 1);
    assert_false(s.r[0].is_ctl);
    assert_int_equal(s.r[0].kind, kind);
    assert_string_equal(s.r[0].sym, sym);
    assert_raw(&s.r[0], frame, obj);
    assert_int_equal(s.st.events, 1);
    assert_int_equal(s.st.unknown, 0);
    assert_int_equal(s.st.frames, 1);
}

static void expect_malformed(const char *frame, size_t len)
{
    sink_t s;
    memset(&s, 0, sizeof s);
    int rc = td_alpaca_split(frame, len, &cbs, &s, &s.st);
    if (rc != TD_EMALFORMED) fail_msg("accepted (rc=%d): %.*s", rc, (int)len, frame);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.st.malformed, 1);
    assert_int_equal(s.st.events + s.st.control + s.st.unknown, 0);
}

static void test_control(void **state)
{
    (void)state;
    sink_t s;
    assert_int_equal(split(&s, "[{\"T\":\"success\",\"msg\":\"connected\"}]"), 0);
    assert_int_equal(s.n, 1);
    assert_true(s.r[0].is_ctl);
    assert_int_equal(s.r[0].ctl, TD_ALPACA_CTL_CONNECTED);
    assert_string_equal(s.r[0].msg, "connected");
    assert_int_equal(s.st.control, 1);

    assert_int_equal(split(&s, "[{\"T\":\"success\",\"msg\":\"authenticated\"}]"), 0);
    assert_int_equal(s.r[0].ctl, TD_ALPACA_CTL_AUTHENTICATED);
    assert_int_equal(split(&s, "[{\"msg\":\"something else\",\"T\":\"success\"}]"), 0);
    assert_int_equal(s.r[0].ctl, TD_ALPACA_CTL_SUCCESS);

    const char *err = "[{\"T\":\"error\",\"code\":406,\"msg\":\"connection limit exceeded\"}]";
    assert_int_equal(split(&s, err), 0);
    assert_int_equal(s.r[0].ctl, TD_ALPACA_CTL_ERROR);
    assert_int_equal(s.r[0].code, 406);
    assert_string_equal(s.r[0].msg, "connection limit exceeded");
    assert_ptr_equal(s.r[0].raw, err + 1);
    assert_int_equal(s.r[0].raw_len, strlen(err) - 2);

    /* msg stays raw (escaped); code absent is 0; no msg is NULL. */
    assert_int_equal(split(&s, "[{\"T\":\"error\",\"msg\":\"a\\\"b\"}]"), 0);
    assert_int_equal(s.r[0].code, 0);
    assert_string_equal(s.r[0].msg, "a\\\"b");
    assert_int_equal(split(&s, "[{\"T\":\"error\",\"code\":1e3}]"), 0);
    assert_int_equal(s.r[0].code, 0);
    assert_false(s.r[0].has_msg);

    const char *sub =
        "[{\"T\":\"subscription\",\"trades\":[\"AAPL\"],\"quotes\":[\"AMD\",\"CLDR\"],"
        "\"bars\":[\"*\"],\"updatedBars\":[],\"dailyBars\":[\"VOO\"],\"statuses\":["
        "\"*\"],\"lulds\":[],\"corrections\":[\"AAPL\"],\"cancelErrors\":[\"AAPL\"]}]";
    assert_int_equal(split(&s, sub), 0);
    assert_int_equal(s.r[0].ctl, TD_ALPACA_CTL_SUBSCRIPTION);
    assert_int_equal(s.r[0].raw_len, strlen(sub) - 2);
}

static void test_stock_types(void **state)
{
    (void)state;
    expect_one(
        "{\"T\":\"t\",\"S\":\"AAPL\",\"i\":628,\"x\":\"K\",\"p\":162.92,\"s\":3,\"c\":[\"@\","
        "\"F\",\"T\",\"I\"],\"z\":\"C\",\"t\":\"2023-04-06T11:54:26.838232225Z\"}",
        TD_KIND_TRADE, "AAPL");
    expect_one(
        "{\"T\":\"q\",\"S\":\"AMD\",\"bx\":\"K\",\"bp\":91.95,\"bs\":2,\"ax\":\"Q\",\"ap\":91.98,"
        "\"as\":1,\"c\":[\"R\"],\"z\":\"C\",\"t\":\"2023-04-06T11:54:21.670905508Z\"}",
        TD_KIND_QUOTE, "AMD");
    char buf[512];
    const char *bar = "{\"T\":\"?\",\"S\":\"SPY\",\"o\":388.985,\"h\":389.13,\"l\":388.975,"
                      "\"c\":389.12,\"v\":49378,\"t\":\"2021-02-22T19:15:00Z\",\"n\":412,\"vw\":"
                      "389.0551}";
    const char letters[] = "bdu";
    const td_kind_t kinds[] = {TD_KIND_BAR, TD_KIND_DAILY_BAR, TD_KIND_UPDATED_BAR};
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf, "%s", bar);
        *strchr(buf, '?') = letters[i];
        expect_one(buf, kinds[i], "SPY");
    }
    expect_one(
        "{\"T\":\"c\",\"S\":\"EEM\",\"x\":\"M\",\"oi\":52983525033527,\"op\":39.1582,\"os\":440,"
        "\"oc\":[\" \",\"Z\"],\"ci\":52983525034326,\"cp\":39.1582,\"cs\":440,\"cc\":[\" \","
        "\"Z\"],\"z\":\"B\",\"t\":\"2023-04-06T14:08:53.451Z\"}",
        TD_KIND_CORRECTION, "EEM");
    expect_one(
        "{\"T\":\"x\",\"S\":\"AAPL\",\"i\":465,\"x\":\"D\",\"p\":105.31,\"s\":300,\"a\":\"C\","
        "\"z\":\"C\",\"t\":\"2023-04-06T13:15:42.83540958Z\"}",
        TD_KIND_CANCEL_ERROR, "AAPL");
    expect_one(
        "{\"T\":\"l\",\"S\":\"IONM\",\"u\":5.86,\"d\":4.79,\"i\":\"A\",\"t\":\"2023-04-06T14:"
        "00:00.000123Z\",\"z\":\"C\"}",
        TD_KIND_LULD, "IONM");
    expect_one(
        "{\"T\":\"s\",\"S\":\"AAPL\",\"sc\":\"H\",\"sm\":\"Trading Halt\",\"rc\":\"T12\",\"rm\":"
        "\"Trading Halted; For information requested by NASDAQ\",\"t\":\"2021-02-22T19:15:"
        "00Z\",\"z\":\"C\"}",
        TD_KIND_STATUS, "AAPL");
    expect_one("{\"T\":\"i\",\"S\":\"IBM\",\"p\":130.27,\"z\":\"A\",\"t\":\"2023-04-06T15:50:00."
               "001Z\"}",
               TD_KIND_IMBALANCE, "IBM");
}

static void test_crypto_types(void **state)
{
    (void)state;
    expect_one("{\"T\":\"t\",\"S\":\"BTC/USD\",\"p\":27963.4,\"s\":0.0213,\"t\":\"2023-04-06T13:54:"
               "21.123Z\",\"i\":4611686018427387903,\"tks\":\"B\"}",
               TD_KIND_TRADE, "BTC/USD");
    expect_one(
        "{\"T\":\"q\",\"S\":\"ETH/USD\",\"bp\":1870.1,\"bs\":4.2,\"ap\":1870.9,\"as\":0.5,\"t\":"
        "\"2023-04-06T13:54:21.5Z\"}",
        TD_KIND_QUOTE, "ETH/USD");
    expect_one(
        "{\"T\":\"b\",\"S\":\"BTC/USD\",\"o\":27960,\"h\":27990.5,\"l\":27950,\"c\":27980,\"v\":0,"
        "\"t\":\"2023-04-06T13:54:00Z\",\"n\":0,\"vw\":0}",
        TD_KIND_BAR, "BTC/USD");
    expect_one(
        "{\"T\":\"d\",\"S\":\"BTC/USD\",\"o\":1,\"h\":2,\"l\":0.5,\"c\":1.5,\"v\":1.25e3,\"t\":"
        "\"2023-04-06T00:00:00Z\",\"n\":10,\"vw\":1.2}",
        TD_KIND_DAILY_BAR, "BTC/USD");
    expect_one(
        "{\"T\":\"u\",\"S\":\"BTC/USD\",\"o\":1,\"h\":2,\"l\":0.5,\"c\":1.5,\"v\":1.25E-3,\"t\":"
        "\"2023-04-06T00:00:00Z\",\"n\":10,\"vw\":1.2}",
        TD_KIND_UPDATED_BAR, "BTC/USD");
    expect_one(
        "{\"T\":\"o\",\"S\":\"BTC/USD\",\"t\":\"2023-04-06T13:54:21.123456789Z\",\"b\":[{\"p\":"
        "27950.5,\"s\":0.5},{\"p\":27950,\"s\":0}],\"a\":[{\"p\":27960,\"s\":1.25},{\"p\":"
        "27961,\"s\":2}],\"r\":true}",
        TD_KIND_ORDERBOOK, "BTC/USD");
}

static void test_news(void **state)
{
    (void)state;
    const char *f =
        "[{\"T\":\"n\",\"id\":24918784,\"headline\":\"Apple \\u0026 Tesla \\u00e9t\\u00e9 "
        "\\ud83d\\ude80\",\"summary\":\"\",\"author\":\"Benzinga \\\"Pro\\\"\",\"created_at\":"
        "\"2022-01-05T22:00:37Z\",\"updated_at\":\"2022-01-05T22:00:38Z\",\"url\":\"https:\\/\\/"
        "www.benzinga.com\\/x\",\"content\":\"\\u003cp\\u003eHello \\u003cb\\u003eworld\\u003c\\/"
        "b\\u003e\\u003c/p\\u003e<a "
        "href=\\\"x\\\">caf\xc3\xa9</a>\",\"symbols\":[\"AAPL\",\"TSLA\","
        "\"BRK.B\"],\"source\":\"benzinga\"}]";
    sink_t s;
    assert_int_equal(split(&s, f), 0);
    assert_int_equal(s.n, 3);
    const char *syms[] = {"AAPL", "TSLA", "BRK.B"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.r[i].kind, TD_KIND_NEWS);
        assert_string_equal(s.r[i].sym, syms[i]);
        assert_ptr_equal(s.r[i].raw, f + 1);
        assert_int_equal(s.r[i].raw_len, strlen(f) - 2);
    }
    assert_int_equal(s.st.events, 3);

    /* No symbols, empty list, non-array, unusable entries only: unknown. */
    assert_int_equal(split(&s, "[{\"T\":\"n\",\"id\":1},{\"T\":\"n\",\"symbols\":[]},"
                               "{\"T\":\"n\",\"symbols\":\"AAPL\"},{\"T\":\"n\",\"symbols\":[1,"
                               "null,\"\"]}]"),
                     0);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.st.unknown, 4);
    /* Non-strings skipped, escapes decoded. */
    assert_int_equal(
        split(&s, "[{\"T\":\"n\",\"symbols\":[1,{\"a\":[]},\"\\u0041A\",\"BTC\\/USD\"]}]"), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.r[0].sym, "AA");
    assert_string_equal(s.r[1].sym, "BTC/USD");
}

static void test_mixed_order(void **state)
{
    (void)state;
    const char *f =
        "[{\"T\":\"q\",\"S\":\"A\"},{\"T\":\"t\",\"S\":\"B\"},{\"T\":\"zz\",\"S\":\"C\"},"
        "{\"T\":\"success\",\"msg\":\"x\"},{\"T\":\"b\",\"S\":\"D\"},{\"S\":\"E\"},"
        "{\"T\":\"q\"},{\"T\":\"q\",\"S\":5},{\"T\":1,\"S\":\"F\"},{},"
        "{\"S\":\"G\",\"r\":\"2023-01-01T00:00:00Z\",\"T\":\"s\",\"extra\":{\"T\":\"q\"}}]";
    sink_t s;
    assert_int_equal(split(&s, f), 0);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.r[0].sym, "A");
    assert_int_equal(s.r[0].kind, TD_KIND_QUOTE);
    assert_string_equal(s.r[1].sym, "B");
    assert_int_equal(s.r[1].kind, TD_KIND_TRADE);
    assert_true(s.r[2].is_ctl);
    assert_string_equal(s.r[3].sym, "D");
    assert_string_equal(s.r[4].sym, "G");
    assert_int_equal(s.r[4].kind, TD_KIND_STATUS);
    assert_raw(&s.r[4], f,
               "{\"S\":\"G\",\"r\":\"2023-01-01T00:00:00Z\",\"T\":\"s\",\"extra\":{\"T\":"
               "\"q\"}}");
    assert_int_equal(s.st.events, 4);
    assert_int_equal(s.st.control, 1);
    assert_int_equal(s.st.unknown, 6);
    assert_int_equal(s.st.malformed, 0);
}

static void test_symbols(void **state)
{
    (void)state;
    expect_one("{\"T\":\"q\",\"S\":\"BRK.B\"}", TD_KIND_QUOTE, "BRK.B");
    expect_one("{\"T\":\"q\",\"S\":\"BRK\\/B\"}", TD_KIND_QUOTE, "BRK/B");
    expect_one("{\"T\":\"q\",\"S\":\"\\u0041APL\"}", TD_KIND_QUOTE, "AAPL");
    expect_one("{\"T\":\"q\",\"S\":\"caf\\u00e9\"}", TD_KIND_QUOTE, "caf\xc3\xa9");
    expect_one("{\"T\":\"q\",\"S\":\"\\ud83d\\ude80X\"}", TD_KIND_QUOTE, "\xf0\x9f\x9a\x80X");
    /* Escaped T and member names count after decoding. */
    expect_one("{\"\\u0054\":\"\\u0071\",\"\\u0053\":\"IBM\"}", TD_KIND_QUOTE, "IBM");
    /* Last duplicate wins. */
    expect_one("{\"T\":\"t\",\"S\":\"OLD\",\"T\":\"q\",\"S\":\"NEW\"}", TD_KIND_QUOTE, "NEW");

    char sym[100], frame[200];
    memset(sym, 'A', sizeof sym);
    sym[64] = '\0';
    snprintf(frame, sizeof frame, "{\"T\":\"q\",\"S\":\"%s\"}", sym);
    expect_one(frame, TD_KIND_QUOTE, sym);
    /* Unusable: too long (raw or decoded), empty, control, lone surrogates. */
    const char *bad[] = {"\"\"",        "\"\\n\"",      "\"A\\u0000\"",       "\"\\ud83d\"",
                         "\"\\ude80\"", "\"\\ud83dX\"", "\"\\ud83d\\u0041\"", NULL};
    sink_t s;
    for (int i = 0; bad[i]; i++) {
        snprintf(frame, sizeof frame, "[{\"T\":\"q\",\"S\":%s}]", bad[i]);
        assert_int_equal(split(&s, frame), 0);
        assert_int_equal(s.n, 0);
        assert_int_equal(s.st.unknown, 1);
    }
    sym[65] = '\0';
    sym[64] = 'A';
    snprintf(frame, sizeof frame, "[{\"T\":\"q\",\"S\":\"%s\"}]", sym);
    assert_int_equal(split(&s, frame), 0);
    assert_int_equal(s.st.unknown, 1);
    snprintf(frame, sizeof frame, "[{\"T\":\"q\",\"S\":\"%.62s\\u00e9\"}]", sym); /* 64 bytes */
    assert_int_equal(split(&s, frame), 0);
    assert_int_equal(s.st.events, 1);
    snprintf(frame, sizeof frame, "[{\"T\":\"q\",\"S\":\"%.63s\\u00e9\"}]", sym); /* 65 bytes */
    assert_int_equal(split(&s, frame), 0);
    assert_int_equal(s.st.unknown, 1);
}

static void test_whitespace_empty(void **state)
{
    (void)state;
    sink_t s;
    const char *f =
        " \r\n\t[ \n{ \"T\" :\t\"q\" , \"S\" : \"X\" , \"c\" : [ \"A\" , 1 ] , \"o\" : { } "
        "} ,\n { \"T\":\"t\",\"S\":\"Y\"}\t] \n";
    assert_int_equal(split(&s, f), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.r[0].sym, "X");
    assert_raw(&s.r[0], f,
               "{ \"T\" :\t\"q\" , \"S\" : \"X\" , \"c\" : [ \"A\" , 1 ] , \"o\" : { } }");
    assert_raw(&s.r[1], f, "{ \"T\":\"t\",\"S\":\"Y\"}");
    assert_int_equal(split(&s, "[]"), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.st.frames, 1);
    assert_int_equal(split(&s, " [ ] "), 0);
    assert_int_equal(split(&s, "[{}]"), 0);
    assert_int_equal(s.st.unknown, 1);
    /* NULL callbacks and stats are allowed. */
    assert_int_equal(td_alpaca_split(f, strlen(f), NULL, NULL, NULL), 0);
    td_alpaca_cb_t none = {NULL, NULL};
    assert_int_equal(td_alpaca_split(f, strlen(f), &none, NULL, NULL), 0);
    assert_int_equal(td_alpaca_split(NULL, 0, NULL, NULL, NULL), TD_EMALFORMED);
}

static void test_values(void **state)
{
    (void)state;
    const char *good[] = {"0",
                          "-0",
                          "1",
                          "-12",
                          "1.5",
                          "0.25",
                          "1e5",
                          "1E+5",
                          "1e-05",
                          "-0.0e0",
                          "123.456e789",
                          "true",
                          "false",
                          "null",
                          "\"\"",
                          "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
                          "\"\\uABCD\\uabcd\"",
                          "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"",
                          "[]",
                          "{}",
                          "[[[]],{}]",
                          "{\"a\":{\"b\":[1,\"x\",null]}}",
                          NULL};
    const char *bad[] = {"01",
                         "-",
                         "+1",
                         "1.",
                         ".5",
                         "1e",
                         "1e+",
                         "0x1",
                         "1.5.5",
                         "--1",
                         "tru",
                         "truex",
                         "nul",
                         "False",
                         "NaN",
                         "\"\\x\"",
                         "\"\\u12\"",
                         "\"\\u12G4\"",
                         "\"\t\"",
                         "\"\x01\"",
                         "\"\x80\"",
                         "\"\xc0\xaf\"",
                         "\"\xc3\"",
                         "\"\xe0\x80\xaf\"",
                         "\"\xed\xa0\x80\"",
                         "\"\xf4\x90\x80\x80\"",
                         "\"\xf5\x80\x80\x80\"",
                         "\"\xff\"",
                         "[1,]",
                         "[,1]",
                         "{\"a\"}",
                         "{\"a\":}",
                         "{\"a\":1,}",
                         "{1:2}",
                         "{'a':1}",
                         "[1 2]",
                         "{\"a\":1 \"b\":2}",
                         "[",
                         "{",
                         "\"",
                         "",
                         NULL};
    char frame[256];
    sink_t s;
    for (int i = 0; good[i]; i++) {
        snprintf(frame, sizeof frame, "[{\"T\":\"q\",\"S\":\"A\",\"v\":%s}]", good[i]);
        if (split(&s, frame) != 0) fail_msg("rejected %s", good[i]);
        assert_int_equal(s.n, 1);
    }
    for (int i = 0; bad[i]; i++) {
        snprintf(frame, sizeof frame, "[{\"T\":\"q\",\"S\":\"A\",\"v\":%s}]", bad[i]);
        expect_malformed(frame, strlen(frame));
    }
}

static void test_malformed(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         " ",
                         "{}",
                         "{\"T\":\"q\",\"S\":\"A\"}",
                         "[1]",
                         "[\"a\"]",
                         "[[]]",
                         "[null]",
                         "[{}",
                         "[{}]]",
                         "[{}] x",
                         "[{}][]",
                         "[{},]",
                         "[,{}]",
                         "[{}{}]",
                         "[{\"T\":\"q\"},1]",
                         "\xef\xbb\xbf[]",
                         "[{\"T\":\"q\",\"S\":\"A\"}]\0",
                         NULL};
    for (int i = 0; bad[i]; i++)
        expect_malformed(bad[i], strlen(bad[i]) + (i == 17));

    /* The good parts of a frame are not dispatched when a later part is bad. */
    const char *f = "[{\"T\":\"q\",\"S\":\"A\"},{\"T\":\"q\",\"S\":\"B\",\"p\":1.}]";
    expect_malformed(f, strlen(f));

    /* Every proper prefix of valid frames is rejected. */
    const char *frames[] = {
        "[{\"T\":\"t\",\"S\":\"AAPL\",\"i\":628,\"x\":\"K\",\"p\":162.92,\"s\":3,\"c\":[\"@\","
        "\"F\"],"
        "\"z\":\"C\",\"t\":\"2023-04-06T11:54:26.838232225Z\"},{\"T\":\"q\",\"S\":\"BRK\\/B\","
        "\"bp\":-1.5e-3,\"ok\":true,\"no\":false,\"nil\":null,\"o\":{\"a\":[{}]}}]",
        "[{\"T\":\"n\",\"headline\":\"caf\xc3\xa9 \\ud83d\\ude80\",\"symbols\":[\"A\",\"B\"]}]",
        "[{\"T\":\"error\",\"code\":406,\"msg\":\"connection limit exceeded\"}]",
    };
    for (size_t i = 0; i < sizeof frames / sizeof *frames; i++) {
        size_t n = strlen(frames[i]);
        sink_t s;
        memset(&s, 0, sizeof s);
        assert_int_equal(td_alpaca_split(frames[i], n, &cbs, &s, &s.st), 0);
        for (size_t k = 0; k < n; k++) {
            char *copy = malloc(k ? k : 1); /* exact size so ASan sees overreads */
            memcpy(copy, frames[i], k);
            expect_malformed(copy, k);
            free(copy);
        }
    }
}

static void test_limits(void **state)
{
    (void)state;
    char frame[512];
    sink_t s;
    /* Depth: the array is 1, the element 2; 64 is allowed, 65 is too deep. */
    for (int depth = 63; depth <= 66; depth++) {
        int open = depth - 2, n = 0;
        n += snprintf(frame + n, sizeof frame - (size_t)n, "[{\"T\":\"q\",\"S\":\"A\",\"x\":");
        for (int i = 0; i < open; i++)
            frame[n++] = '[';
        for (int i = 0; i < open; i++)
            frame[n++] = ']';
        snprintf(frame + n, sizeof frame - (size_t)n, "}]");
        int rc = split(&s, frame);
        assert_int_equal(rc, depth <= 64 ? TD_OK : TD_ETOOBIG);
        assert_int_equal(s.n, depth <= 64 ? 1 : 0);
        assert_int_equal(s.st.malformed, depth <= 64 ? 0 : 1);
    }
    /* More elements than the stack holds: the heap path, order kept. */
    td_buf_t b = TD_BUF_INIT;
    td_buf_appendc(&b, '[');
    for (int i = 0; i < 5000; i++)
        td_buf_appendf(&b, "%s{\"T\":\"%s\",\"S\":\"S%d\"}", i ? "," : "", i % 7 ? "q" : "zz", i);
    td_buf_appendc(&b, ']');
    td_alpaca_stats_t st = {0};
    assert_int_equal(td_alpaca_split(b.data, b.len, NULL, NULL, &st), 0);
    assert_int_equal(st.unknown, 715);
    assert_int_equal(st.events, 5000 - 715);
    /* A million elements are allowed, one more is not. */
    td_buf_reset(&b);
    td_buf_appendc(&b, '[');
    for (int i = 0; i < 1000000; i++)
        td_buf_append(&b, "{},", 3);
    b.data[b.len - 1] = ']';
    memset(&st, 0, sizeof st);
    assert_int_equal(td_alpaca_split(b.data, b.len, NULL, NULL, &st), 0);
    assert_int_equal(st.unknown, 1000000);
    b.data[b.len - 1] = ',';
    td_buf_append(&b, "{}]", 3);
    assert_int_equal(td_alpaca_split(b.data, b.len, NULL, NULL, &st), TD_ETOOBIG);
    assert_int_equal(st.malformed, 1);
    td_buf_free(&b);
}

typedef struct {
    char out[1024];
} subs_t;

static void on_sub(void *ud, td_kind_t k, const char *sym, size_t n)
{
    subs_t *s = ud;
    size_t l = strlen(s->out);
    snprintf(s->out + l, sizeof s->out - l, "%s=%.*s;", td_kind_name(k), (int)n, sym);
}

static void test_subscription_each(void **state)
{
    (void)state;
    const char *obj = "{\"T\":\"subscription\",\"trades\":[\"AAPL\"],\"quotes\":[\"AMD\",\"CLDR\"],"
                      "\"bars\":[\"*\"],\"updatedBars\":[],\"dailyBars\":null,\"statuses\":\"*\","
                      "\"bogus\":[\"X\"],\"lulds\":[1,\"BRK.B\"],\"corrections\":[\"AAPL\"],"
                      "\"cancelErrors\":[\"AAPL\"],\"orderbooks\":[\"BTC\\/USD\"],\"news\":[\"*\"],"
                      "\"\\u0069mbalances\":[\"IBM\"]}";
    subs_t s = {""};
    assert_int_equal(td_alpaca_subscription_each(obj, strlen(obj), on_sub, &s), 0);
    assert_string_equal(s.out, "trades=AAPL;quotes=AMD;quotes=CLDR;bars=*;lulds=BRK.B;"
                               "corrections=AAPL;cancelErrors=AAPL;orderbooks=BTC/USD;news=*;"
                               "imbalances=IBM;");
    const char *bad[] = {
        "", "[]", "{\"trades\":[\"A\"]", "{\"trades\":[\"A\",]}", "{} {}", "{\"a\":1}x", NULL};
    for (int i = 0; bad[i]; i++) {
        s.out[0] = '\0';
        assert_int_equal(td_alpaca_subscription_each(bad[i], strlen(bad[i]), on_sub, &s),
                         TD_EMALFORMED);
        assert_string_equal(s.out, "");
    }
    assert_int_equal(td_alpaca_subscription_each(" { } ", 5, on_sub, &s), 0);
}

/* Collects a ctl->raw from the splitter, to feed the walker as the feed would. */
static void grab_raw(void *ud, const td_alpaca_ctl_t *c)
{
    assert_int_equal(td_alpaca_subscription_each(c->raw, c->raw_len, on_sub, ud), 0);
}

static void test_subscription_via_split(void **state)
{
    (void)state;
    const char *f =
        "[{\"T\":\"subscription\",\"trades\":[],\"quotes\":[],\"orderbooks\":[],\"bars\":"
        "[\"BTC/USD\"],\"updatedBars\":[],\"dailyBars\":[]}]";
    subs_t s = {""};
    td_alpaca_cb_t cb = {NULL, grab_raw};
    assert_int_equal(td_alpaca_split(f, strlen(f), &cb, &s, NULL), 0);
    assert_string_equal(s.out, "bars=BTC/USD;");
}

static void test_builders(void **state)
{
    (void)state;
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_build_auth(&b, "PK\"1", "s\\3\n");
    assert_string_equal(b.data,
                        "{\"action\":\"auth\",\"key\":\"PK\\\"1\",\"secret\":\"s\\\\3\\u000a\"}");
    td_buf_reset(&b);

    td_subset_t s;
    td_subset_init(&s);
    char err[256];
    assert_int_equal(td_subset_parse(&s,
                                     "trades=AAPL;quotes=AMD,CLDR;bars=*;corrections=AAPL;"
                                     "orderbooks=BTC/USD;news=*",
                                     err, sizeof err),
                     0);
    td_alpaca_build_sub(&b, "subscribe", &s, TD_ALPACA_STOCK_KINDS | (1u << TD_KIND_CORRECTION));
    assert_string_equal(b.data,
                        "{\"action\":\"subscribe\",\"trades\":[\"AAPL\"],\"quotes\":[\"AMD\","
                        "\"CLDR\"],\"bars\":[\"*\"]}");
    td_buf_reset(&b);
    td_alpaca_build_sub(&b, "unsubscribe", &s, TD_ALPACA_CRYPTO_KINDS);
    assert_string_equal(b.data, "{\"action\":\"unsubscribe\",\"trades\":[\"AAPL\"],\"quotes\":["
                                "\"AMD\",\"CLDR\"],\"bars\":[\"*\"],\"orderbooks\":[\"BTC/USD\"]}");
    td_buf_reset(&b);
    td_alpaca_build_sub(&b, "subscribe", &s, TD_ALPACA_NEWS_KINDS);
    assert_string_equal(b.data, "{\"action\":\"subscribe\",\"news\":[\"*\"]}");
    td_buf_reset(&b);
    td_subset_clear(&s);
    td_alpaca_build_sub(&b, "subscribe", &s, TD_ALPACA_STOCK_KINDS);
    assert_string_equal(b.data, "{\"action\":\"subscribe\"}");
    td_subset_free(&s);
    td_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control),           cmocka_unit_test(test_stock_types),
        cmocka_unit_test(test_crypto_types),      cmocka_unit_test(test_news),
        cmocka_unit_test(test_mixed_order),       cmocka_unit_test(test_symbols),
        cmocka_unit_test(test_whitespace_empty),  cmocka_unit_test(test_values),
        cmocka_unit_test(test_malformed),         cmocka_unit_test(test_limits),
        cmocka_unit_test(test_subscription_each), cmocka_unit_test(test_subscription_via_split),
        cmocka_unit_test(test_builders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
