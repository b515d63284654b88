/* SPDX-License-Identifier: Apache-2.0 */
/* JSON → MessagePack transcoding throughput (the gateway's per-event work
 * for msgpack clients): 1,000,000 Alpaca stock events in memory (70% quotes,
 * 30% trades; RFC 3339 nanosecond timestamps), each transcoded on its own
 * with td_alpaca_msgpack_object into a reused buffer. Also: the same events
 * as frames of 100 through td_alpaca_msgpack_frame. Several repetitions,
 * interleaved; the best and the median are reported.
 *
 *   bench_msgpack [events] [reps]      (defaults 1000000 and 7) */
#include "core/buf.h"
#include "core/clock.h"
#include "core/rng.h"
#include "proto/alpaca_msgpack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PER_FRAME 100

static void put_event(td_buf_t *b, td_rng_t *rng, int64_t *ns)
{
    static const char *const syms[] = {"AAPL", "MSFT",  "AMZN", "NVDA", "GOOGL", "META",
                                       "TSLA", "BRK.B", "SPY",  "QQQ",  "AMD",   "V"};
    static const char ex[] = "VQKPZNHJ";
    const char *sym = syms[td_rng_below(rng, sizeof syms / sizeof *syms)];
    char ts[TD_RFC3339_MAX];
    *ns += (int64_t)td_rng_below(rng, 2000000);
    td_rfc3339_format(ts, *ns);
    double px = 20 + (double)(sym[0] - 'A') * 17.3 + td_rng_unit(rng);
    char x1 = ex[td_rng_below(rng, 8)], x2 = ex[td_rng_below(rng, 8)];
    if (td_rng_below(rng, 100) < 70)
        td_buf_appendf(
            b,
            "{\"T\":\"q\",\"S\":\"%s\",\"bx\":\"%c\",\"bp\":%.2f,\"bs\":%u,\"ax\":\"%c\","
            "\"ap\":%.2f,\"as\":%u,\"c\":[\"R\"],\"z\":\"C\",\"t\":\"%s\"}",
            sym, x1, px, 1 + (unsigned)td_rng_below(rng, 20), x2, px + 0.01,
            1 + (unsigned)td_rng_below(rng, 20), ts);
    else
        td_buf_appendf(
            b,
            "{\"T\":\"t\",\"S\":\"%s\",\"i\":%llu,\"x\":\"%c\",\"p\":%.4f,\"s\":%u,\"c\":"
            "[\"@\",\"I\"],\"z\":\"C\",\"t\":\"%s\"}",
            sym, (unsigned long long)td_rng_below(rng, 100000000000ull), x1, px,
            1 + (unsigned)td_rng_below(rng, 500), ts);
}

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

/* Events back to back in ev (off[i] = start of event i); the same events as
 * frames of PER_FRAME in fr (foff[f] = start of frame f). */
static void make_data(size_t events, td_buf_t *ev, size_t *off, td_buf_t *fr, size_t *foff)
{
    td_rng_t rng;
    td_rng_seed(&rng, 42);
    int64_t ns = 1709305200000000000; /* 2024-03-01T15:00:00Z */
    for (size_t i = 0; i < events; i++) {
        off[i] = ev->len;
        put_event(ev, &rng, &ns);
    }
    off[events] = ev->len;
    size_t f = 0;
    for (size_t i = 0; i < events; i++) {
        if (i % PER_FRAME == 0) {
            if (i) td_buf_appendc(fr, ']');
            foff[f++] = fr->len;
            td_buf_appendc(fr, '[');
        } else {
            td_buf_appendc(fr, ',');
        }
        td_buf_append(fr, ev->data + off[i], off[i + 1] - off[i]);
    }
    td_buf_appendc(fr, ']');
    foff[f] = fr->len;
}

/* Returns the msgpack bytes produced (a checksum of sorts). */
static size_t run_events(const td_buf_t *ev, const size_t *off, size_t events, td_buf_t *out)
{
    size_t bytes = 0;
    for (size_t i = 0; i < events; i++) {
        out->len = 0;
        if (td_alpaca_msgpack_object(out, ev->data + off[i], off[i + 1] - off[i]) != 0) abort();
        bytes += out->len;
    }
    return bytes;
}

static size_t run_frames(const td_buf_t *fr, const size_t *foff, size_t nframes, td_buf_t *out)
{
    size_t bytes = 0;
    for (size_t f = 0; f < nframes; f++) {
        out->len = 0;
        if (td_alpaca_msgpack_frame(out, fr->data + foff[f], foff[f + 1] - foff[f]) != 0) abort();
        bytes += out->len;
    }
    return bytes;
}

static void report(const char *what, double *t, int reps, size_t events, size_t in, size_t out)
{
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("%-28s best %6.2f M events/s (%4.0f MB/s JSON in), median %6.2f M events/s; "
           "%zu -> %zu bytes\n",
           what, (double)events / t[0] / 1e6, (double)in / t[0] / 1e6,
           (double)events / t[reps / 2] / 1e6, in, out);
}

int main(int argc, char **argv)
{
    size_t events = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    if (events == 0 || reps < 1 || reps > 100) return 2;
    size_t nframes = (events + PER_FRAME - 1) / PER_FRAME;
    size_t *off = malloc((events + 1) * sizeof *off), *foff = malloc((nframes + 1) * sizeof *foff);
    td_buf_t ev = TD_BUF_INIT, fr = TD_BUF_INIT, out = TD_BUF_INIT;
    make_data(events, &ev, off, &fr, foff);
    double te[100], tf[100];
    size_t be = 0, bf = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        be = run_events(&ev, off, events, &out);
        double t1 = now_s();
        bf = run_frames(&fr, foff, nframes, &out);
        te[r] = t1 - t0;
        tf[r] = now_s() - t1;
    }
    printf("%zu events (70%% quotes, 30%% trades), %d reps\n", events, reps);
    report("per event (object):", te, reps, events, ev.len, be);
    report("frames of 100 (frame):", tf, reps, events, fr.len, bf);
    td_buf_free(&ev);
    td_buf_free(&fr);
    td_buf_free(&out);
    free(off);
    free(foff);
    return 0;
}
