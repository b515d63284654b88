/* SPDX-License-Identifier: Apache-2.0 */
/* libtickerd: a streaming client for market-data vendors (Alpaca, Polygon),
 * built on the same upstream connection code tickerd itself uses.
 *
 * One client talks to one vendor account. Each service (stock quotes, crypto
 * trades, ...) lives on one of the vendor's streams (Alpaca /v2/iex,
 * /v1beta3/crypto/us, /v1beta1/news; Polygon /stocks, /options, /forex,
 * /crypto); the client opens one WebSocket connection per stream it needs,
 * authenticates, subscribes what was asked, and keeps subscriptions and
 * handlers across reconnects.
 *
 * Threading: the library is single-threaded. Every call, and every callback,
 * happens on the thread that runs the client's libuv loop (the caller's loop,
 * or the one the client owns). Separate clients are independent.
 *
 * Errors: functions return 0 or a negative TICKERD_E* code. A call that fails
 * never calls a callback because of that call.
 *
 * Ownership: strings passed in are copied unless a comment says "borrowed".
 * Views handed to callbacks (event symbol and JSON, state detail) are valid
 * only during the callback; copy what you keep. */
#ifndef TICKERD_TICKERD_H
#define TICKERD_TICKERD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TICKERD_VERSION "0.1.0"

enum {
    TICKERD_OK = 0,
    TICKERD_EINVAL = -1,  /* a bad argument (NULL where not allowed, unknown service) */
    TICKERD_ENOTSUP = -2, /* the client's vendor does not offer this service */
    TICKERD_ECLOSED = -3, /* the client is closing or closed */
    TICKERD_ECONFIG = -4, /* options unusable (bad URL, missing key) */
    TICKERD_ELWS = -5,    /* no longer returned (the library needs no libwebsockets context) */
};

typedef enum tickerd_vendor_e {
    TICKERD_ALPACA = 0,
    TICKERD_POLYGON = 1,
} tickerd_vendor_t;

/* Services and what offers them: A = Alpaca, P = Polygon (its event prefix).
 * The name (tickerd_service_name) is what the examples accept. */
#define TICKERD_SERVICE_MAP(XX)                                                                    \
    XX(STOCK_TRADES, "stock_trades")               /* A trades,  P T      */                       \
    XX(STOCK_QUOTES, "stock_quotes")               /* A quotes,  P Q      */                       \
    XX(STOCK_BARS, "stock_bars")                   /* A bars,    P AM     */                       \
    XX(STOCK_SECOND_BARS, "stock_second_bars")     /*            P A      */                       \
    XX(STOCK_DAILY_BARS, "stock_daily_bars")       /* A dailyBars         */                       \
    XX(STOCK_UPDATED_BARS, "stock_updated_bars")   /* A updatedBars       */                       \
    XX(STOCK_STATUSES, "stock_statuses")           /* A statuses          */                       \
    XX(STOCK_LULDS, "stock_lulds")                 /* A lulds,   P LULD   */                       \
    XX(STOCK_IMBALANCES, "stock_imbalances")       /* A imbalances, P NOI */                       \
    XX(STOCK_CORRECTIONS, "stock_corrections")     /* A corrections (come with trades) */          \
    XX(STOCK_CANCEL_ERRORS, "stock_cancel_errors") /* A cancelErrors (come with trades) */         \
    XX(OPTION_TRADES, "option_trades")             /*            P T      */                       \
    XX(OPTION_QUOTES, "option_quotes")             /*            P Q      */                       \
    XX(OPTION_BARS, "option_bars")                 /*            P AM     */                       \
    XX(OPTION_SECOND_BARS, "option_second_bars")   /*            P A      */                       \
    XX(FOREX_QUOTES, "forex_quotes")               /*            P C      */                       \
    XX(FOREX_BARS, "forex_bars")                   /*            P CA     */                       \
    XX(FOREX_SECOND_BARS, "forex_second_bars")     /*            P CAS    */                       \
    XX(CRYPTO_TRADES, "crypto_trades")             /* A trades,  P XT     */                       \
    XX(CRYPTO_QUOTES, "crypto_quotes")             /* A quotes,  P XQ     */                       \
    XX(CRYPTO_BARS, "crypto_bars")                 /* A bars,    P XA     */                       \
    XX(CRYPTO_SECOND_BARS, "crypto_second_bars")   /*            P XAS    */                       \
    XX(CRYPTO_DAILY_BARS, "crypto_daily_bars")     /* A dailyBars         */                       \
    XX(CRYPTO_UPDATED_BARS, "crypto_updated_bars") /* A updatedBars       */                       \
    XX(CRYPTO_ORDERBOOKS, "crypto_orderbooks")     /* A orderbooks, P XL2 */                       \
    XX(NEWS, "news")                               /* A news              */

typedef enum tickerd_service_e {
#define TICKERD_XX(name, str) TICKERD_##name,
    TICKERD_SERVICE_MAP(TICKERD_XX)
#undef TICKERD_XX
        TICKERD_SERVICE__COUNT
} tickerd_service_t;

/* "stock_quotes", ...; NULL if out of range. */
const char *tickerd_service_name(tickerd_service_t s);
/* The service named s, or -1. */
int tickerd_service_parse(const char *s);
/* 1 if vendor v offers service s, else 0. */
int tickerd_service_offered(tickerd_vendor_t v, tickerd_service_t s);
/* The stream path the service lives on for vendor v ("/v2/iex", "/stocks"),
 * or NULL if not offered. Alpaca stocks use "/v2/" + options.alpaca_feed;
 * this returns the default ("/v2/iex"). Static string. */
const char *tickerd_service_path(tickerd_vendor_t v, tickerd_service_t s);

/* One event: a view valid only during the handler call. */
typedef struct tickerd_event_s {
    tickerd_service_t service;
    tickerd_vendor_t vendor;
    const char *kind;   /* the channel word: "trades", "quotes", "bars", ... (static) */
    const char *symbol; /* not NUL-terminated */
    size_t symbol_len;
    const char *json; /* the vendor's object, byte for byte; not NUL-terminated */
    size_t json_len;
    /* From a tickerd gateway, on a channel resumed with
     * tickerd_client_resume_from: the event's id in the channel's Redis
     * history ("1700000000000-0"; also the object's last member,
     * "stream_id"), not NUL-terminated. NULL otherwise. */
    const char *stream_id;
    size_t stream_id_len;
} tickerd_event_t;

/* Typed accessors, parsed from ev->json when called. Each returns 0 and sets
 * *out, or -1 if the event has no such field (or it is not a number).
 *   price, size       trades (and Alpaca cancel errors)
 *   bid/ask price     quotes (Polygon forex: b / a)
 *   bid/ask size      quotes (not Polygon forex)
 *   open ... volume   bars of every period
 * timestamp_ns: ns since the Unix epoch; Alpaca's RFC 3339 "t" (news:
 * "created_at"); Polygon's "t" in ms (aggregates: window start "s" in ms;
 * LULD and NOI: unit taken from the magnitude: s, ms, µs or ns). */
int tickerd_event_price(const tickerd_event_t *ev, double *out);
int tickerd_event_size(const tickerd_event_t *ev, double *out);
int tickerd_event_bid_price(const tickerd_event_t *ev, double *out);
int tickerd_event_bid_size(const tickerd_event_t *ev, double *out);
int tickerd_event_ask_price(const tickerd_event_t *ev, double *out);
int tickerd_event_ask_size(const tickerd_event_t *ev, double *out);
int tickerd_event_open(const tickerd_event_t *ev, double *out);
int tickerd_event_high(const tickerd_event_t *ev, double *out);
int tickerd_event_low(const tickerd_event_t *ev, double *out);
int tickerd_event_close(const tickerd_event_t *ev, double *out);
int tickerd_event_volume(const tickerd_event_t *ev, double *out);
int tickerd_event_timestamp_ns(const tickerd_event_t *ev, int64_t *out);
/* Any top-level numeric member of the object (e.g. "vw", "n"): 0 or -1.
 * key is borrowed; members whose name is written with escapes are not found. */
int tickerd_event_number(const tickerd_event_t *ev, const char *key, double *out);

typedef struct tickerd_client_s tickerd_client_t;

/* An event handler. `user` is the pointer given with it. The handler may call
 * tickerd_subscribe, _unsubscribe, _change_handler, _reconnect and _close,
 * but not tickerd_free. */
typedef void (*tickerd_handler_t)(tickerd_client_t *c, const tickerd_event_t *ev, void *user);

typedef enum tickerd_state_e {
    TICKERD_STATE_CONNECTING,   /* a connection attempt to the stream started */
    TICKERD_STATE_STREAMING,    /* authenticated; subscriptions sent, events flow */
    TICKERD_STATE_DISCONNECTED, /* the connection dropped or could not be made */
    TICKERD_STATE_RECONNECTING, /* waiting before the next automatic attempt */
    TICKERD_STATE_CLOSED,       /* tickerd_close finished (stream is NULL): the last callback */
} tickerd_state_t;

const char *tickerd_state_name(tickerd_state_t s); /* "connecting", ... */

/* A state change of one stream ("/v2/iex"; NULL for CLOSED). detail (may be
 * NULL) says why, e.g. "connection closed", "giving up after 5 attempts".
 * Both strings are valid only during the call. DISCONNECTED is followed by
 * RECONNECTING when the client reconnects by itself; otherwise the stream
 * stays down until tickerd_reconnect. Called outside the network callbacks,
 * so it may call any function but tickerd_free. */
typedef void (*tickerd_state_cb)(tickerd_client_t *c, const char *stream, tickerd_state_t state,
                                 const char *detail, void *user);

typedef struct tickerd_options_s {
    tickerd_vendor_t vendor;
    const char *url;    /* base, e.g. "ws://127.0.0.1:8765", "wss://socket.polygon.io"; copied */
    const char *key;    /* copied; never logged */
    const char *secret; /* copied; Alpaca only */
    const char *alpaca_feed; /* stocks stream /v2/<feed>: "iex" (default), "sip", ...; copied */
    uv_loop_t *loop;         /* borrowed, must outlive the client; NULL: the client owns one */
    int reconnect;           /* 1: reconnect automatically with backoff; 0: report and wait */
    double backoff_min_s;    /* first delay (default 0.5) */
    double backoff_max_s;    /* longest delay (default 30) */
    int max_retries; /* automatic attempts in a row without streaming before giving up (0: no limit)
                      */
    double ping_interval_s; /* ping after this much silence (default 10) */
    double ping_timeout_s;  /* drop if no answer this long after a ping (default 5) */
    const char *ca_file;    /* PEM CAs for wss:// instead of the system's (NULL: system); copied */
    int log_level; /* library log lines on stderr: 0 error (default), 1 warn, 2 info, 3 debug */
    tickerd_state_cb on_state; /* may be NULL */
    void *state_user;
    tickerd_handler_t
        on_event; /* default handler, for subscriptions made without one; may be NULL */
    void *event_user;
} tickerd_options_t;

/* Creates a client; nothing connects until tickerd_start or tickerd_run.
 * opts is copied (strings too; loop is borrowed). Returns NULL and, if err
 * is not NULL, a TICKERD_E* code in *err. */
tickerd_client_t *tickerd_client_new(const tickerd_options_t *opts, int *err);

/* The loop the client runs on (the caller's, or its own). */
uv_loop_t *tickerd_loop(tickerd_client_t *c);

/* Subscribes service for symbols[0..n) (each copied; n == 0: every symbol,
 * the vendor's "*"), and sets the service's handler (NULL: the default
 * handler) for every symbol of the service. Before start this is recorded;
 * while streaming the change goes upstream at the end of the loop turn.
 * Returns 0, TICKERD_EINVAL, TICKERD_ENOTSUP or TICKERD_ECLOSED. */
int tickerd_subscribe(tickerd_client_t *c, tickerd_service_t service, const char *const *symbols,
                      size_t n, tickerd_handler_t handler, void *user);
/* tickerd's gateway only (Alpaca dialect; docs/CLIENT.md): read service's
 * symbol from the gateway's Redis history after stream_id (exclusive; "0":
 * all the history kept), then live, with no gap and no duplicate at the
 * seam. Sent as "since" with the next subscribe naming the symbol, so call
 * it before tickerd_subscribe (or before start). From then on each event of
 * the channel reports its stream_id and becomes the resume point, so every
 * reconnect resumes after the last event delivered; store the id to resume
 * after a restart. Returns 0, TICKERD_EINVAL (not Alpaca, a wildcard, a
 * malformed id), TICKERD_ENOTSUP or TICKERD_ECLOSED. */
int tickerd_client_resume_from(tickerd_client_t *c, tickerd_service_t service, const char *symbol,
                               const char *stream_id);
/* Unsubscribes symbols[0..n) of service (n == 0: everything of the service,
 * wildcard and names). No event of a removed symbol reaches a handler after
 * this returns. Same return codes. */
int tickerd_unsubscribe(tickerd_client_t *c, tickerd_service_t service, const char *const *symbols,
                        size_t n);
/* Replaces the handler of service (NULL: the default handler); the next event
 * goes to the new one. Same return codes. */
int tickerd_change_handler(tickerd_client_t *c, tickerd_service_t service,
                           tickerd_handler_t handler, void *user);

/* Connects the streams subscribed so far (later subscriptions connect their
 * stream when made). For a caller that runs the loop itself. Returns 0 or
 * TICKERD_ECLOSED. */
int tickerd_start(tickerd_client_t *c);
/* tickerd_start, then runs the client's loop until it has nothing left to
 * do, i.e. until tickerd_close has finished (with a borrowed loop: until the
 * caller's other handles are gone too). Must not be called from a callback.
 * Returns 0, or TICKERD_ECLOSED. */
int tickerd_run(tickerd_client_t *c);

/* Reconnects every stream that is down (after DISCONNECTED with automatic
 * reconnect off, or after giving up) or waiting to retry, now, with its
 * current subscriptions and handlers. Streaming connections are untouched.
 * Returns 0 or TICKERD_ECLOSED. */
int tickerd_reconnect(tickerd_client_t *c);

/* Starts closing: no more events; connections are closed, the network
 * context destroyed and every handle of the client closed while the loop
 * runs; then the state callback gets CLOSED. Idempotent. */
void tickerd_close(tickerd_client_t *c);

/* Frees the client. If it is not closed yet, closes it and runs the loop
 * until it is (so never call this from a callback or while the loop runs);
 * an owned loop is closed too. NULL is ignored. */
void tickerd_free(tickerd_client_t *c);

#ifdef __cplusplus
}
#endif

#endif
