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
    td_progress_t p = {0, 0, 0, 0.0, 0, bf->retries, (double)(uv_hrtime() - bf->t0) / 1e9};
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
        fprintf(stderr, "%s\n", line); /* the final state stays on screen */
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
    fprintf(stderr,
            "backfill: store (%s): %llu pages in %llu transactions, writing for %.3f s "
            "(%.0f %s/s)\n",
            td_store_backend(bf->store), (unsigned long long)st->pages,
            (unsigned long long)st->transactions, active, active > 0 ? (double)n / active : 0.0,
            bf->grid ? "responses" : "rows");
    for (size_t i = 0; i < bf->njobs; i++) { /* symbol: the cell's params in grid mode */
        const job_t *j = &bf->jobs[i];
        if (j->state != J_DONE)
            fprintf(stderr, "backfill: failed: %s: %s\n", j->symbol,
                    *j->why ? j->why : "not finished");
    }
}

static void store_json(FILE *f, const td_store_stats_t *st)
{
    fprintf(f,
            ",\"store\":{\"transactions\":%llu,\"pages\":%llu,\"rows\":%llu,"
            "\"busy_s\":%.6f,\"active_s\":%.6f}",
            (unsigned long long)st->transactions, (unsigned long long)st->pages,
            (unsigned long long)st->bars, (double)st->busy_ns / 1e9, (double)st->active_ns / 1e9);
}

static int grid_summary(bf_t *bf)
{
    size_t stored = 0, skipped = 0, failed = 0;
    for (size_t i = 0; i < bf->njobs; i++) {
        const job_t *j = &bf->jobs[i];
        if (j->state != J_DONE)
            failed++;
        else if (j->skipped)
            skipped++;
        else
            stored++;
    }
    double secs = (double)(uv_hrtime() - bf->t0) / 1e9;
    fprintf(stderr,
            "backfill: grid of %zu requests: %zu done (%zu stored, %zu already stored), %zu "
            "failed in %.1f s; %llu requests, %llu retries\n",
            bf->njobs, stored + skipped, stored, skipped, failed, secs,
            (unsigned long long)bf->requests, (unsigned long long)bf->retries);
    td_store_stats_t st;
    store_line(bf, &st);
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
            if (j->state == J_DONE) continue;
            fprintf(f, "%s{\"params\":%s,\"error\":", first ? "" : ",", j->key);
            json_str(f, *j->why ? j->why : "not finished");
            fputc('}', f);
            first = 0;
        }
        fprintf(f, "]}\n");
        fflush(f);
    }
    return failed ? 1 : 0;
}

int td__bf_summary(bf_t *bf)
{
    if (bf->grid) return grid_summary(bf);
    size_t done = 0, failed = 0;
    int64_t rows = 0, skipped = 0;
    for (size_t i = 0; i < bf->njobs; i++) {
        const job_t *j = &bf->jobs[i];
        if (j->split)
            continue;
        else if (j->state == J_DONE)
            done++;
        else
            failed++;
        rows += j->rows;
        skipped += j->skipped_rows;
    }
    double secs = (double)(uv_hrtime() - bf->t0) / 1e9;
    fprintf(stderr,
            "backfill: %zu jobs: %zu done, %zu failed; %lld rows written (%lld already stored) "
            "in %.1f s; %llu requests, %llu retries\n",
            done + failed, done, failed, (long long)rows, (long long)skipped, secs,
            (unsigned long long)bf->requests, (unsigned long long)bf->retries);
    td_store_stats_t st;
    store_line(bf, &st);
    if (bf->cfg->json) {
        FILE *f = stdout;
        fprintf(f,
                "{\"jobs\":%zu,\"done\":%zu,\"failed\":%zu,\"rows\":%lld,\"skipped_rows\":%lld,"
                "\"requests\":%llu,\"retries\":%llu,\"seconds\":%.3f",
                done + failed, done, failed, (long long)rows, (long long)skipped,
                (unsigned long long)bf->requests, (unsigned long long)bf->retries, secs);
        store_json(f, &st);
        fprintf(f, ",\"results\":[");
        for (size_t i = 0, first = 1; i < bf->njobs; i++) {
            const job_t *j = &bf->jobs[i];
            if (j->split) continue;
            fprintf(f, "%s{\"symbol\":", first ? "" : ",");
            first = 0;
            json_str(f, j->symbol);
            fprintf(f, ",\"status\":\"%s\",\"rows\":%lld,\"pages\":%llu",
                    j->state == J_DONE ? "done" : "failed", (long long)j->rows,
                    (unsigned long long)j->pages);
            if (j->state != J_DONE) {
                fprintf(f, ",\"error\":");
                json_str(f, *j->why ? j->why : "not finished");
            }
            fputc('}', f);
        }
        fprintf(f, "]}\n");
        fflush(f);
    }
    return failed ? 1 : 0;
}
