/* The exact convention: what each node computes for the graph's batch (cost.h states the
 * per-element constants). */
#include "cost/cost_internal.h"

/* A Linear y = x W^T + b: onnx-tool's volume(Y) x K (+ volume(Y) for the bias) densely;
 * over the non-zeros only for sparse weights, whose ternary path accumulates +-x once per
 * non-zero and multiplies each output by alpha. */
static void linear(const cost_walker *w, int id, sbt_cost_counts *c) {
    int wid = sbt_node_input(w->g, id, 1), bias = sbt_node_input(w->g, id, 2);
    int64_t out = sbt_node_dim(w->g, wid, 0), in = sbt_node_dim(w->g, wid, -1), vol = sbt_node_size(w->g, id);
    int64_t rows = out ? vol / out : 0, nnz = cost_weight_nonzero(w, wid), bias_adds = bias >= 0 ? vol : 0;
    c->macs_dense += vol * in + bias_adds;
    c->macs_nonzero += rows * nnz + bias_adds;
    int ternary = cost_is_ternary_op(w, wid) || (wid >= 0 && wid < w->n && w->role[wid] == ROLE_TERNARY);
    if (ternary) {
        c->addsub += rows * nnz + bias_adds;
        c->mults += vol;
    }
}

static void matmul(const cost_walker *w, int id, sbt_cost_counts *c) {
    int a = sbt_node_input(w->g, id, 0);
    int64_t k =
        sbt_node_attr(w->g, id)->matmul.trans_a ? sbt_node_dim(w->g, a, -2) : sbt_node_dim(w->g, a, -1);
    c->macs_dense += sbt_node_size(w->g, id) * k;
    c->macs_nonzero += sbt_node_size(w->g, id) * k;
}

/* Step-T: only the last query attends (to T-1 keys, or T with include_last); the other
 * steps copy v. Per batch row and head: q.k over the keys, their scaling and softmax, and
 * the weighted sum of v. */
static void step_t(const cost_walker *w, int id, sbt_cost_counts *c) {
    int k = sbt_node_input(w->g, id, 1);
    int64_t steps = sbt_node_dim(w->g, k, -2), dh = sbt_node_dim(w->g, k, -1);
    int64_t heads = sbt_node_dim(w->g, k, 0) * sbt_node_dim(w->g, k, 1);
    int64_t keys = sbt_node_attr(w->g, id)->step_t.include_last || steps == 1 ? steps : steps - 1;
    c->macs_dense += heads * 2 * keys * dh;
    c->macs_nonzero += heads * 2 * keys * dh;
    c->mults += heads * keys;
    c->nonlinear += heads * keys * SBT_COST_SOFTMAX;
}

/* LayerNorm per element: mean sum, centring, variance sum, shift (4 addsub), square,
 * normalise, scale (3 mults); per row: two divisions, a square root and a reciprocal. */
static void layernorm(const cost_walker *w, int id, sbt_cost_counts *c) {
    int64_t vol = sbt_node_size(w->g, id), d = sbt_node_dim(w->g, id, -1), rows = d ? vol / d : 0;
    c->addsub += 4 * vol;
    c->mults += 3 * vol;
    c->nonlinear += rows * (3 * SBT_COST_DIV + SBT_COST_SQRT);
}

/* BatchNorm at inference: (x - mean) * rstd * gamma + beta per element; rstd per feature. */
static void batchnorm(const cost_walker *w, int id, sbt_cost_counts *c) {
    int64_t vol = sbt_node_size(w->g, id), d = sbt_node_dim(w->g, id, -1);
    c->addsub += 2 * vol;
    c->mults += 2 * vol;
    c->nonlinear += d * (SBT_COST_SQRT + SBT_COST_DIV);
}

void cost_exact_node(const cost_walker *w, int id, sbt_cost_counts *c) {
    int64_t vol = sbt_node_size(w->g, id);
    switch (sbt_node_op(w->g, id)) {
    case SBT_OP_LINEAR: linear(w, id, c); break;
    case SBT_OP_MATMUL: matmul(w, id, c); break;
    case SBT_OP_STEP_T:
    case SBT_OP_STEP_T_LAST: step_t(w, id, c); break;
    case SBT_OP_ADD:
    case SBT_OP_SUB: c->addsub += vol; break;
    case SBT_OP_MUL:
    case SBT_OP_SCALE: c->mults += vol; break;
    case SBT_OP_DIV: c->nonlinear += vol * SBT_COST_DIV; break;
    case SBT_OP_SOFTMAX:
        c->nonlinear += vol * SBT_COST_SOFTMAX;
        if (sbt_node_input_count(w->g, id) > 1) c->addsub += vol; /* the additive mask */
        break;
    case SBT_OP_LAYERNORM: layernorm(w, id, c); break;
    case SBT_OP_BATCHNORM: batchnorm(w, id, c); break;
    case SBT_OP_RELU: c->nonlinear += vol * SBT_COST_CMP; break;
    case SBT_OP_ERF: c->nonlinear += vol * SBT_COST_ERF; break;
    case SBT_OP_GELU:
        c->nonlinear += vol * SBT_COST_ERF;
        c->mults += 3 * vol;
        c->addsub += vol;
        break;
    case SBT_OP_MEAN:
    case SBT_OP_MASKED_MEAN:
        c->addsub += sbt_node_size(w->g, sbt_node_input(w->g, id, 0));
        c->nonlinear += vol * SBT_COST_DIV;
        break;
    default: break; /* data movement (reshape, slice, ...), leaves, losses, the sparse weight's top-k */
    }
}
