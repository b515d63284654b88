/* SPDX-License-Identifier: Apache-2.0 */
/* Alpaca MessagePack mode, client → server (alpaca_msgpack.h): one msgpack
 * map per message, decoded with a bounds-checked reader into the same
 * td_alpaca_client_msg_t the JSON parser fills. The server → client
 * transcoder is alpaca_msgpack.c. */
#include "proto/alpaca_msgpack.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Client → server: a bounds-checked MessagePack reader.
 * ------------------------------------------------------------------------ */

enum { MP_OTHER, MP_NIL, MP_STR, MP_ARR, MP_MAP };

typedef struct {
    const unsigned char *p, *end;
} mp_t;

typedef struct {
    int type;
    const char *str; /* MP_STR: the bytes (str or bin) */
    uint32_t len;    /* MP_STR: bytes; MP_ARR/MP_MAP: elements */
} mp_item_t;

static uint32_t ld(const unsigned char *p, int n)
{
    uint32_t v = 0;
    for (int k = 0; k < n; k++)
        v = v << 8 | p[k];
    return v;
}

/* Sizes of the fixed-width types 0xc0..0xdf: payload bytes after the type
 * byte (-1: never used), or, for variable ones, -(bytes of length) - 2. */
static const signed char mp_fixed[32] = {
    0, -1, 0, 0, -3, -4, -6, -3, -4, -6, 4,  8,  1,  2,  4,  8,
    1, 2,  4, 8, 2,  3,  5,  9,  17, -3, -4, -6, -4, -6, -4, -6,
};

/* Reads one header; scalars and strings are consumed whole, containers
 * only up to their elements. Returns 0 or -1 (truncated, 0xc1). */
static int mp_head(mp_t *r, mp_item_t *it)
{
    if (r->p >= r->end) return -1;
    unsigned c = *r->p++;
    size_t left = (size_t)(r->end - r->p);
    it->type = MP_OTHER;
    if (c < 0x80 || c >= 0xe0) return 0;
    if (c < 0xa0) {
        it->type = c < 0x90 ? MP_MAP : MP_ARR;
        it->len = c & 0x0f;
        return 0;
    }
    uint64_t len;
    if (c < 0xc0) {
        len = c & 0x1f;
    } else {
        int f = mp_fixed[c - 0xc0];
        if (f == -1) return -1;
        if (f >= 0) {
            if (left < (size_t)f) return -1;
            r->p += f;
            it->type = c == 0xc0 ? MP_NIL : MP_OTHER;
            return 0;
        }
        int lb = -f - 2;
        if (left < (size_t)lb) return -1;
        len = ld(r->p, lb);
        r->p += lb;
        left -= (size_t)lb;
        if (c >= 0xdc) { /* array 16/32, map 16/32 */
            it->type = c < 0xde ? MP_ARR : MP_MAP;
            it->len = (uint32_t)len;
            return 0;
        }
        if (c >= 0xc7 && c <= 0xc9) len += 1; /* ext: the type byte */
    }
    if (left < len) return -1;
    int is_str = c < 0xc0 || (c >= 0xd9 && c <= 0xdb) || (c >= 0xc4 && c <= 0xc6);
    it->type = is_str ? MP_STR : MP_OTHER;
    it->str = (const char *)r->p;
    it->len = (uint32_t)len;
    r->p += len;
    return 0;
}

/* Skips one complete value, checking structure, depth and counts. */
static int mp_skip(mp_t *r, int max_depth)
{
    uint64_t left[TD_ALPACA_MSGPACK_CLIENT_DEPTH + 1];
    int d = 0;
    left[0] = 1;
    for (;;) {
        while (d >= 0 && left[d] == 0)
            d--;
        if (d < 0) return 0;
        left[d]--;
        mp_item_t it;
        if (mp_head(r, &it)) return -1;
        if (it.type != MP_ARR && it.type != MP_MAP) continue;
        uint64_t items = it.type == MP_MAP ? 2 * (uint64_t)it.len : it.len;
        if (d + 1 > max_depth || items > (uint64_t)(r->end - r->p)) return -1;
        left[++d] = items;
    }
}

static int mp_skip1(mp_t *r)
{
    return mp_skip(r, TD_ALPACA_MSGPACK_CLIENT_DEPTH);
}

static int item_is(const mp_item_t *it, const char *lit)
{
    size_t n = strlen(lit);
    return it->type == MP_STR && it->len == n && memcmp(it->str, lit, n) == 0;
}

/* The value of an "action" member, already read. */
static int action_of(const mp_item_t *v)
{
    if (item_is(v, "auth")) return TD_ALPACA_CLIENT_AUTH;
    if (item_is(v, "subscribe")) return TD_ALPACA_CLIENT_SUBSCRIBE;
    if (item_is(v, "unsubscribe")) return TD_ALPACA_CLIENT_UNSUBSCRIBE;
    return TD_EACTION;
}

/* The first "action" member of a validated map of n members at r. */
static int mp_find_action(mp_t r, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        mp_item_t k, v;
        if (mp_head(&r, &k) || k.type != MP_STR) return TD_EMALFORMED;
        if (!item_is(&k, "action")) {
            if (mp_skip1(&r)) return TD_EMALFORMED;
            continue;
        }
        if (mp_head(&r, &v)) return TD_EMALFORMED;
        return v.type == MP_STR ? action_of(&v) : TD_EACTION;
    }
    return TD_EACTION;
}

static int mp_cred(mp_t *r, char *out, size_t *len, int *has)
{
    mp_item_t v;
    const unsigned char *at = r->p;
    if (mp_head(r, &v)) return TD_EMALFORMED;
    if (v.type != MP_STR) { /* treated as absent */
        r->p = at;
        return mp_skip1(r) ? TD_EMALFORMED : 0;
    }
    if (v.len > TD_ALPACA_CLIENT_CRED_MAX) return TD_ETOOLONG;
    if (memchr(v.str, '\0', v.len)) return 0; /* never valid: treated as absent */
    memcpy(out, v.str, v.len);
    out[v.len] = '\0';
    *len = v.len;
    *has = 1;
    return 0;
}

/* One channel list under a word of kind `kind` (-1: not a channel). */
static int mp_list(mp_t *r, int kind, td_alpaca_client_msg_t *m)
{
    mp_item_t v;
    const unsigned char *at = r->p;
    if (mp_head(r, &v)) return TD_EMALFORMED;
    if (v.type == MP_NIL) return 0;
    if (v.type != MP_ARR) {
        if (kind >= 0) return TD_EMALFORMED;
        r->p = at;
        return mp_skip1(r) ? TD_EMALFORMED : 0;
    }
    if (v.len == 0) return 0;
    if (kind < 0) return TD_ECHANNEL;
    for (uint32_t i = 0; i < v.len; i++) {
        mp_item_t s;
        if (mp_head(r, &s)) return TD_EMALFORMED;
        if (s.type != MP_STR || !td_alpaca_client_symbol_ok(s.str, s.len)) return TD_ESYMBOL;
        td_subset_append(&m->sub, (td_kind_t)kind, s.str, s.len); /* settled in mp_parse_doc */
    }
    m->kinds |= 1u << kind;
    return 0;
}

static int mp_members(mp_t r, uint32_t n, td_alpaca_client_msg_t *m)
{
    for (uint32_t i = 0; i < n; i++) {
        mp_item_t k;
        if (mp_head(&r, &k) || k.type != MP_STR) return TD_EMALFORMED;
        int rc;
        if (item_is(&k, "action")) {
            rc = mp_skip1(&r) ? TD_EMALFORMED : 0;
        } else if (m->action == TD_ALPACA_CLIENT_AUTH) {
            if (item_is(&k, "key"))
                rc = mp_cred(&r, m->key, &m->key_len, &m->has_key);
            else if (item_is(&k, "secret"))
                rc = mp_cred(&r, m->secret, &m->secret_len, &m->has_secret);
            else
                rc = mp_skip1(&r) ? TD_EMALFORMED : 0;
        } else if (item_is(&k, "snapshot")) { /* tickerd's extension: true or not */
            m->snapshot = r.p < r.end && *r.p == 0xc3;
            rc = mp_skip1(&r) ? TD_EMALFORMED : 0;
        } else if (item_is(&k, "gaps")) { /* tickerd's extension: true or not */
            m->gaps = r.p < r.end && *r.p == 0xc3;
            rc = mp_skip1(&r) ? TD_EMALFORMED : 0;
        } else {
            rc = mp_list(&r, td_kind_parse(k.str, k.len), m);
        }
        if (rc != 0) return rc;
    }
    return 0;
}

static int mp_parse_doc(const char *p, size_t n, td_alpaca_client_msg_t *m)
{
    mp_t r = {(const unsigned char *)p, (const unsigned char *)p + n};
    if (mp_skip1(&r) != 0 || r.p != r.end) return TD_EMALFORMED;
    r.p = (const unsigned char *)p;
    mp_item_t top;
    if (mp_head(&r, &top) || top.type != MP_MAP) return TD_EMALFORMED;
    int rc = mp_find_action(r, top.len);
    if (rc <= 0) return rc;
    m->action = (td_alpaca_client_action_t)rc;
    rc = mp_members(r, top.len, m);
    td_subset_settle(&m->sub);
    return rc;
}

int td_alpaca_client_parse_msgpack(const char *p, size_t n, td_alpaca_client_msg_t *m)
{
    td_alpaca_client_msg_free(m);
    td_alpaca_client_msg_init(m);
    int rc = p ? mp_parse_doc(p, n, m) : TD_EMALFORMED;
    if (rc != 0) {
        td_alpaca_client_msg_free(m);
        td_alpaca_client_msg_init(m);
    }
    return rc;
}
