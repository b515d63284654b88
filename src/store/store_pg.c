/* SPDX-License-Identifier: Apache-2.0 */
/* PostgreSQL backend (runs on the store's worker thread, blocking libpq).
 * Per group of pages: BEGIN; SAVEPOINT; COPY BINARY of every bar straight
 * into `bars`; if a bar is already stored (unique violation), ROLLBACK TO
 * SAVEPOINT and, page by page (for its count of new bars), a COPY into the
 * session's TEMP staging table and INSERT INTO bars SELECT ... ON CONFLICT
 * DO NOTHING; one jobs row per page; COMMIT.
 * Binary COPY: no float formatting here and no float parsing in the server.
 * A broken connection is reset once before the next operation. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/mem.h"
#include "store/store_int.h"

/* synchronous_commit stays on: a page counts as written once its commit
 * is durable, so a server crash cannot take back what the summary
 * reported. */
static const char SCHEMA[] =
    "SET client_min_messages = warning;"
    "CREATE TABLE IF NOT EXISTS bars(symbol TEXT NOT NULL, timeframe TEXT NOT NULL,"
    " ts BIGINT NOT NULL, open DOUBLE PRECISION, high DOUBLE PRECISION, low DOUBLE PRECISION,"
    " close DOUBLE PRECISION, volume DOUBLE PRECISION, trade_count BIGINT,"
    " vwap DOUBLE PRECISION, source TEXT, PRIMARY KEY (symbol, timeframe, ts));"
    "CREATE TABLE IF NOT EXISTS grid(job TEXT NOT NULL, params TEXT NOT NULL, body TEXT,"
    " fetched_at BIGINT, PRIMARY KEY (job, params));"
    "CREATE TABLE IF NOT EXISTS jobs(job TEXT NOT NULL, page TEXT NOT NULL, rows BIGINT,"
    " done_at BIGINT, PRIMARY KEY (job, page));";

static const char STAGING[] =
    "CREATE TEMP TABLE IF NOT EXISTS td_staging (LIKE bars) ON COMMIT DELETE ROWS";

static const char MERGE[] = "INSERT INTO bars SELECT * FROM td_staging ON CONFLICT DO NOTHING";
static const char JOB[] = "INSERT INTO jobs VALUES ($1, $2, $3::bigint, $4::bigint)"
                          " ON CONFLICT DO NOTHING";
static const char GRID[] =
    "INSERT INTO grid VALUES ($1, $2, $3, $4::bigint) ON CONFLICT (job, params)"
    " DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at";

static void sb_be(td_buf_t *b, uint64_t v, int bytes)
{
    unsigned char tmp[8];
    for (int i = 0; i < bytes; i++)
        tmp[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    td_buf_append(b, tmp, (size_t)bytes);
}

/* COPY BINARY fields: int32 length (-1 = NULL), then the value in network
 * order. float8 is the IEEE 754 bit pattern, int8 two's complement. */
static void f_text(td_buf_t *b, const char *s)
{
    size_t n = strlen(s);
    sb_be(b, n, 4);
    td_buf_append(b, s, n);
}

static void f_i64(td_buf_t *b, int64_t v)
{
    sb_be(b, 8, 4);
    sb_be(b, (uint64_t)v, 8);
}

static void f_f64(td_buf_t *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    sb_be(b, 8, 4);
    sb_be(b, u, 8);
}

static void f_null(td_buf_t *b)
{
    sb_be(b, 0xffffffffu, 4);
}

static void noop_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* The SQLSTATE of this thread's (this connection's) last failed statement. */
static _Thread_local char last_state[6];

static int exec_ok(PGconn *c, PGresult *r, char *err, size_t errlen, const char *what)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN;
    if (!ok) {
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        snprintf(last_state, sizeof last_state, "%s", state ? state : "");
        snprintf(err, errlen, "postgres %s: %s", what,
                 r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    }
    PQclear(r);
    return ok ? 0 : -EIO;
}

static int setup(PGconn *c, char *err, size_t errlen)
{
    if (exec_ok(c, PQexec(c, SCHEMA), err, errlen, "schema")) return -EIO;
    if (exec_ok(c, PQexec(c, TD__STORE_GRID_CHECK), err, errlen, "grid")) {
        snprintf(err, errlen, "postgres: %s", TD__STORE_OLD_GRID);
        return -EIO;
    }
    return exec_ok(c, PQexec(c, STAGING), err, errlen, "staging");
}

static void *pg_open(const char *uri, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(uri);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "postgres connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, noop_notice, NULL);
    if (setup(c, err, errlen)) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void pg_close(void *p)
{
    PQfinish(p);
}

static int ensure(PGconn *c, char *err, size_t errlen)
{
    if (PQstatus(c) == CONNECTION_OK) return 0;
    PQreset(c);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "postgres reconnect: %s", PQerrorMessage(c));
        return -EIO;
    }
    return setup(c, err, errlen);
}

#define COLS "(symbol, timeframe, ts, open, high, low, close, volume, trade_count, vwap, source)"

/* The bars of every PAGE op as one COPY BINARY stream (header to trailer). */
static void copy_rows(td_buf_t *b, td__store_op_t *const *ops, size_t nops)
{
    td_buf_append(b, "PGCOPY\n\377\r\n\0", 11);
    sb_be(b, 0, 4); /* flags */
    sb_be(b, 0, 4); /* header extension length */
    for (size_t k = 0; k < nops; k++) {
        const td__store_op_t *op = ops[k];
        for (size_t i = 0; op->kind == TD__STORE_PAGE && i < op->n; i++) {
            const td_bar_t *r = &op->bars[i];
            sb_be(b, 11, 2);
            f_text(b, r->symbol);
            f_text(b, op->timeframe);
            f_i64(b, r->ts_ns);
            f_f64(b, r->open);
            f_f64(b, r->high);
            f_f64(b, r->low);
            f_f64(b, r->close);
            f_f64(b, r->volume);
            if (r->trade_count >= 0)
                f_i64(b, r->trade_count);
            else
                f_null(b);
            if (!isnan(r->vwap))
                f_f64(b, r->vwap);
            else
                f_null(b);
            f_text(b, op->source);
        }
    }
    sb_be(b, 0xffff, 2); /* trailer */
}

/* One COPY of b into table. 0, or -EIO with the message; *dup is set when
 * the failure is a unique violation (a row already stored). */
static int copy_into(PGconn *c, const char *table, const td_buf_t *b, char *err, size_t el,
                     int *dup)
{
    char sql[160];
    snprintf(sql, sizeof sql, "COPY %s " COLS " FROM STDIN (FORMAT binary)", table);
    *dup = 0;
    if (exec_ok(c, PQexec(c, sql), err, el, "copy")) return -EIO;
    int ok = 1;
    for (size_t off = 0; ok && off < b->len; off += 1 << 18) {
        size_t n = b->len - off < (size_t)1 << 18 ? b->len - off : (size_t)1 << 18;
        ok = PQputCopyData(c, b->data + off, (int)n) == 1;
    }
    if (PQputCopyEnd(c, ok ? NULL : "aborted") != 1) ok = 0;
    PGresult *r;
    int rc = 0;
    while ((r = PQgetResult(c)) != NULL) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "23505") == 0) *dup = 1;
        rc |= exec_ok(c, r, err, el, "copy end");
    }
    return ok && rc == 0 ? 0 : -EIO;
}

/* Runs sql; 0 and *count = its row count (PQcmdTuples), or -EIO. */
static int exec_count(PGconn *c, const char *sql, size_t *count, char *err, size_t el,
                      const char *what)
{
    PGresult *r = PQexec(c, sql);
    *count = r && PQresultStatus(r) == PGRES_COMMAND_OK ? strtoul(PQcmdTuples(r), NULL, 10) : 0;
    return exec_ok(c, r, err, el, what);
}

/* Some bars are already stored: each PAGE op's bars through the staging
 * table and INSERT ... ON CONFLICT DO NOTHING, one op at a time so that its
 * row count is the op's new bars. */
static int merge_each(PGconn *c, td__store_op_t *const *ops, size_t n, char *err, size_t el)
{
    int dup, rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ops[i]->inserted = 0;
        if (ops[i]->kind != TD__STORE_PAGE || !ops[i]->n) continue;
        td_buf_t b = TD_BUF_INIT;
        copy_rows(&b, &ops[i], 1);
        rc = copy_into(c, "td_staging", &b, err, el, &dup);
        td_buf_free(&b);
        if (rc == 0) rc = exec_count(c, MERGE, &ops[i]->inserted, err, el, "merge");
        if (rc == 0) rc = exec_ok(c, PQexec(c, "DELETE FROM td_staging"), err, el, "staging");
    }
    return rc;
}

/* The bars go straight into `bars` (the common case: none stored yet; then
 * every bar is new); if a row is already there, that attempt is rolled back
 * to the savepoint and merge_each takes over. */
static int put_bars(PGconn *c, td__store_op_t *const *ops, size_t n, char *err, size_t el)
{
    td_buf_t b = TD_BUF_INIT;
    copy_rows(&b, ops, n);
    int dup, rc = exec_ok(c, PQexec(c, "SAVEPOINT td_direct"), err, el, "savepoint");
    if (rc == 0) rc = copy_into(c, "bars", &b, err, el, &dup);
    td_buf_free(&b);
    if (rc == 0) {
        rc = exec_ok(c, PQexec(c, "RELEASE SAVEPOINT td_direct"), err, el, "release");
        for (size_t i = 0; i < n; i++)
            ops[i]->inserted = ops[i]->kind == TD__STORE_PAGE ? ops[i]->n : 0;
    } else if (dup) {
        rc = exec_ok(c, PQexec(c, "ROLLBACK TO SAVEPOINT td_direct"), err, el, "rollback to");
        if (rc == 0) rc = merge_each(c, ops, n, err, el);
    }
    return rc;
}

static int mark_job(PGconn *c, const td__store_op_t *op, char *err, size_t el)
{
    char rbuf[24], tbuf[24];
    snprintf(rbuf, sizeof rbuf, "%" PRId64,
             op->kind == TD__STORE_GRID ? (int64_t)1 : (int64_t)op->n);
    snprintf(tbuf, sizeof tbuf, "%" PRId64, td_now_ns());
    const char *v[4] = {op->job, op->page, rbuf, tbuf};
    PGresult *r = PQexecParams(c, JOB, 4, NULL, v, NULL, NULL, 0);
    return exec_ok(c, r, err, el, "jobs");
}

static int put_grid_row(PGconn *c, const td__store_op_t *op, char *err, size_t el)
{
    char tbuf[24];
    snprintf(tbuf, sizeof tbuf, "%" PRId64, td_now_ns());
    const char *v[4] = {op->job, op->page, op->body, tbuf};
    PGresult *r = PQexecParams(c, GRID, 4, NULL, v, NULL, NULL, 0);
    return exec_ok(c, r, err, el, "grid");
}

static int put_tx(PGconn *c, td__store_op_t *const *ops, size_t n, char *err, size_t el)
{
    if (ensure(c, err, el)) return -EIO;
    if (exec_ok(c, PQexec(c, "BEGIN"), err, el, "begin")) return -EIO;
    size_t bars = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        bars += ops[i]->kind == TD__STORE_PAGE ? ops[i]->n : 0;
    if (bars) rc = put_bars(c, ops, n, err, el);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (ops[i]->kind == TD__STORE_GRID) {
            rc = put_grid_row(c, ops[i], err, el);
            ops[i]->inserted = 1;
        }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = mark_job(c, ops[i], err, el);
    if (rc == 0) rc = exec_ok(c, PQexec(c, "COMMIT"), err, el, "commit");
    if (rc) PQclear(PQexec(c, "ROLLBACK"));
    return rc;
}

/* A deadlock or serialization failure (two writers of the same bars in
 * opposite orders: several connections, or several tickerd processes) is
 * not the data's fault: the transaction is run again, up to 3 times. */
static int pg_put(void *p, td__store_op_t *const *ops, size_t n, char *err, size_t el)
{
    for (int attempt = 1;; attempt++) {
        last_state[0] = '\0';
        int rc = put_tx(p, ops, n, err, el);
        if (rc == 0 || attempt == 3) return rc;
        if (strcmp(last_state, "40P01") != 0 && strcmp(last_state, "40001") != 0) return rc;
    }
}

static int pg_pages(void *p, td__store_op_t *op)
{
    PGconn *c = p;
    if (ensure(c, op->errmsg, sizeof op->errmsg)) return -EIO;
    const char *v[1] = {op->job};
    PGresult *r = PQexecParams(c, "SELECT page, rows FROM jobs WHERE job = $1 ORDER BY page", 1,
                               NULL, v, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        for (int i = 0; i < PQntuples(r); i++)
            td__store_op_add_page(op, PQgetvalue(r, i, 0), strtoll(PQgetvalue(r, i, 1), NULL, 10));
    return exec_ok(c, r, op->errmsg, sizeof op->errmsg, "select");
}

const td__store_backend_t td__store_pg = {
    .name = "postgres",
    .open = pg_open,
    .put = pg_put,
    .pages = pg_pages,
    .close = pg_close,
};
