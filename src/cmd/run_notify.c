/* SPDX-License-Identifier: Apache-2.0 */
/* tickerd run under systemd (Type=notify): READY=1 once every upstream
 * streams (or the --source Redis is connected, or the poller has started),
 * WATCHDOG=1 from the loop at half the period systemd asks for (from the
 * start: the loop is alive while an upstream is not), and STOPPING=1 at
 * shutdown. A no-op without $NOTIFY_SOCKET. */
#include "cmd/run_app.h"
#include "core/log.h"
#include "core/sdnotify.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define READY_CHECK_MS 100

static int all_streaming(app_t *a)
{
    for (size_t i = 0; i < a->nfeeds; i++) {
        td_feed_stats_t fs;
        td_feed_stats(a->feeds[i], &fs);
        if (fs.state != TD_FEED_STREAMING) return 0;
    }
    if (a->source) {
        td_redis_source_stats_t ss;
        td_redis_source_stats(a->source, &ss);
        if (!ss.connected) return 0;
    }
    return 1;
}

static void notify(const char *state)
{
    if (td_sd_notify(state) < 0) TD_WARN("sd_notify %s: %s", state, strerror(errno));
}

/* Until ready: every READY_CHECK_MS, and the watchdog when due (the loop
 * is alive even while the upstream is not); then every half period. */
static void on_notify_timer(uv_timer_t *t)
{
    app_t *a = t->data;
    uint64_t now = uv_now(t->loop), wd = td_sd_watchdog_ms();
    if (wd && now - a->sd_last_watchdog >= wd / 2) {
        a->sd_last_watchdog = now;
        notify("WATCHDOG=1");
    }
    if (a->sd_ready || !all_streaming(a)) return;
    a->sd_ready = 1;
    char msg[96];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=streaming from %zu upstream%s", a->nfeeds,
             a->nfeeds == 1 ? "" : "s");
    notify(msg);
    TD_DEBUG("told the service manager: ready");
    uv_timer_stop(t);
    if (wd) uv_timer_start(t, on_notify_timer, wd / 2 ? wd / 2 : 1, wd / 2 ? wd / 2 : 1);
}

void td__run_notify_start(app_t *a)
{
    uv_timer_init(&a->loop, &a->sd_timer);
    a->sd_timer.data = a;
    if (!getenv("NOTIFY_SOCKET")) return;
    a->sd_last_watchdog = uv_now(&a->loop);
    uv_timer_start(&a->sd_timer, on_notify_timer, 0, READY_CHECK_MS);
}

void td__run_notify_stop(app_t *a)
{
    if (a->sd_ready) notify("STOPPING=1");
    uv_close((uv_handle_t *)&a->sd_timer, NULL);
}
