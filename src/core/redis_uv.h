/* hiredis on libuv: our own implementation of hiredis's event hooks, and
 * the redis:// URL syntax, shared by the Redis sink and the Redis source. */
#ifndef TD_CORE_REDIS_UV_H
#define TD_CORE_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/* Attaches ac to loop (a uv_poll_t on its fd). Returns 0 or -1. */
int td_redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

typedef struct td_redis_addr_s {
    char *host; /* owned */
    int port;
    int db; /* -1: none given */
} td_redis_addr_t;

/* Parses redis://HOST[:PORT][/DB] or HOST:PORT. Returns 0, or -1 with a
 * one-line reason in err. */
int td_redis_addr_parse(td_redis_addr_t *a, const char *url, char *err, size_t errlen);
void td_redis_addr_free(td_redis_addr_t *a);

#endif
