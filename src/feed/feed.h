/* SPDX-License-Identifier: Apache-2.0 */
/* The upstream feed: one WebSocket connection to a vendor stream (Alpaca
 * or Polygon dialect) over the caller's libuv loop: a libuv TCP stream,
 * OpenSSL over memory BIOs for wss:// and tickerd's own frame codec
 * (feed/ws_conn.c, proto/ws_client.c).
 *
 * The host name is looked up off the loop (libuv's thread pool), with a
 * timeout; the connection goes to the address, with the name in Host, SNI
 * and the certificate check.
 *
 * connect → greeting → auth → subscribe (the current set) → stream. On any
 * drop it reconnects with exponential backoff and jitter (reset once a
 * connection has been healthy for a while) and resubscribes. A watchdog pings
 * a quiet connection and drops one that answers neither data nor pong.
 * Vendor errors are handled per PROTOCOLS.md §1.5: 406 (another instance
 * holds the account) backs off long and never fights; 402 and 409 are fatal
 * and reported through on_fatal; 405 is logged with the symbols that did
 * not fit. */
#ifndef TD_FEED_FEED_H
#define TD_FEED_FEED_H

#include "proto/alpaca_client.h"
#include "proto/event.h"
#include "proto/sub.h"

#include <stdint.h>
#include <uv.h>

typedef struct td_feed_s td_feed_t;

typedef enum td_feed_state_e {
    TD_FEED_IDLE,
    TD_FEED_CONNECTING,
    TD_FEED_AUTHENTICATING,
    TD_FEED_SUBSCRIBING,
    TD_FEED_STREAMING,
    TD_FEED_WAITING, /* backing off before the next attempt */
    TD_FEED_STOPPED,
} td_feed_state_t;

/* "since" (a tickerd gateway's history replay, Alpaca dialect): channels
 * to resume and the stream id to resume each after. Owned by the feed's
 * user, who keeps the ids current; read whenever a subscribe is built, so a
 * reconnect resumes from the last id seen. */
typedef struct td_feed_since_s {
    td_alpaca_since_t *v;
    size_t n, cap;
} td_feed_since_t;

typedef struct td_feed_cfg_s {
    const char *dialect;                 /* "alpaca" (default) or "polygon" */
    const char *url;                     /* ws://HOST:PORT/PATH or wss://…; copied */
    const char *ca_file;                 /* wss: PEM CAs replacing the system's (NULL: system) */
    const char *key;                     /* copied; never logged */
    const char *secret;                  /* copied; never logged */
    const td_subset_t *subs;             /* what to subscribe; copied, filtered per stream */
    double backoff_min_s, backoff_max_s; /* reconnect schedule */
    double healthy_s;                    /* a connection up this long resets the schedule */
    double conn_limit_backoff_s;         /* delay after 406 connection limit exceeded */
    double ping_interval_s;              /* ping after this much silence */
    double ping_timeout_s;               /* drop if no pong (or data) this long after a ping */
    double resolve_timeout_s;            /* give up a name lookup after this (0: 10 s) */
    uint64_t seed;                       /* jitter */
    uint32_t max_symbols;                /* the plan's limit of distinct symbols (0: none) */
    size_t max_message; /* bytes of one upstream message (0: TD_FEED_MAX_MESSAGE); a longer
                         * one is skipped whole, up to its final fragment, as malformed */
    const td_feed_since_t *since; /* borrowed, must outlive the feed; NULL: none */
} td_feed_cfg_t;

/* An outage of a stream that had been streaming: from the last bytes
 * received before the connection was lost to the moment the vendor
 * confirmed the subscription again (or the connection was up again, with
 * nothing to subscribe). */
typedef struct td_feed_gap_s {
    int64_t from_ns, to_ns;  /* wall clock, ns since the epoch */
    const char *why;         /* why the connection was lost, in words */
    const td_subset_t *subs; /* what the stream subscribes (valid during the call) */
} td_feed_gap_t;

typedef struct td_feed_cb_s {
    void (*on_event)(void *ud, const td_event_t *ev);
    /* A vendor answer that retrying cannot fix (402 auth failed, 409
     * insufficient subscription). The feed stops itself first. */
    void (*on_fatal)(void *ud, const char *why);
    /* Streaming again after an outage (may be NULL). */
    void (*on_gap)(void *ud, td_feed_t *f, const td_feed_gap_t *gap);
} td_feed_cb_t;

/* Why the feed waits to reconnect: /metrics counts each. */
typedef enum td_feed_retry_e {
    TD_FEED_RETRY_RESOLVE,    /* the host name did not resolve */
    TD_FEED_RETRY_CONNECT,    /* TCP, TLS or WebSocket handshake failed */
    TD_FEED_RETRY_CLOSED,     /* the connection was closed or lost */
    TD_FEED_RETRY_KILLED,     /* tickerd closed it (watchdog, protocol error) */
    TD_FEED_RETRY_CONN_LIMIT, /* 406 connection limit exceeded */
    TD_FEED_RETRY__COUNT
} td_feed_retry_t;
const char *td_feed_retry_name(td_feed_retry_t r); /* "resolve", "connect", ... */

typedef struct td_feed_stats_s {
    uint64_t frames, events, malformed, unknown, bytes;
    uint64_t last_event_ms;                 /* td_mono_ms of the last event (or of _new) */
    uint64_t retries[TD_FEED_RETRY__COUNT]; /* reconnects scheduled, by reason */
    uint64_t connects;                      /* connections established */
    uint64_t reconnects;                    /* connections established after the first */
    uint64_t conn_limit;                    /* 406 answers */
    uint64_t gaps;                          /* outages reported through on_gap */
    td_feed_state_t state;
} td_feed_stats_t;

/* What td_feed_new checks of a dialect and URL, alone (nothing is
 * allocated, resolved or connected): 0, or -1 with a message in err. */
int td_feed_check_url(const char *dialect, const char *url, char *err, size_t errlen);

/* Returns NULL with a message in err if the config is unusable. */
td_feed_t *td_feed_new(uv_loop_t *loop, const td_feed_cfg_t *cfg, const td_feed_cb_t *cb, void *ud,
                       char *err, size_t errlen);
void td_feed_start(td_feed_t *f);
/* Stops reconnecting, closes the connection and the feed's handles; `done`
 * runs once they are closed (the connection too). */
void td_feed_stop(td_feed_t *f, void (*done)(void *ud), void *ud);
void td_feed_free(td_feed_t *f);
void td_feed_stats(const td_feed_t *f, td_feed_stats_t *out);

/* Adds (wanted=1) or removes (wanted=0) (kind, symbol) from what the feed
 * subscribes; sym "*" is the kind's wildcard. Ignored if this stream does not
 * carry it (kind not offered, or a symbol of the other asset class). Changes
 * made during a loop turn go upstream once, at the end of the turn, as one
 * unsubscribe and one subscribe diff, each split into messages of at most
 * TD_FEED_MAX_SUB_BYTES. After a reconnect the whole current set is sent. */
void td_feed_want(td_feed_t *f, td_kind_t kind, const char *sym, size_t n, int wanted);
/* Upstream subscription messages sent (for tests and metrics). */
uint64_t td_feed_sub_messages(const td_feed_t *f);

#define TD_FEED_MAX_SUB_BYTES 16384
#define TD_FEED_MAX_MESSAGE   ((size_t)64 << 20)
const char *td_feed_url(const td_feed_t *f);
/* Records every message of this feed, as received, into d (feed_record.c). */
struct td_recdir_s;
void td_feed_record(td_feed_t *f, struct td_recdir_s *d);
const char *td_feed_state_name(td_feed_state_t s);

#endif
