/* SPDX-License-Identifier: Apache-2.0 */
/* WebSocket client frames: the bulk reader of server frames and the masked
 * client frames (see ws_client.h). */
#include "proto/ws_client.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX ((size_t)64 << 20)
#define FRAG_KEEP   ((size_t)1 << 20) /* a joining buffer above this is freed after use */

void td_ws_reader_init(td_ws_reader_t *r, size_t max_message)
{
    memset(r, 0, sizeof *r);
    r->max_message = max_message ? max_message : DEFAULT_MAX;
}

void td_ws_reader_reset(td_ws_reader_t *r)
{
    size_t max = r->max_message;
    td_buf_free(&r->frag);
    td_ws_reader_init(r, max);
}

void td_ws_reader_free(td_ws_reader_t *r)
{
    td_buf_free(&r->frag);
}

static ssize_t fail(td_ws_reader_t *r, const char *why)
{
    snprintf(r->err, sizeof r->err, "%s", why);
    return -1;
}

/* A ping, pong or close frame, whole in u[0..n). */
static int control(td_ws_reader_t *r, int op, const uint8_t *u, size_t n, const td_ws_handler_t *h,
                   void *ud, int *stop)
{
    int code = 0;
    if (op == TD_WS_CLOSE) {
        if (n == 1) return (int)fail(r, "close frame with a 1-byte payload");
        code = n ? (u[0] << 8 | u[1]) : TD_WS_CLOSE_NONE;
        if (n) {
            u += 2;
            n -= 2;
        }
    }
    *stop = h->control ? h->control(ud, op, code, (const char *)u, n) : 0;
    return 0;
}

/* The frame's header, if complete: 1 with *fin, *op, *len and *hl (header
 * bytes), 0 if more bytes are needed (r->need), -1 if it is refused. */
static int header(td_ws_reader_t *r, const uint8_t *u, size_t avail, int *fin, int *op,
                  uint64_t *len, size_t *hl)
{
    if (avail < 2) return (int)(r->need = 2, 0);
    *fin = u[0] >> 7;
    *op = u[0] & 0x0f;
    if (u[0] & 0x70) return (int)fail(r, "reserved bits set in a server frame (no extension)");
    if (u[1] & 0x80) return (int)fail(r, "masked frame from the server");
    *len = u[1] & 0x7f;
    *hl = 2;
    if (*len == 126) {
        *hl = 4;
        if (avail < 4) return (int)(r->need = 4, 0);
        *len = (uint64_t)u[2] << 8 | u[3];
    } else if (*len == 127) {
        *hl = 10;
        if (avail < 10) return (int)(r->need = 10, 0);
        *len = 0;
        for (int i = 2; i < 10; i++)
            *len = *len << 8 | u[i];
        if (*len >> 63) return (int)fail(r, "64-bit payload length with the top bit set");
    }
    if (*op >= 0x8) {
        if (*op > TD_WS_PONG) return (int)fail(r, "unknown control opcode");
        if (!*fin || *len > 125) return (int)fail(r, "control frame fragmented or over 125 bytes");
    } else if (*op > TD_WS_BINARY) {
        return (int)fail(r, "unknown data opcode");
    } else if (*op == TD_WS_CONT && !r->frag_open && !r->skipping) {
        return (int)fail(r, "continuation frame without a message to continue");
    } else if (*op != TD_WS_CONT && (r->frag_open || r->skipping)) {
        return (int)fail(r, "new message inside a fragmented one");
    }
    return 1;
}

/* Starts dropping the current message (its frame's payload is len). */
static int start_skip(td_ws_reader_t *r, uint64_t len, int fin, const td_ws_handler_t *h, void *ud)
{
    uint64_t had = r->frag_open ? r->frag.len : 0;
    r->frag_open = 0;
    r->frag.len = 0;
    if (r->frag.cap > FRAG_KEEP) td_buf_free(&r->frag);
    r->skipping = !(fin && len == 0);
    r->skip_left = len;
    r->skip_fin = fin;
    return h->skipped ? h->skipped(ud, had, 1) : 0;
}

/* A data frame whose payload pl[0..len) is whole in the buffer. */
static int data(td_ws_reader_t *r, int op, int fin, const char *pl, size_t len,
                const td_ws_handler_t *h, void *ud)
{
    if (fin && !r->frag_open) return h->message(ud, pl, len, op == TD_WS_BINARY);
    if (!r->frag_open) {
        r->frag_open = 1;
        r->frag_binary = op == TD_WS_BINARY;
        r->frag.len = 0;
    }
    td_buf_append(&r->frag, pl, len);
    if (!fin) return 0;
    r->frag_open = 0;
    int stop = h->message(ud, r->frag.data, r->frag.len, r->frag_binary);
    r->frag.len = 0;
    if (r->frag.cap > FRAG_KEEP) td_buf_free(&r->frag);
    return stop;
}

ssize_t td_ws_read(td_ws_reader_t *r, const char *p, size_t n, const td_ws_handler_t *h, void *ud)
{
    size_t off = 0;
    r->need = 0;
    while (off < n) {
        int stop = 0, fin, op;
        uint64_t len;
        size_t hl;
        if (r->skip_left) {
            size_t take = n - off < r->skip_left ? n - off : (size_t)r->skip_left;
            off += take;
            r->skip_left -= take;
            if (!r->skip_left && r->skip_fin) r->skipping = 0;
            if (h->skipped && h->skipped(ud, take, 0)) return (ssize_t)off;
            continue;
        }
        const uint8_t *u = (const uint8_t *)p + off;
        int rc = header(r, u, n - off, &fin, &op, &len, &hl);
        if (rc < 0) return -1;
        if (rc == 0) break;
        if (op >= 0x8) {
            if (n - off < hl + len) {
                r->need = hl + (size_t)len;
                break;
            }
            if (control(r, op, u + hl, (size_t)len, h, ud, &stop) < 0) return -1;
            off += hl + (size_t)len;
        } else if (r->skipping) { /* a fragment of a message being dropped */
            off += hl;
            r->skip_left = len;
            r->skip_fin = fin;
            if (!len && fin) r->skipping = 0;
        } else if ((r->frag_open ? r->frag.len : 0) + len > r->max_message) {
            off += hl;
            stop = start_skip(r, len, fin, h, ud);
        } else {
            if (n - off < hl + len) {
                r->need = hl + (size_t)len;
                break;
            }
            off += hl + (size_t)len;
            stop = data(r, op, fin, (const char *)u + hl, (size_t)len, h, ud);
        }
        if (stop) return (ssize_t)off;
    }
    return (ssize_t)off;
}

void td_ws_frame(td_buf_t *out, int opcode, const void *p, size_t n, const uint8_t mask[4])
{
    td_buf_reserve(out, n + 14);
    uint8_t *u = (uint8_t *)out->data + out->len;
    const uint8_t *s = p;
    size_t hl = 0;
    u[hl++] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (n < 126) {
        u[hl++] = (uint8_t)(0x80 | n);
    } else if (n <= 0xffff) {
        u[hl++] = 0x80 | 126;
        u[hl++] = (uint8_t)(n >> 8);
        u[hl++] = (uint8_t)n;
    } else {
        u[hl++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            u[hl++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    memcpy(u + hl, mask, 4);
    hl += 4;
    for (size_t i = 0; i < n; i++)
        u[hl + i] = s[i] ^ mask[i & 3];
    out->len += hl + n;
    out->data[out->len] = '\0';
}

void td_ws_close_frame(td_buf_t *out, int code, const uint8_t mask[4])
{
    uint8_t c[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    td_ws_frame(out, TD_WS_CLOSE, c, sizeof c, mask);
}
