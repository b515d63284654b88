/* SPDX-License-Identifier: Apache-2.0 */
/* Alpha Vantage GLOBAL_QUOTE bodies (alphavantage.h, PROTOCOLS.md §5).
 *
 * The whole body is validated as strict JSON (json_scan.h) and must be one
 * object. Its members are looked up by decoded name: "Global Quote" (or
 * "Global Quote - DATA DELAYED"), "Error Message", "Note", "Information";
 * others are ignored and the first of a repeated name counts. Nothing is
 * allocated; the views in the result point into the body. */
#include "proto/alphavantage.h"
#include "proto/json_scan.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VAL_MAX_LEN 64 /* decoded quote values we accept */

typedef td_json_span_t span_t;

enum { K_QUOTE, K_ERROR, K_NOTE, K_INFO, K__COUNT };

/* Top-level members: both quote names fill K_QUOTE (the first one wins). */
static const char *const top_names[] = {"Global Quote", "Error Message", "Note", "Information",
                                        "Global Quote - DATA DELAYED"};

static int scan_top(const char *p, const char *end, span_t keys[K__COUNT])
{
    span_t all[5] = {{0}};
    if (td_json_top_members(p, end, top_names, 5, all) != 0) return -1;
    for (int i = 0; i < K__COUNT; i++)
        keys[i] = all[i];
    if (all[4].p && (!all[0].p || all[4].p < all[0].p)) keys[K_QUOTE] = all[4];
    return 0;
}

/* ---- quote values ---------------------------------------------------------------- */

/* A decimal: optional sign, digits, optionally '.' and digits. */
static int parse_decimal(const char *s, size_t n, double *out)
{
    char tmp[VAL_MAX_LEN + 1];
    size_t i = 0, digits = 0;
    if (n == 0 || n > VAL_MAX_LEN) return -1;
    if (s[i] == '-' || s[i] == '+') i++;
    for (; i < n && isdigit((unsigned char)s[i]); i++)
        digits++;
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && isdigit((unsigned char)s[i]); i++)
            digits++;
    }
    if (i != n || digits == 0) return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    return 0;
}

static int parse_volume(const char *s, size_t n, long long *out)
{
    long long v = 0;
    if (n == 0) return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        int d = s[i] - '0';
        if (v > (LLONG_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_day(const char *s, size_t n, char out[11])
{
    if (n != 10 || s[4] != '-' || s[7] != '-') return -1;
    for (size_t i = 0; i < n; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return -1;
    memcpy(out, s, 10);
    out[10] = '\0';
    return 0;
}

static int parse_symbol(const char *s, size_t n, char *out, size_t cap)
{
    if (n == 0 || n >= cap) return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

enum { F_SYMBOL = 1, F_PRICE = 1 << 4 };

/* The quote's members, in field order. */
static const char *const FIELD_NAMES[] = {"01. symbol",
                                          "02. open",
                                          "03. high",
                                          "04. low",
                                          "05. price",
                                          "06. volume",
                                          "07. latest trading day",
                                          "08. previous close",
                                          "09. change",
                                          "10. change percent"};

/* Field i of the quote from its decoded string value [s, s+n). */
static int quote_field(td_av_quote_t *q, int i, const char *s, size_t n)
{
    double *const num[] = {NULL, &q->open, &q->high,           &q->low,    &q->price,
                           NULL, NULL,     &q->previous_close, &q->change, &q->change_percent};
    switch (i) {
    case 0:
        return parse_symbol(s, n, q->symbol, sizeof q->symbol);
    case 5:
        return parse_volume(s, n, &q->volume);
    case 6:
        return parse_day(s, n, q->latest_day);
    case 9:
        return parse_decimal(s, n && s[n - 1] == '%' ? n - 1 : n, num[i]);
    default:
        return parse_decimal(s, n, num[i]);
    }
}

/* Decodes the string whose content is [p, e) into tmp (cap VAL_MAX_LEN). */
static int decode(const char *p, const char *e, int esc, char *tmp, const char **s, size_t *n)
{
    if (!esc) {
        *s = p;
        *n = (size_t)(e - p);
        return 0;
    }
    int len = td_json_unescape(p, (size_t)(e - p), tmp, VAL_MAX_LEN);
    if (len < 0) return -1;
    *s = tmp;
    *n = (size_t)len;
    return 0;
}

/* One member of the (validated) quote object at p ('"'); returns the byte
 * after its value, or NULL if a known field is not a string that parses.
 * Unknown members are skipped whatever their value. */
static const char *quote_member(td_av_quote_t *q, const char *p, const char *end, unsigned *seen)
{
    char vbuf[VAL_MAX_LEN];
    int kesc = 0, vesc = 0, too_deep = 0;
    const char *k = p + 1, *ke = td_json_scan_str(k, end, &kesc), *s;
    size_t n;
    p = td_json_scan_name(p, end);
    int i = td_json_name_index(k, (size_t)(ke - k), kesc, FIELD_NAMES, 10);
    if (i < 0) return td_json_scan_value(p, end, 2, &too_deep);
    if (*p != '"') return NULL;
    const char *v = p + 1, *ve = td_json_scan_str(v, end, &vesc);
    if (decode(v, ve, vesc, vbuf, &s, &n) != 0 || quote_field(q, i, s, n) != 0) return NULL;
    *seen |= 1u << i;
    return ve + 1;
}

/* The quote object [p, e) (already validated). Returns the kind. */
static td_av_kind_t parse_quote(const char *p, const char *e, td_av_quote_t *q)
{
    unsigned seen = 0;
    p = td_json_skip_ws(p + 1, e);
    if (*p == '}') return TD_AV_UNKNOWN;
    for (;;) {
        if (!(p = quote_member(q, p, e, &seen))) return TD_AV_MALFORMED;
        p = td_json_skip_ws(p, e);
        if (*p == '}') break;
        p = td_json_skip_ws(p + 1, e); /* ',' */
    }
    return (seen & (F_SYMBOL | F_PRICE)) == (F_SYMBOL | F_PRICE) ? TD_AV_QUOTE : TD_AV_MALFORMED;
}

/* ---- messages ------------------------------------------------------------------- */

static int contains(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (strncasecmp(s + i, needle, m) == 0) return 1;
    return 0;
}

/* A per-day limit: "per day", "/day", "daily" ("25 requests per day"), and
 * not also a per-minute limit: the old Note "5 calls per minute and 500 calls
 * per day" is what the minute limit says, and waiting a day would be wrong. */
static int speaks_daily(const char *s, size_t n)
{
    if (contains(s, n, "per minute") || contains(s, n, "/min")) return 0;
    return contains(s, n, "per day") || contains(s, n, "/day") || contains(s, n, "daily");
}

static int message(const span_t *sp, td_av_result_t *out, td_av_kind_t kind)
{
    if (!sp->p || *sp->p != '"') return 0;
    out->kind = kind;
    out->text = sp->p + 1;
    out->text_len = (size_t)(sp->e - sp->p - 2);
    if (kind == TD_AV_THROTTLED) out->daily = speaks_daily(out->text, out->text_len);
    return 1;
}

void td_av_parse_global_quote(const char *body, size_t len, td_av_result_t *out)
{
    span_t keys[K__COUNT] = {{0}};
    memset(out, 0, sizeof *out);
    out->kind = TD_AV_MALFORMED;
    if (!body || scan_top(body, body + len, keys) != 0) return;
    const span_t *q = &keys[K_QUOTE];
    if (q->p) {
        if (*q->p != '{') return;
        td_av_kind_t k = parse_quote(q->p, q->e, &out->quote);
        if (k == TD_AV_MALFORMED) {
            memset(&out->quote, 0, sizeof out->quote);
            return;
        }
        out->kind = k;
        out->object = q->p;
        out->object_len = (size_t)(q->e - q->p);
        return;
    }
    if (message(&keys[K_ERROR], out, TD_AV_ERROR)) return;
    if (message(&keys[K_NOTE], out, TD_AV_THROTTLED)) return;
    message(&keys[K_INFO], out, TD_AV_THROTTLED);
}

void td_av_quote_payload(const td_av_result_t *r, td_buf_t *b)
{
    if (r->kind == TD_AV_QUOTE && r->object) td_buf_append(b, r->object, r->object_len);
}
