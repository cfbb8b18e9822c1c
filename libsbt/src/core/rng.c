#include "sbt/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void sbt_rng_seed(sbt_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t sbt_rng_derive(uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    splitmix64(&x);
    return splitmix64(&x);
}

uint64_t sbt_rng_stream_key(const char *name) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *name; name++) h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
    return h;
}

uint64_t sbt_rng_next(sbt_rng *r) {
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

float sbt_rng_uniform(sbt_rng *r) { return (float)(sbt_rng_next(r) >> 40) * (1.0f / 16777216.0f); }

float sbt_rng_uniform_range(sbt_rng *r, float lo, float hi) { return lo + (hi - lo) * sbt_rng_uniform(r); }

float sbt_rng_normal(sbt_rng *r) {
    /* 53-bit uniforms in (0, 1]; log and cos of IEEE doubles are correctly rounded
     * enough in glibc that this is portable across the platforms we build on. */
    double u1 = ((double)(sbt_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(sbt_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t sbt_rng_below(sbt_rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = sbt_rng_next(r);
    while (x >= limit);
    return x % n;
}

void sbt_rng_shuffle_int(sbt_rng *r, int *idx, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)sbt_rng_below(r, (uint64_t)i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
