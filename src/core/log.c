#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int td_log_level_current = TD_LOG_INFO;
static const char *log_prefix = "tickerd";
/* Guarded by stderr's stdio lock (flockfile), like the writes. */
static char status_line[512];
static size_t status_len;

#define CLEAR_LINE "\r\033[K"

void td_log_set_level(int level)
{
    td_log_level_current = level;
}
void td_log_set_prefix(const char *prefix)
{
    log_prefix = prefix;
}

int td_log_level_parse(const char *s)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

void td__log(int level, const char *fmt, ...)
{
    static const char marks[] = {'E', 'W', 'I', 'D'};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %s %c ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_prefix, marks[level & 3]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    flockfile(stderr);
    if (status_len) fputs(CLEAR_LINE, stderr);
    fwrite(line, 1, len, stderr);
    if (status_len) fwrite(status_line, 1, status_len, stderr);
    funlockfile(stderr);
}

void td_log_status(const char *s)
{
    flockfile(stderr);
    if (status_len) fputs(CLEAR_LINE, stderr);
    status_len = s ? strnlen(s, sizeof status_line) : 0;
    if (status_len) {
        memcpy(status_line, s, status_len);
        fwrite(status_line, 1, status_len, stderr);
    }
    fflush(stderr);
    funlockfile(stderr);
}

int td_ratelimit_ok(td_ratelimit_t *rl, uint64_t now_ms, uint64_t *suppressed)
{
    if (now_ms - rl->window_start_ms >= rl->period_ms) {
        rl->window_start_ms = now_ms;
        rl->used = 0;
    }
    if (rl->used < rl->burst) {
        rl->used++;
        *suppressed = rl->suppressed;
        rl->suppressed = 0;
        return 1;
    }
    rl->suppressed++;
    return 0;
}
