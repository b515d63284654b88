/* SPDX-License-Identifier: Apache-2.0 */
/* change_handler: switches handlers and subscriptions while streaming.
 *
 *   change_handler [--polygon] [--switch-after N] [--seconds S] URL
 *
 * Subscribes stock quotes of AAPL and MSFT with handler A. After N events
 * (default 20), from inside handler A: the quotes go to handler B, MSFT is
 * unsubscribed and AAPL trades are subscribed (handler T). Stops once B has
 * N events and T at least one, or after S seconds (default 20). The last
 * stdout line counts them:
 *   # done a=N b=N b_msft=0 a_after=0 trades=N unpriced=0
 * b_msft (MSFT quotes after the unsubscribe), a_after (events reaching A
 * after the switch) and unpriced (trades without a price) must be 0. */
#include <tickerd/tickerd.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct app_s {
    tickerd_client_t *c;
    uv_timer_t timer;
    uv_signal_t sigterm;
    unsigned long n, a, b, b_msft, a_after, trades, unpriced;
    int switched;
} app_t;

static int is_sym(const tickerd_event_t *ev, const char *s)
{
    return ev->symbol_len == strlen(s) && memcmp(ev->symbol, s, ev->symbol_len) == 0;
}

static void maybe_stop(app_t *app)
{
    if (app->b >= app->n && app->trades > 0) tickerd_close(app->c);
}

static void on_b(tickerd_client_t *c, const tickerd_event_t *ev, void *user)
{
    app_t *app = user;
    (void)c;
    app->b++;
    if (is_sym(ev, "MSFT")) app->b_msft++;
    maybe_stop(app);
}

static void on_trade(tickerd_client_t *c, const tickerd_event_t *ev, void *user)
{
    app_t *app = user;
    double p;
    (void)c;
    if (tickerd_event_price(ev, &p) != 0 || p <= 0) app->unpriced++;
    app->trades++;
    maybe_stop(app);
}

static void on_a(tickerd_client_t *c, const tickerd_event_t *ev, void *user)
{
    app_t *app = user;
    static const char *const msft[] = {"MSFT"}, *const aapl[] = {"AAPL"};
    (void)ev;
    if (app->switched) {
        app->a_after++;
        return;
    }
    if (++app->a < app->n) return;
    app->switched = 1;
    printf("# switch after a=%lu\n", app->a);
    fflush(stdout);
    if (tickerd_change_handler(c, TICKERD_STOCK_QUOTES, on_b, app) != 0 ||
        tickerd_unsubscribe(c, TICKERD_STOCK_QUOTES, msft, 1) != 0 ||
        tickerd_subscribe(c, TICKERD_STOCK_TRADES, aapl, 1, on_trade, app) != 0) {
        fprintf(stderr, "change_handler: call failed while streaming\n");
        tickerd_close(c);
    }
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
        uv_close((uv_handle_t *)&app->sigterm, NULL);
    }
}

static void on_timer(uv_timer_t *t)
{
    tickerd_close(((app_t *)t->data)->c);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    tickerd_close(((app_t *)s->data)->c);
}

int main(int argc, char **argv)
{
    static app_t app = {.n = 20};
    static const char *const syms[] = {"AAPL", "MSFT"};
    tickerd_options_t o = {.vendor = TICKERD_ALPACA,
                           .key = "key",
                           .secret = "secret",
                           .reconnect = 1,
                           .on_state = on_state,
                           .state_user = &app};
    double seconds = 20;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--polygon") == 0)
            o.vendor = TICKERD_POLYGON;
        else if (strcmp(argv[i], "--switch-after") == 0)
            app.n = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[++i]);
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: change_handler [--polygon] [--switch-after N] [--seconds S] URL\n");
        return 2;
    }
    o.url = argv[i];
    app.c = tickerd_client_new(&o, NULL);
    if (!app.c || tickerd_subscribe(app.c, TICKERD_STOCK_QUOTES, syms, 2, on_a, &app) != 0) {
        fprintf(stderr, "change_handler: cannot set up the client\n");
        tickerd_free(app.c);
        return 1;
    }
    uv_timer_init(tickerd_loop(app.c), &app.timer);
    uv_signal_init(tickerd_loop(app.c), &app.sigterm);
    app.timer.data = app.sigterm.data = &app;
    uv_timer_start(&app.timer, on_timer, (uint64_t)(seconds * 1000), 0);
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    tickerd_run(app.c);
    tickerd_free(app.c);
    printf("# done a=%lu b=%lu b_msft=%lu a_after=%lu trades=%lu unpriced=%lu\n", app.a, app.b,
           app.b_msft, app.a_after, app.trades, app.unpriced);
    return 0;
}
