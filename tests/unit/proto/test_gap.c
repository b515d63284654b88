/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/proto/gap.c: the gap notice's JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proto/gap.h"

#include <string.h>

#define T0 1733400000123456789LL /* 2024-12-05T12:00:00.123456789Z */

static char *render(td_buf_t *b, const td_gap_t *g)
{
    td_buf_reset(b);
    td_gap_json(b, g);
    return b->data;
}

static void named_symbols_are_listed_once_in_kind_order(void **state)
{
    (void)state;
    td_subset_t w;
    td_subset_init(&w);
    td_subset_add(&w, TD_KIND_QUOTE, "MSFT", 4);
    td_subset_add(&w, TD_KIND_TRADE, "MSFT", 4);
    td_subset_add(&w, TD_KIND_TRADE, "AAPL", 4);
    td_subset_add(&w, TD_KIND_BAR, "A\"B", 3);
    td_buf_t b = {0};
    td_gap_t g = {"ws://h:1/v2/iex", T0, T0 + 2500000000LL, &w, "pending", -1, "closed", 0};
    assert_string_equal(render(&b, &g),
                        "{\"type\":\"gap\",\"feed\":\"ws://h:1/v2/iex\","
                        "\"from\":\"2024-12-05T12:00:00.123456789Z\","
                        "\"to\":\"2024-12-05T12:00:02.623456789Z\","
                        "\"kinds\":[\"trades\",\"quotes\",\"bars\"],"
                        "\"symbols\":[\"AAPL\",\"MSFT\",\"A\\\"B\"],"
                        "\"refill\":\"pending\",\"lost\":null,\"reason\":\"closed\"}");
    td_buf_free(&b);
    td_subset_free(&w);
}

static void a_wildcard_or_no_set_is_star(void **state)
{
    (void)state;
    td_subset_t w;
    td_subset_init(&w);
    td_subset_add(&w, TD_KIND_QUOTE, "AAPL", 4);
    td_subset_add(&w, TD_KIND_TRADE, "*", 1);
    td_buf_t b = {0};
    td_gap_t g = {"u", 0, 1000000000LL, &w, "done", 7, NULL, 0};
    assert_string_equal(render(&b, &g), "{\"type\":\"gap\",\"feed\":\"u\",\"from\":\"1970-01-01T00:"
                                        "00:00Z\",\"to\":\"1970-01-01T00:00:01Z\",\"kinds\":["
                                        "\"trades\",\"quotes\"],\"symbols\":\"*\",\"refill\":"
                                        "\"done\",\"lost\":7}");
    g.token = 42; /* HA: the holder's fencing token, last */
    assert_non_null(strstr(render(&b, &g), "\"lost\":7,\"token\":42}"));
    g.token = 0;
    g.where = NULL;
    render(&b, &g);
    assert_non_null(strstr(b.data, "\"symbols\":\"*\""));
    assert_non_null(strstr(b.data, "\"kinds\":[\"trades\",\"quotes\",\"bars\",\"dailyBars\""));
    td_buf_free(&b);
    td_subset_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(named_symbols_are_listed_once_in_kind_order),
        cmocka_unit_test(a_wildcard_or_no_set_is_star),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
