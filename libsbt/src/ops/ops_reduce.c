/* Reductions and losses: mean over an axis, masked mean over time, cross-entropy, MSE. */
#include <math.h>

#include "graph/graph_internal.h"

static void axis_split(const sbt_node *x, int axis, int64_t *outer, int64_t *len, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    *len = x->shape[axis];
    for (int i = 0; i < axis; i++) *outer *= x->shape[i];
    for (int i = axis + 1; i < x->ndim; i++) *inner *= x->shape[i];
}

sbt_status sbt_fwd_mean(sbt_graph *g, sbt_node *n) {
    const sbt_node *x = in_node(g, n, 0);
    int64_t outer, len, inner;
    axis_split(x, n->attr.axis.axis, &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            float s = 0.0f;
            for (int64_t t = 0; t < len; t++) s += x->value[(o * len + t) * inner + i];
            n->value[o * inner + i] = s / (float)len;
        }
    return SBT_OK;
}

sbt_status sbt_bwd_mean(sbt_graph *g, sbt_node *n) {
    sbt_node *x = in_node(g, n, 0);
    int64_t outer, len, inner;
    axis_split(x, n->attr.axis.axis, &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t t = 0; t < len; t++)
            for (int64_t i = 0; i < inner; i++)
                x->grad[(o * len + t) * inner + i] += n->grad[o * inner + i] / (float)len;
    return SBT_OK;
}

/* 1 / (number of valid steps of case b), 0 for a case with none. */
static float inv_valid_steps(const float *mask, int64_t steps) {
    float count = 0.0f;
    for (int64_t t = 0; t < steps; t++) count += mask[t] != 0.0f;
    return count > 0.0f ? 1.0f / count : 0.0f;
}

sbt_status sbt_fwd_masked_mean(sbt_graph *g, sbt_node *n) {
    const sbt_node *x = in_node(g, n, 0), *m = in_node(g, n, 1);
    int64_t batch = x->shape[0], steps = x->shape[1], inner = x->size / (batch * steps);
    for (int64_t b = 0; b < batch; b++) {
        const float *mb = m->value + b * steps;
        float inv = inv_valid_steps(mb, steps), *y = n->value + b * inner;
        for (int64_t i = 0; i < inner; i++) y[i] = 0.0f;
        for (int64_t t = 0; t < steps; t++) {
            if (mb[t] == 0.0f) continue;
            const float *xt = x->value + (b * steps + t) * inner;
            for (int64_t i = 0; i < inner; i++) y[i] += xt[i];
        }
        for (int64_t i = 0; i < inner; i++) y[i] *= inv;
    }
    return SBT_OK;
}

sbt_status sbt_bwd_masked_mean(sbt_graph *g, sbt_node *n) {
    sbt_node *x = in_node(g, n, 0);
    const sbt_node *m = in_node(g, n, 1);
    int64_t batch = x->shape[0], steps = x->shape[1], inner = x->size / (batch * steps);
    for (int64_t b = 0; b < batch; b++) {
        const float *mb = m->value + b * steps, *dy = n->grad + b * inner;
        float inv = inv_valid_steps(mb, steps);
        for (int64_t t = 0; t < steps; t++) {
            if (mb[t] == 0.0f) continue;
            float *dx = x->grad + (b * steps + t) * inner;
            for (int64_t i = 0; i < inner; i++) dx[i] += dy[i] * inv;
        }
    }
    return SBT_OK;
}

/* saved = softmax probabilities, reused by backward. */
sbt_status sbt_fwd_cross_entropy(sbt_graph *g, sbt_node *n) {
    const sbt_node *logits = in_node(g, n, 0), *labels = in_node(g, n, 1);
    int64_t rows = logits->shape[0], k = logits->shape[1];
    double loss = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        const float *z = logits->value + r * k;
        float *p = n->saved + r * k, mx = z[0], sum = 0.0f;
        int32_t label = ((const int32_t *)labels->value)[r];
        if (label < 0 || label >= k)
            return sbt_fail(SBT_ERR_ARG, "CrossEntropy: label %d outside [0, %lld)", (int)label,
                            (long long)k);
        for (int64_t c = 1; c < k; c++) mx = z[c] > mx ? z[c] : mx;
        for (int64_t c = 0; c < k; c++) sum += (p[c] = expf(z[c] - mx));
        for (int64_t c = 0; c < k; c++) p[c] /= sum;
        loss += (double)(mx + logf(sum) - z[label]);
    }
    n->value[0] = (float)(loss / (double)rows);
    return SBT_OK;
}

sbt_status sbt_bwd_cross_entropy(sbt_graph *g, sbt_node *n) {
    sbt_node *logits = in_node(g, n, 0);
    const sbt_node *labels = in_node(g, n, 1);
    int64_t rows = logits->shape[0], k = logits->shape[1];
    float scale = n->grad[0] / (float)rows;
    for (int64_t r = 0; r < rows; r++) {
        int64_t label = ((const int32_t *)labels->value)[r];
        for (int64_t c = 0; c < k; c++)
            logits->grad[r * k + c] += scale * (n->saved[r * k + c] - (c == label ? 1.0f : 0.0f));
    }
    return SBT_OK;
}

sbt_status sbt_fwd_mse(sbt_graph *g, sbt_node *n) {
    const float *a = in_node(g, n, 0)->value, *b = in_node(g, n, 1)->value;
    int64_t count = in_node(g, n, 0)->size;
    double s = 0.0;
    for (int64_t i = 0; i < count; i++) s += (double)(a[i] - b[i]) * (double)(a[i] - b[i]);
    n->value[0] = (float)(s / (double)count);
    return SBT_OK;
}

sbt_status sbt_bwd_mse(sbt_graph *g, sbt_node *n) {
    sbt_node *A = in_node(g, n, 0), *B = in_node(g, n, 1);
    int64_t count = A->size;
    float scale = 2.0f * n->grad[0] / (float)count;
    for (int64_t i = 0; i < count; i++) {
        float d = scale * (A->value[i] - B->value[i]);
        if (A->grad) A->grad[i] += d;
        if (B->grad) B->grad[i] -= d;
    }
    return SBT_OK;
}
