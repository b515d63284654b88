/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr. The level is checked before any argument is formatted.
 * Secrets must never be passed to these functions. */
#ifndef TD_CORE_LOG_H
#define TD_CORE_LOG_H

#include <stddef.h>
#include <stdint.h>

enum td_log_level { TD_LOG_ERROR = 0, TD_LOG_WARN, TD_LOG_INFO, TD_LOG_DEBUG };

extern int td_log_level_current;

void td_log_set_level(int level); /* every component */
/* Returns the level for "error", "warn", "info", "debug", or -1. */
int td_log_level_parse(const char *s);
void td_log_set_prefix(const char *prefix); /* borrowed; e.g. "run" or "sim" */

/* Components: a line's component is the source directory of the code that
 * logs it (feed, gateway, sink, ...), or the subcommand (the prefix) for the
 * command wiring. --log-level takes "LEVEL[,COMPONENT=LEVEL...]", e.g.
 * "info,feed=debug"; --log-format "text" (the default) or "json": one
 * object per line {"ts","level","component","cmd","msg"[,"suppressed"]}.
 * 0, or -1 with a one-line reason in err. */
int td_log_setup(const char *levels, const char *format, char *err, size_t errlen);
extern const char *const td_log_components[]; /* the names --log-level accepts */
/* td_log_hold(1) keeps the lines logged from then on; td_log_hold(0)
 * writes them, in the format set meanwhile (the options parser holds the
 * lines of its own warnings until the options chose the log format). */
void td_log_hold(int on);

/* A status line (e.g. a progress bar on a terminal) kept below the log: each
 * log line clears it first and draws it again after. NULL or "" removes it.
 * The caller decides whether stderr is a terminal. */
void td_log_status(const char *line);

/* Log files: if stderr is a regular file at startup, td_log_note_file
 * remembers its path; td_log_reopen then opens that path again (appending,
 * creating it if it was rotated away) onto stderr. 0, 1 if there is no file
 * to reopen, -1 with errno. td_log_on_sighup does that and logs one line
 * (saying the configuration is not reloaded unless `reloads`): the SIGHUP
 * handler of every long-running subcommand. */
void td_log_note_file(void);
int td_log_reopen(void);
void td_log_on_sighup(int reloads);

/* td_log_level_current is the most verbose level of any component: the
 * cheap first check; td__log then applies the component's own. */
void td__log(int level, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define td_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= td_log_level_current) td__log((level), __FILE__, __VA_ARGS__);              \
    } while (0)
/* A report line (a summary a command prints at its end): written whatever
 * the level, as is in the text format, as an "info" object in JSON. */
void td__log_report(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define TD_REPORT(...) td__log_report(__FILE__, __VA_ARGS__)
#define TD_ERR(...)    td_log(TD_LOG_ERROR, __VA_ARGS__)
#define TD_WARN(...)   td_log(TD_LOG_WARN, __VA_ARGS__)
#define TD_INFO(...)   td_log(TD_LOG_INFO, __VA_ARGS__)
#define TD_DEBUG(...)  td_log(TD_LOG_DEBUG, __VA_ARGS__)

/* Rate limiter for repetitive log lines: at most `burst` lines per
 * `period_ms`; what is suppressed is counted and reported with the next line
 * that gets through. Embed one per call site. */
typedef struct td_ratelimit_s {
    uint64_t window_start_ms;
    uint32_t period_ms;
    uint32_t burst;
    uint32_t used;
    uint64_t suppressed;
} td_ratelimit_t;

#define TD_RATELIMIT_INIT(period_ms, burst)                                                        \
    {                                                                                              \
        0, (period_ms), (burst), 0, 0                                                              \
    }

/* Returns 1 if the caller may log now; *suppressed is set to the number of
 * lines dropped since the last one that got through. */
int td_ratelimit_ok(td_ratelimit_t *rl, uint64_t now_ms, uint64_t *suppressed);

#endif
