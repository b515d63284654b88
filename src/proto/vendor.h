/* SPDX-License-Identifier: Apache-2.0 */
/* Every stream tickerd knows, in one table (PROTOCOLS.md §1, §3): the
 * vendor, the URL path, the stream class, the kinds, the codecs. The
 * gateway (which paths it serves), the simulator (which it simulates),
 * libtickerd (which path a service lives on) and the feed (what an upstream
 * URL carries) all read it; adding a stream is one line here.
 *
 * The symbol rule says which class a symbol belongs to, by its shape:
 * Alpaca crypto pairs contain '/' ("BTC/USD"), its stocks do not; Polygon
 * options start "O:", forex pairs contain '/' ("EUR/USD"), crypto pairs '-'
 * ("BTC-USD"), stocks none of these. News takes any symbol. */
#ifndef TD_PROTO_VENDOR_H
#define TD_PROTO_VENDOR_H

#include "proto/event.h"
#include "proto/polygon.h"

#include <stddef.h>

/* Values as libtickerd's tickerd_vendor_t and the gateway's dialect. */
typedef enum td_vendor_e { TD_VENDOR_ALPACA, TD_VENDOR_POLYGON, TD_VENDOR__COUNT } td_vendor_t;

/* The stream class: which market a stream carries. The first four have
 * the values of td_polygon_cluster_t (a Polygon cluster is its class). */
typedef enum td_class_e {
    TD_CLASS_STOCKS,
    TD_CLASS_OPTIONS,
    TD_CLASS_FOREX,
    TD_CLASS_CRYPTO,
    TD_CLASS_NEWS,
    TD_CLASS__COUNT
} td_class_t;

/* Codecs a stream can speak (bitmask). */
#define TD_VCODEC_JSON    (1u << 0)
#define TD_VCODEC_MSGPACK (1u << 1) /* Content-Type: application/msgpack */

typedef struct td_vstream_s {
    td_vendor_t vendor;
    const char *path; /* "/v2/iex" */
    const char *feed; /* the simulator's name for it (--deny-feed) */
    td_class_t cls;
    unsigned kinds;   /* named in a subscribe upstream (bitmask of 1u << kind) */
    unsigned offered; /* a client may name: kinds, plus corrections and
                       * cancelErrors on Alpaca stocks (they follow trades) */
    unsigned codecs;  /* TD_VCODEC_* */
    int test;         /* Alpaca's test stream: the FAKEPACA symbol */
} td_vstream_t;

#define TD_VENDOR_NSTREAMS 10
/* Alpaca's streams first, then Polygon's; each vendor's default stream of
 * a class comes first. */
extern const td_vstream_t td_vendor_streams[TD_VENDOR_NSTREAMS];

/* "alpaca", "polygon"; and as a title ("Alpaca"). NULL if v is unknown. */
const char *td_vendor_name(td_vendor_t v);
const char *td_vendor_title(td_vendor_t v);
/* "stocks", "options", "forex", "crypto", "news"; NULL if unknown. */
const char *td_class_name(td_class_t c);

/* The stream served at path (exact), or NULL. */
const td_vstream_t *td_vendor_find(const char *path);
/* The first stream of (v, c), or NULL if v has none. */
const td_vstream_t *td_vendor_first(td_vendor_t v, td_class_t c);
/* What an upstream URL path of vendor v carries: its stream if the table
 * has it (Polygon: the path, with or without its '/'); for Alpaca, whose
 * paths vary (other feeds, a proxy's prefix), else the first stream of the
 * class the path names ("/crypto" crypto, "/news" news, else stocks).
 * NULL for a path Polygon does not have. */
const td_vstream_t *td_vendor_upstream(td_vendor_t v, const char *path);
/* The paths of vendor v, separated by spaces ("/stocks /options ..."),
 * into out (truncated to cap, NUL-terminated); returns out. */
const char *td_vendor_paths(td_vendor_t v, char *out, size_t cap);

/* A Polygon stream's cluster; -1 for another vendor's. */
int td_vendor_cluster(const td_vstream_t *s);

/* The class a symbol of vendor v belongs to by its shape (the rule above;
 * never NEWS). */
td_class_t td_vendor_sym_class(td_vendor_t v, const char *sym, size_t n);
/* Whether sym may be named on s: news takes any symbol, "*" goes
 * everywhere, others by their shape. */
int td_vendor_sym_ok(const td_vstream_t *s, const char *sym, size_t n);
/* Whether (kind, sym) is subscribed on s upstream: kind in s->kinds and
 * sym of its class. */
int td_vendor_carries(const td_vstream_t *s, td_kind_t kind, const char *sym, size_t n);

#endif
