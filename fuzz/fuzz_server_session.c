/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the server sessions of both dialects
 * (proto/server_session.h) driven with arbitrary sequences of client
 * messages, fragments, time, held-back auth results and shell errors, the
 * hooks answering from the input (auth results, the subscribe rate, the
 * error budget; symbols starting with X outside the token). Checks: every
 * frame sent is one JSON array; nothing is sent after the close; the
 * changes reported to the interest hook add up to the session's set; the
 * set holds offered kinds only and stays within the symbol limit.
 *
 * Input: byte 0 the setup (bit 0 dialect, bits 1-2 stream class or
 * cluster, bit 3 a limit of 3 symbols, bit 4 binary frames accepted, bits
 * 5-7 the auth answers), then lines: "m..." a text message, "b..." a
 * binary one, "f..."/"F..." a fragment / a final one, "t..." time passing
 * (a second per byte), "d<c>" a held auth's result, "e<c>" a shell error,
 * "r..." a refusal of our own, "h..." credentials from headers; any other
 * line is a text message. */
#include "proto/json_scan.h"
#include "proto/server_session.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The i-th stream of vendor v (modulo its number of streams). */
static const td_vstream_t *pick_stream(td_vendor_t v, unsigned i)
{
    const td_vstream_t *c[TD_VENDOR_NSTREAMS];
    size_t n = 0;
    for (size_t k = 0; k < TD_VENDOR_NSTREAMS; k++)
        if (td_vendor_streams[k].vendor == v) c[n++] = &td_vendor_streams[k];
    return c[i % n];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_s {
    td_srv_sess_t s;
    td_subset_t mirror; /* what the interest hook was told */
    unsigned seed, nauth, nrate, nerr;
    int closed;
} fz_t;

static void f_send(void *ud, const char *p, size_t n)
{
    fz_t *f = ud;
    if (f->closed || !n || p[0] != '[' || !td_json_valid(p, n, 0)) abort();
}

static void f_close(void *ud, int code)
{
    fz_t *f = ud;
    (void)code;
    if (f->closed++) abort();
}

static int f_auth(void *ud, const char *key, size_t kn, const char *secret, size_t sn,
                  const char *how)
{
    static const int rc[] = {TD_SRV_AUTH_OK, TD_SRV_AUTH_HELD, 402, 406, 409};
    fz_t *f = ud;
    (void)secret, (void)sn, (void)how;
    if (key && kn && key[0] == 'K') return TD_SRV_AUTH_OK;
    return rc[(f->seed + f->nauth++) % 5];
}

static int f_error(void *ud, const td_srv_error_t *e)
{
    fz_t *f = ud;
    if (!e->text || (e->status && !*e->status)) abort();
    return e->counted && ++f->nerr > 6;
}

static void f_interest(void *ud, td_kind_t k, const char *sym, size_t n, int add)
{
    fz_t *f = ud;
    if (k == TD_KIND_CORRECTION || k == TD_KIND_CANCEL_ERROR) abort();
    /* a reported change is a change */
    if (!(add ? td_subset_add : td_subset_remove)(&f->mirror, k, sym, n)) abort();
}

static int f_allow(void *ud, td_kind_t k, const char *sym, size_t n)
{
    (void)ud, (void)k;
    return !(n && sym[0] == 'X');
}

static int f_rate(void *ud, size_t n)
{
    fz_t *f = ud;
    (void)n;
    f->nrate++;
    return f->nrate % 13 == 0  ? TD_SRV_RATE_CLOSE
           : f->nrate % 5 == 0 ? TD_SRV_RATE_REFUSE
                               : TD_SRV_RATE_OK;
}

static void f_applied(void *ud, const td_srv_applied_t *a)
{
    fz_t *f = ud;
    for (int k = 0; k < TD_KIND__COUNT; k++)
        for (size_t i = 0; i < a->fresh->k[k].n; i++)
            if (!td_subset_names(&f->s.sub, (td_kind_t)k, a->fresh->k[k].v[i],
                                 strlen(a->fresh->k[k].v[i])))
                abort();
    if (!a->what || (a->nsince && !a->since)) abort();
}

static const td_srv_cb_t cb = {f_send,  f_close, f_auth, f_error,  f_interest,
                               f_allow, NULL,    f_rate, f_applied};

static void check_set(const fz_t *f)
{
    unsigned offered = td_srv_offered(&f->s.cfg);
    for (int k = 0; k < TD_KIND__COUNT; k++) {
        const td_symset_t *a = &f->s.sub.k[k], *b = &f->mirror.k[k];
        if ((a->all || a->n) && !(offered & (1u << k))) abort();
        if (a->all != b->all || a->n != b->n) abort();
        for (size_t i = 0; i < a->n; i++)
            if (strcmp(a->v[i], b->v[i]) != 0) abort();
    }
    if (f->s.cfg.max_symbols && td_subset_count_symbols(&f->s.sub, offered) > f->s.cfg.max_symbols)
        abort();
}

static void line(fz_t *f, const char *p, size_t n)
{
    const char *a = p + 1;
    size_t an = n ? n - 1 : 0;
    switch (n ? p[0] : 0) {
    case 'm':
        td_srv_sess_message(&f->s, a, an, 0);
        break;
    case 'b':
        td_srv_sess_message(&f->s, a, an, 1);
        break;
    case 'f':
    case 'F':
        td_srv_sess_rx(&f->s, a, an, p[0] == 'F', 0);
        break;
    case 't':
        td_srv_sess_tick(&f->s, f->s.open_ms + (uint64_t)an * 1000);
        break;
    case 'd':
        if (f->s.auth_held) td_srv_sess_auth_done(&f->s, an ? 400 + (a[0] & 7) : TD_SRV_AUTH_OK);
        break;
    case 'e':
        td_srv_sess_error(&f->s, 400 + (an ? (unsigned char)a[0] % 12 : 0), an > 1);
        break;
    case 'r':
        td_srv_sess_refuse(&f->s, 400, "since: refused");
        break;
    case 'h':
        td_srv_sess_auth(&f->s, a, an, an ? a : NULL, an, "headers");
        break;
    default:
        td_srv_sess_message(&f->s, p, n, 0);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    fz_t f;
    memset(&f, 0, sizeof f);
    td_subset_init(&f.mirror);
    unsigned b = data[0];
    td_srv_cfg_t c = {.vs =
                          pick_stream((b & 1) ? TD_VENDOR_POLYGON : TD_VENDOR_ALPACA, (b >> 1) & 3),
                      .max_symbols = (b & 8) ? 3 : 0,
                      .auth_timeout_ms = 10000,
                      .binary = (b >> 4) & 1,
                      .max_message = 4096};
    f.seed = b >> 5;
    td_srv_sess_init(&f.s, &c, &cb, &f, 0);
    td_srv_sess_open(&f.s, NULL, NULL);
    /* each line as its own allocation of exactly its size: reads past it are caught */
    const uint8_t *p = data + 1, *end = data + size;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        char *l = malloc(n ? n : 1);
        if (!l) break;
        if (n) memcpy(l, p, n);
        line(&f, l, n);
        free(l);
        check_set(&f);
        p += n + 1;
    }
    td_srv_sess_free(&f.s);
    td_subset_free(&f.mirror);
    return 0;
}
