/* Consts made per length: the sinusoidal position table and the fixed Q/K/V activation
 * masks. A graph stores how to make them (the generator and its parameters), so one
 * description serves any length and a model file stores no table. */
#include <math.h>

#include "graph/graph_internal.h"
#include "sbt/rng.h"

/* "Attention is all you need": sin on even, cos on odd columns. */
static void sinusoidal(int64_t length, int64_t d, float *pe) {
    for (int64_t t = 0; t < length; t++)
        for (int64_t i = 0; i < d; i += 2) {
            double freq = exp(-(double)i * log(10000.0) / (double)d);
            pe[t * d + i] = (float)sin((double)t * freq);
            if (i + 1 < d) pe[t * d + i + 1] = (float)cos((double)t * freq);
        }
}

/* Entry (t, j) of mask `which` (0 = Q, 1 = K, 2 = V) is kept with probability keep,
 * decided by its own hash of (seed, which, t, j): the same for every sample, head and
 * epoch, and the same whatever the length (a longer series extends the mask rather than
 * reshuffling it). */
static void qkv_mask(uint64_t seed, int which, float keep, int64_t length, int64_t d, float *mask) {
    uint64_t base = sbt_rng_derive(seed, 0x9C7A5ULL + (uint64_t)which);
    for (int64_t t = 0; t < length; t++)
        for (int64_t j = 0; j < d; j++) {
            sbt_rng r;
            sbt_rng_seed(&r, sbt_rng_derive(base, (uint64_t)(t * d + j)));
            mask[t * d + j] = sbt_rng_uniform(&r) < keep ? 1.0f : 0.0f;
        }
}

void sbt_const_generate(const sbt_attr *a, int64_t length, int64_t width, float *out) {
    if (a->constant.gen == SBT_GEN_SINUSOIDAL)
        sinusoidal(length, width, out);
    else
        qkv_mask(a->constant.seed, a->constant.which, a->constant.keep, length, width, out);
}
