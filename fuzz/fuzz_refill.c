/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the refill's path from a vendor's history body to stream events:
 * the body is parsed as an Alpaca bars page and as a Polygon aggregates
 * page (proto/bars), every bar is turned into the stream's event
 * (td_refill_bar_json), and the frame of them must be one the stream's own
 * splitter accepts whole, with one bar event per record, named by the
 * record's symbol, whose time td_refill_event_time reads back as the
 * record's. The same body parsed as Alpaca trades and quotes (proto/ticks)
 * gives records that td_refill_tick_json turns into events the splitter
 * accepts whole, one per record, with the record's time (and trade id);
 * parsed as Polygon /v3 trades and quotes, td_refill_tick_json_polygon
 * turns every record into a T or Q event the Polygon splitter accepts
 * whole, one per record, with the record's time (ms) and trade id.
 * The raw input also goes through td_refill_event_time (live payloads). */
#include "proto/alpaca.h"
#include "proto/bars.h"
#include "proto/polygon.h"
#include "proto/ticks.h"
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

typedef struct {
    const td_ticks_page_t *pg;
    size_t i;
    td_kind_t kind;
} twalk_t;

static void on_tick(void *ud, const td_event_t *ev)
{
    twalk_t *w = ud;
    if (w->i >= w->pg->n || ev->kind != w->kind) abort();
    const td_tick_t *t = &w->pg->v[w->i++];
    int64_t ns;
    uint64_t id;
    if (td_refill_event_time(ev->payload, ev->payload_len, &ns) != 0 || ns != t->ts_ns) abort();
    if (t->has_id && (td_refill_event_id(ev->payload, ev->payload_len, &id) != 0 || id != t->id))
        abort();
}

static void check_ticks(const char *body, size_t size, td_kind_t kind, td_buf_t *f)
{
    static td_ticks_page_t pg;
    if (td_ticks_parse_alpaca(body, size, kind, &pg) != 0) {
        if (pg.n) abort();
        return;
    }
    f->len = 0;
    td_buf_appendc(f, '[');
    for (size_t i = 0; i < pg.n; i++) {
        const td_tick_t *t = &pg.v[i];
        if (t->rec < body || t->rec + t->rec_len > body + size || t->rec[0] != '{') abort();
        if (i) td_buf_appendc(f, ',');
        td_refill_tick_json(kind, t->symbol, t->rec, t->rec_len, f);
    }
    td_buf_appendc(f, ']');
    twalk_t w = {&pg, 0, kind};
    td_alpaca_cb_t cb = {on_tick, NULL};
    if (td_alpaca_split(f->data, f->len, &cb, &w, NULL) != 0 || w.i != pg.n) abort();
}

static void check_ticks_polygon(const char *body, size_t size, td_kind_t kind, td_buf_t *f)
{
    static td_ticks_page_t pg;
    if (td_ticks_parse_polygon(body, size, kind, "X", &pg) != 0) {
        if (pg.n) abort();
        return;
    }
    f->len = 0;
    td_buf_appendc(f, '[');
    for (size_t i = 0; i < pg.n; i++) {
        const td_tick_t *t = &pg.v[i];
        if (t->rec < body || t->rec + t->rec_len > body + size || t->rec[0] != '{') abort();
        if (i) td_buf_appendc(f, ',');
        if (td_refill_tick_json_polygon(kind, t->symbol, t->rec, t->rec_len, f) != 0) abort();
    }
    td_buf_appendc(f, ']');
    twalk_t w = {&pg, 0, kind};
    td_polygon_cb_t cb = {on_tick, NULL};
    if (td_polygon_split(TD_POLYGON_STOCKS, f->data, f->len, &cb, &w, NULL) != 0 || w.i != pg.n)
        abort();
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
    check_ticks(body, size, TD_KIND_TRADE, &f);
    check_ticks(body, size, TD_KIND_QUOTE, &f);
    check_ticks_polygon(body, size, TD_KIND_TRADE, &f);
    check_ticks_polygon(body, size, TD_KIND_QUOTE, &f);
    td_buf_free(&f);
    return 0;
}
