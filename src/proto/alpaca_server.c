/* SPDX-License-Identifier: Apache-2.0 */
#include "proto/alpaca_server.h"
#include "core/mem.h"
#include "proto/alpaca.h"

#include <string.h>

const char *td_alpaca_server_err_text(int code)
{
    switch (code) {
    case 400:
        return "invalid syntax";
    case 401:
        return "not authenticated";
    case 402:
        return "auth failed";
    case 403:
        return "already authenticated";
    case 404:
        return "auth timeout";
    case 405:
        return "symbol limit exceeded";
    case 406:
        return "connection limit exceeded";
    case 407:
        return "slow client";
    case 408:
        return "v2 not enabled";
    case 409:
        return "insufficient subscription";
    case 410:
        return "invalid subscribe action for this feed";
    case 411:
        return "insufficient scope";
    default:
        return "internal error";
    }
}

void td_alpaca_server_error(td_buf_t *b, int code)
{
    td_alpaca_server_error_msg(b, code, td_alpaca_server_err_text(code));
}

void td_alpaca_server_error_msg(td_buf_t *b, int code, const char *msg)
{
    if (code < 0 || code > 999) code = 500;
    td_buf_appendf(b, "[{\"T\":\"error\",\"code\":%d,\"msg\":", code);
    td_buf_append_json_str(b, msg, strlen(msg));
    td_buf_appends(b, "}]");
}

void td_alpaca_server_success(td_buf_t *b, const char *msg)
{
    td_buf_appends(b, "[{\"T\":\"success\",\"msg\":");
    td_buf_append_json_str(b, msg, strlen(msg));
    td_buf_appends(b, "}]");
}

unsigned td_alpaca_server_offered(td_class_t cls)
{
    switch (cls) {
    case TD_CLASS_STOCKS:
        return TD_ALPACA_STOCK_KINDS | (1u << TD_KIND_CORRECTION) | (1u << TD_KIND_CANCEL_ERROR);
    case TD_CLASS_CRYPTO:
        return TD_ALPACA_CRYPTO_KINDS;
    default:
        return TD_ALPACA_NEWS_KINDS;
    }
}

static void put_list(td_buf_t *b, const char *word, const td_symset_t *ss)
{
    td_buf_appendc(b, ',');
    td_buf_append_json_str(b, word, strlen(word));
    td_buf_appends(b, ":[");
    int first = 1;
    if (ss->all) {
        td_buf_appends(b, "\"*\"");
        first = 0;
    }
    for (size_t i = 0; i < ss->n; i++, first = 0) {
        if (!first) td_buf_appendc(b, ',');
        td_buf_append_json_str(b, ss->v[i], strlen(ss->v[i]));
    }
    td_buf_appendc(b, ']');
}

void td_alpaca_server_subscription(td_buf_t *b, const td_subset_t *s, td_class_t cls)
{
    static const td_kind_t stock[] = {TD_KIND_TRADE,       TD_KIND_QUOTE,     TD_KIND_BAR,
                                      TD_KIND_UPDATED_BAR, TD_KIND_DAILY_BAR, TD_KIND_STATUS,
                                      TD_KIND_LULD,        TD_KIND_IMBALANCE};
    static const td_kind_t crypto[] = {TD_KIND_TRADE, TD_KIND_QUOTE,       TD_KIND_ORDERBOOK,
                                       TD_KIND_BAR,   TD_KIND_UPDATED_BAR, TD_KIND_DAILY_BAR};
    static const td_kind_t news[] = {TD_KIND_NEWS};
    const td_kind_t *ks = stock;
    size_t nk = TD_ARRAY_LEN(stock);
    if (cls == TD_CLASS_CRYPTO) ks = crypto, nk = TD_ARRAY_LEN(crypto);
    if (cls == TD_CLASS_NEWS) ks = news, nk = TD_ARRAY_LEN(news);
    td_buf_appends(b, "[{\"T\":\"subscription\"");
    for (size_t i = 0; i < nk; i++)
        put_list(b, td_kind_name(ks[i]), &s->k[ks[i]]);
    if (cls == TD_CLASS_STOCKS) {
        put_list(b, "corrections", &s->k[TD_KIND_TRADE]);
        put_list(b, "cancelErrors", &s->k[TD_KIND_TRADE]);
    }
    td_buf_appends(b, "}]");
}
