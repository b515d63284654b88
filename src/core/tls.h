/* SPDX-License-Identifier: Apache-2.0 */
/* Client TLS over memory BIOs, so the socket stays a plain libuv stream
 * owned by its connection (redis/conn.c, feed/ws_conn.c) and the TLS layer
 * does no I/O. The server certificate is verified against the system CAs
 * (or a CA file, which replaces them) and the host name or IP address of
 * the URL, which also goes out as SNI. */
#ifndef TD_CORE_TLS_H
#define TD_CORE_TLS_H

#include "core/buf.h"

#include <stddef.h>

typedef struct td_rtls_ctx_s td_rtls_ctx_t;
typedef struct td_rtls_s td_rtls_t;

/* ca_file: PEM CAs instead of the system's (NULL: system); cert/key: client
 * certificate and key (both or neither). NULL + a one-line reason in err. */
td_rtls_ctx_t *td_rtls_ctx_new(const char *ca_file, const char *cert, const char *key, char *err,
                               size_t errlen);
void td_rtls_ctx_free(td_rtls_ctx_t *x);

/* A client session that checks `host` (a name or an IP literal). */
td_rtls_t *td_rtls_new(td_rtls_ctx_t *x, const char *host);
void td_rtls_free(td_rtls_t *t);

/* Hands ciphertext received from the socket to the session. */
void td_rtls_feed(td_rtls_t *t, const char *p, size_t n);
/* Advances the handshake; what must be sent is appended to wire. 1: done,
 * 0: waiting for the server, -1: failed (reason in err). */
int td_rtls_handshake(td_rtls_t *t, td_buf_t *wire, char *err, size_t errlen);
/* After a failed handshake: why the server's certificate was refused, or
 * NULL if it was not (the handshake failed otherwise). */
const char *td_rtls_verify_error(const td_rtls_t *t);
/* Decrypts what is available into plain. 0, or -1 (reason in err; the
 * server closing the session cleanly is an error too). */
int td_rtls_read(td_rtls_t *t, td_buf_t *plain, char *err, size_t errlen);
/* Encrypts n bytes and appends the records to wire. 0 or -1. */
int td_rtls_write(td_rtls_t *t, const char *p, size_t n, td_buf_t *wire, char *err, size_t errlen);

#endif
