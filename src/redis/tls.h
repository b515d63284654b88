/* SPDX-License-Identifier: Apache-2.0 */
/* TLS for Redis connections: OpenSSL over memory BIOs, so the socket stays
 * a plain libuv stream owned by redis/conn.c and the TLS layer does no I/O.
 * The server certificate is verified against the system CAs (or a CA file)
 * and the host name or IP address of the URL. Private to src/redis/. */
#ifndef TD_REDIS_TLS_H
#define TD_REDIS_TLS_H

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
/* Decrypts what is available into plain. 0, or -1 (reason in err; the
 * server closing the session cleanly is an error too). */
int td_rtls_read(td_rtls_t *t, td_buf_t *plain, char *err, size_t errlen);
/* Encrypts n bytes and appends the records to wire. 0 or -1. */
int td_rtls_write(td_rtls_t *t, const char *p, size_t n, td_buf_t *wire, char *err, size_t errlen);

#endif
