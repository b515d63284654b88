/* SPDX-License-Identifier: Apache-2.0 */
/* Private to feed/: the connection state shared by feed.c (connection,
 * watchdog, reconnect, interest) and the dialects (feed_alpaca.c,
 * feed_polygon.c), which say what a stream carries and which client session
 * (proto/client_session.h: greeting, auth, subscribe, vendor errors) speaks
 * to the vendor. */
#ifndef TD_FEED_INT_H
#define TD_FEED_INT_H

#include "core/backoff.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/rng.h"
#include "feed/feed.h"
#include "proto/client_session.h"
#include "record/record.h"

typedef struct td_feed_dialect_s {
    const char *name;
    /* From f->path: f->kinds and the asset class. 0, or -1 with err. */
    int (*setup)(td_feed_t *f, char *err, size_t errlen);
    /* Whether (kind, symbol) belongs on this stream ("*" always does if the
     * kind is offered). */
    int (*carries)(const td_feed_t *f, td_kind_t kind, const char *sym, size_t n);
    /* The vendor's side of the conversation: auth and subscribe messages,
     * reading messages, control messages to decisions. */
    const td_csess_ops_t *session;
} td_feed_dialect_t;

extern const td_feed_dialect_t td__feed_alpaca, td__feed_polygon;

typedef struct td_wsconn_s td_wsconn_t; /* feed/ws_conn.c */
typedef struct td_rtls_ctx_s td_rtls_ctx_t;

struct td_feed_s {
    uv_loop_t *loop;
    td_wsconn_t *conn;      /* the connection (NULL: none, or it is closing) */
    td_rtls_ctx_t *tls_ctx; /* wss: CAs and verification (cfg->ca_file or the system) */
    td_feed_cb_t cb;
    void *ud;

    char *url, *host, *path, *key, *secret;
    int port, tls;
    char addr[64];                   /* host's IPv4 address, numeric */
    struct resolve_req_s *resolving; /* a name lookup in flight (feed.c) */
    uv_timer_t resolve_timer;        /* gives up on a lookup after resolve_timeout_ms */
    uint32_t resolve_timeout_ms;
    const td_feed_dialect_t *d;
    /* The stream (proto/vendor.h): kinds, symbol rule. */
    const struct td_vstream_s *vs;
    unsigned kinds;         /* what this stream offers */
    int cluster;            /* polygon: td_polygon_cluster_t */
    td_subset_t want;       /* what we subscribe after each (re)connect */
    uv_prepare_t diff_prep; /* sends the diffs at the end of the turn */
    int diff_pending;       /* want changed this turn */
    td_csess_t cs;          /* the session with the vendor (requested, confirmed) */

    td_feed_state_t state;
    td_backoff_t backoff;
    td_rng_t rng;
    uint32_t backoff_max_ms, healthy_ms, conn_limit_ms, ping_interval_ms, ping_timeout_ms;
    uint64_t established_ms, last_rx_ms, ping_sent_ms;
    uint64_t conn_started_ms; /* the current connection attempt began */
    int conn_limit_hit, fatal, stopping;
    char kill_why[192];  /* why we closed this connection (the reconnect line says it) */
    int streamed;        /* has streamed: a later outage is a gap */
    int64_t gap_from_ns; /* an outage open since (0: none) */
    char gap_why[192];

    size_t max_message; /* bytes of one message; a longer one is skipped whole */

    uv_timer_t retry_timer, watchdog;
    int open_handles;
    void (*stop_done)(void *ud);
    void *stop_ud;

    td_feed_stats_t st;
    td_ratelimit_t rl_malformed;
    td_rec_t *rec; /* --record: every message, as received (feed_record.c) */
};

/* Shared by the dialects (feed.c). */
void td__feed_set_state(td_feed_t *f, td_feed_state_t s);
void td__feed_queue(td_feed_t *f, const char *p, size_t n);
void td__feed_kill(td_feed_t *f, const char *why);
/* A vendor answer retrying cannot fix: stop and tell the owner. */
void td__feed_fatal(td_feed_t *f, const char *why);
/* One message from the vendor through the dialect's reader, as if it had
 * arrived on the socket (libtickerd's in-memory test hook). */
int td__feed_read(td_feed_t *f, const char *p, size_t n);
/* The connection (ws_conn.c) to feed.c: the upgrade succeeded; a complete
 * message (the one place messages reach the dialect); bytes of a message
 * over max_message dropped (first: a new one); the connection is gone (it
 * was detached before); a handle of the feed finished closing. */
void td__feed_established(td_feed_t *f);
void td__feed_message(td_feed_t *f, const char *p, size_t n);
void td__feed_skipped(td_feed_t *f, uint64_t n, int first);
void td__feed_closed(td_feed_t *f, td_feed_retry_t reason, const char *why);
void td__feed_handle_closed(td_feed_t *f);
/* feed.c to the connection: open one to f->addr (TLS for wss://, then the
 * upgrade); queue a text message (core/outq.h; -1 if no connection is
 * open); send what is queued, every frame in one write; send a frame at
 * once, after what is queued (-1 if no connection is open); close it, after
 * what is queued (the feed hears of it through td__feed_closed, from the
 * loop). */
void td__feed_conn_open(td_feed_t *f);
int td__feed_conn_queue(td_feed_t *f, const char *p, size_t n);
void td__feed_conn_flush(td_feed_t *f);
int td__feed_conn_send(td_feed_t *f, int opcode, const char *p, size_t n);
void td__feed_conn_close(td_feed_t *f, td_feed_retry_t reason, const char *why);
/* Another instance holds the account's connection: say so once and back off
 * long (never fight over it). */
void td__feed_conn_limit(td_feed_t *f, const char *what);
void td__feed_event(td_feed_t *f, const td_event_t *ev);

#endif
