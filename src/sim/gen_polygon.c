/* SPDX-License-Identifier: Apache-2.0 */
/* The Polygon half of the generator (PROTOCOLS.md §3.3): symbols of the
 * options, forex and crypto clusters, the event mix of each cluster and the
 * JSON of every event type, "ev" first, field names and types as the spec's
 * examples. t (and s/e of aggregates) in Unix ms; LULD t in µs and NOI t in
 * ns, as the spec's own examples show. */
#include "core/mem.h"
#include "sim/gen_int.h"

#include <stdio.h>

/* ---- symbols ------------------------------------------------------------- */

static const struct {
    const char *name;
    double px;
} forex_pairs[] =
    {
        {"EUR/USD", 1.085}, {"USD/JPY", 151.2}, {"GBP/USD", 1.27}, {"USD/CHF", 0.88},
        {"AUD/USD", 0.66},  {"USD/CAD", 1.36},  {"NZD/USD", 0.61}, {"EUR/GBP", 0.855},
        {"EUR/JPY", 164.1}, {"USD/CNH", 7.24},  {"USD/MXN", 17.1}, {"EUR/CHF", 0.96},
        {"GBP/JPY", 192.3}, {"USD/SEK", 10.5},  {"USD/NOK", 10.7}, {"USD/SGD", 1.345},
        {"USD/HKD", 7.82},  {"USD/ZAR", 18.6},  {"USD/TRY", 32.1}, {"AUD/JPY", 99.5},
},
  crypto_pairs[] = {
      {"BTC-USD", 64000}, {"ETH-USD", 3100},  {"SOL-USD", 145},   {"DOGE-USD", 0.12},
      {"LTC-USD", 72},    {"AVAX-USD", 28},   {"LINK-USD", 14},   {"UNI-USD", 7.5},
      {"AAVE-USD", 95},   {"BCH-USD", 380},   {"DOT-USD", 6.2},   {"XRP-USD", 0.52},
      {"ADA-USD", 0.45},  {"MATIC-USD", 0.7}, {"ETH-BTC", 0.048}, {"BTC-EUR", 59000},
      {"ETH-EUR", 2860},  {"USDT-USD", 1},    {"USDC-USD", 1},    {"SHIB-USD", 0.0000175},
};

static const struct {
    const char *root;
    double spot;
} option_roots[] = {
    {"SPY", 520},  {"QQQ", 440},  {"AAPL", 190}, {"TSLA", 175},
    {"NVDA", 880}, {"AMZN", 180}, {"MSFT", 420}, {"IWM", 205},
};

static const char *const expiries[] = {"241220", "250117", "250620", "251219"};

/* O:SPY241220P00720000: root, expiry YYMMDD, C or P, strike × 1000 in 8 digits. */
static void option_name(td_sim_gen_t *g, size_t i, char *name, double *px)
{
    size_t nr = TD_ARRAY_LEN(option_roots), j = i / nr;
    const char *root = option_roots[i % nr].root;
    double spot = option_roots[i % nr].spot;
    int put = (int)(j / TD_ARRAY_LEN(expiries) % 2);
    long k = (long)(j / TD_ARRAY_LEN(expiries) / 2);
    long strike = (long)(spot / 5) * 5 + (k % 2 ? -5 : 5) * ((k + 1) / 2);
    if (strike < 5) strike = 5 + 5 * k;
    snprintf(name, SYM_MAX, "O:%s%s%c%08ld", root, expiries[j % TD_ARRAY_LEN(expiries)],
             put ? 'P' : 'C', strike * 1000);
    *px = 0.5 + td_rng_unit(&g->rng) * 30;
}

static void synth_pair(char *name, size_t i, char sep)
{
    snprintf(name, SYM_MAX, "X%c%c%c%cUSD", 'A' + (int)(i / 676 % 26), 'A' + (int)(i / 26 % 26),
             'A' + (int)(i % 26), sep);
}

void td__sim_gen_polygon_name(td_sim_gen_t *g, size_t i, char *name, double *px)
{
    if (g->cls == TD_CLASS_OPTIONS) {
        option_name(g, i, name, px);
    } else if (g->cls == TD_CLASS_FOREX && i < TD_ARRAY_LEN(forex_pairs)) {
        snprintf(name, SYM_MAX, "%s", forex_pairs[i].name);
        *px = forex_pairs[i].px;
    } else if (g->cls == TD_CLASS_CRYPTO && i < TD_ARRAY_LEN(crypto_pairs)) {
        snprintf(name, SYM_MAX, "%s", crypto_pairs[i].name);
        *px = crypto_pairs[i].px;
    } else {
        synth_pair(name, i, g->cls == TD_CLASS_FOREX ? '/' : '-');
        *px = 0.5 + td_rng_unit(&g->rng) * 50;
    }
}

/* ---- the mix ------------------------------------------------------------- */

typedef struct {
    int upto; /* per mille */
    td_kind_t k;
} mix_t;

static const mix_t mix_stocks[] = {
    {600, TD_KIND_QUOTE}, {850, TD_KIND_TRADE}, {930, TD_KIND_SECOND_BAR},
    {960, TD_KIND_BAR},   {980, TD_KIND_LULD},  {1000, TD_KIND_IMBALANCE},
};
static const mix_t mix_options[] = {
    {600, TD_KIND_QUOTE}, {850, TD_KIND_TRADE}, {950, TD_KIND_SECOND_BAR}, {1000, TD_KIND_BAR}};
static const mix_t mix_forex[] = {
    {850, TD_KIND_QUOTE}, {950, TD_KIND_SECOND_BAR}, {1000, TD_KIND_BAR}};
static const mix_t mix_crypto[] = {
    {500, TD_KIND_QUOTE},      {750, TD_KIND_TRADE}, {900, TD_KIND_ORDERBOOK},
    {970, TD_KIND_SECOND_BAR}, {1000, TD_KIND_BAR},
};

td_kind_t td__sim_gen_polygon_pick(td_class_t c, uint64_t x)
{
    const mix_t *m = c == TD_CLASS_STOCKS    ? mix_stocks
                     : c == TD_CLASS_OPTIONS ? mix_options
                     : c == TD_CLASS_FOREX   ? mix_forex
                                             : mix_crypto;
    int v = (int)(x % 1000);
    while (v >= m->upto)
        m++;
    return m->k;
}

/* ---- JSON pieces ---------------------------------------------------------- */

static char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* {"ev":"T","sym":"MSFT" */
static char *head(char *p, const char *ev, const char *key, const sym_t *s)
{
    PUT(p, "{\"ev\":\"");
    p = put_str(p, ev);
    PUT(p, "\",\"");
    p = put_str(p, key);
    PUT(p, "\":");
    return put_sym(p, s);
}

static char *put_px(bctx_t *b, char *p, int64_t v)
{
    return put_fixed(p, v > 0 ? v : b->s->tick, b->g->dec);
}

static int64_t ms(const bctx_t *b)
{
    return b->now / 1000000;
}

/* ,"t":MS */
static char *put_t(bctx_t *b, char *p)
{
    PUT(p, ",\"t\":");
    return put_u64(p, (uint64_t)ms(b));
}

static char *put_tape(bctx_t *b, char *p)
{
    PUT(p, ",\"z\":");
    return put_u64(p, (uint64_t)(b->s->tape - 'A' + 1)); /* 1 NYSE, 2 AMEX, 3 Nasdaq */
}

static char *put_conds(bctx_t *b, char *p)
{
    static const char *const conds[] = {"[0]", "[0,12]", "[14,41]", "[37]", "[12]"};
    return put_str(p, conds[rnd(b) % TD_ARRAY_LEN(conds)]);
}

static int64_t crypto_size(bctx_t *b)
{
    return (int64_t)(1 + rnd(b) % 2000000) * 1000; /* 0.000001 .. 2, six decimals */
}

/* ---- stocks and options --------------------------------------------------- */

static char *trade(bctx_t *b, char *p)
{
    int stocks = b->g->cls == TD_CLASS_STOCKS;
    uint64_t x = 1 + rnd(b) % 21;
    p = head(p, "T", "sym", b->s);
    PUT(p, ",\"x\":");
    p = put_u64(p, x);
    if (stocks) {
        PUT(p, ",\"i\":\"");
        p = put_u64(p, b->ev->seq);
        *p++ = '"';
        p = put_tape(b, p);
    }
    PUT(p, ",\"p\":");
    p = put_px(b, p, b->s->px);
    PUT(p, ",\"s\":");
    p = put_u64(p, stocks ? 1 + (b->ev->r & 0x3ff) : 1 + (b->ev->r & 0x1f));
    PUT(p, ",\"c\":");
    p = put_conds(b, p);
    p = put_t(b, p);
    PUT(p, ",\"q\":");
    p = put_u64(p, b->ev->seq);
    if (stocks && x == 4) { /* FINRA: reported through a TRF */
        PUT(p, ",\"trfi\":");
        p = put_u64(p, 201 + rnd(b) % 3);
        PUT(p, ",\"trft\":");
        p = put_u64(p, (uint64_t)ms(b) - rnd(b) % 5);
    }
    *p++ = '}';
    return p;
}

static char *quote(bctx_t *b, char *p)
{
    int stocks = b->g->cls == TD_CLASS_STOCKS;
    uint64_t r = rnd(b);
    p = head(p, "Q", "sym", b->s);
    PUT(p, ",\"bx\":");
    p = put_u64(p, 1 + rnd(b) % 21);
    if (!stocks) {
        PUT(p, ",\"ax\":");
        p = put_u64(p, 1 + rnd(b) % 21);
    }
    PUT(p, ",\"bp\":");
    p = put_px(b, p, b->s->px - b->s->tick * (int64_t)(r % 3));
    if (!stocks) {
        PUT(p, ",\"ap\":");
        p = put_px(b, p, b->s->px + b->s->tick * (int64_t)(1 + (r >> 16) % 3));
    }
    PUT(p, ",\"bs\":");
    p = put_u64(p, 1 + (r >> 8) % 20);
    if (stocks) {
        PUT(p, ",\"ax\":");
        p = put_u64(p, 1 + rnd(b) % 21);
        PUT(p, ",\"ap\":");
        p = put_px(b, p, b->s->px + b->s->tick * (int64_t)(1 + (r >> 16) % 3));
    }
    PUT(p, ",\"as\":");
    p = put_u64(p, 1 + (r >> 24) % 20);
    if (stocks) PUT(p, ",\"c\":0,\"i\":[604]");
    p = put_t(b, p);
    PUT(p, ",\"q\":");
    p = put_u64(p, b->ev->seq);
    if (stocks) p = put_tape(b, p);
    *p++ = '}';
    return p;
}

typedef struct {
    int64_t o, h, l, c, vw, s, e;
    uint64_t v, n;
} agg_t;

/* The window just closed: one second (A, CAS, XAS) or one minute. */
static void agg(bctx_t *b, agg_t *a)
{
    uint64_t r = rnd(b);
    int64_t t = b->s->tick, w = b->ev->kind == TD_KIND_SECOND_BAR ? 1000 : 60000;
    a->c = b->s->px;
    a->o = a->c + t * ((int64_t)(r % 7) - 3);
    if (a->o <= 0) a->o = t;
    a->h = (a->o > a->c ? a->o : a->c) + t * (int64_t)((r >> 8) % 3);
    a->l = (a->o < a->c ? a->o : a->c) - t * (int64_t)((r >> 12) % 3);
    if (a->l <= 0) a->l = t;
    a->vw = (a->o + a->h + a->l + a->c) / 4;
    a->vw -= a->vw % t;
    a->v = 100 + (r >> 16) % 100000;
    a->n = 1 + (r >> 40) % 200;
    a->s = ms(b) - ms(b) % w - w;
    a->e = a->s + w;
}

static char *put_se(char *p, const agg_t *a)
{
    PUT(p, ",\"s\":");
    p = put_u64(p, (uint64_t)a->s);
    PUT(p, ",\"e\":");
    p = put_u64(p, (uint64_t)a->e);
    *p++ = '}';
    return p;
}

static char *put_ochl(bctx_t *b, char *p, const agg_t *a)
{
    PUT(p, ",\"o\":");
    p = put_px(b, p, a->o);
    PUT(p, ",\"c\":");
    p = put_px(b, p, a->c);
    PUT(p, ",\"h\":");
    p = put_px(b, p, a->h);
    PUT(p, ",\"l\":");
    return put_px(b, p, a->l);
}

static char *stock_agg(bctx_t *b, char *p)
{
    agg_t a;
    agg(b, &a);
    p = head(p, b->ev->kind == TD_KIND_SECOND_BAR ? "A" : "AM", "sym", b->s);
    PUT(p, ",\"v\":");
    p = put_u64(p, a.v);
    PUT(p, ",\"av\":");
    p = put_u64(p, b->s->vol + a.v);
    PUT(p, ",\"op\":");
    p = put_px(b, p, b->s->open);
    PUT(p, ",\"vw\":");
    p = put_px(b, p, a.vw);
    p = put_ochl(b, p, &a);
    PUT(p, ",\"a\":");
    int64_t day = (b->s->open + b->s->px) / 2;
    p = put_px(b, p, day - day % b->s->tick);
    PUT(p, ",\"z\":");
    p = put_u64(p, a.v / a.n);
    return put_se(p, &a);
}

static char *luld(bctx_t *b, char *p)
{
    int64_t band = b->s->px / 20 - b->s->px / 20 % b->s->tick;
    p = head(p, "LULD", "T", b->s);
    PUT(p, ",\"h\":");
    p = put_px(b, p, b->s->px + band);
    PUT(p, ",\"l\":");
    p = put_px(b, p, b->s->px - band);
    PUT(p, ",\"i\":[");
    p = put_u64(p, 17 + rnd(b) % 5);
    *p++ = ']';
    p = put_tape(b, p);
    PUT(p, ",\"t\":");
    p = put_u64(p, (uint64_t)(b->now / 1000)); /* µs, as the spec's example */
    PUT(p, ",\"q\":");
    p = put_u64(p, b->ev->seq);
    *p++ = '}';
    return p;
}

static char *noi(bctx_t *b, char *p)
{
    static const struct {
        char a;
        int at;
    } auctions[] = {{'O', 930}, {'M', 930}, {'H', 1200}, {'C', 1600}};
    uint64_t r = rnd(b);
    size_t k = r % TD_ARRAY_LEN(auctions);
    p = head(p, "NOI", "T", b->s);
    PUT(p, ",\"t\":");
    p = put_u64(p, (uint64_t)b->now); /* ns, as the spec's example */
    PUT(p, ",\"at\":");
    p = put_u64(p, (uint64_t)auctions[k].at);
    PUT(p, ",\"a\":\"");
    *p++ = auctions[k].a;
    PUT(p, "\",\"i\":");
    p = put_u64(p, b->ev->seq);
    PUT(p, ",\"x\":");
    p = put_u64(p, 1 + (r >> 8) % 21);
    PUT(p, ",\"o\":");
    p = put_u64(p, 100 * (1 + (r >> 16) % 50));
    PUT(p, ",\"p\":");
    p = put_u64(p, 100 * (1 + (r >> 24) % 50));
    PUT(p, ",\"b\":");
    p = put_px(b, p, b->s->px);
    *p++ = '}';
    return p;
}

/* ---- forex ---------------------------------------------------------------- */

static char *forex_quote(bctx_t *b, char *p)
{
    uint64_t r = rnd(b);
    p = head(p, "C", "p", b->s);
    PUT(p, ",\"x\":");
    p = put_u64(p, 44 + r % 5);
    PUT(p, ",\"a\":");
    p = put_px(b, p, b->s->px + b->s->tick * (int64_t)(1 + (r >> 8) % 3));
    PUT(p, ",\"b\":");
    p = put_px(b, p, b->s->px - b->s->tick * (int64_t)((r >> 16) % 3));
    p = put_t(b, p);
    *p++ = '}';
    return p;
}

static char *forex_agg(bctx_t *b, char *p)
{
    agg_t a;
    agg(b, &a);
    p = head(p, b->ev->kind == TD_KIND_SECOND_BAR ? "CAS" : "CA", "pair", b->s);
    p = put_ochl(b, p, &a);
    PUT(p, ",\"v\":");
    p = put_u64(p, a.n);
    return put_se(p, &a);
}

/* ---- crypto --------------------------------------------------------------- */

static char *put_xr(bctx_t *b, char *p)
{
    PUT(p, ",\"x\":");
    p = put_u64(p, 1 + rnd(b) % 4);
    PUT(p, ",\"r\":");
    p = put_u64(p, (uint64_t)ms(b) + 5 + rnd(b) % 150);
    *p++ = '}';
    return p;
}

static char *crypto_trade(bctx_t *b, char *p)
{
    p = head(p, "XT", "pair", b->s);
    PUT(p, ",\"p\":");
    p = put_px(b, p, b->s->px);
    p = put_t(b, p);
    PUT(p, ",\"s\":");
    p = put_fixed(p, crypto_size(b), 9);
    PUT(p, ",\"c\":[");
    *p++ = (char)('1' + (b->ev->r & 1)); /* 1 sellside, 2 buyside */
    PUT(p, "],\"i\":");
    p = put_u64(p, 10000000 + b->ev->seq);
    return put_xr(b, p);
}

static char *crypto_quote(bctx_t *b, char *p)
{
    p = head(p, "XQ", "pair", b->s);
    PUT(p, ",\"bp\":");
    p = put_px(b, p, b->s->px - b->s->tick * (int64_t)(rnd(b) % 3));
    PUT(p, ",\"bs\":");
    p = put_fixed(p, crypto_size(b), 9);
    PUT(p, ",\"ap\":");
    p = put_px(b, p, b->s->px + b->s->tick * (int64_t)(1 + rnd(b) % 3));
    PUT(p, ",\"as\":");
    p = put_fixed(p, crypto_size(b), 9);
    p = put_t(b, p);
    return put_xr(b, p);
}

static char *book_side(bctx_t *b, char *p, int dir)
{
    int n = 1 + (int)(rnd(b) % 4);
    int64_t px = b->s->px;
    *p++ = '[';
    for (int i = 0; i < n; i++) {
        px += dir * b->s->tick * (int64_t)(1 + rnd(b) % 2);
        if (i) *p++ = ',';
        *p++ = '[';
        p = put_px(b, p, px);
        *p++ = ',';
        p = put_fixed(p, crypto_size(b), 9);
        *p++ = ']';
    }
    *p++ = ']';
    return p;
}

static char *crypto_book(bctx_t *b, char *p)
{
    p = head(p, "XL2", "pair", b->s);
    p = put_t(b, p);
    PUT(p, ",\"r\":");
    p = put_u64(p, (uint64_t)ms(b) + 5 + rnd(b) % 150);
    PUT(p, ",\"x\":");
    p = put_u64(p, 1 + rnd(b) % 4);
    PUT(p, ",\"b\":");
    p = book_side(b, p, -1);
    PUT(p, ",\"a\":");
    p = book_side(b, p, 1);
    *p++ = '}';
    return p;
}

static char *crypto_agg(bctx_t *b, char *p)
{
    agg_t a;
    agg(b, &a);
    p = head(p, b->ev->kind == TD_KIND_SECOND_BAR ? "XAS" : "XA", "pair", b->s);
    PUT(p, ",\"v\":");
    p = put_fixed(p, (int64_t)a.v * 1000000, 9);
    PUT(p, ",\"vw\":");
    p = put_px(b, p, a.vw);
    PUT(p, ",\"z\":");
    p = put_u64(p, a.n);
    p = put_ochl(b, p, &a);
    return put_se(p, &a);
}

char *td__sim_gen_polygon_build(bctx_t *b, char *p)
{
    td_kind_t k = b->ev->kind;
    switch (b->g->cls) {
    case TD_CLASS_FOREX:
        return k == TD_KIND_QUOTE ? forex_quote(b, p) : forex_agg(b, p);
    case TD_CLASS_CRYPTO:
        return k == TD_KIND_QUOTE       ? crypto_quote(b, p)
               : k == TD_KIND_TRADE     ? crypto_trade(b, p)
               : k == TD_KIND_ORDERBOOK ? crypto_book(b, p)
                                        : crypto_agg(b, p);
    default: /* stocks, options */
        return k == TD_KIND_QUOTE       ? quote(b, p)
               : k == TD_KIND_TRADE     ? trade(b, p)
               : k == TD_KIND_LULD      ? luld(b, p)
               : k == TD_KIND_IMBALANCE ? noi(b, p)
                                        : stock_agg(b, p);
    }
}
