/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes td_bars_parse_alpaca and td_bars_parse_polygon with arbitrary
 * bodies (with and without the caller's symbol), checking the invariants
 * callers rely on: the return value matches the status, bars only for OK and
 * at most one per 10 body bytes, each bar's symbol NUL-terminated, 1..64
 * bytes without control bytes, finite prices, volume >= 0, trade_count >= -1;
 * next and message NUL-terminated within their bounds; next empty for error
 * statuses; and the result does not depend on bytes past len. One page is
 * reused across all parses, as a pager would. */
#include "proto/bars.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_bar(const td_bar_t *b)
{
    size_t n = strnlen(b->symbol, sizeof b->symbol);
    if (n == 0 || n > TD_BARS_MAX_SYM) abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)b->symbol[i] < 0x20) abort();
    const double v[] = {b->open, b->high, b->low, b->close, b->volume};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (!isfinite(v[i])) abort();
    if (b->volume < 0 || b->trade_count < -1 || (!isnan(b->vwap) && !isfinite(b->vwap))) abort();
}

static void check(const td_bars_page_t *pg, int rc, size_t len)
{
    if (pg->status < TD_BARS_OK || pg->status > TD_BARS_MALFORMED) abort();
    if (rc != (pg->status == TD_BARS_OK || pg->status == TD_BARS_EMPTY ? 0 : -1)) abort();
    if ((pg->status == TD_BARS_OK) != (pg->n > 0)) abort();
    if (pg->n > len / 10 || pg->n > TD_BARS_MAX_BARS || pg->n > pg->cap) abort();
    if (strnlen(pg->next, sizeof pg->next) > TD_BARS_MAX_NEXT) abort();
    if (strnlen(pg->message, sizeof pg->message) > TD_BARS_MAX_MSG) abort();
    if (rc != 0 && pg->next[0]) abort();
    if (pg->status == TD_BARS_MALFORMED && !pg->message[0]) abort();
    for (size_t i = 0; i < pg->n; i++)
        check_bar(&pg->bars[i]);
}

static int same(const td_bars_page_t *a, const td_bars_page_t *b)
{
    return a->status == b->status && a->n == b->n && a->code == b->code &&
           strcmp(a->next, b->next) == 0 && strcmp(a->message, b->message) == 0 &&
           (a->n == 0 || memcmp(a->bars, b->bars, a->n * sizeof *a->bars) == 0);
}

typedef int (*parse_fn)(const char *, size_t, const char *, td_bars_page_t *);

/* Parses body and the same bytes followed by garbage (same len): same page. */
static void run(parse_fn fn, const char *body, const char *more, size_t size, const char *sym,
                td_bars_page_t *pg, td_bars_page_t *pg2)
{
    int rc = fn(body, size, sym, pg);
    check(pg, rc, size);
    if (fn(more, size, sym, pg2) != rc || !same(pg, pg2)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static td_bars_page_t pg = TD_BARS_PAGE_INIT, pg2 = TD_BARS_PAGE_INIT;
    /* Exact-size copy, so ASan catches any read past the input. */
    char *body = calloc(1, size ? size : 1);
    char *more = malloc(size + 8);
    if (size) memcpy(body, data, size);
    if (size) memcpy(more, data, size);
    memcpy(more + size, "\"}]x0\\\"}", 8);
    run(td_bars_parse_alpaca, body, more, size, NULL, &pg, &pg2);
    run(td_bars_parse_alpaca, body, more, size, "AAPL", &pg, &pg2);
    run(td_bars_parse_polygon, body, more, size, NULL, &pg, &pg2);
    run(td_bars_parse_polygon, body, more, size, "AAPL", &pg, &pg2);
    free(more);
    free(body);
    if (size & 1) { /* sometimes start from scratch */
        td_bars_page_free(&pg);
        td_bars_page_free(&pg2);
    }
    return 0;
}
