/* SPDX-License-Identifier: Apache-2.0 */
/* The backfill's progress line: what `tickerd backfill` draws on a terminal
 * (see td_log_status). Pure formatting, so it can be tested. */
#ifndef TD_BACKFILL_PROGRESS_H
#define TD_BACKFILL_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct td_progress_s {
    size_t jobs;     /* all jobs (symbols, or grid cells) */
    size_t finished; /* done or failed */
    size_t failed;
    double work;      /* jobs' worth of work done: finished ones count 1, a job
                         under way its fraction (e.g. of its date range) */
    int64_t rows;     /* rows (grid: responses) stored so far */
    uint64_t retries; /* 5xx, timeouts and 429 waits so far */
    double elapsed_s;
    uint64_t requests; /* made so far */
    double rate;       /* requests per second --rate allows; 0: no limit */
} td_progress_t;

/* Writes e.g.
 *   "[########------------]  97/214 jobs  105,320 rows  48.2k rows/s  2 retries  ETA 0:03"
 * into out (always NUL-terminated). "1 failed" appears after the jobs when
 * some failed. The bar and the ETA follow `work`: the ETA extrapolates
 * its pace to the rest, but is never less than the requests still needed
 * (as many per unit of work as so far; before any work, one per job left)
 * take at `rate`; "--" when neither is known. Returns the length. */
size_t td_progress_format(char *out, size_t cap, const td_progress_t *p);

#endif
