/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/sim: the generator, sessions and the server share these. */
#ifndef TD_SIM_SIM_INT_H
#define TD_SIM_SIM_INT_H

#include "core/buf.h"
#include "core/outq.h"
#include "proto/event.h"
#include "proto/polygon.h"
#include "proto/server_session.h"
#include "proto/sub.h"
#include "proto/vendor.h"
#include "sim/sim.h"

#include <stdint.h>
#include <stdio.h>
#include <uv.h>

struct lws;
struct lws_context;

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

/* The generator of stream vs (its vendor and class; FAKEPACA on the test
 * stream). */
td_sim_gen_t *td__sim_gen_new(const td_vstream_t *vs, uint64_t seed, size_t nsyms);
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

typedef struct td_sim_stream_s td_sim_stream_t;

typedef struct td_sim_sess_s {
    struct td_sim_sess_s *next, *prev; /* in the stream's list */
    td_sim_t *sim;
    td_sim_stream_t *st;
    struct lws *wsi;
    uint64_t id, open_ms;
    td_srv_sess_t sess; /* the dialect: auth (sess.authed), the set (sess.sub), errors */
    char key[257];      /* the key it authenticated with */
    uint8_t *want; /* [kind * nsyms + sym]: covered by sub (corrections, cancelErrors = trades) */
    /* Control messages and sealed data frames (core/outq.h), each message
     * with LWS_PRE bytes of headroom before its frame; data frames: kind
     * SIM_DATA, id = their events. */
    td_outq_t q;
    td_outmsg_t *batch;    /* the data frame being filled (not queued yet); NULL: none */
    size_t batch_cap;      /* its room (bytes of data, headroom included) */
    int close_after_flush; /* close once the queue is written */
    int kill;              /* close at the next writeable callback */
    int no_more_data;      /* dropped, slow or closing: queue no data */
    int wake;              /* writeable requested this tick */
    int stalled, stall_done;
    int oversize_sent; /* --oversize-once: the oversized message went out */
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
/* Appends an event to the data frame being filled (at most --batch events,
 * sealed and queued when full, before a control message, or when the
 * session is writeable). */
void td__sim_sess_push_event(td_sim_sess_t *s, const char *ev, size_t len);
/* Bytes queued and not yet written. */
size_t td__sim_sess_pending(const td_sim_sess_t *s);
/* Writes at most one frame. Returns -1 if lws must close the connection. */
int td__sim_sess_writeable(td_sim_sess_t *s);
/* Housekeeping: auth timeout, drop-every, stall. */
void td__sim_sess_cron(td_sim_sess_t *s, uint64_t now_ms);
void td__sim_sess_wake(td_sim_sess_t *s);
/* An error in the session's dialect (td_srv_sess_error); close after it if
 * `close` is set. */
void td__sim_sess_error(td_sim_sess_t *s, int code, int close);
/* Queues a control frame (a complete message). */
void td__sim_sess_queue_ctl(td_sim_sess_t *s, const char *text, size_t len);
/* No more data; close (1008) once the queue is written, or in 3 s. */
void td__sim_sess_closing(td_sim_sess_t *s);
/* Recomputes want from sub (and starts the generator if sub is not empty). */
void td__sim_sess_update_want(td_sim_sess_t *s);

/* The session's hooks both dialects share (session.c). */
void td__sim_sess_on_send(void *ud, const char *frame, size_t len);
void td__sim_sess_on_close(void *ud, int code);
int td__sim_sess_on_error(void *ud, const td_srv_error_t *e);
/* "conn #N subscribe trades=AAPL;quotes=*" (tests count these lines). */
void td__sim_sess_log_applied(const td_sim_sess_t *s, const td_srv_applied_t *a);
/* A session's hooks: the shared ones, the dialect's auth and applied. */
#define TD_SIM_SESS_CB(auth, applied)                                                              \
    {                                                                                              \
        td__sim_sess_on_send, td__sim_sess_on_close, auth, td__sim_sess_on_error, NULL, NULL,      \
            NULL, NULL, applied                                                                    \
    }

/* ---- Polygon sessions (session_polygon.c) -------------------------------- */

/* The hooks of a session on a Polygon path. */
extern const td_srv_cb_t td__sim_polygon_cb;
/* Evicts a connection over --max-conns once due (--polygon-evict new). */
void td__sim_psess_cron(td_sim_sess_t *s, uint64_t now_ms);

/* ---- deferred HTTP replies of the REST endpoints (reply.c) -------------- */

#define TD_SIM_REPLY_NHDR 4
typedef struct td_sim_reply_s {
    struct td_sim_reply_s *next, **pprev; /* in the owner's list */
    td_buf_t body;                        /* LWS_PRE bytes of headroom, then the body */
    size_t off;                           /* body bytes written */
    int status, hdr_sent, ready, nhdr;
    char hname[TD_SIM_REPLY_NHDR][32], hval[TD_SIM_REPLY_NHDR][32];
} td_sim_reply_t;

/* A reply (status 200, empty body with `reserve` bytes) put at the head of
 * *list. */
td_sim_reply_t *td__sim_reply_new(td_sim_reply_t **list, size_t reserve);
/* Unlinks and frees *slot (NULL is fine); *slot becomes NULL. */
void td__sim_reply_free(td_sim_reply_t **slot);
/* An extra response header (at most TD_SIM_REPLY_NHDR; copied, truncated). */
void td__sim_reply_header(td_sim_reply_t *r, const char *name, const char *value);
/* LWS_CALLBACK_TIMER: the latency is over, the reply may go. */
void td__sim_reply_timer(struct lws *wsi, td_sim_reply_t *r);
/* LWS_CALLBACK_HTTP_WRITEABLE: headers, then one chunk per call; frees the
 * reply after the last. -1: close the connection. */
int td__sim_reply_writeable(struct lws *wsi, td_sim_reply_t **slot);

/* ---- Alpha Vantage REST at /query (rest_av.c, rest_av_data.c) ---------- */

typedef struct td_sim_av_s td_sim_av_t;

/* NULL with a message in err if the --av-* options are unusable. */
td_sim_av_t *td__sim_av_new(const td_sim_cfg_t *cfg, char *err, size_t errlen);
/* Opens --record-calls. 0 or -1 (logged). */
int td__sim_av_start(td_sim_av_t *av);
void td__sim_av_free(td_sim_av_t *av);
/* LWS_CALLBACK_HTTP on /query: decides the answer now and writes it in a
 * later HTTP_WRITEABLE (after --av-latency). *slot is the wsi's request. */
int td__sim_av_http(td_sim_av_t *av, struct lws *wsi, td_sim_reply_t **slot);

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

/* ---- history REST (rest_hist.c, rest_hist_vendor.c, rest_hist_data.c) ---- */

typedef struct td_sim_hist_s td_sim_hist_t;
typedef struct td_sim_hdata_s td_sim_hdata_t;
typedef struct td_sim_ticks_s td_sim_ticks_t;

/* NULL with a message in err if the --hist-* / --*-rate options are unusable. */
td_sim_hist_t *td__sim_hist_new(const td_sim_cfg_t *cfg, char *err, size_t errlen);
/* The listener's base URL (for next_url) and the --record-calls file
 * (borrowed, may be NULL). */
void td__sim_hist_start(td_sim_hist_t *h, const char *base_url, FILE *rec);
void td__sim_hist_free(td_sim_hist_t *h);
/* The deterministic bars the history endpoints serve (streamed bars too). */
const td_sim_hdata_t *td__sim_hist_data(const td_sim_hist_t *h);
/* The trades and quotes ring the history endpoints serve (may be NULL). */
void td__sim_hist_set_ticks(td_sim_hist_t *h, const td_sim_ticks_t *ticks);

/* rest_ticks.c (--bar-seconds): a ring of the last `cap` stock and crypto
 * trades and quotes generated (the event's JSON as built), and GET
 * /v2/stocks/trades|quotes and /v1beta3/crypto/us/trades|quotes from it. */
td_sim_ticks_t *td__sim_ticks_new(size_t cap);
void td__sim_ticks_free(td_sim_ticks_t *r);
void td__sim_ticks_push(td_sim_ticks_t *r, td_kind_t kind, const char *ev, size_t n);
/* Whether `uri` is one of the history paths. */
int td__sim_hist_path(const char *uri);
/* Alpaca crypto history (bars, trades, quotes: no key needed); the stock
 * history is under /v2/stocks/. */
#define TD_SIM_CRYPTO_HIST "/v1beta3/crypto/us/"
#define TD_SIM_CRYPTO_BARS TD_SIM_CRYPTO_HIST "bars"
int td__sim_hist_http(td_sim_hist_t *h, struct lws *wsi, const char *uri, td_sim_reply_t **slot);
/* rest_av.c: the --record-calls file, or NULL. */
FILE *td__sim_av_rec(td_sim_av_t *av);

#define TD_SIM_HQ_MAX 32
typedef struct {
    char name[32], value[1024];
} td_sim_hq_t;

typedef struct td_sim_hcall_s {
    const char *uri;
    td_sim_hq_t q[TD_SIM_HQ_MAX];
    int nq, bad;          /* bad: a name or value too long */
    const char *base_url; /* http://host:port */
    uint64_t request_id;
    td_buf_t *out; /* the body */
    int status;
    const char *outcome;
    char symbols[256];
    size_t rows;
    int64_t first, last;         /* unix seconds of the first and last bar served */
    int conn;                    /* the connection's socket (keep-alive: the same for its calls) */
    int repeat_token;            /* --hist-repeat-token */
    int64_t minute;              /* seconds of the timeframe "1Min" (--bar-seconds, else 60) */
    const td_sim_ticks_t *ticks; /* trades and quotes (--bar-seconds), or NULL */
} td_sim_hcall_t;

const char *td__sim_hq_get(const td_sim_hcall_t *c, const char *name);

typedef struct {
    int64_t t, o, h, l, c, vw; /* prices in 1e-4 units */
    uint64_t v, n;
} td_sim_bar_t;
td_sim_hdata_t *td__sim_hdata_new(uint64_t seed, size_t nsyms);
void td__sim_hdata_free(td_sim_hdata_t *d);
/* First bar start >= ts of bars `step` seconds long (86400: midnight ET). */
int64_t td__sim_hdata_first(int64_t step, int64_t ts);
/* RFC 3339 or YYYY-MM-DD (UTC midnight) to unix seconds; -1 if malformed. */
int td__sim_hdata_parse_time(const char *s, int64_t *out);
void td__sim_hdata_rfc3339(int64_t t, char out[24]);
/* Upper-case letter, then upper-case letters, digits, '.' or chars of extra. */
int td__sim_hdata_valid_symbol(const char *s, const char *extra);
/* A symbol's base price (1e-4 units): look it up once per page, not per bar. */
int64_t td__sim_hdata_base(const td_sim_hdata_t *d, const char *sym);
void td__sim_hdata_bar(const td_sim_hdata_t *d, const char *sym, int64_t base, int64_t step,
                       int64_t t, td_sim_bar_t *b);
void td__sim_hdata_bar_json(const td_sim_bar_t *b, int polygon, td_buf_t *out);
void td__sim_hdata_am_json(const td_sim_bar_t *b, const char *sym, int64_t step, td_buf_t *out);
void td__sim_hdata_exchanges(td_buf_t *out);
void td__sim_hdata_coins(td_buf_t *out);
/* The grid price object; returns the HTTP status (200, 400, 404). */
int td__sim_hdata_price(const td_sim_hdata_t *d, const char *exch, const char *coin,
                        const char *date, td_buf_t *out);
/* rest_hist_vendor.c: fill c->out, c->status, c->outcome, rows. */
void td__sim_hist_alpaca(const td_sim_hdata_t *d, td_sim_hcall_t *c);
void td__sim_hist_polygon(const td_sim_hdata_t *d, td_sim_hcall_t *c);
void td__sim_hist_grid(const td_sim_hdata_t *d, td_sim_hcall_t *c);
/* Alpaca trades or quotes of stocks, or of pairs (crypto: symbols with '/'). */
void td__sim_hist_ticks(const td_sim_ticks_t *r, td_sim_hcall_t *c, td_kind_t kind, int crypto);
/* Polygon /v3/trades/{T} and /v3/quotes/{T} from the same ring. */
void td__sim_hist_ticks_polygon(const td_sim_ticks_t *r, td_sim_hcall_t *c);

/* ---- recordings as the event source (replay.c) --------------------------- */

typedef struct td_sim_replay_s td_sim_replay_t;

/* Reads the headers of cfg->replay and gives each stream its files (by the
 * recorded path). 0, or -1 with a message in err. */
int td__sim_replay_open(td_sim_t *sim, char *err, size_t errlen);
/* The stream's first subscription: the replay starts. */
void td__sim_replay_start(td_sim_stream_t *st);
/* Sends what is due (or, at max speed, what the clients take). 0 once the
 * recordings have ended, else 1. */
int td__sim_replay_run(td_sim_stream_t *st, uint64_t now_ns);
/* One line per stream: its files and time span, for the listening line. */
void td__sim_replay_describe(const td_sim_stream_t *st, td_buf_t *out);
void td__sim_replay_free(td_sim_replay_t *rp);

/* --record-frames: the data events built this tick, as frames of at most
 * --batch events (server.c). */
typedef struct td_sim_framerec_s {
    struct td_rec_s *w;
    td_buf_t buf;
    uint32_t nev;
} td_sim_framerec_t;

/* ---- server (server.c) --------------------------------------------------- */

struct td_sim_stream_s {
    td_sim_t *sim;
    const td_vstream_t *vs;       /* its entry in the stream table */
    const char *path, *feed;      /* vs's */
    td_class_t cls;               /* vs's */
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
    td_sim_replay_t *rp;  /* tickerd replay: this stream's recordings (NULL: not served) */
    td_sim_framerec_t fr; /* --record-frames */
    int64_t bar_t;        /* --bar-seconds: start of the next period whose bars are sent */
};

#define TD_SIM_NSTREAMS TD_VENDOR_NSTREAMS

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
    int evict_old;              /* --polygon-evict old */
    td_sim_av_t *av;            /* GET /query */
    td_sim_hist_t *hist;        /* history REST */
    int replay;                 /* serving recordings, not the generators */
    struct td_recdir_s *frames; /* --record-frames */
    td_sim_ticks_t *ticks;      /* --bar-seconds: trades and quotes generated, for REST */
};

/* The stream has a subscriber: start its generator if it was idle. */
void td__sim_stream_interest(td_sim_stream_t *st);
/* A session's want changed (or it left): recompute the union lazily. */
void td__sim_stream_dirty(td_sim_stream_t *st);

#endif
