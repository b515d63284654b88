/* SPDX-License-Identifier: Apache-2.0 */
/* Alpaca market-data stream codec (PROTOCOLS.md §1), sans-I/O.
 *
 * Server → client: td_alpaca_split() takes one complete WebSocket message (a
 * JSON array of objects) and, only if the whole frame is well-formed JSON,
 * reports each element in order: data objects as td_event_t (kind, symbol,
 * raw bytes), control objects (success, error, subscription) as
 * td_alpaca_ctl_t. A malformed frame reports nothing and returns
 * TD_EMALFORMED. Nothing is copied: views point into `frame`.
 *
 * Validation is strict RFC 8259 (numbers, escapes, UTF-8, nesting) over the
 * whole frame. Of each element only the top-level members "T", "S", "code",
 * "msg" and "symbols" are read, in any order; names and values are compared
 * after unescaping, and a repeated name takes its last value. A symbol is
 * usable if it is a string of 1..64 bytes once decoded, with no control
 * character and no lone surrogate escape; escaped symbols are decoded into a
 * per-call scratch (so ev->symbol is valid only during the callback).
 *
 * Client → server: builders for the auth and subscribe messages. */
#ifndef TD_PROTO_ALPACA_H
#define TD_PROTO_ALPACA_H

#include "core/buf.h"
#include "core/err.h"
#include "proto/event.h"
#include "proto/sub.h"

#include <stddef.h>
#include <stdint.h>

/* Errors (core/err.h): TD_EMALFORMED (not a JSON array of objects, or bad
 * JSON), TD_ETOOBIG (> 1,000,000 elements, nesting > 64, or a frame >= 4 GiB). */

typedef enum td_alpaca_ctl_type_e {
    TD_ALPACA_CTL_CONNECTED,     /* {"T":"success","msg":"connected"} */
    TD_ALPACA_CTL_AUTHENTICATED, /* {"T":"success","msg":"authenticated"} */
    TD_ALPACA_CTL_SUCCESS,       /* another success message */
    TD_ALPACA_CTL_ERROR,         /* {"T":"error","code":N,"msg":"..."} */
    TD_ALPACA_CTL_SUBSCRIPTION,  /* {"T":"subscription",...} */
} td_alpaca_ctl_type_t;

typedef struct td_alpaca_ctl_s {
    td_alpaca_ctl_type_t type;
    int code;        /* for ERROR; 0 if absent or not an integer of at most 9 digits */
    const char *msg; /* raw (still JSON-escaped) text of "msg", or NULL */
    size_t msg_len;
    const char *raw; /* the whole object */
    size_t raw_len;
} td_alpaca_ctl_t;

typedef struct td_alpaca_cb_s {
    void (*on_event)(void *ud, const td_event_t *ev);
    void (*on_control)(void *ud, const td_alpaca_ctl_t *ctl);
} td_alpaca_cb_t;

typedef struct td_alpaca_stats_s {
    uint64_t frames;    /* frames seen */
    uint64_t events;    /* events dispatched (a news item counts once per symbol) */
    uint64_t control;   /* control messages dispatched */
    uint64_t unknown;   /* elements skipped: unknown T, or no symbol */
    uint64_t malformed; /* frames rejected (TD_EMALFORMED or TD_ETOOBIG) */
} td_alpaca_stats_t;

/* Splits one frame. `cb`, either callback and `stats` may be NULL; stats are
 * added to. Unknown keys are tolerated; objects of unknown type (or without a
 * usable symbol) are counted and skipped. A news object is reported once per
 * usable string of its "symbols" array, with the same payload (none: counted
 * unknown). Returns TD_OK, TD_EMALFORMED or TD_ETOOBIG; on error no
 * callback has been called. */
int td_alpaca_split(const char *frame, size_t len, const td_alpaca_cb_t *cb, void *ud,
                    td_alpaca_stats_t *stats);

/* Walks the channel lists of a subscription object (ctl->raw), calling fn
 * for each (kind, symbol) with the symbol decoded (rules above; "*" is passed
 * as is). Unknown channel words, non-array values and unusable entries are
 * skipped. The whole object is validated first: if it is malformed, fn is
 * never called. Returns 0 or TD_EMALFORMED. */
int td_alpaca_subscription_each(const char *obj, size_t len,
                                void (*fn)(void *ud, td_kind_t k, const char *sym, size_t n),
                                void *ud);

/* Builders append to b. {"action":"auth","key":"…","secret":"…"} (JSON-escaped). */
void td_alpaca_build_auth(td_buf_t *b, const char *key, const char *secret);
/* {"action":"subscribe"|"unsubscribe","trades":[…],…}: one list per kind of
 * `kinds` (bitmask of 1u << kind) that is non-empty in s. Corrections and
 * cancelErrors are never named (the vendor implies them from trades). */
void td_alpaca_build_sub(td_buf_t *b, const char *action, const td_subset_t *s, unsigned kinds);

/* The kinds each Alpaca stream offers, as bitmasks of 1u << kind. */
#define TD_ALPACA_STOCK_KINDS                                                                      \
    ((1u << TD_KIND_TRADE) | (1u << TD_KIND_QUOTE) | (1u << TD_KIND_BAR) |                         \
     (1u << TD_KIND_DAILY_BAR) | (1u << TD_KIND_UPDATED_BAR) | (1u << TD_KIND_STATUS) |            \
     (1u << TD_KIND_LULD) | (1u << TD_KIND_IMBALANCE))
#define TD_ALPACA_CRYPTO_KINDS                                                                     \
    ((1u << TD_KIND_TRADE) | (1u << TD_KIND_QUOTE) | (1u << TD_KIND_BAR) |                         \
     (1u << TD_KIND_DAILY_BAR) | (1u << TD_KIND_UPDATED_BAR) | (1u << TD_KIND_ORDERBOOK))
#define TD_ALPACA_NEWS_KINDS (1u << TD_KIND_NEWS)

#endif
