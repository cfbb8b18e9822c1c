/* The paper's encoder as an sbt_graph: input projection scaled by sqrt(d), positional
 * encoding, post-norm encoder layers (multi-head self-attention, FFN with ReLU), ReLU on
 * the encoder output, and the task head. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/model.h"
#include "sbt/rng.h"

/* What the builder threads through: the graph, the model and the batch geometry. */
typedef struct {
    sbt_graph *g;
    sbt_model *m;
    int64_t batch, length;
    int step_mask, attn_mask;
    int qkv_mask[3]; /* (length, d) fixed masks of the Q, K, V activations, or -1 */
    int untrimmed;   /* compute every step of every layer (sbt_model_graph_build_untrimmed) */
} builder;

static int param(builder *b, const char *name) {
    const sbt_tensor_info *ti = sbt_model_tensor(b->m, name);
    if (!ti) return -1;
    return sbt_param(b->g, ti->name, ti->ndim, ti->shape, b->m->values + ti->offset,
                     ti->kind == SBT_TENSOR_PARAM ? b->m->grads + ti->offset : NULL);
}

/* A linear layer; for a sparse-binary model its weight is the Biprop op over the
 * trained scores and the frozen random weight. */
static int linear(builder *b, int x, const char *name) {
    char w[64], bias[64], scores[64];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(bias, sizeof bias, "%s.bias", name);
    snprintf(scores, sizeof scores, "%s.scores", name);
    int weight = param(b, w);
    if (sbt_model_tensor(b->m, scores)) {
        const sbt_config *c = &b->m->cfg;
        weight = sbt_biprop_weight(b->g, param(b, scores), weight, c->keep, c->alpha_per_row);
        snprintf(w, sizeof w, "%s.effective_weight", name);
        sbt_graph_name(b->g, weight, w);
    }
    return sbt_graph_name(b->g, sbt_linear(b->g, x, weight, param(b, bias)), name);
}

static int norm(builder *b, int x, const char *name) {
    const sbt_config *c = &b->m->cfg;
    if (c->norm == SBT_NORM_NONE) return x;
    char gamma[64], beta[64], mean[64], var[64];
    snprintf(gamma, sizeof gamma, "%s.gamma", name);
    snprintf(beta, sizeof beta, "%s.beta", name);
    if (c->norm == SBT_NORM_LAYER)
        return sbt_graph_name(b->g, sbt_layernorm(b->g, x, param(b, gamma), param(b, beta), c->norm_eps),
                              name);
    snprintf(mean, sizeof mean, "%s.running_mean", name);
    snprintf(var, sizeof var, "%s.running_var", name);
    int id = sbt_batchnorm(b->g, x, param(b, gamma), param(b, beta), b->step_mask, c->norm_eps,
                           c->bn_momentum, sbt_model_data(b->m, mean), sbt_model_data(b->m, var));
    return sbt_graph_name(b->g, id, name);
}

static int maybe_dropout(builder *b, int x, uint64_t stream) {
    float p = b->m->cfg.dropout;
    return p > 0.0f ? sbt_dropout(b->g, x, p, b->m->cfg.seed * 1000003u + stream) : x;
}

/* (B, steps, d) -> (B, heads, steps, d_head); steps is the length, or 1 in a layer
 * trimmed to the last step. */
static int split_heads(builder *b, int x, int64_t steps) {
    int64_t h = b->m->cfg.heads, dh = b->m->cfg.d_model / h;
    int r = sbt_reshape(b->g, x, 4, (int64_t[]){b->batch, steps, h, dh});
    return sbt_transpose(b->g, r, (int[]){0, 2, 1, 3});
}

/* (B, heads, steps, d_head) -> (B, steps, d), then the output projection. */
static int merge_heads(builder *b, int ctx, int layer, int64_t steps) {
    char name[32];
    int merged = sbt_reshape(b->g, sbt_transpose(b->g, ctx, (int[]){0, 2, 1, 3}), 3,
                             (int64_t[]){b->batch, steps, b->m->cfg.d_model});
    snprintf(name, sizeof name, "layer%d.out", layer);
    return linear(b, merged, name);
}

/* One of Q, K, V: its projection, masked in the qkv-mask variant, split into heads. */
static int projection(builder *b, int x, int layer, int which, int64_t steps) {
    char name[32];
    snprintf(name, sizeof name, "layer%d.%s", layer, (const char *[]){"q", "k", "v"}[which]);
    int proj = linear(b, x, name);
    if (b->m->cfg.attention == SBT_ATTN_QKV_MASK) proj = sbt_mul(b->g, proj, b->qkv_mask[which]);
    return split_heads(b, proj, steps);
}

/* The attention variants differ only here: `self` needs V alone (each step attends to
 * itself), Step-T computes only the last query's scores, full and qkv-mask form the
 * whole softmax(Q K^T / sqrt(d_head)) V with the padding mask. */
static int attention(builder *b, int x, int layer, int64_t steps) {
    const sbt_config *c = &b->m->cfg;
    int v = projection(b, x, layer, 2, steps);
    if (c->attention == SBT_ATTN_SELF) return merge_heads(b, v, layer, steps);
    int q = projection(b, x, layer, 0, steps), k = projection(b, x, layer, 1, steps);
    if (c->attention == SBT_ATTN_STEP_T)
        return merge_heads(b, sbt_step_t_attention(b->g, q, k, v, c->attn_include_last), layer, steps);
    float scale = 1.0f / sqrtf((float)(c->d_model / c->heads));
    int scores = sbt_scale(b->g, sbt_matmul(b->g, q, k, 0, 1), scale);
    int probs = sbt_softmax(b->g, scores, b->attn_mask);
    return merge_heads(b, sbt_matmul(b->g, probs, v, 0, 0), layer, steps);
}

/* The rest of a layer after attention `a` of its input x: x = norm(x + a);
 * x = norm(x + FFN(x)). All of it is per step. */
static int add_norm_ffn(builder *b, int x, int a, int layer) {
    char name[32];
    snprintf(name, sizeof name, "layer%d.norm1", layer);
    x = norm(b, sbt_add(b->g, x, a), name);
    snprintf(name, sizeof name, "layer%d.ff1", layer);
    int f = sbt_relu(b->g, linear(b, x, name));
    snprintf(name, sizeof name, "layer%d.ff2", layer);
    f = maybe_dropout(b, linear(b, f, name), (uint64_t)layer * 2 + 1);
    snprintf(name, sizeof name, "layer%d.norm2", layer);
    return norm(b, sbt_add(b->g, x, f), name);
}

/* x = norm(x + MHA(x)); x = norm(x + FFN(x)) over `steps` steps. */
static int encoder_layer(builder *b, int x, int layer, int64_t steps) {
    int a = maybe_dropout(b, attention(b, x, layer, steps), (uint64_t)layer * 2);
    return add_norm_ffn(b, x, a, layer);
}

/* The first encoder layer that may run on the last step alone, or -1. Forecast and
 * anomaly heads read only step T-1 of the encoder output. Step-T attention mixes steps
 * only into that step's output, so the last layer needs K and V of every step but
 * nothing else; with `self` attention no layer mixes steps, so every layer can. Exact
 * only when the norms are per step: BatchNorm's statistics span all steps. */
static int trim_from(const builder *b) {
    const sbt_config *c = &b->m->cfg;
    if (b->untrimmed || c->task == SBT_TASK_CLASSIFY || c->norm == SBT_NORM_BATCH || c->layers < 1) return -1;
    if (c->attention == SBT_ATTN_SELF) return 0;
    return c->attention == SBT_ATTN_STEP_T ? c->layers - 1 : -1;
}

/* Slices the last step, (B, T, d) -> (B, 1, d). */
static int last_step(builder *b, int x) { return sbt_slice(b->g, x, 1, b->length - 1, b->length); }

/* An encoder layer over input x (B, T, d) computing only its last step (B, 1, d): Step-T
 * attention's K and V over every step, everything else on the last step. Dropout masks
 * are drawn for the step computed (dropout draws depend on the node anyway). */
static int last_step_layer(builder *b, int x, int layer) {
    const sbt_config *c = &b->m->cfg;
    int last = last_step(b, x);
    if (c->attention != SBT_ATTN_STEP_T) return encoder_layer(b, last, layer, 1);
    int v = projection(b, x, layer, 2, b->length), q = projection(b, last, layer, 0, 1),
        k = projection(b, x, layer, 1, b->length);
    int ctx = sbt_step_t_attention_last(b->g, q, k, v, c->attn_include_last);
    int a = maybe_dropout(b, merge_heads(b, ctx, layer, 1), (uint64_t)layer * 2);
    return add_norm_ffn(b, last, a, layer);
}

/* The encoder layers over h (B, T, d); *steps becomes 1 when the output holds the last
 * step only (see trim_from). */
static int encoder(builder *b, int h, int64_t *steps) {
    int trim = trim_from(b);
    *steps = b->length;
    for (int l = 0; l < b->m->cfg.layers; l++) {
        if (l == trim) {
            h = last_step_layer(b, h, l);
            *steps = 1;
        } else {
            h = encoder_layer(b, h, l, *steps);
        }
    }
    return h;
}

static int positions(builder *b, int x, int *pos_input) {
    *pos_input = -1;
    if (b->m->cfg.pos == SBT_POS_LEARNED) {
        int table = sbt_slice(b->g, param(b, "pos.table"), 0, 0, b->length);
        return sbt_add(b->g, x, table);
    }
    *pos_input = sbt_input(b->g, "pos.sinusoidal", 2, (int64_t[]){b->length, b->m->cfg.d_model});
    return sbt_add(b->g, x, *pos_input);
}

/* The fixed encoding of "Attention is all you need": sin on even, cos on odd columns. */
static void fill_sinusoidal(float *pe, int64_t length, int64_t d) {
    for (int64_t t = 0; t < length; t++)
        for (int64_t i = 0; i < d; i += 2) {
            double freq = exp(-(double)i * log(10000.0) / (double)d);
            pe[t * d + i] = (float)sin((double)t * freq);
            if (i + 1 < d) pe[t * d + i + 1] = (float)cos((double)t * freq);
        }
}

/* The classification variant's fixed activation mask. Entry (t, j) of projection
 * `which` (0 = Q, 1 = K, 2 = V) is kept with probability attn_keep, decided by its own
 * hash of (seed, which, t, j): the same for every sample, head and epoch, and the same
 * at inference whatever the series length (a longer test series extends the mask rather
 * than reshuffling it). */
void sbt_model_qkv_mask(const sbt_config *c, int which, int64_t length, float *mask) {
    int64_t d = c->d_model;
    uint64_t base = sbt_rng_derive(c->seed, 0x9C7A5ULL + (uint64_t)which);
    for (int64_t t = 0; t < length; t++)
        for (int64_t j = 0; j < d; j++) {
            sbt_rng r;
            sbt_rng_seed(&r, sbt_rng_derive(base, (uint64_t)(t * d + j)));
            mask[t * d + j] = sbt_rng_uniform(&r) < c->attn_keep ? 1.0f : 0.0f;
        }
}

static void build_nodes(builder *b, sbt_model_graph *mg, int *pos_input) {
    const sbt_config *c = &b->m->cfg;
    sbt_graph *g = b->g;
    mg->labels = mg->target = -1;
    mg->x = sbt_input(g, "x", 3, (int64_t[]){b->batch, b->length, c->channels});
    mg->step_mask = b->step_mask = sbt_input(g, "step_mask", 2, (int64_t[]){b->batch, b->length});
    mg->attn_mask = b->attn_mask = sbt_input(g, "attn_mask", 4, (int64_t[]){b->batch, 1, 1, b->length});
    const char *mask_names[3] = {"attn.q_mask", "attn.k_mask", "attn.v_mask"};
    for (int i = 0; i < 3; i++)
        b->qkv_mask[i] = c->attention == SBT_ATTN_QKV_MASK
                             ? sbt_input(g, mask_names[i], 2, (int64_t[]){b->length, c->d_model})
                             : -1;
    int h = sbt_scale(g, linear(b, mg->x, "input"), sqrtf((float)c->d_model));
    h = positions(b, h, pos_input);
    int64_t steps;
    h = sbt_relu(g, encoder(b, h, &steps));
    mg->trimmed = trim_from(b) >= 0;
    if (c->task == SBT_TASK_CLASSIFY) {
        /* per-step logits, averaged over the real steps */
        int per_step = linear(b, h, "head");
        mg->output = sbt_graph_name(g, sbt_masked_mean(g, per_step, mg->step_mask), "logits");
        mg->labels = sbt_input(g, "labels", 1, (int64_t[]){b->batch});
        mg->loss = sbt_graph_name(g, sbt_cross_entropy(g, mg->output, mg->labels), "loss");
        return;
    }
    /* forecasting and anomaly detection: the last step's output, all channels */
    int last = sbt_reshape(g, steps == 1 ? h : last_step(b, h), 2, (int64_t[]){b->batch, c->d_model});
    mg->output = sbt_graph_name(g, linear(b, last, "head"), "prediction");
    mg->target = sbt_input(g, "target", 2, (int64_t[]){b->batch, c->outputs});
    mg->loss = sbt_graph_name(g, sbt_mse(g, mg->output, mg->target), "loss");
}

static sbt_status build_graph(sbt_model *m, int batch, int length, int untrimmed, sbt_model_graph *mg) {
    memset(mg, 0, sizeof *mg);
    if (m->cfg.task != SBT_TASK_CLASSIFY && m->cfg.outputs != m->cfg.channels)
        return sbt_fail(SBT_ERR_ARG, "model: a %s model predicts its %d input channels, not %d",
                        sbt_task_name(m->cfg.task), m->cfg.channels, m->cfg.outputs);
    if (batch < 1 || length < 1) return sbt_fail(SBT_ERR_ARG, "model: batch %d, length %d", batch, length);
    if (m->cfg.pos == SBT_POS_LEARNED && length > m->cfg.max_len)
        return sbt_fail(SBT_ERR_SHAPE, "model: series of %d steps, but the learned position table has %d",
                        length, m->cfg.max_len);
    builder b = {.g = sbt_graph_new(), .m = m, .batch = batch, .length = length, .untrimmed = untrimmed};
    if (!b.g) return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    int pos_input;
    build_nodes(&b, mg, &pos_input);
    sbt_status st = sbt_graph_finalize(b.g);
    if (st) {
        sbt_graph_free(b.g);
        return st;
    }
    if (pos_input >= 0) fill_sinusoidal(sbt_graph_value(b.g, pos_input), length, m->cfg.d_model);
    for (int i = 0; i < 3 && m->cfg.attention == SBT_ATTN_QKV_MASK; i++)
        sbt_model_qkv_mask(&m->cfg, i, length, sbt_graph_value(b.g, b.qkv_mask[i]));
    mg->graph = b.g;
    mg->model = m;
    mg->batch = batch;
    mg->length = length;
    return SBT_OK;
}

sbt_status sbt_model_graph_build(sbt_model *m, int batch, int length, sbt_model_graph *mg) {
    return build_graph(m, batch, length, 0, mg);
}

sbt_status sbt_model_graph_build_untrimmed(sbt_model *m, int batch, int length, sbt_model_graph *mg) {
    return build_graph(m, batch, length, 1, mg);
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
    float *attn = sbt_graph_value(mg->graph, mg->attn_mask),
          *labels = mg->labels >= 0 ? sbt_graph_value(mg->graph, mg->labels) : NULL;
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
            dst[k] = (src[k] - mean[k % channels]) / std[k % channels];
        for (int64_t t = 0; t < length; t++) {
            step[b * length + t] = t < len ? 1.0f : 0.0f;
            attn[b * length + t] = t < len ? 0.0f : -1e9f;
        }
        if (labels) labels[b] = ds->y ? (float)ds->y[i] : 0.0f;
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

/* Evaluates in batches of up to 64, with one extra graph for the remainder. */
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
    sbt_status st = sbt_model_graph_build(m, batch, ex->length, &full);
    for (int64_t start = 0; !st && start < ex->count; start += batch) {
        int count = ex->count - start < batch ? (int)(ex->count - start) : batch;
        if (count < batch && !rest.graph) st = sbt_model_graph_build(m, count, ex->length, &rest);
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
