/* PostgreSQL backend (runs on the store's worker thread, blocking libpq):
 * per page BEGIN; COPY into the session's TEMP staging table (ON COMMIT
 * DELETE ROWS); INSERT INTO bars SELECT ... ON CONFLICT DO NOTHING; the jobs
 * row; COMMIT. A broken connection is reset once before the next operation. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/store_int.h"

static const char SCHEMA[] =
    "SET client_min_messages = warning;"
    "CREATE TABLE IF NOT EXISTS bars(symbol TEXT NOT NULL, timeframe TEXT NOT NULL,"
    " ts BIGINT NOT NULL, open DOUBLE PRECISION, high DOUBLE PRECISION, low DOUBLE PRECISION,"
    " close DOUBLE PRECISION, volume DOUBLE PRECISION, trade_count BIGINT,"
    " vwap DOUBLE PRECISION, source TEXT, PRIMARY KEY (symbol, timeframe, ts));"
    "CREATE TABLE IF NOT EXISTS grid(params TEXT PRIMARY KEY, body TEXT, fetched_at BIGINT);"
    "CREATE TABLE IF NOT EXISTS jobs(job TEXT NOT NULL, page TEXT NOT NULL, rows BIGINT,"
    " done_at BIGINT, PRIMARY KEY (job, page));";

static const char STAGING[] =
    "CREATE TEMP TABLE IF NOT EXISTS td_staging (LIKE bars) ON COMMIT DELETE ROWS";

static const char MERGE[] = "INSERT INTO bars SELECT * FROM td_staging ON CONFLICT DO NOTHING";
static const char JOB[] = "INSERT INTO jobs VALUES ($1, $2, $3::bigint, $4::bigint)"
                          " ON CONFLICT DO NOTHING";
static const char GRID[] = "INSERT INTO grid VALUES ($1, $2, $3::bigint) ON CONFLICT (params)"
                           " DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at";

typedef struct {
    char *p;
    size_t len, cap;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = td_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sb_fmt(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_fmt(sbuf_t *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_put(b, tmp, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* COPY text format: escape backslash, tab, newline, carriage return. */
static void sb_text(sbuf_t *b, const char *s)
{
    for (; *s; s++) {
        const char *esc = *s == '\\'   ? "\\\\"
                          : *s == '\t' ? "\\t"
                          : *s == '\n' ? "\\n"
                          : *s == '\r' ? "\\r"
                                       : NULL;
        if (esc)
            sb_put(b, esc, 2);
        else
            sb_put(b, s, 1);
    }
}

static void noop_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int exec_ok(PGconn *c, PGresult *r, char *err, size_t errlen, const char *what)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN;
    if (!ok)
        snprintf(err, errlen, "postgres %s: %s", what,
                 r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -EIO;
}

static int setup(PGconn *c, char *err, size_t errlen)
{
    if (exec_ok(c, PQexec(c, SCHEMA), err, errlen, "schema")) return -EIO;
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

static int ensure(PGconn *c, td__store_op_t *op)
{
    if (PQstatus(c) == CONNECTION_OK) return 0;
    PQreset(c);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(op->errmsg, sizeof op->errmsg, "postgres reconnect: %s", PQerrorMessage(c));
        return -EIO;
    }
    return setup(c, op->errmsg, sizeof op->errmsg);
}

static void copy_rows(sbuf_t *b, const td__store_op_t *op)
{
    for (size_t i = 0; i < op->n; i++) {
        const td_bar_t *r = &op->bars[i];
        sb_text(b, r->symbol);
        sb_put(b, "\t", 1);
        sb_text(b, op->timeframe);
        sb_fmt(b, "\t%" PRId64 "\t%.17g\t%.17g", r->ts_ns, r->open, r->high);
        sb_fmt(b, "\t%.17g\t%.17g\t%.17g", r->low, r->close, r->volume);
        if (r->trade_count >= 0)
            sb_fmt(b, "\t%" PRId64, r->trade_count);
        else
            sb_put(b, "\t\\N", 3);
        if (!isnan(r->vwap))
            sb_fmt(b, "\t%.17g\t", r->vwap);
        else
            sb_put(b, "\t\\N\t", 4);
        sb_text(b, op->source);
        sb_put(b, "\n", 1);
    }
}

static int copy_page(PGconn *c, td__store_op_t *op)
{
    char *err = op->errmsg;
    size_t el = sizeof op->errmsg;
    if (exec_ok(c, PQexec(c, "COPY td_staging FROM STDIN"), err, el, "copy")) return -EIO;
    sbuf_t b = {0};
    copy_rows(&b, op);
    int ok = 1;
    for (size_t off = 0; ok && off < b.len; off += 65536) {
        size_t n = b.len - off < 65536 ? b.len - off : 65536;
        ok = PQputCopyData(c, b.p + off, (int)n) == 1;
    }
    free(b.p);
    if (PQputCopyEnd(c, ok ? NULL : "aborted") != 1) ok = 0;
    PGresult *r;
    int rc = 0;
    while ((r = PQgetResult(c)) != NULL)
        rc |= exec_ok(c, r, err, el, "copy end");
    return ok && rc == 0 ? 0 : -EIO;
}

static int mark_job(PGconn *c, td__store_op_t *op, int64_t rows)
{
    char rbuf[24], tbuf[24];
    snprintf(rbuf, sizeof rbuf, "%" PRId64, rows);
    snprintf(tbuf, sizeof tbuf, "%" PRId64, td__store_now_ns());
    const char *v[4] = {op->job, op->page, rbuf, tbuf};
    PGresult *r = PQexecParams(c, JOB, 4, NULL, v, NULL, NULL, 0);
    return exec_ok(c, r, op->errmsg, sizeof op->errmsg, "jobs");
}

static int put_grid_row(PGconn *c, td__store_op_t *op)
{
    char tbuf[24];
    snprintf(tbuf, sizeof tbuf, "%" PRId64, td__store_now_ns());
    const char *v[3] = {op->page, op->body, tbuf};
    PGresult *r = PQexecParams(c, GRID, 3, NULL, v, NULL, NULL, 0);
    return exec_ok(c, r, op->errmsg, sizeof op->errmsg, "grid");
}

static int tx(PGconn *c, td__store_op_t *op)
{
    if (ensure(c, op)) return -EIO;
    char *err = op->errmsg;
    size_t el = sizeof op->errmsg;
    if (exec_ok(c, PQexec(c, "BEGIN"), err, el, "begin")) return -EIO;
    int rc = 0;
    if (op->kind == TD__STORE_GRID)
        rc = put_grid_row(c, op);
    else if (op->n)
        rc = copy_page(c, op);
    if (rc == 0 && op->n) rc = exec_ok(c, PQexec(c, MERGE), err, el, "merge");
    if (rc == 0) rc = mark_job(c, op, op->kind == TD__STORE_GRID ? 1 : (int64_t)op->n);
    if (rc == 0) rc = exec_ok(c, PQexec(c, "COMMIT"), err, el, "commit");
    if (rc) PQclear(PQexec(c, "ROLLBACK"));
    return rc;
}

static int pg_put(void *p, td__store_op_t *op)
{
    return tx(p, op);
}

static int pg_pages(void *p, td__store_op_t *op)
{
    PGconn *c = p;
    if (ensure(c, op)) return -EIO;
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
    .put_page = pg_put,
    .put_grid = pg_put,
    .pages = pg_pages,
    .close = pg_close,
};
