/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: gateway tokens (src/gateway/jwt.c, jwt_claims.c): strict
 * base64url, the header (algorithm fixed by the key, crit), HS256 and
 * ES256 signatures made here with OpenSSL, time claims, and the "tickerd"
 * claim's restriction including wildcards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/jwt.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW    1700000000.0
#define SECRET "unit-test-secret"

static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = al[(acc >> bits) & 63];
        }
    }
    if (bits) out[o++] = al[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

/* "b64(header).b64(claims)" into out. */
static void signing_input(const char *header, const char *claims, char *out)
{
    b64url((const unsigned char *)header, strlen(header), out);
    strcat(out, ".");
    b64url((const unsigned char *)claims, strlen(claims), out + strlen(out));
}

static void hs256(const char *header, const char *claims, const char *secret, char *out)
{
    unsigned char mac[32];
    unsigned int ml;
    signing_input(header, claims, out);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)out, strlen(out), mac, &ml);
    strcat(out, ".");
    b64url(mac, ml, out + strlen(out));
}

static int verify(const td_jwt_key_t *k, const char *tok, td_jwt_claims_t *c)
{
    td_jwt_claims_free(c);
    td_jwt_claims_init(c);
    return td_jwt_verify(k, tok, strlen(tok), NOW, c);
}

static void test_b64url_strict(void **state)
{
    (void)state;
    unsigned char out[16];
    assert_int_equal(td_jwt_b64url_decode("", 0, out, sizeof out), 0);
    assert_int_equal(td_jwt_b64url_decode("QQ", 2, out, sizeof out), 1);
    assert_int_equal(out[0], 'A');
    assert_int_equal(td_jwt_b64url_decode("QR", 2, out, sizeof out), -1); /* trailing bits */
    assert_int_equal(td_jwt_b64url_decode("Q", 1, out, sizeof out), -1);
    assert_int_equal(td_jwt_b64url_decode("QQ==", 4, out, sizeof out), -1);
    assert_int_equal(td_jwt_b64url_decode("+/8A", 4, out, sizeof out), -1);
    assert_int_equal(td_jwt_b64url_decode("-_8A", 4, out, sizeof out), 3);
    assert_int_equal(td_jwt_b64url_decode("QUJD", 4, out, 2), -1); /* no room */
}

static void test_hs256(void **state)
{
    (void)state;
    td_jwt_key_t *k = td_jwt_key_hs256(SECRET, strlen(SECRET));
    td_jwt_claims_t c;
    td_jwt_claims_init(&c);
    char tok[2048];
    const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    hs256(hdr, "{\"sub\":\"al\\u0001ice\",\"exp\":1700000060}", SECRET, tok);
    assert_int_equal(verify(k, tok, &c), TD_OK);
    assert_string_equal(c.sub, "al?ice");
    assert_false(c.restricted);
    assert_true(td_jwt_allows(&c, TD_KIND_TRADE, "*", 1));
    hs256(hdr, "{\"exp\":1699999999}", SECRET, tok);
    assert_int_equal(verify(k, tok, &c), TD_EEXPIRED);
    hs256(hdr, "{\"exp\":1700000060,\"nbf\":1700000010}", SECRET, tok);
    assert_int_equal(verify(k, tok, &c), TD_ENOTYET);
    hs256(hdr, "{\"sub\":\"x\"}", SECRET, tok); /* no exp */
    assert_int_equal(verify(k, tok, &c), TD_ECLAIMS);
    hs256(hdr, "{\"exp\":1700000060,\"exp\":1}", SECRET, tok); /* duplicate */
    assert_int_equal(verify(k, tok, &c), TD_ECLAIMS);
    hs256(hdr, "{\"exp\":1700000060}", "other", tok);
    assert_int_equal(verify(k, tok, &c), TD_ESIGNATURE);
    hs256("{\"alg\":\"RS256\"}", "{\"exp\":1700000060}", SECRET, tok);
    assert_int_equal(verify(k, tok, &c), TD_EALG);
    hs256("{\"alg\":\"none\"}", "{\"exp\":1700000060}", SECRET, tok);
    assert_int_equal(verify(k, tok, &c), TD_EALG);
    hs256("{\"alg\":\"HS256\",\"crit\":[\"x\"]}", "{\"exp\":1700000060}", SECRET, tok);
    assert_int_equal(verify(k, tok, &c), TD_EBADTOKEN);
    hs256("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", "{\"exp\":1700000060}", SECRET, tok);
    assert_int_equal(verify(k, tok, &c), TD_EBADTOKEN);
    hs256(hdr, "{\"exp\":1700000060}", SECRET, tok);
    strcat(tok, ".x");
    assert_int_equal(verify(k, tok, &c), TD_EBADTOKEN);
    signing_input("{\"alg\":\"none\"}", "{\"exp\":1700000060}", tok);
    strcat(tok, ".");
    assert_int_equal(verify(k, tok, &c), TD_EALG);
    td_jwt_claims_free(&c);
    td_jwt_key_free(k);
}

static void test_claims_restriction(void **state)
{
    (void)state;
    td_jwt_claims_t c;
    td_jwt_claims_init(&c);
    const char *j = "{\"exp\":5,\"tickerd\":{\"kinds\":[\"quotes\",\"bars\"],"
                    "\"symbols\":[\"AAPL\",\"MSFT\"]}}";
    assert_int_equal(td_jwt_parse_claims(j, strlen(j), &c), TD_OK);
    assert_true(c.restricted);
    assert_true(td_jwt_allows(&c, TD_KIND_QUOTE, "AAPL", 4));
    assert_true(td_jwt_allows(&c, TD_KIND_BAR, "MSFT", 4));
    assert_false(td_jwt_allows(&c, TD_KIND_TRADE, "AAPL", 4));
    assert_false(td_jwt_allows(&c, TD_KIND_QUOTE, "TSLA", 4));
    assert_false(td_jwt_allows(&c, TD_KIND_QUOTE, "*", 1));
    td_jwt_claims_free(&c);

    td_jwt_claims_init(&c);
    j = "{\"exp\":5,\"tickerd\":{\"kinds\":[\"trades\"],\"symbols\":\"*\"}}";
    assert_int_equal(td_jwt_parse_claims(j, strlen(j), &c), TD_OK);
    assert_true(td_jwt_allows(&c, TD_KIND_TRADE, "*", 1));
    assert_false(td_jwt_allows(&c, TD_KIND_QUOTE, "*", 1));
    td_jwt_claims_free(&c);

    static const char *const bad[] = {
        "{\"exp\":5,\"tickerd\":{\"kinds\":[\"nope\"]}}",
        "{\"exp\":5,\"tickerd\":{\"symbols\":[\"*\"]}}",
        "{\"exp\":5,\"tickerd\":{\"symbols\":[1]}}",
        "{\"exp\":5,\"tickerd\":{\"kinds\":[],\"kinds\":[]}}",
        "{\"exp\":5,\"tickerd\":\"all\"}",
        "{\"exp\":\"5\"}",
        "{\"exp\":5,\"sub\":7}",
        "{\"exp\":5,\"nbf\":null}",
        "[\"exp\",5]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        td_jwt_claims_init(&c);
        assert_int_equal(td_jwt_parse_claims(bad[i], strlen(bad[i]), &c), TD_ECLAIMS);
        td_jwt_claims_free(&c);
    }
    td_jwt_claims_init(&c);
    j = "{\"exp\":5,\"tickerd\":\"*\"}";
    assert_int_equal(td_jwt_parse_claims(j, strlen(j), &c), TD_OK);
    assert_false(c.restricted);
    td_jwt_claims_free(&c);
}

/* The public half of pk through a PEM file and td_jwt_key_pem; the PEM
 * text into pem (cap bytes) if not NULL. */
static td_jwt_key_t *pem_key(EVP_PKEY *pk, char *pem, size_t cap)
{
    char path[] = "/tmp/td_jwt_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w+");
    assert_true(PEM_write_PUBKEY(f, pk));
    rewind(f);
    if (pem) pem[fread(pem, 1, cap - 1, f)] = '\0';
    fclose(f);
    char err[256];
    td_jwt_key_t *k = td_jwt_key_pem(path, err, sizeof err);
    unlink(path);
    assert_non_null(k);
    return k;
}

/* An ES256 token signed with a fresh P-256 key, whose public half is
 * written to a PEM file for td_jwt_key_pem. */
static void test_es256(void **state)
{
    (void)state;
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(pk);
    td_jwt_key_t *k = pem_key(pk, NULL, 0);
    assert_string_equal(td_jwt_key_alg(k), "ES256");

    char tok[2048];
    signing_input("{\"alg\":\"ES256\"}", "{\"exp\":1700000060,\"sub\":\"es\"}", tok);
    unsigned char der[128], raw[64];
    size_t dl = sizeof der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestSign(md, der, &dl, (unsigned char *)tok, strlen(tok)), 1);
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    assert_non_null(es);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
    ECDSA_SIG_free(es);
    strcat(tok, ".");
    size_t at = strlen(tok);
    b64url(raw, 64, tok + at);

    td_jwt_claims_t c;
    td_jwt_claims_init(&c);
    assert_int_equal(verify(k, tok, &c), TD_OK);
    assert_string_equal(c.sub, "es");
    tok[at + 5] = tok[at + 5] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(k, tok, &c), TD_ESIGNATURE);
    td_jwt_claims_free(&c);
    /* the same token's algorithm under an HS256 key: refused by the header */
    td_jwt_key_t *hk = td_jwt_key_hs256(SECRET, strlen(SECRET));
    td_jwt_claims_init(&c);
    assert_int_equal(verify(hk, tok, &c), TD_EALG);
    td_jwt_claims_free(&c);
    td_jwt_key_free(hk);
    td_jwt_key_free(k);
    EVP_PKEY_free(pk);
}

/* tok + "." + base64url of n bytes of `byte`. */
static void with_sig(char *tok, int byte, size_t n)
{
    unsigned char sig[512];
    memset(sig, byte, n);
    strcat(tok, ".");
    b64url(sig, n, tok + strlen(tok));
}

/* Each key fixes its algorithm: RS256 and ES256 tokens under the other's key,
 * HS256 tokens keyed with the public key's PEM text, and "none", are
 * refused by the header; an ES256 signature of the wrong size or of zeros
 * is a bad signature. */
static void test_key_confusion(void **state)
{
    (void)state;
    static const char claims[] = "{\"exp\":1700000060}";
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(ec);
    assert_non_null(rsa);
    char epem[1024], rpem[1024], tok[2048];
    td_jwt_key_t *ek = pem_key(ec, epem, sizeof epem), *rk = pem_key(rsa, rpem, sizeof rpem);
    assert_string_equal(td_jwt_key_alg(rk), "RS256");
    td_jwt_claims_t c;
    td_jwt_claims_init(&c);
    signing_input("{\"alg\":\"RS256\"}", claims, tok);
    with_sig(tok, 1, 256);
    assert_int_equal(verify(ek, tok, &c), TD_EALG);
    assert_int_equal(verify(rk, tok, &c), TD_ESIGNATURE);
    signing_input("{\"alg\":\"ES256\"}", claims, tok);
    with_sig(tok, 1, 64);
    assert_int_equal(verify(rk, tok, &c), TD_EALG);
    assert_int_equal(verify(ek, tok, &c), TD_ESIGNATURE);
    signing_input("{\"alg\":\"ES256\"}", claims, tok);
    with_sig(tok, 0, 64); /* r = s = 0 */
    assert_int_equal(verify(ek, tok, &c), TD_ESIGNATURE);
    signing_input("{\"alg\":\"ES256\"}", claims, tok);
    with_sig(tok, 0x30, 70); /* DER-sized, as openssl dgst writes */
    assert_int_equal(verify(ek, tok, &c), TD_ESIGNATURE);
    hs256("{\"alg\":\"HS256\"}", claims, epem, tok);
    assert_int_equal(verify(ek, tok, &c), TD_EALG);
    hs256("{\"alg\":\"HS256\"}", claims, rpem, tok);
    assert_int_equal(verify(rk, tok, &c), TD_EALG);
    signing_input("{\"alg\":\"none\"}", claims, tok);
    strcat(tok, ".");
    assert_int_equal(verify(ek, tok, &c), TD_EALG);
    assert_int_equal(verify(rk, tok, &c), TD_EALG);
    td_jwt_claims_free(&c);
    td_jwt_key_free(ek);
    td_jwt_key_free(rk);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_strict),      cmocka_unit_test(test_hs256),
        cmocka_unit_test(test_claims_restriction), cmocka_unit_test(test_es256),
        cmocka_unit_test(test_key_confusion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
