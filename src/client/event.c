/* SPDX-License-Identifier: Apache-2.0 */
/* Typed accessors of libtickerd events, parsed from the vendor's JSON when
 * called, through the project's one JSON reader (proto/json_scan.h). */
#include "client/client_int.h"
#include "core/clock.h"
#include "proto/json_scan.h"
#include "proto/polygon.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

int tdc_json_member(const char *obj, size_t len, const char *key, const char **v, size_t *vlen,
                    int *is_string)
{
    td_json_span_t sp;
    if (td_json_member(obj, obj + len, key, &sp) != 0) return -1;
    *is_string = *sp.p == '"';
    *v = *is_string ? sp.p + 1 : sp.p;
    *vlen = (size_t)(sp.e - sp.p) - (*is_string ? 2 : 0);
    return 0;
}

/* A JSON number (RFC 8259 form) to double, whatever the C locale's decimal
 * point is. */
static int parse_double(const char *v, size_t n, double *out)
{
    char buf[72];
    if (n == 0 || n >= sizeof buf || !(v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))) return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    const char *dp = localeconv()->decimal_point;
    char *dot = memchr(buf, '.', n);
    if (dot && dp && dp[0] && dp[0] != '.' && !dp[1]) *dot = dp[0];
    char *end;
    double d = strtod(buf, &end);
    if (end != buf + n) return -1;
    *out = d;
    return 0;
}

TDC_API int tickerd_event_number(const tickerd_event_t *ev, const char *key, double *out)
{
    const char *v;
    size_t n;
    int str;
    if (!ev || !key || !out) return -1;
    if (tdc_json_member(ev->json, ev->json_len, key, &v, &n, &str) != 0 || str) return -1;
    return parse_double(v, n, out);
}

static td_kind_t kind_of(const tickerd_event_t *ev)
{
    return tdc_service_kind(ev->service);
}

static int is_bar(td_kind_t k)
{
    return k == TD_KIND_BAR || k == TD_KIND_DAILY_BAR || k == TD_KIND_UPDATED_BAR ||
           k == TD_KIND_SECOND_BAR;
}

static int forex(const tickerd_event_t *ev)
{
    return ev->vendor == TICKERD_POLYGON && tdc_service_asset(ev->service) == TD_CLASS_FOREX;
}

TDC_API int tickerd_event_price(const tickerd_event_t *ev, double *out)
{
    td_kind_t k = kind_of(ev);
    if (k != TD_KIND_TRADE && k != TD_KIND_CANCEL_ERROR) return -1;
    return tickerd_event_number(ev, "p", out);
}

TDC_API int tickerd_event_size(const tickerd_event_t *ev, double *out)
{
    td_kind_t k = kind_of(ev);
    if (k != TD_KIND_TRADE && k != TD_KIND_CANCEL_ERROR) return -1;
    return tickerd_event_number(ev, "s", out);
}

static int quote_field(const tickerd_event_t *ev, const char *key, const char *fx_key, double *out)
{
    if (kind_of(ev) != TD_KIND_QUOTE) return -1;
    if (forex(ev)) return fx_key ? tickerd_event_number(ev, fx_key, out) : -1;
    return tickerd_event_number(ev, key, out);
}

TDC_API int tickerd_event_bid_price(const tickerd_event_t *ev, double *out)
{
    return quote_field(ev, "bp", "b", out);
}

TDC_API int tickerd_event_bid_size(const tickerd_event_t *ev, double *out)
{
    return quote_field(ev, "bs", NULL, out);
}

TDC_API int tickerd_event_ask_price(const tickerd_event_t *ev, double *out)
{
    return quote_field(ev, "ap", "a", out);
}

TDC_API int tickerd_event_ask_size(const tickerd_event_t *ev, double *out)
{
    return quote_field(ev, "as", NULL, out);
}

static int bar_field(const tickerd_event_t *ev, const char *key, double *out)
{
    return is_bar(kind_of(ev)) ? tickerd_event_number(ev, key, out) : -1;
}

TDC_API int tickerd_event_open(const tickerd_event_t *ev, double *out)
{
    return bar_field(ev, "o", out);
}

TDC_API int tickerd_event_high(const tickerd_event_t *ev, double *out)
{
    return bar_field(ev, "h", out);
}

TDC_API int tickerd_event_low(const tickerd_event_t *ev, double *out)
{
    return bar_field(ev, "l", out);
}

TDC_API int tickerd_event_close(const tickerd_event_t *ev, double *out)
{
    return bar_field(ev, "c", out);
}

TDC_API int tickerd_event_volume(const tickerd_event_t *ev, double *out)
{
    return bar_field(ev, "v", out);
}

/* Polygon documents ms, but its LULD and NOI examples are in µs and ns: take
 * the unit from the magnitude (any date after 1973 is unambiguous). */
static int64_t guess_unit_ns(int64_t v)
{
    int64_t a = v < 0 ? -v : v;
    if (a < 100000000000LL) return v * 1000000000LL; /* s */
    if (a < 100000000000000LL) return v * 1000000LL; /* ms */
    if (a < 100000000000000000LL) return v * 1000LL; /* µs */
    return v;                                        /* ns */
}

TDC_API int tickerd_event_timestamp_ns(const tickerd_event_t *ev, int64_t *out)
{
    td_kind_t k = kind_of(ev);
    int64_t v;
    if (!ev || !out) return -1;
    if (ev->vendor == TICKERD_ALPACA) {
        const char *s;
        size_t n;
        int str;
        const char *key = k == TD_KIND_NEWS ? "created_at" : "t";
        if (tdc_json_member(ev->json, ev->json_len, key, &s, &n, &str) != 0 || !str) return -1;
        return td_rfc3339_parse(s, n, out);
    }
    const char *key = is_bar(k) ? "s" : "t";
    if (td_polygon_int64(ev->json, ev->json_len, key, &v) != 0) return -1;
    if (k == TD_KIND_LULD || k == TD_KIND_IMBALANCE)
        *out = guess_unit_ns(v);
    else
        *out = v * 1000000LL;
    return 0;
}
