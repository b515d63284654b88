#include "proto/alpaca_client.h"
#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

typedef struct {
    const char *s;
    const jsmntok_t *t;
    int nt;
} doc_t;

void td_alpaca_client_msg_init(td_alpaca_client_msg_t *m)
{
    memset(m, 0, sizeof *m);
    td_subset_init(&m->sub);
}

void td_alpaca_client_msg_free(td_alpaca_client_msg_t *m)
{
    td_subset_free(&m->sub);
    m->kinds = 0;
    m->action = TD_ALPACA_CLIENT_NONE;
}

const char *td_alpaca_client_strerror(int code)
{
    switch (code) {
    case TD_ALPACA_CLIENT_OK:
        return "ok";
#define XX(name, c, text)                                                                          \
    case c:                                                                                        \
        return text;
        TD_ALPACA_CLIENT_ERRNO_MAP(XX)
#undef XX
    }
    return "unknown error";
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int hex4(const char *p, const char *end, uint32_t *out)
{
    if (end - p < 4) return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return -1;
        v = v << 4 | (uint32_t)h;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes \uXXXX (and a following low surrogate) at p (just after "\u").
 * Returns the bytes consumed after "\u", or -1. */
static int decode_u(const char *p, const char *end, uint32_t *cp)
{
    if (hex4(p, end, cp) != 0) return -1;
    if (*cp >= 0xdc00 && *cp <= 0xdfff) return -1; /* lone low surrogate */
    if (*cp < 0xd800 || *cp > 0xdbff) return 4;
    uint32_t lo;
    if (end - p < 10 || p[4] != '\\' || p[5] != 'u' || hex4(p + 6, end, &lo) != 0) return -1;
    if (lo < 0xdc00 || lo > 0xdfff) return -1;
    *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    return 10;
}

/* Decodes the JSON string token t into out (cap bytes plus a NUL).
 * Returns the length, -1 if it does not fit, -2 if the text is invalid. */
static long decode_str(const doc_t *d, const jsmntok_t *t, char *out, size_t cap)
{
    const char *p = d->s + t->start, *end = d->s + t->end;
    size_t n = 0;
    while (p < end) {
        char buf[4];
        size_t k = 1;
        unsigned char c = (unsigned char)*p++;
        if (c < 0x20) return -2;
        buf[0] = (char)c;
        if (c == '\\') {
            if (p >= end) return -2;
            char e = *p++;
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *f = e ? strchr(from, e) : NULL;
            if (f) {
                buf[0] = to[f - from];
            } else if (e == 'u') {
                uint32_t cp;
                int used = decode_u(p, end, &cp);
                if (used < 0) return -2;
                p += used;
                k = put_utf8(buf, cp);
            } else {
                return -2;
            }
        }
        if (n + k > cap) return -1;
        memcpy(out + n, buf, k);
        n += k;
    }
    out[n] = '\0';
    return (long)n;
}

/* Index of the token after the subtree rooted at i. */
static int skip(const doc_t *d, int i)
{
    int end = d->t[i].end, j = i + 1;
    while (j < d->nt && d->t[j].start < end)
        j++;
    return j;
}

static int tok_is(const doc_t *d, const jsmntok_t *t, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(t->end - t->start) == n && memcmp(d->s + t->start, lit, n) == 0;
}

int td_alpaca_client_symbol_ok(const char *s, size_t n)
{
    if (n == 0 || n > TD_ALPACA_CLIENT_SYMBOL_MAX) return 0;
    if (n == 1 && s[0] == '*') return 1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '*') return 0;
    return 1;
}

/* One channel list: value token v under word key (kind or -1). */
static int parse_list(const doc_t *d, int v, int kind, td_alpaca_client_msg_t *m)
{
    const jsmntok_t *t = &d->t[v];
    if (t->type == JSMN_PRIMITIVE && tok_is(d, t, "null")) return 0;
    if (t->type != JSMN_ARRAY) return kind < 0 ? 0 : TD_ALPACA_CLIENT_EMALFORMED;
    if (t->size == 0) return 0;
    if (kind < 0) return TD_ALPACA_CLIENT_ECHANNEL;
    for (int j = v + 1; j < d->nt && d->t[j].start < t->end; j = skip(d, j)) {
        char sym[TD_ALPACA_CLIENT_SYMBOL_MAX + 1];
        if (d->t[j].parent != v) return TD_ALPACA_CLIENT_EMALFORMED;
        if (d->t[j].type != JSMN_STRING) return TD_ALPACA_CLIENT_ESYMBOL;
        long n = decode_str(d, &d->t[j], sym, TD_ALPACA_CLIENT_SYMBOL_MAX);
        if (n == -2) return TD_ALPACA_CLIENT_EMALFORMED;
        if (n < 0 || !td_alpaca_client_symbol_ok(sym, (size_t)n)) return TD_ALPACA_CLIENT_ESYMBOL;
        td_subset_add(&m->sub, (td_kind_t)kind, sym, (size_t)n);
    }
    m->kinds |= 1u << kind;
    return 0;
}

static int parse_cred(const doc_t *d, int v, char *out, size_t *len, int *has)
{
    if (d->t[v].type != JSMN_STRING) return 0; /* treated as absent */
    long n = decode_str(d, &d->t[v], out, TD_ALPACA_CLIENT_CRED_MAX);
    if (n == -2) return TD_ALPACA_CLIENT_EMALFORMED;
    if (n < 0) return TD_ALPACA_CLIENT_ETOOLONG;
    *len = (size_t)n;
    *has = 1;
    return 0;
}

/* True if token i is a well-formed member key of the top object: jsmn's
 * sizes cannot be trusted on malformed input, its parent links can. */
static int member_ok(const doc_t *d, int i)
{
    return d->t[i].parent == 0 && d->t[i].type == JSMN_STRING && i + 1 < d->nt &&
           d->t[i + 1].parent == i;
}

static int find_action(const doc_t *d)
{
    for (int i = 1; i < d->nt; i = skip(d, i + 1)) {
        const jsmntok_t *key = &d->t[i];
        if (!member_ok(d, i)) return TD_ALPACA_CLIENT_EMALFORMED;
        if (tok_is(d, key, "action")) {
            const jsmntok_t *v = &d->t[i + 1];
            if (v->type != JSMN_STRING) return TD_ALPACA_CLIENT_EACTION;
            if (tok_is(d, v, "auth")) return TD_ALPACA_CLIENT_AUTH;
            if (tok_is(d, v, "subscribe")) return TD_ALPACA_CLIENT_SUBSCRIBE;
            if (tok_is(d, v, "unsubscribe")) return TD_ALPACA_CLIENT_UNSUBSCRIBE;
            return TD_ALPACA_CLIENT_EACTION;
        }
    }
    return TD_ALPACA_CLIENT_EACTION;
}

static int parse_members(const doc_t *d, td_alpaca_client_msg_t *m)
{
    for (int i = 1; i < d->nt; i = skip(d, i + 1)) {
        const jsmntok_t *key = &d->t[i];
        char word[32];
        if (!member_ok(d, i)) return TD_ALPACA_CLIENT_EMALFORMED;
        long wl = decode_str(d, key, word, sizeof word - 1);
        if (wl == -2) return TD_ALPACA_CLIENT_EMALFORMED;
        int rc = 0;
        if (wl < 0) word[0] = '\0', wl = -1; /* too long: an unknown word */
        if (strcmp(word, "action") == 0) {
            rc = 0;
        } else if (m->action == TD_ALPACA_CLIENT_AUTH) {
            if (strcmp(word, "key") == 0)
                rc = parse_cred(d, i + 1, m->key, &m->key_len, &m->has_key);
            else if (strcmp(word, "secret") == 0)
                rc = parse_cred(d, i + 1, m->secret, &m->secret_len, &m->has_secret);
        } else if (strcmp(word, "snapshot") == 0) {
            m->snapshot = d->t[i + 1].type == JSMN_PRIMITIVE && tok_is(d, &d->t[i + 1], "true");
        } else {
            rc = parse_list(d, i + 1, wl < 0 ? -1 : td_kind_parse(word, (size_t)wl), m);
        }
        if (rc != 0) return rc;
    }
    return 0;
}

static int only_space(const char *s, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

static int parse_doc(const char *s, size_t n, td_alpaca_client_msg_t *m)
{
    jsmn_parser p;
    jsmn_init(&p);
    int nt = jsmn_parse(&p, s, n, NULL, 0);
    if (nt <= 0) return TD_ALPACA_CLIENT_EMALFORMED;
    jsmntok_t *t = td_xmalloc((size_t)nt * sizeof *t);
    jsmn_init(&p);
    int got = jsmn_parse(&p, s, n, t, (unsigned)nt);
    doc_t d = {s, t, got};
    int rc;
    if (got <= 0 || t[0].type != JSMN_OBJECT || !only_space(s, (size_t)t[0].end, n)) {
        rc = TD_ALPACA_CLIENT_EMALFORMED;
    } else {
        rc = find_action(&d);
        if (rc > 0) {
            m->action = (td_alpaca_client_action_t)rc;
            rc = parse_members(&d, m);
        }
    }
    free(t);
    return rc;
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
