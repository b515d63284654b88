/* SPDX-License-Identifier: Apache-2.0 */
#include "proto/snapshot.h"
#include "core/clock.h"

#include <math.h>
#include <string.h>

static int sym_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
}

static int walk(const char *s, size_t max, td_snapshot_sym_cb cb, void *ud, const char **why)
{
    int count = 0;
    while (*s) {
        size_t n = 0;
        int bad = 0;
        for (; s[n] && s[n] != ','; n++)
            bad |= !sym_char(s[n]);
        if (bad || n == 0 || n > TD_BARS_MAX_SYM) {
            *why = "invalid symbol";
            return -1;
        }
        if ((size_t)count == max) {
            *why = "too many symbols";
            return -1;
        }
        count++;
        if (cb) cb(ud, s, n);
        s += n;
        if (*s == ',' && !*++s) { /* a trailing comma: an empty symbol */
            *why = "invalid symbol";
            return -1;
        }
    }
    return count;
}

int td_snapshot_symbols(const char *s, size_t max, td_snapshot_sym_cb cb, void *ud,
                        const char **why)
{
    const char *w = "";
    int n = walk(s, max, NULL, NULL, &w); /* all valid first: no callback for a bad list */
    if (n >= 0 && cb) walk(s, max, cb, ud, &w);
    if (why) *why = w;
    return n;
}

void td_snapshot_bar_json(td_buf_t *b, const char *name, const td_bar_t *bar)
{
    char ts[40];
    td_rfc3339_format(ts, bar->ts_ns);
    td_buf_appendf(b,
                   "\"%s\":{\"t\":\"%s\",\"o\":%.10g,\"h\":%.10g,\"l\":%.10g,\"c\":%.10g,"
                   "\"v\":%.10g",
                   name, ts, bar->open, bar->high, bar->low, bar->close, bar->volume);
    if (bar->trade_count >= 0) td_buf_appendf(b, ",\"n\":%lld", (long long)bar->trade_count);
    if (!isnan(bar->vwap)) td_buf_appendf(b, ",\"vw\":%.10g", bar->vwap);
    td_buf_appendc(b, '}');
}
