/* Step-T attention (forecasting and anomaly detection): step i < T-1 attends only to
 * itself, so its output is v_i; the last step attends to the steps before it (or, with
 * include_last, to all steps including itself). Only the last query's scores are
 * computed: no T x T matrix. */
#include <math.h>
#include <string.h>

#include "graph_internal.h"

/* Keys the last query sees. */
static int64_t step_t_keys(const sbt_node *n, int64_t steps) {
    return n->attr.step_t.include_last || steps == 1 ? steps : steps - 1;
}

sbt_status sbt_fwd_step_t(sbt_graph *g, sbt_node *n) {
    const sbt_node *q = in_node(g, n, 0), *k = in_node(g, n, 1), *v = in_node(g, n, 2);
    int64_t steps = n->shape[2], dh = n->shape[3], heads = n->size / (steps * dh);
    int64_t keys = step_t_keys(n, steps);
    float scale = 1.0f / sqrtf((float)dh);
    memcpy(n->value, v->value, (size_t)n->size * sizeof(float));
    for (int64_t bh = 0; bh < heads; bh++) {
        const float *qb = q->value + (bh * steps + steps - 1) * dh, *kb = k->value + bh * steps * dh;
        const float *vb = v->value + bh * steps * dh;
        float *p = n->saved + bh * steps, *out = n->value + (bh * steps + steps - 1) * dh, mx = -INFINITY,
              sum = 0;
        for (int64_t j = 0; j < keys; j++) {
            float s = 0.0f;
            for (int64_t c = 0; c < dh; c++) s += qb[c] * kb[j * dh + c];
            p[j] = s * scale;
            mx = p[j] > mx ? p[j] : mx;
        }
        for (int64_t j = 0; j < keys; j++) sum += (p[j] = expf(p[j] - mx));
        memset(out, 0, (size_t)dh * sizeof(float));
        for (int64_t j = 0; j < keys; j++) {
            p[j] /= sum;
            for (int64_t c = 0; c < dh; c++) out[c] += p[j] * vb[j * dh + c];
        }
    }
    return SBT_OK;
}

sbt_status sbt_bwd_step_t(sbt_graph *g, sbt_node *n) {
    sbt_node *q = in_node(g, n, 0), *k = in_node(g, n, 1), *v = in_node(g, n, 2);
    int64_t steps = n->shape[2], dh = n->shape[3], heads = n->size / (steps * dh);
    int64_t keys = step_t_keys(n, steps);
    float scale = 1.0f / sqrtf((float)dh);
    for (int64_t bh = 0; bh < heads; bh++) {
        int64_t base = bh * steps * dh, last = base + (steps - 1) * dh;
        const float *p = n->saved + bh * steps, *dout = n->grad + last;
        if (v->grad) /* the steps before the last pass their gradient straight to v */
            for (int64_t i = 0; i < (steps - 1) * dh; i++) v->grad[base + i] += n->grad[base + i];
        float dp[steps], dot = 0.0f;
        for (int64_t j = 0; j < keys; j++) {
            dp[j] = 0.0f;
            for (int64_t c = 0; c < dh; c++) dp[j] += dout[c] * v->value[base + j * dh + c];
            dot += p[j] * dp[j];
            if (v->grad)
                for (int64_t c = 0; c < dh; c++) v->grad[base + j * dh + c] += p[j] * dout[c];
        }
        for (int64_t j = 0; j < keys; j++) {
            float ds = p[j] * (dp[j] - dot) * scale;
            for (int64_t c = 0; c < dh; c++) {
                if (q->grad) q->grad[last + c] += ds * k->value[base + j * dh + c];
                if (k->grad) k->grad[base + j * dh + c] += ds * q->value[last + c];
            }
        }
    }
    return SBT_OK;
}
