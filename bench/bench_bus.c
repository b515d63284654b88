/* SPDX-License-Identifier: Apache-2.0 */
/* Splitter + the real router (td_bus), in memory, on the simulator's own
 * stock events: the same generator as `tickerd sim` (70 % quotes, 25 %
 * trades, 5 % bars, daily/updated bars, statuses, LULDs, imbalances,
 * corrections, cancel errors), 500 symbols, frames of 100, as tickerd sees
 * them with --subscribe 'trades=*;quotes=*;bars=*;statuses=*' (corrections
 * and cancelErrors implied). Each event goes td_alpaca_split -> td_bus_publish
 * -> one consumer that reads the payload's length (the Redis sink's work is
 * not included). Two bus set-ups: per-kind wildcards (what tickerd run
 * wires), and the same kinds subscribed symbol by symbol (the hash table).
 *
 *   bench_bus [events] [reps]      (defaults 1000000 and 7)
 *
 * Prints best and median events/s of each set-up on one core. */
#include "bus/bus.h"
#include "core/buf.h"
#include "proto/alpaca.h"
#include "sim/sim_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PER_FRAME 100
#define NSYMS     500

typedef struct {
    uint64_t events, bytes;
} sink_t;

static void on_consume(void *ud, const td_event_t *ev)
{
    sink_t *s = ud;
    s->events++;
    s->bytes += ev->payload_len;
}

static void on_event(void *ud, const td_event_t *ev)
{
    td_bus_publish(ud, ev);
}

static const td_kind_t wanted[] = {TD_KIND_TRADE,  TD_KIND_QUOTE,      TD_KIND_BAR,
                                   TD_KIND_STATUS, TD_KIND_CORRECTION, TD_KIND_CANCEL_ERROR};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Returns events/s of one pass over every frame; checks the count. */
static double one_pass(td_bus_t *bus, sink_t *sink, const td_buf_t *b, const size_t *off,
                       size_t nframes, uint64_t expect)
{
    td_alpaca_cb_t cb = {on_event, NULL};
    td_alpaca_stats_t st = {0};
    sink->events = 0;
    double t0 = now_s();
    for (size_t f = 0; f < nframes; f++)
        if (td_alpaca_split(b->data + off[f], off[f + 1] - off[f], &cb, bus, &st) != 0) abort();
    double dt = now_s() - t0;
    if (sink->events != expect) {
        fprintf(stderr, "bench_bus: consumer got %llu events, expected %llu\n",
                (unsigned long long)sink->events, (unsigned long long)expect);
        exit(1);
    }
    return (double)st.events / dt;
}

int main(int argc, char **argv)
{
    size_t events = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    if (events == 0 || reps < 1 || reps > 100) {
        fprintf(stderr, "usage: %s [events] [reps]\n", argv[0]);
        return 2;
    }
    td_sim_gen_t *g = td__sim_gen_new(td_vendor_find("/v2/iex"), 1, NSYMS);
    td_buf_t frames = TD_BUF_INIT, ev = TD_BUF_INIT;
    size_t nframes = (events + PER_FRAME - 1) / PER_FRAME;
    size_t *off = malloc((nframes + 1) * sizeof *off);
    uint64_t kinds[TD_KIND__COUNT] = {0}, routed = 0;
    for (size_t f = 0, e = 0; f < nframes; f++) {
        off[f] = frames.len;
        td_buf_appendc(&frames, '[');
        for (size_t i = 0; i < PER_FRAME && e < events; i++, e++) {
            td_sim_ev_t sev;
            td__sim_gen_next(g, &sev);
            size_t n = td__sim_gen_build(g, &sev, &ev);
            if (i) td_buf_appendc(&frames, ',');
            td_buf_append(&frames, ev.data, n);
            kinds[sev.kind]++;
        }
        td_buf_appendc(&frames, ']');
    }
    off[nframes] = frames.len;
    for (size_t k = 0; k < sizeof wanted / sizeof *wanted; k++)
        routed += kinds[wanted[k]];
    printf("frames: %zu x %d events, %.1f MB (%.0f bytes/event); quotes %.1f%% trades %.1f%% "
           "other %.1f%%; routed to the consumer: %llu; %d repetitions\n",
           nframes, PER_FRAME, frames.len / 1e6, (double)frames.len / (double)events,
           100.0 * (double)kinds[TD_KIND_QUOTE] / (double)events,
           100.0 * (double)kinds[TD_KIND_TRADE] / (double)events,
           100.0 * (double)(events - kinds[TD_KIND_QUOTE] - kinds[TD_KIND_TRADE]) / (double)events,
           (unsigned long long)routed, reps);

    /* Set-up A: per-kind wildcards. Set-up B: every symbol named. */
    sink_t sa = {0}, sb = {0};
    td_bus_t *ba = td_bus_new(), *bb = td_bus_new();
    td_bus_consumer_t *ca = td_bus_attach(ba, on_consume, &sa);
    td_bus_consumer_t *cb = td_bus_attach(bb, on_consume, &sb);
    for (size_t k = 0; k < sizeof wanted / sizeof *wanted; k++) {
        td_bus_want(ba, ca, wanted[k], "*", 1);
        for (size_t i = 0; i < td__sim_gen_nsyms(g); i++) {
            size_t n;
            const char *s = td__sim_gen_symbol(g, i, &n);
            td_bus_want(bb, cb, wanted[k], s, n);
        }
    }
    double ra[100], rb[100];
    for (int r = 0; r < reps; r++) { /* interleaved */
        ra[r] = one_pass(ba, &sa, &frames, off, nframes, routed);
        rb[r] = one_pass(bb, &sb, &frames, off, nframes, routed);
    }
    qsort(ra, (size_t)reps, sizeof *ra, cmp_d);
    qsort(rb, (size_t)reps, sizeof *rb, cmp_d);
    printf("split+bus wildcard: best %.2f M events/s, median %.2f M events/s\n", ra[reps - 1] / 1e6,
           ra[reps / 2] / 1e6);
    printf("split+bus per-symbol: best %.2f M events/s, median %.2f M events/s\n",
           rb[reps - 1] / 1e6, rb[reps / 2] / 1e6);
    td_bus_free(ba);
    td_bus_free(bb);
    td__sim_gen_free(g);
    td_buf_free(&frames);
    td_buf_free(&ev);
    free(off);
    return 0;
}
