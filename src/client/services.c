/* SPDX-License-Identifier: Apache-2.0 */
/* The services libtickerd offers: for each, its kind, asset class (stream)
 * and the vendors that carry it (DESIGN.md §4). */
#include "client/client_int.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

#define VA (1u << TICKERD_ALPACA)
#define VP (1u << TICKERD_POLYGON)

typedef struct svc_def_s {
    const char *name;
    td_kind_t kind;
    tdc_asset_t asset;
    unsigned vendors;
} svc_def;

static const svc_def defs[TICKERD_SERVICE__COUNT] = {
    [TICKERD_STOCK_TRADES] = {"stock_trades", TD_KIND_TRADE, TDC_STOCKS, VA | VP},
    [TICKERD_STOCK_QUOTES] = {"stock_quotes", TD_KIND_QUOTE, TDC_STOCKS, VA | VP},
    [TICKERD_STOCK_BARS] = {"stock_bars", TD_KIND_BAR, TDC_STOCKS, VA | VP},
    [TICKERD_STOCK_SECOND_BARS] = {"stock_second_bars", TD_KIND_SECOND_BAR, TDC_STOCKS, VP},
    [TICKERD_STOCK_DAILY_BARS] = {"stock_daily_bars", TD_KIND_DAILY_BAR, TDC_STOCKS, VA},
    [TICKERD_STOCK_UPDATED_BARS] = {"stock_updated_bars", TD_KIND_UPDATED_BAR, TDC_STOCKS, VA},
    [TICKERD_STOCK_STATUSES] = {"stock_statuses", TD_KIND_STATUS, TDC_STOCKS, VA},
    [TICKERD_STOCK_LULDS] = {"stock_lulds", TD_KIND_LULD, TDC_STOCKS, VA | VP},
    [TICKERD_STOCK_IMBALANCES] = {"stock_imbalances", TD_KIND_IMBALANCE, TDC_STOCKS, VA | VP},
    [TICKERD_STOCK_CORRECTIONS] = {"stock_corrections", TD_KIND_CORRECTION, TDC_STOCKS, VA},
    [TICKERD_STOCK_CANCEL_ERRORS] = {"stock_cancel_errors", TD_KIND_CANCEL_ERROR, TDC_STOCKS, VA},
    [TICKERD_OPTION_TRADES] = {"option_trades", TD_KIND_TRADE, TDC_OPTIONS, VP},
    [TICKERD_OPTION_QUOTES] = {"option_quotes", TD_KIND_QUOTE, TDC_OPTIONS, VP},
    [TICKERD_OPTION_BARS] = {"option_bars", TD_KIND_BAR, TDC_OPTIONS, VP},
    [TICKERD_OPTION_SECOND_BARS] = {"option_second_bars", TD_KIND_SECOND_BAR, TDC_OPTIONS, VP},
    [TICKERD_FOREX_QUOTES] = {"forex_quotes", TD_KIND_QUOTE, TDC_FOREX, VP},
    [TICKERD_FOREX_BARS] = {"forex_bars", TD_KIND_BAR, TDC_FOREX, VP},
    [TICKERD_FOREX_SECOND_BARS] = {"forex_second_bars", TD_KIND_SECOND_BAR, TDC_FOREX, VP},
    [TICKERD_CRYPTO_TRADES] = {"crypto_trades", TD_KIND_TRADE, TDC_CRYPTO, VA | VP},
    [TICKERD_CRYPTO_QUOTES] = {"crypto_quotes", TD_KIND_QUOTE, TDC_CRYPTO, VA | VP},
    [TICKERD_CRYPTO_BARS] = {"crypto_bars", TD_KIND_BAR, TDC_CRYPTO, VA | VP},
    [TICKERD_CRYPTO_SECOND_BARS] = {"crypto_second_bars", TD_KIND_SECOND_BAR, TDC_CRYPTO, VP},
    [TICKERD_CRYPTO_DAILY_BARS] = {"crypto_daily_bars", TD_KIND_DAILY_BAR, TDC_CRYPTO, VA},
    [TICKERD_CRYPTO_UPDATED_BARS] = {"crypto_updated_bars", TD_KIND_UPDATED_BAR, TDC_CRYPTO, VA},
    [TICKERD_CRYPTO_ORDERBOOKS] = {"crypto_orderbooks", TD_KIND_ORDERBOOK, TDC_CRYPTO, VA | VP},
    [TICKERD_NEWS] = {"news", TD_KIND_NEWS, TDC_NEWS, VA},
};

static int valid(tickerd_service_t s)
{
    return (unsigned)s < TICKERD_SERVICE__COUNT;
}

TDC_API const char *tickerd_service_name(tickerd_service_t s)
{
    return valid(s) ? defs[s].name : NULL;
}

TDC_API int tickerd_service_parse(const char *s)
{
    for (int i = 0; s && i < TICKERD_SERVICE__COUNT; i++)
        if (strcmp(defs[i].name, s) == 0) return i;
    return -1;
}

TDC_API int tickerd_service_offered(tickerd_vendor_t v, tickerd_service_t s)
{
    return valid(s) && (unsigned)v <= TICKERD_POLYGON && (defs[s].vendors & (1u << v)) != 0;
}

TDC_API const char *tickerd_service_path(tickerd_vendor_t v, tickerd_service_t s)
{
    static const char *const alpaca[TDC__ASSETS] = {"/v2/iex", NULL, NULL, "/v1beta3/crypto/us",
                                                    "/v1beta1/news"};
    static const char *const polygon[TDC__ASSETS] = {"/stocks", "/options", "/forex", "/crypto",
                                                     NULL};
    if (!tickerd_service_offered(v, s)) return NULL;
    return (v == TICKERD_ALPACA ? alpaca : polygon)[defs[s].asset];
}

td_kind_t tdc_service_kind(tickerd_service_t s)
{
    return defs[s].kind;
}

tdc_asset_t tdc_service_asset(tickerd_service_t s)
{
    return defs[s].asset;
}

td_kind_t tdc_upstream_kind(td_kind_t k)
{
    return k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR ? TD_KIND_TRADE : k;
}

int tdc_stream_path(tickerd_vendor_t v, tdc_asset_t a, const char *alpaca_feed, char *out,
                    size_t cap)
{
    for (int s = 0; s < TICKERD_SERVICE__COUNT; s++) {
        if (defs[s].asset != a || !tickerd_service_offered(v, (tickerd_service_t)s)) continue;
        if (v == TICKERD_ALPACA && a == TDC_STOCKS)
            snprintf(out, cap, "/v2/%s", alpaca_feed && *alpaca_feed ? alpaca_feed : "iex");
        else
            snprintf(out, cap, "%s", tickerd_service_path(v, (tickerd_service_t)s));
        return 0;
    }
    return -1;
}

int tdc_service_of(tickerd_vendor_t v, tdc_asset_t a, td_kind_t k)
{
    for (int s = 0; s < TICKERD_SERVICE__COUNT; s++)
        if (defs[s].asset == a && defs[s].kind == k && (defs[s].vendors & (1u << v))) return s;
    return -1;
}
