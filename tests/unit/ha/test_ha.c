/* SPDX-License-Identifier: Apache-2.0 */
/* The HA lease's pure parts: the safety margin, the local deadline and the
 * interest spec stored next to the lease (read back by td_subset_parse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ha/lease.h"

#include <string.h>

static void test_margin_and_deadline(void **state)
{
    (void)state;
    assert_int_equal(td_ha_margin_ms(3000), 600);
    assert_int_equal(td_ha_margin_ms(1000), 200);
    assert_int_equal(td_ha_margin_ms(100), 50); /* at least 50 ms */
    assert_int_equal(td_ha_deadline(10000, 3000), 12400);
    assert_int_equal(td_ha_deadline(10000, 40), 10000); /* a ttl below the margin: no time */
    /* always before the lease's own expiry, and after the renewal period */
    for (uint64_t ttl = 60; ttl < 20000; ttl += 97) {
        uint64_t d = td_ha_deadline(5000, ttl);
        assert_true(d < 5000 + ttl);
        if (ttl >= 300) assert_true(d > 5000 + ttl / 3);
    }
}

static void roundtrip(const char *spec, const char *want)
{
    td_subset_t s, back;
    char err[128];
    td_subset_init(&s);
    td_subset_init(&back);
    assert_int_equal(td_subset_parse(&s, spec, err, sizeof err), 0);
    td_buf_t b = TD_BUF_INIT;
    td_ha_spec_format(&s, &b);
    td_buf_appendc(&b, '\0');
    assert_string_equal(b.data, want);
    assert_int_equal(td_subset_parse(&back, b.data, err, sizeof err), 0);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        assert_int_equal(back.k[k].all, s.k[k].all);
        assert_int_equal(back.k[k].n, s.k[k].n);
        for (size_t i = 0; i < s.k[k].n; i++)
            assert_string_equal(back.k[k].v[i], s.k[k].v[i]);
    }
    td_buf_free(&b);
    td_subset_free(&s);
    td_subset_free(&back);
}

static void test_spec_format(void **state)
{
    (void)state;
    roundtrip("", "");
    roundtrip("trades=*", "trades=*");
    roundtrip("quotes=MSFT,AAPL;trades=*", "trades=*;quotes=AAPL,MSFT");
    roundtrip("bars=*,IBM;news=*", "bars=*,IBM;news=*");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_margin_and_deadline),
        cmocka_unit_test(test_spec_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
