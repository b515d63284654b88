/* SPDX-License-Identifier: Apache-2.0 */
#include "core/log.h"
#include "core/buf.h"
#include "core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int td_log_level_current = TD_LOG_INFO;
static const char *log_prefix = "tickerd";
static int log_json;
/* Guarded by stderr's stdio lock (flockfile), like the writes. */
static char status_line[512];
static size_t status_len;

#define CLEAR_LINE "\r\033[K"

/* The source directories that log, and the subcommands (the prefix). */
const char *const td_log_components[] = {"run",   "sim",  "backfill", "feed", "gateway",
                                         "sink",  "bus",  "poll",     "http", "store",
                                         "proto", "core", "client",   NULL};
#define NCOMP (sizeof td_log_components / sizeof *td_log_components - 1)
static unsigned char comp_level[NCOMP]; /* level + 1; 0: the default level */
static int default_level = TD_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void td_log_set_level(int level)
{
    default_level = td_log_level_current = level;
    memset(comp_level, 0, sizeof comp_level);
}
void td_log_set_prefix(const char *prefix)
{
    log_prefix = prefix;
}

int td_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

/* The component of a line from its source file: the directory name
 * (src/feed/feed.c: feed), or the prefix for src/cmd. */
static const char *component_of(const char *file)
{
    const char *end = strrchr(file, '/'), *start = end;
    if (!end) return log_prefix;
    while (start > file && start[-1] != '/')
        start--;
    size_t n = (size_t)(end - start);
    if (n == 3 && memcmp(start, "cmd", 3) == 0) return log_prefix;
    for (size_t i = 0; i < NCOMP; i++)
        if (strlen(td_log_components[i]) == n && memcmp(td_log_components[i], start, n) == 0)
            return td_log_components[i];
    return log_prefix;
}

static int level_of(const char *comp)
{
    for (size_t i = 0; i < NCOMP; i++)
        if (td_log_components[i] == comp) return comp_level[i] ? comp_level[i] - 1 : default_level;
    return default_level;
}

/* One item of --log-level: LEVEL or COMPONENT=LEVEL. */
static int level_item(const char *item, size_t n, char *err, size_t errlen)
{
    char buf[64];
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, item, n);
    buf[n] = '\0';
    char *eq = strchr(buf, '=');
    int lvl = td_log_level_parse(eq ? eq + 1 : buf);
    if (lvl < 0) {
        snprintf(err, errlen, "bad --log-level '%s': levels are error, warn, info, debug", buf);
        return -1;
    }
    if (!eq) return default_level = lvl, 0;
    *eq = '\0';
    for (size_t i = 0; i < NCOMP; i++)
        if (strcmp(td_log_components[i], buf) == 0)
            return comp_level[i] = (unsigned char)(lvl + 1), 0;
    snprintf(err, errlen,
             "bad --log-level: unknown component '%s' (run, sim, backfill, feed, gateway, sink, "
             "bus, poll, http, store, proto, core, client)",
             buf);
    return -1;
}

int td_log_setup(const char *levels, const char *format, char *err, size_t errlen)
{
    if (format && strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        snprintf(err, errlen, "bad --log-format '%s': text or json", format);
        return -1;
    }
    td_log_set_level(TD_LOG_INFO);
    for (const char *p = levels ? levels : "info"; *p;) {
        size_t n = strcspn(p, ",");
        if (level_item(p, n, err, errlen) != 0) return -1;
        p += n + (p[n] == ',');
    }
    td_log_level_current = default_level;
    for (size_t i = 0; i < NCOMP; i++)
        if (comp_level[i] && comp_level[i] - 1 > td_log_level_current)
            td_log_level_current = comp_level[i] - 1;
    log_json = format && strcmp(format, "json") == 0;
    return 0;
}

/* "... 12 suppressed)" or "(12 more suppressed)": the count a rate-limited
 * line carries, as a field of its own in JSON. -1 if none. */
static long long suppressed_of(const char *msg)
{
    const char *p = strstr(msg, " suppressed");
    if (!p) return -1;
    const char *q = p;
    if (q - msg >= 5 && memcmp(q - 5, " more", 5) == 0) q -= 5;
    const char *d = q;
    while (d > msg && d[-1] >= '0' && d[-1] <= '9')
        d--;
    return d == q ? -1 : strtoll(d, NULL, 10);
}

static void format_json(td_buf_t *b, const char *ts, int level, const char *comp, const char *msg)
{
    td_buf_appendf(b, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":", ts, level_names[level & 3]);
    td_buf_append_json_str(b, comp, strlen(comp));
    td_buf_appends(b, ",\"cmd\":");
    td_buf_append_json_str(b, log_prefix, strlen(log_prefix));
    td_buf_appends(b, ",\"msg\":");
    td_buf_append_json_str(b, msg, strlen(msg));
    long long sup = suppressed_of(msg);
    if (sup >= 0) td_buf_appendf(b, ",\"suppressed\":%lld", sup);
    td_buf_appends(b, "}\n");
}

/* One line, in the format chosen, under the status line if there is one. */
static void emit(int level, const char *comp, const char *ts, const char *msg)
{
    static const char marks[] = {'E', 'W', 'I', 'D'};
    td_buf_t b = TD_BUF_INIT;
    if (log_json)
        format_json(&b, ts, level, comp, msg);
    else
        td_buf_appendf(&b, "%s %s %c %s\n", ts, log_prefix, marks[level & 3], msg);
    flockfile(stderr);
    if (status_len) fputs(CLEAR_LINE, stderr);
    fwrite(b.data, 1, b.len, stderr);
    if (status_len) fwrite(status_line, 1, status_len, stderr);
    funlockfile(stderr);
    td_buf_free(&b);
}

/* Lines logged while the options are parsed, before the format is known:
 * kept, then written by td_log_hold(0) in the format the options chose. */
#define HELD_MAX 32
static struct {
    int level;
    const char *comp;
    char ts[64];
    char *msg;
} held[HELD_MAX];
static int holding;
static size_t nheld;

void td_log_hold(int on)
{
    holding = on;
    if (on) return;
    for (size_t i = 0; i < nheld; i++) {
        if (held[i].level <= level_of(held[i].comp))
            emit(held[i].level, held[i].comp, held[i].ts, held[i].msg);
        free(held[i].msg);
    }
    nheld = 0;
}

/* The time of a line: ISO 8601, UTC, milliseconds. */
static void stamp(char *ts, size_t n)
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
}

void td__log(int level, const char *file, const char *fmt, ...)
{
    const char *comp = component_of(file);
    if (level > level_of(comp)) return;
    char msg[2048], ts[64];
    stamp(ts, sizeof ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (holding && nheld < HELD_MAX) {
        held[nheld].level = level;
        held[nheld].comp = comp;
        snprintf(held[nheld].ts, sizeof held[nheld].ts, "%s", ts);
        held[nheld++].msg = td_xstrdup(msg);
        return;
    }
    emit(level, comp, ts, msg);
}

void td__log_report(const char *file, const char *fmt, ...)
{
    char msg[2048], ts[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (log_json) {
        stamp(ts, sizeof ts);
        emit(TD_LOG_INFO, component_of(file), ts, msg);
        return;
    }
    flockfile(stderr);
    if (status_len) fputs(CLEAR_LINE, stderr);
    fprintf(stderr, "%s\n", msg);
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

void td_log_on_sighup(int reloads)
{
    const char *note =
        reloads ? "" : " (the configuration is not reloaded: restart to apply changes)";
    int rc = td_log_reopen();
    if (rc == 0)
        TD_INFO("caught SIGHUP: log file %s reopened; still running%s", log_path, note);
    else if (rc > 0)
        TD_INFO("caught SIGHUP: logging to a pipe or terminal, nothing to reopen; still running%s",
                note);
    else
        TD_ERR("caught SIGHUP: cannot reopen log file %s: %s; still logging to the old one",
               log_path, strerror(errno));
}
