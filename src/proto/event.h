/* SPDX-License-Identifier: Apache-2.0 */
/* The event: a zero-copy view of one vendor object, valid only during
 * dispatch. Kinds are named by the vendor's subscription words, which are
 * also the Redis channel words (DESIGN.md §4). */
#ifndef TD_PROTO_EVENT_H
#define TD_PROTO_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define TD_KIND_MAP(XX)                                                                            \
    XX(TRADE, "trades")                                                                            \
    XX(QUOTE, "quotes")                                                                            \
    XX(BAR, "bars")                                                                                \
    XX(DAILY_BAR, "dailyBars")                                                                     \
    XX(UPDATED_BAR, "updatedBars")                                                                 \
    XX(STATUS, "statuses")                                                                         \
    XX(LULD, "lulds")                                                                              \
    XX(IMBALANCE, "imbalances")                                                                    \
    XX(CORRECTION, "corrections")                                                                  \
    XX(CANCEL_ERROR, "cancelErrors")                                                               \
    XX(NEWS, "news")                                                                               \
    XX(ORDERBOOK, "orderbooks")                                                                    \
    XX(SECOND_BAR, "secondBars")

typedef enum td_kind_e {
#define XX(name, word) TD_KIND_##name,
    TD_KIND_MAP(XX)
#undef XX
        TD_KIND__COUNT
} td_kind_t;

typedef struct td_event_s {
    td_kind_t kind;
    const char *symbol; /* decoded symbol text, not NUL-terminated */
    size_t symbol_len;
    const char *payload; /* the vendor's object, byte for byte */
    size_t payload_len;
} td_event_t;

/* "trades", "quotes", ...; NULL for an out-of-range kind. */
const char *td_kind_name(td_kind_t k);
/* Looks a channel word up; returns the kind or -1. */
int td_kind_parse(const char *s, size_t n);

#endif
