/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/backfill: the engine's state, shared by backfill.c (the
 * engine) and report.c (what the user sees: the progress line, the summary). */
#ifndef TD_BACKFILL_BF_INT_H
#define TD_BACKFILL_BF_INT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "backfill/backfill.h"
#include "core/backoff.h"
#include "core/opt.h" /* td_strlist_t */
#include "core/rng.h"
#include "http/http.h"
#include "proto/bars.h"
#include "store/store.h"

/* J_STOPPED: the run stopped (a signal, a store error) before the job was
 * over: "interrupted" if it made a request in this run, else "not started". */
enum { J_RESUME, J_READY, J_FETCH, J_WAIT, J_STORE_WAIT, J_FLUSH, J_DONE, J_FAILED, J_STOPPED };

/* The jobs row that records a job as complete (no real page key has this
 * form: keys are "first", a vendor token, or a path starting with '/'). */
#define TD__BF_COMPLETE "(complete)"

typedef struct bf_s bf_t;

typedef struct job_s {
    bf_t *bf;
    const char *symbol; /* one symbol, a group's "A,B,C", or a grid cell's params */
    char *group;        /* owned "A,B,C" of a multi-symbol job (Alpaca /v2/stocks/bars) */
    size_t sym0, nsyms; /* its symbols: cfg->symbols[sym0 .. sym0 + nsyms) */
    int split;          /* a group that failed on an invalid symbol: its symbols went
                           to jobs of their own; not counted in the summary */
    char name[512];     /* the jobs table's key: vendor:symbol(s):timeframe:start:end[&query] */
    int state;
    /* Heap-held so a job costs < 1 KB until it runs (grids have up to 20,000
     * cells), and its page buffer is released as soon as it is over. */
    char *token;          /* the current page's token / next_url (NULL = first) */
    char *key;            /* the current page's key (grid: the cell's params) */
    td_strlist_t done;    /* page keys done in an earlier run */
    td_strlist_t seen;    /* page keys fetched in this run: a repeat is a loop */
    td_bars_page_t *page; /* the page being handled; NULL when none */
    td_backoff_t backoff;
    int tries;
    size_t writes;        /* store writes pending */
    int64_t rows;         /* bars the store committed as new in `bars` */
    int64_t dup_rows;     /* bars in committed pages that were there already */
    int64_t skipped_rows; /* bars of pages done in an earlier run (not written again) */
    int64_t done_rows;    /* the earlier run's pages' bars, from the jobs table */
    int started;          /* made a request in this run */
    int complete_before;  /* recorded as complete by an earlier run: no request */
    int marking;          /* its next (or last) write records it as complete */
    uint64_t pages;
    uv_timer_t timer;
    td_http_req_t *req;
    char why[320];
    const char *url; /* grid: the cell's URL */
    char *gbody;     /* grid: the body waiting for the store */
    size_t gbody_len;
    int skipped; /* grid: done in an earlier run */
    double frac; /* how far its pages have reached into [start, end], 0..1 */
} job_t;

struct bf_s {
    const td_backfill_cfg_t *cfg;
    uv_loop_t *loop;
    td_http_t *http;
    td_store_t *store;
    job_t *jobs; /* cap_jobs allocated (never moved: timers), njobs used */
    size_t cap_jobs;
    size_t njobs, next_job, resuming, in_flight, store_waiting;
    uint64_t *times; /* ring of the last rate_n request start times (ms) */
    size_t ntimes, tpos;
    uint64_t window_ms;
    uv_timer_t rate_timer;
    uv_signal_t sigint, sigterm;
    uv_timer_t progress_timer; /* redraws the progress line (cfg->progress) */
    int64_t span_t0, span_t1;  /* [start, end] in ns (end inclusive) */
    char from[48], to[48];     /* the same bounds as the vendor is sent them */
    int mark_complete;         /* the end is over an hour ago: a last page completes its job */
    int closing;
    int stop_signal;     /* the signal that stopped the run, or 0 */
    char store_err[300]; /* the store error that stopped the run, or "" */
    uint64_t requests, retries, t0;
    td_rng_t rng;
    char hdr[3][600];
    int grid;
    td_strlist_t gdone; /* grid: params done in an earlier run (sorted) */
};

/* A job is over: done or failed. */
int td__bf_final(const job_t *j);

/* The progress line: started by td__bf_progress_start when cfg->progress,
 * removed by td__bf_progress_stop (which also closes its timer). */
void td__bf_progress_start(bf_t *bf);
void td__bf_progress_stop(bf_t *bf);

/* Prints the summary (stderr; JSON on stdout with cfg->json). Returns 0 if
 * every job is done, else 1. */
int td__bf_summary(bf_t *bf);

#endif
