/* SPDX-License-Identifier: Apache-2.0 */
/* What the user typed, checked before any request: --start/--end, --rate
 * and --timeframe, and the time bounds each vendor is sent. Pure functions
 * (tests/unit/backfill/test_backfill_params.c). */
#include "backfill/backfill.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S  1000000000LL
#define NS_PER_MS 1000000LL

int td_backfill_time_ns(const char *s, int is_end, int64_t *ns)
{
    int64_t days;
    if (!s) return -1;
    if (td_date_parse(s, strlen(s), &days) == 0) {
        *ns = (days + is_end) * 86400 * NS_PER_S - is_end;
        return 0;
    }
    return td_rfc3339_parse(s, strlen(s), ns);
}

int td_backfill_parse_rate(const char *s, double *n, double *seconds)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0) || *end != '/') return -1;
    const char *u = end + 1;
    double sec;
    if (!strcmp(u, "s") || !strcmp(u, "sec") || !strcmp(u, "second"))
        sec = 1;
    else if (!strcmp(u, "min") || !strcmp(u, "m") || !strcmp(u, "minute"))
        sec = 60;
    else if (!strcmp(u, "h") || !strcmp(u, "hour"))
        sec = 3600;
    else {
        sec = strtod(u, &end);
        if (end == u || *end || !(sec > 0)) return -1;
    }
    *n = v;
    *seconds = sec;
    return 0;
}

/* Alpaca's units, the most each allows, and Polygon's name for each. */
static const struct {
    const char *unit, *alt, *polygon;
    long max;
} UNITS[] = {
    {"Min", "T", "minute", 59}, {"Hour", "H", "hour", 23},   {"Day", "D", "day", 1},
    {"Week", "W", "week", 1},   {"Month", "M", "month", 12},
};
static const char *const SPANS[] = {"second", "minute", "hour",    "day",
                                    "week",   "month",  "quarter", "year"};

/* "15Min" -> 15 and the UNITS index, or -1. */
static int alpaca_tf(const char *tf, long *mult)
{
    char *end;
    long n = strtol(tf, &end, 10);
    if (end == tf || *tf < '1' || *tf > '9' || n < 1) return -1;
    for (int i = 0; i < (int)(sizeof UNITS / sizeof *UNITS); i++) {
        if (strcmp(end, UNITS[i].unit) && strcmp(end, UNITS[i].alt)) continue;
        int month_ok = i != 4 || (n <= 4 || n == 6 || n == 12);
        *mult = n;
        return n <= UNITS[i].max && month_ok ? i : -1;
    }
    return -1;
}

/* "15/minute" -> 15 and the SPANS index, or -1. */
static int polygon_tf(const char *tf, long *mult)
{
    char *end;
    long n = strtol(tf, &end, 10);
    if (end == tf || *tf < '1' || *tf > '9' || n < 1 || n > 1000000 || *end != '/') return -1;
    for (int i = 0; i < (int)(sizeof SPANS / sizeof *SPANS); i++)
        if (!strcmp(end + 1, SPANS[i])) {
            *mult = n;
            return i;
        }
    return -1;
}

int td_backfill_check_timeframe(const char *vendor, const char *tf, char *msg, size_t cap)
{
    long n = 0;
    if (!strcmp(vendor, "polygon")) {
        if (polygon_tf(tf, &n) >= 0) return 0;
        int u = alpaca_tf(tf, &n);
        char hint[64] = "";
        if (u >= 0) snprintf(hint, sizeof hint, " (for %s: %ld/%s)", tf, n, UNITS[u].polygon);
        snprintf(msg, cap,
                 "--timeframe %s: Polygon's form is MULT/TIMESPAN, e.g. 15/minute%s; TIMESPAN: "
                 "second, minute, hour, day, week, month, quarter or year",
                 tf, hint);
        return -1;
    }
    if (alpaca_tf(tf, &n) >= 0) return 0;
    int s = polygon_tf(tf, &n);
    char hint[64] = "";
    for (int i = 0; s >= 0 && i < (int)(sizeof UNITS / sizeof *UNITS); i++)
        if (!strcmp(SPANS[s], UNITS[i].polygon))
            snprintf(hint, sizeof hint, " (for %s: %ld%s)", tf, n, UNITS[i].unit);
    snprintf(msg, cap,
             "--timeframe %s: Alpaca's form is e.g. 15Min%s: 1-59Min, 1-23Hour, 1Day, 1Week or "
             "1, 2, 3, 4, 6 or 12Month",
             tf, hint);
    return -1;
}

void td_backfill_vendor_bounds(const char *vendor, int64_t t0, int64_t t1, char *from, char *to,
                               size_t cap)
{
    if (!strcmp(vendor, "polygon")) { /* Unix ms, both inclusive */
        snprintf(from, cap, "%lld", (long long)td_floor_div(t0 + NS_PER_MS - 1, NS_PER_MS));
        snprintf(to, cap, "%lld", (long long)td_floor_div(t1, NS_PER_MS));
        return;
    }
    /* Alpaca: RFC 3339 in whole seconds (bars start on whole seconds) */
    char a[TD_RFC3339_MAX], b[TD_RFC3339_MAX];
    td_rfc3339_format(a, td_floor_div(t0 + NS_PER_S - 1, NS_PER_S) * NS_PER_S);
    td_rfc3339_format(b, td_floor_div(t1, NS_PER_S) * NS_PER_S);
    snprintf(from, cap, "%s", a);
    snprintf(to, cap, "%s", b);
}
