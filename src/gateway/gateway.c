/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway: the listening vhost on the app's lws context, the lws
 * protocol callback (WebSocket clients and plain HTTP), events encoded once
 * per codec, and the housekeeping timer. */
#include "core/log.h"
#include "core/lws_util.h"
#include "core/mem.h"
#include "gateway/gw_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CRON_MS     100
#define FLUSH_BATCH 16 /* clients written per loop turn, see flush_cb */

typedef struct {
    gw_client_t *c;
} pss_t;

/* ---- events -------------------------------------------------------------------- */

static int conflatable(td_kind_t k)
{
    return k == TD_KIND_QUOTE || k == TD_KIND_BAR || k == TD_KIND_DAILY_BAR;
}

static void cur_reset(td_gateway_t *g)
{
    for (int i = 0; i < GW_CODECS; i++) {
        td_outmsg_unref(g->cur[i]);
        g->cur[i] = NULL;
    }
}

static td_outmsg_t *make_msg(td_gateway_t *g, const td_event_t *ev, int codec, uint64_t id)
{
    uint32_t key =
        conflatable(ev->kind) ? td_outkeys_get(&g->keys, ev->kind, ev->symbol, ev->symbol_len) : 0;
    if (codec == GW_CODEC_JSON)
        return td_outmsg_new(ev->payload, ev->payload_len, ev->kind, key, id);
    td_buf_reset(&g->scratch);
    if (td__gw_codecs[codec].element(&g->scratch, ev->payload, ev->payload_len) != 0) {
        TD_DEBUG("an event could not be encoded for %s clients", td__gw_codecs[codec].name);
        return NULL;
    }
    return td_outmsg_new(g->scratch.data, g->scratch.len, ev->kind, key, id);
}

/* A news item is published once per symbol with the same bytes: it keeps
 * its message (and id), so a client gets it once. */
static int same_news(const td_gateway_t *g, const td_event_t *ev)
{
    const td_outmsg_t *j = g->cur[GW_CODEC_JSON];
    return ev->kind == TD_KIND_NEWS && j && j->kind == TD_KIND_NEWS && j->len == ev->payload_len &&
           memcmp(j->data, ev->payload, j->len) == 0;
}

td_outmsg_t *td__gw_event_msg(td_gateway_t *g, const td_event_t *ev, int codec)
{
    uint64_t seq = td_bus_seq(g->bus);
    if (seq != g->cur_seq || !g->cur_seq) {
        if (!same_news(g, ev)) {
            cur_reset(g);
            g->next_msg_id++;
            if (ev->kind == TD_KIND_NEWS) /* kept for same_news */
                g->cur[GW_CODEC_JSON] = make_msg(g, ev, GW_CODEC_JSON, g->next_msg_id);
        }
        g->cur_seq = seq;
    }
    if (!g->cur[codec]) g->cur[codec] = make_msg(g, ev, codec, g->next_msg_id);
    return g->cur[codec];
}

td_outmsg_t *td__gw_event_msg_once(td_gateway_t *g, const td_event_t *ev, int codec)
{
    return make_msg(g, ev, codec, ++g->next_msg_id);
}

/* ---- HTTP ------------------------------------------------------------------------ */

static int http_reply(struct lws *wsi, int status, const char *ctype, const char *body, size_t n)
{
    size_t cap = LWS_PRE + 1024;
    unsigned char *hdr = td_xmalloc(cap), *start = hdr + LWS_PRE, *p = start, *end = hdr + cap;
    unsigned char *bbuf = td_xmalloc(LWS_PRE + n + 1);
    memcpy(bbuf + LWS_PRE, body, n);
    int rc = -1;
    if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, n, &p, end) == 0 &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) == 0 &&
        lws_finalize_write_http_header(wsi, start, &p, end) == 0 &&
        lws_write(wsi, bbuf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) >= 0)
        rc = lws_http_transaction_completed(wsi) ? -1 : 0;
    free(hdr);
    free(bbuf);
    return rc;
}

static const char *mime_of(const char *path)
{
    static const struct {
        const char *ext, *mime;
    } t[] = {{".html", "text/html; charset=utf-8"},
             {".js", "text/javascript; charset=utf-8"},
             {".mjs", "text/javascript; charset=utf-8"},
             {".css", "text/css; charset=utf-8"},
             {".json", "application/json"},
             {".svg", "image/svg+xml"},
             {".png", "image/png"},
             {".ico", "image/x-icon"},
             {".txt", "text/plain; charset=utf-8"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < TD_ARRAY_LEN(t); i++)
        if (strcmp(dot, t[i].ext) == 0) return t[i].mime;
    return "application/octet-stream";
}

static int not_found(struct lws *wsi)
{
    static const char body[] = "not found\n";
    return http_reply(wsi, 404, "text/plain; charset=utf-8", body, sizeof body - 1);
}

#define SMALL_FILE (1u << 20) /* bytes of a file answered from memory */

/* The file's size bytes into b; 0 or -1. */
static int read_file(const char *path, size_t size, td_buf_t *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    td_buf_reserve(b, size);
    b->len = fread(b->data, 1, size, f);
    fclose(f);
    return b->len == size ? 0 : -1;
}

/* Small files are answered like /healthz, in one write: lws's file
 * streaming (kept for big ones) left pipelined requests after the second
 * unanswered. */
static int serve_file(td_gateway_t *g, struct lws *wsi, const char *uri)
{
    char path[1024];
    struct stat sb;
    if (!g->web_root || uri[0] != '/' || strstr(uri, "..") || strchr(uri, '\\'))
        return not_found(wsi);
    int n = snprintf(path, sizeof path, "%s%s%s", g->web_root, uri,
                     uri[strlen(uri) - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof path || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return not_found(wsi);
    if ((size_t)sb.st_size <= SMALL_FILE) {
        td_buf_t b = TD_BUF_INIT;
        int rc = read_file(path, (size_t)sb.st_size, &b) == 0
                     ? http_reply(wsi, 200, mime_of(path), b.data ? b.data : "", b.len)
                     : not_found(wsi);
        td_buf_free(&b);
        return rc;
    }
    int rc = lws_serve_http_file(wsi, path, mime_of(path), NULL, 0);
    if (rc < 0) return -1;
    return rc > 0 && lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* GET /v2/stocks/snapshots?symbols=...: for a client's credentials only,
 * as the stream (Alpaca's REST headers). */
static int snapshots(td_gateway_t *g, struct lws *wsi, td_buf_t *b)
{
    static const char denied[] = "{\"message\":\"forbidden\"}\n";
    char k[TD_JWT_MAX_TOKEN + 1], sec[TD_JWT_MAX_TOKEN + 1], buf[4096];
    const char *hk, *hs, *syms;
    td_lws_alpaca_keys(wsi, k, sec, sizeof k, &hk, &hs);
    int ok = td__gw_rest_auth(g, hk, hs);
    memset(sec, 0, sizeof sec);
    if (!ok) return http_reply(wsi, 403, "application/json", denied, sizeof denied - 1);
    if (!(syms = lws_get_urlarg_by_name(wsi, "symbols=", buf, sizeof buf))) syms = "";
    int status = g->cb.snapshots(g->ud, syms, b);
    return http_reply(wsi, status, "application/json", b->data ? b->data : "", b->len);
}

static int http_request(td_gateway_t *g, struct lws *wsi, const char *uri)
{
    td_buf_t b = TD_BUF_INIT;
    int rc;
    if (strcmp(uri, "/healthz") == 0 && g->cb.health) {
        int status = g->cb.health(g->ud, &b);
        rc = http_reply(wsi, status, "application/json", b.data ? b.data : "", b.len);
    } else if (strcmp(uri, "/v2/stocks/snapshots") == 0 && g->cb.snapshots) {
        rc = snapshots(g, wsi, &b);
    } else if (strcmp(uri, "/metrics") == 0 && g->cb.metrics) {
        g->cb.metrics(g->ud, &b);
        rc = http_reply(wsi, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
                        b.len);
    } else {
        rc = serve_file(g, wsi, uri);
    }
    td_buf_free(&b);
    return rc;
}

/* ---- WebSocket --------------------------------------------------------------------- */

/* The path names the stream (proto/vendor.h), so the dialect. An unknown
 * path, or one of the other vendor's dialect (its events are
 * not on the bus), is refused before the upgrade. lws would answer with
 * HTTP/1.0, which python-websockets rejects: write HTTP/1.1 ourselves. */
static int confirm_upgrade(td_gateway_t *g, struct lws *wsi)
{
    char uri[256] = "", body[256], paths[160];
    lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    const td_vstream_t *vs = g->cfg.http_only ? NULL : td_vendor_find(uri);
    td_vendor_t d = g->cfg.dialect;
    if (vs && vs->vendor == d && !g->stopping) return td__gw_limits_upgrade(g, wsi);
    if (vs && vs->vendor != d)
        snprintf(body, sizeof body, "not found: the upstream is %s, served on %s\n",
                 td_vendor_title(d), td_vendor_paths(d, paths, sizeof paths));
    else
        snprintf(body, sizeof body, "not found\n");
    TD_INFO("refusing upgrade to '%s' (404): %.*s", uri, (int)strlen(body) - 1, body);
    return td_lws_refuse_upgrade(wsi, body);
}

static int codec_of(struct lws *wsi)
{
    char ct[128] = "";
    lws_hdr_copy(wsi, ct, sizeof ct, WSI_TOKEN_HTTP_CONTENT_TYPE);
    for (int i = 0; i < GW_CODECS; i++)
        if (td__gw_codecs[i].binary && strstr(ct, "msgpack")) return i;
    return GW_CODEC_JSON;
}

/* A token on the upgrade URL (?token=..., for browsers): auths the client
 * as if it had sent it in an auth message. */
static void url_token(gw_client_t *c, struct lws *wsi)
{
    char buf[TD_JWT_MAX_TOKEN + 16];
    const char *tok = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf); /* into buf */
    if (!tok) return;
    td_srv_sess_token(&c->sess, tok, strlen(tok));
    memset(buf, 0, sizeof buf);
}

static int established(td_gateway_t *g, struct lws *wsi, pss_t *pss)
{
    char uri[256] = "";
    lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    const td_vstream_t *vs = td_vendor_find(uri);
    if (!vs || vs->vendor != g->cfg.dialect || g->stopping) return -1;
    pss->c = td__gw_client_new(g, wsi, vs,
                               vs->codecs & TD_VCODEC_MSGPACK ? codec_of(wsi) : GW_CODEC_JSON);
    if (td__gw_limits_open(pss->c) != 0) { /* past the check at the upgrade */
        td__gw_client_free(pss->c);
        pss->c = NULL;
        return -1;
    }
    if (td_srv_header_auth(vs->vendor)) {
        char k[TD_JWT_MAX_TOKEN + 1], sec[TD_JWT_MAX_TOKEN + 1];
        const char *hk, *hs;
        td_lws_alpaca_keys(wsi, k, sec, sizeof k, &hk, &hs);
        td__gw_client_open(pss->c, hk, hs);
        memset(sec, 0, sizeof sec);
    } else {
        td__gw_client_open(pss->c, NULL, NULL);
    }
    url_token(pss->c, wsi);
    return 0;
}

/* A client's WebSocket events (core/lws_util.h). */
static void client_rx(void *c, const void *in, size_t len, int final, int binary)
{
    td__gw_client_rx(c, in, len, final, binary);
}

static int client_writeable(void *c)
{
    return td__gw_client_writeable(c);
}

static void client_closed(void *c)
{
    td__gw_client_free(c);
}

static const td_lws_conn_ops_t conn_ops = {client_rx, client_writeable, client_closed};

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    const struct lws_protocols *pr = lws_get_protocol(wsi);
    td_gateway_t *g = pr ? pr->user : NULL;
    pss_t *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return g ? confirm_upgrade(g, wsi) : 1;
    case LWS_CALLBACK_HTTP:
        return g ? http_request(g, wsi, in ? (const char *)in : "/") : -1;
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        td__gw_tls_ctx(in, user); /* the TLS listener's SSL_CTX, for reloads */
        return 0;
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return 0; /* lws completes the transaction itself (a second call answered 403) */
    case LWS_CALLBACK_ESTABLISHED:
        return g ? established(g, wsi, pss) : -1;
    default:
        break;
    }
    int rc;
    if (pss && td_lws_conn_event(&conn_ops, pss->c, wsi, (int)reason, in, len, &rc)) {
        if (reason == LWS_CALLBACK_CLOSED) pss->c = NULL;
        return rc;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

/* permessage-deflate, offered to the clients that ask for it (cfg.deflate). */
static const struct lws_extension deflate_ext[] = {
    {"permessage-deflate", lws_extension_callback_pm_deflate,
     "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
    {NULL, NULL, NULL},
};

const struct lws_extension *td__gw_extensions(const td_gateway_t *g)
{
    return g->cfg.deflate && !g->cfg.http_only ? deflate_ext : NULL;
}

static void spin_cb(uv_idle_t *h)
{
    (void)h; /* only there so that the next poll does not block */
}

/* Writes the first FLUSH_BATCH dirty clients. If more are left, the loop
 * polls without blocking (an active idle handle) and this goes on after
 * it: the upstream is read between batches, so an event waits for the
 * writer to come round to its client (a cycle), not for the end of a
 * flush of every client and then its client's turn in the next one. */
static void flush_cb(uv_check_t *h)
{
    td_gateway_t *g = h->data;
    gw_client_t *c;
    for (int i = 0; i < FLUSH_BATCH && (c = g->dirty); i++) {
        td__gw_unmark_dirty(g, c);
        td__gw_client_flush(c);
    }
    if (g->dirty) {
        uv_idle_start(&g->spin, spin_cb);
        return;
    }
    uv_idle_stop(&g->spin);
    uv_check_stop(h);
}

void td__gw_mark_dirty(td_gateway_t *g, gw_client_t *c)
{
    c->dirty = 1;
    c->dirty_next = NULL;
    c->dirty_pprev = g->dirty_tail;
    *g->dirty_tail = c; /* in order: who got data first is written first */
    g->dirty_tail = &c->dirty_next;
    if (g->flush_open && !g->stopping) uv_check_start(&g->flush, flush_cb);
}

void td__gw_unmark_dirty(td_gateway_t *g, gw_client_t *c)
{
    *c->dirty_pprev = c->dirty_next;
    if (c->dirty_next)
        c->dirty_next->dirty_pprev = c->dirty_pprev;
    else
        g->dirty_tail = c->dirty_pprev;
    c->dirty = 0;
}

void td_gateway_notice(td_gateway_t *g, const char *json, size_t n)
{
    static const char head[] = "{\"type\":\"gap\",";
    if (n < sizeof head || memcmp(json, head, sizeof head - 1) != 0) return;
    const char *rest = json + sizeof head - 1;
    size_t rn = n - (sizeof head - 1);
    td_buf_t b[TD_VENDOR__COUNT]; /* the notice in each dialect */
    for (int v = 0; v < TD_VENDOR__COUNT; v++) {
        b[v] = (td_buf_t)TD_BUF_INIT;
        td_srv_gap_frame((td_vendor_t)v, &b[v], rest, rn);
    }
    for (gw_client_t *c = g->clients; c; c = c->next)
        if (c->gaps && c->sess.authed && !c->closing && !c->dead)
            td__gw_client_send_ctl(c, b[c->vs->vendor].data, b[c->vs->vendor].len);
    for (int v = 0; v < TD_VENDOR__COUNT; v++)
        td_buf_free(&b[v]);
}

static void cron_cb(uv_timer_t *t)
{
    td_gateway_t *g = t->data;
    uint64_t now = uv_now(g->loop);
    for (gw_client_t *c = g->clients; c; c = c->next)
        td__gw_client_cron(c, now);
    td__gw_hist_kick(g); /* clients that drained their queue read on */
}

int td__gw_parse_addr(const char *flag, const char *s, char *host, size_t cap, int *port, char *err,
                      size_t errlen)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    char *end;
    long p = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == s || (size_t)(colon - s) >= cap || *end || p < 0 || p > 65535) {
        snprintf(err, errlen, "bad --%s '%s': expected IPV4:PORT, e.g. 127.0.0.1:8080", flag,
                 s ? s : "");
        return -1;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)p;
    return 0;
}

int td_gateway_check_addr(const char *flag, const char *addr, char *err, size_t errlen)
{
    char host[64]; /* as the gateway's */
    int port;
    return td__gw_parse_addr(flag, addr, host, sizeof host, &port, err, errlen);
}

static int parse_listen(td_gateway_t *g, const char *s, char *err, size_t errlen)
{
    return td__gw_parse_addr("listen", s, g->host, sizeof g->host, &g->port, err, errlen);
}

td_gateway_t *td_gateway_new(uv_loop_t *loop, struct lws_context *ctx, td_bus_t *bus,
                             const td_gateway_cfg_t *cfg, const td_gateway_cb_t *cb, void *ud,
                             char *err, size_t errlen)
{
    td_gateway_t *g = td_xcalloc(1, sizeof *g);
    if (parse_listen(g, cfg->listen, err, errlen) != 0 ||
        td__gw_tls_new(g, cfg, err, errlen) != 0) {
        td__gw_tls_free(g);
        free(g);
        return NULL;
    }
    g->loop = loop;
    g->ctx = ctx;
    g->bus = bus;
    g->dirty_tail = &g->dirty;
    g->log_rl = (td_ratelimit_t)TD_RATELIMIT_INIT(GW_LOG_MS, GW_LOG_GLOBAL_BURST);
    g->cfg = *cfg;
    g->cfg.listen = NULL;
    g->cfg.web_root = NULL;
    if (!g->cfg.write_cap) g->cfg.write_cap = 65536;
    if (!g->cfg.max_message) g->cfg.max_message = 65536;
    g->web_root = cfg->web_root ? td_xstrdup(cfg->web_root) : NULL;
    if (cb) g->cb = *cb;
    g->ud = ud;
    /* lws allocates rx_buffer_size per connection: client messages are small
     * and reassembled from fragments (up to max_message), so 1 KiB does; a
     * 64 KiB one cost ~3 KiB of RSS per client (the pages it touches). Sends
     * are limited to tx_packet_size (rx_buffer_size if 0): room for a whole
     * frame of write_cap bytes. */
    g->protocols[0] = (struct lws_protocols){.name = "alpaca",
                                             .callback = callback,
                                             .per_session_data_size = sizeof(pss_t),
                                             .rx_buffer_size = 1024,
                                             .user = g,
                                             .tx_packet_size = g->cfg.write_cap + 1024};
    uv_timer_init(loop, &g->cron);
    uv_check_init(loop, &g->flush);
    uv_idle_init(loop, &g->spin);
    g->cron.data = g->flush.data = g->spin.data = g;
    g->cron_open = g->flush_open = g->spin_open = 1;
    return g;
}

int td_gateway_start(td_gateway_t *g)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = g->cfg.http_only ? "metrics" : "gateway";
    info.port = g->port;
    info.iface = g->host;
    info.protocols = g->protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.extensions = td__gw_extensions(g);
    g->vh = lws_create_vhost(g->ctx, &info);
    if (!g->vh) {
        TD_ERR("gateway: cannot listen on %s:%d", g->host, g->port);
        return -1;
    }
    g->port = lws_get_vhost_listen_port(g->vh);
    if (td__gw_tls_start(g) != 0) return -1;
    if (g->cfg.http_only) {
        TD_INFO("metrics: listening on http://%s:%d (/metrics, /healthz)", g->host, g->port);
        return 0;
    }
    uv_timer_start(&g->cron, cron_cb, CRON_MS, CRON_MS);
    char err[512];
    if (td__gw_hist_start(g, err, sizeof err) != 0) {
        TD_ERR("gateway: history reader: %s", err);
        return -1;
    }
    char paths[160];
    td_vendor_t d = g->cfg.dialect;
    TD_INFO("gateway: listening on ws://%s:%d (%s dialect: %s; %zu client key%s)%s%s", g->host,
            g->port, td_vendor_title(d), td_vendor_paths(d, paths, sizeof paths), g->cfg.nkeys,
            g->cfg.nkeys == 1 ? "" : "s", g->web_root ? "; web root " : "",
            g->web_root ? g->web_root : "");
    if (!g->cfg.nkeys) TD_WARN("gateway: no client keys: add --client KEY:SECRET or [clients]");
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    td_gateway_t *g = h->data;
    if (h == (uv_handle_t *)&g->cron)
        g->cron_open = 0;
    else if (h == (uv_handle_t *)&g->flush)
        g->flush_open = 0;
    else
        g->spin_open = 0;
    if (!g->cron_open && !g->flush_open && !g->spin_open && !g->hist_open && g->done)
        g->done(g->done_ud);
}

static void hist_closed(void *ud)
{
    td_gateway_t *g = ud;
    g->hist_open = 0;
    if (!g->cron_open && !g->flush_open && !g->spin_open && g->done) g->done(g->done_ud);
}

void td_gateway_stop(td_gateway_t *g, void (*done)(void *ud), void *ud)
{
    if (g->stopping) return;
    g->stopping = 1;
    g->done = done;
    g->done_ud = ud;
    for (gw_client_t *c = g->clients; c; c = c->next) {
        c->dead = 1;
        c->want_write = 1;
        lws_callback_on_writable(c->wsi);
    }
    cur_reset(g);
    if (g->hist) {
        g->hist_open = 1;
        td__gw_hist_close(g, hist_closed, g);
    }
    uv_close((uv_handle_t *)&g->cron, on_handle_closed);
    uv_close((uv_handle_t *)&g->flush, on_handle_closed);
    uv_close((uv_handle_t *)&g->spin, on_handle_closed);
}

void td_gateway_free(td_gateway_t *g)
{
    if (!g) return;
    while (g->clients) /* only if lws never reported the close */
        td__gw_client_free(g->clients);
    cur_reset(g);
    td_outkeys_free(&g->keys);
    td_buf_free(&g->scratch);
    td_buf_free(&g->frame);
    td__gw_limits_free(g);
    td__gw_tls_free(g);
    td__gw_hist_free(g);
    free(g->web_root);
    free(g);
}

const uint64_t td_gateway_queue_bounds[TD_GW_QUEUE_BUCKETS] = {
    0, 4096, 65536, 262144, 1048576, 4194304, 16777216,
};

void td_gateway_stats(const td_gateway_t *g, td_gateway_stats_t *out)
{
    *out = g->st;
    out->queued_bytes = 0;
    memset(out->queue_le, 0, sizeof out->queue_le);
    for (const gw_client_t *c = g->clients; c; c = c->next) {
        out->queued_bytes += c->q.bytes;
        for (int i = 0; i < TD_GW_QUEUE_BUCKETS; i++)
            if (c->q.bytes <= td_gateway_queue_bounds[i]) out->queue_le[i]++;
        out->queue_le[TD_GW_QUEUE_BUCKETS]++;
    }
}

void td_gateway_set_jwt(td_gateway_t *g, const struct td_jwt_key_s *jwt)
{
    g->cfg.jwt = jwt;
}

int td_gateway_port(const td_gateway_t *g)
{
    return g->port;
}

int td_gateway_tls_port(const td_gateway_t *g)
{
    return g->tls_port;
}
