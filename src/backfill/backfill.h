/* SPDX-License-Identifier: Apache-2.0 */
/* Historical bar backfill: one job per symbol walks a vendor's single-symbol
 * history endpoint page by page (Alpaca next_page_token, Polygon next_url)
 * and writes each page atomically with its jobs row (store/store.h); the
 * last page also records the job as complete (when its end is over an hour
 * ago). A rerun skips complete jobs without a request and resumes the
 * others: it walks again from the first page and skips the store write of
 * pages already recorded as done (bars are idempotent anyway). A vendor
 * that sends a page token a second time fails the job (a loop). */
#ifndef TD_BACKFILL_BACKFILL_H
#define TD_BACKFILL_BACKFILL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct td_backfill_cfg_s {
    const char *vendor; /* "alpaca" or "polygon" */
    const char *url;    /* base URL, no trailing path */
    char **symbols;
    size_t nsymbols;
    const char *start, *end; /* YYYY-MM-DD (end: through that UTC day) or RFC 3339;
                                as typed in the jobs' names */
    const char *timeframe;   /* "15Min" (Alpaca) or "15/minute" (Polygon) */
    const char *store;       /* "sqlite:PATH" or "postgres://..." */
    int store_connections;   /* PostgreSQL connections writing in parallel (SQLite: 1) */
    int concurrency;         /* requests in flight, >= 1 */
    double rate_n, rate_s;   /* at most rate_n requests per rate_s seconds; rate_n 0: no limit */
    int limit;               /* bars per page */
    char query[256];         /* "&name=value..." added to every vendor request (escaped);
                                part of the jobs' names */
    int symbols_per_request; /* Alpaca: > 1 groups that many symbols in one job on the
                                multi-symbol endpoint (/v2/stocks/bars?symbols=) */
    int retries;             /* 5xx/timeouts per page before the job fails */
    uint32_t timeout_ms;
    const char *key_id, *secret; /* Alpaca */
    const char *poly_key;        /* Polygon */
    int json;                    /* summary object on stdout */
    int progress;                /* draw a progress line on stderr (a terminal) */
    /* Grid mode (grid_url set; vendor, symbols, start, end, timeframe and keys
     * unused): one GET per cell, grid_urls[i] keyed by grid_keys[i] (the
     * cell's params as a JSON object, keys sorted); every 2xx body that is
     * valid JSON goes to td_store_put_grid under job "grid:<grid_url>";
     * cells already in the jobs table are skipped; 4xx fails the cell. */
    const char *grid_url; /* the template, names the job */
    char **grid_urls, **grid_keys;
    size_t ncells;
} td_backfill_cfg_t;

/* --start/--end as ns since the epoch: "YYYY-MM-DD" (a UTC day; an end day
 * counts whole: its last ns) or RFC 3339 (exact). 0, or -1 for anything
 * else (a usage error). */
int td_backfill_time_ns(const char *s, int is_end, int64_t *ns);

/* Parses "200/min", "5/1", "10/s", "1000/h" into n per seconds. 0 or -1. */
int td_backfill_parse_rate(const char *s, double *n, double *seconds);

/* Whether tf is a timeframe of vendor ("alpaca": 15Min, 1Hour, 1Day, ...;
 * "polygon": MULT/TIMESPAN, e.g. 15/minute). 0, or -1 with a message for
 * the user in msg (naming the vendor's form, and the conversion of the
 * other vendor's form when tf is one). */
int td_backfill_check_timeframe(const char *vendor, const char *tf, char *msg, size_t cap);

/* The bounds [t0, t1] (ns, both inclusive) as the vendor's request wants
 * them: Alpaca start/end in RFC 3339 whole seconds, Polygon from/to in Unix
 * ms. */
void td_backfill_vendor_bounds(const char *vendor, int64_t t0, int64_t t1, char *from, char *to,
                               size_t cap);

/* Runs the backfill to the end (own loop). Prints the summary to stderr
 * (and JSON to stdout with cfg->json). Returns 0 if every job is done, 1 if
 * any failed, 2 on a setup or store error (a store write that fails stops
 * the run), 128 + the signal number when SIGINT or SIGTERM stopped it. */
int td_backfill_run(const td_backfill_cfg_t *cfg);

#endif
