/* SPDX-License-Identifier: Apache-2.0 */
/* What `tickerd backfill` shows: the progress line on a terminal and the
 * summary at the end. */
#include <stdio.h>
#include <string.h>

#include "backfill/bf_int.h"
#include "backfill/progress.h"
#include "core/buf.h"
#include "core/log.h"

#define PROGRESS_MS 200

static void format(bf_t *bf, char *line, size_t cap)
{
    const td_backfill_cfg_t *c = bf->cfg;
    td_progress_t p = {0,
                       0,
                       0,
                       0.0,
                       0,
                       bf->retries,
                       (double)(uv_hrtime() - bf->t0) / 1e9,
                       bf->requests,
                       c->rate_n > 0 ? c->rate_n / c->rate_s : 0.0};
    for (size_t i = 0; i < bf->njobs; i++) {
        const job_t *j = &bf->jobs[i];
        if (j->split) continue;
        p.jobs++;
        p.finished += td__bf_final(j);
        p.work += td__bf_final(j) ? 1.0 : j->frac;
        p.failed += j->state == J_FAILED;
        p.rows += j->rows;
    }
    td_progress_format(line, cap, &p);
}

static void draw(uv_timer_t *t)
{
    char line[200];
    format(t->data, line, sizeof line);
    td_log_status(line);
}

void td__bf_progress_start(bf_t *bf)
{
    uv_timer_init(bf->loop, &bf->progress_timer);
    bf->progress_timer.data = bf;
    if (bf->cfg->progress) uv_timer_start(&bf->progress_timer, draw, 0, PROGRESS_MS);
}

void td__bf_progress_stop(bf_t *bf)
{
    if (uv_is_active((uv_handle_t *)&bf->progress_timer)) {
        char line[200];
        format(bf, line, sizeof line);
        td_log_status(NULL);
        TD_REPORT("%s", line); /* the final state stays on screen */
    }
    uv_close((uv_handle_t *)&bf->progress_timer, NULL);
}

/* A JSON string literal of s, as core/buf escapes it. */
static void json_str(FILE *f, const char *s)
{
    td_buf_t b = TD_BUF_INIT;
    td_buf_append_json_str(&b, s, strlen(s));
    fwrite(b.data, 1, b.len, f);
    td_buf_free(&b);
}

/* The store stage (its own time, so it can be compared with a raw COPY),
 * then the jobs that failed and why. */
static void store_line(bf_t *bf, td_store_stats_t *st)
{
    td_store_stats(bf->store, st);
    double active = (double)st->active_ns / 1e9;
    uint64_t n = bf->grid ? st->pages : st->bars;
    TD_REPORT("backfill: store (%s): %llu pages in %llu transactions, writing for %.3f s "
              "(%.0f %s/s)",
              td_store_backend(bf->store), (unsigned long long)st->pages,
              (unsigned long long)st->transactions, active, active > 0 ? (double)n / active : 0.0,
              bf->grid ? "responses" : "rows");
    for (size_t i = 0; i < bf->njobs; i++) { /* symbol: the cell's params in grid mode */
        const job_t *j = &bf->jobs[i];
        if (j->state == J_FAILED) TD_REPORT("backfill: failed: %s: %s", j->symbol, j->why);
    }
}

/* Jobs the run stopped before their end, and why it stopped: one line. */
static void stopped_line(const bf_t *bf, size_t interrupted, size_t not_started)
{
    if (!bf->store_err[0] && !bf->stop_signal) return;
    TD_REPORT("backfill: %s%s: %zu interrupted, %zu not started; rerun the same command to "
              "resume%s",
              bf->store_err[0] ? "stopped by a store error: " : "interrupted by a signal",
              bf->store_err, interrupted, not_started,
              bf->store_err[0] ? " once the store works" : "");
}

/* How a job ended, as the summary says it. */
static const char *outcome(const job_t *j)
{
    if (j->state == J_DONE) return "done";
    if (j->state == J_FAILED) return "failed";
    return j->started ? "interrupted" : "not_started";
}

static void store_json(FILE *f, const td_store_stats_t *st)
{
    fprintf(f,
            ",\"store\":{\"transactions\":%llu,\"pages\":%llu,\"rows\":%llu,\"inserted\":%llu,"
            "\"busy_s\":%.6f,\"active_s\":%.6f}",
            (unsigned long long)st->transactions, (unsigned long long)st->pages,
            (unsigned long long)st->bars, (unsigned long long)st->inserted,
            (double)st->busy_ns / 1e9, (double)st->active_ns / 1e9);
}

static int grid_summary(bf_t *bf)
{
    size_t stored = 0, skipped = 0, failed = 0, interrupted = 0, not_started = 0;
    for (size_t i = 0; i < bf->njobs; i++) {
        const job_t *j = &bf->jobs[i];
        if (j->state == J_FAILED)
            failed++;
        else if (j->state != J_DONE)
            *(j->started ? &interrupted : &not_started) += 1;
        else if (j->skipped)
            skipped++;
        else
            stored++;
    }
    double secs = (double)(uv_hrtime() - bf->t0) / 1e9;
    TD_REPORT("backfill: grid of %zu requests: %zu done (%zu stored, %zu already stored), %zu "
              "failed in %.1f s; %llu requests, %llu retries",
              bf->njobs, stored + skipped, stored, skipped, failed, secs,
              (unsigned long long)bf->requests, (unsigned long long)bf->retries);
    td_store_stats_t st;
    store_line(bf, &st);
    stopped_line(bf, interrupted, not_started);
    if (bf->cfg->json) {
        FILE *f = stdout;
        fprintf(f, "{\"mode\":\"grid\",\"job\":");
        json_str(f, bf->njobs ? bf->jobs[0].name : "");
        fprintf(f,
                ",\"cells\":%zu,\"done\":%zu,\"stored\":%zu,\"skipped\":%zu,\"failed\":%zu,"
                "\"requests\":%llu,\"retries\":%llu,\"seconds\":%.3f",
                bf->njobs, stored + skipped, stored, skipped, failed,
                (unsigned long long)bf->requests, (unsigned long long)bf->retries, secs);
        store_json(f, &st);
        fprintf(f, ",\"failures\":[");
        int first = 1;
        for (size_t i = 0; i < bf->njobs; i++) {
            const job_t *j = &bf->jobs[i];
            if (j->state != J_FAILED) continue;
            fprintf(f, "%s{\"params\":%s,\"error\":", first ? "" : ",", j->key);
            json_str(f, j->why);
            fputc('}', f);
            first = 0;
        }
        fprintf(f, "]}\n");
        fflush(f);
    }
    return failed ? 1 : 0;
}

typedef struct {
    size_t done, complete_before, failed, interrupted, not_started;
    int64_t rows, dup_rows, skipped_rows;
} tally_t;

static void tally(const bf_t *bf, tally_t *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < bf->njobs; i++) {
        const job_t *j = &bf->jobs[i];
        if (j->split) continue;
        if (j->state == J_DONE)
            t->done++;
        else if (j->state == J_FAILED)
            t->failed++;
        else
            *(j->started ? &t->interrupted : &t->not_started) += 1;
        t->complete_before += j->complete_before;
        t->rows += j->rows;
        t->dup_rows += j->dup_rows;
        t->skipped_rows += j->skipped_rows;
    }
}

static void results_json(FILE *f, const bf_t *bf)
{
    fprintf(f, ",\"results\":[");
    for (size_t i = 0, first = 1; i < bf->njobs; i++) {
        const job_t *j = &bf->jobs[i];
        if (j->split) continue;
        fprintf(f, "%s{\"symbol\":", first ? "" : ",");
        first = 0;
        json_str(f, j->symbol);
        fprintf(f, ",\"status\":\"%s\",\"rows\":%lld,\"pages\":%llu", outcome(j),
                (long long)j->rows, (unsigned long long)j->pages);
        if (j->state == J_FAILED) {
            fprintf(f, ",\"error\":");
            json_str(f, j->why);
        }
        fputc('}', f);
    }
    fputc(']', f);
}

/* rows: bars this run inserted into `bars`, counted as the store committed
 * them (never as fetched); duplicate_rows: bars of committed pages that
 * were there already; skipped_rows: bars of pages an earlier run stored. */
int td__bf_summary(bf_t *bf)
{
    if (bf->grid) return grid_summary(bf);
    tally_t t;
    tally(bf, &t);
    double secs = (double)(uv_hrtime() - bf->t0) / 1e9;
    TD_REPORT("backfill: %zu jobs: %zu done, %zu failed; %lld rows inserted (%lld duplicates "
              "ignored, %lld stored by an earlier run) in %.1f s; %llu requests, %llu retries",
              t.done + t.failed + t.interrupted + t.not_started, t.done, t.failed,
              (long long)t.rows, (long long)t.dup_rows, (long long)t.skipped_rows, secs,
              (unsigned long long)bf->requests, (unsigned long long)bf->retries);
    if (t.complete_before)
        TD_REPORT("backfill: %zu jobs were complete already (no request)", t.complete_before);
    td_store_stats_t st;
    store_line(bf, &st);
    stopped_line(bf, t.interrupted, t.not_started);
    if (bf->cfg->json) {
        FILE *f = stdout;
        fprintf(f,
                "{\"jobs\":%zu,\"done\":%zu,\"failed\":%zu,\"interrupted\":%zu,"
                "\"not_started\":%zu,\"complete_before\":%zu,\"rows\":%lld,"
                "\"duplicate_rows\":%lld,\"skipped_rows\":%lld,\"requests\":%llu,"
                "\"retries\":%llu,\"seconds\":%.3f",
                t.done + t.failed + t.interrupted + t.not_started, t.done, t.failed, t.interrupted,
                t.not_started, t.complete_before, (long long)t.rows, (long long)t.dup_rows,
                (long long)t.skipped_rows, (unsigned long long)bf->requests,
                (unsigned long long)bf->retries, secs);
        fprintf(f, ",\"stopped\":");
        if (bf->store_err[0]) {
            fprintf(f, "\"store\",\"store_error\":");
            json_str(f, bf->store_err);
        } else {
            fprintf(f, bf->stop_signal ? "\"signal\"" : "null");
        }
        store_json(f, &st);
        results_json(f, bf);
        fprintf(f, "}\n");
        fflush(f);
    }
    return t.failed ? 1 : 0;
}
