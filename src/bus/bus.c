/* SPDX-License-Identifier: Apache-2.0 */
#include "bus/bus.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 256u

/* A small vector of consumers (wildcards, taps). */
typedef struct {
    td_bus_consumer_t **v;
    uint32_t n, cap;
} cvec;

typedef struct entry entry;

/* A named want is one (consumer, entry) pair kept on both sides, so that
 * unwant and detach cost what the consumer holds, not what the bus holds:
 * e->subs[i].at is the pair's index in c->held, c->held[j].at its index in
 * e->subs. */
typedef struct {
    td_bus_consumer_t *c;
    uint32_t at;
} sub_ref;

typedef struct {
    entry *e;
    uint32_t at;
} held_ref;

struct td_bus_consumer_s {
    td_bus_cb cb; /* NULL: interest only (e.g. the static --subscribe set) */
    void *ud;
    int tap;
    held_ref *held; /* the entries it names */
    uint32_t nheld, capheld;
    td_bus_consumer_t *next, *prev; /* all consumers, for free */
};

/* One (kind, symbol): the consumers that name it and its last value. It
 * lives while it is named, or (loose) while it holds the last value of a
 * kind someone wants by wildcard; loose entries of a kind form a list,
 * most recently updated first, capped at cache_max. Entries do not move
 * (the table holds pointers), so held_ref and the lists can point at them. */
struct entry {
    sub_ref *subs;
    uint32_t nsubs, capsubs;
    char *last; /* newest payload, for kinds in cache_kinds */
    uint32_t last_len, last_cap;
    uint32_t hash, sym_len;
    td_kind_t kind;
    int loose;            /* in the loose list of its kind (nsubs == 0) */
    entry *lprev, *lnext; /* that list */
    char sym[];           /* NUL-terminated */
};

/* Open addressing with linear probing; deletion shifts the following run
 * back (no tombstones), so a miss stops at the first empty bucket. */
typedef struct {
    uint32_t hash;
    entry *e; /* NULL: empty */
} bucket;

typedef struct {
    entry *head, *tail;
    uint32_t n;
} lru;

struct td_bus_s {
    cvec wild[TD_KIND__COUNT];
    bucket *tab;
    uint32_t nslots, used; /* nslots is a power of two */
    lru loose[TD_KIND__COUNT];
    size_t cache_max; /* loose entries per kind */
    uint64_t evicted;
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

/* Room for one more element of `size` bytes in *v (n used of *cap), or
 * half the room back once a quarter is used. */
static void *vec_fit(void *v, uint32_t n, uint32_t *cap, size_t size)
{
    if (n == *cap)
        *cap = *cap ? *cap * 2 : 4;
    else if (*cap > 16 && n < *cap / 4)
        *cap /= 2;
    else
        return v;
    return td_xrealloc(v, *cap * size);
}

td_bus_t *td_bus_new(void)
{
    td_bus_t *b = td_xcalloc(1, sizeof *b);
    b->nslots = MIN_SLOTS;
    b->tab = td_xcalloc(b->nslots, sizeof *b->tab);
    b->cache_max = TD_BUS_CACHE_MAX_DEFAULT;
    return b;
}

static void entry_free(entry *e)
{
    free(e->subs);
    free(e->last);
    free(e);
}

void td_bus_free(td_bus_t *b)
{
    if (!b) return;
    for (uint32_t i = 0; i < b->nslots; i++)
        if (b->tab[i].e) entry_free(b->tab[i].e);
    free(b->tab);
    for (int k = 0; k < TD_KIND__COUNT; k++)
        free(b->wild[k].v);
    free(b->taps.v);
    while (b->all) {
        td_bus_consumer_t *n = b->all->next;
        free(b->all->held);
        free(b->all);
        b->all = n;
    }
    free(b);
}

/* ---- the table -------------------------------------------------------------- */

/* The bucket holding (kind, s), or the empty bucket where it would go. */
static uint32_t probe(const td_bus_t *b, td_kind_t kind, const char *s, size_t n, uint32_t h)
{
    uint32_t mask = b->nslots - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        const bucket *bk = &b->tab[i];
        if (!bk->e) return i;
        if (bk->hash == h && bk->e->kind == kind && bk->e->sym_len == n &&
            memcmp(bk->e->sym, s, n) == 0)
            return i;
    }
}

static entry *find(const td_bus_t *b, td_kind_t kind, const char *s, size_t n, uint32_t h)
{
    return b->tab[probe(b, kind, s, n, h)].e;
}

static void resize(td_bus_t *b, uint32_t nslots)
{
    bucket *old = b->tab;
    uint32_t oldn = b->nslots, mask = nslots - 1;
    b->nslots = nslots;
    b->tab = td_xcalloc(nslots, sizeof *b->tab);
    for (uint32_t i = 0; i < oldn; i++) {
        if (!old[i].e) continue;
        uint32_t j = old[i].hash & mask;
        while (b->tab[j].e)
            j = (j + 1) & mask;
        b->tab[j] = old[i];
    }
    free(old);
}

/* After removals: back to a load of at least 1/8 (at least MIN_SLOTS), so
 * the table's memory follows what is held now, not what was ever held. */
static void maybe_shrink(td_bus_t *b)
{
    uint32_t n = b->nslots;
    while (n > MIN_SLOTS && (uint64_t)b->used * 8 < n)
        n /= 2;
    if (n != b->nslots) resize(b, n);
}

/* A new entry for (kind, s), which must not be in the table. */
static entry *insert(td_bus_t *b, td_kind_t kind, const char *s, size_t n, uint32_t h)
{
    if (((uint64_t)b->used + 1) * 4 > (uint64_t)b->nslots * 3) resize(b, b->nslots * 2);
    entry *e = td_xcalloc(1, sizeof *e + n + 1);
    memcpy(e->sym, s, n);
    e->sym_len = (uint32_t)n;
    e->hash = h;
    e->kind = kind;
    uint32_t i = probe(b, kind, s, n, h);
    b->tab[i].hash = h;
    b->tab[i].e = e;
    b->used++;
    return e;
}

/* ---- loose entries: last values of symbols wanted only by a wildcard --------- */

static void lru_unlink(td_bus_t *b, entry *e)
{
    lru *l = &b->loose[e->kind];
    *(e->lprev ? &e->lprev->lnext : &l->head) = e->lnext;
    *(e->lnext ? &e->lnext->lprev : &l->tail) = e->lprev;
    e->lprev = e->lnext = NULL;
    e->loose = 0;
    l->n--;
}

static void lru_push(td_bus_t *b, entry *e)
{
    lru *l = &b->loose[e->kind];
    e->lprev = NULL;
    e->lnext = l->head;
    *(l->head ? &l->head->lprev : &l->tail) = e;
    l->head = e;
    e->loose = 1;
    l->n++;
}

/* Takes e (which nobody names) out of the table and frees it. */
static void drop(td_bus_t *b, entry *e)
{
    if (e->loose) lru_unlink(b, e);
    uint32_t mask = b->nslots - 1, i = e->hash & mask;
    while (b->tab[i].e != e)
        i = (i + 1) & mask;
    /* backward shift: move up each following entry whose home is not in
     * (i, j], so every remaining entry stays reachable from its home */
    for (uint32_t j = (i + 1) & mask; b->tab[j].e; j = (j + 1) & mask) {
        uint32_t home = b->tab[j].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            b->tab[i] = b->tab[j];
            i = j;
        }
    }
    b->tab[i].e = NULL;
    b->used--;
    entry_free(e);
}

/* Drops the least recently updated loose entries of kind k beyond max;
 * returns how many. */
static uint32_t lru_trim(td_bus_t *b, td_kind_t k, size_t max)
{
    uint32_t n = 0;
    for (; b->loose[k].n > max; n++)
        drop(b, b->loose[k].tail);
    return n;
}

/* e has just lost its last name: it stays (loose) if it holds a last value
 * that a wildcard wanter of its kind may want as a snapshot, else it goes. */
static void settle(td_bus_t *b, entry *e)
{
    if (e->last_len && b->wild[e->kind].n && b->cache_max) {
        free(e->subs);
        e->subs = NULL;
        e->capsubs = 0;
        lru_push(b, e);
        b->evicted += lru_trim(b, e->kind, b->cache_max);
    } else {
        drop(b, e);
    }
}

/* ---- consumers and interest --------------------------------------------------- */

td_bus_consumer_t *td_bus_attach(td_bus_t *b, td_bus_cb cb, void *ud)
{
    td_bus_consumer_t *c = td_xcalloc(1, sizeof *c);
    c->cb = cb;
    c->ud = ud;
    c->next = b->all;
    if (b->all) b->all->prev = c;
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

/* Returns 1 if c did not name e yet (and now does). */
static int sub_add(td_bus_t *b, td_bus_consumer_t *c, entry *e)
{
    for (uint32_t i = 0; i < e->nsubs; i++)
        if (e->subs[i].c == c) return 0;
    if (e->loose) lru_unlink(b, e);
    e->subs = vec_fit(e->subs, e->nsubs, &e->capsubs, sizeof *e->subs);
    c->held = vec_fit(c->held, c->nheld, &c->capheld, sizeof *c->held);
    e->subs[e->nsubs] = (sub_ref){c, c->nheld};
    c->held[c->nheld] = (held_ref){e, e->nsubs};
    e->nsubs++;
    c->nheld++;
    return 1;
}

/* Removes the pair (c, e) at e->subs[i] from both sides, each by moving its
 * last element into the hole (and fixing that element's other side). */
static void sub_del_at(entry *e, uint32_t i)
{
    td_bus_consumer_t *c = e->subs[i].c;
    uint32_t j = e->subs[i].at;
    sub_ref ls = e->subs[--e->nsubs];
    if (i != e->nsubs) {
        e->subs[i] = ls;
        ls.c->held[ls.at].at = i;
    }
    held_ref lh = c->held[--c->nheld];
    if (j != c->nheld) {
        c->held[j] = lh;
        lh.e->subs[lh.at].at = j;
    }
    e->subs = vec_fit(e->subs, e->nsubs, &e->capsubs, sizeof *e->subs);
    c->held = vec_fit(c->held, c->nheld, &c->capheld, sizeof *c->held);
}

/* The pair at e->subs[i] goes; the last name leaving is reported and
 * settles e. */
static void unname_at(td_bus_t *b, entry *e, uint32_t i)
{
    sub_del_at(e, i);
    if (e->nsubs == 0) {
        interest(b, e->kind, e->sym, e->sym_len, 0);
        settle(b, e);
    }
}

static void unname(td_bus_t *b, td_bus_consumer_t *c, entry *e)
{
    for (uint32_t i = 0; i < e->nsubs; i++) {
        if (e->subs[i].c == c) {
            unname_at(b, e, i);
            return;
        }
    }
}

/* The last wildcard wanter of k left: loose entries of k go with it. */
static void wild_ended(td_bus_t *b, td_kind_t k)
{
    interest(b, k, "*", 1, 0);
    lru_trim(b, k, 0);
}

void td_bus_detach(td_bus_t *b, td_bus_consumer_t *c)
{
    cvec_del(&b->taps, c);
    for (int k = 0; k < TD_KIND__COUNT; k++)
        if (cvec_del(&b->wild[k], c) && b->wild[k].n == 0) wild_ended(b, (td_kind_t)k);
    while (c->nheld) /* each pair found from c's side: no search */
        unname_at(b, c->held[c->nheld - 1].e, c->held[c->nheld - 1].at);
    maybe_shrink(b);
    *(c->prev ? &c->prev->next : &b->all) = c->next;
    if (c->next) c->next->prev = c->prev;
    free(c->held);
    free(c);
}

static int is_wild(const char *s, size_t n)
{
    return n == 1 && s[0] == '*';
}

void td_bus_want(td_bus_t *b, td_bus_consumer_t *c, td_kind_t kind, const char *s, size_t n)
{
    if (is_wild(s, n)) {
        if (cvec_add(&b->wild[kind], c) && b->wild[kind].n == 1) interest(b, kind, s, n, 1);
        return;
    }
    uint32_t h = hash_key(kind, s, n);
    entry *e = find(b, kind, s, n, h);
    if (!e) e = insert(b, kind, s, n, h);
    if (sub_add(b, c, e) && e->nsubs == 1) interest(b, kind, s, n, 1);
}

void td_bus_unwant(td_bus_t *b, td_bus_consumer_t *c, td_kind_t kind, const char *s, size_t n)
{
    if (is_wild(s, n)) {
        if (cvec_del(&b->wild[kind], c) && b->wild[kind].n == 0) wild_ended(b, kind);
    } else {
        entry *e = find(b, kind, s, n, hash_key(kind, s, n));
        if (e) unname(b, c, e);
    }
    maybe_shrink(b);
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
    for (uint32_t i = 0; i < b->nslots; i++) {
        const entry *e = b->tab[i].e;
        if (e && e->nsubs) fn(ud, e->kind, e->sym, e->sym_len);
    }
}

size_t td_bus_wanters(const td_bus_t *b, td_kind_t kind, const char *s, size_t n)
{
    const entry *e = find(b, kind, s, n, hash_key(kind, s, n));
    return b->wild[kind].n + (e ? e->nsubs : 0);
}

void td_bus_stats(const td_bus_t *b, td_bus_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->symbols = b->used;
    out->slots = b->nslots;
    for (int k = 0; k < TD_KIND__COUNT; k++)
        out->cached_only += b->loose[k].n;
    out->evicted = b->evicted;
}

/* ---- last values ------------------------------------------------------------------ */

void td_bus_cache_kinds(td_bus_t *b, unsigned kinds)
{
    b->cache_kinds = kinds;
}

void td_bus_cache_max(td_bus_t *b, size_t per_kind)
{
    b->cache_max = per_kind;
    for (int k = 0; k < TD_KIND__COUNT; k++)
        b->evicted += lru_trim(b, (td_kind_t)k, per_kind);
    maybe_shrink(b);
}

static void remember(td_bus_t *b, entry *e, const td_event_t *ev)
{
    if (ev->payload_len > UINT32_MAX) return;
    if (e->last_cap < ev->payload_len) {
        e->last_cap = (uint32_t)ev->payload_len;
        e->last = td_xrealloc(e->last, e->last_cap);
    }
    memcpy(e->last, ev->payload, ev->payload_len);
    e->last_len = (uint32_t)ev->payload_len;
    if (e->loose && b->loose[e->kind].head != e) { /* most recently updated first */
        lru_unlink(b, e);
        lru_push(b, e);
    }
}

static void entry_event(const entry *e, td_event_t *out)
{
    out->kind = e->kind;
    out->symbol = e->sym;
    out->symbol_len = e->sym_len;
    out->payload = e->last;
    out->payload_len = e->last_len;
}

int td_bus_last(const td_bus_t *b, td_kind_t kind, const char *s, size_t n, td_event_t *out)
{
    const entry *e = find(b, kind, s, n, hash_key(kind, s, n));
    if (!e || !e->last_len) return 0;
    entry_event(e, out);
    return 1;
}

void td_bus_last_each(const td_bus_t *b, td_kind_t kind, void (*fn)(void *ud, const td_event_t *ev),
                      void *ud)
{
    for (uint32_t i = 0; i < b->nslots; i++) {
        const entry *e = b->tab[i].e;
        if (e && e->kind == kind && e->last_len) {
            td_event_t ev;
            entry_event(e, &ev);
            fn(ud, &ev);
        }
    }
}

/* ---- publishing ----------------------------------------------------------------- */

static void deliver(td_bus_consumer_t *c, const td_event_t *ev)
{
    if (c->cb) c->cb(c->ud, ev);
}

/* A loose entry for an event of a cached kind that a wildcard wants. */
static entry *add_loose(td_bus_t *b, const td_event_t *ev, uint32_t h)
{
    b->evicted += lru_trim(b, ev->kind, b->cache_max - 1);
    entry *e = insert(b, ev->kind, ev->symbol, ev->symbol_len, h);
    lru_push(b, e);
    return e;
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
    int keep_new = cache && w->n && b->cache_max;
    if (b->used == 0 && !keep_new) return;
    uint32_t h = hash_key(ev->kind, ev->symbol, ev->symbol_len);
    entry *e = find(b, ev->kind, ev->symbol, ev->symbol_len, h);
    if (!e) {
        if (!keep_new) return;
        e = add_loose(b, ev, h);
    }
    if (cache) remember(b, e, ev);
    for (uint32_t i = 0; i < e->nsubs; i++) {
        td_bus_consumer_t *c = e->subs[i].c;
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
