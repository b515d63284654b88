/* SPDX-License-Identifier: Apache-2.0 */
/* Splitter throughput: 1,000,000 Alpaca stock events in frames of 100 (70%
 * quotes, 25% trades, 4% bars, 1% statuses; ~500 symbols incl. BRK.B; RFC
 * 3339 nanosecond timestamps), split with a callback doing a router's work
 * (count per kind, hash the symbol into 1024 buckets). In the same run, the
 * same frames go through jsmn (strict, parent links): tokenize, find each
 * element's T and S, and do the same routing work. Several repetitions of
 * each, interleaved; the best and the median are reported.
 *
 *   bench_split [events] [reps]      (defaults 1000000 and 9) */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/rng.h"
#include "proto/alpaca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PER_FRAME 100
#define NSYMS     500
#define BUCKETS   1024
#define MAXTOK    8192

typedef struct {
    uint64_t kinds[TD_KIND__COUNT];
    uint64_t buckets[BUCKETS];
} router_t;

static inline void route(router_t *r, int kind, const char *sym, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)sym[i]) * 16777619u;
    r->kinds[kind]++;
    r->buckets[h & (BUCKETS - 1)]++;
}

static void on_event(void *ud, const td_event_t *ev)
{
    route(ud, ev->kind, ev->symbol, ev->symbol_len);
}

static void on_control(void *ud, const td_alpaca_ctl_t *c)
{
    (void)ud;
    (void)c;
}

/* ---- data ----------------------------------------------------------------- */

static void make_symbols(td_rng_t *rng, char syms[][8])
{
    static const char *const real[] = {"AAPL",  "MSFT", "AMZN", "NVDA", "GOOGL", "META", "TSLA",
                                       "BRK.B", "SPY",  "QQQ",  "AMD",  "IWM",   "JPM",  "V"};
    size_t nreal = sizeof real / sizeof *real;
    for (size_t i = 0; i < NSYMS; i++) {
        if (i < nreal) {
            strcpy(syms[i], real[i]);
            continue;
        }
        size_t len = 1 + td_rng_below(rng, 4) + (td_rng_below(rng, 4) != 0);
        for (size_t k = 0; k < len; k++)
            syms[i][k] = (char)('A' + td_rng_below(rng, 26));
        syms[i][len] = '\0';
    }
}

static void put_event(td_buf_t *b, td_rng_t *rng, const char *sym, int64_t *ns)
{
    static const char ex[] = "VQKPZNHJ";
    char ts[TD_RFC3339_MAX];
    *ns += (int64_t)td_rng_below(rng, 2000000);
    td_rfc3339_format(ts, *ns);
    double px = 20 + (double)(sym[0] - 'A') * 17.3 + td_rng_unit(rng);
    unsigned r = (unsigned)td_rng_below(rng, 100);
    char x1 = ex[td_rng_below(rng, 8)], x2 = ex[td_rng_below(rng, 8)];
    if (r < 70)
        td_buf_appendf(
            b,
            "{\"T\":\"q\",\"S\":\"%s\",\"bx\":\"%c\",\"bp\":%.2f,\"bs\":%u,\"ax\":\"%c\","
            "\"ap\":%.2f,\"as\":%u,\"c\":[\"R\"],\"z\":\"C\",\"t\":\"%s\"}",
            sym, x1, px, 1 + (unsigned)td_rng_below(rng, 20), x2, px + 0.01,
            1 + (unsigned)td_rng_below(rng, 20), ts);
    else if (r < 95)
        td_buf_appendf(
            b,
            "{\"T\":\"t\",\"S\":\"%s\",\"i\":%llu,\"x\":\"%c\",\"p\":%.4g,\"s\":%u,\"c\":"
            "[\"@\",\"I\"],\"z\":\"C\",\"t\":\"%s\"}",
            sym, (unsigned long long)td_rng_below(rng, 100000000000ull), x1, px,
            1 + (unsigned)td_rng_below(rng, 500), ts);
    else if (r < 99)
        td_buf_appendf(
            b,
            "{\"T\":\"b\",\"S\":\"%s\",\"o\":%.2f,\"h\":%.2f,\"l\":%.2f,\"c\":%.2f,\"v\":%u,"
            "\"t\":\"%.17s00Z\",\"n\":%u,\"vw\":%.4f}",
            sym, px, px + 0.4, px - 0.3, px + 0.1, (unsigned)td_rng_below(rng, 90000), ts,
            (unsigned)td_rng_below(rng, 900), px + 0.05);
    else
        td_buf_appendf(
            b,
            "{\"T\":\"s\",\"S\":\"%s\",\"sc\":\"H\",\"sm\":\"Trading Halt\",\"rc\":\"T12\","
            "\"rm\":\"Trading Halted; For information requested by NASDAQ\",\"t\":\"%s\","
            "\"z\":\"C\"}",
            sym, ts);
}

/* All frames back to back in b; off[i] is where frame i starts. */
static size_t make_frames(td_buf_t *b, size_t **off, size_t events)
{
    td_rng_t rng;
    char syms[NSYMS][8];
    td_rng_seed(&rng, 42);
    make_symbols(&rng, syms);
    size_t nframes = (events + PER_FRAME - 1) / PER_FRAME;
    *off = malloc((nframes + 1) * sizeof **off);
    int64_t ns = 1709305200000000000; /* 2024-03-01T15:00:00Z */
    for (size_t f = 0, e = 0; f < nframes; f++) {
        (*off)[f] = b->len;
        td_buf_appendc(b, '[');
        for (size_t i = 0; i < PER_FRAME && e < events; i++, e++) {
            if (i) td_buf_appendc(b, ',');
            /* Skewed popularity: a few symbols carry most of the flow. */
            size_t s = td_rng_below(&rng, 3) ? td_rng_below(&rng, 40) : td_rng_below(&rng, NSYMS);
            put_event(b, &rng, syms[s], &ns);
        }
        td_buf_appendc(b, ']');
    }
    (*off)[nframes] = b->len;
    return nframes;
}

/* ---- runs ----------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t run_split(const td_buf_t *b, const size_t *off, size_t nframes, router_t *r)
{
    td_alpaca_cb_t cb = {on_event, on_control};
    td_alpaca_stats_t st = {0};
    for (size_t f = 0; f < nframes; f++)
        if (td_alpaca_split(b->data + off[f], off[f + 1] - off[f], &cb, r, &st) != 0) abort();
    return st.events;
}

static int tok_is(const char *js, const jsmntok_t *t, char c)
{
    return t->type == JSMN_STRING && t->end - t->start == 1 && js[t->start] == c;
}

static uint64_t run_jsmn(const td_buf_t *b, const size_t *off, size_t nframes, router_t *r,
                         jsmntok_t *tok)
{
    uint64_t events = 0;
    for (size_t f = 0; f < nframes; f++) {
        const char *js = b->data + off[f];
        jsmn_parser p;
        jsmn_init(&p);
        int n = jsmn_parse(&p, js, off[f + 1] - off[f], tok, MAXTOK);
        if (n < 1 || tok[0].type != JSMN_ARRAY) abort();
        for (int e = 1; e < n;) {
            const jsmntok_t *T = NULL, *S = NULL;
            int i = e + 1;
            for (; i < n && tok[i].start < tok[e].end; i++) {
                if (tok[i].parent != e) continue;
                if (tok_is(js, &tok[i], 'T')) T = &tok[i + 1];
                if (tok_is(js, &tok[i], 'S')) S = &tok[i + 1];
            }
            if (T && S && T->end - T->start == 1) {
                static const char letters[] = "tqbds";
                static const int kinds[] = {TD_KIND_TRADE, TD_KIND_QUOTE, TD_KIND_BAR,
                                            TD_KIND_DAILY_BAR, TD_KIND_STATUS};
                const char *at = strchr(letters, js[T->start]);
                if (at) {
                    route(r, kinds[at - letters], js + S->start, (size_t)(S->end - S->start));
                    events++;
                }
            }
            e = i;
        }
    }
    return events;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 9;
    if (events == 0 || reps < 1 || reps > 100) return 2;
    td_buf_t b = TD_BUF_INIT;
    size_t *off;
    size_t nframes = make_frames(&b, &off, events);
    jsmntok_t *tok = malloc(MAXTOK * sizeof *tok);
    double ts[100], tj[100];
    router_t rs, rj;
    for (int i = 0; i < reps; i++) {
        memset(&rs, 0, sizeof rs);
        memset(&rj, 0, sizeof rj);
        double t0 = now_s();
        uint64_t es = run_split(&b, off, nframes, &rs);
        double t1 = now_s();
        uint64_t ej = run_jsmn(&b, off, nframes, &rj, tok);
        double t2 = now_s();
        if (es != events || ej != events || memcmp(&rs, &rj, sizeof rs) != 0) {
            fprintf(stderr, "bench_split: splitter and jsmn disagree\n");
            return 1;
        }
        ts[i] = t1 - t0;
        tj[i] = t2 - t1;
    }
    qsort(ts, (size_t)reps, sizeof *ts, cmp_double);
    qsort(tj, (size_t)reps, sizeof *tj, cmp_double);
    double mb = (double)b.len / 1e6, ev = (double)events;
    printf("frames: %zu x %d events, %.1f MB (%.0f bytes/event), %d repetitions\n", nframes,
           PER_FRAME, mb, (double)b.len / ev, reps);
    printf("split: best %.2f M events/s (%.0f MB/s), median %.2f M events/s (%.0f MB/s)\n",
           ev / ts[0] / 1e6, mb / ts[0], ev / ts[reps / 2] / 1e6, mb / ts[reps / 2]);
    printf("jsmn:  best %.2f M events/s (%.0f MB/s), median %.2f M events/s (%.0f MB/s)\n",
           ev / tj[0] / 1e6, mb / tj[0], ev / tj[reps / 2] / 1e6, mb / tj[reps / 2]);
    printf("ratio_vs_jsmn: %.2f (best), %.2f (median)\n", tj[0] / ts[0],
           tj[reps / 2] / ts[reps / 2]);
    free(tok);
    free(off);
    td_buf_free(&b);
    return 0;
}
