/* SPDX-License-Identifier: Apache-2.0 */
/* Gap notices: JSON formatting. */
#include "proto/gap.h"

#include "core/clock.h"

#include <string.h>

static void put_time(td_buf_t *b, const char *name, int64_t ns)
{
    char t[TD_RFC3339_MAX];
    size_t n = td_rfc3339_format(t, ns);
    td_buf_appendf(b, ",\"%s\":\"%.*s\"", name, (int)n, t);
}

static int kind_used(const td_subset_t *w, int k)
{
    return !w || w->k[k].all || w->k[k].n > 0;
}

/* "symbols": "*" or the distinct names (a name listed for an earlier kind is
 * not repeated). */
static void put_symbols(td_buf_t *b, const td_subset_t *w)
{
    for (int k = 0; k < TD_KIND__COUNT; k++)
        if (!w || w->k[k].all) {
            td_buf_appends(b, ",\"symbols\":\"*\"");
            return;
        }
    td_buf_appends(b, ",\"symbols\":[");
    int first = 1;
    for (int k = 0; k < TD_KIND__COUNT; k++)
        for (size_t i = 0; i < w->k[k].n; i++) {
            const char *s = w->k[k].v[i];
            size_t n = strlen(s);
            int seen = 0;
            for (int j = 0; j < k && !seen; j++)
                seen = td_subset_names(w, (td_kind_t)j, s, n);
            if (seen) continue;
            if (!first) td_buf_appendc(b, ',');
            td_buf_append_json_str(b, s, n);
            first = 0;
        }
    td_buf_appendc(b, ']');
}

void td_gap_json(td_buf_t *b, const td_gap_t *g)
{
    td_buf_appends(b, "{\"type\":\"gap\",\"feed\":");
    td_buf_append_json_str(b, g->feed ? g->feed : "", g->feed ? strlen(g->feed) : 0);
    put_time(b, "from", g->from_ns);
    put_time(b, "to", g->to_ns);
    td_buf_appends(b, ",\"kinds\":[");
    int first = 1;
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!kind_used(g->where, k)) continue;
        td_buf_appendf(b, "%s\"%s\"", first ? "" : ",", td_kind_name((td_kind_t)k));
        first = 0;
    }
    td_buf_appendc(b, ']');
    put_symbols(b, g->where);
    td_buf_appendf(b, ",\"refill\":\"%s\",\"lost\":", g->refill ? g->refill : "impossible");
    if (g->lost < 0)
        td_buf_appends(b, "null");
    else
        td_buf_appendf(b, "%lld", (long long)g->lost);
    if (g->reason) {
        td_buf_appends(b, ",\"reason\":");
        td_buf_append_json_str(b, g->reason, strlen(g->reason));
    }
    if (g->token) td_buf_appendf(b, ",\"token\":%llu", (unsigned long long)g->token);
    td_buf_appendc(b, '}');
}
