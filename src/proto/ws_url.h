/* SPDX-License-Identifier: Apache-2.0 */
/* A WebSocket URL, ws://HOST[:PORT][/PATH][?QUERY] or wss://…, split into
 * what the upgrade needs. HOST is a name, an IPv4 address or a bracketed
 * IPv6 one; PORT defaults to 80 (ws) or 443 (wss); PATH keeps its leading
 * '/' and any query ("/" when absent). The scheme is case-insensitive; user
 * info, fragments, empty hosts, ports outside 1–65535, and spaces or
 * control bytes anywhere are refused. */
#ifndef TD_PROTO_WS_URL_H
#define TD_PROTO_WS_URL_H

#include <stddef.h>

typedef struct td_ws_url_s {
    int tls;    /* wss:// */
    char *host; /* malloc'd, without brackets */
    int port;
    char *path; /* malloc'd */
} td_ws_url_t;

/* Returns 0 and fills u (release with td_ws_url_free), or -1 with the
 * reason in err (u is left empty). */
int td_ws_url_parse(td_ws_url_t *u, const char *url, char *err, size_t errlen);
void td_ws_url_free(td_ws_url_t *u);

#endif
