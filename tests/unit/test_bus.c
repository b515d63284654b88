/* Unit tests for the bus: routing by kind and symbol, wildcards, counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bus/bus.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    int n;
    char last[32];
} sink;

static void on_ev(void *ud, const td_event_t *ev)
{
    sink *s = ud;
    s->n++;
    snprintf(s->last, sizeof s->last, "%s.%.*s", td_kind_name(ev->kind), (int)ev->symbol_len,
             ev->symbol);
}

static td_event_t ev(td_kind_t k, const char *sym)
{
    td_event_t e = {k, sym, strlen(sym), "{}", 2};
    return e;
}

static void test_wildcard_and_names(void **state)
{
    (void)state;
    td_bus_t *b = td_bus_new();
    sink all = {0}, aapl = {0}, none = {0};
    td_bus_consumer_t *ca = td_bus_attach(b, on_ev, &all);
    td_bus_consumer_t *cn = td_bus_attach(b, on_ev, &aapl);
    td_bus_attach(b, on_ev, &none);
    td_bus_want(b, ca, TD_KIND_QUOTE, "*", 1);
    td_bus_want(b, cn, TD_KIND_QUOTE, "AAPL", 4);
    td_bus_want(b, cn, TD_KIND_TRADE, "BRK.B", 5);

    td_event_t e1 = ev(TD_KIND_QUOTE, "AAPL"), e2 = ev(TD_KIND_QUOTE, "MSFT"),
               e3 = ev(TD_KIND_TRADE, "BRK.B"), e4 = ev(TD_KIND_TRADE, "AAPL");
    td_bus_publish(b, &e1);
    td_bus_publish(b, &e2);
    td_bus_publish(b, &e3);
    td_bus_publish(b, &e4);
    assert_int_equal(all.n, 2);
    assert_string_equal(all.last, "quotes.MSFT");
    assert_int_equal(aapl.n, 2);
    assert_string_equal(aapl.last, "trades.BRK.B");
    assert_int_equal(none.n, 0);
    assert_int_equal(td_bus_count(b, TD_KIND_QUOTE), 2);
    assert_int_equal(td_bus_count(b, TD_KIND_TRADE), 2);
    td_bus_free(b);
}

static void test_wildcard_plus_name_delivers_once(void **state)
{
    (void)state;
    td_bus_t *b = td_bus_new();
    sink s = {0};
    td_bus_consumer_t *c = td_bus_attach(b, on_ev, &s);
    td_bus_want(b, c, TD_KIND_BAR, "SPY", 3);
    td_bus_want(b, c, TD_KIND_BAR, "*", 1);
    td_bus_want(b, c, TD_KIND_BAR, "SPY", 3); /* idempotent */
    td_event_t e = ev(TD_KIND_BAR, "SPY");
    td_bus_publish(b, &e);
    assert_int_equal(s.n, 1);
    td_bus_unwant(b, c, TD_KIND_BAR, "*", 1);
    td_bus_publish(b, &e);
    assert_int_equal(s.n, 2);
    td_bus_unwant(b, c, TD_KIND_BAR, "SPY", 3);
    td_bus_publish(b, &e);
    assert_int_equal(s.n, 2);
    td_bus_free(b);
}

static void test_detach_and_want_all(void **state)
{
    (void)state;
    td_bus_t *b = td_bus_new();
    sink s = {0}, t = {0};
    td_bus_consumer_t *c = td_bus_attach(b, on_ev, &s);
    td_bus_consumer_t *d = td_bus_attach(b, on_ev, &t);
    td_bus_want_all(b, c);
    td_bus_want(b, d, TD_KIND_NEWS, "AAPL", 4);
    td_event_t e = ev(TD_KIND_NEWS, "AAPL");
    td_bus_publish(b, &e);
    td_bus_detach(b, d);
    td_bus_publish(b, &e);
    assert_int_equal(s.n, 2);
    assert_int_equal(t.n, 1);
    td_bus_free(b);
}

static void test_many_symbols_grow(void **state)
{
    (void)state;
    td_bus_t *b = td_bus_new();
    sink s = {0};
    td_bus_consumer_t *c = td_bus_attach(b, on_ev, &s);
    char sym[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        td_bus_want(b, c, TD_KIND_QUOTE, sym, strlen(sym));
    }
    for (int i = 0; i < 10000; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        td_event_t e = ev(TD_KIND_QUOTE, sym);
        td_bus_publish(b, &e);
    }
    assert_int_equal(s.n, 5000);
    td_bus_free(b);
}

typedef struct {
    char log[512];
} ilog;

static void on_interest(void *ud, td_kind_t k, const char *sym, size_t n, int wanted)
{
    ilog *l = ud;
    size_t len = strlen(l->log);
    snprintf(l->log + len, sizeof l->log - len, "%c%s.%.*s ", wanted ? '+' : '-', td_kind_name(k),
             (int)n, sym);
}

static void test_interest_transitions(void **state)
{
    (void)state;
    td_bus_t *b = td_bus_new();
    ilog l = {""};
    td_bus_on_interest(b, on_interest, &l);
    sink s1 = {0}, s2 = {0};
    td_bus_consumer_t *a = td_bus_attach(b, on_ev, &s1);
    td_bus_consumer_t *c = td_bus_attach(b, on_ev, &s2);
    td_bus_want(b, a, TD_KIND_QUOTE, "AAPL", 4);
    td_bus_want(b, c, TD_KIND_QUOTE, "AAPL", 4); /* second wanter: no diff */
    td_bus_want(b, a, TD_KIND_QUOTE, "AAPL", 4); /* idempotent */
    td_bus_want(b, c, TD_KIND_TRADE, "*", 1);
    assert_string_equal(l.log, "+quotes.AAPL +trades.* ");
    assert_int_equal(td_bus_wanters(b, TD_KIND_QUOTE, "AAPL", 4), 2);
    assert_int_equal(td_bus_wanters(b, TD_KIND_TRADE, "IBM", 3), 1); /* the wildcard */
    assert_int_equal(td_bus_wanters(b, TD_KIND_QUOTE, "IBM", 3), 0);
    l.log[0] = 0;
    td_bus_unwant(b, a, TD_KIND_QUOTE, "AAPL", 4);
    assert_string_equal(l.log, "");
    td_bus_detach(b, c); /* last wanter of both leaves */
    assert_string_equal(l.log, "-trades.* -quotes.AAPL ");
    td_bus_unwant(b, a, TD_KIND_QUOTE, "MSFT", 4); /* never wanted */
    td_bus_free(b);
}

static void collect(void *ud, td_kind_t k, const char *sym, size_t n)
{
    on_interest(ud, k, sym, n, 1);
}

static void test_interest_each_and_taps(void **state)
{
    (void)state;
    td_bus_t *b = td_bus_new();
    sink tap = {0}, named = {0};
    td_bus_tap(b, on_ev, &tap);
    td_bus_consumer_t *pin = td_bus_attach(b, NULL, NULL); /* interest only */
    td_bus_consumer_t *c = td_bus_attach(b, on_ev, &named);
    td_bus_want(b, pin, TD_KIND_BAR, "*", 1);
    td_bus_want(b, c, TD_KIND_NEWS, "TSLA", 4);
    ilog l = {""};
    td_bus_interest_each(b, collect, &l);
    assert_string_equal(l.log, "+bars.* +news.TSLA ");
    td_event_t e1 = ev(TD_KIND_QUOTE, "ZZZ"), e2 = ev(TD_KIND_NEWS, "TSLA"),
               e3 = ev(TD_KIND_BAR, "SPY");
    td_bus_publish(b, &e1);
    td_bus_publish(b, &e2);
    td_bus_publish(b, &e3);
    assert_int_equal(tap.n, 3); /* sees everything, wants nothing */
    assert_int_equal(named.n, 1);
    assert_int_equal(td_bus_seq(b), 3);
    td_bus_free(b);
}

static void count_last(void *ud, const td_event_t *e)
{
    (void)e;
    (*(int *)ud)++;
}

static void test_last_values(void **state)
{
    (void)state;
    td_bus_t *b = td_bus_new();
    td_bus_cache_kinds(b, 1u << TD_KIND_QUOTE);
    td_event_t q1 = {TD_KIND_QUOTE, "AAPL", 4, "{\"bp\":1}", 8};
    td_event_t q2 = {TD_KIND_QUOTE, "AAPL", 4, "{\"bp\":2.5}", 10};
    td_event_t q3 = {TD_KIND_QUOTE, "MSFT", 4, "{}", 2};
    td_event_t t1 = {TD_KIND_TRADE, "AAPL", 4, "{}", 2};
    td_bus_publish(b, &q1);
    td_bus_publish(b, &q2);
    td_bus_publish(b, &q3);
    td_bus_publish(b, &t1);
    td_event_t out;
    assert_int_equal(td_bus_last(b, TD_KIND_QUOTE, "AAPL", 4, &out), 1);
    assert_int_equal(out.payload_len, 10);
    assert_memory_equal(out.payload, "{\"bp\":2.5}", 10);
    assert_int_equal(out.kind, TD_KIND_QUOTE);
    assert_memory_equal(out.symbol, "AAPL", 4);
    assert_int_equal(td_bus_last(b, TD_KIND_TRADE, "AAPL", 4, &out), 0); /* not cached */
    assert_int_equal(td_bus_last(b, TD_KIND_QUOTE, "TSLA", 4, &out), 0);
    int n = 0;
    td_bus_last_each(b, TD_KIND_QUOTE, count_last, &n);
    assert_int_equal(n, 2);
    td_bus_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wildcard_and_names),
        cmocka_unit_test(test_wildcard_plus_name_delivers_once),
        cmocka_unit_test(test_detach_and_want_all),
        cmocka_unit_test(test_many_symbols_grow),
        cmocka_unit_test(test_interest_transitions),
        cmocka_unit_test(test_interest_each_and_taps),
        cmocka_unit_test(test_last_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
