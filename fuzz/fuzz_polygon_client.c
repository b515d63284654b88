/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: Polygon client → server messages (the gateway's Polygon
 * dialect and the sim): td_polygon_server_parse, then the params through
 * td_polygon_topics_parse for every cluster, as proto/polygon_session_server.c
 * does, td_polygon_server_wants_gaps and td_polygon_server_since on what
 * it accepts; the parse's work must be linear in the input (linear_check.h).
 * The first byte picks the cluster; the rest is the message. */
#include "proto/polygon_server.h"

#include "linear_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_again(const char *s, size_t n)
{
    char *action = NULL, *params = NULL;
    td_polygon_server_parse(s, n, &action, &params);
    free(action);
    free(params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    td_polygon_cluster_t cl = (td_polygon_cluster_t)(data[0] % TD_POLYGON__CLUSTERS);
    size_t n = size - 1;
    /* A copy of exactly n bytes, so reads past the end are caught. */
    char *s = malloc(n ? n : 1);
    if (!s) return 0;
    if (n) memcpy(s, data + 1, n);
    char *action = NULL, *params = NULL;
    double t0 = td_fuzz_cpu_seconds();
    int rc = td_polygon_server_parse(s, n, &action, &params);
    td_fuzz_linear_check(t0, s, n, parse_again, "td_polygon_server_parse");
    if (rc != 0 && (action || params)) abort();
    if (rc == 0 && (unsigned)td_polygon_server_wants_gaps(s, n) > 1) abort();
    if (rc == 0) { /* tickerd's "since": names of the cluster, valid ids */
        td_alpaca_since_t *v;
        size_t k;
        int src = td_polygon_server_since(cl, s, n, &v, &k);
        if ((src != 0 && (v || k)) || k > TD_ALPACA_SINCE_MAX) abort();
        for (size_t i = 0; i < k; i++)
            if (!td_polygon_prefix(cl, v[i].kind) || !strcmp(v[i].sym, "*") ||
                !td_alpaca_stream_id_ok(v[i].id, strlen(v[i].id)))
                abort();
        free(v);
    }
    if (params) {
        td_polygon_topics_t t = {0};
        const char *bad = NULL;
        size_t bad_len = 0;
        int k = td_polygon_topics_parse(cl, params, &t, &bad, &bad_len);
        if (k >= 0) {
            if ((size_t)k != t.n) abort();
            for (size_t i = 0; i < t.n; i++)
                if (!t.v[i].sym || strlen(t.v[i].sym) != t.v[i].len || t.v[i].len == 0) abort();
        } else {
            if (t.n != 0) abort();
            if (!bad || bad < params || bad + bad_len > params + strlen(params)) abort();
        }
        td_polygon_topics_free(&t);
    }
    free(action);
    free(params);
    free(s);
    return 0;
}
