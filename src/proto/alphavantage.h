/* Alpha Vantage REST bodies (PROTOCOLS.md §5), sans-I/O. Every response is
 * HTTP 200, errors and throttling included: the body decides. */
#ifndef TD_PROTO_ALPHAVANTAGE_H
#define TD_PROTO_ALPHAVANTAGE_H

#include "core/buf.h"

#include <stddef.h>

typedef enum td_av_kind_e {
    TD_AV_QUOTE,     /* a "Global Quote" with data */
    TD_AV_UNKNOWN,   /* {"Global Quote":{}}: unknown symbol */
    TD_AV_THROTTLED, /* "Note" or "Information" and no data key: rate limited */
    TD_AV_ERROR,     /* "Error Message": a permanent error for this request */
    TD_AV_MALFORMED, /* not JSON, or none of the above */
} td_av_kind_t;

typedef struct td_av_quote_s {
    char symbol[33];
    double open, high, low, price, previous_close, change, change_percent;
    long long volume;
    char latest_day[11]; /* YYYY-MM-DD */
} td_av_quote_t;

typedef struct td_av_result_s {
    td_av_kind_t kind;
    td_av_quote_t quote;   /* for TD_AV_QUOTE */
    const char *text;      /* for THROTTLED and ERROR: the message (raw JSON string content) */
    size_t text_len;
    int daily;             /* THROTTLED: the text speaks of a per-day limit */
    const char *object;    /* for TD_AV_QUOTE: the "Global Quote" object's bytes */
    size_t object_len;
} td_av_result_t;

/* Classifies and parses a GLOBAL_QUOTE body (strings to numbers). Views in
 * *out point into body. Never fails: a body it cannot read is MALFORMED. */
void td_av_parse_global_quote(const char *body, size_t len, td_av_result_t *out);

/* Appends the canonical event payload tickerd publishes for a quote: the
 * vendor's "Global Quote" object unchanged (its bytes). */
void td_av_quote_payload(const td_av_result_t *r, td_buf_t *b);

#endif
