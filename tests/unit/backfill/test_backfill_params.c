/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/backfill/params.c: --start/--end forms, timeframes of
 * each vendor (and the hint for the other vendor's form), and the bounds
 * each vendor is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "backfill/backfill.h"

#include <string.h>

#define DAY_NS (86400 * (int64_t)1000000000)

static void test_dates(void **state)
{
    (void)state;
    int64_t t0, t1;
    assert_int_equal(td_backfill_time_ns("2022-04-11", 0, &t0), 0);
    assert_int_equal(td_backfill_time_ns("2022-04-11", 1, &t1), 0);
    assert_int_equal(t0, 19093 * DAY_NS);
    assert_int_equal(t1, 19094 * DAY_NS - 1); /* the end day counts whole */
    assert_int_equal(td_backfill_time_ns("2022-04-11T13:30:00Z", 1, &t1), 0);
    assert_int_equal(t1, 19093 * DAY_NS + 48600 * (int64_t)1000000000); /* exact */
    const char *bad[] = {"2022-4-1", "2022-04-31", "2022/04/11", "yesterday", "1649635200", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(td_backfill_time_ns(bad[i], 0, &t0), -1);
}

static void test_timeframes(void **state)
{
    (void)state;
    char msg[300];
    const char *alpaca_ok[] = {"15Min", "1T",    "59Min",  "1Hour", "23H",    "1Day",
                               "1D",    "1Week", "1Month", "6M",    "12Month"};
    for (size_t i = 0; i < sizeof alpaca_ok / sizeof *alpaca_ok; i++)
        assert_int_equal(td_backfill_check_timeframe("alpaca", alpaca_ok[i], msg, sizeof msg), 0);
    const char *alpaca_bad[] = {"60Min", "0Min", "15min", "2Day", "5Month", "Min", "015Min", ""};
    for (size_t i = 0; i < sizeof alpaca_bad / sizeof *alpaca_bad; i++)
        assert_int_equal(td_backfill_check_timeframe("alpaca", alpaca_bad[i], msg, sizeof msg), -1);
    const char *poly_ok[] = {"15/minute", "1/second", "4/hour", "1/day", "2/quarter", "1/year"};
    for (size_t i = 0; i < sizeof poly_ok / sizeof *poly_ok; i++)
        assert_int_equal(td_backfill_check_timeframe("polygon", poly_ok[i], msg, sizeof msg), 0);
    const char *poly_bad[] = {"15/minutes", "0/minute", "minute", "15/", "/minute", "15 minute"};
    for (size_t i = 0; i < sizeof poly_bad / sizeof *poly_bad; i++)
        assert_int_equal(td_backfill_check_timeframe("polygon", poly_bad[i], msg, sizeof msg), -1);
}

static void test_hints(void **state)
{
    (void)state;
    char msg[300];
    assert_int_equal(td_backfill_check_timeframe("polygon", "15Min", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "MULT/TIMESPAN"));
    assert_non_null(strstr(msg, "(for 15Min: 15/minute)"));
    assert_int_equal(td_backfill_check_timeframe("alpaca", "1/hour", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "(for 1/hour: 1Hour)"));
    assert_int_equal(td_backfill_check_timeframe("alpaca", "bogus", msg, sizeof msg), -1);
    assert_null(strstr(msg, "(for"));
    assert_non_null(strstr(msg, "--timeframe bogus"));
}

static void test_vendor_bounds(void **state)
{
    (void)state;
    char from[48], to[48];
    int64_t t0 = 19093 * DAY_NS, t1 = 19094 * DAY_NS - 1;
    td_backfill_vendor_bounds("alpaca", t0, t1, from, to, sizeof from);
    assert_string_equal(from, "2022-04-11T00:00:00Z");
    assert_string_equal(to, "2022-04-11T23:59:59Z");
    td_backfill_vendor_bounds("polygon", t0, t1, from, to, sizeof from);
    assert_string_equal(from, "1649635200000");
    assert_string_equal(to, "1649721599999");
    /* exact bounds inside a second / a millisecond round inwards */
    td_backfill_vendor_bounds("alpaca", t0 + 1, t1 - 1500000000, from, to, sizeof from);
    assert_string_equal(from, "2022-04-11T00:00:01Z");
    assert_string_equal(to, "2022-04-11T23:59:58Z");
    td_backfill_vendor_bounds("polygon", t0 + 1, t0 + 1, from, to, sizeof from);
    assert_string_equal(from, "1649635200001");
    assert_string_equal(to, "1649635200000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_timeframes),
        cmocka_unit_test(test_hints),
        cmocka_unit_test(test_vendor_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
