/* SPDX-License-Identifier: Apache-2.0 */
/* Refill: after an upstream outage (or an HA takeover), fetch the window's
 * bars from the vendor's REST history and hand them back as the stream's
 * own events, marked as refilled, without the ones already delivered.
 *
 *   td_refill_t *r = td_refill_new(loop, &cfg, &cb, ud, err, sizeof err);
 *   td_bus_tap(bus, tap -> td_refill_seen(r, ev))      // what was delivered
 *   td_refill_start(r, from, to, what, label, token)   // on_event..., on_done
 *   td_refill_stop(r, done, ud); ...; td_refill_free(r);
 *
 * Jobs run one after the other, one request in flight, each request under
 * a sliding-window rate limit (the backfill's rule: a call starts only when
 * the N-th latest is a whole window old). libcurl's multi API on the loop
 * (http/): the loop never waits for the vendor, live events never wait for
 * a refill. Alpaca: /v2/stocks/bars (and /v1beta3/crypto/us/bars for
 * symbols with '/'; /trades and /quotes likewise), up to 100 symbols per
 * request, next_page_token;
 * Polygon: /v2/aggs/ticker/{T}/range/1/minute/{from}/{to}, /v3/trades/{T}
 * and /v3/quotes/{T} (timestamp.gte/lt in ns), next_url. A
 * request is retried on 429 (after Retry-After) and on 5xx or transport
 * errors (3 tries); another answer fails its symbols. */
#ifndef TD_REFILL_REFILL_H
#define TD_REFILL_REFILL_H

#include "proto/event.h"
#include "proto/sub.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct td_refill_s td_refill_t;

typedef struct td_refill_cfg_s {
    const char *vendor;       /* "alpaca" or "polygon" */
    const char *base_url;     /* REST base, e.g. https://data.alpaca.markets; copied */
    const char *key, *secret; /* Alpaca key id and secret; Polygon: key. Copied */
    unsigned kinds;           /* 1u << kind of what is refilled: bars, trades, quotes */
    uint32_t max_symbols;     /* a wildcard's trades or quotes: at most this many symbols
                                 (those seen first; 0: no limit) */
    double rate_n, rate_s;    /* at most rate_n requests per rate_s seconds (0: no limit) */
    double delay_s;           /* wait after the window closed before the first request */
    int64_t bar_ns;           /* length of a minute bar (60 s; the sim may compress it) */
    uint32_t timeout_ms;      /* per request (0: 10 s) */
    size_t remember;          /* delivered events remembered for the dedupe (0: 65536) */
} td_refill_cfg_t;

/* A job as on_done sees it. */
typedef struct td_refill_job_s {
    int64_t from_ns, to_ns;  /* the window */
    const td_subset_t *what; /* what was refilled (the kinds of cfg.kinds) */
    const char *label;       /* the caller's (the feed's URL) */
    uint64_t token;          /* the caller's (HA fencing token, or 0) */
    const char *outcome;     /* "done", "partial" or "impossible" */
    uint64_t events;         /* refilled events handed to on_event */
    uint64_t skipped;        /* records already delivered live */
    const char *why;         /* the first failure, or NULL */
} td_refill_job_t;

typedef struct td_refill_cb_s {
    void (*on_event)(void *ud, const td_event_t *ev); /* a refilled event: publish it */
    void (*on_done)(void *ud, const td_refill_job_t *job);
} td_refill_cb_t;

typedef struct td_refill_stats_s {
    uint64_t jobs, done, partial, impossible; /* jobs started; finished, by outcome */
    uint64_t requests, retries, events, skipped;
    uint64_t queued; /* jobs waiting or running now */
} td_refill_stats_t;

/* NULL + err on a bad vendor or URL. Initialises handles on loop: release
 * with _stop (run the loop until done), then _free. */
td_refill_t *td_refill_new(uv_loop_t *loop, const td_refill_cfg_t *cfg, const td_refill_cb_t *cb,
                           void *ud, char *err, size_t errlen);
/* Every event delivered (a bus tap): remembered for the dedupe, and the
 * symbols with bars for a wildcard's refill. */
void td_refill_seen(td_refill_t *r, const td_event_t *ev);
/* Queues the refill of [from_ns, to_ns] for the kinds of `what` that
 * cfg.kinds names (copied; a wildcard of bars means every symbol seen with
 * bars). Returns 0 (on_done will be called), or -1 if nothing in `what` is
 * refilled (no call). */
int td_refill_start(td_refill_t *r, int64_t from_ns, int64_t to_ns, const td_subset_t *what,
                    const char *label, uint64_t token);
/* The part of `what` the refill covers (cfg.kinds), into out (cleared). */
void td_refill_covered(const td_refill_t *r, const td_subset_t *what, td_subset_t *out);
void td_refill_stats(const td_refill_t *r, td_refill_stats_t *out);
/* The earliest window start (from_ns) of the jobs queued (running or
 * waiting) that refill kind k; INT64_MAX if none. */
int64_t td_refill_earliest(const td_refill_t *r, td_kind_t k);
/* Cancels what runs (no more on_done), closes the handles; done later. */
void td_refill_stop(td_refill_t *r, void (*done)(void *ud), void *ud);
void td_refill_free(td_refill_t *r);

/* "bars,trades,quotes" (or "none") -> kind bits; -1 with a message on an
 * unknown word. */
int td_refill_parse_kinds(const char *s, unsigned *kinds, char *err, size_t errlen);
/* The REST base URL of a stream URL: wss://stream.data.alpaca.markets/...
 * -> https://data.alpaca.markets, wss://socket.polygon.io/... ->
 * https://api.polygon.io, else ws(s)://HOST:PORT/... -> http(s)://HOST:PORT.
 * 0, or -1 if url is not ws:// or wss://. */
int td_refill_rest_base(const char *url, char *out, size_t cap);

#endif
