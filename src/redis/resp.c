/* SPDX-License-Identifier: Apache-2.0 */
#include "redis/resp.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

#define DEF_MAX_BULK  ((size_t)64 << 20)
#define DEF_MAX_ELEMS (1u << 20)
#define MAX_DEPTH     16

/* One "\r\n"-terminated line from p: returns its end (the '\r'), or NULL if
 * the line is not complete. */
static const char *line_end(const char *p, const char *end)
{
    const char *cr = memchr(p, '\r', (size_t)(end - p));
    if (!cr || cr + 1 >= end) return NULL;
    return cr;
}

/* Strict decimal with an optional '-'; 0 or -1. */
static int parse_int(const char *p, const char *e, int64_t *out)
{
    int neg = p < e && *p == '-';
    uint64_t v = 0;
    p += neg;
    if (p == e || e - p > 19) return -1;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX) return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static td_resp_node_t *push_node(td_resp_reader_t *r)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = td_xrealloc(r->v, r->cap * sizeof *r->v);
    }
    td_resp_node_t *nd = &r->v[r->n++];
    memset(nd, 0, sizeof *nd);
    return nd;
}

static ssize_t fail(td_resp_reader_t *r, const char *why)
{
    r->err = why;
    r->n = 0;
    return -1;
}

/* Parses one node's header (and a bulk's body) at *pp. 1: done, 0: need
 * more bytes, -1: protocol error. */
static int parse_node(td_resp_reader_t *r, const char **pp, const char *end, td_resp_node_t *nd)
{
    const char *p = *pp, *e = line_end(p, end);
    if (!e) return 0;
    if (e[1] != '\n') return fail(r, "line not ended by CRLF"), -1;
    nd->type = (unsigned char)*p;
    switch (nd->type) {
    case TD_RESP_STATUS:
    case TD_RESP_ERROR:
        nd->s = p + 1;
        nd->len = (size_t)(e - p - 1);
        break;
    case TD_RESP_INT:
        if (parse_int(p + 1, e, &nd->i)) return fail(r, "bad integer"), -1;
        break;
    case TD_RESP_BULK:
    case TD_RESP_ARRAY:
        if (parse_int(p + 1, e, &nd->i) || nd->i < -1) return fail(r, "bad length"), -1;
        if (nd->i == -1) {
            nd->type = TD_RESP_NIL;
            break;
        }
        if (nd->type == TD_RESP_ARRAY) {
            if ((uint64_t)nd->i > r->max_elems) return fail(r, "array too long"), -1;
            nd->n = (uint32_t)nd->i;
            break;
        }
        if ((uint64_t)nd->i > r->max_bulk) return fail(r, "string too long"), -1;
        nd->len = (size_t)nd->i;
        if ((size_t)(end - (e + 2)) < nd->len + 2) return 0;
        nd->s = e + 2;
        if (nd->s[nd->len] != '\r' || nd->s[nd->len + 1] != '\n')
            return fail(r, "string not ended by CRLF"), -1;
        *pp = nd->s + nd->len + 2;
        return 1;
    default:
        return fail(r, "unknown reply type"), -1;
    }
    *pp = e + 2;
    return 1;
}

ssize_t td_resp_parse(td_resp_reader_t *r, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    uint32_t stack[MAX_DEPTH], left[MAX_DEPTH]; /* open arrays: node index, elements to go */
    int depth = 0;
    if (!r->max_bulk) r->max_bulk = DEF_MAX_BULK;
    if (!r->max_elems) r->max_elems = DEF_MAX_ELEMS;
    r->n = 0;
    r->err = NULL;
    do {
        if (r->n >= r->max_elems) return fail(r, "reply too large");
        size_t idx = r->n;
        td_resp_node_t *nd = push_node(r);
        int rc = parse_node(r, &p, end, nd);
        if (rc <= 0) {
            r->n = 0;
            return rc;
        }
        if (nd->type == TD_RESP_ARRAY && nd->n > 0) {
            if (depth == MAX_DEPTH) return fail(r, "arrays nested too deep");
            stack[depth] = (uint32_t)idx;
            left[depth++] = nd->n;
            continue;
        }
        nd->next = (uint32_t)r->n;
        while (depth > 0 && --left[depth - 1] == 0)
            r->v[stack[--depth]].next = (uint32_t)r->n;
    } while (depth > 0);
    return p - buf;
}

void td_resp_reader_free(td_resp_reader_t *r)
{
    free(r->v);
    r->v = NULL;
    r->cap = r->n = 0;
}

const td_resp_node_t *td_resp_elem(const td_resp_reader_t *r, size_t a, uint32_t i)
{
    if (a >= r->n || r->v[a].type != TD_RESP_ARRAY || i >= r->v[a].n) return NULL;
    size_t k = a + 1;
    while (i--)
        k = r->v[k].next;
    return &r->v[k];
}

int td_resp_is(const td_resp_node_t *node, const char *s)
{
    if (!node || !node->s) return 0;
    size_t n = strlen(s);
    return node->len == n && memcmp(node->s, s, n) == 0;
}

void td_resp_append_cmd(td_buf_t *b, int argc, const char *const *argv, const size_t *lens)
{
    size_t need = 16;
    for (int i = 0; i < argc; i++)
        need += lens[i] + 24;
    td_buf_reserve(b, need);
    char *p = b->data + b->len;
    *p++ = '*';
    p = td_put_uint(p, (size_t)argc);
    *p++ = '\r', *p++ = '\n';
    for (int i = 0; i < argc; i++) {
        *p++ = '$';
        p = td_put_uint(p, lens[i]);
        *p++ = '\r', *p++ = '\n';
        memcpy(p, argv[i], lens[i]);
        p += lens[i];
        *p++ = '\r', *p++ = '\n';
    }
    b->len = (size_t)(p - b->data);
    b->data[b->len] = '\0';
}
