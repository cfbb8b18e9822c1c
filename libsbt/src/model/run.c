/* Running a model: its graph instantiated for a batch and length (training or
 * forward-only), examples fed into it, and evaluation over a whole split. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"

/* A learned position table bounds the length; say so in the model's terms. */
static sbt_status check_length(const sbt_model *m, int length) {
    if (length < 1) return sbt_fail(SBT_ERR_ARG, "model: length %d", length);
    /* a graph whose input length is fixed (an imported ONNX model's: the file's length is
     * in its shapes) takes that length only; a symbolic one takes any */
    int x = m->graph ? sbt_graph_find(m->graph, "x") : -1;
    if (x >= 0 && sbt_node_sym_dim(m->graph, x, 1).sym != SBT_SYM_LENGTH && length != m->cfg.max_len)
        return sbt_fail(SBT_ERR_SHAPE, "model: series of %d steps, but this model's graph takes %d", length,
                        m->cfg.max_len);
    if (m->native && m->cfg.pos == SBT_POS_LEARNED && length > m->cfg.max_len)
        return sbt_fail(SBT_ERR_SHAPE, "model: series of %d steps, but the learned position table has %d",
                        length, m->cfg.max_len);
    return SBT_OK;
}

/* Finds the model's named inputs and outputs in an instance of its description. */
static sbt_status bind_nodes(sbt_model_graph *mg) {
    sbt_graph *g = mg->graph;
    mg->x = sbt_graph_find(g, "x");
    mg->step_mask = sbt_graph_find(g, "step_mask");
    mg->attn_mask = sbt_graph_find(g, "attn_mask");
    mg->labels = sbt_graph_find(g, "labels");
    mg->target = sbt_graph_find(g, "target");
    mg->output = sbt_graph_find(g, mg->model->cfg.task == SBT_TASK_CLASSIFY ? "logits" : "prediction");
    mg->loss = sbt_graph_find(g, "loss");
    if (mg->x < 0 || mg->step_mask < 0 || mg->attn_mask < 0 || mg->output < 0 || mg->loss < 0 ||
        (mg->labels < 0 && mg->target < 0))
        return sbt_fail(SBT_ERR_FORMAT,
                        "model: the graph lacks the inputs x, step_mask, attn_mask, labels or "
                        "target, or the outputs logits/prediction and loss");
    return SBT_OK;
}

static sbt_status bind_instance(sbt_model *m, const sbt_graph *desc, int batch, int length,
                                sbt_exec_mode mode, sbt_model_graph *mg) {
    memset(mg, 0, sizeof *mg);
    sbt_status st = check_length(m, length);
    if (!st) st = sbt_graph_instantiate(desc, batch, length, mode, &mg->graph);
    if (st) return st;
    mg->model = m;
    mg->batch = batch;
    mg->length = length;
    mg->trimmed = m->native && sbt_encoder_trims(&m->cfg);
    st = bind_nodes(mg);
    if (st) sbt_model_graph_free(mg);
    return st;
}

sbt_status sbt_model_graph_build(sbt_model *m, int batch, int length, sbt_model_graph *mg) {
    if (!m->graph) return sbt_fail(SBT_ERR_ARG, "model: no graph");
    return bind_instance(m, m->graph, batch, length, SBT_EXEC_TRAIN, mg);
}

sbt_status sbt_model_graph_build_untrimmed(sbt_model *m, int batch, int length, sbt_model_graph *mg) {
    memset(mg, 0, sizeof *mg);
    if (!m->native) return sbt_fail(SBT_ERR_ARG, "model: an untrimmed graph needs a native model");
    sbt_graph *desc = NULL;
    sbt_status st = sbt_encoder_describe(m, 1, &desc);
    if (!st) st = bind_instance(m, desc, batch, length, SBT_EXEC_TRAIN, mg);
    sbt_graph_free(desc);
    if (!st) mg->trimmed = 0;
    return st;
}

sbt_status sbt_model_graph_build_frozen(sbt_model *m, int batch, int length, sbt_weight_kernel kernel,
                                        sbt_model_graph *mg) {
    memset(mg, 0, sizeof *mg);
    if (!m->graph) return sbt_fail(SBT_ERR_ARG, "model: no graph");
    sbt_graph *frozen = NULL;
    sbt_status st = sbt_graph_freeze_kernels(m->graph, kernel, &frozen);
    if (!st) st = bind_instance(m, frozen, batch, length, SBT_EXEC_INFER, mg);
    sbt_graph_free(frozen); /* the instance shares the frozen weights' data */
    return st;
}

sbt_status sbt_model_graph_build_infer(sbt_model *m, int batch, int length, sbt_model_graph *mg) {
    return sbt_model_graph_build_frozen(m, batch, length, m->kernel, mg);
}

void sbt_model_graph_free(sbt_model_graph *mg) {
    sbt_graph_free(mg->graph);
    memset(mg, 0, sizeof *mg);
}

sbt_status sbt_model_graph_load(sbt_model_graph *mg, const sbt_dataset *ds, const int *idx, int count) {
    if (count != mg->batch)
        return sbt_fail(SBT_ERR_ARG, "model: batch of %d for a graph of %d", count, mg->batch);
    int64_t channels = sbt_node_dim(mg->graph, mg->x, 2), length = mg->length;
    if (ds->channels != channels)
        return sbt_fail(SBT_ERR_SHAPE, "data has %d channels, the model expects %lld", ds->channels,
                        (long long)channels);
    float *x = sbt_graph_value(mg->graph, mg->x), *step = sbt_graph_value(mg->graph, mg->step_mask);
    float *attn = sbt_graph_value(mg->graph, mg->attn_mask);
    int32_t *labels = mg->labels >= 0 ? sbt_graph_data(mg->graph, mg->labels) : NULL;
    /* a model without data.mean and data.std (an imported one) takes the values as they are */
    const float *mean = sbt_model_data(mg->model, "data.mean"), *std = sbt_model_data(mg->model, "data.std");
    for (int b = 0; b < count; b++) {
        int i = idx[b], len = ds->len[i];
        if (len > length)
            return sbt_fail(SBT_ERR_SHAPE, "case %d has %d steps, the graph takes %lld", i, len,
                            (long long)length);
        int64_t copy = (int64_t)(len < ds->length ? len : ds->length);
        memset(x + (int64_t)b * length * channels, 0, (size_t)(length * channels) * sizeof(float));
        const float *src = ds->x + (int64_t)i * ds->length * channels;
        float *dst = x + (int64_t)b * length * channels;
        for (int64_t k = 0; k < copy * channels; k++)
            dst[k] = mean && std ? (src[k] - mean[k % channels]) / std[k % channels] : src[k];
        for (int64_t t = 0; t < length; t++) {
            step[b * length + t] = t < len ? 1.0f : 0.0f;
            attn[b * length + t] = t < len ? 0.0f : -1e9f;
        }
        if (labels) labels[b] = ds->y ? ds->y[i] : 0;
    }
    return SBT_OK;
}

sbt_examples sbt_examples_of_dataset(const sbt_dataset *ds) {
    sbt_examples ex = {.count = ds->n, .length = ds->length, .cases = ds};
    return ex;
}

sbt_examples sbt_examples_of_forecast(const sbt_forecast_data *d, int split) {
    return sbt_examples_of_forecast_every(d, split, 1);
}

sbt_examples sbt_examples_of_forecast_every(const sbt_forecast_data *d, int split, int stride) {
    if (stride < 1) stride = 1;
    sbt_examples ex = {.count = (sbt_forecast_count(d, split) + stride - 1) / stride,
                       .length = d->split.window,
                       .series = d,
                       .split = split,
                       .stride = stride};
    return ex;
}

/* Windows of a forecasting series: the target rows of the split, every step real. */
static sbt_status feed_windows(sbt_model_graph *mg, const sbt_examples *ex, const int *idx, int count) {
    int64_t rows[count > 0 ? count : 1];
    int64_t stride = ex->stride > 0 ? ex->stride : 1;
    for (int b = 0; b < count; b++) rows[b] = ex->series->split.target_begin[ex->split] + idx[b] * stride;
    if (ex->series->series.channels != mg->model->cfg.channels)
        return sbt_fail(SBT_ERR_SHAPE, "data has %d channels, the model expects %d",
                        ex->series->series.channels, mg->model->cfg.channels);
    if (ex->length != mg->length)
        return sbt_fail(SBT_ERR_SHAPE, "windows of %d steps for a graph of %d", ex->length, mg->length);
    float *step = sbt_graph_value(mg->graph, mg->step_mask),
          *attn = sbt_graph_value(mg->graph, mg->attn_mask);
    for (int64_t i = 0; i < (int64_t)count * mg->length; i++) step[i] = 1.0f, attn[i] = 0.0f;
    float *x = sbt_graph_value(mg->graph, mg->x),
          *y = mg->target >= 0 ? sbt_graph_value(mg->graph, mg->target) : NULL;
    sbt_status st = sbt_forecast_batch(ex->series, rows, count, x, y);
    if (!st && mg->model->cfg.window_norm == SBT_WINDOW_LAST)
        sbt_forecast_relative_to_last(x, y, count, mg->length, mg->model->cfg.channels);
    return st;
}

sbt_status sbt_model_graph_feed(sbt_model_graph *mg, const sbt_examples *ex, const int *idx, int count) {
    if (count != mg->batch)
        return sbt_fail(SBT_ERR_ARG, "model: batch of %d for a graph of %d", count, mg->batch);
    if (ex->cases) return sbt_model_graph_load(mg, ex->cases, idx, count);
    if (ex->series) return feed_windows(mg, ex, idx, count);
    return sbt_fail(SBT_ERR_ARG, "model: examples without data");
}

/* Adds one batch's outcome to the running metrics. */
static void score_batch(sbt_model *m, sbt_model_graph *mg, const sbt_examples *ex, const int *idx, int count,
                        int *pred, float *scores, int64_t *correct, sbt_forecast_accum *acc) {
    const float *out = sbt_graph_value(mg->graph, mg->output);
    int k = m->cfg.outputs;
    if (m->cfg.task != SBT_TASK_CLASSIFY) {
        const float *target = sbt_graph_value(mg->graph, mg->target);
        for (int b = 0; b < count && scores; b++) {
            double sq = 0.0;
            for (int c = 0; c < k; c++)
                sq += (double)(out[b * k + c] - target[b * k + c]) * (out[b * k + c] - target[b * k + c]);
            scores[idx[b]] = (float)(sq / k);
        }
        sbt_forecast_accum_add(acc, out, sbt_graph_value(mg->graph, mg->target), count, k,
                               ex->series ? ex->series->std : NULL);
        return;
    }
    for (int b = 0; b < count; b++) {
        int best = 0;
        for (int c = 1; c < k; c++)
            if (out[b * k + c] > out[b * k + best]) best = c;
        if (pred) pred[idx[b]] = best;
        if (ex->cases->y) *correct += best == ex->cases->y[idx[b]];
    }
}

/* Evaluates in batches of up to 64, with one extra graph for the remainder: both
 * forward-only instances of one frozen description (the sparse weights are selected
 * once per evaluation, not per batch). */
static sbt_status evaluate(sbt_model *m, const sbt_examples *ex, int *pred, float *scores, sbt_eval *out) {
    memset(out, 0, sizeof *out);
    if (ex->cases && ex->cases->y && ex->cases->n_classes > m->cfg.outputs)
        return sbt_fail(SBT_ERR_SHAPE, "data has %d classes, the model %d", ex->cases->n_classes,
                        m->cfg.outputs);
    if (ex->count < 1) return sbt_fail(SBT_ERR_ARG, "model: nothing to evaluate");
    int batch = ex->count < 64 ? (int)ex->count : 64, idx[64];
    int labelled = !ex->cases || ex->cases->y;
    int64_t correct = 0;
    double loss_sum = 0.0;
    sbt_forecast_accum acc = {0};
    sbt_model_graph full = {0}, rest = {0};
    sbt_graph *frozen = NULL;
    sbt_status st = check_length(m, ex->length);
    if (!st) st = sbt_graph_freeze_kernels(m->graph, m->kernel, &frozen);
    if (!st) st = bind_instance(m, frozen, batch, ex->length, SBT_EXEC_INFER, &full);
    for (int64_t start = 0; !st && start < ex->count; start += batch) {
        int count = ex->count - start < batch ? (int)(ex->count - start) : batch;
        if (count < batch && !rest.graph)
            st = bind_instance(m, frozen, count, ex->length, SBT_EXEC_INFER, &rest);
        sbt_model_graph *mg = count == batch ? &full : &rest;
        for (int k = 0; k < count; k++) idx[k] = (int)(start + k);
        if (!st) st = sbt_model_graph_feed(mg, ex, idx, count);
        if (!st) st = sbt_graph_forward_until(mg->graph, 0, labelled ? mg->loss : mg->output);
        if (st) break;
        score_batch(m, mg, ex, idx, count, pred, scores, &correct, &acc);
        if (labelled) loss_sum += (double)sbt_graph_value(mg->graph, mg->loss)[0] * count;
    }
    out->count = ex->count;
    out->loss = labelled ? loss_sum / (double)ex->count : NAN;
    out->accuracy = m->cfg.task == SBT_TASK_CLASSIFY && labelled ? (double)correct / (double)ex->count : NAN;
    out->forecast = sbt_forecast_accum_result(&acc);
    sbt_model_graph_free(&full);
    sbt_model_graph_free(&rest);
    sbt_graph_free(frozen);
    return st;
}

sbt_status sbt_model_evaluate(sbt_model *m, const sbt_examples *ex, int *pred, sbt_eval *out) {
    return evaluate(m, ex, pred, NULL, out);
}

sbt_status sbt_model_scores(sbt_model *m, const sbt_examples *ex, float *scores) {
    if (m->cfg.task == SBT_TASK_CLASSIFY)
        return sbt_fail(SBT_ERR_ARG, "model: scores need a forecast or anomaly model");
    sbt_eval e;
    return evaluate(m, ex, NULL, scores, &e);
}

sbt_status sbt_model_classify(sbt_model *m, const sbt_dataset *ds, int *pred, double *accuracy,
                              double *mean_loss) {
    sbt_examples ex = sbt_examples_of_dataset(ds);
    sbt_eval e;
    sbt_status st = sbt_model_evaluate(m, &ex, pred, &e);
    if (!st && accuracy) *accuracy = e.accuracy;
    if (!st && mean_loss) *mean_loss = e.loss;
    return st;
}
