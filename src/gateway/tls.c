/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's TLS listener: a second lws vhost on the same context and
 * protocol (so the same paths, dialect and clients), TLS 1.2 or later. Its
 * certificate and key are reloaded in place: lws hands the vhost's SSL_CTX
 * to the protocol callback when it makes it; a reload first loads the new
 * pair into a scratch SSL_CTX (and checks they match), then into that one.
 * OpenSSL copies the certificate into each connection at its handshake, so
 * connected clients keep theirs and new handshakes get the new one. */
#include "core/log.h"
#include "core/mem.h"
#include "gateway/gw_int.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int td__gw_tls_new(td_gateway_t *g, const td_gateway_cfg_t *cfg, char *err, size_t errlen)
{
    g->cfg.listen_tls = g->cfg.tls_cert = g->cfg.tls_key = NULL;
    if (!cfg->listen_tls) return 0;
    if (!cfg->tls_cert || !cfg->tls_key) {
        snprintf(err, errlen, "--listen-tls needs --tls-cert and --tls-key");
        return -1;
    }
    if (td__gw_parse_addr("listen-tls", cfg->listen_tls, g->tls_host, sizeof g->tls_host,
                          &g->tls_port, err, errlen) != 0)
        return -1;
    g->tls_cert = td_xstrdup(cfg->tls_cert);
    g->tls_key = td_xstrdup(cfg->tls_key);
    return 0;
}

int td__gw_tls_start(td_gateway_t *g)
{
    if (!g->tls_cert) return 0;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = "gateway-tls";
    info.port = g->tls_port;
    info.iface = g->tls_host;
    info.protocols = g->protocols;
    info.user = g;
    /* lws makes a vhost's SSL_CTX only with DO_SSL_GLOBAL_INIT in its options */
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6 |
                   LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.extensions = td__gw_extensions(g);
    info.ssl_cert_filepath = g->tls_cert;
    info.ssl_private_key_filepath = g->tls_key;
    info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
    /* HTTP/1.1 only: lws would offer h2 to browsers, and its h2 path does not
     * carry the gateway's static files (Chromium: ERR_HTTP2_FRAME_SIZE_ERROR);
     * WebSockets over h2 (RFC 8441) gain nothing here. */
    info.alpn = "http/1.1";
    g->tls_vh = lws_create_vhost(g->ctx, &info);
    if (!g->tls_vh) {
        TD_ERR("gateway: cannot listen with TLS on %s:%d (check --tls-cert '%s' and --tls-key "
               "'%s': PEM, matching)",
               g->tls_host, g->tls_port, g->tls_cert, g->tls_key);
        return -1;
    }
    g->tls_port = lws_get_vhost_listen_port(g->tls_vh);
    TD_INFO("gateway: listening on wss://%s:%d", g->tls_host, g->tls_port);
    return 0;
}

void td__gw_tls_ctx(void *vh, void *ssl_ctx)
{
    td_gateway_t *g = vh ? lws_get_vhost_user(vh) : NULL;
    if (g && g->tls_cert) g->tls_ctx = ssl_ctx;
}

/* Loads the pair into ctx; 0 or -1 with OpenSSL's reason in err. */
static int load_pair(SSL_CTX *ctx, const char *cert, const char *key, char *err, size_t errlen)
{
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 &&
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 &&
        SSL_CTX_check_private_key(ctx) == 1)
        return 0;
    char why[160];
    ERR_error_string_n(ERR_peek_last_error(), why, sizeof why);
    snprintf(err, errlen, "certificate '%s' / key '%s': %s", cert, key, why);
    ERR_clear_error();
    return -1;
}

int td_gateway_check_tls(const char *cert, const char *key, char *err, size_t errlen)
{
    SSL_CTX *scratch = SSL_CTX_new(TLS_server_method());
    int rc = scratch ? load_pair(scratch, cert, key, err, errlen) : -1;
    if (!scratch) snprintf(err, errlen, "cannot create a TLS context");
    SSL_CTX_free(scratch);
    return rc;
}

int td_gateway_reload_tls(td_gateway_t *g, char *err, size_t errlen)
{
    if (!g->tls_ctx) {
        snprintf(err, errlen, "no TLS listener");
        return -1;
    }
    SSL_CTX *scratch = SSL_CTX_new(TLS_server_method());
    int rc = scratch ? load_pair(scratch, g->tls_cert, g->tls_key, err, errlen) : -1;
    SSL_CTX_free(scratch);
    if (rc == 0) rc = load_pair(g->tls_ctx, g->tls_cert, g->tls_key, err, errlen);
    if (rc == 0) TD_INFO("gateway: TLS certificate reloaded from '%s'", g->tls_cert);
    return rc;
}

void td__gw_tls_free(td_gateway_t *g)
{
    free(g->tls_cert);
    free(g->tls_key);
    g->tls_cert = g->tls_key = NULL;
}
