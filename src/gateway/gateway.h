/* SPDX-License-Identifier: Apache-2.0 */
/* The downstream WebSocket gateway: clients connect to tickerd exactly as
 * they would to the vendor, with keys that tickerd issues. Alpaca dialect
 * (paths /v2/iex, /v2/sip, /v2/test, /v1beta3/crypto/us, /v1beta1/news;
 * greeting, auth, additive subscribe/unsubscribe with full confirmations,
 * errors 400–410) or Polygon dialect (paths /stocks, /options, /forex,
 * /crypto; status greeting, auth with a key in params, one success status
 * per topic, error statuses), as cfg.dialect says; both are the server
 * sessions of proto/server_session.h.
 *
 * Each client is a bus consumer: what it subscribes becomes bus interest
 * (first want / last unwant drive the upstream subscriptions). Each event is
 * encoded once per codec into a refcounted message shared by every client
 * queue that holds it; a WRITEABLE callback sends one array frame of queued
 * events (at most `write_cap` bytes). Queues are bounded in bytes (hard
 * limit, soft limit held for N seconds): quotes and bars are conflated
 * (a newer value of a symbol replaces an unsent older one), anything else
 * over the limit gets the client 407 slow client and a close.
 *
 * Plain HTTP on the same port: /healthz and /metrics (text from callbacks)
 * and static files from web_root.
 *
 * Lifecycle (libuv style): new → start → … → stop(done) → (lws context
 * destroyed, loop run) → free. Single-threaded, on the caller's loop. */
#ifndef TD_GATEWAY_GATEWAY_H
#define TD_GATEWAY_GATEWAY_H

#include "bus/bus.h"
#include "core/buf.h"
#include "proto/event.h"
#include "proto/vendor.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct lws_context;
struct td_jwt_key_s;

typedef struct td_gateway_s td_gateway_t;

typedef struct td_gateway_cfg_s {
    /* The vendor whose events the bus carries, so the dialect of the paths
     * served: Alpaca's (/v2/iex, ...) or Polygon's (/stocks, ...). The
     * other vendor's paths are refused at the upgrade (404 with a reason). */
    td_vendor_t dialect;
    const char *listen;         /* "127.0.0.1:8080" (IPv4:port); copied */
    const char *const *keys;    /* client credentials: keys[i] with secrets[i] */
                                /* (Polygon clients give a key only); */
    const char *const *secrets; /*   borrowed, must outlive the gateway */
    size_t nkeys;
    size_t max_clients;    /* authenticated clients at once; 0 = unlimited (406 beyond) */
    size_t max_symbols;    /* distinct symbols per client; 0 = unlimited (405 beyond) */
    double sub_rate;       /* symbols a client may subscribe per second, on average */
    double sub_burst;      /*   and at once (token bucket); rate 0 = unlimited */
    double auth_timeout_s; /* 404 auth timeout; 0 = never */
    size_t max_message;    /* bytes of one client message (reassembled); 400 beyond */
    size_t buffer_hard;    /* queued bytes per client that close it at once */
    size_t buffer_soft;    /* queued bytes per client tolerated for soft_seconds */
    double soft_seconds;   /* … */
    size_t write_cap;      /* bytes per frame (per WRITEABLE) per client */
    size_t conflate_after; /* queued bytes past which quotes/bars are conflated */
    const char *web_root;  /* static files served at /; NULL: none; copied */
    int http_only;         /* /healthz and /metrics only: every upgrade refused (404) */
    /* Tokens (jwt.h): clients may authenticate with a JWT verified with
     * this key (NULL: keys only). Borrowed; td_gateway_set_jwt replaces it. */
    const struct td_jwt_key_s *jwt;
    /* Limits checked at the upgrade (HTTP 403 or 429 before the handshake): */
    const char *const *origins; /* Origin values browsers may come from (borrowed); */
    size_t norigins;            /*   0: any; a request without Origin is no browser: allowed */
    size_t max_per_ip;          /* connections at once from one address; 0: no limit */
    double conn_rate;           /* new connections per second per address (0: no limit), */
    double conn_burst;          /*   with bursts of this many */
    /* A second listener with TLS (1.2 or later), same paths; NULL: none.
     * Copied. The certificate and key may be reloaded (td_gateway_reload_tls). */
    const char *listen_tls, *tls_cert, *tls_key;
    int deflate; /* offer permessage-deflate (negotiated per client) */
    /* "since" on a subscribe (history replay, gateway/since.c): the Redis
     * that holds the history streams (redis/url.h syntax; NULL: "since" is
     * refused), the channel prefix and TLS files. Borrowed until start. */
    const char *history_url, *history_prefix;
    const char *history_ca_file, *history_cert_file, *history_key_file;
} td_gateway_cfg_t;

typedef struct td_gateway_cb_s {
    /* Appends the Prometheus text of /metrics to out. May be NULL (404). */
    void (*metrics)(void *ud, td_buf_t *out);
    /* Appends the JSON body of /healthz to out; returns the HTTP status
     * (200 healthy, 503 not). May be NULL (404). */
    int (*health)(void *ud, td_buf_t *out);
    /* GET /v2/stocks/snapshots?symbols=A,B (Alpaca's REST shape), for a
     * request with a client's credentials (the headers APCA-API-KEY-ID and
     * APCA-API-SECRET-KEY, or key "jwt" and a token as the secret): appends
     * the JSON body to out and returns the HTTP status. symbols is the
     * query's value ("" if absent). May be NULL (404). */
    int (*snapshots)(void *ud, const char *symbols, td_buf_t *out);
} td_gateway_cb_t;

/* Upper bounds (bytes) of the client queue histogram's buckets; the last
 * bucket, +Inf, is implied. */
#define TD_GW_QUEUE_BUCKETS 7
extern const uint64_t td_gateway_queue_bounds[TD_GW_QUEUE_BUCKETS];

typedef struct td_gateway_stats_s {
    uint64_t clients;                    /* connected now (authenticated or not) */
    uint64_t authed;                     /* authenticated now */
    uint64_t accepted;                   /* connections accepted since start */
    uint64_t events_out[TD_KIND__COUNT]; /* events written to clients, per kind */
    uint64_t frames_out, bytes_out;      /* WebSocket data written */
    uint64_t queued_bytes;               /* bytes queued now, all clients */
    /* clients whose queue holds at most td_gateway_queue_bounds[i] bytes
     * now (cumulative, as Prometheus buckets); [TD_GW_QUEUE_BUCKETS]: all */
    uint64_t queue_le[TD_GW_QUEUE_BUCKETS + 1];
    uint64_t conflated;            /* queued quotes/bars replaced by newer ones */
    uint64_t slow_disconnects;     /* 407 slow client */
    uint64_t auth_failures;        /* 402, 404 */
    uint64_t malformed;            /* client messages answered with 400 */
    uint64_t rejected;             /* 406 connection limit */
    uint64_t snapshots;            /* last values sent on subscribe */
    uint64_t token_auths;          /* clients authenticated with a token */
    uint64_t refused_origin;       /* upgrades refused: Origin not allowed (403) */
    uint64_t refused_per_ip;       /* upgrades refused: too many from the address (429) */
    uint64_t refused_rate;         /* upgrades refused: connection rate of the address (429) */
    uint64_t refused_claims;       /* subscriptions refused by a token's claim */
    uint64_t token_expired_closes; /* live clients closed as their token expired */
    uint64_t sub_refused;          /* subscribes refused over the subscribe rate */
    uint64_t since_events;         /* events sent from history ("since" subscriptions) */
} td_gateway_stats_t;

/* cfg and cb are copied (strings as documented above); bus and ctx are
 * borrowed and must outlive the gateway. Returns NULL with a message in err
 * if the config is unusable. */
td_gateway_t *td_gateway_new(uv_loop_t *loop, struct lws_context *ctx, td_bus_t *bus,
                             const td_gateway_cfg_t *cfg, const td_gateway_cb_t *cb, void *ud,
                             char *err, size_t errlen);
/* Creates the listening vhost on ctx (which must be made with
 * LWS_SERVER_OPTION_LIBUV on the same loop). Returns 0, or -1 (logged). */
int td_gateway_start(td_gateway_t *g);
/* Refuses new clients, asks every client to close, closes the gateway's
 * handles; `done` runs once they are closed. The lws context is destroyed
 * afterwards by its owner (which reports the last client closes). */
void td_gateway_stop(td_gateway_t *g, void (*done)(void *ud), void *ud);
/* After the lws context is destroyed and the loop has run. NULL is fine. */
void td_gateway_free(td_gateway_t *g);
void td_gateway_stats(const td_gateway_t *g, td_gateway_stats_t *out);
/* A gap notice (proto/gap.h JSON, starting {"type":"gap",) to every client
 * that asked for them, as its dialect's control message: [{"T":"gap",...}]
 * for an Alpaca client. */
void td_gateway_notice(td_gateway_t *g, const char *json, size_t n);
/* Replaces the client keys (borrowed, as in the cfg); clients that
 * authenticated with a key no longer there, or whose secret changed, are
 * closed with the auth error. */
void td_gateway_set_keys(td_gateway_t *g, const char *const *keys, const char *const *secrets,
                         size_t n);
/* Replaces the token key (NULL: none), borrowed, for new auths; clients
 * authenticated with a token keep their claims. */
void td_gateway_set_jwt(td_gateway_t *g, const struct td_jwt_key_s *jwt);
/* What a reload may change besides keys, token key and certificate (the
 * fields of the same names in td_gateway_cfg_t; origins borrowed likewise). */
typedef struct td_gateway_limits_s {
    const char *const *origins;
    size_t norigins, max_per_ip, max_clients, max_symbols;
    double conn_rate, conn_burst, auth_timeout_s, sub_rate, sub_burst;
} td_gateway_limits_t;
/* Applies l to new upgrades and auths, and to connected clients where it
 * can: their auth deadline, their subscribe bucket (rate and burst, its
 * tokens capped), their address counts (a per-address limit turned on
 * counts the open connections; clients over a lowered limit stay). */
void td_gateway_set_limits(td_gateway_t *g, const td_gateway_limits_t *l);
/* The port listened on (after start). */
int td_gateway_port(const td_gateway_t *g);
int td_gateway_tls_port(const td_gateway_t *g); /* the TLS one; 0: none */
/* Re-reads the TLS listener's certificate and key (the paths it was given)
 * for new handshakes; connected clients keep theirs. 0, or -1 with err
 * (then nothing changed). */
int td_gateway_reload_tls(td_gateway_t *g, char *err, size_t errlen);

/* What td_gateway_new and its start check, alone (nothing bound): an
 * address of --FLAG (IPV4:PORT), and a certificate chain with its key
 * (both PEM, matching). 0, or -1 with a message in err. */
int td_gateway_check_addr(const char *flag, const char *addr, char *err, size_t errlen);
int td_gateway_check_tls(const char *cert, const char *key, char *err, size_t errlen);

#endif
