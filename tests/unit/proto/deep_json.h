/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: a client message whose member "x"... holds `levels` nested
 * arrays: prefix, then "[" * levels, "]" * levels, then "}". */
#ifndef TD_TESTS_DEEP_JSON_H
#define TD_TESTS_DEEP_JSON_H

#include <stdlib.h>
#include <string.h>

/* A malloc'd message; *n gets its length. */
static inline char *deep_json(const char *prefix, size_t levels, size_t *n)
{
    size_t pl = strlen(prefix);
    char *s = malloc(pl + 2 * levels + 1);
    memcpy(s, prefix, pl);
    memset(s + pl, '[', levels);
    memset(s + pl + levels, ']', levels);
    s[pl + 2 * levels] = '}';
    *n = pl + 2 * levels + 1;
    return s;
}

#endif
