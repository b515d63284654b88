/* SPDX-License-Identifier: Apache-2.0 */
/* Alpha Vantage REST bodies (PROTOCOLS.md §5), sans-I/O. Every response is
 * HTTP 200, errors and throttling included: the body decides. */
#ifndef TD_PROTO_ALPHAVANTAGE_H
#define TD_PROTO_ALPHAVANTAGE_H

#include "core/buf.h"

#include <stddef.h>

typedef enum td_av_kind_e {
    TD_AV_QUOTE,     /* a "Global Quote" (or "Global Quote - DATA DELAYED") with data */
    TD_AV_UNKNOWN,   /* {"Global Quote":{}}: unknown symbol */
    TD_AV_THROTTLED, /* "Note" or "Information" and no data key: rate limited (also the
                        demo-key notice, with daily 0) */
    TD_AV_ERROR,     /* "Error Message": a permanent error for this request */
    TD_AV_MALFORMED, /* not one JSON object, or none of the above (e.g. a quote without a
                        usable symbol or price, or a field that does not parse) */
} td_av_kind_t;

/* Values parsed from the vendor's strings: "01. symbol" (1..32 bytes, no
 * control characters) and "05. price" are required; the other fields are 0
 * (latest_day "") when absent and must parse when present (decimals without
 * exponent, "10. change percent" with or without its '%', volume digits). */
typedef struct td_av_quote_s {
    char symbol[33];
    double open, high, low, price, previous_close, change, change_percent;
    long long volume;
    char latest_day[11]; /* YYYY-MM-DD */
} td_av_quote_t;

typedef struct td_av_result_s {
    td_av_kind_t kind;
    td_av_quote_t quote; /* for TD_AV_QUOTE */
    const char *text;    /* for THROTTLED and ERROR: the message (raw JSON string content,
                            escapes not decoded; Error Message wins over Note, Note over
                            Information); else NULL */
    size_t text_len;
    int daily;          /* THROTTLED: the text speaks of a per-day limit ("per day",
                           "daily", "/day") and not of a per-minute one: the old Note
                           "5 calls per minute and 500 calls per day" gives 0 */
    const char *object; /* for QUOTE and UNKNOWN: the "Global Quote" object's bytes
                           ('{' to '}'); else NULL */
    size_t object_len;
} td_av_result_t;

/* Classifies and parses a GLOBAL_QUOTE body (strings to numbers). Views in
 * *out point into body (borrowed; reads only [body, body+len), NUL not
 * needed). Never fails: a body it cannot read (or NULL) is MALFORMED. Other
 * top-level keys are ignored; for a repeated key the first one counts. */
void td_av_parse_global_quote(const char *body, size_t len, td_av_result_t *out);

/* Appends the canonical event payload tickerd publishes for a quote: the
 * vendor's "Global Quote" object unchanged (its bytes). Appends nothing
 * unless r->kind is TD_AV_QUOTE. */
void td_av_quote_payload(const td_av_result_t *r, td_buf_t *b);

#endif
