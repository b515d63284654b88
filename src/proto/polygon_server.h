/* SPDX-License-Identifier: Apache-2.0 */
/* Polygon.io stream, the server's side (PROTOCOLS.md §3.2), sans-I/O. Used
 * by the simulator and by the WebSocket gateway's Polygon paths, so both
 * answer with the same bytes:
 *
 *   [{"ev":"status","status":"connected","message":"Connected Successfully"}]
 *   [{"ev":"status","status":"success","message":"subscribed to: T.AAPL"}]
 *
 * and read client messages {"action":"auth"|"subscribe"|"unsubscribe",
 * "params":"..."} the same way. */
#ifndef TD_PROTO_POLYGON_SERVER_H
#define TD_PROTO_POLYGON_SERVER_H

#include "core/buf.h"
#include "proto/alpaca_client.h"
#include "proto/polygon.h"

#include <stddef.h>

#define TD_POLYGON_TEXT_CONNECTED    "Connected Successfully"
#define TD_POLYGON_TEXT_AUTHED       "authenticated"
#define TD_POLYGON_TEXT_AUTH_FAILED  "authentication failed"
#define TD_POLYGON_TEXT_AUTH_TIMEOUT "No authentication request received."
#define TD_POLYGON_TEXT_MAX_CONNECTIONS                                                            \
    "Maximum number of websocket connections exceeded. You have reached the connection limit "     \
    "for your account. Please contact support at https://polygon.io/contact to increase your "     \
    "limit."

/* [{"ev":"status","status":"<status>","message":"<message>"}] (both
 * JSON-escaped); appends to b. */
void td_polygon_server_status(td_buf_t *b, const char *status, const char *message);

/* "subscribed to: T.AAPL" / "unsubscribed to: T.AAPL" (the text of one
 * topic's success status); appends to b ("?" for a kind c does not offer). */
void td_polygon_server_topic_text(td_buf_t *b, td_polygon_cluster_t c, int add, td_kind_t kind,
                                  const char *sym);

/* A client message {"action":"...","params":"..."}: *action and *params are
 * set to NUL-terminated copies (free()) of the string values (escapes
 * decoded; the first member of each name counts), or NULL if absent, not a
 * string, or holding a NUL byte or a lone surrogate. Time is linear in len;
 * nesting deeper than TD_JSON_MAX_DEPTH (64) is malformed. Returns 0, or -1
 * if msg is not one strict JSON object (nothing is set). */
int td_polygon_server_parse(const char *msg, size_t len, char **action, char **params);
/* Whether the message (an object td_polygon_server_parse accepted) has the
 * top-level member "gaps" with the value true: tickerd's extension on a
 * gateway subscribe asking for gap notices. The first occurrence wins. */
int td_polygon_server_wants_gaps(const char *msg, size_t len);

/* tickerd's "since" in a subscribe of cluster c,
 * {"action":"subscribe","params":"AM.AAPL","since":{"AM.AAPL":"<stream id>"}}:
 * the entries (td_since_parse; channels named with the cluster's event
 * prefixes) in *out (malloc'd, NULL if none) and *n. msg must have passed
 * td_polygon_server_parse. Returns 0 (no "since", or null: *n = 0) or -1
 * if "since" is malformed (nothing set). */
int td_polygon_server_since(td_polygon_cluster_t c, const char *msg, size_t len,
                            td_alpaca_since_t **out, size_t *n);

/* The topics of a params list, in order (td_polygon_params_each). */
typedef struct td_polygon_topic_s {
    td_kind_t kind;
    char *sym; /* NUL-terminated; "*" for the wildcard */
    size_t len;
} td_polygon_topic_t;

typedef struct td_polygon_topics_s {
    td_polygon_topic_t *v;
    size_t n, cap;
} td_polygon_topics_t;

/* Parses params into t (zero-initialised by the caller). Returns the number
 * of topics, or -1 with *bad and *bad_len as td_polygon_params_each (t stays
 * empty). */
int td_polygon_topics_parse(td_polygon_cluster_t c, const char *params, td_polygon_topics_t *t,
                            const char **bad, size_t *bad_len);
void td_polygon_topics_free(td_polygon_topics_t *t);

/* The cluster whose tickers look like sym: options "O:…", forex "EUR/USD",
 * crypto "BTC-USD", stocks anything else. */
td_polygon_cluster_t td_polygon_ticker_cluster(const char *sym, size_t n);

#endif
