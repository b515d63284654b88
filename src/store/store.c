/* SPDX-License-Identifier: Apache-2.0 */
/* The backfill store front end: the operation queue, the worker threads
 * (one per database connection) and the uv_async_t that brings results back
 * to the loop. */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/store_int.h"

typedef struct {
    td_store_t *store;
    void *db; /* this worker's own connection */
    uv_thread_t thread;
} worker_t;

struct td_store_s {
    uv_loop_t *loop;
    const td__store_backend_t *be;
    worker_t workers[TD_STORE_MAX_CONNECTIONS];
    int nworkers, nquit;
    uv_mutex_t mu;
    uv_cond_t cv;
    uv_async_t async;
    td__store_op_t *todo, **todo_tail; /* loop -> worker */
    td__store_op_t *done, **done_tail; /* worker -> loop */
    size_t backlog, limit;
    td_store_stats_t stats; /* guarded by mu, as the two below */
    int active;             /* workers inside a write */
    uint64_t active_t0;     /* when the first of them started */
    int closing;
    td_store_close_cb close_cb;
    void *close_ud;
};

void td__store_op_add_page(td__store_op_t *op, const char *page, int64_t rows)
{
    if (op->npages == op->cap) {
        op->cap = op->cap ? op->cap * 2 : 64;
        op->pages = td_xrealloc(op->pages, op->cap * sizeof *op->pages);
        op->rows = td_xrealloc(op->rows, op->cap * sizeof *op->rows);
    }
    op->pages[op->npages] = td_xstrdup(page);
    op->rows[op->npages++] = rows;
}

static void op_free(td__store_op_t *op)
{
    for (size_t i = 0; i < op->npages; i++)
        free(op->pages[i]);
    free(op->pages);
    free(op->rows);
    free(op->job);
    free(op->page);
    free(op->timeframe);
    free(op->source);
    free(op->bars);
    free(op->body);
    free(op);
}

static int is_write(const td__store_op_t *op)
{
    return op && (op->kind == TD__STORE_PAGE || op->kind == TD__STORE_GRID);
}

/* Writes ops[0..n) in one transaction. If a group of several fails, each op
 * is retried alone so that one bad page fails by itself, with its own error. */
static void run_writes(td_store_t *s, void *db, td__store_op_t **ops, size_t n)
{
    char err[256] = "";
    uint64_t t0 = uv_hrtime();
    uv_mutex_lock(&s->mu);
    if (s->active++ == 0) s->active_t0 = t0;
    uv_mutex_unlock(&s->mu);
    int rc = s->be->put(db, ops, n, err, sizeof err);
    uint64_t bars = 0, inserted = 0, t1 = uv_hrtime();
    for (size_t i = 0; i < n; i++) {
        bars += ops[i]->n;
        inserted += ops[i]->inserted;
    }
    uv_mutex_lock(&s->mu);
    s->stats.busy_ns += t1 - t0;
    if (--s->active == 0) s->stats.active_ns += t1 - s->active_t0;
    if (rc == 0) {
        s->stats.transactions++;
        s->stats.pages += n;
        s->stats.bars += bars;
        s->stats.inserted += inserted;
    }
    uv_mutex_unlock(&s->mu);
    if (rc && n > 1) {
        for (size_t i = 0; i < n; i++)
            run_writes(s, db, &ops[i], 1);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ops[i]->status = rc;
        if (rc) {
            ops[i]->inserted = 0;
            snprintf(ops[i]->errmsg, sizeof ops[i]->errmsg, "%s", err);
        }
    }
}

static void run_op(td_store_t *s, worker_t *w, td__store_op_t *op)
{
    switch (op->kind) {
    case TD__STORE_PAGE:
    case TD__STORE_GRID:
        run_writes(s, w->db, &op, 1);
        break;
    case TD__STORE_PAGES:
        op->status = s->be->pages(w->db, op);
        break;
    case TD__STORE_QUIT:
        s->be->close(w->db);
        w->db = NULL;
        break;
    }
}

/* Takes the next op, or the run of write ops at the head of the queue within
 * the group bounds, as a NULL-terminated list in ops. Returns the count. */
static size_t take(td_store_t *s, td__store_op_t **ops)
{
    uv_mutex_lock(&s->mu);
    while (!s->todo)
        uv_cond_wait(&s->cv, &s->mu);
    size_t n = 0, bars = 0;
    do {
        td__store_op_t *op = s->todo;
        bars += op->n;
        ops[n++] = op;
        s->todo = op->next;
        op->next = NULL;
    } while (is_write(ops[0]) && is_write(s->todo) && n < TD__STORE_GROUP_OPS &&
             bars + s->todo->n <= TD__STORE_GROUP_BARS);
    if (!s->todo) s->todo_tail = &s->todo;
    uv_mutex_unlock(&s->mu);
    return n;
}

/* One per connection; each takes the next op or group from the shared queue
 * and exits on its QUIT (one is queued per worker, after everything else). */
static void worker(void *arg)
{
    worker_t *w = arg;
    td_store_t *s = w->store;
    td__store_op_t *ops[TD__STORE_GROUP_OPS];
    for (;;) {
        size_t n = take(s, ops);
        if (n > 1)
            run_writes(s, w->db, ops, n);
        else
            run_op(s, w, ops[0]);
        enum td__store_kind kind = ops[n - 1]->kind;

        uv_mutex_lock(&s->mu);
        for (size_t i = 0; i < n; i++) {
            *s->done_tail = ops[i];
            s->done_tail = &ops[i]->next;
        }
        uv_mutex_unlock(&s->mu);
        uv_async_send(&s->async);
        if (kind == TD__STORE_QUIT) return;
    }
}

static void on_async_closed(uv_handle_t *h)
{
    td_store_t *s = h->data;
    if (s->close_cb) s->close_cb(s, s->close_ud);
}

static void finish_op(td_store_t *s, td__store_op_t *op)
{
    const char *msg = op->status ? op->errmsg : NULL;
    if (op->kind == TD__STORE_PAGE || op->kind == TD__STORE_GRID) s->backlog--;
    if (op->kind == TD__STORE_PAGES && op->status == 0 && op->page_cb)
        for (size_t i = 0; i < op->npages; i++)
            op->page_cb(s, op->pages[i], op->rows[i], op->ud);
    if (op->kind == TD__STORE_QUIT) {
        if (++s->nquit == s->nworkers) {
            for (int i = 0; i < s->nworkers; i++)
                uv_thread_join(&s->workers[i].thread);
            uv_close((uv_handle_t *)&s->async, on_async_closed);
        }
    } else if (op->put_cb) {
        td_store_put_res_t res = {op->status, msg, op->status ? 0 : op->n, op->inserted};
        if (op->kind == TD__STORE_GRID) res.rows = op->status ? 0 : 1;
        op->put_cb(s, &res, op->ud);
    } else if (op->done_cb) {
        op->done_cb(s, op->status, msg, op->ud);
    }
    op_free(op);
}

static void on_async(uv_async_t *a)
{
    td_store_t *s = a->data;
    uv_mutex_lock(&s->mu);
    td__store_op_t *list = s->done;
    s->done = NULL;
    s->done_tail = &s->done;
    uv_mutex_unlock(&s->mu);
    while (list) {
        td__store_op_t *next = list->next;
        finish_op(s, list);
        list = next;
    }
}

static void set_err(td_store_err_t *err, int code, const char *msg)
{
    if (!err) return;
    err->code = code;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
}

static const td__store_backend_t *pick_backend(const char *spec, const char **rest)
{
    if (strncmp(spec, "sqlite:", 7) == 0) {
        *rest = spec + 7;
        return &td__store_sqlite;
    }
    if (strncmp(spec, "postgres://", 11) == 0 || strncmp(spec, "postgresql://", 13) == 0) {
        *rest = spec;
        return &td__store_pg;
    }
    return NULL;
}

td_store_t *td_store_open(uv_loop_t *loop, const char *spec, int connections, td_store_err_t *err)
{
    const char *rest = NULL;
    const td__store_backend_t *be = spec ? pick_backend(spec, &rest) : NULL;
    if (!be || !*rest) {
        set_err(err, -EINVAL, "store spec must be sqlite:PATH or postgres://...");
        return NULL;
    }
    if (connections < 1 || connections > TD_STORE_MAX_CONNECTIONS) {
        set_err(err, -EINVAL, "store connections must be 1..16");
        return NULL;
    }
    if (be == &td__store_sqlite) connections = 1; /* SQLite has one writer at a time */
    td_store_t *s = td_xcalloc(1, sizeof *s);
    char msg[256] = "";
    for (int i = 0; i < connections; i++) {
        if (!(s->workers[i].db = be->open(rest, msg, sizeof msg))) {
            set_err(err, -EIO, msg);
            while (i--)
                be->close(s->workers[i].db);
            free(s);
            return NULL;
        }
    }
    s->loop = loop;
    s->be = be;
    s->nworkers = connections;
    s->limit = TD_STORE_BACKLOG;
    s->todo_tail = &s->todo;
    s->done_tail = &s->done;
    if (uv_mutex_init(&s->mu) || uv_cond_init(&s->cv)) abort();
    uv_async_init(loop, &s->async, on_async);
    s->async.data = s;
    for (int i = 0; i < connections; i++) {
        s->workers[i].store = s;
        if (uv_thread_create(&s->workers[i].thread, worker, &s->workers[i])) abort();
    }
    return s;
}

static void enqueue(td_store_t *s, td__store_op_t *op)
{
    uv_mutex_lock(&s->mu);
    *s->todo_tail = op;
    s->todo_tail = &op->next;
    uv_cond_signal(&s->cv);
    uv_mutex_unlock(&s->mu);
}

static int admit(td_store_t *s, const char *job, const char *page)
{
    if (!s || !job || !page) return -EINVAL;
    if (s->closing) return -EPIPE;
    if (s->backlog >= s->limit) return TD_EAGAIN;
    return 0;
}

static td__store_op_t *op_new(enum td__store_kind kind, const char *job, const char *page,
                              td_store_done_cb done_cb, void *ud)
{
    td__store_op_t *op = td_xcalloc(1, sizeof *op);
    op->kind = kind;
    op->job = job ? td_xstrdup(job) : NULL;
    op->page = page ? td_xstrdup(page) : NULL;
    op->done_cb = done_cb;
    op->ud = ud;
    return op;
}

int td_store_put_page(td_store_t *s, const td_store_page_t *pg, td_store_put_cb done_cb, void *ud)
{
    if (!pg || (pg->n && !pg->bars) || !pg->timeframe) return -EINVAL;
    int rc = admit(s, pg->job, pg->page);
    if (rc) return rc;
    td__store_op_t *op = op_new(TD__STORE_PAGE, pg->job, pg->page, NULL, ud);
    op->put_cb = done_cb;
    op->timeframe = td_xstrdup(pg->timeframe);
    op->source = td_xstrdup(pg->source ? pg->source : "");
    op->bars = td_xmalloc(pg->n * sizeof *op->bars + 1);
    if (pg->n) memcpy(op->bars, pg->bars, pg->n * sizeof *op->bars);
    op->n = pg->n;
    s->backlog++;
    enqueue(s, op);
    return 0;
}

int td_store_put_grid(td_store_t *s, const char *job, const char *params_json, const char *body,
                      size_t len, td_store_put_cb done_cb, void *ud)
{
    if (!body && len) return -EINVAL;
    int rc = admit(s, job, params_json);
    if (rc) return rc;
    td__store_op_t *op = op_new(TD__STORE_GRID, job, params_json, NULL, ud);
    op->put_cb = done_cb;
    op->body = td_xmalloc(len + 1);
    if (len) memcpy(op->body, body, len);
    op->body[len] = '\0';
    op->body_len = len;
    s->backlog++;
    enqueue(s, op);
    return 0;
}

int td_store_pages_done(td_store_t *s, const char *job, td_store_page_cb page_cb,
                        td_store_done_cb done_cb, void *ud)
{
    if (!s || !job) return -EINVAL;
    if (s->closing) return -EPIPE;
    td__store_op_t *op = op_new(TD__STORE_PAGES, job, NULL, done_cb, ud);
    op->page_cb = page_cb;
    enqueue(s, op);
    return 0;
}

void td_store_stats(td_store_t *s, td_store_stats_t *out)
{
    uv_mutex_lock(&s->mu);
    *out = s->stats;
    uv_mutex_unlock(&s->mu);
}

size_t td_store_backlog(const td_store_t *s)
{
    return s->backlog;
}
size_t td_store_backlog_limit(const td_store_t *s)
{
    return s->limit;
}
void td_store_set_backlog_limit(td_store_t *s, size_t limit)
{
    s->limit = limit ? limit : 1;
}
const char *td_store_backend(const td_store_t *s)
{
    return s->be->name;
}

void td_store_close(td_store_t *s, td_store_close_cb close_cb, void *ud)
{
    if (s->closing) return;
    s->closing = 1;
    s->close_cb = close_cb;
    s->close_ud = ud;
    for (int i = 0; i < s->nworkers; i++)
        enqueue(s, op_new(TD__STORE_QUIT, NULL, NULL, NULL, NULL));
}

void td_store_free(td_store_t *s)
{
    if (!s) return;
    uv_cond_destroy(&s->cv);
    uv_mutex_destroy(&s->mu);
    free(s);
}
