/* SPDX-License-Identifier: Apache-2.0 */
#include "core/lws_util.h"

#include <string.h>

#include "core/buf.h"

/* Copies the request's custom header `name` (with its colon, e.g.
 * "apca-api-key-id:") into out; NULL if absent, "" if longer than cap. */
static const char *header(struct lws *wsi, const char *name, char *out, int cap)
{
    int nl = (int)strlen(name);
    out[0] = '\0';
    if (lws_hdr_custom_length(wsi, name, nl) < 0) return NULL;
    if (lws_hdr_custom_copy(wsi, out, cap, name, nl) < 0) out[0] = '\0'; /* too long: refused */
    return out;
}

static const char *header_any(struct lws *wsi, const char *lower, const char *upper, char *out,
                              int cap)
{
    const char *v = header(wsi, lower, out, cap);
    return v ? v : header(wsi, upper, out, cap);
}

void td_lws_alpaca_keys(struct lws *wsi, char *key, char *secret, int cap, const char **hk,
                        const char **hs)
{
    *hk = header_any(wsi, "apca-api-key-id:", "APCA-API-KEY-ID:", key, cap);
    *hs = header_any(wsi, "apca-api-secret-key:", "APCA-API-SECRET-KEY:", secret, cap);
}

int td_lws_refuse_upgrade(struct lws *wsi, const char *body)
{
    return td_lws_refuse_upgrade_status(wsi, 404, "Not Found", body);
}

int td_lws_refuse_upgrade_status(struct lws *wsi, int status, const char *reason, const char *body)
{
    td_buf_t r = TD_BUF_INIT;
    td_buf_reserve(&r, LWS_PRE + 256 + strlen(body));
    r.len = LWS_PRE;
    td_buf_appendf(&r,
                   "HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: "
                   "%zu\r\nconnection: close\r\n\r\n%s",
                   status, reason, strlen(body), body);
    lws_write(wsi, (unsigned char *)r.data + LWS_PRE, r.len - LWS_PRE, LWS_WRITE_HTTP_HEADERS);
    td_buf_free(&r);
    return 1;
}

void td_lws_write_close(struct lws *wsi, uint16_t status)
{
    unsigned char cl[LWS_PRE + 2];
    cl[LWS_PRE] = (unsigned char)(status >> 8);
    cl[LWS_PRE + 1] = (unsigned char)(status & 0xff);
    lws_write(wsi, cl + LWS_PRE, 2, (enum lws_write_protocol)4); /* LWS_WRITE_CLOSE */
}

int td_lws_conn_event(const td_lws_conn_ops_t *ops, void *conn, struct lws *wsi, int reason,
                      void *in, size_t len, int *rc)
{
    *rc = 0;
    switch (reason) {
    case LWS_CALLBACK_RECEIVE:
        if (conn) ops->rx(conn, in, len, td_lws_rx_final(wsi), lws_frame_is_binary(wsi));
        return 1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (conn) *rc = ops->writeable(conn);
        return 1;
    case LWS_CALLBACK_CLOSED:
        if (conn) ops->closed(conn);
        return 1;
    default:
        return 0;
    }
}
