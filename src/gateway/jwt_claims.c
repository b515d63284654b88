/* SPDX-License-Identifier: Apache-2.0 */
/* The claims of a gateway token (jwt.h): exp, nbf, sub and the "tickerd"
 * restriction, read with the strict JSON scanner; a duplicate member, a
 * wrong type or an unknown kind makes the claims malformed. */
#include "gateway/jwt.h"

#include "proto/json_scan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void td_jwt_claims_init(td_jwt_claims_t *c)
{
    memset(c, 0, sizeof *c);
    td_subset_init(&c->allow);
}

void td_jwt_claims_free(td_jwt_claims_t *c)
{
    td_subset_free(&c->allow);
}

/* A JSON number into *out (finite); 0 or -1. */
static int number(const char *v, const char *ve, double *out)
{
    char tmp[64];
    size_t n = (size_t)(ve - v);
    if (!n || n >= sizeof tmp || (*v != '-' && !TD_JSON_IS_DIGIT(*v))) return -1;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    char *end;
    *out = strtod(tmp, &end);
    return *end == '\0' && isfinite(*out) ? 0 : -1;
}

static int is_star(const char *v, const char *ve)
{
    return ve - v == 3 && memcmp(v, "\"*\"", 3) == 0;
}

/* Calls fn for each string of the array [v, ve) (validated JSON), with its
 * raw content and escape flag; -1 if an element is not a string or fn fails. */
typedef struct {
    int (*fn)(void *ud, const char *s, size_t n, int esc);
    void *ud;
} strings_t;

static int string_elem(void *ud, const char *p, const char *e)
{
    const strings_t *w = ud;
    if (*p != '"') return -1;
    size_t n = (size_t)(e - p - 2);
    return w->fn(w->ud, p + 1, n, memchr(p + 1, '\\', n) != NULL) != 0 ? -1 : 0;
}

static int each_string(const char *v, const char *ve,
                       int (*fn)(void *ud, const char *s, size_t n, int esc), void *ud)
{
    strings_t w = {fn, ud};
    return *v == '[' && td_json_each_element(v, ve, string_elem, &w) == 0 ? 0 : -1;
}

typedef struct {
    unsigned kinds;
    td_subset_t syms; /* symbols, under kind 0 */
    size_t nsyms;
} restrict_t;

static int add_kind(void *ud, const char *s, size_t n, int esc)
{
    restrict_t *r = ud;
    char w[32];
    int len = esc ? td_json_unescape(s, n, w, sizeof w) : (n < sizeof w ? (int)n : -1);
    if (len < 0) return -1;
    if (!esc) memcpy(w, s, n);
    int k = td_kind_parse(w, (size_t)len);
    if (k < 0) return -1;
    r->kinds |= 1u << k;
    return 0;
}

static int add_symbol(void *ud, const char *s, size_t n, int esc)
{
    restrict_t *r = ud;
    char scratch[TD_JSON_MAX_SYM];
    const char *sym;
    size_t len = td_json_symbol(s, n, esc, scratch, &sym);
    if (!len || (len == 1 && *sym == '*') || ++r->nsyms > TD_JWT_MAX_SYMBOLS) return -1;
    td_subset_append(&r->syms, (td_kind_t)0, sym, len);
    return 0;
}

static const char *const restrict_names[] = {"kinds", "symbols"};

static int restrict_member(void *ud, const char *k, size_t n, int esc, const char *v,
                           const char *ve)
{
    td_json_span_t *sp = ud;
    int i = td_json_name_index(k, n, esc, restrict_names, 2);
    if (i < 0) return 0;
    if (sp[i].p) return -1; /* twice */
    sp[i].p = v, sp[i].e = ve;
    return 0;
}

/* The "tickerd" claim [v, ve) into c. 0 or -1. */
static int parse_restriction(td_jwt_claims_t *c, const char *v, const char *ve)
{
    if (is_star(v, ve)) return 0;
    td_json_span_t sp[2] = {{0}};
    if (*v != '{' || td_json_each_member(v, ve, restrict_member, sp) != 0) return -1;
    restrict_t r = {0};
    td_subset_init(&r.syms);
    int rc = 0, all_syms = !sp[1].p || is_star(sp[1].p, sp[1].e);
    if (!sp[0].p || is_star(sp[0].p, sp[0].e))
        r.kinds = (1u << TD_KIND__COUNT) - 1;
    else
        rc = each_string(sp[0].p, sp[0].e, add_kind, &r);
    if (rc == 0 && !all_syms) rc = each_string(sp[1].p, sp[1].e, add_symbol, &r);
    td_subset_settle(&r.syms);
    c->restricted = rc == 0;
    for (int k = 0; rc == 0 && k < TD_KIND__COUNT; k++) {
        if (!(r.kinds & (1u << k))) continue;
        if (all_syms) td_subset_add(&c->allow, (td_kind_t)k, "*", 1);
        for (size_t i = 0; !all_syms && i < r.syms.k[0].n; i++)
            td_subset_append(&c->allow, (td_kind_t)k, r.syms.k[0].v[i], strlen(r.syms.k[0].v[i]));
    }
    td_subset_settle(&c->allow);
    td_subset_free(&r.syms);
    return rc;
}

/* "sub" kept printable for the logs. */
static int parse_sub(td_jwt_claims_t *c, const char *v, const char *ve)
{
    char tmp[TD_JWT_MAX_SUB * 4];
    if (*v != '"') return -1;
    int len = td_json_unescape(v + 1, (size_t)(ve - v - 2), tmp, sizeof tmp);
    if (len < 0) return -1;
    size_t n = (size_t)len > TD_JWT_MAX_SUB ? TD_JWT_MAX_SUB : (size_t)len;
    for (size_t i = 0; i < n; i++)
        c->sub[i] = tmp[i] > 0x20 && tmp[i] < 0x7f ? tmp[i] : '?';
    c->sub[n] = '\0';
    return 0;
}

static const char *const claim_names[] = {"exp", "nbf", "sub", "tickerd"};

static int claim_member(void *ud, const char *k, size_t n, int esc, const char *v, const char *ve)
{
    td_json_span_t *sp = ud;
    int i = td_json_name_index(k, n, esc, claim_names, 4);
    if (i < 0) return 0;
    if (sp[i].p) return -1; /* a duplicate claim is ambiguous: refused */
    sp[i].p = v, sp[i].e = ve;
    return 0;
}

int td_jwt_parse_claims(const char *json, size_t n, td_jwt_claims_t *c)
{
    td_json_span_t sp[4] = {{0}};
    if (!td_json_valid(json, n, 1) || td_json_each_member(json, json + n, claim_member, sp) != 0)
        return TD_ECLAIMS;
    if (!sp[0].p || number(sp[0].p, sp[0].e, &c->exp) != 0) return TD_ECLAIMS;
    if (sp[1].p && number(sp[1].p, sp[1].e, &c->nbf) != 0) return TD_ECLAIMS;
    if (sp[2].p && parse_sub(c, sp[2].p, sp[2].e) != 0) return TD_ECLAIMS;
    if (sp[3].p && parse_restriction(c, sp[3].p, sp[3].e) != 0) return TD_ECLAIMS;
    return TD_OK;
}

int td_jwt_allows(const td_jwt_claims_t *c, td_kind_t k, const char *sym, size_t n)
{
    if (!c->restricted) return 1;
    if (n == 1 && *sym == '*') return c->allow.k[k].all;
    return td_subset_has(&c->allow, k, sym, n);
}
