/* SPDX-License-Identifier: Apache-2.0 */
/* Alpha Vantage at GET /query on the simulator's listener (PROTOCOLS.md §5):
 * the query string, the key check, the per-key rolling limits (Note per
 * minute, Information per day), the --record-calls file and the HTTP answer
 * (always 200, application/json), written in HTTP_WRITEABLE callbacks after
 * --av-latency. The data and bodies are in rest_av_data.c. */
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "sim/sim_int.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define COMPACT_POINTS 100
#define FULL_POINTS    1000

static const char INVALID_CALL[] = "Invalid API call. Please retry or visit the documentation "
                                   "(https://www.alphavantage.co/documentation/) for %s.";
static const char BAD_KEY[] =
    "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds.";

enum { WIN_MINUTE, WIN_DAY };

typedef struct avkey_s {
    struct avkey_s *next;
    char *key;
    uint64_t *ring[2]; /* monotonic ns of the last counted calls, per window */
    size_t n[2], head[2];
} avkey_t;

struct td_sim_av_s {
    const td_sim_cfg_t *cfg;
    td_sim_avdata_t *data;
    avkey_t *keys;
    FILE *rec;
    td_sim_reply_t *reqs; /* answers not yet written */
};

typedef struct {
    char function[64], symbol[64], apikey[256], interval[16], outputsize[16], datatype[16];
    int has_function, has_symbol, has_key;
    int bad; /* a value too long for its field */
} params_t;

/* ---- lifecycle ----------------------------------------------------------------- */

td_sim_av_t *td__sim_av_new(const td_sim_cfg_t *cfg, char *err, size_t errlen)
{
    if (!cfg->av_minute_key || !*cfg->av_minute_key || !cfg->av_day_key || !*cfg->av_day_key) {
        snprintf(err, errlen, "--av-minute-key and --av-day-key must not be empty");
        return NULL;
    }
    td_sim_av_t *av = td_xcalloc(1, sizeof *av);
    av->cfg = cfg;
    av->data = td__sim_avdata_new((uint64_t)cfg->seed, (size_t)cfg->symbols);
    return av;
}

int td__sim_av_start(td_sim_av_t *av)
{
    if (!av->cfg->record_calls) return 0;
    av->rec = fopen(av->cfg->record_calls, "w");
    if (!av->rec) {
        TD_ERR("cannot open --record-calls file '%s'", av->cfg->record_calls);
        return -1;
    }
    return 0;
}

FILE *td__sim_av_rec(td_sim_av_t *av)
{
    return av->rec;
}

void td__sim_av_free(td_sim_av_t *av)
{
    if (!av) return;
    while (av->reqs) {
        td_sim_reply_t *r = av->reqs;
        td__sim_reply_free(&r);
    }
    while (av->keys) {
        avkey_t *k = av->keys;
        av->keys = k->next;
        free(k->ring[0]);
        free(k->ring[1]);
        free(k->key);
        free(k);
    }
    if (av->rec) fclose(av->rec);
    td__sim_avdata_free(av->data);
    free(av);
}

/* ---- limits -------------------------------------------------------------------- */

static avkey_t *key_get(td_sim_av_t *av, const char *key)
{
    for (avkey_t *k = av->keys; k; k = k->next)
        if (strcmp(k->key, key) == 0) return k;
    avkey_t *k = td_xcalloc(1, sizeof *k);
    k->key = td_xstrdup(key);
    k->next = av->keys;
    av->keys = k;
    return k;
}

static size_t win_cap(const td_sim_av_t *av, int w)
{
    return (size_t)(w == WIN_MINUTE ? av->cfg->av_per_minute : av->cfg->av_per_day);
}

/* Full: the window already holds its quota of counted calls. */
static int win_full(const td_sim_av_t *av, const avkey_t *k, int w, uint64_t now)
{
    size_t cap = win_cap(av, w);
    if (cap == 0 || k->n[w] < cap) return 0;
    double secs = w == WIN_MINUTE ? av->cfg->av_minute : av->cfg->av_day;
    uint64_t oldest = k->ring[w][k->head[w]];
    return (double)(now - oldest) < secs * 1e9;
}

static void win_count(const td_sim_av_t *av, avkey_t *k, int w, uint64_t now)
{
    size_t cap = win_cap(av, w);
    if (cap == 0) return;
    if (!k->ring[w]) k->ring[w] = td_xcalloc(cap, sizeof *k->ring[w]);
    k->ring[w][k->head[w]] = now;
    k->head[w] = (k->head[w] + 1) % cap;
    if (k->n[w] < cap) k->n[w]++;
}

/* ---- the answer ---------------------------------------------------------------- */

static void single(td_buf_t *out, const char *key, const char *text)
{
    td_buf_appendc(out, '{');
    td_buf_append_json_str(out, key, strlen(key));
    td_buf_appendc(out, ':');
    td_buf_append_json_str(out, text, strlen(text));
    td_buf_appendc(out, '}');
}

static const char *invalid_call(td_buf_t *out, const char *function)
{
    char msg[sizeof INVALID_CALL + 64];
    snprintf(msg, sizeof msg, INVALID_CALL, function);
    single(out, "Error Message", msg);
    return "error";
}

static int interval_minutes(const char *s)
{
    static const int ok[] = {1, 5, 15, 30, 60};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char want[16];
        snprintf(want, sizeof want, "%dmin", ok[i]);
        if (strcmp(s, want) == 0) return ok[i];
    }
    return 0;
}

static const char *intraday(td_sim_av_t *av, const params_t *p, int64_t now_sec, td_buf_t *out)
{
    int iv = interval_minutes(p->interval);
    int full = strcmp(p->outputsize, "full") == 0;
    if (!p->has_symbol || !iv || (*p->outputsize && !full && strcmp(p->outputsize, "compact")))
        return invalid_call(out, p->function);
    long i = td__sim_avdata_find(av->data, p->symbol);
    if (i < 0) {
        invalid_call(out, p->function); /* as the vendor: no empty series */
        return "unknown";
    }
    td__sim_avdata_intraday(av->data, (size_t)i, iv, full, full ? FULL_POINTS : COMPACT_POINTS,
                            now_sec, out);
    return "quote";
}

static const char *dispatch(td_sim_av_t *av, const params_t *p, int64_t now_sec, td_buf_t *out)
{
    if (p->bad || (*p->datatype && strcmp(p->datatype, "json") != 0))
        return invalid_call(out, p->function);
    if (strcmp(p->function, "GLOBAL_QUOTE") == 0) {
        if (!p->has_symbol) return invalid_call(out, p->function);
        long i = td__sim_avdata_find(av->data, p->symbol);
        if (i < 0) {
            td_buf_appends(out, "{\"Global Quote\":{}}");
            return "unknown";
        }
        td__sim_avdata_quote(av->data, (size_t)i, now_sec, out);
        return "quote";
    }
    if (strcmp(p->function, "TIME_SERIES_INTRADAY") == 0) return intraday(av, p, now_sec, out);
    return invalid_call(out, p->function);
}

/* The body and the outcome of one call: key, limits (throttled calls are
 * answered but not counted), then the function. */
static const char *answer(td_sim_av_t *av, const params_t *p, int64_t now_ns, td_buf_t *out)
{
    const td_sim_cfg_t *cfg = av->cfg;
    if (!p->has_key || !*p->apikey || (cfg->key && strcmp(cfg->key, p->apikey) != 0)) {
        single(out, "Error Message", BAD_KEY);
        return "error";
    }
    avkey_t *k = key_get(av, p->apikey);
    uint64_t mono = uv_hrtime();
    if (win_full(av, k, WIN_DAY, mono)) {
        single(out, cfg->av_day_key, cfg->av_day_text);
        return "throttled_day";
    }
    if (win_full(av, k, WIN_MINUTE, mono)) {
        single(out, cfg->av_minute_key, cfg->av_minute_text);
        return "throttled_minute";
    }
    win_count(av, k, WIN_DAY, mono);
    win_count(av, k, WIN_MINUTE, mono);
    return dispatch(av, p, now_ns / 1000000000, out);
}

static void record(td_sim_av_t *av, const params_t *p, int64_t t_ns, const char *outcome)
{
    if (!av->rec) return;
    td_buf_t b = TD_BUF_INIT;
    char key[8];
    size_t n = 0;
    for (; n < 4 && p->apikey[n]; n++) /* printable ASCII only, so 4 chars stay valid UTF-8 */
        key[n] = p->apikey[n] > 0x20 && p->apikey[n] < 0x7f ? p->apikey[n] : '?';
    td_buf_appendf(&b, "{\"t\":%lld,\"function\":", (long long)t_ns);
    td_buf_append_json_str(&b, p->function, strlen(p->function));
    td_buf_appends(&b, ",\"symbol\":");
    td_buf_append_json_str(&b, p->symbol, strlen(p->symbol));
    td_buf_appends(&b, ",\"key\":\"");
    td_buf_append(&b, key, n);
    if (p->apikey[n]) td_buf_appends(&b, "\xe2\x80\xa6"); /* … */
    td_buf_appendf(&b, "\",\"outcome\":\"%s\"}\n", outcome);
    fwrite(b.data, 1, b.len, av->rec);
    fflush(av->rec);
    td_buf_free(&b);
}

/* ---- lws ----------------------------------------------------------------------- */

static void param(params_t *p, const char *name, const char *v)
{
    static const struct {
        const char *name;
        size_t off, cap, has;
    } fields[] = {
        {"function", offsetof(params_t, function), 64, offsetof(params_t, has_function)},
        {"symbol", offsetof(params_t, symbol), 64, offsetof(params_t, has_symbol)},
        {"apikey", offsetof(params_t, apikey), 256, offsetof(params_t, has_key)},
        {"interval", offsetof(params_t, interval), 16, 0},
        {"outputsize", offsetof(params_t, outputsize), 16, 0},
        {"datatype", offsetof(params_t, datatype), 16, 0},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(name, fields[i].name) != 0) continue;
        size_t len = strlen(v);
        if (len >= fields[i].cap) {
            p->bad = 1;
            len = fields[i].cap - 1;
        }
        memcpy((char *)p + fields[i].off, v, len);
        ((char *)p + fields[i].off)[len] = '\0';
        if (fields[i].has) *(int *)(void *)((char *)p + fields[i].has) = 1;
    }
}

static void parse(struct lws *wsi, params_t *p)
{
    memset(p, 0, sizeof *p);
    char frag[512];
    for (int i = 0; i < 64; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0) break;
        char *eq = strchr(frag, '=');
        if (!eq) continue;
        *eq = '\0';
        param(p, frag, eq + 1);
    }
}

int td__sim_av_http(td_sim_av_t *av, struct lws *wsi, td_sim_reply_t **slot)
{
    int64_t t_ns = td_now_ns();
    td__sim_reply_free(slot); /* a pipelined request: cannot happen on HTTP/1.1 */
    params_t p;
    parse(wsi, &p);
    td_sim_reply_t *r = *slot = td__sim_reply_new(&av->reqs, 1024);
    const char *outcome = answer(av, &p, t_ns, &r->body);
    record(av, &p, t_ns, outcome);
    TD_DEBUG("/query function=%s symbol=%s: %s", p.function, p.symbol, outcome);
    if (av->cfg->av_latency_ms > 0) {
        lws_set_timer_usecs(wsi, (lws_usec_t)av->cfg->av_latency_ms * 1000);
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    } else {
        r->ready = 1;
        lws_callback_on_writable(wsi);
    }
    return 0;
}
