/* SPDX-License-Identifier: Apache-2.0 */
/* print_quotes: connects to a vendor stream (or tickerd sim, or a tickerd
 * gateway), subscribes quotes for the given symbols and prints them.
 *
 *   print_quotes [--polygon] [--events N] [--seconds S] [--no-reconnect]
 *                [--max-retries N] [--since ID] ws://127.0.0.1:8765 AAPL MSFT
 *
 * --since ID (a tickerd gateway with --redis-history): the quotes of each
 * symbol after stream id ID from the gateway's history, then live; each
 * line ends with " id=<stream id>", the point to resume from.
 *
 * Keys come from APCA_API_KEY_ID / APCA_API_SECRET_KEY (Polygon:
 * POLYGON_API_KEY), default "key" / "secret" (what tickerd sim accepts).
 * stdout: one line per quote, state changes as "# state ..." lines and a
 * last "# done events=N" line. */
#include <tickerd/tickerd.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct app_s {
    tickerd_client_t *c;
    uv_timer_t timer;
    uv_signal_t sigterm, sigint;
    unsigned long events, max_events;
} app_t;

static void on_quote(tickerd_client_t *c, const tickerd_event_t *ev, void *user)
{
    app_t *app = user;
    double bp = 0, ap = 0, bs = 0, as = 0;
    int64_t t = 0;
    tickerd_event_bid_price(ev, &bp);
    tickerd_event_ask_price(ev, &ap);
    tickerd_event_bid_size(ev, &bs);
    tickerd_event_ask_size(ev, &as);
    tickerd_event_timestamp_ns(ev, &t);
    printf("%s %.*s bid=%.4f x %.0f ask=%.4f x %.0f t=%lld%s%.*s\n", ev->kind, (int)ev->symbol_len,
           ev->symbol, bp, bs, ap, as, (long long)t, ev->stream_id ? " id=" : "",
           (int)ev->stream_id_len, ev->stream_id ? ev->stream_id : "");
    fflush(stdout);
    if (++app->events == app->max_events) tickerd_close(c);
}

static void on_state(tickerd_client_t *c, const char *stream, tickerd_state_t st,
                     const char *detail, void *user)
{
    app_t *app = user;
    (void)c;
    printf("# state %s %s%s%s\n", stream ? stream : "-", tickerd_state_name(st), detail ? ": " : "",
           detail ? detail : "");
    fflush(stdout);
    if (st == TICKERD_STATE_CLOSED) { /* the client is done: release our handles too */
        uv_close((uv_handle_t *)&app->timer, NULL);
        uv_close((uv_handle_t *)&app->sigterm, NULL);
        uv_close((uv_handle_t *)&app->sigint, NULL);
    }
}

static void on_timer(uv_timer_t *t)
{
    app_t *app = t->data;
    tickerd_close(app->c);
}

static void on_signal(uv_signal_t *s, int signum)
{
    app_t *app = s->data;
    (void)signum;
    tickerd_close(app->c);
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

int main(int argc, char **argv)
{
    static app_t app;
    tickerd_options_t o = {.vendor = TICKERD_ALPACA,
                           .reconnect = 1,
                           .backoff_min_s = 0.2,
                           .backoff_max_s = 2,
                           .on_state = on_state,
                           .state_user = &app};
    double seconds = 0;
    const char *since = NULL;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--polygon") == 0)
            o.vendor = TICKERD_POLYGON;
        else if (strcmp(argv[i], "--no-reconnect") == 0)
            o.reconnect = 0;
        else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
            app.max_events = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--max-retries") == 0 && i + 1 < argc)
            o.max_retries = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
            since = argv[++i];
        else
            break;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: print_quotes [--polygon] [--events N] [--seconds S] "
                        "[--no-reconnect] [--max-retries N] [--since ID] URL SYMBOL...\n");
        return 2;
    }
    o.url = argv[i++];
    o.key = o.vendor == TICKERD_POLYGON ? env_or("POLYGON_API_KEY", "key")
                                        : env_or("APCA_API_KEY_ID", "key");
    o.secret = env_or("APCA_API_SECRET_KEY", "secret");
    int err;
    app.c = tickerd_client_new(&o, &err);
    if (!app.c) {
        fprintf(stderr, "print_quotes: cannot create the client (%d)\n", err);
        return 1;
    }
    const char *const *syms = (const char *const *)&argv[i];
    for (int k = i; since && k < argc; k++)
        if ((err = tickerd_client_resume_from(app.c, TICKERD_STOCK_QUOTES, argv[k], since)) != 0) {
            fprintf(stderr, "print_quotes: --since %s refused (%d)\n", since, err);
            return 2;
        }
    if ((err = tickerd_subscribe(app.c, TICKERD_STOCK_QUOTES, syms, (size_t)(argc - i), on_quote,
                                 &app)) != 0) {
        fprintf(stderr, "print_quotes: subscribe failed (%d)\n", err);
        tickerd_free(app.c);
        return 1;
    }
    uv_loop_t *loop = tickerd_loop(app.c);
    uv_timer_init(loop, &app.timer);
    uv_signal_init(loop, &app.sigterm);
    uv_signal_init(loop, &app.sigint);
    app.timer.data = app.sigterm.data = app.sigint.data = &app;
    if (seconds > 0) uv_timer_start(&app.timer, on_timer, (uint64_t)(seconds * 1000), 0);
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    uv_signal_start(&app.sigint, on_signal, SIGINT);
    tickerd_run(app.c);
    tickerd_free(app.c);
    printf("# done events=%lu\n", app.events);
    return 0;
}
