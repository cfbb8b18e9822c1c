/* synth.c - the built-in synthetic multivariate classification task.
 *
 * Every (class, channel) pair gets a prototype shape: the channel fixes the family (sine,
 * step, ramp or bump) and one parameter of it (frequency, step position, slope, bump
 * centre) moves with the class's rank on that channel, the ranks being shuffled per
 * channel. A case is its class's prototypes after a random time shift and amplitude
 * jitter, plus Gaussian noise. Classes are told apart by the combination of channels,
 * none of which separates them cleanly on its own under the shift and noise. All
 * randomness comes from sbt_rng streams derived from the seed (prototypes, train cases
 * and test cases each have their own stream), so the same config gives the same bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/data.h"
#include "sbt/rng.h"

/* Difficulty, tuned on the default config so that nearest-centroid gets ~55-85% and
 * 1-NN ~100% over seeds 1-5: classes are separable but not by a template match.
 * SHIFT: random time shift (fraction of the series); JITTER: relative amplitude
 * jitter per channel; SPREAD: how far apart the classes' parameters lie (1 = full range). */
#define SHIFT 0.2f
#define JITTER 0.3f
#define SPREAD 0.4f

enum { SHAPE_SINE, SHAPE_STEP, SHAPE_RAMP, SHAPE_BUMP, N_SHAPES };

typedef struct {
    int kind;
    float a, b; /* sine: frequency, phase; step: position, level; ramp: slope, offset; bump: centre, sign */
} shape;

sbt_synth_config sbt_synth_default(void) {
    sbt_synth_config c = {
        .n_train = 240, .n_test = 240, .channels = 6, .length = 48, .n_classes = 4, .noise = 0.5f, .seed = 1};
    return c;
}

/* The prototype of the class ranked `rank` of `n_ranks` on a channel of family `kind`:
 * one parameter moves evenly with the rank (frequency, step or bump position, slope),
 * the other is common to the channel (`common` in [0, 1)). Neighbouring ranks differ
 * by less than the time shift moves a shape, so one channel alone is ambiguous. */
static shape class_shape(int kind, int rank, int n_ranks, float common) {
    float q = 0.5f + SPREAD * ((float)rank / (float)(n_ranks - 1) - 0.5f);
    shape s = {.kind = kind};
    switch (kind) {
    case SHAPE_SINE: s.a = 1.0f + 2.0f * q, s.b = 6.2831853f * common; break;
    case SHAPE_STEP: s.a = 0.25f + 0.5f * q, s.b = common < 0.5f ? -1.0f : 1.0f; break;
    case SHAPE_RAMP: s.a = 2.0f * q - 1.0f, s.b = common - 0.5f; break;
    default: s.a = 0.2f + 0.6f * q, s.b = common < 0.5f ? -1.0f : 1.0f; break;
    }
    return s;
}

/* The shape at relative time u (0 at the first step, 1 at the last), amplitude ~1. */
static float shape_at(const shape *s, float u) {
    switch (s->kind) {
    case SHAPE_SINE: return sinf(6.2831853f * s->a * u + s->b);
    case SHAPE_STEP: return u < s->a ? -s->b : s->b;
    case SHAPE_RAMP: return s->a * (2.0f * u - 1.0f) + s->b;
    default: {
        float d = (u - s->a) / 0.1f;
        return s->b * (2.0f * expf(-d * d) - 0.5f);
    }
    }
}

static void make_case(const sbt_synth_config *cfg, const shape *proto, sbt_rng *r, float *x) {
    int L = cfg->length, C = cfg->channels;
    float shift = sbt_rng_uniform_range(r, -SHIFT, SHIFT);
    for (int c = 0; c < C; c++) {
        float amp = sbt_rng_uniform_range(r, 1.0f - JITTER, 1.0f + JITTER);
        for (int t = 0; t < L; t++) {
            float u = (float)t / (float)(L - 1) + shift;
            x[(size_t)t * C + c] = amp * shape_at(&proto[c], u) + cfg->noise * sbt_rng_normal(r);
        }
    }
}

/* n cases with balanced, shuffled labels drawn from the stream `stream` of the seed. */
static sbt_status make_split(const sbt_synth_config *cfg, const shape *protos, int n, uint64_t stream,
                             sbt_dataset **out) {
    sbt_dataset *ds = NULL;
    sbt_status st = sbt_dataset_new(n, cfg->channels, cfg->length, cfg->n_classes, &ds);
    if (st != SBT_OK) return st;
    for (int k = 0; k < cfg->n_classes; k++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", k);
        char *c = strdup(name);
        if (!c) {
            sbt_dataset_free(ds);
            return sbt_fail(SBT_ERR_NOMEM, "synth: out of memory");
        }
        free(ds->class_names[k]);
        ds->class_names[k] = c;
    }
    sbt_rng r;
    sbt_rng_seed(&r, sbt_rng_derive(cfg->seed, stream));
    for (int i = 0; i < n; i++) ds->y[i] = i % cfg->n_classes;
    sbt_rng_shuffle_int(&r, ds->y, n);
    size_t per_case = (size_t)cfg->length * (size_t)cfg->channels;
    for (int i = 0; i < n; i++)
        make_case(cfg, protos + (size_t)ds->y[i] * cfg->channels, &r, ds->x + (size_t)i * per_case);
    *out = ds;
    return SBT_OK;
}

static sbt_status check_config(const sbt_synth_config *c) {
    if (c->n_train < 1 || c->n_test < 0 || c->channels < 1 || c->length < 2 || c->n_classes < 2 ||
        c->n_classes > 1000000 || !(c->noise >= 0.0f && c->noise < 1e6f))
        return sbt_fail(
            SBT_ERR_ARG,
            "synth: invalid config (train %d, test %d, channels %d, length %d, classes %d, noise %g)",
            c->n_train, c->n_test, c->channels, c->length, c->n_classes, (double)c->noise);
    return SBT_OK;
}

sbt_status sbt_synth_classification(const sbt_synth_config *cfg, sbt_dataset **train, sbt_dataset **test) {
    *train = *test = NULL;
    sbt_status st = check_config(cfg);
    if (st != SBT_OK) return st;
    shape *protos = malloc((size_t)cfg->n_classes * (size_t)cfg->channels * sizeof *protos);
    if (!protos) return sbt_fail(SBT_ERR_NOMEM, "synth: out of memory");
    sbt_rng r;
    sbt_rng_seed(&r, sbt_rng_derive(cfg->seed, 0));
    int *rank = malloc((size_t)cfg->n_classes * sizeof *rank);
    if (!rank) {
        free(protos);
        return sbt_fail(SBT_ERR_NOMEM, "synth: out of memory");
    }
    /* Each channel orders the classes differently, so that only the combination of
     * channels separates all classes. */
    for (int c = 0; c < cfg->channels; c++) {
        float common = sbt_rng_uniform(&r);
        for (int k = 0; k < cfg->n_classes; k++) rank[k] = k;
        sbt_rng_shuffle_int(&r, rank, cfg->n_classes);
        for (int k = 0; k < cfg->n_classes; k++)
            protos[(size_t)k * cfg->channels + c] =
                class_shape(c % N_SHAPES, rank[k], cfg->n_classes, common);
    }
    free(rank);
    st = make_split(cfg, protos, cfg->n_train, 1, train);
    if (st == SBT_OK) st = make_split(cfg, protos, cfg->n_test, 2, test);
    free(protos);
    if (st != SBT_OK) {
        sbt_dataset_free(*train);
        *train = NULL;
    }
    return st;
}
