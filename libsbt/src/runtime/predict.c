/* One window in, one prediction out, on a frozen forward-only graph of batch 1. */
#include "sbt/predict.h"

#include "model/model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sbt_predictor {
    sbt_model_graph mg;
    sbt_task task;
    int channels, outputs, length;
    int window_last;   /* fed relative to the last observed step */
    float *mean, *std; /* the model's z-score (copies), or NULL */
    float *last;       /* forecast, anomaly: the last observed step, z-scored */
};

static float *copy_tensor(sbt_model *m, const char *name, int n) {
    const float *src = sbt_model_data(m, name);
    float *dst = src ? malloc((size_t)n * sizeof(float)) : NULL;
    if (dst) memcpy(dst, src, (size_t)n * sizeof(float));
    return dst;
}

sbt_status sbt_predictor_new(sbt_model *m, const sbt_predict_options *o, sbt_predictor **out) {
    *out = NULL;
    sbt_predictor *p = calloc(1, sizeof *p);
    if (!p) return sbt_fail(SBT_ERR_NOMEM, "predict: out of memory");
    p->task = m->cfg.task;
    p->channels = m->cfg.channels;
    p->outputs = m->cfg.outputs;
    p->length = o && o->length > 0 ? o->length : m->cfg.max_len;
    p->window_last = m->cfg.task != SBT_TASK_CLASSIFY && m->cfg.window_norm == SBT_WINDOW_LAST;
    p->mean = copy_tensor(m, "data.mean", p->channels);
    p->std = copy_tensor(m, "data.std", p->channels);
    p->last = calloc((size_t)p->channels, sizeof(float));
    sbt_status st = sbt_model_graph_build_frozen(m, 1, p->length, o ? o->kernel : SBT_KERNEL_DENSE, &p->mg);
    if (!st && !p->last) st = sbt_fail(SBT_ERR_NOMEM, "predict: out of memory");
    if (!st && p->task != SBT_TASK_CLASSIFY && p->length < 2)
        st = sbt_fail(SBT_ERR_ARG, "predict: a forecast window needs at least 2 steps");
    if (!st && (!p->mean) != (!p->std))
        st = sbt_fail(SBT_ERR_FORMAT, "predict: the model has only one of data.mean and data.std");
    if (st) {
        sbt_predictor_free(p);
        return st;
    }
    *out = p;
    return SBT_OK;
}

void sbt_predictor_free(sbt_predictor *p) {
    if (!p) return;
    sbt_model_graph_free(&p->mg);
    free(p->mean);
    free(p->std);
    free(p->last);
    free(p);
}

int sbt_predictor_channels(const sbt_predictor *p) { return p->channels; }
int sbt_predictor_outputs(const sbt_predictor *p) { return p->outputs; }
int sbt_predictor_length(const sbt_predictor *p) { return p->length; }

/* x = the z-scored steps, then zero rows: classification pads (and masks) a short
 * series; a forecast window's last row is the step to predict, fed as zeros as in
 * training (sbt_forecast_batch), and the rows before it are taken relative to the last
 * observed one when the model was trained in that frame (sbt_forecast_relative_to_last). */
static void feed(sbt_predictor *p, const float *window, int steps) {
    sbt_graph *g = p->mg.graph;
    float *x = sbt_graph_value(g, p->mg.x), *step = sbt_graph_value(g, p->mg.step_mask),
          *attn = sbt_graph_value(g, p->mg.attn_mask);
    int c = p->channels, classify = p->task == SBT_TASK_CLASSIFY;
    for (int t = 0; t < p->length; t++) {
        for (int k = 0; k < c; k++) {
            float v = t < steps ? window[t * c + k] : 0.0f;
            x[t * c + k] = t < steps && p->mean ? (v - p->mean[k]) / p->std[k] : v;
        }
        step[t] = !classify || t < steps ? 1.0f : 0.0f;
        attn[t] = !classify || t < steps ? 0.0f : -1e9f;
    }
    if (classify) return;
    memcpy(p->last, x + (size_t)(steps - 1) * c, (size_t)c * sizeof(float));
    for (int t = 0; t < steps && p->window_last; t++)
        for (int k = 0; k < c; k++) x[t * c + k] -= p->last[k];
}

sbt_status sbt_predict(sbt_predictor *p, const float *window, int steps, float *out) {
    int forecast = p->task != SBT_TASK_CLASSIFY, most = forecast ? p->length - 1 : p->length;
    if (steps < 1 || steps > most || (forecast && steps != most))
        return sbt_fail(SBT_ERR_ARG, "predict: a window of %d steps; the model takes %s%d", steps,
                        forecast ? "the last observed " : "1 to ", most);
    for (int64_t i = 0; i < (int64_t)steps * p->channels; i++)
        if (!isfinite(window[i]))
            return sbt_fail(SBT_ERR_ARG, "predict: value %lld (step %lld, channel %lld) is not finite",
                            (long long)i, (long long)(i / p->channels), (long long)(i % p->channels));
    feed(p, window, steps);
    sbt_status st = sbt_graph_forward_until(p->mg.graph, 0, p->mg.output);
    if (st) return st;
    const float *y = sbt_graph_value(p->mg.graph, p->mg.output);
    for (int k = 0; k < p->outputs; k++) {
        float v = y[k];
        if (forecast) { /* back to the z-scored frame, then to the window's units */
            if (p->window_last) v += p->last[k];
            if (p->mean) v = v * p->std[k] + p->mean[k];
        }
        out[k] = v;
    }
    return SBT_OK;
}
