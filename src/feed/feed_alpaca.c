/* SPDX-License-Identifier: Apache-2.0 */
/* The Alpaca dialect of the feed (PROTOCOLS.md §1): stocks, crypto and news
 * streams; the conversation itself is proto/client_session_alpaca.c. */
#include "feed/feed_int.h"
#include "core/mem.h"
#include "proto/alpaca.h"

#include <stdio.h>
#include <string.h>

static int setup(td_feed_t *f, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    f->crypto = strstr(f->path, "/crypto") != NULL;
    if (strstr(f->path, "/news"))
        f->kinds = TD_ALPACA_NEWS_KINDS;
    else if (f->crypto)
        f->kinds = TD_ALPACA_CRYPTO_KINDS;
    else
        f->kinds = TD_ALPACA_STOCK_KINDS;
    return 0;
}

/* Crypto pairs contain '/', stock symbols do not; news takes any symbol. */
static int carries(const td_feed_t *f, td_kind_t kind, const char *sym, size_t n)
{
    if (!(f->kinds & (1u << kind))) return 0;
    if (kind == TD_KIND_NEWS || (n == 1 && sym[0] == '*')) return 1;
    return (memchr(sym, '/', n) != NULL) == f->crypto;
}

const td_feed_dialect_t td__feed_alpaca = {"alpaca", setup, carries, &td_csess_alpaca};
