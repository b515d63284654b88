/* SPDX-License-Identifier: Apache-2.0 */
/* The client side of a vendor's market-data stream, sans I/O: what the feed
 * (feed/) drives over its WebSocket, one session per connection, for each
 * dialect through an ops table (td_csess_alpaca, td_csess_polygon).
 *
 * Fed complete vendor messages (td_csess_read) and time (td_csess_begin,
 * td_csess_tick), a session runs greeting → auth → subscribe (and later
 * reconcile) → streaming, and answers through a callbacks struct: frames to
 * send (auth, subscribe, unsubscribe), events (through the dialect's
 * splitter, td_alpaca_split / td_polygon_split), log lines, the vendor's
 * confirmed set when it changes, and one decision per control message
 * (td_csess_decision_t): go on, warn, retry, back off long (another
 * connection holds the account), or stop (retrying cannot help).
 *
 * The session keeps what it has asked the vendor on this connection
 * (`requested`) and what the vendor last confirmed; `want` (what should be
 * subscribed) is the shell's, borrowed. After each (re)connect the whole of
 * `want` is subscribed again, within the plan's limit of distinct symbols;
 * later changes go out as one unsubscribe diff then one subscribe diff, each
 * split into messages of at most about max_sub_bytes. No socket, loop or
 * clock is touched here: the callbacks run from td_csess_read,
 * td_csess_reconcile and td_csess_tick. */
#ifndef TD_PROTO_CLIENT_SESSION_H
#define TD_PROTO_CLIENT_SESSION_H

#include "core/buf.h"
#include "proto/alpaca_client.h" /* td_alpaca_since_t */
#include "proto/event.h"
#include "proto/sub.h"

#include <stddef.h>
#include <stdint.h>

typedef enum td_csess_phase_e {
    TD_CSESS_CLOSED,         /* no connection, or it is being closed */
    TD_CSESS_GREETING,       /* connected: waiting for the vendor's greeting */
    TD_CSESS_AUTHENTICATING, /* auth sent */
    TD_CSESS_SUBSCRIBING,    /* authenticated, subscriptions sent, none confirmed yet */
    TD_CSESS_STREAMING,      /* confirmed, or nothing to subscribe */
} td_csess_phase_t;

/* What the shell does after a control message (or a tick). */
#define TD_CSESS_VERDICTS(XX)                                                                      \
    XX(NONE, "none")                   /* informational: nothing to do */                          \
    XX(SEND_AUTH, "send_auth")         /* the greeting: the auth frame was sent */                 \
    XX(AUTHENTICATED, "authenticated") /* the subscribe frames were sent */                        \
    XX(STREAMING, "streaming")         /* a subscription confirmed: streaming */                   \
    XX(WARN, "warn")                   /* unexpected: logged, go on */                             \
    XX(SYMBOL_LIMIT, "symbol_limit")   /* what did not fit was logged: go on */                    \
    XX(RETRY, "retry")                 /* close and reconnect with the usual backoff */            \
    XX(CONN_LIMIT, "conn_limit")       /* another connection holds the account: back off long */   \
    XX(FATAL, "fatal")                 /* retrying cannot help: stop */

typedef enum td_csd_e {
#define XX(name, text) TD_CSD_##name,
    TD_CSESS_VERDICTS(XX)
#undef XX
        TD_CSD__VERDICTS
} td_csd_t;

const char *td_csess_verdict_name(td_csd_t v);       /* "retry" */
const char *td_csess_phase_name(td_csess_phase_t p); /* "streaming" */

typedef struct td_csess_decision_s {
    td_csd_t verdict;
    int code;               /* the vendor's error code (Alpaca "error"), else 0 */
    td_csess_phase_t phase; /* the session's phase after the message */
    /* RETRY, CONN_LIMIT, FATAL: the reason in words, for the log and the
     * owner ("auth failed (402): ..."); "" otherwise. Valid during the
     * callback only. */
    const char *why;
} td_csess_decision_t;

typedef struct td_csess_cb_s {
    /* One text frame for the vendor (valid during the call only). */
    void (*send)(void *ud, const char *p, size_t n);
    void (*event)(void *ud, const td_event_t *ev);
    /* The decision on each control message, and on a handshake timeout. */
    void (*decision)(void *ud, const td_csess_decision_t *d);
    /* A line for the log at level TD_LOG_* (core/log.h), without the
     * stream's name. May be NULL. */
    void (*log)(void *ud, int level, const char *line);
    /* The vendor's confirmed set changed. May be NULL. */
    void (*confirmed)(void *ud, const td_subset_t *set);
} td_csess_cb_t;

typedef struct td_csess_cfg_s {
    const char *key, *secret; /* borrowed; never logged */
    const char *path;         /* the stream's path, for messages ("/v2/sip") */
    unsigned kinds;           /* what the stream offers (bitmask of 1u << kind) */
    int cluster;              /* Polygon: td_polygon_cluster_t */
    uint32_t max_symbols;     /* the plan's limit of distinct symbols (0: none) */
    size_t max_sub_bytes;     /* about this many bytes per subscribe message (0: 16384) */
    uint32_t handshake_ms;    /* greeting, auth and first confirmation within (0: 15000) */
    const td_subset_t *want;  /* borrowed: what should be subscribed */
    /* Alpaca, tickerd's extension: resume these channels after these ids
     * (added as "since" to the subscribe messages that name them). */
    const td_alpaca_since_t *since;
    size_t nsince;
} td_csess_cfg_t;

typedef struct td_csess_s td_csess_t;

/* A dialect. */
typedef struct td_csess_ops_s {
    const char *name;
    /* Appends the auth message to b. */
    void (*build_auth)(const td_csess_t *s, td_buf_t *b);
    /* Appends one subscribe/unsubscribe message for part to b. */
    void (*build_sub)(const td_csess_t *s, td_buf_t *b, const char *action,
                      const td_subset_t *part);
    /* Reads one complete message. 0, or -1 if it was malformed. */
    int (*read)(td_csess_t *s, const char *p, size_t n);
} td_csess_ops_t;

extern const td_csess_ops_t td_csess_alpaca, td_csess_polygon;

struct td_csess_s {
    const td_csess_ops_t *ops;
    td_csess_cfg_t cfg;
    td_csess_cb_t cb;
    void *ud;
    td_csess_phase_t phase;
    uint64_t began_ms;
    td_subset_t requested; /* everything asked on this connection */
    td_subset_t confirmed; /* the vendor's confirmed set */
    size_t unfit;          /* wanted subscriptions left out for the symbol limit */
    size_t unfit_logged;   /* the count last logged */
    size_t sub_expect;     /* confirmations still expected for the first subscribe */
    td_buf_t note;         /* topics confirmed one status each, for one log line */
    size_t note_more;      /* confirmed, not in note (the line is full) */
    int note_open;         /* note has topics not yet logged */
    uint64_t sub_messages; /* subscribe/unsubscribe messages sent */
    uint64_t unknown;      /* elements the splitter skipped */
    char why[256];         /* the decision's reason */
    td_buf_t line, out;    /* scratch: a log line, an outgoing frame */
};

/* cfg and cb are copied (what cfg points to is borrowed). */
void td_csess_init(td_csess_t *s, const td_csess_ops_t *ops, const td_csess_cfg_t *cfg,
                   const td_csess_cb_t *cb, void *ud);
void td_csess_free(td_csess_t *s);
/* A connection is open (the upgrade succeeded) at now_ms: greeting next;
 * nothing is requested on it yet. */
void td_csess_begin(td_csess_t *s, uint64_t now_ms);
/* The connection is gone: logs the topics confirmed but not yet logged;
 * phase CLOSED. */
void td_csess_end(td_csess_t *s);
/* One complete message from the vendor. 0, or -1 if it was malformed
 * (nothing was reported then). */
int td_csess_read(td_csess_t *s, const char *p, size_t n);
/* `want` changed: while subscribing or streaming, sends the difference
 * (nothing otherwise: after auth the whole of `want` goes out). */
void td_csess_reconcile(td_csess_t *s);
/* Time passes: a connection that has not finished greeting, auth and its
 * first confirmation within handshake_ms gets a RETRY decision (returns 1;
 * 0 when there is nothing to decide). */
int td_csess_tick(td_csess_t *s, uint64_t now_ms);

/* For the dialects (client_session.c). */
void td__csess_decide(td_csess_t *s, td_csd_t v, int code, const char *why);
void td__csess_log(td_csess_t *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void td__csess_send(td_csess_t *s, const td_buf_t *b);
void td__csess_event(td_csess_t *s, const td_event_t *ev);
/* In phase CLOSED a control message is ignored (decision NONE): returns 1. */
int td__csess_closed(td_csess_t *s);
/* Greeting: sends the auth message (in GREETING only). */
void td__csess_greeting(td_csess_t *s);
/* Authenticated (in GREETING or AUTHENTICATING): subscribes the whole of
 * `want`. */
void td__csess_authenticated(td_csess_t *s);
/* Confirmed set replaced (Alpaca): calls cb.confirmed if it differs. */
void td__csess_confirmed_set(td_csess_t *s, td_subset_t *now);
/* A topic list confirmed one status each (Polygon): count topics, the text
 * for the log line. */
void td__csess_note(td_csess_t *s, size_t count, const char *topics, size_t n);
/* The confirmation arrived: phase STREAMING, decision STREAMING (before
 * auth: a warning). */
void td__csess_streaming(td_csess_t *s);

#endif
