/* SPDX-License-Identifier: Apache-2.0 */
/* Alpaca market-data stream, server → client control messages (PROTOCOLS.md
 * §1.3–§1.5), sans-I/O. Used by the simulator and by the WebSocket gateway,
 * so both answer with the same bytes:
 *
 *   [{"T":"success","msg":"connected"}]
 *   [{"T":"error","code":402,"msg":"auth failed"}]
 *   [{"T":"subscription","trades":["AAPL"],"quotes":[],…}]
 *
 * Every builder appends one complete frame (an array of length 1) to b. */
#ifndef TD_PROTO_ALPACA_SERVER_H
#define TD_PROTO_ALPACA_SERVER_H

#include "core/buf.h"
#include "proto/sub.h"
#include "proto/vendor.h"

/* The vendor's text for an error code ("auth failed" for 402, …); "internal
 * error" for a code the table does not hold. */
const char *td_alpaca_server_err_text(int code);

/* [{"T":"error","code":N,"msg":"<text of N>"}] */
void td_alpaca_server_error(td_buf_t *b, int code);
/* The same with a text of our own, for a limit the vendor has no code for
 * (sent with the closest code, e.g. 405 for the subscribe rate). */
void td_alpaca_server_error_msg(td_buf_t *b, int code, const char *msg);

/* [{"T":"success","msg":"<msg>"}]; msg is JSON-escaped ("connected",
 * "authenticated"). */
void td_alpaca_server_success(td_buf_t *b, const char *msg);

/* The kinds a client may name on an Alpaca stream of class cls (stocks,
 * crypto, news) (bitmask of
 * 1u << kind). Stocks include corrections and cancelErrors, which are
 * accepted and ignored: they follow trades. */
unsigned td_alpaca_server_offered(td_class_t cls);

/* The subscription confirmation: the complete current set s (borrowed), one
 * list per channel of the class in the vendor's key order; on stock streams
 * "corrections" and "cancelErrors" mirror "trades". */
void td_alpaca_server_subscription(td_buf_t *b, const td_subset_t *s, td_class_t cls);

#endif
