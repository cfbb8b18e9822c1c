/* The op graph: building with shape checks, finalising into one arena, and running
 * forward and backward by walking the node list. The kernels live in ops_*.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"

static const struct {
    const char *name;
    sbt_op_fn forward, backward;
} OPS[SBT_OP_COUNT] = {
    [SBT_OP_INPUT] = {"Input", NULL, NULL},
    [SBT_OP_PARAM] = {"Param", NULL, NULL},
    [SBT_OP_MATMUL] = {"MatMul", sbt_fwd_matmul, sbt_bwd_matmul},
    [SBT_OP_LINEAR] = {"Linear", sbt_fwd_linear, sbt_bwd_linear},
    [SBT_OP_ADD] = {"Add", sbt_fwd_add, sbt_bwd_add},
    [SBT_OP_SUB] = {"Sub", sbt_fwd_sub, sbt_bwd_sub},
    [SBT_OP_MUL] = {"Mul", sbt_fwd_mul, sbt_bwd_mul},
    [SBT_OP_DIV] = {"Div", sbt_fwd_div, sbt_bwd_div},
    [SBT_OP_SCALE] = {"Scale", sbt_fwd_scale, sbt_bwd_scale},
    [SBT_OP_TRANSPOSE] = {"Transpose", sbt_fwd_transpose, sbt_bwd_transpose},
    [SBT_OP_RESHAPE] = {"Reshape", sbt_fwd_reshape, sbt_bwd_reshape},
    [SBT_OP_SLICE] = {"Slice", sbt_fwd_slice, sbt_bwd_slice},
    [SBT_OP_CONCAT] = {"Concat", sbt_fwd_concat, sbt_bwd_concat},
    [SBT_OP_GATHER] = {"Gather", sbt_fwd_gather, sbt_bwd_gather},
    [SBT_OP_SOFTMAX] = {"Softmax", sbt_fwd_softmax, sbt_bwd_softmax},
    [SBT_OP_LAYERNORM] = {"LayerNorm", sbt_fwd_layernorm, sbt_bwd_layernorm},
    [SBT_OP_BATCHNORM] = {"BatchNorm", sbt_fwd_batchnorm, sbt_bwd_batchnorm},
    [SBT_OP_RELU] = {"Relu", sbt_fwd_relu, sbt_bwd_relu},
    [SBT_OP_GELU] = {"Gelu", sbt_fwd_gelu, sbt_bwd_gelu},
    [SBT_OP_ERF] = {"Erf", sbt_fwd_erf, sbt_bwd_erf},
    [SBT_OP_MEAN] = {"Mean", sbt_fwd_mean, sbt_bwd_mean},
    [SBT_OP_MASKED_MEAN] = {"MaskedMean", sbt_fwd_masked_mean, sbt_bwd_masked_mean},
    [SBT_OP_DROPOUT] = {"Dropout", sbt_fwd_dropout, sbt_bwd_dropout},
    [SBT_OP_CROSS_ENTROPY] = {"CrossEntropy", sbt_fwd_cross_entropy, sbt_bwd_cross_entropy},
    [SBT_OP_MSE] = {"MSE", sbt_fwd_mse, sbt_bwd_mse},
    [SBT_OP_BIPROP] = {"Biprop", sbt_fwd_biprop, sbt_bwd_biprop},
    [SBT_OP_STEP_T] = {"StepTAttention", sbt_fwd_step_t, sbt_bwd_step_t},
    [SBT_OP_STEP_T_LAST] = {"StepTAttentionLast", sbt_fwd_step_t_last, sbt_bwd_step_t_last},
};

const char *sbt_op_name(sbt_op op) { return op < SBT_OP_COUNT ? OPS[op].name : "?"; }

sbt_graph *sbt_graph_new(void) { return calloc(1, sizeof(sbt_graph)); }

void sbt_graph_free(sbt_graph *g) {
    if (!g) return;
    sbt_arena_release(&g->arena);
    free(g->nodes);
    free(g);
}

/* Records the first build error; later ones are consequences of it. */
static int build_error(sbt_graph *g, sbt_status code, const char *fmt, ...) {
    if (g->status != SBT_OK) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->error, sizeof g->error, fmt, ap);
    va_end(ap);
    g->status = code;
    return -1;
}

static int valid_inputs(sbt_graph *g, const int *inputs, int n_inputs) {
    if (g->status != SBT_OK) return 0;
    if (g->finalized) return build_error(g, SBT_ERR_ARG, "graph: cannot add nodes after finalize"), 0;
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] < 0 || inputs[i] >= g->count)
            return build_error(g, SBT_ERR_ARG, "graph: input %d is not a node", inputs[i]), 0;
    return 1;
}

/* Called when an input id does not name a node: records why, returns -1. */
static int invalid_input(sbt_graph *g, const int *inputs, int n_inputs) {
    valid_inputs(g, inputs, n_inputs);
    return -1;
}

static int push_node(sbt_graph *g, sbt_op op, const int *inputs, int n_inputs, int ndim,
                     const int64_t *shape) {
    if (!valid_inputs(g, inputs, n_inputs)) return -1;
    /* `shape` often points into an existing node, which the realloc below may move. */
    int64_t shape_copy[SBT_MAX_DIMS] = {0};
    if (ndim >= 1 && ndim <= SBT_MAX_DIMS) memcpy(shape_copy, shape, (size_t)ndim * sizeof *shape);
    shape = shape_copy;
    int64_t size = sbt_shape_numel(ndim, shape);
    if (ndim < 1 || ndim > SBT_MAX_DIMS || size < 0)
        return build_error(g, SBT_ERR_SHAPE, "graph: %s: bad rank %d or size", OPS[op].name, ndim);
    if (g->count == g->capacity) {
        int cap = g->capacity ? 2 * g->capacity : 64;
        sbt_node *nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return build_error(g, SBT_ERR_NOMEM, "graph: out of memory");
        g->nodes = nodes;
        g->capacity = cap;
    }
    sbt_node *n = &g->nodes[g->count];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->n_inputs = n_inputs;
    for (int i = 0; i < n_inputs; i++) {
        n->inputs[i] = inputs[i];
        n->needs_grad |= g->nodes[inputs[i]].needs_grad;
    }
    n->ndim = ndim;
    memcpy(n->shape, shape, (size_t)ndim * sizeof *shape);
    n->size = size;
    snprintf(n->name, sizeof n->name, "%s_%d", OPS[op].name, g->count);
    return g->count++;
}

/* For ops whose other inputs (masks, labels, indices, frozen weights) take no gradient.
 * Looked up by index: push_node may have moved the node array. */
static void grad_from_first_input(sbt_graph *g, int id) {
    if (id >= 0) g->nodes[id].needs_grad = g->nodes[g->nodes[id].inputs[0]].needs_grad;
}

static const sbt_node *node_or_null(const sbt_graph *g, int id) {
    return (g->status == SBT_OK && id >= 0 && id < g->count) ? &g->nodes[id] : NULL;
}

static const char *fmt_shape(const sbt_node *n, char *buf) {
    return sbt_shape_format(n->ndim, n->shape, buf, 64);
}

int sbt_input(sbt_graph *g, const char *name, int ndim, const int64_t *shape) {
    int id = push_node(g, SBT_OP_INPUT, NULL, 0, ndim, shape);
    return id < 0 ? id : sbt_graph_name(g, id, name);
}

int sbt_param(sbt_graph *g, const char *name, int ndim, const int64_t *shape, float *value, float *grad) {
    if (!value) return build_error(g, SBT_ERR_ARG, "graph: parameter %s has no data", name);
    int id = push_node(g, SBT_OP_PARAM, NULL, 0, ndim, shape);
    if (id < 0) return id;
    sbt_node *n = &g->nodes[id];
    n->value = value;
    n->grad = grad;
    n->grad_external = 1;
    n->needs_grad = grad != NULL;
    return sbt_graph_name(g, id, name);
}

int sbt_graph_name(sbt_graph *g, int id, const char *name) {
    if (id < 0 || id >= g->count || !name) return id;
    snprintf(g->nodes[id].name, sizeof g->nodes[id].name, "%s", name);
    return id;
}

int sbt_matmul(sbt_graph *g, int a, int b, int trans_a, int trans_b) {
    const sbt_node *A = node_or_null(g, a), *B = node_or_null(g, b);
    if (!A || !B) return invalid_input(g, (int[]){a, b}, 2);
    char s1[64], s2[64];
    if (A->ndim < 2 || B->ndim < 2 || (B->ndim != 2 && B->ndim != A->ndim))
        return build_error(g, SBT_ERR_SHAPE, "MatMul: shapes %s and %s", fmt_shape(A, s1), fmt_shape(B, s2));
    int64_t m = A->shape[A->ndim - (trans_a ? 1 : 2)], k = A->shape[A->ndim - (trans_a ? 2 : 1)];
    int64_t kb = B->shape[B->ndim - (trans_b ? 1 : 2)], nn = B->shape[B->ndim - (trans_b ? 2 : 1)];
    int batch_ok = 1;
    if (B->ndim == A->ndim)
        for (int i = 0; i < A->ndim - 2; i++) batch_ok &= A->shape[i] == B->shape[i];
    if (k != kb || !batch_ok)
        return build_error(g, SBT_ERR_SHAPE, "MatMul: shapes %s%s and %s%s do not fit", fmt_shape(A, s1),
                           trans_a ? "^T" : "", fmt_shape(B, s2), trans_b ? "^T" : "");
    int64_t shape[SBT_MAX_DIMS];
    memcpy(shape, A->shape, sizeof shape);
    shape[A->ndim - 2] = m;
    shape[A->ndim - 1] = nn;
    int id = push_node(g, SBT_OP_MATMUL, (int[]){a, b}, 2, A->ndim, shape);
    if (id >= 0) {
        g->nodes[id].attr.matmul.trans_a = trans_a;
        g->nodes[id].attr.matmul.trans_b = trans_b;
    }
    return id;
}

int sbt_linear(sbt_graph *g, int x, int weight, int bias) {
    const sbt_node *X = node_or_null(g, x), *W = node_or_null(g, weight);
    if (!X || !W) return invalid_input(g, (int[]){x, weight}, 2);
    char s1[64], s2[64];
    if (W->ndim != 2 || last_dim(X) != W->shape[1])
        return build_error(g, SBT_ERR_SHAPE, "Linear: input %s does not fit weight %s (out, in)",
                           fmt_shape(X, s1), fmt_shape(W, s2));
    if (bias >= 0) {
        const sbt_node *Bn = node_or_null(g, bias);
        if (!Bn) return invalid_input(g, &bias, 1);
        if (Bn->size != W->shape[0])
            return build_error(g, SBT_ERR_SHAPE, "Linear: bias %s, expected (%lld)", fmt_shape(Bn, s1),
                               (long long)W->shape[0]);
    }
    int64_t shape[SBT_MAX_DIMS];
    memcpy(shape, X->shape, sizeof shape);
    shape[X->ndim - 1] = W->shape[0];
    int inputs[3] = {x, weight, bias};
    return push_node(g, SBT_OP_LINEAR, inputs, bias >= 0 ? 3 : 2, X->ndim, shape);
}

static int binary(sbt_graph *g, sbt_op op, int a, int b) {
    const sbt_node *A = node_or_null(g, a), *B = node_or_null(g, b);
    if (!A || !B) return invalid_input(g, (int[]){a, b}, 2);
    int suffix = B->ndim <= A->ndim;
    for (int i = 0; suffix && i < B->ndim; i++)
        suffix = B->shape[B->ndim - 1 - i] == A->shape[A->ndim - 1 - i];
    if (!suffix && B->size != 1) {
        char s1[64], s2[64];
        return build_error(g, SBT_ERR_SHAPE, "%s: %s cannot broadcast to %s", OPS[op].name, fmt_shape(B, s2),
                           fmt_shape(A, s1));
    }
    return push_node(g, op, (int[]){a, b}, 2, A->ndim, A->shape);
}

int sbt_add(sbt_graph *g, int a, int b) { return binary(g, SBT_OP_ADD, a, b); }
int sbt_sub(sbt_graph *g, int a, int b) { return binary(g, SBT_OP_SUB, a, b); }
int sbt_mul(sbt_graph *g, int a, int b) { return binary(g, SBT_OP_MUL, a, b); }
int sbt_div(sbt_graph *g, int a, int b) { return binary(g, SBT_OP_DIV, a, b); }

static int unary(sbt_graph *g, sbt_op op, int x) {
    const sbt_node *X = node_or_null(g, x);
    if (!X) return invalid_input(g, &x, 1);
    return push_node(g, op, &x, 1, X->ndim, X->shape);
}

int sbt_scale(sbt_graph *g, int x, float factor) {
    int id = unary(g, SBT_OP_SCALE, x);
    if (id >= 0) g->nodes[id].attr.scale.factor = factor;
    return id;
}

int sbt_relu(sbt_graph *g, int x) { return unary(g, SBT_OP_RELU, x); }
int sbt_gelu(sbt_graph *g, int x) { return unary(g, SBT_OP_GELU, x); }
int sbt_erf(sbt_graph *g, int x) { return unary(g, SBT_OP_ERF, x); }

int sbt_transpose(sbt_graph *g, int x, const int *perm) {
    const sbt_node *X = node_or_null(g, x);
    if (!X) return invalid_input(g, &x, 1);
    int seen[SBT_MAX_DIMS] = {0};
    int64_t shape[SBT_MAX_DIMS];
    for (int i = 0; i < X->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= X->ndim || seen[perm[i]]++)
            return build_error(g, SBT_ERR_ARG, "Transpose: invalid permutation");
        shape[i] = X->shape[perm[i]];
    }
    int id = push_node(g, SBT_OP_TRANSPOSE, &x, 1, X->ndim, shape);
    if (id >= 0) memcpy(g->nodes[id].attr.transpose.perm, perm, (size_t)X->ndim * sizeof *perm);
    return id;
}

int sbt_reshape(sbt_graph *g, int x, int ndim, const int64_t *shape) {
    const sbt_node *X = node_or_null(g, x);
    if (!X) return invalid_input(g, &x, 1);
    if (ndim < 1 || ndim > SBT_MAX_DIMS || sbt_shape_numel(ndim, shape) != X->size) {
        char s1[64], s2[64];
        return build_error(g, SBT_ERR_SHAPE, "Reshape: %s to %s changes the size", fmt_shape(X, s1),
                           sbt_shape_format(ndim, shape, s2, sizeof s2));
    }
    return push_node(g, SBT_OP_RESHAPE, &x, 1, ndim, shape);
}

int sbt_slice(sbt_graph *g, int x, int axis, int64_t start, int64_t end) {
    const sbt_node *X = node_or_null(g, x);
    if (!X) return invalid_input(g, &x, 1);
    if (axis < 0 || axis >= X->ndim || start < 0 || end > X->shape[axis] || start >= end)
        return build_error(g, SBT_ERR_ARG, "Slice: [%lld, %lld) on axis %d is out of range", (long long)start,
                           (long long)end, axis);
    int64_t shape[SBT_MAX_DIMS];
    memcpy(shape, X->shape, sizeof shape);
    shape[axis] = end - start;
    int id = push_node(g, SBT_OP_SLICE, &x, 1, X->ndim, shape);
    if (id >= 0) {
        g->nodes[id].attr.slice.axis = axis;
        g->nodes[id].attr.slice.start = start;
        g->nodes[id].attr.slice.end = end;
    }
    return id;
}

int sbt_concat(sbt_graph *g, const int *xs, int n, int axis) {
    if (n < 1 || n > SBT_MAX_INPUTS)
        return build_error(g, SBT_ERR_ARG, "Concat: %d inputs (1..%d)", n, SBT_MAX_INPUTS);
    if (!valid_inputs(g, xs, n)) return -1;
    const sbt_node *X0 = &g->nodes[xs[0]];
    if (axis < 0 || axis >= X0->ndim) return build_error(g, SBT_ERR_ARG, "Concat: axis %d", axis);
    int64_t shape[SBT_MAX_DIMS];
    memcpy(shape, X0->shape, sizeof shape);
    shape[axis] = 0;
    for (int i = 0; i < n; i++) {
        const sbt_node *X = &g->nodes[xs[i]];
        int ok = X->ndim == X0->ndim;
        for (int d = 0; ok && d < X0->ndim; d++) ok = d == axis || X->shape[d] == X0->shape[d];
        if (!ok) return build_error(g, SBT_ERR_SHAPE, "Concat: input %d does not match input 0", i);
        shape[axis] += X->shape[axis];
    }
    int id = push_node(g, SBT_OP_CONCAT, xs, n, X0->ndim, shape);
    if (id >= 0) g->nodes[id].attr.axis.axis = axis;
    return id;
}

int sbt_gather(sbt_graph *g, int table, int indices) {
    const sbt_node *T = node_or_null(g, table), *I = node_or_null(g, indices);
    if (!T || !I) return invalid_input(g, (int[]){table, indices}, 2);
    if (I->ndim + T->ndim - 1 > SBT_MAX_DIMS)
        return build_error(g, SBT_ERR_SHAPE, "Gather: result rank too large");
    int64_t shape[SBT_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < I->ndim; i++) shape[nd++] = I->shape[i];
    for (int i = 1; i < T->ndim; i++) shape[nd++] = T->shape[i];
    if (nd == 0) shape[nd++] = 1;
    int id = push_node(g, SBT_OP_GATHER, (int[]){table, indices}, 2, nd, shape);
    grad_from_first_input(g, id);
    return id;
}

int sbt_softmax(sbt_graph *g, int x, int mask) {
    const sbt_node *X = node_or_null(g, x);
    if (!X) return invalid_input(g, &x, 1);
    if (mask < 0) return push_node(g, SBT_OP_SOFTMAX, &x, 1, X->ndim, X->shape);
    const sbt_node *M = node_or_null(g, mask);
    if (!M) return invalid_input(g, &mask, 1);
    int ok = M->ndim == X->ndim;
    for (int i = 0; ok && i < X->ndim; i++) ok = M->shape[i] == 1 || M->shape[i] == X->shape[i];
    if (!ok) {
        char s1[64], s2[64];
        return build_error(g, SBT_ERR_SHAPE, "Softmax: mask %s does not broadcast to %s", fmt_shape(M, s1),
                           fmt_shape(X, s2));
    }
    int id = push_node(g, SBT_OP_SOFTMAX, (int[]){x, mask}, 2, X->ndim, X->shape);
    grad_from_first_input(g, id);
    return id;
}

static int check_feature_param(sbt_graph *g, const char *op, int p, int64_t features) {
    const sbt_node *P = node_or_null(g, p);
    if (!P) return valid_inputs(g, &p, 1);
    if (P->size != features)
        return build_error(g, SBT_ERR_SHAPE, "%s: parameter of %lld values, expected %lld", op,
                           (long long)P->size, (long long)features),
               0;
    return 1;
}

int sbt_layernorm(sbt_graph *g, int x, int gamma, int beta, float eps) {
    const sbt_node *X = node_or_null(g, x);
    if (!X) return invalid_input(g, &x, 1);
    if (!check_feature_param(g, "LayerNorm", gamma, last_dim(X)) ||
        !check_feature_param(g, "LayerNorm", beta, last_dim(X)))
        return -1;
    int id = push_node(g, SBT_OP_LAYERNORM, (int[]){x, gamma, beta}, 3, X->ndim, X->shape);
    if (id >= 0) g->nodes[id].attr.layernorm.eps = eps;
    return id;
}

int sbt_batchnorm(sbt_graph *g, int x, int gamma, int beta, int row_mask, float eps, float momentum,
                  float *running_mean, float *running_var) {
    const sbt_node *X = node_or_null(g, x);
    if (!X) return invalid_input(g, &x, 1);
    if (!running_mean || !running_var)
        return build_error(g, SBT_ERR_ARG, "BatchNorm: running statistics missing");
    if (!check_feature_param(g, "BatchNorm", gamma, last_dim(X)) ||
        !check_feature_param(g, "BatchNorm", beta, last_dim(X)))
        return -1;
    int inputs[4] = {x, gamma, beta, row_mask};
    if (row_mask >= 0) {
        const sbt_node *M = node_or_null(g, row_mask);
        if (!M) return invalid_input(g, &row_mask, 1);
        if (M->size != rows_of(X))
            return build_error(g, SBT_ERR_SHAPE, "BatchNorm: row mask of %lld values, expected %lld",
                               (long long)M->size, (long long)rows_of(X));
    }
    int id = push_node(g, SBT_OP_BATCHNORM, inputs, row_mask >= 0 ? 4 : 3, X->ndim, X->shape);
    if (id >= 0) {
        sbt_node *n = &g->nodes[id];
        n->attr.batchnorm.eps = eps;
        n->attr.batchnorm.momentum = momentum;
        n->attr.batchnorm.running_mean = running_mean;
        n->attr.batchnorm.running_var = running_var;
    }
    return id;
}

int sbt_mean(sbt_graph *g, int x, int axis) {
    const sbt_node *X = node_or_null(g, x);
    if (!X) return invalid_input(g, &x, 1);
    if (axis < 0 || axis >= X->ndim)
        return build_error(g, SBT_ERR_ARG, "Mean: axis %d of rank %d", axis, X->ndim);
    int64_t shape[SBT_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < X->ndim; i++)
        if (i != axis) shape[nd++] = X->shape[i];
    if (nd == 0) shape[nd++] = 1;
    int id = push_node(g, SBT_OP_MEAN, &x, 1, nd, shape);
    if (id >= 0) g->nodes[id].attr.axis.axis = axis;
    return id;
}

int sbt_masked_mean(sbt_graph *g, int x, int mask) {
    const sbt_node *X = node_or_null(g, x), *M = node_or_null(g, mask);
    if (!X || !M) return invalid_input(g, (int[]){x, mask}, 2);
    if (X->ndim < 2 || M->size != X->shape[0] * X->shape[1])
        return build_error(g, SBT_ERR_SHAPE, "MaskedMean: mask must have (B, T) = the first two axes of x");
    int64_t shape[SBT_MAX_DIMS];
    int nd = 0;
    shape[nd++] = X->shape[0];
    for (int i = 2; i < X->ndim; i++) shape[nd++] = X->shape[i];
    int id = push_node(g, SBT_OP_MASKED_MEAN, (int[]){x, mask}, 2, nd, shape);
    grad_from_first_input(g, id);
    return id;
}

int sbt_dropout(sbt_graph *g, int x, float p, uint64_t seed) {
    if (!(p >= 0.0f && p < 1.0f)) return build_error(g, SBT_ERR_ARG, "Dropout: p = %g outside [0, 1)", p);
    int id = unary(g, SBT_OP_DROPOUT, x);
    if (id >= 0) {
        g->nodes[id].attr.dropout.p = p;
        g->nodes[id].attr.dropout.seed = seed;
    }
    return id;
}

int sbt_cross_entropy(sbt_graph *g, int logits, int labels) {
    const sbt_node *L = node_or_null(g, logits), *Y = node_or_null(g, labels);
    if (!L || !Y) return invalid_input(g, (int[]){logits, labels}, 2);
    if (L->ndim != 2 || Y->size != L->shape[0])
        return build_error(g, SBT_ERR_SHAPE, "CrossEntropy: logits must be (N, K) and labels (N)");
    int id = push_node(g, SBT_OP_CROSS_ENTROPY, (int[]){logits, labels}, 2, 1, (int64_t[]){1});
    grad_from_first_input(g, id);
    return id;
}

int sbt_mse(sbt_graph *g, int a, int b) {
    const sbt_node *A = node_or_null(g, a), *B = node_or_null(g, b);
    if (!A || !B) return invalid_input(g, (int[]){a, b}, 2);
    if (A->size != B->size)
        return build_error(g, SBT_ERR_SHAPE, "MSE: %lld vs %lld elements", (long long)A->size,
                           (long long)B->size);
    return push_node(g, SBT_OP_MSE, (int[]){a, b}, 2, 1, (int64_t[]){1});
}

int sbt_biprop_weight(sbt_graph *g, int scores, int weight, float keep, int per_row_alpha) {
    const sbt_node *S = node_or_null(g, scores), *W = node_or_null(g, weight);
    if (!S || !W) return invalid_input(g, (int[]){scores, weight}, 2);
    char s1[64], s2[64];
    if (S->ndim != 2 || W->ndim != 2 || S->shape[0] != W->shape[0] || S->shape[1] != W->shape[1])
        return build_error(g, SBT_ERR_SHAPE, "Biprop: scores %s and weight %s must be the same 2-D shape",
                           fmt_shape(S, s1), fmt_shape(W, s2));
    if (!(keep > 0.0f && keep <= 1.0f))
        return build_error(g, SBT_ERR_ARG, "Biprop: keep = %g outside (0, 1]", keep);
    if (S->size > INT32_MAX)
        return build_error(g, SBT_ERR_SHAPE, "Biprop: layer of %lld weights is too large",
                           (long long)S->size);
    int id = push_node(g, SBT_OP_BIPROP, (int[]){scores, weight}, 2, 2, S->shape);
    grad_from_first_input(g, id);
    if (id >= 0) {
        g->nodes[id].attr.biprop.keep = keep;
        g->nodes[id].attr.biprop.per_row_alpha = per_row_alpha;
    }
    return id;
}

/* q, k, v of one (B, h, T, d_head) shape, except that q has `q_steps` steps (the last
 * step only, or all of them); 0 after recording a shape error. */
static int step_t_shapes_ok(sbt_graph *g, const char *op, const sbt_node *Q, const sbt_node *K,
                            const sbt_node *V, int64_t q_steps) {
    int same = Q->ndim == 4 && K->ndim == 4 && V->ndim == 4 && Q->shape[2] == q_steps;
    for (int i = 0; same && i < 4; i++)
        same = K->shape[i] == V->shape[i] && (i == 2 || Q->shape[i] == K->shape[i]);
    if (same) return 1;
    char s1[64], s2[64];
    build_error(g, SBT_ERR_SHAPE, "%s: q %s, k %s: expected (B, h, %s, d_head) and (B, h, T, d_head), v as k",
                op, fmt_shape(Q, s1), fmt_shape(K, s2), q_steps == 1 ? "1" : "T");
    return 0;
}

static int step_t_node(sbt_graph *g, sbt_op op, int q, int k, int v, int include_last) {
    const sbt_node *Q = node_or_null(g, q), *K = node_or_null(g, k), *V = node_or_null(g, v);
    if (!Q || !K || !V) return invalid_input(g, (int[]){q, k, v}, 3);
    int64_t q_steps = op == SBT_OP_STEP_T_LAST ? 1 : K->shape[2];
    if (!step_t_shapes_ok(g, OPS[op].name, Q, K, V, q_steps)) return -1;
    int id = push_node(g, op, (int[]){q, k, v}, 3, 4, Q->shape);
    if (id >= 0) g->nodes[id].attr.step_t.include_last = include_last;
    return id;
}

int sbt_step_t_attention(sbt_graph *g, int q, int k, int v, int include_last) {
    return step_t_node(g, SBT_OP_STEP_T, q, k, v, include_last);
}

int sbt_step_t_attention_last(sbt_graph *g, int q, int k, int v, int include_last) {
    return step_t_node(g, SBT_OP_STEP_T_LAST, q, k, v, include_last);
}

/* Forward state each op keeps for its backward, in floats. */
static int64_t saved_floats(const sbt_graph *g, const sbt_node *n) {
    const sbt_node *x = n->n_inputs ? &g->nodes[n->inputs[0]] : NULL;
    switch (n->op) {
    case SBT_OP_LAYERNORM: return 2 * rows_of(n);
    case SBT_OP_BATCHNORM: return 2 * last_dim(n);
    case SBT_OP_DROPOUT: return n->size;
    case SBT_OP_CROSS_ENTROPY: return x->size;
    case SBT_OP_STEP_T: return n->size / n->shape[3]; /* the last query's probabilities */
    case SBT_OP_STEP_T_LAST: return g->nodes[n->inputs[1]].size / n->shape[3]; /* the same, over k's steps */
    case SBT_OP_BIPROP: return 2 * n->size; /* mask, then the selection's int32 scratch */
    default: return 0;
    }
}

sbt_status sbt_graph_finalize(sbt_graph *g) {
    if (g->status != SBT_OK) return sbt_fail(g->status, "%s", g->error);
    if (g->finalized) return SBT_OK;
    for (int i = 0; i < g->count; i++) {
        sbt_node *n = &g->nodes[i];
        n->value_alias = n->op == SBT_OP_RESHAPE;
        if (n->op != SBT_OP_PARAM && !n->value_alias)
            n->value_off = (int64_t)sbt_arena_reserve(&g->arena, (size_t)n->size);
        if (n->needs_grad && !n->grad_external && !n->value_alias)
            n->grad_off = (int64_t)sbt_arena_reserve(&g->arena, (size_t)n->size);
        n->saved_size = saved_floats(g, n);
        if (n->saved_size) n->saved_off = (int64_t)sbt_arena_reserve(&g->arena, (size_t)n->saved_size);
    }
    sbt_status st = sbt_arena_commit(&g->arena);
    if (st != SBT_OK) return st;
    for (int i = 0; i < g->count; i++) {
        sbt_node *n = &g->nodes[i];
        if (n->value_alias) {
            /* A reshape shares its input's buffers: no copy forward or backward. */
            n->value = g->nodes[n->inputs[0]].value;
            n->grad = g->nodes[n->inputs[0]].grad;
            continue;
        }
        if (n->op != SBT_OP_PARAM) n->value = sbt_arena_at(&g->arena, (size_t)n->value_off);
        if (n->needs_grad && !n->grad_external) n->grad = sbt_arena_at(&g->arena, (size_t)n->grad_off);
        if (n->saved_size) n->saved = sbt_arena_at(&g->arena, (size_t)n->saved_off);
    }
    g->finalized = 1;
    return SBT_OK;
}

sbt_status sbt_graph_forward_until(sbt_graph *g, int training, int last) {
    if (!g->finalized) return sbt_fail(SBT_ERR_ARG, "graph: forward before finalize");
    g->training = training;
    if (last < 0 || last >= g->count) last = g->count - 1;
    for (int i = 0; i <= last; i++) {
        sbt_node *n = &g->nodes[i];
        if (!OPS[n->op].forward) continue;
        sbt_status st = OPS[n->op].forward(g, n);
        if (st != SBT_OK) return st;
    }
    return SBT_OK;
}

sbt_status sbt_graph_forward(sbt_graph *g, int training) {
    return sbt_graph_forward_until(g, training, g->count - 1);
}

sbt_status sbt_graph_backward(sbt_graph *g, int loss) {
    if (!g->finalized) return sbt_fail(SBT_ERR_ARG, "graph: backward before finalize");
    if (loss < 0 || loss >= g->count || g->nodes[loss].size != 1)
        return sbt_fail(SBT_ERR_ARG, "graph: backward needs a scalar loss node");
    for (int i = 0; i < g->count; i++) {
        sbt_node *n = &g->nodes[i];
        if (n->grad && !n->grad_external && !n->value_alias)
            memset(n->grad, 0, (size_t)n->size * sizeof(float));
    }
    sbt_node *l = &g->nodes[loss];
    if (!l->grad) return SBT_OK; /* nothing trainable reaches the loss */
    l->grad[0] += 1.0f;
    for (int i = loss; i >= 0; i--) {
        sbt_node *n = &g->nodes[i];
        if (!n->grad || !OPS[n->op].backward) continue;
        sbt_status st = OPS[n->op].backward(g, n);
        if (st != SBT_OK) return st;
    }
    return SBT_OK;
}

void sbt_graph_set_step(sbt_graph *g, uint64_t step) { g->step = step; }
int sbt_graph_count(const sbt_graph *g) { return g->count; }

static const sbt_node *node_at(const sbt_graph *g, int id) {
    return g && id >= 0 && id < g->count ? &g->nodes[id] : NULL;
}

sbt_op sbt_node_op(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->op : SBT_OP_COUNT;
}

const char *sbt_node_name(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->name : NULL;
}

int sbt_node_input_count(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->n_inputs : 0;
}

int sbt_node_input(const sbt_graph *g, int id, int i) {
    const sbt_node *n = node_at(g, id);
    return n && i >= 0 && i < n->n_inputs ? n->inputs[i] : -1;
}

int sbt_node_ndim(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->ndim : 0;
}

int64_t sbt_node_dim(const sbt_graph *g, int id, int axis) {
    const sbt_node *n = node_at(g, id);
    if (!n) return -1;
    if (axis < 0) axis += n->ndim;
    return axis >= 0 && axis < n->ndim ? n->shape[axis] : -1;
}

int64_t sbt_node_size(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->size : -1;
}

sbt_dtype sbt_node_dtype(const sbt_graph *g, int id) {
    (void)node_at(g, id);
    return SBT_DTYPE_F32;
}

const sbt_attr *sbt_node_attr(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? &n->attr : NULL;
}

int sbt_graph_find(const sbt_graph *g, const char *name) {
    for (int i = 0; g && name && i < g->count; i++)
        if (!strcmp(g->nodes[i].name, name)) return i;
    return -1;
}
float *sbt_graph_value(sbt_graph *g, int id) { return id >= 0 && id < g->count ? g->nodes[id].value : NULL; }
float *sbt_graph_grad(sbt_graph *g, int id) { return id >= 0 && id < g->count ? g->nodes[id].grad : NULL; }
size_t sbt_graph_arena_bytes(const sbt_graph *g) { return g->arena.capacity * sizeof(float); }
