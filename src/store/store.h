/* SPDX-License-Identifier: Apache-2.0 */
/* The backfill store: pages of bars and grid responses written to SQLite or
 * PostgreSQL, each page together with its (job, page) row in `jobs`, in ONE
 * transaction, so a run killed at any point resumes with no gap and no
 * duplicate (bars already present are ignored: PRIMARY KEY (symbol,
 * timeframe, ts)).
 *
 * Writes queued while the worker is busy are committed together: one
 * transaction for up to 64 pages (256 Ki bars), so the commit rate adapts to
 * the database's speed. A group that fails is retried page by page, so a bad
 * page fails alone.
 *
 * Threading: one dedicated worker thread per connection owns it and runs
 * the writes it takes from the shared queue with the blocking API of its library
 * (sqlite3; libpq with a binary COPY straight into `bars`, or, when that
 * hits a row already stored, into a TEMP staging table and then INSERT ...
 * ON CONFLICT DO NOTHING). Results come back to the loop through a uv_async_t,
 * and every callback runs on the loop thread. The loop never blocks on the
 * database except in td_store_open (connect + schema, at start-up). This
 * was chosen over libpq's non-blocking API on the loop because both
 * backends then share one queue, one backpressure rule and one shutdown.
 *
 * Schema (created if missing, identical in both backends):
 *   bars(symbol TEXT, timeframe TEXT, ts BIGINT -- ns since the Unix epoch,
 *        open, high, low, close, volume DOUBLE, trade_count BIGINT NULL,
 *        vwap DOUBLE NULL, source TEXT, PRIMARY KEY (symbol, timeframe, ts))
 *   grid(job TEXT, params TEXT, body TEXT, fetched_at BIGINT -- ns,
 *        PRIMARY KEY (job, params))
 *   jobs(job TEXT, page TEXT, rows BIGINT, done_at BIGINT -- ns,
 *        PRIMARY KEY (job, page))
 *
 * With several connections, groups commit concurrently and done callbacks
 * may come in another order than the puts; each page is still atomic with
 * its jobs row, which is all a resume needs.
 *
 * Backpressure: at most td_store_backlog_limit() writes (default
 * TD_STORE_BACKLOG) are queued or running; beyond that td_store_put_* return
 * TD_EAGAIN and the caller waits for a done callback before retrying.
 *
 * Errors are negative errno values: TD_EAGAIN (backlog full), -EINVAL (bad
 * argument or spec), -EPIPE (store closing), -EIO (database error; the
 * message is passed to the callback or put into td_store_err_t). A call that
 * fails never calls its callback. */
#ifndef TD_STORE_STORE_H
#define TD_STORE_STORE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/err.h"
#include "proto/bars.h"

#define TD_STORE_BACKLOG 32

typedef struct td_store_s td_store_t;

/* A page of bars: everything is copied by td_store_put_page. `timeframe`
 * (e.g. "1Min") and `source` (e.g. "alpaca") apply to every bar. The bars
 * are proto/bars.h's td_bar_t (a parsed page's bars can be passed as is):
 * trade_count < 0 stores NULL, vwap NaN stores NULL. */
typedef struct td_store_page_s {
    const char *job;
    const char *page;
    const char *timeframe;
    const char *source;
    const td_bar_t *bars;
    size_t n;
} td_store_page_t;

typedef struct td_store_err_s {
    int code;
    char msg[256];
} td_store_err_t;

/* status 0 or a negative error; errmsg is NULL on success, else borrowed
 * for the duration of the callback. */
typedef void (*td_store_done_cb)(td_store_t *store, int status, const char *errmsg, void *ud);
/* What a write did, once committed or rolled back: rows is the page's bars
 * (a grid response: 1), inserted how many of them are new in `bars` (the
 * others were already there and are ignored; a grid response: 1); both 0
 * when status != 0. errmsg as for td_store_done_cb. */
typedef struct td_store_put_res_s {
    int status;
    const char *errmsg;
    size_t rows, inserted;
} td_store_put_res_t;
typedef void (*td_store_put_cb)(td_store_t *store, const td_store_put_res_t *res, void *ud);
/* One finished page of `job`; `page` is borrowed for the call. */
typedef void (*td_store_page_cb)(td_store_t *store, const char *page, int64_t rows, void *ud);
typedef void (*td_store_close_cb)(td_store_t *store, void *ud);

#define TD_STORE_MAX_CONNECTIONS 16

/* Opens "sqlite:PATH" or "postgres://..." / "postgresql://..." (a libpq
 * URI) with `connections` (1..16) connections, each with its worker thread,
 * and creates the schema if missing. SQLite always gets one (one writer at a
 * time). Blocks for the connects. Borrows loop (must outlive the store) and
 * copies spec. Returns NULL and fills *err (may be NULL) on failure. */
td_store_t *td_store_open(uv_loop_t *loop, const char *spec, int connections, td_store_err_t *err);

/* Copies the page; queues a transaction that inserts the bars (ignoring
 * existing ones) and the jobs row (job, page, n). done_cb runs on the loop
 * once committed (status 0) or rolled back (-EIO). Returns 0, TD_EAGAIN,
 * -EINVAL or -EPIPE. */
int td_store_put_page(td_store_t *store, const td_store_page_t *page, td_store_put_cb done_cb,
                      void *ud);

/* Copies params_json and body[0..len): one transaction that upserts
 * grid(job, params, body) (the newest fetch wins) and inserts the jobs row
 * (job, params_json, 1). Returns as td_store_put_page. */
int td_store_put_grid(td_store_t *store, const char *job, const char *params_json, const char *body,
                      size_t len, td_store_put_cb done_cb, void *ud);

/* Lists the finished pages of `job` (copied): page_cb once per page, then
 * done_cb. Not subject to the backlog limit. Returns 0, -EINVAL or -EPIPE. */
int td_store_pages_done(td_store_t *store, const char *job, td_store_page_cb page_cb,
                        td_store_done_cb done_cb, void *ud);

/* What the workers have committed so far: transactions, the pages and bars
 * in them (inserted: the bars that were new); busy_ns sums the time each connection spent in
 * transactions, active_ns is the wall time during which at least one was in one (the store stage's
 * own duration, to compare with a raw COPY). */
typedef struct td_store_stats_s {
    uint64_t transactions, pages, bars, inserted;
    uint64_t busy_ns, active_ns;
} td_store_stats_t;
void td_store_stats(td_store_t *store, td_store_stats_t *out);

/* Writes queued or running (the number counted against the limit). */
size_t td_store_backlog(const td_store_t *store);
size_t td_store_backlog_limit(const td_store_t *store);
void td_store_set_backlog_limit(td_store_t *store, size_t limit); /* >= 1 */
const char *td_store_backend(const td_store_t *store);            /* "sqlite" or "postgres" */

/* Finishes every queued operation (their callbacks still run), closes the
 * database, joins the worker, closes the async handle, then calls close_cb
 * (may be NULL). Further calls return -EPIPE. */
void td_store_close(td_store_t *store, td_store_close_cb close_cb, void *ud);

/* Frees the store: only after close_cb has run (may be called inside it). */
void td_store_free(td_store_t *store);

#endif
