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
    td_bus_cb cb; /* NULL: interest only (e.g. the static --subscribe set) */
    void *ud;
    int tap;
    td_bus_consumer_t *next; /* all consumers, for free */
};

/* Open-addressing table of (kind, symbol) → consumers that named it. */
typedef struct {
    char *sym; /* NULL: empty slot */
    uint32_t sym_len;
    uint32_t hash;
    td_kind_t kind;
    cvec subs;
    char *last; /* newest payload, for kinds in cache_kinds */
    uint32_t last_len, last_cap;
} slot;

struct td_bus_s {
    cvec wild[TD_KIND__COUNT];
    slot *slots;
    uint32_t nslots, used; /* nslots is a power of two */
    cvec taps;
    td_bus_consumer_t *all;
    td_bus_interest_cb on_interest;
    void *interest_ud;
    unsigned cache_kinds;
    uint64_t seq;
    uint64_t count[TD_KIND__COUNT];
};

static uint32_t hash_key(td_kind_t kind, const char *s, size_t n)
{
    uint32_t h = 2166136261u ^ (uint32_t)kind;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Both return 1 if the vector changed. */
static int cvec_add(cvec *v, td_bus_consumer_t *c)
{
    for (uint32_t i = 0; i < v->n; i++)
        if (v->v[i] == c) return 0;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->v = td_xrealloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = c;
    return 1;
}

static int cvec_del(cvec *v, td_bus_consumer_t *c)
{
    for (uint32_t i = 0; i < v->n; i++) {
        if (v->v[i] == c) {
            memmove(v->v + i, v->v + i + 1, (v->n - i - 1) * sizeof *v->v);
            v->n--;
            return 1;
        }
    }
    return 0;
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
        free(b->slots[i].last);
    }
    free(b->slots);
    for (int k = 0; k < TD_KIND__COUNT; k++)
        free(b->wild[k].v);
    free(b->taps.v);
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

td_bus_consumer_t *td_bus_tap(td_bus_t *b, td_bus_cb cb, void *ud)
{
    td_bus_consumer_t *c = td_bus_attach(b, cb, ud);
    c->tap = 1;
    cvec_add(&b->taps, c);
    return c;
}

static void interest(td_bus_t *b, td_kind_t kind, const char *s, size_t n, int wanted)
{
    if (b->on_interest) b->on_interest(b->interest_ud, kind, s, n, wanted);
}

void td_bus_detach(td_bus_t *b, td_bus_consumer_t *c)
{
    cvec_del(&b->taps, c);
    for (int k = 0; k < TD_KIND__COUNT; k++)
        if (cvec_del(&b->wild[k], c) && b->wild[k].n == 0) interest(b, (td_kind_t)k, "*", 1, 0);
    for (uint32_t i = 0; i < b->nslots; i++) {
        slot *sl = &b->slots[i];
        if (sl->sym && cvec_del(&sl->subs, c) && sl->subs.n == 0)
            interest(b, sl->kind, sl->sym, sl->sym_len, 0);
    }
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
    cvec *v = n == 1 && s[0] == '*' ? &b->wild[kind] : &intern(b, kind, s, n)->subs;
    if (cvec_add(v, c) && v->n == 1) interest(b, kind, s, n, 1);
}

void td_bus_unwant(td_bus_t *b, td_bus_consumer_t *c, td_kind_t kind, const char *s, size_t n)
{
    cvec *v;
    if (n == 1 && s[0] == '*') {
        v = &b->wild[kind];
    } else {
        slot *sl = lookup(b, kind, s, n, hash_key(kind, s, n));
        if (!sl->sym) return;
        v = &sl->subs;
    }
    if (cvec_del(v, c) && v->n == 0) interest(b, kind, s, n, 0);
}

void td_bus_want_all(td_bus_t *b, td_bus_consumer_t *c)
{
    for (int k = 0; k < TD_KIND__COUNT; k++)
        td_bus_want(b, c, (td_kind_t)k, "*", 1);
}

void td_bus_on_interest(td_bus_t *b, td_bus_interest_cb cb, void *ud)
{
    b->on_interest = cb;
    b->interest_ud = ud;
}

void td_bus_interest_each(const td_bus_t *b,
                          void (*fn)(void *ud, td_kind_t kind, const char *sym, size_t n), void *ud)
{
    for (int k = 0; k < TD_KIND__COUNT; k++)
        if (b->wild[k].n) fn(ud, (td_kind_t)k, "*", 1);
    for (uint32_t i = 0; i < b->nslots; i++)
        if (b->slots[i].sym && b->slots[i].subs.n)
            fn(ud, b->slots[i].kind, b->slots[i].sym, b->slots[i].sym_len);
}

size_t td_bus_wanters(const td_bus_t *b, td_kind_t kind, const char *s, size_t n)
{
    const slot *sl = lookup(b, kind, s, n, hash_key(kind, s, n));
    return b->wild[kind].n + (sl->sym ? sl->subs.n : 0);
}

void td_bus_cache_kinds(td_bus_t *b, unsigned kinds)
{
    b->cache_kinds = kinds;
}

static void remember(slot *sl, const td_event_t *ev)
{
    if (ev->payload_len > UINT32_MAX) return;
    if (sl->last_cap < ev->payload_len) {
        sl->last_cap = (uint32_t)ev->payload_len;
        sl->last = td_xrealloc(sl->last, sl->last_cap);
    }
    memcpy(sl->last, ev->payload, ev->payload_len);
    sl->last_len = (uint32_t)ev->payload_len;
}

static void slot_event(const slot *sl, td_event_t *out)
{
    out->kind = sl->kind;
    out->symbol = sl->sym;
    out->symbol_len = sl->sym_len;
    out->payload = sl->last;
    out->payload_len = sl->last_len;
}

int td_bus_last(const td_bus_t *b, td_kind_t kind, const char *s, size_t n, td_event_t *out)
{
    const slot *sl = lookup(b, kind, s, n, hash_key(kind, s, n));
    if (!sl->sym || !sl->last_len) return 0;
    slot_event(sl, out);
    return 1;
}

void td_bus_last_each(const td_bus_t *b, td_kind_t kind, void (*fn)(void *ud, const td_event_t *ev),
                      void *ud)
{
    for (uint32_t i = 0; i < b->nslots; i++) {
        const slot *sl = &b->slots[i];
        if (sl->sym && sl->kind == kind && sl->last_len) {
            td_event_t ev;
            slot_event(sl, &ev);
            fn(ud, &ev);
        }
    }
}

static void deliver(td_bus_consumer_t *c, const td_event_t *ev)
{
    if (c->cb) c->cb(c->ud, ev);
}

void td_bus_publish(td_bus_t *b, const td_event_t *ev)
{
    if ((unsigned)ev->kind >= TD_KIND__COUNT) return;
    b->seq++;
    b->count[ev->kind]++;
    for (uint32_t i = 0; i < b->taps.n; i++)
        deliver(b->taps.v[i], ev);
    const cvec *w = &b->wild[ev->kind];
    for (uint32_t i = 0; i < w->n; i++)
        deliver(w->v[i], ev);
    int cache = (b->cache_kinds >> ev->kind) & 1;
    if (b->used == 0 && !cache) return;
    uint32_t h = hash_key(ev->kind, ev->symbol, ev->symbol_len);
    slot *sl = lookup(b, ev->kind, ev->symbol, ev->symbol_len, h);
    if (!sl->sym) {
        if (!cache) return;
        sl = intern(b, ev->kind, ev->symbol, ev->symbol_len);
    }
    if (cache) remember(sl, ev);
    for (uint32_t i = 0; i < sl->subs.n; i++) {
        td_bus_consumer_t *c = sl->subs.v[i];
        /* A consumer with both a wildcard and a name gets the event once. */
        int dup = 0;
        for (uint32_t j = 0; j < w->n && !dup; j++)
            dup = w->v[j] == c;
        if (!dup) deliver(c, ev);
    }
}

uint64_t td_bus_seq(const td_bus_t *b)
{
    return b->seq;
}

uint64_t td_bus_count(const td_bus_t *b, td_kind_t kind)
{
    return b->count[kind];
}
