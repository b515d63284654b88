/* The bus: routes each event to the consumers that want its (kind, symbol).
 *
 * A consumer wants either every symbol of a kind (wildcard) or named
 * symbols. Publishing is a table lookup plus one call per consumer; nothing
 * is copied (consumers that keep an event copy it themselves). Per-kind
 * counters are kept for the stats line and /metrics. Single-threaded. */
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

void td_bus_publish(td_bus_t *bus, const td_event_t *ev);

/* Events published per kind since the bus was made. */
uint64_t td_bus_count(const td_bus_t *bus, td_kind_t kind);

#endif
