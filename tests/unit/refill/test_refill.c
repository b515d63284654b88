/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/refill/logic.c: the window of an outage, the
 * delivered set, a live event's time, REST bar -> stream event, options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proto/alpaca.h"
#include "refill/hold.h"
#include "refill/logic.h"
#include "refill/refill.h"
#include "proto/ticks.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define S  1000000000LL
#define M  (60 * S)
#define T0 1733400000000000000LL /* 2024-12-05T12:00:00Z, a minute boundary */

static void window_covers_the_bars_sent_during_the_outage(void **state)
{
    (void)state;
    int64_t a, b;
    /* lost 12:00:30 .. 12:03:10: bars of 11:59 (sent ~12:00:00, maybe after
     * the last bytes) .. 12:02 (sent ~12:03:00); 12:03's comes live */
    assert_int_equal(td_refill_bar_window(T0 + 30 * S, T0 + 3 * M + 10 * S, M, &a, &b), 0);
    assert_true(a == T0 - M && b == T0 + 2 * M);
    /* exactly on boundaries */
    assert_int_equal(td_refill_bar_window(T0, T0 + M, M, &a, &b), 0);
    assert_true(a == T0 - M && b == T0);
    /* a short outage inside one minute: only the bar that ended at its start */
    assert_int_equal(td_refill_bar_window(T0 + 10 * S, T0 + 20 * S, M, &a, &b), 0);
    assert_true(a == T0 - M && b == T0 - M);
    /* before the epoch, compressed bars */
    assert_int_equal(td_refill_bar_window(-3 * S / 2, S / 2, S, &a, &b), 0);
    assert_true(a == -3 * S && b == -S);
    assert_int_equal(td_refill_bar_window(T0 + M, T0, M, &a, &b), -1); /* reversed */
    assert_int_equal(td_refill_bar_window(T0, T0 + M, 0, &a, &b), -1);
}

static void seen_set_adds_finds_and_forgets_the_oldest(void **state)
{
    (void)state;
    td_seen_t s;
    td_seen_init(&s, 10); /* rounded to 16 */
    assert_int_equal(s.cap, 16);
    for (uint64_t k = 1; k <= 16; k++)
        assert_int_equal(td_seen_add(&s, k * 0x10001), 1);
    assert_int_equal(td_seen_add(&s, 3 * 0x10001), 0);
    for (uint64_t k = 1; k <= 16; k++)
        assert_true(td_seen_has(&s, k * 0x10001));
    assert_int_equal(td_seen_add(&s, 99), 1); /* forgets the first */
    assert_false(td_seen_has(&s, 0x10001));
    assert_true(td_seen_has(&s, 2 * 0x10001) && td_seen_has(&s, 99));
    assert_int_equal(td_seen_add(&s, 0), 1); /* 0 is a key too */
    assert_true(td_seen_has(&s, 0));
    /* many keys through a small set: the last cap are all there, older gone */
    for (uint64_t k = 1000; k < 100000; k++)
        td_seen_add(&s, k * 7919);
    for (uint64_t k = 100000 - 16; k < 100000; k++)
        assert_true(td_seen_has(&s, k * 7919));
    for (uint64_t k = 1000; k < 100000 - 16; k += 37)
        assert_false(td_seen_has(&s, k * 7919));
    assert_int_equal(s.n, 16);
    td_seen_free(&s);
}

static void keys_differ_by_kind_symbol_and_time(void **state)
{
    (void)state;
    uint64_t k = td_refill_key(TD_KIND_BAR, "AAPL", 4, T0);
    assert_true(k == td_refill_key(TD_KIND_BAR, "AAPL", 4, T0));
    assert_true(k != td_refill_key(TD_KIND_BAR, "AAPL", 4, T0 + M));
    assert_true(k != td_refill_key(TD_KIND_BAR, "AAPLX", 4 + 1, T0));
    assert_true(k != td_refill_key(TD_KIND_TRADE, "AAPL", 4, T0));
    assert_true(td_refill_key(TD_KIND_BAR, "AB", 2, T0) != td_refill_key(TD_KIND_BAR, "BA", 2, T0));
}

static void live_event_time(void **state)
{
    (void)state;
    int64_t ns;
    const char *a = "{\"T\":\"b\",\"S\":\"t\",\"o\":1,\"t\":\"2024-12-05T12:00:00Z\",\"n\":3}";
    assert_int_equal(td_refill_event_time(a, strlen(a), &ns), 0);
    assert_true(ns == T0);
    const char *p = "{\"ev\":\"AM\",\"sym\":\"s\",\"s\":1733400000000,\"e\":1733400060000}";
    assert_int_equal(td_refill_event_time(p, strlen(p), &ns), 0);
    assert_true(ns == T0);
    const char *neg = "{\"ev\":\"AM\",\"s\":-60000}";
    assert_int_equal(td_refill_event_time(neg, strlen(neg), &ns), 0);
    assert_true(ns == -60 * S);
    const char *bad[] = {"{\"s\":-}",
                         "{\"s\":9223372036855}",
                         "{\"T\":\"b\"}",
                         "{\"t\":\"yesterday\"}",
                         "{\"s\":12x}",
                         "{\"t\":\"2024-12-05T12:00:00Z",
                         "{\"s\":1234567890123456789}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(td_refill_event_time(bad[i], strlen(bad[i]), &ns), -1);
    /* only the bytes given are read */
    assert_int_equal(td_refill_event_time(a, 20, &ns), -1);
}

typedef struct {
    int n;
    char sym[16];
} split_t;

static void on_split(void *ud, const td_event_t *ev)
{
    split_t *s = ud;
    s->n++;
    snprintf(s->sym, sizeof s->sym, "%.*s", (int)ev->symbol_len, ev->symbol);
    assert_int_equal(ev->kind, TD_KIND_BAR);
}

static void bar_json_is_the_stream_shape(void **state)
{
    (void)state;
    td_bar_t b = {"AAPL", T0, 139.8281, 140.96, 139.5653, 140.8685, 210, 140.4646, 6};
    td_buf_t o = TD_BUF_INIT;
    td_refill_bar_json(&b, 0, M, &o);
    assert_string_equal(o.data, "{\"T\":\"b\",\"S\":\"AAPL\",\"o\":139.8281,\"h\":140.96,\"l\":"
                                "139.5653,\"c\":140.8685,\"v\":210,\"t\":\"2024-12-05T12:00:00Z\","
                                "\"n\":6,\"vw\":140.4646,\"refilled\":true}");
    int64_t ns;
    assert_int_equal(td_refill_event_time(o.data, o.len, &ns), 0);
    assert_true(ns == T0);
    td_buf_reset(&o);
    b.vwap = NAN;
    b.trade_count = -1;
    td_refill_bar_json(&b, 1, M, &o);
    assert_string_equal(o.data, "{\"ev\":\"AM\",\"sym\":\"AAPL\",\"v\":210,\"o\":139.8281,\"c\":"
                                "140.8685,\"h\":140.96,\"l\":139.5653,\"s\":1733400000000,\"e\":"
                                "1733400060000,\"refilled\":true}");
    assert_int_equal(td_refill_event_time(o.data, o.len, &ns), 0);
    assert_true(ns == T0);
    /* a symbol that needs escaping still gives one valid frame element */
    snprintf(b.symbol, sizeof b.symbol, "A\"B");
    td_buf_reset(&o);
    td_buf_appendc(&o, '[');
    td_refill_bar_json(&b, 0, M, &o);
    td_buf_appendc(&o, ']');
    split_t sp = {0};
    td_alpaca_cb_t cb = {on_split, NULL};
    assert_int_equal(td_alpaca_split(o.data, o.len, &cb, &sp, NULL), TD_OK);
    assert_int_equal(sp.n, 1);
    assert_string_equal(sp.sym, "A\"B");
    td_buf_free(&o);
}

/* Crypto records (/v1beta3/crypto/us/trades|quotes): the stream's events
 * byte for byte, a trade's large "i" its id. */
static void crypto_bodies_to_stream_events(void **state)
{
    (void)state;
    const char *tb = "{\"trades\":{\"BTC/USD\":[{\"p\":97012.5,\"s\":0.012345,\"t\":"
                     "\"2024-12-05T12:00:00.5Z\",\"i\":4000000000000000017,\"tks\":\"B\"}]},"
                     "\"next_page_token\":null}";
    td_ticks_page_t pg = {0};
    assert_int_equal(td_ticks_parse_alpaca(tb, strlen(tb), TD_KIND_TRADE, &pg), 0);
    assert_int_equal(pg.n, 1);
    assert_string_equal(pg.v[0].symbol, "BTC/USD");
    assert_true(pg.v[0].has_id && pg.v[0].id == 4000000000000000017ULL);
    td_buf_t o = TD_BUF_INIT;
    td_refill_tick_json(TD_KIND_TRADE, "BTC/USD", pg.v[0].rec, pg.v[0].rec_len, &o);
    const char *live = "{\"T\":\"t\",\"S\":\"BTC/USD\",\"p\":97012.5,\"s\":0.012345,\"t\":"
                       "\"2024-12-05T12:00:00.5Z\",\"i\":4000000000000000017,\"tks\":\"B\"}";
    assert_int_equal(o.len, strlen(live) + strlen(",\"refilled\":true"));
    assert_memory_equal(o.data, live, strlen(live) - 1);
    uint64_t id, lid;
    int64_t ns, lns;
    assert_int_equal(td_refill_event_id(o.data, o.len, &id), 0);
    assert_int_equal(td_refill_event_id(live, strlen(live), &lid), 0);
    assert_int_equal(td_refill_event_time(live, strlen(live), &lns), 0);
    assert_int_equal(td_refill_event_time(o.data, o.len, &ns), 0);
    assert_true(id == lid && ns == lns && ns == pg.v[0].ts_ns);
    assert_true(td_refill_tick_key(TD_KIND_TRADE, "BTC/USD", 7, lns, lid) ==
                td_refill_tick_key(TD_KIND_TRADE, "BTC/USD", 7, pg.v[0].ts_ns, pg.v[0].id));
    const char *qb = "{\"quotes\":{\"ETH/USD\":[{\"bp\":3601.2,\"bs\":1.5,\"ap\":3601.4,"
                     "\"as\":0.25,\"t\":\"2024-12-05T12:00:01Z\"}]},\"next_page_token\":null}";
    assert_int_equal(td_ticks_parse_alpaca(qb, strlen(qb), TD_KIND_QUOTE, &pg), 0);
    assert_true(pg.n == 1 && !pg.v[0].has_id && pg.v[0].ts_ns == T0 + S);
    o.len = 0;
    td_refill_tick_json(TD_KIND_QUOTE, "ETH/USD", pg.v[0].rec, pg.v[0].rec_len, &o);
    assert_string_equal(o.data, "{\"T\":\"q\",\"S\":\"ETH/USD\",\"bp\":3601.2,\"bs\":1.5,"
                                "\"ap\":3601.4,\"as\":0.25,\"t\":\"2024-12-05T12:00:01Z\","
                                "\"refilled\":true}");
    td_ticks_page_free(&pg);
    td_buf_free(&o);
}

static void trades_body_to_stream_events(void **state)
{
    (void)state;
    const char *body = "{\"trades\":{\"AAPL\":[{\"i\":17,\"x\":\"V\",\"p\":140.1,\"s\":12,\"t\":"
                       "\"2024-12-05T12:00:00.5Z\"}, {\"t\":\"2024-12-05T12:00:01Z\",\"i\":18 }],"
                       "\"MSFT\":null},\"next_page_token\":\"abc\"}";
    td_ticks_page_t pg = {0};
    assert_int_equal(td_ticks_parse_alpaca(body, strlen(body), TD_KIND_TRADE, &pg), 0);
    assert_int_equal(pg.n, 2);
    assert_string_equal(pg.next, "abc");
    assert_string_equal(pg.v[0].symbol, "AAPL");
    assert_true(pg.v[0].ts_ns == T0 + S / 2 && pg.v[0].has_id && pg.v[0].id == 17);
    assert_true(pg.v[1].ts_ns == T0 + S && pg.v[1].id == 18);
    td_buf_t o = TD_BUF_INIT;
    td_refill_tick_json(TD_KIND_TRADE, "AAPL", pg.v[0].rec, pg.v[0].rec_len, &o);
    assert_string_equal(o.data, "{\"T\":\"t\",\"S\":\"AAPL\",\"i\":17,\"x\":\"V\",\"p\":140.1,"
                                "\"s\":12,\"t\":\"2024-12-05T12:00:00.5Z\",\"refilled\":true}");
    uint64_t id;
    int64_t ns;
    assert_int_equal(td_refill_event_id(o.data, o.len, &id), 0);
    assert_true(id == 17);
    assert_int_equal(td_refill_event_time(o.data, o.len, &ns), 0);
    assert_true(ns == T0 + S / 2);
    /* the same trade live and refilled: one key */
    assert_true(td_refill_tick_key(TD_KIND_TRADE, "AAPL", 4, ns, id) ==
                td_refill_tick_key(TD_KIND_TRADE, "AAPL", 4, T0 + S / 2, 17));
    assert_true(td_refill_tick_key(TD_KIND_TRADE, "AAPL", 4, ns, 17) !=
                td_refill_tick_key(TD_KIND_TRADE, "AAPL", 4, ns, 18));
    /* errors: a quotes body asked as trades, a record with "S", a 403 body */
    const char *bad[] = {"{\"quotes\":{}}",
                         "{\"trades\":{\"A\":[{\"t\":\"2024-12-05T12:00:00Z\",\"S\":1}]}}",
                         "{\"trades\":{\"A\":[{\"p\":1}]}}", "{\"trades\":[]}", "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(td_ticks_parse_alpaca(bad[i], strlen(bad[i]), TD_KIND_TRADE, &pg), -1);
        assert_int_equal(pg.n, 0);
    }
    assert_int_equal(td_ticks_parse_alpaca("{\"message\":\"forbidden\"}", 23, TD_KIND_QUOTE, &pg),
                     -1);
    assert_int_equal(pg.status, TD_BARS_INVALID);
    assert_int_equal(
        td_ticks_parse_alpaca("{\"quotes\":{},\"next_page_token\":null}", 36, TD_KIND_QUOTE, &pg),
        0);
    assert_int_equal(pg.status, TD_BARS_EMPTY);
    td_ticks_page_free(&pg);
    td_buf_free(&o);
}

static void options(void **state)
{
    (void)state;
    unsigned k;
    char err[128];
    assert_int_equal(td_refill_parse_kinds("bars", &k, err, sizeof err), 0);
    assert_int_equal(k, 1u << TD_KIND_BAR);
    assert_int_equal(td_refill_parse_kinds("none", &k, err, sizeof err), 0);
    assert_int_equal(k, 0);
    assert_int_equal(td_refill_parse_kinds("bars,trades,quotes", &k, err, sizeof err), 0);
    assert_int_equal(k, 1u << TD_KIND_BAR | 1u << TD_KIND_TRADE | 1u << TD_KIND_QUOTE);
    assert_int_equal(td_refill_parse_kinds("bars,news", &k, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown kind 'news'"));
    assert_int_equal(td_refill_parse_kinds("bras", &k, err, sizeof err), -1);
    char u[128];
    assert_int_equal(td_refill_rest_base("wss://stream.data.alpaca.markets/v2/sip", u, sizeof u),
                     0);
    assert_string_equal(u, "https://data.alpaca.markets");
    assert_int_equal(td_refill_rest_base("wss://socket.polygon.io/stocks", u, sizeof u), 0);
    assert_string_equal(u, "https://api.polygon.io");
    assert_int_equal(td_refill_rest_base("ws://127.0.0.1:8765/v2/iex", u, sizeof u), 0);
    assert_string_equal(u, "http://127.0.0.1:8765");
    assert_int_equal(td_refill_rest_base("wss://stream.data.alpaca.markets.evil:1/x", u, sizeof u),
                     0);
    assert_string_equal(u, "https://stream.data.alpaca.markets.evil:1");
    assert_int_equal(td_refill_rest_base("http://x/y", u, sizeof u), -1);
    assert_int_equal(td_refill_rest_base("ws:///x", u, sizeof u), -1);
}

static void polygon_v3_body_to_stream_events(void **state)
{
    (void)state;
    const char *body =
        "{\"results\":[{\"conditions\":[14,41],\"exchange\":4,\"id\":\"929\","
        "\"price\":428.67,\"sequence_number\":929,\"sip_timestamp\":1733400000500999999,"
        "\"size\":422,\"tape\":3,\"trf_id\":202,\"trf_timestamp\":1733400000499000000},"
        "{\"id\":\"A-1\",\"sip_timestamp\":1733400001000000000}],\"status\":\"OK\","
        "\"request_id\":\"x\",\"next_url\":\"http://h/v3/trades/AAPL?cursor=YQ==\"}";
    td_ticks_page_t pg = {0};
    assert_int_equal(td_ticks_parse_polygon(body, strlen(body), TD_KIND_TRADE, "AAPL", &pg), 0);
    assert_int_equal(pg.n, 2);
    assert_string_equal(pg.next, "http://h/v3/trades/AAPL?cursor=YQ==");
    assert_string_equal(pg.v[0].symbol, "AAPL");
    assert_true(pg.v[0].ts_ns == T0 + 500 * 1000000LL && pg.v[0].has_id && pg.v[0].id == 929);
    assert_true(pg.v[1].has_id && pg.v[1].id != 0); /* not digits: a hash */
    td_buf_t o = TD_BUF_INIT;
    assert_int_equal(
        td_refill_tick_json_polygon(TD_KIND_TRADE, "AAPL", pg.v[0].rec, pg.v[0].rec_len, &o), 0);
    assert_string_equal(o.data, "{\"ev\":\"T\",\"sym\":\"AAPL\",\"x\":4,\"i\":\"929\",\"z\":3,"
                                "\"p\":428.67,\"s\":422,\"c\":[14,41],\"t\":1733400000500,"
                                "\"q\":929,\"trfi\":202,\"trft\":1733400000499,\"refilled\":true}");
    /* the live event's time and id read back the same: one dedupe key */
    int64_t ns;
    uint64_t id;
    assert_int_equal(td_refill_event_time(o.data, o.len, &ns), 0);
    assert_int_equal(td_refill_event_id(o.data, o.len, &id), 0);
    assert_true(ns == pg.v[0].ts_ns && id == 929);
    const char *q = "{\"results\":[{\"ask_exchange\":3,\"ask_price\":1.5,\"ask_size\":2,"
                    "\"bid_exchange\":4,\"bid_price\":1.4,\"bid_size\":5,\"conditions\":[0],"
                    "\"indicators\":[604],\"sequence_number\":7,"
                    "\"sip_timestamp\":1733400000000000000,\"tape\":3}],\"status\":\"OK\"}";
    assert_int_equal(td_ticks_parse_polygon(q, strlen(q), TD_KIND_QUOTE, "MSFT", &pg), 0);
    assert_true(pg.n == 1 && !pg.v[0].has_id && pg.v[0].ts_ns == T0 && !pg.next[0]);
    o.len = 0;
    assert_int_equal(
        td_refill_tick_json_polygon(TD_KIND_QUOTE, "MSFT", pg.v[0].rec, pg.v[0].rec_len, &o), 0);
    assert_string_equal(o.data, "{\"ev\":\"Q\",\"sym\":\"MSFT\",\"bx\":4,\"bp\":1.4,\"bs\":5,"
                                "\"ax\":3,\"ap\":1.5,\"as\":2,\"c\":0,\"i\":[604],"
                                "\"t\":1733400000000,\"q\":7,\"z\":3,\"refilled\":true}");
    /* no results: empty; errors */
    const char *none = "{\"status\":\"OK\",\"request_id\":\"r\"}";
    assert_int_equal(td_ticks_parse_polygon(none, strlen(none), TD_KIND_TRADE, "A", &pg), 0);
    assert_int_equal(pg.status, TD_BARS_EMPTY);
    const char *forbidden = "{\"status\":\"NOT_AUTHORIZED\",\"message\":\"not entitled\"}";
    assert_int_equal(td_ticks_parse_polygon(forbidden, strlen(forbidden), TD_KIND_TRADE, "A", &pg),
                     -1);
    assert_int_equal(pg.status, TD_BARS_INVALID);
    assert_non_null(strstr(pg.message, "not entitled"));
    const char *bad[] = {"{\"results\":[{\"sip_timestamp\":\"1\"}]}",
                         "{\"results\":[{\"price\":1}]}",
                         "{\"results\":{}}",
                         "{\"results\":[1]}",
                         "[]",
                         "{\"results\":[],\"next_url\":3}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(td_ticks_parse_polygon(bad[i], strlen(bad[i]), TD_KIND_TRADE, "A", &pg),
                         -1);
        assert_int_equal(pg.n, 0);
    }
    o.len = 0;
    assert_int_equal(td_refill_tick_json_polygon(TD_KIND_TRADE, "A", "{\"price\":1}", 11, &o), -1);
    assert_int_equal(o.len, 0);
    td_ticks_page_free(&pg);
    td_buf_free(&o);
}

typedef struct out_s {
    char v[16][32];
    int n;
} out_t;

static void emit(void *ud, const td_event_t *ev, int refilled)
{
    out_t *o = ud;
    snprintf(o->v[o->n++], sizeof o->v[0], "%.*s:%.*s%s", (int)ev->symbol_len, ev->symbol,
             (int)ev->payload_len, ev->payload, refilled ? "r" : "");
}

static void add(td_hold_t *h, td_kind_t k, const char *sym, const char *pay, int r, int64_t ts)
{
    td_event_t ev = {k, sym, strlen(sym), pay, strlen(pay)};
    assert_int_equal(td_hold_add(h, &ev, r, ts), 0);
}

static void hold_merges_in_time_order_and_keeps_the_later_ones(void **state)
{
    (void)state;
    td_hold_t *h = td_hold_new(6, 1 << 20);
    add(h, TD_KIND_BAR, "A", "l5", 0, 5);
    add(h, TD_KIND_BAR, "A", "l3", 0, 3);
    add(h, TD_KIND_TRADE, "B", "t9", 0, 9);
    add(h, TD_KIND_BAR, "A", "r3", 1, 3); /* same time: the refilled one first */
    add(h, TD_KIND_BAR, "A", "r1", 1, 1);
    td_event_t ev = {TD_KIND_BAR, "A", 1, "x", 1};
    add(h, TD_KIND_BAR, "A", "l3b", 0, 3);
    assert_int_equal(td_hold_add(h, &ev, 0, 2), -1); /* full: 6 events */
    int64_t bound[TD_KIND__COUNT];
    for (int k = 0; k < TD_KIND__COUNT; k++)
        bound[k] = INT64_MAX;
    bound[TD_KIND_BAR] = 4;
    bound[TD_KIND_TRADE] = 9; /* not before 9: stays */
    out_t o = {0};
    td_hold_flush(h, bound, emit, &o);
    assert_int_equal(o.n, 4);
    assert_string_equal(o.v[0], "A:r1r");
    assert_string_equal(o.v[1], "A:r3r");
    assert_string_equal(o.v[2], "A:l3");
    assert_string_equal(o.v[3], "A:l3b");
    assert_int_equal(td_hold_count(h), 2);
    for (int k = 0; k < TD_KIND__COUNT; k++)
        bound[k] = INT64_MAX;
    o.n = 0;
    td_hold_flush(h, bound, emit, &o);
    assert_int_equal(o.n, 2);
    assert_string_equal(o.v[0], "A:l5");
    assert_string_equal(o.v[1], "B:t9");
    assert_int_equal(td_hold_count(h), 0);
    td_hold_free(h);
    h = td_hold_new(100, 8); /* bytes bound */
    assert_int_equal(td_hold_add(h, &ev, 0, 1), 0);
    td_event_t big = {TD_KIND_BAR, "A", 1, "0123456789", 10};
    assert_int_equal(td_hold_add(h, &big, 0, 1), -1);
    td_hold_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_covers_the_bars_sent_during_the_outage),
        cmocka_unit_test(seen_set_adds_finds_and_forgets_the_oldest),
        cmocka_unit_test(keys_differ_by_kind_symbol_and_time),
        cmocka_unit_test(live_event_time),
        cmocka_unit_test(bar_json_is_the_stream_shape),
        cmocka_unit_test(trades_body_to_stream_events),
        cmocka_unit_test(crypto_bodies_to_stream_events),
        cmocka_unit_test(options),
        cmocka_unit_test(hold_merges_in_time_order_and_keeps_the_later_ones),
        cmocka_unit_test(polygon_v3_body_to_stream_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
