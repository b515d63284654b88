/* SPDX-License-Identifier: Apache-2.0 */
/* Historical bar bodies (bars.h, PROTOCOLS.md §2 and §4).
 *
 * The whole body is first validated as strict JSON (json_scan.h) and must be
 * one object; its known top-level members are recorded by decoded name
 * (first one counts). Their values, already validated, are then walked to
 * fill the page. Every copy is bounded; the only allocation is the bar array. */
#include "proto/bars.h"
#include "core/clock.h"
#include "proto/json_scan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NUM_MAX_LEN 64   /* a number literal longer than this is MALFORMED */
#define TS_MAX_LEN  64   /* decoded RFC 3339 text */
#define MSG_RAW_MAX 1024 /* messages longer than this (raw) are copied undecoded */

typedef td_json_span_t span_t;

/* ---- page ---------------------------------------------------------------------- */

void td_bars_page_reset(td_bars_page_t *page)
{
    page->n = 0;
    page->status = TD_BARS_OK;
    page->code = 0;
    page->next[0] = '\0';
    page->message[0] = '\0';
}

void td_bars_page_free(td_bars_page_t *page)
{
    if (!page) return;
    free(page->bars);
    page->bars = NULL;
    page->cap = 0;
    td_bars_page_reset(page);
}

/* A new zeroed bar at the end of the page, or NULL (limit or no memory). */
static td_bar_t *push_bar(td_bars_page_t *pg)
{
    if (pg->n >= TD_BARS_MAX_BARS) return NULL;
    if (pg->n == pg->cap) {
        size_t cap = pg->cap ? pg->cap * 2 : 64;
        if (cap > TD_BARS_MAX_BARS) cap = TD_BARS_MAX_BARS;
        td_bar_t *b = realloc(pg->bars, cap * sizeof *b);
        if (!b) return NULL;
        pg->bars = b;
        pg->cap = cap;
    }
    td_bar_t *b = &pg->bars[pg->n++];
    memset(b, 0, sizeof *b);
    return b;
}

static int fail(td_bars_page_t *pg, const char *why)
{
    pg->n = 0;
    pg->status = TD_BARS_MALFORMED;
    pg->code = 0;
    pg->next[0] = '\0';
    snprintf(pg->message, sizeof pg->message, "%s", why);
    return -1;
}

/* ---- values -------------------------------------------------------------------- */

/* A JSON number at p (validated body) as a finite double. Returns the byte
 * after it, or NULL. */
static const char *num_double(const char *p, const char *end, double *out)
{
    char tmp[NUM_MAX_LEN + 1];
    const char *e = td_json_scan_num(p, end);
    if (!e || e - p > NUM_MAX_LEN) return NULL;
    memcpy(tmp, p, (size_t)(e - p));
    tmp[e - p] = '\0';
    *out = strtod(tmp, NULL);
    return isfinite(*out) ? e : NULL;
}

/* A JSON integer (no fraction or exponent) at p within [lo, hi]. */
static const char *num_int(const char *p, const char *end, int64_t lo, int64_t hi, int64_t *out)
{
    const char *e = td_json_scan_num(p, end), *q = p;
    int neg = *q == '-';
    int64_t v = 0;
    if (!e) return NULL;
    for (q += neg; q < e; q++) {
        if (!TD_JSON_IS_DIGIT(*q)) return NULL;
        int d = *q - '0';
        if (v > (INT64_MAX - d) / 10) return NULL;
        v = v * 10 + d;
    }
    if (neg) v = -v;
    if (v < lo || v > hi) return NULL;
    *out = v;
    return e;
}

/* A string at p decoded into out (cap bytes, NUL added): returns the byte
 * after it, or NULL if it is no string, too long, or holds a control byte. */
static const char *str_copy(const char *p, const char *end, char *out, size_t cap)
{
    int esc = 0;
    if (p >= end || *p != '"') return NULL;
    const char *s = p + 1, *e = td_json_scan_str(s, end, &esc);
    if (!e) return NULL;
    int n = td_json_unescape(s, (size_t)(e - s), out, cap - 1);
    if (n < 0) return NULL;
    for (int i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20) return NULL;
    out[n] = '\0';
    return e + 1;
}

static int is_null(const span_t *v)
{
    return v->p && *v->p == 'n';
}

/* ---- bars ---------------------------------------------------------------------- */

enum { F_T, F_O, F_H, F_L, F_C, F_V, F_VW, F_N, F__COUNT };
#define F_REQUIRED                                                                                 \
    ((1u << F_T) | (1u << F_O) | (1u << F_H) | (1u << F_L) | (1u << F_C) | (1u << F_V))

static const char *const bar_names[F__COUNT] = {"t", "o", "h", "l", "c", "v", "vw", "n"};

#define MS_MAX (INT64_MAX / 1000000)

/* The value of field f at p; returns the byte after it or NULL. */
static const char *bar_value(td_bar_t *b, int f, const char *p, const char *end, int polygon)
{
    double *const num[F__COUNT] = {NULL,      &b->open,   &b->high, &b->low,
                                   &b->close, &b->volume, &b->vwap};
    if (f == F_T && polygon) {
        int64_t ms;
        if (!(p = num_int(p, end, -MS_MAX, MS_MAX, &ms))) return NULL;
        b->ts_ns = ms * 1000000;
        return p;
    }
    if (f == F_T) {
        char ts[TS_MAX_LEN];
        const char *e = str_copy(p, end, ts, sizeof ts);
        return e && td_rfc3339_parse(ts, strlen(ts), &b->ts_ns) == 0 ? e : NULL;
    }
    if ((f == F_VW || f == F_N) && *p == 'n') return td_json_scan_lit(p, end);
    if (f == F_N) return num_int(p, end, 0, INT64_MAX, &b->trade_count);
    if (*p != '-' && !TD_JSON_IS_DIGIT(*p)) return NULL;
    p = num_double(p, end, num[f]);
    return p && (f != F_V || b->volume >= 0) ? p : NULL;
}

/* The bar object at p ('{', validated); returns the byte after it or NULL. */
static const char *parse_bar(td_bar_t *b, const char *p, const char *end, int polygon)
{
    unsigned seen = 0;
    int too_deep = 0;
    b->vwap = NAN;
    b->trade_count = -1;
    if (p >= end || *p != '{') return NULL;
    p = td_json_skip_ws(p + 1, end);
    if (p < end && *p == '}') return NULL;
    for (;;) {
        int esc = 0;
        const char *k = p + 1, *ke = td_json_scan_str(k, end, &esc);
        if (!ke || !(p = td_json_scan_name(p, end))) return NULL;
        int f = td_json_name_index(k, (size_t)(ke - k), esc, bar_names, F__COUNT);
        if (f >= 0 && !(seen & (1u << f))) {
            seen |= 1u << f;
            p = bar_value(b, f, p, end, polygon);
        } else {
            p = td_json_scan_value(p, end, 3, &too_deep);
        }
        if (!p || (p = td_json_skip_ws(p, end)) >= end) return NULL;
        if (*p == '}') break;
        if (*p != ',') return NULL;
        p = td_json_skip_ws(p + 1, end);
    }
    return (seen & F_REQUIRED) == F_REQUIRED ? p + 1 : NULL;
}

/* The bars of one symbol: an array or null at p (validated). Returns 0 or
 * -1 with the page failed. */
static int parse_bar_array(td_bars_page_t *pg, const char *p, const char *end, const char *sym,
                           int polygon)
{
    if (*p == 'n') return 0;
    if (*p != '[') return fail(pg, "bars are not an array");
    p = td_json_skip_ws(p + 1, end);
    if (p < end && *p == ']') return 0;
    for (;;) {
        td_bar_t *b = push_bar(pg);
        if (!b) return fail(pg, pg->n >= TD_BARS_MAX_BARS ? "too many bars" : "out of memory");
        if (!sym[0]) return fail(pg, "bars without a symbol");
        memcpy(b->symbol, sym, strlen(sym) + 1);
        if (!(p = parse_bar(b, p, end, polygon))) return fail(pg, "invalid bar");
        p = td_json_skip_ws(p, end);
        if (p >= end) return fail(pg, "invalid bars");
        if (*p == ']') return 0;
        if (*p != ',') return fail(pg, "invalid bars");
        p = td_json_skip_ws(p + 1, end);
    }
}

/* A usable symbol from a string value at p into out[TD_BARS_MAX_SYM + 1]. */
static int symbol_value(const char *p, const char *end, char *out)
{
    char scratch[TD_JSON_MAX_SYM];
    const char *sym;
    int esc = 0;
    if (p >= end || *p != '"') return -1;
    const char *s = p + 1, *e = td_json_scan_str(s, end, &esc);
    if (!e) return -1;
    size_t n = td_json_symbol(s, (size_t)(e - s), esc, scratch, &sym);
    if (n == 0) return -1;
    memcpy(out, sym, n);
    out[n] = '\0';
    return 0;
}

/* The symbol of a single-symbol page: the body's (span sv) or the caller's.
 * Returns 0, 1 if there is none (out ""), -1 if one is unusable or they differ. */
static int page_symbol(const span_t *sv, const char *arg, char *out)
{
    char body_sym[TD_BARS_MAX_SYM + 1];
    if (arg) {
        size_t n = strnlen(arg, TD_BARS_MAX_SYM + 1);
        if (n == 0 || n > TD_BARS_MAX_SYM) return -1;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)arg[i] < 0x20) return -1;
    }
    if (sv->p && !is_null(sv)) {
        if (symbol_value(sv->p, sv->e, body_sym) != 0) return -1;
        if (arg && strcmp(arg, body_sym) != 0) return -1;
        memcpy(out, body_sym, strlen(body_sym) + 1);
        return 0;
    }
    if (!arg) {
        out[0] = '\0';
        return 1;
    }
    memcpy(out, arg, strlen(arg) + 1);
    return 0;
}

/* The next-page token or URL (string or null) into pg->next. */
static int next_value(td_bars_page_t *pg, const span_t *v)
{
    if (!v->p || is_null(v)) return 0;
    if (!str_copy(v->p, v->e, pg->next, sizeof pg->next)) {
        pg->next[0] = '\0';
        return -1;
    }
    return 0;
}

/* ---- messages ------------------------------------------------------------------ */

static int contains(const char *s, const char *needle)
{
    size_t n = strlen(s), m = strlen(needle);
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (strncasecmp(s + i, needle, m) == 0) return 1;
    return 0;
}

/* Copies the message string at p (validated) into pg->message, bounded. */
static void copy_message(td_bars_page_t *pg, const char *p, const char *end)
{
    char tmp[MSG_RAW_MAX];
    int esc = 0, n = -1;
    const char *s = p + 1, *e = td_json_scan_str(s, end, &esc);
    size_t raw = e ? (size_t)(e - s) : 0;
    const char *src = s;
    if (raw <= sizeof tmp && (n = td_json_unescape(s, raw, tmp, sizeof tmp)) >= 0) src = tmp;
    size_t len = n >= 0 ? (size_t)n : raw;
    if (len > TD_BARS_MAX_MSG) {
        len = TD_BARS_MAX_MSG;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len; i++)
        pg->message[i] = (unsigned char)src[i] < 0x20 ? '?' : src[i];
    pg->message[len] = '\0';
}

static int error_page(td_bars_page_t *pg, td_bars_status_t st)
{
    pg->n = 0;
    pg->next[0] = '\0';
    pg->status = st;
    return -1;
}

/* Classifies an error text (already in pg->message) that came without a code. */
static td_bars_status_t classify_text(const char *m)
{
    static const char *const rate[] = {"too many requests", "rate limit", "exceeded the maximum",
                                       "requests per minute"};
    static const char *const auth[] = {"api key",      "unauthorized", "not authorized",
                                       "forbidden",    "not entitled", "not permit",
                                       "subscription", "access key"};
    for (size_t i = 0; i < sizeof rate / sizeof *rate; i++)
        if (contains(m, rate[i])) return TD_BARS_RATE_LIMITED;
    for (size_t i = 0; i < sizeof auth / sizeof *auth; i++)
        if (contains(m, auth[i])) return TD_BARS_AUTH;
    return TD_BARS_INVALID;
}

/* ---- Alpaca -------------------------------------------------------------------- */

enum { A_BARS, A_SYMBOL, A_NEXT, A_MESSAGE, A_CODE, A__COUNT };
static const char *const alpaca_names[A__COUNT] = {"bars", "symbol", "next_page_token", "message",
                                                   "code"};

/* {"message":"...","code":...}: classified by the code's HTTP part, else by the text. */
static int alpaca_error(td_bars_page_t *pg, const span_t *keys)
{
    const span_t *m = &keys[A_MESSAGE], *c = &keys[A_CODE];
    int64_t code = 0;
    if (!m->p || *m->p != '"') return fail(pg, "neither bars nor message");
    if (c->p && !is_null(c) && !num_int(c->p, c->e, 0, INT64_MAX, &code))
        return fail(pg, "invalid code");
    copy_message(pg, m->p, m->e);
    pg->code = (long long)code;
    int64_t http = code >= 10000000 && code <= 99999999 ? code / 100000 : code;
    if (http == 429) return error_page(pg, TD_BARS_RATE_LIMITED);
    if (http == 401 || http == 403) return error_page(pg, TD_BARS_AUTH);
    if (http == 400 || http == 422) return error_page(pg, TD_BARS_INVALID);
    return error_page(pg, classify_text(pg->message));
}

/* "bars" as an object: symbol -> array or null. */
static int alpaca_multi(td_bars_page_t *pg, const char *p, const char *end)
{
    char sym[TD_BARS_MAX_SYM + 1];
    p = td_json_skip_ws(p + 1, end);
    if (p < end && *p == '}') return 0;
    for (;;) {
        if (symbol_value(p, end, sym) != 0) return fail(pg, "invalid symbol");
        const char *v = td_json_scan_name(p, end), *ve;
        int too_deep = 0;
        if (!v || !(ve = td_json_scan_value(v, end, 2, &too_deep))) return fail(pg, "invalid bars");
        if (parse_bar_array(pg, v, ve, sym, 0) != 0) return -1;
        p = td_json_skip_ws(ve, end);
        if (p >= end) return fail(pg, "invalid bars");
        if (*p == '}') return 0;
        if (*p != ',') return fail(pg, "invalid bars");
        p = td_json_skip_ws(p + 1, end);
    }
}

int td_bars_parse_alpaca(const char *body, size_t len, const char *symbol_or_null,
                         td_bars_page_t *out)
{
    span_t keys[A__COUNT] = {{0}};
    char sym[TD_BARS_MAX_SYM + 1];
    td_bars_page_reset(out);
    if (!body || td_json_top_members(body, body + len, alpaca_names, A__COUNT, keys) != 0)
        return fail(out, "not one JSON object");
    const span_t *b = &keys[A_BARS];
    if (!b->p) return alpaca_error(out, keys);
    if (next_value(out, &keys[A_NEXT]) != 0) return fail(out, "invalid next_page_token");
    if (*b->p == '{') {
        if (alpaca_multi(out, b->p, b->e) != 0) return -1;
    } else if (*b->p == '[' || *b->p == 'n') {
        if (page_symbol(&keys[A_SYMBOL], symbol_or_null, sym) < 0)
            return fail(out, "unusable symbol");
        if (parse_bar_array(out, b->p, b->e, sym, 0) != 0) return -1;
    } else {
        return fail(out, "bars are neither an array nor an object");
    }
    out->status = out->n ? TD_BARS_OK : TD_BARS_EMPTY;
    return 0;
}

/* ---- Polygon ------------------------------------------------------------------- */

enum { P_RESULTS, P_TICKER, P_NEXT, P_STATUS, P_ERROR, P_MESSAGE, P__COUNT };
static const char *const polygon_names[P__COUNT] = {"results", "ticker", "next_url",
                                                    "status",  "error",  "message"};

/* A body without results: an empty page or an error. */
static int polygon_no_results(td_bars_page_t *pg, const span_t *keys)
{
    char status[32] = "";
    const span_t *st = &keys[P_STATUS], *err = &keys[P_ERROR], *msg = &keys[P_MESSAGE];
    const span_t *text = err->p && *err->p == '"' ? err : msg->p && *msg->p == '"' ? msg : NULL;
    if (st->p && !is_null(st) && !str_copy(st->p, st->e, status, sizeof status))
        return fail(pg, "invalid status");
    int ok = !strcmp(status, "OK") || !strcmp(status, "DELAYED");
    if (!text && (ok || (keys[P_TICKER].p && !status[0]))) {
        pg->status = TD_BARS_EMPTY;
        return 0;
    }
    if (!text && !status[0]) return fail(pg, "neither results nor status");
    if (text) copy_message(pg, text->p, text->e);
    if (!strcmp(status, "NOT_AUTHORIZED")) return error_page(pg, TD_BARS_AUTH);
    if (!text) snprintf(pg->message, sizeof pg->message, "status %s", status);
    return error_page(pg, classify_text(pg->message));
}

int td_bars_parse_polygon(const char *body, size_t len, const char *ticker, td_bars_page_t *out)
{
    span_t keys[P__COUNT] = {{0}};
    char sym[TD_BARS_MAX_SYM + 1];
    td_bars_page_reset(out);
    if (!body || td_json_top_members(body, body + len, polygon_names, P__COUNT, keys) != 0)
        return fail(out, "not one JSON object");
    const span_t *r = &keys[P_RESULTS];
    if (!r->p || is_null(r)) return polygon_no_results(out, keys);
    if (*r->p != '[') return fail(out, "results are not an array");
    if (next_value(out, &keys[P_NEXT]) != 0) return fail(out, "invalid next_url");
    if (page_symbol(&keys[P_TICKER], ticker, sym) < 0) return fail(out, "unusable ticker");
    if (parse_bar_array(out, r->p, r->e, sym, 1) != 0) return -1;
    out->status = out->n ? TD_BARS_OK : TD_BARS_EMPTY;
    return 0;
}
