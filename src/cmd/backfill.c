/* `tickerd backfill`: historical bars from Alpaca or Polygon into SQLite or
 * PostgreSQL. Option wiring only; the engine is backfill/backfill.c. */
#include "backfill/backfill.h"
#include "cmd/cmd.h"
#include "core/log.h"
#include "core/opt.h"

#include <ctype.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *vendor, *url, *symbols, *start, *end, *timeframe, *store, *rate;
    int64_t concurrency, limit, retries;
    double timeout;
    int json;
    char *key, *secret, *polygon_key, *log_level;
} bf_opts_t;

#define F(x) offsetof(bf_opts_t, x)

static const td_opt_t bf_table[] = {
    {"vendor", TD_OPT_STR, F(vendor), 0, 0, "alpaca", "alpaca|polygon", NULL, 0,
     "history API to read"},
    {"url", TD_OPT_STR, F(url), 0, 0, NULL, "URL", NULL, 0,
     "base URL (default https://data.alpaca.markets or https://api.polygon.io)"},
    {"symbols", TD_OPT_STR, F(symbols), 0, 0, NULL, "A,B|@FILE", NULL, 0,
     "symbols, comma-separated, or @FILE (separated by commas, spaces or newlines); one job each"},
    {"start", TD_OPT_STR, F(start), 0, 0, NULL, "YYYY-MM-DD", NULL, 0, "first day (required)"},
    {"end", TD_OPT_STR, F(end), 0, 0, NULL, "YYYY-MM-DD", NULL, 0, "last day (required)"},
    {"timeframe", TD_OPT_STR, F(timeframe), 0, 0, NULL, "TF", NULL, 0,
     "bar length: Alpaca e.g. 15Min (default), Polygon MULT/TIMESPAN e.g. 15/minute (default)"},
    {"store", TD_OPT_STR, F(store), 0, 0, "sqlite:tickerd.db", "SPEC", NULL, 0,
     "sqlite:PATH or postgres://..."},
    {"concurrency", TD_OPT_INT, F(concurrency), 1, 256, "8", "N", NULL, 0,
     "requests in flight, at most"},
    {"rate", TD_OPT_STR, F(rate), 0, 0, "200/min", "N/PER", NULL, 0,
     "at most N requests per window (PER: s, min, h or seconds, e.g. 200/60); 0 = no limit"},
    {"limit", TD_OPT_INT, F(limit), 1, 50000, "1000", "N", NULL, 0, "bars per page"},
    {"retries", TD_OPT_INT, F(retries), 0, 1000, "5", "N", NULL, 0,
     "retries of a page after 5xx or transport errors (exponential backoff with jitter) before "
     "its job fails; 429s wait Retry-After and are not counted"},
    {"timeout", TD_OPT_DOUBLE, F(timeout), 0.1, 3600, "30", "SECONDS", NULL, 0, "per request"},
    {"json", TD_OPT_BOOL, F(json), 0, 0, "no", NULL, NULL, 0,
     "print a JSON summary object on stdout"},
    {"key", TD_OPT_STR, F(key), 0, 0, NULL, "KEY", "APCA_API_KEY_ID", TD_OPT_SECRET,
     "Alpaca key id"},
    {"secret", TD_OPT_STR, F(secret), 0, 0, NULL, "SECRET", "APCA_API_SECRET_KEY", TD_OPT_SECRET,
     "Alpaca secret"},
    {"polygon-key", TD_OPT_STR, F(polygon_key), 0, 0, NULL, "KEY", "POLYGON_API_KEY", TD_OPT_SECRET,
     "Polygon API key"},
    {"log-level", TD_OPT_STR, F(log_level), 0, 0, "warn", "LEVEL", NULL, 0,
     "error, warn, info or debug"},
    TD_OPT_END,
};

static const td_opts_t bf_opts = {
    "backfill",
    bf_table,
    "usage: tickerd backfill --symbols A,B --start DAY --end DAY [OPTIONS]",
    "Downloads historical bars (Alpaca /v2/stocks/{SYM}/bars or Polygon aggregates), one\n"
    "job per symbol walking its pages, into a store; each page is written atomically with\n"
    "its jobs row, so rerunning the same command after a crash resumes without gaps or\n"
    "duplicates. 429 waits Retry-After; 5xx and timeouts back off and retry; an invalid\n"
    "symbol fails its job. Summary on stderr (and --json on stdout); exit 0 if every job\n"
    "is done, 1 otherwise.",
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

static int run(bf_opts_t *o)
{
    td_backfill_cfg_t c;
    memset(&c, 0, sizeof c);
    int alpaca = !strcmp(o->vendor, "alpaca");
    if (!alpaca && strcmp(o->vendor, "polygon")) {
        fprintf(stderr, "tickerd backfill: --vendor must be alpaca or polygon\n");
        return 2;
    }
    if (!o->symbols || !o->start || !o->end) {
        fprintf(stderr, "tickerd backfill: --symbols, --start and --end are required\n");
        return 2;
    }
    c.vendor = o->vendor;
    c.url = o->url ? o->url : alpaca ? "https://data.alpaca.markets" : "https://api.polygon.io";
    c.start = o->start;
    c.end = o->end;
    c.timeframe = o->timeframe ? o->timeframe : alpaca ? "15Min" : "15/minute";
    c.store = o->store;
    c.concurrency = (int)o->concurrency;
    c.limit = (int)o->limit;
    c.retries = (int)o->retries;
    c.timeout_ms = (uint32_t)(o->timeout * 1000);
    c.key_id = o->key;
    c.secret = o->secret;
    c.poly_key = o->polygon_key;
    c.json = o->json;
    if (strcmp(o->rate, "0") && td_backfill_parse_rate(o->rate, &c.rate_n, &c.rate_s) != 0) {
        fprintf(stderr, "tickerd backfill: bad --rate '%s' (e.g. 200/min)\n", o->rate);
        return 2;
    }
    if (alpaca ? (!c.key_id || !c.secret) : !c.poly_key) {
        fprintf(stderr, "tickerd backfill: no API key (%s)\n",
                alpaca ? "APCA_API_KEY_ID / APCA_API_SECRET_KEY" : "POLYGON_API_KEY");
        return 2;
    }
    td_strlist_t syms = {0};
    if (load_symbols(o->symbols, &syms) != 0) {
        fprintf(stderr, "tickerd backfill: cannot read %s\n", o->symbols + 1);
        return 2;
    }
    if (!syms.n) {
        fprintf(stderr, "tickerd backfill: no symbols\n");
        td_strlist_free(&syms);
        return 2;
    }
    c.symbols = syms.v;
    c.nsymbols = syms.n;
    int rc = td_backfill_run(&c);
    td_strlist_free(&syms);
    return rc;
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
    int level = td_log_level_parse(o.log_level);
    if (level < 0) {
        fprintf(stderr, "tickerd backfill: bad --log-level '%s'\n", o.log_level);
        td_opts_free(&bf_opts, &o);
        return 2;
    }
    td_log_set_level(level);
    signal(SIGPIPE, SIG_IGN);
    rc = run(&o);
    td_opts_free(&bf_opts, &o);
    return rc;
}
