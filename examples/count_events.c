/* SPDX-License-Identifier: Apache-2.0 */
/* count_events: subscribes stock trades and quotes for every symbol ("*"),
 * counts the events and reads one accessor of each (trade price, quote bid
 * price) and its timestamp, printing nothing per event. For measuring
 * libtickerd against tickerd sim (bench/client.py).
 *
 *   count_events [--polygon] [--idle S] [--seconds S] ws://127.0.0.1:8765
 *
 * --idle S: close S seconds after the last event (once one arrived).
 * Keys as print_quotes (default "key" / "secret"). stdout: state changes as
 * "# state ..." lines, then one line
 * "# done events=N trades=T quotes=Q bad=B first=F last=L" where bad counts
 * events whose accessor or timestamp failed, and first/last are the
 * CLOCK_REALTIME seconds of the first and last event. */
#include <tickerd/tickerd.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

typedef struct app_s {
    tickerd_client_t *c;
    uv_timer_t timer, idle;
    uv_signal_t sigterm, sigint;
    uint64_t idle_ms;
    unsigned long long trades, quotes, bad;
    double sum, first, last;
} app_t;

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_idle(uv_timer_t *t)
{
    app_t *app = t->data;
    double now = wall_s();
    if (app->first > 0 && now - app->last >= (double)app->idle_ms / 1000.0) tickerd_close(app->c);
}

static void seen(app_t *app, const tickerd_event_t *ev, int rc, double v)
{
    int64_t t = 0;
    if (rc != 0 || tickerd_event_timestamp_ns(ev, &t) != 0 || t <= 0) app->bad++;
    app->sum += v;
}

static void on_trade(tickerd_client_t *c, const tickerd_event_t *ev, void *user)
{
    app_t *app = user;
    double p = 0;
    (void)c;
    app->trades++;
    int rc = tickerd_event_price(ev, &p);
    seen(app, ev, rc, p);
}

static void on_quote(tickerd_client_t *c, const tickerd_event_t *ev, void *user)
{
    app_t *app = user;
    double bp = 0;
    (void)c;
    app->quotes++;
    int rc = tickerd_event_bid_price(ev, &bp);
    seen(app, ev, rc, bp);
}

/* The clock is read once per loop turn (a frame's events arrive in one turn). */
static uv_check_t check;

static void on_check(uv_check_t *h)
{
    app_t *app = h->data;
    static unsigned long long seen_n;
    unsigned long long n = app->trades + app->quotes;
    if (n == seen_n) return;
    seen_n = n;
    app->last = wall_s();
    if (app->first == 0) app->first = app->last;
}

static void on_state(tickerd_client_t *c, const char *stream, tickerd_state_t st,
                     const char *detail, void *user)
{
    app_t *app = user;
    (void)c;
    printf("# state %s %s%s%s\n", stream ? stream : "-", tickerd_state_name(st), detail ? ": " : "",
           detail ? detail : "");
    fflush(stdout);
    if (st == TICKERD_STATE_CLOSED) {
        uv_close((uv_handle_t *)&app->timer, NULL);
        uv_close((uv_handle_t *)&app->idle, NULL);
        uv_close((uv_handle_t *)&check, NULL);
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
    tickerd_options_t o = {
        .vendor = TICKERD_ALPACA, .reconnect = 0, .on_state = on_state, .state_user = &app};
    double seconds = 0, idle = 0;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--polygon") == 0)
            o.vendor = TICKERD_POLYGON;
        else if (strcmp(argv[i], "--idle") == 0 && i + 1 < argc)
            idle = atof(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else
            break;
    }
    if (argc - i != 1) {
        fprintf(stderr, "usage: count_events [--polygon] [--idle S] [--seconds S] URL\n");
        return 2;
    }
    o.url = argv[i];
    o.key = o.vendor == TICKERD_POLYGON ? env_or("POLYGON_API_KEY", "key")
                                        : env_or("APCA_API_KEY_ID", "key");
    o.secret = env_or("APCA_API_SECRET_KEY", "secret");
    int err;
    app.c = tickerd_client_new(&o, &err);
    if (!app.c) {
        fprintf(stderr, "count_events: cannot create the client (%d)\n", err);
        return 1;
    }
    if ((err = tickerd_subscribe(app.c, TICKERD_STOCK_TRADES, NULL, 0, on_trade, &app)) != 0 ||
        (err = tickerd_subscribe(app.c, TICKERD_STOCK_QUOTES, NULL, 0, on_quote, &app)) != 0) {
        fprintf(stderr, "count_events: subscribe failed (%d)\n", err);
        tickerd_free(app.c);
        return 1;
    }
    uv_loop_t *loop = tickerd_loop(app.c);
    uv_timer_init(loop, &app.timer);
    uv_timer_init(loop, &app.idle);
    uv_check_init(loop, &check);
    uv_signal_init(loop, &app.sigterm);
    uv_signal_init(loop, &app.sigint);
    app.timer.data = app.idle.data = check.data = app.sigterm.data = app.sigint.data = &app;
    if (seconds > 0) uv_timer_start(&app.timer, on_timer, (uint64_t)(seconds * 1000), 0);
    if (idle > 0) {
        app.idle_ms = (uint64_t)(idle * 1000);
        uv_timer_start(&app.idle, on_idle, 100, 100);
    }
    uv_check_start(&check, on_check);
    uv_unref((uv_handle_t *)&check);
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    uv_signal_start(&app.sigint, on_signal, SIGINT);
    tickerd_run(app.c);
    tickerd_free(app.c);
    printf("# done events=%llu trades=%llu quotes=%llu bad=%llu first=%.6f last=%.6f "
           "checksum=%.6g\n",
           app.trades + app.quotes, app.trades, app.quotes, app.bad, app.first, app.last, app.sum);
    return app.bad ? 1 : 0;
}
