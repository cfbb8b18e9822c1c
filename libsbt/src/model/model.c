/* The model's tensors: the parameter table of the encoder, initialisation, and model
 * files (a container of the config, the class names and every tensor). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/model.h"
#include "sbt/rng.h"

typedef struct {
    sbt_tensor_info *items;
    int count, capacity;
    int64_t total;
} tensor_table;

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static sbt_status
table_add(tensor_table *t, sbt_tensor_kind kind, int64_t rows, int64_t cols, const char *fmt, ...) {
    if (t->count == t->capacity) {
        int cap = t->capacity ? 2 * t->capacity : 64;
        sbt_tensor_info *items = realloc(t->items, (size_t)cap * sizeof *items);
        if (!items) return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
        t->items = items;
        t->capacity = cap;
    }
    sbt_tensor_info *ti = &t->items[t->count++];
    memset(ti, 0, sizeof *ti);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ti->name, sizeof ti->name, fmt, ap);
    va_end(ap);
    ti->kind = kind;
    ti->ndim = cols ? 2 : 1;
    ti->shape[0] = rows;
    ti->shape[1] = cols;
    ti->size = rows * (cols ? cols : 1);
    ti->offset = t->total;
    /* 16-float alignment keeps every tensor 64-byte aligned inside the flat buffer. */
    t->total += (ti->size + 15) & ~(int64_t)15;
    return SBT_OK;
}

/* Dense: trained weight and bias. Sparse binary: frozen weight regenerated from the
 * seed, trained scores, and a bias frozen at its random init unless train_bias. */
static sbt_status add_linear(tensor_table *t, const sbt_config *c, const char *name, int64_t out,
                             int64_t in) {
    if (c->weights == SBT_WEIGHTS_DENSE) {
        sbt_status st = table_add(t, SBT_TENSOR_PARAM, out, in, "%s.weight", name);
        return st ? st : table_add(t, SBT_TENSOR_PARAM, out, 0, "%s.bias", name);
    }
    sbt_status st = table_add(t, SBT_TENSOR_FROZEN, out, in, "%s.weight", name);
    if (!st) st = table_add(t, SBT_TENSOR_PARAM, out, in, "%s.scores", name);
    return st ? st
              : table_add(t, c->train_bias ? SBT_TENSOR_PARAM : SBT_TENSOR_FROZEN, out, 0, "%s.bias", name);
}

static sbt_status add_norm(tensor_table *t, const sbt_config *c, const char *name) {
    if (c->norm == SBT_NORM_NONE) return SBT_OK;
    sbt_status st = table_add(t, SBT_TENSOR_PARAM, c->d_model, 0, "%s.gamma", name);
    if (!st) st = table_add(t, SBT_TENSOR_PARAM, c->d_model, 0, "%s.beta", name);
    if (!st && c->norm == SBT_NORM_BATCH)
        st = table_add(t, SBT_TENSOR_STATE, c->d_model, 0, "%s.running_mean", name);
    if (!st && c->norm == SBT_NORM_BATCH)
        st = table_add(t, SBT_TENSOR_STATE, c->d_model, 0, "%s.running_var", name);
    return st;
}

/* The encoder's tensors, in the order the graph uses them. */
static sbt_status build_table(const sbt_config *c, tensor_table *t) {
    int64_t d = c->d_model;
    /* Per-channel z-score of the training data: the model takes raw series. */
    sbt_status st = table_add(t, SBT_TENSOR_STATE, c->channels, 0, "data.mean");
    if (!st) st = table_add(t, SBT_TENSOR_STATE, c->channels, 0, "data.std");
    if (!st) st = add_linear(t, c, "input", d, c->channels);
    if (!st && c->pos == SBT_POS_LEARNED) st = table_add(t, SBT_TENSOR_PARAM, c->max_len, d, "pos.table");
    for (int l = 0; l < c->layers && !st; l++) {
        char name[32];
        const char *parts[] = {"q", "k", "v", "out"};
        for (int p = 0; p < 4 && !st; p++) {
            snprintf(name, sizeof name, "layer%d.%s", l, parts[p]);
            st = add_linear(t, c, name, d, d);
        }
        snprintf(name, sizeof name, "layer%d.norm1", l);
        if (!st) st = add_norm(t, c, name);
        snprintf(name, sizeof name, "layer%d.ff1", l);
        if (!st) st = add_linear(t, c, name, c->d_ff, d);
        snprintf(name, sizeof name, "layer%d.ff2", l);
        if (!st) st = add_linear(t, c, name, d, c->d_ff);
        snprintf(name, sizeof name, "layer%d.norm2", l);
        if (!st) st = add_norm(t, c, name);
    }
    if (!st) st = add_linear(t, c, "head", c->outputs, d);
    return st;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* FNV-1a: a tensor's own random stream follows from its name, so any one tensor (a
 * frozen Biprop weight) can be regenerated alone, bit-exactly, from the seed. */
static uint64_t name_hash(const char *name) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *name; name++) h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
    return h;
}

/* The fan-in of a weight, bias or scores tensor: the weight's second dimension. */
static int64_t fan_in(const sbt_model *m, const sbt_tensor_info *ti) {
    if (ti->ndim == 2) return ti->shape[1];
    char weight[64];
    snprintf(weight, sizeof weight, "%.*s.weight", (int)(strlen(ti->name) - strlen(".bias")), ti->name);
    const sbt_tensor_info *w = sbt_model_tensor(m, weight);
    return w ? w->shape[1] : 1;
}

/* PyTorch's defaults, so that a freshly built model trains like the reference: Linear
 * weights and biases U(+-1/sqrt(fan_in)); Biprop scores the same bound from their own
 * stream; norms gamma 1, beta 0; running variance 1; learned positions U(+-0.02). */
static void init_tensor(sbt_model *m, const sbt_tensor_info *ti) {
    float *v = m->values + ti->offset;
    const char *name = ti->name;
    float fill = ends_with(name, ".gamma") || ends_with(name, ".running_var") || !strcmp(name, "data.std")
                     ? 1.0f
                     : 0.0f;
    float bound = 0.0f;
    if (ends_with(name, ".weight") || ends_with(name, ".bias") || ends_with(name, ".scores"))
        bound = 1.0f / sqrtf((float)fan_in(m, ti));
    if (!strcmp(name, "pos.table")) bound = 0.02f;
    sbt_rng r;
    sbt_rng_seed(&r, sbt_rng_derive(m->cfg.seed, name_hash(name)));
    for (int64_t k = 0; k < ti->size; k++)
        v[k] = bound > 0.0f ? sbt_rng_uniform_range(&r, -bound, bound) : fill;
}

static void init_values(sbt_model *m) {
    for (int i = 0; i < m->n_tensors; i++) init_tensor(m, &m->tensors[i]);
}

static sbt_status model_alloc(const sbt_config *cfg, sbt_model **out) {
    *out = NULL;
    sbt_status st = sbt_config_check(cfg);
    if (st) return st;
    tensor_table t = {0};
    st = build_table(cfg, &t);
    sbt_model *m = calloc(1, sizeof *m);
    if (!st && !m) st = sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    if (st) {
        free(t.items);
        free(m);
        return st;
    }
    m->cfg = *cfg;
    m->tensors = t.items;
    m->n_tensors = t.count;
    m->n_values = t.total;
    m->values = aligned_alloc(64, (size_t)(t.total + 16) * sizeof(float));
    m->grads = aligned_alloc(64, (size_t)(t.total + 16) * sizeof(float));
    if (!m->values || !m->grads) {
        sbt_model_free(m);
        return sbt_fail(SBT_ERR_NOMEM, "model: cannot allocate %lld parameters", (long long)t.total);
    }
    memset(m->values, 0, (size_t)(t.total + 16) * sizeof(float));
    memset(m->grads, 0, (size_t)(t.total + 16) * sizeof(float));
    *out = m;
    return SBT_OK;
}

sbt_status sbt_model_new(const sbt_config *cfg, sbt_model **out) {
    sbt_status st = model_alloc(cfg, out);
    if (st == SBT_OK) init_values(*out);
    return st;
}

static void free_names(char **names, int n) {
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

void sbt_model_free(sbt_model *m) {
    if (!m) return;
    free_names(m->class_names, m->cfg.outputs);
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
    free_names(m->class_names, m->cfg.outputs);
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

/* Class names travel as one text section, one name per line. */
static sbt_status add_class_names(const sbt_model *m, sbt_container *c) {
    if (!m->class_names) return SBT_OK;
    size_t len = 0;
    for (int i = 0; i < m->cfg.outputs; i++) len += strlen(m->class_names[i]) + 1;
    char *text = malloc(len + 1), *p = text;
    if (!text) return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    for (int i = 0; i < m->cfg.outputs; i++) p += sprintf(p, "%s\n", m->class_names[i]);
    sbt_status st = sbt_container_add(c, "class_names", SBT_SECTION_TEXT, 1, (int64_t[]){(int64_t)len}, text);
    free(text);
    return st;
}

sbt_status sbt_model_to_container(const sbt_model *m, sbt_container *c) {
    char text[1024];
    sbt_status st = sbt_config_to_text(&m->cfg, text, sizeof text);
    if (!st)
        st = sbt_container_add(c, "config", SBT_SECTION_TEXT, 1, (int64_t[]){(int64_t)strlen(text)}, text);
    if (!st) st = add_class_names(m, c);
    for (int i = 0; i < m->n_tensors && !st; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        if (ti->kind == SBT_TENSOR_FROZEN) continue; /* regenerated from the seed on load */
        st = sbt_container_add(c, ti->name, SBT_SECTION_F32, ti->ndim, ti->shape, m->values + ti->offset);
    }
    return st;
}

static sbt_status read_class_names(sbt_model *m, const sbt_container *c, const char *path) {
    const sbt_section *s = sbt_container_find(c, "class_names");
    if (!s) return SBT_OK;
    if (s->type != SBT_SECTION_TEXT)
        return sbt_fail(SBT_ERR_FORMAT, "%s: section 'class_names' is not text", path);
    char **names = calloc((size_t)m->cfg.outputs, sizeof(char *));
    if (!names) return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    const char *p = s->data;
    int n = 0;
    sbt_status st = SBT_OK;
    while (*p && n < m->cfg.outputs && !st) {
        const char *eol = strchr(p, '\n');
        if (!eol) break;
        names[n] = strndup(p, (size_t)(eol - p));
        if (!names[n++]) st = sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
        p = eol + 1;
    }
    if (!st && (n != m->cfg.outputs || *p))
        st = sbt_fail(SBT_ERR_FORMAT, "%s: 'class_names' does not hold %d names", path, m->cfg.outputs);
    if (st)
        free_names(names, m->cfg.outputs);
    else
        m->class_names = names;
    return st;
}

sbt_status sbt_model_from_container(const sbt_container *c, const char *path, sbt_model **out) {
    *out = NULL;
    const sbt_section *s = sbt_container_find(c, "config");
    if (!s || s->type != SBT_SECTION_TEXT)
        return sbt_fail(SBT_ERR_FORMAT, "%s: no 'config' text section", path);
    sbt_config cfg;
    sbt_status st = sbt_config_from_text(s->data, path, &cfg);
    sbt_model *m = NULL;
    if (!st) st = model_alloc(&cfg, &m);
    for (int i = 0; !st && i < m->n_tensors; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        const sbt_section *ts = NULL;
        if (ti->kind == SBT_TENSOR_FROZEN) {
            init_tensor(m, ti);
            continue;
        }
        st = sbt_container_expect(c, path, ti->name, SBT_SECTION_F32, ti->size, &ts);
        if (!st) memcpy(m->values + ti->offset, ts->data, (size_t)ti->size * sizeof(float));
    }
    if (!st) st = read_class_names(m, c, path);
    if (st) {
        sbt_model_free(m);
        return st;
    }
    *out = m;
    return SBT_OK;
}

sbt_status sbt_model_save(const sbt_model *m, const char *path) {
    sbt_container *c = sbt_container_new();
    if (!c) return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    sbt_status st = sbt_model_to_container(m, c);
    if (!st) st = sbt_container_write(c, path, "SBTM");
    sbt_container_free(c);
    return st;
}

sbt_status sbt_model_load(const char *path, sbt_model **out) {
    sbt_container *c = NULL;
    *out = NULL;
    sbt_status st = sbt_container_read(path, "SBTM", &c);
    if (!st) st = sbt_model_from_container(c, path, out);
    sbt_container_free(c);
    return st;
}
