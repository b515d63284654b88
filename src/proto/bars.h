/* SPDX-License-Identifier: Apache-2.0 */
/* Historical bar bodies, sans-I/O: Alpaca REST bars v2 (PROTOCOLS.md §2)
 * and Polygon REST aggregates (§4). The parsers see only the body (not the
 * HTTP status): they classify it as bars, no bars, or an error body.
 *
 * Ownership: a td_bars_page_t owns its bars array (heap, grown by the
 * parsers); everything else in it is inline. Zero it (TD_BARS_PAGE_INIT)
 * before first use, reuse it for page after page (each parse replaces its
 * content and keeps the array's capacity) and release it with
 * td_bars_page_free. Nothing in a page points into the body. */
#ifndef TD_PROTO_BARS_H
#define TD_PROTO_BARS_H

#include <stddef.h>
#include <stdint.h>

#define TD_BARS_MAX_SYM  64      /* symbol bytes */
#define TD_BARS_MAX_BARS 1000000 /* bars per page; a body with more is MALFORMED */
#define TD_BARS_MAX_NEXT 4096    /* next page token / URL bytes; longer is MALFORMED */
#define TD_BARS_MAX_MSG  255     /* message bytes kept (longer messages are truncated) */

typedef enum td_bars_status_e {
    TD_BARS_OK,           /* at least one bar */
    TD_BARS_EMPTY,        /* a valid page without bars (null, [], {} or absent results) */
    TD_BARS_RATE_LIMITED, /* a 429-style error body */
    TD_BARS_AUTH,         /* a 401/403-style error body (bad key, plan restriction) */
    TD_BARS_INVALID,      /* another error body (400/422 "message") */
    TD_BARS_MALFORMED,    /* not one strict JSON object of the vendor's shape, or out of
                             bounds; message says why */
} td_bars_status_t;

typedef struct td_bar_s {
    char symbol[TD_BARS_MAX_SYM + 1]; /* NUL-terminated, 1..64 bytes, no control bytes */
    int64_t ts_ns;                    /* bar start, Unix ns */
    double open, high, low, close;    /* finite */
    double volume;                    /* finite, >= 0, may be fractional (crypto) */
    double vwap;                      /* NAN when absent or null */
    int64_t trade_count;              /* -1 when absent or null */
} td_bar_t;

typedef struct td_bars_page_s {
    td_bar_t *bars; /* owned; n bars used of cap allocated */
    size_t n, cap;
    td_bars_status_t status;
    long long code;                    /* Alpaca error "code" (e.g. 42910000), else 0 */
    char next[TD_BARS_MAX_NEXT + 1];   /* next_page_token / next_url, "" when none or null */
    char message[TD_BARS_MAX_MSG + 1]; /* error text (decoded, truncated at a UTF-8 boundary,
                                          control bytes replaced by '?'), else "" */
} td_bars_page_t;

#define TD_BARS_PAGE_INIT                                                                          \
    {                                                                                              \
        0                                                                                          \
    }

/* Parses an Alpaca bars body [body, body+len) (NUL not needed; only those
 * bytes are read) into *out, after resetting it. "bars" as an object is the
 * multi-symbol form (each member a symbol with an array or null); "bars" as
 * an array (or null) is the single-symbol form, whose symbol is the body's
 * "symbol" or else symbol_or_null (both given and different: MALFORMED).
 * A bar needs "t" (RFC 3339), "o", "h", "l", "c", "v" (numbers, integers
 * too); "vw" and "n" are optional; other members are ignored and the first
 * of a repeated name counts. Without "bars", a "message" (and optional
 * "code") is an error body. Returns 0 for OK and EMPTY, else -1 (also when
 * memory runs out: MALFORMED). */
int td_bars_parse_alpaca(const char *body, size_t len, const char *symbol_or_null,
                         td_bars_page_t *out);

/* Parses a Polygon aggregates body likewise: "results" (array, null or
 * absent), "t" in Unix ms, the symbol from "ticker" or else ticker (may be
 * NULL; both given and different: MALFORMED), "next_url". Without results,
 * "status" "OK"/"DELAYED" or a "ticker" is EMPTY; "error"/"message" or a
 * status "ERROR"/"NOT_AUTHORIZED" is an error body. An empty body (as some
 * 429s have) is MALFORMED: the caller knows the HTTP status. */
int td_bars_parse_polygon(const char *body, size_t len, const char *ticker, td_bars_page_t *out);

/* Empties the page (n = 0, status OK, next/message "", code 0); keeps the array. */
void td_bars_page_reset(td_bars_page_t *page);

/* Frees the array and resets the page; it may be reused. NULL is fine. */
void td_bars_page_free(td_bars_page_t *page);

#endif
