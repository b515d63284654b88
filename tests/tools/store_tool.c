/* SPDX-License-Identifier: Apache-2.0 */
/* store_tool: drives src/store for tests/integration/test_store.py.
 *
 *   store_tool SPEC write JOB PAGE_SIZE [--delay-ms N] [--backlog N] [--no-skip]
 *                                       [--keep-going] [--connections N]
 *       reads bars as CSV lines from stdin
 *       (symbol,ts_ns,open,high,low,close,volume,trade_count,vwap; empty
 *       trade_count/vwap = NULL), writes them as pages "p000000", ... of
 *       PAGE_SIZE rows (timeframe 1Min, source test), skipping the pages the
 *       store lists as done for JOB; prints "done PAGE" per commit, and at
 *       the end "written W skipped S maxbacklog B inserted I" (I: the bars
 *       that were new). A failed page stops the
 *       run, or with --keep-going prints "failed PAGE: MESSAGE" and the run
 *       goes on (exit 1 at the end).
 *   store_tool SPEC grid JOB PARAMS     body from stdin
 *   store_tool SPEC pages JOB           prints "PAGE ROWS" per finished page
 * Exit 0 on success, 1 on a store error, 2 on usage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/store.h"

typedef struct tool_s tool_t;

typedef struct {
    tool_t *t;
    size_t i; /* page index */
} page_ctx_t;

struct tool_s {
    uv_loop_t loop;
    uv_timer_t timer;
    td_store_t *store;
    const char *job;
    td_bar_t *bars;
    size_t nbars, page_size, npages, next, inflight;
    unsigned char *skip;
    char **names;
    unsigned delay_ms;
    size_t written, skipped, maxbacklog, inserted;
    int failed, closing, keep_going;
    size_t nfailed;
    page_ctx_t *ctx; /* one per page: done callbacks may come in any order */
};

static int usage(void)
{
    fprintf(stderr, "usage: store_tool SPEC write JOB PAGE_SIZE [--delay-ms N] [--backlog N]"
                    " [--no-skip] [--keep-going] [--connections N] | grid JOB PARAMS"
                    " | pages JOB\n");
    return 2;
}

static char *field(char **p)
{
    char *s = *p, *c = strchr(s, ',');
    if (c) {
        *c = '\0';
        *p = c + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

static void parse_line(td_bar_t *b, char *line)
{
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line;
    snprintf(b->symbol, sizeof b->symbol, "%s", field(&p));
    b->ts_ns = strtoll(field(&p), NULL, 10);
    double *d[5] = {&b->open, &b->high, &b->low, &b->close, &b->volume};
    for (int i = 0; i < 5; i++)
        *d[i] = strtod(field(&p), NULL);
    char *tc = field(&p), *vw = field(&p);
    b->trade_count = *tc ? strtoll(tc, NULL, 10) : -1;
    b->vwap = *vw ? strtod(vw, NULL) : NAN;
}

static void read_bars(tool_t *t)
{
    char line[1024];
    size_t cap = 0;
    while (fgets(line, sizeof line, stdin)) {
        if (line[0] == '\n' || line[0] == '\0') continue;
        if (t->nbars == cap) {
            cap = cap ? cap * 2 : 1024;
            t->bars = td_xrealloc(t->bars, cap * sizeof *t->bars);
        }
        parse_line(&t->bars[t->nbars++], line);
    }
}

static void on_closed(td_store_t *s, void *ud)
{
    (void)ud;
    td_store_free(s);
}

static void finish(tool_t *t)
{
    if (t->closing) return;
    t->closing = 1;
    uv_timer_stop(&t->timer);
    td_store_close(t->store, on_closed, t);
}

static void pump(tool_t *t);

static void on_put(td_store_t *s, const td_store_put_res_t *res, void *ud)
{
    page_ctx_t *c = ud;
    tool_t *t = c->t;
    (void)s;
    int status = res->status;
    const char *errmsg = res->errmsg;
    t->inflight--;
    t->inserted += res->inserted;
    const char *name = t->names[c->i];
    if (status && t->keep_going) {
        printf("failed %s: %s\n", name, errmsg);
        t->nfailed++;
    } else if (status) {
        fprintf(stderr, "store_tool: put: %s\n", errmsg);
        t->failed = 1;
        finish(t);
        return;
    } else {
        t->written++;
        printf("done %s\n", name);
    }
    if (!uv_is_active((uv_handle_t *)&t->timer)) pump(t);
}

static void on_timer(uv_timer_t *tm)
{
    pump(tm->data);
}

/* Submits pages until the store pushes back (TD_EAGAIN: wait for on_put) or,
 * with --delay-ms, one page per timer tick. */
static void pump(tool_t *t)
{
    while (!t->failed && !t->closing && t->next < t->npages) {
        size_t i = t->next;
        if (t->skip[i]) {
            t->skipped++;
            t->next++;
            continue;
        }
        size_t off = i * t->page_size;
        size_t n = t->nbars - off < t->page_size ? t->nbars - off : t->page_size;
        td_store_page_t pg = {t->job, t->names[i], "1Min", "test", t->bars + off, n};
        int rc = td_store_put_page(t->store, &pg, on_put, &t->ctx[i]);
        if (rc == TD_EAGAIN) return;
        if (rc) {
            fprintf(stderr, "store_tool: put_page: %d\n", rc);
            t->failed = 1;
            break;
        }
        t->next++;
        t->inflight++;
        if (td_store_backlog(t->store) > t->maxbacklog) t->maxbacklog = td_store_backlog(t->store);
        if (t->delay_ms) {
            uv_timer_start(&t->timer, on_timer, t->delay_ms, 0);
            return;
        }
    }
    if (t->inflight == 0 && (t->failed || t->next == t->npages)) finish(t);
}

static void on_page_done(td_store_t *s, const char *page, int64_t rows, void *ud)
{
    tool_t *t = ud;
    (void)s;
    (void)rows;
    size_t i = strtoul(page + 1, NULL, 10);
    if (page[0] == 'p' && i < t->npages && strcmp(t->names[i], page) == 0) t->skip[i] = 1;
}

static void on_listed(td_store_t *s, int status, const char *errmsg, void *ud)
{
    tool_t *t = ud;
    (void)s;
    if (status) {
        fprintf(stderr, "store_tool: pages: %s\n", errmsg);
        t->failed = 1;
        finish(t);
        return;
    }
    pump(t);
}

static void print_page(td_store_t *s, const char *page, int64_t rows, void *ud)
{
    (void)s;
    (void)ud;
    printf("%s %lld\n", page, (long long)rows);
}

static void on_simple_done(td_store_t *s, int status, const char *errmsg, void *ud)
{
    tool_t *t = ud;
    (void)s;
    if (status) {
        fprintf(stderr, "store_tool: %s\n", errmsg);
        t->failed = 1;
    }
    finish(t);
}

static void on_grid_put(td_store_t *s, const td_store_put_res_t *res, void *ud)
{
    on_simple_done(s, res->status, res->errmsg, ud);
}

static int parse_write_opts(tool_t *t, int argc, char **argv, int *noskip)
{
    for (int i = 5; i < argc; i++) {
        if (strcmp(argv[i], "--no-skip") == 0)
            *noskip = 1;
        else if (strcmp(argv[i], "--keep-going") == 0)
            t->keep_going = 1;
        else if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc)
            i++; /* read in main, before the open */
        else if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc)
            t->delay_ms = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--backlog") == 0 && i + 1 < argc)
            td_store_set_backlog_limit(t->store, (size_t)atoi(argv[++i]));
        else
            return -1;
    }
    return 0;
}

static int start_write(tool_t *t, int argc, char **argv)
{
    int noskip = 0;
    t->page_size = strtoul(argv[4], NULL, 10);
    if (t->page_size == 0 || parse_write_opts(t, argc, argv, &noskip)) return -1;
    read_bars(t);
    t->npages = (t->nbars + t->page_size - 1) / t->page_size;
    t->skip = td_xcalloc(t->npages + 1, 1);
    t->names = td_xcalloc(t->npages + 1, sizeof *t->names);
    t->ctx = td_xcalloc(t->npages + 1, sizeof *t->ctx);
    for (size_t i = 0; i < t->npages; i++) {
        t->ctx[i].t = t;
        t->ctx[i].i = i;
        char name[32];
        snprintf(name, sizeof name, "p%06zu", i);
        t->names[i] = td_xstrdup(name);
    }
    if (noskip) {
        pump(t);
        return 0;
    }
    return td_store_pages_done(t->store, t->job, on_page_done, on_listed, t);
}

static int start_grid(tool_t *t, const char *params)
{
    size_t cap = 4096, len = 0, n;
    char *body = td_xmalloc(cap);
    while ((n = fread(body + len, 1, cap - len, stdin)) > 0) {
        len += n;
        if (len == cap) body = td_xrealloc(body, cap *= 2);
    }
    int rc = td_store_put_grid(t->store, t->job, params, body, len, on_grid_put, t);
    free(body);
    return rc;
}

static void cleanup(tool_t *t)
{
    for (size_t i = 0; i < t->npages; i++)
        free(t->names[i]);
    free(t->bars);
    free(t->names);
    free(t->skip);
    free(t->ctx);
}

static int dispatch(tool_t *t, int argc, char **argv)
{
    const char *cmd = argv[2];
    if (strcmp(cmd, "write") == 0 && argc >= 5) return start_write(t, argc, argv);
    if (strcmp(cmd, "grid") == 0 && argc == 5) return start_grid(t, argv[4]);
    if (strcmp(cmd, "pages") == 0 && argc == 4)
        return td_store_pages_done(t->store, t->job, print_page, on_simple_done, t);
    return -1;
}

int main(int argc, char **argv)
{
    static tool_t t;
    if (argc < 4) return usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    uv_loop_init(&t.loop);
    uv_timer_init(&t.loop, &t.timer);
    t.timer.data = &t;
    t.job = argv[3];
    td_store_err_t err;
    int conns = 1;
    for (int i = 4; i + 1 < argc; i++)
        if (strcmp(argv[i], "--connections") == 0) conns = atoi(argv[i + 1]);
    t.store = td_store_open(&t.loop, argv[1], conns, &err);
    if (!t.store) {
        fprintf(stderr, "store_tool: open: %s\n", err.msg);
        return 1;
    }
    int rc = dispatch(&t, argc, argv);
    if (rc) {
        fprintf(stderr, "store_tool: bad arguments or call failed (%d)\n", rc);
        t.failed = 1;
        finish(&t);
    }
    uv_run(&t.loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t.timer, NULL);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    if (strcmp(argv[2], "write") == 0 && !t.failed)
        printf("written %zu skipped %zu maxbacklog %zu inserted %zu\n", t.written, t.skipped,
               t.maxbacklog, t.inserted);
    cleanup(&t);
    int closed = uv_loop_close(&t.loop);
    return t.failed || t.nfailed || closed ? 1 : rc == -1 ? 2 : 0;
}
