/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes td_snapshot_symbols (the ?symbols= of GET /v2/stocks/snapshots)
 * with arbitrary text (after a first byte that picks the limit): never a crash; an accepted list is
 * exactly its symbols joined by commas, each 1..64 of A-Z 0-9 . -, at most max of them; a refused
 * one calls back nothing. */
#include "proto/snapshot.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s; /* the input, rebuilt as the callbacks come */
    size_t at, calls;
} walk_t;

static void on_sym(void *ud, const char *sym, size_t n)
{
    walk_t *w = ud;
    if (n == 0 || n > TD_BARS_MAX_SYM) abort();
    for (size_t i = 0; i < n; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", sym[i]) || !sym[i]) abort();
    if (w->calls && w->s[w->at++] != ',') abort();
    if (sym != w->s + w->at) abort(); /* a view of the input, in order */
    w->at += n;
    w->calls++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    size_t max = data[0] % 8 ? data[0] % 8 : 1000; /* small limits reached too */
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    walk_t w = {s, 0, 0};
    const char *why = NULL;
    int n = td_snapshot_symbols(s, max, on_sym, &w, &why);
    if (n >= 0) {
        if ((size_t)n != w.calls || (size_t)n > max || w.at != strlen(s)) abort();
    } else if (w.calls || !why || !*why) {
        abort();
    }
    free(s);
    return 0;
}
