/* Private to src/sim: the generator, sessions and the server share these. */
#ifndef TD_SIM_SIM_INT_H
#define TD_SIM_SIM_INT_H

#include "core/buf.h"
#include "proto/event.h"
#include "proto/polygon.h"
#include "proto/sub.h"
#include "sim/sim.h"

#include <stdint.h>
#include <stdio.h>
#include <uv.h>

struct lws;
struct lws_context;

/* Alpaca streams, then the Polygon clusters (PROTOCOLS.md §3). */
typedef enum td_sim_class_e {
    TD_SIM_STOCK,
    TD_SIM_CRYPTO,
    TD_SIM_NEWS,
    TD_SIM_PSTOCKS,
    TD_SIM_POPTIONS,
    TD_SIM_PFOREX,
    TD_SIM_PCRYPTO
} td_sim_class_t;

/* ---- generator (gen.c) ---------------------------------------------------- */

#define TD_SIM_NEWS_SYMS_MAX 3

typedef struct td_sim_ev_s {
    td_kind_t kind;
    uint32_t sym;                        /* index into the generator's symbols */
    uint32_t nsyms;                      /* news: symbols named */
    uint32_t syms[TD_SIM_NEWS_SYMS_MAX]; /* news: their indexes */
    uint64_t r;                          /* randomness for the details */
    uint64_t seq;                        /* per-generator event number */
} td_sim_ev_t;

typedef struct td_sim_gen_s td_sim_gen_t;

td_sim_gen_t *td__sim_gen_new(td_sim_class_t cls, uint64_t seed, size_t nsyms, int fakepaca);
void td__sim_gen_free(td_sim_gen_t *g);
size_t td__sim_gen_nsyms(const td_sim_gen_t *g);
const char *td__sim_gen_symbol(const td_sim_gen_t *g, size_t i, size_t *len);
/* Symbol i's price now, in units of 1e-4 (stocks) or 1e-9 (crypto, forex);
 * its starting price if the generator never ran. */
int64_t td__sim_gen_price(const td_sim_gen_t *g, size_t i);
/* Advances the market by one event (always, so the sequence depends only on
 * the seed, not on who is subscribed). */
void td__sim_gen_next(td_sim_gen_t *g, td_sim_ev_t *ev);
/* Builds the event's JSON object (T first) into out, replacing its content;
 * `t` fields are taken from the real time now. Returns the length. */
size_t td__sim_gen_build(td_sim_gen_t *g, const td_sim_ev_t *ev, td_buf_t *out);

/* ---- sessions (session.c) ------------------------------------------------ */

typedef struct td_sim_frame_s {
    struct td_sim_frame_s *next;
    unsigned char *mem; /* LWS_PRE headroom, then the frame, then room for ']' */
    size_t len, cap;    /* bytes of frame (after the headroom); capacity */
    uint32_t nev;       /* data events; 0 for a control message */
    int control, sealed;
} td_sim_frame_t;

typedef struct td_sim_stream_s td_sim_stream_t;

typedef struct td_sim_sess_s {
    struct td_sim_sess_s *next, *prev; /* in the stream's list */
    td_sim_t *sim;
    td_sim_stream_t *st;
    struct lws *wsi;
    uint64_t id, open_ms;
    int authed;
    char key[257];
    td_subset_t sub;
    uint8_t *want; /* [kind * nsyms + sym]: covered by sub (corrections, cancelErrors = trades) */
    td_sim_frame_t *head, *tail, *spare;
    size_t pending;
    td_buf_t rx;
    int rx_overflow, rx_binary;
    int close_after_flush; /* close once the queue is written */
    int kill;              /* close at the next writeable callback */
    int no_more_data;      /* dropped, slow or closing: queue no data */
    int wake;              /* writeable requested this tick */
    int stalled, stall_done;
    int evict_pending; /* Polygon, --polygon-evict new: over the limit, evicted after subscribe */
    int evicted;       /* Polygon: sent max_connections, closing */
    uint64_t evict_at_ms; /* evict_pending: evicted now at the latest */
    uint64_t first_data_ms, stall_until_ms;
    uint64_t events_queued, events_sent, frames_sent, bytes_sent, slots;
} td_sim_sess_t;

td_sim_sess_t *td__sim_sess_new(td_sim_t *sim, td_sim_stream_t *st, struct lws *wsi);
void td__sim_sess_free(td_sim_sess_t *s);
/* Greeting, and header authentication if the upgrade request carried it. */
void td__sim_sess_open(td_sim_sess_t *s, const char *hkey, const char *hsecret);
/* One fragment of a client message (reassembled up to 1 MiB; past that the
 * message is dropped with 400). */
void td__sim_sess_rx(td_sim_sess_t *s, const void *in, size_t len, int final, int binary);
/* One complete client message. */
void td__sim_sess_message(td_sim_sess_t *s, const char *msg, size_t len, int binary);
/* Appends an event to the data queue (batching into frames). */
void td__sim_sess_push_event(td_sim_sess_t *s, const char *ev, size_t len);
/* Writes at most one frame. Returns -1 if lws must close the connection. */
int td__sim_sess_writeable(td_sim_sess_t *s);
/* Housekeeping: auth timeout, drop-every, stall. */
void td__sim_sess_cron(td_sim_sess_t *s, uint64_t now_ms);
void td__sim_sess_wake(td_sim_sess_t *s);
/* Error message with the exact text of PROTOCOLS.md §1.5; close after it if
 * `close` is set. */
void td__sim_sess_error(td_sim_sess_t *s, int code, int close);
/* Queues a control frame (a complete message). */
void td__sim_sess_queue_ctl(td_sim_sess_t *s, const char *text, size_t len);
/* No more data; close (1008) once the queue is written, or in 3 s. */
void td__sim_sess_closing(td_sim_sess_t *s);
/* Recomputes want from sub (and starts the generator if sub is not empty). */
void td__sim_sess_update_want(td_sim_sess_t *s);

/* ---- Polygon sessions (session_polygon.c) -------------------------------- */

void td__sim_psess_open(td_sim_sess_t *s);
void td__sim_psess_message(td_sim_sess_t *s, const char *msg, size_t len, int binary);
/* [{"ev":"status","status":status,"message":message}]; closes after it if
 * `close`. */
void td__sim_psess_status(td_sim_sess_t *s, const char *status, const char *message, int close);
/* The Alpaca error codes the shared code raises (400 oversized message, 404
 * auth timeout, 407 slow client) as Polygon statuses. */
void td__sim_psess_error(td_sim_sess_t *s, int code, int close);
void td__sim_psess_cron(td_sim_sess_t *s, uint64_t now_ms);

/* ---- Alpha Vantage REST at /query (rest_av.c, rest_av_data.c) ---------- */

typedef struct td_sim_av_s td_sim_av_t;
typedef struct td_sim_av_req_s td_sim_av_req_t;

/* NULL with a message in err if the --av-* options are unusable. */
td_sim_av_t *td__sim_av_new(const td_sim_cfg_t *cfg, char *err, size_t errlen);
/* Opens --record-calls. 0 or -1 (logged). */
int td__sim_av_start(td_sim_av_t *av);
void td__sim_av_free(td_sim_av_t *av);
/* LWS_CALLBACK_HTTP on /query: decides the answer now and writes it in a
 * later HTTP_WRITEABLE (after --av-latency). *slot is the wsi's request. */
int td__sim_av_http(td_sim_av_t *av, struct lws *wsi, td_sim_av_req_t **slot);
/* LWS_CALLBACK_TIMER: the latency is over. */
void td__sim_av_timer(struct lws *wsi, td_sim_av_req_t *req);
/* LWS_CALLBACK_HTTP_WRITEABLE: one chunk. -1: close the connection. */
int td__sim_av_writeable(struct lws *wsi, td_sim_av_req_t **slot);
/* LWS_CALLBACK_CLOSED_HTTP (or teardown). */
void td__sim_av_req_free(td_sim_av_req_t **slot);

/* rest_av_data.c: the deterministic minute walk of each symbol of the stock
 * universe, and the bodies of PROTOCOLS.md §5.1 and §5.2. */
typedef struct td_sim_avdata_s td_sim_avdata_t;
td_sim_avdata_t *td__sim_avdata_new(uint64_t seed, size_t nsyms);
void td__sim_avdata_free(td_sim_avdata_t *d);
/* The universe's index of `sym` (case-insensitive), or -1. */
long td__sim_avdata_find(const td_sim_avdata_t *d, const char *sym);
/* {"Global Quote":{...}} of symbol i at unix time now_sec. */
void td__sim_avdata_quote(const td_sim_avdata_t *d, size_t i, int64_t now_sec, td_buf_t *out);
/* {"Meta Data":...,"Time Series (Nmin)":...} of symbol i: `npoints` bars of
 * `iv` minutes, the newest the last one completed at now_sec. */
void td__sim_avdata_intraday(const td_sim_avdata_t *d, size_t i, int iv, int full, int npoints,
                             int64_t now_sec, td_buf_t *out);

/* ---- server (server.c) --------------------------------------------------- */

struct td_sim_stream_s {
    td_sim_t *sim;
    const char *path, *feed;
    td_sim_class_t cls;
    int poly;                     /* a Polygon cluster */
    td_polygon_cluster_t cluster; /* if poly */
    td_sim_gen_t *gen;
    td_sim_sess_t *sessions;
    uint8_t *any; /* union of the sessions' want */
    int any_dirty;
    int started;
    uint64_t t0_ns;
    uint64_t produced;
    double rate;
};

#define TD_SIM_NSTREAMS 10

struct td_sim_s {
    uv_loop_t *loop;
    const td_sim_cfg_t *cfg;
    char host[64];
    int port;
    void *foreign_loops[1];
    struct lws_context *ctx;
    uv_timer_t tick, cron;
    int tick_running, handles_open, stopping;
    td_sim_stream_t streams[TD_SIM_NSTREAMS];
    td_buf_t scratch;
    FILE *rec;
    int rec_dirty;
    uint64_t next_id, generated, built, deliveries;
    uint64_t frames_sent, bytes_sent, events_sent;
    uint64_t stats_ms, stats_generated, stats_events_sent, stats_bytes;
    int count_done;
    int evict_old;   /* --polygon-evict old */
    td_sim_av_t *av; /* GET /query */
};

/* The stream has a subscriber: start its generator if it was idle. */
void td__sim_stream_interest(td_sim_stream_t *st);
/* A session's want changed (or it left): recompute the union lazily. */
void td__sim_stream_dirty(td_sim_stream_t *st);

#endif
