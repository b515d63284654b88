/* SPDX-License-Identifier: Apache-2.0 */
#include "proto/sub.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void td_subset_init(td_subset_t *s)
{
    memset(s, 0, sizeof *s);
}

void td_subset_clear(td_subset_t *s)
{
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        for (size_t i = 0; i < s->k[k].n; i++)
            free(s->k[k].v[i]);
        s->k[k].n = 0;
        s->k[k].all = 0;
    }
}

void td_subset_free(td_subset_t *s)
{
    td_subset_clear(s);
    for (int k = 0; k < TD_KIND__COUNT; k++)
        free(s->k[k].v);
    memset(s, 0, sizeof *s);
}

/* Binary search; returns the index where sym is or would be inserted. */
static size_t find(const td_symset_t *ss, const char *sym, size_t n, int *found)
{
    size_t lo = 0, hi = ss->n;
    *found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *m = ss->v[mid];
        size_t ml = strlen(m);
        int c = memcmp(m, sym, ml < n ? ml : n);
        if (c == 0) c = (ml > n) - (ml < n);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int is_star(const char *sym, size_t n)
{
    return n == 1 && sym[0] == '*';
}

int td_subset_add(td_subset_t *s, td_kind_t k, const char *sym, size_t n)
{
    td_symset_t *ss = &s->k[k];
    if (is_star(sym, n)) {
        int changed = !ss->all;
        ss->all = 1;
        return changed;
    }
    int found;
    size_t at = find(ss, sym, n, &found);
    if (found) return 0;
    if (ss->n == ss->cap) {
        ss->cap = ss->cap ? ss->cap * 2 : 8;
        ss->v = td_xrealloc(ss->v, ss->cap * sizeof *ss->v);
    }
    memmove(ss->v + at + 1, ss->v + at, (ss->n - at) * sizeof *ss->v);
    ss->v[at] = td_xstrndup(sym, n);
    ss->n++;
    return 1;
}

void td_subset_append(td_subset_t *s, td_kind_t k, const char *sym, size_t n)
{
    td_symset_t *ss = &s->k[k];
    if (is_star(sym, n)) {
        ss->all = 1;
        return;
    }
    if (ss->n == ss->cap) {
        ss->cap = ss->cap ? ss->cap * 2 : 8;
        ss->v = td_xrealloc(ss->v, ss->cap * sizeof *ss->v);
    }
    ss->v[ss->n++] = td_xstrndup(sym, n);
}

/* find's order (symbols hold no NUL, so strcmp's). */
static int sym_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void td_subset_settle(td_subset_t *s)
{
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        td_symset_t *ss = &s->k[k];
        if (ss->n < 2) continue;
        qsort(ss->v, ss->n, sizeof *ss->v, sym_cmp);
        size_t o = 1;
        for (size_t i = 1; i < ss->n; i++) {
            if (strcmp(ss->v[i], ss->v[o - 1]) == 0)
                free(ss->v[i]);
            else
                ss->v[o++] = ss->v[i];
        }
        ss->n = o;
    }
}

int td_subset_remove(td_subset_t *s, td_kind_t k, const char *sym, size_t n)
{
    td_symset_t *ss = &s->k[k];
    if (is_star(sym, n)) {
        int changed = ss->all;
        ss->all = 0;
        return changed;
    }
    int found;
    size_t at = find(ss, sym, n, &found);
    if (!found) return 0;
    free(ss->v[at]);
    memmove(ss->v + at, ss->v + at + 1, (ss->n - at - 1) * sizeof *ss->v);
    ss->n--;
    return 1;
}

int td_subset_has(const td_subset_t *s, td_kind_t k, const char *sym, size_t n)
{
    const td_symset_t *ss = &s->k[k];
    if (ss->all) return 1;
    int found;
    find(ss, sym, n, &found);
    return found;
}

int td_subset_names(const td_subset_t *s, td_kind_t k, const char *sym, size_t n)
{
    int found;
    find(&s->k[k], sym, n, &found);
    return found;
}

int td_subset_empty(const td_subset_t *s)
{
    for (int k = 0; k < TD_KIND__COUNT; k++)
        if (s->k[k].all || s->k[k].n) return 0;
    return 1;
}

size_t td_subset_count_symbols(const td_subset_t *s, unsigned kinds)
{
    td_subset_t u;
    td_subset_init(&u);
    for (int k = 0; k < TD_KIND__COUNT; k++)
        if (kinds & (1u << k))
            for (size_t i = 0; i < s->k[k].n; i++)
                td_subset_add(&u, TD_KIND_TRADE, s->k[k].v[i], strlen(s->k[k].v[i]));
    size_t n = u.k[TD_KIND_TRADE].n;
    td_subset_free(&u);
    return n;
}

void td_subset_copy(td_subset_t *dst, const td_subset_t *src)
{
    td_subset_clear(dst);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        dst->k[k].all = src->k[k].all;
        for (size_t i = 0; i < src->k[k].n; i++)
            td_subset_add(dst, (td_kind_t)k, src->k[k].v[i], strlen(src->k[k].v[i]));
    }
}

static void trim(const char **a, const char **b)
{
    while (*a < *b && (**a == ' ' || **a == '\t'))
        (*a)++;
    while (*b > *a && ((*b)[-1] == ' ' || (*b)[-1] == '\t'))
        (*b)--;
}

int td_subset_parse(td_subset_t *s, const char *spec, char *err, size_t errlen)
{
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ';');
        if (!end) end = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *ka = p, *kb = eq ? eq : end;
        trim(&ka, &kb);
        if (ka == kb && !eq) { /* empty item, e.g. a trailing ';' */
            p = *end ? end + 1 : end;
            continue;
        }
        int kind = td_kind_parse(ka, (size_t)(kb - ka));
        if (kind < 0 || !eq) {
            snprintf(err, errlen,
                     "bad subscription item '%.*s': expected KIND=SYM[,SYM...] with KIND one of "
                     "trades, quotes, bars, dailyBars, updatedBars, statuses, lulds, imbalances, "
                     "news, orderbooks, ...",
                     (int)(end - p), p);
            return -1;
        }
        const char *q = eq + 1;
        int any = 0;
        while (q <= end) {
            const char *c = memchr(q, ',', (size_t)(end - q));
            if (!c) c = end;
            const char *a = q, *b = c;
            trim(&a, &b);
            if (a < b) {
                for (const char *x = a; x < b; x++) {
                    if ((unsigned char)*x <= ' ' || *x == '"' || *x == '\\') {
                        snprintf(err, errlen, "bad symbol '%.*s' in subscription", (int)(b - a), a);
                        return -1;
                    }
                }
                td_subset_add(s, (td_kind_t)kind, a, (size_t)(b - a));
                any = 1;
            }
            q = c + 1;
        }
        if (!any) {
            snprintf(err, errlen, "no symbols for '%.*s' in subscription (use * for all)",
                     (int)(kb - ka), ka);
            return -1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

void td_subset_append_json_list(const td_subset_t *s, td_kind_t k, td_buf_t *b)
{
    const td_symset_t *ss = &s->k[k];
    td_buf_appendc(b, '"');
    td_buf_appends(b, td_kind_name(k));
    td_buf_appends(b, "\":[");
    int first = 1;
    if (ss->all) {
        td_buf_appends(b, "\"*\"");
        first = 0;
    }
    for (size_t i = 0; i < ss->n; i++) {
        if (!first) td_buf_appendc(b, ',');
        td_buf_append_json_str(b, ss->v[i], strlen(ss->v[i]));
        first = 0;
    }
    td_buf_appendc(b, ']');
}
