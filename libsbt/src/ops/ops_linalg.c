/* MatMul and Linear: every product goes through OpenBLAS's sgemm. */
#include <cblas.h>
#include <string.h>

#include "graph/graph_internal.h"

typedef struct {
    int64_t batch, m, n, k;
    int64_t a_stride, b_stride, c_stride; /* b_stride 0: b shared by every batch */
} matmul_dims;

static matmul_dims matmul_dims_of(const sbt_node *c, const sbt_node *a, const sbt_node *b) {
    matmul_dims d;
    d.m = c->shape[c->ndim - 2];
    d.n = c->shape[c->ndim - 1];
    d.k = a->shape[a->ndim - (c->attr.matmul.trans_a ? 2 : 1)];
    d.batch = c->size / (d.m * d.n);
    d.a_stride = d.m * d.k;
    d.b_stride = b->ndim == 2 ? 0 : d.k * d.n;
    d.c_stride = d.m * d.n;
    return d;
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
    for (int64_t i = 0; i < d.batch; i++)
        gemm(ta, tb, d.m, d.n, d.k, a->value + i * d.a_stride, lda, b->value + i * d.b_stride, ldb, 0.0f,
             n->value + i * d.c_stride, d.n);
    return SBT_OK;
}

/* With C = op(A) op(B): dop(A) = dC op(B)^T and dop(B) = op(A)^T dC; each case below
 * writes that product directly in A's (or B's) stored layout. */
sbt_status sbt_bwd_matmul(sbt_graph *g, sbt_node *n) {
    sbt_node *a = in_node(g, n, 0), *b = in_node(g, n, 1);
    matmul_dims d = matmul_dims_of(n, a, b);
    int ta = n->attr.matmul.trans_a, tb = n->attr.matmul.trans_b;
    int64_t lda = ta ? d.m : d.k, ldb = tb ? d.k : d.n;
    if (a->grad) {
        for (int64_t i = 0; i < d.batch; i++) {
            const float *dc = n->grad + i * d.c_stride, *bv = b->value + i * d.b_stride;
            float *da = a->grad + i * d.a_stride;
            if (!ta)
                gemm(0, !tb, d.m, d.k, d.n, dc, d.n, bv, ldb, 1.0f, da, lda);
            else
                gemm(tb, 1, d.k, d.m, d.n, bv, ldb, dc, d.n, 1.0f, da, lda);
        }
    }
    if (b->grad) {
        /* A shared 2-D b sums over the batch, so the loop stays serial for determinism. */
        for (int64_t i = 0; i < d.batch; i++) {
            const float *dc = n->grad + i * d.c_stride, *av = a->value + i * d.a_stride;
            float *db = b->grad + i * d.b_stride;
            if (!tb)
                gemm(!ta, 0, d.k, d.n, d.m, av, lda, dc, d.n, 1.0f, db, ldb);
            else
                gemm(1, ta, d.n, d.k, d.m, dc, d.n, av, lda, 1.0f, db, ldb);
        }
    }
    return SBT_OK;
}

sbt_status sbt_fwd_linear(sbt_graph *g, sbt_node *n) {
    const sbt_node *x = in_node(g, n, 0), *w = in_node(g, n, 1);
    int64_t out = w->shape[0], in = w->shape[1], rows = x->size / in;
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
