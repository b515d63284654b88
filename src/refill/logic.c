/* SPDX-License-Identifier: Apache-2.0 */
/* The refill's pure logic: window, delivered set, record -> event. */
#include "refill/logic.h"

#include "core/clock.h"
#include "core/mem.h"
#include "proto/json_scan.h"
#include "proto/ticks.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int td_refill_bar_window(int64_t from_ns, int64_t to_ns, int64_t step_ns, int64_t *t0, int64_t *t1)
{
    if (step_ns <= 0 || to_ns < from_ns) return -1;
    *t0 = td_floor_div(from_ns, step_ns) * step_ns - step_ns;
    *t1 = td_floor_div(to_ns, step_ns) * step_ns - step_ns;
    return *t1 >= *t0 ? 0 : -1;
}

/* ---- the delivered set ------------------------------------------------------ */

void td_seen_init(td_seen_t *s, size_t cap)
{
    size_t c = 16;
    while (c < cap)
        c <<= 1;
    s->cap = c;
    s->mask = 2 * c - 1;
    s->slot = td_xcalloc(2 * c, sizeof *s->slot);
    s->fifo = td_xcalloc(c, sizeof *s->fifo);
    s->head = s->n = 0;
}

void td_seen_free(td_seen_t *s)
{
    free(s->slot);
    free(s->fifo);
    memset(s, 0, sizeof *s);
}

static size_t find(const td_seen_t *s, uint64_t key)
{
    size_t i = (size_t)(key * 0x9e3779b97f4a7c15ULL >> 7) & s->mask;
    while (s->slot[i] && s->slot[i] != key)
        i = (i + 1) & s->mask;
    return i;
}

/* Removes the key at slot i, shifting the rest of its probe run back. */
static void erase(td_seen_t *s, size_t i)
{
    size_t j = i;
    s->slot[i] = 0;
    for (;;) {
        j = (j + 1) & s->mask;
        if (!s->slot[j]) return;
        size_t home = (size_t)(s->slot[j] * 0x9e3779b97f4a7c15ULL >> 7) & s->mask;
        /* j's key may move to i if its home is not in (i, j] (cyclically) */
        int between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (between) continue;
        s->slot[i] = s->slot[j];
        s->slot[j] = 0;
        i = j;
    }
}

int td_seen_has(const td_seen_t *s, uint64_t key)
{
    if (!key) key = 1;
    return s->slot[find(s, key)] == key;
}

int td_seen_add(td_seen_t *s, uint64_t key)
{
    if (!key) key = 1;
    size_t i = find(s, key);
    if (s->slot[i] == key) return 0;
    if (s->n == s->cap) { /* forget the oldest */
        erase(s, find(s, s->fifo[s->head]));
        s->head = (s->head + 1) % s->cap;
        s->n--;
        i = find(s, key);
    }
    s->slot[i] = key;
    s->fifo[(s->head + s->n) % s->cap] = key;
    s->n++;
    return 1;
}

uint64_t td_refill_key(td_kind_t kind, const char *sym, size_t n, int64_t ts_ns)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)sym[i]) * 1099511628211ULL;
    h ^= (uint64_t)ts_ns + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    return h;
}

/* ---- the live event's time -------------------------------------------------- */

int td_refill_event_time(const char *payload, size_t n, int64_t *ns)
{
    int has_id;
    uint64_t id;
    return td_ticks_event_fields(payload, n, ns, &has_id, &id);
}

int td_refill_event_id(const char *payload, size_t n, uint64_t *id)
{
    int64_t ns;
    int has_id = 0;
    if (td_ticks_event_fields(payload, n, &ns, &has_id, id) != 0 && !has_id) return -1;
    return has_id ? 0 : -1;
}

uint64_t td_refill_tick_key(td_kind_t kind, const char *sym, size_t n, int64_t ts_ns, uint64_t id)
{
    uint64_t h = td_refill_key(kind, sym, n, ts_ns) ^ (id * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 33;
    return h * 0xff51afd7ed558ccdULL;
}

/* ---- record -> event ---------------------------------------------------------- */

void td_refill_tick_json(td_kind_t kind, const char *sym, const char *rec, size_t rec_len,
                         td_buf_t *out)
{
    td_buf_appends(out, kind == TD_KIND_TRADE ? "{\"T\":\"t\",\"S\":" : "{\"T\":\"q\",\"S\":");
    td_buf_append_json_str(out, sym, strlen(sym));
    /* the record's members: between its braces (whitespace kept) */
    const char *p = td_json_skip_ws(rec + 1, rec + rec_len - 1), *e = rec + rec_len - 1;
    if (p < e) {
        td_buf_appendc(out, ',');
        td_buf_append(out, p, (size_t)(e - p));
    }
    td_buf_appends(out, ",\"refilled\":true}");
}

typedef struct {
    const char *stream, *rest;
    int how; /* 0: as is; 1: ns -> ms; 2: an array's first element */
} pmap_t;

static const pmap_t PTRADE[] = {{"x", "exchange", 0},      {"i", "id", 0},
                                {"z", "tape", 0},          {"p", "price", 0},
                                {"s", "size", 0},          {"c", "conditions", 0},
                                {"t", "sip_timestamp", 1}, {"q", "sequence_number", 0},
                                {"trfi", "trf_id", 0},     {"trft", "trf_timestamp", 1}};
static const pmap_t PQUOTE[] = {
    {"bx", "bid_exchange", 0},   {"bp", "bid_price", 0}, {"bs", "bid_size", 0},
    {"ax", "ask_exchange", 0},   {"ap", "ask_price", 0}, {"as", "ask_size", 0},
    {"c", "conditions", 2},      {"i", "indicators", 0}, {"t", "sip_timestamp", 1},
    {"q", "sequence_number", 0}, {"z", "tape", 0}};

/* One member: 0, or -1 if it cannot be converted (then left out; a bad
 * sip_timestamp fails the record). */
static int pmember(const pmap_t *m, const char *p, const char *e, td_buf_t *out)
{
    td_json_trim(&p, &e);
    if (m->how == 1) {
        int64_t v;
        if (td_json_int64(p, e, &v) != 0) return -1;
        td_buf_appendf(out, ",\"%s\":%lld", m->stream, (long long)td_floor_div(v, 1000000));
        return 0;
    }
    if (m->how == 2) { /* [x, ...] -> x */
        if (p == e || *p != '[') return -1;
        const char *q = p + 1, *end = e - 1;
        td_json_trim(&q, &end);
        int deep = 0;
        const char *ve = q < end ? td_json_scan_value(q, end, 1, &deep) : NULL;
        if (!ve) return -1;
        p = q;
        e = ve;
        td_json_trim(&p, &e);
    }
    td_buf_appendf(out, ",\"%s\":", m->stream);
    td_buf_append(out, p, (size_t)(e - p));
    return 0;
}

int td_refill_tick_json_polygon(td_kind_t kind, const char *sym, const char *rec, size_t rec_len,
                                td_buf_t *out)
{
    const pmap_t *map = kind == TD_KIND_TRADE ? PTRADE : PQUOTE;
    int n = kind == TD_KIND_TRADE ? (int)TD_ARRAY_LEN(PTRADE) : (int)TD_ARRAY_LEN(PQUOTE);
    const char *names[16];
    td_json_span_t k[16] = {{0}};
    for (int i = 0; i < n; i++)
        names[i] = map[i].rest;
    if (td_json_top_members(rec, rec + rec_len, names, n, k) != 0) return -1;
    int tpos = kind == TD_KIND_TRADE ? 6 : 8; /* sip_timestamp */
    if (!k[tpos].p) return -1;
    size_t len0 = out->len;
    td_buf_appends(out,
                   kind == TD_KIND_TRADE ? "{\"ev\":\"T\",\"sym\":" : "{\"ev\":\"Q\",\"sym\":");
    td_buf_append_json_str(out, sym, strlen(sym));
    for (int i = 0; i < n; i++)
        if (k[i].p && pmember(&map[i], k[i].p, k[i].e, out) != 0 && i == tpos) {
            out->len = len0;
            return -1;
        }
    td_buf_appends(out, ",\"refilled\":true}");
    return 0;
}

static void num(td_buf_t *out, const char *name, double v)
{
    td_buf_appendf(out, ",\"%s\":%.15g", name, v);
}

void td_refill_bar_json(const td_bar_t *b, int polygon, int64_t step_ns, td_buf_t *out)
{
    size_t sl = strlen(b->symbol);
    if (polygon) {
        td_buf_appends(out, "{\"ev\":\"AM\",\"sym\":");
        td_buf_append_json_str(out, b->symbol, sl);
        num(out, "v", b->volume);
        num(out, "o", b->open);
        num(out, "c", b->close);
        num(out, "h", b->high);
        num(out, "l", b->low);
        if (!isnan(b->vwap)) num(out, "vw", b->vwap);
        if (b->trade_count >= 0) td_buf_appendf(out, ",\"z\":%lld", (long long)b->trade_count);
        td_buf_appendf(out, ",\"s\":%lld,\"e\":%lld", (long long)(b->ts_ns / 1000000),
                       (long long)((b->ts_ns + step_ns) / 1000000));
    } else {
        char t[TD_RFC3339_MAX];
        size_t tl = td_rfc3339_format(t, b->ts_ns);
        td_buf_appends(out, "{\"T\":\"b\",\"S\":");
        td_buf_append_json_str(out, b->symbol, sl);
        num(out, "o", b->open);
        num(out, "h", b->high);
        num(out, "l", b->low);
        num(out, "c", b->close);
        num(out, "v", b->volume);
        td_buf_appendf(out, ",\"t\":\"%.*s\"", (int)tl, t);
        if (b->trade_count >= 0) td_buf_appendf(out, ",\"n\":%lld", (long long)b->trade_count);
        if (!isnan(b->vwap)) num(out, "vw", b->vwap);
    }
    td_buf_appends(out, ",\"refilled\":true}");
}

/* ---- configuration ------------------------------------------------------------ */

int td_refill_parse_kinds(const char *s, unsigned *kinds, char *err, size_t errlen)
{
    *kinds = 0;
    const char *p = s ? s : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 4 && memcmp(p, "none", 4) == 0) {
        } else if (n == 4 && memcmp(p, "bars", 4) == 0) {
            *kinds |= 1u << TD_KIND_BAR;
        } else if (n == 6 && memcmp(p, "trades", 6) == 0) {
            *kinds |= 1u << TD_KIND_TRADE;
        } else if (n == 6 && memcmp(p, "quotes", 6) == 0) {
            *kinds |= 1u << TD_KIND_QUOTE;
        } else {
            snprintf(err, errlen, "--refill: unknown kind '%.*s' (bars, trades, quotes or none)",
                     (int)n, p);
            return -1;
        }
        p += n + (p[n] == ',');
    }
    return 0;
}

/* host[0..n) is `name`, with or without a port. */
static int host_is(const char *host, size_t n, const char *name)
{
    size_t l = strlen(name);
    return n >= l && memcmp(host, name, l) == 0 && (n == l || host[l] == ':');
}

int td_refill_rest_base(const char *url, char *out, size_t cap)
{
    int tls = strncmp(url, "wss://", 6) == 0;
    if (!tls && strncmp(url, "ws://", 5) != 0) return -1;
    const char *host = url + (tls ? 6 : 5);
    size_t n = strcspn(host, "/?");
    if (n == 0) return -1;
    if (host_is(host, n, "stream.data.alpaca.markets"))
        snprintf(out, cap, "https://data.alpaca.markets");
    else if (host_is(host, n, "socket.polygon.io") || host_is(host, n, "delayed.polygon.io"))
        snprintf(out, cap, "https://api.polygon.io");
    else
        snprintf(out, cap, "%s://%.*s", tls ? "https" : "http", (int)n, host);
    return 0;
}
