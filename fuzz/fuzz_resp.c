/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the RESP reader (td_resp_parse) with arbitrary byte streams, the
 * way redis/conn uses it: parse replies one after another from a buffer.
 * Checks: what a reply consumed is within the buffer and every string node
 * points inside it; subtree indices are consistent; the same bytes less one
 * are "incomplete" (0), never a different reply; work is bounded (a reply
 * has at most one node per 4 input bytes, since each node takes >= 4). */
#include "redis/resp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(const td_resp_reader_t *r, const char *buf, size_t used)
{
    if (r->n == 0 || r->n > used / 4 + 1) abort();
    for (size_t i = 0; i < r->n; i++) {
        const td_resp_node_t *nd = &r->v[i];
        if (nd->next <= i || nd->next > r->n) abort();
        if (nd->s && (nd->s < buf || nd->s + nd->len > buf + used)) abort();
    }
    if (r->v[0].next != r->n) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    td_resp_reader_t r = TD_RESP_READER_INIT;
    td_resp_reader_t again = TD_RESP_READER_INIT;
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    size_t off = 0;
    r.max_bulk = 1 << 20;
    again.max_bulk = 1 << 20;
    while (off < size) {
        ssize_t n = td_resp_parse(&r, buf + off, size - off);
        if (n <= 0) {
            if (n < 0 && !r.err) abort();
            break;
        }
        if ((size_t)n > size - off) abort();
        check(&r, buf + off, (size_t)n);
        if (td_resp_parse(&again, buf + off, (size_t)n - 1) != 0) abort();
        off += (size_t)n;
    }
    td_resp_reader_free(&r);
    td_resp_reader_free(&again);
    free(buf);
    return 0;
}
