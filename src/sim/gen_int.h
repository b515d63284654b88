/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the generator (gen.c, gen_polygon.c): the symbols, the state,
 * the build context and the hand-written number formatting. */
#ifndef TD_SIM_GEN_INT_H
#define TD_SIM_GEN_INT_H

#include "core/buf.h"
#include "core/rng.h"
#include "sim/sim_int.h"

#include <stdint.h>
#include <string.h>

#define SYM_MAX 24

typedef struct {
    char name[SYM_MAX];
    uint8_t len;
    char tape;
    int64_t px, tick; /* price in 1e-4 (stocks) or 1e-9 (crypto, forex) units; walk step */
    int64_t open, hi, lo;
    uint64_t vol, ntrades;
    int halted;
} sym_t;

struct td_sim_gen_s {
    td_class_t cls;
    int poly; /* Polygon's streams */
    td_rng_t rng;
    sym_t *syms;
    size_t n;
    int dec; /* decimals of the price unit */
    uint64_t seq;
    int64_t ts_sec;
    char ts_prefix[20]; /* "YYYY-MM-DDTHH:MM:SS" of ts_sec */
};

typedef struct {
    td_sim_gen_t *g;
    const td_sim_ev_t *ev;
    sym_t *s;
    uint64_t x; /* splitmix state for the details */
    int64_t now;
} bctx_t;

#define PUT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) += sizeof(lit) - 1)

static inline uint64_t rnd(bctx_t *b)
{
    return td__splitmix64(&b->x);
}

static inline char *put_u64(char *p, uint64_t v)
{
    return td_put_uint(p, v);
}

/* v in units of 10^-dec, printed like a Go float64 would be for such values:
 * trailing zeros trimmed, no '.' for whole numbers. v >= 0. */
static inline char *put_fixed(char *p, int64_t v, int dec)
{
    static const int64_t pow10[] = {1,      10,      100,      1000,      10000,
                                    100000, 1000000, 10000000, 100000000, 1000000000};
    int64_t ip = v / pow10[dec], fp = v % pow10[dec];
    p = put_u64(p, (uint64_t)ip);
    if (!fp) return p;
    char d[9];
    for (int i = dec - 1; i >= 0; i--) {
        d[i] = (char)('0' + fp % 10);
        fp /= 10;
    }
    int n = dec;
    while (d[n - 1] == '0')
        n--;
    *p++ = '.';
    memcpy(p, d, (size_t)n);
    return p + n;
}

static inline char *put_sym(char *p, const sym_t *s)
{
    *p++ = '"';
    memcpy(p, s->name, s->len);
    p += s->len;
    *p++ = '"';
    return p;
}

/* gen_polygon.c: symbol i of a Polygon options, forex or crypto generator
 * (name and initial price); the kind mix; the JSON of an event. */
void td__sim_gen_polygon_name(td_sim_gen_t *g, size_t i, char *name, double *px);
td_kind_t td__sim_gen_polygon_pick(td_class_t c, uint64_t x);
char *td__sim_gen_polygon_build(bctx_t *b, char *p);

#endif
