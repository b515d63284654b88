/* SPDX-License-Identifier: Apache-2.0 */
/* The bus: routes each event to the consumers that want its (kind, symbol).
 *
 * A consumer wants either every symbol of a kind (wildcard) or named
 * symbols. Publishing is a table lookup plus one call per consumer; nothing
 * is copied (consumers that keep an event copy it themselves). Per-kind
 * counters are kept for the stats line and /metrics. Single-threaded.
 *
 * Interest: the bus counts how many consumers want each (kind, symbol) and
 * each kind's wildcard; the first want and the last unwant are reported to
 * the interest listener (which turns them into upstream subscribe and
 * unsubscribe diffs). A tap sees every event and creates no interest (the
 * Redis and stdout sinks publish whatever flows).
 *
 * Last values: for the kinds chosen with td_bus_cache_kinds, the bus keeps
 * a copy of the newest payload per symbol, for snapshots on subscribe, as
 * long as the symbol is wanted: while a consumer names it, or while one
 * wants its kind by wildcard (then at most td_bus_cache_max symbols per
 * kind, the least recently updated dropped first). A symbol nobody wants
 * any more loses its last value, and its entry is freed.
 *
 * Memory follows what is wanted now, not what was ever wanted: an entry
 * lives while it is named (or holds a wildcard's last value), the table
 * shrinks as entries go, and td_bus_unwant / td_bus_detach cost what the
 * consumer holds, not the size of the table. */
#ifndef TD_BUS_BUS_H
#define TD_BUS_BUS_H

#include "proto/event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct td_bus_s td_bus_t;
typedef struct td_bus_consumer_s td_bus_consumer_t;
typedef void (*td_bus_cb)(void *ud, const td_event_t *ev);

td_bus_t *td_bus_new(void);
/* Frees the bus and every consumer still attached. */
void td_bus_free(td_bus_t *bus);

/* A consumer is owned by the bus until td_bus_detach. */
td_bus_consumer_t *td_bus_attach(td_bus_t *bus, td_bus_cb cb, void *ud);
void td_bus_detach(td_bus_t *bus, td_bus_consumer_t *c);

/* sym "*" means every symbol of the kind. Idempotent. */
void td_bus_want(td_bus_t *bus, td_bus_consumer_t *c, td_kind_t kind, const char *sym, size_t n);
void td_bus_unwant(td_bus_t *bus, td_bus_consumer_t *c, td_kind_t kind, const char *sym, size_t n);
/* Wildcard on every kind. */
void td_bus_want_all(td_bus_t *bus, td_bus_consumer_t *c);

/* A consumer that receives every event and creates no interest. */
td_bus_consumer_t *td_bus_tap(td_bus_t *bus, td_bus_cb cb, void *ud);

/* Called on the first want (wanted=1) and the last unwant (wanted=0) of a
 * (kind, symbol); sym "*" for a kind's wildcard. At most one listener. */
typedef void (*td_bus_interest_cb)(void *ud, td_kind_t kind, const char *sym, size_t n, int wanted);
void td_bus_on_interest(td_bus_t *bus, td_bus_interest_cb cb, void *ud);
/* Calls fn for everything wanted now (wildcards as "*"). */
void td_bus_interest_each(const td_bus_t *bus,
                          void (*fn)(void *ud, td_kind_t kind, const char *sym, size_t n),
                          void *ud);

/* How many consumers want (kind, sym): by name, plus the kind's wildcard. */
size_t td_bus_wanters(const td_bus_t *bus, td_kind_t kind, const char *sym, size_t n);

/* Keep the newest payload per symbol of these kinds (bitmask 1u << kind). */
void td_bus_cache_kinds(td_bus_t *bus, unsigned kinds);
/* At most this many last values per kind of symbols wanted only through a
 * wildcard (0: none); the least recently updated beyond it are dropped. */
#define TD_BUS_CACHE_MAX_DEFAULT 50000
void td_bus_cache_max(td_bus_t *bus, size_t per_kind);
/* The newest (kind, symbol) event seen, if cached: fills *out (views valid
 * until the next publish, want or unwant) and returns 1; else 0. */
int td_bus_last(const td_bus_t *bus, td_kind_t kind, const char *sym, size_t n, td_event_t *out);
/* Calls fn for every cached value of a kind. */
void td_bus_last_each(const td_bus_t *bus, td_kind_t kind,
                      void (*fn)(void *ud, const td_event_t *ev), void *ud);

void td_bus_publish(td_bus_t *bus, const td_event_t *ev);
/* Number of td_bus_publish calls so far: consumers called for the same
 * event see the same value, so they can share work done per event (e.g.
 * encoding it once for many clients). */
uint64_t td_bus_seq(const td_bus_t *bus);

typedef struct td_bus_stats_s {
    size_t symbols;     /* (kind, symbol) entries: named, or holding a wildcard's last value */
    size_t slots;       /* size of the hash table */
    size_t cached_only; /* entries held only for a wildcard's last value */
    uint64_t evicted;   /* such last values dropped over td_bus_cache_max */
} td_bus_stats_t;
void td_bus_stats(const td_bus_t *bus, td_bus_stats_t *out);

/* Events published per kind since the bus was made. */
uint64_t td_bus_count(const td_bus_t *bus, td_kind_t kind);

#endif
