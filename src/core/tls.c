/* SPDX-License-Identifier: Apache-2.0 */
#include "core/tls.h"
#include "core/mem.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct td_rtls_ctx_s {
    SSL_CTX *ctx;
};

struct td_rtls_s {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
};

/* The first queued OpenSSL error as text (or `fallback`), queue cleared. */
static void ssl_reason(char *err, size_t errlen, const char *what, const char *fallback)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    else
        snprintf(buf, sizeof buf, "%s", fallback);
    ERR_clear_error();
    snprintf(err, errlen, "%s: %s", what, buf);
}

td_rtls_ctx_t *td_rtls_ctx_new(const char *ca_file, const char *cert, const char *key, char *err,
                               size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        ssl_reason(err, errlen, "TLS", "cannot create a context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
    if (!ok) {
        char what[300];
        snprintf(what, sizeof what, "CA file '%s'", ca_file ? ca_file : "");
        ssl_reason(err, errlen, ca_file ? what : "system CAs", "cannot load");
        goto fail;
    }
    if ((cert != NULL) != (key != NULL)) {
        snprintf(err, errlen, "--redis-cert and --redis-key go together");
        goto fail;
    }
    if (cert && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
                 SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
                 SSL_CTX_check_private_key(ctx) != 1)) {
        ssl_reason(err, errlen, "--redis-cert/--redis-key", "cannot load");
        goto fail;
    }
    td_rtls_ctx_t *x = td_xcalloc(1, sizeof *x);
    x->ctx = ctx;
    return x;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void td_rtls_ctx_free(td_rtls_ctx_t *x)
{
    if (!x) return;
    SSL_CTX_free(x->ctx);
    free(x);
}

td_rtls_t *td_rtls_new(td_rtls_ctx_t *x, const char *host)
{
    td_rtls_t *t = td_xcalloc(1, sizeof *t);
    unsigned char addr[16];
    t->ssl = SSL_new(x->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) abort(); /* out of memory */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_connect_state(t->ssl);
    if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host);
    } else {
        SSL_set1_host(t->ssl, host);
        SSL_set_tlsext_host_name(t->ssl, host);
    }
    return t;
}

void td_rtls_free(td_rtls_t *t)
{
    if (!t) return;
    SSL_free(t->ssl);
    free(t);
}

void td_rtls_feed(td_rtls_t *t, const char *p, size_t n)
{
    BIO_write(t->rbio, p, (int)n);
}

static void drain(td_rtls_t *t, td_buf_t *wire)
{
    size_t pending;
    while ((pending = BIO_ctrl_pending(t->wbio)) > 0) {
        td_buf_reserve(wire, pending);
        int n = BIO_read(t->wbio, wire->data + wire->len, (int)pending);
        if (n <= 0) break;
        wire->len += (size_t)n;
    }
}

int td_rtls_handshake(td_rtls_t *t, td_buf_t *wire, char *err, size_t errlen)
{
    int rc = SSL_do_handshake(t->ssl);
    drain(t, wire);
    if (rc == 1) return 1;
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) return 0;
    long v = SSL_get_verify_result(t->ssl);
    if (v != X509_V_OK) {
        ERR_clear_error();
        snprintf(err, errlen, "TLS: server certificate refused: %s",
                 X509_verify_cert_error_string(v));
    } else {
        ssl_reason(err, errlen, "TLS handshake failed", "the server did not speak TLS");
    }
    return -1;
}

const char *td_rtls_verify_error(const td_rtls_t *t)
{
    long v = SSL_get_verify_result(t->ssl);
    return v == X509_V_OK ? NULL : X509_verify_cert_error_string(v);
}

int td_rtls_read(td_rtls_t *t, td_buf_t *plain, char *err, size_t errlen)
{
    for (;;) {
        td_buf_reserve(plain, 16384);
        int n = SSL_read(t->ssl, plain->data + plain->len, (int)(plain->cap - plain->len - 1));
        if (n > 0) {
            plain->len += (size_t)n;
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_WANT_READ) return 0;
        if (e == SSL_ERROR_ZERO_RETURN) {
            snprintf(err, errlen, "TLS session closed by the server");
            return -1;
        }
        ssl_reason(err, errlen, "TLS read", "error");
        return -1;
    }
}

int td_rtls_write(td_rtls_t *t, const char *p, size_t n, td_buf_t *wire, char *err, size_t errlen)
{
    while (n > 0) {
        int chunk = n > (1u << 30) ? 1 << 30 : (int)n;
        int w = SSL_write(t->ssl, p, chunk);
        if (w <= 0) {
            ssl_reason(err, errlen, "TLS write", "error");
            return -1;
        }
        p += w;
        n -= (size_t)w;
        drain(t, wire);
    }
    drain(t, wire);
    return 0;
}
