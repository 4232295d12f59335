/*
 * rng.h - the deterministic random source (xoshiro256**, seeded with splitmix64).
 *
 * Everything random in a run (jitter, sensor noise, client ids) draws from the one generator
 * seeded by --seed, so the same inputs and seed give byte-identical output.
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdint.h>

struct sim_rng {
  uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, 1). */
double sim_rng_double(struct sim_rng *r);
/* Uniform integer in [lo, hi] (inclusive). */
int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi);
/* Approximately normal, mean 0, standard deviation 1. */
double sim_rng_gauss(struct sim_rng *r);

#endif
