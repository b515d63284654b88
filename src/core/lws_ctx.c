/* SPDX-License-Identifier: Apache-2.0 */
#include "core/lws_ctx.h"
#include "core/lws_log.h"

#include <string.h>

struct lws_context *td_lws_context_new(const td_lws_ctx_cfg_t *cfg)
{
    struct lws_context_creation_info info;
    void *loops[] = {cfg->loop};
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = cfg->protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                   LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    if (cfg->fd_limit) info.fd_limit_per_thread = cfg->fd_limit;
    if (cfg->pt_serv_buf_size) info.pt_serv_buf_size = cfg->pt_serv_buf_size;
    info.client_ssl_ca_filepath = cfg->ca_file;
    /* a CA file replaces the system's CAs (lws would otherwise add both) */
    if (cfg->ca_file) info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    info.timeout_secs = 10;
    info.user = cfg->user;
    info.pcontext = cfg->pcontext;
    td_lws_log_init(0);
    return lws_create_context(&info);
}

int td_lws_context_destroy_blocking(struct lws_context **pctx, uv_loop_t *loop)
{
    if (*pctx) lws_context_destroy(*pctx);
    uv_run(loop, UV_RUN_DEFAULT);
    if (*pctx) lws_context_destroy(*pctx);
    uv_run(loop, UV_RUN_DEFAULT);
    return *pctx ? -1 : 0;
}
