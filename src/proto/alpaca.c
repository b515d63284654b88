/* Alpaca stream codec. The splitter is a purpose-built single-pass scanner:
 * it validates the whole frame as strict RFC 8259 JSON (including UTF-8 and
 * \uXXXX escapes) while recording, for each top-level element, its byte range
 * and its top-level "T", "S", "code", "msg" and "symbols" members. Only when
 * the frame is valid does a second, cheap pass over those records dispatch
 * events. String bodies are skipped 16 bytes at a time with SSE2.
 *
 * Rules shared with fuzz/fuzz_alpaca_diff.c (which checks them against jsmn):
 * - a duplicated member name: the last occurrence wins (as in Go, JS, Python);
 * - member names and values are compared after JSON unescaping;
 * - a symbol is usable if it is a string whose decoded form is 1..64 bytes,
 *   has no byte below 0x20 and no lone surrogate escape;
 * - "code" is the value of a number written -?[0-9]{1,9}, otherwise 0. */
#include "proto/alpaca.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_DEPTH   64      /* the frame's array is depth 1, its objects depth 2 */
#define MAX_ELEMS   1000000 /* elements per frame */
#define MAX_SYM     64      /* decoded symbol bytes */
#define STACK_RECS  256     /* element records kept on the stack */
#define MAX_FRAME   0xffffffffu
#define WS_MASK     ((1ull << ' ') | (1ull << '\t') | (1ull << '\n') | (1ull << '\r'))
#define IS_DIGIT(c) ((unsigned char)((c) - '0') < 10)

/* Element kinds beyond td_kind_t. */
enum { K_UNKNOWN = -1, K_SUCCESS = 64, K_ERROR, K_SUBSCRIPTION };
/* Top-level member names we capture. */
enum { KEY_OTHER, KEY_T, KEY_S, KEY_CODE, KEY_MSG, KEY_SYMBOLS };

typedef struct {
    uint32_t beg, end;     /* the object, [beg, end) */
    uint32_t sym, sym_len; /* "S" string content */
    uint32_t arr, arr_end; /* "symbols" array */
    uint32_t msg, msg_len; /* "msg" string content */
    int32_t code;
    int8_t kind; /* td_kind_t, K_* */
    uint8_t sym_esc, has_sym, has_arr, has_msg;
} rec_t;

typedef struct {
    const char *base, *end;
    int err; /* set for errors other than TD_ALPACA_EMALFORMED */
    rec_t *v;
    size_t n, cap;
    int heap;
} scan_t;

/* ---- lexical helpers ---------------------------------------------------- */

static inline int is_ws(unsigned char c)
{
    return c <= ' ' && ((WS_MASK >> c) & 1);
}

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws((unsigned char)*p))
        p++;
    return p;
}

static inline int hexval(char c)
{
    if (IS_DIGIT(c)) return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Bytes that end the fast path inside a string: '"', '\\', controls, non-ASCII. */
static inline int str_special(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

static inline const char *next_special(const char *p, const char *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && !str_special((unsigned char)*p))
        p++;
    return p;
}

/* p at a backslash; returns the byte after the escape or NULL. */
static const char *scan_escape(const char *p, const char *end)
{
    if (end - p < 2) return NULL;
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return p + 2;
    case 'u':
        if (end - p < 6) return NULL;
        for (int i = 2; i < 6; i++)
            if (hexval(p[i]) < 0) return NULL;
        return p + 6;
    default:
        return NULL;
    }
}

/* p at a byte >= 0x80; returns the byte after a valid UTF-8 sequence or NULL
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static const char *scan_utf8(const char *p, const char *end)
{
    const unsigned char *s = (const unsigned char *)p;
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    ptrdiff_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : lo;
        hi = c == 0xED ? 0x9F : hi;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    } else {
        return NULL;
    }
    if (end - p < n || s[1] < lo || s[1] > hi) return NULL;
    for (ptrdiff_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return NULL;
    return p + n;
}

/* p just past the opening quote; returns the closing quote or NULL. Sets
 * *esc if the string holds an escape. */
static inline const char *scan_str(const char *p, const char *end, int *esc)
{
    /* Most of Alpaca's names and many values ("T", "bx", "K", "C") are 1 or 2 bytes. */
    if (end - p >= 3 && !str_special((unsigned char)p[0])) {
        if (p[1] == '"') return p + 1;
        if (!str_special((unsigned char)p[1]) && p[2] == '"') return p + 2;
    }
    for (;;) {
        p = next_special(p, end);
        if (p >= end) return NULL;
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p;
        if (c == '\\') {
            *esc = 1;
            p = scan_escape(p, end);
        } else if (c < 0x20) {
            return NULL;
        } else {
            p = scan_utf8(p, end);
        }
        if (!p) return NULL;
    }
}

/* RFC 8259 number; the caller checks what follows it. */
static const char *scan_num(const char *p, const char *end)
{
    if (p < end && *p == '-') p++;
    if (p >= end || !IS_DIGIT(*p)) return NULL;
    if (*p++ != '0')
        while (p < end && IS_DIGIT(*p))
            p++;
    if (p < end && *p == '.') {
        if (++p >= end || !IS_DIGIT(*p)) return NULL;
        while (p < end && IS_DIGIT(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !IS_DIGIT(*p)) return NULL;
        while (p < end && IS_DIGIT(*p))
            p++;
    }
    return p;
}

static const char *scan_lit(const char *p, const char *end)
{
    static const char *const lits[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if (*p == lits[i][0])
            return (size_t)(end - p) >= n && memcmp(p, lits[i], n) == 0 ? p + n : NULL;
    }
    return NULL;
}

/* Any value but an array or object; p < end. */
static const char *scan_scalar(const char *p, const char *end)
{
    if (*p == '"') {
        int esc = 0;
        const char *q = scan_str(p + 1, end, &esc);
        return q ? q + 1 : NULL;
    }
    if (*p == '-' || IS_DIGIT(*p)) return scan_num(p, end);
    return scan_lit(p, end);
}

/* p at '"' of a member name: returns the start of its value (< end) or NULL. */
static const char *scan_name(const char *p, const char *end)
{
    int esc = 0;
    if (p >= end || *p != '"' || !(p = scan_str(p + 1, end, &esc))) return NULL;
    p = skip_ws(p + 1, end);
    if (p >= end || *p != ':') return NULL;
    p = skip_ws(p + 1, end);
    return p < end ? p : NULL;
}

/* p at '[' or '{' at nesting `depth`: validates the container iteratively
 * (one bit per open level says "object") and returns the byte after it. */
static const char *skip_nested(scan_t *s, const char *p, int depth)
{
    const char *end = s->end;
    uint64_t objs = 0;
    int lvl = 0;
    for (;;) {
        if (*p == '[' || *p == '{') {
            if (depth + lvl > MAX_DEPTH) {
                s->err = TD_ALPACA_ETOOBIG;
                return NULL;
            }
            int obj = *p == '{';
            objs = objs << 1 | (uint64_t)obj;
            lvl++;
            p = skip_ws(p + 1, end);
            if (p >= end) return NULL;
            if (*p == (obj ? '}' : ']')) {
                p++;
                goto closed;
            }
            if (obj && !(p = scan_name(p, end))) return NULL;
            continue;
        }
        if (!(p = scan_scalar(p, end))) return NULL;
        for (;;) {
            if (lvl == 0) return p;
            p = skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == ',') break;
            if (*p != ((objs & 1) ? '}' : ']')) return NULL;
            p++;
        closed:
            lvl--;
            objs >>= 1;
        }
        p = skip_ws(p + 1, end);
        if (p >= end || ((objs & 1) && !(p = scan_name(p, end)))) return NULL;
    }
}

/* Any value; p < end. */
static const char *scan_value(scan_t *s, const char *p, int depth)
{
    return *p == '[' || *p == '{' ? skip_nested(s, p, depth) : scan_scalar(p, s->end);
}

/* ---- decoding ------------------------------------------------------------- */

static unsigned hex4(const char *p)
{
    return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 63)), 2;
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 63));
        o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 63));
    o[2] = (char)(0x80 | (cp >> 6 & 63));
    o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* Decodes escape at p (validated) into *cp; returns its length or 0 for a
 * lone surrogate. */
static size_t decode_escape(const char *p, const char *end, unsigned *cp)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (p[1] != 'u') {
        *cp = (unsigned char)to[strchr(from, p[1]) - from];
        return 2;
    }
    unsigned c = hex4(p + 2);
    if (c >= 0xDC00 && c <= 0xDFFF) return 0;
    if (c >= 0xD800 && c <= 0xDBFF) {
        if (end - p < 12 || p[6] != '\\' || p[7] != 'u') return 0;
        unsigned lo = hex4(p + 8);
        if (lo < 0xDC00 || lo > 0xDFFF) return 0;
        *cp = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        return 12;
    }
    *cp = c;
    return 6;
}

/* Unescapes the (validated) string content [p, p+n) into out; returns the
 * length, or -1 if it needs more than cap bytes or has a lone surrogate. */
static int unescape(const char *p, size_t n, char *out, size_t cap)
{
    const char *end = p + n;
    size_t o = 0;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t run = (size_t)((bs ? bs : end) - p);
        if (run > cap - o) return -1;
        memcpy(out + o, p, run);
        o += run;
        p += run;
        if (!bs) break;
        unsigned cp;
        size_t len = decode_escape(p, end, &cp);
        if (!len || cap - o < 4) return -1;
        o += put_utf8(out + o, cp);
        p += len;
    }
    return o > cap ? -1 : (int)o;
}

/* A usable symbol (see the top comment): returns its length and sets *sym
 * (into scratch if it had escapes), or 0. */
static size_t symbol(const char *p, size_t n, int esc, char *scratch, const char **sym)
{
    if (!esc) {
        *sym = p;
        return n <= MAX_SYM ? n : 0;
    }
    char tmp[MAX_SYM + 4];
    int len = unescape(p, n, tmp, sizeof tmp);
    if (len <= 0 || len > MAX_SYM) return 0;
    for (int i = 0; i < len; i++)
        if ((unsigned char)tmp[i] < 0x20) return 0;
    memcpy(scratch, tmp, (size_t)len);
    *sym = scratch;
    return (size_t)len;
}

static int kind_of_plain(const char *t, size_t n)
{
    /* td_kind_t + 1 per letter; 0 for none. */
    static const int8_t letters[128] = {
        ['t'] = TD_KIND_TRADE + 1,       ['q'] = TD_KIND_QUOTE + 1,
        ['b'] = TD_KIND_BAR + 1,         ['d'] = TD_KIND_DAILY_BAR + 1,
        ['u'] = TD_KIND_UPDATED_BAR + 1, ['s'] = TD_KIND_STATUS + 1,
        ['l'] = TD_KIND_LULD + 1,        ['i'] = TD_KIND_IMBALANCE + 1,
        ['c'] = TD_KIND_CORRECTION + 1,  ['x'] = TD_KIND_CANCEL_ERROR + 1,
        ['o'] = TD_KIND_ORDERBOOK + 1,   ['n'] = TD_KIND_NEWS + 1,
    };
    if (n == 1) return (unsigned char)*t < 128 ? letters[(unsigned char)*t] - 1 : K_UNKNOWN;
    if (n == 7 && memcmp(t, "success", 7) == 0) return K_SUCCESS;
    if (n == 5 && memcmp(t, "error", 5) == 0) return K_ERROR;
    if (n == 12 && memcmp(t, "subscription", 12) == 0) return K_SUBSCRIPTION;
    return K_UNKNOWN;
}

static inline int kind_of(const char *t, size_t n, int esc)
{
    char tmp[16];
    int len;
    if (!esc) return kind_of_plain(t, n);
    if ((len = unescape(t, n, tmp, sizeof tmp)) < 0) return K_UNKNOWN;
    return kind_of_plain(tmp, (size_t)len);
}

static inline int key_id_plain(const char *k, size_t n)
{
    if (n == 1) return *k == 'T' ? KEY_T : *k == 'S' ? KEY_S : KEY_OTHER;
    if (n == 4 && memcmp(k, "code", 4) == 0) return KEY_CODE;
    if (n == 3 && memcmp(k, "msg", 3) == 0) return KEY_MSG;
    if (n == 7 && memcmp(k, "symbols", 7) == 0) return KEY_SYMBOLS;
    return KEY_OTHER;
}

static inline int key_id(const char *k, size_t n, int esc)
{
    char tmp[16];
    int len;
    if (!esc) return key_id_plain(k, n);
    if ((len = unescape(k, n, tmp, sizeof tmp)) < 0) return KEY_OTHER;
    return key_id_plain(tmp, (size_t)len);
}

static int32_t parse_code(const char *p, const char *q)
{
    int neg = *p == '-';
    int32_t v = 0;
    if (q - p - neg > 9) return 0;
    for (const char *c = p + neg; c < q; c++) {
        if (!IS_DIGIT(*c)) return 0;
        v = v * 10 + (*c - '0');
    }
    return neg ? -v : v;
}

/* ---- the frame scan ------------------------------------------------------- */

/* One member's value at p (< end), captured into r per its name id. */
static const char *scan_member(scan_t *s, const char *p, int id, rec_t *r)
{
    const char *end = s->end;
    uint32_t off = (uint32_t)(p - s->base);
    if (*p == '"') {
        int esc = 0;
        const char *v = p + 1, *ve = scan_str(v, end, &esc);
        if (!ve) return NULL;
        uint32_t n = (uint32_t)(ve - v);
        switch (id) {
        case KEY_T:
            r->kind = (int8_t)kind_of(v, n, esc);
            break;
        case KEY_S:
            r->has_sym = 1;
            r->sym = off + 1;
            r->sym_len = n;
            r->sym_esc = (uint8_t)esc;
            break;
        case KEY_MSG:
            r->has_msg = 1;
            r->msg = off + 1;
            r->msg_len = n;
            break;
        case KEY_SYMBOLS:
            r->has_arr = 0;
            break;
        case KEY_CODE:
            r->code = 0;
            break;
        }
        return ve + 1;
    }
    const char *q = scan_value(s, p, 3);
    if (!q) return NULL;
    switch (id) {
    case KEY_T:
        r->kind = K_UNKNOWN;
        break;
    case KEY_S:
        r->has_sym = 0;
        break;
    case KEY_MSG:
        r->has_msg = 0;
        break;
    case KEY_SYMBOLS:
        r->has_arr = *p == '[';
        r->arr = off;
        r->arr_end = (uint32_t)(q - s->base);
        break;
    case KEY_CODE:
        r->code = *p == '-' || IS_DIGIT(*p) ? parse_code(p, q) : 0;
        break;
    }
    return q;
}

/* The element object at p ('{'): validates it and fills r. */
static const char *scan_elem(scan_t *s, const char *p, rec_t *r)
{
    const char *end = s->end;
    memset(r, 0, sizeof *r);
    r->kind = K_UNKNOWN;
    r->beg = (uint32_t)(p - s->base);
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') goto done;
    for (;;) {
        int esc = 0;
        if (p >= end || *p != '"') return NULL;
        const char *k = p + 1, *ke = scan_str(k, end, &esc);
        if (!ke) return NULL;
        int id = key_id(k, (size_t)(ke - k), esc);
        p = ke + 1;
        if (p < end && *p != ':') p = skip_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        p = skip_ws(p + 1, end);
        if (p >= end || !(p = scan_member(s, p, id, r))) return NULL;
        if (p < end && *p != ',' && *p != '}') p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == '}') break;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
done:
    r->end = (uint32_t)(p + 1 - s->base);
    return p + 1;
}

static rec_t *push(scan_t *s)
{
    if (s->n >= MAX_ELEMS) return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap * 4;
        rec_t *v = s->heap ? realloc(s->v, cap * sizeof *v) : malloc(cap * sizeof *v);
        if (!v) return NULL;
        if (!s->heap) memcpy(v, s->v, s->n * sizeof *v);
        s->v = v;
        s->cap = cap;
        s->heap = 1;
    }
    return &s->v[s->n++];
}

static int scan_frame(scan_t *s)
{
    const char *end = s->end, *p = skip_ws(s->base, end);
    if (p >= end || *p != '[') return TD_ALPACA_EMALFORMED;
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']') {
        p++;
        goto tail;
    }
    for (;;) {
        if (p >= end || *p != '{') return TD_ALPACA_EMALFORMED;
        rec_t *r = push(s);
        if (!r) return TD_ALPACA_ETOOBIG;
        if (!(p = scan_elem(s, p, r))) return s->err ? s->err : TD_ALPACA_EMALFORMED;
        if (p < end && *p != ',' && *p != ']') p = skip_ws(p, end);
        if (p >= end) return TD_ALPACA_EMALFORMED;
        if (*p++ == ']') break;
        if (p[-1] != ',') return TD_ALPACA_EMALFORMED;
        p = skip_ws(p, end);
    }
tail:
    return skip_ws(p, end) == end ? TD_ALPACA_OK : TD_ALPACA_EMALFORMED;
}

/* ---- dispatch ------------------------------------------------------------- */

typedef void (*sym_fn)(void *ctx, const char *sym, size_t n);

/* Calls fn for each usable symbol of the validated array at p ('['). */
static size_t each_symbol(const char *p, const char *end, sym_fn fn, void *ctx)
{
    scan_t s = {.base = p, .end = end};
    char scratch[MAX_SYM];
    size_t count = 0;
    p = skip_ws(p + 1, end);
    while (*p != ']') {
        const char *q = scan_value(&s, p, 1);
        if (*p == '"') {
            int esc = memchr(p + 1, '\\', (size_t)(q - p - 2)) != NULL;
            const char *sym;
            size_t n = symbol(p + 1, (size_t)(q - p - 2), esc, scratch, &sym);
            if (n) {
                fn(ctx, sym, n);
                count++;
            }
        }
        p = skip_ws(q, end);
        if (*p == ',') p = skip_ws(p + 1, end);
    }
    return count;
}

typedef struct {
    const td_alpaca_cb_t *cb;
    void *ud;
    td_event_t ev;
} news_ctx;

static void news_symbol(void *ctx, const char *sym, size_t n)
{
    news_ctx *c = ctx;
    c->ev.symbol = sym;
    c->ev.symbol_len = n;
    if (c->cb && c->cb->on_event) c->cb->on_event(c->ud, &c->ev);
}

static void control(const scan_t *s, const rec_t *r, const td_alpaca_cb_t *cb, void *ud)
{
    td_alpaca_ctl_t ctl = {.code = r->code};
    ctl.msg = r->has_msg ? s->base + r->msg : NULL;
    ctl.msg_len = r->has_msg ? r->msg_len : 0;
    ctl.raw = s->base + r->beg;
    ctl.raw_len = r->end - r->beg;
    if (r->kind == K_ERROR) {
        ctl.type = TD_ALPACA_CTL_ERROR;
    } else if (r->kind == K_SUBSCRIPTION) {
        ctl.type = TD_ALPACA_CTL_SUBSCRIPTION;
    } else if (ctl.msg_len == 9 && memcmp(ctl.msg, "connected", 9) == 0) {
        ctl.type = TD_ALPACA_CTL_CONNECTED;
    } else if (ctl.msg_len == 13 && memcmp(ctl.msg, "authenticated", 13) == 0) {
        ctl.type = TD_ALPACA_CTL_AUTHENTICATED;
    } else {
        ctl.type = TD_ALPACA_CTL_SUCCESS;
    }
    if (cb && cb->on_control) cb->on_control(ud, &ctl);
}

static void dispatch(const scan_t *s, const td_alpaca_cb_t *cb, void *ud, td_alpaca_stats_t *st)
{
    char scratch[MAX_SYM];
    void (*on_event)(void *, const td_event_t *) = cb ? cb->on_event : NULL;
    for (size_t i = 0; i < s->n; i++) {
        const rec_t *r = &s->v[i];
        td_event_t ev = {.kind = (td_kind_t)r->kind,
                         .payload = s->base + r->beg,
                         .payload_len = r->end - r->beg};
        if (r->kind == TD_KIND_NEWS) {
            news_ctx c = {cb, ud, ev};
            size_t n = r->has_arr
                           ? each_symbol(s->base + r->arr, s->base + r->arr_end, news_symbol, &c)
                           : 0;
            st->events += n;
            st->unknown += n == 0;
        } else if (r->kind >= K_SUCCESS) {
            control(s, r, cb, ud);
            st->control++;
        } else if (r->kind >= 0 && r->has_sym &&
                   (ev.symbol_len = symbol(s->base + r->sym, r->sym_len, r->sym_esc, scratch,
                                           &ev.symbol)) != 0) {
            if (on_event) on_event(ud, &ev);
            st->events++;
        } else {
            st->unknown++;
        }
    }
}

int td_alpaca_split(const char *frame, size_t len, const td_alpaca_cb_t *cb, void *ud,
                    td_alpaca_stats_t *stats)
{
    rec_t recs[STACK_RECS];
    td_alpaca_stats_t local = {0};
    td_alpaca_stats_t *st = stats ? stats : &local;
    if (!frame) {
        frame = "";
        len = 0;
    }
    scan_t s = {.base = frame, .end = frame + len, .v = recs, .cap = STACK_RECS};
    int rc = len > MAX_FRAME ? TD_ALPACA_ETOOBIG : scan_frame(&s);
    st->frames++;
    if (rc == TD_ALPACA_OK)
        dispatch(&s, cb, ud, st);
    else
        st->malformed++;
    if (s.heap) free(s.v);
    return rc;
}

/* ---- subscription objects ------------------------------------------------- */

typedef struct {
    void (*fn)(void *ud, td_kind_t k, const char *sym, size_t n);
    void *ud;
    td_kind_t kind;
} sub_ctx;

static void sub_symbol(void *ctx, const char *sym, size_t n)
{
    sub_ctx *c = ctx;
    c->fn(c->ud, c->kind, sym, n);
}

int td_alpaca_subscription_each(const char *obj, size_t len,
                                void (*fn)(void *ud, td_kind_t k, const char *sym, size_t n),
                                void *ud)
{
    if (!obj) return TD_ALPACA_EMALFORMED;
    scan_t s = {.base = obj, .end = obj + len};
    const char *end = s.end, *p = skip_ws(obj, end), *q;
    if (p >= end || *p != '{' || !(q = skip_nested(&s, p, 1)) || skip_ws(q, end) != end)
        return TD_ALPACA_EMALFORMED;
    p = skip_ws(p + 1, end);
    while (*p != '}') {
        int esc = 0, kind = -1;
        const char *k = p + 1, *ke = scan_str(k, end, &esc);
        char tmp[32];
        int n = esc ? unescape(k, (size_t)(ke - k), tmp, sizeof tmp) : (int)(ke - k);
        if (n >= 0) kind = td_kind_parse(esc ? tmp : k, (size_t)n);
        p = skip_ws(scan_name(p, end), end);
        q = scan_value(&s, p, 2);
        if (kind >= 0 && *p == '[' && fn) {
            sub_ctx c = {fn, ud, (td_kind_t)kind};
            each_symbol(p, q, sub_symbol, &c);
        }
        p = skip_ws(q, end);
        if (*p == ',') p = skip_ws(p + 1, end);
    }
    return TD_ALPACA_OK;
}

/* ---- client messages ------------------------------------------------------ */

void td_alpaca_build_auth(td_buf_t *b, const char *key, const char *secret)
{
    td_buf_appends(b, "{\"action\":\"auth\",\"key\":");
    td_buf_append_json_str(b, key, strlen(key));
    td_buf_appends(b, ",\"secret\":");
    td_buf_append_json_str(b, secret, strlen(secret));
    td_buf_appendc(b, '}');
}

void td_alpaca_build_sub(td_buf_t *b, const char *action, const td_subset_t *s, unsigned kinds)
{
    td_buf_appends(b, "{\"action\":");
    td_buf_append_json_str(b, action, strlen(action));
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        if (!(kinds & (1u << k)) || k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR) continue;
        if (!s->k[k].all && s->k[k].n == 0) continue;
        td_buf_appendc(b, ',');
        td_subset_append_json_list(s, (td_kind_t)k, b);
    }
    td_buf_appendc(b, '}');
}
