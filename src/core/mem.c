/* SPDX-License-Identifier: Apache-2.0 */
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "tickerd: out of memory allocating %zu bytes\n", n);
    abort();
}

void *td_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *td_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *td_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *td_xstrdup(const char *s)
{
    return td_xstrndup(s, strlen(s));
}

char *td_xstrndup(const char *s, size_t n)
{
    char *d = td_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
