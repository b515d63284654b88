/* SPDX-License-Identifier: Apache-2.0 */
/* JSON Web Tokens for the gateway's clients (RFC 7519, compact JWS only):
 * the verification key is configured (an HS256 secret, or a PEM public key:
 * RS256 for RSA of at least 2048 bits, ES256 for P-256) and fixes the
 * algorithm: a token whose header names another one ("none", HS/RS
 * confusion) is refused before its signature is looked at. Parsing is
 * strict: base64url without padding and with zero trailing bits, header
 * and claims strict JSON objects without duplicate members, no "crit".
 *
 * Claims: "exp" (required, NumericDate), "nbf" (if present), "sub" (a
 * string, the client's name in logs), and the optional "tickerd" claim
 * restricting what the client may subscribe: "*" (everything) or
 * {"kinds":["quotes","bars"],"symbols":["AAPL","MSFT"]} where each list may
 * also be "*" and a missing one means every kind / every symbol. Kinds are
 * the channel words of the Alpaca dialect (td_kind_parse). */
#ifndef TD_GATEWAY_JWT_H
#define TD_GATEWAY_JWT_H

#include "core/err.h"
#include "proto/event.h"
#include "proto/sub.h"

#include <stddef.h>
#include <stdint.h>

#define TD_JWT_MAX_TOKEN   4096 /* bytes of a compact token */
#define TD_JWT_MAX_SUB     128  /* bytes of "sub" kept (decoded) */
#define TD_JWT_MAX_SYMBOLS 10000

typedef struct td_jwt_key_s td_jwt_key_t;

/* An HS256 key from its secret (n bytes, at least 1). */
td_jwt_key_t *td_jwt_key_hs256(const char *secret, size_t n);
/* An RS256 or ES256 key from a PEM public key file; NULL with err. */
td_jwt_key_t *td_jwt_key_pem(const char *path, char *err, size_t errlen);
void td_jwt_key_free(td_jwt_key_t *k);
/* "HS256", "RS256" or "ES256". */
const char *td_jwt_key_alg(const td_jwt_key_t *k);

/* Errors (core/err.h): TD_EBADTOKEN (malformed token), TD_EALG (algorithm
 * not accepted), TD_ESIGNATURE, TD_ECLAIMS (malformed claims), TD_EEXPIRED,
 * TD_ENOTYET (nbf in the future). */

typedef struct td_jwt_claims_s {
    char sub[TD_JWT_MAX_SUB + 1]; /* printable ASCII ('?' for the rest); "" if absent */
    double exp, nbf;              /* seconds since the epoch; nbf 0 if absent */
    int restricted;               /* a "tickerd" claim other than "*" */
    td_subset_t allow;            /* when restricted: what may be subscribed */
} td_jwt_claims_t;

void td_jwt_claims_init(td_jwt_claims_t *c);
void td_jwt_claims_free(td_jwt_claims_t *c);

/* Checks the compact token [tok, tok+n) against k at time now (seconds
 * since the epoch) and fills c (initialised by the caller). Returns
 * TD_OK or an error; c is only meaningful on TD_OK. */
int td_jwt_verify(const td_jwt_key_t *k, const char *tok, size_t n, double now, td_jwt_claims_t *c);

/* The claims set (decoded JSON) alone, without the time checks (exposed
 * for tests and the fuzz target). TD_OK or TD_ECLAIMS. */
int td_jwt_parse_claims(const char *json, size_t n, td_jwt_claims_t *c);

/* Strict base64url (no padding, zero trailing bits) of [in, in+n) into out
 * (cap bytes); returns the decoded length or -1. */
long td_jwt_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap);

/* Whether c allows subscribing (k, sym); sym "*" is the wildcard, allowed
 * only by a wildcard of the claim. */
int td_jwt_allows(const td_jwt_claims_t *c, td_kind_t k, const char *sym, size_t n);

#endif
