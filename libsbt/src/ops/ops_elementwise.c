/* Element-wise ops: the binary ops with suffix broadcasting, scale, activations and
 * dropout. A broadcast operand b of size nb is indexed i % nb (b is a trailing block of
 * a's shape, or a single value), and its gradient sums over the repeats. */
#include <math.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "sbt/rng.h"

/* b repeats every nb elements of a; walking (repeat, j) instead of i % nb keeps the
 * inner loop free of divisions so it vectorises. */
#define BINARY_FORWARD(name, expr)                                                                           \
    sbt_status sbt_fwd_##name(sbt_graph *g, sbt_node *n) {                                                   \
        const float *a = in_node(g, n, 0)->value, *b = in_node(g, n, 1)->value;                              \
        int64_t nb = in_node(g, n, 1)->size, repeats = n->size / nb;                                         \
        for (int64_t o = 0; o < repeats; o++) {                                                              \
            const float *ao = a + o * nb;                                                                    \
            float *y = n->value + o * nb;                                                                    \
            for (int64_t j = 0; j < nb; j++) {                                                               \
                float av = ao[j], bv = b[j];                                                                 \
                y[j] = (expr);                                                                               \
            }                                                                                                \
        }                                                                                                    \
        return SBT_OK;                                                                                       \
    }

BINARY_FORWARD(add, av + bv)
BINARY_FORWARD(sub, av - bv)
BINARY_FORWARD(mul, av *bv)
BINARY_FORWARD(div, av / bv)

/* da += dy * (d/da), db[j] += dy * (d/db) summed over the repeats, in a fixed order so
 * sums are deterministic. */
#define BINARY_BACKWARD(name, da_expr, db_expr)                                                              \
    sbt_status sbt_bwd_##name(sbt_graph *g, sbt_node *n) {                                                   \
        sbt_node *A = in_node(g, n, 0), *B = in_node(g, n, 1);                                               \
        const float *a = A->value, *b = B->value;                                                            \
        int64_t nb = B->size, repeats = n->size / nb;                                                        \
        for (int64_t o = 0; o < repeats; o++) {                                                              \
            const float *ao = a + o * nb, *dy = n->grad + o * nb;                                            \
            float *da = A->grad ? A->grad + o * nb : NULL;                                                   \
            for (int64_t j = 0; j < nb; j++) {                                                               \
                float av = ao[j], bv = b[j], g_ = dy[j];                                                     \
                (void)av;                                                                                    \
                (void)bv;                                                                                    \
                if (da) da[j] += (da_expr);                                                                  \
                if (B->grad) B->grad[j] += (db_expr);                                                        \
            }                                                                                                \
        }                                                                                                    \
        return SBT_OK;                                                                                       \
    }

BINARY_BACKWARD(add, g_, g_)
BINARY_BACKWARD(sub, g_, -g_)
BINARY_BACKWARD(mul, g_ *bv, g_ *av)
BINARY_BACKWARD(div, g_ / bv, -g_ *av / (bv * bv))

sbt_status sbt_fwd_scale(sbt_graph *g, sbt_node *n) {
    const float *x = in_node(g, n, 0)->value;
    float f = n->attr.scale.factor;
    for (int64_t i = 0; i < n->size; i++) n->value[i] = x[i] * f;
    return SBT_OK;
}

sbt_status sbt_bwd_scale(sbt_graph *g, sbt_node *n) {
    float *dx = in_node(g, n, 0)->grad;
    float f = n->attr.scale.factor;
    for (int64_t i = 0; i < n->size; i++) dx[i] += n->grad[i] * f;
    return SBT_OK;
}

sbt_status sbt_fwd_relu(sbt_graph *g, sbt_node *n) {
    const float *x = in_node(g, n, 0)->value;
    for (int64_t i = 0; i < n->size; i++) n->value[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return SBT_OK;
}

/* Branch-free: which units are active is data-dependent and unpredictable, and a
 * mispredicted branch per element cost more than the rest of the op; an integer mask
 * vectorises. */
sbt_status sbt_bwd_relu(sbt_graph *g, sbt_node *n) {
    float *dx = in_node(g, n, 0)->grad;
    for (int64_t i = 0; i < n->size; i++) {
        uint32_t bits;
        memcpy(&bits, &n->grad[i], sizeof bits);
        bits &= -(uint32_t)(n->value[i] > 0.0f);
        float masked;
        memcpy(&masked, &bits, sizeof masked);
        dx[i] += masked;
    }
    return SBT_OK;
}

static const float INV_SQRT2 = 0.70710678118654752f;
static const float INV_SQRT_2PI = 0.39894228040143268f;

sbt_status sbt_fwd_gelu(sbt_graph *g, sbt_node *n) {
    const float *x = in_node(g, n, 0)->value;
    for (int64_t i = 0; i < n->size; i++) n->value[i] = 0.5f * x[i] * (1.0f + erff(x[i] * INV_SQRT2));
    return SBT_OK;
}

sbt_status sbt_bwd_gelu(sbt_graph *g, sbt_node *n) {
    const sbt_node *X = in_node(g, n, 0);
    for (int64_t i = 0; i < n->size; i++) {
        float x = X->value[i];
        float cdf = 0.5f * (1.0f + erff(x * INV_SQRT2));
        float pdf = INV_SQRT_2PI * expf(-0.5f * x * x);
        X->grad[i] += n->grad[i] * (cdf + x * pdf);
    }
    return SBT_OK;
}

sbt_status sbt_fwd_erf(sbt_graph *g, sbt_node *n) {
    const float *x = in_node(g, n, 0)->value;
    for (int64_t i = 0; i < n->size; i++) n->value[i] = erff(x[i]);
    return SBT_OK;
}

sbt_status sbt_bwd_erf(sbt_graph *g, sbt_node *n) {
    const sbt_node *X = in_node(g, n, 0);
    const float two_over_sqrt_pi = 1.12837916709551257f;
    for (int64_t i = 0; i < n->size; i++)
        X->grad[i] += n->grad[i] * two_over_sqrt_pi * expf(-X->value[i] * X->value[i]);
    return SBT_OK;
}

/* The mask is drawn from a stream keyed by (seed, node, step), so a resumed run draws
 * the same masks as an uninterrupted one. saved[] holds 0 or 1/(1-p). */
sbt_status sbt_fwd_dropout(sbt_graph *g, sbt_node *n) {
    const float *x = in_node(g, n, 0)->value;
    float p = n->attr.dropout.p;
    if (!g->training || p == 0.0f) {
        for (int64_t i = 0; i < n->size; i++) n->saved[i] = 1.0f;
    } else {
        sbt_rng r;
        uint64_t node_id = (uint64_t)(n - g->nodes);
        sbt_rng_seed(&r, sbt_rng_derive(sbt_rng_derive(n->attr.dropout.seed, node_id), g->step));
        float keep_scale = 1.0f / (1.0f - p);
        for (int64_t i = 0; i < n->size; i++) n->saved[i] = sbt_rng_uniform(&r) < p ? 0.0f : keep_scale;
    }
    for (int64_t i = 0; i < n->size; i++) n->value[i] = x[i] * n->saved[i];
    return SBT_OK;
}

sbt_status sbt_bwd_dropout(sbt_graph *g, sbt_node *n) {
    float *dx = in_node(g, n, 0)->grad;
    for (int64_t i = 0; i < n->size; i++) dx[i] += n->grad[i] * n->saved[i];
    return SBT_OK;
}
