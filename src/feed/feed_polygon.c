/* SPDX-License-Identifier: Apache-2.0 */
/* The Polygon dialect of the feed (PROTOCOLS.md §3): one cluster per URL
 * (/stocks, /options, /forex, /crypto); the conversation itself is
 * proto/client_session_polygon.c. */
#include "feed/feed_int.h"
#include "proto/polygon.h"

#include <stdio.h>
#include <string.h>

static int setup(td_feed_t *f, char *err, size_t errlen)
{
    f->cluster = td_polygon_cluster_parse(f->path);
    if (f->cluster < 0) {
        snprintf(err, errlen,
                 "upstream %s: not a Polygon cluster (the path must be /stocks, /options, "
                 "/forex or /crypto)",
                 f->path);
        return -1;
    }
    f->kinds = td_polygon_kinds((td_polygon_cluster_t)f->cluster);
    return 0;
}

/* Tickers name their market: options "O:…", forex "EUR/USD", crypto
 * "BTC-USD", stocks none of these. */
static int carries(const td_feed_t *f, td_kind_t kind, const char *sym, size_t n)
{
    if (!(f->kinds & (1u << kind))) return 0;
    if (n == 1 && sym[0] == '*') return 1;
    int option = n > 2 && sym[0] == 'O' && sym[1] == ':';
    int fx = memchr(sym, '/', n) != NULL, pair = memchr(sym, '-', n) != NULL;
    switch (f->cluster) {
    case TD_POLYGON_OPTIONS:
        return option;
    case TD_POLYGON_FOREX:
        return fx;
    case TD_POLYGON_CRYPTO:
        return pair;
    default:
        return !option && !fx && !pair;
    }
}

const td_feed_dialect_t td__feed_polygon = {"polygon", setup, carries, &td_csess_polygon};
