/* SPDX-License-Identifier: Apache-2.0 */
#include "redis/slots.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HOST 255

static uint16_t crc_table[256];
static int crc_ready;

static void crc_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)(i << 8);
        for (int b = 0; b < 8; b++)
            c = (uint16_t)(c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1);
        crc_table[i] = c;
    }
    crc_ready = 1;
}

uint16_t td_rslot_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    if (!crc_ready) crc_init();
    for (size_t i = 0; i < len; i++)
        crc = (uint16_t)((crc << 8) ^ crc_table[((crc >> 8) ^ (unsigned char)buf[i]) & 0xFF]);
    return crc;
}

unsigned td_rslot_key(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1) {
            key = open + 1;
            len = (size_t)(close - key);
        }
    }
    return td_rslot_crc16(key, len) & (TD_RSLOTS - 1);
}

void td_rslot_map_clear(td_rslot_map_t *m)
{
    for (size_t i = 0; i < m->npri; i++)
        free(m->pri[i].host);
    m->npri = 0;
    m->covered = 0;
    memset(m->owner, 0xFF, sizeof m->owner);
}

/* ---- reply walking -------------------------------------------------------- */

typedef struct addr_s {
    const td_resp_node_t *host;
    int64_t port;
} addr_t;

static int is_text(const td_resp_node_t *n)
{
    return n && (n->type == TD_RESP_BULK || n->type == TD_RESP_STATUS);
}

/* The index of the node after a's subtree is a's `next`; elements of an
 * array at index a are walked with td_resp_elem. */
static const td_resp_node_t *kv_get(const td_resp_reader_t *r, size_t a, const char *key)
{
    const td_resp_node_t *arr = &r->v[a];
    if (arr->type != TD_RESP_ARRAY) return NULL;
    size_t k = a + 1;
    for (uint32_t i = 0; i + 1 < arr->n; i += 2) {
        size_t v = r->v[k].next;
        if (td_resp_is(&r->v[k], key)) return &r->v[v];
        k = r->v[v].next;
    }
    return NULL;
}

static size_t idx(const td_resp_reader_t *r, const td_resp_node_t *n)
{
    return (size_t)(n - r->v);
}

/* Index of the primary at addr in m (added if new); -1 if invalid. */
static int add_primary(td_rslot_map_t *m, const addr_t *a, const char *asked_host)
{
    const char *h = a->host ? a->host->s : NULL;
    size_t hl = a->host ? a->host->len : 0;
    if (hl == 0 || (hl == 1 && h[0] == '?')) h = asked_host, hl = strlen(asked_host);
    if (hl == 0 || hl > MAX_HOST || a->port <= 0 || a->port > 65535) return -1;
    for (size_t i = 0; i < hl; i++)
        if ((unsigned char)h[i] <= ' ' || strchr("/?#@[]{}", h[i])) return -1;
    for (size_t i = 0; i < m->npri; i++)
        if (m->pri[i].port == a->port && strlen(m->pri[i].host) == hl &&
            memcmp(m->pri[i].host, h, hl) == 0)
            return (int)i;
    if (m->npri == TD_RSLOT_MAX_PRI) return -1;
    m->pri[m->npri].host = td_xstrndup(h, hl);
    m->pri[m->npri].port = (int)a->port;
    return (int)m->npri++;
}

static int assign(td_rslot_map_t *m, int64_t lo, int64_t hi, int owner)
{
    if (lo < 0 || hi < lo || hi >= TD_RSLOTS) return -1;
    for (int64_t s = lo; s <= hi; s++) {
        if (m->owner[s] == TD_RSLOT_NONE) m->covered++;
        m->owner[s] = (uint16_t)owner;
    }
    return 0;
}

/* CLUSTER SHARDS: the shard's primary. 0 (found), 1 (none), -1 (bad). */
static int shard_primary(const td_resp_reader_t *r, const td_resp_node_t *nodes, addr_t *out)
{
    int found = 0;
    for (uint32_t i = 0; i < nodes->n; i++) {
        const td_resp_node_t *nd = td_resp_elem(r, idx(r, nodes), i);
        if (!nd || nd->type != TD_RESP_ARRAY) return -1;
        size_t a = idx(r, nd);
        const td_resp_node_t *role = kv_get(r, a, "role"), *health = kv_get(r, a, "health");
        const td_resp_node_t *ep = kv_get(r, a, "endpoint"), *ip = kv_get(r, a, "ip");
        const td_resp_node_t *port = kv_get(r, a, "port");
        if (!td_resp_is(role, "master")) continue;
        if (!port || port->type != TD_RESP_INT) return -1;
        int online = td_resp_is(health, "online");
        if (found && !online) continue;
        out->host = is_text(ep) && ep->len && !td_resp_is(ep, "?") ? ep : is_text(ip) ? ip : NULL;
        out->port = port->i;
        found = 1 + online;
    }
    return found ? 0 : 1;
}

static int parse_shards(td_rslot_map_t *m, const td_resp_reader_t *r, const char *asked,
                        const char **why)
{
    for (uint32_t i = 0; i < r->v[0].n; i++) {
        const td_resp_node_t *sh = td_resp_elem(r, 0, i);
        const td_resp_node_t *slots = sh ? kv_get(r, idx(r, sh), "slots") : NULL;
        const td_resp_node_t *nodes = sh ? kv_get(r, idx(r, sh), "nodes") : NULL;
        addr_t a = {0};
        if (!slots || !nodes || slots->type != TD_RESP_ARRAY || nodes->type != TD_RESP_ARRAY ||
            slots->n % 2)
            return *why = "a shard without slots or nodes", -1;
        int rc = shard_primary(r, nodes, &a);
        if (rc < 0) return *why = "a malformed node", -1;
        if (rc > 0 || slots->n == 0) continue; /* no primary: its slots stay uncovered */
        int owner = add_primary(m, &a, asked);
        if (owner < 0) return *why = "a bad primary address", -1;
        for (uint32_t k = 0; k < slots->n; k += 2) {
            const td_resp_node_t *lo = td_resp_elem(r, idx(r, slots), k);
            const td_resp_node_t *hi = td_resp_elem(r, idx(r, slots), k + 1);
            if (lo->type != TD_RESP_INT || hi->type != TD_RESP_INT ||
                assign(m, lo->i, hi->i, owner) != 0)
                return *why = "a bad slot range", -1;
        }
    }
    return 0;
}

/* CLUSTER SLOTS: [[start, end, [host, port, id, ...], replicas...], ...] */
static int parse_slots(td_rslot_map_t *m, const td_resp_reader_t *r, const char *asked,
                       const char **why)
{
    for (uint32_t i = 0; i < r->v[0].n; i++) {
        const td_resp_node_t *e = td_resp_elem(r, 0, i);
        if (!e || e->type != TD_RESP_ARRAY || e->n < 3) return *why = "a short slot entry", -1;
        const td_resp_node_t *lo = td_resp_elem(r, idx(r, e), 0);
        const td_resp_node_t *hi = td_resp_elem(r, idx(r, e), 1);
        const td_resp_node_t *pn = td_resp_elem(r, idx(r, e), 2);
        const td_resp_node_t *h = pn ? td_resp_elem(r, idx(r, pn), 0) : NULL;
        const td_resp_node_t *p = pn ? td_resp_elem(r, idx(r, pn), 1) : NULL;
        if (lo->type != TD_RESP_INT || hi->type != TD_RESP_INT || !p || p->type != TD_RESP_INT ||
            (h && !is_text(h) && h->type != TD_RESP_NIL))
            return *why = "a malformed slot entry", -1;
        addr_t a = {is_text(h) ? h : NULL, p->i};
        int owner = add_primary(m, &a, asked);
        if (owner < 0) return *why = "a bad primary address", -1;
        if (assign(m, lo->i, hi->i, owner) != 0) return *why = "a bad slot range", -1;
    }
    return 0;
}

int td_rslot_map_parse(td_rslot_map_t *m, const td_resp_reader_t *r, td_rslot_fmt_t fmt,
                       const char *asked_host, const char **why)
{
    td_rslot_map_clear(m);
    int rc = -1;
    if (r->n == 0 || r->v[0].type != TD_RESP_ARRAY)
        *why = r->n && r->v[0].type == TD_RESP_ERROR ? "an error reply" : "not an array";
    else if (fmt == TD_RSLOT_SHARDS)
        rc = parse_shards(m, r, asked_host, why);
    else
        rc = parse_slots(m, r, asked_host, why);
    if (rc != 0) td_rslot_map_clear(m);
    return rc;
}

int td_rslot_map_same(const td_rslot_map_t *a, const td_rslot_map_t *b)
{
    for (size_t s = 0; s < TD_RSLOTS; s++) {
        uint16_t x = a->owner[s], y = b->owner[s];
        if (x == TD_RSLOT_NONE || y == TD_RSLOT_NONE) {
            if (x != y) return 0;
            continue;
        }
        if (a->pri[x].port != b->pri[y].port || strcmp(a->pri[x].host, b->pri[y].host) != 0)
            return 0;
    }
    return 1;
}

int td_rslot_redirect(const char *s, size_t len, unsigned *slot, char *host, size_t hostcap,
                      int *port)
{
    int kind = len > 6 && memcmp(s, "MOVED ", 6) == 0 ? 1
               : len > 4 && memcmp(s, "ASK ", 4) == 0 ? 2
                                                      : 0;
    if (!kind) return 0;
    const char *p = s + (kind == 1 ? 6 : 4), *end = s + len;
    unsigned v = 0;
    if (p == end || *p < '0' || *p > '9') return 0;
    while (p < end && *p >= '0' && *p <= '9' && v < TD_RSLOTS)
        v = v * 10 + (unsigned)(*p++ - '0');
    if (v >= TD_RSLOTS || p == end || *p++ != ' ') return 0;
    const char *colon = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == ':') colon = q; /* the last one: IPv6 hosts have colons */
    if (!colon || colon == p || (size_t)(colon - p) >= hostcap) return 0;
    long pt = 0;
    for (const char *q = colon + 1; q < end; q++) {
        if (*q < '0' || *q > '9' || pt > 65535) return 0;
        pt = pt * 10 + (*q - '0');
    }
    if (pt <= 0 || pt > 65535) return 0;
    size_t hl = (size_t)(colon - p);
    if (hl >= 2 && p[0] == '[' && p[hl - 1] == ']') p++, hl -= 2;
    memcpy(host, p, hl);
    host[hl] = '\0';
    *slot = v;
    *port = (int)pt;
    return kind;
}
