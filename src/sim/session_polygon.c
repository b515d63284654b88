/* One client connection on a Polygon path (PROTOCOLS.md §3.2): the status
 * greeting, {"action":"auth","params":KEY}, subscribe/unsubscribe with an
 * EV.TICKER params list (one "success" status per topic), and the one
 * connection per key per cluster limit (max_connections, close 1008), with
 * the new or the old connection evicted (--polygon-evict). Frames, data and
 * faults are session.c's. Statuses the vendor's documents do not give (our
 * choice, all with status "error"): "not authorized" (subscribe before
 * auth), "invalid JSON", "unknown action: X", "already authenticated",
 * "missing params", "invalid subscription: X", "symbol limit exceeded",
 * "message too large", "slow client". */
#include "core/log.h"
#include "core/mem.h"
#include "sim/sim_int.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#define MAX_CONNECTIONS_TEXT                                                                       \
    "Maximum number of websocket connections exceeded. You have reached the connection limit "     \
    "for your account. Please contact support at https://polygon.io/contact to increase your "     \
    "limit."
#define EVICT_GRACE_MS 1000 /* evict-new without a subscribe: evicted this long after auth */
#define LOG_MAX        1024

/* ---- statuses ------------------------------------------------------------ */

void td__sim_psess_status(td_sim_sess_t *s, const char *status, const char *message, int close)
{
    td_buf_t b = TD_BUF_INIT;
    td_buf_appends(&b, "[{\"ev\":\"status\",\"status\":");
    td_buf_append_json_str(&b, status, strlen(status));
    td_buf_appends(&b, ",\"message\":");
    td_buf_append_json_str(&b, message, strlen(message));
    td_buf_appends(&b, "}]");
    td__sim_sess_queue_ctl(s, b.data, b.len);
    td_buf_free(&b);
    if (strcmp(status, "success") != 0 && strcmp(status, "connected") != 0 &&
        strcmp(status, "auth_success") != 0)
        TD_INFO("conn #%llu status %s: %s%s", (unsigned long long)s->id, status, message,
                close ? " (closing)" : "");
    if (close) td__sim_sess_closing(s);
}

void td__sim_psess_error(td_sim_sess_t *s, int code, int close)
{
    switch (code) {
    case 404:
        td__sim_psess_status(s, "auth_timeout", "No authentication request received.", close);
        break;
    case 400:
        td__sim_psess_status(s, "error", "message too large", close);
        break;
    case 407:
        td__sim_psess_status(s, "error", "slow client", close);
        break;
    default:
        td__sim_psess_status(s, "error", "error", close);
        break;
    }
}

void td__sim_psess_open(td_sim_sess_t *s)
{
    td__sim_psess_status(s, "connected", "Connected Successfully", 0);
}

/* ---- max_connections ----------------------------------------------------- */

static void evict(td_sim_sess_t *s, const char *why)
{
    TD_WARN("conn #%llu %s: max_connections (key %.4s... on %s), closing with 1008",
            (unsigned long long)s->id, why, s->key, s->st->path);
    s->evict_pending = 0;
    s->evicted = 1;
    td__sim_psess_status(s, "max_connections", MAX_CONNECTIONS_TEXT, 1);
}

/* Live connections of the key on this cluster, not counting s. */
static size_t conns_of_key(const td_sim_sess_t *s, const char *key)
{
    size_t n = 0;
    for (const td_sim_sess_t *o = s->st->sessions; o; o = o->next)
        if (o != s && o->authed && !o->kill && !o->evicted && !o->evict_pending &&
            strcmp(o->key, key) == 0)
            n++;
    return n;
}

/* At auth: the key already has n >= --max-conns connections. */
static void over_limit(td_sim_sess_t *s, size_t n)
{
    td_sim_t *sim = s->sim;
    size_t max = (size_t)sim->cfg->max_conns;
    TD_WARN("conn #%llu: key %.4s... already has %zu connection(s) on %s (--max-conns %zu): "
            "evicting the %s (--polygon-evict %s)",
            (unsigned long long)s->id, s->key, n, s->st->path, max,
            sim->evict_old ? "oldest" : "new one after its subscription",
            sim->evict_old ? "old" : "new");
    if (!sim->evict_old) {
        s->evict_pending = 1;
        s->evict_at_ms = uv_now(sim->loop) + EVICT_GRACE_MS;
        return;
    }
    /* sessions are listed newest first: the oldest are at the end */
    td_sim_sess_t *last = s->st->sessions;
    while (last->next)
        last = last->next;
    for (td_sim_sess_t *o = last; o && n >= max; o = o->prev) {
        if (o == s || !o->authed || o->kill || o->evicted || o->evict_pending ||
            strcmp(o->key, s->key) != 0)
            continue;
        evict(o, "evicted by a newer connection");
        n--;
    }
}

void td__sim_psess_cron(td_sim_sess_t *s, uint64_t now_ms)
{
    if (s->evict_pending && now_ms >= s->evict_at_ms) evict(s, "over the limit");
}

/* ---- auth ---------------------------------------------------------------- */

static void do_auth(td_sim_sess_t *s, const char *key)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    if (s->authed) {
        td__sim_psess_status(s, "error", "already authenticated", 0);
        return;
    }
    int ok = key && *key && strlen(key) < sizeof s->key && (!cfg->key || !strcmp(key, cfg->key));
    if (!ok) {
        td__sim_psess_status(s, "auth_failed", "authentication failed", 1);
        return;
    }
    snprintf(s->key, sizeof s->key, "%s", key);
    size_t n = conns_of_key(s, key);
    if (cfg->max_conns > 0 && n >= (size_t)cfg->max_conns) over_limit(s, n);
    s->authed = 1;
    td__sim_psess_status(s, "auth_success", "authenticated", 0);
    TD_INFO("conn #%llu authenticated (key %.4s...)", (unsigned long long)s->id, key);
}

/* ---- subscriptions ------------------------------------------------------- */

typedef struct {
    td_kind_t kind;
    char *sym;
    size_t len;
} topic_t;

typedef struct {
    topic_t *v;
    size_t n, cap;
} topics_t;

static void topic_cb(void *ud, td_kind_t kind, const char *sym, size_t len)
{
    topics_t *t = ud;
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

static void topics_free(topics_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].sym);
    free(t->v);
}

/* Applies the topics to a copy of sub; 0, or -1 past --symbol-limit. */
static int apply(td_sim_sess_t *s, const topics_t *t, int add)
{
    const td_sim_cfg_t *cfg = s->sim->cfg;
    td_subset_t next;
    td_subset_init(&next);
    td_subset_copy(&next, &s->sub);
    for (size_t i = 0; i < t->n; i++)
        (add ? td_subset_add : td_subset_remove)(&next, t->v[i].kind, t->v[i].sym, t->v[i].len);
    if (add && cfg->symbol_limit > 0 &&
        td_subset_count_symbols(&next, td_polygon_kinds(s->st->cluster)) >
            (size_t)cfg->symbol_limit) {
        td_subset_free(&next);
        return -1;
    }
    td_subset_free(&s->sub);
    s->sub = next;
    return 0;
}

/* "subscribed to: T.AAPL" per topic, one frame each (MS transcript). */
static void confirm(td_sim_sess_t *s, const topics_t *t, int add, td_buf_t *log)
{
    td_buf_t m = TD_BUF_INIT;
    for (size_t i = 0; i < t->n; i++) {
        const char *prefix = td_polygon_prefix(s->st->cluster, t->v[i].kind);
        td_buf_reset(&m);
        td_buf_appendf(&m, "%s to: %s.%s", add ? "subscribed" : "unsubscribed",
                       prefix ? prefix : "?", t->v[i].sym);
        td__sim_psess_status(s, "success", m.data, 0);
        if (log->len < LOG_MAX)
            td_buf_appendf(log, "%s%s.%s", log->len ? "," : "", prefix ? prefix : "?", t->v[i].sym);
    }
    td_buf_free(&m);
}

static void do_sub(td_sim_sess_t *s, const char *params, int add)
{
    if (!s->authed) {
        td__sim_psess_status(s, "error", "not authorized", 0);
        return;
    }
    if (!params) {
        td__sim_psess_status(s, "error", "missing params", 0);
        return;
    }
    topics_t t = {0};
    const char *bad = NULL;
    size_t bad_len = 0;
    int rc = td_polygon_params_each(s->st->cluster, params, strlen(params), topic_cb, &t, &bad,
                                    &bad_len);
    if (rc < 0) {
        td_buf_t m = TD_BUF_INIT;
        td_buf_appendf(&m, "invalid subscription: %.*s", (int)(bad_len > 200 ? 200 : bad_len),
                       bad ? bad : "");
        td__sim_psess_status(s, "error", m.data, 0);
        td_buf_free(&m);
    } else if (apply(s, &t, add) != 0) {
        td__sim_psess_status(s, "error", "symbol limit exceeded", 0);
    } else {
        td_buf_t log = TD_BUF_INIT;
        confirm(s, &t, add, &log);
        TD_INFO("conn #%llu %s %s%s", (unsigned long long)s->id, add ? "subscribe" : "unsubscribe",
                log.len ? log.data : "(nothing)", log.len >= LOG_MAX ? "..." : "");
        td_buf_free(&log);
        if (s->evict_pending)
            evict(s, "over the limit");
        else
            td__sim_sess_update_want(s);
    }
    topics_free(&t);
}

/* ---- messages ------------------------------------------------------------ */

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

/* {"action":"...","params":"..."}: *action and *params (either may be NULL
 * if absent or not a string). Returns 0, or -1 if msg is not a JSON object. */
static int parse(const char *msg, size_t len, char **action, char **params)
{
    jsmn_parser p;
    jsmn_init(&p);
    int nt = jsmn_parse(&p, msg, len, NULL, 0);
    if (nt <= 0) return -1;
    jsmntok_t *t = td_xmalloc((size_t)nt * sizeof *t);
    jsmn_init(&p);
    nt = jsmn_parse(&p, msg, len, t, (unsigned)nt);
    int rc = nt > 0 && t[0].type == JSMN_OBJECT ? 0 : -1;
    for (size_t i = (size_t)t[0].end; rc == 0 && i < len; i++)
        if (!strchr(" \t\r\n", msg[i])) rc = -1;
    for (int i = 1; rc == 0 && i + 1 < nt; i++) {
        if (t[i].parent != 0) continue; /* a key of the top object, then its value */
        char **dst = tok_eq(msg, &t[i], "action")   ? action
                     : tok_eq(msg, &t[i], "params") ? params
                                                    : NULL;
        if (dst && !*dst) *dst = str_dup(msg, &t[i + 1]);
    }
    free(t);
    return rc;
}

void td__sim_psess_message(td_sim_sess_t *s, const char *msg, size_t len, int binary)
{
    char *action = NULL, *params = NULL;
    if (binary || parse(msg, len, &action, &params) != 0) {
        TD_DEBUG("conn #%llu: bad message", (unsigned long long)s->id);
        td__sim_psess_status(s, "error", "invalid JSON", 0);
    } else if (action && strcmp(action, "auth") == 0) {
        do_auth(s, params);
    } else if (action && (!strcmp(action, "subscribe") || !strcmp(action, "unsubscribe"))) {
        do_sub(s, params, action[0] == 's');
    } else {
        td_buf_t m = TD_BUF_INIT;
        td_buf_appendf(&m, "unknown action: %.64s", action ? action : "(none)");
        td__sim_psess_status(s, "error", m.data, 0);
        td_buf_free(&m);
    }
    free(action);
    free(params);
}
