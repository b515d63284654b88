/* SPDX-License-Identifier: Apache-2.0 */
/* Polygon.io (Massive) stream codec (PROTOCOLS.md §3), sans-I/O.
 *
 * Server → client: td_polygon_split() takes one complete WebSocket message
 * (a JSON array of objects, each with "ev") and, only if the whole frame is
 * well-formed JSON, reports each element in order: data objects as
 * td_event_t (kind per DESIGN.md §4, symbol from sym / pair / p / T, raw
 * bytes), status objects (ev "status") as td_polygon_status_t. Views point
 * into the frame; nothing is copied.
 *
 * Validation is strict RFC 8259 (numbers, escapes, UTF-8, nesting ≤ 64) over
 * the whole frame, at most 1,000,000 elements. Of each element only the
 * top-level members "ev", "sym", "T", "pair", "p", "status" and "message"
 * are read, in any order; names and values are compared after unescaping,
 * and a repeated name takes its last value. A symbol is usable if it is a
 * string of 1..64 bytes once decoded, with no control character and no lone
 * surrogate escape; escaped symbols are decoded into a per-call scratch (so
 * ev->symbol is valid only during the callback). Timestamps are not touched
 * (their unit varies: ms, µs, ns); see td_polygon_int64().
 *
 * Client → server: auth and subscribe builders, and the parser of a
 * subscribe/unsubscribe "params" list ("T.AAPL, Q.MSFT,AM.*") used by the
 * simulator and the gateway. */
#ifndef TD_PROTO_POLYGON_H
#define TD_PROTO_POLYGON_H

#include "core/buf.h"
#include "core/err.h"
#include "proto/event.h"
#include "proto/sub.h"

#include <stddef.h>
#include <stdint.h>

/* Errors (core/err.h): TD_EMALFORMED (not a JSON array of objects, or bad
 * JSON), TD_ETOOBIG (more elements or depth than allowed). */

/* The cluster is the URL path: /stocks, /options, /forex, /crypto. */
typedef enum td_polygon_cluster_e {
    TD_POLYGON_STOCKS,
    TD_POLYGON_OPTIONS,
    TD_POLYGON_FOREX,
    TD_POLYGON_CRYPTO,
    TD_POLYGON__CLUSTERS
} td_polygon_cluster_t;

/* "/stocks" (or "stocks") → cluster; -1 if unknown. */
int td_polygon_cluster_parse(const char *path);
const char *td_polygon_cluster_name(td_polygon_cluster_t c); /* "stocks" */

/* Kinds a cluster offers (bitmask of 1u << kind), and the mapping between a
 * kind and the cluster's event prefix (DESIGN.md §4): stocks and options
 * T→trades Q→quotes AM→bars A→secondBars, stocks also LULD→lulds
 * NOI→imbalances; forex C→quotes CA→bars CAS→secondBars; crypto XT→trades
 * XQ→quotes XA→bars XAS→secondBars XL2→orderbooks. */
unsigned td_polygon_kinds(td_polygon_cluster_t c);
/* The prefix ("T", "AM", "XL2"...) for kind in c, or NULL if not offered. */
const char *td_polygon_prefix(td_polygon_cluster_t c, td_kind_t kind);
/* The kind of event prefix ev in c, or -1. */
int td_polygon_kind(td_polygon_cluster_t c, const char *ev, size_t n);

typedef enum td_polygon_status_type_e {
    TD_POLYGON_ST_CONNECTED,       /* "connected" */
    TD_POLYGON_ST_AUTH_SUCCESS,    /* "auth_success" */
    TD_POLYGON_ST_AUTH_FAILED,     /* "auth_failed" */
    TD_POLYGON_ST_AUTH_TIMEOUT,    /* "auth_timeout" */
    TD_POLYGON_ST_SUCCESS,         /* "success" (e.g. "subscribed to: T.AAPL") */
    TD_POLYGON_ST_MAX_CONNECTIONS, /* "max_connections" */
    TD_POLYGON_ST_OTHER,           /* any other status (logged by clients) */
} td_polygon_status_type_t;

typedef struct td_polygon_status_s {
    td_polygon_status_type_t type;
    const char *status; /* raw (still JSON-escaped) text of "status", or NULL (type OTHER) */
    size_t status_len;
    const char *message; /* raw text of "message", or NULL */
    size_t message_len;
    const char *raw; /* the whole object */
    size_t raw_len;
} td_polygon_status_t;

typedef struct td_polygon_cb_s {
    void (*on_event)(void *ud, const td_event_t *ev);
    void (*on_status)(void *ud, const td_polygon_status_t *st);
} td_polygon_cb_t;

typedef struct td_polygon_stats_s {
    uint64_t frames, events, status, unknown, malformed;
} td_polygon_stats_t;

/* Splits one frame of cluster c. `cb`, either callback and `stats` may be NULL
 * (stats are added to). Unknown "ev" values, prefixes that c does not offer
 * (e.g. "XT" on /stocks) and objects without a usable symbol are counted in
 * unknown and skipped. Returns TD_OK, TD_EMALFORMED or TD_ETOOBIG; on error no
 * callback has run. */
int td_polygon_split(td_polygon_cluster_t c, const char *frame, size_t len,
                     const td_polygon_cb_t *cb, void *ud, td_polygon_stats_t *stats);

/* The integer value of top-level member `key` (compared after unescaping;
 * the last one wins) of the JSON object [obj, obj+len), e.g. an event's "t"
 * for a client that wants its timestamp: returns 0 and sets *out, or -1 if
 * the object is malformed, has no such member, or its value is not an
 * integer (-?[0-9]+, no fraction or exponent) that fits in int64. */
int td_polygon_int64(const char *obj, size_t len, const char *key, int64_t *out);

/* {"action":"auth","params":"KEY"} (JSON-escaped); appends to b. */
void td_polygon_build_auth(td_buf_t *b, const char *key);
/* {"action":"subscribe"|"unsubscribe","params":"T.AAPL,Q.MSFT,AM.*"} for the
 * kinds of `kinds` (bitmask) that c offers and s names (the wildcard as
 * "EV.*", then each named ticker); appends to b. Returns the number of
 * EV.TICKER items written; with 0 (nothing to send) nothing is appended. */
size_t td_polygon_build_sub(td_buf_t *b, const char *action, td_polygon_cluster_t c,
                            const td_subset_t *s, unsigned kinds);

/* Parses a params list ("T.AAPL, Q.MSFT,AM.*": comma-separated, whitespace
 * around items ignored, "*" = every ticker) of cluster c, calling fn for
 * each item with its kind and ticker. An item whose prefix c does not offer,
 * or without a dot, or with an empty, longer than 64 bytes or non-printable
 * (outside '!'..'~') ticker, makes the list bad: returns -1 with *bad and
 * *bad_len (either may be NULL) set to the first such item, and fn is never
 * called.
 * Returns the number of items otherwise (0 for an empty or blank list; an
 * empty item such as a trailing comma is bad). The ticker is everything
 * after the first dot ("T.BRK.B" → "BRK.B"). */
int td_polygon_params_each(td_polygon_cluster_t c, const char *params, size_t n,
                           void (*fn)(void *ud, td_kind_t kind, const char *sym, size_t len),
                           void *ud, const char **bad, size_t *bad_len);

#endif
