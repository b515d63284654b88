/* SPDX-License-Identifier: Apache-2.0 */
#include "proto/event.h"

#include <string.h>

static const char *const kind_names[] = {
#define XX(name, word) word,
    TD_KIND_MAP(XX)
#undef XX
};

const char *td_kind_name(td_kind_t k)
{
    return (unsigned)k < TD_KIND__COUNT ? kind_names[k] : NULL;
}

int td_kind_parse(const char *s, size_t n)
{
    for (int k = 0; k < TD_KIND__COUNT; k++)
        if (strlen(kind_names[k]) == n && memcmp(kind_names[k], s, n) == 0) return k;
    return -1;
}
