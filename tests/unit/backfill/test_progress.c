/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/backfill/progress.c: the progress line's fields, the
 * ETA extrapolation, number grouping, and truncation into small buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "backfill/progress.h"

#include <string.h>

static void test_start(void **state)
{
    (void)state;
    char b[256];
    td_progress_t p = {214, 0, 0, 0.0, 0, 0, 0.0, 0, 0.0};
    td_progress_format(b, sizeof b, &p);
    assert_string_equal(b,
                        "[--------------------] 0/214 jobs  0 rows  0 rows/s  0 retries  ETA --");
}

static void test_midway(void **state)
{
    (void)state;
    char b[256];
    /* 97 of 214 in 2.0 s: 117 left at 48.5 jobs/s -> 2.41 s -> 0:02 */
    td_progress_t p = {214, 97, 0, 97.0, 105320, 2, 2.0, 0, 0.0};
    size_t n = td_progress_format(b, sizeof b, &p);
    assert_string_equal(b, "[#########-----------] 97/214 jobs  105,320 rows  52.7k rows/s  2 "
                           "retries  ETA 0:02");
    assert_int_equal(n, strlen(b));
}

static void test_failed_hours_and_singular(void **state)
{
    (void)state;
    char b[256];
    /* 1 of 4 after 1 h: 3 h left */
    td_progress_t p = {4, 1, 1, 1.0, 1234567890, 1, 3600.0, 0, 0.0};
    td_progress_format(b, sizeof b, &p);
    assert_string_equal(b, "[#####---------------] 1/4 jobs  1 failed  1,234,567,890 rows  "
                           "342.9k rows/s  1 retry  ETA 3:00:00");
    td_progress_t big = {1, 0, 0, 0.0, 9000000, 0, 1.0, 0, 0.0};
    td_progress_format(b, sizeof b, &big);
    assert_non_null(strstr(b, "9.0M rows/s"));
    assert_non_null(strstr(b, "9,000,000 rows"));
}

static void test_work_not_jobs(void **state)
{
    (void)state;
    char b[256];
    /* one long job, three quarters through its date range after 3 s: 1 s left */
    td_progress_t p = {1, 0, 0, 0.75, 3000, 0, 3.0, 0, 0.0};
    td_progress_format(b, sizeof b, &p);
    assert_string_equal(
        b, "[###############-----] 0/1 jobs  3,000 rows  1000 rows/s  0 retries  ETA 0:01");
    /* a job that failed at once is no pace for the others: work, not jobs */
    td_progress_t q = {10, 1, 1, 1.0 + 9 * 0.5, 100, 0, 10.0, 0, 0.0};
    td_progress_format(b, sizeof b, &q);
    assert_non_null(strstr(b, "1/10 jobs  1 failed"));
    assert_non_null(strstr(b, "ETA 0:08")); /* 10 s * 4.5 / 5.5 */
    assert_non_null(strstr(b, "[###########---------]"));
}

static void test_eta_follows_rate(void **state)
{
    (void)state;
    char b[256];
    /* 10 of 214 jobs in 1 s (a first burst of 10 requests), but --rate
     * 200/min: 204 more requests at 3.33/s take 61 s, not the 20 s the
     * burst's pace says */
    td_progress_t p = {214, 10, 0, 10.0, 1000, 0, 1.0, 10, 200.0 / 60};
    td_progress_format(b, sizeof b, &p);
    assert_non_null(strstr(b, "ETA 1:01"));
    /* no work done yet: at least one request per job left */
    td_progress_t q = {214, 0, 0, 0.0, 0, 0, 0.5, 8, 200.0 / 60};
    td_progress_format(b, sizeof b, &q);
    assert_non_null(strstr(b, "ETA 1:04"));
    /* a slow pace is not made faster by a generous rate */
    td_progress_t r = {4, 1, 0, 1.0, 10, 0, 10.0, 1, 1000.0};
    td_progress_format(b, sizeof b, &r);
    assert_non_null(strstr(b, "ETA 0:30"));
}

static void test_done(void **state)
{
    (void)state;
    char b[256];
    td_progress_t p = {3, 3, 0, 3.0, 999, 0, 0.5, 0, 0.0};
    td_progress_format(b, sizeof b, &p);
    assert_string_equal(b,
                        "[####################] 3/3 jobs  999 rows  1998 rows/s  0 retries  done");
    td_progress_t none = {0, 0, 0, 0.0, 0, 0, 0.0, 0, 0.0};
    td_progress_format(b, sizeof b, &none);
    assert_non_null(strstr(b, "0/0 jobs"));
}

static void test_small_buffers(void **state)
{
    (void)state;
    td_progress_t p = {214, 97, 3, 97.0, 105320, 2, 2.0, 0, 0.0};
    char full[256];
    size_t want = td_progress_format(full, sizeof full, &p);
    for (size_t cap = 1; cap < want + 2; cap++) {
        char b[256];
        memset(b, 'x', sizeof b);
        size_t n = td_progress_format(b, cap, &p);
        assert_int_equal(n, cap > want ? want : cap - 1); /* as much as fits */
        assert_int_equal(b[n], '\0');
        assert_int_equal(strncmp(b, full, n), 0);
        assert_int_equal(b[cap], 'x'); /* nothing written past cap */
    }
    assert_int_equal(td_progress_format(NULL, 0, &p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_midway),
        cmocka_unit_test(test_failed_hours_and_singular),
        cmocka_unit_test(test_work_not_jobs),
        cmocka_unit_test(test_eta_follows_rate),
        cmocka_unit_test(test_done),
        cmocka_unit_test(test_small_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
