/* SPDX-License-Identifier: Apache-2.0 */
/* The services libtickerd offers (DESIGN.md §4): a service is a kind on a
 * stream class, in the order of TICKERD_SERVICE_MAP; which vendor offers it
 * and on which path come from the stream table (proto/vendor.h). */
#include "client/client_int.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

static const char *const names[TICKERD_SERVICE__COUNT] = {
#define TICKERD_XX(name, str) str,
    TICKERD_SERVICE_MAP(TICKERD_XX)
#undef TICKERD_XX
};

/* The kinds of each class, in the service map's order: the services are
 * these lists one after the other. */
static const td_kind_t stock_kinds[] = {
    TD_KIND_TRADE,     TD_KIND_QUOTE,       TD_KIND_BAR,         TD_KIND_SECOND_BAR,
    TD_KIND_DAILY_BAR, TD_KIND_UPDATED_BAR, TD_KIND_STATUS,      TD_KIND_LULD,
    TD_KIND_IMBALANCE, TD_KIND_CORRECTION,  TD_KIND_CANCEL_ERROR};
static const td_kind_t option_kinds[] = {TD_KIND_TRADE, TD_KIND_QUOTE, TD_KIND_BAR,
                                         TD_KIND_SECOND_BAR};
static const td_kind_t forex_kinds[] = {TD_KIND_QUOTE, TD_KIND_BAR, TD_KIND_SECOND_BAR};
static const td_kind_t crypto_kinds[] = {TD_KIND_TRADE,      TD_KIND_QUOTE,     TD_KIND_BAR,
                                         TD_KIND_SECOND_BAR, TD_KIND_DAILY_BAR, TD_KIND_UPDATED_BAR,
                                         TD_KIND_ORDERBOOK};
static const td_kind_t news_kinds[] = {TD_KIND_NEWS};

static const struct {
    const td_kind_t *k;
    size_t n;
} by_class[TD_CLASS__COUNT] = {
    [TD_CLASS_STOCKS] = {stock_kinds, TD_ARRAY_LEN(stock_kinds)},
    [TD_CLASS_OPTIONS] = {option_kinds, TD_ARRAY_LEN(option_kinds)},
    [TD_CLASS_FOREX] = {forex_kinds, TD_ARRAY_LEN(forex_kinds)},
    [TD_CLASS_CRYPTO] = {crypto_kinds, TD_ARRAY_LEN(crypto_kinds)},
    [TD_CLASS_NEWS] = {news_kinds, TD_ARRAY_LEN(news_kinds)},
};

_Static_assert(TD_ARRAY_LEN(stock_kinds) + TD_ARRAY_LEN(option_kinds) + TD_ARRAY_LEN(forex_kinds) +
                       TD_ARRAY_LEN(crypto_kinds) + TD_ARRAY_LEN(news_kinds) ==
                   TICKERD_SERVICE__COUNT,
               "one service per (class, kind) listed");

_Static_assert((int)TICKERD_ALPACA == (int)TD_VENDOR_ALPACA &&
                   (int)TICKERD_POLYGON == (int)TD_VENDOR_POLYGON,
               "libtickerd's vendors are the table's");

static int valid(tickerd_service_t s)
{
    return (unsigned)s < TICKERD_SERVICE__COUNT;
}

/* Service s (valid) as its class and kind. */
static td_class_t locate(tickerd_service_t s, td_kind_t *kind)
{
    size_t i = (size_t)s;
    int c = 0;
    while (i >= by_class[c].n)
        i -= by_class[c++].n;
    *kind = by_class[c].k[i];
    return (td_class_t)c;
}

/* The stream of vendor v that service s lives on, or NULL. */
static const td_vstream_t *stream_of(tickerd_vendor_t v, tickerd_service_t s)
{
    if (!valid(s)) return NULL;
    td_kind_t k;
    const td_vstream_t *st = td_vendor_first((td_vendor_t)v, locate(s, &k));
    return st && (st->offered & (1u << k)) ? st : NULL;
}

TDC_API const char *tickerd_service_name(tickerd_service_t s)
{
    return valid(s) ? names[s] : NULL;
}

TDC_API int tickerd_service_parse(const char *s)
{
    for (int i = 0; s && i < TICKERD_SERVICE__COUNT; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

TDC_API int tickerd_service_offered(tickerd_vendor_t v, tickerd_service_t s)
{
    return stream_of(v, s) != NULL;
}

TDC_API const char *tickerd_service_path(tickerd_vendor_t v, tickerd_service_t s)
{
    const td_vstream_t *st = stream_of(v, s);
    return st ? st->path : NULL;
}

td_kind_t tdc_service_kind(tickerd_service_t s)
{
    td_kind_t k;
    locate(s, &k);
    return k;
}

td_class_t tdc_service_asset(tickerd_service_t s)
{
    td_kind_t k;
    return locate(s, &k);
}

td_kind_t tdc_upstream_kind(td_kind_t k)
{
    return k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR ? TD_KIND_TRADE : k;
}

int tdc_stream_path(tickerd_vendor_t v, td_class_t a, const char *alpaca_feed, char *out,
                    size_t cap)
{
    const td_vstream_t *st = td_vendor_first((td_vendor_t)v, a);
    if (!st) return -1;
    if (v == TICKERD_ALPACA && a == TD_CLASS_STOCKS && alpaca_feed && *alpaca_feed)
        snprintf(out, cap, "/v2/%s", alpaca_feed);
    else
        snprintf(out, cap, "%s", st->path);
    return 0;
}

int tdc_service_of(tickerd_vendor_t v, td_class_t a, td_kind_t k)
{
    for (int s = 0; s < TICKERD_SERVICE__COUNT; s++) {
        td_kind_t sk;
        if (locate((tickerd_service_t)s, &sk) == a && sk == k && stream_of(v, (tickerd_service_t)s))
            return s;
    }
    return -1;
}
