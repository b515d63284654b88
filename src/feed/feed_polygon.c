/* SPDX-License-Identifier: Apache-2.0 */
/* The Polygon dialect of the feed (PROTOCOLS.md §3): one cluster per URL
 * (/stocks, /options, /forex, /crypto); auth with one key; a success status
 * per subscribed topic; max_connections when another connection holds the
 * key's cluster. */
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

static void build_auth(const td_feed_t *f, td_buf_t *b)
{
    td_polygon_build_auth(b, f->key);
}

static void build_sub(const td_feed_t *f, td_buf_t *b, const char *action, const td_subset_t *part)
{
    td_polygon_build_sub(b, action, (td_polygon_cluster_t)f->cluster, part, f->kinds);
}

static void on_event(void *ud, const td_event_t *ev)
{
    td__feed_event(ud, ev);
}

static void on_status(void *ud, const td_polygon_status_t *st)
{
    td_feed_t *f = ud;
    int ml = (int)st->message_len;
    const char *msg = st->message ? st->message : "";
    switch (st->type) {
    case TD_POLYGON_ST_CONNECTED:
        if (f->state == TD_FEED_AUTHENTICATING) {
            td_buf_t b = TD_BUF_INIT;
            build_auth(f, &b);
            td__feed_queue(f, b.data, b.len);
            td_buf_free(&b);
        }
        break;
    case TD_POLYGON_ST_AUTH_SUCCESS:
        TD_INFO("upstream %s: authenticated", f->url);
        td__feed_authenticated(f);
        break;
    case TD_POLYGON_ST_AUTH_FAILED:
        td__feed_fatal(f, "auth failed (auth_failed): check the key (POLYGON_API_KEY)");
        break;
    case TD_POLYGON_ST_AUTH_TIMEOUT:
        TD_WARN("upstream %s: auth_timeout: %.*s", f->url, ml, msg);
        break;
    case TD_POLYGON_ST_SUCCESS:
        if (f->state == TD_FEED_SUBSCRIBING || f->sub_note_open)
            td__feed_note_subscribed(f, msg, (size_t)ml);
        else
            TD_DEBUG("upstream %s: %.*s", f->url, ml, msg);
        td__feed_set_state(f, TD_FEED_STREAMING);
        break;
    case TD_POLYGON_ST_MAX_CONNECTIONS:
        /* Whichever connection the vendor evicts, this one steps aside for
         * long: two instances never evict each other in a loop. */
        td__feed_conn_limit(f, "max_connections");
        break;
    case TD_POLYGON_ST_OTHER:
        TD_WARN("upstream %s: status %.*s: %.*s", f->url, (int)st->status_len,
                st->status ? st->status : "?", ml, msg);
        break;
    }
}

static int read_frame(td_feed_t *f, const char *p, size_t n)
{
    static const td_polygon_cb_t cbs = {on_event, on_status};
    td_polygon_stats_t s = {0};
    int rc = td_polygon_split((td_polygon_cluster_t)f->cluster, p, n, &cbs, f, &s);
    f->st.unknown += s.unknown;
    return rc == TD_OK ? 0 : -1;
}

const td_feed_dialect_t td__feed_polygon = {"polygon",  setup,     carries,
                                            build_auth, build_sub, read_frame};
