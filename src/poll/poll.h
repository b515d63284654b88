/* SPDX-License-Identifier: Apache-2.0 */
/* The REST poller: turns a quote endpoint with a tiny quota (Alpha Vantage's
 * GLOBAL_QUOTE) into a stream of `quotes` events.
 *
 * What is polled is what is wanted (td_poll_want: the static set and live
 * interest from the bus). One call in flight per ticker, whatever the number
 * of subscribers. Calls are spent under two quotas (per minute and per day,
 * sliding windows, so never more than N calls in any window); the ticker
 * polled next is the most overdue one, weighted by its number of
 * subscribers, so every ticker is refreshed in turn and popular ones first.
 * The effective refresh period is max(interval, tickers / quota rate); it is
 * logged when it changes.
 *
 * Responses (PROTOCOLS.md §5; the HTTP status is never trusted alone): a new
 * value (one that changed) is published as a `quotes` event with the
 * vendor's object as payload; "Note"/"Information" (throttled) stops all
 * calls until the window frees up, without burning quota; "Error Message"
 * and an unknown symbol are permanent for that ticker (logged once, reported
 * through on_error) until it is wanted again; 5xx, timeouts and malformed
 * bodies retry that ticker with backoff. */
#ifndef TD_POLL_POLL_H
#define TD_POLL_POLL_H

#include "http/http.h"
#include "proto/event.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct td_poll_s td_poll_t;

typedef struct td_poll_cfg_s {
    const char *url;        /* http://HOST:PORT/query (borrowed during _new) */
    const char *key;        /* apikey; copied, never logged */
    double interval_s;      /* wanted refresh period per ticker */
    uint32_t per_minute;    /* calls per minute window (0: no limit) */
    uint32_t per_day;       /* calls per day window (0: no limit) */
    double minute_s, day_s; /* the windows' lengths (60, 86400; shorter in tests) */
    double timeout_s;       /* per call */
} td_poll_cfg_t;

typedef struct td_poll_cb_s {
    void (*on_event)(void *ud, const td_event_t *ev);
    /* A permanent error for sym ("unknown symbol", or the vendor's text). */
    void (*on_error)(void *ud, const char *sym, size_t n, const char *why);
    /* Subscribers of sym now (for priority); NULL: all count as 1. */
    size_t (*subscribers)(void *ud, const char *sym, size_t n);
} td_poll_cb_t;

typedef struct td_poll_stats_s {
    uint64_t calls, quotes, published, unchanged, throttled, errors, retries;
    size_t tickers;            /* wanted now */
    double effective_period_s; /* refresh period each ticker gets now */
} td_poll_stats_t;

/* http is borrowed (shared with others). NULL + err if cfg is unusable. */
td_poll_t *td_poll_new(uv_loop_t *loop, td_http_t *http, const td_poll_cfg_t *cfg,
                       const td_poll_cb_t *cb, void *ud, char *err, size_t errlen);
void td_poll_start(td_poll_t *p);
/* Interest: sym "*" is not supported by a REST vendor (ignored, logged). */
void td_poll_want(td_poll_t *p, const char *sym, size_t n, int wanted);
void td_poll_stats(const td_poll_t *p, td_poll_stats_t *out);
void td_poll_stop(td_poll_t *p, void (*done)(void *ud), void *ud);
void td_poll_free(td_poll_t *p);

#endif
