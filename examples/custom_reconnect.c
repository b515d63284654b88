/* SPDX-License-Identifier: Apache-2.0 */
/* custom_reconnect: automatic reconnect off; the program decides.
 *
 *   custom_reconnect [--polygon] [--reconnects K] [--seconds S] URL SYMBOL...
 *
 * On each DISCONNECTED the state callback applies its own policy (wait
 * 100 ms, doubling per failed attempt, at most 1.6 s; give up after 6
 * failures in a row) and then calls tickerd_reconnect. Subscriptions and the
 * handler are the client's, so they are back after each reconnect. Stops
 * after K reconnects (default 2) once 5 events came on the last connection,
 * or after S seconds (default 30). stdout: "# state ..." lines, then
 *   # done reconnects=K events=N epochs=E0,E1,...
 * (events per connection).
 *
 * It also shows a client on the program's own libuv loop: the program runs
 * the loop (tickerd_start, then uv_run) and closes it after tickerd_free. */
#include <tickerd/tickerd.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define MAX_EPOCHS 64

typedef struct app_s {
    tickerd_client_t *c;
    uv_timer_t retry, deadline;
    uv_signal_t sigterm;
    int failures, reconnects, want_reconnects, epoch;
    unsigned long events, per_epoch[MAX_EPOCHS];
} app_t;

static void on_event(tickerd_client_t *c, const tickerd_event_t *ev, void *user)
{
    app_t *app = user;
    (void)ev;
    app->events++;
    app->per_epoch[app->epoch]++;
    if (app->reconnects >= app->want_reconnects && app->per_epoch[app->epoch] >= 5)
        tickerd_close(c);
}

static void on_retry(uv_timer_t *t)
{
    app_t *app = t->data;
    app->reconnects++;
    printf("# reconnect %d\n", app->reconnects);
    fflush(stdout);
    tickerd_reconnect(app->c);
}

static void on_state(tickerd_client_t *c, const char *stream, tickerd_state_t st,
                     const char *detail, void *user)
{
    app_t *app = user;
    printf("# state %s %s%s%s\n", stream ? stream : "-", tickerd_state_name(st), detail ? ": " : "",
           detail ? detail : "");
    fflush(stdout);
    if (st == TICKERD_STATE_STREAMING) {
        app->failures = 0;
        if (app->reconnects > 0 && app->epoch + 1 < MAX_EPOCHS) app->epoch++;
    } else if (st == TICKERD_STATE_DISCONNECTED) {
        if (app->failures >= 6) {
            printf("# giving up\n");
            tickerd_close(c);
            return;
        }
        uint64_t delay = 100u << app->failures++;
        uv_timer_start(&app->retry, on_retry, delay, 0);
    } else if (st == TICKERD_STATE_CLOSED) {
        uv_close((uv_handle_t *)&app->retry, NULL);
        uv_close((uv_handle_t *)&app->deadline, NULL);
        uv_close((uv_handle_t *)&app->sigterm, NULL);
    }
}

static void on_deadline(uv_timer_t *t)
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
    static app_t app = {.want_reconnects = 2};
    static uv_loop_t loop;
    tickerd_options_t o = {.vendor = TICKERD_ALPACA,
                           .key = "key",
                           .secret = "secret",
                           .reconnect = 0,
                           .on_state = on_state,
                           .state_user = &app};
    double seconds = 30;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--polygon") == 0)
            o.vendor = TICKERD_POLYGON;
        else if (strcmp(argv[i], "--reconnects") == 0)
            app.want_reconnects = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[++i]);
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: custom_reconnect [--polygon] [--reconnects K] [--seconds S] URL "
                        "SYMBOL...\n");
        return 2;
    }
    o.url = argv[i++];
    uv_loop_init(&loop);
    o.loop = &loop;
    app.c = tickerd_client_new(&o, NULL);
    if (!app.c || tickerd_subscribe(app.c, TICKERD_STOCK_QUOTES, (const char *const *)&argv[i],
                                    (size_t)(argc - i), on_event, &app) != 0) {
        fprintf(stderr, "custom_reconnect: cannot set up the client\n");
        tickerd_free(app.c);
        uv_loop_close(&loop);
        return 1;
    }
    uv_timer_init(&loop, &app.retry);
    uv_timer_init(&loop, &app.deadline);
    uv_signal_init(&loop, &app.sigterm);
    app.retry.data = app.deadline.data = app.sigterm.data = &app;
    uv_timer_start(&app.deadline, on_deadline, (uint64_t)(seconds * 1000), 0);
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    tickerd_start(app.c);
    uv_run(&loop, UV_RUN_DEFAULT); /* until the client and our handles are closed */
    tickerd_free(app.c);
    if (uv_loop_close(&loop) != 0) fprintf(stderr, "custom_reconnect: loop still busy\n");
    printf("# done reconnects=%d events=%lu epochs=", app.reconnects, app.events);
    for (int e = 0; e <= app.epoch; e++)
        printf("%s%lu", e ? "," : "", app.per_epoch[e]);
    printf("\n");
    return 0;
}
