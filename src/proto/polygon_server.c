#include "proto/polygon_server.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

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

/* The JSON string token as a NUL-terminated copy (escapes decoded; \u only
 * below 0x80); NULL if it is not a string or holds what we do not decode. */
static char *str_dup(const char *js, const jsmntok_t *t)
{
    if (t->type != JSMN_STRING) return NULL;
    const char *p = js + t->start, *end = js + t->end;
    char *out = td_xmalloc((size_t)(end - p) + 1), *o = out;
    while (p < end) {
        char c = *p++;
        if (c == '\\') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *f = p < end && *p ? strchr(from, *p) : NULL;
            unsigned v = 0;
            if (f) {
                c = to[f - from];
                p++;
            } else if (end - p >= 5 && *p == 'u' && sscanf(p + 1, "%4x", &v) == 1 && v > 0 &&
                       v < 0x80) {
                c = (char)v;
                p += 5;
            } else {
                free(out);
                return NULL;
            }
        }
        *o++ = c;
    }
    *o = '\0';
    return out;
}

static int tok_eq(const char *js, const jsmntok_t *t, const char *lit)
{
    size_t n = strlen(lit);
    return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n &&
           memcmp(js + t->start, lit, n) == 0;
}

int td_polygon_server_parse(const char *msg, size_t len, char **action, char **params)
{
    jsmn_parser p;
    jsmn_init(&p);
    int nt = jsmn_parse(&p, msg, len, NULL, 0);
    if (nt <= 0) return -1;
    jsmntok_t *t = td_xmalloc((size_t)nt * sizeof *t);
    jsmn_init(&p);
    nt = jsmn_parse(&p, msg, len, t, (unsigned)nt);
    int rc = nt > 0 && t[0].type == JSMN_OBJECT ? 0 : -1;
    for (size_t i = rc == 0 ? (size_t)t[0].end : len; i < len; i++)
        if (!strchr(" \t\r\n", msg[i])) rc = -1;
    char *a = NULL, *pa = NULL;
    for (int i = 1; rc == 0 && i + 1 < nt; i++) {
        if (t[i].parent != 0) continue; /* a key of the top object, then its value */
        char **dst = tok_eq(msg, &t[i], "action") ? &a : tok_eq(msg, &t[i], "params") ? &pa : NULL;
        if (dst && !*dst) *dst = str_dup(msg, &t[i + 1]);
    }
    free(t);
    if (rc != 0) {
        free(a);
        free(pa);
        return -1;
    }
    *action = a;
    *params = pa;
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
    if (n > 2 && sym[0] == 'O' && sym[1] == ':') return TD_POLYGON_OPTIONS;
    if (memchr(sym, '/', n)) return TD_POLYGON_FOREX;
    if (memchr(sym, '-', n)) return TD_POLYGON_CRYPTO;
    return TD_POLYGON_STOCKS;
}
