#include "bus/bus.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/* A small vector of consumers. */
typedef struct {
    td_bus_consumer_t **v;
    uint32_t n, cap;
} cvec;

struct td_bus_consumer_s {
    td_bus_cb cb;
    void *ud;
    td_bus_consumer_t *next; /* all consumers, for free */
};

/* Open-addressing table of (kind, symbol) → consumers that named it. */
typedef struct {
    char *sym; /* NULL: empty slot */
    uint32_t sym_len;
    uint32_t hash;
    td_kind_t kind;
    cvec subs;
} slot;

struct td_bus_s {
    cvec wild[TD_KIND__COUNT];
    slot *slots;
    uint32_t nslots, used; /* nslots is a power of two */
    td_bus_consumer_t *all;
    uint64_t count[TD_KIND__COUNT];
};

static uint32_t hash_key(td_kind_t kind, const char *s, size_t n)
{
    uint32_t h = 2166136261u ^ (uint32_t)kind;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void cvec_add(cvec *v, td_bus_consumer_t *c)
{
    for (uint32_t i = 0; i < v->n; i++)
        if (v->v[i] == c) return;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->v = td_xrealloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = c;
}

static void cvec_del(cvec *v, td_bus_consumer_t *c)
{
    for (uint32_t i = 0; i < v->n; i++) {
        if (v->v[i] == c) {
            memmove(v->v + i, v->v + i + 1, (v->n - i - 1) * sizeof *v->v);
            v->n--;
            return;
        }
    }
}

td_bus_t *td_bus_new(void)
{
    td_bus_t *b = td_xcalloc(1, sizeof *b);
    b->nslots = 256;
    b->slots = td_xcalloc(b->nslots, sizeof *b->slots);
    return b;
}

void td_bus_free(td_bus_t *b)
{
    if (!b) return;
    for (uint32_t i = 0; i < b->nslots; i++) {
        free(b->slots[i].sym);
        free(b->slots[i].subs.v);
    }
    free(b->slots);
    for (int k = 0; k < TD_KIND__COUNT; k++)
        free(b->wild[k].v);
    while (b->all) {
        td_bus_consumer_t *n = b->all->next;
        free(b->all);
        b->all = n;
    }
    free(b);
}

static slot *lookup(const td_bus_t *b, td_kind_t kind, const char *s, size_t n, uint32_t h)
{
    uint32_t mask = b->nslots - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        slot *sl = &b->slots[i];
        if (!sl->sym) return sl;
        if (sl->hash == h && sl->kind == kind && sl->sym_len == n && memcmp(sl->sym, s, n) == 0)
            return sl;
    }
}

static void grow(td_bus_t *b)
{
    slot *old = b->slots;
    uint32_t oldn = b->nslots;
    b->nslots *= 2;
    b->slots = td_xcalloc(b->nslots, sizeof *b->slots);
    for (uint32_t i = 0; i < oldn; i++) {
        if (!old[i].sym) continue;
        *lookup(b, old[i].kind, old[i].sym, old[i].sym_len, old[i].hash) = old[i];
    }
    free(old);
}

/* Slots are never removed (a symbol that was wanted once is likely wanted
 * again); an entry with no consumers costs one probe. */
static slot *intern(td_bus_t *b, td_kind_t kind, const char *s, size_t n)
{
    if ((b->used + 1) * 4 > b->nslots * 3) grow(b);
    uint32_t h = hash_key(kind, s, n);
    slot *sl = lookup(b, kind, s, n, h);
    if (!sl->sym) {
        sl->sym = td_xstrndup(s, n);
        sl->sym_len = (uint32_t)n;
        sl->hash = h;
        sl->kind = kind;
        b->used++;
    }
    return sl;
}

td_bus_consumer_t *td_bus_attach(td_bus_t *b, td_bus_cb cb, void *ud)
{
    td_bus_consumer_t *c = td_xcalloc(1, sizeof *c);
    c->cb = cb;
    c->ud = ud;
    c->next = b->all;
    b->all = c;
    return c;
}

void td_bus_detach(td_bus_t *b, td_bus_consumer_t *c)
{
    for (int k = 0; k < TD_KIND__COUNT; k++)
        cvec_del(&b->wild[k], c);
    for (uint32_t i = 0; i < b->nslots; i++)
        if (b->slots[i].sym) cvec_del(&b->slots[i].subs, c);
    for (td_bus_consumer_t **p = &b->all; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    free(c);
}

void td_bus_want(td_bus_t *b, td_bus_consumer_t *c, td_kind_t kind, const char *s, size_t n)
{
    if (n == 1 && s[0] == '*')
        cvec_add(&b->wild[kind], c);
    else
        cvec_add(&intern(b, kind, s, n)->subs, c);
}

void td_bus_unwant(td_bus_t *b, td_bus_consumer_t *c, td_kind_t kind, const char *s, size_t n)
{
    if (n == 1 && s[0] == '*') {
        cvec_del(&b->wild[kind], c);
        return;
    }
    slot *sl = lookup(b, kind, s, n, hash_key(kind, s, n));
    if (sl->sym) cvec_del(&sl->subs, c);
}

void td_bus_want_all(td_bus_t *b, td_bus_consumer_t *c)
{
    for (int k = 0; k < TD_KIND__COUNT; k++)
        cvec_add(&b->wild[k], c);
}

void td_bus_publish(td_bus_t *b, const td_event_t *ev)
{
    if ((unsigned)ev->kind >= TD_KIND__COUNT) return;
    b->count[ev->kind]++;
    const cvec *w = &b->wild[ev->kind];
    for (uint32_t i = 0; i < w->n; i++)
        w->v[i]->cb(w->v[i]->ud, ev);
    if (b->used == 0) return;
    const slot *sl = lookup(b, ev->kind, ev->symbol, ev->symbol_len,
                            hash_key(ev->kind, ev->symbol, ev->symbol_len));
    if (!sl->sym) return;
    for (uint32_t i = 0; i < sl->subs.n; i++) {
        td_bus_consumer_t *c = sl->subs.v[i];
        /* A consumer with both a wildcard and a name gets the event once. */
        int dup = 0;
        for (uint32_t j = 0; j < w->n && !dup; j++)
            dup = w->v[j] == c;
        if (!dup) c->cb(c->ud, ev);
    }
}

uint64_t td_bus_count(const td_bus_t *b, td_kind_t kind)
{
    return b->count[kind];
}
