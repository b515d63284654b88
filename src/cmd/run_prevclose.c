/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd run --rest-url: the previous close of each symbol a gateway
 * client asks for, served as Alpaca's GET /v2/stocks/snapshots does
 * ({"AAPL":{"dailyBar":{...},"prevDailyBar":{...}}}), so that a quote
 * board computes the change against the previous close. The daily bars
 * come from the vendor's REST data API (one GET /v2/stocks/bars per batch
 * of up to 100 symbols, the last two weeks of 1Day bars: dailyBar is the
 * last, prevDailyBar the one before, as in Alpaca's snapshot), cached per
 * symbol (15 min; a failure or a symbol without two bars: 60 s).
 *
 * A request is answered at once from the cache: a symbol not known yet is
 * null and its fetch starts; the page asks again. Nothing in a request
 * waits for the vendor, so the gateway's HTTP handling stays synchronous. */
#include "cmd/run_app.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "proto/bars.h"
#include "proto/snapshot.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SYMBOLS  10000 /* cached; beyond, new symbols are answered null */
#define MAX_PER_ASK  200   /* symbols in one snapshots request */
#define BATCH        100   /* symbols in one request to the vendor */
#define FRESH_MS     (15 * 60 * 1000)
#define RETRY_MS     (60 * 1000)
#define HISTORY_DAYS 14

enum { P_WANTED, P_INFLIGHT, P_OK, P_NONE };

typedef struct {
    char sym[TD_BARS_MAX_SYM + 1];
    int state, had; /* had: daily/prev hold a previous answer */
    unsigned batch; /* the batch fetching it (P_INFLIGHT) */
    uint64_t at_ms; /* when the last answer came */
    td_bar_t daily, prev;
} prev_entry;

typedef struct batch_s {
    struct batch_s *next;
    app_t *a;
    td_http_req_t *req;
    unsigned id;
} batch_t;

struct run_prev_s {
    prev_entry *v;
    size_t n, cap;
    batch_t *batches; /* in flight */
    unsigned next_id;
    td_ratelimit_t rl;
};

static prev_entry *find(struct run_prev_s *p, const char *sym, size_t n)
{
    for (size_t i = 0; i < p->n; i++)
        if (strlen(p->v[i].sym) == n && memcmp(p->v[i].sym, sym, n) == 0) return &p->v[i];
    if (p->n == MAX_SYMBOLS) return NULL;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = td_xrealloc(p->v, p->cap * sizeof *p->v);
    }
    prev_entry *e = &p->v[p->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->sym, sym, n);
    e->state = P_WANTED;
    return e;
}

/* The answer to one batch: the last two bars of each of its symbols. */
static void on_bars(void *ud, const td_http_result_t *res)
{
    batch_t *bt = ud, **pp;
    app_t *a = bt->a;
    struct run_prev_s *p = a->prev;
    unsigned id = bt->id;
    for (pp = &p->batches; *pp != bt; pp = &(*pp)->next)
        ;
    *pp = bt->next;
    free(bt);
    td_bars_page_t page = TD_BARS_PAGE_INIT;
    int ok = !res->error && res->status == 200 &&
             td_bars_parse_alpaca(res->body, res->body_len, NULL, &page) == 0;
    if (!ok && td_ratelimit_ok(&p->rl, uv_now(&a->loop), NULL))
        TD_WARN("--rest-url: daily bars for the previous close: %s%s%s",
                res->error ? res->error : "", res->error ? "" : "HTTP status ",
                res->error ? "" : (page.message[0] ? page.message : "not 200"));
    uint64_t now = uv_now(&a->loop);
    for (size_t i = 0; i < p->n; i++) {
        prev_entry *e = &p->v[i];
        if (e->state != P_INFLIGHT || e->batch != id) continue; /* another batch's */
        const td_bar_t *last = NULL, *before = NULL;
        for (size_t j = 0; ok && j < page.n; j++)
            if (strcmp(page.bars[j].symbol, e->sym) == 0) before = last, last = &page.bars[j];
        e->at_ms = now;
        if (last && before) {
            e->daily = *last, e->prev = *before, e->had = 1;
            e->state = P_OK;
        } else {
            e->state = P_NONE;
        }
    }
    td_bars_page_free(&page);
}

/* One GET for the wanted symbols (at most BATCH of them). */
static void fetch(app_t *a)
{
    struct run_prev_s *p = a->prev;
    td_buf_t url = TD_BUF_INIT;
    size_t n = 0;
    const char *base = a->cfg.rest_url;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    td_buf_appendf(&url, "%.*s/v2/stocks/bars?symbols=", (int)bl, base);
    unsigned id = ++p->next_id;
    for (size_t i = 0; i < p->n && n < BATCH; i++) {
        if (p->v[i].state != P_WANTED) continue;
        td_buf_appendf(&url, "%s%s", n ? "," : "", p->v[i].sym);
        p->v[i].state = P_INFLIGHT;
        p->v[i].batch = id;
        n++;
    }
    int64_t day = td_floor_div(td_now_ns() / 1000000000, 86400) - HISTORY_DAYS;
    int y, m, d;
    td_civil_from_days(day, &y, &m, &d);
    /* the stream's feed (sip needs a plan that has it; iex is every plan's) */
    int sip = 0;
    for (size_t i = 0; i < a->cfg.url.n; i++)
        sip |= strstr(a->cfg.url.v[i], "/v2/sip") != NULL;
    td_buf_appendf(&url, "&timeframe=1Day&start=%04d-%02d-%02d&limit=10000&feed=%s", y, m, d,
                   sip ? "sip" : "iex");
    td_buf_appendc(&url, '\0');
    td_buf_t hk = TD_BUF_INIT, hs = TD_BUF_INIT;
    td_buf_appendf(&hk, "APCA-API-KEY-ID: %s%c", a->cfg.key ? a->cfg.key : "", 0);
    td_buf_appendf(&hs, "APCA-API-SECRET-KEY: %s%c", a->cfg.secret ? a->cfg.secret : "", 0);
    const char *headers[] = {hk.data, hs.data, NULL};
    batch_t *bt = td_xcalloc(1, sizeof *bt);
    bt->a = a;
    bt->id = id;
    bt->req = td_http_request(a->http, NULL, url.data, headers, NULL, 0, 10000, on_bars, bt);
    if (bt->req) {
        bt->next = p->batches;
        p->batches = bt;
    } else {
        free(bt);
        for (size_t i = 0; i < p->n; i++)
            if (p->v[i].state == P_INFLIGHT && p->v[i].batch == id)
                p->v[i].state = P_NONE, p->v[i].at_ms = uv_now(&a->loop);
    }
    memset(hs.data, 0, hs.len);
    td_buf_free(&hk);
    td_buf_free(&hs);
    td_buf_free(&url);
}

typedef struct {
    app_t *a;
    td_buf_t *out;
    size_t n, wanted;
} answer_t;

/* One symbol of the answer: its bars if known; else null (and fetched). */
static void answer_one(void *ud, const char *sym, size_t n)
{
    answer_t *an = ud;
    struct run_prev_s *p = an->a->prev;
    uint64_t now = uv_now(&an->a->loop);
    prev_entry *e = find(p, sym, n);
    if (e && ((e->state == P_OK && now - e->at_ms > FRESH_MS) ||
              (e->state == P_NONE && now - e->at_ms > RETRY_MS)))
        e->state = P_WANTED;
    an->wanted += e && e->state == P_WANTED;
    td_buf_appendf(an->out, "%s\"%.*s\":", an->n++ ? "," : "", (int)n, sym);
    if (e && e->had) {
        td_buf_appendc(an->out, '{');
        td_snapshot_bar_json(an->out, "dailyBar", &e->daily);
        td_buf_appendc(an->out, ',');
        td_snapshot_bar_json(an->out, "prevDailyBar", &e->prev);
        td_buf_appendc(an->out, '}');
    } else {
        td_buf_appends(an->out, "null");
    }
}

int td__run_snapshots(void *ud, const char *symbols, td_buf_t *out)
{
    answer_t an = {ud, out, 0, 0};
    const char *why;
    if (td_snapshot_symbols(symbols, MAX_PER_ASK, NULL, NULL, &why) < 0) {
        td_buf_appendf(out, "{\"message\":\"%s\"}\n", why);
        return 400;
    }
    td_buf_appendc(out, '{');
    td_snapshot_symbols(symbols, MAX_PER_ASK, answer_one, &an, &why);
    td_buf_appends(out, "}\n");
    for (size_t w = an.wanted; w; w = w > BATCH ? w - BATCH : 0)
        fetch(an.a); /* batches of BATCH */
    return 200;
}

void td__run_prev_setup(app_t *a)
{
    a->prev = td_xcalloc(1, sizeof *a->prev);
    a->prev->rl = (td_ratelimit_t)TD_RATELIMIT_INIT(60000, 1);
    if (!a->http) a->http = td_http_new(&a->loop, NULL);
}

void td__run_prev_free(app_t *a)
{
    struct run_prev_s *p = a->prev;
    if (!p) return;
    while (p->batches) { /* cancelled by td_http_stop: no callback came */
        batch_t *bt = p->batches;
        p->batches = bt->next;
        free(bt);
    }
    free(p->v);
    free(p);
    a->prev = NULL;
}
