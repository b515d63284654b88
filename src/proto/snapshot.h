/* SPDX-License-Identifier: Apache-2.0 */
/* Alpaca's stock snapshots as the gateway serves them (GET
 * /v2/stocks/snapshots?symbols=A,B), sans-I/O: the symbols of the query
 * (outside bytes: fuzzed) and a bar in the answer's shape. */
#ifndef TD_PROTO_SNAPSHOT_H
#define TD_PROTO_SNAPSHOT_H

#include "core/buf.h"
#include "proto/bars.h"

#include <stddef.h>

typedef void (*td_snapshot_sym_cb)(void *ud, const char *sym, size_t n);

/* The comma-separated symbols of s (NUL-terminated; "" is none), each
 * 1..TD_BARS_MAX_SYM of A-Z, 0-9, '.' and '-' (stocks: crypto pairs have
 * their own endpoint). Calls cb (may be NULL) for each, in order, only if
 * all are valid and there are at most max. Returns how many, or -1 with
 * *why ("invalid symbol", "too many symbols"). */
int td_snapshot_symbols(const char *s, size_t max, td_snapshot_sym_cb cb, void *ud,
                        const char **why);

/* Appends "name":{"t":...,"o":...,"h":...,"l":...,"c":...,"v":...[,"n":...][,"vw":...]}. */
void td_snapshot_bar_json(td_buf_t *b, const char *name, const td_bar_t *bar);

#endif
