/* SPDX-License-Identifier: Apache-2.0 */
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
    td_bus_want_all(b, td_bus_attach(b, NULL, NULL)); /* last values are kept for wanters */
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

/* ---- memory follows what is wanted ------------------------------------------- */

typedef struct {
    int plus, minus;
} icount;

static void count_interest(void *ud, td_kind_t k, const char *sym, size_t n, int wanted)
{
    (void)k, (void)sym, (void)n;
    icount *ic = ud;
    if (wanted)
        ic->plus++;
    else
        ic->minus++;
}

static td_bus_stats_t stats(const td_bus_t *b)
{
    td_bus_stats_t st;
    td_bus_stats(b, &st);
    return st;
}

/* The storm: rounds of subscribing then unsubscribing new symbols. */
static void test_storm_returns_to_baseline(void **state)
{
    (void)state;
    td_bus_t *b = td_bus_new();
    td_bus_cache_kinds(b, (1u << TD_KIND_QUOTE) | (1u << TD_KIND_BAR));
    icount ic = {0, 0};
    td_bus_on_interest(b, count_interest, &ic);
    td_bus_stats_t base = stats(b);
    assert_int_equal(base.symbols, 0);
    sink s = {0}, k = {0};
    td_bus_consumer_t *c = td_bus_attach(b, on_ev, &s);
    td_bus_consumer_t *keep = td_bus_attach(b, on_ev, &k); /* survives every round */
    td_bus_want(b, keep, TD_KIND_QUOTE, "KEEP", 4);
    char sym[32];
    for (int r = 0; r < 30; r++) {
        for (int i = 0; i < 5000; i++) {
            snprintf(sym, sizeof sym, "R%dS%d", r, i);
            td_bus_want(b, c, TD_KIND_QUOTE, sym, strlen(sym));
            td_bus_want(b, c, TD_KIND_BAR, sym, strlen(sym));
        }
        assert_int_equal(stats(b).symbols, 10001);
        td_event_t e = ev(TD_KIND_QUOTE, "R0S1"); /* a value, dropped with its entry */
        td_bus_publish(b, &e);
        for (int i = 0; i < 5000; i++) {
            snprintf(sym, sizeof sym, "R%dS%d", r, i);
            td_bus_unwant(b, c, TD_KIND_QUOTE, sym, strlen(sym));
            td_bus_unwant(b, c, TD_KIND_BAR, sym, strlen(sym));
        }
        td_bus_stats_t st = stats(b);
        assert_int_equal(st.symbols, 1);
        assert_int_equal(st.slots, base.slots);
        assert_int_equal(td_bus_wanters(b, TD_KIND_QUOTE, "KEEP", 4), 1);
    }
    assert_int_equal(ic.plus, 30 * 10000 + 1); /* each first want and last unwant once */
    assert_int_equal(ic.minus, 30 * 10000);
    td_event_t e = ev(TD_KIND_QUOTE, "KEEP");
    td_bus_publish(b, &e);
    assert_int_equal(k.n, 1);
    td_event_t last;
    assert_int_equal(td_bus_last(b, TD_KIND_QUOTE, "R0S1", 4, &last), 0);
    td_bus_detach(b, keep);
    assert_int_equal(stats(b).symbols, 0);
    td_bus_free(b);
}

/* xorshift, for a reproducible mix of wants and unwants */
static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Random wants and unwants by three consumers against a model: every key
 * is found exactly when wanted (deletion keeps every probe run intact),
 * interest changes are reported once per transition, events reach exactly
 * the consumers that want them. */
static void test_delete_reinsert_probing(void **state)
{
    (void)state;
    enum { NKEYS = 3000, NCONS = 3 };
    static unsigned char model[NCONS][NKEYS];
    memset(model, 0, sizeof model);
    td_bus_t *b = td_bus_new();
    icount ic = {0, 0};
    td_bus_on_interest(b, count_interest, &ic);
    sink s[NCONS];
    td_bus_consumer_t *c[NCONS];
    for (int i = 0; i < NCONS; i++) {
        s[i] = (sink){0, ""};
        c[i] = td_bus_attach(b, on_ev, &s[i]);
    }
    uint32_t x = 2463534242u;
    int plus = 0, minus = 0;
    char sym[16];
    for (int step = 0; step < 200000; step++) {
        int who = (int)(rnd(&x) % NCONS), key = (int)(rnd(&x) % NKEYS), add = rnd(&x) % 2;
        snprintf(sym, sizeof sym, "K%d", key);
        int before = model[0][key] + model[1][key] + model[2][key];
        (add ? td_bus_want : td_bus_unwant)(b, c[who], TD_KIND_TRADE, sym, strlen(sym));
        model[who][key] = (unsigned char)add;
        int after = model[0][key] + model[1][key] + model[2][key];
        plus += before == 0 && after > 0;
        minus += before > 0 && after == 0;
    }
    assert_int_equal(ic.plus, plus);
    assert_int_equal(ic.minus, minus);
    size_t wanted = 0;
    for (int key = 0; key < NKEYS; key++) {
        snprintf(sym, sizeof sym, "K%d", key);
        int n = model[0][key] + model[1][key] + model[2][key];
        wanted += n > 0;
        assert_int_equal(td_bus_wanters(b, TD_KIND_TRADE, sym, strlen(sym)), n);
        int got[NCONS];
        for (int i = 0; i < NCONS; i++)
            got[i] = s[i].n;
        td_event_t e = ev(TD_KIND_TRADE, sym);
        td_bus_publish(b, &e);
        for (int i = 0; i < NCONS; i++)
            assert_int_equal(s[i].n - got[i], model[i][key]);
    }
    assert_int_equal(stats(b).symbols, wanted);
    td_bus_detach(b, c[1]); /* its pairs go; the others' stay where they are */
    wanted = 0;
    for (int key = 0; key < NKEYS; key++) {
        snprintf(sym, sizeof sym, "K%d", key);
        int n = model[0][key] + model[2][key];
        wanted += n > 0;
        assert_int_equal(td_bus_wanters(b, TD_KIND_TRADE, sym, strlen(sym)), n);
        int got0 = s[0].n, got2 = s[2].n;
        td_event_t e = ev(TD_KIND_TRADE, sym);
        td_bus_publish(b, &e);
        assert_int_equal(s[0].n - got0, model[0][key]);
        assert_int_equal(s[2].n - got2, model[2][key]);
    }
    assert_int_equal(stats(b).symbols, wanted);
    for (int i = 0; i < NCONS; i += 2)
        td_bus_detach(b, c[i]);
    assert_int_equal(ic.minus, ic.plus);
    assert_int_equal(stats(b).symbols, 0);
    assert_int_equal(stats(b).slots, 256);
    td_bus_free(b);
}

/* A named symbol nobody wants any more loses its last value; with a
 * wildcard of its kind still wanted, it stays as a loose last value. */
static void test_last_value_follows_wanters(void **state)
{
    (void)state;
    td_bus_t *b = td_bus_new();
    td_bus_cache_kinds(b, 1u << TD_KIND_QUOTE);
    td_bus_tap(b, NULL, NULL); /* sees everything, wants nothing */
    td_bus_consumer_t *c = td_bus_attach(b, NULL, NULL);
    char sym[16];
    for (int i = 0; i < 1000; i++) { /* nobody wants these: nothing kept */
        snprintf(sym, sizeof sym, "U%d", i);
        td_event_t e = ev(TD_KIND_QUOTE, sym);
        td_bus_publish(b, &e);
    }
    assert_int_equal(stats(b).symbols, 0);
    td_bus_want(b, c, TD_KIND_QUOTE, "AAPL", 4);
    td_event_t e = ev(TD_KIND_QUOTE, "AAPL"), out;
    td_bus_publish(b, &e);
    assert_int_equal(td_bus_last(b, TD_KIND_QUOTE, "AAPL", 4, &out), 1);
    td_bus_unwant(b, c, TD_KIND_QUOTE, "AAPL", 4);
    assert_int_equal(td_bus_last(b, TD_KIND_QUOTE, "AAPL", 4, &out), 0);
    assert_int_equal(stats(b).symbols, 0);
    /* again, with a wildcard wanter of quotes: the value stays, loose */
    td_bus_consumer_t *w = td_bus_attach(b, NULL, NULL);
    td_bus_want(b, w, TD_KIND_QUOTE, "*", 1);
    td_bus_want(b, c, TD_KIND_QUOTE, "AAPL", 4);
    td_bus_publish(b, &e);
    td_bus_unwant(b, c, TD_KIND_QUOTE, "AAPL", 4);
    assert_int_equal(td_bus_last(b, TD_KIND_QUOTE, "AAPL", 4, &out), 1);
    assert_int_equal(stats(b).cached_only, 1);
    td_bus_want(b, c, TD_KIND_QUOTE, "AAPL", 4); /* named again: not loose */
    assert_int_equal(stats(b).cached_only, 0);
    td_bus_detach(b, c);
    assert_int_equal(stats(b).cached_only, 1);
    td_bus_unwant(b, w, TD_KIND_QUOTE, "*", 1); /* the wildcard's values go with it */
    assert_int_equal(td_bus_last(b, TD_KIND_QUOTE, "AAPL", 4, &out), 0);
    assert_int_equal(stats(b).symbols, 0);
    td_bus_free(b);
}

/* A wildcard on a feed with many symbols: last values bounded per kind,
 * least recently updated dropped first, all gone with the wildcard. */
static void test_wildcard_last_values_bounded(void **state)
{
    (void)state;
    td_bus_t *b = td_bus_new();
    td_bus_cache_kinds(b, (1u << TD_KIND_QUOTE) | (1u << TD_KIND_TRADE));
    td_bus_cache_max(b, 100);
    sink s = {0};
    td_bus_consumer_t *w = td_bus_attach(b, on_ev, &s);
    td_bus_want(b, w, TD_KIND_QUOTE, "*", 1);
    td_bus_want(b, w, TD_KIND_TRADE, "*", 1);
    char sym[16];
    td_event_t out;
    for (int i = 0; i < 20000; i++) {
        snprintf(sym, sizeof sym, "W%d", i);
        td_event_t q = ev(TD_KIND_QUOTE, sym), t = ev(TD_KIND_TRADE, sym);
        td_bus_publish(b, &q);
        if (i < 50) td_bus_publish(b, &t);
        td_event_t hot = ev(TD_KIND_QUOTE, "W0"); /* updated all along: never dropped */
        td_bus_publish(b, &hot);
    }
    assert_int_equal(s.n, 20000 * 2 + 50);
    td_bus_stats_t st = stats(b);
    assert_int_equal(st.cached_only, 100 + 50);
    assert_int_equal(st.symbols, 150);
    assert_int_equal(st.evicted, 20000 - 100);
    assert_int_equal(td_bus_last(b, TD_KIND_QUOTE, "W0", 2, &out), 1);
    assert_int_equal(td_bus_last(b, TD_KIND_QUOTE, "W19999", 6, &out), 1);
    assert_int_equal(td_bus_last(b, TD_KIND_QUOTE, "W1", 2, &out), 0);
    int n = 0;
    td_bus_last_each(b, TD_KIND_QUOTE, count_last, &n);
    assert_int_equal(n, 100);
    td_bus_unwant(b, w, TD_KIND_QUOTE, "*", 1);
    assert_int_equal(stats(b).cached_only, 50); /* the trades' wildcard is still wanted */
    td_bus_detach(b, w);
    st = stats(b);
    assert_int_equal(st.symbols, 0);
    assert_int_equal(st.slots, 256);
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
        cmocka_unit_test(test_storm_returns_to_baseline),
        cmocka_unit_test(test_delete_reinsert_probing),
        cmocka_unit_test(test_last_value_follows_wanters),
        cmocka_unit_test(test_wildcard_last_values_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
