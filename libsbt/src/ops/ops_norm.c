/* Normalising ops: softmax with an additive mask, LayerNorm, BatchNorm. */
#include <math.h>
#include <string.h>

#include "graph/graph_internal.h"

/* Offset of row `r` of x (all axes but the last) in a broadcast mask. */
static int64_t mask_row_offset(const sbt_node *x, const sbt_node *m, int64_t r) {
    int64_t off = 0, stride = m->shape[m->ndim - 1];
    for (int d = x->ndim - 2; d >= 0; d--) {
        int64_t coord = r % x->shape[d];
        r /= x->shape[d];
        if (m->shape[d] != 1) off += coord * stride;
        stride *= m->shape[d];
    }
    return off;
}

sbt_status sbt_fwd_softmax(sbt_graph *g, sbt_node *n) {
    const sbt_node *x = in_node(g, n, 0), *m = n->n_inputs > 1 ? in_node(g, n, 1) : NULL;
    int64_t cols = last_dim(n), rows = rows_of(n);
    int mask_cols = m && last_dim(m) != 1;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x->value + r * cols;
        const float *mr = m ? m->value + mask_row_offset(x, m, r) : NULL;
        float *y = n->value + r * cols, mx = -INFINITY, sum = 0.0f;
        for (int64_t c = 0; c < cols; c++) {
            y[c] = xr[c] + (mr ? mr[mask_cols ? c : 0] : 0.0f);
            mx = y[c] > mx ? y[c] : mx;
        }
        /* blocked entries (mask -1e9) would take libm's slow underflow path: write 0 */
        for (int64_t c = 0; c < cols; c++) {
            float z = y[c] - mx;
            sum += (y[c] = z < -88.0f ? 0.0f : expf(z));
        }
        float inv = 1.0f / sum;
        for (int64_t c = 0; c < cols; c++) y[c] *= inv;
    }
    return SBT_OK;
}

sbt_status sbt_bwd_softmax(sbt_graph *g, sbt_node *n) {
    float *dx = in_node(g, n, 0)->grad;
    int64_t cols = last_dim(n), rows = rows_of(n);
    for (int64_t r = 0; r < rows; r++) {
        const float *y = n->value + r * cols, *dy = n->grad + r * cols;
        float dot = 0.0f;
        for (int64_t c = 0; c < cols; c++) dot += y[c] * dy[c];
        for (int64_t c = 0; c < cols; c++) dx[r * cols + c] += y[c] * (dy[c] - dot);
    }
    return SBT_OK;
}

/* saved = [mean per row, 1/std per row] */
sbt_status sbt_fwd_layernorm(sbt_graph *g, sbt_node *n) {
    const float *x = in_node(g, n, 0)->value, *gamma = in_node(g, n, 1)->value,
                *beta = in_node(g, n, 2)->value;
    int64_t cols = last_dim(n), rows = rows_of(n);
    float *mean = n->saved, *rstd = n->saved + rows;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float mu = 0.0f, var = 0.0f;
        for (int64_t c = 0; c < cols; c++) mu += xr[c];
        mu /= (float)cols;
        for (int64_t c = 0; c < cols; c++) var += (xr[c] - mu) * (xr[c] - mu);
        float rs = 1.0f / sqrtf(var / (float)cols + n->attr.layernorm.eps);
        mean[r] = mu;
        rstd[r] = rs;
        for (int64_t c = 0; c < cols; c++) n->value[r * cols + c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
    }
    return SBT_OK;
}

sbt_status sbt_bwd_layernorm(sbt_graph *g, sbt_node *n) {
    sbt_node *X = in_node(g, n, 0), *G = in_node(g, n, 1), *B = in_node(g, n, 2);
    int64_t cols = last_dim(n), rows = rows_of(n);
    const float *mean = n->saved, *rstd = n->saved + rows;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = X->value + r * cols, *dy = n->grad + r * cols;
        float sum_dxhat = 0.0f, sum_dxhat_xhat = 0.0f;
        for (int64_t c = 0; c < cols; c++) {
            float xhat = (xr[c] - mean[r]) * rstd[r], dxhat = dy[c] * G->value[c];
            sum_dxhat += dxhat;
            sum_dxhat_xhat += dxhat * xhat;
            if (G->grad) G->grad[c] += dy[c] * xhat;
            if (B->grad) B->grad[c] += dy[c];
        }
        if (!X->grad) continue;
        for (int64_t c = 0; c < cols; c++) {
            float xhat = (xr[c] - mean[r]) * rstd[r], dxhat = dy[c] * G->value[c];
            X->grad[r * cols + c] += rstd[r] * (dxhat - (sum_dxhat + xhat * sum_dxhat_xhat) / (float)cols);
        }
    }
    return SBT_OK;
}

static int row_counts(const sbt_node *mask, int64_t r) { return !mask || mask->value[r] != 0.0f; }

/* Batch statistics over the valid rows, and the running-statistics update. */
static void batchnorm_batch_stats(sbt_node *n, const float *x, const sbt_node *mask, float *running_mean,
                                  float *running_var) {
    int64_t f_count = last_dim(n), rows = rows_of(n);
    float *mean = n->saved, *rstd = n->saved + f_count;
    double valid = 0.0;
    memset(mean, 0, (size_t)(2 * f_count) * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        if (!row_counts(mask, r)) continue;
        valid += 1.0;
        for (int64_t f = 0; f < f_count; f++) mean[f] += x[r * f_count + f];
    }
    if (valid == 0.0) valid = 1.0;
    for (int64_t f = 0; f < f_count; f++) mean[f] /= (float)valid;
    for (int64_t r = 0; r < rows; r++) {
        if (!row_counts(mask, r)) continue;
        for (int64_t f = 0; f < f_count; f++) {
            float d = x[r * f_count + f] - mean[f];
            rstd[f] += d * d; /* sum of squares for now */
        }
    }
    float m = n->attr.batchnorm.momentum;
    for (int64_t f = 0; f < f_count; f++) {
        float var = rstd[f] / (float)valid;
        float unbiased = valid > 1.0 ? rstd[f] / (float)(valid - 1.0) : var;
        running_mean[f] = (1.0f - m) * running_mean[f] + m * mean[f];
        running_var[f] = (1.0f - m) * running_var[f] + m * unbiased;
        rstd[f] = 1.0f / sqrtf(var + n->attr.batchnorm.eps);
    }
}

/* Inputs: x, gamma, beta, running mean and variance (state), optional row mask.
 * saved = [mean per feature, 1/std per feature] as used for normalising. */
sbt_status sbt_fwd_batchnorm(sbt_graph *g, sbt_node *n) {
    const float *x = in_node(g, n, 0)->value, *gamma = in_node(g, n, 1)->value,
                *beta = in_node(g, n, 2)->value;
    float *running_mean = in_node(g, n, 3)->value, *running_var = in_node(g, n, 4)->value;
    const sbt_node *mask = n->n_inputs > 5 ? in_node(g, n, 5) : NULL;
    int64_t f_count = last_dim(n), rows = rows_of(n);
    float *mean = n->saved, *rstd = n->saved + f_count;
    if (g->training) {
        batchnorm_batch_stats(n, x, mask, running_mean, running_var);
    } else {
        for (int64_t f = 0; f < f_count; f++) {
            mean[f] = running_mean[f];
            rstd[f] = 1.0f / sqrtf(running_var[f] + n->attr.batchnorm.eps);
        }
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t f = 0; f < f_count; f++)
            n->value[r * f_count + f] = (x[r * f_count + f] - mean[f]) * rstd[f] * gamma[f] + beta[f];
    return SBT_OK;
}

/* Training mode: with V the valid rows and sums over all rows j (padded rows' outputs
 * also depend on the statistics),
 *   dx_i = gamma * rstd * (dy_i - [i in V] / |V| * (sum_j dy_j + xhat_i * sum_j dy_j xhat_j)).
 * Eval mode: the statistics are constants, dx_i = gamma * rstd * dy_i. */
sbt_status sbt_bwd_batchnorm(sbt_graph *g, sbt_node *n) {
    sbt_node *X = in_node(g, n, 0), *G = in_node(g, n, 1), *B = in_node(g, n, 2);
    const sbt_node *mask = n->n_inputs > 5 ? in_node(g, n, 5) : NULL;
    int64_t f_count = last_dim(n), rows = rows_of(n);
    const float *mean = n->saved, *rstd = n->saved + f_count;
    float sum_dy[f_count], sum_dy_xhat[f_count];
    memset(sum_dy, 0, sizeof sum_dy);
    memset(sum_dy_xhat, 0, sizeof sum_dy_xhat);
    double valid = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        valid += row_counts(mask, r);
        for (int64_t f = 0; f < f_count; f++) {
            float dy = n->grad[r * f_count + f], xhat = (X->value[r * f_count + f] - mean[f]) * rstd[f];
            sum_dy[f] += dy;
            sum_dy_xhat[f] += dy * xhat;
        }
    }
    for (int64_t f = 0; f < f_count; f++) {
        if (G->grad) G->grad[f] += sum_dy_xhat[f];
        if (B->grad) B->grad[f] += sum_dy[f];
    }
    if (!X->grad) return SBT_OK;
    float inv_valid = valid > 0.0 ? (float)(1.0 / valid) : 0.0f;
    for (int64_t r = 0; r < rows; r++) {
        int counts = g->training && row_counts(mask, r);
        for (int64_t f = 0; f < f_count; f++) {
            int64_t i = r * f_count + f;
            float dy = n->grad[i], xhat = (X->value[i] - mean[f]) * rstd[f];
            if (counts) dy -= inv_valid * (sum_dy[f] + xhat * sum_dy_xhat[f]);
            X->grad[i] += G->value[f] * rstd[f] * dy;
        }
    }
    return SBT_OK;
}
