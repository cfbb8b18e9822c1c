/* The paper's encoder as a graph description: input projection scaled by sqrt(d),
 * positional encoding, post-norm encoder layers (multi-head self-attention, FFN with
 * ReLU), ReLU on the encoder output, and the task head. Batch and length stay symbolic
 * (B, T), so one description serves training batches, evaluation and batch-1 windows. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"

/* What the builder threads through: the graph and the model. */
typedef struct {
    sbt_graph *g;
    sbt_model *m;
    int step_mask, attn_mask;
    int qkv_mask[3]; /* (T, d) fixed masks of the Q, K, V activations, or -1 */
    int untrimmed;   /* compute every step of every layer (sbt_model_graph_build_untrimmed) */
} builder;

/* `steps` of a layer that computes every step (the symbolic length). */
#define SBT_ALL_STEPS (-1)

/* A model tensor as a leaf: trained tensors get their gradient buffer, frozen ones none. */
static int param(builder *b, const char *name) {
    const sbt_tensor_info *ti = sbt_model_tensor(b->m, name);
    if (!ti) return -1;
    return sbt_param(b->g, ti->name, ti->ndim, ti->shape, b->m->values + ti->offset,
                     ti->kind == SBT_TENSOR_PARAM ? b->m->grads + ti->offset : NULL);
}

static int state(builder *b, const char *name) {
    const sbt_tensor_info *ti = sbt_model_tensor(b->m, name);
    return ti ? sbt_state(b->g, ti->name, ti->ndim, ti->shape, b->m->values + ti->offset) : -1;
}

/* The number of steps a layer computes: every step (T), or the last one alone. */
static sbt_dim steps_dim(int64_t steps) {
    return steps == SBT_ALL_STEPS ? sbt_dim_length(0) : sbt_dim_n(steps);
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
    int id = sbt_batchnorm(b->g, x, param(b, gamma), param(b, beta), state(b, mean), state(b, var),
                           b->step_mask, c->norm_eps, c->bn_momentum);
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
    int r = sbt_reshape_dims(b->g, x, 4,
                             (sbt_dim[]){sbt_dim_batch(), steps_dim(steps), sbt_dim_n(h), sbt_dim_n(dh)});
    return sbt_transpose(b->g, r, (int[]){0, 2, 1, 3});
}

/* (B, heads, steps, d_head) -> (B, steps, d), then the output projection. */
static int merge_heads(builder *b, int ctx, int layer, int64_t steps) {
    char name[32];
    int merged =
        sbt_reshape_dims(b->g, sbt_transpose(b->g, ctx, (int[]){0, 2, 1, 3}), 3,
                         (sbt_dim[]){sbt_dim_batch(), steps_dim(steps), sbt_dim_n(b->m->cfg.d_model)});
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
static int trim_layer(const sbt_config *c) {
    if (c->task == SBT_TASK_CLASSIFY || c->norm == SBT_NORM_BATCH || c->layers < 1) return -1;
    if (c->attention == SBT_ATTN_SELF) return 0;
    return c->attention == SBT_ATTN_STEP_T ? c->layers - 1 : -1;
}

static int trim_from(const builder *b) { return b->untrimmed ? -1 : trim_layer(&b->m->cfg); }

int sbt_encoder_trims(const sbt_config *cfg) { return trim_layer(cfg) >= 0; }

/* Slices the last step, (B, T, d) -> (B, 1, d). */
static int last_step(builder *b, int x) {
    return sbt_slice_dims(b->g, x, 1, sbt_dim_length(-1), sbt_dim_length(0));
}

/* An encoder layer over input x (B, T, d) computing only its last step (B, 1, d): Step-T
 * attention's K and V over every step, everything else on the last step. Dropout masks
 * are drawn for the step computed (dropout draws depend on the node anyway). */
static int last_step_layer(builder *b, int x, int layer) {
    const sbt_config *c = &b->m->cfg;
    int last = last_step(b, x);
    if (c->attention != SBT_ATTN_STEP_T) return encoder_layer(b, last, layer, 1);
    int64_t all = SBT_ALL_STEPS;
    int v = projection(b, x, layer, 2, all), q = projection(b, last, layer, 0, 1),
        k = projection(b, x, layer, 1, all);
    int ctx = sbt_step_t_attention_last(b->g, q, k, v, c->attn_include_last);
    int a = maybe_dropout(b, merge_heads(b, ctx, layer, 1), (uint64_t)layer * 2);
    return add_norm_ffn(b, last, a, layer);
}

/* The encoder layers over h (B, T, d); *steps becomes 1 when the output holds the last
 * step only (see trim_from). */
static int encoder(builder *b, int h, int64_t *steps) {
    int trim = trim_from(b);
    *steps = SBT_ALL_STEPS;
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

static int positions(builder *b, int x) {
    const sbt_config *c = &b->m->cfg;
    if (c->pos == SBT_POS_LEARNED)
        return sbt_add(b->g, x,
                       sbt_slice_dims(b->g, param(b, "pos.table"), 0, sbt_dim_n(0), sbt_dim_length(0)));
    sbt_attr gen = {.constant = {.gen = SBT_GEN_SINUSOIDAL}};
    return sbt_add(b->g, x, sbt_const_generated(b->g, "pos.sinusoidal", &gen, c->d_model));
}

/* The classification variant's fixed masks of the Q, K, V activations (const_gen.c). */
static void qkv_masks(builder *b) {
    const sbt_config *c = &b->m->cfg;
    const char *names[3] = {"attn.q_mask", "attn.k_mask", "attn.v_mask"};
    for (int i = 0; i < 3; i++) {
        sbt_attr gen = {.constant = {SBT_GEN_QKV_MASK, c->seed, i, c->attn_keep}};
        b->qkv_mask[i] =
            c->attention == SBT_ATTN_QKV_MASK ? sbt_const_generated(b->g, names[i], &gen, c->d_model) : -1;
    }
}

static void build_nodes(builder *b) {
    const sbt_config *c = &b->m->cfg;
    sbt_graph *g = b->g;
    sbt_dim B = sbt_dim_batch(), T = sbt_dim_length(0);
    int x = sbt_input_dims(g, "x", SBT_DTYPE_F32, 3, (sbt_dim[]){B, T, sbt_dim_n(c->channels)});
    b->step_mask = sbt_input_dims(g, "step_mask", SBT_DTYPE_F32, 2, (sbt_dim[]){B, T});
    b->attn_mask =
        sbt_input_dims(g, "attn_mask", SBT_DTYPE_F32, 4, (sbt_dim[]){B, sbt_dim_n(1), sbt_dim_n(1), T});
    qkv_masks(b);
    int h = sbt_scale(g, linear(b, x, "input"), sqrtf((float)c->d_model));
    h = positions(b, h);
    int64_t steps;
    h = sbt_relu(g, encoder(b, h, &steps));
    int output, loss;
    if (c->task == SBT_TASK_CLASSIFY) {
        /* per-step logits, averaged over the real steps */
        int per_step = linear(b, h, "head");
        output = sbt_graph_name(g, sbt_masked_mean(g, per_step, b->step_mask), "logits");
        int labels = sbt_input_dims(g, "labels", SBT_DTYPE_I32, 1, &B);
        loss = sbt_graph_name(g, sbt_cross_entropy(g, output, labels), "loss");
    } else {
        /* forecasting and anomaly detection: the last step's output, all channels */
        int last =
            sbt_reshape_dims(g, steps == 1 ? h : last_step(b, h), 2, (sbt_dim[]){B, sbt_dim_n(c->d_model)});
        output = sbt_graph_name(g, linear(b, last, "head"), "prediction");
        int target = sbt_input_dims(g, "target", SBT_DTYPE_F32, 2, (sbt_dim[]){B, sbt_dim_n(c->outputs)});
        loss = sbt_graph_name(g, sbt_mse(g, output, target), "loss");
    }
    sbt_graph_mark_output(g, output);
    sbt_graph_mark_output(g, loss);
}

sbt_status sbt_encoder_describe(sbt_model *m, int untrimmed, sbt_graph **out) {
    *out = NULL;
    if (m->cfg.task != SBT_TASK_CLASSIFY && m->cfg.outputs != m->cfg.channels)
        return sbt_fail(SBT_ERR_ARG, "model: a %s model predicts its %d input channels, not %d",
                        sbt_task_name(m->cfg.task), m->cfg.channels, m->cfg.outputs);
    builder b = {.g = sbt_graph_new(), .m = m, .untrimmed = untrimmed};
    if (!b.g) return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    /* shape rules check the description at a real length; instances re-check theirs */
    sbt_graph_set_dims(b.g, 1, m->cfg.max_len);
    build_nodes(&b);
    sbt_status st = sbt_graph_status(b.g);
    if (st) {
        sbt_graph_free(b.g);
        return st;
    }
    *out = b.g;
    return SBT_OK;
}
