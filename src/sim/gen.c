/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic market generator: per-symbol random walks from a seed, and
 * the JSON of each event built by hand (no printf on the hot path). */
#include "core/clock.h"
#include "core/mem.h"
#include "sim/gen_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const stock_names[] = {
    "AAPL", "MSFT",  "AMZN", "NVDA", "GOOGL", "META", "TSLA", "BRK.B", "JPM",  "V",     "UNH",
    "XOM",  "JNJ",   "WMT",  "MA",   "PG",    "AVGO", "HD",   "CVX",   "MRK",  "ABBV",  "LLY",
    "PEP",  "KO",    "COST", "ADBE", "CSCO",  "TMO",  "MCD",  "ACN",   "CRM",  "BAC",   "ABT",
    "NFLX", "AMD",   "LIN",  "DHR",  "WFC",   "DIS",  "TXN",  "PM",    "VZ",   "CMCSA", "NEE",
    "ORCL", "INTC",  "NKE",  "UPS",  "RTX",   "BMY",  "QCOM", "HON",   "T",    "LOW",   "SPGI",
    "UNP",  "IBM",   "AMGN", "SBUX", "INTU",  "CAT",  "GS",   "BA",    "PLD",  "MS",    "AMAT",
    "GE",   "DE",    "BLK",  "ELV",  "ISRG",  "MDLZ", "GILD", "ADP",   "NOW",  "CVS",   "TJX",
    "LMT",  "SYK",   "BKNG", "ADI",  "MMC",   "VRTX", "AMT",  "C",     "REGN", "PYPL",  "SCHW",
    "CI",   "ZTS",   "MO",   "TMUS", "CB",    "SO",   "DUK",  "PGR",   "SPY",  "QQQ",   "IWM",
    "DIA",  "VOO",   "F",    "GM",   "UBER",  "SNAP", "PLTR", "COIN",  "SOFI", "RIVN",  "HOOD",
    "GOOG", "BRK.A", "GME",  "AMC",
};

static const struct {
    const char *name;
    double px;
} crypto_names[] = {
    {"BTC/USD", 64000},      {"ETH/USD", 3100},     {"SOL/USD", 145},       {"DOGE/USD", 0.12},
    {"LTC/USD", 72},         {"AVAX/USD", 28},      {"LINK/USD", 14},       {"UNI/USD", 7.5},
    {"AAVE/USD", 95},        {"BCH/USD", 380},      {"DOT/USD", 6.2},       {"XRP/USD", 0.52},
    {"SHIB/USD", 0.0000175}, {"USDT/USD", 1},       {"USDC/USD", 1},        {"SUSHI/USD", 0.8},
    {"YFI/USD", 6100},       {"MKR/USD", 2300},     {"BAT/USD", 0.2},       {"CRV/USD", 0.3},
    {"GRT/USD", 0.18},       {"XTZ/USD", 0.75},     {"PEPE/USD", 0.000011}, {"BTC/USDT", 64010},
    {"ETH/USDT", 3101},      {"ETH/BTC", 0.048},    {"LTC/BTC", 0.0011},    {"BCH/BTC", 0.0059},
    {"UNI/BTC", 0.00012},    {"LINK/BTC", 0.00022},
};

/* ---- formatting ---------------------------------------------------------- */

/* "…Z" of ns, Go RFC3339Nano style, with a cached seconds prefix. */
static char *put_ts(td_sim_gen_t *g, char *p, int64_t ns)
{
    int64_t sec = ns / 1000000000, frac = ns % 1000000000;
    if (sec != g->ts_sec) {
        char tmp[TD_RFC3339_MAX];
        td_rfc3339_format(tmp, sec * 1000000000);
        memcpy(g->ts_prefix, tmp, 19);
        g->ts_sec = sec;
    }
    *p++ = '"';
    memcpy(p, g->ts_prefix, 19);
    p += 19;
    if (frac) {
        char d[9];
        for (int i = 8; i >= 0; i--) {
            d[i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        int n = 9;
        while (d[n - 1] == '0')
            n--;
        *p++ = '.';
        memcpy(p, d, (size_t)n);
        p += n;
    }
    *p++ = 'Z';
    *p++ = '"';
    return p;
}

static char *put_c(char *p, char c)
{
    *p++ = '"';
    *p++ = c;
    *p++ = '"';
    return p;
}

/* ---- symbols ------------------------------------------------------------- */

static void synth_name(char *out, size_t i, const char *suffix)
{
    /* XAAA, XAAB, ...: beyond the built-in lists */
    char n[5] = {'X', (char)('A' + i / 676 % 26), (char)('A' + i / 26 % 26), (char)('A' + i % 26),
                 0};
    snprintf(out, SYM_MAX, "%s%s", n, suffix);
}

static int64_t to_units(double px, int dec)
{
    double m = 1;
    for (int i = 0; i < dec; i++)
        m *= 10;
    int64_t v = (int64_t)(px * m + 0.5);
    return v > 0 ? v : 1;
}

static void init_sym(td_sim_gen_t *g, sym_t *s, const char *name, double px)
{
    size_t l = strlen(name);
    if (l >= SYM_MAX) l = SYM_MAX - 1;
    memcpy(s->name, name, l);
    s->name[l] = '\0';
    s->len = (uint8_t)l;
    s->tape = "ABC"[td_rng_below(&g->rng, 3)];
    s->px = to_units(px, g->dec);
    if (g->dec == 9) { /* crypto, forex: about six significant digits */
        int64_t t = 1;
        while (s->px / t >= 1000000)
            t *= 10;
        s->tick = t;
        s->px -= s->px % t;
        if (s->px <= 0) s->px = t;
    } else {
        s->tick = 100; /* one cent */
        s->px -= s->px % 100;
    }
    s->open = s->hi = s->lo = s->px;
}

/* What the seed was always salted with: the generators' old numbering
 * (Alpaca stocks, crypto, news, then the Polygon clusters), so a --seed
 * gives the same market as before. */
static uint64_t seed_salt(const td_vstream_t *vs)
{
    if (vs->vendor == TD_VENDOR_POLYGON) return 3 + (uint64_t)vs->cls;
    return vs->cls == TD_CLASS_STOCKS ? 0 : vs->cls == TD_CLASS_CRYPTO ? 1 : 2;
}

td_sim_gen_t *td__sim_gen_new(const td_vstream_t *vs, uint64_t seed, size_t nsyms)
{
    td_sim_gen_t *g = td_xcalloc(1, sizeof *g);
    td_class_t cls = vs->cls;
    int fakepaca = vs->test;
    g->cls = cls;
    g->poly = vs->vendor == TD_VENDOR_POLYGON;
    g->dec = cls == TD_CLASS_CRYPTO || cls == TD_CLASS_FOREX ? 9 : 4;
    g->ts_sec = -1;
    td_rng_seed(&g->rng, seed * 0x9e3779b97f4a7c15ULL + seed_salt(vs) * 7 + (uint64_t)fakepaca);
    g->n = nsyms + (fakepaca ? 1 : 0);
    g->syms = td_xcalloc(g->n, sizeof *g->syms);
    size_t at = 0;
    if (fakepaca) init_sym(g, &g->syms[at++], "FAKEPACA", 100);
    for (size_t i = 0; i < nsyms; i++, at++) {
        char name[SYM_MAX];
        double px;
        if (g->poly && cls != TD_CLASS_STOCKS) {
            td__sim_gen_polygon_name(g, i, name, &px);
        } else if (cls == TD_CLASS_CRYPTO && i < TD_ARRAY_LEN(crypto_names)) {
            snprintf(name, sizeof name, "%s", crypto_names[i].name);
            px = crypto_names[i].px;
        } else if (cls != TD_CLASS_CRYPTO && i < TD_ARRAY_LEN(stock_names)) {
            snprintf(name, sizeof name, "%s", stock_names[i]);
            px = 10 + td_rng_unit(&g->rng) * 490;
        } else {
            synth_name(name, i, cls == TD_CLASS_CRYPTO ? "/USD" : "");
            px = cls == TD_CLASS_CRYPTO ? 0.5 + td_rng_unit(&g->rng) * 50
                                        : 5 + td_rng_unit(&g->rng) * 200;
        }
        init_sym(g, &g->syms[at], name, px);
    }
    return g;
}

void td__sim_gen_free(td_sim_gen_t *g)
{
    if (!g) return;
    free(g->syms);
    free(g);
}

size_t td__sim_gen_nsyms(const td_sim_gen_t *g)
{
    return g->n;
}

const char *td__sim_gen_symbol(const td_sim_gen_t *g, size_t i, size_t *len)
{
    *len = g->syms[i].len;
    return g->syms[i].name;
}

int64_t td__sim_gen_price(const td_sim_gen_t *g, size_t i)
{
    return g->syms[i].px;
}

/* ---- the walk ------------------------------------------------------------ */

static td_kind_t pick_stock(uint64_t x)
{
    static const struct {
        int upto;
        td_kind_t k;
    } mix[] = {
        {700, TD_KIND_QUOTE},         {950, TD_KIND_TRADE},       {965, TD_KIND_BAR},
        {970, TD_KIND_DAILY_BAR},     {975, TD_KIND_UPDATED_BAR}, {980, TD_KIND_STATUS},
        {985, TD_KIND_LULD},          {990, TD_KIND_IMBALANCE},   {995, TD_KIND_CORRECTION},
        {1000, TD_KIND_CANCEL_ERROR},
    };
    int v = (int)(x % 1000);
    for (size_t i = 0; i < TD_ARRAY_LEN(mix); i++)
        if (v < mix[i].upto) return mix[i].k;
    return TD_KIND_QUOTE;
}

static td_kind_t pick_crypto(uint64_t x)
{
    int v = (int)(x % 100);
    if (v < 60) return TD_KIND_QUOTE;
    if (v < 85) return TD_KIND_TRADE;
    if (v < 95) return TD_KIND_ORDERBOOK;
    if (v < 98) return TD_KIND_BAR;
    if (v < 99) return TD_KIND_DAILY_BAR;
    return TD_KIND_UPDATED_BAR;
}

void td__sim_gen_next(td_sim_gen_t *g, td_sim_ev_t *ev)
{
    uint64_t a = td_rng_next(&g->rng);
    ev->seq = ++g->seq;
    ev->r = td_rng_next(&g->rng);
    ev->sym = (uint32_t)((a >> 32) % g->n);
    ev->nsyms = 0;
    if (g->cls == TD_CLASS_NEWS) {
        ev->kind = TD_KIND_NEWS;
        ev->nsyms = 1 + (uint32_t)(ev->r % TD_SIM_NEWS_SYMS_MAX);
        if (ev->nsyms > g->n) ev->nsyms = (uint32_t)g->n;
        for (uint32_t i = 0; i < ev->nsyms; i++)
            ev->syms[i] = (uint32_t)((ev->sym + i * 7) % g->n);
        return;
    }
    if (g->poly)
        ev->kind = td__sim_gen_polygon_pick(g->cls, a & 0xffffffff);
    else
        ev->kind =
            g->cls == TD_CLASS_CRYPTO ? pick_crypto(a & 0xffffffff) : pick_stock(a & 0xffffffff);
    sym_t *s = &g->syms[ev->sym];
    int step = (int)((a >> 20) % 5) - 2;
    s->px += step * s->tick;
    if (s->px < 10 * s->tick) s->px = 10 * s->tick;
    if (s->px > s->hi) s->hi = s->px;
    if (s->px < s->lo) s->lo = s->px;
    if (ev->kind == TD_KIND_TRADE) {
        s->vol += 1 + (ev->r & 0x3ff);
        s->ntrades++;
    } else if (ev->kind == TD_KIND_STATUS) {
        s->halted = !s->halted;
    }
}

/* ---- the JSON -------------------------------------------------------------- */

static char exch(bctx_t *b)
{
    static const char ex[] = "ABCDHIJKLMNPQSTUVWXYZ";
    return ex[rnd(b) % (sizeof ex - 1)];
}

static char *put_conds(bctx_t *b, char *p)
{
    switch (rnd(b) % 4) {
    case 0:
        PUT(p, "[\"@\"]");
        break;
    case 1:
        PUT(p, "[\"@\",\"I\"]");
        break;
    case 2:
        PUT(p, "[\"@\",\"F\",\"T\",\"I\"]");
        break;
    default:
        PUT(p, "[\"@\",\"T\"]");
        break;
    }
    return p;
}

static char *put_head(char *p, char t, const sym_t *s)
{
    PUT(p, "{\"T\":\"");
    *p++ = t;
    PUT(p, "\",\"S\":");
    return put_sym(p, s);
}

static char *put_px(bctx_t *b, char *p, int64_t v)
{
    return put_fixed(p, v > 0 ? v : b->s->tick, b->g->dec);
}

static char *put_tail_zt(bctx_t *b, char *p)
{
    PUT(p, ",\"z\":");
    p = put_c(p, b->s->tape);
    PUT(p, ",\"t\":");
    p = put_ts(b->g, p, b->now);
    *p++ = '}';
    return p;
}

static char *stock_trade(bctx_t *b, char *p)
{
    p = put_head(p, 't', b->s);
    PUT(p, ",\"i\":");
    p = put_u64(p, b->ev->seq);
    PUT(p, ",\"x\":");
    p = put_c(p, exch(b));
    PUT(p, ",\"p\":");
    p = put_px(b, p, b->s->px);
    PUT(p, ",\"s\":");
    p = put_u64(p, 1 + (b->ev->r & 0x3ff));
    PUT(p, ",\"c\":");
    p = put_conds(b, p);
    PUT(p, ",\"z\":");
    p = put_c(p, b->s->tape);
    PUT(p, ",\"t\":");
    p = put_ts(b->g, p, b->now);
    *p++ = '}';
    return p;
}

static char *stock_quote(bctx_t *b, char *p)
{
    uint64_t r = rnd(b);
    p = put_head(p, 'q', b->s);
    PUT(p, ",\"bx\":");
    p = put_c(p, exch(b));
    PUT(p, ",\"bp\":");
    p = put_px(b, p, b->s->px - b->s->tick * (int64_t)(r % 3));
    PUT(p, ",\"bs\":");
    p = put_u64(p, 1 + (r >> 8) % 20);
    PUT(p, ",\"ax\":");
    p = put_c(p, exch(b));
    PUT(p, ",\"ap\":");
    p = put_px(b, p, b->s->px + b->s->tick * (int64_t)(1 + (r >> 16) % 3));
    PUT(p, ",\"as\":");
    p = put_u64(p, 1 + (r >> 24) % 20);
    PUT(p, ",\"c\":[\"R\"]");
    return put_tail_zt(b, p);
}

static int64_t bar_start(const bctx_t *b)
{
    int64_t ns = b->now, min = 60 * (int64_t)1000000000, day = 86400 * (int64_t)1000000000;
    switch (b->ev->kind) {
    case TD_KIND_DAILY_BAR: {
        int64_t t = ns - ns % day + 4 * 3600 * (int64_t)1000000000; /* 00:00 New York (EDT) */
        return t > ns ? t - day : t;
    }
    case TD_KIND_UPDATED_BAR:
        return ns - ns % min - min;
    default:
        return ns - ns % min;
    }
}

static char *bar(bctx_t *b, char *p)
{
    static const char letter[TD_KIND__COUNT] = {
        [TD_KIND_BAR] = 'b', [TD_KIND_DAILY_BAR] = 'd', [TD_KIND_UPDATED_BAR] = 'u'};
    uint64_t r = rnd(b);
    int64_t t = b->s->tick, c = b->s->px, o = c + t * ((int64_t)(r % 7) - 3);
    if (o <= 0) o = t;
    int64_t h = (o > c ? o : c) + t * (int64_t)((r >> 8) % 3);
    int64_t l = (o < c ? o : c) - t * (int64_t)((r >> 12) % 3);
    if (l <= 0) l = t;
    p = put_head(p, letter[b->ev->kind], b->s);
    PUT(p, ",\"o\":");
    p = put_px(b, p, o);
    PUT(p, ",\"h\":");
    p = put_px(b, p, h);
    PUT(p, ",\"l\":");
    p = put_px(b, p, l);
    PUT(p, ",\"c\":");
    p = put_px(b, p, c);
    PUT(p, ",\"v\":");
    uint64_t v = 100 + (r >> 16) % 100000;
    p = b->g->cls == TD_CLASS_CRYPTO ? put_fixed(p, (int64_t)v * 1000000, 9) : put_u64(p, v);
    PUT(p, ",\"t\":");
    p = put_ts(b->g, p, bar_start(b));
    PUT(p, ",\"n\":");
    p = put_u64(p, 1 + (r >> 40) % 2000);
    PUT(p, ",\"vw\":");
    p = put_px(b, p, (o + h + l + c) / 4);
    *p++ = '}';
    return p;
}

static char *stock_status(bctx_t *b, char *p)
{
    p = put_head(p, 's', b->s);
    if (b->s->halted)
        PUT(p, ",\"sc\":\"H\",\"sm\":\"Trading Halt\",\"rc\":\"T12\",\"rm\":\"Trading Halted; For "
               "information requested by NASDAQ\"");
    else
        PUT(p, ",\"sc\":\"T\",\"sm\":\"Trading Resumption\",\"rc\":\"T3\",\"rm\":\"News and "
               "Resumption Times\"");
    PUT(p, ",\"t\":");
    p = put_ts(b->g, p, b->now);
    PUT(p, ",\"z\":");
    p = put_c(p, b->s->tape);
    *p++ = '}';
    return p;
}

static char *stock_luld(bctx_t *b, char *p)
{
    int64_t band = b->s->px / 20 - b->s->px / 20 % b->s->tick;
    p = put_head(p, 'l', b->s);
    PUT(p, ",\"u\":");
    p = put_px(b, p, b->s->px + band);
    PUT(p, ",\"d\":");
    p = put_px(b, p, b->s->px - band);
    PUT(p, ",\"i\":");
    p = put_c(p, "BACN"[rnd(b) % 4]);
    return put_tail_zt(b, p);
}

static char *stock_imbalance(bctx_t *b, char *p)
{
    p = put_head(p, 'i', b->s);
    PUT(p, ",\"p\":");
    p = put_px(b, p, b->s->px);
    return put_tail_zt(b, p);
}

static char *stock_correction(bctx_t *b, char *p)
{
    uint64_t r = rnd(b), id = b->ev->seq > 100 ? b->ev->seq - 1 - r % 100 : b->ev->seq;
    uint64_t sz = 1 + (r >> 8) % 500;
    p = put_head(p, 'c', b->s);
    PUT(p, ",\"x\":");
    p = put_c(p, exch(b));
    PUT(p, ",\"oi\":");
    p = put_u64(p, id);
    PUT(p, ",\"op\":");
    p = put_px(b, p, b->s->px + b->s->tick);
    PUT(p, ",\"os\":");
    p = put_u64(p, sz);
    PUT(p, ",\"oc\":");
    p = put_conds(b, p);
    PUT(p, ",\"ci\":");
    p = put_u64(p, b->ev->seq);
    PUT(p, ",\"cp\":");
    p = put_px(b, p, b->s->px);
    PUT(p, ",\"cs\":");
    p = put_u64(p, sz);
    PUT(p, ",\"cc\":");
    p = put_conds(b, p);
    return put_tail_zt(b, p);
}

static char *stock_cancel(bctx_t *b, char *p)
{
    uint64_t r = rnd(b), id = b->ev->seq > 100 ? b->ev->seq - 1 - r % 100 : b->ev->seq;
    p = put_head(p, 'x', b->s);
    PUT(p, ",\"i\":");
    p = put_u64(p, id);
    PUT(p, ",\"x\":");
    p = put_c(p, exch(b));
    PUT(p, ",\"p\":");
    p = put_px(b, p, b->s->px);
    PUT(p, ",\"s\":");
    p = put_u64(p, 1 + (r >> 8) % 500);
    PUT(p, ",\"a\":");
    p = put_c(p, (r >> 20) % 4 ? 'C' : 'E');
    return put_tail_zt(b, p);
}

static int64_t crypto_size(bctx_t *b)
{
    return (int64_t)(1 + rnd(b) % 2000000) * 1000; /* 0.000001 .. 2, six decimals */
}

static char *crypto_trade(bctx_t *b, char *p)
{
    p = put_head(p, 't', b->s);
    PUT(p, ",\"p\":");
    p = put_px(b, p, b->s->px);
    PUT(p, ",\"s\":");
    p = put_fixed(p, crypto_size(b), 9);
    PUT(p, ",\"t\":");
    p = put_ts(b->g, p, b->now);
    PUT(p, ",\"i\":");
    p = put_u64(p, 4000000000000000000ULL + b->ev->seq);
    PUT(p, ",\"tks\":");
    p = put_c(p, b->ev->r & 1 ? 'B' : 'S');
    *p++ = '}';
    return p;
}

static char *crypto_quote(bctx_t *b, char *p)
{
    p = put_head(p, 'q', b->s);
    PUT(p, ",\"bp\":");
    p = put_px(b, p, b->s->px - b->s->tick * (int64_t)(rnd(b) % 3));
    PUT(p, ",\"bs\":");
    p = put_fixed(p, crypto_size(b), 9);
    PUT(p, ",\"ap\":");
    p = put_px(b, p, b->s->px + b->s->tick * (int64_t)(1 + rnd(b) % 3));
    PUT(p, ",\"as\":");
    p = put_fixed(p, crypto_size(b), 9);
    PUT(p, ",\"t\":");
    p = put_ts(b->g, p, b->now);
    *p++ = '}';
    return p;
}

static char *book_side(bctx_t *b, char *p, int dir)
{
    int n = 1 + (int)(rnd(b) % 3);
    *p++ = '[';
    for (int i = 0; i < n; i++) {
        if (i) *p++ = ',';
        PUT(p, "{\"p\":");
        p = put_px(b, p, b->s->px + dir * b->s->tick * (int64_t)(i + 1 + rnd(b) % 2));
        PUT(p, ",\"s\":");
        p = put_fixed(p, rnd(b) % 5 ? crypto_size(b) : 0, 9); /* s=0 deletes the level */
        *p++ = '}';
    }
    *p++ = ']';
    return p;
}

static char *crypto_book(bctx_t *b, char *p)
{
    p = put_head(p, 'o', b->s);
    PUT(p, ",\"t\":");
    p = put_ts(b->g, p, b->now);
    PUT(p, ",\"b\":");
    p = book_side(b, p, -1);
    PUT(p, ",\"a\":");
    p = book_side(b, p, 1);
    PUT(p, ",\"r\":false}");
    return p;
}

static const char *const headlines[][2] = {
    {"", " shares rise after earnings beat — analysts see “durable” growth"},
    {"", ": café-chain partnership lifts outlook; stock up 4% in pre-market"},
    {"Why ", " is trading higher today ⚡"},
    {"", " to acquire rival for €2.1B in all-cash deal"},
    {"", " downgraded to Neutral at Zürich-based broker; price target cut"},
};

static size_t news(bctx_t *b, td_buf_t *out)
{
    const td_sim_ev_t *ev = b->ev;
    const sym_t *s0 = &b->g->syms[ev->syms[0]];
    char text[512], ts[TD_RFC3339_MAX];
    td_rfc3339_format(ts, b->now);
    uint64_t id = 24000000 + ev->seq;
    td_buf_appends(out, "{\"T\":\"n\",\"id\":");
    td_buf_appendf(out, "%llu", (unsigned long long)id);
    const char *const *hl = headlines[ev->r % TD_ARRAY_LEN(headlines)];
    snprintf(text, sizeof text, "%s%s%s", hl[0], s0->name, hl[1]);
    td_buf_appends(out, ",\"headline\":");
    td_buf_append_json_str(out, text, strlen(text));
    snprintf(text, sizeof text, "%s said on %.10s that quarterly revenue rose %u%% year over year.",
             s0->name, ts, (unsigned)(ev->r >> 8) % 40);
    td_buf_appends(out, ",\"summary\":");
    td_buf_append_json_str(out, text, strlen(text));
    td_buf_appendf(out,
                   ",\"author\":\"Benzinga Newsdesk\",\"created_at\":\"%s\","
                   "\"updated_at\":\"%s\",\"url\":\"https://www.benzinga.com/news/%llu\"",
                   ts, ts, (unsigned long long)id);
    snprintf(text, sizeof text,
             "<p>Shares of <strong>%s</strong> traded higher on <em>%.10s</em> after the "
             "company said revenue rose &amp; margins widened.</p><p><a href=\"https://www."
             "benzinga.com/quote/%s\">Quote</a> — “We’re pleased”, the CEO said.</p>",
             s0->name, ts, s0->name);
    td_buf_appends(out, ",\"content\":");
    td_buf_append_json_str(out, text, strlen(text));
    td_buf_appends(out, ",\"symbols\":[");
    for (uint32_t i = 0; i < ev->nsyms; i++) {
        const sym_t *s = &b->g->syms[ev->syms[i]];
        if (i) td_buf_appendc(out, ',');
        td_buf_append_json_str(out, s->name, s->len);
    }
    td_buf_appends(out, "],\"source\":\"benzinga\"}");
    return out->len;
}

size_t td__sim_gen_build(td_sim_gen_t *g, const td_sim_ev_t *ev, td_buf_t *out)
{
    bctx_t b = {g, ev, &g->syms[ev->sym], ev->r ^ 0x5851f42d4c957f2dULL, td_now_ns()};
    td_buf_reset(out);
    if (ev->kind == TD_KIND_NEWS) return news(&b, out);
    td_buf_reserve(out, 1024);
    char *p = out->data, *e;
    if (g->poly) {
        e = td__sim_gen_polygon_build(&b, p);
        out->len = (size_t)(e - p);
        out->data[out->len] = '\0';
        return out->len;
    }
    switch (ev->kind) {
    case TD_KIND_TRADE:
        e = g->cls == TD_CLASS_CRYPTO ? crypto_trade(&b, p) : stock_trade(&b, p);
        break;
    case TD_KIND_QUOTE:
        e = g->cls == TD_CLASS_CRYPTO ? crypto_quote(&b, p) : stock_quote(&b, p);
        break;
    case TD_KIND_STATUS:
        e = stock_status(&b, p);
        break;
    case TD_KIND_LULD:
        e = stock_luld(&b, p);
        break;
    case TD_KIND_IMBALANCE:
        e = stock_imbalance(&b, p);
        break;
    case TD_KIND_CORRECTION:
        e = stock_correction(&b, p);
        break;
    case TD_KIND_CANCEL_ERROR:
        e = stock_cancel(&b, p);
        break;
    case TD_KIND_ORDERBOOK:
        e = crypto_book(&b, p);
        break;
    default:
        e = bar(&b, p);
        break;
    }
    out->len = (size_t)(e - p);
    out->data[out->len] = '\0';
    return out->len;
}
