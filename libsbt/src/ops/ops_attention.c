/* Step-T attention (forecasting and anomaly detection): step i < T-1 attends only to
 * itself, so its output is v_i; the last step attends to the steps before it (or, with
 * include_last, to all steps including itself). Only the last query's scores are
 * computed: no T x T matrix.
 *
 * Two ops share the last query's math (last_query_forward/backward): StepTAttention
 * returns every step, StepTAttentionLast only the last one, for a layer whose other
 * steps nobody reads (the encoder's last layer in forecasting). */
#include <math.h>
#include <string.h>

#include "graph/graph_internal.h"

/* Keys the last query sees among `steps`. */
static int64_t step_t_keys(const sbt_node *n, int64_t steps) {
    return n->attr.step_t.include_last || steps == 1 ? steps : steps - 1;
}

/* One head's last query q (dh values) against keys k and values v (rows of dh):
 * p = softmax(q . k_j / sqrt(dh)) over j < keys, out = sum_j p_j v_j. p is kept for
 * the backward. */
static void last_query_forward(const float *q, const float *k, const float *v, int64_t keys, int64_t dh,
                               float *p, float *out) {
    float scale = 1.0f / sqrtf((float)dh), mx = -INFINITY, sum = 0.0f;
    for (int64_t j = 0; j < keys; j++) {
        float s = 0.0f;
        for (int64_t c = 0; c < dh; c++) s += q[c] * k[j * dh + c];
        p[j] = s * scale;
        mx = p[j] > mx ? p[j] : mx;
    }
    for (int64_t j = 0; j < keys; j++) sum += (p[j] = expf(p[j] - mx));
    memset(out, 0, (size_t)dh * sizeof(float));
    for (int64_t j = 0; j < keys; j++) {
        p[j] /= sum;
        for (int64_t c = 0; c < dh; c++) out[c] += p[j] * v[j * dh + c];
    }
}

/* The pointers one head's backward works on; a NULL gradient takes nothing. */
typedef struct {
    const float *q, *k, *v, *p, *out, *dout;
    float *dq, *dk, *dv;
} last_query_grads;

/* Adds the gradients of last_query_forward given dout. The softmax backward needs
 * sum_j p_j (dout . v_j), which is dout . out: no per-key scratch. */
static void last_query_backward(const last_query_grads *a, int64_t keys, int64_t dh) {
    float scale = 1.0f / sqrtf((float)dh), dot = 0.0f;
    for (int64_t c = 0; c < dh; c++) dot += a->dout[c] * a->out[c];
    for (int64_t j = 0; j < keys; j++) {
        const float *kj = a->k + j * dh, *vj = a->v + j * dh;
        float dp = 0.0f;
        for (int64_t c = 0; c < dh; c++) dp += a->dout[c] * vj[c];
        float ds = a->p[j] * (dp - dot) * scale;
        for (int64_t c = 0; c < dh; c++) {
            if (a->dv) a->dv[j * dh + c] += a->p[j] * a->dout[c];
            if (a->dq) a->dq[c] += ds * kj[c];
            if (a->dk) a->dk[j * dh + c] += ds * a->q[c];
        }
    }
}

/* Row `row` of head bh's (steps, dh) block in a tensor, or NULL for a missing gradient. */
static float *head_row(float *base, int64_t bh, int64_t steps, int64_t row, int64_t dh) {
    return base ? base + (bh * steps + row) * dh : NULL;
}

sbt_status sbt_fwd_step_t(sbt_graph *g, sbt_node *n) {
    const sbt_node *q = in_node(g, n, 0), *k = in_node(g, n, 1), *v = in_node(g, n, 2);
    int64_t steps = n->shape[2], dh = n->shape[3], heads = n->size / (steps * dh);
    memcpy(n->value, v->value, (size_t)n->size * sizeof(float)); /* steps < T-1 see themselves */
    for (int64_t bh = 0; bh < heads; bh++)
        last_query_forward(head_row(q->value, bh, steps, steps - 1, dh), head_row(k->value, bh, steps, 0, dh),
                           head_row(v->value, bh, steps, 0, dh), step_t_keys(n, steps), dh,
                           n->saved + bh * steps, head_row(n->value, bh, steps, steps - 1, dh));
    return SBT_OK;
}

sbt_status sbt_bwd_step_t(sbt_graph *g, sbt_node *n) {
    sbt_node *q = in_node(g, n, 0), *k = in_node(g, n, 1), *v = in_node(g, n, 2);
    int64_t steps = n->shape[2], dh = n->shape[3], heads = n->size / (steps * dh);
    for (int64_t bh = 0; bh < heads; bh++) {
        if (v->grad) { /* the steps before the last pass their gradient straight to v */
            float *dv = head_row(v->grad, bh, steps, 0, dh);
            const float *dy = head_row(n->grad, bh, steps, 0, dh);
            for (int64_t i = 0; i < (steps - 1) * dh; i++) dv[i] += dy[i];
        }
        last_query_grads a = {.q = head_row(q->value, bh, steps, steps - 1, dh),
                              .k = head_row(k->value, bh, steps, 0, dh),
                              .v = head_row(v->value, bh, steps, 0, dh),
                              .p = n->saved + bh * steps,
                              .out = head_row(n->value, bh, steps, steps - 1, dh),
                              .dout = head_row(n->grad, bh, steps, steps - 1, dh),
                              .dq = head_row(q->grad, bh, steps, steps - 1, dh),
                              .dk = head_row(k->grad, bh, steps, 0, dh),
                              .dv = head_row(v->grad, bh, steps, 0, dh)};
        last_query_backward(&a, step_t_keys(n, steps), dh);
    }
    return SBT_OK;
}

/* StepTAttentionLast: q and the output hold one step per head, k and v all `steps`. */
sbt_status sbt_fwd_step_t_last(sbt_graph *g, sbt_node *n) {
    const sbt_node *q = in_node(g, n, 0), *k = in_node(g, n, 1), *v = in_node(g, n, 2);
    int64_t steps = k->shape[2], dh = n->shape[3], heads = n->size / dh;
    for (int64_t bh = 0; bh < heads; bh++)
        last_query_forward(q->value + bh * dh, head_row(k->value, bh, steps, 0, dh),
                           head_row(v->value, bh, steps, 0, dh), step_t_keys(n, steps), dh,
                           n->saved + bh * steps, n->value + bh * dh);
    return SBT_OK;
}

sbt_status sbt_bwd_step_t_last(sbt_graph *g, sbt_node *n) {
    sbt_node *q = in_node(g, n, 0), *k = in_node(g, n, 1), *v = in_node(g, n, 2);
    int64_t steps = k->shape[2], dh = n->shape[3], heads = n->size / dh;
    for (int64_t bh = 0; bh < heads; bh++) {
        last_query_grads a = {.q = q->value + bh * dh,
                              .k = head_row(k->value, bh, steps, 0, dh),
                              .v = head_row(v->value, bh, steps, 0, dh),
                              .p = n->saved + bh * steps,
                              .out = n->value + bh * dh,
                              .dout = n->grad + bh * dh,
                              .dq = head_row(q->grad, bh, 1, 0, dh),
                              .dk = head_row(k->grad, bh, steps, 0, dh),
                              .dv = head_row(v->grad, bh, steps, 0, dh)};
        last_query_backward(&a, step_t_keys(n, steps), dh);
    }
    return SBT_OK;
}
