/* SPDX-License-Identifier: Apache-2.0 */
/* The Polygon dialect of the feed (PROTOCOLS.md §3): one cluster per URL
 * (/stocks, /options, /forex, /crypto); the conversation itself is
 * proto/client_session_polygon.c. */
#include "feed/feed_int.h"
#include "proto/polygon.h"
#include "proto/vendor.h"

#include <stdio.h>
#include <string.h>

static int setup(td_feed_t *f, char *err, size_t errlen)
{
    f->vs = td_vendor_upstream(TD_VENDOR_POLYGON, f->path);
    if (!f->vs) {
        snprintf(err, errlen,
                 "upstream %s: not a Polygon cluster (the path must be /stocks, /options, "
                 "/forex or /crypto)",
                 f->path);
        return -1;
    }
    f->cluster = td_vendor_cluster(f->vs);
    f->kinds = f->vs->kinds;
    return 0;
}

static int carries(const td_feed_t *f, td_kind_t kind, const char *sym, size_t n)
{
    return td_vendor_carries(f->vs, kind, sym, n);
}

const td_feed_dialect_t td__feed_polygon = {"polygon", setup, carries, &td_csess_polygon};
