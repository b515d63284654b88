/* SPDX-License-Identifier: Apache-2.0 */
/* Polygon splitter throughput: 1,000,000 events in frames of 100, split
 * with a callback doing a router's work (count per kind, hash the symbol
 * into 1024 buckets), as bench_split does for Alpaca. Two mixes:
 * - stocks: 65% Q, 33% T, 2% AM, ~500 symbols incl. BRK.B, ms timestamps;
 * - crypto: 60% XQ, 35% XT, 5% XL2 (5 levels a side), 50 pairs.
 * Several repetitions; the best and the median are reported.
 *
 *   bench_polygon [events] [reps]      (defaults 1000000 and 9) */
#include "core/buf.h"
#include "core/rng.h"
#include "proto/polygon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PER_FRAME 100
#define NSYMS     500
#define BUCKETS   1024

typedef struct {
    uint64_t kinds[TD_KIND__COUNT];
    uint64_t buckets[BUCKETS];
} router_t;

static void on_event(void *ud, const td_event_t *ev)
{
    router_t *r = ud;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < ev->symbol_len; i++)
        h = (h ^ (unsigned char)ev->symbol[i]) * 16777619u;
    r->kinds[ev->kind]++;
    r->buckets[h & (BUCKETS - 1)]++;
}

static void on_status(void *ud, const td_polygon_status_t *st)
{
    (void)ud;
    (void)st;
}

/* ---- data ----------------------------------------------------------------- */

static void make_symbols(td_rng_t *rng, char syms[][12], int crypto)
{
    static const char *const real[] = {"AAPL",  "MSFT", "AMZN", "NVDA", "GOOGL", "META", "TSLA",
                                       "BRK.B", "SPY",  "QQQ",  "AMD",  "IWM",   "JPM",  "V"};
    for (size_t i = 0; i < NSYMS; i++) {
        if (!crypto && i < sizeof real / sizeof *real) {
            strcpy(syms[i], real[i]);
            continue;
        }
        size_t len = crypto ? 3 : 1 + td_rng_below(rng, 4) + (td_rng_below(rng, 4) != 0);
        for (size_t k = 0; k < len; k++)
            syms[i][k] = (char)('A' + td_rng_below(rng, 26));
        strcpy(syms[i] + len, crypto ? "-USD" : "");
    }
}

static void put_stock(td_buf_t *b, td_rng_t *rng, const char *sym, int64_t ms)
{
    double px = 20 + (double)(sym[0] - 'A') * 17.3 + td_rng_unit(rng);
    unsigned r = (unsigned)td_rng_below(rng, 100);
    unsigned x1 = 1 + (unsigned)td_rng_below(rng, 20), x2 = 1 + (unsigned)td_rng_below(rng, 20);
    if (r < 65)
        td_buf_appendf(b,
                       "{\"ev\":\"Q\",\"sym\":\"%s\",\"bx\":%u,\"bp\":%.2f,\"bs\":%u,\"ax\":%u,"
                       "\"ap\":%.2f,\"as\":%u,\"c\":0,\"i\":[604],\"t\":%lld,\"q\":%u,\"z\":3}",
                       sym, x1, px, 1 + (unsigned)td_rng_below(rng, 20), x2, px + 0.01,
                       1 + (unsigned)td_rng_below(rng, 20), (long long)ms,
                       (unsigned)td_rng_below(rng, 90000000));
    else if (r < 98)
        td_buf_appendf(b,
                       "{\"ev\":\"T\",\"sym\":\"%s\",\"x\":%u,\"i\":\"%llu\",\"z\":3,\"p\":%.4g,"
                       "\"s\":%u,\"c\":[14,41],\"t\":%lld,\"q\":%u}",
                       sym, x1, (unsigned long long)td_rng_below(rng, 100000000000ull), px,
                       1 + (unsigned)td_rng_below(rng, 500), (long long)ms,
                       (unsigned)td_rng_below(rng, 90000000));
    else
        td_buf_appendf(b,
                       "{\"ev\":\"AM\",\"sym\":\"%s\",\"v\":%u,\"av\":9470157,\"op\":%.4f,"
                       "\"vw\":%.4f,\"o\":%.4f,\"c\":%.4f,\"h\":%.4f,\"l\":%.4f,\"a\":%.4f,"
                       "\"z\":685,\"s\":%lld,\"e\":%lld}",
                       sym, (unsigned)td_rng_below(rng, 90000), px, px, px, px + 0.1, px + 0.4,
                       px - 0.3, px, (long long)(ms - 60000), (long long)ms);
}

static void put_crypto(td_buf_t *b, td_rng_t *rng, const char *sym, int64_t ms)
{
    double px = 100 + (double)(sym[0] - 'A') * 173.1 + td_rng_unit(rng);
    unsigned r = (unsigned)td_rng_below(rng, 100), x = 1 + (unsigned)td_rng_below(rng, 4);
    if (r < 60) {
        td_buf_appendf(b,
                       "{\"ev\":\"XQ\",\"pair\":\"%s\",\"bp\":%.2f,\"bs\":%.5f,\"ap\":%.2f,"
                       "\"as\":%.5f,\"t\":%lld,\"x\":%u,\"r\":%lld}",
                       sym, px, td_rng_unit(rng), px + 0.5, td_rng_unit(rng), (long long)ms, x,
                       (long long)ms + 12);
    } else if (r < 95) {
        td_buf_appendf(b,
                       "{\"ev\":\"XT\",\"pair\":\"%s\",\"p\":%.2f,\"t\":%lld,\"s\":%.8f,"
                       "\"c\":[%u],\"i\":%llu,\"x\":%u,\"r\":%lld}",
                       sym, px, (long long)ms, td_rng_unit(rng), 1 + (unsigned)td_rng_below(rng, 2),
                       (unsigned long long)td_rng_below(rng, 100000000), x, (long long)ms + 12);
    } else {
        td_buf_appendf(b, "{\"ev\":\"XL2\",\"pair\":\"%s\",\"t\":%lld,\"r\":%lld,\"x\":%u,\"b\":[",
                       sym, (long long)ms, (long long)ms + 12, x);
        for (int i = 0; i < 5; i++)
            td_buf_appendf(b, "%s[%.2f,%.5f]", i ? "," : "", px - i, td_rng_unit(rng));
        td_buf_appends(b, "],\"a\":[");
        for (int i = 0; i < 5; i++)
            td_buf_appendf(b, "%s[%.2f,%.5f]", i ? "," : "", px + 1 + i, td_rng_unit(rng));
        td_buf_appends(b, "]}");
    }
}

/* All frames back to back in b; off[i] is where frame i starts. */
static size_t make_frames(td_buf_t *b, size_t **off, size_t events, int crypto)
{
    td_rng_t rng;
    char syms[NSYMS][12];
    td_rng_seed(&rng, 42);
    make_symbols(&rng, syms, crypto);
    size_t nframes = (events + PER_FRAME - 1) / PER_FRAME;
    *off = malloc((nframes + 1) * sizeof **off);
    int64_t ms = 1709305200000; /* 2024-03-01T15:00:00Z */
    for (size_t f = 0, e = 0; f < nframes; f++) {
        (*off)[f] = b->len;
        td_buf_appendc(b, '[');
        for (size_t i = 0; i < PER_FRAME && e < events; i++, e++) {
            if (i) td_buf_appendc(b, ',');
            /* Skewed popularity: a few symbols carry most of the flow. */
            size_t s = td_rng_below(&rng, 3) ? td_rng_below(&rng, 40)
                                             : td_rng_below(&rng, crypto ? 50 : NSYMS);
            ms += (int64_t)td_rng_below(&rng, 3);
            (crypto ? put_crypto : put_stock)(b, &rng, syms[s], ms);
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run(const char *name, td_polygon_cluster_t c, size_t events, int reps)
{
    td_buf_t b = TD_BUF_INIT;
    size_t *off;
    size_t nframes = make_frames(&b, &off, events, c == TD_POLYGON_CRYPTO);
    td_polygon_cb_t cb = {on_event, on_status};
    double t[100];
    router_t r;
    for (int i = 0; i < reps; i++) {
        td_polygon_stats_t st = {0};
        memset(&r, 0, sizeof r);
        double t0 = now_s();
        for (size_t f = 0; f < nframes; f++)
            if (td_polygon_split(c, b.data + off[f], off[f + 1] - off[f], &cb, &r, &st) != 0)
                abort();
        t[i] = now_s() - t0;
        if (st.events != events || st.unknown) {
            fprintf(stderr, "bench_polygon: %s: %llu events of %zu\n", name,
                    (unsigned long long)st.events, events);
            return 1;
        }
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double mb = (double)b.len / 1e6, ev = (double)events;
    printf("%s: %zu frames x %d events, %.1f MB (%.0f bytes/event), %d repetitions\n", name,
           nframes, PER_FRAME, mb, (double)b.len / ev, reps);
    printf("%s: best %.2f M events/s (%.0f MB/s), median %.2f M events/s (%.0f MB/s)\n", name,
           ev / t[0] / 1e6, mb / t[0], ev / t[reps / 2] / 1e6, mb / t[reps / 2]);
    free(off);
    td_buf_free(&b);
    return 0;
}

int main(int argc, char **argv)
{
    size_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 9;
    if (events == 0 || reps < 1 || reps > 100) return 2;
    return run("stocks", TD_POLYGON_STOCKS, events, reps) ||
           run("crypto", TD_POLYGON_CRYPTO, events, reps);
}
