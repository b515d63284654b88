/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation wrappers: fixed-size allocations abort on OOM (like Redis's
 * zmalloc), so callers never test for NULL. Sizes driven by outside input
 * must be bounded by the caller before they get here. */
#ifndef TD_CORE_MEM_H
#define TD_CORE_MEM_H

#include <stddef.h>

void *td_xmalloc(size_t n);
void *td_xcalloc(size_t n, size_t size);
void *td_xrealloc(void *p, size_t n);
char *td_xstrdup(const char *s);
char *td_xstrndup(const char *s, size_t n);

#define TD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
