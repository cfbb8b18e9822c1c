/* sbt/convert.h - turning a trained float model into a sparse (binary) one.
 *
 * Any model (native or imported) whose Linear layers have trained float weights can be
 * converted in place: each chosen layer's weight W becomes a frozen stored tensor and
 * its effective weight a sparse-weight node (graph.h) over it:
 *   SBT_SPARSE_PRUNE     W * topk(|S|)            unstructured pruning
 *   SBT_SPARSE_BINARIZE  alpha * sign(W)          zeros of W (a pruning mask) stay zero
 *   SBT_SPARSE_BIPROP    alpha * sign(W) * topk(|S|)
 * with new trained scores S (PRUNE, BIPROP) that start as |W|, so the first top-k is
 * magnitude pruning and Biprop training (sbt-train --init) recovers from there. A layer
 * that is already pruned (PRUNE) and is asked for BIPROP or BINARIZE keeps its scores
 * and keep and changes mode, so prune then binarize keeps the pruning mask.
 *
 *     sbt_sparsify_options o = sbt_sparsify_defaults();
 *     o.keep = 0.5f;
 *     o.mode = SBT_SPARSE_BIPROP;
 *     int layers = 0;
 *     if (sbt_model_sparsify(model, &o, &layers) != SBT_OK) ... sbt_last_error() ...
 *
 * The model keeps its metadata and becomes non-native (its graph is no longer what its
 * config would build). Pointers into the model's tensors and graphs built from it
 * before the call are invalid after it.
 */
#ifndef SBT_CONVERT_H
#define SBT_CONVERT_H

#include <stdint.h>

#include "sbt/graph.h"
#include "sbt/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbt_sparsify_options {
    float keep;           /* fraction of each layer's weights kept, in (0, 1] (PRUNE, BIPROP) */
    sbt_sparse_mode mode; /* what the effective weight is */
    int per_row_alpha;    /* BINARIZE, BIPROP: one alpha per output row instead of per layer */
    int global;           /* keep the largest |W| over all chosen layers together (per-layer keep varies) */
    int random_scores;    /* scores start uniform random (seeded) instead of |W|: random pruning */
    uint64_t seed;        /* random_scores */
    const char *layers;   /* fnmatch(3) pattern over the Linear's name ("layer*.ff*"); NULL: all */
} sbt_sparsify_options;

/* keep 0.5, BIPROP, alpha per layer, per-layer scope, |W| scores, every layer. */
sbt_sparsify_options sbt_sparsify_defaults(void);

/* Converts the chosen Linear layers of m; *layers (may be NULL) gets how many. A model
 * with no Linear layer of trained float weights (nor a pruned one to binarize) is an
 * SBT_ERR_ARG saying so; keep outside (0, 1] too. On error m is unchanged. */
sbt_status sbt_model_sparsify(sbt_model *m, const sbt_sparsify_options *o, int *layers);

#ifdef __cplusplus
}
#endif
#endif
