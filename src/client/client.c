/* SPDX-License-Identifier: Apache-2.0 */
/* libtickerd's client: one td_feed_t per vendor stream in use, on the
 * client's loop (the feeds are tickerd's own WebSocket clients, so the
 * library needs no libwebsockets context).
 *
 * The feed reconnects by itself; the client watches each feed's state (at
 * every loop turn, from a prepare and a check handle, and before each event)
 * and turns it into the public states. With automatic reconnect off, or
 * once the retry limit is reached, a dropped feed is retired (stopped; freed
 * once its handles are closed) and the stream stays down until
 * tickerd_reconnect opens a new feed with the stream's subscriptions.
 * Subscriptions and handlers belong to the client, not to a feed, so they
 * survive reconnects.
 *
 * Anything that opens or retires a feed runs from the prepare/check
 * handles, never inside a feed's callback. */
#include "client/client_int.h"
#include "core/log.h"
#include "core/mem.h"
#include "feed/feed.h"
#include "feed/feed_int.h" /* td__feed_read, td__feed_set_state: the test hook */
#include "proto/sub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTES_MAX 64
#define SYM_MAX   64

typedef struct stream_s {
    tickerd_client_t *c;
    td_class_t asset;
    char path[48];
    td_feed_t *feed;    /* NULL: none (not needed yet, or down) */
    td_subset_t subs;   /* what the user subscribed, by kind */
    td_subset_t pushed; /* what the feed was told (upstream kinds) */
    td_feed_state_t seen;
    int reported; /* the last tickerd_state_t noted, -1: none */
    int failures; /* drops in a row without streaming */
    int down;     /* retired; waits for tickerd_reconnect */
    int drop_pending;
    char fatal[160]; /* a vendor answer retrying cannot fix, pending */
    uint64_t connects_seen, seed;
    td_feed_since_t since; /* channels resumed from a tickerd gateway's history */
} stream_t;

typedef struct retired_s {
    struct retired_s *next;
    tickerd_client_t *c;
    td_feed_t *feed;
    int stopped;  /* its handles are closed */
    int freeable; /* it had no connection left when retired */
} retired_t;

typedef struct note_s {
    int stream;
    tickerd_state_t state;
    char detail[160];
} note_t;

typedef struct handler_s {
    tickerd_handler_t fn;
    void *user;
} handler_t;

struct tickerd_client_s {
    tickerd_vendor_t vendor;
    char *base, *key, *secret, *ca_file;
    int reconnect, max_retries;
    double backoff_min, backoff_max, ping_interval, ping_timeout;
    tickerd_state_cb on_state;
    void *state_user;
    handler_t h[TICKERD_SERVICE__COUNT], dflt;
    int svc_of[TD_CLASS__COUNT][TD_KIND__COUNT];

    uv_loop_t own_loop, *loop;
    int owns_loop;
    stream_t st[TD_CLASS__COUNT];
    retired_t *retired;

    uv_prepare_t prep;
    uv_check_t check;
    uv_timer_t teardown;
    int started, closing, closed, reconnect_req;
    int pending; /* feed stops in flight */
    int open_handles;
    note_t notes[NOTES_MAX];
    size_t nnotes;
    int delivering;
};

TDC_API const char *tickerd_state_name(tickerd_state_t s)
{
    static const char *const names[] = {"connecting", "streaming", "disconnected", "reconnecting",
                                        "closed"};
    return (unsigned)s < TD_ARRAY_LEN(names) ? names[s] : "?";
}

/* ------------------------------------------------------------ states ---- */

static void note(stream_t *s, tickerd_state_t state, const char *detail)
{
    tickerd_client_t *c = s->c;
    if ((int)state == s->reported &&
        (state == TICKERD_STATE_CONNECTING || state == TICKERD_STATE_STREAMING))
        return;
    s->reported = (int)state;
    if (c->closing || !c->on_state) return;
    if (c->nnotes == NOTES_MAX) {
        TD_WARN("libtickerd: state notes overflow; %s of %s dropped", tickerd_state_name(state),
                s->path);
        return;
    }
    note_t *n = &c->notes[c->nnotes++];
    n->stream = (int)s->asset;
    n->state = state;
    snprintf(n->detail, sizeof n->detail, "%s", detail ? detail : "");
}

/* Calls the state callback for the queued notes. */
static void deliver(tickerd_client_t *c)
{
    if (c->delivering) return;
    c->delivering = 1;
    for (size_t i = 0; i < c->nnotes && !c->closing; i++) {
        note_t n = c->notes[i]; /* the callback may queue more */
        c->on_state(c, c->st[n.stream].path, n.state, n.detail[0] ? n.detail : NULL, c->state_user);
    }
    c->nnotes = 0;
    c->delivering = 0;
}

static void observe(stream_t *s)
{
    td_feed_stats_t fs;
    if (!s->feed) return;
    td_feed_stats(s->feed, &fs);
    if (fs.state == s->seen) return;
    s->seen = fs.state;
    switch (fs.state) {
    case TD_FEED_CONNECTING:
    case TD_FEED_AUTHENTICATING:
        note(s, TICKERD_STATE_CONNECTING, NULL);
        break;
    case TD_FEED_SUBSCRIBING:
    case TD_FEED_STREAMING:
        s->failures = 0;
        note(s, TICKERD_STATE_STREAMING, NULL);
        break;
    case TD_FEED_WAITING:
        s->drop_pending = 1;
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------- feeds ---- */

static void on_retired_stopped(void *ud)
{
    retired_t *r = ud;
    r->stopped = 1;
    r->c->pending--;
}

/* Stops the stream's feed for good. It is freed once its handles are closed
 * (its connection is one of them). */
static void retire(stream_t *s)
{
    tickerd_client_t *c = s->c;
    retired_t *r = td_xcalloc(1, sizeof *r);
    r->c = c;
    r->feed = s->feed;
    r->freeable = 1;
    r->next = c->retired;
    c->retired = r;
    c->pending++;
    td_feed_stop(s->feed, on_retired_stopped, r);
    s->feed = NULL;
    s->seen = TD_FEED_IDLE;
    s->drop_pending = 0;
    td_subset_clear(&s->pushed);
}

static void free_retired(tickerd_client_t *c, int all)
{
    for (retired_t **pp = &c->retired; *pp;) {
        retired_t *r = *pp;
        if (all || (r->stopped && r->freeable)) {
            *pp = r->next;
            td_feed_free(r->feed);
            free(r);
        } else {
            pp = &r->next;
        }
    }
}

/* What the feed must subscribe for s->subs. */
static void upstream_set(const stream_t *s, td_subset_t *out)
{
    td_subset_init(out);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *ss = &s->subs.k[k];
        td_kind_t uk = tdc_upstream_kind((td_kind_t)k);
        if (ss->all) td_subset_add(out, uk, "*", 1);
        for (size_t i = 0; i < ss->n; i++)
            td_subset_add(out, uk, ss->v[i], strlen(ss->v[i]));
    }
}

/* Tells the feed the difference between what it was told and what the
 * subscriptions need now. */
static void sync_wants(stream_t *s)
{
    td_subset_t want;
    if (!s->feed) return;
    upstream_set(s, &want);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *w = &want.k[k], *p = &s->pushed.k[k];
        if (p->all != w->all) td_feed_want(s->feed, (td_kind_t)k, "*", 1, w->all);
        for (size_t i = 0; i < p->n; i++)
            if (!td_subset_names(&want, (td_kind_t)k, p->v[i], strlen(p->v[i])))
                td_feed_want(s->feed, (td_kind_t)k, p->v[i], strlen(p->v[i]), 0);
        for (size_t i = 0; i < w->n; i++)
            if (!td_subset_names(&s->pushed, (td_kind_t)k, w->v[i], strlen(w->v[i])))
                td_feed_want(s->feed, (td_kind_t)k, w->v[i], strlen(w->v[i]), 1);
    }
    td_subset_free(&s->pushed);
    s->pushed = want;
}

static void on_feed_event(void *ud, const td_event_t *ev);

static void on_feed_fatal(void *ud, const char *why)
{
    stream_t *s = ud;
    snprintf(s->fatal, sizeof s->fatal, "%s", why);
}

/* Creates the stream's feed (not started); 0, or -1 with the stream down. */
static int new_feed(stream_t *s)
{
    static const td_feed_cb_t cb = {on_feed_event, on_feed_fatal, NULL};
    tickerd_client_t *c = s->c;
    char url[1024], err[256];
    td_subset_t want;
    snprintf(url, sizeof url, "%s%s", c->base, s->path);
    upstream_set(s, &want);
    td_feed_cfg_t fc = {
        .dialect = td_vendor_name((td_vendor_t)c->vendor),
        .url = url,
        .ca_file = c->ca_file,
        .key = c->key,
        .secret = c->secret,
        .subs = &want,
        .backoff_min_s = c->backoff_min,
        .backoff_max_s = c->backoff_max,
        .healthy_s = 30,
        .conn_limit_backoff_s = 30,
        .ping_interval_s = c->ping_interval,
        .ping_timeout_s = c->ping_timeout,
        .seed = s->seed++ + (uint64_t)s->asset * 7919,
        .since = &s->since,
    };
    s->feed = td_feed_new(c->loop, &fc, &cb, s, err, sizeof err);
    if (!s->feed) {
        td_subset_free(&want);
        s->down = 1;
        note(s, TICKERD_STATE_DISCONNECTED, err);
        return -1;
    }
    td_subset_free(&s->pushed);
    s->pushed = want;
    s->seen = TD_FEED_IDLE;
    s->connects_seen = 0;
    s->fatal[0] = '\0';
    return 0;
}

static void open_feed(stream_t *s)
{
    if (new_feed(s) != 0) return;
    td_feed_start(s->feed);
    observe(s);
}

static void handle_drop(stream_t *s)
{
    tickerd_client_t *c = s->c;
    td_feed_stats_t fs;
    char why[160];
    td_feed_stats(s->feed, &fs);
    int lost = fs.connects != s->connects_seen;
    s->connects_seen = fs.connects;
    s->drop_pending = 0;
    s->failures++;
    snprintf(why, sizeof why, "%s", lost ? "connection lost" : "connect failed");
    if (c->reconnect && (c->max_retries <= 0 || s->failures <= c->max_retries)) {
        note(s, TICKERD_STATE_DISCONNECTED, why);
        note(s, TICKERD_STATE_RECONNECTING, NULL);
        return;
    }
    if (c->reconnect)
        snprintf(why, sizeof why, "%s; giving up after %d attempts",
                 lost ? "connection lost" : "connect failed", s->failures);
    retire(s);
    s->down = 1;
    note(s, TICKERD_STATE_DISCONNECTED, why);
}

static void tick_stream(stream_t *s)
{
    tickerd_client_t *c = s->c;
    observe(s);
    if (s->feed && s->fatal[0]) {
        char why[sizeof s->fatal];
        memcpy(why, s->fatal, sizeof why);
        retire(s);
        s->down = 1;
        note(s, TICKERD_STATE_DISCONNECTED, why);
    }
    if (s->drop_pending) handle_drop(s);
    if (c->reconnect_req) {
        if (s->feed && s->seen == TD_FEED_WAITING) retire(s);
        s->down = 0;
        s->failures = 0;
    }
    if (!s->feed && !s->down && !td_subset_empty(&s->subs)) open_feed(s);
}

static void tick(tickerd_client_t *c)
{
    if (c->closing) return;
    free_retired(c, 0);
    for (int a = 0; a < TD_CLASS__COUNT && !c->closing; a++)
        tick_stream(&c->st[a]);
    c->reconnect_req = 0;
    deliver(c);
}

static void on_prep(uv_prepare_t *h)
{
    tick(h->data);
}

static void on_check(uv_check_t *h)
{
    tick(h->data);
}

/* ------------------------------------------------------------ events ---- */

static td_alpaca_since_t *since_of(stream_t *s, td_kind_t k, const char *sym, size_t n)
{
    for (size_t i = 0; i < s->since.n; i++) {
        td_alpaca_since_t *e = &s->since.v[i];
        if (e->kind == k && strlen(e->sym) == n && memcmp(e->sym, sym, n) == 0) return e;
    }
    return NULL;
}

/* An event of a resumed channel carries "stream_id" (the gateway adds it):
 * reported, and kept as the channel's resume point. */
static void resumed(stream_t *s, const td_event_t *ev, const char **sid, size_t *len)
{
    td_alpaca_since_t *e = since_of(s, ev->kind, ev->symbol, ev->symbol_len);
    int is_str = 0;
    if (!e || tdc_json_member(ev->payload, ev->payload_len, "stream_id", sid, len, &is_str) != 0 ||
        !is_str || !td_alpaca_stream_id_ok(*sid, *len)) {
        *sid = NULL, *len = 0;
        return;
    }
    memcpy(e->id, *sid, *len);
    e->id[*len] = '\0';
}

static void on_feed_event(void *ud, const td_event_t *ev)
{
    stream_t *s = ud;
    tickerd_client_t *c = s->c;
    if (c->closing) return;
    if (s->reported != TICKERD_STATE_STREAMING) { /* say so before the first event */
        observe(s);
        deliver(c);
        if (c->closing) return;
    }
    int svc = c->svc_of[s->asset][ev->kind];
    if (svc < 0 || !td_subset_has(&s->subs, ev->kind, ev->symbol, ev->symbol_len)) return;
    const handler_t *h = c->h[svc].fn ? &c->h[svc] : &c->dflt;
    const char *sid = NULL;
    size_t sid_len = 0;
    if (s->since.n) resumed(s, ev, &sid, &sid_len);
    if (!h->fn) return;
    tickerd_event_t e = {
        .service = (tickerd_service_t)svc,
        .vendor = c->vendor,
        .kind = td_kind_name(ev->kind),
        .symbol = ev->symbol,
        .symbol_len = ev->symbol_len,
        .json = ev->payload,
        .json_len = ev->payload_len,
        .stream_id = sid,
        .stream_id_len = sid_len,
    };
    h->fn(c, &e, h->user);
}

/* The test and benchmark hook (client_int.h). */
int td__client_feed_frame(tickerd_client_t *c, const char *path, const char *data, size_t len)
{
    stream_t *s = NULL;
    for (int a = 0; a < TD_CLASS__COUNT && !s; a++)
        if (c->st[a].path[0] && strcmp(c->st[a].path, path) == 0) s = &c->st[a];
    if (!s || c->closing || c->started) return -1;
    if (!s->feed) {
        if (new_feed(s) != 0) return -1;
        td__feed_set_state(s->feed, TD_FEED_STREAMING); /* as after the vendor's confirmation */
        observe(s);
        deliver(c);
    }
    return td__feed_read(s->feed, data, len);
}

/* ------------------------------------------------------- public calls ---- */

static int check_call(tickerd_client_t *c, tickerd_service_t service)
{
    if (!c || (unsigned)service >= TICKERD_SERVICE__COUNT) return TICKERD_EINVAL;
    if (c->closing) return TICKERD_ECLOSED;
    if (!tickerd_service_offered(c->vendor, service)) return TICKERD_ENOTSUP;
    return 0;
}

static int check_symbols(const char *const *symbols, size_t n)
{
    if (n && !symbols) return TICKERD_EINVAL;
    for (size_t i = 0; i < n; i++) {
        size_t len = symbols[i] ? strlen(symbols[i]) : 0;
        if (len == 0 || len > SYM_MAX) return TICKERD_EINVAL;
        for (size_t j = 0; j < len; j++)
            if ((unsigned char)symbols[i][j] < 0x20 || symbols[i][j] == 0x7f) return TICKERD_EINVAL;
    }
    return 0;
}

TDC_API int tickerd_subscribe(tickerd_client_t *c, tickerd_service_t service,
                              const char *const *symbols, size_t n, tickerd_handler_t handler,
                              void *user)
{
    int rc = check_call(c, service);
    if (rc == 0) rc = check_symbols(symbols, n);
    if (rc != 0) return rc;
    stream_t *s = &c->st[tdc_service_asset(service)];
    td_kind_t k = tdc_service_kind(service);
    if (n == 0) td_subset_add(&s->subs, k, "*", 1);
    for (size_t i = 0; i < n; i++)
        td_subset_add(&s->subs, k, symbols[i], strlen(symbols[i]));
    c->h[service] = (handler_t){handler, handler ? user : NULL};
    sync_wants(s);
    return 0;
}

TDC_API int tickerd_client_resume_from(tickerd_client_t *c, tickerd_service_t service,
                                       const char *symbol, const char *stream_id)
{
    int rc = check_call(c, service);
    if (rc == 0 && (c->vendor != TICKERD_ALPACA || !symbol || !stream_id)) rc = TICKERD_EINVAL;
    if (rc == 0) rc = check_symbols(&symbol, 1);
    if (rc != 0) return rc;
    size_t n = strlen(symbol), il = strlen(stream_id);
    if (!td_alpaca_client_symbol_ok(symbol, n) || (n == 1 && *symbol == '*') ||
        !td_alpaca_stream_id_ok(stream_id, il))
        return TICKERD_EINVAL;
    stream_t *s = &c->st[tdc_service_asset(service)];
    td_kind_t k = tdc_upstream_kind(tdc_service_kind(service));
    td_alpaca_since_t *e = since_of(s, k, symbol, n);
    if (!e) {
        if (s->since.n == s->since.cap) {
            s->since.cap = s->since.cap ? 2 * s->since.cap : 4;
            s->since.v = td_xrealloc(s->since.v, s->since.cap * sizeof *s->since.v);
        }
        e = &s->since.v[s->since.n++];
        e->kind = k;
        memcpy(e->sym, symbol, n + 1);
    }
    memcpy(e->id, stream_id, il + 1);
    return 0;
}

TDC_API int tickerd_unsubscribe(tickerd_client_t *c, tickerd_service_t service,
                                const char *const *symbols, size_t n)
{
    int rc = check_call(c, service);
    if (rc == 0) rc = check_symbols(symbols, n);
    if (rc != 0) return rc;
    stream_t *s = &c->st[tdc_service_asset(service)];
    td_kind_t k = tdc_service_kind(service);
    td_symset_t *ss = &s->subs.k[k];
    if (n == 0) {
        td_subset_remove(&s->subs, k, "*", 1);
        while (ss->n)
            td_subset_remove(&s->subs, k, ss->v[ss->n - 1], strlen(ss->v[ss->n - 1]));
    }
    for (size_t i = 0; i < n; i++)
        td_subset_remove(&s->subs, k, symbols[i], strlen(symbols[i]));
    sync_wants(s);
    return 0;
}

TDC_API int tickerd_change_handler(tickerd_client_t *c, tickerd_service_t service,
                                   tickerd_handler_t handler, void *user)
{
    int rc = check_call(c, service);
    if (rc != 0) return rc;
    c->h[service] = (handler_t){handler, handler ? user : NULL};
    return 0;
}

TDC_API uv_loop_t *tickerd_loop(tickerd_client_t *c)
{
    return c ? c->loop : NULL;
}

TDC_API int tickerd_start(tickerd_client_t *c)
{
    if (!c) return TICKERD_EINVAL;
    if (c->closing) return TICKERD_ECLOSED;
    if (c->started) return 0;
    c->started = 1;
    uv_prepare_start(&c->prep, on_prep);
    uv_check_start(&c->check, on_check);
    return 0;
}

TDC_API int tickerd_run(tickerd_client_t *c)
{
    if (!c) return TICKERD_EINVAL;
    if (c->closed) return TICKERD_ECLOSED;
    if (!c->closing) tickerd_start(c);
    uv_run(c->loop, UV_RUN_DEFAULT);
    return 0;
}

TDC_API int tickerd_reconnect(tickerd_client_t *c)
{
    if (!c) return TICKERD_EINVAL;
    if (c->closing) return TICKERD_ECLOSED;
    c->reconnect_req = 1; /* done at the next prepare/check, outside any feed callback */
    return 0;
}

/* ------------------------------------------------------------- close ---- */

static void on_close_stopped(void *ud)
{
    ((tickerd_client_t *)ud)->pending--;
}

static void on_handle_closed(uv_handle_t *h)
{
    tickerd_client_t *c = h->data;
    if (--c->open_handles > 0) return;
    for (int a = 0; a < TD_CLASS__COUNT; a++) {
        td_feed_free(c->st[a].feed);
        c->st[a].feed = NULL;
    }
    free_retired(c, 1);
    c->closed = 1;
    if (c->on_state) c->on_state(c, NULL, TICKERD_STATE_CLOSED, NULL, c->state_user);
}

static void find_closing(uv_handle_t *h, void *arg)
{
    if (uv_is_closing(h)) *(int *)arg = 1;
}

/* Every 5 ms once closing: when the feeds are stopped and no handle of the
 * loop is still closing (theirs close in stages), close ours. */
static void on_teardown(uv_timer_t *t)
{
    tickerd_client_t *c = t->data;
    int closing = 0;
    if (c->pending > 0) return;
    uv_walk(c->loop, find_closing, &closing);
    if (closing) return;
    uv_timer_stop(t);
    c->open_handles = 3;
    uv_close((uv_handle_t *)&c->prep, on_handle_closed);
    uv_close((uv_handle_t *)&c->check, on_handle_closed);
    uv_close((uv_handle_t *)&c->teardown, on_handle_closed);
}

TDC_API void tickerd_close(tickerd_client_t *c)
{
    if (!c || c->closing) return;
    c->closing = 1;
    c->nnotes = 0;
    for (int a = 0; a < TD_CLASS__COUNT; a++) {
        if (!c->st[a].feed) continue;
        c->pending++;
        td_feed_stop(c->st[a].feed, on_close_stopped, c);
    }
    uv_prepare_stop(&c->prep);
    uv_check_stop(&c->check);
    uv_timer_start(&c->teardown, on_teardown, 0, 5);
}

/* -------------------------------------------------------- new / free ---- */

static int check_options(const tickerd_options_t *o)
{
    if (!o || (unsigned)o->vendor > TICKERD_POLYGON || !o->url) return TICKERD_EINVAL;
    if (strncmp(o->url, "ws://", 5) != 0 && strncmp(o->url, "wss://", 6) != 0)
        return TICKERD_ECONFIG;
    if (!o->key || !*o->key) return TICKERD_ECONFIG;
    if (o->vendor == TICKERD_ALPACA && (!o->secret || !*o->secret)) return TICKERD_ECONFIG;
    if (o->alpaca_feed && (strlen(o->alpaca_feed) > 32 || strchr(o->alpaca_feed, '/')))
        return TICKERD_ECONFIG;
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? td_xstrdup(s) : NULL;
}

static void copy_options(tickerd_client_t *c, const tickerd_options_t *o)
{
    c->vendor = o->vendor;
    c->base = td_xstrdup(o->url);
    size_t n = strlen(c->base);
    while (n > 0 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    c->key = td_xstrdup(o->key);
    c->secret = td_xstrdup(o->secret ? o->secret : "");
    c->ca_file = dup_or_null(o->ca_file);
    c->reconnect = o->reconnect;
    c->max_retries = o->max_retries;
    c->backoff_min = o->backoff_min_s > 0 ? o->backoff_min_s : 0.5;
    c->backoff_max = o->backoff_max_s > 0 ? o->backoff_max_s : 30;
    if (c->backoff_max < c->backoff_min) c->backoff_max = c->backoff_min;
    c->ping_interval = o->ping_interval_s > 0 ? o->ping_interval_s : 10;
    c->ping_timeout = o->ping_timeout_s > 0 ? o->ping_timeout_s : 5;
    c->on_state = o->on_state;
    c->state_user = o->state_user;
    c->dflt = (handler_t){o->on_event, o->event_user};
    for (int a = 0; a < TD_CLASS__COUNT; a++) {
        stream_t *s = &c->st[a];
        s->c = c;
        s->asset = (td_class_t)a;
        s->reported = -1;
        td_subset_init(&s->subs);
        td_subset_init(&s->pushed);
        if (tdc_stream_path(c->vendor, s->asset, o->alpaca_feed, s->path, sizeof s->path) != 0)
            s->path[0] = '\0';
        for (int k = 0; k < TD_KIND__COUNT; k++)
            c->svc_of[a][k] = tdc_service_of(c->vendor, s->asset, (td_kind_t)k);
    }
}

static void free_fields(tickerd_client_t *c)
{
    for (int a = 0; a < TD_CLASS__COUNT; a++) {
        td_subset_free(&c->st[a].subs);
        td_subset_free(&c->st[a].pushed);
        free(c->st[a].since.v);
    }
    if (c->secret) memset(c->secret, 0, strlen(c->secret));
    free(c->base);
    free(c->key);
    free(c->secret);
    free(c->ca_file);
}

TDC_API tickerd_client_t *tickerd_client_new(const tickerd_options_t *opts, int *err)
{
    int rc = check_options(opts);
    if (rc != 0) {
        if (err) *err = rc;
        return NULL;
    }
    tickerd_client_t *c = td_xcalloc(1, sizeof *c);
    td_log_set_level(opts->log_level < 0 ? 0 : opts->log_level > 3 ? 3 : opts->log_level);
    td_log_set_prefix("libtickerd");
    copy_options(c, opts);
    c->owns_loop = opts->loop == NULL;
    c->loop = c->owns_loop ? &c->own_loop : opts->loop;
    if (c->owns_loop) uv_loop_init(c->loop);
    uv_prepare_init(c->loop, &c->prep);
    uv_check_init(c->loop, &c->check);
    uv_timer_init(c->loop, &c->teardown);
    c->prep.data = c->check.data = c->teardown.data = c;
    if (err) *err = 0;
    return c;
}

TDC_API void tickerd_free(tickerd_client_t *c)
{
    if (!c) return;
    if (!c->closed) {
        tickerd_close(c);
        while (!c->closed)
            uv_run(c->loop, UV_RUN_ONCE);
    }
    free_fields(c);
    if (c->owns_loop && uv_loop_close(c->loop) != 0) {
        uv_run(c->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(c->loop) != 0) TD_WARN("libtickerd: loop closed with handles open");
    }
    free(c);
}
