/* SPDX-License-Identifier: Apache-2.0 */
/* Small deterministic PRNG (splitmix64 seeding xoshiro256**). */
#ifndef TD_CORE_RNG_H
#define TD_CORE_RNG_H

#include <stdint.h>

typedef struct td_rng_s {
    uint64_t s[4];
} td_rng_t;

static inline uint64_t td__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline void td_rng_seed(td_rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = td__splitmix64(&seed);
}

static inline uint64_t td__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t td_rng_next(td_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = td__rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = td__rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) (n > 0); the tiny modulo bias is irrelevant here. */
static inline uint64_t td_rng_below(td_rng_t *r, uint64_t n)
{
    return td_rng_next(r) % n;
}

/* Uniform double in [0, 1). */
static inline double td_rng_unit(td_rng_t *r)
{
    return (double)(td_rng_next(r) >> 11) * 0x1.0p-53;
}

#endif
