/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the client side of the upstream WebSocket (proto/ws_client.c) the
 * way feed/ws_conn.c uses it: the server's upgrade answer, then server
 * frames read from a buffer that keeps the unread rest.
 *
 * The first byte picks the limit on a message (small, so messages are
 * skipped whole), the size in which bytes arrive, and whether an upgrade
 * answer comes first. Checks: a head ends with its blank line; the reader
 * never consumes more than it was given and, when it stops short, asks for
 * more than what is left; messages are within the limit and point into the
 * buffer or the reader's own; and the messages, control frames and errors
 * are the same whether the bytes arrive at once or in small pieces. */
#include "proto/ws_client.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct run_s {
    const char *lo, *hi; /* the buffer of the current call */
    const td_ws_reader_t *r;
    uint64_t hash, skipped;
} run_t;

static void mix(run_t *x, const void *p, size_t n, uint64_t tag)
{
    const unsigned char *u = p;
    x->hash = (x->hash ^ tag) * 0x100000001b3ULL;
    for (size_t i = 0; i < n; i++)
        x->hash = (x->hash ^ u[i]) * 0x100000001b3ULL;
}

static int on_msg(void *ud, const char *p, size_t n, int binary)
{
    run_t *x = ud;
    int in_buf = p >= x->lo && p + n <= x->hi;
    int in_frag =
        x->r->frag.data && p >= x->r->frag.data && p + n <= x->r->frag.data + x->r->frag.len;
    if (n > x->r->max_message || (n && !in_buf && !in_frag)) abort();
    mix(x, p, n, 1000u + (unsigned)binary);
    return 0;
}

static int on_ctl(void *ud, int op, int code, const char *p, size_t n)
{
    run_t *x = ud;
    if (n > 125 || (n && (p < x->lo || p + n > x->hi))) abort();
    mix(x, p, n, (uint64_t)op << 16 | (unsigned)code);
    return 0;
}

static int on_skip(void *ud, uint64_t n, int first)
{
    run_t *x = ud;
    x->skipped += n;
    if (first) mix(x, "", 0, 7);
    return 0;
}

static const td_ws_handler_t H = {on_msg, on_ctl, on_skip};

/* Reads data[0..size) arriving chunk bytes at a time; the hash of what was
 * reported (an error included). */
static uint64_t read_frames(const uint8_t *data, size_t size, size_t chunk, size_t max)
{
    td_ws_reader_t r;
    td_buf_t buf = TD_BUF_INIT;
    run_t x = {NULL, NULL, &r, 0, 0};
    td_ws_reader_init(&r, max);
    for (size_t off = 0; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        td_buf_append(&buf, data + off, n);
        off += n;
        x.lo = buf.data;
        x.hi = buf.data + buf.len;
        ssize_t used = td_ws_read(&r, buf.data, buf.len, &H, &x);
        if (used < 0) {
            if (!r.err[0]) abort();
            mix(&x, "", 0, 99);
            break;
        }
        if ((size_t)used > buf.len) abort();
        if ((size_t)used < buf.len && r.need <= buf.len - (size_t)used) abort();
        td_buf_consume(&buf, (size_t)used);
    }
    if (x.skipped > size) abort();
    td_ws_reader_free(&r);
    td_buf_free(&buf);
    return x.hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0];
    size_t max = (size_t)(mode & 0x0f) * 16 + 1;
    size_t chunk = ((mode >> 4) & 0x07) + 1;
    data++;
    size--;
    if (mode & 0x80) {
        char err[256];
        int status;
        ssize_t h = td_ws_upgrade_response((const char *)data, size,
                                           "dGhlIHNhbXBsZSBub25jZQ==", &status, err, sizeof err);
        if (h > (ssize_t)size || (h > 0 && (h < 4 || memcmp(data + h - 4, "\r\n\r\n", 4) != 0)))
            abort();
        if (h > 0 && status != 101) abort();
        if (h <= 0) return 0;
        data += h;
        size -= (size_t)h;
    }
    if (read_frames(data, size, size ? size : 1, max) != read_frames(data, size, chunk, max))
        abort();
    return 0;
}
