/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz harness helper for the parsers of client messages, which run before
 * a client has authenticated: their work must be linear in the input's
 * size. One call's CPU time is checked against a cap per byte plus a fixed
 * allowance (both ~100x what a linear parse costs under ASan), so a parser
 * whose work grows with, say, the square of the nesting depth aborts on the
 * deep inputs of the corpus (jsmn's parent walk took over a second on a
 * 64 KB message). CPU time, not wall time: a loaded machine does not trip it. */
#ifndef TD_FUZZ_LINEAR_CHECK_H
#define TD_FUZZ_LINEAR_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TD_FUZZ_SECONDS_PER_BYTE 2e-6 /* 2 µs */
#define TD_FUZZ_SECONDS_FIXED    0.02

static inline double td_fuzz_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A parse of [s, s+n) run only for its cost (results discarded). */
typedef void (*td_fuzz_parse_fn)(const char *s, size_t n);

/* Aborts if the parse that started at t0 (td_fuzz_cpu_seconds) cost more
 * than the cap for n bytes, and so did two more runs of `again`: a spike
 * of the machine or the allocator (seen once in 400k runs) passes on a
 * rerun, a superlinear parser does not. */
static inline void td_fuzz_linear_check(double t0, const char *s, size_t n, td_fuzz_parse_fn again,
                                        const char *what)
{
    double took = td_fuzz_cpu_seconds() - t0;
    double cap = (double)n * TD_FUZZ_SECONDS_PER_BYTE + TD_FUZZ_SECONDS_FIXED;
    for (int i = 0; i < 2 && took > cap; i++) {
        double t1 = td_fuzz_cpu_seconds();
        again(s, n);
        double t = td_fuzz_cpu_seconds() - t1;
        took = t < took ? t : took;
    }
    if (took > cap) {
        fprintf(stderr, "%s: %.3f s of CPU for %zu bytes (cap %.3f s): not linear\n", what, took, n,
                cap);
        abort();
    }
}

#endif
