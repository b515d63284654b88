/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the token bucket (core/bucket). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/bucket.h"

static void test_burst_then_rate(void **state)
{
    (void)state;
    td_bucket_t b;
    td_bucket_init(&b, 100, 1000, 5000); /* 100/s, 1000 at once */
    assert_int_equal(td_bucket_take(&b, 600, 5000), 1);
    assert_int_equal(td_bucket_take(&b, 500, 5000), 0); /* 400 left: refused whole */
    assert_int_equal(td_bucket_take(&b, 400, 5000), 1);
    assert_int_equal(td_bucket_take(&b, 1, 5000), 0);
    assert_int_equal(td_bucket_take(&b, 50, 5499), 0); /* 49.9 earned */
    assert_int_equal(td_bucket_take(&b, 50, 5500), 1);
    /* a long pause refills only up to the burst */
    assert_int_equal(td_bucket_take(&b, 1000, 3600000), 1);
    assert_int_equal(td_bucket_take(&b, 1, 3600000), 0);
    assert_int_equal(td_bucket_take(&b, 1001, 7200000), 0); /* over the burst: never */
}

static void test_steady_rate(void **state)
{
    (void)state;
    td_bucket_t b;
    td_bucket_init(&b, 2000, 20000, 0);
    /* 10 000 every 10 ms for a second: the burst, then 20 per second's worth */
    long taken = 0;
    for (uint64_t t = 0; t <= 1000; t += 10)
        taken += td_bucket_take(&b, 10000, t) ? 10000 : 0;
    assert_true(taken >= 20000 && taken <= 20000 + 2000);
    /* time going backwards (clock read by another caller) earns nothing */
    td_bucket_init(&b, 1000, 10, 500);
    assert_int_equal(td_bucket_take(&b, 10, 500), 1);
    assert_int_equal(td_bucket_take(&b, 1, 400), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_steady_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
