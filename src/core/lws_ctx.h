/* SPDX-License-Identifier: Apache-2.0 */
/* The one place that creates a libwebsockets context on a libuv loop for
 * tickerd run (the gateway's listeners), and the two-step
 * destruction lws needs on a loop it does not own. */
#ifndef TD_CORE_LWS_CTX_H
#define TD_CORE_LWS_CTX_H

#include <libwebsockets.h>
#include <stddef.h>
#include <uv.h>

typedef struct td_lws_ctx_cfg_s {
    uv_loop_t *loop;                       /* borrowed; lws runs on it as a foreign loop */
    const struct lws_protocols *protocols; /* borrowed, kept by lws: must outlive the context;
                                              ends with a zeroed entry */
    const char *ca_file;           /* PEM CAs replacing the system's for wss:// (NULL: system) */
    unsigned fd_limit;             /* fd_limit_per_thread (0: lws's default) */
    size_t pt_serv_buf_size;       /* bytes read per POLLIN (0: lws's default, 4 KiB) */
    void *user;                    /* lws_context_user() */
    struct lws_context **pcontext; /* lws sets it to NULL once the context is gone; may be NULL */
} td_lws_ctx_cfg_t;

/* No listening socket, libuv foreign loop, SSL global init, no IPv6, 10 s
 * timeouts; lws logs routed into tickerd's log. Returns NULL on failure. */
struct lws_context *td_lws_context_new(const td_lws_ctx_cfg_t *cfg);

/* Destroys *pctx (made with pcontext = pctx) from outside the loop: on a
 * foreign loop lws finishes only when called again after the loop has run
 * the close callbacks of its handles, so this runs `loop` between the two
 * calls (never call it from a callback of that loop). Returns 0, or -1 if
 * lws still holds the context. */
int td_lws_context_destroy_blocking(struct lws_context **pctx, uv_loop_t *loop);

#endif
