/* SPDX-License-Identifier: Apache-2.0 */
/* History held back while a refill runs (see hold.h). */
#include "refill/hold.h"

#include "core/buf.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

typedef struct held_s {
    int64_t ts;
    uint64_t seq;
    size_t off; /* symbol then payload, in the arena */
    uint32_t sym_len, pay_len;
    uint8_t kind, refilled;
} held_t;

struct td_hold_s {
    held_t *v;
    size_t n, cap, max_events, max_bytes;
    td_buf_t arena;
    uint64_t seq;
};

td_hold_t *td_hold_new(size_t max_events, size_t max_bytes)
{
    td_hold_t *h = td_xcalloc(1, sizeof *h);
    h->max_events = max_events ? max_events : 1;
    h->max_bytes = max_bytes;
    return h;
}

void td_hold_free(td_hold_t *h)
{
    if (!h) return;
    free(h->v);
    td_buf_free(&h->arena);
    free(h);
}

size_t td_hold_count(const td_hold_t *h)
{
    return h->n;
}

int td_hold_add(td_hold_t *h, const td_event_t *ev, int refilled, int64_t ts_ns)
{
    size_t need = ev->symbol_len + ev->payload_len;
    if (h->n >= h->max_events || h->arena.len + need > h->max_bytes ||
        ev->symbol_len > UINT32_MAX || ev->payload_len > UINT32_MAX)
        return -1;
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 256;
        h->v = td_xrealloc(h->v, h->cap * sizeof *h->v);
    }
    h->v[h->n++] = (held_t){.ts = ts_ns,
                            .seq = h->seq++,
                            .off = h->arena.len,
                            .sym_len = (uint32_t)ev->symbol_len,
                            .pay_len = (uint32_t)ev->payload_len,
                            .kind = (uint8_t)ev->kind,
                            .refilled = refilled != 0};
    td_buf_append(&h->arena, ev->symbol, ev->symbol_len);
    td_buf_append(&h->arena, ev->payload, ev->payload_len);
    return 0;
}

static int cmp(const void *pa, const void *pb)
{
    const held_t *a = pa, *b = pb;
    if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
    if (a->refilled != b->refilled) return a->refilled ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void td_hold_flush(td_hold_t *h, const int64_t bound[TD_KIND__COUNT],
                   void (*emit)(void *ud, const td_event_t *ev, int refilled), void *ud)
{
    if (!h->n) return;
    qsort(h->v, h->n, sizeof *h->v, cmp);
    td_buf_t keep = TD_BUF_INIT;
    size_t kept = 0;
    for (size_t i = 0; i < h->n; i++) {
        held_t e = h->v[i];
        const char *p = h->arena.data + e.off;
        if (e.kind < TD_KIND__COUNT && e.ts >= bound[e.kind]) { /* later: stays */
            e.off = keep.len;
            td_buf_append(&keep, p, (size_t)e.sym_len + e.pay_len);
            h->v[kept++] = e;
            continue;
        }
        td_event_t ev = {.kind = (td_kind_t)e.kind,
                         .symbol = p,
                         .symbol_len = e.sym_len,
                         .payload = p + e.sym_len,
                         .payload_len = e.pay_len};
        emit(ud, &ev, e.refilled);
    }
    td_buf_free(&h->arena);
    h->arena = keep;
    h->n = kept;
}
