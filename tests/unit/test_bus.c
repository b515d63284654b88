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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wildcard_and_names),
        cmocka_unit_test(test_wildcard_plus_name_delivers_once),
        cmocka_unit_test(test_detach_and_want_all),
        cmocka_unit_test(test_many_symbols_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
