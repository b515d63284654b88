/* SPDX-License-Identifier: Apache-2.0 */
/* Alpaca REST trades and quotes bodies (multi-symbol /v2/stocks/trades,
 * /v2/stocks/quotes and the crypto ones), sans-I/O:
 *
 *   {"trades":{"AAPL":[{"t":"...","x":"V","p":1.5,"s":100,"c":["@"],"i":52983525029461,
 *    "z":"C"},...],...},"next_page_token":"..."|null}
 *
 * (quotes: "quotes" and records without "i"). Each record is kept as its
 * bytes in the body (the refill turns it back into a stream event by adding
 * "T" and "S") with its symbol, time and trade id. A body is validated whole
 * (strict JSON) before anything is taken from it. */
#ifndef TD_PROTO_TICKS_H
#define TD_PROTO_TICKS_H

#include "proto/bars.h" /* td_bars_status_t, TD_BARS_MAX_* */
#include "proto/event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct td_tick_s {
    char symbol[TD_BARS_MAX_SYM + 1]; /* decoded, NUL-terminated */
    const char *rec;                  /* the record object, in the body */
    size_t rec_len;
    int64_t ts_ns; /* "t" */
    int has_id;    /* trades: "i" was an unsigned integer */
    uint64_t id;
} td_tick_t;

typedef struct td_ticks_page_s {
    td_tick_t *v; /* owned; n used of cap */
    size_t n, cap;
    td_bars_status_t status; /* OK, EMPTY, or an error body / MALFORMED */
    char next[TD_BARS_MAX_NEXT + 1];
    char message[TD_BARS_MAX_MSG + 1];
} td_ticks_page_t;

/* Parses [body, body+len) for kind TD_KIND_TRADE ("trades") or
 * TD_KIND_QUOTE ("quotes"). A record needs "t" (RFC 3339); everything else
 * is kept as is. Returns 0 (OK or EMPTY) or -1 (error body, MALFORMED; the
 * page then holds no records). The records point into body: valid while it
 * is. */
int td_ticks_parse_alpaca(const char *body, size_t len, td_kind_t kind, td_ticks_page_t *out);
/* Polygon /v3/trades/{T} and /v3/quotes/{T} bodies, of one symbol (sym):
 *
 *   {"results":[{"conditions":[12],"exchange":11,"id":"52983525029461",
 *     "price":1.5,"sip_timestamp":1733400000123456789,"size":100,...},...],
 *    "status":"OK","request_id":"...","next_url":"https://..."}
 *
 * A record needs an integer "sip_timestamp" (Unix ns; ts_ns is it rounded
 * down to the ms, the stream's precision); a trade's "id" (a string) gives
 * id (its value if decimal digits, else a hash of its bytes). next holds
 * next_url. No "results": EMPTY; an error body ("status" not OK/DELAYED,
 * with "message" or "error"): INVALID with the message. Same returns as
 * td_ticks_parse_alpaca. */
int td_ticks_parse_polygon(const char *body, size_t len, td_kind_t kind, const char *sym,
                           td_ticks_page_t *out);
void td_ticks_page_free(td_ticks_page_t *p);

/* A stream event's time and id (the object [p, p+n), valid JSON): "t" as
 * RFC 3339 (Alpaca) or as Unix ms (a number: Polygon trades and quotes),
 * else "s" as Unix ms (Polygon bars); "i" if an unsigned integer (Alpaca
 * trades) or a string (Polygon trades: as for td_ticks_parse_polygon's id).
 * 0, or -1 without a usable time. */
int td_ticks_event_fields(const char *p, size_t n, int64_t *ns, int *has_id, uint64_t *id);

#endif
