/* Element-wise ops: the binary ops with NumPy broadcasting, scale, activations and
 * dropout. The common case, b repeated over a's leading dimensions (a bias, a position
 * table, a scalar), walks (repeat, j) without divisions so the inner loop vectorises;
 * any other broadcast walks the output with per-operand strides (0 on broadcast axes).
 * A broadcast operand's gradient sums over its repeats, in a fixed order. */
#include <math.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "sbt/rng.h"

/* 1 when x has the output's shape: operands broadcast to the output (shape rule), so
 * an equal size means equal dimensions up to leading 1s. */
static int same_shape(const sbt_node *x, const sbt_node *out) { return x->size == out->size; }

/* 1 when b, without its leading 1s, is a trailing block of the output's shape. */
int sbt_is_trailing_block(const sbt_node *b, const sbt_node *out) {
    int lead = 0;
    while (lead < b->ndim - 1 && b->shape[lead] == 1) lead++;
    if (b->ndim - lead > out->ndim) return 0;
    for (int i = 1; i <= b->ndim - lead; i++)
        if (b->shape[b->ndim - i] != out->shape[out->ndim - i]) return 0;
    return 1;
}

/* The output walked as 4 axes (padded in front) and each operand's stride per axis. */
typedef struct {
    int64_t shape[4], sa[4], sb[4];
} walk4;

static void operand_strides(const sbt_node *x, const sbt_node *out, int64_t *stride) {
    int64_t s = 1;
    for (int i = 3; i >= 0; i--) {
        int xi = x->ndim - (4 - i), oi = out->ndim - (4 - i);
        int64_t dim = xi >= 0 ? x->shape[xi] : 1, odim = oi >= 0 ? out->shape[oi] : 1;
        stride[i] = dim == odim && dim != 1 ? s : 0;
        s *= dim;
    }
}

static walk4 walk_of(const sbt_node *out, const sbt_node *a, const sbt_node *b) {
    walk4 w;
    for (int i = 0; i < 4; i++) {
        int oi = out->ndim - (4 - i);
        w.shape[i] = oi >= 0 ? out->shape[oi] : 1;
    }
    operand_strides(a, out, w.sa);
    operand_strides(b, out, w.sb);
    return w;
}

/* Runs the body with ia, ib (operand offsets) and o (output offset) for every element. */
#define WALK4(w, ...)                                                                                        \
    do {                                                                                                     \
        int64_t o = 0;                                                                                       \
        for (int64_t i0 = 0; i0 < (w).shape[0]; i0++)                                                        \
            for (int64_t i1 = 0; i1 < (w).shape[1]; i1++)                                                    \
                for (int64_t i2 = 0; i2 < (w).shape[2]; i2++) {                                              \
                    int64_t ia = i0 * (w).sa[0] + i1 * (w).sa[1] + i2 * (w).sa[2];                           \
                    int64_t ib = i0 * (w).sb[0] + i1 * (w).sb[1] + i2 * (w).sb[2];                           \
                    for (int64_t i3 = 0; i3 < (w).shape[3]; i3++, o++, ia += (w).sa[3], ib += (w).sb[3]) {   \
                        __VA_ARGS__;                                                                         \
                    }                                                                                        \
                }                                                                                            \
    } while (0)

#define BINARY_FORWARD(name, expr)                                                                           \
    sbt_status sbt_fwd_##name(sbt_graph *g, sbt_node *n) {                                                   \
        const sbt_node *A = in_node(g, n, 0), *B = in_node(g, n, 1);                                         \
        const float *a = A->value, *b = B->value;                                                            \
        if (same_shape(A, n) && sbt_is_trailing_block(B, n)) {                                               \
            int64_t nb = B->size, repeats = n->size / nb;                                                    \
            for (int64_t r = 0; r < repeats; r++) {                                                          \
                const float *ar = a + r * nb;                                                                \
                float *y = n->value + r * nb;                                                                \
                for (int64_t j = 0; j < nb; j++) {                                                           \
                    float av = ar[j], bv = b[j];                                                             \
                    y[j] = (expr);                                                                           \
                }                                                                                            \
            }                                                                                                \
            return SBT_OK;                                                                                   \
        }                                                                                                    \
        walk4 w = walk_of(n, A, B);                                                                          \
        WALK4(w, {                                                                                           \
            float av = a[ia], bv = b[ib];                                                                    \
            n->value[o] = (expr);                                                                            \
        });                                                                                                  \
        return SBT_OK;                                                                                       \
    }

BINARY_FORWARD(add, av + bv)
BINARY_FORWARD(sub, av - bv)
BINARY_FORWARD(mul, av *bv)
BINARY_FORWARD(div, av / bv)

#define BINARY_BACKWARD(name, da_expr, db_expr)                                                              \
    sbt_status sbt_bwd_##name(sbt_graph *g, sbt_node *n) {                                                   \
        sbt_node *A = in_node(g, n, 0), *B = in_node(g, n, 1);                                               \
        const float *a = A->value, *b = B->value;                                                            \
        if (same_shape(A, n) && sbt_is_trailing_block(B, n)) {                                               \
            int64_t nb = B->size, repeats = n->size / nb;                                                    \
            for (int64_t r = 0; r < repeats; r++) {                                                          \
                const float *ar = a + r * nb, *dy = n->grad + r * nb;                                        \
                float *da = A->grad ? A->grad + r * nb : NULL;                                               \
                for (int64_t j = 0; j < nb; j++) {                                                           \
                    float av = ar[j], bv = b[j], g_ = dy[j];                                                 \
                    (void)av;                                                                                \
                    (void)bv;                                                                                \
                    if (da) da[j] += (da_expr);                                                              \
                    if (B->grad) B->grad[j] += (db_expr);                                                    \
                }                                                                                            \
            }                                                                                                \
            return SBT_OK;                                                                                   \
        }                                                                                                    \
        walk4 w = walk_of(n, A, B);                                                                          \
        WALK4(w, {                                                                                           \
            float av = a[ia], bv = b[ib], g_ = n->grad[o];                                                   \
            (void)av;                                                                                        \
            (void)bv;                                                                                        \
            if (A->grad) A->grad[ia] += (da_expr);                                                           \
            if (B->grad) B->grad[ib] += (db_expr);                                                           \
        });                                                                                                  \
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
