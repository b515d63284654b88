/* SPDX-License-Identifier: Apache-2.0 */
#include "proto/alpaca_client.h"
#include "core/mem.h"
#include "proto/json_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A message is validated once (td_json_valid: strict, at most
 * TD_JSON_MAX_DEPTH levels), then its top members are walked twice (the
 * action first, then the rest): each pass reads every byte at most a fixed
 * number of times, so the work is linear in the message's size whatever its
 * shape. (jsmn's parent walk was quadratic in the nesting depth.) */
typedef struct {
    td_alpaca_client_msg_t *m;
    int rc;
} walk_t;

void td_alpaca_client_msg_init(td_alpaca_client_msg_t *m)
{
    memset(m, 0, sizeof *m);
    td_subset_init(&m->sub);
}

void td_alpaca_client_msg_free(td_alpaca_client_msg_t *m)
{
    td_subset_free(&m->sub);
    free(m->since);
    m->since = NULL;
    m->nsince = 0;
    m->kinds = 0;
    m->action = TD_ALPACA_CLIENT_NONE;
}

/* Decodes the validated string content [p, p+n) into out (cap bytes plus a
 * NUL). Returns the length, -1 if longer than cap, -2 if it holds a lone
 * surrogate escape. Decoding never lengthens: n + 4 bytes of scratch do. */
static long decode_str(const char *p, size_t n, char *out, size_t cap)
{
    char stack[512], *tmp = n + 4 <= sizeof stack ? stack : td_xmalloc(n + 4);
    int r = td_json_unescape(p, n, tmp, n + 4);
    long rc = r < 0 ? -2 : (size_t)r > cap ? -1 : r;
    if (rc >= 0) {
        memcpy(out, tmp, (size_t)r);
        out[r] = '\0';
    }
    if (tmp != stack) free(tmp);
    return rc;
}

static int span_is(const char *v, const char *ve, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(ve - v) == n && memcmp(v, lit, n) == 0;
}

int td_alpaca_client_symbol_ok(const char *s, size_t n)
{
    if (n == 0 || n > TD_ALPACA_CLIENT_SYMBOL_MAX) return 0;
    if (n == 1 && s[0] == '*') return 1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '*') return 0;
    return 1;
}

/* One element of a channel list at p (validated): adds the symbol, or
 * returns an error. *next is set to the byte after the element. */
static int list_elem(const char *p, const char *end, int kind, td_alpaca_client_msg_t *m,
                     const char **next)
{
    int esc = 0;
    if (*p != '"') return TD_ESYMBOL;
    const char *e = td_json_scan_str(p + 1, end, &esc);
    *next = e + 1;
    char sym[TD_ALPACA_CLIENT_SYMBOL_MAX + 1];
    long n = decode_str(p + 1, (size_t)(e - p - 1), sym, TD_ALPACA_CLIENT_SYMBOL_MAX);
    if (n == -2) return TD_EMALFORMED;
    if (n < 0 || !td_alpaca_client_symbol_ok(sym, (size_t)n)) return TD_ESYMBOL;
    td_subset_append(&m->sub, (td_kind_t)kind, sym, (size_t)n); /* settled in parse_doc */
    return 0;
}

/* One channel list: the value [v, ve) under a word of kind `kind` (-1: not
 * a channel word). */
static int parse_list(const char *v, const char *ve, int kind, td_alpaca_client_msg_t *m)
{
    if (span_is(v, ve, "null")) return 0;
    if (*v != '[') return kind < 0 ? 0 : TD_EMALFORMED;
    const char *p = td_json_skip_ws(v + 1, ve);
    if (*p == ']') return 0;
    if (kind < 0) return TD_ECHANNEL;
    for (;;) {
        int rc = list_elem(p, ve, kind, m, &p);
        if (rc != 0) return rc;
        p = td_json_skip_ws(p, ve);
        if (*p == ']') break;
        p = td_json_skip_ws(p + 1, ve); /* the ',' */
    }
    m->kinds |= 1u << kind;
    return 0;
}

/* A key or secret: a string without NUL bytes (anything else is treated as
 * absent, so it can never match: a C string comparison would stop at the
 * NUL and accept "PK1\u0000junk" as "PK1"). */
static int parse_cred(const char *v, const char *ve, char *out, size_t *len, int *has)
{
    if (*v != '"') return 0;
    long n = decode_str(v + 1, (size_t)(ve - v - 2), out, TD_ALPACA_CLIENT_CRED_MAX);
    if (n == -2) return TD_EMALFORMED;
    if (n < 0) return TD_ETOOLONG;
    if (memchr(out, '\0', (size_t)n)) {
        memset(out, 0, (size_t)n);
        return 0;
    }
    *len = (size_t)n;
    *has = 1;
    return 0;
}

int td_alpaca_stream_id_ok(const char *s, size_t n)
{
    size_t i = 0, d = 0;
    for (int part = 0; part < 2; part++) {
        for (d = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            d++;
        if (d == 0 || d > 20) return 0;
        if (i == n) return 1;
        if (part == 1 || s[i++] != '-') return 0;
    }
    return 0;
}

typedef struct {
    int (*kind_of)(void *ud, const char *word, size_t n);
    void *kud;
    td_alpaca_since_t **v;
    size_t *n;
} since_walk_t;

/* One member of "since": "<channel word>.SYMBOL": "stream id". */
static int since_cb(void *ud, const char *k, size_t n, int esc, const char *v, const char *ve)
{
    since_walk_t *w = ud;
    char ch[96], id[TD_ALPACA_STREAM_ID_MAX + 1];
    (void)esc;
    long cl = decode_str(k, n, ch, sizeof ch - 1);
    if (cl < 0 || *v != '"' || *w->n >= TD_ALPACA_SINCE_MAX) return TD_ESINCE;
    long il = decode_str(v + 1, (size_t)(ve - v - 2), id, TD_ALPACA_STREAM_ID_MAX);
    const char *dot = memchr(ch, '.', (size_t)cl);
    if (il < 0 || !dot || !td_alpaca_stream_id_ok(id, (size_t)il)) return TD_ESINCE;
    int kind = w->kind_of(w->kud, ch, (size_t)(dot - ch));
    const char *sym = dot + 1;
    size_t sl = (size_t)(ch + cl - sym), i = *w->n;
    if (kind < 0 || !td_alpaca_client_symbol_ok(sym, sl) || (sl == 1 && *sym == '*'))
        return TD_ESINCE;
    if ((i & (i - 1)) == 0) /* 0, 1, 2, 4, ...: grow */
        *w->v = td_xrealloc(*w->v, (i ? 2 * i : 1) * sizeof **w->v);
    td_alpaca_since_t *e = &(*w->v)[(*w->n)++];
    e->kind = (td_kind_t)kind;
    memcpy(e->sym, sym, sl);
    e->sym[sl] = '\0';
    memcpy(e->id, id, (size_t)il + 1);
    return 0;
}

int td_since_parse(const char *v, const char *ve, int (*kind_of)(void *ud, const char *w, size_t n),
                   void *kud, td_alpaca_since_t **out, size_t *n)
{
    if (span_is(v, ve, "null")) return 0;
    if (*v != '{') return TD_ESINCE;
    since_walk_t w = {kind_of, kud, out, n};
    int rc = td_json_each_member(v, ve, since_cb, &w);
    return rc < 0 ? rc : 0;
}

static int alpaca_kind(void *ud, const char *word, size_t n)
{
    (void)ud;
    return td_kind_parse(word, n);
}

static int action_cb(void *ud, const char *k, size_t n, int esc, const char *v, const char *ve)
{
    (void)ud;
    if (!td_json_name_is(k, n, esc, "action")) return 0;
    if (*v != '"') return TD_EACTION;
    static const char *const actions[] = {"auth", "subscribe", "unsubscribe"};
    int esc_v = 0;
    td_json_scan_str(v + 1, ve, &esc_v);
    int a = td_json_name_index(v + 1, (size_t)(ve - v - 2), esc_v, actions, 3);
    return a < 0 ? TD_EACTION : TD_ALPACA_CLIENT_AUTH + a;
}

static int member_cb(void *ud, const char *k, size_t n, int esc, const char *v, const char *ve)
{
    walk_t *w = ud;
    td_alpaca_client_msg_t *m = w->m;
    char word[32];
    (void)esc; /* decode_str handles escapes either way */
    long wl = decode_str(k, n, word, sizeof word - 1);
    if (wl == -2) return w->rc = TD_EMALFORMED;
    if (wl < 0) word[0] = '\0', wl = -1; /* too long: an unknown word */
    int rc = 0;
    if (strcmp(word, "action") == 0) {
        rc = 0;
    } else if (m->action == TD_ALPACA_CLIENT_AUTH) {
        if (strcmp(word, "key") == 0)
            rc = parse_cred(v, ve, m->key, &m->key_len, &m->has_key);
        else if (strcmp(word, "secret") == 0)
            rc = parse_cred(v, ve, m->secret, &m->secret_len, &m->has_secret);
    } else if (strcmp(word, "snapshot") == 0) {
        m->snapshot = span_is(v, ve, "true");
    } else if (strcmp(word, "gaps") == 0) {
        m->gaps = span_is(v, ve, "true");
    } else if (strcmp(word, "since") == 0) {
        rc = m->action == TD_ALPACA_CLIENT_SUBSCRIBE
                 ? td_since_parse(v, ve, alpaca_kind, NULL, &m->since, &m->nsince)
                 : 0;
    } else {
        rc = parse_list(v, ve, wl < 0 ? -1 : td_kind_parse(word, (size_t)wl), m);
    }
    return w->rc = rc;
}

static int parse_doc(const char *s, size_t n, td_alpaca_client_msg_t *m)
{
    if (!td_json_valid(s, n, 1)) return TD_EMALFORMED;
    walk_t w = {m, 0};
    int rc = td_json_each_member(s, s + n, action_cb, &w);
    if (rc <= 0) return rc == 0 ? TD_EACTION : rc; /* no action, or a bad one */
    m->action = (td_alpaca_client_action_t)rc;
    td_json_each_member(s, s + n, member_cb, &w);
    td_subset_settle(&m->sub);
    return w.rc;
}

int td_alpaca_client_parse(const char *s, size_t n, td_alpaca_client_msg_t *m)
{
    td_alpaca_client_msg_free(m);
    td_alpaca_client_msg_init(m);
    int rc = parse_doc(s, n, m);
    if (rc != 0) {
        td_alpaca_client_msg_free(m);
        td_alpaca_client_msg_init(m);
    }
    return rc;
}
