/* SPDX-License-Identifier: Apache-2.0 */
/* The Alpaca dialect of the feed (PROTOCOLS.md §1): stocks, crypto and news
 * streams; the conversation itself is proto/client_session_alpaca.c. */
#include "feed/feed_int.h"
#include "core/mem.h"
#include "proto/alpaca.h"
#include "proto/vendor.h"

#include <stdio.h>
#include <string.h>

static int setup(td_feed_t *f, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    f->vs = td_vendor_upstream(TD_VENDOR_ALPACA, f->path);
    f->kinds = f->vs->kinds;
    return 0;
}

static int carries(const td_feed_t *f, td_kind_t kind, const char *sym, size_t n)
{
    return td_vendor_carries(f->vs, kind, sym, n);
}

const td_feed_dialect_t td__feed_alpaca = {"alpaca", setup, carries, &td_csess_alpaca};
