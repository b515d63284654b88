/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the Polygon splitter (every cluster), td_polygon_int64 and the
 * params parser with arbitrary input, checking the invariants callers rely
 * on: payloads are whole objects inside the frame, symbols are 1..64 bytes
 * without control characters, kinds are those the cluster offers, nothing is
 * reported for a rejected frame, the stats add up and agree across clusters;
 * a params list that parses builds (td_polygon_build_sub) into a message
 * whose params parse back to the same items. */
#include "proto/json_scan.h"
#include "proto/polygon.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *frame;
    size_t len;
    td_polygon_cluster_t c;
    uint64_t events, status;
} ctx_t;

static void check_slice(const ctx_t *c, const char *p, size_t n)
{
    if (p < c->frame || n < 2 || n > c->len || (size_t)(p - c->frame) > c->len - n) abort();
    if (p[0] != '{' || p[n - 1] != '}') abort();
}

static void check_inside(const char *p, size_t n, const char *raw, size_t raw_len)
{
    if (p && (p < raw || n > raw_len || (size_t)(p - raw) > raw_len - n)) abort();
}

static void on_event(void *ud, const td_event_t *ev)
{
    ctx_t *c = ud;
    c->events++;
    check_slice(c, ev->payload, ev->payload_len);
    if ((unsigned)ev->kind >= TD_KIND__COUNT || !(td_polygon_kinds(c->c) & (1u << ev->kind)))
        abort();
    if (ev->symbol_len == 0 || ev->symbol_len > 64) abort();
    for (size_t i = 0; i < ev->symbol_len; i++)
        if ((unsigned char)ev->symbol[i] < 0x20) abort();
    int64_t t;
    (void)td_polygon_int64(ev->payload, ev->payload_len, "t", &t);
}

static void on_status(void *ud, const td_polygon_status_t *st)
{
    ctx_t *c = ud;
    c->status++;
    check_slice(c, st->raw, st->raw_len);
    check_inside(st->status, st->status_len, st->raw, st->raw_len);
    check_inside(st->message, st->message_len, st->raw, st->raw_len);
    if ((unsigned)st->type > TD_POLYGON_ST_OTHER ||
        (!st->status && st->type != TD_POLYGON_ST_OTHER))
        abort();
}

static void split_all(const char *frame, size_t size)
{
    td_polygon_cb_t cb = {on_event, on_status};
    td_polygon_stats_t first = {0};
    for (int c = 0; c < TD_POLYGON__CLUSTERS; c++) {
        ctx_t x = {frame, size, (td_polygon_cluster_t)c, 0, 0};
        td_polygon_stats_t st = {0};
        int rc = td_polygon_split(x.c, frame, size, &cb, &x, &st);
        if (st.frames != 1 || st.events != x.events || st.status != x.status) abort();
        if (rc != TD_OK && (st.malformed != 1 || x.events || x.status || st.unknown ||
                            (rc != TD_EMALFORMED && rc != TD_ETOOBIG)))
            abort();
        if (rc == TD_OK && st.malformed) abort();
        if (c == 0) first = st;
        if (st.malformed != first.malformed || st.status != first.status ||
            st.events + st.unknown != first.events + first.unknown)
            abort();
    }
}

/* ---- params ----------------------------------------------------------------- */

typedef struct {
    td_subset_t set;
    td_polygon_cluster_t c;
    size_t n;
} items_t;

static void on_item(void *ud, td_kind_t k, const char *sym, size_t n)
{
    items_t *it = ud;
    if (!(td_polygon_kinds(it->c) & (1u << k)) || n == 0 || n > 64) abort();
    td_subset_add(&it->set, k, sym, n);
    it->n++;
}

static void on_item_back(void *ud, td_kind_t k, const char *sym, size_t n)
{
    items_t *it = ud;
    if (!td_subset_names(&it->set, k, sym, n) && !(n == 1 && *sym == '*' && it->set.k[k].all))
        abort();
    it->n++;
}

static void params_roundtrip(const char *in, size_t size, td_polygon_cluster_t c)
{
    items_t it = {.c = c};
    const char *bad = NULL;
    size_t bad_len = 0;
    td_subset_init(&it.set);
    int n = td_polygon_params_each(c, in, size, on_item, &it, &bad, &bad_len);
    if (n < 0 &&
        (it.n || !bad || bad < in || bad_len > size || (size_t)(bad - in) > size - bad_len))
        abort();
    if (n >= 0 && (size_t)n != it.n) abort();
    if (n > 0) {
        td_buf_t b = TD_BUF_INIT;
        size_t built = td_polygon_build_sub(&b, "subscribe", c, &it.set, ~0u);
        const char *p = strstr(b.data, "\"params\":\"");
        if (!built || !p) abort();
        p += 10;
        char *out = malloc(b.len);
        int len = td_json_unescape(p, (size_t)(b.data + b.len - 2 - p), out, b.len);
        it.n = 0;
        if (len < 0 ||
            td_polygon_params_each(c, out, (size_t)len, on_item_back, &it, NULL, NULL) !=
                (int)built ||
            it.n != built)
            abort();
        free(out);
        td_buf_free(&b);
    }
    td_subset_free(&it.set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copy, so ASan catches any read past the input. */
    char *frame = malloc(size ? size : 1);
    if (size) memcpy(frame, data, size);
    split_all(frame, size);
    int64_t v;
    (void)td_polygon_int64(frame, size, "t", &v);
    params_roundtrip(frame, size, (td_polygon_cluster_t)(size % TD_POLYGON__CLUSTERS));
    free(frame);
    return 0;
}
