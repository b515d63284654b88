/* SPDX-License-Identifier: Apache-2.0 */
/* One Redis connection that tickerd owns on its libuv loop: TCP, TLS
 * (OpenSSL on memory BIOs) or a unix socket; the handshake (AUTH, SELECT,
 * PING); pipelined writes straight from a buffer; replies parsed in place by
 * redis/resp; connect, handshake and reply timeouts; reconnect with backoff.
 *
 * Writing: the owner appends RESP to td_rconn_out() and calls
 * td_rconn_send() with the number of commands it appended; the bytes go out
 * at once with one write(2) when the socket takes them, and only what the
 * kernel refused waits for writability (so the write interest is on only
 * while output is pending: no epoll_ctl per loop turn).
 *
 * Several connections (one per node: a cluster, Sentinel's sentinels and
 * master) are driven by one owner: each reports to the callbacks with its
 * own td_rconn_t, and td_rconn_set_node() points one at another address.
 *
 * Every log line names the URL with its password masked. Callbacks are never
 * called from inside a call the owner makes (only from loop callbacks); an
 * owner may call any td_rconn_* function (including _close) from inside a
 * callback. */
#ifndef TD_REDIS_CONN_H
#define TD_REDIS_CONN_H

#include "core/buf.h"
#include "redis/resp.h"
#include "redis/url.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct td_rconn_s td_rconn_t;

typedef enum {
    TD_RCONN_DOWN,       /* waiting to (re)connect */
    TD_RCONN_CONNECTING, /* TCP connect, TLS handshake */
    TD_RCONN_HANDSHAKE,  /* AUTH / SELECT / PING sent, not all answered */
    TD_RCONN_READY,
    TD_RCONN_CLOSED,
} td_rconn_state_t;

typedef struct td_rconn_cfg_s {
    const td_redis_url_t *url;   /* borrowed during _new: scheme, credentials, db, first node */
    const td_redis_node_t *node; /* TCP/TLS address (NULL: the URL's first node); copied */
    const char *ca_file, *cert_file, *key_file; /* TLS (NULL: system CAs, no client cert) */
    const char *name;                    /* log label, e.g. "redis" or "redis source"; copied */
    double timeout_s;                    /* connect, handshake and reply bound (0: 5 s) */
    double backoff_min_s, backoff_max_s; /* reconnect delays (0: 0.1 s, 5 s) */
    int no_auth, no_db;                  /* skip AUTH / SELECT (a Sentinel's own connection) */
    int quiet;       /* log connects and failures at debug level (sentinel probes) */
    int want_master; /* handshake checks ROLE: a replica is refused (Sentinel) */
    int lazy_read;   /* once READY, replies are read when the owner next sends (or within
                        5 ms), not when they arrive: one loop wake-up per pipelined batch
                        instead of two (for owners that only count replies) */
    int idle_ping;   /* PING after timeout/2 of silence (pub/sub: to notice a mute
                        Redis); the owner sees the replies ("PONG" or ["pong",""]) */
} td_rconn_cfg_t;

typedef struct td_rconn_cb_s {
    /* The handshake is done: commands may be sent. */
    void (*on_ready)(void *ud, td_rconn_t *c);
    /* One reply or pub/sub message, in order: the reply is r->v[0] (nodes
     * point into the connection's buffer: valid during the call only). */
    void (*on_reply)(void *ud, td_rconn_t *c, const td_resp_reader_t *r);
    /* A READY connection went down; `unanswered` commands were sent and
     * not answered (lost). It reconnects by itself afterwards. */
    void (*on_down)(void *ud, td_rconn_t *c, uint64_t unanswered);
} td_rconn_cb_t;

typedef struct td_rconn_stats_s {
    td_rconn_state_t state;
    uint64_t connects;   /* handshakes completed */
    uint64_t failures;   /* connects, handshakes or connections that failed */
    uint64_t timeouts;   /* of them: no answer within the bound */
    uint64_t unanswered; /* commands sent, not answered yet */
    uint64_t waiting_ms; /* how long the oldest of them has waited (0: none) */
    uint64_t bytes_out, bytes_in;
} td_rconn_stats_t;

/* NULL (with a one-line reason in err) if TLS cannot be set up (CA file,
 * client certificate). Borrows loop; the connection is idle until _start. */
td_rconn_t *td_rconn_new(uv_loop_t *loop, const td_rconn_cfg_t *cfg, const td_rconn_cb_t *cb,
                         void *ud, char *err, size_t errlen);
/* Connects now (and after every failure, with backoff). */
void td_rconn_start(td_rconn_t *c);
/* Points the connection at another node; if it is connected to a different
 * one, it reconnects now (on_down first if it was READY). */
void td_rconn_set_node(td_rconn_t *c, const char *host, int port);
/* Closes the socket now (on_down if it was READY) and reconnects after the
 * backoff delay. `why` is logged (NULL: not logged). */
void td_rconn_drop(td_rconn_t *c, const char *why);

/* The output buffer (append RESP to it), or NULL unless READY. */
td_buf_t *td_rconn_out(td_rconn_t *c);
/* Sends what was appended to the output buffer; `ncmds` replies are now
 * expected (for the reply timeout; pub/sub owners pass what they expect). */
void td_rconn_send(td_rconn_t *c, uint32_t ncmds);
/* Formats and sends one command (argv[i] of lens[i] bytes). -1 unless READY. */
int td_rconn_command(td_rconn_t *c, int argc, const char *const *argv, const size_t *lens);

td_rconn_state_t td_rconn_state(const td_rconn_t *c);
void td_rconn_stats(const td_rconn_t *c, td_rconn_stats_t *out);
/* The URL with its password masked (for the owner's log lines). */
const char *td_rconn_label(const td_rconn_t *c);
/* "host:port" (or the socket path) of the node it connects to. */
const char *td_rconn_addr(const td_rconn_t *c);
/* The last failure (connect, handshake, Redis error, timeout): static until
 * the next one; "" if none. */
const char *td_rconn_last_error(const td_rconn_t *c);

/* Closes everything; `done` is called once all handles are closed (never
 * from inside _close; the loop must run until then). on_down is not called.
 * Then _free. */
void td_rconn_close(td_rconn_t *c, void (*done)(void *ud), void *ud);
void td_rconn_free(td_rconn_t *c);

#endif
