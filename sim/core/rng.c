/*
 * rng.c - xoshiro256** by David Blackman and Sebastiano Vigna (public domain algorithm,
 * https://prng.di.unimi.it/), seeded through splitmix64 as its authors recommend.
 */
#include "core/rng.h"

#include <math.h>

static uint64_t rotl(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
  for (int i = 0; i < 4; i++) {
    uint64_t z = (seed += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    r->s[i] = z ^ (z >> 31);
  }
}

uint64_t sim_rng_next(struct sim_rng *r)
{
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double sim_rng_double(struct sim_rng *r)
{
  return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi)
{
  if (hi <= lo)
    return lo;
  /* in unsigned arithmetic: hi - lo overflows int64 for ranges wider than INT64_MAX */
  uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
  return (int64_t)((uint64_t)lo + (span ? sim_rng_next(r) % span : sim_rng_next(r)));
}

double sim_rng_gauss(struct sim_rng *r)
{
  /* Box-Muller; u1 kept away from 0. */
  double u1 = sim_rng_double(r), u2 = sim_rng_double(r);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
