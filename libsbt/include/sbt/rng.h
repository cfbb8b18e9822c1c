/* sbt/rng.h - the library's own portable pseudo-random generator.
 *
 * Every random choice in libsbt (weight init, shuffling, splits, dropout, Biprop's
 * frozen weights) comes from this generator, so a seed gives the same bits on every
 * platform and compiler: a model can be stored as seed + mask and regenerated.
 * Algorithm: SplitMix64 to expand the seed, xoshiro256** for the stream.
 *
 *     sbt_rng r;
 *     sbt_rng_seed(&r, 42);
 *     float u = sbt_rng_uniform(&r);   // [0, 1)
 *
 * The state is a plain value: copy it to save or fork a stream.
 */
#ifndef SBT_RNG_H
#define SBT_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbt_rng {
    uint64_t s[4];
} sbt_rng;

void sbt_rng_seed(sbt_rng *r, uint64_t seed);
/* A seed for an independent stream derived from (seed, stream id): used to give each
 * layer, split or epoch its own reproducible stream. */
uint64_t sbt_rng_derive(uint64_t seed, uint64_t stream);
/* A stream key from a name (64-bit FNV-1a): gives each named tensor its own stream. */
uint64_t sbt_rng_stream_key(const char *name);
uint64_t sbt_rng_next(sbt_rng *r);
/* Uniform in [0, 1) with 24 random bits, exactly representable as float. */
float sbt_rng_uniform(sbt_rng *r);
/* Uniform in [lo, hi). */
float sbt_rng_uniform_range(sbt_rng *r, float lo, float hi);
/* Standard normal (Box-Muller on uniform doubles; deterministic, portable libm use). */
float sbt_rng_normal(sbt_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t sbt_rng_below(sbt_rng *r, uint64_t n);
/* Fisher-Yates shuffle of idx[0..n). */
void sbt_rng_shuffle_int(sbt_rng *r, int *idx, int n);

#ifdef __cplusplus
}
#endif
#endif
