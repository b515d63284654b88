/* SPDX-License-Identifier: Apache-2.0 */
/* The client side of a WebSocket (RFC 6455), sans I/O: the upgrade request
 * and the check of the server's answer, a reader that takes server frames
 * from a byte buffer in bulk, and masked client frames. The connection that
 * moves the bytes (feed/ws_conn.c) owns the socket, TLS and timers.
 *
 * The reader hands a complete unfragmented message to the caller as a
 * pointer into the caller's buffer (no copy); fragments are joined in the
 * reader's own buffer. A message over max_message bytes is skipped whole:
 * its bytes are dropped as they arrive, up to its final fragment, and the
 * caller is told once. Masked server frames, reserved bits, unknown opcodes
 * and broken fragmentation are protocol errors (r->err says which). */
#ifndef TD_PROTO_WS_CLIENT_H
#define TD_PROTO_WS_CLIENT_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    TD_WS_CONT = 0x0,
    TD_WS_TEXT = 0x1,
    TD_WS_BINARY = 0x2,
    TD_WS_CLOSE = 0x8,
    TD_WS_PING = 0x9,
    TD_WS_PONG = 0xA,
};

#define TD_WS_CLOSE_NONE 1005 /* a close frame without a code */
#define TD_WS_HEAD_MAX   8192 /* bytes of the server's upgrade answer head */

/* Callbacks from td_ws_read; each returns 0 to go on, nonzero to stop
 * reading at once (the connection is going away). */
typedef struct td_ws_handler_s {
    /* A complete data message (p valid during the call only). */
    int (*message)(void *ud, const char *p, size_t n, int binary);
    /* A ping, pong or close frame: for close, p/n is the payload after the
     * code. */
    int (*control)(void *ud, int opcode, int close_code, const char *p, size_t n);
    /* Bytes of a message over max_message, dropped; first is set at the
     * first call for that message (which counts it). */
    int (*skipped)(void *ud, uint64_t n, int first);
} td_ws_handler_t;

typedef struct td_ws_reader_s {
    size_t max_message; /* bytes of one message (0: no limit) */
    td_buf_t frag;      /* the fragments of the message being joined */
    int frag_open;      /* a fragmented message is being joined */
    int frag_binary;
    int skipping;       /* dropping a message up to its final fragment */
    uint64_t skip_left; /* payload bytes of the current frame still to drop */
    int skip_fin;       /* that frame is the message's last */
    size_t need;        /* after a short read: the next frame needs this many bytes */
    char err[128];      /* the protocol error after -1 */
} td_ws_reader_t;

void td_ws_reader_init(td_ws_reader_t *r, size_t max_message);
/* Forgets any message in progress (a new connection). */
void td_ws_reader_reset(td_ws_reader_t *r);
void td_ws_reader_free(td_ws_reader_t *r);

/* Reads the frames in p[0..n): returns the bytes consumed (the caller keeps
 * the rest and calls again with more; r->need says how many bytes the next
 * frame needs in all), or -1 on a protocol error (r->err). Stops early,
 * returning what it consumed, when a callback returns nonzero. */
ssize_t td_ws_read(td_ws_reader_t *r, const char *p, size_t n, const td_ws_handler_t *h, void *ud);

/* Appends one final client frame, masked with mask (RFC 6455 §5.3: fresh,
 * unpredictable bytes per frame). */
void td_ws_frame(td_buf_t *out, int opcode, const void *p, size_t n, const uint8_t mask[4]);
/* A close frame with a status code. */
void td_ws_close_frame(td_buf_t *out, int code, const uint8_t mask[4]);

/* The upgrade request for host:port/path; key (16 random bytes) becomes
 * Sec-WebSocket-Key, whose base64 text is written to key_b64. */
void td_ws_upgrade_request(td_buf_t *out, const char *host, int port, int tls, const char *path,
                           const uint8_t key[16], char key_b64[25]);
/* Checks the server's answer head in p[0..n) against key_b64: returns the
 * length of the head (frames may follow it in the same bytes) if it is a
 * valid 101 upgrade, 0 if the head is not complete yet, -1 (reason in err)
 * if it is not an upgrade. *status is the HTTP status (0 if unknown). */
ssize_t td_ws_upgrade_response(const char *p, size_t n, const char *key_b64, int *status, char *err,
                               size_t errlen);
/* base64(SHA-1(key_b64 + the RFC's GUID)): the Sec-WebSocket-Accept value. */
void td_ws_accept_value(const char *key_b64, char out[29]);

#endif
