/* sbt/biprop.h - the Biprop rule that turns a float weight into a sparse binary one.
 *
 * A sparse-binary linear layer keeps frozen random weights W (regenerated from a seed,
 * never trained) and trainable scores S of the same shape. Its effective weight is
 *
 *     W_eff = alpha * sign(W) * M,      M = top-k mask of |S|,   k = round(keep * n)
 *
 * so every entry is -alpha, 0 or +alpha. alpha is the mean |W| over the kept entries,
 * one scalar per layer (or one per output row). Ties in |S| are broken by position: the
 * lower flat index is kept, so the mask is a pure function of S.
 *
 * Backward (straight-through, as the paper's reference code computes it): the
 * `alpha * M` factor passes the gradient times |W|, and |S| contributes sign(S):
 *
 *     dL/dS = dL/dW_eff * sign(W) * |W| * sign(S) = dL/dW_eff * W * sign(S)
 *
 * with sign(0) = 0. alpha and W get no gradient. In a graph this is the op built by
 * sbt_biprop_weight() (graph.h); the functions here are its kernels, exposed for tests
 * and exporters.
 *
 *     int64_t k = sbt_biprop_keep_count(0.5f, n);
 *     sbt_biprop_select(scores, n, k, mask, scratch);   // mask[i] in {0, 1}
 *     float alpha = sbt_biprop_alpha(w, mask, n);
 */
#ifndef SBT_BIPROP_H
#define SBT_BIPROP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* round(keep * n), at least 1 and at most n; keep in (0, 1]. */
int64_t sbt_biprop_keep_count(float keep, int64_t n);

/* mask[i] = 1 for the k entries with the largest |scores[i]| (ties: lower index first),
 * 0 elsewhere. O(n) expected (quickselect), no sort. `scratch` holds n int32 values. */
void sbt_biprop_select(const float *scores, int64_t n, int64_t k, float *mask, int32_t *scratch);

/* Mean |w| over the entries where mask != 0 (0 if none). */
float sbt_biprop_alpha(const float *w, const float *mask, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
