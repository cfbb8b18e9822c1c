/* The model's tensor table: the paper's encoder's tensors, initialisation, seeded
 * tensors drawn again from their provenance, class names and normalisation. Files are
 * in model_file.c, the encoder's graph in encoder.c, feeding and evaluation in run.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "sbt/rng.h"

sbt_status sbt_table_add(sbt_tensor_table *t, sbt_tensor_kind kind, int ndim, const int64_t *shape,
                         const char *fmt, ...) {
    if (t->count == t->capacity) {
        int cap = t->capacity ? 2 * t->capacity : 64;
        sbt_tensor_info *items = realloc(t->items, (size_t)cap * sizeof *items);
        if (!items) return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
        t->items = items;
        t->capacity = cap;
    }
    if (ndim < 1 || ndim > SBT_MAX_DIMS) return sbt_fail(SBT_ERR_SHAPE, "model: tensor of rank %d", ndim);
    sbt_tensor_info *ti = &t->items[t->count];
    memset(ti, 0, sizeof *ti);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(ti->name, sizeof ti->name, fmt, ap);
    va_end(ap);
    if (len < 0 || len > SBT_NAME_MAX)
        return sbt_fail(SBT_ERR_ARG, "model: tensor name longer than %d bytes", SBT_NAME_MAX);
    ti->kind = kind;
    ti->ndim = ndim;
    memcpy(ti->shape, shape, (size_t)ndim * sizeof *shape);
    ti->size = sbt_shape_numel(ndim, shape);
    if (ti->size < 0) return sbt_fail(SBT_ERR_SHAPE, "model: tensor %s: size overflows", ti->name);
    if (t->total > INT64_MAX / 8 - ti->size - 16) return sbt_fail(SBT_ERR_SHAPE, "model: too many values");
    ti->offset = t->total;
    /* 16-float alignment keeps every tensor 64-byte aligned inside the flat buffer. */
    t->total += (ti->size + 15) & ~(int64_t)15;
    t->count++;
    return SBT_OK;
}

static sbt_status add_2d(sbt_tensor_table *t, sbt_tensor_kind kind, int64_t rows, int64_t cols,
                         const char *name, const char *suffix) {
    return cols ? sbt_table_add(t, kind, 2, (int64_t[]){rows, cols}, "%s%s", name, suffix)
                : sbt_table_add(t, kind, 1, (int64_t[]){rows}, "%s%s", name, suffix);
}

/* Dense: trained weight and bias. Sparse binary: frozen weight regenerated from the
 * seed, trained scores, and a bias frozen at its random init unless train_bias. */
static sbt_status add_linear(sbt_tensor_table *t, const sbt_config *c, const char *name, int64_t out,
                             int64_t in) {
    if (c->weights == SBT_WEIGHTS_DENSE) {
        sbt_status st = add_2d(t, SBT_TENSOR_PARAM, out, in, name, ".weight");
        return st ? st : add_2d(t, SBT_TENSOR_PARAM, out, 0, name, ".bias");
    }
    sbt_status st = add_2d(t, SBT_TENSOR_FROZEN, out, in, name, ".weight");
    if (!st) st = add_2d(t, SBT_TENSOR_PARAM, out, in, name, ".scores");
    return st ? st : add_2d(t, c->train_bias ? SBT_TENSOR_PARAM : SBT_TENSOR_FROZEN, out, 0, name, ".bias");
}

static sbt_status add_norm(sbt_tensor_table *t, const sbt_config *c, const char *name) {
    if (c->norm == SBT_NORM_NONE) return SBT_OK;
    sbt_status st = add_2d(t, SBT_TENSOR_PARAM, c->d_model, 0, name, ".gamma");
    if (!st) st = add_2d(t, SBT_TENSOR_PARAM, c->d_model, 0, name, ".beta");
    if (!st && c->norm == SBT_NORM_BATCH)
        st = add_2d(t, SBT_TENSOR_STATE, c->d_model, 0, name, ".running_mean");
    if (!st && c->norm == SBT_NORM_BATCH)
        st = add_2d(t, SBT_TENSOR_STATE, c->d_model, 0, name, ".running_var");
    return st;
}

static sbt_status add_layer(sbt_tensor_table *t, const sbt_config *c, int l) {
    char name[32];
    const char *parts[] = {"q", "k", "v", "out"};
    sbt_status st = SBT_OK;
    for (int p = 0; p < 4 && !st; p++) {
        snprintf(name, sizeof name, "layer%d.%s", l, parts[p]);
        st = add_linear(t, c, name, c->d_model, c->d_model);
    }
    snprintf(name, sizeof name, "layer%d.norm1", l);
    if (!st) st = add_norm(t, c, name);
    snprintf(name, sizeof name, "layer%d.ff1", l);
    if (!st) st = add_linear(t, c, name, c->d_ff, c->d_model);
    snprintf(name, sizeof name, "layer%d.ff2", l);
    if (!st) st = add_linear(t, c, name, c->d_model, c->d_ff);
    snprintf(name, sizeof name, "layer%d.norm2", l);
    return st ? st : add_norm(t, c, name);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* PyTorch's defaults, so that a freshly built model trains like the reference: Linear
 * weights and biases U(+-1/sqrt(fan_in)) (fan_in: the layer's input width); Biprop
 * scores the same bound from their own stream; learned positions U(+-0.02). Each
 * tensor's stream is keyed by its name. */
static void set_random_init(sbt_tensor_info *ti, const sbt_config *c, int64_t fan_in) {
    float bound = 0.0f;
    if (ends_with(ti->name, ".weight") || ends_with(ti->name, ".bias") || ends_with(ti->name, ".scores"))
        bound = 1.0f / sqrtf((float)fan_in);
    if (!strcmp(ti->name, "pos.table")) bound = 0.02f;
    if (bound == 0.0f) return;
    /* a frozen tensor is never stored: it is drawn again from this on load */
    if (ti->kind == SBT_TENSOR_FROZEN) ti->provenance = SBT_PROV_SEEDED;
    ti->seed = c->seed;
    ti->stream = sbt_rng_stream_key(ti->name);
    ti->lo = -bound;
    ti->hi = bound;
}

/* The encoder's tensors, in the order the graph uses them, with their initialisation. */
static sbt_status build_table(const sbt_config *c, sbt_tensor_table *t) {
    int64_t d = c->d_model;
    /* Per-channel z-score of the training data: the model takes raw series. */
    sbt_status st = add_2d(t, SBT_TENSOR_STATE, c->channels, 0, "data", ".mean");
    if (!st) st = add_2d(t, SBT_TENSOR_STATE, c->channels, 0, "data", ".std");
    if (!st) st = add_linear(t, c, "input", d, c->channels);
    if (!st && c->pos == SBT_POS_LEARNED) st = add_2d(t, SBT_TENSOR_PARAM, c->max_len, d, "pos", ".table");
    for (int l = 0; l < c->layers && !st; l++) st = add_layer(t, c, l);
    if (!st) st = add_linear(t, c, "head", c->outputs, d);
    /* the fan-in of a weight, bias or scores tensor is the width of the weight's input */
    for (int i = 0; !st && i < t->count; i++) {
        sbt_tensor_info *ti = &t->items[i];
        int64_t fan_in = ti->ndim == 2 ? ti->shape[1] : 1;
        if (ti->ndim == 1 && ends_with(ti->name, ".bias"))
            fan_in = t->items[i - 1].shape[1]; /* weight or scores */
        set_random_init(ti, c, fan_in);
    }
    return st;
}

void sbt_tensor_draw(const sbt_tensor_info *ti, float *v) {
    sbt_rng r;
    sbt_rng_seed(&r, sbt_rng_derive(ti->seed, ti->stream));
    for (int64_t k = 0; k < ti->size; k++) v[k] = sbt_rng_uniform_range(&r, ti->lo, ti->hi);
}

/* Tensors with random bounds are drawn; norms' gamma, running variances and data.std
 * start at 1, the rest at 0. */
static void init_tensor(sbt_model *m, const sbt_tensor_info *ti) {
    float *v = m->values + ti->offset;
    if (ti->hi > ti->lo) {
        sbt_tensor_draw(ti, v);
        return;
    }
    const char *name = ti->name;
    float fill = ends_with(name, ".gamma") || ends_with(name, ".running_var") || !strcmp(name, "data.std")
                     ? 1.0f
                     : 0.0f;
    for (int64_t k = 0; k < ti->size; k++) v[k] = fill;
}

sbt_status sbt_model_alloc(sbt_tensor_table *t, sbt_model **out) {
    *out = NULL;
    sbt_model *m = calloc(1, sizeof *m);
    if (!m) {
        free(t->items);
        memset(t, 0, sizeof *t);
        return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    }
    m->tensors = t->items;
    m->n_tensors = t->count;
    m->n_values = t->total;
    memset(t, 0, sizeof *t);
    size_t bytes = (size_t)(m->n_values + 16) * sizeof(float);
    m->values = aligned_alloc(64, bytes);
    m->grads = aligned_alloc(64, bytes);
    if (!m->values || !m->grads) {
        sbt_model_free(m);
        return sbt_fail(SBT_ERR_NOMEM, "model: cannot allocate %lld parameters",
                        (long long)(bytes / sizeof(float)));
    }
    memset(m->values, 0, bytes);
    memset(m->grads, 0, bytes);
    *out = m;
    return SBT_OK;
}

sbt_status sbt_model_table_of_config(const sbt_config *cfg, sbt_tensor_table *t) {
    memset(t, 0, sizeof *t);
    sbt_status st = sbt_config_check(cfg);
    if (!st) st = build_table(cfg, t);
    if (st) {
        free(t->items);
        memset(t, 0, sizeof *t);
    }
    return st;
}

void sbt_model_init_values(sbt_model *m, int frozen_only) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!frozen_only || m->tensors[i].kind == SBT_TENSOR_FROZEN) init_tensor(m, &m->tensors[i]);
}

sbt_status sbt_model_new(const sbt_config *cfg, sbt_model **out) {
    *out = NULL;
    sbt_tensor_table t;
    sbt_status st = sbt_model_table_of_config(cfg, &t);
    sbt_model *m = NULL;
    if (!st) st = sbt_model_alloc(&t, &m);
    if (st) return st;
    m->cfg = *cfg;
    m->native = 1;
    sbt_model_init_values(m, 0);
    st = sbt_model_build_graph(m);
    if (st) {
        sbt_model_free(m);
        return st;
    }
    *out = m;
    return SBT_OK;
}

sbt_status sbt_model_build_graph(sbt_model *m) {
    if (!m->native) return sbt_fail(SBT_ERR_ARG, "model: only a native model is built from its config");
    sbt_graph *g = NULL;
    sbt_status st = sbt_encoder_describe(m, 0, &g);
    if (st) return st;
    sbt_graph_free(m->graph);
    m->graph = g;
    return SBT_OK;
}

void sbt_free_names(char **names, int n) {
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

void sbt_model_free(sbt_model *m) {
    if (!m) return;
    sbt_graph_free(m->graph);
    sbt_free_names(m->class_names, m->cfg.outputs);
    free(m->tensors);
    free(m->values);
    free(m->grads);
    free(m);
}

const sbt_tensor_info *sbt_model_tensor(const sbt_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

float *sbt_model_data(sbt_model *m, const char *name) {
    const sbt_tensor_info *ti = sbt_model_tensor(m, name);
    return ti ? m->values + ti->offset : NULL;
}

int64_t sbt_model_param_count(const sbt_model *m) {
    int64_t n = 0;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].kind == SBT_TENSOR_PARAM) n += m->tensors[i].size;
    return n;
}

sbt_status sbt_model_fit_normalization(sbt_model *m, const sbt_dataset *train) {
    if (train->channels != m->cfg.channels)
        return sbt_fail(SBT_ERR_SHAPE, "data has %d channels, the model expects %d", train->channels,
                        m->cfg.channels);
    return sbt_zscore_fit(train, sbt_model_data(m, "data.mean"), sbt_model_data(m, "data.std"));
}

sbt_status sbt_model_set_class_names(sbt_model *m, char *const *names, int n) {
    sbt_free_names(m->class_names, m->cfg.outputs);
    m->class_names = NULL;
    if (!names) return SBT_OK;
    if (n != m->cfg.outputs)
        return sbt_fail(SBT_ERR_ARG, "model: %d class names for %d outputs", n, m->cfg.outputs);
    m->class_names = calloc((size_t)n, sizeof(char *));
    if (!m->class_names) return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    for (int i = 0; i < n; i++)
        if (!(m->class_names[i] = strdup(names[i]))) return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    return SBT_OK;
}

void sbt_model_qkv_mask(const sbt_config *c, int which, int64_t length, float *mask) {
    sbt_attr a = {.constant = {SBT_GEN_QKV_MASK, c->seed, which, c->attn_keep}};
    sbt_const_generate(&a, length, c->d_model, mask);
}
