/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the outgoing-frame queue (src/core/outq.c): FIFO order, byte
 * accounting, conflation in place and its index under random pushes and
 * pops, checked against a plain model; interned keys; building frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/outq.h"
#include "proto/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OVERHEAD 16

static td_outmsg_t *msg(const char *text, uint32_t key, uint64_t id)
{
    return td_outmsg_new(text, strlen(text), key ? TD_KIND_QUOTE : TD_KIND_TRADE, key, id);
}

static void test_fifo_and_conflation(void **state)
{
    (void)state;
    td_outq_t q;
    td_outq_init(&q, OVERHEAD);
    td_outmsg_t *a = msg("trade1", 0, 1), *b = msg("quoteA1", 7, 2), *c = msg("trade2", 0, 3);
    td_outmsg_t *d = msg("quoteA2-newer", 7, 4);
    assert_int_equal(td_outq_conflate(&q, b), 0);
    td_outq_push(&q, a);
    td_outq_push(&q, b);
    td_outq_push(&q, c);
    size_t bytes = q.bytes;
    assert_int_equal(td_outq_conflate(&q, a), 0); /* never conflated */
    assert_int_equal(td_outq_conflate(&q, d), 1); /* replaces b in place */
    assert_int_equal(q.bytes, bytes - b->len + d->len);
    assert_int_equal(q.n, 3);
    assert_ptr_equal(td_outq_peek(&q, 1), d);
    td_outmsg_t *x = td_outq_pop(&q);
    assert_ptr_equal(x, a);
    td_outmsg_unref(x);
    x = td_outq_pop(&q);
    assert_ptr_equal(x, d);
    td_outmsg_unref(x);
    assert_int_equal(td_outq_conflate(&q, b), 0); /* sent: a new entry */
    td_outq_push(&q, b);
    assert_int_equal(q.n, 2);
    td_outq_clear(&q);
    assert_int_equal(q.n, 0);
    assert_int_equal(q.bytes, 0);
    for (td_outmsg_t **m = (td_outmsg_t *[]){a, b, c, d, NULL}; *m; m++) {
        assert_int_equal((*m)->refs, 1); /* only ours left */
        td_outmsg_unref(*m);
    }
}

/* Random pushes (a few hundred keys, so index clusters form and shift) and
 * pops against a model: an array of (key, id). */
static void test_random_against_model(void **state)
{
    (void)state;
    enum { OPS = 200000, KEYS = 300 };
    td_outq_t q;
    td_outq_init(&q, OVERHEAD);
    uint64_t *mk = calloc(OPS, sizeof *mk), *mid = calloc(OPS, sizeof *mid);
    size_t mh = 0, mt = 0;
    uint64_t next = 1;
    srand(7);
    for (int op = 0; op < OPS; op++) {
        if (rand() % 100 < 52) {
            uint32_t key = rand() % 3 ? (uint32_t)(rand() % KEYS + 1) : 0;
            td_outmsg_t *m = msg("x", key, next);
            size_t i = mh;
            while (key && i < mt && mk[i] != key)
                i++;
            int in_model = key && i < mt;
            assert_int_equal(td_outq_conflate(&q, m), in_model);
            if (in_model) {
                mid[i] = next;
            } else {
                td_outq_push(&q, m);
                mk[mt] = key;
                mid[mt++] = next;
            }
            td_outmsg_unref(m);
            next++;
        } else if (mh < mt) {
            td_outmsg_t *m = td_outq_pop(&q);
            assert_non_null(m);
            assert_int_equal(m->key, mk[mh]);
            assert_int_equal(m->id, mid[mh]);
            mh++;
            td_outmsg_unref(m);
        }
        assert_int_equal(q.n, mt - mh);
        assert_int_equal(q.bytes, (mt - mh) * (1 + OVERHEAD));
    }
    td_outq_clear(&q);
    free(mk);
    free(mid);
}

static void test_keys(void **state)
{
    (void)state;
    td_outkeys_t k = {0};
    uint32_t a = td_outkeys_get(&k, TD_KIND_QUOTE, "AAPL", 4);
    uint32_t b = td_outkeys_get(&k, TD_KIND_BAR, "AAPL", 4);
    assert_int_not_equal(a, 0);
    assert_int_not_equal(a, b);
    char sym[16];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(sym, sizeof sym, "S%d", i);
        td_outkeys_get(&k, TD_KIND_QUOTE, sym, (size_t)n);
    }
    assert_int_equal(td_outkeys_get(&k, TD_KIND_QUOTE, "AAPL", 4), a);
    assert_int_equal(td_outkeys_get(&k, TD_KIND_BAR, "AAPL", 4), b);
    td_outkeys_free(&k);
}

static void push_new(td_outq_t *q, const char *text, int kind)
{
    td_outmsg_t *m = td_outmsg_new(text, strlen(text), kind, 0, 0);
    td_outq_push(q, m);
    td_outmsg_unref(m);
}

/* Frames: a control message alone and as it is; data batched up to the
 * next control message, the count and the byte cap (but at least one). */
static void test_build(void **state)
{
    (void)state;
    td_outq_t q;
    td_outq_init(&q, 1);
    td_buf_t f = TD_BUF_INIT;
    uint64_t counts[TD_KIND__COUNT] = {0};
    assert_int_equal(td_outq_build(&q, &f, &td_outq_json_array, 100, 0, counts), 0);
    assert_int_equal(f.len, 0);
    push_new(&q, "[{\"T\":\"success\"}]", TD_OUTQ_CONTROL);
    push_new(&q, "{\"a\":1}", TD_KIND_TRADE);
    push_new(&q, "{\"b\":2}", TD_KIND_QUOTE);
    push_new(&q, "{\"c\":3}", TD_KIND_QUOTE);
    push_new(&q, "[{\"T\":\"error\"}]", TD_OUTQ_CONTROL);
    push_new(&q, "{\"d\":4}", TD_KIND_TRADE);
    push_new(&q, "{\"e\":5}", TD_KIND_TRADE);
    push_new(&q, "{\"f\":6}", TD_KIND_TRADE);
    assert_int_equal(q.bytes, 17 + 15 + 2 + 6 * (7 + 1)); /* overhead 1 per entry */
    const char *want[] = {
        "[{\"T\":\"success\"}]", "[{\"a\":1},{\"b\":2}]", "[{\"c\":3}]", "[{\"T\":\"error\"}]",
        "[{\"d\":4}]",           "[{\"e\":5}]",           "[{\"f\":6}]"};
    const uint32_t nev[] = {0, 2, 1, 0, 1, 1, 1};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        td_buf_reset(&f);
        /* count 2 for the first batch; then 14 bytes: one element fits, not two */
        uint32_t n =
            td_outq_build(&q, &f, &td_outq_json_array, i < 2 ? 100 : 14, i < 2 ? 2 : 0, counts);
        assert_int_equal(n, nev[i]);
        assert_string_equal(f.data, want[i]);
    }
    assert_int_equal(q.n, 0);
    assert_int_equal(q.bytes, 0);
    assert_int_equal(counts[TD_KIND_TRADE], 4);
    assert_int_equal(counts[TD_KIND_QUOTE], 2);
    /* an element larger than the cap still goes, alone */
    push_new(&q, "{\"big\":\"0123456789\"}", TD_KIND_TRADE);
    push_new(&q, "{\"g\":7}", TD_KIND_TRADE);
    td_buf_reset(&f);
    assert_int_equal(td_outq_build(&q, &f, &td_outq_json_array, 4, 0, NULL), 1);
    assert_string_equal(f.data, "[{\"big\":\"0123456789\"}]");
    td_outq_clear(&q);
    assert_int_equal(q.n, 0);
    assert_int_equal(q.overhead, 1);
    td_buf_free(&f);
}

/* A message filled in place, grown while it is the caller's alone. */
static void test_fill(void **state)
{
    (void)state;
    td_outmsg_t *m = td_outmsg_alloc(2, TD_KIND_TRADE, 0, 9);
    memcpy(m->data, "[1", 2);
    m = td_outmsg_room(m, 2000); /* 300 numbers: under 1,200 bytes */
    for (int i = 2; i <= 300; i++)
        m->len += (size_t)sprintf(m->data + m->len, ",%d", i);
    m->data[m->len++] = ']';
    m->data[m->len] = '\0';
    assert_int_equal(strncmp(m->data, "[1,2,3,", 7), 0);
    assert_int_equal(m->data[m->len - 1], ']');
    td_outq_t q;
    td_outq_init(&q, 0);
    td_outq_push(&q, m);
    td_outmsg_unref(m);
    assert_int_equal(q.bytes, m->len);
    assert_int_equal(td_outq_peek(&q, 0)->id, 9);
    td_outq_clear(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_conflation),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_fill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
