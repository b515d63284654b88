/* SPDX-License-Identifier: Apache-2.0 */
/* One connection to one sentinel at a time (the next one in the URL's list
 * when it cannot be reached): on each handshake it asks for the master's
 * address and then SUBSCRIBEs to +switch-master, so the replies arrive as
 * (1) the address, (2) the subscription, (3...) switch messages. If the
 * master connection stays down (a switch message missed while the sentinel
 * connection was away, or a master that is now a replica), the sentinel
 * connection is dropped, which asks again when it is back. */
#include "redis/sentinel.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_MS      500u
#define REASK_MS      2000u /* master down this long: ask the sentinels again */
#define SENTINEL_WAIT 3000u /* sentinel not ready this long: try the next one */

struct td_rsentinel_s {
    uv_loop_t *loop;
    td_rconn_t *master; /* borrowed */
    td_rconn_t *sc;     /* the sentinel connection (owned) */
    td_redis_node_t nodes[TD_REDIS_URL_MAX_NODES];
    size_t nnodes, cur;
    char *name, *label;
    uv_timer_t check;
    uint64_t master_down_since, sentinel_down_since, asked_ms;
    uint32_t replies; /* on the current sentinel connection */
    int started, open_handles, known;
    int unknown_logged, unreachable_logged; /* one line per episode, not per retry */
    uint64_t switches;
    void (*done)(void *ud);
    void *done_ud;
};

static void point_master(td_rsentinel_t *s, const char *host, size_t hl, const char *port,
                         size_t pl, const char *how)
{
    char h[256], p[16];
    if (hl == 0 || hl >= sizeof h || pl == 0 || pl >= sizeof p) return;
    memcpy(h, host, hl);
    h[hl] = '\0';
    memcpy(p, port, pl);
    p[pl] = '\0';
    int port_n = atoi(p);
    if (port_n <= 0 || port_n > 65535) return;
    const char *was = td_rconn_addr(s->master);
    char now[300];
    snprintf(now, sizeof now, strchr(h, ':') ? "[%s]:%d" : "%s:%d", h, port_n);
    if (s->known && strcmp(was, now) != 0) {
        s->switches++;
        TD_WARN("redis %s: master %s moved from %s to %s (%s)", s->label, s->name, was, now, how);
    } else if (!s->known) {
        TD_INFO("redis %s: master %s is at %s", s->label, s->name, now);
    }
    s->known = 1;
    td_rconn_set_node(s->master, h, port_n);
    td_rconn_start(s->master);
}

static void on_sentinel_ready(void *ud, td_rconn_t *c)
{
    td_rsentinel_t *s = ud;
    const char *ask[] = {"SENTINEL", "get-master-addr-by-name", s->name};
    size_t al[] = {8, 23, strlen(s->name)};
    const char *sub[] = {"SUBSCRIBE", "+switch-master"};
    size_t sl[] = {9, 14};
    s->replies = 0;
    s->asked_ms = uv_now(s->loop);
    td_resp_append_cmd(td_rconn_out(c), 3, ask, al);
    td_resp_append_cmd(td_rconn_out(c), 2, sub, sl);
    td_rconn_send(c, 2);
}

/* "+switch-master" payload: "<name> <old-ip> <old-port> <new-ip> <new-port>". */
static void on_switch(td_rsentinel_t *s, const td_resp_node_t *msg)
{
    const char *f[5], *p = msg->s, *end = msg->s + msg->len;
    size_t fl[5], n = 0;
    while (p < end && n < 5) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *e = sp ? sp : end;
        f[n] = p;
        fl[n++] = (size_t)(e - p);
        p = sp ? sp + 1 : end;
    }
    if (n != 5 || fl[0] != strlen(s->name) || memcmp(f[0], s->name, fl[0]) != 0) return;
    point_master(s, f[3], fl[3], f[4], fl[4], "+switch-master");
}

static void on_sentinel_reply(void *ud, td_rconn_t *c, const td_resp_reader_t *rd)
{
    td_rsentinel_t *s = ud;
    const td_resp_node_t *r = &rd->v[0];
    if (s->replies++ == 0) { /* the address */
        const td_resp_node_t *h = td_resp_elem(rd, 0, 0), *p = td_resp_elem(rd, 0, 1);
        if (h && p && h->type == TD_RESP_BULK && p->type == TD_RESP_BULK) {
            s->unknown_logged = 0;
            point_master(s, h->s, h->len, p->s, p->len, "sentinel answer");
            return;
        }
        if (s->unknown_logged++) return;
        TD_WARN("redis %s: sentinel %s does not know master %s%s%.*s", s->label, td_rconn_addr(c),
                s->name, r->type == TD_RESP_ERROR ? ": " : "",
                r->type == TD_RESP_ERROR ? (int)r->len : 0, r->type == TD_RESP_ERROR ? r->s : "");
        return;
    }
    const td_resp_node_t *kind = td_resp_elem(rd, 0, 0), *ch = td_resp_elem(rd, 0, 1),
                         *msg = td_resp_elem(rd, 0, 2);
    if (td_resp_is(kind, "message") && td_resp_is(ch, "+switch-master") && msg &&
        msg->type == TD_RESP_BULK)
        on_switch(s, msg);
}

static void next_sentinel(td_rsentinel_t *s)
{
    s->cur = (s->cur + 1) % s->nnodes;
    td_rconn_set_node(s->sc, s->nodes[s->cur].host, s->nodes[s->cur].port);
}

static void on_check(uv_timer_t *t)
{
    td_rsentinel_t *s = t->data;
    uint64_t now = uv_now(s->loop);
    int mready = td_rconn_state(s->master) == TD_RCONN_READY;
    int sready = td_rconn_state(s->sc) == TD_RCONN_READY;
    if (mready) s->master_down_since = 0;
    if (sready) s->sentinel_down_since = s->unreachable_logged = 0;
    if (!mready && !s->master_down_since) s->master_down_since = now;
    if (!sready && !s->sentinel_down_since) s->sentinel_down_since = now;
    if (!sready && now - s->sentinel_down_since >= SENTINEL_WAIT) {
        if (!s->unreachable_logged++)
            TD_WARN("redis %s: no sentinel answers (%s: %s); trying them in turn", s->label,
                    td_rconn_addr(s->sc), td_rconn_last_error(s->sc));
        s->sentinel_down_since = now;
        if (s->nnodes > 1) next_sentinel(s);
    } else if (sready && !mready && now - s->master_down_since >= REASK_MS &&
               now - s->asked_ms >= REASK_MS) {
        td_rconn_drop(s->sc, NULL); /* reconnects and asks again */
    }
}

td_rsentinel_t *td_rsentinel_new(uv_loop_t *loop, const td_redis_url_t *url, td_rconn_t *master)
{
    static const td_rconn_cb_t cb = {on_sentinel_ready, on_sentinel_reply, NULL};
    char err[256];
    td_rsentinel_t *s = td_xcalloc(1, sizeof *s);
    s->loop = loop;
    s->master = master;
    s->name = td_xstrdup(url->master ? url->master : "");
    s->label = td_xstrdup(url->masked);
    s->nnodes = url->nnodes;
    for (size_t i = 0; i < url->nnodes; i++) {
        s->nodes[i].host = td_xstrdup(url->nodes[i].host);
        s->nodes[i].port = url->nodes[i].port;
    }
    td_rconn_cfg_t cc = {.url = url,
                         .name = "redis sentinel",
                         .no_auth = 1,
                         .no_db = 1,
                         .quiet = 1, /* this module logs what matters */
                         .backoff_min_s = 0.1,
                         .backoff_max_s = 1};
    s->sc = td_rconn_new(loop, &cc, &cb, s, err, sizeof err); /* plain TCP: cannot fail */
    uv_timer_init(loop, &s->check);
    s->check.data = s;
    s->open_handles = 2; /* the timer, the sentinel connection */
    return s;
}

void td_rsentinel_start(td_rsentinel_t *s)
{
    if (s->started++) return;
    td_rconn_start(s->sc);
    uv_timer_start(&s->check, on_check, CHECK_MS, CHECK_MS);
}

uint64_t td_rsentinel_switches(const td_rsentinel_t *s)
{
    return s->switches;
}

static void closed(void *ud)
{
    td_rsentinel_t *s = ud;
    if (--s->open_handles == 0 && s->done) s->done(s->done_ud);
}

static void timer_closed(uv_handle_t *h)
{
    closed(h->data);
}

void td_rsentinel_close(td_rsentinel_t *s, void (*done)(void *ud), void *ud)
{
    s->done = done;
    s->done_ud = ud;
    td_rconn_close(s->sc, closed, s);
    uv_close((uv_handle_t *)&s->check, timer_closed);
}

void td_rsentinel_free(td_rsentinel_t *s)
{
    if (!s) return;
    td_rconn_free(s->sc);
    for (size_t i = 0; i < s->nnodes; i++)
        free(s->nodes[i].host);
    free(s->name);
    free(s->label);
    free(s);
}
