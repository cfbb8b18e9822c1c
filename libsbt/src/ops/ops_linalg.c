/* MatMul and Linear: every product goes through OpenBLAS's sgemm. */
#include <cblas.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "sbt/kernels.h"

/* C = op(A) op(B) per batch; the batch dimensions broadcast (NumPy), so each operand has
 * a stride per output batch axis (0 where it is broadcast). */
typedef struct {
    int64_t batch, m, n, k;
    int batch_dims;
    int64_t out_batch[SBT_MAX_DIMS], a_stride[SBT_MAX_DIMS], b_stride[SBT_MAX_DIMS];
} matmul_dims;

/* Strides of x's batch axes against the output's (x's matrix is the last two axes). */
static void batch_strides(const sbt_node *x, const matmul_dims *d, int64_t *stride) {
    int64_t s = x->shape[x->ndim - 2] * x->shape[x->ndim - 1];
    for (int i = d->batch_dims - 1; i >= 0; i--) {
        int xi = x->ndim - 2 - (d->batch_dims - i);
        int64_t dim = xi >= 0 ? x->shape[xi] : 1;
        stride[i] = dim == d->out_batch[i] && dim != 1 ? s : 0;
        s *= dim;
    }
}

static matmul_dims matmul_dims_of(const sbt_node *c, const sbt_node *a, const sbt_node *b) {
    matmul_dims d;
    d.m = c->shape[c->ndim - 2];
    d.n = c->shape[c->ndim - 1];
    d.k = a->shape[a->ndim - (c->attr.matmul.trans_a ? 2 : 1)];
    d.batch = c->size / (d.m * d.n);
    d.batch_dims = c->ndim - 2;
    for (int i = 0; i < d.batch_dims; i++) d.out_batch[i] = c->shape[i];
    batch_strides(a, &d, d.a_stride);
    batch_strides(b, &d, d.b_stride);
    return d;
}

/* Offsets of batch `i`'s matrices in a and b. */
static void batch_offsets(const matmul_dims *d, int64_t i, int64_t *a_off, int64_t *b_off) {
    *a_off = *b_off = 0;
    for (int ax = d->batch_dims - 1; ax >= 0; ax--) {
        int64_t coord = i % d->out_batch[ax];
        i /= d->out_batch[ax];
        *a_off += coord * d->a_stride[ax];
        *b_off += coord * d->b_stride[ax];
    }
}

static void gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                 int64_t ldb, float beta, float *c, int64_t ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, 1.0f, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

sbt_status sbt_fwd_matmul(sbt_graph *g, sbt_node *n) {
    const sbt_node *a = in_node(g, n, 0), *b = in_node(g, n, 1);
    matmul_dims d = matmul_dims_of(n, a, b);
    int ta = n->attr.matmul.trans_a, tb = n->attr.matmul.trans_b;
    int64_t lda = ta ? d.m : d.k, ldb = tb ? d.k : d.n;
    for (int64_t i = 0; i < d.batch; i++) {
        int64_t ao, bo;
        batch_offsets(&d, i, &ao, &bo);
        gemm(ta, tb, d.m, d.n, d.k, a->value + ao, lda, b->value + bo, ldb, 0.0f, n->value + i * d.m * d.n,
             d.n);
    }
    return SBT_OK;
}

/* With C = op(A) op(B): dop(A) = dC op(B)^T and dop(B) = op(A)^T dC; each case below
 * writes that product directly in A's (or B's) stored layout. A broadcast operand sums
 * over the batches it serves, so the loops stay serial for determinism. */
sbt_status sbt_bwd_matmul(sbt_graph *g, sbt_node *n) {
    sbt_node *a = in_node(g, n, 0), *b = in_node(g, n, 1);
    matmul_dims d = matmul_dims_of(n, a, b);
    int ta = n->attr.matmul.trans_a, tb = n->attr.matmul.trans_b;
    int64_t lda = ta ? d.m : d.k, ldb = tb ? d.k : d.n;
    for (int64_t i = 0; i < d.batch; i++) {
        int64_t ao, bo;
        batch_offsets(&d, i, &ao, &bo);
        const float *dc = n->grad + i * d.m * d.n;
        if (a->grad) {
            if (!ta)
                gemm(0, !tb, d.m, d.k, d.n, dc, d.n, b->value + bo, ldb, 1.0f, a->grad + ao, lda);
            else
                gemm(tb, 1, d.k, d.m, d.n, b->value + bo, ldb, dc, d.n, 1.0f, a->grad + ao, lda);
        }
        if (b->grad) {
            if (!tb)
                gemm(!ta, 0, d.k, d.n, d.m, a->value + ao, lda, dc, d.n, 1.0f, b->grad + bo, ldb);
            else
                gemm(1, ta, d.n, d.k, d.m, dc, d.n, a->value + ao, lda, 1.0f, b->grad + bo, ldb);
        }
    }
    return SBT_OK;
}

/* A frozen ternary weight runs on its prepared kernel (add/sub only); the rest on sgemm. */
sbt_status sbt_fwd_linear(sbt_graph *g, sbt_node *n) {
    const sbt_node *x = in_node(g, n, 0), *w = in_node(g, n, 1);
    int64_t out = w->shape[0], in = w->shape[1], rows = x->size / in;
    if (w->blob && w->blob->ternary)
        return sbt_ternary_matmul(w->blob->ternary, (sbt_act)w->blob->ternary_act, SBT_PATH_AUTO, x->value,
                                  rows, n->n_inputs == 3 ? in_node(g, n, 2)->value : NULL, n->value,
                                  n->scratch);
    if (n->n_inputs == 3) {
        const float *bias = in_node(g, n, 2)->value;
        for (int64_t r = 0; r < rows; r++) memcpy(n->value + r * out, bias, (size_t)out * sizeof(float));
    }
    gemm(0, 1, rows, out, in, x->value, in, w->value, in, n->n_inputs == 3 ? 1.0f : 0.0f, n->value, out);
    return SBT_OK;
}

sbt_status sbt_bwd_linear(sbt_graph *g, sbt_node *n) {
    sbt_node *x = in_node(g, n, 0), *w = in_node(g, n, 1);
    int64_t out = w->shape[0], in = w->shape[1], rows = x->size / in;
    if (x->grad) gemm(0, 0, rows, in, out, n->grad, out, w->value, in, 1.0f, x->grad, in);
    if (w->grad) gemm(1, 0, out, in, rows, n->grad, out, x->value, in, 1.0f, w->grad, in);
    if (n->n_inputs == 3 && in_node(g, n, 2)->grad) {
        float *db = in_node(g, n, 2)->grad;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t o = 0; o < out; o++) db[o] += n->grad[r * out + o];
    }
    return SBT_OK;
}
