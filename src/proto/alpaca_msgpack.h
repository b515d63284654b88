/* SPDX-License-Identifier: Apache-2.0 */
/* Alpaca market-data stream, MessagePack mode (PROTOCOLS.md §1.2), sans-I/O.
 *
 * A client that asks for `Content-Type: application/msgpack` on the upgrade
 * gets binary frames both ways. Server → client: the vendor's JSON objects
 * are transcoded once per event into MessagePack maps, with "T" as the first
 * key (the Go SDK insists) and the RFC 3339 timestamps as timestamp
 * extensions (type -1). Client → server: one msgpack map per message, parsed
 * into the same td_alpaca_client_msg_t the JSON parser fills.
 *
 * Everything here is pure: no I/O, no global state, safe on hostile input. */
#ifndef TD_PROTO_ALPACA_MSGPACK_H
#define TD_PROTO_ALPACA_MSGPACK_H

#include "core/buf.h"
#include "proto/alpaca_client.h"

#include <stddef.h>
#include <stdint.h>

/* Nesting bound of the JSON transcoder (objects and arrays, the top level
 * counted as 1); deeper input is rejected. 32 is also what msgpack-c's
 * unpacker can read back (MSGPACK_EMBED_STACK_SIZE); Alpaca data needs 3. */
#define TD_ALPACA_MSGPACK_JSON_DEPTH 32
/* Nesting bound of the client-message decoder. */
#define TD_ALPACA_MSGPACK_CLIENT_DEPTH 32

/* Appends a MessagePack array header for n elements to b (grows b). */
void td_msgpack_array_header(td_buf_t *b, uint32_t n);

/* Transcodes one JSON object (a vendor event or control message; borrowed,
 * need not be NUL-terminated, whitespace around it allowed) into one
 * MessagePack map appended to b:
 *   - "T" first when present (the first "T" member), then the other members
 *     in their JSON order;
 *   - the top-level members "t", "created_at" and "updated_at" become
 *     timestamp extensions (type -1: the 8-byte "timestamp 64" format when
 *     0 <= seconds < 2^34, else the 12-byte "timestamp 96") when their value
 *     is an RFC 3339 string td_rfc3339_parse accepts; otherwise they are
 *     kept as strings;
 *   - integers become msgpack ints (smallest encoding; int64 range, then
 *     uint64), all other numbers float64 (correctly rounded);
 *   - strings are JSON-decoded (\uXXXX and surrogate pairs to UTF-8) and
 *     must be valid UTF-8 without lone surrogates;
 *   - arrays, nested objects (kept in order), true/false/null as such.
 * Returns 0, or -1 if json is not exactly one valid JSON object, nests
 * deeper than TD_ALPACA_MSGPACK_JSON_DEPTH, or has a container/string above
 * 2^32-1 elements/bytes; b is then unchanged (its length; its spare
 * capacity may have been written). b stays NUL-terminated after data+len. */
int td_alpaca_msgpack_object(td_buf_t *b, const char *json, size_t len);

/* The same for a whole JSON array of objects (a server frame such as
 * [{"T":"success","msg":"connected"}]), appended as a msgpack array of maps,
 * each transcoded as td_alpaca_msgpack_object does. An empty array is
 * allowed; an element that is not an object fails. Returns 0 or -1 (b
 * unchanged). */
int td_alpaca_msgpack_frame(td_buf_t *b, const char *json, size_t len);

/* Client → server: parses one msgpack-encoded message p[0..n) (borrowed)
 * into m, which must have been initialised with td_alpaca_client_msg_init
 * (its previous content is replaced). The rules and codes are those of
 * td_alpaca_client_parse:
 *   - the message is exactly one map (no trailing bytes, not truncated,
 *     keys are strings, nesting <= TD_ALPACA_MSGPACK_CLIENT_DEPTH, no count
 *     larger than the bytes left) else TD_EMALFORMED;
 *   - "action" missing, not a string, or not auth/subscribe/unsubscribe:
 *     TD_EACTION (the first "action" member counts);
 *   - auth: "key"/"secret" strings copied (has_* = 0 when absent, not a
 *     string, or holding a NUL byte), more than TD_ALPACA_CLIENT_CRED_MAX
 *     bytes: ETOOLONG;
 *   - subscribe/unsubscribe: per channel word a list of symbols; nil, an
 *     empty array or (for an unknown word) a non-array value are ignored;
 *     a non-array under a channel word is EMALFORMED; an unknown word with
 *     a non-empty list is ECHANNEL; a symbol that is not a string of 1..64
 *     printable ASCII bytes (or "*") is ESYMBOL; "snapshot" sets
 *     m->snapshot when its value is true.
 * msgpack "bin" values are accepted wherever a string is. On error
 * m->action is NONE and m->sub is empty. Never reads outside p[0..n); time
 * is linear in n (each byte is read a fixed number of times). */
int td_alpaca_client_parse_msgpack(const char *p, size_t n, td_alpaca_client_msg_t *m);

#endif
