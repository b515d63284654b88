/* SPDX-License-Identifier: Apache-2.0 */
/* Compact JWS tokens: strict splitting and base64url, the header, and the
 * signature check with OpenSSL (HMAC-SHA256; EVP_DigestVerify for RS256
 * and ES256). The claims are jwt_claims.c's. See jwt.h. */
#include "gateway/jwt.h"

#include "core/mem.h"
#include "proto/json_scan.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { ALG_HS256, ALG_RS256, ALG_ES256 } alg_t;

static const char *const alg_names[] = {"HS256", "RS256", "ES256"};

struct td_jwt_key_s {
    alg_t alg;
    unsigned char *secret; /* HS256 */
    size_t secret_len;
    EVP_PKEY *pkey; /* RS256, ES256 */
};

/* ---- keys ------------------------------------------------------------------------ */

td_jwt_key_t *td_jwt_key_hs256(const char *secret, size_t n)
{
    if (!secret || !n) return NULL;
    td_jwt_key_t *k = td_xcalloc(1, sizeof *k);
    k->alg = ALG_HS256;
    k->secret = td_xmalloc(n);
    memcpy(k->secret, secret, n);
    k->secret_len = n;
    return k;
}

/* The algorithm a public key stands for, or -1 with err. */
static int pkey_alg(EVP_PKEY *pk, char *err, size_t errlen)
{
    if (EVP_PKEY_is_a(pk, "RSA")) {
        if (EVP_PKEY_get_bits(pk) >= 2048) return ALG_RS256;
        snprintf(err, errlen, "RSA key of %d bits: at least 2048 wanted", EVP_PKEY_get_bits(pk));
        return -1;
    }
    char group[64] = "";
    size_t gl = 0;
    if (EVP_PKEY_is_a(pk, "EC") &&
        EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &gl) &&
        strcmp(group, "prime256v1") == 0)
        return ALG_ES256;
    snprintf(err, errlen, "not an RSA or P-256 public key (%s)", group[0] ? group : "other type");
    return -1;
}

td_jwt_key_t *td_jwt_key_pem(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open '%s'", path);
        return NULL;
    }
    EVP_PKEY *pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (!pk) {
        snprintf(err, errlen, "'%s' holds no PEM public key", path);
        return NULL;
    }
    int alg = pkey_alg(pk, err, errlen);
    if (alg < 0) {
        EVP_PKEY_free(pk);
        return NULL;
    }
    td_jwt_key_t *k = td_xcalloc(1, sizeof *k);
    k->alg = (alg_t)alg;
    k->pkey = pk;
    return k;
}

void td_jwt_key_free(td_jwt_key_t *k)
{
    if (!k) return;
    if (k->secret) OPENSSL_cleanse(k->secret, k->secret_len);
    free(k->secret);
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *td_jwt_key_alg(const td_jwt_key_t *k)
{
    return alg_names[k->alg];
}

/* ---- base64url -------------------------------------------------------------------- */

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

long td_jwt_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    if (n % 4 == 1) return -1;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap) return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return acc ? -1 : (long)o; /* leftover bits must be zero (one encoding only) */
}

/* ---- the header ------------------------------------------------------------------------ */

typedef struct {
    int alg_ok, alg_seen, bad;
    const char *want;
} header_t;

static int header_member(void *ud, const char *k, size_t n, int esc, const char *v, const char *ve)
{
    header_t *h = ud;
    if (td_json_name_is(k, n, esc, "crit")) return h->bad = 1; /* no extension is understood */
    if (!td_json_name_is(k, n, esc, "alg")) return 0;
    if (h->alg_seen++) return h->bad = 1;
    char alg[16];
    int len = *v == '"' ? td_json_unescape(v + 1, (size_t)(ve - v - 2), alg, sizeof alg - 1) : -1;
    h->alg_ok =
        len >= 0 && (size_t)len == strlen(h->want) && memcmp(alg, h->want, (size_t)len) == 0;
    return 0;
}

static int check_header(const td_jwt_key_t *k, const char *p, size_t n)
{
    unsigned char json[1024];
    long len = td_jwt_b64url_decode(p, n, json, sizeof json);
    if (len < 0 || !td_json_valid((const char *)json, (size_t)len, 1)) return TD_EBADTOKEN;
    header_t h = {0, 0, 0, alg_names[k->alg]};
    if (td_json_each_member((const char *)json, (const char *)json + len, header_member, &h) != 0 ||
        h.bad || !h.alg_seen)
        return TD_EBADTOKEN;
    return h.alg_ok ? TD_OK : TD_EALG;
}

/* ---- signatures -------------------------------------------------------------------------- */

static int hs256_ok(const td_jwt_key_t *k, const char *in, size_t n, const unsigned char *sig,
                    size_t sn)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (!HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const unsigned char *)in, n, mac, &ml))
        return 0;
    return sn == ml && CRYPTO_memcmp(mac, sig, ml) == 0;
}

/* JWS ES256 signatures are r || s (32 bytes each); OpenSSL verifies DER. */
static size_t es256_der(const unsigned char *sig, size_t sn, unsigned char *der, size_t cap)
{
    if (sn != 64) return 0;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    size_t len = 0;
    if (es && r && s && ECDSA_SIG_set0(es, r, s)) {
        r = s = NULL; /* owned by es now */
        int l = i2d_ECDSA_SIG(es, NULL);
        unsigned char *p = der;
        if (l > 0 && (size_t)l <= cap && i2d_ECDSA_SIG(es, &p) == l) len = (size_t)l;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return len;
}

static int pkey_ok(const td_jwt_key_t *k, const char *in, size_t n, const unsigned char *sig,
                   size_t sn)
{
    unsigned char der[128];
    if (k->alg == ALG_ES256) {
        if (!(sn = es256_der(sig, sn, der, sizeof der))) return 0;
        sig = der;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
             EVP_DigestVerify(md, sig, sn, (const unsigned char *)in, n) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* ---- the token ------------------------------------------------------------------------------ */

int td_jwt_verify(const td_jwt_key_t *k, const char *tok, size_t n, double now, td_jwt_claims_t *c)
{
    if (!k || !tok || n > TD_JWT_MAX_TOKEN) return TD_EBADTOKEN;
    const char *d1 = memchr(tok, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', (size_t)(tok + n - d1 - 1)) : NULL;
    if (!d2 || d1 == tok || d2 == d1 + 1 || /* an empty signature: "none", refused below */
        memchr(d2 + 1, '.', (size_t)(tok + n - d2 - 1)))
        return TD_EBADTOKEN;
    int rc = check_header(k, tok, (size_t)(d1 - tok));
    if (rc != TD_OK) return rc;
    unsigned char sig[1024];
    long sn = td_jwt_b64url_decode(d2 + 1, (size_t)(tok + n - d2 - 1), sig, sizeof sig);
    if (sn <= 0) return sn < 0 ? TD_EBADTOKEN : TD_ESIGNATURE;
    size_t signed_len = (size_t)(d2 - tok);
    int ok = k->alg == ALG_HS256 ? hs256_ok(k, tok, signed_len, sig, (size_t)sn)
                                 : pkey_ok(k, tok, signed_len, sig, (size_t)sn);
    if (!ok) return TD_ESIGNATURE;
    size_t pn = (size_t)(d2 - d1 - 1);
    unsigned char *payload = td_xmalloc(pn);
    long len = td_jwt_b64url_decode(d1 + 1, pn, payload, pn);
    rc = len < 0 ? TD_EBADTOKEN : td_jwt_parse_claims((const char *)payload, (size_t)len, c);
    free(payload);
    if (rc != TD_OK) return rc;
    if (now >= c->exp) return TD_EEXPIRED;
    if (c->nbf && now < c->nbf) return TD_ENOTYET;
    return TD_OK;
}
