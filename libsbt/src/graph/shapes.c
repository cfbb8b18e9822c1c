/* One shape rule per op: checks a new node's inputs and attributes, and gives its shape
 * and dtype under the graph's current binding of batch and length. The generic
 * constructor (graph.c) calls these; so does instantiation, which replays a description
 * under another binding. */
#include <stdio.h>
#include <string.h>

#include "graph/graph_internal.h"

static const char *fmt_shape(const sbt_node *n, char *buf) {
    return sbt_shape_format(n->ndim, n->shape, buf, 64);
}

static void set_shape(sbt_node *out, int ndim, const int64_t *shape) {
    out->ndim = ndim;
    memmove(out->shape, shape, (size_t)ndim * sizeof *shape);
}

static int need_inputs(sbt_graph *g, const sbt_node *out, int n_in, int lo, int hi) {
    if (n_in >= lo && n_in <= hi) return 0;
    return sbt_graph_error(g, SBT_ERR_ARG, "%s: %d inputs, expected %d..%d", sbt_op_name(out->op), n_in, lo,
                           hi);
}

static int need_f32(sbt_graph *g, const sbt_node *out, const sbt_node *x) {
    if (x->dtype == SBT_DTYPE_F32) return 0;
    return sbt_graph_error(g, SBT_ERR_ARG, "%s: input '%s' is %s, expected f32", sbt_op_name(out->op),
                           x->name, sbt_dtype_name(x->dtype));
}

int sbt_broadcast_shape(const sbt_node *a, const sbt_node *b, int *ndim, int64_t *shape) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < nd; i++) {
        int ia = a->ndim - nd + i, ib = b->ndim - nd + i;
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) return 0;
        shape[i] = da == 1 ? db : da;
    }
    *ndim = nd;
    return 1;
}

static int shape_binary(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 2, 2) || need_f32(g, out, in[0]) || need_f32(g, out, in[1])) return -1;
    int64_t shape[SBT_MAX_DIMS];
    int nd;
    if (!sbt_broadcast_shape(in[0], in[1], &nd, shape)) {
        char s1[64], s2[64];
        return sbt_graph_error(g, SBT_ERR_SHAPE, "%s: %s and %s do not broadcast", sbt_op_name(out->op),
                               fmt_shape(in[0], s1), fmt_shape(in[1], s2));
    }
    set_shape(out, nd, shape);
    return 0;
}

static int shape_unary(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 1, 1) || need_f32(g, out, in[0])) return -1;
    set_shape(out, in[0]->ndim, in[0]->shape);
    return 0;
}

static int shape_dropout(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    float p = out->attr.dropout.p;
    if (!(p >= 0.0f && p < 1.0f)) return sbt_graph_error(g, SBT_ERR_ARG, "Dropout: p = %g outside [0, 1)", p);
    return shape_unary(g, out, in, n_in);
}

/* (..., m, k) @ (..., k, n) with NumPy broadcasting of the leading (batch) dimensions. */
static int shape_matmul(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 2, 2)) return -1;
    const sbt_node *A = in[0], *B = in[1];
    int ta = out->attr.matmul.trans_a, tb = out->attr.matmul.trans_b;
    char s1[64], s2[64];
    if (A->ndim < 2 || B->ndim < 2)
        return sbt_graph_error(g, SBT_ERR_SHAPE, "MatMul: shapes %s and %s", fmt_shape(A, s1),
                               fmt_shape(B, s2));
    int64_t m = A->shape[A->ndim - (ta ? 1 : 2)], k = A->shape[A->ndim - (ta ? 2 : 1)];
    int64_t kb = B->shape[B->ndim - (tb ? 1 : 2)], nn = B->shape[B->ndim - (tb ? 2 : 1)];
    sbt_node batch_a = {.ndim = A->ndim - 2}, batch_b = {.ndim = B->ndim - 2};
    memcpy(batch_a.shape, A->shape, sizeof batch_a.shape);
    memcpy(batch_b.shape, B->shape, sizeof batch_b.shape);
    int64_t shape[SBT_MAX_DIMS];
    int nd = 0;
    int batch_ok = sbt_broadcast_shape(&batch_a, &batch_b, &nd, shape);
    if (k != kb || !batch_ok)
        return sbt_graph_error(g, SBT_ERR_SHAPE, "MatMul: shapes %s%s and %s%s do not fit", fmt_shape(A, s1),
                               ta ? "^T" : "", fmt_shape(B, s2), tb ? "^T" : "");
    shape[nd++] = m;
    shape[nd++] = nn;
    set_shape(out, nd, shape);
    return need_f32(g, out, A) || need_f32(g, out, B) ? -1 : 0;
}

static int shape_linear(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 2, 3)) return -1;
    const sbt_node *X = in[0], *W = in[1];
    char s1[64], s2[64];
    if (W->ndim != 2 || X->shape[X->ndim - 1] != W->shape[1])
        return sbt_graph_error(g, SBT_ERR_SHAPE, "Linear: input %s does not fit weight %s (out, in)",
                               fmt_shape(X, s1), fmt_shape(W, s2));
    if (n_in == 3 && in[2]->size != W->shape[0])
        return sbt_graph_error(g, SBT_ERR_SHAPE, "Linear: bias %s, expected (%lld)", fmt_shape(in[2], s1),
                               (long long)W->shape[0]);
    set_shape(out, X->ndim, X->shape);
    out->shape[X->ndim - 1] = W->shape[0];
    return 0;
}

static int shape_transpose(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 1, 1)) return -1;
    const sbt_node *X = in[0];
    int seen[SBT_MAX_DIMS] = {0};
    int64_t shape[SBT_MAX_DIMS];
    for (int i = 0; i < X->ndim; i++) {
        int p = out->attr.transpose.perm[i];
        if (p < 0 || p >= X->ndim || seen[p]++)
            return sbt_graph_error(g, SBT_ERR_ARG, "Transpose: invalid permutation");
        shape[i] = X->shape[p];
    }
    set_shape(out, X->ndim, shape);
    out->dtype = X->dtype;
    return 0;
}

/* Each target dimension resolves under the binding; one literal -1 takes what is left. */
static int shape_reshape(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 1, 1)) return -1;
    const sbt_node *X = in[0];
    int nd = out->attr.reshape.ndim, infer = -1;
    int64_t shape[SBT_MAX_DIMS], known = 1;
    char s1[64], s2[64];
    if (nd < 1 || nd > SBT_MAX_DIMS) return sbt_graph_error(g, SBT_ERR_SHAPE, "Reshape: rank %d", nd);
    for (int i = 0; i < nd; i++) {
        sbt_dim d = out->attr.reshape.shape[i];
        shape[i] = sbt_dim_value(g, d);
        if (d.sym == SBT_SYM_NONE && d.n == -1 && infer < 0) {
            infer = i;
            continue;
        }
        if (shape[i] < 0)
            return sbt_graph_error(g, SBT_ERR_SHAPE, "Reshape: dimension %d is %lld", i, (long long)shape[i]);
        known *= shape[i];
    }
    if (infer >= 0) shape[infer] = known > 0 && X->size % known == 0 ? X->size / known : -1;
    if (sbt_shape_numel(nd, shape) != X->size)
        return sbt_graph_error(g, SBT_ERR_SHAPE, "Reshape: %s to %s changes the size", fmt_shape(X, s1),
                               sbt_shape_format(nd, shape, s2, sizeof s2));
    set_shape(out, nd, shape);
    out->dtype = X->dtype;
    return 0;
}

/* start and end resolve under the binding; negative values count from the end (so a
 * literal -1 is the last step). */
static int shape_slice(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 1, 1)) return -1;
    const sbt_node *X = in[0];
    int axis = out->attr.slice.axis;
    if (axis < 0 || axis >= X->ndim)
        return sbt_graph_error(g, SBT_ERR_ARG, "Slice: axis %d of rank %d", axis, X->ndim);
    int64_t dim = X->shape[axis];
    int64_t start = sbt_dim_value(g, out->attr.slice.start), end = sbt_dim_value(g, out->attr.slice.end);
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (start < 0 || end > dim || start >= end)
        return sbt_graph_error(g, SBT_ERR_ARG, "Slice: [%lld, %lld) on axis %d of %lld is out of range",
                               (long long)start, (long long)end, axis, (long long)dim);
    set_shape(out, X->ndim, X->shape);
    out->shape[axis] = end - start;
    out->dtype = X->dtype;
    return 0;
}

static int shape_concat(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 1, SBT_MAX_INPUTS)) return -1;
    const sbt_node *X0 = in[0];
    int axis = out->attr.axis.axis;
    if (axis < 0 || axis >= X0->ndim) return sbt_graph_error(g, SBT_ERR_ARG, "Concat: axis %d", axis);
    int64_t shape[SBT_MAX_DIMS];
    memcpy(shape, X0->shape, sizeof shape);
    shape[axis] = 0;
    for (int i = 0; i < n_in; i++) {
        const sbt_node *X = in[i];
        int ok = X->ndim == X0->ndim && X->dtype == X0->dtype;
        for (int d = 0; ok && d < X0->ndim; d++) ok = d == axis || X->shape[d] == X0->shape[d];
        if (!ok) return sbt_graph_error(g, SBT_ERR_SHAPE, "Concat: input %d does not match input 0", i);
        shape[axis] += X->shape[axis];
    }
    set_shape(out, X0->ndim, shape);
    out->dtype = X0->dtype;
    return 0;
}

static int shape_gather(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 2, 2)) return -1;
    const sbt_node *T = in[0], *I = in[1];
    if (I->dtype != SBT_DTYPE_I32)
        return sbt_graph_error(g, SBT_ERR_ARG, "Gather: indices '%s' are %s, expected i32", I->name,
                               sbt_dtype_name(I->dtype));
    if (I->ndim + T->ndim - 1 > SBT_MAX_DIMS)
        return sbt_graph_error(g, SBT_ERR_SHAPE, "Gather: result rank too large");
    int64_t shape[SBT_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < I->ndim; i++) shape[nd++] = I->shape[i];
    for (int i = 1; i < T->ndim; i++) shape[nd++] = T->shape[i];
    if (nd == 0) shape[nd++] = 1;
    set_shape(out, nd, shape);
    return need_f32(g, out, T);
}

static int shape_softmax(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 1, 2) || need_f32(g, out, in[0])) return -1;
    const sbt_node *X = in[0];
    if (n_in == 2) {
        const sbt_node *M = in[1];
        int ok = M->ndim == X->ndim;
        for (int i = 0; ok && i < X->ndim; i++) ok = M->shape[i] == 1 || M->shape[i] == X->shape[i];
        if (!ok) {
            char s1[64], s2[64];
            return sbt_graph_error(g, SBT_ERR_SHAPE, "Softmax: mask %s does not broadcast to %s",
                                   fmt_shape(M, s1), fmt_shape(X, s2));
        }
    }
    set_shape(out, X->ndim, X->shape);
    return 0;
}

static int feature_param_ok(sbt_graph *g, const char *op, const sbt_node *p, int64_t features) {
    if (p->size == features) return 1;
    sbt_graph_error(g, SBT_ERR_SHAPE, "%s: '%s' has %lld values, expected %lld", op, p->name,
                    (long long)p->size, (long long)features);
    return 0;
}

static int shape_layernorm(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 3, 3) || need_f32(g, out, in[0])) return -1;
    int64_t f = in[0]->shape[in[0]->ndim - 1];
    if (!feature_param_ok(g, "LayerNorm", in[1], f) || !feature_param_ok(g, "LayerNorm", in[2], f)) return -1;
    set_shape(out, in[0]->ndim, in[0]->shape);
    return 0;
}

/* x, gamma, beta, running mean, running var (state), optional row mask. */
static int shape_batchnorm(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 5, 6) || need_f32(g, out, in[0])) return -1;
    const sbt_node *X = in[0];
    int64_t f = X->shape[X->ndim - 1];
    for (int i = 1; i < 5; i++)
        if (!feature_param_ok(g, "BatchNorm", in[i], f)) return -1;
    if (in[3]->op != SBT_OP_STATE || in[4]->op != SBT_OP_STATE)
        return sbt_graph_error(g, SBT_ERR_ARG, "BatchNorm: running statistics must be state nodes");
    if (n_in == 6 && in[5]->size != X->size / f)
        return sbt_graph_error(g, SBT_ERR_SHAPE, "BatchNorm: row mask of %lld values, expected %lld",
                               (long long)in[5]->size, (long long)(X->size / f));
    set_shape(out, X->ndim, X->shape);
    return 0;
}

static int shape_mean(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 1, 1) || need_f32(g, out, in[0])) return -1;
    const sbt_node *X = in[0];
    int axis = out->attr.axis.axis;
    if (axis < 0 || axis >= X->ndim)
        return sbt_graph_error(g, SBT_ERR_ARG, "Mean: axis %d of rank %d", axis, X->ndim);
    int64_t shape[SBT_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < X->ndim; i++)
        if (i != axis) shape[nd++] = X->shape[i];
    if (nd == 0) shape[nd++] = 1;
    set_shape(out, nd, shape);
    return 0;
}

static int shape_masked_mean(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 2, 2) || need_f32(g, out, in[0])) return -1;
    const sbt_node *X = in[0], *M = in[1];
    if (X->ndim < 2 || M->size != X->shape[0] * X->shape[1])
        return sbt_graph_error(g, SBT_ERR_SHAPE,
                               "MaskedMean: mask must have (B, T) = the first two axes of x");
    int64_t shape[SBT_MAX_DIMS];
    int nd = 0;
    shape[nd++] = X->shape[0];
    for (int i = 2; i < X->ndim; i++) shape[nd++] = X->shape[i];
    set_shape(out, nd, shape);
    return 0;
}

static int shape_cross_entropy(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 2, 2) || need_f32(g, out, in[0])) return -1;
    const sbt_node *L = in[0], *Y = in[1];
    if (L->ndim != 2 || Y->size != L->shape[0])
        return sbt_graph_error(g, SBT_ERR_SHAPE, "CrossEntropy: logits must be (N, K) and labels (N)");
    if (Y->dtype != SBT_DTYPE_I32)
        return sbt_graph_error(g, SBT_ERR_ARG, "CrossEntropy: labels '%s' are %s, expected i32", Y->name,
                               sbt_dtype_name(Y->dtype));
    set_shape(out, 1, (int64_t[]){1});
    return 0;
}

static int shape_mse(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 2, 2)) return -1;
    if (in[0]->size != in[1]->size)
        return sbt_graph_error(g, SBT_ERR_SHAPE, "MSE: %lld vs %lld elements", (long long)in[0]->size,
                               (long long)in[1]->size);
    set_shape(out, 1, (int64_t[]){1});
    return 0;
}

/* scores and weight of one 2-D shape; BINARIZE takes the weight alone. */
static int shape_sparse_weight(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    sbt_sparse_mode mode = out->attr.sparse.mode;
    int binarize = mode == SBT_SPARSE_BINARIZE;
    if (mode < SBT_SPARSE_BIPROP || mode > SBT_SPARSE_BINARIZE)
        return sbt_graph_error(g, SBT_ERR_ARG, "SparseWeight: mode %d", (int)mode);
    if (need_inputs(g, out, n_in, binarize ? 1 : 2, binarize ? 1 : 2)) return -1;
    const sbt_node *W = in[binarize ? 0 : 1], *S = in[0];
    char s1[64], s2[64];
    if (W->ndim != 2 || S->ndim != 2 || S->shape[0] != W->shape[0] || S->shape[1] != W->shape[1])
        return sbt_graph_error(g, SBT_ERR_SHAPE,
                               "SparseWeight: scores %s and weight %s must be the same 2-D shape",
                               fmt_shape(S, s1), fmt_shape(W, s2));
    float keep = out->attr.sparse.keep;
    if (!binarize && !(keep > 0.0f && keep <= 1.0f))
        return sbt_graph_error(g, SBT_ERR_ARG, "SparseWeight: keep = %g outside (0, 1]", keep);
    if (W->size > INT32_MAX)
        return sbt_graph_error(g, SBT_ERR_SHAPE, "SparseWeight: layer of %lld weights is too large",
                               (long long)W->size);
    set_shape(out, 2, W->shape);
    return 0;
}

/* q, k, v of one (B, h, T, d_head) shape, except that q has 1 step for StepTAttentionLast. */
static int shape_step_t(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in) {
    if (need_inputs(g, out, n_in, 3, 3)) return -1;
    const sbt_node *Q = in[0], *K = in[1], *V = in[2];
    int last = out->op == SBT_OP_STEP_T_LAST;
    int same = Q->ndim == 4 && K->ndim == 4 && V->ndim == 4 && Q->shape[2] == (last ? 1 : K->shape[2]);
    for (int i = 0; same && i < 4; i++)
        same = K->shape[i] == V->shape[i] && (i == 2 || Q->shape[i] == K->shape[i]);
    if (!same) {
        char s1[64], s2[64];
        return sbt_graph_error(g, SBT_ERR_SHAPE,
                               "%s: q %s, k %s: expected (B, h, %s, d_head) and (B, h, T, d_head), v as k",
                               sbt_op_name(out->op), fmt_shape(Q, s1), fmt_shape(K, s2), last ? "1" : "T");
    }
    set_shape(out, 4, Q->shape);
    return 0;
}

sbt_shape_fn sbt_shape_rule(sbt_op op) {
    switch (op) {
    case SBT_OP_MATMUL: return shape_matmul;
    case SBT_OP_LINEAR: return shape_linear;
    case SBT_OP_ADD:
    case SBT_OP_SUB:
    case SBT_OP_MUL:
    case SBT_OP_DIV: return shape_binary;
    case SBT_OP_SCALE:
    case SBT_OP_RELU:
    case SBT_OP_GELU:
    case SBT_OP_ERF: return shape_unary;
    case SBT_OP_DROPOUT: return shape_dropout;
    case SBT_OP_TRANSPOSE: return shape_transpose;
    case SBT_OP_RESHAPE: return shape_reshape;
    case SBT_OP_SLICE: return shape_slice;
    case SBT_OP_CONCAT: return shape_concat;
    case SBT_OP_GATHER: return shape_gather;
    case SBT_OP_SOFTMAX: return shape_softmax;
    case SBT_OP_LAYERNORM: return shape_layernorm;
    case SBT_OP_BATCHNORM: return shape_batchnorm;
    case SBT_OP_MEAN: return shape_mean;
    case SBT_OP_MASKED_MEAN: return shape_masked_mean;
    case SBT_OP_CROSS_ENTROPY: return shape_cross_entropy;
    case SBT_OP_MSE: return shape_mse;
    case SBT_OP_SPARSE_WEIGHT: return shape_sparse_weight;
    case SBT_OP_STEP_T:
    case SBT_OP_STEP_T_LAST: return shape_step_t;
    default: return NULL; /* leaves are not built through the generic constructor */
    }
}
