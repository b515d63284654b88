/* SPDX-License-Identifier: Apache-2.0 */
/* The stream table (vendor.h). */
#include "proto/vendor.h"
#include "core/mem.h"
#include "proto/alpaca.h"

#include <stdio.h>
#include <string.h>

#define K(k) (1u << TD_KIND_##k)

#define A_STOCK         TD_ALPACA_STOCK_KINDS
#define A_CRYPTO        TD_ALPACA_CRYPTO_KINDS
#define A_NEWS          TD_ALPACA_NEWS_KINDS
#define A_STOCK_OFFERED (A_STOCK | K(CORRECTION) | K(CANCEL_ERROR))
#define P_STOCK         (K(TRADE) | K(QUOTE) | K(BAR) | K(SECOND_BAR) | K(LULD) | K(IMBALANCE))
#define P_OPTION        (K(TRADE) | K(QUOTE) | K(BAR) | K(SECOND_BAR))
#define P_FOREX         (K(QUOTE) | K(BAR) | K(SECOND_BAR))
#define P_CRYPTO        (K(TRADE) | K(QUOTE) | K(BAR) | K(SECOND_BAR) | K(ORDERBOOK))

#define ALPACA(path, feed, cls, kinds, offered, test)                                              \
    {                                                                                              \
        TD_VENDOR_ALPACA, path, feed, cls, kinds, offered, TD_VCODEC_JSON | TD_VCODEC_MSGPACK,     \
            test                                                                                   \
    }
#define POLYGON(path, feed, cls, kinds)                                                            \
    {                                                                                              \
        TD_VENDOR_POLYGON, path, feed, cls, kinds, kinds, TD_VCODEC_JSON, 0                        \
    }

const td_vstream_t td_vendor_streams[TD_VENDOR_NSTREAMS] = {
    ALPACA("/v2/iex", "iex", TD_CLASS_STOCKS, A_STOCK, A_STOCK_OFFERED, 0),
    ALPACA("/v2/sip", "sip", TD_CLASS_STOCKS, A_STOCK, A_STOCK_OFFERED, 0),
    ALPACA("/v2/delayed_sip", "delayed_sip", TD_CLASS_STOCKS, A_STOCK, A_STOCK_OFFERED, 0),
    ALPACA("/v2/test", "test", TD_CLASS_STOCKS, A_STOCK, A_STOCK_OFFERED, 1),
    ALPACA("/v1beta3/crypto/us", "crypto", TD_CLASS_CRYPTO, A_CRYPTO, A_CRYPTO, 0),
    ALPACA("/v1beta1/news", "news", TD_CLASS_NEWS, A_NEWS, A_NEWS, 0),
    POLYGON("/stocks", "stocks", TD_CLASS_STOCKS, P_STOCK),
    POLYGON("/options", "options", TD_CLASS_OPTIONS, P_OPTION),
    POLYGON("/forex", "forex", TD_CLASS_FOREX, P_FOREX),
    POLYGON("/crypto", "crypto", TD_CLASS_CRYPTO, P_CRYPTO),
};

_Static_assert((int)TD_CLASS_STOCKS == (int)TD_POLYGON_STOCKS &&
                   (int)TD_CLASS_OPTIONS == (int)TD_POLYGON_OPTIONS &&
                   (int)TD_CLASS_FOREX == (int)TD_POLYGON_FOREX &&
                   (int)TD_CLASS_CRYPTO == (int)TD_POLYGON_CRYPTO,
               "a Polygon cluster is its stream class");

const char *td_vendor_name(td_vendor_t v)
{
    static const char *const names[TD_VENDOR__COUNT] = {"alpaca", "polygon"};
    return (unsigned)v < TD_VENDOR__COUNT ? names[v] : NULL;
}

const char *td_vendor_title(td_vendor_t v)
{
    static const char *const titles[TD_VENDOR__COUNT] = {"Alpaca", "Polygon"};
    return (unsigned)v < TD_VENDOR__COUNT ? titles[v] : NULL;
}

const char *td_class_name(td_class_t c)
{
    static const char *const names[TD_CLASS__COUNT] = {"stocks", "options", "forex", "crypto",
                                                       "news"};
    return (unsigned)c < TD_CLASS__COUNT ? names[c] : NULL;
}

const td_vstream_t *td_vendor_find(const char *path)
{
    for (size_t i = 0; path && i < TD_VENDOR_NSTREAMS; i++)
        if (strcmp(td_vendor_streams[i].path, path) == 0) return &td_vendor_streams[i];
    return NULL;
}

const td_vstream_t *td_vendor_first(td_vendor_t v, td_class_t c)
{
    for (size_t i = 0; i < TD_VENDOR_NSTREAMS; i++)
        if (td_vendor_streams[i].vendor == v && td_vendor_streams[i].cls == c)
            return &td_vendor_streams[i];
    return NULL;
}

const td_vstream_t *td_vendor_upstream(td_vendor_t v, const char *path)
{
    if (!path) return NULL;
    for (size_t i = 0; i < TD_VENDOR_NSTREAMS; i++) {
        const td_vstream_t *s = &td_vendor_streams[i];
        if (s->vendor != v) continue;
        if (strcmp(s->path, path) == 0) return s;
        if (v == TD_VENDOR_POLYGON && strcmp(s->path + 1, path) == 0) return s;
    }
    if (v != TD_VENDOR_ALPACA) return NULL;
    td_class_t c = strstr(path, "/news")     ? TD_CLASS_NEWS
                   : strstr(path, "/crypto") ? TD_CLASS_CRYPTO
                                             : TD_CLASS_STOCKS;
    return td_vendor_first(v, c);
}

const char *td_vendor_paths(td_vendor_t v, char *out, size_t cap)
{
    size_t n = 0;
    if (!cap) return out;
    out[0] = '\0';
    for (size_t i = 0; i < TD_VENDOR_NSTREAMS && n < cap; i++) {
        if (td_vendor_streams[i].vendor != v) continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? " " : "", td_vendor_streams[i].path);
        if (w < 0) break;
        n += (size_t)w;
    }
    return out;
}

int td_vendor_cluster(const td_vstream_t *s)
{
    return s->vendor == TD_VENDOR_POLYGON ? (int)s->cls : -1;
}

td_class_t td_vendor_sym_class(td_vendor_t v, const char *sym, size_t n)
{
    if (v == TD_VENDOR_ALPACA) return memchr(sym, '/', n) ? TD_CLASS_CRYPTO : TD_CLASS_STOCKS;
    if (n > 2 && sym[0] == 'O' && sym[1] == ':') return TD_CLASS_OPTIONS;
    if (memchr(sym, '/', n)) return TD_CLASS_FOREX;
    if (memchr(sym, '-', n)) return TD_CLASS_CRYPTO;
    return TD_CLASS_STOCKS;
}

int td_vendor_sym_ok(const td_vstream_t *s, const char *sym, size_t n)
{
    if (s->cls == TD_CLASS_NEWS || (n == 1 && sym[0] == '*')) return 1;
    return td_vendor_sym_class(s->vendor, sym, n) == s->cls;
}

int td_vendor_carries(const td_vstream_t *s, td_kind_t kind, const char *sym, size_t n)
{
    return (s->kinds & (1u << kind)) && td_vendor_sym_ok(s, sym, n);
}
