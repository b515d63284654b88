/* SPDX-License-Identifier: Apache-2.0 */
/* Private to `tickerd run`: the configuration and the application state
 * shared by run.c (wiring, lifecycle) and run_gateway.c (the gateway's
 * clients, /healthz and /metrics). */
#ifndef TD_CMD_RUN_APP_H
#define TD_CMD_RUN_APP_H

#include "bus/bus.h"
#include "core/opt.h"
#include "feed/feed.h"
#include "feed/redis_source.h"
#include "gateway/gateway.h"
#include "ha/lease.h"
#include "http/http.h"
#include "poll/poll.h"
#include "proto/sub.h"
#include "record/record.h"
#include "sink/redis.h"
#include "sink/stdout.h"

#include <libwebsockets.h>
#include <stdint.h>
#include <uv.h>

typedef struct run_cfg_s {
    char *feed;
    td_strlist_t url;
    char *key, *secret, *subscribe;
    char *redis, *channel_prefix, *source, *quota;
    double poll_interval;
    int to_stdout;
    double stats_interval;
    double backoff_min, backoff_max, healthy, conn_limit_backoff, ping_interval, ping_timeout;
    double resolve_timeout;
    int64_t redis_buffer_mb, redis_inflight, upstream_max_symbols, upstream_max_message;
    char *ca_file, *log_level, *log_format;
    char *redis_ca_file, *redis_cert, *redis_key; /* rediss:// */
    double redis_timeout;
    int redis_last_values;
    int64_t redis_history; /* entries kept per history stream (0: off) */
    /* the downstream gateway */
    char *listen, *web_root, *metrics_listen;
    td_strlist_t client;
    int64_t max_clients, client_max_symbols, client_max_message;
    int64_t client_subscribe_rate, client_subscribe_burst, snapshot_cache;
    int64_t client_buffer_hard, client_buffer_soft, client_conflate_after;
    double client_auth_timeout, client_buffer_soft_seconds;
    char *record; /* --record DIR */
    double record_max_gb;
    char *rest_url; /* the vendor's REST data API: previous closes for /v2/stocks/snapshots */
    char *ha_lease; /* --ha-lease NAME: active/standby on one vendor account */
    double ha_ttl;
    char *jwt_hs256_secret, *jwt_hs256_secret_file, *jwt_public_key;
    char *listen_tls, *tls_cert, *tls_key;
    int permessage_deflate;
    td_strlist_t allow_origin;
    int64_t max_clients_per_ip, conn_burst_per_ip;
    double conn_rate_per_ip;
    char *refill, *refill_url, *refill_rate; /* refill after outages (run_refill.c) */
    double refill_delay, refill_bar_seconds;
    int64_t refill_max_symbols;
} run_cfg;

typedef struct app_s {
    uv_loop_t loop;
    struct lws_context *ctx;
    run_cfg cfg;
    td_subset_t subs;
    td_bus_t *bus;
    td_feed_t **feeds;
    size_t nfeeds;
    td_recdir_t *rec; /* --record */
    td_redis_sink_t *redis;
    td_redis_source_t *source; /* --source: events from Redis instead of --url */
    td_http_t *http;           /* --feed alphavantage */
    td_poll_t *poll;
    td_stdout_sink_t *out;
    td_gateway_t *gw;
    td_gateway_t *metrics;    /* --metrics-listen: /metrics and /healthz only */
    struct td_jwt_key_s *jwt; /* --jwt-hs256-secret or --jwt-public-key */
    int key_flag;             /* --key given on the command line */
    const char *config_path;  /* -c FILE, for its [clients] section */
    int argc;                 /* the command line, parsed again on SIGHUP */
    char **argv;
    td_strlist_t client_keys, client_secrets; /* --client and [clients] */
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t stats;
    int stopping, pending, exit_code;
    uint64_t last_count[TD_KIND__COUNT], last_published, last_frames, last_out;
    uint64_t last_stats_ms;
    struct run_prev_s *prev;       /* --rest-url: the previous closes (run_prevclose.c) */
    td_ha_t *ha;                   /* --ha-lease */
    td_bus_consumer_t *ha_pin;     /* the interest inherited from the previous holder */
    struct run_retired_s *retired; /* feeds and sources stopped on a role change */
    uv_timer_t ha_reap;            /* frees them once closed */
    uv_timer_t sd_timer;           /* readiness and watchdog for the service manager */
    int sd_ready;
    uint64_t sd_last_watchdog;     /* uv_now of the last WATCHDOG=1 */
    struct td_refill_s *refill;    /* --refill (run_refill.c) */
    int64_t takeover_from_ns;      /* HA: a takeover window open since (0: none) */
    int64_t last_seen_ns;          /* HA standby: when the active's last event arrived */
    uint64_t takeovers_seen;       /* HA: takeovers already given a refill */
    struct td_hold_s *hold;        /* history held back while refills run (run_refill.c) */
    int holding[TD_KIND__COUNT];   /* refills queued per kind, history held */
    int hold_full[TD_KIND__COUNT]; /* the hold overflowed: written through */
} app_t;

/* run_check.c: every check of the configuration as a whole, shared by the
 * startup and --check-config (nothing connected, bound or resolved): each
 * error logged (FILE:LINE first if the option came from the -c file).
 * Fills a->subs, a->client_keys/secrets and a->jwt. 0 or -1. */
int td__run_check(app_t *a, const td_opts_t *o);
/* Client credentials into a->client_keys/secrets: [clients] of the -c
 * file, then --client of c (0, or -1 logged); "N/WINDOW,..." of --quota
 * into pc (0 or -1). */
int td__run_load_clients(app_t *a, const run_cfg *c, const char *config);
/* The token key of c into *out (NULL: none): --jwt-hs256-secret,
 * --jwt-hs256-secret-file or --jwt-public-key (one). 0, or -1 with err and
 * the option to blame in *opt. */
int td__run_load_jwt(const run_cfg *c, struct td_jwt_key_s **out, const char **opt, char *err,
                     size_t errlen);
int td__run_parse_quota(const char *spec, td_poll_cfg_t *pc);

/* run.c: the feeds of --url (0 or -1, logged), a Redis source on `url`
 * (NULL, logged) and where both hand their events. */
int td__run_setup_feeds(app_t *a);
/* --record DIR (run_record.c); NULL if unusable (logged). */
td_recdir_t *td__run_new_recorder(app_t *a);
td_redis_source_t *td__run_new_source(app_t *a, const char *url);
void td__run_on_event(void *ud, const td_event_t *ev);

/* run_ha.c (--ha-lease): setup (0 or -1, logged; taps the Redis sink),
 * start, stop (counts in a->pending), free; /healthz and /metrics parts
 * (health returns 0 if degraded). */
int td__run_setup_ha(app_t *a);
void td__run_start_ha(app_t *a);
void td__run_stop_ha(app_t *a, void (*done)(void *ud));
void td__run_free_ha(app_t *a);
int td__run_ha_health(app_t *a, td_buf_t *out);
void td__run_ha_metrics(app_t *a, td_buf_t *o);

/* run_refill.c: --refill. Setup (0 or -1, logged; taps the bus), stop
 * (counts in a->pending), free. td__run_gap publishes the notices of an
 * outage [from_ns, to_ns] of `where` (label: the feed's URL) and starts its
 * refill. */
int td__run_setup_refill(app_t *a);
/* The refill's configuration from c into rc (base: its REST URL's room):
 * 1, 0 if nothing is to be refilled, or -1 with err and the option to
 * blame in *opt (also run by --check-config). */
struct td_refill_cfg_s;
int td__run_refill_config(const run_cfg *c, struct td_refill_cfg_s *rc, char *base, size_t baselen,
                          const char **opt, char *err, size_t errlen);
void td__run_stop_refill(app_t *a, void (*done)(void *ud));
void td__run_free_refill(app_t *a);
void td__run_gap(app_t *a, const char *label, int64_t from_ns, int64_t to_ns,
                 const td_subset_t *where, const char *why);
void td__run_refill_metrics(app_t *a, td_buf_t *o);
/* Writes the history entries held back for refills (at shutdown, before
 * the Redis sink stops). */
void td__run_flush_history(app_t *a);
/* HA: this instance just became active (token): if it took the lease over,
 * the window from the previous holder's last event (as this standby saw it
 * come from Redis) to its own first event is refilled, with the notices. */
void td__run_takeover(app_t *a, uint64_t token);

/* Creates and starts the gateway (--listen). Returns 0 or -1 (logged). */
int td__run_setup_gateway(app_t *a);
/* SIGHUP: client keys from the -c file, the token key and the TLS
 * certificate re-read; anything invalid is refused (logged) and kept. */
void td__run_reload_gateway(app_t *a);

/* run_prevclose.c (--rest-url): the cache and its HTTP client (a->http);
 * the gateway's GET /v2/stocks/snapshots (td_gateway_cb_t.snapshots). */
void td__run_prev_setup(app_t *a);
void td__run_prev_free(app_t *a);
int td__run_snapshots(void *ud, const char *symbols, td_buf_t *out);

/* The service manager's notifications (run_notify.c): the timer starts
 * with the feeds, and closes at shutdown. */
void td__run_notify_start(app_t *a);
void td__run_notify_stop(app_t *a);

#endif
