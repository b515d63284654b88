#include "core/redis_uv.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hiredis <-> libuv adapter ------------------------------------------ */
/* Our own implementation of hiredis's event hooks (redisAsyncContext.ev) on
 * a uv_poll_t. We do not use hiredis 0.14's adapters/libuv.h because it drops
 * poll errors: a peer reset gives POLLERR, libuv stops the handle, and the
 * stock adapter returns without telling hiredis, so a Redis that went away
 * was never noticed. Here an error is handed to hiredis as readability, so
 * its read fails and it runs the disconnect path (as hiredis >= 1.0 does). */

typedef struct uvev_s {
    redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
    uv_poll_t handle;
    int events;
} uvev_t;

static void uvev_poll_cb(uv_poll_t *h, int status, int events)
{
    uvev_t *p = h->data;
    if (status != 0) events = UV_READABLE;
    if (p->ac && (events & UV_READABLE)) redisAsyncHandleRead(p->ac);
    if (p->ac && (events & UV_WRITABLE)) redisAsyncHandleWrite(p->ac);
}

static void uvev_update(uvev_t *p)
{
    if (p->events)
        uv_poll_start(&p->handle, p->events, uvev_poll_cb);
    else
        uv_poll_stop(&p->handle);
}

static void uvev_add_read(void *d)
{
    uvev_t *p = d;
    p->events |= UV_READABLE;
    uvev_update(p);
}

static void uvev_del_read(void *d)
{
    uvev_t *p = d;
    p->events &= ~UV_READABLE;
    uvev_update(p);
}

static void uvev_add_write(void *d)
{
    uvev_t *p = d;
    p->events |= UV_WRITABLE;
    uvev_update(p);
}

static void uvev_del_write(void *d)
{
    uvev_t *p = d;
    p->events &= ~UV_WRITABLE;
    uvev_update(p);
}

static void uvev_close_cb(uv_handle_t *h)
{
    free(h->data);
}

static void uvev_cleanup(void *d)
{
    uvev_t *p = d;
    p->ac = NULL;
    uv_close((uv_handle_t *)&p->handle, uvev_close_cb);
}

int td_redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    uvev_t *p = td_xcalloc(1, sizeof *p);
    if (uv_poll_init(loop, &p->handle, ac->c.fd) != 0) {
        free(p);
        return -1;
    }
    p->ac = ac;
    p->handle.data = p;
    ac->ev.data = p;
    ac->ev.addRead = uvev_add_read;
    ac->ev.delRead = uvev_del_read;
    ac->ev.addWrite = uvev_add_write;
    ac->ev.delWrite = uvev_del_write;
    ac->ev.cleanup = uvev_cleanup;
    return 0;
}

/* ---- URL ---------------------------------------------------------------- */

static int parse_uint(const char *s, size_t n, long max, long *out)
{
    long v = 0;
    if (n == 0 || n > 9) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

static const char *host_part(td_redis_addr_t *a, const char *p, const char *end)
{
    const char *hend, *colon;
    if (*p == '[') { /* [v6addr]:port */
        hend = memchr(p, ']', (size_t)(end - p));
        if (!hend) return NULL;
        a->host = td_xstrndup(p + 1, (size_t)(hend - p - 1));
        colon = hend + 1 < end && hend[1] == ':' ? hend + 1 : NULL;
        if (hend + 1 != end && !colon) return NULL;
        return colon ? colon : end;
    }
    colon = memchr(p, ':', (size_t)(end - p));
    hend = colon ? colon : end;
    a->host = td_xstrndup(p, (size_t)(hend - p));
    return hend;
}

int td_redis_addr_parse(td_redis_addr_t *a, const char *url, char *err, size_t errlen)
{
    const char *p = url, *sep = strstr(url, "://");
    memset(a, 0, sizeof *a);
    if (sep) {
        if ((size_t)(sep - url) != 5 || strncmp(url, "redis", 5) != 0) {
            snprintf(err, errlen,
                     "unsupported Redis URL '%s': only redis://HOST:PORT[/DB] (no TLS, no unix "
                     "sockets)",
                     url);
            return -1;
        }
        p = sep + 3;
    }
    if (strchr(p, '@')) {
        snprintf(err, errlen, "Redis URL '%s': credentials are not supported", url);
        return -1;
    }
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *after = host_part(a, p, end);
    long port = 6379, db = -1;
    if (!after || !a->host || a->host[0] == '\0') goto bad;
    if (*after == ':') {
        if (parse_uint(after + 1, (size_t)(end - after - 1), 65535, &port) || port == 0) goto bad;
    } else if (!sep) {
        goto bad; /* bare HOST:PORT needs the port */
    }
    if (slash && slash[1] && parse_uint(slash + 1, strlen(slash + 1), 1000000, &db)) goto bad;
    a->port = (int)port;
    a->db = (int)db;
    return 0;
bad:
    td_redis_addr_free(a);
    snprintf(err, errlen, "invalid Redis URL '%s' (want redis://HOST:PORT[/DB])", url);
    return -1;
}

void td_redis_addr_free(td_redis_addr_t *a)
{
    free(a->host);
    a->host = NULL;
}
