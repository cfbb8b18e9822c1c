/* Model files (formats/sbtm.md): a container with magic "SBTM".
 *
 * Version 2: sections "meta" (format and kind), "config", "class_names", "tensors" (the
 * tensor table: kind, shape, provenance), "graph" (the description, graph text) and one
 * float32 section per stored tensor. Seeded tensors are not stored; they are drawn
 * again from their recorded provenance.
 * Version 1 (no "graph"): the config and the tensors of the native encoder; loading
 * rebuilds the graph from the config.
 *
 * Every count is checked against the sections before anything is allocated, so a small
 * file cannot make the loader allocate what it does not hold. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kvline.h"
#include "model/model_internal.h"

#define MODEL_FORMAT 2
/* Seeded tensors take no file space, so their size is bounded on its own: 2^28 values
 * (1 GiB) is far above any model this library trains. */
#define MAX_SEEDED_VALUES (INT64_C(1) << 28)

static const char *const KIND_NAMES[] = {"param", "state", "frozen"};

/* ---- writing ---- */

static sbt_status add_text(sbt_container *c, const char *name, const char *text) {
    return sbt_container_add(c, name, SBT_SECTION_TEXT, 1, (int64_t[]){(int64_t)strlen(text)}, text);
}

/* Class names travel as one text section, one name per line. */
static sbt_status add_class_names(const sbt_model *m, sbt_container *c) {
    if (!m->class_names) return SBT_OK;
    size_t len = 0;
    for (int i = 0; i < m->cfg.outputs; i++) len += strlen(m->class_names[i]) + 1;
    char *text = malloc(len + 1), *p = text;
    if (!text) return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    for (int i = 0; i < m->cfg.outputs; i++) p += sprintf(p, "%s\n", m->class_names[i]);
    sbt_status st = add_text(c, "class_names", text);
    free(text);
    return st;
}

static int is_seeded(const sbt_tensor_info *ti) {
    return ti->kind == SBT_TENSOR_FROZEN && ti->provenance == SBT_PROV_SEEDED;
}

/* One line per tensor: "name kind=... shape=a,b source=stored|seeded [seeded fields]". */
static char *tensor_table_text(const sbt_model *m) {
    size_t cap = 64 + (size_t)m->n_tensors * (SBT_NAME_MAX + 256);
    char *text = malloc(cap);
    if (!text) return NULL;
    size_t len = (size_t)snprintf(text, cap, "sbt-tensors 1\n");
    for (int i = 0; i < m->n_tensors; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        len += (size_t)snprintf(text + len, cap - len, "%s kind=%s shape=", ti->name, KIND_NAMES[ti->kind]);
        for (int d = 0; d < ti->ndim; d++)
            len += (size_t)snprintf(text + len, cap - len, d ? ",%" PRId64 : "%" PRId64, ti->shape[d]);
        if (is_seeded(ti))
            len += (size_t)snprintf(text + len, cap - len,
                                    " source=seeded generator=%s/%d seed=%" PRIu64 " stream=%" PRIu64
                                    " dist=uniform lo=%.9g hi=%.9g\n",
                                    SBT_RNG_GENERATOR, SBT_RNG_GENERATOR_VERSION, ti->seed, ti->stream,
                                    (double)ti->lo, (double)ti->hi);
        else
            len += (size_t)snprintf(text + len, cap - len, " source=stored\n");
    }
    return text;
}

sbt_status sbt_model_to_container(const sbt_model *m, sbt_container *c) {
    char text[1024], meta[64];
    if (!m->graph) return sbt_fail(SBT_ERR_ARG, "model: no graph to save");
    snprintf(meta, sizeof meta, "format=%d\nnative=%d\n", MODEL_FORMAT, m->native);
    sbt_status st = add_text(c, "meta", meta);
    if (!st) st = sbt_config_to_text(&m->cfg, text, sizeof text);
    if (!st) st = add_text(c, "config", text);
    if (!st) st = add_class_names(m, c);
    char *tensors = st ? NULL : tensor_table_text(m), *graph = NULL;
    if (!st && !tensors) st = sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    if (!st) st = add_text(c, "tensors", tensors);
    if (!st) st = sbt_graph_to_text(m->graph, &graph);
    if (!st) st = add_text(c, "graph", graph);
    free(tensors);
    free(graph);
    for (int i = 0; i < m->n_tensors && !st; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        if (is_seeded(ti)) continue; /* drawn again on load */
        st = sbt_container_add(c, ti->name, SBT_SECTION_F32, ti->ndim, ti->shape, m->values + ti->offset);
    }
    return st;
}

/* ---- reading ---- */

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
        sbt_free_names(names, m->cfg.outputs);
    else
        m->class_names = names;
    return st;
}

static sbt_status read_text(const sbt_container *c, const char *path, const char *name,
                            const sbt_section **out) {
    const sbt_section *s = sbt_container_find(c, name);
    if (!s || s->type != SBT_SECTION_TEXT)
        return sbt_fail(SBT_ERR_FORMAT, "%s: no '%s' text section", path, name);
    *out = s;
    return SBT_OK;
}

/* Every stored tensor has its section, of its size, before anything is allocated. */
static sbt_status check_stored(const sbt_tensor_table *t, const sbt_container *c, const char *path) {
    int64_t seeded = 0;
    for (int i = 0; i < t->count; i++) {
        const sbt_tensor_info *ti = &t->items[i];
        if (is_seeded(ti)) {
            seeded += ti->size;
            if (seeded > MAX_SEEDED_VALUES)
                return sbt_fail(SBT_ERR_FORMAT, "%s: seeded tensors hold more than %" PRId64 " values", path,
                                MAX_SEEDED_VALUES);
            continue;
        }
        sbt_status st = sbt_container_expect(c, path, ti->name, SBT_SECTION_F32, ti->size, NULL);
        if (st) return st;
    }
    return SBT_OK;
}

static void copy_stored(sbt_model *m, const sbt_container *c) {
    for (int i = 0; i < m->n_tensors; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        if (is_seeded(ti))
            sbt_tensor_draw(ti, m->values + ti->offset);
        else
            memcpy(m->values + ti->offset, sbt_container_find(c, ti->name)->data,
                   (size_t)ti->size * sizeof(float));
    }
}

/* Version 1: the native encoder of the stored config. */
static sbt_status load_v1(const sbt_container *c, const char *path, const sbt_config *cfg, sbt_model **out) {
    sbt_tensor_table t;
    sbt_status st = sbt_model_table_of_config(cfg, &t);
    if (!st) st = check_stored(&t, c, path);
    if (st) {
        free(t.items);
        return st;
    }
    sbt_model *m = NULL;
    if ((st = sbt_model_alloc(&t, &m))) return st;
    m->cfg = *cfg;
    m->native = 1;
    copy_stored(m, c);
    st = sbt_model_build_graph(m);
    if (st) sbt_model_free(m);
    *out = st ? NULL : m;
    return st;
}

typedef struct {
    sbt_tensor_table *t;
} table_reader;

static sbt_status read_shape(sbt_kvline *c, int *ndim, int64_t *shape) {
    const char *s = sbt_kv_get(c, "shape");
    char copy[256], *items[SBT_MAX_DIMS];
    if (!s) return sbt_kv_bad(c, "shape= is missing");
    snprintf(copy, sizeof copy, "%s", s);
    int n = sbt_kv_split_list(copy, items, SBT_MAX_DIMS);
    if (n < 1) return sbt_kv_bad(c, "shape=%s has more than %d dimensions", s, SBT_MAX_DIMS);
    for (int i = 0; i < n; i++) {
        sbt_status st = sbt_kv_parse_i64(c, "shape", items[i], 0, INT64_C(1) << 40, &shape[i]);
        if (st) return st;
    }
    *ndim = n;
    return SBT_OK;
}

static sbt_status read_seeded(sbt_kvline *c, sbt_tensor_info *ti) {
    char generator[32];
    snprintf(generator, sizeof generator, "%s/%d", SBT_RNG_GENERATOR, SBT_RNG_GENERATOR_VERSION);
    int unused;
    sbt_status st = sbt_kv_choice(c, "generator", (const char *const[]){generator}, 1, &unused);
    if (!st) st = sbt_kv_choice(c, "dist", (const char *const[]){"uniform"}, 1, &unused);
    if (!st) st = sbt_kv_u64(c, "seed", &ti->seed);
    if (!st) st = sbt_kv_u64(c, "stream", &ti->stream);
    if (!st) st = sbt_kv_float(c, "lo", &ti->lo);
    if (!st) st = sbt_kv_float(c, "hi", &ti->hi);
    if (!st && !(ti->lo < ti->hi)) st = sbt_kv_bad(c, "lo must be below hi");
    if (!st && ti->kind != SBT_TENSOR_FROZEN) st = sbt_kv_bad(c, "only a frozen tensor can be seeded");
    if (!st) ti->provenance = SBT_PROV_SEEDED;
    return st;
}

static sbt_status read_tensor_line(sbt_kvline *c, char *line, void *user) {
    sbt_tensor_table *t = ((table_reader *)user)->t;
    char *w[1];
    int n, kind = 0, source = 0, ndim = 0;
    int64_t shape[SBT_MAX_DIMS];
    sbt_status st = sbt_kv_tokenize(c, line, w, 1, &n);
    if (!st && n != 1) st = sbt_kv_bad(c, "expected 'name key=value...'");
    if (!st) st = sbt_kv_choice(c, "kind", KIND_NAMES, 3, &kind);
    if (!st) st = read_shape(c, &ndim, shape);
    if (!st) st = sbt_kv_choice(c, "source", (const char *const[]){"stored", "seeded"}, 2, &source);
    for (int i = 0; !st && i < t->count; i++)
        if (!strcmp(t->items[i].name, w[0])) st = sbt_kv_bad(c, "tensor '%.60s' listed twice", w[0]);
    if (!st) st = sbt_table_add(t, (sbt_tensor_kind)kind, ndim, shape, "%s", w[0]);
    if (st) return st == SBT_ERR_FORMAT ? st : sbt_kv_bad(c, "%s", sbt_last_error());
    if (source == 1 && (st = read_seeded(c, &t->items[t->count - 1]))) return st;
    return sbt_kv_check_all_used(c, "a tensor");
}

static sbt_status read_tensor_table(const char *text, const char *path, sbt_tensor_table *t) {
    memset(t, 0, sizeof *t);
    char *copy = strdup(text);
    if (!copy) return sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    sbt_kvline c = {.source = path, .section = "tensors"};
    table_reader r = {t};
    sbt_status st = sbt_kv_each_line(&c, copy, "sbt-tensors 1", read_tensor_line, &r);
    free(copy);
    if (st) {
        free(t->items);
        memset(t, 0, sizeof *t);
    }
    return st;
}

typedef struct {
    sbt_model *m;
    const char *path;
} binder;

/* The graph's leaves are the model's tensors, of the same shape; trained ones bring
 * their gradient buffer. */
static sbt_status resolve_leaf(void *user, const char *name, sbt_op kind, int ndim, const int64_t *shape,
                               float **value, float **grad) {
    binder *b = user;
    const sbt_tensor_info *ti = sbt_model_tensor(b->m, name);
    if (!ti)
        return sbt_fail(SBT_ERR_FORMAT, "%s: the graph uses tensor '%s', which the table lacks", b->path,
                        name);
    int same = ti->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = ti->shape[i] == shape[i];
    if (!same)
        return sbt_fail(SBT_ERR_FORMAT, "%s: tensor '%s' has another shape in the graph", b->path, name);
    if ((kind == SBT_OP_STATE) != (ti->kind == SBT_TENSOR_STATE) && kind != SBT_OP_CONST)
        return sbt_fail(SBT_ERR_FORMAT, "%s: tensor '%s' is %s in the table but a %s in the graph", b->path,
                        name, KIND_NAMES[ti->kind], sbt_op_name(kind));
    *value = b->m->values + ti->offset;
    *grad = kind == SBT_OP_PARAM && ti->kind == SBT_TENSOR_PARAM ? b->m->grads + ti->offset : NULL;
    return SBT_OK;
}

static sbt_status read_meta(const sbt_container *c, const char *path, int *native) {
    const sbt_section *s = NULL;
    sbt_status st = read_text(c, path, "meta", &s);
    if (st) return st;
    int format = 0;
    if (sscanf(s->data, "format=%d\nnative=%d\n", &format, native) != 2 || (*native != 0 && *native != 1))
        return sbt_fail(SBT_ERR_FORMAT, "%s: section 'meta' is not 'format=N native=0|1'", path);
    if (format != MODEL_FORMAT)
        return sbt_fail(SBT_ERR_FORMAT, "%s: model format %d; this library reads 1 and %d", path, format,
                        MODEL_FORMAT);
    return SBT_OK;
}

static sbt_status load_v2(const sbt_container *c, const char *path, const sbt_config *cfg, sbt_model **out) {
    const sbt_section *tensors = NULL, *graph = NULL;
    int native = 0;
    sbt_status st = read_meta(c, path, &native);
    if (!st) st = read_text(c, path, "tensors", &tensors);
    if (!st) st = read_text(c, path, "graph", &graph);
    sbt_tensor_table t = {0};
    if (!st) st = read_tensor_table(tensors->data, path, &t);
    if (!st) st = check_stored(&t, c, path);
    sbt_model *m = NULL;
    if (!st) st = sbt_model_alloc(&t, &m);
    free(t.items); /* emptied by sbt_model_alloc unless it failed earlier */
    if (st) return st;
    m->cfg = *cfg;
    m->native = native;
    copy_stored(m, c);
    binder b = {m, path};
    st = sbt_graph_from_text(graph->data, path, resolve_leaf, &b, &m->graph);
    if (st) {
        sbt_model_free(m);
        return st;
    }
    *out = m;
    return SBT_OK;
}

sbt_status sbt_model_from_container(const sbt_container *c, const char *path, sbt_model **out) {
    *out = NULL;
    const sbt_section *s = NULL;
    sbt_config cfg;
    sbt_status st = read_text(c, path, "config", &s);
    if (!st) st = sbt_config_from_text(s->data, path, &cfg);
    if (st) return st;
    st = sbt_container_find(c, "graph") ? load_v2(c, path, &cfg, out) : load_v1(c, path, &cfg, out);
    if (!st) st = read_class_names(*out, c, path);
    if (st) {
        sbt_model_free(*out);
        *out = NULL;
    }
    return st;
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
