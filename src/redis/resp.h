/* SPDX-License-Identifier: Apache-2.0 */
/* RESP2 (the Redis protocol): a sans-I/O reply reader and command
 * formatting. The reader parses one whole reply at a time from a contiguous
 * buffer into a flat vector of nodes that point into that buffer (nothing is
 * copied, nothing is allocated per reply once the vector has grown), so a
 * pipeline of integer replies costs a few comparisons each. Nested arrays
 * are parsed with an explicit stack, with limits on depth, element count and
 * string length; anything else is a protocol error. */
#ifndef TD_REDIS_RESP_H
#define TD_REDIS_RESP_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    TD_RESP_STATUS = '+',
    TD_RESP_ERROR = '-',
    TD_RESP_INT = ':',
    TD_RESP_BULK = '$',
    TD_RESP_ARRAY = '*',
    TD_RESP_NIL = '_', /* $-1 and *-1 */
};

typedef struct td_resp_node_s {
    int type;
    uint32_t n;    /* ARRAY: number of elements (they follow in pre-order) */
    uint32_t next; /* index of the node after this one's subtree */
    int64_t i;     /* INT */
    const char *s; /* STATUS, ERROR, BULK: points into the parsed buffer */
    size_t len;
} td_resp_node_t;

typedef struct td_resp_reader_s {
    td_resp_node_t *v;  /* owned; reused from reply to reply */
    size_t cap, n;      /* n: nodes of the last reply */
    size_t max_bulk;    /* longest string accepted (0: 64 MiB) */
    uint32_t max_elems; /* nodes per reply (0: 1 M) */
    const char *err;    /* static text of the last protocol error */
} td_resp_reader_t;

#define TD_RESP_READER_INIT                                                                        \
    {                                                                                              \
        NULL, 0, 0, 0, 0, NULL                                                                     \
    }

/* Parses one reply from buf[0, len). Returns the bytes it took (> 0), with
 * the reply in r->v[0 .. r->n) (valid until the next call or until buf
 * changes); 0 if the reply is not complete yet; -1 on a protocol error
 * (r->err says which). */
ssize_t td_resp_parse(td_resp_reader_t *r, const char *buf, size_t len);
void td_resp_reader_free(td_resp_reader_t *r);

/* The i-th element of the array at node index a (bounds checked: NULL if
 * out of range or not an array). */
const td_resp_node_t *td_resp_elem(const td_resp_reader_t *r, size_t a, uint32_t i);
/* 1 if node is a STATUS/BULK/ERROR equal to the NUL-terminated s. */
int td_resp_is(const td_resp_node_t *node, const char *s);

/* Appends one command as a RESP array of bulk strings. */
void td_resp_append_cmd(td_buf_t *b, int argc, const char *const *argv, const size_t *lens);

#endif
