/* Historical bar backfill: one job per symbol walks a vendor's single-symbol
 * history endpoint page by page (Alpaca next_page_token, Polygon next_url)
 * and writes each page atomically with its jobs row (store/store.h). A rerun
 * resumes: it walks again from the first page and skips the store write of
 * pages already recorded as done (bars are idempotent anyway). */
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
    const char *start, *end; /* YYYY-MM-DD, passed as is */
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

/* --start/--end as ns since the epoch: "YYYY-MM-DD" (an end day counts whole:
 * its last ns) or RFC 3339. 0, or -1 for another form (which is passed to
 * the vendor as it is). */
int td_backfill_time_ns(const char *s, int is_end, int64_t *ns);

/* Parses "200/min", "5/1", "10/s", "1000/h" into n per seconds. 0 or -1. */
int td_backfill_parse_rate(const char *s, double *n, double *seconds);

/* Runs the backfill to the end (own loop). Prints the summary to stderr
 * (and JSON to stdout with cfg->json). Returns 0 if every job is done, 1 if
 * any failed, 2 on a setup error. */
int td_backfill_run(const td_backfill_cfg_t *cfg);

#endif
