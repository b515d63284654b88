/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite backend (runs on the store's worker thread): WAL, prepared
 * statements, one BEGIN IMMEDIATE ... COMMIT per group of pages. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"
#include "store/store_int.h"

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *bar, *job, *grid, *pages;
} sq_t;

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS bars(symbol TEXT NOT NULL, timeframe TEXT NOT NULL,"
    " ts BIGINT NOT NULL, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE,"
    " trade_count BIGINT, vwap DOUBLE, source TEXT, PRIMARY KEY (symbol, timeframe, ts));"
    "CREATE TABLE IF NOT EXISTS grid(job TEXT NOT NULL, params TEXT NOT NULL, body TEXT,"
    " fetched_at BIGINT, PRIMARY KEY (job, params));"
    "CREATE TABLE IF NOT EXISTS jobs(job TEXT NOT NULL, page TEXT NOT NULL, rows BIGINT,"
    " done_at BIGINT, PRIMARY KEY (job, page));";

static const char *const SQL[4] = {
    "INSERT OR IGNORE INTO bars VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    "INSERT OR IGNORE INTO jobs VALUES (?,?,?,?)",
    ("INSERT INTO grid VALUES (?,?,?,?) ON CONFLICT (job, params) DO UPDATE SET"
     " body = excluded.body, fetched_at = excluded.fetched_at"),
    "SELECT page, rows FROM jobs WHERE job = ? ORDER BY page",
};

static int fail(sqlite3 *db, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "sqlite %s: %s", what, sqlite3_errmsg(db));
    return -EIO;
}

static void sq_close(void *p)
{
    sq_t *q = p;
    sqlite3_finalize(q->bar);
    sqlite3_finalize(q->job);
    sqlite3_finalize(q->grid);
    sqlite3_finalize(q->pages);
    sqlite3_close(q->db);
    free(q);
}

static void *sq_open(const char *path, char *err, size_t errlen)
{
    sq_t *q = td_xcalloc(1, sizeof *q);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &q->db, flags, NULL) != SQLITE_OK) {
        fail(q->db, err, errlen, "open");
        goto fail;
    }
    sqlite3_busy_timeout(q->db, 5000);
    if (sqlite3_exec(q->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        fail(q->db, err, errlen, "schema");
        goto fail;
    }
    if (sqlite3_exec(q->db, TD__STORE_GRID_CHECK, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: %s", TD__STORE_OLD_GRID);
        goto fail;
    }
    sqlite3_stmt **st[4] = {&q->bar, &q->job, &q->grid, &q->pages};
    for (int i = 0; i < 4; i++)
        if (sqlite3_prepare_v2(q->db, SQL[i], -1, st[i], NULL) != SQLITE_OK) {
            fail(q->db, err, errlen, "prepare");
            goto fail;
        }
    return q;
fail:
    sq_close(q);
    return NULL;
}

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int insert_bar(sq_t *q, const td__store_op_t *op, const td_bar_t *b)
{
    sqlite3_stmt *st = q->bar;
    sqlite3_bind_text(st, 1, b->symbol, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, op->timeframe, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, b->ts_ns);
    sqlite3_bind_double(st, 4, b->open);
    sqlite3_bind_double(st, 5, b->high);
    sqlite3_bind_double(st, 6, b->low);
    sqlite3_bind_double(st, 7, b->close);
    sqlite3_bind_double(st, 8, b->volume);
    if (b->trade_count >= 0)
        sqlite3_bind_int64(st, 9, b->trade_count);
    else
        sqlite3_bind_null(st, 9);
    if (!isnan(b->vwap))
        sqlite3_bind_double(st, 10, b->vwap);
    else
        sqlite3_bind_null(st, 10);
    sqlite3_bind_text(st, 11, op->source, -1, SQLITE_STATIC);
    return step_reset(st);
}

static int insert_job(sq_t *q, const td__store_op_t *op)
{
    sqlite3_bind_text(q->job, 1, op->job, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->job, 2, op->page, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q->job, 3, op->kind == TD__STORE_GRID ? 1 : (int64_t)op->n);
    sqlite3_bind_int64(q->job, 4, td_now_ns());
    return step_reset(q->job);
}

static int insert_grid(sq_t *q, const td__store_op_t *op)
{
    sqlite3_bind_text(q->grid, 1, op->job, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->grid, 2, op->page, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->grid, 3, op->body, (int)op->body_len, SQLITE_STATIC);
    sqlite3_bind_int64(q->grid, 4, td_now_ns());
    return step_reset(q->grid);
}

/* The op's rows; counts in op->inserted the bars that were new (an ignored
 * INSERT changes nothing). */
static int insert_op(sq_t *q, td__store_op_t *op)
{
    int rc = op->kind == TD__STORE_GRID ? insert_grid(q, op) : 0;
    op->inserted = op->kind == TD__STORE_GRID;
    for (size_t i = 0; rc == 0 && i < op->n; i++) {
        rc = insert_bar(q, op, &op->bars[i]);
        if (rc == 0) op->inserted += (size_t)sqlite3_changes(q->db);
    }
    return rc ? rc : insert_job(q, op);
}

static int sq_put(void *p, td__store_op_t *const *ops, size_t n, char *err, size_t errlen)
{
    sq_t *q = p;
    if (sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail(q->db, err, errlen, "begin");
    const char *what = "insert";
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = insert_op(q, ops[i]);
    if (rc == 0) {
        what = "commit";
        rc = sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    }
    if (rc == 0) return 0;
    fail(q->db, err, errlen, what);
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    return -EIO;
}

static int sq_pages(void *p, td__store_op_t *op)
{
    sq_t *q = p;
    sqlite3_bind_text(q->pages, 1, op->job, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q->pages)) == SQLITE_ROW)
        td__store_op_add_page(op, (const char *)sqlite3_column_text(q->pages, 0),
                              sqlite3_column_int64(q->pages, 1));
    sqlite3_reset(q->pages);
    sqlite3_clear_bindings(q->pages);
    if (rc != SQLITE_DONE) return fail(q->db, op->errmsg, sizeof op->errmsg, "select");
    return 0;
}

const td__store_backend_t td__store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .put = sq_put,
    .pages = sq_pages,
    .close = sq_close,
};
