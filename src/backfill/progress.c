/* SPDX-License-Identifier: Apache-2.0 */
#include "backfill/progress.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#define BAR_WIDTH 20

typedef struct {
    char *p;
    size_t len, cap;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_t *o, const char *fmt, ...)
{
    if (o->len + 1 >= o->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n > 0) o->len += (size_t)n < o->cap - o->len ? (size_t)n : o->cap - o->len - 1;
}

/* 1234567 -> "1,234,567" */
static void put_grouped(out_t *o, int64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%" PRId64, v < 0 ? -v : v);
    if (v < 0) put(o, "-");
    for (int i = 0; i < n; i++)
        put(o, "%s%c", i && (n - i) % 3 == 0 ? "," : "", digits[i]);
}

static void put_rate(out_t *o, double r)
{
    if (r >= 1e6)
        put(o, "%.1fM", r / 1e6);
    else if (r >= 1e4)
        put(o, "%.1fk", r / 1e3);
    else
        put(o, "%.0f", r);
}

static void put_eta(out_t *o, const td_progress_t *p)
{
    double todo = (double)p->jobs - p->work, left = -1;
    if (todo < 0) todo = 0;
    if (p->work > 0 && p->elapsed_s > 0) left = p->elapsed_s * todo / p->work;
    if (p->rate > 0) {
        double reqs =
            p->work > 0 ? (double)p->requests * todo / p->work : (double)(p->jobs - p->finished);
        if (reqs / p->rate > left) left = reqs / p->rate;
    }
    if (left < 0) {
        put(o, "ETA --");
        return;
    }
    uint64_t s = (uint64_t)(left + 0.5);
    if (s >= 3600)
        put(o, "ETA %" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600, s / 60 % 60, s % 60);
    else
        put(o, "ETA %" PRIu64 ":%02" PRIu64, s / 60, s % 60);
}

size_t td_progress_format(char *buf, size_t cap, const td_progress_t *p)
{
    out_t o = {buf, 0, cap};
    if (!cap) return 0;
    buf[0] = '\0';
    double w = p->work < 0 ? 0 : p->work > (double)p->jobs ? (double)p->jobs : p->work;
    size_t fill = p->jobs ? (size_t)(w * BAR_WIDTH / (double)p->jobs) : BAR_WIDTH;
    put(&o, "[");
    for (size_t i = 0; i < BAR_WIDTH; i++)
        put(&o, "%c", i < fill ? '#' : '-');
    put(&o, "] %zu/%zu jobs", p->finished, p->jobs);
    if (p->failed) put(&o, "  %zu failed", p->failed);
    put(&o, "  ");
    put_grouped(&o, p->rows);
    put(&o, " rows  ");
    put_rate(&o, p->elapsed_s > 0 ? (double)p->rows / p->elapsed_s : 0);
    put(&o, " rows/s  %" PRIu64 " retr%s  ", p->retries, p->retries == 1 ? "y" : "ies");
    if (p->finished < p->jobs)
        put_eta(&o, p);
    else
        put(&o, "done");
    return o.len;
}
