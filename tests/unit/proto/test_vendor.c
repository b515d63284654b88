/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the stream table (proto/vendor) against the code that speaks
 * each stream: paths unique, the kinds as the splitters and the server
 * confirmations have them, the symbol rule against the simulator's symbols,
 * and libtickerd's services (client/services.c, compiled in: its functions
 * are not exported). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/alpaca.h"
#include "proto/alpaca_server.h"
#include "proto/polygon.h"
#include "proto/polygon_server.h"
#include "proto/vendor.h"
#include "sim/sim_int.h"

#include "client/services.c"

#include <ctype.h>
#include <string.h>

#define K(k) (1u << TD_KIND_##k)

static void test_paths(void **state)
{
    (void)state;
    int seen_polygon = 0;
    for (size_t i = 0; i < TD_VENDOR_NSTREAMS; i++) {
        const td_vstream_t *s = &td_vendor_streams[i];
        assert_true(s->path[0] == '/');
        assert_ptr_equal(td_vendor_find(s->path), s);
        assert_non_null(td_vendor_name(s->vendor));
        assert_non_null(td_class_name(s->cls));
        if (s->vendor == TD_VENDOR_POLYGON) seen_polygon = 1;
        assert_true(s->vendor == TD_VENDOR_POLYGON || !seen_polygon); /* Alpaca's first */
        for (size_t j = 0; j < i; j++) {
            const td_vstream_t *o = &td_vendor_streams[j];
            assert_string_not_equal(o->path, s->path);
            if (o->vendor == s->vendor) assert_string_not_equal(o->feed, s->feed);
        }
    }
    assert_null(td_vendor_find("/v2"));
    assert_null(td_vendor_find(NULL));
    assert_null(td_vendor_name(TD_VENDOR__COUNT));
    assert_null(td_class_name(TD_CLASS__COUNT));
    char b[160];
    assert_string_equal(td_vendor_paths(TD_VENDOR_ALPACA, b, sizeof b),
                        "/v2/iex /v2/sip /v2/delayed_sip /v2/test /v1beta3/crypto/us "
                        "/v1beta1/news");
    assert_string_equal(td_vendor_paths(TD_VENDOR_POLYGON, b, sizeof b),
                        "/stocks /options /forex /crypto");
    assert_string_equal(td_vendor_paths(TD_VENDOR_POLYGON, b, 10), "/stocks /");
    assert_string_equal(td_vendor_paths(TD_VENDOR_POLYGON, b, 1), "");
    /* The default of a class is the first; the test stream is Alpaca's only. */
    assert_string_equal(td_vendor_first(TD_VENDOR_ALPACA, TD_CLASS_STOCKS)->path, "/v2/iex");
    assert_null(td_vendor_first(TD_VENDOR_ALPACA, TD_CLASS_FOREX));
    assert_null(td_vendor_first(TD_VENDOR_POLYGON, TD_CLASS_NEWS));
    for (size_t i = 0; i < TD_VENDOR_NSTREAMS; i++)
        assert_int_equal(td_vendor_streams[i].test,
                         strcmp(td_vendor_streams[i].path, "/v2/test") == 0);
}

static void add_kind(void *ud, td_kind_t k, const char *sym, size_t n)
{
    (void)sym;
    (void)n;
    *(unsigned *)ud |= 1u << k;
}

/* The kinds the Alpaca confirmation of stream s lists. */
static unsigned confirmed_kinds(const td_vstream_t *s)
{
    td_subset_t set;
    td_subset_init(&set);
    for (int k = 0; k < TD_KIND__COUNT; k++)
        td_subset_add(&set, (td_kind_t)k, "AAPL", 4);
    td_buf_t b = TD_BUF_INIT;
    td_alpaca_server_subscription(&b, &set, s->cls);
    unsigned got = 0;
    assert_int_equal(td_alpaca_subscription_each(b.data + 1, b.len - 2, add_kind, &got), 0);
    td_buf_free(&b);
    td_subset_free(&set);
    return got;
}

static void test_kinds(void **state)
{
    (void)state;
    for (size_t i = 0; i < TD_VENDOR_NSTREAMS; i++) {
        const td_vstream_t *s = &td_vendor_streams[i];
        assert_true(s->kinds != 0);
        assert_int_equal(s->kinds & ~s->offered, 0);
        assert_true(s->codecs & TD_VCODEC_JSON);
        if (s->vendor == TD_VENDOR_POLYGON) {
            int c = td_vendor_cluster(s);
            assert_int_equal(td_polygon_cluster_parse(s->path), c);
            assert_int_equal(s->kinds, td_polygon_kinds((td_polygon_cluster_t)c));
            assert_int_equal(s->offered, s->kinds);
            assert_int_equal(s->codecs, TD_VCODEC_JSON);
            for (int k = 0; k < TD_KIND__COUNT; k++)
                assert_int_equal(td_polygon_prefix((td_polygon_cluster_t)c, (td_kind_t)k) != NULL,
                                 (s->kinds >> k) & 1);
            continue;
        }
        assert_int_equal(td_vendor_cluster(s), -1);
        assert_int_equal(s->codecs, TD_VCODEC_JSON | TD_VCODEC_MSGPACK);
        assert_int_equal(s->offered, td_alpaca_server_offered(s->cls));
        assert_int_equal(s->offered, confirmed_kinds(s));
        unsigned follow = s->cls == TD_CLASS_STOCKS ? K(CORRECTION) | K(CANCEL_ERROR) : 0;
        assert_int_equal(s->kinds, s->offered & ~follow);
        unsigned split = s->cls == TD_CLASS_STOCKS   ? TD_ALPACA_STOCK_KINDS
                         : s->cls == TD_CLASS_CRYPTO ? TD_ALPACA_CRYPTO_KINDS
                                                     : TD_ALPACA_NEWS_KINDS;
        assert_int_equal(s->kinds, split);
    }
}

static td_class_t cls_of(td_vendor_t v, const char *sym)
{
    return td_vendor_sym_class(v, sym, strlen(sym));
}

static int carries(const char *path, td_kind_t k, const char *sym)
{
    return td_vendor_carries(td_vendor_find(path), k, sym, strlen(sym));
}

static void test_symbol_rule(void **state)
{
    (void)state;
    assert_int_equal(cls_of(TD_VENDOR_ALPACA, "AAPL"), TD_CLASS_STOCKS);
    assert_int_equal(cls_of(TD_VENDOR_ALPACA, "BRK.B"), TD_CLASS_STOCKS);
    assert_int_equal(cls_of(TD_VENDOR_ALPACA, "BTC/USD"), TD_CLASS_CRYPTO);
    assert_int_equal(cls_of(TD_VENDOR_ALPACA, "BTC-USD"), TD_CLASS_STOCKS);
    assert_int_equal(cls_of(TD_VENDOR_POLYGON, "AAPL"), TD_CLASS_STOCKS);
    assert_int_equal(cls_of(TD_VENDOR_POLYGON, "O:SPY241220C00500000"), TD_CLASS_OPTIONS);
    assert_int_equal(cls_of(TD_VENDOR_POLYGON, "O:"), TD_CLASS_STOCKS);
    assert_int_equal(cls_of(TD_VENDOR_POLYGON, "EUR/USD"), TD_CLASS_FOREX);
    assert_int_equal(cls_of(TD_VENDOR_POLYGON, "BTC-USD"), TD_CLASS_CRYPTO);
    const char *tickers[] = {"AAPL", "O:SPY241220C00500000", "EUR/USD", "BTC-USD", "O:"};
    for (size_t i = 0; i < TD_ARRAY_LEN(tickers); i++)
        assert_int_equal((int)td_polygon_ticker_cluster(tickers[i], strlen(tickers[i])),
                         (int)cls_of(TD_VENDOR_POLYGON, tickers[i]));

    assert_true(carries("/v2/iex", TD_KIND_TRADE, "AAPL"));
    assert_true(carries("/v2/sip", TD_KIND_QUOTE, "*"));
    assert_false(carries("/v2/iex", TD_KIND_TRADE, "BTC/USD"));
    assert_false(carries("/v2/iex", TD_KIND_CORRECTION, "AAPL")); /* follows trades */
    assert_false(carries("/v2/iex", TD_KIND_NEWS, "AAPL"));
    assert_true(carries("/v1beta3/crypto/us", TD_KIND_ORDERBOOK, "BTC/USD"));
    assert_false(carries("/v1beta3/crypto/us", TD_KIND_TRADE, "AAPL"));
    assert_true(carries("/v1beta1/news", TD_KIND_NEWS, "AAPL"));
    assert_true(carries("/v1beta1/news", TD_KIND_NEWS, "BTC/USD"));
    assert_false(carries("/v1beta1/news", TD_KIND_TRADE, "AAPL"));
    assert_true(carries("/stocks", TD_KIND_SECOND_BAR, "AAPL"));
    assert_false(carries("/stocks", TD_KIND_TRADE, "BTC-USD"));
    assert_true(carries("/options", TD_KIND_TRADE, "O:SPY241220C00500000"));
    assert_false(carries("/options", TD_KIND_TRADE, "SPY"));
    assert_true(carries("/forex", TD_KIND_QUOTE, "EUR/USD"));
    assert_false(carries("/forex", TD_KIND_TRADE, "EUR/USD"));
    assert_true(carries("/crypto", TD_KIND_ORDERBOOK, "BTC-USD"));
    assert_true(carries("/crypto", TD_KIND_BAR, "*"));
    assert_false(carries("/crypto", TD_KIND_BAR, "BTC/USD"));
}

/* Every symbol the simulator generates for a stream belongs on it. */
static void test_sim_symbols(void **state)
{
    (void)state;
    for (size_t i = 0; i < TD_VENDOR_NSTREAMS; i++) {
        const td_vstream_t *s = &td_vendor_streams[i];
        td_sim_gen_t *g = td__sim_gen_new(s, 7, 1000);
        for (size_t j = 0; j < td__sim_gen_nsyms(g); j++) {
            size_t n;
            const char *sym = td__sim_gen_symbol(g, j, &n);
            if (!td_vendor_sym_ok(s, sym, n)) fail_msg("%s: %.*s", s->path, (int)n, sym);
        }
        size_t len;
        assert_int_equal(td__sim_gen_symbol(g, 0, &len)[0] == 'F' &&
                             strncmp(td__sim_gen_symbol(g, 0, &len), "FAKEPACA", len) == 0,
                         s->test);
        td__sim_gen_free(g);
    }
}

static void test_upstream(void **state)
{
    (void)state;
    assert_string_equal(td_vendor_upstream(TD_VENDOR_ALPACA, "/v2/sip")->path, "/v2/sip");
    assert_string_equal(td_vendor_upstream(TD_VENDOR_ALPACA, "/v2/boats")->path, "/v2/iex");
    assert_int_equal(td_vendor_upstream(TD_VENDOR_ALPACA, "/p/v1beta3/crypto/eu")->cls,
                     TD_CLASS_CRYPTO);
    assert_int_equal(td_vendor_upstream(TD_VENDOR_ALPACA, "/x/v1beta1/news")->cls, TD_CLASS_NEWS);
    assert_string_equal(td_vendor_upstream(TD_VENDOR_POLYGON, "/forex")->path, "/forex");
    assert_string_equal(td_vendor_upstream(TD_VENDOR_POLYGON, "options")->path, "/options");
    assert_null(td_vendor_upstream(TD_VENDOR_POLYGON, "/v2/iex"));
    assert_null(td_vendor_upstream(TD_VENDOR_POLYGON, "/news"));
    assert_null(td_vendor_upstream(TD_VENDOR_POLYGON, NULL));
}

/* "secondBars" → "second_bars" */
static void snake(const char *word, char *out)
{
    for (; *word; word++) {
        if (isupper((unsigned char)*word)) *out++ = '_';
        *out++ = (char)tolower((unsigned char)*word);
    }
    *out = '\0';
}

static void test_services(void **state)
{
    (void)state;
    static const char *const prefix[TD_CLASS__COUNT] = {"stock_", "option_", "forex_", "crypto_",
                                                        ""};
    /* Who offers what, as the public header's service map says. */
    static const char *const alpaca[] = {"stock_trades",
                                         "stock_quotes",
                                         "stock_bars",
                                         "stock_daily_bars",
                                         "stock_updated_bars",
                                         "stock_statuses",
                                         "stock_lulds",
                                         "stock_imbalances",
                                         "stock_corrections",
                                         "stock_cancel_errors",
                                         "crypto_trades",
                                         "crypto_quotes",
                                         "crypto_bars",
                                         "crypto_daily_bars",
                                         "crypto_updated_bars",
                                         "crypto_orderbooks",
                                         "news"};
    static const char *const polygon[] = {
        "stock_trades",       "stock_quotes",       "stock_bars",    "stock_second_bars",
        "stock_lulds",        "stock_imbalances",   "option_trades", "option_quotes",
        "option_bars",        "option_second_bars", "forex_quotes",  "forex_bars",
        "forex_second_bars",  "crypto_trades",      "crypto_quotes", "crypto_bars",
        "crypto_second_bars", "crypto_orderbooks"};
    size_t na = 0, np = 0;
    for (int s = 0; s < TICKERD_SERVICE__COUNT; s++) {
        char want[64];
        td_class_t c = tdc_service_asset((tickerd_service_t)s);
        td_kind_t k = tdc_service_kind((tickerd_service_t)s);
        snprintf(want, sizeof want, "%s", prefix[c]);
        snake(td_kind_name(k), want + strlen(want));
        assert_string_equal(tickerd_service_name((tickerd_service_t)s), want);
        assert_int_equal(tickerd_service_parse(want), s);
        for (int v = 0; v < 2; v++) {
            const char *const *list = v ? polygon : alpaca;
            size_t n = v ? TD_ARRAY_LEN(polygon) : TD_ARRAY_LEN(alpaca), *got = v ? &np : &na;
            int listed = 0;
            for (size_t i = 0; i < n; i++)
                listed |= strcmp(list[i], want) == 0;
            int offered = tickerd_service_offered((tickerd_vendor_t)v, (tickerd_service_t)s);
            assert_int_equal(offered, listed);
            *got += (size_t)offered;
            const char *path = tickerd_service_path((tickerd_vendor_t)v, (tickerd_service_t)s);
            if (!offered) {
                assert_null(path);
                assert_int_equal(tdc_service_of((tickerd_vendor_t)v, c, k), -1);
                continue;
            }
            assert_ptr_equal(td_vendor_first((td_vendor_t)v, c)->path, path);
            assert_int_equal(tdc_service_of((tickerd_vendor_t)v, c, k), s);
        }
    }
    assert_int_equal(na, TD_ARRAY_LEN(alpaca));
    assert_int_equal(np, TD_ARRAY_LEN(polygon));
    assert_null(tickerd_service_name(TICKERD_SERVICE__COUNT));
    assert_int_equal(tickerd_service_parse("stock_news"), -1);
    assert_string_equal(tickerd_service_path(TICKERD_ALPACA, TICKERD_NEWS), "/v1beta1/news");
    assert_string_equal(tickerd_service_path(TICKERD_POLYGON, TICKERD_FOREX_BARS), "/forex");
    char p[64];
    assert_int_equal(tdc_stream_path(TICKERD_ALPACA, TD_CLASS_STOCKS, "sip", p, sizeof p), 0);
    assert_string_equal(p, "/v2/sip");
    assert_int_equal(tdc_stream_path(TICKERD_ALPACA, TD_CLASS_STOCKS, NULL, p, sizeof p), 0);
    assert_string_equal(p, "/v2/iex");
    assert_int_equal(tdc_stream_path(TICKERD_ALPACA, TD_CLASS_CRYPTO, "sip", p, sizeof p), 0);
    assert_string_equal(p, "/v1beta3/crypto/us");
    assert_int_equal(tdc_stream_path(TICKERD_ALPACA, TD_CLASS_OPTIONS, NULL, p, sizeof p), -1);
    assert_int_equal(tdc_stream_path(TICKERD_POLYGON, TD_CLASS_NEWS, NULL, p, sizeof p), -1);
    assert_int_equal(tdc_upstream_kind(TD_KIND_CANCEL_ERROR), TD_KIND_TRADE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),       cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_symbol_rule), cmocka_unit_test(test_sim_symbols),
        cmocka_unit_test(test_upstream),    cmocka_unit_test(test_services),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
