/* SPDX-License-Identifier: Apache-2.0 */
#include "proto/polygon_server.h"
#include "core/mem.h"
#include "proto/json_scan.h"
#include "proto/vendor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void td_polygon_server_status(td_buf_t *b, const char *status, const char *message)
{
    td_buf_appends(b, "[{\"ev\":\"status\",\"status\":");
    td_buf_append_json_str(b, status, strlen(status));
    td_buf_appends(b, ",\"message\":");
    td_buf_append_json_str(b, message, strlen(message));
    td_buf_appends(b, "}]");
}

void td_polygon_server_topic_text(td_buf_t *b, td_polygon_cluster_t c, int add, td_kind_t kind,
                                  const char *sym)
{
    const char *prefix = td_polygon_prefix(c, kind);
    td_buf_appendf(b, "%s to: %s.%s", add ? "subscribed" : "unsubscribed", prefix ? prefix : "?",
                   sym);
}

/* ---- client messages ------------------------------------------------------ */

/* The string value [v, ve) as a NUL-terminated copy with its escapes
 * decoded; NULL if it is not a string, or holds a NUL byte or a lone
 * surrogate (a key "PK1\u0000junk" must not read as "PK1"). */
static char *str_dup(const char *v, const char *ve)
{
    if (!v || *v != '"') return NULL;
    size_t n = (size_t)(ve - v - 2);
    char *out = td_xmalloc(n + 4); /* decoding never lengthens; +4 for its scratch */
    int len = td_json_unescape(v + 1, n, out, n + 4);
    if (len < 0 || memchr(out, '\0', (size_t)len)) {
        free(out);
        return NULL;
    }
    out[len] = '\0';
    return out;
}

/* Strict passes over the message (json_scan.h: linear in its size, at most
 * TD_JSON_MAX_DEPTH levels as alpaca_client.c counts them); the first
 * occurrence of each member wins. */
int td_polygon_server_parse(const char *msg, size_t len, char **action, char **params)
{
    static const char *const names[] = {"action", "params"};
    td_json_span_t v[2] = {{0}};
    if (!td_json_valid(msg, len, 1) || td_json_top_members(msg, msg + len, names, 2, v) != 0)
        return -1;
    *action = str_dup(v[0].p, v[0].e);
    *params = str_dup(v[1].p, v[1].e);
    return 0;
}

int td_polygon_server_wants_gaps(const char *msg, size_t len)
{
    static const char *const names[] = {"gaps"};
    td_json_span_t v[1] = {{0}};
    if (td_json_top_members(msg, msg + len, names, 1, v) != 0 || !v[0].p) return 0;
    return v[0].e - v[0].p == 4 && memcmp(v[0].p, "true", 4) == 0;
}

static int polygon_kind(void *ud, const char *word, size_t n)
{
    return td_polygon_kind(*(const td_polygon_cluster_t *)ud, word, n);
}

int td_polygon_server_since(td_polygon_cluster_t c, const char *msg, size_t len,
                            td_alpaca_since_t **out, size_t *n)
{
    static const char *const names[] = {"since"};
    td_json_span_t v[1] = {{0}};
    *out = NULL;
    *n = 0;
    if (td_json_top_members(msg, msg + len, names, 1, v) != 0) return -1;
    if (!v[0].p) return 0;
    if (td_since_parse(v[0].p, v[0].e, polygon_kind, &c, out, n) != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

/* ---- topics --------------------------------------------------------------- */

static void topic_cb(void *ud, td_kind_t kind, const char *sym, size_t len)
{
    td_polygon_topics_t *t = ud;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->v = td_xrealloc(t->v, t->cap * sizeof *t->v);
    }
    t->v[t->n].kind = kind;
    t->v[t->n].sym = td_xmalloc(len + 1);
    memcpy(t->v[t->n].sym, sym, len);
    t->v[t->n].sym[len] = '\0';
    t->v[t->n++].len = len;
}

int td_polygon_topics_parse(td_polygon_cluster_t c, const char *params, td_polygon_topics_t *t,
                            const char **bad, size_t *bad_len)
{
    return td_polygon_params_each(c, params, strlen(params), topic_cb, t, bad, bad_len);
}

void td_polygon_topics_free(td_polygon_topics_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].sym);
    free(t->v);
    memset(t, 0, sizeof *t);
}

td_polygon_cluster_t td_polygon_ticker_cluster(const char *sym, size_t n)
{
    return (td_polygon_cluster_t)td_vendor_sym_class(TD_VENDOR_POLYGON, sym, n);
}
