/* SPDX-License-Identifier: Apache-2.0 */
/* Alpha Vantage data of the simulator: a deterministic minute walk per symbol
 * of the stock universe (the names and starting prices of the /v2/iex
 * generator, so a quote is near the stream's prices), and the JSON bodies of
 * PROTOCOLS.md §5.1 (GLOBAL_QUOTE) and §5.2 (TIME_SERIES_INTRADAY).
 *
 * The walk is a pure function of (seed, symbol, minute): each US/Eastern day
 * starts from its own anchor near the starting price and moves one random
 * step per minute, so the same minute always has the same bar. */
#include "core/mem.h"
#include "core/rng.h"
#include "core/clock.h"
#include "sim/sim_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct td_sim_avdata_s {
    td_sim_gen_t *gen; /* names and starting prices; never advanced */
    uint64_t seed;
};

typedef struct {
    int64_t o, h, l, c; /* 1e-4 units */
    uint64_t v;
} bar_t;

typedef struct {
    const td_sim_avdata_t *d;
    size_t sym;
    int64_t m;   /* the next minute (unix minutes) */
    int64_t day; /* US/Eastern day number of the minute before m */
    int64_t px;  /* close of the minute before m */
} walk_t;

td_sim_avdata_t *td__sim_avdata_new(uint64_t seed, size_t nsyms)
{
    td_sim_avdata_t *d = td_xcalloc(1, sizeof *d);
    d->gen = td__sim_gen_new(td_vendor_find("/v2/iex"), seed, nsyms); /* as /v2/iex */
    d->seed = seed;
    return d;
}

void td__sim_avdata_free(td_sim_avdata_t *d)
{
    if (!d) return;
    td__sim_gen_free(d->gen);
    free(d);
}

long td__sim_avdata_find(const td_sim_avdata_t *d, const char *sym)
{
    size_t n = td__sim_gen_nsyms(d->gen), want = strlen(sym);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *name = td__sim_gen_symbol(d->gen, i, &len);
        if (len == want && strncasecmp(name, sym, len) == 0) return (long)i;
    }
    return -1;
}

/* ---- US/Eastern time --------------------------------------------------------- */

/* Seconds to add to UTC for US/Eastern (EDT from the second Sunday of March
 * 02:00 EST to the first Sunday of November 02:00 EDT, the rule since 2007). */
static int64_t et_offset(int64_t unix_sec)
{
    int y, m, d;
    td_civil_from_days(td_floor_div(unix_sec - 5 * 3600, 86400), &y, &m, &d);
    int64_t on = td_nth_sunday(y, 3, 2) * 86400 + 7 * 3600;
    int64_t off = td_nth_sunday(y, 11, 1) * 86400 + 6 * 3600;
    return unix_sec >= on && unix_sec < off ? -4 * 3600 : -5 * 3600;
}

static int64_t et_day(int64_t minute)
{
    return td_floor_div(minute * 60 + et_offset(minute * 60), 86400);
}

/* "YYYY-MM-DD HH:MM:SS" in US/Eastern, or only the date if !with_time. */
static void et_format(int64_t unix_sec, int with_time, char out[24])
{
    int64_t l = unix_sec + et_offset(unix_sec), s = l - td_floor_div(l, 86400) * 86400;
    int y, m, d;
    td_civil_from_days(td_floor_div(l, 86400), &y, &m, &d);
    if (with_time)
        snprintf(out, 24, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, (int)(s / 3600),
                 (int)(s / 60 % 60), (int)(s % 60));
    else
        snprintf(out, 24, "%04d-%02d-%02d", y, m, d);
}

/* ---- the walk ------------------------------------------------------------------ */

static uint64_t mix(const td_sim_avdata_t *d, size_t sym, uint64_t tag, int64_t x)
{
    uint64_t s = d->seed * 0x9e3779b97f4a7c15ULL ^ (uint64_t)sym * 0xd1b54a32d192ed03ULL ^
                 tag * 0x8cb92ba72f3d8dd7ULL ^ (uint64_t)x;
    td__splitmix64(&s);
    return td__splitmix64(&s);
}

static double unit(uint64_t x)
{
    return (double)(x >> 11) / 9007199254740992.0;
}

/* The day's opening price: within ±5% of the symbol's starting price. */
static int64_t anchor(const td_sim_avdata_t *d, size_t sym, int64_t day)
{
    double base = (double)td__sim_gen_price(d->gen, sym);
    int64_t px = (int64_t)(base * (0.95 + 0.1 * unit(mix(d, sym, 1, day))));
    return px < 100 ? 100 : px;
}

static void walk_next(walk_t *w, bar_t *b)
{
    int64_t day = et_day(w->m);
    if (day != w->day) {
        w->day = day;
        w->px = anchor(w->d, w->sym, day);
    }
    uint64_t r = mix(w->d, w->sym, 2, w->m), r2 = mix(w->d, w->sym, 3, w->m);
    int64_t o = w->px, c = o + (int64_t)((unit(r) - 0.5) * 0.0017 * (double)o);
    if (c < 100) c = 100;
    int64_t wick = (int64_t)(r2 % (uint64_t)(o / 4000 + 1));
    b->o = o;
    b->c = c;
    b->h = (o > c ? o : c) + wick;
    b->l = (o < c ? o : c) - wick / 2;
    if (b->l < 1) b->l = 1;
    b->v = 100 + (r2 >> 40) % 5000;
    w->px = c;
    w->m++;
}

/* Positions w so that the next bar is minute m's (walks from m's day start). */
static void walk_seek(walk_t *w, const td_sim_avdata_t *d, size_t sym, int64_t m)
{
    int64_t day = et_day(m), start = m;
    while (et_day(start - 1) == day)
        start--;
    w->d = d;
    w->sym = sym;
    w->m = start;
    w->day = day;
    w->px = anchor(d, sym, day);
    bar_t b;
    while (w->m < m)
        walk_next(w, &b);
}

/* Minutes [m, m + n) as one bar. */
static void walk_bar(walk_t *w, int n, bar_t *out)
{
    walk_next(w, out);
    for (int i = 1; i < n; i++) {
        bar_t b;
        walk_next(w, &b);
        if (b.h > out->h) out->h = b.h;
        if (b.l < out->l) out->l = b.l;
        out->c = b.c;
        out->v += b.v;
    }
}

/* ---- bodies -------------------------------------------------------------------- */

static void put_px(td_buf_t *out, const char *key, int64_t v, int comma)
{
    int64_t a = v < 0 ? -v : v;
    td_buf_appendf(out, "\"%s\":\"%s%lld.%04lld\"%s", key, v < 0 ? "-" : "", (long long)(a / 10000),
                   (long long)(a % 10000), comma ? "," : "");
}

void td__sim_avdata_quote(const td_sim_avdata_t *d, size_t i, int64_t now_sec, td_buf_t *out)
{
    int64_t now_m = td_floor_div(now_sec, 60), day = et_day(now_m), start = now_m;
    while (et_day(start - 1) == day)
        start--;
    walk_t w;
    bar_t prev, day_bar;
    walk_seek(&w, d, i, start - 1);
    walk_next(&w, &prev); /* the previous day's last minute */
    walk_bar(&w, (int)(now_m - start + 1), &day_bar);
    size_t len;
    const char *name = td__sim_gen_symbol(d->gen, i, &len);
    char date[24];
    et_format(now_sec, 0, date);
    int64_t change = day_bar.c - prev.c;
    td_buf_appendf(out, "{\"Global Quote\":{\"01. symbol\":\"%.*s\",", (int)len, name);
    put_px(out, "02. open", day_bar.o, 1);
    put_px(out, "03. high", day_bar.h, 1);
    put_px(out, "04. low", day_bar.l, 1);
    put_px(out, "05. price", day_bar.c, 1);
    td_buf_appendf(out, "\"06. volume\":\"%llu\",\"07. latest trading day\":\"%s\",",
                   (unsigned long long)day_bar.v, date);
    put_px(out, "08. previous close", prev.c, 1);
    put_px(out, "09. change", change, 1);
    td_buf_appendf(out, "\"10. change percent\":\"%.4f%%\"}}",
                   (double)change * 100.0 / (double)prev.c);
}

/* The bar of minute m is labelled as the one an hour later (the hour that
 * repeats when EDT ends): only the later one is served, so keys are unique. */
static int repeated_label(int64_t m)
{
    return et_offset(m * 60) - et_offset(m * 60 + 3600) == 3600;
}

static void series_entry(td_buf_t *out, int64_t m, const bar_t *b, int comma)
{
    char ts[24];
    et_format(m * 60, 1, ts);
    td_buf_appendf(out, "%s\"%s\":{", comma ? "," : "", ts);
    put_px(out, "1. open", b->o, 1);
    put_px(out, "2. high", b->h, 1);
    put_px(out, "3. low", b->l, 1);
    put_px(out, "4. close", b->c, 1);
    td_buf_appendf(out, "\"5. volume\":\"%llu\"}", (unsigned long long)b->v);
}

void td__sim_avdata_intraday(const td_sim_avdata_t *d, size_t i, int iv, int full, int npoints,
                             int64_t now_sec, td_buf_t *out)
{
    int64_t newest = td_floor_div(td_floor_div(now_sec, 60), iv) * iv - iv, slots = 0;
    for (int kept = 0; kept < npoints; slots++)
        kept += !repeated_label(newest - slots * iv);
    int64_t first = newest - (slots - 1) * iv;
    bar_t *bars = td_xcalloc((size_t)slots, sizeof *bars);
    walk_t w;
    walk_seek(&w, d, i, first);
    for (int64_t k = 0; k < slots; k++)
        walk_bar(&w, iv, &bars[k]);
    size_t len;
    const char *name = td__sim_gen_symbol(d->gen, i, &len);
    char ts[24];
    et_format(newest * 60, 1, ts);
    td_buf_appendf(out,
                   "{\"Meta Data\":{\"1. Information\":\"Intraday (%dmin) open, high, low, close "
                   "prices and volume\",\"2. Symbol\":\"%.*s\",\"3. Last Refreshed\":\"%s\","
                   "\"4. Interval\":\"%dmin\",\"5. Output Size\":\"%s\",\"6. Time Zone\":"
                   "\"US/Eastern\"},\"Time Series (%dmin)\":{",
                   iv, (int)len, name, ts, iv, full ? "Full size" : "Compact", iv);
    int comma = 0;
    for (int64_t k = slots - 1; k >= 0; k--) {
        int64_t m = first + k * iv;
        if (repeated_label(m)) continue;
        series_entry(out, m, &bars[k], comma);
        comma = 1;
    }
    td_buf_appends(out, "}}");
    free(bars);
}
