/* SPDX-License-Identifier: Apache-2.0 */
/* The server side of a vendor stream session, sans-I/O (PROTOCOLS.md
 * §1.3–§1.5 for Alpaca, §3.2 for Polygon): the greeting, the auth state
 * machine (403 already authenticated, 401 before auth, 404 auth timeout),
 * the subscription set, the checks on a subscribe (410 kinds not offered,
 * 405 symbol limit, 409 outside a token's claims, the subscribe rate), the
 * confirmations and the error frames, byte for byte as the vendor. Used by
 * the gateway (gateway/client.c) and the simulator (sim/session.c), which
 * own the socket, the queues and the policies; they feed the session
 * complete messages and the time, and it answers through td_srv_cb_t.
 * One ops table per dialect (alpaca_session_server.c,
 * polygon_session_server.c). */
#ifndef TD_PROTO_SERVER_SESSION_H
#define TD_PROTO_SERVER_SESSION_H

#include "proto/alpaca_client.h"
#include "proto/alpaca_server.h"
#include "proto/polygon.h"
#include "proto/sub.h"
#include "proto/vendor.h"

#include <stddef.h>
#include <stdint.h>

/* What the auth hook answers besides an error code (402, 406, 409, …). */
#define TD_SRV_AUTH_OK   0
#define TD_SRV_AUTH_HELD (-1) /* checked later: td_srv_sess_auth_done */

/* What the sub_rate hook answers. */
#define TD_SRV_RATE_OK     0
#define TD_SRV_RATE_REFUSE 1 /* refused (told; the subscription is unchanged) */
#define TD_SRV_RATE_CLOSE  2 /* refused, and the client is closed after it */

#define TD_SRV_RATE_TEXT "subscribe rate limit exceeded"

/* An error frame the session sent. */
typedef struct td_srv_error_s {
    int code;           /* 400–411; 0 for a Polygon status of its own */
    const char *status; /* Polygon's status word ("error", "auth_failed", …); NULL on Alpaca */
    const char *text;   /* the message text */
    const char *why;    /* an unreadable message: the reader's reason (debug); else NULL */
    int close;          /* the session closes after it (close is called) */
    int malformed;      /* the client's message could not be used */
    int counted;        /* counts against the client's error budget (the hook's answer) */
} td_srv_error_t;

/* A subscribe or unsubscribe that was applied (and confirmed). */
typedef struct td_srv_applied_s {
    int add;                        /* subscribe (1) or unsubscribe (0) */
    const td_subset_t *fresh;       /* names newly subscribed (snapshots) */
    unsigned snapshot_all;          /* kinds whose wildcard asked "snapshot":true */
    const td_alpaca_since_t *since; /* tickerd's "since" entries of a subscribe */
    size_t nsince;                  /*   (0: none) */
    int gaps;                       /* a subscribe with "gaps":true */
    const char *what;               /* for a log line: "trades=AAPL;quotes=*", "T.AAPL,Q.MSFT" */
} td_srv_applied_t;

typedef struct td_srv_cb_s {
    /* A control frame (JSON text, one complete message). Required. */
    void (*send)(void *ud, const char *frame, size_t len);
    /* No more data: close after what is queued (the error code that closes
     * it, 0 if none). The session answers nothing more. Required. */
    void (*close)(void *ud, int code);
    /* Credentials of an auth message or of the upgrade (how: "message",
     * "headers", "url"); key and secret may be NULL (absent), secret always
     * is on Polygon. TD_SRV_AUTH_OK, TD_SRV_AUTH_HELD, or an error code
     * (402 and 406 close). Required. */
    int (*auth)(void *ud, const char *key, size_t kn, const char *secret, size_t sn,
                const char *how);
    /* The remaining hooks may be NULL. */
    /* An error frame was sent; returns 1 if the client's error budget is
     * spent (counted errors only): it is closed. */
    int (*error)(void *ud, const td_srv_error_t *e);
    /* One entry of the set changed (corrections and cancelErrors follow
     * trades and are not reported). */
    void (*interest)(void *ud, td_kind_t k, const char *sym, size_t n, int add);
    /* Whether the client may subscribe (k, sym) ("*": the wildcard); a
     * subscribe loses what it may not (409). */
    int (*allow)(void *ud, td_kind_t k, const char *sym, size_t n);
    /* What allow took out of a subscribe, for a log line. */
    void (*denied)(void *ud, const char *what);
    /* A subscribe naming n symbols: TD_SRV_RATE_*. */
    int (*sub_rate)(void *ud, size_t n);
    /* After a subscribe or unsubscribe was applied and confirmed. */
    void (*applied)(void *ud, const td_srv_applied_t *a);
} td_srv_cb_t;

typedef struct td_srv_cfg_s {
    const td_vstream_t *vs;   /* the path's stream: its vendor picks the dialect */
    size_t max_symbols;       /* symbols a client may name (0: any) */
    uint64_t auth_timeout_ms; /* 0: none */
    /* Alpaca: the reader of a client message (NULL: JSON,
     * td_alpaca_client_parse) and whether binary frames are messages. */
    int (*parse)(const char *p, size_t n, td_alpaca_client_msg_t *m);
    int binary;
    size_t max_message; /* bytes of one message reassembled by td_srv_sess_rx */
} td_srv_cfg_t;

struct td_srv_ops_s;

typedef struct td_srv_sess_s {
    const struct td_srv_ops_s *ops;
    td_srv_cfg_t cfg;
    td_class_t cls;               /* cfg.vs's class */
    td_polygon_cluster_t cluster; /* Polygon: the class as a cluster */
    const td_srv_cb_t *cb;
    void *ud;
    uint64_t open_ms;
    int authed;
    int auth_held; /* the auth hook held an auth back */
    int closing;   /* close was called */
    td_subset_t sub;
    td_buf_t rx; /* td_srv_sess_rx: the message so far */
    int rx_overflow, rx_binary;
} td_srv_sess_t;

/* A zeroed session may be freed; cb is borrowed (a static table). */
void td_srv_sess_init(td_srv_sess_t *s, const td_srv_cfg_t *cfg, const td_srv_cb_t *cb, void *ud,
                      uint64_t now_ms);
void td_srv_sess_free(td_srv_sess_t *s);

/* The greeting; credentials of the upgrade's headers (either non-NULL) are
 * checked as an auth message where the dialect has header auth (Alpaca;
 * td_srv_header_auth), else ignored. */
void td_srv_sess_open(td_srv_sess_t *s, const char *hkey, const char *hsecret);
/* One complete client message (binary: a binary frame). */
void td_srv_sess_message(td_srv_sess_t *s, const char *msg, size_t len, int binary);
/* One fragment of a client message (final: its last); reassembled up to
 * cfg.max_message bytes, then handed to td_srv_sess_message. Returns 1 if
 * a message over the limit was dropped (and told, td_srv_sess_oversize). */
int td_srv_sess_rx(td_srv_sess_t *s, const void *in, size_t len, int final, int binary);
/* A message over the shell's size limit was dropped: 400 (Alpaca),
 * "message too large" (Polygon); malformed. */
void td_srv_sess_oversize(td_srv_sess_t *s);
/* A token on the upgrade URL (?token=), as the dialect's auth carries one
 * (Alpaca: key "jwt" and the token as the secret; Polygon: the key). */
void td_srv_sess_token(td_srv_sess_t *s, const char *tok, size_t n);
/* Credentials from elsewhere, as an auth. */
void td_srv_sess_auth(td_srv_sess_t *s, const char *key, size_t kn, const char *secret, size_t sn,
                      const char *how);
/* A held-back auth was checked: rc as the auth hook's. */
void td_srv_sess_auth_done(td_srv_sess_t *s, int rc);
/* The time: 404 (Polygon: auth_timeout) and a close once the auth timeout
 * has passed without an auth. */
void td_srv_sess_tick(td_srv_sess_t *s, uint64_t now_ms);
/* An error the shell raises (401 over a budget, 402 token expired, 406,
 * 407 slow client) in the dialect; with close, the session closes after
 * it; without, it counts against the error budget. Nothing once closing. */
void td_srv_sess_error(td_srv_sess_t *s, int code, int close);
/* An error with a text of our own, not counted: Alpaca
 * [{"T":"error","code":CODE,"msg":TEXT}], Polygon an "error" status. */
void td_srv_sess_refuse(td_srv_sess_t *s, int code, const char *text);

/* The frame of error code in vendor v's dialect, appended to b; returns
 * its text. */
const char *td_srv_error_frame(td_vendor_t v, td_buf_t *b, int code);
/* tickerd's gap notice in v's dialect: members are the notice's JSON
 * members after its "type" (n bytes, ending with '}'), appended to b as one
 * frame (Alpaca: {"T":"gap",...}; Polygon: a "gap" status). */
void td_srv_gap_frame(td_vendor_t v, td_buf_t *b, const char *members, size_t n);
/* Whether v's dialect authenticates by the upgrade's headers (Alpaca's
 * APCA-API-KEY-ID / APCA-API-SECRET-KEY). */
int td_srv_header_auth(td_vendor_t v);
/* Whether v's auth is a key alone, a token standing for it (Polygon), rather
 * than a key and a secret (Alpaca: a token is the secret of key "jwt"). */
int td_srv_key_only(td_vendor_t v);
/* The kinds a session of cfg's path offers (bitmask of 1u << kind). */
unsigned td_srv_offered(const td_srv_cfg_t *cfg);

#endif
