/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the Alpaca splitter and the subscription walker with arbitrary
 * frames, checking the invariants callers rely on: payloads are whole objects
 * inside the frame, symbols are 1..64 bytes, nothing is reported for a
 * rejected frame, and the stats add up. */
#include "proto/alpaca.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *frame;
    size_t len;
    uint64_t events, control;
} ctx_t;

static void check_slice(const ctx_t *c, const char *p, size_t n)
{
    if (p < c->frame || n < 2 || n > c->len || (size_t)(p - c->frame) > c->len - n) abort();
    if (p[0] != '{' || p[n - 1] != '}') abort();
}

static void on_sym(void *ud, td_kind_t k, const char *sym, size_t n)
{
    (void)ud;
    if ((unsigned)k >= TD_KIND__COUNT || n == 0 || n > 64) abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)sym[i] < 0x20) abort();
}

static void on_event(void *ud, const td_event_t *ev)
{
    ctx_t *c = ud;
    c->events++;
    check_slice(c, ev->payload, ev->payload_len);
    if ((unsigned)ev->kind >= TD_KIND__COUNT) abort();
    on_sym(NULL, ev->kind, ev->symbol, ev->symbol_len);
}

static void on_control(void *ud, const td_alpaca_ctl_t *ctl)
{
    ctx_t *c = ud;
    c->control++;
    check_slice(c, ctl->raw, ctl->raw_len);
    if (ctl->msg && (ctl->msg < ctl->raw || ctl->msg + ctl->msg_len > ctl->raw + ctl->raw_len))
        abort();
    if (ctl->type == TD_ALPACA_CTL_SUBSCRIPTION &&
        td_alpaca_subscription_each(ctl->raw, ctl->raw_len, on_sym, NULL) != 0)
        abort(); /* a valid frame's element is a valid object */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copy, so ASan catches any read past the frame. */
    char *frame = malloc(size ? size : 1);
    if (size) memcpy(frame, data, size);
    ctx_t c = {frame, size, 0, 0};
    td_alpaca_cb_t cb = {on_event, on_control};
    td_alpaca_stats_t st = {0};
    int rc = td_alpaca_split(frame, size, &cb, &c, &st);
    if (st.frames != 1 || st.events != c.events || st.control != c.control) abort();
    if (rc != TD_OK && (st.malformed != 1 || c.events || c.control || st.unknown ||
                        (rc != TD_EMALFORMED && rc != TD_ETOOBIG)))
        abort();
    if (rc == TD_OK && st.malformed) abort();
    /* The walker on raw input must not crash; if it takes the input as an
     * object, the splitter must take "[" input "]" (or find it too deep). */
    if (td_alpaca_subscription_each(frame, size, on_sym, NULL) == 0) {
        char *wrapped = malloc(size + 2);
        wrapped[0] = '[';
        memcpy(wrapped + 1, frame, size);
        wrapped[size + 1] = ']';
        rc = td_alpaca_split(wrapped, size + 2, NULL, NULL, NULL);
        if (rc != TD_OK && rc != TD_ETOOBIG) abort();
        free(wrapped);
    }
    free(frame);
    return 0;
}
