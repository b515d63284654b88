/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/gateway: shared messages, per-client queues, codecs,
 * clients and the gateway itself. */
#ifndef TD_GATEWAY_GW_INT_H
#define TD_GATEWAY_GW_INT_H

#include "core/bucket.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/outq.h"
#include "gateway/gateway.h"
#include "gateway/jwt.h"
#include "proto/alpaca_client.h"
#include "proto/alpaca_server.h"
#include "proto/polygon.h"
#include "proto/server_session.h"
#include "proto/sub.h"

#include <libwebsockets.h>
#include <stdint.h>
#include <uv.h>

/* ---- codecs (codec.c) ------------------------------------------------------
 * How a client's frames are encoded: JSON text (the default) or, when the
 * upgrade asked for it, MessagePack. Events are encoded once per codec and
 * shared; a frame is open(n), the elements separated by sep, then close. */

enum { GW_CODEC_JSON = 0, GW_CODEC_MSGPACK, GW_CODECS };

typedef struct gw_codec_s {
    const char *name;
    int binary; /* binary frames (else text) */
    /* One vendor JSON object → one element. Returns 0, or -1 (unusable). */
    int (*element)(td_buf_t *out, const char *json, size_t len);
    /* A whole control frame (a JSON array) → a frame of this codec. */
    int (*control)(td_buf_t *out, const char *json, size_t len);
    td_outq_framing_t frame; /* open(n), sep, close */
    /* One complete client message → m (td_alpaca_client_parse's contract). */
    int (*parse)(const char *p, size_t n, td_alpaca_client_msg_t *m);
} gw_codec_t;

extern const gw_codec_t td__gw_codecs[GW_CODECS];

/* ---- shared messages and queues (core/outq.h) ------------------------------
 * Each client has a td_outq_t counting GW_ENTRY_OVERHEAD bytes per entry;
 * events are td_outmsg_t made once per codec and shared by every queue. */

#define GW_ENTRY_OVERHEAD 16 /* bytes counted per queue entry besides the data */

/* ---- limits on what a client can cost (guard.c) ----------------------------
 * Before it authenticates, a client may send GW_UNAUTH_BYTES bytes and
 * GW_UNAUTH_MSGS messages (its auth one included; a failed auth closes it),
 * else it gets 401 (Polygon: "not authorized") and is closed. Any client
 * past GW_ERRORS_BURST error replies in GW_ERRORS_MS is closed with the
 * last one. Client-caused log lines are rate-limited per client and across
 * clients. Failed auths are counted per source address: past GW_FAIL_FREE
 * of them (forgotten GW_FAIL_FORGET_MS after the last), the auths from
 * that address are checked one at a time, GW_FAIL_DELAY_MS apart, doubling
 * per further failure up to GW_FAIL_DELAY_MAX_MS; the client waits with
 * its reading paused. */

#define GW_UNAUTH_BYTES      8192 /* room for a token */
#define GW_UNAUTH_MSGS       3
#define GW_ERRORS_BURST      20
#define GW_ERRORS_MS         10000
#define GW_LOG_MS            10000
#define GW_LOG_CLIENT_BURST  5   /* lines per client per GW_LOG_MS */
#define GW_LOG_GLOBAL_BURST  100 /* lines of all clients per GW_LOG_MS */
#define GW_FAIL_FREE         5
#define GW_FAIL_FORGET_MS    60000
#define GW_FAIL_DELAY_MS     100
#define GW_FAIL_DELAY_MAX_MS 3000
#define GW_SOURCES           256 /* source addresses remembered */

/* One source address's failed auths. */
typedef struct gw_source_s {
    char ip[48]; /* "" : free */
    uint32_t fails;
    uint64_t last_fail_ms;
    uint64_t next_ms; /* its next auth is checked no earlier than this */
} gw_source_t;

/* A client's side of the limits. */
typedef struct gw_guard_s {
    char peer[48];         /* source address */
    size_t unauth_bytes;   /* received before authenticating */
    unsigned unauth_msgs;  /* messages received before authenticating */
    td_ratelimit_t log;    /* its log lines */
    td_ratelimit_t errors; /* its error replies */
    /* An auth held back by the throttle, checked at auth_at_ms (0: none). */
    uint64_t auth_at_ms;
    char *key, *secret; /* copies (secret NULL for Polygon) */
    size_t key_len, secret_len;
    const char *how;
} gw_guard_t;

/* ---- clients (client.c) --------------------------------------------------- */

typedef struct gw_client_s {
    struct gw_client_s *next, *prev; /* in the gateway's list */
    td_gateway_t *g;
    struct lws *wsi;
    uint64_t id, open_ms;
    const char *path;
    const td_vstream_t *vs; /* the path's stream (proto/vendor.h) */
    int codec;
    int gaps;       /* asked for gap notices ("gaps":true on a subscribe) */
    int closing;    /* a final message is queued: no more data; close once written */
    int dead;       /* close at the next WRITEABLE */
    int want_write; /* lws_callback_on_writable requested, not yet served */
    int dirty;      /* in the gateway's list of clients to write (gateway.c flush_cb) */
    struct gw_client_s *dirty_next, **dirty_pprev; /* pprev: the pointer to c in the list */
    td_bus_consumer_t *bc;
    td_srv_sess_t sess;      /* the dialect: auth, the subscription set (sess.sub), errors */
    td_bucket_t sub_bucket;  /* the subscribe rate (rate 0: not started) */
    td_bucket_t sub_strikes; /* refusals over it a client may collect */
    td_outq_t q;
    uint64_t soft_since_ms; /* queue above the soft limit since; 0: below */
    uint64_t last_news_id;  /* a news item is queued once, not once per symbol */
    uint64_t events_sent, frames_sent, bytes_sent;
    gw_guard_t guard;
    int addr_counted;         /* counted in its address's open connections (limits.c) */
    char *auth_key;           /* the key it authenticated with (reloads); NULL: a token */
    char *auth_secret;        /*   and its secret (Alpaca paths; NULL on Polygon's) */
    td_jwt_claims_t *jwt;     /* the claims of the token it authenticated with; NULL: a key */
    struct gw_since_s *since; /* channels served from history (since.c); NULL: none */
} gw_client_t;

gw_client_t *td__gw_client_new(td_gateway_t *g, struct lws *wsi, const td_vstream_t *vs, int codec);
void td__gw_client_free(gw_client_t *c);
/* Greeting, and header auth if the upgrade carried credentials. */
void td__gw_client_open(gw_client_t *c, const char *hkey, const char *hsecret);
void td__gw_client_rx(gw_client_t *c, const void *in, size_t len, int final, int binary);
int td__gw_client_writeable(gw_client_t *c); /* -1: lws must close */
/* End of a loop turn: writes what the client has queued straight away when
 * lws holds nothing back for it (no WRITEABLE round trip, which costs lws
 * two poll changes per frame); otherwise asks lws for WRITEABLE. */
void td__gw_client_flush(gw_client_t *c);
void td__gw_client_cron(gw_client_t *c, uint64_t now_ms);
/* Queues an error in the client's dialect (td_srv_sess_error); with close,
 * no more data and a close after it. An error that does not close counts
 * against the client's error budget: the one past it closes. */
void td__gw_client_error(gw_client_t *c, int code, int close);
/* No more data: the client is closed once what is queued is written. */
void td__gw_client_close_after(gw_client_t *c);
/* The bus callback (ud is the client). */
void td__gw_client_on_event(void *ud, const td_event_t *ev);
/* Queues an event message (the queue takes its own reference), with the
 * queue limits applied. */
void td__gw_client_push(gw_client_t *c, td_outmsg_t *m);

/* ---- "since": channels served from Redis history (since.c) ------------------ */

/* The "since" entries of a subscribe just applied (channels the client now
 * has): each channel is read from its history stream after the id given,
 * then live; refused in the dialect without a history Redis. Before the
 * snapshots (none for a resumed channel). */
void td__gw_since_add(gw_client_t *c, const td_alpaca_since_t *v, size_t n);
/* After an unsubscribe: drops the cursors of channels no longer subscribed. */
void td__gw_since_unsubscribe(gw_client_t *c);
/* Whether ev's channel is served to c from history (not from the bus). */
int td__gw_since_owns(const gw_client_t *c, const td_event_t *ev);
void td__gw_since_free(gw_client_t *c);
/* The gateway's history reader: started with the gateway if
 * cfg.history_url is set (0, or -1 with err); kicked when cursors change
 * and by the cron (clients that drained); closed, then freed. */
int td__gw_hist_start(td_gateway_t *g, char *err, size_t errlen);
void td__gw_hist_kick(td_gateway_t *g);
void td__gw_hist_close(td_gateway_t *g, void (*done)(void *ud), void *ud);
void td__gw_hist_free(td_gateway_t *g);

/* Shared by both dialects (client.c). */
/* Queues a control frame given as JSON. */
void td__gw_client_send_ctl(gw_client_t *c, const char *json, size_t len);
/* Bus interest for one channel entry of the client. */
void td__gw_client_bus_change(gw_client_t *c, td_kind_t k, const char *sym, size_t n, int add);
/* Whether c may subscribe n more symbols now (cfg.sub_rate): TD_SRV_RATE_OK,
 * or refused (the session tells it), closing after 10 refusals (one
 * forgiven every 10 s): TD_SRV_RATE_CLOSE. */
int td__gw_client_sub_rate(gw_client_t *c, size_t n);
/* Kinds kept by the bus's last-value cache and sent as snapshots. */
#define TD_GW_SNAPSHOT_KINDS                                                                       \
    ((1u << TD_KIND_QUOTE) | (1u << TD_KIND_TRADE) | (1u << TD_KIND_BAR) |                         \
     (1u << TD_KIND_DAILY_BAR) | (1u << TD_KIND_STATUS))
/* Queues the last values of the symbols named in fresh, and of every
 * symbol of the kinds in all (a bitmask: wildcards asked with "snapshot"). */
void td__gw_client_snapshot(gw_client_t *c, const td_subset_t *fresh, unsigned all);
/* The client's session hooks (client_hooks.c). */
extern const td_srv_cb_t td__gw_session_cb;

/* ---- auth and limits (guard.c) ---------------------------------------------- */

void td__gw_guard_init(gw_client_t *c);
void td__gw_guard_free(gw_client_t *c);
/* Whether key and secret are a client's credentials, or key "jwt" and a
 * valid token as the secret (REST requests: no claims kept). */
int td__gw_rest_auth(const td_gateway_t *g, const char *key, const char *secret);
/* The session's auth hook: checks key (and secret, unless NULL: Polygon),
 * lengths given: TD_SRV_AUTH_OK (counted, kept for reloads), 402 or 406, or
 * TD_SRV_AUTH_HELD if the client's address is being throttled (checked by
 * the cron, td_srv_sess_auth_done). */
int td__gw_client_auth(gw_client_t *c, const char *key, size_t key_len, const char *secret,
                       size_t secret_len, const char *how);
/* Received len bytes (final: the end of a message). Returns 0, or -1 if
 * that is over the pre-auth budget (the client is closing). */
int td__gw_guard_rx(gw_client_t *c, size_t len, int final);
/* Counts an error reply; returns 1 when that is past the budget. */
int td__gw_guard_error(gw_client_t *c);
/* Runs a held-back auth when due. */
void td__gw_guard_cron(gw_client_t *c, uint64_t now_ms);
/* Whether a client-caused log line may be written now: c's own limit (c
 * NULL: none) and the gateway's. *suppressed: lines dropped since. */
int td__gw_log_ok(td_gateway_t *g, gw_client_t *c, uint64_t *suppressed);
/* " (N similar lines suppressed)" or "" (a static buffer). */
const char *td__gw_log_suppressed(uint64_t n);

/* A client-caused log line through td__gw_log_ok (at least one argument). */
#define GW_LOG(lvl, g, c, fmt, ...)                                                                \
    do {                                                                                           \
        uint64_t sup_;                                                                             \
        if ((lvl) <= td_log_level_current && td__gw_log_ok((g), (c), &sup_))                       \
            td__log((lvl), __FILE__, fmt "%s", __VA_ARGS__, td__gw_log_suppressed(sup_));          \
    } while (0)

/* Whether c may subscribe (k, sym) ("*": the wildcard): always, unless its
 * token's claim restricts it (jwt.h). Counts a refusal. */
int td__gw_client_allows(gw_client_t *c, td_kind_t k, const char *sym, size_t n);

/* ---- limits per address, at the upgrade (limits.c) --------------------------- */

/* One source address's connections (open now, and a token bucket of new ones). */
typedef struct gw_addr_s {
    char ip[48];
    size_t open;
    double tokens;
    uint64_t at_ms; /* tokens as of then */
} gw_addr_t;

/* The Origin, the address's connection rate and count: 0, or 1 when the
 * upgrade was refused (403/429 written, counted, logged). */
int td__gw_limits_upgrade(td_gateway_t *g, struct lws *wsi);
/* A client of that address is open (0), or is one too many (-1: close it). */
int td__gw_limits_open(gw_client_t *c);
void td__gw_limits_close(gw_client_t *c);
void td__gw_limits_free(td_gateway_t *g);

/* The lws extensions of the gateway's vhosts (gateway.c): NULL or
 * permessage-deflate. */
const struct lws_extension *td__gw_extensions(const td_gateway_t *g);

/* ---- the TLS listener (tls.c) ---------------------------------------------- */

/* Checks and copies cfg's TLS settings into g (0, or -1 with err). */
int td__gw_tls_new(td_gateway_t *g, const td_gateway_cfg_t *cfg, char *err, size_t errlen);
/* Creates the TLS vhost if configured: 0, or -1 (logged). */
int td__gw_tls_start(td_gateway_t *g);
/* The SSL_CTX lws made for the vhost vh (LOAD_EXTRA_SERVER_VERIFY_CERTS). */
void td__gw_tls_ctx(void *vh, void *ssl_ctx);
void td__gw_tls_free(td_gateway_t *g);
/* "IPV4:PORT" into host (cap bytes) and *port; err names --flag. */
int td__gw_parse_addr(const char *flag, const char *s, char *host, size_t cap, int *port, char *err,
                      size_t errlen);

/* ---- the gateway (gateway.c) ---------------------------------------------- */

/* Puts c at the end of the list of clients to write (FLUSH_BATCH of them
 * after each poll, gateway.c). */
void td__gw_mark_dirty(td_gateway_t *g, gw_client_t *c);
/* Takes c off that list. */
void td__gw_unmark_dirty(td_gateway_t *g, gw_client_t *c);

struct td_gateway_s {
    uv_loop_t *loop;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    td_bus_t *bus;
    td_gateway_cfg_t cfg;
    char host[64];
    int port;
    char *web_root;
    td_gateway_cb_t cb;
    void *ud;
    struct lws_protocols protocols[2]; /* lws keeps the pointer */
    uv_timer_t cron;
    uv_check_t flush;                 /* runs td__gw_client_flush for the dirty clients */
    uv_idle_t spin;                   /* active while dirty clients are left for the next turn */
    gw_client_t *dirty, **dirty_tail; /* FIFO */
    int cron_open, flush_open, spin_open, stopping;
    void (*done)(void *ud);
    void *done_ud;
    gw_client_t *clients;
    uint64_t next_id, next_msg_id;
    /* The event being published (one td_bus_seq), encoded per codec. */
    uint64_t cur_seq;
    const char *cur_payload;
    size_t cur_len;
    int cur_kind;
    td_outmsg_t *cur[GW_CODECS];
    td_outkeys_t keys;
    td_buf_t scratch, frame;
    td_gateway_stats_t st;
    td_ratelimit_t log_rl;           /* client-caused log lines, all clients (guard.c) */
    gw_source_t sources[GW_SOURCES]; /* failed auths per address (guard.c) */
    struct lws_vhost *tls_vh;        /* the TLS listener (tls.c) */
    char tls_host[64], *tls_cert, *tls_key;
    int tls_port;
    void *tls_ctx;    /* its SSL_CTX */
    gw_addr_t *addrs; /* connections per address (limits.c) */
    size_t naddrs, addrs_cap;
    struct gw_hist_s *hist; /* the history reader (since.c); NULL: none */
    int hist_open;
};

/* The shared message for ev in codec (made once per published event, or
 * once per news item across its symbols); NULL if it cannot be encoded.
 * The gateway keeps its reference until the next event. */
td_outmsg_t *td__gw_event_msg(td_gateway_t *g, const td_event_t *ev, int codec);
/* A message for ev made for one client (snapshots). Caller owns it. */
td_outmsg_t *td__gw_event_msg_once(td_gateway_t *g, const td_event_t *ev, int codec);

#endif
