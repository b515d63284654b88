/* Small libwebsockets helpers shared by the servers (gateway/, sim/) and the
 * feed: request headers, refusing an upgrade, message boundaries. */
#ifndef TD_CORE_LWS_UTIL_H
#define TD_CORE_LWS_UTIL_H

#include <libwebsockets.h>

/* Copies the request's custom header `name` (with its colon, e.g.
 * "apca-api-key-id:") into out; NULL if absent, "" if longer than cap. */
const char *td_lws_header(struct lws *wsi, const char *name, char *out, int cap);

/* The Alpaca key headers of an upgrade (APCA-API-KEY-ID, APCA-API-SECRET-KEY,
 * in either case) into key and secret (cap bytes each); *hk, *hs point at
 * them or are NULL when a header is absent. The caller wipes secret. */
void td_lws_alpaca_keys(struct lws *wsi, char *key, char *secret, int cap, const char **hk,
                        const char **hs);

/* Answers an upgrade request "HTTP/1.1 404 Not Found" with the text body
 * and closes (lws_return_http_status answers an upgrade as HTTP/1.0, which
 * python-websockets rejects). For HTTP_CONFIRM_UPGRADE: returns 1 (refuse). */
int td_lws_refuse_upgrade(struct lws *wsi, const char *body);

/* In RECEIVE: these bytes end the message (last fragment, nothing left). */
static inline int td_lws_rx_final(struct lws *wsi)
{
    return lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
}

#endif
