/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd run's options: one table, from which the flags, the config file's
 * keys, the environment variables, --help and the generated documents all
 * come (core/opt.h). */
#include "cmd/cmd.h"
#include "cmd/run_app.h"
#include "core/opt.h"

#include <stddef.h>

#define O(field) offsetof(run_cfg, field)
static const td_opt_t run_table[] = {
    {"feed", TD_OPT_STR, O(feed), 0, 0, "alpaca", "VENDOR", NULL, 0,
     "upstream dialect: alpaca (/v2/iex, /v1beta3/crypto/us, /v1beta1/news, ...), polygon "
     "(/stocks, /options, /forex, /crypto; key from POLYGON_API_KEY) or alphavantage (REST "
     "polling of one http(s)://HOST/query URL; key from ALPHAVANTAGE_API_KEY)"},
    {"url", TD_OPT_LIST, O(url), 0, 0, NULL, "URL", NULL, 0,
     "upstream stream, e.g. ws://127.0.0.1:8765/v2/iex; one connection per URL "
     "(stocks, crypto "
     "and news are separate streams)"},
    {"key", TD_OPT_STR, O(key), 0, 0, NULL, "KEY", "APCA_API_KEY_ID", TD_OPT_SECRET,
     "vendor key id"},
    {"secret", TD_OPT_STR, O(secret), 0, 0, NULL, "SECRET", "APCA_API_SECRET_KEY", TD_OPT_SECRET,
     "vendor secret"},
    {"subscribe", TD_OPT_STR, O(subscribe), 0, 0, NULL, "SPEC", NULL, 0,
     "what to subscribe upstream, always: KIND=SYM,SYM;KIND=* with KIND a channel word; "
     "clients of --listen add to it (default: trades=*;quotes=*;bars=*;statuses=*, or "
     "nothing with --listen, so that interest is purely client-driven)"},
    {"poll-interval", TD_OPT_DOUBLE, O(poll_interval), 0.1, 86400, "20", "SECONDS", NULL,
     TD_OPT_DURATION, "REST vendors (alphavantage): wanted refresh period per ticker"},
    {"quota", TD_OPT_STR, O(quota), 0, 0, "5/min,25/day", "N/WINDOW,...", NULL, 0,
     "REST vendors: calls allowed per sliding window (WINDOW: min, day, h, or seconds like "
     "2s); tickerd never exceeds them"},
    {"source", TD_OPT_STR, O(source), 0, 0, NULL, "URL", "TICKERD_SOURCE_URL", TD_OPT_SECRET,
     "take events from the Redis channels another tickerd publishes (redis://, rediss://, "
     "unix:// or redis+cluster:// as for --redis), following the gateway clients' interest, "
     "instead of a vendor (no --url, no keys); from a cluster, wildcards are not served"},
    {"redis", TD_OPT_STR, O(redis), 0, 0, NULL, "URL", "TICKERD_REDIS_URL", TD_OPT_SECRET,
     "publish to Redis (channels <prefix><kind>.<SYMBOL>): redis://[[USER]:PASS@]HOST:PORT[/DB], "
     "rediss://... (TLS), unix:///PATH[?db=N], "
     "redis+sentinel://[[USER]:PASS@]H1:P1,H2:P2/MASTER[/DB], "
     "redis+cluster://[[USER]:PASS@]H1:P1,H2:P2 (SPUBLISH, sharded pub/sub); the password is "
     "never logged"},
    {"redis-ca-file", TD_OPT_STR, O(redis_ca_file), 0, 0, NULL, "PEM", NULL, 0,
     "CA certificates (PEM) trusted for rediss://, instead of the system's"},
    {"redis-cert", TD_OPT_STR, O(redis_cert), 0, 0, NULL, "PEM", NULL, 0,
     "client certificate for rediss:// (with --redis-key)"},
    {"redis-key", TD_OPT_STR, O(redis_key), 0, 0, NULL, "PEM", NULL, 0,
     "private key of --redis-cert"},
    {"redis-timeout", TD_OPT_DOUBLE, O(redis_timeout), 0.1, 3600, "5", "SECONDS", NULL,
     TD_OPT_DURATION,
     "a Redis that does not connect, or answer a command, within this is logged and "
     "reconnected (/healthz is degraded as soon as an answer is 1 s late)"},
    {"redis-last-values", TD_OPT_BOOL, O(redis_last_values), 0, 0, "yes", NULL, NULL, 0,
     "also keep each (kind, symbol)'s last event in the hash <prefix>last:<kind> (HSET, same "
     "pipeline); with --source, a client subscribing by name first gets that value"},
    {"redis-history", TD_OPT_INT, O(redis_history), 0, 100000000, "0", "N", NULL, 0,
     "also append each event to the stream <prefix>history:<kind>.<SYMBOL> (XADD, same "
     "pipeline, field e), trimmed to about N entries, so that a consumer can resume with XREAD "
     "from the last ID it processed; gap notices go there too (field g); 0: off; on "
     "redis+cluster:// the stream is <prefix>history:{<channel>} (on the channel's shard). "
     "Gateway clients may then resume with \"since\" (read from --redis; on a --source "
     "gateway, set it to say the publisher keeps history, read from --source)"},
    {"refill", TD_OPT_STR, O(refill), 0, 0, "bars", "KINDS", NULL, 0,
     "after an upstream outage, fetch the window's events of these kinds (bars, trades, quotes) "
     "from the vendor's REST history (Alpaca, Polygon) and publish those not "
     "delivered live, marked \"refilled\":true (history field r=1); gap notices say pending, "
     "then done, partial or impossible; none: off"},
    {"refill-max-symbols", TD_OPT_INT, O(refill_max_symbols), 0, 100000, "100", "N", NULL, 0,
     "a wildcard subscription's trades or quotes are refilled for at most N symbols (those "
     "seen first; 0: no limit); a wildcard's bars: every symbol seen"},
    {"refill-url", TD_OPT_STR, O(refill_url), 0, 0, NULL, "URL", NULL, 0,
     "REST base URL of the refill (default: from the first --url: https://data.alpaca.markets, "
     "https://api.polygon.io, or http(s)://HOST:PORT of a simulator)"},
    {"refill-rate", TD_OPT_STR, O(refill_rate), 0, 0, "200/min", "N/WINDOW", NULL, 0,
     "refill REST calls allowed per sliding window (the vendor's limit; the backfill's rule)"},
    {"refill-delay", TD_OPT_DOUBLE, O(refill_delay), 0, 600, "3", "SECONDS", NULL, TD_OPT_DURATION,
     "wait this long after the stream is back before fetching (bars of the window's end "
     "arrive live first and are not fetched twice)"},
    {"refill-bar-seconds", TD_OPT_DOUBLE, O(refill_bar_seconds), 0.001, 3600, "60", "SECONDS", NULL,
     0,
     "length of the vendor's minute bar (60; a simulator run with --bar-seconds compresses "
     "it)"},
    {"channel-prefix", TD_OPT_STR, O(channel_prefix), 0, 0, "", "PREFIX", NULL, 0,
     "prefix of every Redis channel and stdout channel name"},
    {"stdout", TD_OPT_BOOL, O(to_stdout), 0, 0, "no", NULL, NULL, 0,
     "write one JSON line per event to stdout"},
    {"stats-interval", TD_OPT_DOUBLE, O(stats_interval), 0, 86400, "10", "SECONDS", NULL,
     TD_OPT_DURATION, "print a stats line on stderr this often; 0 turns it off"},
    {"backoff-min", TD_OPT_DOUBLE, O(backoff_min), 0.01, 3600, "0.5", "SECONDS", NULL,
     TD_OPT_DURATION, "first reconnect delay"},
    {"backoff-max", TD_OPT_DOUBLE, O(backoff_max), 0.01, 3600, "30", "SECONDS", NULL,
     TD_OPT_DURATION, "longest reconnect delay"},
    {"healthy", TD_OPT_DOUBLE, O(healthy), 0, 86400, "30", "SECONDS", NULL, TD_OPT_DURATION,
     "a connection up this long resets the reconnect delay"},
    {"conn-limit-backoff", TD_OPT_DOUBLE, O(conn_limit_backoff), 0.1, 86400, "30", "SECONDS", NULL,
     TD_OPT_DURATION,
     "wait after 406 connection limit exceeded (another instance holds the "
     "account)"},
    {"upstream-max-symbols", TD_OPT_INT, O(upstream_max_symbols), 0, 10000000, "0", "N", NULL, 0,
     "the plan's limit of distinct symbols per upstream stream (e.g. 30 on Alpaca's free IEX "
     "plan); subscriptions beyond it wait until others are released; 0: no limit"},
    {"upstream-max-message", TD_OPT_INT, O(upstream_max_message), 1024, 1073741824, "67108864",
     "BYTES", NULL, 0,
     "largest upstream message (fragments reassembled); a longer one is skipped whole and "
     "counted as malformed"},
    {"resolve-timeout", TD_OPT_DOUBLE, O(resolve_timeout), 0.1, 3600, "10", "SECONDS", NULL,
     TD_OPT_DURATION,
     "give up looking up the upstream's host name after this long, and retry (the lookup runs "
     "off the event loop)"},
    {"ping-interval", TD_OPT_DOUBLE, O(ping_interval), 0.1, 3600, "10", "SECONDS", NULL,
     TD_OPT_DURATION, "ping the vendor after this much silence"},
    {"ping-timeout", TD_OPT_DOUBLE, O(ping_timeout), 0.1, 3600, "5", "SECONDS", NULL,
     TD_OPT_DURATION, "reconnect if no pong or data comes this long after a ping"},
    {"redis-buffer", TD_OPT_INT, O(redis_buffer_mb), 1, 65536, "64", "MIB", NULL, 0,
     "events kept while Redis is unreachable, in MiB; beyond, drops are "
     "counted"},
    {"redis-inflight", TD_OPT_INT, O(redis_inflight), 1, 1000000, "10000", "N", NULL, 0,
     "events sent to Redis and not yet answered"},
    {"ca-file", TD_OPT_STR, O(ca_file), 0, 0, NULL, "PEM", NULL, 0,
     "CA certificates (PEM) trusted for wss:// upstreams, instead of the system's"},
    {"log-level", TD_OPT_STR, O(log_level), 0, 0, "info", "LEVELS", NULL, 0,
     "error, warn, info or debug; per component too, e.g. info,feed=debug (components: the "
     "subcommand, feed, gateway, sink, bus, poll, http, store, proto, core, sim)"},
    {"log-format", TD_OPT_STR, O(log_format), 0, 0, "text", "FORMAT", NULL, 0,
     "text, or json: one object per line with ts, level, component, cmd, msg"},
    {"listen", TD_OPT_STR, O(listen), 0, 0, NULL, "ADDR:PORT", NULL, 0,
     "serve WebSocket clients in the vendor's dialect (and /healthz, /metrics, the web page) "
     "here, e.g. 127.0.0.1:8080"},
    {"client", TD_OPT_LIST, O(client), 0, 0, NULL, "KEY:SECRET", NULL, TD_OPT_SECRET,
     "credentials a client of --listen may use (tickerd's own, never the vendor's); also as "
     "KEY = SECRET lines of section [clients] in the -c file"},
    {"max-clients", TD_OPT_INT, O(max_clients), 0, 1000000, "1000", "N", NULL, 0,
     "authenticated clients at once; beyond, 406 connection limit exceeded (0: no limit)"},
    {"client-max-symbols", TD_OPT_INT, O(client_max_symbols), 0, 10000000, "10000", "N", NULL, 0,
     "distinct symbols one client may subscribe; beyond, 405 symbol limit exceeded (0: no "
     "limit)"},
    {"client-subscribe-rate", TD_OPT_INT, O(client_subscribe_rate), 0, 100000000, "2000", "N", NULL,
     0,
     "symbols one client may subscribe per second on average (token bucket, refilled "
     "continuously); beyond, the subscribe is refused with 405 \"subscribe rate limit "
     "exceeded\" (Polygon: an error status); 10 refusals close the client (one is forgiven "
     "every 10 s) (0: no limit)"},
    {"client-subscribe-burst", TD_OPT_INT, O(client_subscribe_burst), 1, 100000000, "20000", "N",
     NULL, 0, "symbols one client may subscribe at once before --client-subscribe-rate applies"},
    {"snapshot-cache", TD_OPT_INT, O(snapshot_cache), 0, 100000000, "50000", "N", NULL, 0,
     "last values kept per kind for symbols wanted only through a wildcard (e.g. trades=* on a "
     "feed with many symbols); beyond, the least recently updated are dropped. A symbol's last "
     "value is kept while someone wants it"},
    {"client-max-message", TD_OPT_INT, O(client_max_message), 256, 16777216, "65536", "BYTES", NULL,
     0, "largest client message (fragments reassembled); beyond, 400 and it is dropped"},
    {"client-auth-timeout", TD_OPT_DOUBLE, O(client_auth_timeout), 0, 3600, "10", "SECONDS", NULL,
     TD_OPT_DURATION,
     "a client that has not authenticated by then gets 404 auth timeout (0: never)"},
    {"client-buffer-hard", TD_OPT_INT, O(client_buffer_hard), 1, 65536, "32", "MIB", NULL, 0,
     "bytes queued for one client that disconnect it at once (407 slow client)"},
    {"client-buffer-soft", TD_OPT_INT, O(client_buffer_soft), 0, 65536, "8", "MIB", NULL, 0,
     "bytes queued for one client tolerated for --client-buffer-soft-seconds (0: off)"},
    {"client-buffer-soft-seconds", TD_OPT_DOUBLE, O(client_buffer_soft_seconds), 0, 86400, "60",
     "SECONDS", NULL, TD_OPT_DURATION, "how long a client may stay above --client-buffer-soft"},
    {"client-conflate-after", TD_OPT_INT, O(client_conflate_after), 0, 4194304, "1024", "KIB", NULL,
     0,
     "once this much is queued for a client, a newer quote or bar replaces an unsent older one "
     "of the same symbol (at most half of --client-buffer-soft and -hard)"},
    {"listen-tls", TD_OPT_STR, O(listen_tls), 0, 0, NULL, "ADDR:PORT", NULL, 0,
     "also serve the gateway with TLS (wss://, https://; TLS 1.2 or later) here; needs "
     "--tls-cert and --tls-key, re-read on SIGHUP without dropping clients"},
    {"tls-cert", TD_OPT_STR, O(tls_cert), 0, 0, NULL, "PEM", NULL, 0,
     "certificate chain of --listen-tls"},
    {"tls-key", TD_OPT_STR, O(tls_key), 0, 0, NULL, "PEM", NULL, 0,
     "private key of --tls-cert (unencrypted PEM)"},
    {"permessage-deflate", TD_OPT_BOOL, O(permessage_deflate), 0, 0, "no", NULL, NULL, 0,
     "offer WebSocket compression (permessage-deflate) to the clients of --listen and "
     "--listen-tls that ask for it: fewer bytes, more CPU per event"},
    {"jwt-hs256-secret", TD_OPT_STR, O(jwt_hs256_secret), 0, 0, NULL, "SECRET",
     "TICKERD_JWT_HS256_SECRET", TD_OPT_SECRET,
     "clients of --listen may authenticate with a JWT signed HS256 with this secret (Alpaca: key "
     "\"jwt\", the token as secret; Polygon: the token as key; browsers: ?token=)"},
    {"jwt-hs256-secret-file", TD_OPT_STR, O(jwt_hs256_secret_file), 0, 0, NULL, "PATH", NULL, 0,
     "the same with the secret read from this file (one line; e.g. a mounted secret), read "
     "again on SIGHUP"},
    {"jwt-public-key", TD_OPT_STR, O(jwt_public_key), 0, 0, NULL, "PEM", NULL, 0,
     "the same with tokens signed RS256 (an RSA public key) or ES256 (a P-256 one)"},
    {"allow-origin", TD_OPT_LIST, O(allow_origin), 0, 0, NULL, "ORIGIN", NULL, 0,
     "a browser Origin allowed to connect, e.g. https://board.example.com (repeatable; none: "
     "any); others get 403 at the upgrade; requests without Origin are allowed"},
    {"max-clients-per-ip", TD_OPT_INT, O(max_clients_per_ip), 0, 1000000, "0", "N", NULL, 0,
     "connections at once from one address; beyond, 429 at the upgrade (0: no limit)"},
    {"conn-rate-per-ip", TD_OPT_DOUBLE, O(conn_rate_per_ip), 0, 1000000, "0", "PER_SECOND", NULL, 0,
     "new connections per second from one address, in bursts of --conn-burst-per-ip; beyond, "
     "429 at the upgrade (0: no limit)"},
    {"conn-burst-per-ip", TD_OPT_INT, O(conn_burst_per_ip), 1, 1000000, "20", "N", NULL, 0,
     "see --conn-rate-per-ip"},
    {"web-root", TD_OPT_STR, O(web_root), 0, 0, NULL, "DIR", NULL, 0,
     "static files served at / of --listen (default: the page installed with tickerd, "
     "PREFIX/share/tickerd/web, else ./web)"},
    {"metrics-listen", TD_OPT_STR, O(metrics_listen), 0, 0, NULL, "HOST:PORT", NULL, 0,
     "serve /metrics and /healthz (only) on an address of their own, e.g. for a publisher "
     "without --listen"},
    {"record", TD_OPT_STR, O(record), 0, 0, NULL, "DIR", NULL, 0,
     "record every upstream message with its receive time into zstd-compressed files in DIR "
     "(one per stream and UTC hour, VENDOR_PATH_YYYYMMDDTHHMMSSZ.tdrec.zst), for tickerd "
     "replay"},
    {"record-max-gb", TD_OPT_DOUBLE, O(record_max_gb), 0, 1e9, "10", "GB", NULL, 0,
     "the recordings (*.tdrec.zst) in --record DIR, at most: the oldest files are deleted "
     "(give each tickerd its own DIR); 0: no bound"},
    {"rest-url", TD_OPT_STR, O(rest_url), 0, 0, NULL, "URL", NULL, 0,
     "the vendor's REST data API (Alpaca: https://data.alpaca.markets; the sim: "
     "http://HOST:PORT): the gateway of --listen then serves GET /v2/stocks/snapshots?symbols=... "
     "with each symbol's dailyBar and prevDailyBar (the previous close), from the vendor's "
     "daily bars, to its clients (their key and secret as Alpaca's REST headers); the quote "
     "board's Chg is against that close"},
    {"ha-lease", TD_OPT_STR, O(ha_lease), 0, 0, NULL, "NAME", NULL, 0,
     "high availability: instances with the same NAME (and --redis) compete for a lease in "
     "Redis; only the holder connects upstream and publishes, the others stand by (their "
     "--listen gateway serving from Redis) and take over when it stops renewing"},
    {"ha-ttl", TD_OPT_DOUBLE, O(ha_ttl), 0.3, 3600, "3", "SECONDS", NULL, TD_OPT_DURATION,
     "the lease's time to live: a holder renews it every third of this and stops publishing "
     "by itself if it could not renew in time; a standby takes over within about this"},
    TD_OPT_END,
};
#undef O

static const td_opts_t run_opts = {
    "run", run_table, "usage: tickerd run [-c FILE] [OPTIONS]",
    "Holds one connection per upstream URL, splits the feed per event kind and "
    "symbol, and\n"
    "publishes each event to <prefix><kind>.<SYMBOL> (e.g. quotes.AAPL) on "
    "Redis and/or stdout.\n"
    "Secrets come from the environment or the config file."};

const td_opts_t *td_cmd_run_opts(void)
{
    return &run_opts;
}
