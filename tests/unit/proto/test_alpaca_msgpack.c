/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: Alpaca MessagePack codec (proto/alpaca_msgpack). Output is
 * decoded back with msgpack-c's unpacker and checked field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/alpaca_msgpack.h"

#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers: decoding what the transcoder wrote ------------------------ */

typedef struct {
    td_buf_t b;
    msgpack_unpacked u;
} doc_t;

static void unpack_all(doc_t *d)
{
    size_t off = 0;
    msgpack_unpacked_init(&d->u);
    assert_int_equal(msgpack_unpack_next(&d->u, d->b.data, d->b.len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, d->b.len); /* exactly one object */
}

/* Transcodes json (an exact-size heap copy, so over-reads are caught). */
static const msgpack_object *enc(doc_t *d, const char *json)
{
    size_t n = strlen(json);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, json, n);
    d->b = (td_buf_t)TD_BUF_INIT;
    assert_int_equal(td_alpaca_msgpack_object(&d->b, copy, n), 0);
    free(copy);
    assert_int_equal(d->b.data[d->b.len], '\0');
    unpack_all(d);
    assert_int_equal(d->u.data.type, MSGPACK_OBJECT_MAP);
    return &d->u.data;
}

static void done(doc_t *d)
{
    msgpack_unpacked_destroy(&d->u);
    td_buf_free(&d->b);
}

static int str_is(const msgpack_object *o, const char *s)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (str_is(&map->via.map.ptr[i].key, key)) return &map->via.map.ptr[i].val;
    fail_msg("key %s missing", key);
    return NULL;
}

static void key_at(const msgpack_object *map, uint32_t i, const char *key)
{
    assert_true(i < map->via.map.size);
    assert_true(str_is(&map->via.map.ptr[i].key, key));
}

static void expect_str(const msgpack_object *map, const char *key, const char *val)
{
    const msgpack_object *o = get(map, key);
    assert_int_equal(o->type, MSGPACK_OBJECT_STR);
    assert_int_equal(o->via.str.size, strlen(val));
    assert_memory_equal(o->via.str.ptr, val, strlen(val));
}

static void expect_int(const msgpack_object *map, const char *key, int64_t val)
{
    const msgpack_object *o = get(map, key);
    if (val >= 0) {
        assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
        assert_true(o->via.u64 == (uint64_t)val);
    } else {
        assert_int_equal(o->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
        assert_true(o->via.i64 == val);
    }
}

static void expect_f64(const msgpack_object *map, const char *key, double val)
{
    const msgpack_object *o = get(map, key);
    assert_int_equal(o->type, MSGPACK_OBJECT_FLOAT64);
    assert_true(o->via.f64 == val);
}

static void expect_bool(const msgpack_object *map, const char *key, int val)
{
    const msgpack_object *o = get(map, key);
    assert_int_equal(o->type, MSGPACK_OBJECT_BOOLEAN);
    assert_int_equal(o->via.boolean, val);
}

/* A timestamp extension (type -1) with these seconds and nanoseconds. */
static void expect_ts_obj(const msgpack_object *o, int64_t sec, uint32_t nsec)
{
    assert_int_equal(o->type, MSGPACK_OBJECT_EXT);
    assert_int_equal(o->via.ext.type, -1);
    assert_true(o->via.ext.size == 8 || o->via.ext.size == 12);
    assert_int_equal(o->via.ext.size, sec >= 0 ? 8 : 12);
    msgpack_timestamp ts;
    assert_true(msgpack_object_to_timestamp(o, &ts));
    assert_true(ts.tv_sec == sec);
    assert_int_equal(ts.tv_nsec, nsec);
}

static void expect_ts(const msgpack_object *map, const char *key, int64_t sec, uint32_t nsec)
{
    expect_ts_obj(get(map, key), sec, nsec);
}

static void expect_str_list(const msgpack_object *map, const char *key, int n, ...)
{
    const msgpack_object *o = get(map, key);
    assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(o->via.array.size, n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        assert_true(str_is(&o->via.array.ptr[i], va_arg(ap, const char *)));
    va_end(ap);
}

/* 2023-04-06T11:54:26Z */
#define T0 INT64_C(1680782066)

/* ---- stock messages (PROTOCOLS.md §1.6) --------------------------------- */

static void test_stock_trade_quote(void **state)
{
    (void)state;
    doc_t d;
    const msgpack_object *m = enc(
        &d, "{\"T\":\"t\",\"S\":\"AAPL\",\"i\":628,\"x\":\"K\",\"p\":162.92,\"s\":3,"
            "\"c\":[\"@\",\"F\",\"T\",\"I\"],\"z\":\"C\",\"t\":\"2023-04-06T11:54:26.838232225Z\","
            "\"r\":\"2023-04-06T11:54:26.9Z\"}");
    assert_int_equal(m->via.map.size, 10);
    key_at(m, 0, "T");
    expect_str(m, "T", "t");
    expect_str(m, "S", "AAPL");
    expect_int(m, "i", 628);
    expect_str(m, "x", "K");
    expect_f64(m, "p", 162.92);
    expect_int(m, "s", 3);
    expect_str_list(m, "c", 4, "@", "F", "T", "I");
    expect_str(m, "z", "C");
    expect_ts(m, "t", T0, 838232225);
    expect_str(m, "r", "2023-04-06T11:54:26.9Z"); /* only t/created_at/updated_at */
    key_at(m, 8, "t");                            /* order kept */
    done(&d);

    m = enc(&d, "{\"T\":\"q\",\"S\":\"AMD\",\"bx\":\"K\",\"bp\":91.95,\"bs\":2,\"ax\":\"Q\","
                "\"ap\":91.98,\"as\":1,\"c\":[\"R\"],\"z\":\"C\","
                "\"t\":\"2023-04-06T11:54:21.670905508Z\"}");
    assert_int_equal(m->via.map.size, 11);
    key_at(m, 0, "T");
    expect_str(m, "T", "q");
    expect_str(m, "bx", "K");
    expect_f64(m, "bp", 91.95);
    expect_int(m, "bs", 2);
    expect_str(m, "ax", "Q");
    expect_f64(m, "ap", 91.98);
    expect_int(m, "as", 1);
    expect_str_list(m, "c", 1, "R");
    expect_ts(m, "t", T0 - 5, 670905508);
    done(&d);
}

static void test_stock_bars(void **state)
{
    (void)state;
    static const char *types[] = {"b", "d", "u"};
    for (int k = 0; k < 3; k++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"T\":\"%s\",\"S\":\"SPY\",\"o\":388.985,\"h\":389.13,\"l\":388.975,"
                 "\"c\":389.12,\"v\":49378,\"t\":\"2021-02-22T19:15:00Z\",\"n\":412,"
                 "\"vw\":389.0551}",
                 types[k]);
        doc_t d;
        const msgpack_object *m = enc(&d, json);
        key_at(m, 0, "T");
        expect_str(m, "T", types[k]);
        expect_str(m, "S", "SPY");
        expect_f64(m, "o", 388.985);
        expect_f64(m, "h", 389.13);
        expect_f64(m, "l", 388.975);
        expect_f64(m, "c", 389.12);
        expect_int(m, "v", 49378);
        expect_ts(m, "t", INT64_C(1614021300), 0);
        expect_int(m, "n", 412);
        expect_f64(m, "vw", 389.0551);
        done(&d);
    }
}

static void test_stock_others(void **state)
{
    (void)state;
    doc_t d;
    const msgpack_object *m =
        enc(&d, "{\"T\":\"c\",\"S\":\"EEM\",\"x\":\"N\",\"oi\":52983525033527,\"op\":39.1582,"
                "\"os\":440000,\"oc\":[\" \",\"7\",\"V\"],\"ci\":52983525033537,\"cp\":39.1582,"
                "\"cs\":440000,\"cc\":[\" \",\"7\",\"V\"],\"z\":\"B\","
                "\"t\":\"2023-04-06T13:15:42.83540958Z\"}");
    key_at(m, 0, "T");
    expect_int(m, "oi", INT64_C(52983525033527));
    expect_f64(m, "op", 39.1582);
    expect_int(m, "os", 440000);
    expect_str_list(m, "oc", 3, " ", "7", "V");
    expect_int(m, "ci", INT64_C(52983525033537));
    expect_str_list(m, "cc", 3, " ", "7", "V");
    expect_ts(m, "t", INT64_C(1680786942), 835409580);
    done(&d);

    m = enc(&d,
            "{\"T\":\"x\",\"S\":\"AAPL\",\"i\":465,\"x\":\"D\",\"p\":105.31,\"s\":300,\"a\":\"C\","
            "\"z\":\"C\",\"t\":\"2023-04-06T13:15:42.83540958Z\"}");
    expect_str(m, "T", "x");
    expect_f64(m, "p", 105.31);
    expect_int(m, "s", 300);
    expect_str(m, "a", "C");
    done(&d);

    m = enc(&d, "{\"T\":\"l\",\"S\":\"IONM\",\"u\":5.1,\"d\":4.6,\"i\":\"B\","
                "\"t\":\"2021-02-22T19:15:00.1Z\",\"z\":\"C\"}");
    expect_f64(m, "u", 5.1);
    expect_f64(m, "d", 4.6);
    expect_str(m, "i", "B");
    expect_ts(m, "t", INT64_C(1614021300), 100000000);
    done(&d);

    m = enc(&d, "{\"T\":\"s\",\"S\":\"AAPL\",\"sc\":\"H\",\"sm\":\"Trading Halt\",\"rc\":\"T12\","
                "\"rm\":\"Trading Halted; For information requested by NASDAQ\","
                "\"t\":\"2021-02-22T19:15:00Z\",\"z\":\"C\"}");
    expect_str(m, "sc", "H");
    expect_str(m, "sm", "Trading Halt");
    expect_str(m, "rc", "T12");
    expect_str(m, "rm", "Trading Halted; For information requested by NASDAQ");
    done(&d);

    m = enc(&d,
            "{\"T\":\"i\",\"S\":\"AAPL\",\"p\":150.5,\"z\":\"C\",\"t\":\"2021-02-22T19:15:00Z\"}");
    expect_str(m, "T", "i");
    expect_f64(m, "p", 150.5);
    done(&d);
}

/* ---- crypto and news ---------------------------------------------------- */

static void test_crypto(void **state)
{
    (void)state;
    doc_t d;
    const msgpack_object *m =
        enc(&d, "{\"T\":\"t\",\"S\":\"BTC/USD\",\"p\":27891.5,\"s\":0.0042,"
                "\"t\":\"2023-04-06T11:54:26.1Z\",\"i\":4611686018427387903,\"tks\":\"B\"}");
    expect_str(m, "S", "BTC/USD");
    expect_f64(m, "s", 0.0042);
    expect_int(m, "i", INT64_C(4611686018427387903));
    expect_str(m, "tks", "B");
    done(&d);

    m = enc(&d, "{\"T\":\"q\",\"S\":\"ETH/USD\",\"bp\":1870.1,\"bs\":1.5,\"ap\":1870.9,\"as\":2,"
                "\"t\":\"2023-04-06T11:54:26Z\"}");
    expect_f64(m, "bs", 1.5);
    expect_int(m, "as", 2); /* JSON says 2: an int, whatever the schema */
    done(&d);

    m = enc(&d, "{\"T\":\"o\",\"S\":\"BTC/USD\",\"t\":\"2023-04-06T11:54:26.123456Z\","
                "\"b\":[{\"p\":27890.1,\"s\":0.5},{\"p\":27889,\"s\":0}],"
                "\"a\":[{\"p\":27892.25,\"s\":1.25}],\"r\":true}");
    key_at(m, 0, "T");
    expect_ts(m, "t", T0, 123456000);
    const msgpack_object *bids = get(m, "b");
    assert_int_equal(bids->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(bids->via.array.size, 2);
    const msgpack_object *lvl = &bids->via.array.ptr[1];
    assert_int_equal(lvl->via.map.size, 2);
    key_at(lvl, 0, "p");
    key_at(lvl, 1, "s");
    expect_int(lvl, "p", 27889);
    expect_int(lvl, "s", 0);
    expect_f64(&bids->via.array.ptr[0], "p", 27890.1);
    const msgpack_object *asks = get(m, "a");
    expect_f64(&asks->via.array.ptr[0], "s", 1.25);
    expect_bool(m, "r", 1);
    done(&d);
}

static void test_news(void **state)
{
    (void)state;
    doc_t d;
    const msgpack_object *m =
        enc(&d, "{\"T\":\"n\",\"id\":24918784,\"headline\":\"Caf\\u00e9 \\\"r\\u00e9sum\\u00e9\\\" "
                "\\ud83d\\ude80 \xe2\x82\xac\","
                "\"summary\":\"line1\\nline2\\ttab\\\\ \\/ \\b\\f\\r\",\"author\":\"Benzinga "
                "Insights\",\"created_at\":\"2022-01-05T22:00:37Z\","
                "\"updated_at\":\"2022-01-05T22:00:38.5Z\",\"url\":\"https://example.com/a?b=1\","
                "\"content\":\"<p>Shares of <a href=\\\"x\\\">TSLA</a> &amp; \\u003cb\\u003e</p>\","
                "\"symbols\":[\"TSLA\",\"AAPL\"],\"source\":\"benzinga\"}");
    key_at(m, 0, "T");
    expect_int(m, "id", 24918784);
    expect_str(m, "headline", "Caf\xc3\xa9 \"r\xc3\xa9sum\xc3\xa9\" \xf0\x9f\x9a\x80 \xe2\x82\xac");
    expect_str(m, "summary", "line1\nline2\ttab\\ / \b\f\r");
    expect_ts(m, "created_at", INT64_C(1641420037), 0);
    expect_ts(m, "updated_at", INT64_C(1641420038), 500000000);
    expect_str(m, "content", "<p>Shares of <a href=\"x\">TSLA</a> &amp; <b></p>");
    expect_str_list(m, "symbols", 2, "TSLA", "AAPL");
    expect_str(m, "source", "benzinga");
    done(&d);
}

/* ---- structure: T first, timestamps, numbers, strings ------------------- */

static void test_t_first(void **state)
{
    (void)state;
    doc_t d;
    const msgpack_object *m = enc(&d, "{\"S\":\"AAPL\",\"p\":1.5,\"T\":\"t\",\"z\":\"C\"}");
    key_at(m, 0, "T");
    key_at(m, 1, "S");
    key_at(m, 2, "p");
    key_at(m, 3, "z");
    expect_str(m, "T", "t");
    done(&d);
    /* only the first T moves; nested objects keep their order */
    m = enc(&d, "{\"a\":{\"x\":1,\"T\":2},\"T\":[1,{\"T\":3}],\"T\":\"second\"}");
    key_at(m, 0, "T");
    key_at(m, 1, "a");
    key_at(m, 2, "T");
    assert_int_equal(m->via.map.ptr[0].val.type, MSGPACK_OBJECT_ARRAY);
    assert_true(str_is(&m->via.map.ptr[2].val, "second"));
    key_at(&m->via.map.ptr[1].val, 0, "x");
    done(&d);
    /* no T: order kept; an empty object */
    m = enc(&d, "{\"b\":1,\"a\":2}");
    key_at(m, 0, "b");
    done(&d);
    m = enc(&d, " {\n} ");
    assert_int_equal(m->via.map.size, 0);
    done(&d);
    /* 20 members (map16 header) with T last */
    char json[1024] = "{";
    for (int i = 0; i < 19; i++)
        snprintf(json + strlen(json), sizeof json - strlen(json), "\"k%d\":%d,", i, i);
    strcat(json, "\"T\":\"q\"}");
    m = enc(&d, json);
    assert_int_equal(m->via.map.size, 20);
    assert_int_equal((unsigned char)d.b.data[0], 0xde);
    key_at(m, 0, "T");
    key_at(m, 1, "k0");
    key_at(m, 19, "k18");
    expect_int(m, "k18", 18);
    done(&d);
}

static void test_timestamps(void **state)
{
    (void)state;
    /* 0..9 fraction digits */
    static const char *fr[] = {"",       ".1",      ".12",      ".123",      ".1234",
                               ".12345", ".123456", ".1234567", ".12345678", ".123456789"};
    static const uint32_t ns[] = {0,         100000000, 120000000, 123000000, 123400000,
                                  123450000, 123456000, 123456700, 123456780, 123456789};
    for (int i = 0; i < 10; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"T\":\"t\",\"t\":\"2023-04-06T11:54:26%sZ\"}", fr[i]);
        doc_t d;
        const msgpack_object *m = enc(&d, json);
        expect_ts(m, "t", T0, ns[i]);
        assert_int_equal(d.b.len, 1 + 2 + 2 + 2 + 10); /* fixext8 */
        done(&d);
    }
    doc_t d;
    const msgpack_object *m;
    /* offsets, epoch, before 1970 (timestamp 96), far future */
    m = enc(&d, "{\"t\":\"2023-04-06T13:54:26.5+02:00\",\"created_at\":\"1970-01-01T00:00:00Z\","
                "\"updated_at\":\"1969-12-31T23:59:59.25Z\"}");
    expect_ts(m, "t", T0, 500000000);
    expect_ts(m, "created_at", 0, 0);
    expect_ts(m, "updated_at", -1, 250000000);
    done(&d);
    m = enc(&d, "{\"t\":\"2262-04-11T23:47:16.854775807Z\"}");
    expect_ts(m, "t", INT64_C(9223372036), 854775807);
    done(&d);
    /* not RFC 3339, out of int64 ns range, not a string, nested: kept */
    m = enc(&d, "{\"t\":\"2021-13-01T00:00:00Z\",\"created_at\":\"3000-01-01T00:00:00Z\","
                "\"updated_at\":1614021300,\"x\":{\"t\":\"2021-02-22T19:15:00Z\"},"
                "\"T\":\"2021-02-22T19:15:00Z\",\"tt\":\"2021-02-22T19:15:00Z\"}");
    expect_str(m, "t", "2021-13-01T00:00:00Z");
    expect_str(m, "created_at", "3000-01-01T00:00:00Z");
    expect_int(m, "updated_at", 1614021300);
    expect_str(get(m, "x"), "t", "2021-02-22T19:15:00Z");
    expect_str(m, "T", "2021-02-22T19:15:00Z");
    expect_str(m, "tt", "2021-02-22T19:15:00Z");
    done(&d);
    /* a 10th fraction digit is not RFC 3339 for us: kept as a string */
    m = enc(&d, "{\"t\":\"2023-04-06T11:54:26.1234567891Z\"}");
    expect_str(m, "t", "2023-04-06T11:54:26.1234567891Z");
    done(&d);
}

/* Exact bytes of {"a":<num>} after the 3-byte prefix 81 a1 61. */
static void expect_num_bytes(const char *num, const char *hex)
{
    char json[400];
    snprintf(json, sizeof json, "{\"a\":%s}", num);
    td_buf_t b = TD_BUF_INIT;
    assert_int_equal(td_alpaca_msgpack_object(&b, json, strlen(json)), 0);
    char got[64] = "";
    for (size_t i = 3; i < b.len && i < 20; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%02x", (unsigned char)b.data[i]);
    if (strcmp(got, hex) != 0) fail_msg("%s: got %s, want %s", num, got, hex);
    td_buf_free(&b);
}

static void test_numbers(void **state)
{
    (void)state;
    expect_num_bytes("0", "00");
    expect_num_bytes("-0", "00");
    expect_num_bytes("127", "7f");
    expect_num_bytes("128", "cc80");
    expect_num_bytes("256", "cd0100");
    expect_num_bytes("65536", "ce00010000");
    expect_num_bytes("4294967296", "cf0000000100000000");
    expect_num_bytes("9223372036854775807", "cf7fffffffffffffff");
    expect_num_bytes("9223372036854775808", "cf8000000000000000");
    expect_num_bytes("18446744073709551615", "cfffffffffffffffff");
    expect_num_bytes("18446744073709551616", "cb43f0000000000000"); /* 2^64 as float */
    expect_num_bytes("-1", "ff");
    expect_num_bytes("-32", "e0");
    expect_num_bytes("-33", "d0df");
    expect_num_bytes("-129", "d1ff7f");
    expect_num_bytes("-32769", "d2ffff7fff");
    expect_num_bytes("-2147483649", "d3ffffffff7fffffff");
    expect_num_bytes("-9223372036854775808", "d38000000000000000");
    expect_num_bytes("-9223372036854775809", "cbc3e0000000000000");
    expect_num_bytes("1.5", "cb3ff8000000000000");
    expect_num_bytes("-0.0", "cb8000000000000000");
    expect_num_bytes("1e0", "cb3ff0000000000000");
    expect_num_bytes("1E+2", "cb4059000000000000");
    expect_num_bytes("1e400", "cb7ff0000000000000");
    /* floats agree bit for bit with strtod (fast path and slow path) */
    static const char *nums[] = {"0.1",
                                 "162.92",
                                 "91.95",
                                 "389.0551",
                                 "1e-7",
                                 "4.9e-324",
                                 "2.5e-308",
                                 "1.7976931348623157e308",
                                 "0.00042",
                                 "123456789.123",
                                 "9007199254740993.0",
                                 "3.14159265358979323846264338327950288",
                                 "1e23",
                                 "8.589973e9",
                                 "-27891.5e-3",
                                 "0.000000000000000000000000001"};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"a\":%s}", nums[i]);
        doc_t d;
        const msgpack_object *m = enc(&d, json);
        expect_f64(m, "a", strtod(nums[i], NULL));
        done(&d);
    }
    /* random decimals against strtod */
    srand(7);
    for (int i = 0; i < 20000; i++) {
        char num[64], json[96];
        snprintf(num, sizeof num, "%s%d.%0*de%d", rand() % 2 ? "-" : "", rand() % 100000,
                 1 + rand() % 9, rand() % 1000000000, rand() % 50 - 25);
        snprintf(json, sizeof json, "{\"a\":%s}", num);
        doc_t d;
        const msgpack_object *m = enc(&d, json);
        const msgpack_object *o = get(m, "a");
        if (o->via.f64 != strtod(num, NULL)) fail_msg("%s", num);
        done(&d);
    }
}

static void expect_str_header(size_t n, int escaped, const char *hdr_hex)
{
    /* n decoded bytes; escaped: each 'x' written as \u0078 in the JSON */
    size_t cap = n * 6 + 16;
    char *json = malloc(cap);
    size_t j = 0;
    json[j++] = '{', json[j++] = '"', json[j++] = 'a', json[j++] = '"', json[j++] = ':';
    json[j++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (escaped)
            memcpy(json + j, "\\u0078", 6), j += 6;
        else
            json[j++] = 'x';
    }
    json[j++] = '"', json[j++] = '}';
    doc_t d;
    d.b = (td_buf_t)TD_BUF_INIT;
    assert_int_equal(td_alpaca_msgpack_object(&d.b, json, j), 0);
    free(json);
    char got[16] = "";
    size_t hl = strlen(hdr_hex) / 2;
    for (size_t i = 0; i < hl; i++)
        snprintf(got + 2 * i, 3, "%02x", (unsigned char)d.b.data[3 + i]);
    assert_string_equal(got, hdr_hex);
    assert_int_equal(d.b.len, 3 + hl + n);
    unpack_all(&d);
    assert_int_equal(get(&d.u.data, "a")->via.str.size, n);
    done(&d);
}

static void test_strings(void **state)
{
    (void)state;
    for (int esc = 0; esc < 2; esc++) {
        expect_str_header(0, esc, "a0");
        expect_str_header(31, esc, "bf");
        expect_str_header(32, esc, "d920");
        expect_str_header(255, esc, "d9ff");
        expect_str_header(256, esc, "da0100");
        expect_str_header(65535, esc, "daffff");
        expect_str_header(65536, esc, "db00010000");
    }
    doc_t d;
    const msgpack_object *m = enc(
        &d, "{\"e\":\"\\u0000\\u001f\\u007f\\u0080\\u07ff\\u0800\\uffff\\udbff\\udfff\","
            "\"raw\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\","
            "\"\\u0054\":\"key escaped\",\"del\":\"\x7f\"}");
    expect_str(m, "raw",
               "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
    const msgpack_object *e = get(m, "e");
    assert_int_equal(e->via.str.size, 1 + 1 + 1 + 2 + 2 + 3 + 3 + 4);
    assert_memory_equal(e->via.str.ptr,
                        "\x00\x1f\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf", 17);
    key_at(m, 0, "T"); /* "\u0054" is "T" */
    expect_str(m, "del", "\x7f");
    done(&d);
    /* literals, arrays, nesting */
    m = enc(&d, "{\"a\":[true,false,null,[],{},[[1]]],\"n\":null}");
    const msgpack_object *a = get(m, "a");
    assert_int_equal(a->via.array.size, 6);
    assert_int_equal(a->via.array.ptr[0].type, MSGPACK_OBJECT_BOOLEAN);
    assert_true(a->via.array.ptr[0].via.boolean);
    assert_false(a->via.array.ptr[1].via.boolean);
    assert_int_equal(a->via.array.ptr[2].type, MSGPACK_OBJECT_NIL);
    assert_int_equal(a->via.array.ptr[4].type, MSGPACK_OBJECT_MAP);
    assert_int_equal(get(m, "n")->type, MSGPACK_OBJECT_NIL);
    done(&d);
}

static void test_big_containers(void **state)
{
    (void)state;
    size_t n = 70000;
    td_buf_t j = TD_BUF_INIT;
    td_buf_appends(&j, "{\"T\":\"x\",\"big\":[");
    for (size_t i = 0; i < n; i++)
        td_buf_appends(&j, i ? ",1" : "1");
    td_buf_appends(&j, "],\"mid\":[");
    for (size_t i = 0; i < 300; i++)
        td_buf_appends(&j, i ? ",[]" : "[]");
    td_buf_appends(&j, "]}");
    doc_t d;
    const msgpack_object *m = enc(&d, j.data);
    assert_int_equal(get(m, "big")->via.array.size, n);
    assert_int_equal(get(m, "mid")->via.array.size, 300);
    done(&d);
    td_buf_free(&j);
}

static void test_depth(void **state)
{
    (void)state;
    for (int depth = TD_ALPACA_MSGPACK_JSON_DEPTH; depth <= TD_ALPACA_MSGPACK_JSON_DEPTH + 1;
         depth++) {
        td_buf_t j = TD_BUF_INIT;
        td_buf_appends(&j, "{\"a\":");
        for (int i = 2; i <= depth; i++)
            td_buf_appends(&j, i % 2 ? "{\"a\":" : "[");
        td_buf_appendc(&j, '1');
        for (int i = depth; i >= 2; i--)
            td_buf_appendc(&j, i % 2 ? '}' : ']');
        td_buf_appendc(&j, '}');
        td_buf_t b = TD_BUF_INIT;
        int rc = td_alpaca_msgpack_object(&b, j.data, j.len);
        if (depth <= TD_ALPACA_MSGPACK_JSON_DEPTH) {
            assert_int_equal(rc, 0);
            doc_t d = {b, {0}};
            unpack_all(&d); /* msgpack-c can read what we allow */
            done(&d);
        } else {
            assert_int_equal(rc, -1);
            td_buf_free(&b);
        }
        td_buf_free(&j);
    }
}

/* ---- invalid and truncated JSON ------------------------------------------- */

static void expect_bad(const char *json, size_t n)
{
    char *copy = malloc(n ? n : 1);
    memcpy(copy, json, n);
    td_buf_t b = TD_BUF_INIT;
    td_buf_appends(&b, "prefix");
    if (td_alpaca_msgpack_object(&b, copy, n) != -1) fail_msg("accepted: %.*s", (int)n, json);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.data, "prefix");
    /* as a frame: the same bytes wrapped in [ ] */
    char *wrapped = malloc(n + 2);
    wrapped[0] = '[';
    memcpy(wrapped + 1, json, n);
    wrapped[n + 1] = ']';
    size_t sp = strspn(json, " ");
    int empty_array = n == 2 && memcmp(json, "[]", 2) == 0;
    if (sp < n) assert_int_equal(td_alpaca_msgpack_frame(&b, wrapped, n + 2), -1);
    assert_int_equal(td_alpaca_msgpack_frame(&b, copy, n), empty_array ? 0 : -1);
    if (!empty_array) assert_string_equal(b.data, "prefix");
    td_buf_free(&b);
    free(wrapped);
    free(copy);
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {"",
                                " ",
                                "[]",
                                "1",
                                "\"x\"",
                                "null",
                                "{",
                                "}",
                                "{}x",
                                "{} {}",
                                "{,}",
                                "{\"a\"}",
                                "{\"a\":}",
                                "{\"a\" 1}",
                                "{\"a\":1,}",
                                "{\"a\":1 \"b\":2}",
                                "{a:1}",
                                "{'a':1}",
                                "{\"a\":[1,]}",
                                "{\"a\":[,1]}",
                                "{\"a\":[1 2]}",
                                "{\"a\":01}",
                                "{\"a\":1.}",
                                "{\"a\":.5}",
                                "{\"a\":-}",
                                "{\"a\":+1}",
                                "{\"a\":1e}",
                                "{\"a\":1e+}",
                                "{\"a\":NaN}",
                                "{\"a\":Infinity}",
                                "{\"a\":tru}",
                                "{\"a\":nul}",
                                "{\"a\":True}",
                                "{\"a\":\"x}",
                                "{\"a\":\"\t\"}",
                                "{\"a\":\"\\x\"}",
                                "{\"a\":\"\\u12\"}",
                                "{\"a\":\"\\u12G4\"}",
                                "{\"a\":\"\\ud800\"}",
                                "{\"a\":\"\\udc00\"}",
                                "{\"a\":\"\\ud800\\u0041\"}",
                                "{\"a\":\"\\ud800x\"}",
                                "{\"a\":\"\xc0\x80\"}",
                                "{\"a\":\"\xc1\xbf\"}",
                                "{\"a\":\"\xe0\x80\x80\"}",
                                "{\"a\":\"\xed\xa0\x80\"}",
                                "{\"a\":\"\xf5\x80\x80\x80\"}",
                                "{\"a\":\"\xf4\x90\x80\x80\"}",
                                "{\"a\":\"\x80\"}",
                                "{\"a\":\"\xc3\"}",
                                "{\"a\":\"\xe2\x82\"}",
                                "{\"a\":\"\xff\"}",
                                "{1:2}",
                                "{\"a\":1}}",
                                "{\"a\":[}",
                                "{\"a\":{]}",
                                "\xef\xbb\xbf{}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_bad(bad[i], strlen(bad[i]));
    expect_bad("{\"a\":\"\0\"}", 9); /* raw NUL byte */
    expect_bad("{\"a\":1}\0", 8);
}

static const char *samples[] = {
    "{\"T\":\"t\",\"S\":\"AAPL\",\"i\":628,\"x\":\"K\",\"p\":162.92,\"s\":3,\"c\":[\"@\",\"F\"],"
    "\"z\":\"C\",\"t\":\"2023-04-06T11:54:26.838232225Z\"}",
    "{\"S\":\"BTC/USD\",\"T\":\"o\",\"b\":[{\"p\":1.5e3,\"s\":-0.25}],\"a\":[],\"r\":false,"
    "\"n\":null,\"h\":\"\\u00e9\\ud83d\\ude80\\n\xe2\x82\xac\"}",
    "{\"T\":\"n\",\"created_at\":\"2022-01-05T22:00:37Z\",\"id\":-12345678901234}",
};

static void test_truncated(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof samples / sizeof *samples; s++) {
        size_t n = strlen(samples[s]);
        doc_t d;
        enc(&d, samples[s]); /* the whole is fine */
        done(&d);
        for (size_t k = 0; k < n; k++)
            expect_bad(samples[s], k);
    }
    /* frames too */
    const char *f = "[{\"T\":\"success\",\"msg\":\"connected\"},{\"T\":\"q\",\"bp\":1.5}]";
    for (size_t k = 0; k < strlen(f); k++) {
        char *copy = malloc(k ? k : 1);
        memcpy(copy, f, k);
        td_buf_t b = TD_BUF_INIT;
        assert_int_equal(td_alpaca_msgpack_frame(&b, copy, k), -1);
        assert_int_equal(b.len, 0);
        td_buf_free(&b);
        free(copy);
    }
}

/* ---- frames ---------------------------------------------------------------- */

static const msgpack_object *frame(doc_t *d, const char *json, uint32_t n)
{
    d->b = (td_buf_t)TD_BUF_INIT;
    assert_int_equal(td_alpaca_msgpack_frame(&d->b, json, strlen(json)), 0);
    unpack_all(d);
    assert_int_equal(d->u.data.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(d->u.data.via.array.size, n);
    return d->u.data.via.array.ptr;
}

static void test_frames(void **state)
{
    (void)state;
    doc_t d;
    const msgpack_object *e = frame(&d, "[{\"T\":\"success\",\"msg\":\"connected\"}]", 1);
    key_at(&e[0], 0, "T");
    expect_str(&e[0], "T", "success");
    expect_str(&e[0], "msg", "connected");
    done(&d);

    e = frame(&d, " [ {\"msg\":\"connection limit exceeded\",\"code\":406,\"T\":\"error\"} ] ", 1);
    key_at(&e[0], 0, "T");
    expect_str(&e[0], "T", "error");
    expect_int(&e[0], "code", 406);
    expect_str(&e[0], "msg", "connection limit exceeded");
    done(&d);

    e = frame(&d,
              "[{\"T\":\"subscription\",\"trades\":[\"AAPL\"],\"quotes\":[\"AMD\",\"CLDR\"],"
              "\"bars\":[\"*\"],\"updatedBars\":[],\"dailyBars\":[\"VOO\"],\"statuses\":[\"*\"],"
              "\"lulds\":[],\"corrections\":[\"AAPL\"],\"cancelErrors\":[\"AAPL\"]}]",
              1);
    expect_str_list(&e[0], "trades", 1, "AAPL");
    expect_str_list(&e[0], "quotes", 2, "AMD", "CLDR");
    expect_str_list(&e[0], "bars", 1, "*");
    expect_str_list(&e[0], "updatedBars", 0);
    expect_str_list(&e[0], "cancelErrors", 1, "AAPL");
    done(&d);

    e = frame(&d, "[]", 0);
    assert_int_equal((unsigned char)d.b.data[0], 0x90);
    done(&d);

    /* a batch of 20 mixed events: array16, each with T first and timestamps */
    td_buf_t j = TD_BUF_INIT;
    td_buf_appendc(&j, '[');
    for (int i = 0; i < 20; i++)
        td_buf_appendf(&j, "%s{\"S\":\"S%d\",\"T\":\"%s\",\"t\":\"2023-04-06T11:54:26.%dZ\"}",
                       i ? "," : "", i, i % 2 ? "q" : "t", i + 1);
    td_buf_appendc(&j, ']');
    e = frame(&d, j.data, 20);
    assert_int_equal((unsigned char)d.b.data[0], 0xdc);
    for (int i = 0; i < 20; i++) {
        key_at(&e[i], 0, "T");
        expect_str(&e[i], "T", i % 2 ? "q" : "t");
        uint32_t ns = (uint32_t)(i + 1);
        while (ns < 100000000)
            ns *= 10;
        expect_ts(&e[i], "t", T0, ns);
    }
    done(&d);
    td_buf_free(&j);

    /* elements must be objects; no trailing comma; appends after existing bytes */
    static const char *bad[] = {"[1]", "[{},1]", "[[]]", "[{},]", "[,{}]", "[{}{}]", "{}", "[{}]]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        td_buf_t b = TD_BUF_INIT;
        assert_int_equal(td_alpaca_msgpack_frame(&b, bad[i], strlen(bad[i])), -1);
        assert_int_equal(b.len, 0);
        td_buf_free(&b);
    }
    td_buf_t b = TD_BUF_INIT;
    td_buf_append(&b, "\x92", 1);
    assert_int_equal(td_alpaca_msgpack_object(&b, "{\"T\":\"a\"}", 9), 0);
    assert_int_equal(td_alpaca_msgpack_object(&b, "{}", 2), 0);
    assert_int_equal(b.len, 1 + 5 + 1);
    assert_memory_equal(b.data, "\x92\x81\xa1T\xa1\x61\x80", 7);
    td_buf_free(&b);
}

static void test_array_header(void **state)
{
    (void)state;
    static const struct {
        uint32_t n;
        const char *bytes;
        size_t len;
    } cases[] = {{0, "\x90", 1},
                 {15, "\x9f", 1},
                 {16, "\xdc\x00\x10", 3},
                 {65535, "\xdc\xff\xff", 3},
                 {65536, "\xdd\x00\x01\x00\x00", 5},
                 {UINT32_MAX, "\xdd\xff\xff\xff\xff", 5}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        td_buf_t b = TD_BUF_INIT;
        td_msgpack_array_header(&b, cases[i].n);
        assert_int_equal(b.len, cases[i].len);
        assert_memory_equal(b.data, cases[i].bytes, cases[i].len);
        td_buf_free(&b);
    }
}

/* ---- client → server -------------------------------------------------------- */

static void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* Packs a list of symbols; n < 0 packs nil. */
static void pk_list(msgpack_packer *pk, int n, const char *const *syms)
{
    if (n < 0) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++)
        pk_str(pk, syms[i]);
}

static int parse_sbuf(const msgpack_sbuffer *sb, td_alpaca_client_msg_t *m)
{
    char *copy = malloc(sb->size ? sb->size : 1);
    memcpy(copy, sb->data, sb->size);
    int rc = td_alpaca_client_parse_msgpack(copy, sb->size, m);
    free(copy);
    if (rc != 0) {
        assert_int_equal(m->action, TD_ALPACA_CLIENT_NONE);
        assert_true(td_subset_empty(&m->sub));
    }
    return rc;
}

static int has(const td_alpaca_client_msg_t *m, td_kind_t k, const char *sym)
{
    return td_subset_has(&m->sub, k, sym, strlen(sym));
}

static void test_client_auth(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pk_str(&pk, "key");
    pk_str(&pk, "PK123");
    pk_str(&pk, "action");
    pk_str(&pk, "auth");
    pk_str(&pk, "extra");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_double(&pk, 2.5);
    pk_str(&pk, "secret");
    msgpack_pack_bin(&pk, 6); /* bin accepted as a string */
    msgpack_pack_bin_body(&pk, "s3\xffr3t", 6);
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    assert_int_equal(parse_sbuf(&sb, &m), 0);
    assert_int_equal(m.action, TD_ALPACA_CLIENT_AUTH);
    assert_true(m.has_key && m.has_secret);
    assert_string_equal(m.key, "PK123");
    assert_int_equal(m.key_len, 5);
    assert_int_equal(m.secret_len, 6);
    assert_memory_equal(m.secret, "s3\xffr3t", 7);

    /* non-string key: absent; 256 bytes ok, 257 too long */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 3);
    pk_str(&pk, "action");
    pk_str(&pk, "auth");
    pk_str(&pk, "key");
    msgpack_pack_map(&pk, 0);
    pk_str(&pk, "secret");
    char secret[TD_ALPACA_CLIENT_CRED_MAX + 2];
    memset(secret, 'S', sizeof secret);
    msgpack_pack_str(&pk, TD_ALPACA_CLIENT_CRED_MAX);
    msgpack_pack_str_body(&pk, secret, TD_ALPACA_CLIENT_CRED_MAX);
    assert_int_equal(parse_sbuf(&sb, &m), 0);
    assert_false(m.has_key);
    assert_int_equal(m.secret_len, TD_ALPACA_CLIENT_CRED_MAX);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "action");
    pk_str(&pk, "auth");
    pk_str(&pk, "secret");
    msgpack_pack_str(&pk, TD_ALPACA_CLIENT_CRED_MAX + 1);
    msgpack_pack_str_body(&pk, secret, TD_ALPACA_CLIENT_CRED_MAX + 1);
    assert_int_equal(parse_sbuf(&sb, &m), TD_ETOOLONG);
    td_alpaca_client_msg_free(&m);
    msgpack_sbuffer_destroy(&sb);
}

/* A key or secret holding a NUL byte is never a credential: compared as a C
 * string, "PK1\0junk" would pass for "PK1". Treated as absent (402). */
static void test_client_auth_nul(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    for (int bin = 0; bin < 2; bin++) {
        msgpack_sbuffer_clear(&sb);
        msgpack_pack_map(&pk, 3);
        pk_str(&pk, "action");
        pk_str(&pk, "auth");
        pk_str(&pk, "key");
        if (bin) {
            msgpack_pack_bin(&pk, 8);
            msgpack_pack_bin_body(&pk, "PK1\0junk", 8);
        } else {
            msgpack_pack_str(&pk, 8);
            msgpack_pack_str_body(&pk, "PK1\0junk", 8);
        }
        pk_str(&pk, "secret");
        msgpack_pack_str(&pk, 12);
        msgpack_pack_str_body(&pk, "sekret1\0junk", 12);
        assert_int_equal(parse_sbuf(&sb, &m), 0);
        assert_int_equal(m.action, TD_ALPACA_CLIENT_AUTH);
        assert_false(m.has_key);
        assert_false(m.has_secret);
        assert_int_equal(m.key_len, 0);
        assert_int_equal(m.secret_len, 0);
    }
    td_alpaca_client_msg_free(&m);
    msgpack_sbuffer_destroy(&sb);
}

static void test_client_subscribe(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    static const char *const aapl[] = {"AAPL"}, *const two[] = {"AMD", "BRK.B"},
                             *const star[] = {"*"}, *const crypto[] = {"BTC/USD", "ETH/USD"};
    /* the Go SDK sends every key, null or empty when unused */
    msgpack_pack_map(&pk, 10);
    pk_str(&pk, "action");
    pk_str(&pk, "subscribe");
    pk_str(&pk, "trades");
    pk_list(&pk, 1, aapl);
    pk_str(&pk, "quotes");
    pk_list(&pk, 2, two);
    pk_str(&pk, "bars");
    pk_list(&pk, 1, star);
    pk_str(&pk, "dailyBars");
    pk_list(&pk, -1, NULL);
    pk_str(&pk, "updatedBars");
    pk_list(&pk, 0, NULL);
    pk_str(&pk, "statuses");
    pk_list(&pk, -1, NULL);
    pk_str(&pk, "orderbooks");
    pk_list(&pk, 2, crypto);
    pk_str(&pk, "unknownWord");
    pk_list(&pk, 0, NULL); /* empty under an unknown word: fine */
    pk_str(&pk, "whatever");
    msgpack_pack_int(&pk, 5); /* non-array under an unknown word: ignored */
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    assert_int_equal(parse_sbuf(&sb, &m), 0);
    assert_int_equal(m.action, TD_ALPACA_CLIENT_SUBSCRIBE);
    assert_true(has(&m, TD_KIND_TRADE, "AAPL"));
    assert_false(has(&m, TD_KIND_TRADE, "MSFT"));
    assert_true(has(&m, TD_KIND_QUOTE, "AMD") && has(&m, TD_KIND_QUOTE, "BRK.B"));
    assert_true(m.sub.k[TD_KIND_BAR].all);
    assert_true(has(&m, TD_KIND_ORDERBOOK, "ETH/USD"));
    assert_int_equal(m.kinds, 1u << TD_KIND_TRADE | 1u << TD_KIND_QUOTE | 1u << TD_KIND_BAR |
                                  1u << TD_KIND_ORDERBOOK);

    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "bars");
    pk_list(&pk, 1, star);
    pk_str(&pk, "action");
    pk_str(&pk, "unsubscribe");
    assert_int_equal(parse_sbuf(&sb, &m), 0);
    assert_int_equal(m.action, TD_ALPACA_CLIENT_UNSUBSCRIBE);
    assert_true(m.sub.k[TD_KIND_BAR].all);
    assert_int_equal(m.kinds, 1u << TD_KIND_BAR);

    /* same result as the JSON parser for the same message */
    td_alpaca_client_msg_t j;
    td_alpaca_client_msg_init(&j);
    const char *json = "{\"action\":\"unsubscribe\",\"bars\":[\"*\"]}";
    assert_int_equal(td_alpaca_client_parse(json, strlen(json), &j), 0);
    assert_int_equal(j.action, m.action);
    assert_int_equal(j.kinds, m.kinds);
    td_alpaca_client_msg_free(&j);
    assert_false(m.snapshot);

    /* tickerd's "snapshot" extension: only true sets it */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 3);
    pk_str(&pk, "action");
    pk_str(&pk, "subscribe");
    pk_str(&pk, "snapshot");
    msgpack_pack_true(&pk);
    pk_str(&pk, "quotes");
    pk_list(&pk, 1, star);
    assert_int_equal(parse_sbuf(&sb, &m), 0);
    assert_true(m.snapshot);
    assert_true(m.sub.k[TD_KIND_QUOTE].all);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "action");
    pk_str(&pk, "subscribe");
    pk_str(&pk, "snapshot");
    msgpack_pack_int(&pk, 1);
    assert_int_equal(parse_sbuf(&sb, &m), 0);
    assert_false(m.snapshot);

    /* and "gaps" (gap notices): only true sets it */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "action");
    pk_str(&pk, "subscribe");
    pk_str(&pk, "gaps");
    msgpack_pack_true(&pk);
    assert_int_equal(parse_sbuf(&sb, &m), 0);
    assert_true(m.gaps);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "action");
    pk_str(&pk, "subscribe");
    pk_str(&pk, "gaps");
    msgpack_pack_false(&pk);
    assert_int_equal(parse_sbuf(&sb, &m), 0);
    assert_false(m.gaps);

    td_alpaca_client_msg_free(&m);
    msgpack_sbuffer_destroy(&sb);
}

/* Hand-written message bytes and the code they must give. */
static void expect_client(const char *bytes, size_t n, int rc)
{
    char *copy = malloc(n ? n : 1);
    memcpy(copy, bytes, n);
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    int got = td_alpaca_client_parse_msgpack(copy, n, &m);
    if (got != rc) fail_msg("%s: got %d, want %d", td_strerror(rc), got, rc);
    if (rc != 0) {
        assert_int_equal(m.action, TD_ALPACA_CLIENT_NONE);
        assert_true(td_subset_empty(&m.sub));
    }
    td_alpaca_client_msg_free(&m);
    free(copy);
}

#define EXPECT_CLIENT(lit, rc) expect_client(lit, sizeof lit - 1, rc)

/* fixstr helpers for readability */
#define ACTION                                                                                     \
    "\xa6"                                                                                         \
    "action"
#define SUB                                                                                        \
    "\xa9"                                                                                         \
    "subscribe"
#define TRADES                                                                                     \
    "\xa6"                                                                                         \
    "trades"

static void test_client_errors(void **state)
{
    (void)state;
    EXPECT_CLIENT("\x82" ACTION SUB TRADES "\x91\xa4"
                  "AAPL",
                  0);
    /* EMALFORMED: not a map, truncated, trailing bytes, reserved byte,
     * non-string key, counts beyond the input, nesting too deep */
    EXPECT_CLIENT("", TD_EMALFORMED);
    EXPECT_CLIENT("\x91\x80", TD_EMALFORMED);
    EXPECT_CLIENT("\xa3"
                  "abc",
                  TD_EMALFORMED);
    EXPECT_CLIENT("\x05", TD_EMALFORMED);
    EXPECT_CLIENT("\x81" ACTION SUB "\x00", TD_EMALFORMED);
    EXPECT_CLIENT("\x82" ACTION SUB, TD_EMALFORMED);
    EXPECT_CLIENT("\x81" ACTION "\xc1", TD_EMALFORMED);
    EXPECT_CLIENT("\x82" ACTION SUB "\x01\x02", TD_EMALFORMED);
    EXPECT_CLIENT("\x82\x01\x02" ACTION SUB, TD_EMALFORMED);
    EXPECT_CLIENT("\xdf\xff\xff\xff\xff" ACTION SUB, TD_EMALFORMED);
    EXPECT_CLIENT("\x82" ACTION SUB TRADES "\xdd\xff\xff\xff\xff\xa1"
                  "A",
                  TD_EMALFORMED);
    EXPECT_CLIENT("\x81" ACTION "\xdb\xff\xff\xff\xff"
                  "auth",
                  TD_EMALFORMED);
    EXPECT_CLIENT("\x81" ACTION "\xc9\xff\xff\xff\xff\x01", TD_EMALFORMED);
    EXPECT_CLIENT("\x82" ACTION SUB TRADES "\xa4"
                  "AAPL",
                  TD_EMALFORMED);
    static const char pre[] = "\x82" ACTION SUB "\xa1x";
    char deep[64];
    size_t n = sizeof pre - 1;
    memcpy(deep, pre, n);
    for (int i = 0; i < 31; i++)
        deep[n++] = (char)0x91;
    deep[n++] = 0x01;
    /* 32 levels (the map and 31 arrays) are well-formed: the unknown word
     * "x" with a non-empty list is what fails */
    expect_client(deep, n, TD_ECHANNEL);
    deep[n - 1] = (char)0x91;
    deep[n++] = 0x01;
    expect_client(deep, n, TD_EMALFORMED);
    /* EACTION */
    EXPECT_CLIENT("\x80", TD_EACTION);
    EXPECT_CLIENT("\x81" TRADES "\x90", TD_EACTION);
    EXPECT_CLIENT("\x81" ACTION "\xa4"
                  "AUTH",
                  TD_EACTION);
    EXPECT_CLIENT("\x81" ACTION "\x01", TD_EACTION);
    EXPECT_CLIENT("\x81" ACTION "\xc0", TD_EACTION);
    EXPECT_CLIENT("\x82" ACTION "\xa4"
                  "ping" ACTION SUB,
                  TD_EACTION);
    /* ESYMBOL */
    EXPECT_CLIENT("\x82" ACTION SUB TRADES "\x91\x01", TD_ESYMBOL);
    EXPECT_CLIENT("\x82" ACTION SUB TRADES "\x91\xa0", TD_ESYMBOL);
    EXPECT_CLIENT("\x82" ACTION SUB TRADES "\x91\xa2"
                  "A ",
                  TD_ESYMBOL);
    EXPECT_CLIENT("\x82" ACTION SUB TRADES "\x91\xa2"
                  "A*",
                  TD_ESYMBOL);
    EXPECT_CLIENT("\x82" ACTION SUB TRADES "\x91\xa2"
                  "\xc3\xa9",
                  TD_ESYMBOL);
    EXPECT_CLIENT("\x82" ACTION SUB TRADES "\x92\xa1"
                  "A\x90",
                  TD_ESYMBOL);
    EXPECT_CLIENT("\x82" ACTION SUB TRADES "\x91\xc0", TD_ESYMBOL);
    char sym[128];
    memcpy(sym, "\x82" ACTION SUB TRADES "\x91\xd9\x41", 28);
    memset(sym + 28, 'A', 65);
    expect_client(sym, 28 + 65, TD_ESYMBOL);
    sym[27] = 0x40; /* 64 bytes: fine */
    expect_client(sym, 28 + 64, 0);
    /* ECHANNEL: an unknown word with a non-empty list */
    EXPECT_CLIENT("\x82" ACTION SUB "\xa5"
                  "bogus"
                  "\x91\xa1"
                  "A",
                  TD_ECHANNEL);
    EXPECT_CLIENT("\x82" ACTION SUB "\xa5"
                  "Trade"
                  "\x91\xa1"
                  "A",
                  TD_ECHANNEL);
    /* ETOOLONG is in test_client_auth; auth ignores channel words */
    EXPECT_CLIENT("\x82" ACTION "\xa4"
                  "auth"
                  "\xa5"
                  "bogus"
                  "\x91\xa1"
                  "A",
                  0);
}

static void test_client_truncated(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    static const char *const syms[] = {"AAPL", "MSFT", "*"};
    msgpack_pack_map(&pk, 5);
    pk_str(&pk, "action");
    pk_str(&pk, "subscribe");
    pk_str(&pk, "trades");
    pk_list(&pk, 3, syms);
    pk_str(&pk, "quotes");
    pk_list(&pk, -1, NULL);
    pk_str(&pk, "x");
    msgpack_pack_ext(&pk, 4, -1);
    msgpack_pack_ext_body(&pk, "\0\0\0\1", 4);
    pk_str(&pk, "y");
    msgpack_pack_map(&pk, 1);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_double(&pk, 1.5);
    td_alpaca_client_msg_t m;
    td_alpaca_client_msg_init(&m);
    assert_int_equal(parse_sbuf(&sb, &m), 0);
    for (size_t k = 0; k < sb.size; k++) {
        char *copy = malloc(k ? k : 1);
        memcpy(copy, sb.data, k);
        assert_int_equal(td_alpaca_client_parse_msgpack(copy, k, &m), TD_EMALFORMED);
        assert_int_equal(m.action, TD_ALPACA_CLIENT_NONE);
        free(copy);
    }
    td_alpaca_client_msg_free(&m);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stock_trade_quote),
        cmocka_unit_test(test_stock_bars),
        cmocka_unit_test(test_stock_others),
        cmocka_unit_test(test_crypto),
        cmocka_unit_test(test_news),
        cmocka_unit_test(test_t_first),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_big_containers),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_array_header),
        cmocka_unit_test(test_client_auth),
        cmocka_unit_test(test_client_auth_nul),
        cmocka_unit_test(test_client_subscribe),
        cmocka_unit_test(test_client_errors),
        cmocka_unit_test(test_client_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
