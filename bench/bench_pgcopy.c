/* SPDX-License-Identifier: Apache-2.0 */
/* The ceiling for the backfill's COPY stage: a raw libpq COPY of the same
 * rows, nothing else. Reads a COPY BINARY file (as written by
 * `\copy bars TO FILE (FORMAT binary)`), creates TABLE with the bars schema
 * (dropped first), then times one BEGIN; COPY TABLE FROM STDIN (FORMAT
 * binary) in 256 KiB chunks; COMMIT, from the same process as
 * tickerd's store does it. Prints one JSON line.
 *
 *   bench_pgcopy CONNINFO FILE [TABLE]      (TABLE defaults to bars) */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ok(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType st = PQresultStatus(r);
    int good = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN;
    if (!good) fprintf(stderr, "bench_pgcopy: %s: %s", what, PQerrorMessage(c));
    PQclear(r);
    return good;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

static int copy(PGconn *c, const char *table, const char *data, size_t len)
{
    char sql[256];
    snprintf(sql, sizeof sql, "COPY %s FROM STDIN (FORMAT binary)", table);
    if (!ok(c, PQexec(c, "BEGIN"), "begin") || !ok(c, PQexec(c, sql), "copy")) return 0;
    int good = 1;
    for (size_t off = 0; good && off < len; off += 1 << 18) {
        size_t n = len - off < (size_t)1 << 18 ? len - off : (size_t)1 << 18;
        good = PQputCopyData(c, data + off, (int)n) == 1;
    }
    good = PQputCopyEnd(c, good ? NULL : "aborted") == 1 && good;
    PGresult *r;
    while ((r = PQgetResult(c)) != NULL)
        good = ok(c, r, "copy end") && good;
    return ok(c, PQexec(c, "COMMIT"), "commit") && good;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_pgcopy CONNINFO FILE [TABLE]\n");
        return 2;
    }
    const char *table = argc > 3 ? argv[3] : "bars";
    size_t len;
    char *data = slurp(argv[2], &len);
    if (!data) {
        fprintf(stderr, "bench_pgcopy: cannot read %s\n", argv[2]);
        return 1;
    }
    PGconn *c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_pgcopy: %s", PQerrorMessage(c));
        return 1;
    }
    char sql[512];
    snprintf(sql, sizeof sql,
             "SET client_min_messages = warning; DROP TABLE IF EXISTS %s; CREATE TABLE %s("
             "symbol TEXT NOT NULL, timeframe TEXT NOT NULL, ts BIGINT NOT NULL, open DOUBLE "
             "PRECISION, high DOUBLE PRECISION, low DOUBLE PRECISION, close DOUBLE PRECISION, "
             "volume DOUBLE PRECISION, trade_count BIGINT, vwap DOUBLE PRECISION, source TEXT, "
             "PRIMARY KEY (symbol, timeframe, ts))",
             table, table);
    int rc = 1;
    if (ok(c, PQexec(c, sql), "create")) {
        double t0 = now_s();
        int good = copy(c, table, data, len);
        double t = now_s() - t0;
        if (good) {
            char count[300];
            snprintf(count, sizeof count, "SELECT count(*) FROM %s", table);
            PGresult *r = PQexec(c, count);
            long rows = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 0)) : -1;
            PQclear(r);
            printf("{\"rows\":%ld,\"bytes\":%zu,\"seconds\":%.6f,\"rows_per_s\":%.0f}\n", rows, len,
                   t, t > 0 ? (double)rows / t : 0.0);
            rc = 0;
        }
    }
    PQfinish(c);
    free(data);
    return rc;
}
