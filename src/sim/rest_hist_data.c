/* SPDX-License-Identifier: Apache-2.0 */
/* History data of the simulator (issue 6 item 6): deterministic bars for the
 * Alpaca bars v2 and Polygon aggregates endpoints (PROTOCOLS.md §2 and §4)
 * and the grid server's prices.
 *
 * A bar is a pure function of (seed, symbol, bar length, bar start): a daily
 * anchor within 5% of the symbol's base price (the /v2/iex starting price
 * for a symbol of the universe, else one derived from its name), then open
 * and close within 1% of it, high and low around them. Bars exist 24 hours a
 * day, 7 days a week, on a grid: multiples of the bar length since the epoch
 * (minutes, hours), or midnight US/Eastern in UTC for days. */
#include "core/mem.h"
#include "core/rng.h"
#include "core/clock.h"
#include "sim/sim_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct td_sim_hdata_s {
    td_sim_gen_t *gen; /* names and starting prices; never advanced */
    uint64_t seed;
};

td_sim_hdata_t *td__sim_hdata_new(uint64_t seed, size_t nsyms)
{
    td_sim_hdata_t *d = td_xcalloc(1, sizeof *d);
    d->gen = td__sim_gen_new(td_vendor_find("/v2/iex"), seed, nsyms); /* as /v2/iex */
    d->seed = seed;
    return d;
}

void td__sim_hdata_free(td_sim_hdata_t *d)
{
    if (!d) return;
    td__sim_gen_free(d->gen);
    free(d);
}

/* ---- time ---------------------------------------------------------------------- */

/* Unix time of midnight US/Eastern of day number `day` (EDT from the second
 * Sunday of March to the first Sunday of November, exclusive/inclusive at
 * midnight since the switch is at 02:00). */
static int64_t et_midnight(int64_t day)
{
    int y, m, d;
    td_civil_from_days(day, &y, &m, &d);
    int edt = day > td_nth_sunday(y, 3, 2) && day <= td_nth_sunday(y, 11, 1);
    return day * 86400 + (edt ? 4 : 5) * 3600;
}

int64_t td__sim_hdata_first(int64_t step, int64_t ts)
{
    if (step != 86400) return td_floor_div(ts + step - 1, step) * step;
    for (int64_t day = td_floor_div(ts, 86400) - 1;; day++)
        if (et_midnight(day) >= ts) return et_midnight(day);
}

static int digits(const char *s, int n, int *out)
{
    *out = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        *out = *out * 10 + (s[i] - '0');
    }
    return 0;
}

static int parse_date(const char *s, int64_t *day)
{
    int y, m, d;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &m) || s[7] != '-' ||
        digits(s + 8, 2, &d) || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    *day = td_days_from_civil(y, m, d);
    return 0;
}

/* Offset part of RFC 3339 after the seconds: [.frac](Z|+hh:mm|-hh:mm). */
static int parse_zone(const char *s, int64_t *off)
{
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s); s++) {
        }
    int hh, mm;
    if ((*s == 'Z' || *s == 'z') && !s[1]) {
        *off = 0;
        return 0;
    }
    if ((*s != '+' && *s != '-') || digits(s + 1, 2, &hh) || s[3] != ':' || digits(s + 4, 2, &mm) ||
        s[6])
        return -1;
    *off = (*s == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    return 0;
}

int td__sim_hdata_parse_time(const char *s, int64_t *out)
{
    int64_t day, off;
    int hh, mi, ss;
    if (strlen(s) < 10 || parse_date(s, &day)) return -1;
    if (!s[10]) {
        *out = day * 86400;
        return 0;
    }
    if ((s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &hh) || s[13] != ':' ||
        digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &ss) || hh > 23 || mi > 59 ||
        ss > 60 || parse_zone(s + 19, &off))
        return -1;
    *out = day * 86400 + hh * 3600 + mi * 60 + ss - off;
    return 0;
}

void td__sim_hdata_rfc3339(int64_t t, char out[24])
{
    int y, m, d;
    int64_t day = td_floor_div(t, 86400), s = t - day * 86400;
    td_civil_from_days(day, &y, &m, &d);
    int v[6] = {y, m, d, (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60)};
    if (y < 0 || y > 9999) {
        snprintf(out, 24, "%04d-%02d-%02dT%02d:%02d:%02dZ", v[0], v[1], v[2], v[3], v[4], v[5]);
        return;
    }
    memcpy(out, "0000-00-00T00:00:00Z", 21);
    static const int at[6] = {3, 6, 9, 12, 15, 18};
    for (int i = 0; i < 6; i++)
        for (int k = at[i], x = v[i]; x; x /= 10)
            out[k--] = (char)('0' + x % 10);
}

/* ---- bars ---------------------------------------------------------------------- */

int td__sim_hdata_valid_symbol(const char *s, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > 21 || !isupper((unsigned char)s[0])) return 0;
    for (size_t i = 1; i < n; i++)
        if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '.' &&
            !strchr(extra, s[i]))
            return 0;
    return 1;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static uint64_t mix(uint64_t a, uint64_t b, uint64_t c, int64_t x)
{
    uint64_t s = a * 0x9e3779b97f4a7c15ULL ^ b * 0xd1b54a32d192ed03ULL ^ c * 0x8cb92ba72f3d8dd7ULL ^
                 (uint64_t)x;
    td__splitmix64(&s);
    return td__splitmix64(&s);
}

/* Base price of a symbol in 1e-4 units. */
int64_t td__sim_hdata_base(const td_sim_hdata_t *d, const char *sym)
{
    size_t n = td__sim_gen_nsyms(d->gen), want = strlen(sym);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *name = td__sim_gen_symbol(d->gen, i, &len);
        if (len == want && memcmp(name, sym, len) == 0) return td__sim_gen_price(d->gen, i);
    }
    return (int64_t)(100000 + mix(d->seed, hash_str(sym), 7, 0) % 4900000); /* 10..500 */
}

/* x * (1 + k * (u - 0.5)) with u from r, in integer units. */
static int64_t jitter(int64_t x, uint64_t r, int64_t ppm)
{
    int64_t u = (int64_t)(r % 2000001) - 1000000; /* -1e6..1e6 */
    return x + (int64_t)((double)x * (double)u * (double)ppm / 1e12);
}

void td__sim_hdata_bar(const td_sim_hdata_t *d, const char *sym, int64_t base, int64_t step,
                       int64_t t, td_sim_bar_t *b)
{
    uint64_t hs = hash_str(sym);
    int64_t anchor = jitter(base, mix(d->seed, hs, 1, td_floor_div(t, 86400)), 50000);
    uint64_t r = mix(d->seed, hs, (uint64_t)step, t);
    b->t = t;
    b->o = jitter(anchor, r, 10000);
    b->c = jitter(anchor, mix(d->seed, hs, (uint64_t)step + 1, t), 10000);
    int64_t hi = b->o > b->c ? b->o : b->c, lo = b->o < b->c ? b->o : b->c;
    b->h = hi + hi * (int64_t)(r >> 40 & 0xff) / 100000;
    b->l = lo - lo * (int64_t)(r >> 48 & 0xff) / 100000;
    b->v = 100 + (r >> 8) % (uint64_t)(step / 60 * 500 + 500);
    b->n = 1 + b->v / 40;
    b->vw = (b->h + b->l + b->c) / 3;
}

/* Decimal digits of v, right-aligned in a 20-byte buffer; returns the first. */
static char *dec(char *end, uint64_t v)
{
    char *p = end;
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    return p;
}

static void put_u64(td_buf_t *out, uint64_t v)
{
    char tmp[24], *e = tmp + sizeof tmp;
    char *p = dec(e, v);
    td_buf_append(out, p, (size_t)(e - p));
}

/* ,"name":I.FFFF from v in 1e-4 units (the sim's prices). */
static void px(td_buf_t *out, const char *name, int64_t v)
{
    char tmp[48], *e = tmp + sizeof tmp, *p;
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    for (int i = 0; i < 4; i++, a /= 10)
        *--e = (char)('0' + a % 10);
    *--e = '.';
    p = dec(e, a);
    if (v < 0) *--p = '-';
    td_buf_appendc(out, ',');
    td_buf_append_json_str(out, name, strlen(name));
    td_buf_appendc(out, ':');
    td_buf_append(out, p, (size_t)(tmp + sizeof tmp - p));
}

void td__sim_hdata_bar_json(const td_sim_bar_t *b, int polygon, td_buf_t *out)
{
    if (polygon) {
        if (b->t < 0)
            td_buf_appendf(out, "{\"t\":%lld", (long long)b->t * 1000);
        else {
            td_buf_appends(out, "{\"t\":");
            put_u64(out, (uint64_t)b->t * 1000);
        }
    } else {
        char ts[24];
        td__sim_hdata_rfc3339(b->t, ts);
        td_buf_appends(out, "{\"t\":\"");
        td_buf_appends(out, ts);
        td_buf_appendc(out, '"');
    }
    px(out, "o", b->o);
    px(out, "h", b->h);
    px(out, "l", b->l);
    px(out, "c", b->c);
    td_buf_appends(out, ",\"v\":");
    put_u64(out, b->v);
    td_buf_appends(out, ",\"n\":");
    put_u64(out, b->n);
    px(out, "vw", b->vw);
    td_buf_appendc(out, '}');
}

/* {"ev":"AM","sym":SYM,"v":..,"o":..,"c":..,"h":..,"l":..,"vw":..,"z":..,"s":ms,"e":ms}:
 * the bar as Polygon's stream sends it (--bar-seconds). */
void td__sim_hdata_am_json(const td_sim_bar_t *b, const char *sym, int64_t step, td_buf_t *out)
{
    td_buf_appends(out, "{\"ev\":\"AM\",\"sym\":");
    td_buf_append_json_str(out, sym, strlen(sym));
    td_buf_appends(out, ",\"v\":");
    put_u64(out, b->v);
    px(out, "o", b->o);
    px(out, "c", b->c);
    px(out, "h", b->h);
    px(out, "l", b->l);
    px(out, "vw", b->vw);
    td_buf_appends(out, ",\"z\":");
    put_u64(out, b->n);
    td_buf_appendf(out, ",\"s\":%lld,\"e\":%lld}", (long long)b->t * 1000,
                   (long long)(b->t + step) * 1000);
}

/* ---- grid server --------------------------------------------------------------- */

static const char *const EXCHANGES[] = {"binance",  "coinbase", "kraken", "bitstamp",
                                        "bitfinex", "gemini",   "huobi",  "okx",
                                        "kucoin",   "bybit",    "gateio"};
static const char *const COINS[] = {"btc", "eth", "ltc"};
static const int64_t COIN_PX[] = {300000000, 20000000, 800000}; /* 1e-4 units */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void str_list(const char *const *v, size_t n, td_buf_t *out)
{
    td_buf_appendc(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) td_buf_appendc(out, ',');
        td_buf_append_json_str(out, v[i], strlen(v[i]));
    }
    td_buf_appendc(out, ']');
}

void td__sim_hdata_exchanges(td_buf_t *out)
{
    str_list(EXCHANGES, COUNT(EXCHANGES), out);
}

void td__sim_hdata_coins(td_buf_t *out)
{
    str_list(COINS, COUNT(COINS), out);
}

static long find(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0) return (long)i;
    return -1;
}

int td__sim_hdata_price(const td_sim_hdata_t *d, const char *exch, const char *coin,
                        const char *date, td_buf_t *out)
{
    long e = find(EXCHANGES, COUNT(EXCHANGES), exch), c = find(COINS, COUNT(COINS), coin);
    int64_t day;
    if (e < 0 || c < 0) {
        td_buf_appendf(out, "{\"error\":\"unknown %s\"}", e < 0 ? "exchange" : "symbol");
        return 404;
    }
    if (strlen(date) != 10 || parse_date(date, &day)) {
        td_buf_appends(out, "{\"error\":\"bad date: expected YYYY-MM-DD\"}");
        return 400;
    }
    uint64_t h = mix(d->seed, (uint64_t)e + 1000, (uint64_t)c, day);
    int64_t anchor = jitter(COIN_PX[c], mix(d->seed, 999, (uint64_t)c, day), 100000);
    td_sim_bar_t b = {0};
    b.o = jitter(anchor, h, 20000);
    b.c = jitter(anchor, mix(d->seed, (uint64_t)e + 2000, (uint64_t)c, day), 20000);
    b.h = (b.o > b.c ? b.o : b.c) * (10000 + (int64_t)(h >> 40 & 0xff)) / 10000;
    b.l = (b.o < b.c ? b.o : b.c) * (10000 - (int64_t)(h >> 48 & 0xff)) / 10000;
    td_buf_appends(out, "{\"exchange\":");
    td_buf_append_json_str(out, exch, strlen(exch));
    td_buf_appendf(out, ",\"symbol\":\"%s\",\"date\":\"%s\"", coin, date);
    px(out, "open", b.o);
    px(out, "high", b.h);
    px(out, "low", b.l);
    px(out, "close", b.c);
    td_buf_appendf(out, ",\"volume\":%llu}", (unsigned long long)(1000 + (h >> 8) % 100000));
    return 200;
}
