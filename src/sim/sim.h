/* SPDX-License-Identifier: Apache-2.0 */
/* The market-data stream simulator (server side of PROTOCOLS.md §1, Alpaca,
 * and §3, Polygon):
 * a libwebsockets server on the caller's libuv loop, deterministic data from
 * a seed, fault injection. `tickerd sim` (cmd/sim.c) is its only user.
 *
 *   td_sim_t *s = td_sim_new(loop, &cfg);   // cfg borrowed: must outlive s
 *   td_sim_start(s);                         // listens
 *   uv_run(loop)...
 *   td_sim_stop(s);                          // from a loop callback
 *   uv_run(loop, UV_RUN_DEFAULT);            // lets the handles close
 *   td_sim_free(s);
 */
#ifndef TD_SIM_SIM_H
#define TD_SIM_SIM_H

#include "core/opt.h"

#include <stdint.h>
#include <uv.h>

/* Field types follow core/opt.h (INT → int64_t, DOUBLE → double, STR → char *,
 * LIST → td_strlist_t) so cmd/sim.c fills it from its option table. */
typedef struct td_sim_cfg_s {
    char *listen;           /* "127.0.0.1:8765" */
    char *key, *secret;     /* NULL: any non-empty pair is accepted */
    double auth_timeout;    /* seconds; 0 = never */
    int64_t symbol_limit;   /* distinct symbols per connection; 0 = unlimited */
    int64_t max_conns;      /* authenticated connections per key per path; 0 = unlimited */
    td_strlist_t deny_feed; /* feeds refused at auth with 409: iex, sip, test, crypto, news */
    int64_t symbols;        /* symbols per generator */
    int64_t seed;
    double rate;             /* events per second (news: rate/100, at least 1/s) */
    int64_t batch;           /* events per frame, at most */
    int64_t count;           /* stop generating after this many events in total; 0 = never */
    double drop_every;       /* close each connection this many seconds after it opened */
    int64_t drop_after;      /* close a connection after it was sent this many events */
    int64_t malformed_every; /* every Nth data frame of a connection is a malformed one */
    double stall;            /* seconds of silence, once per connection, 1 s after first data */
    int64_t oversize_once;   /* bytes of one oversized text message before the first data */
    char *record;            /* JSON lines file of the events sent */
    int64_t max_pending_mb;  /* per-connection output bound before 407 slow client */
    int64_t tick_ms;         /* generator timer period */
    double stats;            /* seconds between stats lines; 0 = only at exit */
    char *tls_cert;          /* PEM certificate (chain): serve wss:// instead of ws:// */
    char *tls_key;           /* PEM private key of tls_cert; both or neither */
    char *polygon_evict;     /* "new" (default) or "old": who gets max_connections */
    /* Alpha Vantage at GET /query (PROTOCOLS.md §5) */
    int64_t av_per_minute; /* counted calls per key per av_minute; 0 = unlimited */
    double av_minute;      /* seconds of the rolling "minute" window */
    int64_t av_per_day;    /* counted calls per key per av_day; 0 = unlimited */
    double av_day;         /* seconds of the rolling "day" window */
    int64_t av_latency_ms; /* delay of every answer */
    char *av_minute_key;   /* "Note" */
    char *av_minute_text;  /* the historical 5/min text */
    char *av_day_key;      /* "Information" */
    char *av_day_text;     /* the 25/day text */
    char *record_calls;    /* JSON lines file, one per /query call */
    /* history REST (Alpaca bars, Polygon aggregates, grid server) */
    int64_t hist_latency_ms; /* delay of every history answer */
    char *alpaca_rate;       /* "N/SECONDS" or NULL */
    char *polygon_rate;      /* "N/SECONDS" or NULL */
    int64_t hist_5xx_every;  /* every Nth history request fails; 0 = off */
    int hist_retry_after;    /* a 429 carries Retry-After */
    double hist_5xx_percent; /* each history request fails with this probability (%) */
    int hist_repeat_token;   /* a continued page names itself as the next one (a loop) */
    char *record_frames;     /* --record-frames DIR: the data frames, as tickerd run --record */
    /* tickerd replay (cmd/replay.c): recordings served instead of the generators */
    td_strlist_t replay;    /* the files; none: the generators */
    double replay_speed;    /* times real time; 0 = as fast as the clients read */
    int64_t replay_from_ns; /* receive times before this are skipped (0: from the start) */
    int64_t replay_to_ns;   /* the replay ends after this (0: at the end) */
    int hist_forbidden;     /* every Alpaca/Polygon history request answers 403 */
    int64_t bar_seconds;    /* >0: stock minute bars streamed from the history source, one
                               per symbol per this many seconds (the REST "1Min" too) */
} td_sim_cfg_t;

typedef struct td_sim_s td_sim_t;

/* Validates cfg; returns NULL with a message in err if it is unusable. */
td_sim_t *td_sim_new(uv_loop_t *loop, const td_sim_cfg_t *cfg, char *err, size_t errlen);
/* Creates the lws context and starts listening. Returns 0 or -1 (logged). */
int td_sim_start(td_sim_t *s);
/* Closes every connection and handle; the loop must run afterwards. */
void td_sim_stop(td_sim_t *s);
/* After td_sim_stop and the loop has run. */
void td_sim_free(td_sim_t *s);

#endif
