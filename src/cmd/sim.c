/* SPDX-License-Identifier: Apache-2.0 */
/* `tickerd sim`: the Alpaca and Polygon market-data stream simulator. Wiring only. */
#include "cmd/cmd.h"
#include "core/log.h"
#include "core/opt.h"
#include "sim/sim.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct {
    td_sim_cfg_t sim;
    char *log_level, *log_format;
} sim_opts_t;

#define F(x) offsetof(sim_opts_t, x)
#define S(x) offsetof(sim_opts_t, sim.x)

static const td_opt_t sim_table[] = {
    {"listen", TD_OPT_STR, S(listen), 0, 0, "127.0.0.1:8765", "ADDR:PORT", NULL, 0,
     "address to listen on (IPv4; use 127.0.0.1)"},
    {"key", TD_OPT_STR, S(key), 0, 0, NULL, "KEY", NULL, 0,
     "the only API key id accepted, also the only Polygon key and Alpha Vantage apikey "
     "(default: any non-empty key)"},
    {"secret", TD_OPT_STR, S(secret), 0, 0, NULL, "SECRET", NULL, TD_OPT_SECRET,
     "the only API secret accepted (default: any non-empty secret)"},
    {"auth-timeout", TD_OPT_DOUBLE, S(auth_timeout), 0, 86400, "10", "SECONDS", NULL,
     TD_OPT_DURATION,
     "send 404 auth timeout (Polygon: status auth_timeout) and close if no auth arrives in "
     "time; 0 = never"},
    {"symbol-limit", TD_OPT_INT, S(symbol_limit), 0, 1e9, "0", "N", NULL, 0,
     "405 if a subscribe would name more than N distinct symbols (all channels, wildcards not "
     "counted); 0 = unlimited"},
    {"max-conns", TD_OPT_INT, S(max_conns), 0, 1e6, "1", "N", NULL, 0,
     "406 at auth past N authenticated connections per key per path (Polygon: per cluster, "
     "status max_connections and close 1008, see --polygon-evict); 0 = unlimited"},
    {"polygon-evict", TD_OPT_STR, S(polygon_evict), 0, 0, "new", "new|old", NULL, 0,
     "Polygon paths past --max-conns: new = the new connection is evicted after it was "
     "authenticated and its first subscribe confirmed (or 1 s after auth), as seen live; old = "
     "the oldest connection of the key is evicted and the new one stays"},
    {"deny-feed", TD_OPT_LIST, S(deny_feed), 0, 0, NULL, "FEED", NULL, 0,
     "409 insufficient subscription at auth on this feed (iex, sip, delayed_sip, test, crypto, "
     "news)"},
    {"symbols", TD_OPT_INT, S(symbols), 1, 100000, "50", "N", NULL, 0,
     "symbols per stream: real tickers (BRK.B, ...; BTC/USD, ... for crypto; Polygon: "
     "O:SPY241220C00520000, ... for options, EUR/USD, ... for forex, BTC-USD, ... for crypto), "
     "then synthetic XAAA..."},
    {"seed", TD_OPT_INT, S(seed), 0, 9e18, "1", "N", NULL, 0,
     "seed of the deterministic random walks"},
    {"rate", TD_OPT_DOUBLE, S(rate), 0.001, 1e9, "1000", "EVENTS_PER_S", NULL, 0,
     "events per second per stream (news: rate/100, at least 1); a stream's generator starts "
     "at its first subscription"},
    {"batch", TD_OPT_INT, S(batch), 1, 100000, "10", "N", NULL, 0, "events per frame, at most"},
    {"count", TD_OPT_INT, S(count), 0, 9e18, "0", "N", NULL, 0,
     "stop generating after N events in total; 0 = unlimited"},
    {"drop-every", TD_OPT_DOUBLE, S(drop_every), 0, 1e6, "0", "SECONDS", NULL, TD_OPT_DURATION,
     "close each connection SECONDS after it opened; 0 = off"},
    {"drop-after", TD_OPT_INT, S(drop_after), 0, 9e18, "0", "EVENTS", NULL, 0,
     "close a connection once it was sent EVENTS events; 0 = off"},
    {"malformed-every", TD_OPT_INT, S(malformed_every), 0, 1e9, "0", "N", NULL, 0,
     "every Nth data frame of a connection is a truncated copy of it (the real frame follows, "
     "nothing is lost or recorded twice); 0 = off, N >= 2"},
    {"stall", TD_OPT_DOUBLE, S(stall), 0, 86400, "0", "SECONDS", NULL, TD_OPT_DURATION,
     "once per connection, 1 s after its first data, neither write nor read (pings unanswered) "
     "for SECONDS; 0 = off"},
    {"oversize-once", TD_OPT_INT, S(oversize_once), 0, 1e9, "0", "BYTES", NULL, 0,
     "once per connection, before its first data frame, one text message of BYTES bytes: "
     "\"garbage\", spaces, then a valid-looking trade of symbol EVIL (not recorded); 0 = off"},
    {"record", TD_OPT_STR, S(record), 0, 0, NULL, "FILE", NULL, 0,
     "JSON lines, one per event sent: exactly the event object's bytes as in the frames; an "
     "event is recorded once (it is built once), however many connections it goes to, when it "
     "is queued (so also if its connection is dropped before the write); events nobody "
     "subscribed to are not recorded; flushed every tick and at exit"},
    {"record-frames", TD_OPT_STR, S(record_frames), 0, 0, NULL, "DIR", NULL, 0,
     "record the data frames (each tick's events of a stream, at most --batch per frame, as a "
     "wildcard subscriber would get them) into DIR in the format of tickerd run --record, for "
     "tickerd replay; events nobody subscribed to are not built, so not recorded"},
    {"max-pending", TD_OPT_INT, S(max_pending_mb), 1, 1e6, "64", "MIB", NULL, 0,
     "output queued for one connection past which it gets 407 slow client and is closed"},
    {"tick-ms", TD_OPT_INT, S(tick_ms), 1, 1000, "2", "MS", NULL, 0, "generator timer period"},
    {"stats", TD_OPT_DOUBLE, S(stats), 0, 86400, "0", "SECONDS", NULL, TD_OPT_DURATION,
     "log a rates line every SECONDS; 0 = only at exit"},
    {"tls-cert", TD_OPT_STR, S(tls_cert), 0, 0, NULL, "PEM", NULL, 0,
     "serve wss:// (TLS) instead of ws:// on --listen with this certificate (chain); needs "
     "--tls-key"},
    {"tls-key", TD_OPT_STR, S(tls_key), 0, 0, NULL, "PEM", NULL, 0,
     "private key of --tls-cert (unencrypted PEM)"},
    {"av-per-minute", TD_OPT_INT, S(av_per_minute), 0, 1e6, "5", "N", NULL, 0,
     "Alpha Vantage /query: counted calls per API key per --av-minute window (rolling); past "
     "it a call is answered with the --av-minute-key body; 0 = unlimited"},
    {"av-minute", TD_OPT_DOUBLE, S(av_minute), 0.001, 1e9, "60", "SECONDS", NULL, TD_OPT_DURATION,
     "length of the rolling window of --av-per-minute"},
    {"av-per-day", TD_OPT_INT, S(av_per_day), 0, 1e6, "25", "N", NULL, 0,
     "counted calls per API key per --av-day window (rolling); past it a call is answered "
     "with the --av-day-key body (checked before the per-minute limit); 0 = unlimited. "
     "Throttled calls are answered but not counted; every other call with a valid key is "
     "(quotes, unknown symbols, invalid calls)"},
    {"av-day", TD_OPT_DOUBLE, S(av_day), 0.001, 1e9, "86400", "SECONDS", NULL, TD_OPT_DURATION,
     "length of the rolling window of --av-per-day"},
    {"av-minute-key", TD_OPT_STR, S(av_minute_key), 0, 0, "Note", "KEY", NULL, 0,
     "top-level key of the per-minute throttle body"},
    {"av-minute-text", TD_OPT_STR, S(av_minute_text), 0, 0,
     "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute "
     "and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would "
     "like to target a higher API call frequency.",
     "TEXT", NULL, 0,
     "text of the per-minute throttle body (the historical Note of docs/PROTOCOLS.md §5.3)"},
    {"av-day-key", TD_OPT_STR, S(av_day_key), 0, 0, "Information", "KEY", NULL, 0,
     "top-level key of the daily cap body"},
    {"av-day-text", TD_OPT_STR, S(av_day_text), 0, 0,
     "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. "
     "Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to "
     "instantly remove all daily rate limits.",
     "TEXT", NULL, 0, "text of the daily cap body (the current 25/day Information text)"},
    {"av-latency", TD_OPT_INT, S(av_latency_ms), 0, 600000, "0", "MS", NULL, 0,
     "delay every /query answer by MS milliseconds (decided and recorded on receipt)"},
    {"record-calls", TD_OPT_STR, S(record_calls), 0, 0, NULL, "FILE", NULL, 0,
     "JSON lines, one per /query call, flushed per call: {\"t\":unix ns received,"
     "\"function\":...,\"symbol\":...,\"key\":first 4 chars and \u2026,\"outcome\":"
     "quote|unknown|throttled_minute|throttled_day|error} (quote: data served, also for "
     "TIME_SERIES_INTRADAY); history calls too: {\"t\":...,\"conn\":the connection's socket,"
     "\"vendor\":alpaca|polygon|grid,"
     "\"path\":...,\"query\":{name: decoded "
     "value},\"symbols\":...,\"outcome\":ok|unknown|invalid|bad_request|forbidden|"
     "unauthorized|throttled|injected|not_found,\"status\":HTTP status,\"rows\":bars served,"
     "\"first\":unix s of the first bar or null,\"last\":...}"},
    {"hist-latency", TD_OPT_INT, S(hist_latency_ms), 0, 600000, "0", "MS", NULL, 0,
     "delay every history answer (Alpaca bars, Polygon aggregates, grid) by MS milliseconds"},
    {"alpaca-rate", TD_OPT_STR, S(alpaca_rate), 0, 0, NULL, "N/SECONDS", NULL, 0,
     "Alpaca bars: at most N requests per rolling SECONDS window (all keys together), e.g. "
     "200/60; past it 429 {\"message\":\"too many requests\"} with Retry-After; every Alpaca "
     "answer then carries X-Ratelimit-Limit/Remaining/Reset (epoch s); default: no limit"},
    {"polygon-rate", TD_OPT_STR, S(polygon_rate), 0, 0, NULL, "N/SECONDS", NULL, 0,
     "Polygon aggregates: at most N requests per rolling SECONDS window, e.g. 5/60; past it 429 "
     "with the vendor's ERROR body and Retry-After; default: no limit"},
    {"hist-retry-after", TD_OPT_BOOL, S(hist_retry_after), 0, 0, "yes", NULL, NULL, 0,
     "send Retry-After with a 429 (--no-hist-retry-after: only Alpaca's X-Ratelimit-Reset "
     "tells when to come back)"},
    {"hist-5xx-every", TD_OPT_INT, S(hist_5xx_every), 0, 1e9, "0", "N", NULL, 0,
     "every Nth history request past auth and rate limits answers 500, then 502, then 503 "
     "(cycling) with a JSON body in the vendor's error shape; 0 = off"},
    {"hist-5xx-percent", TD_OPT_DOUBLE, S(hist_5xx_percent), 0, 100, "0", "P", NULL, 0,
     "each history request past auth and rate limits fails the same way with probability P % "
     "(random, repeatable for a --seed); 0 = off"},
    {"hist-repeat-token", TD_OPT_BOOL, S(hist_repeat_token), 0, 0, "no", NULL, NULL, 0,
     "a vendor stuck in a loop: an Alpaca page asked with a page_token names that same token as "
     "its next_page_token, and every Polygon page's next_url is the request's own URL"},
    {"hist-forbidden", TD_OPT_BOOL, S(hist_forbidden), 0, 0, "no", NULL, NULL, 0,
     "every Alpaca bars, trades, quotes and Polygon aggregates request answers 403 (a plan "
     "without history): nothing can be refilled"},
    {"bar-seconds", TD_OPT_INT, S(bar_seconds), 0, 60, "0", "SECONDS", NULL, 0,
     "stock and Alpaca crypto streams: minute bars (Alpaca b, Polygon /stocks AM) are no "
     "longer drawn from the random walk but are "
     "the history endpoints' bars (crypto: GET /v1beta3/crypto/us/bars), one per wanted symbol per "
     "period, sent once the period is "
     "over; the period is SECONDS long and the REST timeframe NMin means N periods (60: real "
     "minutes; less compresses time for tests); the last 65536 stock and crypto trades and quotes "
     "generated are kept and served at GET /v2/stocks/trades and /v2/stocks/quotes (pairs: "
     "/v1beta3/crypto/us/trades and /v1beta3/crypto/us/quotes, keys optional; Polygon /stocks: "
     "/v3/trades/T and /v3/quotes/T); 0 = off: bars drawn "
     "from the walk, several per minute, unrelated to the REST history"},
    {"log-level", TD_OPT_STR, F(log_level), 0, 0, "info", "LEVELS", NULL, 0,
     "error, warn, info or debug; per component too, e.g. info,feed=debug (components: the "
     "subcommand, feed, gateway, sink, bus, poll, http, store, proto, core, sim)"},
    {"log-format", TD_OPT_STR, F(log_format), 0, 0, "text", "FORMAT", NULL, 0,
     "text, or json: one object per line with ts, level, component, cmd, msg"},
    TD_OPT_END,
};

static const td_opts_t sim_opts = {
    "sim",
    sim_table,
    "usage: tickerd sim [OPTIONS]",
    "Simulates the Alpaca market-data WebSocket streams (JSON mode): /v2/iex, /v2/sip,\n"
    "/v2/delayed_sip, /v2/test (symbol FAKEPACA), /v1beta3/crypto/us, /v1beta1/news. Auth by\n"
    "message or by the APCA-API-KEY-ID / APCA-API-SECRET-KEY upgrade headers, additive\n"
    "subscriptions with full confirmations, the vendor's error codes, batched data with\n"
    "timestamps from the real send time, deterministic prices from --seed, fault injection.\n"
    "\n"
    "On the same listener, the Polygon.io clusters /stocks (T Q A AM LULD NOI), /options\n"
    "(T Q A AM), /forex (C CA CAS) and /crypto (XT XQ XA XAS XL2): status connected,\n"
    "{\"action\":\"auth\",\"params\":KEY} (auth_success, or auth_failed and close),\n"
    "subscribe/unsubscribe with \"params\":\"T.AAPL, Q.*\" answered by one status success\n"
    "\"subscribed to: T.AAPL\" per topic, max_connections per --max-conns/--polygon-evict.\n"
    "Our own error statuses (status \"error\"): \"not authorized\" (subscribe before auth),\n"
    "\"invalid JSON\", \"unknown action: X\", \"already authenticated\", \"missing params\",\n"
    "\"invalid subscription: X\" (nothing of that message applied), \"symbol limit exceeded\";\n"
    "the connection stays. t in Unix ms (LULD: us, NOI: ns, as the spec's examples).\n"
    "--rate, --batch, --count, --record and the faults apply to every path alike.\n"
    "\n"
    "Alpha Vantage on the same listener, plain HTTP GET /query (docs/PROTOCOLS.md §5), always\n"
    "HTTP 200 with Content-Type application/json:\n"
    "  function=GLOBAL_QUOTE&symbol=IBM&apikey=KEY -> {\"Global Quote\":{\"01. symbol\":...}},\n"
    "    every value a string (prices with 4 decimals, change percent ending in %); a symbol\n"
    "    outside the universe -> {\"Global Quote\":{}}. The universe is the --symbols stock\n"
    "    tickers of /v2/iex, case-insensitive: AAPL MSFT AMZN NVDA GOOGL META TSLA BRK.B JPM\n"
    "    V ... in that order (IBM is the 57th: it needs --symbols 57 or more), then XAAA...;\n"
    "  function=TIME_SERIES_INTRADAY&symbol=IBM&interval=1min|5min|15min|30min|60min\n"
    "    [&outputsize=compact|full] -> Meta Data and \"Time Series (5min)\", newest first,\n"
    "    US/Eastern timestamps of bar starts, the newest the last completed bar, 24 hours a\n"
    "    day; compact = 100 bars, full = 1000; an unknown symbol -> Invalid API call;\n"
    "  datatype=json only (csv -> Invalid API call); other parameters are ignored.\n"
    "Prices: a deterministic minute walk per symbol from --seed, each US/Eastern day from\n"
    "its own anchor within 5% of the symbol's /v2/iex starting price, so a given minute\n"
    "always has the same bar. Errors: a missing function, unknown function or bad parameter\n"
    "-> {\"Error Message\":\"Invalid API call. ... for FUNCTION.\"}; a missing apikey, or\n"
    "one other than --key when set -> {\"Error Message\":\"the parameter apikey is invalid\n"
    "or missing. ...\"}. Per key: --av-per-day then --av-per-minute (rolling windows).\n"
    "\n"
    "History for tickerd backfill, plain HTTP GET, JSON answers. Bars are a pure function\n"
    "of (--seed, symbol, bar length, bar start), 24 hours a day, every day, on a grid of\n"
    "multiples of the bar length since the epoch (days: midnight US/Eastern in UTC); a page\n"
    "fetched twice is identical. Only sort=asc is simulated. No bar starts after now.\n"
    "  Alpaca (docs/PROTOCOLS.md §2): /v2/stocks/{SYM}/bars and /v2/stocks/bars?symbols=A,B\n"
    "    with timeframe=NMin (1-59)|NHour (1-23)|1Day, start, end (RFC 3339 or YYYY-MM-DD,\n"
    "    inclusive; default today 00:00Z .. now), limit (1-10000, default 1000; multi-symbol:\n"
    "    the total of the page), page_token (base64 next_page_token, null on the last page).\n"
    "    Headers APCA-API-KEY-ID/APCA-API-SECRET-KEY required (checked against --key/--secret\n"
    "    when set) -> 403 {\"message\":\"forbidden\"}. A symbol is invalid (422 {\"message\":\n"
    "    \"invalid symbol: X\"}) unless it is an upper-case letter then upper-case letters,\n"
    "    digits or '.' (e.g. aapl or A$B fail); any valid symbol has bars (those of the\n"
    "    --symbols universe start near their /v2/iex prices). Bad parameters -> 400.\n"
    "    /v1beta3/crypto/us/bars?symbols=BTC/USD,ETH/USD: the same for pairs (a '/' is\n"
    "    allowed after the first letter); keys optional (Alpaca needs none for crypto), wrong\n"
    "    ones -> 403. Their prices are unrelated to the crypto stream's trades and quotes.\n"
    "  Trades and quotes (with --bar-seconds): /v2/stocks/trades|quotes and, for pairs,\n"
    "    /v1beta3/crypto/us/trades|quotes (keys optional) ?symbols=A,B&start&end&limit\n"
    "    &page_token -> {\"trades\":{\"SYM\":[records]},\"next_page_token\":...}: the\n"
    "    generated events of the window, each record the streamed event without T and S.\n"
    "  Polygon (§4): /v2/aggs/ticker/{T}/range/{M}/{minute|hour|day}/{from}/{to} (YYYY-MM-DD\n"
    "    or Unix ms; to = through that UTC day), limit (default 5000, max 50000), key by\n"
    "    apiKey= or Authorization: Bearer (--key when set) -> 401 Unknown API Key; next_url\n"
    "    (this listener, no apiKey) while more bars remain; a ticker not matching\n"
    "    [A-Z][A-Z0-9.:-]* -> 200 with resultsCount 0 and no results.\n"
    "  Grid: /exchanges (11 names), /symbols (btc eth ltc), /price/{EXCHANGE}/{SYMBOL}/\n"
    "    {YYYY-MM-DD} -> {exchange,symbol,date,open,high,low,close,volume}; unknown\n"
    "    exchange or symbol -> 404 {\"error\":...}.\n"
    "  Faults: --hist-latency, --alpaca-rate, --polygon-rate, --hist-5xx-every,\n"
    "  --hist-5xx-percent, --no-hist-retry-after, --hist-repeat-token.",
};

typedef struct {
    td_sim_t *sim;
    uv_signal_t sigint, sigterm, sighup;
} app_t;

/* Stops the loop; the context is destroyed outside of it (lws on a foreign
 * libuv loop only finishes its teardown that way), then the loop runs again
 * until every handle is closed. */
static void on_signal(uv_signal_t *h, int signum)
{
    TD_INFO("signal %d: shutting down", signum);
    uv_stop(h->loop);
}

static void on_sighup(uv_signal_t *h, int signum)
{
    (void)h;
    (void)signum;
    td_log_on_sighup(0);
}

int td__cmd_sim_serve(const td_sim_cfg_t *cfg, const char *cmd)
{
    uv_loop_t loop;
    char err[1024];
    uv_loop_init(&loop);
    app_t app = {0};
    app.sim = td_sim_new(&loop, cfg, err, sizeof err);
    if (!app.sim) {
        fprintf(stderr, "tickerd %s: %s\n", cmd, err);
        uv_loop_close(&loop);
        return 2;
    }
    int rc = td_sim_start(app.sim);
    if (rc == 0) {
        uv_signal_init(&loop, &app.sigint);
        uv_signal_init(&loop, &app.sigterm);
        uv_signal_init(&loop, &app.sighup);
        app.sigint.data = app.sigterm.data = app.sighup.data = &app;
        uv_signal_start(&app.sigint, on_signal, SIGINT);
        uv_signal_start(&app.sigterm, on_signal, SIGTERM);
        uv_signal_start(&app.sighup, on_sighup, SIGHUP);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_close((uv_handle_t *)&app.sigint, NULL);
        uv_close((uv_handle_t *)&app.sigterm, NULL);
        uv_close((uv_handle_t *)&app.sighup, NULL);
    }
    td_sim_stop(app.sim);
    uv_run(&loop, UV_RUN_DEFAULT);
    td_sim_free(app.sim);
    int lc = uv_loop_close(&loop);
    if (lc != 0) TD_WARN("loop not closed cleanly: %s", uv_strerror(lc));
    return rc == 0 ? 0 : 1;
}

int td_cmd_sim(int argc, char **argv)
{
    sim_opts_t o;
    memset(&o, 0, sizeof o);
    char err[256];
    td_log_set_prefix("sim");
    int rc = td_opts_parse(&sim_opts, &o, argc, argv, err, sizeof err);
    if (rc != 0) {
        if (rc < 0) fprintf(stderr, "tickerd sim: %s\n", err);
        td_opts_free(&sim_opts, &o);
        return rc < 0 ? 2 : 0;
    }
    td_log_note_file();
    signal(SIGPIPE, SIG_IGN);
    rc = td__cmd_sim_serve(&o.sim, "sim");
    td_opts_free(&sim_opts, &o);
    return rc;
}

const td_opts_t *td_cmd_sim_opts(void)
{
    return &sim_opts;
}
