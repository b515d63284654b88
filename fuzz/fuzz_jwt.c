/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: gateway tokens (gateway/jwt.c, jwt_claims.c). The first
 * byte picks the path: even, the rest is a claims set for
 * td_jwt_parse_claims (then td_jwt_allows is asked about a few
 * subscriptions); odd, the rest is a compact token for td_jwt_verify with
 * an HS256 key (splitting, base64url, header, signature). Either parse's
 * work must be linear in the input (linear_check.h). */
#include "gateway/jwt.h"

#include "linear_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static td_jwt_key_t *key;

static void claims_again(const char *s, size_t n)
{
    td_jwt_claims_t c;
    td_jwt_claims_init(&c);
    td_jwt_parse_claims(s, n, &c);
    td_jwt_claims_free(&c);
}

static void verify_again(const char *s, size_t n)
{
    td_jwt_claims_t c;
    td_jwt_claims_init(&c);
    td_jwt_verify(key, s, n, 1700000000.0, &c);
    td_jwt_claims_free(&c);
}

static void check_claims(const td_jwt_claims_t *c)
{
    if (strlen(c->sub) > TD_JWT_MAX_SUB) abort();
    int any = td_jwt_allows(c, TD_KIND_QUOTE, "AAPL", 4);
    if (td_jwt_allows(c, TD_KIND_QUOTE, "*", 1) && !any) abort(); /* a wildcard covers all */
    if (!c->restricted && !any) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (!key) key = td_jwt_key_hs256("fuzz-secret", 11);
    size_t n = size - 1;
    char *s = malloc(n ? n : 1); /* exactly n bytes: reads past the end are caught */
    if (!s) return 0;
    if (n) memcpy(s, data + 1, n);
    td_jwt_claims_t c;
    td_jwt_claims_init(&c);
    double t0 = td_fuzz_cpu_seconds();
    if (data[0] & 1) {
        int rc = td_jwt_verify(key, s, n, 1700000000.0, &c);
        td_fuzz_linear_check(t0, s, n, verify_again, "td_jwt_verify");
        if (rc != TD_OK && rc != TD_EBADTOKEN && rc != TD_EALG && rc != TD_ESIGNATURE &&
            rc != TD_ECLAIMS && rc != TD_EEXPIRED && rc != TD_ENOTYET)
            abort();
        if (rc == TD_OK) check_claims(&c);
    } else {
        int rc = td_jwt_parse_claims(s, n, &c);
        td_fuzz_linear_check(t0, s, n, claims_again, "td_jwt_parse_claims");
        if (rc != TD_OK && rc != TD_ECLAIMS) abort();
        if (rc == TD_OK) check_claims(&c);
    }
    td_jwt_claims_free(&c);
    free(s);
    return 0;
}
