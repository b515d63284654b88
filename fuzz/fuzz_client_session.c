/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the client sessions (proto/client_session.h), both dialects, with
 * a conversation: the first byte picks the dialect, the Polygon cluster and
 * the symbol limit; the rest is lines, each a vendor message, or a command:
 * "!w" changes what is wanted and reconciles, "!t" lets time pass, "!e"
 * ends the connection and opens a new one. Checked after every step: frames
 * sent are JSON objects (subscribe messages within max_sub_bytes), decisions
 * are consistent (a closing one has a reason and leaves the session closed;
 * nothing is sent after it), events have usable symbols, a malformed message
 * reports nothing, and what is requested follows `want` within the limit. */
#include "proto/client_session.h"
#include "proto/json_scan.h"
#include "proto/polygon.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SUB 512

typedef struct {
    td_csess_t s;
    td_subset_t want;
    size_t calls;
    int closed; /* a closing decision was made on this connection */
} ctx_t;

static void on_send(void *ud, const char *p, size_t n)
{
    ctx_t *c = ud;
    c->calls++;
    if (c->closed || !td_json_valid(p, n, 1)) abort();
    if (n > MAX_SUB && memcmp(p, "{\"action\":\"auth\"", 16) != 0) abort();
}

static void on_event(void *ud, const td_event_t *ev)
{
    ctx_t *c = ud;
    c->calls++;
    if (ev->symbol_len == 0 || ev->symbol_len > 64 || (unsigned)ev->kind >= TD_KIND__COUNT) abort();
}

static void on_decision(void *ud, const td_csess_decision_t *d)
{
    ctx_t *c = ud;
    c->calls++;
    if ((unsigned)d->verdict >= TD_CSD__VERDICTS || !d->why) abort();
    int closing =
        d->verdict == TD_CSD_RETRY || d->verdict == TD_CSD_CONN_LIMIT || d->verdict == TD_CSD_FATAL;
    if (closing != (d->why[0] != '\0')) abort();
    if (closing && d->phase != TD_CSESS_CLOSED) abort();
    if (d->phase != c->s.phase) abort();
    if (closing) c->closed = 1;
}

static void on_log(void *ud, int level, const char *line)
{
    ctx_t *c = ud;
    c->calls++;
    if (level < 0 || level > 3 || strlen(line) >= 2048) abort();
}

static void on_confirmed(void *ud, const td_subset_t *set)
{
    ctx_t *c = ud;
    c->calls++;
    if (set != &c->s.confirmed) abort();
}

static const char *const SYMS[] = {"AAPL", "MSFT", "TSLA", "O:SPY1", "EUR/USD", "BTC-USD", "*"};

/* Toggles (kind, symbol) picked by the command's bytes. */
static void change_want(ctx_t *c, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned b = (unsigned char)p[i];
        td_kind_t k = (td_kind_t)(b % TD_KIND__COUNT);
        const char *sym = SYMS[(b / TD_KIND__COUNT) % 7];
        if (!td_subset_remove(&c->want, k, sym, strlen(sym)))
            td_subset_add(&c->want, k, sym, strlen(sym));
    }
    td_csess_reconcile(&c->s);
}

/* What is requested follows `want` (over the stream's kinds), within the
 * symbol limit. */
static void check_requested(const ctx_t *c)
{
    const td_csess_t *s = &c->s;
    if (s->phase != TD_CSESS_SUBSCRIBING && s->phase != TD_CSESS_STREAMING) return;
    if (s->cfg.max_symbols) {
        if (td_subset_count_symbols(&s->requested, ~0u) > s->cfg.max_symbols) abort();
        return;
    }
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *r = &s->requested.k[k], *w = &c->want.k[k];
        if (!(s->cfg.kinds & (1u << k))) continue;
        if (r->all != w->all || r->n != w->n) abort();
        for (size_t i = 0; i < r->n; i++)
            if (strcmp(r->v[i], w->v[i]) != 0) abort();
    }
}

static void step(ctx_t *c, const char *p, size_t n, uint64_t *now)
{
    if (n >= 2 && p[0] == '!' && p[1] == 'w') {
        change_want(c, p + 2, n - 2);
    } else if (n >= 2 && p[0] == '!' && p[1] == 't') {
        *now += n > 2 ? (uint64_t)(unsigned char)p[2] * 100 : 16000;
        td_csess_tick(&c->s, *now);
    } else if (n >= 2 && p[0] == '!' && p[1] == 'e') {
        td_csess_end(&c->s);
        c->closed = 0;
        td_csess_begin(&c->s, *now);
    } else {
        /* An exact-size copy, so ASan catches any read past the message. */
        char *m = malloc(n ? n : 1);
        if (n) memcpy(m, p, n);
        size_t calls = c->calls;
        if (td_csess_read(&c->s, m, n) != 0 && c->calls != calls) abort();
        free(m);
    }
    check_requested(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned sel = data[0];
    int polygon = sel & 1;
    ctx_t c;
    memset(&c, 0, sizeof c);
    td_subset_init(&c.want);
    td_subset_add(&c.want, TD_KIND_TRADE, "AAPL", 4);
    td_subset_add(&c.want, TD_KIND_QUOTE, "*", 1);
    td_polygon_cluster_t cl = (td_polygon_cluster_t)((sel >> 1) % TD_POLYGON__CLUSTERS);
    td_csess_cfg_t cfg = {.key = "PK\"KEY",
                          .secret = "sec\\ret",
                          .path = "/v2/iex",
                          .kinds = polygon ? td_polygon_kinds(cl) : ~0u,
                          .cluster = (int)cl,
                          .max_symbols = (sel >> 3) & 3,
                          .max_sub_bytes = MAX_SUB,
                          .want = &c.want};
    static const td_csess_cb_t cb = {on_send, on_event, on_decision, on_log, on_confirmed};
    td_csess_init(&c.s, polygon ? &td_csess_polygon : &td_csess_alpaca, &cfg, &cb, &c);
    uint64_t now = 1000;
    td_csess_begin(&c.s, now);
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        step(&c, p, (size_t)(e - p), &now);
        p = nl ? nl + 1 : end;
    }
    td_csess_end(&c.s);
    td_csess_free(&c.s);
    td_subset_free(&c.want);
    return 0;
}
