/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes td_av_parse_global_quote with arbitrary bodies, checking the
 * invariants callers rely on: views lie inside the body and are set only for
 * their kinds (text for THROTTLED/ERROR as a whole JSON string's content,
 * object for QUOTE/UNKNOWN as a '{'..'}' span), a quote has a usable symbol,
 * a NUL-terminated day of 0 or 10 bytes and finite numbers, the payload is
 * the object's bytes, and the result does not depend on bytes past len. */
#include "proto/alphavantage.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_inside(const char *p, size_t n, const char *body, size_t len)
{
    if (!p || p < body || n > len || (size_t)(p - body) > len - n) abort();
}

static void check_quote(const td_av_quote_t *q)
{
    size_t n = strnlen(q->symbol, sizeof q->symbol);
    if (n == 0 || n >= sizeof q->symbol) abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)q->symbol[i] < 0x20) abort();
    size_t d = strnlen(q->latest_day, sizeof q->latest_day);
    if (d != 0 && d != 10) abort();
    const double v[] = {q->open,           q->high,   q->low,           q->price,
                        q->previous_close, q->change, q->change_percent};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (!isfinite(v[i])) abort();
    if (q->volume < 0) abort();
}

static void check(const char *body, size_t len, const td_av_result_t *r)
{
    switch (r->kind) {
    case TD_AV_QUOTE:
    case TD_AV_UNKNOWN:
        check_inside(r->object, r->object_len, body, len);
        if (r->object_len < 2 || r->object[0] != '{' || r->object[r->object_len - 1] != '}')
            abort();
        if (r->text) abort();
        if (r->kind == TD_AV_QUOTE) check_quote(&r->quote);
        break;
    case TD_AV_THROTTLED:
    case TD_AV_ERROR:
        check_inside(r->text, r->text_len, body, len);
        if (r->text == body || r->text[-1] != '"' || r->text_len == len - (size_t)(r->text - body))
            abort();
        if (r->text[r->text_len] != '"' || r->object) abort();
        if (r->kind == TD_AV_ERROR && r->daily) abort();
        break;
    case TD_AV_MALFORMED:
        if (r->text || r->object || r->daily) abort();
        break;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copy, so ASan catches any read past the input. */
    char *body = malloc(size ? size : 1);
    if (size) memcpy(body, data, size);
    td_av_result_t r;
    td_av_parse_global_quote(body, size, &r);
    check(body, size, &r);

    td_buf_t b = TD_BUF_INIT;
    td_av_quote_payload(&r, &b);
    if (r.kind == TD_AV_QUOTE ? b.len != r.object_len || memcmp(b.data, r.object, b.len) != 0
                              : b.len != 0)
        abort();
    td_buf_free(&b);

    /* The same bytes followed by garbage, parsed with the same len: same result. */
    char *more = malloc(size + 8);
    if (size) memcpy(more, data, size);
    memcpy(more + size, "\"}]x0\\\"}", 8);
    td_av_result_t r2;
    td_av_parse_global_quote(more, size, &r2);
    if (r2.kind != r.kind || r2.text_len != r.text_len || r2.object_len != r.object_len ||
        (r.text && r2.text - more != r.text - body) ||
        (r.object && r2.object - more != r.object - body) || r2.daily != r.daily ||
        memcmp(&r2.quote, &r.quote, sizeof r.quote) != 0)
        abort();
    free(more);
    free(body);
    return 0;
}
