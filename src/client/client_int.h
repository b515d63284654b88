/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/client (libtickerd): the service table, the event field
 * lookups and the client's internals shared by its files. */
#ifndef TD_CLIENT_INT_H
#define TD_CLIENT_INT_H

#include "proto/event.h"
#include "proto/vendor.h"
#include "tickerd/tickerd.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __GNUC__
#define TDC_API __attribute__((visibility("default")))
#else
#define TDC_API
#endif

td_kind_t tdc_service_kind(tickerd_service_t s);
/* The stream class of a service (its asset class). */
td_class_t tdc_service_asset(tickerd_service_t s);
/* The kind subscribed upstream for it (corrections and cancel errors come
 * with trades). */
td_kind_t tdc_upstream_kind(td_kind_t k);
/* The stream path of asset a for vendor v ("/v2/<alpaca_feed>" for Alpaca
 * stocks), written into out; returns 0, or -1 if the vendor has no such
 * stream. */
int tdc_stream_path(tickerd_vendor_t v, td_class_t a, const char *alpaca_feed, char *out,
                    size_t cap);
/* The service of (vendor, asset, kind), or -1. */
int tdc_service_of(tickerd_vendor_t v, td_class_t a, td_kind_t k);

/* The value of the last top-level member named key (compared decoded) of
 * the JSON object [obj, obj+len) (td_json_member): 0 with [*v, *v+*vlen)
 * (strings without their quotes, still escaped), or -1. */
int tdc_json_member(const char *obj, size_t len, const char *key, const char **v, size_t *vlen,
                    int *is_string);

/* Test and benchmark hook, not exported (libtickerd.map keeps only tickerd_*;
 * bench/bench_client.c compiles the client's sources in). Runs one complete
 * WebSocket message [data, data+len), as if received on the client's stream
 * at path ("/stocks", "/v2/iex"), through the code a received message runs
 * after the socket layer: the feed's dialect read (td_polygon_split or
 * td_alpaca_split) -> td__feed_event -> the client's dispatch (service of the
 * kind, subscription check) -> the service's handler. Skipped: lws, and the
 * feed's per-message bookkeeping (receive time, frame and byte counters, the
 * malformed-frame log). Only for a client that was never started: on first
 * use the stream's feed is created but not connected, and set streaming as
 * after the vendor's confirmation (the state callback gets STREAMING).
 * Returns 0, or -1 (path not a stream of the client's vendor, client started
 * or closing, malformed frame). */
int td__client_feed_frame(tickerd_client_t *c, const char *path, const char *data, size_t len);

#endif
