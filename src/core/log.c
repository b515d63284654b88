#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %c ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, log_prefix, marks[level & 3]);
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

/* The file stderr was opened on at startup, if a regular file. */
static char log_path[PATH_MAX];

void td_log_note_file(void)
{
    struct stat st;
    char buf[PATH_MAX];
    if (fstat(STDERR_FILENO, &st) != 0 || !S_ISREG(st.st_mode)) return;
    ssize_t n = readlink("/proc/self/fd/2", buf, sizeof buf - 1);
    if (n <= 0 || buf[0] != '/') return;
    buf[n] = '\0';
    memcpy(log_path, buf, (size_t)n + 1);
}

int td_log_reopen(void)
{
    if (!*log_path) return 1;
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return -1;
    flockfile(stderr);
    fflush(stderr);
    int rc = dup2(fd, STDERR_FILENO) < 0 ? -1 : 0;
    funlockfile(stderr);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

void td_log_on_sighup(void)
{
    int rc = td_log_reopen();
    if (rc == 0)
        TD_INFO("caught SIGHUP: log file %s reopened; still running (the configuration is not "
                "reloaded: restart to apply changes)",
                log_path);
    else if (rc > 0)
        TD_INFO("caught SIGHUP: logging to a pipe or terminal, nothing to reopen; still running "
                "(the configuration is not reloaded: restart to apply changes)");
    else
        TD_ERR("caught SIGHUP: cannot reopen log file %s: %s; still logging to the old one",
               log_path, strerror(errno));
}
