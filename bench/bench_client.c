/* SPDX-License-Identifier: Apache-2.0 */
/* libtickerd decode + dispatch throughput, in memory, one core: Polygon
 * stocks frames (65% Q, 33% T, 2% AM; 500 symbols incl. BRK.B; frames of
 * 100; ms timestamps; the generator of bench_polygon) pushed through
 * td__client_feed_frame (src/client/client_int.h): the feed's Polygon read
 * (td_polygon_split) -> td__feed_event -> the client's dispatch -> the
 * per-service handler, on a client subscribed to stock_trades,
 * stock_quotes and stock_bars for "*", as a connected client would be.
 *
 * Three passes over the same frames, interleaved, several repetitions:
 *   client:   handlers that call one typed accessor (trades price, quotes
 *             bid price, bars close) and tickerd_event_timestamp_ns per event
 *   dispatch: handlers that only count (decode + dispatch, no accessor)
 *   split:    td_polygon_split with empty callbacks (the ceiling)
 * Every pass checks its counts per kind (and the client pass that no
 * accessor failed). The best and the median are reported.
 *
 *   bench_client [events] [reps]      (defaults 1000000 and 9)
 *
 * libtickerd exports only tickerd_*; the hook is internal, so the client's
 * sources are compiled into this file (same code, same flags as the
 * library). */
#pragma GCC diagnostic push
/* inlined differently here than in the library: a truncated state detail is fine */
#if defined(__GNUC__) && !defined(__clang__) /* a gcc-only warning */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
#include "client/client.c"
#include "client/event.c"
#include "client/services.c"
#pragma GCC diagnostic pop
#include "core/buf.h"
#include "core/rng.h"
#include "proto/polygon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PER_FRAME 100
#define NSYMS     500
#define MAX_REPS  100

/* ---- data (as bench_polygon's stocks mix) ---------------------------------- */

static void make_symbols(td_rng_t *rng, char syms[][12])
{
    static const char *const real[] = {"AAPL",  "MSFT", "AMZN", "NVDA", "GOOGL", "META", "TSLA",
                                       "BRK.B", "SPY",  "QQQ",  "AMD",  "IWM",   "JPM",  "V"};
    for (size_t i = 0; i < NSYMS; i++) {
        if (i < sizeof real / sizeof *real) {
            strcpy(syms[i], real[i]);
            continue;
        }
        size_t len = 1 + td_rng_below(rng, 4) + (td_rng_below(rng, 4) != 0);
        for (size_t k = 0; k < len; k++)
            syms[i][k] = (char)('A' + td_rng_below(rng, 26));
        syms[i][len] = '\0';
    }
}

/* Appends one event; returns its kind. */
static td_kind_t put_stock(td_buf_t *b, td_rng_t *rng, const char *sym, int64_t ms)
{
    double px = 20 + (double)(sym[0] - 'A') * 17.3 + td_rng_unit(rng);
    unsigned r = (unsigned)td_rng_below(rng, 100);
    unsigned x1 = 1 + (unsigned)td_rng_below(rng, 20), x2 = 1 + (unsigned)td_rng_below(rng, 20);
    if (r < 65) {
        td_buf_appendf(b,
                       "{\"ev\":\"Q\",\"sym\":\"%s\",\"bx\":%u,\"bp\":%.2f,\"bs\":%u,\"ax\":%u,"
                       "\"ap\":%.2f,\"as\":%u,\"c\":0,\"i\":[604],\"t\":%lld,\"q\":%u,\"z\":3}",
                       sym, x1, px, 1 + (unsigned)td_rng_below(rng, 20), x2, px + 0.01,
                       1 + (unsigned)td_rng_below(rng, 20), (long long)ms,
                       (unsigned)td_rng_below(rng, 90000000));
        return TD_KIND_QUOTE;
    }
    if (r < 98) {
        td_buf_appendf(b,
                       "{\"ev\":\"T\",\"sym\":\"%s\",\"x\":%u,\"i\":\"%llu\",\"z\":3,\"p\":%.4g,"
                       "\"s\":%u,\"c\":[14,41],\"t\":%lld,\"q\":%u}",
                       sym, x1, (unsigned long long)td_rng_below(rng, 100000000000ull), px,
                       1 + (unsigned)td_rng_below(rng, 500), (long long)ms,
                       (unsigned)td_rng_below(rng, 90000000));
        return TD_KIND_TRADE;
    }
    td_buf_appendf(b,
                   "{\"ev\":\"AM\",\"sym\":\"%s\",\"v\":%u,\"av\":9470157,\"op\":%.4f,"
                   "\"vw\":%.4f,\"o\":%.4f,\"c\":%.4f,\"h\":%.4f,\"l\":%.4f,\"a\":%.4f,"
                   "\"z\":685,\"s\":%lld,\"e\":%lld}",
                   sym, (unsigned)td_rng_below(rng, 90000), px, px, px, px + 0.1, px + 0.4,
                   px - 0.3, px, (long long)(ms - 60000), (long long)ms);
    return TD_KIND_BAR;
}

/* All frames back to back in b; off[i] is where frame i starts; n[kind]
 * counts the events. */
static size_t make_frames(td_buf_t *b, size_t **off, size_t events, uint64_t n[TD_KIND__COUNT])
{
    td_rng_t rng;
    char syms[NSYMS][12];
    td_rng_seed(&rng, 42);
    make_symbols(&rng, syms);
    size_t nframes = (events + PER_FRAME - 1) / PER_FRAME;
    *off = malloc((nframes + 1) * sizeof **off);
    int64_t ms = 1709305200000; /* 2024-03-01T15:00:00Z */
    for (size_t f = 0, e = 0; f < nframes; f++) {
        (*off)[f] = b->len;
        td_buf_appendc(b, '[');
        for (size_t i = 0; i < PER_FRAME && e < events; i++, e++) {
            if (i) td_buf_appendc(b, ',');
            /* Skewed popularity: a few symbols carry most of the flow. */
            size_t s = td_rng_below(&rng, 3) ? td_rng_below(&rng, 40) : td_rng_below(&rng, NSYMS);
            ms += (int64_t)td_rng_below(&rng, 3);
            n[put_stock(b, &rng, syms[s], ms)]++;
        }
        td_buf_appendc(b, ']');
    }
    (*off)[nframes] = b->len;
    return nframes;
}

/* ---- handlers -------------------------------------------------------------- */

typedef struct counts_s {
    uint64_t n[TD_KIND__COUNT];
    uint64_t bad;   /* an accessor returned -1, or a timestamp before 2024 */
    double sum;     /* of the values read, so they are used */
    int64_t t_last; /* last timestamp_ns */
} counts_t;

static void access_common(counts_t *k, const tickerd_event_t *ev, int rc, double v)
{
    int64_t t = 0;
    if (rc != 0 || tickerd_event_timestamp_ns(ev, &t) != 0 || t < 1704067200000000000LL) k->bad++;
    k->sum += v;
    k->t_last = t;
}

static void h_trade(tickerd_client_t *c, const tickerd_event_t *ev, void *user)
{
    counts_t *k = user;
    double v = 0;
    (void)c;
    k->n[TD_KIND_TRADE]++;
    int rc = tickerd_event_price(ev, &v);
    access_common(k, ev, rc, v);
}

static void h_quote(tickerd_client_t *c, const tickerd_event_t *ev, void *user)
{
    counts_t *k = user;
    double v = 0;
    (void)c;
    k->n[TD_KIND_QUOTE]++;
    int rc = tickerd_event_bid_price(ev, &v);
    access_common(k, ev, rc, v);
}

static void h_bar(tickerd_client_t *c, const tickerd_event_t *ev, void *user)
{
    counts_t *k = user;
    double v = 0;
    (void)c;
    k->n[TD_KIND_BAR]++;
    int rc = tickerd_event_close(ev, &v);
    access_common(k, ev, rc, v);
}

/* dispatch only: count by service, no accessor */
static void h_count(tickerd_client_t *c, const tickerd_event_t *ev, void *user)
{
    counts_t *k = user;
    (void)c;
    k->n[tdc_service_kind(ev->service)]++;
}

static void split_event(void *ud, const td_event_t *ev)
{
    (void)ud;
    (void)ev;
}

static void split_status(void *ud, const td_polygon_status_t *st)
{
    (void)ud;
    (void)st;
}

/* ---- runs ------------------------------------------------------------------ */

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

static int set_handlers(tickerd_client_t *c, int accessors, counts_t *k)
{
    return tickerd_change_handler(c, TICKERD_STOCK_TRADES, accessors ? h_trade : h_count, k) ||
           tickerd_change_handler(c, TICKERD_STOCK_QUOTES, accessors ? h_quote : h_count, k) ||
           tickerd_change_handler(c, TICKERD_STOCK_BARS, accessors ? h_bar : h_count, k);
}

static int check(const char *what, const counts_t *k, const uint64_t want[TD_KIND__COUNT])
{
    for (int i = 0; i < TD_KIND__COUNT; i++)
        if (k->n[i] != want[i]) {
            fprintf(stderr, "bench_client: %s: %llu %s events, want %llu\n", what,
                    (unsigned long long)k->n[i], td_kind_name((td_kind_t)i),
                    (unsigned long long)want[i]);
            return -1;
        }
    if (k->bad) {
        fprintf(stderr, "bench_client: %s: %llu accessor failures\n", what,
                (unsigned long long)k->bad);
        return -1;
    }
    return 0;
}

static void report(const char *name, double *t, int reps, double ev, double mb)
{
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("%-8s best %.2f M events/s (%.0f MB/s), median %.2f M events/s (%.0f MB/s)\n", name,
           ev / t[0] / 1e6, mb / t[0], ev / t[reps / 2] / 1e6, mb / t[reps / 2]);
}

int main(int argc, char **argv)
{
    size_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 9;
    if (events == 0 || reps < 1 || reps > MAX_REPS) return 2;

    uint64_t want[TD_KIND__COUNT] = {0};
    td_buf_t b = TD_BUF_INIT;
    size_t *off;
    size_t nframes = make_frames(&b, &off, events, want);

    static counts_t k;
    tickerd_options_t o = {.vendor = TICKERD_POLYGON, .url = "ws://127.0.0.1:9", .key = "bench"};
    int err;
    tickerd_client_t *c = tickerd_client_new(&o, &err);
    if (!c) {
        fprintf(stderr, "bench_client: tickerd_client_new: %d\n", err);
        return 1;
    }
    if (tickerd_subscribe(c, TICKERD_STOCK_TRADES, NULL, 0, h_trade, &k) ||
        tickerd_subscribe(c, TICKERD_STOCK_QUOTES, NULL, 0, h_quote, &k) ||
        tickerd_subscribe(c, TICKERD_STOCK_BARS, NULL, 0, h_bar, &k)) {
        fprintf(stderr, "bench_client: subscribe failed\n");
        return 1;
    }

    static double t_client[MAX_REPS], t_dispatch[MAX_REPS], t_split[MAX_REPS];
    double checksum = 0;
    for (int i = 0; i < reps; i++) {
        for (int accessors = 1; accessors >= 0; accessors--) {
            memset(&k, 0, sizeof k);
            if (set_handlers(c, accessors, &k)) return 1;
            double t0 = now_s();
            for (size_t f = 0; f < nframes; f++)
                if (td__client_feed_frame(c, "/stocks", b.data + off[f], off[f + 1] - off[f])) {
                    fprintf(stderr, "bench_client: frame %zu refused\n", f);
                    return 1;
                }
            double dt = now_s() - t0;
            if (check(accessors ? "client" : "dispatch", &k, want)) return 1;
            (accessors ? t_client : t_dispatch)[i] = dt;
            checksum += k.sum;
        }
        td_polygon_cb_t cb = {split_event, split_status};
        td_polygon_stats_t st = {0};
        double t0 = now_s();
        for (size_t f = 0; f < nframes; f++)
            if (td_polygon_split(TD_POLYGON_STOCKS, b.data + off[f], off[f + 1] - off[f], &cb, NULL,
                                 &st) != 0)
                abort();
        t_split[i] = now_s() - t0;
        if (st.events != events || st.unknown) {
            fprintf(stderr, "bench_client: split: %llu events of %zu\n",
                    (unsigned long long)st.events, events);
            return 1;
        }
    }

    double mb = (double)b.len / 1e6, ev = (double)events;
    printf("stocks: %zu frames x %d events, %.1f MB (%.0f bytes/event), %d repetitions; "
           "Q %llu, T %llu, AM %llu\n",
           nframes, PER_FRAME, mb, (double)b.len / ev, reps,
           (unsigned long long)want[TD_KIND_QUOTE], (unsigned long long)want[TD_KIND_TRADE],
           (unsigned long long)want[TD_KIND_BAR]);
    report("client:", t_client, reps, ev, mb);
    report("dispatch:", t_dispatch, reps, ev, mb);
    report("split:", t_split, reps, ev, mb);
    printf("ratio_client_vs_split: %.3f (best), %.3f (median)\n", t_split[0] / t_client[0],
           t_split[reps / 2] / t_client[reps / 2]);
    printf("ratio_dispatch_vs_split: %.3f (best), %.3f (median)\n", t_split[0] / t_dispatch[0],
           t_split[reps / 2] / t_dispatch[reps / 2]);
    printf("checks: every pass delivered every event to its handler; 0 accessor failures "
           "(checksum %.6g)\n",
           checksum);
    tickerd_free(c);
    free(off);
    td_buf_free(&b);
    return 0;
}
