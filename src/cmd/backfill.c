/* SPDX-License-Identifier: Apache-2.0 */
/* `tickerd backfill`: historical bars from Alpaca or Polygon into SQLite or
 * PostgreSQL. Option wiring only; the engine is backfill/backfill.c. */
#include "backfill/backfill.h"
#include "cmd/cmd.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/opt.h"

#include <ctype.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *vendor, *url, *symbols, *start, *end, *timeframe, *store, *rate;
    int64_t concurrency, limit, retries, store_connections, symbols_per_request;
    double timeout;
    int json;
    char *key, *secret, *polygon_key, *log_level, *log_format, *progress;
    td_strlist_t param, query;
} bf_opts_t;

#define F(x) offsetof(bf_opts_t, x)

static const td_opt_t bf_table[] = {
    {"vendor", TD_OPT_STR, F(vendor), 0, 0, "alpaca", "alpaca|polygon", NULL, 0,
     "history API to read"},
    {"url", TD_OPT_STR, F(url), 0, 0, NULL, "URL", NULL, 0,
     "base URL (default https://data.alpaca.markets or https://api.polygon.io); with --param, "
     "a URL template with {NAME} placeholders (grid mode)"},
    {"param", TD_OPT_LIST, F(param), 0, 0, NULL, "NAME=VALUES", NULL, 0,
     "grid mode: the values of {NAME}: A,B,C or @FILE (one per line) or "
     "YYYY-MM-DD..YYYY-MM-DD (inclusive); the grid is the cartesian product"},
    {"query", TD_OPT_LIST, F(query), 0, 0, NULL, "NAME=VALUE", NULL, 0,
     "one more parameter for the vendor's history request, e.g. feed=sip, "
     "adjustment=split (Alpaca) or adjusted=false (Polygon); part of the jobs' names"},
    {"symbols", TD_OPT_STR, F(symbols), 0, 0, NULL, "A,B|@FILE", NULL, 0,
     "symbols, comma-separated, or @FILE (separated by commas, spaces or newlines); one job each"},
    {"start", TD_OPT_STR, F(start), 0, 0, NULL, "DAY|TIME", NULL, 0,
     "first UTC day YYYY-MM-DD, or an exact RFC 3339 time (2022-04-11T13:30:00Z) (required)"},
    {"end", TD_OPT_STR, F(end), 0, 0, NULL, "DAY|TIME", NULL, 0,
     "last UTC day, through its end, for every vendor; or an exact RFC 3339 time, inclusive "
     "(required)"},
    {"timeframe", TD_OPT_STR, F(timeframe), 0, 0, NULL, "TF", NULL, 0,
     "bar length, in the vendor's form: Alpaca 1-59Min, 1-23Hour, 1Day, 1Week, 1-12Month "
     "(default 15Min); Polygon MULT/TIMESPAN, e.g. 15/minute (default), 1/hour, 1/day"},
    {"store", TD_OPT_STR, F(store), 0, 0, "sqlite:tickerd.db", "SPEC", NULL, 0,
     "sqlite:PATH or postgres://..."},
    {"store-connections", TD_OPT_INT, F(store_connections), 1, 16, "2", "N", NULL, 0,
     "PostgreSQL connections writing in parallel (SQLite has one writer)"},
    {"concurrency", TD_OPT_INT, F(concurrency), 1, 256, "8", "N", NULL, 0,
     "requests in flight, at most"},
    {"rate", TD_OPT_STR, F(rate), 0, 0, "200/min", "N/PER", NULL, 0,
     "at most N requests per window (PER: s, min, h or seconds, e.g. 200/60); 0 = no limit"},
    {"limit", TD_OPT_INT, F(limit), 1, 50000, "1000", "N", NULL, 0, "bars per page"},
    {"symbols-per-request", TD_OPT_INT, F(symbols_per_request), 1, 100, "1", "N", NULL, 0,
     "Alpaca: N > 1 asks for N symbols at a time on the multi-symbol endpoint "
     "(/v2/stocks/bars?symbols=; the page limit is shared by them: raise --limit); a group with "
     "an invalid symbol falls back to one request per symbol"},
    {"retries", TD_OPT_INT, F(retries), 0, 1000, "5", "N", NULL, 0,
     "retries of a page after 5xx or transport errors (exponential backoff with jitter) before "
     "its job fails; 429s wait Retry-After (else X-Ratelimit-Reset) and are not counted"},
    {"timeout", TD_OPT_DOUBLE, F(timeout), 0.1, 3600, "30", "SECONDS", NULL, TD_OPT_DURATION,
     "per request"},
    {"json", TD_OPT_BOOL, F(json), 0, 0, "no", NULL, NULL, 0,
     "print a JSON summary object on stdout"},
    {"progress", TD_OPT_STR, F(progress), 0, 0, "auto", "auto|on|off", NULL, 0,
     "progress line on stderr (jobs done, rows, rows/s, retries, ETA); auto: when stderr is a "
     "terminal"},
    {"key", TD_OPT_STR, F(key), 0, 0, NULL, "KEY", "APCA_API_KEY_ID", TD_OPT_SECRET,
     "Alpaca key id"},
    {"secret", TD_OPT_STR, F(secret), 0, 0, NULL, "SECRET", "APCA_API_SECRET_KEY", TD_OPT_SECRET,
     "Alpaca secret"},
    {"polygon-key", TD_OPT_STR, F(polygon_key), 0, 0, NULL, "KEY", "POLYGON_API_KEY", TD_OPT_SECRET,
     "Polygon API key"},
    {"log-level", TD_OPT_STR, F(log_level), 0, 0, "warn", "LEVELS", NULL, 0,
     "error, warn, info or debug; per component too, e.g. info,feed=debug (components: the "
     "subcommand, feed, gateway, sink, bus, poll, http, store, proto, core, sim)"},
    {"log-format", TD_OPT_STR, F(log_format), 0, 0, "text", "FORMAT", NULL, 0,
     "text, or json: one object per line with ts, level, component, cmd, msg"},
    TD_OPT_END,
};

static const td_opts_t bf_opts = {
    "backfill",
    bf_table,
    "usage: tickerd backfill --symbols A,B --start DAY --end DAY [OPTIONS]",
    "Downloads historical bars (Alpaca /v2/stocks/{SYM}/bars, or /v2/stocks/bars?symbols=\n"
    "with --symbols-per-request, or Polygon aggregates), one job per symbol (or group)\n"
    "walking its pages, into a store; each page is written atomically with its jobs row,\n"
    "so rerunning the same command after a crash resumes without gaps or duplicates.\n"
    "A job whose end is over an hour ago is recorded as complete: a rerun skips it\n"
    "without a request. Dates and timeframes are checked before any request.\n"
    "429 waits Retry-After or X-Ratelimit-Reset; 5xx and timeouts back off and retry; an\n"
    "invalid symbol, or a vendor repeating a page token (a loop), fails its job. A\n"
    "progress line on a terminal, a summary on stderr (and --json on stdout); rows are\n"
    "the bars the store committed as new. Exit 0 if every job is done, 1 if some job\n"
    "failed, 2 on a usage or store error (a failed write stops the run), 130 on Ctrl-C\n"
    "(143 on SIGTERM); after 2, 130 or 143 the same command resumes.\n"
    "\n"
    "Grid mode (--url TEMPLATE --param NAME=VALUES ...): one GET per combination of the\n"
    "params; each 2xx body that is valid JSON is stored in table grid keyed by the params\n"
    "as a JSON object (keys sorted), under job grid:TEMPLATE; a rerun skips combinations\n"
    "already stored; a 4xx fails that request.",
};

static void split_symbols(const char *s, td_strlist_t *out)
{
    char buf[128];
    size_t n = 0;
    for (;; s++) {
        if (*s && !strchr(", \t\r\n", *s)) {
            if (n + 1 < sizeof buf) buf[n++] = *s;
            continue;
        }
        if (n) {
            buf[n] = 0;
            td_strlist_push(out, buf);
            n = 0;
        }
        if (!*s) break;
    }
}

static int load_symbols(const char *arg, td_strlist_t *out)
{
    if (arg[0] != '@') {
        split_symbols(arg, out);
        return 0;
    }
    FILE *f = fopen(arg + 1, "r");
    if (!f) return -1;
    char *data = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + r + 1 > cap) {
            cap = (len + r + 1) * 2;
            char *d = realloc(data, cap);
            if (!d) break;
            data = d;
        }
        memcpy(data + len, chunk, r);
        len += r;
    }
    fclose(f);
    if (!data) return 0;
    data[len] = 0;
    split_symbols(data, out);
    free(data);
    return 0;
}

#define GRID_MAX_CELLS 20000

typedef struct {
    char *name;
    td_strlist_t v;
} gparam_t;

static int cmp_gparam(const void *a, const void *b)
{
    return strcmp(((const gparam_t *)a)->name, ((const gparam_t *)b)->name);
}

/* VALUES: @FILE (one a line, blank lines skipped), DAY..DAY or a comma list. */
static int param_values(const char *name, const char *vals, td_strlist_t *out)
{
    const char *dots = strstr(vals, "..");
    if (vals[0] == '@') {
        FILE *f = fopen(vals + 1, "r");
        if (!f) {
            fprintf(stderr, "tickerd backfill: --param %s: cannot read %s\n", name, vals + 1);
            return -1;
        }
        char line[1024];
        while (fgets(line, sizeof line, f)) {
            char *p = line, *e = line + strlen(line);
            while (*p && isspace((unsigned char)*p))
                p++;
            while (e > p && isspace((unsigned char)e[-1]))
                *--e = 0;
            if (*p) td_strlist_push(out, p);
        }
        fclose(f);
    } else if (dots && !strchr(vals, ',')) {
        int64_t a, b;
        if (td_date_parse(vals, (size_t)(dots - vals), &a) != 0 ||
            td_date_parse(dots + 2, strlen(dots + 2), &b) != 0 || b < a) {
            fprintf(stderr, "tickerd backfill: --param %s: bad date range '%s'\n", name, vals);
            return -1;
        }
        if (b - a >= GRID_MAX_CELLS) {
            fprintf(stderr, "tickerd backfill: --param %s: range too long\n", name);
            return -1;
        }
        for (int64_t d = a; d <= b; d++) {
            int y, m, dd;
            char buf[32];
            td_civil_from_days(d, &y, &m, &dd);
            snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, dd);
            td_strlist_push(out, buf);
        }
    } else {
        const char *p = vals;
        for (;;) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            if (n) {
                char *v = strndup(p, n);
                if (v) td_strlist_push(out, v);
                free(v);
            }
            if (!c) break;
            p = c + 1;
        }
    }
    if (!out->n) {
        fprintf(stderr, "tickerd backfill: --param %s: no values\n", name);
        return -1;
    }
    return 0;
}

#define GRID_MAX_TEXT 4095 /* bytes of a cell's URL and of its params key */

/* The param named [name, name+n), or -1. */
static long find_param(const gparam_t *ps, size_t np, const char *name, size_t n)
{
    for (size_t k = 0; k < np; k++)
        if (strlen(ps[k].name) == n && !strncmp(ps[k].name, name, n)) return (long)k;
    return -1;
}

/* Checks the template against the params; 0 or -1 (message printed). */
static int check_template(const char *tpl, gparam_t *ps, size_t np)
{
    int *used = calloc(np ? np : 1, sizeof *used);
    int rc = 0;
    for (const char *p = tpl; (p = strchr(p, '{'));) {
        const char *e = strchr(p, '}');
        if (!e) {
            fprintf(stderr, "tickerd backfill: --url: unclosed '{'\n");
            rc = -1;
            break;
        }
        long k = find_param(ps, np, p + 1, (size_t)(e - p - 1));
        if (k < 0) {
            fprintf(stderr, "tickerd backfill: --url placeholder {%.*s} has no --param\n",
                    (int)(e - p - 1), p + 1);
            rc = -1;
        } else {
            used[k] = 1;
        }
        p = e + 1;
    }
    for (size_t k = 0; rc == 0 && k < np; k++)
        if (!used[k]) {
            fprintf(stderr, "tickerd backfill: --param %s: no {%s} in --url\n", ps[k].name,
                    ps[k].name);
            rc = -1;
        }
    free(used);
    return rc;
}

/* Parses the --param list into ps (sorted by name); *cells: the product of
 * the value counts. 0, or -1 after a message. */
static int grid_params(const bf_opts_t *o, gparam_t *ps, size_t *cells)
{
    size_t np = o->param.n;
    *cells = 1;
    for (size_t i = 0; i < np; i++) {
        const char *eq = strchr(o->param.v[i], '=');
        if (!eq || eq == o->param.v[i]) {
            fprintf(stderr, "tickerd backfill: --param '%s': expected NAME=VALUES\n",
                    o->param.v[i]);
            return -1;
        }
        ps[i].name = strndup(o->param.v[i], (size_t)(eq - o->param.v[i]));
        if (!ps[i].name) return -1;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(ps[k].name, ps[i].name)) {
                fprintf(stderr, "tickerd backfill: --param %s given twice\n", ps[i].name);
                return -1;
            }
        if (param_values(ps[i].name, eq + 1, &ps[i].v) != 0) return -1;
        *cells *= ps[i].v.n;
        if (*cells > GRID_MAX_CELLS) {
            fprintf(stderr, "tickerd backfill: grid larger than %d requests\n", GRID_MAX_CELLS);
            return -1;
        }
    }
    qsort(ps, np, sizeof *ps, cmp_gparam);
    return check_template(o->url, ps, np);
}

/* The cell's URL (the template with each {name} replaced by its value,
 * URL-escaped) into url and key (its params as a JSON object, keys sorted)
 * into key, both reset first. 0, or -1 if either is longer than
 * GRID_MAX_TEXT. */
static int grid_cell(const char *tpl, const gparam_t *ps, size_t np, const size_t *idx,
                     td_buf_t *url, td_buf_t *key)
{
    td_buf_reset(url);
    td_buf_reset(key);
    for (const char *p = tpl; *p;) {
        const char *e = *p == '{' ? strchr(p, '}') : NULL;
        long k = e ? find_param(ps, np, p + 1, (size_t)(e - p - 1)) : -1;
        if (!e) {
            td_buf_appendc(url, *p++);
            continue;
        }
        if (k >= 0) td_buf_append_url(url, ps[k].v.v[idx[k]], strlen(ps[k].v.v[idx[k]]));
        p = e + 1;
    }
    td_buf_appendc(key, '{');
    for (size_t k = 0; k < np; k++) {
        const char *v = ps[k].v.v[idx[k]];
        if (k) td_buf_appendc(key, ',');
        td_buf_append_json_str(key, ps[k].name, strlen(ps[k].name));
        td_buf_appendc(key, ':');
        td_buf_append_json_str(key, v, strlen(v));
    }
    td_buf_appendc(key, '}');
    return url->len > GRID_MAX_TEXT || key->len > GRID_MAX_TEXT ? -1 : 0;
}

static int run_grid(bf_opts_t *o, td_backfill_cfg_t *c)
{
    size_t np = o->param.n, cells = 0;
    gparam_t *ps = calloc(np, sizeof *ps);
    td_strlist_t urls = {0}, keys = {0};
    td_buf_t url = TD_BUF_INIT, key = TD_BUF_INIT;
    size_t *idx = calloc(np, sizeof *idx);
    int rc = 2;
    if (!ps || !idx) goto out;
    if (strlen(o->url) > 200) {
        fprintf(stderr, "tickerd backfill: --url template too long (200 bytes at most)\n");
        goto out;
    }
    if (grid_params(o, ps, &cells) != 0) goto out;
    for (size_t n = 0; n < cells; n++) {
        if (grid_cell(o->url, ps, np, idx, &url, &key) != 0) {
            fprintf(stderr, "tickerd backfill: a grid URL or its params are too long\n");
            goto out;
        }
        td_strlist_push(&urls, url.data);
        td_strlist_push(&keys, key.data);
        /* next combination: the last param varies fastest */
        for (size_t k = np; k-- > 0;) {
            if (++idx[k] < ps[k].v.n) break;
            idx[k] = 0;
        }
    }
    c->grid_url = o->url;
    c->grid_urls = urls.v;
    c->grid_keys = keys.v;
    c->ncells = cells;
    rc = td_backfill_run(c);
out:
    for (size_t i = 0; ps && i < np; i++) {
        free(ps[i].name);
        td_strlist_free(&ps[i].v);
    }
    free(ps);
    free(idx);
    td_strlist_free(&urls);
    td_strlist_free(&keys);
    td_buf_free(&url);
    td_buf_free(&key);
    return rc;
}

/* --query NAME=VALUE ... -> "&NAME=VALUE..." (URL-escaped), in the order given. */
static int join_query(const td_strlist_t *q, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < q->n; i++) {
        const char *eq = strchr(q->v[i], '=');
        if (!eq || eq == q->v[i]) {
            fprintf(stderr, "tickerd backfill: --query wants NAME=VALUE, not '%s'\n", q->v[i]);
            return -1;
        }
        char raw[128], name[3 * sizeof raw], value[512];
        snprintf(raw, sizeof raw, "%.*s", (int)(eq - q->v[i]), q->v[i]);
        td_url_escape(name, sizeof name, raw);
        td_url_escape(value, sizeof value, eq + 1);
        int n = snprintf(out + len, cap - len, "&%s=%s", name, value);
        if (n < 0 || (size_t)n >= cap - len) {
            fprintf(stderr, "tickerd backfill: --query: too long\n");
            return -1;
        }
        len += (size_t)n;
    }
    return 0;
}

/* What grid and vendor mode share. 0, or -1 after a message. */
static int common_cfg(const bf_opts_t *o, td_backfill_cfg_t *c)
{
    if (strcmp(o->progress, "auto") && strcmp(o->progress, "on") && strcmp(o->progress, "off")) {
        fprintf(stderr, "tickerd backfill: --progress must be auto, on or off\n");
        return -1;
    }
    c->progress = !strcmp(o->progress, "on") || (!strcmp(o->progress, "auto") && isatty(2));
    c->store = o->store;
    c->store_connections = (int)o->store_connections;
    c->concurrency = (int)o->concurrency;
    c->retries = (int)o->retries;
    c->timeout_ms = (uint32_t)(o->timeout * 1000);
    c->json = o->json;
    if (strcmp(o->rate, "0") && td_backfill_parse_rate(o->rate, &c->rate_n, &c->rate_s) != 0) {
        fprintf(stderr, "tickerd backfill: bad --rate '%s' (e.g. 200/min)\n", o->rate);
        return -1;
    }
    return 0;
}

/* --start, --end and --timeframe, before any request. 0, or -1 after a
 * message. */
static int check_dates_and_timeframe(const bf_opts_t *o)
{
    int64_t t0, t1;
    const char *bad = td_backfill_time_ns(o->start, 0, &t0) ? "start"
                      : td_backfill_time_ns(o->end, 1, &t1) ? "end"
                                                            : NULL;
    if (bad) {
        fprintf(stderr,
                "tickerd backfill: bad --%s '%s': expected a day YYYY-MM-DD (UTC) or an RFC 3339 "
                "time such as 2022-04-11T13:30:00Z\n",
                bad, !strcmp(bad, "start") ? o->start : o->end);
        return -1;
    }
    if (t0 > t1) {
        fprintf(stderr, "tickerd backfill: --start %s is after --end %s\n", o->start, o->end);
        return -1;
    }
    char msg[300];
    if (o->timeframe && td_backfill_check_timeframe(o->vendor, o->timeframe, msg, sizeof msg)) {
        fprintf(stderr, "tickerd backfill: %s\n", msg);
        return -1;
    }
    return 0;
}

static int run_vendor(bf_opts_t *o, td_backfill_cfg_t *c)
{
    int alpaca = !strcmp(o->vendor, "alpaca");
    if (o->url && strchr(o->url, '{')) {
        fprintf(stderr, "tickerd backfill: --url has placeholders but no --param\n");
        return 2;
    }
    if (!o->symbols || !o->start || !o->end) {
        fprintf(stderr, "tickerd backfill: --symbols, --start and --end are required\n");
        return 2;
    }
    if (check_dates_and_timeframe(o) != 0) return 2;
    if (!alpaca && o->symbols_per_request > 1) {
        fprintf(stderr, "tickerd backfill: --symbols-per-request is for --vendor alpaca\n");
        return 2;
    }
    c->vendor = o->vendor;
    c->url = o->url ? o->url : alpaca ? "https://data.alpaca.markets" : "https://api.polygon.io";
    c->start = o->start;
    c->end = o->end;
    c->timeframe = o->timeframe ? o->timeframe : alpaca ? "15Min" : "15/minute";
    c->limit = (int)o->limit;
    c->symbols_per_request = (int)o->symbols_per_request;
    c->key_id = o->key;
    c->secret = o->secret;
    c->poly_key = o->polygon_key;
    if (join_query(&o->query, c->query, sizeof c->query)) return 2;
    if (alpaca ? (!c->key_id || !c->secret) : !c->poly_key) {
        fprintf(stderr, "tickerd backfill: no API key (%s)\n",
                alpaca ? "APCA_API_KEY_ID / APCA_API_SECRET_KEY" : "POLYGON_API_KEY");
        return 2;
    }
    td_strlist_t syms = {0};
    if (load_symbols(o->symbols, &syms) != 0) {
        fprintf(stderr, "tickerd backfill: cannot read %s\n", o->symbols + 1);
        return 2;
    }
    int rc = 2;
    if (!syms.n) {
        fprintf(stderr, "tickerd backfill: no symbols\n");
    } else {
        c->symbols = syms.v;
        c->nsymbols = syms.n;
        rc = td_backfill_run(c);
    }
    td_strlist_free(&syms);
    return rc;
}

static int run(bf_opts_t *o)
{
    td_backfill_cfg_t c;
    memset(&c, 0, sizeof c);
    if (strcmp(o->vendor, "alpaca") && strcmp(o->vendor, "polygon")) {
        fprintf(stderr, "tickerd backfill: --vendor must be alpaca or polygon\n");
        return 2;
    }
    if (common_cfg(o, &c) != 0) return 2;
    if (!o->param.n) return run_vendor(o, &c);
    if (!o->url) {
        fprintf(stderr, "tickerd backfill: --param needs --url TEMPLATE\n");
        return 2;
    }
    if (o->symbols || o->query.n) {
        fprintf(stderr, "tickerd backfill: --param excludes --symbols and --query (put the "
                        "parameters in the template)\n");
        return 2;
    }
    c.vendor = "grid";
    c.timeframe = "";
    return run_grid(o, &c);
}

int td_cmd_backfill(int argc, char **argv)
{
    bf_opts_t o;
    memset(&o, 0, sizeof o);
    char err[256];
    td_log_set_prefix("backfill");
    int rc = td_opts_parse(&bf_opts, &o, argc, argv, err, sizeof err);
    if (rc != 0) {
        if (rc < 0) fprintf(stderr, "tickerd backfill: %s\n", err);
        td_opts_free(&bf_opts, &o);
        return rc < 0 ? 2 : 0;
    }
    signal(SIGPIPE, SIG_IGN);
    /* A batch job outlives its terminal (as under nohup): a hangup no longer
     * kills it mid-page; SIGINT/SIGTERM still stop it with a summary. */
    signal(SIGHUP, SIG_IGN);
    rc = run(&o);
    td_opts_free(&bf_opts, &o);
    return rc;
}

const td_opts_t *td_cmd_backfill_opts(void)
{
    return &bf_opts;
}
