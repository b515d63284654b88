/* SPDX-License-Identifier: Apache-2.0 */
/* Backfill engine: see backfill.h. Single-threaded on a libuv loop; the
 * store's worker thread does the database writes. */
#include "backfill/backfill.h"
#include "backfill/bf_int.h"

#include "core/backoff.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rng.h"
#include "http/http.h"
#include "proto/bars.h"
#include "proto/json_scan.h" /* the strict validator, for grid bodies */
#include "store/store.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* A job whose end is at least this long ago is recorded as complete when
 * its last page is written (a rerun then skips it without a request); a
 * more recent end may still get bars, so a rerun walks it again. */
#define COMPLETE_AFTER_NS (3600 * (int64_t)1000000000)

static void schedule(bf_t *bf);
static void check_end(bf_t *bf);

int td__bf_final(const job_t *j)
{
    return j->state == J_DONE || j->state == J_FAILED || j->state == J_STOPPED;
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? td_xstrdup(s) : NULL;
}

/* The job needs no page buffer, token or resume list any more. */
static void job_release(job_t *j)
{
    if (j->page) {
        td_bars_page_free(j->page);
        free(j->page);
        j->page = NULL;
    }
    set_str(&j->token, NULL);
    td_strlist_free(&j->done);
    td_strlist_free(&j->seen);
}

static void job_fail(job_t *j, const char *why)
{
    if (td__bf_final(j)) return;
    snprintf(j->why, sizeof j->why, "%s", why);
    j->state = J_FAILED;
    TD_WARN("%s: failed: %s", j->symbol, j->why);
    job_release(j);
}

static int listed(const td_strlist_t *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s)) return 1;
    return 0;
}

/* The key of the page `token` names: "first", the Alpaca token, or the path
 * and query of a Polygon next_url (so another host/port resumes alike). */
static void set_key(job_t *j)
{
    const char *t = j->token;
    if (!t || !*t) {
        set_str(&j->key, "first");
        return;
    }
    const char *p = strstr(t, "://");
    if (p) {
        p = strchr(p + 3, '/');
        t = p ? p : "/";
    }
    set_str(&j->key, t);
}

/* Follows the page's token, unless this run has fetched that page already:
 * a vendor that repeats a token would loop forever. */
static void next_page(job_t *j)
{
    set_str(&j->token, j->page->next);
    set_key(j);
    if (listed(&j->seen, j->key)) {
        char why[300];
        snprintf(why, sizeof why,
                 "the vendor sent the page token %.120s%s a second time (a loop); stopped after "
                 "%llu pages",
                 j->key, strlen(j->key) > 120 ? "..." : "", (unsigned long long)j->pages);
        job_fail(j, why);
        return;
    }
    td_strlist_push(&j->seen, j->key);
    j->state = J_READY;
}

/* How long a 429 says to wait: Retry-After (seconds), else X-Ratelimit-Reset
 * (the epoch second the window resets), else 1 s; at most an hour. */
static uint64_t wait_429(const td_http_result_t *res)
{
    double v = res->retry_after ? atof(res->retry_after) : 0;
    if (v > 0 && v < 3600) return (uint64_t)(v * 1000);
    if (res->ratelimit_reset) {
        double reset_ms = atof(res->ratelimit_reset) * 1000, now_ms = (double)td_now_ns() / 1e6;
        if (reset_ms > now_ms && reset_ms - now_ms < 3600e3)
            return (uint64_t)(reset_ms - now_ms) + 50; /* past the second it names */
        if (reset_ms > 0 && reset_ms <= now_ms) return 200;
    }
    return 1000;
}

static void on_http(void *ud, const td_http_result_t *res);

/* Alpaca bars v2: /v2/stocks/SYM/bars, or /v2/stocks/bars?symbols=A,B,...
 * for a group; the same parameters on every page, plus its page_token. url
 * has room for a group of 100 symbols of 64 bytes escaped (the CLI's cap). */
static void alpaca_url(const job_t *j, char *url, size_t cap)
{
    const td_backfill_cfg_t *c = j->bf->cfg;
    size_t elen = 3 * strlen(j->symbol) + 1;
    char *esc = td_xmalloc(elen);
    td_url_escape(esc, elen, j->symbol);
    int n = snprintf(url, cap, "%s/v2/stocks/%s%s%stimeframe=%s&start=%s&end=%s&limit=%d%s", c->url,
                     j->group ? "bars?symbols=" : "", esc, j->group ? "&" : "/bars?", c->timeframe,
                     j->bf->from, j->bf->to, c->limit, c->query);
    free(esc);
    if (j->token && n > 0 && (size_t)n < cap) {
        char tok[3 * TD_BARS_MAX_NEXT + 1];
        td_url_escape(tok, sizeof tok, j->token);
        snprintf(url + n, cap - (size_t)n, "&page_token=%s", tok);
    }
}

static void start_fetch(job_t *j)
{
    bf_t *bf = j->bf;
    const td_backfill_cfg_t *c = bf->cfg;
    char url[3 * TD_BARS_MAX_NEXT + 3 * 100 * 65 + 2048];
    const char *hdrs[3] = {NULL, NULL, NULL};
    if (bf->grid) {
        snprintf(url, sizeof url, "%s", j->url);
    } else if (!strcmp(c->vendor, "alpaca")) {
        alpaca_url(j, url, sizeof url);
        hdrs[0] = bf->hdr[0];
        hdrs[1] = bf->hdr[1];
    } else {
        if (j->token) {
            if (strstr(j->token, "://"))
                snprintf(url, sizeof url, "%s", j->token);
            else
                snprintf(url, sizeof url, "%s%s", c->url, j->token);
        } else {
            char sym[200];
            td_url_escape(sym, sizeof sym, j->symbol);
            snprintf(url, sizeof url, "%s/v2/aggs/ticker/%s/range/%s/%s/%s?sort=asc&limit=%d%s",
                     c->url, sym, c->timeframe, bf->from, bf->to, c->limit, c->query);
        }
        hdrs[0] = bf->hdr[2];
    }
    j->state = J_FETCH;
    j->started = 1;
    bf->in_flight++;
    bf->requests++;
    if (bf->ntimes) {
        bf->times[bf->tpos] = uv_now(bf->loop);
        bf->tpos = (bf->tpos + 1) % bf->ntimes;
    }
    TD_DEBUG("%s: GET %s", j->symbol, url);
    j->req = td_http_request(bf->http, "GET", url, hdrs, NULL, 0, c->timeout_ms, on_http, j);
    if (!j->req) {
        bf->in_flight--;
        job_fail(j, "cannot start the request");
    }
}

static void on_timer(uv_timer_t *t)
{
    job_t *j = t->data;
    if (j->state == J_WAIT) j->state = J_READY;
    schedule(j->bf);
}

static void retry_later(job_t *j, uint64_t ms, const char *why, int counted)
{
    bf_t *bf = j->bf;
    bf->retries++;
    if (counted && ++j->tries > bf->cfg->retries) {
        char msg[300];
        snprintf(msg, sizeof msg, "%.250s (gave up after %d retries)", why, bf->cfg->retries);
        job_fail(j, msg);
        return;
    }
    TD_INFO("%s: %s: retry in %llu ms", j->symbol, why, (unsigned long long)ms);
    j->state = J_WAIT;
    uv_timer_start(&j->timer, on_timer, ms, 0);
}

static void on_stored(td_store_t *s, const td_store_put_res_t *res, void *ud);

/* How far the job has got with `last` stored: its date range, and for a
 * group the symbols before it (the vendor sends them in order). */
static double job_frac(const job_t *j, const td_bar_t *last)
{
    const bf_t *bf = j->bf;
    double f = (double)(last->ts_ns - bf->span_t0) / (double)(bf->span_t1 - bf->span_t0);
    if (!j->group) return f;
    size_t rank = 0;
    for (size_t i = 0; i < j->nsyms; i++)
        rank += strcmp(bf->cfg->symbols[j->sym0 + i], last->symbol) < 0;
    return ((double)rank + f) / (double)j->nsyms;
}

/* The job is over before its end: the run stops. */
static void job_stop(job_t *j)
{
    if (td__bf_final(j)) return;
    if (j->state == J_STORE_WAIT) j->bf->store_waiting--;
    j->state = J_STOPPED;
    job_release(j);
}

static void finish(bf_t *bf);

/* Stops the run: jobs not over stop where they are (those writing their
 * last page finish it), then the loop winds down (the store still
 * completes, and counts, the writes queued). */
static void stop_run(bf_t *bf)
{
    for (size_t i = 0; i < bf->njobs; i++)
        if (bf->jobs[i].state != J_FLUSH) job_stop(&bf->jobs[i]);
    finish(bf);
}

/* The store failed: every later write would fail too (a full disk, a lost
 * database), so the run stops; a rerun resumes once the store works. */
static void store_failed(bf_t *bf, job_t *j, const char *msg)
{
    if (!bf->store_err[0]) {
        snprintf(bf->store_err, sizeof bf->store_err, "%s", msg ? msg : "store error");
        TD_ERR("store: %s: stopping", bf->store_err);
    }
    if (j) {
        if (j->state == J_FLUSH) j->state = J_READY; /* its last page is not written */
        job_stop(j);
    }
    if (!bf->closing) stop_run(bf);
}

/* The job's next write: the page (grid: the response), or with
 * j->marking the row that records the job as complete. 0, TD_EAGAIN (the
 * job waits for the store), or -1 when the store refused (the run stops). */
static int put_write(job_t *j)
{
    bf_t *bf = j->bf;
    const td_backfill_cfg_t *c = bf->cfg;
    int rc;
    if (bf->grid) {
        rc = td_store_put_grid(bf->store, j->name, j->key, j->gbody, j->gbody_len, on_stored, j);
    } else {
        td_store_page_t p = {j->name, j->key, c->timeframe, c->vendor, NULL, 0};
        if (j->marking) {
            p.page = TD__BF_COMPLETE;
        } else {
            p.bars = j->page->bars;
            p.n = j->page->n;
        }
        rc = td_store_put_page(bf->store, &p, on_stored, j);
    }
    if (rc == TD_EAGAIN) {
        if (j->state != J_STORE_WAIT) bf->store_waiting++;
        j->state = J_STORE_WAIT;
        return rc;
    }
    if (j->state == J_STORE_WAIT) bf->store_waiting--;
    j->state = J_READY;
    if (rc != 0) {
        store_failed(bf, j, "store write refused");
        return -1;
    }
    j->writes++;
    return 0;
}

/* Nothing more to fetch: once the job's writes are all committed (not
 * before: one could still fail), the jobs table records it as complete, if
 * its end is far enough in the past for the vendor to have every bar. */
static void job_flush(job_t *j)
{
    job_release(j);
    int mark = j->bf->mark_complete && !j->bf->grid && !j->marking && !j->bf->closing;
    if (j->writes || !mark) {
        j->state = j->writes ? J_FLUSH : J_DONE;
        return;
    }
    j->marking = 1;
    if (put_write(j) == 0) j->state = J_FLUSH;
}

static void put_page(job_t *j)
{
    bf_t *bf = j->bf;
    if (j->marking) {
        if (put_write(j) == 0) j->state = J_FLUSH;
        return;
    }
    if (put_write(j) != 0) return;
    j->pages++;
    if (bf->grid) {
        free(j->gbody);
        j->gbody = NULL;
        j->state = J_FLUSH;
        return;
    }
    if (j->page->n && bf->span_t1 > bf->span_t0) {
        double f = job_frac(j, &j->page->bars[j->page->n - 1]);
        if (f > j->frac) j->frac = f < 1 ? f : 1;
    }
    if (*j->page->next)
        next_page(j);
    else
        job_flush(j);
}

static void retry_store_waiters(bf_t *bf)
{
    for (size_t i = 0; i < bf->njobs && bf->store_waiting; i++)
        if (bf->jobs[i].state == J_STORE_WAIT) put_page(&bf->jobs[i]);
}

/* A write is over: its rows count only now, as the store committed them. */
static void on_stored(td_store_t *s, const td_store_put_res_t *res, void *ud)
{
    (void)s;
    job_t *j = ud;
    bf_t *bf = j->bf;
    j->writes--;
    j->rows += (int64_t)res->inserted;
    j->dup_rows += (int64_t)(res->rows - res->inserted);
    if (res->status != 0) store_failed(bf, j, res->errmsg);
    if (j->state == J_FLUSH && j->writes == 0) job_flush(j);
    if (bf->closing) return;
    retry_store_waiters(bf);
    schedule(bf);
}

static void handle_ok_page(job_t *j)
{
    j->tries = 0;
    td_backoff_reset(&j->backoff);
    if (!listed(&j->done, j->key)) {
        put_page(j); /* a write done later always goes through on_stored */
        return;
    }
    j->skipped_rows += (int64_t)j->page->n; /* done in an earlier run */
    if (*j->page->next)
        next_page(j);
    else
        job_flush(j);
}

static void handle_grid(job_t *j, const td_http_result_t *res)
{
    char why[300];
    if (res->status < 200 || res->status > 299) {
        snprintf(why, sizeof why, "HTTP %d", res->status);
        job_fail(j, why);
        return;
    }
    if (!td_json_valid(res->body, res->body_len, 0)) {
        snprintf(why, sizeof why, "HTTP %d: body is not valid JSON", res->status);
        job_fail(j, why);
        return;
    }
    j->tries = 0;
    free(j->gbody);
    j->gbody = td_xmalloc(res->body_len ? res->body_len : 1);
    memcpy(j->gbody, res->body, res->body_len);
    j->gbody_len = res->body_len;
    put_page(j);
}

static void split_job(job_t *j, const char *why);

static void on_http(void *ud, const td_http_result_t *res)
{
    job_t *j = ud;
    bf_t *bf = j->bf;
    j->req = NULL;
    bf->in_flight--;
    char why[300];
    int alpaca = !strcmp(bf->cfg->vendor, "alpaca");
    if (res->error) {
        snprintf(why, sizeof why, "%s", res->error);
        retry_later(j, td_backoff_next(&j->backoff, td_rng_next(&bf->rng)), why, 1);
    } else if (res->status == 429) {
        retry_later(j, wait_429(res), "HTTP 429", 0);
    } else if (res->status >= 500) {
        snprintf(why, sizeof why, "HTTP %d", res->status);
        retry_later(j, td_backoff_next(&j->backoff, td_rng_next(&bf->rng)), why, 1);
    } else if (bf->grid) {
        handle_grid(j, res);
    } else {
        if (!j->page) j->page = td_xcalloc(1, sizeof *j->page);
        const char *sym = j->group ? NULL : j->symbol;
        int rc = alpaca ? td_bars_parse_alpaca(res->body, res->body_len, sym, j->page)
                        : td_bars_parse_polygon(res->body, res->body_len, sym, j->page);
        if (res->status == 200 && rc == 0) {
            handle_ok_page(j);
        } else if (j->page->status == TD_BARS_RATE_LIMITED) {
            retry_later(j, 1000, "rate limited", 0);
        } else {
            snprintf(why, sizeof why, "HTTP %d: %s", res->status,
                     *j->page->message ? j->page->message : "unexpected body");
            if (j->group && j->page->status == TD_BARS_INVALID && j->pages == 0)
                split_job(j, why);
            else
                job_fail(j, why);
        }
    }
    schedule(bf);
}

static void on_rate_timer(uv_timer_t *t)
{
    schedule(t->data);
}

/* ms until one more request may start (0: now). */
static uint64_t rate_wait(bf_t *bf)
{
    if (!bf->ntimes) return 0;
    uint64_t oldest = bf->times[bf->tpos];
    if (!oldest) return 0;
    uint64_t now = uv_now(bf->loop);
    uint64_t at = oldest + bf->window_ms;
    return at > now ? at - now : 0;
}

static void schedule(bf_t *bf)
{
    if (bf->closing) return;
    while (bf->in_flight < (size_t)bf->cfg->concurrency && !bf->store_waiting) {
        job_t *j = NULL;
        for (size_t k = 0; k < bf->njobs; k++) {
            job_t *c = &bf->jobs[(bf->next_job + k) % bf->njobs];
            if (c->state == J_READY) {
                j = c;
                bf->next_job = (size_t)(c - bf->jobs + 1) % bf->njobs;
                break;
            }
        }
        if (!j) break;
        uint64_t w = rate_wait(bf);
        if (w) {
            uv_timer_start(&bf->rate_timer, on_rate_timer, w, 0);
            break;
        }
        start_fetch(j);
    }
    check_end(bf);
}

static void closed_cb(uv_handle_t *h)
{
    (void)h;
}

static void finish(bf_t *bf)
{
    if (bf->closing) return;
    bf->closing = 1;
    td__bf_progress_stop(bf);
    uv_close((uv_handle_t *)&bf->rate_timer, closed_cb);
    uv_close((uv_handle_t *)&bf->sigint, closed_cb);
    uv_close((uv_handle_t *)&bf->sigterm, closed_cb);
    for (size_t i = 0; i < bf->njobs; i++)
        uv_close((uv_handle_t *)&bf->jobs[i].timer, closed_cb);
    if (bf->http) td_http_stop(bf->http, NULL, NULL);
    td_store_close(bf->store, NULL, NULL);
}

static void check_end(bf_t *bf)
{
    if (bf->closing || bf->resuming) return;
    for (size_t i = 0; i < bf->njobs; i++) {
        const job_t *j = &bf->jobs[i];
        if (!td__bf_final(j) || j->writes) return;
    }
    finish(bf);
}

static void on_signal(uv_signal_t *h, int signum)
{
    bf_t *bf = h->data;
    TD_WARN("signal %d: stopping", signum);
    if (!bf->stop_signal) bf->stop_signal = signum;
    stop_run(bf);
}

static void on_done_page(td_store_t *s, const char *page, int64_t rows, void *ud)
{
    (void)s;
    job_t *j = ud;
    if (!strcmp(page, TD__BF_COMPLETE)) {
        j->complete_before = 1;
        return;
    }
    td_strlist_push(&j->done, page);
    j->done_rows += rows;
}

static void on_done_list(td_store_t *s, int status, const char *errmsg, void *ud)
{
    (void)s;
    job_t *j = ud;
    bf_t *bf = j->bf;
    bf->resuming--;
    if (status != 0) {
        store_failed(bf, j, errmsg ? errmsg : "cannot list done pages");
    } else if (j->state == J_RESUME && j->complete_before) {
        j->skipped_rows = j->done_rows; /* nothing to fetch: not a single request */
        j->state = J_DONE;
        job_release(j);
    } else if (j->state == J_RESUME) {
        j->state = J_READY;
        if (j->done.n) TD_INFO("%s: resuming (%zu pages done)", j->symbol, j->done.n);
    }
    if (!bf->closing) schedule(bf);
}

static void on_grid_done_page(td_store_t *s, const char *page, int64_t rows, void *ud)
{
    (void)s;
    (void)rows;
    td_strlist_push(&((bf_t *)ud)->gdone, page);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void on_grid_done_list(td_store_t *s, int status, const char *errmsg, void *ud)
{
    (void)s;
    bf_t *bf = ud;
    bf->resuming--;
    td_strlist_t *gd = &bf->gdone;
    if (gd->n) qsort(gd->v, gd->n, sizeof *gd->v, cmp_str);
    if (status != 0) {
        store_failed(bf, NULL, errmsg ? errmsg : "cannot list done pages");
        return;
    }
    for (size_t i = 0; i < bf->njobs; i++) {
        job_t *j = &bf->jobs[i];
        if (j->state != J_RESUME) continue;
        if (gd->n && bsearch(&(const char *){j->key}, gd->v, gd->n, sizeof *gd->v, cmp_str)) {
            j->state = J_DONE;
            j->skipped = 1;
        } else {
            j->state = J_READY;
        }
    }
    if (gd->n) TD_INFO("grid: resuming (%zu requests done)", gd->n);
    if (!bf->closing) schedule(bf);
}

/* FNV-1a: names a group's job after its exact symbol list. */
static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Appends the job for cfg->symbols[sym0 .. sym0 + n) (n > 1: one request
 * for all of them on Alpaca's multi-symbol endpoint). Its name is what the
 * jobs table resumes by: the same command names the same jobs. */
static job_t *add_job(bf_t *bf, size_t sym0, size_t n)
{
    const td_backfill_cfg_t *c = bf->cfg;
    job_t *j = &bf->jobs[bf->njobs++];
    j->bf = bf;
    j->sym0 = sym0;
    j->nsyms = n;
    j->symbol = c->symbols[sym0];
    if (n > 1) {
        td_buf_t b = TD_BUF_INIT;
        for (size_t i = 0; i < n; i++) {
            if (i) td_buf_appendc(&b, ',');
            td_buf_appends(&b, c->symbols[sym0 + i]);
        }
        j->symbol = j->group = td_xstrdup(b.data);
        td_buf_free(&b);
        snprintf(j->name, sizeof j->name, "%s:%s+%zu:%s:%s:%s%s#%08x", c->vendor, c->symbols[sym0],
                 n - 1, c->timeframe, c->start, c->end, c->query, fnv1a(j->group));
    } else {
        snprintf(j->name, sizeof j->name, "%s:%s:%s:%s:%s%s", c->vendor, j->symbol, c->timeframe,
                 c->start, c->end, c->query);
    }
    set_key(j);
    td_backoff_init(&j->backoff, 200, 10000);
    uv_timer_init(bf->loop, &j->timer);
    j->timer.data = j;
    j->state = J_RESUME;
    return j;
}

static void list_done_pages(job_t *j)
{
    j->bf->resuming++;
    if (td_store_pages_done(j->bf->store, j->name, on_done_page, on_done_list, j) != 0) {
        j->bf->resuming--;
        store_failed(j->bf, j, "cannot list done pages");
    }
}

/* The vendor refused a group's first page for an invalid symbol: its
 * symbols become jobs of their own (the same jobs a one-symbol-per-request
 * run has), so only the invalid one fails. */
static void split_job(job_t *j, const char *why)
{
    bf_t *bf = j->bf;
    TD_WARN("%s: %s: fetching its %zu symbols one by one", j->symbol, why, j->nsyms);
    j->split = 1;
    j->state = J_DONE;
    job_release(j);
    for (size_t i = 0; i < j->nsyms && bf->njobs < bf->cap_jobs; i++)
        list_done_pages(add_job(bf, j->sym0 + i, 1));
}

static void start_grid(bf_t *bf)
{
    const td_backfill_cfg_t *cfg = bf->cfg;
    for (size_t i = 0; i < cfg->ncells; i++) {
        job_t *j = &bf->jobs[bf->njobs++];
        j->bf = bf;
        j->symbol = cfg->grid_keys[i];
        j->url = cfg->grid_urls[i];
        snprintf(j->name, sizeof j->name, "grid:%s", cfg->grid_url);
        set_str(&j->key, cfg->grid_keys[i]);
        td_backoff_init(&j->backoff, 200, 10000);
        uv_timer_init(bf->loop, &j->timer);
        j->timer.data = j;
        j->state = J_RESUME;
    }
    bf->resuming++;
    if (td_store_pages_done(bf->store, bf->jobs[0].name, on_grid_done_page, on_grid_done_list,
                            bf) != 0) {
        bf->resuming--;
        store_failed(bf, NULL, "cannot list done pages");
    }
}

static void free_jobs(bf_t *bf)
{
    for (size_t i = 0; i < bf->njobs; i++) {
        job_t *j = &bf->jobs[i];
        job_release(j);
        free(j->key);
        free(j->group);
        free(j->gbody);
    }
    td_strlist_free(&bf->gdone);
    free(bf->jobs);
    free(bf->times);
}

static void init_limits_and_signals(bf_t *bf)
{
    const td_backfill_cfg_t *cfg = bf->cfg;
    if (cfg->rate_n > 0) {
        bf->ntimes = (size_t)cfg->rate_n;
        if (bf->ntimes < 1) bf->ntimes = 1;
        bf->times = calloc(bf->ntimes, sizeof *bf->times);
        /* The vendor counts arrivals, tickerd starts: a 2 % margin (at least
         * 50 ms) keeps jitter on the way from putting rate_n + 1 requests in
         * one vendor window. */
        double ms = cfg->rate_s * 1000.0, margin = ms * 0.02 < 50 ? 50 : ms * 0.02;
        bf->window_ms = (uint64_t)(ms + margin + 0.5);
    }
    snprintf(bf->hdr[0], sizeof bf->hdr[0], "APCA-API-KEY-ID: %s", cfg->key_id ? cfg->key_id : "");
    snprintf(bf->hdr[1], sizeof bf->hdr[1], "APCA-API-SECRET-KEY: %s",
             cfg->secret ? cfg->secret : "");
    snprintf(bf->hdr[2], sizeof bf->hdr[2], "Authorization: Bearer %s",
             cfg->poly_key ? cfg->poly_key : "");
    uv_timer_init(bf->loop, &bf->rate_timer);
    bf->rate_timer.data = bf;
    uv_signal_init(bf->loop, &bf->sigint);
    uv_signal_init(bf->loop, &bf->sigterm);
    bf->sigint.data = bf->sigterm.data = bf;
    uv_signal_start(&bf->sigint, on_signal, SIGINT);
    uv_signal_start(&bf->sigterm, on_signal, SIGTERM);
}

/* The run's bounds, as ns and as the vendor is sent them. 0, or -1. */
static int set_bounds(bf_t *bf)
{
    const td_backfill_cfg_t *cfg = bf->cfg;
    bf->grid = cfg->grid_url != NULL;
    if (bf->grid) return 0;
    if (td_backfill_time_ns(cfg->start, 0, &bf->span_t0) ||
        td_backfill_time_ns(cfg->end, 1, &bf->span_t1)) {
        fprintf(stderr, "tickerd backfill: bad --start or --end\n"); /* the CLI checks first */
        return -1;
    }
    td_backfill_vendor_bounds(cfg->vendor, bf->span_t0, bf->span_t1, bf->from, bf->to,
                              sizeof bf->from);
    bf->mark_complete = bf->span_t1 < td_now_ns() - COMPLETE_AFTER_NS;
    return 0;
}

int td_backfill_run(const td_backfill_cfg_t *cfg)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    bf_t bf;
    memset(&bf, 0, sizeof bf);
    bf.cfg = cfg;
    bf.loop = &loop;
    bf.t0 = uv_hrtime();
    td_rng_seed(&bf.rng, uv_hrtime());
    if (set_bounds(&bf) != 0) {
        uv_loop_close(&loop);
        return 2;
    }
    td_store_err_t err = {0};
    bf.store =
        td_store_open(&loop, cfg->store, cfg->store_connections ? cfg->store_connections : 1, &err);
    if (!bf.store) {
        fprintf(stderr, "tickerd backfill: store %s: %s\n", cfg->store, err.msg);
        uv_loop_close(&loop);
        return 2;
    }
    td_http_opts_t ho = {0, cfg->concurrency};
    bf.http = td_http_new(&loop, &ho);
    size_t per = cfg->symbols_per_request > 1 ? (size_t)cfg->symbols_per_request : 1;
    size_t ngroups = (cfg->nsymbols + per - 1) / per;
    /* room for every group to split into its symbols */
    bf.cap_jobs = bf.grid ? cfg->ncells : per > 1 ? ngroups + cfg->nsymbols : cfg->nsymbols;
    bf.jobs = calloc(bf.cap_jobs ? bf.cap_jobs : 1, sizeof *bf.jobs);
    init_limits_and_signals(&bf);
    td__bf_progress_start(&bf);
    int setup_failed = 0;
    if (!bf.http || !bf.jobs || (cfg->rate_n > 0 && !bf.times)) {
        fprintf(stderr, "tickerd backfill: out of memory or libcurl failed\n");
        setup_failed = 1;
    } else if (bf.grid) {
        start_grid(&bf);
    } else {
        for (size_t i = 0; i < cfg->nsymbols; i += per)
            add_job(&bf, i, cfg->nsymbols - i < per ? cfg->nsymbols - i : per);
        for (size_t i = 0; i < bf.njobs; i++)
            list_done_pages(&bf.jobs[i]);
    }
    schedule(&bf);
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = td__bf_summary(&bf);
    if (bf.store_err[0] || setup_failed)
        rc = 2;
    else if (bf.stop_signal)
        rc = 128 + bf.stop_signal;
    if (bf.http) td_http_free(bf.http);
    td_store_free(bf.store);
    uv_run(&loop, UV_RUN_DEFAULT);
    free_jobs(&bf);
    int lc = uv_loop_close(&loop);
    if (lc != 0) TD_WARN("loop not closed cleanly: %s", uv_strerror(lc));
    return rc;
}
