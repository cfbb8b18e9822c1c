/* sbt/cost.h - parameters, storage bits and operations of a graph, per layer and in total.
 *
 * The walker reads a graph only through its accessors (graph.h) and counts what the nodes
 * that `output` depends on do for one window (the graph's batch; build it with batch 1).
 * Nodes are grouped by the prefix of their name before the first '.' ("input", "layer0",
 * "head"); a Linear takes the group of its weight, an unnamed node the group of its latest
 * input. Works on a freshly built model: counting needs no training.
 *
 *     sbt_cost c;
 *     if (sbt_cost_model(model, 29, SBT_COST_EXACT, &c) != SBT_OK) ...
 *     printf("%lld MACs\n", (long long)c.total.macs_nonzero);
 *     char *table = sbt_cost_table(&c);   // text, caller frees (sbt_cost_json: JSON)
 *     sbt_cost_free(&c);
 *
 * Units. MACs are multiply-accumulates; FLOPs = 2 x MACs and cover the linear algebra
 * only (Linear, MatMul and attention's Q K^T and A V). Everything else is counted apart:
 *   addsub     additions and subtractions: element-wise Add/Sub, bias adds, the +-x
 *              accumulations of a ternary weight (one per non-zero), reduction sums,
 *              the additive attention mask, norm centring and shift;
 *   mults      multiplications: Mul, Scale (e.g. sqrt(d), 1/sqrt(d_head)), one alpha per
 *              output of a ternary Linear, norm scaling;
 *   nonlinear  weighted element costs with onnx-tool's constants: exp 32, div 4, sqrt 24,
 *              so softmax costs 36 per element (exp + div); comparison 1 (ReLU);
 *              erf 32 (as exp); GELU erf + 3 mults + 1 add; LayerNorm per row: 2 div
 *              (mean, variance) + sqrt + div (reciprocal) = 36; BatchNorm per feature
 *              sqrt + div = 28 (inference: running statistics); Mean / MaskedMean one div
 *              per output; Div 4 per element.
 * Dense Linear / MatMul MACs follow onnx-tool: volume(Y) x K, plus volume(Y) for a bias.
 * A Linear whose weight is a SPARSE_WEIGHT node keeps k = sbt_biprop_keep_count(keep, n)
 * entries (binarise: the non-zeros of W): macs_nonzero = rows x k (+ bias); Biprop and
 * binarised weights are ternary, whose path is rows x k addsub plus volume(Y) alpha mults
 * and volume(Y) bias adds (a pruned weight stays float: no ternary path). A PARAM or CONST
 * weight (a frozen graph) whose rows each hold values in {-a, 0, +a} is ternary too (real
 * non-zeros counted). The sparse weight's top-k itself is weight preparation (frozen once
 * at inference), not per-window work.
 *
 * Conventions:
 *   SBT_COST_EXACT  what the graph executes: trimmed Step-T graphs count the last step
 *                   only, Step-T attention attends with the last query alone (the other
 *                   steps copy v, no work).
 *   SBT_COST_PAPER  the rules of the paper's code (../shared/paper-configs.md): Q, K, V
 *                   linears count in x out x w, every other linear in x out (one step),
 *                   times keep for sparse layers (macs_dense: keep 1); attention
 *                   full w*d + h*(2*w^2*d_h + w^2), Step-T w*d + h*(2*(w-1)*d_h + w),
 *                   Q/K/V mask p*w*d + 3*w*d + h*(P^2*d_h + w^2 + w*P*d_h), P = floor(p*w);
 *                   LayerNorm 2*d*w, BatchNorm 0, sinusoidal position encoding w*d. Its
 *                   numbers are what the paper calls FLOPs, though they are multiply-adds:
 *                   they land in macs_*; addsub/mults/nonlinear are 0.
 *
 * Parameters (both conventions): every PARAM, and every CONST holding data (not generated
 * positions or masks), that the output depends on, except sparse-weight scores (they
 * choose the mask; the sparse weight is counted once, n entries, k non-zero). Norm running
 * statistics (STATE) are not counted. Storage bits:
 *   bits_f32      32 per parameter (everything stored as float32);
 *   bits_paper    with a sparse-binary layer present, 1 per sparse-binary (or ternary)
 *                 weight, 32 per float weight (norm scales, dense weights, position
 *                 tables; a pruned weight: 32 per kept entry), biases, norm shifts,
 *                 alphas, statistics and the seed 0; a model
 *                 without one: 32 per parameter, biases included (the paper's dense rule);
 *   bits_entropy  like bits_paper, but a sparse-binary weight costs log2 C(n, k) (its mask;
 *                 signs come from the seed) and a ternary PARAM or CONST its empirical
 *                 entropy n * H(zero, +, -) (signs stored too; scales not counted).
 *
 * Ownership: sbt_cost owns its group array; sbt_cost_free releases it.
 */
#ifndef SBT_COST_H
#define SBT_COST_H

#include <stdint.h>

#include "sbt/error.h"
#include "sbt/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sbt_model;

typedef enum sbt_cost_convention { SBT_COST_EXACT = 0, SBT_COST_PAPER = 1 } sbt_cost_convention;

/* The per-element costs of the nonlinear count (onnx-tool's constants where it has one). */
enum {
    SBT_COST_EXP = 32,
    SBT_COST_DIV = 4,
    SBT_COST_SQRT = 24,
    SBT_COST_ERF = 32,
    SBT_COST_CMP = 1,
    SBT_COST_SOFTMAX = SBT_COST_EXP + SBT_COST_DIV
};

typedef struct sbt_cost_counts {
    int64_t params;         /* weights, biases, norm and table entries (sparse weight: n) */
    int64_t params_nonzero; /* real non-zeros (sparse weight: k) */
    int64_t params_float;   /* held as float values */
    int64_t params_ternary; /* sparse-binary or ternary-valued weights */
    int64_t bits_f32;       /* storage, all float32 */
    int64_t bits_paper;     /* storage, the paper's convention */
    double bits_entropy;    /* storage lower bound (see above) */
    int64_t macs_dense;     /* multiply-accumulates as if every weight were non-zero */
    int64_t macs_nonzero;   /* multiply-accumulates over non-zero weights only */
    int64_t addsub;         /* additions and subtractions outside MACs */
    int64_t mults;          /* multiplications outside MACs */
    int64_t nonlinear;      /* weighted nonlinear work (SBT_COST_* per element) */
} sbt_cost_counts;

typedef struct sbt_cost_group {
    char name[SBT_NAME_MAX + 1];
    sbt_cost_counts counts;
} sbt_cost_group;

typedef struct sbt_cost {
    sbt_cost_convention convention;
    int64_t window; /* steps of one window (w) */
    int n_groups;   /* in order of first appearance in the graph */
    sbt_cost_group *groups;
    sbt_cost_counts total;
} sbt_cost;

typedef struct sbt_cost_options {
    sbt_cost_convention convention;
    /* paper convention: w (0: dimension 1 of the INPUT named "x") and the Q/K/V mask keep
     * fraction p (0: the keep of the graph's generated Q/K/V mask) */
    int64_t window;
    float attn_keep;
} sbt_cost_options;

/* Counts the work of every node `output` depends on. `g` must be finalized (parameter
 * values are read to find real non-zeros and ternary rows). */
sbt_status sbt_cost_graph(sbt_graph *g, int output, const sbt_cost_options *opt, sbt_cost *out);

/* Builds the model's graph for batch 1 and `length` steps (0: cfg.max_len) and counts its
 * output, with the config's Q/K/V mask keep for the paper convention. Its counts equal
 * those of the frozen inference graph (sbt_model_graph_build_infer) except bits_entropy:
 * a frozen ternary constant no longer says that its signs come from the seed, so its
 * bound is n * H(zero, +, -) instead of log2 C(n, k). */
sbt_status sbt_cost_model(struct sbt_model *m, int length, sbt_cost_convention convention, sbt_cost *out);

void sbt_cost_free(sbt_cost *c);

/* FLOPs of the linear algebra: 2 x MACs. */
static inline int64_t sbt_cost_flops(const sbt_cost_counts *c) { return 2 * c->macs_nonzero; }

const char *sbt_cost_convention_name(sbt_cost_convention c);
/* "exact" or "paper"; -1 for anything else. */
int sbt_cost_convention_parse(const char *name);

/* A human table (one row per group and the total, units in the header), malloc'ed; the
 * caller frees it. NULL when out of memory. */
char *sbt_cost_table(const sbt_cost *c);
/* The same as one JSON object {convention, window, units, groups: [...], total} (cJSON,
 * strings escaped), malloc'ed; the caller frees it. For sbt-info --json. */
char *sbt_cost_json(const sbt_cost *c);

#ifdef __cplusplus
}
#endif
#endif
