/* SPDX-License-Identifier: Apache-2.0 */
/* A deferred HTTP reply of the simulator's REST endpoints (/query, the
 * history paths): the body is built at once, sent when it is ready (after
 * the configured latency), headers first, then the body in chunks, one
 * lws_write per WRITEABLE. */
#include "core/mem.h"
#include "sim/sim_int.h"

#include <libwebsockets.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#define CHUNK 16384

td_sim_reply_t *td__sim_reply_new(td_sim_reply_t **list, size_t reserve)
{
    td_sim_reply_t *r = td_xcalloc(1, sizeof *r);
    r->next = *list;
    if (r->next) r->next->pprev = &r->next;
    r->pprev = list;
    *list = r;
    r->status = 200;
    td_buf_reserve(&r->body, LWS_PRE + reserve);
    memset(r->body.data, 0, LWS_PRE);
    r->body.len = LWS_PRE;
    return r;
}

void td__sim_reply_free(td_sim_reply_t **slot)
{
    td_sim_reply_t *r = *slot;
    if (!r) return;
    *r->pprev = r->next;
    if (r->next) r->next->pprev = r->pprev;
    td_buf_free(&r->body);
    free(r);
    *slot = NULL;
}

void td__sim_reply_header(td_sim_reply_t *r, const char *name, const char *value)
{
    if (r->nhdr == TD_SIM_REPLY_NHDR) return;
    snprintf(r->hname[r->nhdr], sizeof r->hname[0], "%s", name);
    snprintf(r->hval[r->nhdr], sizeof r->hval[0], "%s", value);
    r->nhdr++;
}

void td__sim_reply_timer(struct lws *wsi, td_sim_reply_t *r)
{
    if (!r || r->ready) return;
    r->ready = 1;
    lws_callback_on_writable(wsi);
}

static int headers(struct lws *wsi, const td_sim_reply_t *r, size_t len)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
                                       *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned int)r->status, "application/json", len, &p, end))
        return -1;
    for (int i = 0; i < r->nhdr; i++)
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)r->hname[i],
                                        (const unsigned char *)r->hval[i], (int)strlen(r->hval[i]),
                                        &p, end))
            return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

int td__sim_reply_writeable(struct lws *wsi, td_sim_reply_t **slot)
{
    td_sim_reply_t *r = *slot;
    if (!r || !r->ready) return 0;
    size_t total = r->body.len - LWS_PRE;
    if (!r->hdr_sent) {
        if (headers(wsi, r, total) != 0) return -1;
        r->hdr_sent = 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    size_t n = total - r->off < CHUNK ? total - r->off : CHUNK;
    int last = r->off + n == total;
    unsigned char *at = (unsigned char *)r->body.data + LWS_PRE + r->off;
    if (lws_write(wsi, at, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n) return -1;
    r->off += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    td__sim_reply_free(slot);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}
