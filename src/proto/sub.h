/* SPDX-License-Identifier: Apache-2.0 */
/* A subscription set: per kind, a wildcard flag and a sorted set of symbols.
 * Used for the static --subscribe spec, for what a connection has asked the
 * vendor (feed, sim) and for what a client has asked tickerd (gateway). */
#ifndef TD_PROTO_SUB_H
#define TD_PROTO_SUB_H

#include "core/buf.h"
#include "proto/event.h"

#include <stddef.h>

typedef struct td_symset_s {
    char **v; /* sorted, unique, owned */
    size_t n, cap;
    int all; /* "*" */
} td_symset_t;

typedef struct td_subset_s {
    td_symset_t k[TD_KIND__COUNT];
} td_subset_t;

void td_subset_init(td_subset_t *s);
void td_subset_free(td_subset_t *s);
void td_subset_clear(td_subset_t *s);
/* "*" sets the wildcard. Returns 1 if the set changed, 0 if not. */
int td_subset_add(td_subset_t *s, td_kind_t k, const char *sym, size_t n);
int td_subset_remove(td_subset_t *s, td_kind_t k, const char *sym, size_t n);
/* Bulk loading (a client message naming thousands of symbols): appends
 * without keeping the order, so n symbols cost n log n, not n^2 moves.
 * td_subset_settle must run before any other use of s (it sorts and drops
 * duplicates). */
void td_subset_append(td_subset_t *s, td_kind_t k, const char *sym, size_t n);
void td_subset_settle(td_subset_t *s);
/* True if (k, sym) is covered, by the wildcard or by name. */
int td_subset_has(const td_subset_t *s, td_kind_t k, const char *sym, size_t n);
/* True if sym is named for k (the wildcard does not count). */
int td_subset_names(const td_subset_t *s, td_kind_t k, const char *sym, size_t n);
int td_subset_empty(const td_subset_t *s);
/* Number of distinct symbols named (not counting wildcards) across `kinds`
 * (a bitmask of 1u << kind), as a vendor's plan limit counts them. */
size_t td_subset_count_symbols(const td_subset_t *s, unsigned kinds);
void td_subset_copy(td_subset_t *dst, const td_subset_t *src);

/* Parses "trades=AAPL,MSFT;quotes=*;news=*". Whitespace around items is
 * ignored. Returns 0, or -1 with a message in err. */
int td_subset_parse(td_subset_t *s, const char *spec, char *err, size_t errlen);

/* Appends `"word":["A","B"]` (or ["*"]) for kind k to b. */
void td_subset_append_json_list(const td_subset_t *s, td_kind_t k, td_buf_t *b);

#endif
