/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the gateway's per-client queue (src/gateway/queue.c): FIFO
 * order, byte accounting, conflation in place and its index under random
 * pushes and pops, checked against a plain model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/gw_int.h"

#include <stdlib.h>
#include <string.h>

static gw_msg_t *msg(const char *text, uint32_t key, uint64_t id)
{
    return td__gw_msg_new(text, strlen(text), key ? TD_KIND_QUOTE : TD_KIND_TRADE, key, id);
}

static void test_fifo_and_conflation(void **state)
{
    (void)state;
    gw_queue_t q = {0};
    gw_msg_t *a = msg("trade1", 0, 1), *b = msg("quoteA1", 7, 2), *c = msg("trade2", 0, 3);
    gw_msg_t *d = msg("quoteA2-newer", 7, 4);
    assert_int_equal(td__gw_queue_conflate(&q, b), 0);
    td__gw_queue_push(&q, a);
    td__gw_queue_push(&q, b);
    td__gw_queue_push(&q, c);
    size_t bytes = q.bytes;
    assert_int_equal(td__gw_queue_conflate(&q, a), 0); /* never conflated */
    assert_int_equal(td__gw_queue_conflate(&q, d), 1); /* replaces b in place */
    assert_int_equal(q.bytes, bytes - b->len + d->len);
    assert_int_equal(q.n, 3);
    assert_ptr_equal(td__gw_queue_peek(&q, 1), d);
    gw_msg_t *x = td__gw_queue_pop(&q);
    assert_ptr_equal(x, a);
    td__gw_msg_unref(x);
    x = td__gw_queue_pop(&q);
    assert_ptr_equal(x, d);
    td__gw_msg_unref(x);
    assert_int_equal(td__gw_queue_conflate(&q, b), 0); /* sent: a new entry */
    td__gw_queue_push(&q, b);
    assert_int_equal(q.n, 2);
    td__gw_queue_free(&q);
    assert_int_equal(q.n, 0);
    assert_int_equal(q.bytes, 0);
    for (gw_msg_t **m = (gw_msg_t *[]){a, b, c, d, NULL}; *m; m++) {
        assert_int_equal((*m)->refs, 1); /* only ours left */
        td__gw_msg_unref(*m);
    }
}

/* Random pushes (a few hundred keys, so index clusters form and shift) and
 * pops against a model: an array of (key, id). */
static void test_random_against_model(void **state)
{
    (void)state;
    enum { OPS = 200000, KEYS = 300 };
    gw_queue_t q = {0};
    uint64_t *mk = calloc(OPS, sizeof *mk), *mid = calloc(OPS, sizeof *mid);
    size_t mh = 0, mt = 0;
    uint64_t next = 1;
    srand(7);
    for (int op = 0; op < OPS; op++) {
        if (rand() % 100 < 52) {
            uint32_t key = rand() % 3 ? (uint32_t)(rand() % KEYS + 1) : 0;
            gw_msg_t *m = msg("x", key, next);
            size_t i = mh;
            while (key && i < mt && mk[i] != key)
                i++;
            int in_model = key && i < mt;
            assert_int_equal(td__gw_queue_conflate(&q, m), in_model);
            if (in_model) {
                mid[i] = next;
            } else {
                td__gw_queue_push(&q, m);
                mk[mt] = key;
                mid[mt++] = next;
            }
            td__gw_msg_unref(m);
            next++;
        } else if (mh < mt) {
            gw_msg_t *m = td__gw_queue_pop(&q);
            assert_non_null(m);
            assert_int_equal(m->key, mk[mh]);
            assert_int_equal(m->id, mid[mh]);
            mh++;
            td__gw_msg_unref(m);
        }
        assert_int_equal(q.n, mt - mh);
        assert_int_equal(q.bytes, (mt - mh) * (1 + GW_ENTRY_OVERHEAD));
    }
    td__gw_queue_free(&q);
    free(mk);
    free(mid);
}

static void test_keys(void **state)
{
    (void)state;
    gw_keys_t k = {0};
    uint32_t a = td__gw_keys_get(&k, TD_KIND_QUOTE, "AAPL", 4);
    uint32_t b = td__gw_keys_get(&k, TD_KIND_BAR, "AAPL", 4);
    assert_int_not_equal(a, 0);
    assert_int_not_equal(a, b);
    char sym[16];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(sym, sizeof sym, "S%d", i);
        td__gw_keys_get(&k, TD_KIND_QUOTE, sym, (size_t)n);
    }
    assert_int_equal(td__gw_keys_get(&k, TD_KIND_QUOTE, "AAPL", 4), a);
    assert_int_equal(td__gw_keys_get(&k, TD_KIND_BAR, "AAPL", 4), b);
    td__gw_keys_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_conflation),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
