/* SPDX-License-Identifier: Apache-2.0 */
/* Differential fuzzing of the Alpaca splitter against jsmn (strict, with
 * parent links). jsmn is laxer, so it may accept what we reject; but when we
 * accept a frame, jsmn must accept it too, and a model of the splitter's rules
 * (alpaca.c, top comment) evaluated on jsmn's tokens must predict exactly the
 * callbacks we made: kind, symbol, payload range, control type, code, msg,
 * and the count of unknown elements. Any disagreement aborts. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "proto/alpaca.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int ctl;  /* 0: event, 1: control */
    int kind; /* td_kind_t or td_alpaca_ctl_type_t */
    int code;
    const char *msg, *raw;
    size_t msg_len, raw_len, sym_len;
    char sym[64];
} call_t;

typedef struct {
    call_t *v;
    size_t n, cap;
} calls_t;

static call_t *add(calls_t *c)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        if (!c->v) abort();
    }
    call_t *x = &c->v[c->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static void on_event(void *ud, const td_event_t *ev)
{
    call_t *x = add(ud);
    x->kind = (int)ev->kind;
    x->raw = ev->payload;
    x->raw_len = ev->payload_len;
    if (ev->symbol_len > sizeof x->sym) abort();
    memcpy(x->sym, ev->symbol, ev->symbol_len);
    x->sym_len = ev->symbol_len;
}

static void on_control(void *ud, const td_alpaca_ctl_t *ctl)
{
    call_t *x = add(ud);
    x->ctl = 1;
    x->kind = (int)ctl->type;
    x->code = ctl->code;
    x->msg = ctl->msg;
    x->msg_len = ctl->msg_len;
    x->raw = ctl->raw;
    x->raw_len = ctl->raw_len;
}

/* ---- the model ------------------------------------------------------------ */

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

static unsigned u4(const char *s)
{
    return (unsigned)(hex(s[0]) * 4096 + hex(s[1]) * 256 + hex(s[2]) * 16 + hex(s[3]));
}

/* JSON string content → UTF-8; -1 on a lone surrogate or more than cap bytes. */
static int decode(const char *s, int n, char *out, int cap)
{
    int o = 0;
    for (int i = 0; i < n;) {
        unsigned cp;
        if (s[i] != '\\') {
            cp = (unsigned char)s[i++];
            if (o >= cap) return -1;
            out[o++] = (char)cp;
            continue;
        }
        char e = s[i + 1];
        if (e == 'u') {
            cp = u4(s + i + 2);
            i += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return -1;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u') return -1;
                unsigned lo = u4(s + i + 2);
                if (lo < 0xDC00 || lo > 0xDFFF) return -1;
                cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00);
                i += 6;
            }
        } else {
            const char *m = strchr("\"\"\\\\//b\bf\fn\nr\rt\t", e);
            cp = (unsigned char)m[1];
            i += 2;
        }
        unsigned char b[4];
        int k;
        if (cp < 0x80) {
            b[0] = (unsigned char)cp, k = 1;
        } else if (cp < 0x800) {
            b[0] = (unsigned char)(0xC0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 63)), k = 2;
        } else if (cp < 0x10000) {
            b[0] = (unsigned char)(0xE0 | cp >> 12), b[1] = (unsigned char)(0x80 | (cp >> 6 & 63));
            b[2] = (unsigned char)(0x80 | (cp & 63)), k = 3;
        } else {
            b[0] = (unsigned char)(0xF0 | cp >> 18), b[1] = (unsigned char)(0x80 | (cp >> 12 & 63));
            b[2] = (unsigned char)(0x80 | (cp >> 6 & 63)), b[3] = (unsigned char)(0x80 | (cp & 63));
            k = 4;
        }
        if (o + k > cap) return -1;
        memcpy(out + o, b, (size_t)k);
        o += k;
    }
    return o;
}

static int str_is(const char *js, const jsmntok_t *t, const char *want)
{
    char buf[16];
    if (t->type != JSMN_STRING) return 0;
    int n = decode(js + t->start, t->end - t->start, buf, sizeof buf);
    return n == (int)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

/* Kind of a T value: td_kind_t, 100 + ctl group (0 success, 1 error, 2 sub), -1. */
static int model_kind(const char *js, const jsmntok_t *t)
{
    static const char *const letters[] = {"t", "q", "b", "d", "u", "s",
                                          "l", "i", "c", "x", "o", "n"};
    static const int kinds[] = {TD_KIND_TRADE,        TD_KIND_QUOTE,       TD_KIND_BAR,
                                TD_KIND_DAILY_BAR,    TD_KIND_UPDATED_BAR, TD_KIND_STATUS,
                                TD_KIND_LULD,         TD_KIND_IMBALANCE,   TD_KIND_CORRECTION,
                                TD_KIND_CANCEL_ERROR, TD_KIND_ORDERBOOK,   TD_KIND_NEWS};
    if (!t) return -1;
    for (int i = 0; i < 12; i++)
        if (str_is(js, t, letters[i])) return kinds[i];
    if (str_is(js, t, "success")) return 100;
    if (str_is(js, t, "error")) return 101;
    if (str_is(js, t, "subscription")) return 102;
    return -1;
}

/* A usable symbol into out; returns its length or 0. */
static int model_sym(const char *js, const jsmntok_t *t, char *out)
{
    if (!t || t->type != JSMN_STRING) return 0;
    int n = decode(js + t->start, t->end - t->start, out, 64);
    if (n <= 0) return 0;
    for (int i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20) return 0;
    return n;
}

static int model_code(const char *js, const jsmntok_t *t)
{
    if (!t || t->type != JSMN_PRIMITIVE) return 0;
    const char *p = js + t->start, *e = js + t->end;
    int neg = *p == '-', v = 0;
    p += neg;
    if (e - p < 1 || e - p > 9) return 0;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9') return 0;
        v = v * 10 + (*p - '0');
    }
    return neg ? -v : v;
}

typedef struct {
    const char *js;
    const jsmntok_t *t;
    int ntok;
    const calls_t *got;
    size_t at;        /* next call to match */
    uint64_t unknown; /* predicted */
} model_t;

static const call_t *next(model_t *m)
{
    if (m->at >= m->got->n) abort(); /* we predicted a call that was not made */
    return &m->got->v[m->at++];
}

static void expect_event(model_t *m, int e, int kind, const char *sym, int n)
{
    const call_t *c = next(m);
    if (c->ctl || c->kind != kind || c->sym_len != (size_t)n || memcmp(c->sym, sym, (size_t)n))
        abort();
    if (c->raw != m->js + m->t[e].start || c->raw_len != (size_t)(m->t[e].end - m->t[e].start))
        abort();
}

static void expect_news(model_t *m, int e, int arr)
{
    int hits = 0;
    char sym[64];
    for (int i = arr + 1; arr >= 0 && i < m->ntok && m->t[i].start < m->t[arr].end; i++) {
        int n = m->t[i].parent == arr ? model_sym(m->js, &m->t[i], sym) : 0;
        if (n) expect_event(m, e, TD_KIND_NEWS, sym, n), hits++;
    }
    if (!hits) m->unknown++;
}

static void expect_control(model_t *m, int e, int group, const jsmntok_t *msg, int code)
{
    const call_t *c = next(m);
    const char *mp = msg && msg->type == JSMN_STRING ? m->js + msg->start : NULL;
    size_t ml = mp ? (size_t)(msg->end - msg->start) : 0;
    int type = group == 1                                     ? TD_ALPACA_CTL_ERROR
               : group == 2                                   ? TD_ALPACA_CTL_SUBSCRIPTION
               : ml == 9 && !memcmp(mp, "connected", 9)       ? TD_ALPACA_CTL_CONNECTED
               : ml == 13 && !memcmp(mp, "authenticated", 13) ? TD_ALPACA_CTL_AUTHENTICATED
                                                              : TD_ALPACA_CTL_SUCCESS;
    if (!c->ctl || c->kind != type || c->code != code || c->msg != mp || c->msg_len != ml) abort();
    if (c->raw != m->js + m->t[e].start || c->raw_len != (size_t)(m->t[e].end - m->t[e].start))
        abort();
}

/* Element e (an object token): find its last T, S, code, msg, symbols. */
static void model_element(model_t *m, int e)
{
    const jsmntok_t *t = m->t, *T = NULL, *S = NULL, *code = NULL, *msg = NULL;
    int syms = -1;
    if (t[e].type != JSMN_OBJECT) abort(); /* we accepted a non-object */
    for (int i = e + 1; i < m->ntok && t[i].start < t[e].end; i++) {
        if (t[i].parent != e) continue;
        if (t[i].type != JSMN_STRING || i + 1 >= m->ntok) abort();
        const jsmntok_t *v = &t[i + 1];
        if (str_is(m->js, &t[i], "T")) T = v;
        if (str_is(m->js, &t[i], "S")) S = v;
        if (str_is(m->js, &t[i], "code")) code = v;
        if (str_is(m->js, &t[i], "msg")) msg = v;
        if (str_is(m->js, &t[i], "symbols")) syms = v->type == JSMN_ARRAY ? i + 1 : -1;
    }
    int kind = model_kind(m->js, T);
    char sym[64];
    int n;
    if (kind == TD_KIND_NEWS)
        expect_news(m, e, syms);
    else if (kind >= 100)
        expect_control(m, e, kind - 100, msg, model_code(m->js, code));
    else if (kind >= 0 && (n = model_sym(m->js, S, sym)) > 0)
        expect_event(m, e, kind, sym, n);
    else
        m->unknown++;
}

static void check(const char *js, size_t len, const calls_t *got, const td_alpaca_stats_t *st)
{
    jsmn_parser p;
    jsmn_init(&p);
    int ntok = jsmn_parse(&p, js, len, NULL, 0);
    if (ntok < 1) abort(); /* jsmn rejects what we accepted */
    jsmntok_t *t = calloc((size_t)ntok, sizeof *t);
    jsmn_init(&p);
    if (jsmn_parse(&p, js, len, t, (unsigned)ntok) != ntok) abort();
    if (t[0].type != JSMN_ARRAY) abort();
    for (size_t i = (size_t)t[0].end; i < len; i++)
        if (!strchr(" \t\r\n", js[i]) || !js[i]) abort(); /* trailing bytes we accepted */
    model_t m = {js, t, ntok, got, 0, 0};
    int elems = 0;
    for (int i = 1; i < ntok; i++) {
        if (t[i].start >= t[0].end) abort();
        if (t[i].parent == 0) model_element(&m, i), elems++;
    }
    if (elems != t[0].size || m.at != got->n || m.unknown != st->unknown) abort();
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *js = malloc(size ? size : 1);
    if (size) memcpy(js, data, size);
    calls_t got = {0};
    td_alpaca_cb_t cb = {on_event, on_control};
    td_alpaca_stats_t st = {0};
    if (td_alpaca_split(js, size, &cb, &got, &st) == TD_OK) check(js, size, &got, &st);
    free(got.v);
    free(js);
    return 0;
}
