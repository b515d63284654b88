/* SPDX-License-Identifier: Apache-2.0 */
/* Small libwebsockets helpers shared by the servers (gateway/, sim/) and the
 * feed: request headers, refusing an upgrade, message boundaries. */
#ifndef TD_CORE_LWS_UTIL_H
#define TD_CORE_LWS_UTIL_H

#include <libwebsockets.h>
#include <stdint.h>

/* The Alpaca key headers of an upgrade (APCA-API-KEY-ID, APCA-API-SECRET-KEY,
 * in either case) into key and secret (cap bytes each); *hk, *hs point at
 * them or are NULL when a header is absent. The caller wipes secret. */
void td_lws_alpaca_keys(struct lws *wsi, char *key, char *secret, int cap, const char **hk,
                        const char **hs);

/* Answers an upgrade request "HTTP/1.1 404 Not Found" with the text body
 * and closes (lws_return_http_status answers an upgrade as HTTP/1.0, which
 * python-websockets rejects). For HTTP_CONFIRM_UPGRADE: returns 1 (refuse). */
int td_lws_refuse_upgrade(struct lws *wsi, const char *body);
/* The same with another status, e.g. 403 "Forbidden", 429 "Too Many Requests". */
int td_lws_refuse_upgrade_status(struct lws *wsi, int status, const char *reason, const char *body);

/* Writes a close frame with `status` before the callback returns -1: lws 4.1
 * closes without one (1006) on lws_close_reason() and -1 from WRITEABLE. */
void td_lws_write_close(struct lws *wsi, uint16_t status);

/* The WebSocket half of a server's lws callback, the same for the gateway
 * and the simulator: what RECEIVE, SERVER_WRITEABLE and CLOSED do to the
 * connection's object (a gateway client, a sim session). */
typedef struct td_lws_conn_ops_s {
    /* One fragment of a client message (final: its last; binary frame). */
    void (*rx)(void *conn, const void *in, size_t len, int final, int binary);
    /* The socket takes a frame: 0, or -1 to close. */
    int (*writeable)(void *conn);
    /* The connection is gone: frees conn. */
    void (*closed)(void *conn);
} td_lws_conn_ops_t;

/* For reason RECEIVE, SERVER_WRITEABLE or CLOSED: calls ops on conn (NULL:
 * none, nothing to do) and returns 1 with the callback's answer in *rc;
 * for any other reason returns 0. After CLOSED the caller drops conn. */
int td_lws_conn_event(const td_lws_conn_ops_t *ops, void *conn, struct lws *wsi, int reason,
                      void *in, size_t len, int *rc);

/* In RECEIVE: these bytes end the message (last fragment, nothing left). */
static inline int td_lws_rx_final(struct lws *wsi)
{
    return lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
}

#endif
