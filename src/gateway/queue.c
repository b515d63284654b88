/* SPDX-License-Identifier: Apache-2.0 */
/* Shared messages, the conflation keys and the per-client queues. */
#include "core/mem.h"
#include "gateway/gw_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- messages -------------------------------------------------------------- */

gw_msg_t *td__gw_msg_new(const void *data, size_t len, int kind, uint32_t key, uint64_t id)
{
    gw_msg_t *m = td_xmalloc(sizeof *m + len + 1);
    m->refs = 1;
    m->key = key;
    m->kind = (uint8_t)kind;
    m->id = id;
    m->len = len;
    memcpy(m->data, data, len);
    m->data[len] = '\0';
    return m;
}

void td__gw_msg_unref(gw_msg_t *m)
{
    if (m && --m->refs == 0) free(m);
}

/* ---- conflation keys -------------------------------------------------------- */

struct gw_key_s {
    char *sym; /* NULL: empty slot */
    uint32_t len, hash, id;
    td_kind_t kind;
};

static uint32_t hash_key(td_kind_t kind, const char *s, size_t n)
{
    uint32_t h = 2166136261u ^ (uint32_t)kind;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static struct gw_key_s *key_slot(const gw_keys_t *k, td_kind_t kind, const char *s, size_t n,
                                 uint32_t h)
{
    uint32_t mask = k->cap - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        struct gw_key_s *e = &k->v[i];
        if (!e->sym) return e;
        if (e->hash == h && e->kind == kind && e->len == n && memcmp(e->sym, s, n) == 0) return e;
    }
}

static void keys_grow(gw_keys_t *k)
{
    struct gw_key_s *old = k->v;
    uint32_t oldcap = k->cap;
    k->cap = k->cap ? k->cap * 2 : 256;
    k->v = td_xcalloc(k->cap, sizeof *k->v);
    for (uint32_t i = 0; i < oldcap; i++)
        if (old[i].sym) *key_slot(k, old[i].kind, old[i].sym, old[i].len, old[i].hash) = old[i];
    free(old);
}

uint32_t td__gw_keys_get(gw_keys_t *k, td_kind_t kind, const char *sym, size_t n)
{
    if ((k->n + 1) * 4 > k->cap * 3) keys_grow(k);
    uint32_t h = hash_key(kind, sym, n);
    struct gw_key_s *e = key_slot(k, kind, sym, n, h);
    if (!e->sym) {
        e->sym = td_xstrndup(sym, n);
        e->len = (uint32_t)n;
        e->hash = h;
        e->kind = kind;
        e->id = ++k->n;
    }
    return e->id;
}

void td__gw_keys_free(gw_keys_t *k)
{
    for (uint32_t i = 0; i < k->cap; i++)
        free(k->v[i].sym);
    free(k->v);
    memset(k, 0, sizeof *k);
}

/* ---- the conflation index: key → absolute position -------------------------- */

static uint32_t idx_find(const gw_index_t *x, uint32_t key)
{
    uint32_t mask = x->cap - 1;
    for (uint32_t i = (key * 2654435761u) & mask;; i = (i + 1) & mask)
        if (x->keys[i] == key || x->keys[i] == 0) return i;
}

static void idx_put(gw_index_t *x, uint32_t key, uint64_t pos);

static void idx_grow(gw_index_t *x)
{
    gw_index_t old = *x;
    x->cap = x->cap ? x->cap * 2 : 16;
    x->n = 0;
    x->keys = td_xcalloc(x->cap, sizeof *x->keys);
    x->pos = td_xcalloc(x->cap, sizeof *x->pos);
    for (uint32_t i = 0; i < old.cap; i++)
        if (old.keys[i]) idx_put(x, old.keys[i], old.pos[i]);
    free(old.keys);
    free(old.pos);
}

static void idx_put(gw_index_t *x, uint32_t key, uint64_t pos)
{
    if ((x->n + 1) * 2 > x->cap) idx_grow(x);
    uint32_t i = idx_find(x, key);
    if (!x->keys[i]) x->n++;
    x->keys[i] = key;
    x->pos[i] = pos;
}

static int idx_get(const gw_index_t *x, uint32_t key, uint64_t *pos)
{
    if (!x->n) return 0;
    uint32_t i = idx_find(x, key);
    if (!x->keys[i]) return 0;
    *pos = x->pos[i];
    return 1;
}

/* Linear probing: deletion shifts later members of the cluster back. */
static void idx_del(gw_index_t *x, uint32_t key)
{
    if (!x->n) return;
    uint32_t mask = x->cap - 1, i = idx_find(x, key);
    if (!x->keys[i]) return;
    x->keys[i] = 0;
    x->n--;
    for (uint32_t j = (i + 1) & mask; x->keys[j]; j = (j + 1) & mask) {
        uint32_t home = (x->keys[j] * 2654435761u) & mask;
        /* move j to i if its home is not in (i, j] (cyclically) */
        int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (in_range) continue;
        x->keys[i] = x->keys[j];
        x->pos[i] = x->pos[j];
        x->keys[j] = 0;
        i = j;
    }
}

/* ---- queues ----------------------------------------------------------------- */

static size_t cost(const gw_msg_t *m)
{
    return m->len + GW_ENTRY_OVERHEAD;
}

void td__gw_queue_free(gw_queue_t *q)
{
    while (q->n)
        td__gw_msg_unref(td__gw_queue_pop(q));
    free(q->v);
    free(q->idx.keys);
    free(q->idx.pos);
    memset(q, 0, sizeof *q);
}

gw_msg_t *td__gw_queue_peek(const gw_queue_t *q, size_t i)
{
    return i < q->n ? q->v[(q->h + i) & (q->cap - 1)] : NULL;
}

int td__gw_queue_conflate(gw_queue_t *q, gw_msg_t *m)
{
    uint64_t pos;
    if (!m->key || !idx_get(&q->idx, m->key, &pos)) return 0;
    gw_msg_t **slot = &q->v[(q->h + (size_t)(pos - q->head)) & (q->cap - 1)];
    q->bytes = q->bytes - cost(*slot) + cost(m);
    td__gw_msg_unref(*slot);
    m->refs++;
    *slot = m;
    return 1;
}

void td__gw_queue_push(gw_queue_t *q, gw_msg_t *m)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        gw_msg_t **v = td_xmalloc(cap * sizeof *v);
        for (size_t i = 0; i < q->n; i++)
            v[i] = q->v[(q->h + i) & (q->cap - 1)];
        free(q->v);
        q->v = v;
        q->cap = cap;
        q->h = 0;
    }
    m->refs++;
    q->v[(q->h + q->n) & (q->cap - 1)] = m;
    if (m->key) idx_put(&q->idx, m->key, q->head + q->n);
    q->n++;
    q->bytes += cost(m);
}

gw_msg_t *td__gw_queue_pop(gw_queue_t *q)
{
    if (!q->n) return NULL;
    gw_msg_t *m = q->v[q->h];
    if (m->key) idx_del(&q->idx, m->key);
    q->h = (q->h + 1) & (q->cap - 1);
    q->n--;
    q->head++;
    q->bytes -= cost(m);
    return m;
}
