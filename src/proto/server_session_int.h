/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the server sessions: the ops table of a dialect and the
 * helpers its implementations share (server_session.c). */
#ifndef TD_PROTO_SERVER_SESSION_INT_H
#define TD_PROTO_SERVER_SESSION_INT_H

#include "proto/server_session.h"

#define TD_SRV_WHAT_MAX 1024 /* bytes of applied.what before "..." */

typedef struct td_srv_ops_s {
    void (*greet)(td_srv_sess_t *s);
    void (*message)(td_srv_sess_t *s, const char *msg, size_t len, int binary);
    /* The frame of error code; *status: Polygon's status word (else NULL). */
    const char *(*error_frame)(td_buf_t *b, int code, const char **status);
    /* A text error of our own: the frame (code for Alpaca's). */
    void (*refuse_frame)(td_buf_t *b, int code, const char *text);
    void (*authed)(td_srv_sess_t *s);
    /* tickerd's gap notice: this head, then the notice's members after
     * its "type" (td_srv_gap_frame). */
    const char *gap_head;
    int header_auth;  /* credentials in the upgrade's headers */
    int token_is_key; /* a token stands for the key (else: key "jwt", the
                       * token as the secret) */
} td_srv_ops_t;

extern const td_srv_ops_t td__srv_alpaca_ops, td__srv_polygon_ops;

void td__srv_send(td_srv_sess_t *s, const td_buf_t *b);
void td__srv_close(td_srv_sess_t *s, int code);
/* Sends e's frame b, reports e (e->counted asks the budget) and closes if
 * e->close or the budget is spent. */
void td__srv_report(td_srv_sess_t *s, const td_buf_t *b, td_srv_error_t *e);
/* Error code in the dialect (td_srv_sess_error with the reader's reason
 * and the malformed flag). */
void td__srv_error(td_srv_sess_t *s, int code, int close, int malformed, const char *why);
/* The subscribe rate for n symbols: 1 to go ahead, 0 refused (told). */
int td__srv_rate_ok(td_srv_sess_t *s, size_t n);
/* Whether the set after adding the entries of next (a copy with them)
 * stays within max_symbols, counted over offered kinds. */
int td__srv_within(const td_srv_sess_t *s, const td_subset_t *next, unsigned offered);

#endif
