/* SPDX-License-Identifier: Apache-2.0 */
/* What a client can make the gateway spend before and besides its own work
 * (the limits are described in gw_int.h): auth with its per-address
 * throttle, the pre-auth byte and message budget, the error budget, and the
 * rate limits on client-caused log lines. */
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "gateway/gw_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID(c) ((unsigned long long)(c)->id)

void td__gw_guard_init(gw_client_t *c)
{
    gw_guard_t *gd = &c->guard;
    gd->log = (td_ratelimit_t)TD_RATELIMIT_INIT(GW_LOG_MS, GW_LOG_CLIENT_BURST);
    gd->errors = (td_ratelimit_t)TD_RATELIMIT_INIT(GW_ERRORS_MS, GW_ERRORS_BURST);
    snprintf(gd->peer, sizeof gd->peer, "?");
    lws_get_peer_simple(c->wsi, gd->peer, sizeof gd->peer);
}

static void drop_pending(gw_guard_t *gd)
{
    if (gd->secret) memset(gd->secret, 0, gd->secret_len);
    if (gd->key) memset(gd->key, 0, gd->key_len);
    free(gd->key);
    free(gd->secret);
    gd->key = gd->secret = NULL;
    gd->auth_at_ms = 0;
}

void td__gw_guard_free(gw_client_t *c)
{
    drop_pending(&c->guard);
    if (c->jwt) td_jwt_claims_free(c->jwt);
    free(c->jwt);
    c->jwt = NULL;
    free(c->auth_key);
    free(c->auth_secret);
    c->auth_key = c->auth_secret = NULL;
}

void td_gateway_set_keys(td_gateway_t *g, const char *const *keys, const char *const *secrets,
                         size_t n)
{
    g->cfg.keys = keys;
    g->cfg.secrets = secrets;
    g->cfg.nkeys = n;
    for (gw_client_t *c = g->clients; c; c = c->next) {
        if (!c->auth_key || c->closing || c->dead) continue;
        size_t i = 0;
        while (i < n && strcmp(keys[i], c->auth_key) != 0)
            i++;
        int changed = i < n && c->auth_secret && strcmp(secrets[i], c->auth_secret) != 0;
        if (i < n && !changed) continue;
        TD_INFO("client #%llu: its key %.4s... was %s: closing", ID(c), c->auth_key,
                changed ? "given another secret" : "removed");
        td__gw_client_error(c, 402, 1);
    }
}

int td__gw_client_allows(gw_client_t *c, td_kind_t k, const char *sym, size_t n)
{
    if (!c->jwt || td_jwt_allows(c->jwt, k, sym, n)) return 1;
    c->g->st.refused_claims++;
    return 0;
}

/* ---- log lines ------------------------------------------------------------------ */

int td__gw_log_ok(td_gateway_t *g, gw_client_t *c, uint64_t *suppressed)
{
    uint64_t now = uv_now(g->loop), mine = 0, all = 0;
    if (c && !td_ratelimit_ok(&c->guard.log, now, &mine)) return 0;
    if (!td_ratelimit_ok(&g->log_rl, now, &all)) {
        if (c) c->guard.log.suppressed += mine; /* still owed to this client's next line */
        return 0;
    }
    *suppressed = mine + all;
    return 1;
}

const char *td__gw_log_suppressed(uint64_t n)
{
    static char buf[64];
    if (!n) return "";
    snprintf(buf, sizeof buf, " (%llu similar lines suppressed)", (unsigned long long)n);
    return buf;
}

/* ---- budgets -------------------------------------------------------------------- */

int td__gw_guard_rx(gw_client_t *c, size_t len, int final)
{
    gw_guard_t *gd = &c->guard;
    if (c->sess.authed) return 0;
    gd->unauth_bytes += len;
    gd->unauth_msgs += final != 0;
    if (gd->unauth_bytes <= GW_UNAUTH_BYTES && gd->unauth_msgs <= GW_UNAUTH_MSGS) return 0;
    GW_LOG(TD_LOG_INFO, c->g, c, "client #%llu: over %s before authenticating", ID(c),
           gd->unauth_bytes > GW_UNAUTH_BYTES ? "the byte budget" : "the message budget");
    td__gw_client_error(c, 401, 1);
    return -1;
}

int td__gw_guard_error(gw_client_t *c)
{
    uint64_t sup;
    return !td_ratelimit_ok(&c->guard.errors, uv_now(c->g->loop), &sup);
}

/* ---- failed auths per source address ------------------------------------------------ */

/* The entry of ip (expired ones are freed on the way); with create, a new
 * one (the least recently failed is reused when all are taken). */
static gw_source_t *source(td_gateway_t *g, const char *ip, uint64_t now, int create)
{
    gw_source_t *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < GW_SOURCES; i++) {
        gw_source_t *s = &g->sources[i];
        if (s->ip[0] && now - s->last_fail_ms > GW_FAIL_FORGET_MS && s->next_ms <= now)
            s->ip[0] = '\0';
        if (!s->ip[0]) {
            if (!free_slot) free_slot = s;
        } else if (strcmp(s->ip, ip) == 0) {
            return s;
        } else if (!oldest || s->last_fail_ms < oldest->last_fail_ms) {
            oldest = s;
        }
    }
    if (!create) return NULL;
    gw_source_t *s = free_slot ? free_slot : oldest;
    memset(s, 0, sizeof *s);
    snprintf(s->ip, sizeof s->ip, "%s", ip);
    return s;
}

/* How long c's auth has to wait (ms; 0: check it now). Auths from a
 * throttled address are spaced out, whatever the number of connections. */
static uint64_t auth_wait(gw_client_t *c, uint64_t now)
{
    gw_source_t *s = source(c->g, c->guard.peer, now, 0);
    if (!s || s->fails < GW_FAIL_FREE) return 0;
    unsigned shift = s->fails - GW_FAIL_FREE;
    uint64_t gap = GW_FAIL_DELAY_MS << (shift > 10 ? 10 : shift);
    if (gap > GW_FAIL_DELAY_MAX_MS) gap = GW_FAIL_DELAY_MAX_MS;
    uint64_t at = s->next_ms > now ? s->next_ms : now;
    s->next_ms = at + gap;
    return at - now;
}

static void auth_failed(gw_client_t *c)
{
    uint64_t now = uv_now(c->g->loop);
    gw_source_t *s = source(c->g, c->guard.peer, now, 1);
    s->fails++;
    s->last_fail_ms = now;
    c->g->st.auth_failures++;
    if (s->fails >= GW_FAIL_FREE)
        GW_LOG(TD_LOG_WARN, c->g, NULL, "%u failed auths from %s: its auths are now slowed down",
               s->fails, s->ip);
}

/* ---- auth -------------------------------------------------------------------------- */

/* Compares a (na bytes) with the C string b without an early exit on the
 * first differing byte; different lengths never match. */
static int same(const char *a, size_t na, const char *b)
{
    size_t nb = strlen(b);
    unsigned char d = na != nb;
    for (size_t i = 0; i < na; i++)
        d |= (unsigned char)(a[i] ^ b[i % (nb ? nb : 1)]);
    return d == 0 && nb == na;
}

static int key_ok(const td_gateway_t *g, const char *key, size_t kn, const char *secret, size_t sn)
{
    int ok = 0;
    if (memchr(key, '\0', kn) || (secret && memchr(secret, '\0', sn))) return 0;
    for (size_t i = 0; i < g->cfg.nkeys; i++)
        ok |= same(key, kn, g->cfg.keys[i]) & (!secret || same(secret, sn, g->cfg.secrets[i]));
    return ok;
}

static char *dup_n(const char *s, size_t n);

/* Whether the credentials are a token: Alpaca clients give the key "jwt"
 * and the token as the secret, Polygon ones the token as the key (a key
 * never holds two dots when tokens are configured). */
static int is_token(const gw_client_t *c, const char *key, size_t kn)
{
    if (!c->g->cfg.jwt || !key) return 0;
    if (!td_srv_key_only(c->vs->vendor)) return kn == 3 && memcmp(key, "jwt", 3) == 0;
    const char *d = memchr(key, '.', kn);
    return d && memchr(d + 1, '.', kn - (size_t)(d + 1 - key)) != NULL;
}

static double wall_s(void)
{
    return (double)td_now_ns() / 1e9;
}

/* The token's claims, or NULL (logged, counted: 402). */
static td_jwt_claims_t *check_token(gw_client_t *c, const char *tok, size_t n, const char *how)
{
    td_jwt_claims_t *cl = td_xmalloc(sizeof *cl);
    td_jwt_claims_init(cl);
    int rc = tok ? td_jwt_verify(c->g->cfg.jwt, tok, n, wall_s(), cl) : TD_EBADTOKEN;
    if (rc == TD_OK) return cl;
    td_jwt_claims_free(cl);
    free(cl);
    GW_LOG(TD_LOG_INFO, c->g, NULL, "client #%llu from %s: token refused (%s): %s", ID(c),
           c->guard.peer, how, td_strerror(rc));
    auth_failed(c);
    return NULL;
}

/* TD_SRV_AUTH_OK (counted, the credentials kept), 402 or 406. */
static int auth_now(gw_client_t *c, const char *key, size_t kn, const char *secret, size_t sn,
                    const char *how)
{
    td_gateway_t *g = c->g;
    td_jwt_claims_t *cl = NULL;
    int key_only = td_srv_key_only(c->vs->vendor); /* no secret (Polygon) */
    if (is_token(c, key, kn)) {
        if (!(cl = key_only ? check_token(c, key, kn, how) : check_token(c, secret, sn, how)))
            return 402;
    } else if (!key || !kn || (!key_only && (!secret || !sn)) ||
               !key_ok(g, key, kn, key_only ? NULL : secret, sn)) {
        auth_failed(c);
        return 402;
    }
    if (g->cfg.max_clients && g->st.authed >= g->cfg.max_clients) {
        g->st.rejected++;
        if (cl) td_jwt_claims_free(cl);
        free(cl);
        return 406;
    }
    c->jwt = cl;
    if (!cl) c->auth_key = dup_n(key, kn), c->auth_secret = key_only ? NULL : dup_n(secret, sn);
    g->st.authed++;
    if (cl) {
        g->st.token_auths++;
        TD_INFO("client #%llu authenticated by %s: token of '%s'%s", ID(c), how, cl->sub,
                cl->restricted ? " (restricted)" : "");
    } else {
        TD_INFO("client #%llu authenticated by %s (key %.4s...)", ID(c), how, key);
    }
    return TD_SRV_AUTH_OK;
}

static char *dup_n(const char *s, size_t n)
{
    if (!s) return NULL;
    char *d = td_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int td__gw_client_auth(gw_client_t *c, const char *key, size_t key_len, const char *secret,
                       size_t secret_len, const char *how)
{
    gw_guard_t *gd = &c->guard;
    uint64_t now = uv_now(c->g->loop), wait = auth_wait(c, now);
    if (!wait) return auth_now(c, key, key_len, secret, secret_len, how);
    /* held back: nothing more is read from the client until it is checked */
    gd->key = dup_n(key, key_len);
    gd->secret = dup_n(secret, secret_len);
    gd->key_len = key_len;
    gd->secret_len = secret_len;
    gd->how = how;
    gd->auth_at_ms = now + wait;
    lws_rx_flow_control(c->wsi, 0);
    GW_LOG(TD_LOG_INFO, c->g, c, "client #%llu: auth from %s held back %llu ms (failed auths)",
           ID(c), gd->peer, (unsigned long long)wait);
    return TD_SRV_AUTH_HELD;
}

void td__gw_guard_cron(gw_client_t *c, uint64_t now)
{
    gw_guard_t *gd = &c->guard;
    if (c->jwt && wall_s() >= c->jwt->exp) { /* the token ran out: as a failed auth */
        GW_LOG(TD_LOG_INFO, c->g, NULL, "client #%llu ('%s'): token expired", ID(c), c->jwt->sub);
        c->g->st.token_expired_closes++;
        td__gw_client_error(c, 402, 1);
        return;
    }
    if (!gd->auth_at_ms || now < gd->auth_at_ms) return;
    gd->auth_at_ms = 0;
    int rc = auth_now(c, gd->key, gd->key_len, gd->secret, gd->secret_len, gd->how);
    drop_pending(gd);
    td_srv_sess_auth_done(&c->sess, rc);
    if (!c->closing) lws_rx_flow_control(c->wsi, 1);
}

int td__gw_rest_auth(const td_gateway_t *g, const char *key, const char *secret)
{
    if (!key || !secret) return 0;
    if (strcmp(key, "jwt") != 0 || !g->cfg.jwt)
        return key_ok(g, key, strlen(key), secret, strlen(secret));
    td_jwt_claims_t cl;
    td_jwt_claims_init(&cl);
    int rc = td_jwt_verify(g->cfg.jwt, secret, strlen(secret), wall_s(), &cl);
    td_jwt_claims_free(&cl);
    return rc == TD_OK;
}
