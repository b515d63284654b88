/* SPDX-License-Identifier: Apache-2.0 */
/* The outgoing-frame queue (outq.h): shared messages, conflation keys,
 * the queues and the building of frames. */
#include "core/outq.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/* ---- messages -------------------------------------------------------------- */

td_outmsg_t *td_outmsg_alloc(size_t len, int kind, uint32_t key, uint64_t id)
{
    td_outmsg_t *m = td_xmalloc(sizeof *m + len + 1);
    m->refs = 1;
    m->key = key;
    m->kind = (uint8_t)kind;
    m->id = id;
    m->len = len;
    m->data[len] = '\0';
    return m;
}

td_outmsg_t *td_outmsg_new(const void *data, size_t len, int kind, uint32_t key, uint64_t id)
{
    td_outmsg_t *m = td_outmsg_alloc(len, kind, key, id);
    memcpy(m->data, data, len);
    return m;
}

td_outmsg_t *td_outmsg_room(td_outmsg_t *m, size_t cap)
{
    return td_xrealloc(m, sizeof *m + cap + 1);
}

void td_outmsg_unref(td_outmsg_t *m)
{
    if (m && --m->refs == 0) free(m);
}

/* ---- conflation keys -------------------------------------------------------- */

struct td_outkey_s {
    char *sym; /* NULL: empty slot */
    uint32_t len, hash, id;
    unsigned kind;
};

static uint32_t hash_key(unsigned kind, const char *s, size_t n)
{
    uint32_t h = 2166136261u ^ (uint32_t)kind;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static struct td_outkey_s *key_slot(const td_outkeys_t *k, unsigned kind, const char *s, size_t n,
                                    uint32_t h)
{
    uint32_t mask = k->cap - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        struct td_outkey_s *e = &k->v[i];
        if (!e->sym) return e;
        if (e->hash == h && e->kind == kind && e->len == n && memcmp(e->sym, s, n) == 0) return e;
    }
}

static void keys_grow(td_outkeys_t *k)
{
    struct td_outkey_s *old = k->v;
    uint32_t oldcap = k->cap;
    k->cap = k->cap ? k->cap * 2 : 256;
    k->v = td_xcalloc(k->cap, sizeof *k->v);
    for (uint32_t i = 0; i < oldcap; i++)
        if (old[i].sym) *key_slot(k, old[i].kind, old[i].sym, old[i].len, old[i].hash) = old[i];
    free(old);
}

uint32_t td_outkeys_get(td_outkeys_t *k, unsigned kind, const char *sym, size_t n)
{
    if ((k->n + 1) * 4 > k->cap * 3) keys_grow(k);
    uint32_t h = hash_key(kind, sym, n);
    struct td_outkey_s *e = key_slot(k, kind, sym, n, h);
    if (!e->sym) {
        e->sym = td_xstrndup(sym, n);
        e->len = (uint32_t)n;
        e->hash = h;
        e->kind = kind;
        e->id = ++k->n;
    }
    return e->id;
}

void td_outkeys_free(td_outkeys_t *k)
{
    for (uint32_t i = 0; i < k->cap; i++)
        free(k->v[i].sym);
    free(k->v);
    memset(k, 0, sizeof *k);
}

/* ---- the conflation index: key → absolute position -------------------------- */

static uint32_t idx_find(const td_outq_index_t *x, uint32_t key)
{
    uint32_t mask = x->cap - 1;
    for (uint32_t i = (key * 2654435761u) & mask;; i = (i + 1) & mask)
        if (x->keys[i] == key || x->keys[i] == 0) return i;
}

static void idx_put(td_outq_index_t *x, uint32_t key, uint64_t pos);

static void idx_grow(td_outq_index_t *x)
{
    td_outq_index_t old = *x;
    x->cap = x->cap ? x->cap * 2 : 16;
    x->n = 0;
    x->keys = td_xcalloc(x->cap, sizeof *x->keys);
    x->pos = td_xcalloc(x->cap, sizeof *x->pos);
    for (uint32_t i = 0; i < old.cap; i++)
        if (old.keys[i]) idx_put(x, old.keys[i], old.pos[i]);
    free(old.keys);
    free(old.pos);
}

static void idx_put(td_outq_index_t *x, uint32_t key, uint64_t pos)
{
    if ((x->n + 1) * 2 > x->cap) idx_grow(x);
    uint32_t i = idx_find(x, key);
    if (!x->keys[i]) x->n++;
    x->keys[i] = key;
    x->pos[i] = pos;
}

static int idx_get(const td_outq_index_t *x, uint32_t key, uint64_t *pos)
{
    if (!x->n) return 0;
    uint32_t i = idx_find(x, key);
    if (!x->keys[i]) return 0;
    *pos = x->pos[i];
    return 1;
}

/* Linear probing: deletion shifts later members of the cluster back. */
static void idx_del(td_outq_index_t *x, uint32_t key)
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

static size_t cost(const td_outq_t *q, const td_outmsg_t *m)
{
    return m->len + q->overhead;
}

void td_outq_init(td_outq_t *q, size_t overhead)
{
    memset(q, 0, sizeof *q);
    q->overhead = overhead;
}

void td_outq_clear(td_outq_t *q)
{
    size_t overhead = q->overhead;
    while (q->n)
        td_outmsg_unref(td_outq_pop(q));
    free(q->v);
    free(q->idx.keys);
    free(q->idx.pos);
    td_outq_init(q, overhead);
}

td_outmsg_t *td_outq_peek(const td_outq_t *q, size_t i)
{
    return i < q->n ? q->v[(q->h + i) & (q->cap - 1)] : NULL;
}

int td_outq_conflate(td_outq_t *q, td_outmsg_t *m)
{
    uint64_t pos;
    if (!m->key || !idx_get(&q->idx, m->key, &pos)) return 0;
    td_outmsg_t **slot = &q->v[(q->h + (size_t)(pos - q->head)) & (q->cap - 1)];
    q->bytes = q->bytes - cost(q, *slot) + cost(q, m);
    td_outmsg_unref(*slot);
    m->refs++;
    *slot = m;
    return 1;
}

void td_outq_push(td_outq_t *q, td_outmsg_t *m)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        td_outmsg_t **v = td_xmalloc(cap * sizeof *v);
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
    q->bytes += cost(q, m);
}

td_outmsg_t *td_outq_pop(td_outq_t *q)
{
    if (!q->n) return NULL;
    td_outmsg_t *m = q->v[q->h];
    if (m->key) idx_del(&q->idx, m->key);
    q->h = (q->h + 1) & (q->cap - 1);
    q->n--;
    q->head++;
    q->bytes -= cost(q, m);
    return m;
}

/* ---- frames ------------------------------------------------------------------ */

void td_outq_json_open(td_buf_t *b, uint32_t n)
{
    (void)n;
    td_buf_appendc(b, '[');
}

const td_outq_framing_t td_outq_json_array = {td_outq_json_open, ',', ']'};

/* The data messages at the head that go into the next frame, and their
 * bytes (plus one each). */
static size_t batch(const td_outq_t *q, size_t cap, uint32_t max_n, size_t *bytes)
{
    size_t n = 0, mask = q->cap - 1;
    *bytes = 0;
    for (; n < q->n && (!max_n || n < max_n); n++) {
        const td_outmsg_t *x = q->v[(q->h + n) & mask];
        if (x->kind == TD_OUTQ_CONTROL || (n && *bytes + x->len > cap)) break;
        *bytes += x->len + 1;
    }
    return n;
}

uint32_t td_outq_build(td_outq_t *q, td_buf_t *f, const td_outq_framing_t *fr, size_t cap,
                       uint32_t max_n, uint64_t *counts)
{
    if (!q->n) return 0;
    if (q->v[q->h]->kind == TD_OUTQ_CONTROL) {
        td_outmsg_t *m = td_outq_pop(q);
        td_buf_append(f, m->data, m->len);
        td_outmsg_unref(m);
        return 0;
    }
    size_t bytes, n = batch(q, cap, max_n, &bytes), mask = q->cap - 1;
    td_buf_reserve(f, bytes + 16); /* with open (at most 5 bytes), close and the NUL */
    if (fr->open) fr->open(f, (uint32_t)n);
    char *p = f->data + f->len;
    for (size_t i = 0; i < n; i++) { /* popped in place, one pass */
        td_outmsg_t *x = q->v[(q->h + i) & mask];
        if (i && fr->sep) *p++ = fr->sep;
        memcpy(p, x->data, x->len);
        p += x->len;
        if (counts) counts[x->kind]++;
        if (x->key) idx_del(&q->idx, x->key);
        q->bytes -= cost(q, x);
        td_outmsg_unref(x);
    }
    if (fr->close) *p++ = fr->close;
    *p = '\0';
    f->len = (size_t)(p - f->data);
    q->h = (q->h + n) & mask;
    q->n -= n;
    q->head += n;
    return (uint32_t)n;
}
