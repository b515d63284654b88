/* SPDX-License-Identifier: Apache-2.0 */
/* Alpaca market-data stream, client → server messages (PROTOCOLS.md §1.3,
 * §1.4), sans-I/O. Used by the simulator and by the WebSocket gateway to
 * read what a client sends:
 *
 *   {"action":"auth","key":"PK…","secret":"…"}
 *   {"action":"subscribe","trades":["AAPL"],"quotes":["*"],"bars":null,…}
 *   {"action":"unsubscribe","bars":["*"]}
 *
 * One complete text message in, one td_alpaca_client_msg_t out. Strings are
 * JSON-decoded (\uXXXX included). Channel lists may be null or empty (the Go
 * SDK sends every key); a non-empty list under a word that is not a channel
 * is an error, so is a symbol that is not a string of printable ASCII.
 *
 * The JSON is strict (RFC 8259, valid UTF-8) and nested at most
 * TD_JSON_MAX_DEPTH (64) levels; parsing takes time linear in the message's
 * size, whatever its shape (a client sends these before it authenticates). */
#ifndef TD_PROTO_ALPACA_CLIENT_H
#define TD_PROTO_ALPACA_CLIENT_H

#include "core/err.h"
#include "proto/sub.h"

#include <stddef.h>

#define TD_ALPACA_CLIENT_CRED_MAX   4096 /* bytes of a decoded key or secret (a token) */
#define TD_ALPACA_CLIENT_SYMBOL_MAX 64   /* bytes of a symbol */

/* Errors of the parsers below (core/err.h): TD_EMALFORMED (malformed JSON or
 * not an object), TD_EACTION, TD_ESYMBOL, TD_ECHANNEL, TD_ETOOLONG (key or
 * secret), TD_ESINCE. */

typedef enum td_alpaca_client_action_e {
    TD_ALPACA_CLIENT_NONE = 0, /* not parsed, or parse failed */
    TD_ALPACA_CLIENT_AUTH,
    TD_ALPACA_CLIENT_SUBSCRIBE,
    TD_ALPACA_CLIENT_UNSUBSCRIBE,
} td_alpaca_client_action_t;

#define TD_ALPACA_SINCE_MAX     1024 /* entries of one "since" object */
#define TD_ALPACA_STREAM_ID_MAX 41   /* "<ms>-<seq>": two 20-digit numbers */

/* One entry of "since": resume channel (kind, sym) after stream id `id`. */
typedef struct td_alpaca_since_s {
    td_kind_t kind;
    char sym[TD_ALPACA_CLIENT_SYMBOL_MAX + 1];
    char id[TD_ALPACA_STREAM_ID_MAX + 1];
} td_alpaca_since_t;

typedef struct td_alpaca_client_msg_s {
    td_alpaca_client_action_t action;
    /* auth: decoded, NUL-terminated; has_* is 0 if the key was absent, not
     * a string, or held a NUL byte (never a valid credential: compared as a
     * C string, "PK1\u0000junk" would read as "PK1"). */
    int has_key, has_secret;
    char key[TD_ALPACA_CLIENT_CRED_MAX + 1];
    char secret[TD_ALPACA_CLIENT_CRED_MAX + 1];
    size_t key_len, secret_len;
    /* subscribe / unsubscribe: the symbols named per kind ("*" sets the
     * kind's wildcard). `kinds` is the bitmask (1u << kind) of kinds named
     * with a non-empty list. */
    td_subset_t sub;
    unsigned kinds;
    /* tickerd's extension (the vendor ignores it): "snapshot":true on a
     * subscribe asks for the last values of wildcard channels too. */
    int snapshot;
    /* tickerd's extension: "gaps":true on a subscribe asks for gap notices
     * (upstream outages) as {"T":"gap",...} messages. */
    int gaps;
    /* tickerd's extension: "since":{"bars.AAPL":"1700000000000-0",...} on a
     * subscribe: replay each channel's history after that stream id, then
     * live (the gateway's history reader). Symbols are names, not "*"; ids
     * are "<ms>" or "<ms>-<seq>" (decimal, at most 20 digits each). */
    td_alpaca_since_t *since;
    size_t nsince;
} td_alpaca_client_msg_t;

void td_alpaca_client_msg_init(td_alpaca_client_msg_t *m);
/* Releases the symbol lists; m may be parsed into again after init. */
void td_alpaca_client_msg_free(td_alpaca_client_msg_t *m);

/* Parses one message (borrowed; need not be NUL-terminated) into m, which
 * must have been initialised (its previous content is replaced). Returns
 * TD_OK or one of the negative codes above; on error
 * m->action is NONE and m->sub is empty. */
int td_alpaca_client_parse(const char *s, size_t n, td_alpaca_client_msg_t *m);

/* A Redis stream id a client may give: "<ms>" or "<ms>-<seq>", each 1..20
 * decimal digits. */
int td_alpaca_stream_id_ok(const char *s, size_t n);

/* The value [v, ve) of a "since" member (validated JSON): null, or an
 * object of "<word>.SYMBOL": "stream id", the word mapped to a kind by
 * kind_of (-1: unknown; Alpaca: td_kind_parse, Polygon: the cluster's event
 * prefix). Appends the entries to *out / *n (realloc'd; the caller frees
 * *out, also after an error). Returns 0 or a negative core/err.h
 * code. Shared by both dialects. */
int td_since_parse(const char *v, const char *ve, int (*kind_of)(void *ud, const char *w, size_t n),
                   void *kud, td_alpaca_since_t **out, size_t *n);

/* A symbol a client may subscribe: "*", or 1..TD_ALPACA_CLIENT_SYMBOL_MAX
 * bytes in '!'..'~' other than '*' (the JSON and MessagePack parsers). */
int td_alpaca_client_symbol_ok(const char *s, size_t n);

#endif
