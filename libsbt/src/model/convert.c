/* Converting trained float layers to sparse (binary) ones: a new tensor table (the
 * chosen weights frozen and stored, new scores), new buffers, and the graph copied node
 * by node with a sparse-weight node inserted before each chosen Linear. */
#include "sbt/convert.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "sbt/biprop.h"
#include "sbt/rng.h"

sbt_sparsify_options sbt_sparsify_defaults(void) {
    sbt_sparsify_options o = {.keep = 0.5f, .mode = SBT_SPARSE_BIPROP};
    return o;
}

/* What happens to one Linear node. */
typedef enum { LEAVE = 0, CONVERT, CHANGE_MODE } action;

typedef struct {
    const sbt_sparsify_options *o;
    sbt_model *m;
    action *act; /* per node of m->graph */
    float *keep; /* per node: the keep of a converted layer */
    int n_convert, n_change;
} plan;

static const sbt_tensor_info *tensor_of(const sbt_model *m, const sbt_node *leaf) {
    return leaf->op == SBT_OP_PARAM ? sbt_model_tensor(m, leaf->name) : NULL;
}

static int chosen(const sbt_sparsify_options *o, const sbt_node *linear) {
    return !o->layers || fnmatch(o->layers, linear->name, 0) == 0;
}

/* Marks each chosen Linear: a trained float weight is converted; a pruned one asked for
 * another mode changes mode. */
static void find_layers(plan *p) {
    const sbt_graph *g = p->m->graph;
    for (int i = 0; i < g->count; i++) {
        const sbt_node *n = &g->nodes[i];
        if (n->op != SBT_OP_LINEAR || !chosen(p->o, n)) continue;
        const sbt_node *w = &g->nodes[n->inputs[1]];
        const sbt_tensor_info *ti = tensor_of(p->m, w);
        if (ti && ti->kind == SBT_TENSOR_PARAM && ti->ndim == 2) {
            p->act[i] = CONVERT;
            p->keep[i] = p->o->keep;
            p->n_convert++;
        } else if (w->op == SBT_OP_SPARSE_WEIGHT && w->attr.sparse.mode == SBT_SPARSE_PRUNE &&
                   p->o->mode != SBT_SPARSE_PRUNE) {
            p->act[i] = CHANGE_MODE;
            p->n_change++;
        }
    }
}

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* Global scope: one magnitude threshold over every converted layer; each layer keeps
 * what is at or above it. */
static sbt_status global_keeps(plan *p) {
    const sbt_graph *g = p->m->graph;
    int64_t total = 0;
    for (int i = 0; i < g->count; i++)
        if (p->act[i] == CONVERT) total += g->nodes[g->nodes[i].inputs[1]].size;
    float *all = malloc((size_t)total * sizeof(float));
    if (!all) return sbt_fail(SBT_ERR_NOMEM, "convert: out of memory");
    int64_t k = 0;
    for (int i = 0; i < g->count; i++) {
        if (p->act[i] != CONVERT) continue;
        const sbt_node *w = &g->nodes[g->nodes[i].inputs[1]];
        for (int64_t j = 0; j < w->size; j++) all[k++] = fabsf(w->value[j]);
    }
    qsort(all, (size_t)total, sizeof(float), cmp_desc);
    float threshold = all[sbt_biprop_keep_count(p->o->keep, total) - 1];
    free(all);
    for (int i = 0; i < g->count; i++) {
        if (p->act[i] != CONVERT) continue;
        const sbt_node *w = &g->nodes[g->nodes[i].inputs[1]];
        int64_t kept = 0;
        for (int64_t j = 0; j < w->size; j++) kept += fabsf(w->value[j]) >= threshold;
        p->keep[i] = kept > 0 ? (float)((double)kept / (double)w->size) : 1.0f / (float)w->size;
    }
    return SBT_OK;
}

/* "<x>.weight" -> "<x>.scores"; otherwise "<name>.scores". */
static void scores_name(const char *weight, char *out, size_t cap) {
    size_t n = strlen(weight), k = strlen(".weight");
    if (n > k && !strcmp(weight + n - k, ".weight"))
        snprintf(out, cap, "%.*s.scores", (int)(n - k), weight);
    else
        snprintf(out, cap, "%s.scores", weight);
}

/* The old table with converted weights frozen (stored), plus the new scores. */
static sbt_status new_table(const plan *p, sbt_tensor_table *t) {
    const sbt_model *m = p->m;
    const sbt_graph *g = m->graph;
    sbt_status st = SBT_OK;
    memset(t, 0, sizeof *t);
    for (int i = 0; i < m->n_tensors && !st; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        st = sbt_table_add(t, ti->kind, ti->ndim, ti->shape, "%s", ti->name);
        if (!st) {
            int64_t offset = t->items[t->count - 1].offset;
            t->items[t->count - 1] = *ti;
            t->items[t->count - 1].offset = offset;
        }
    }
    for (int i = 0; i < g->count && !st; i++) {
        if (p->act[i] != CONVERT) continue;
        const sbt_node *w = &g->nodes[g->nodes[i].inputs[1]];
        for (int k = 0; k < t->count; k++)
            if (!strcmp(t->items[k].name, w->name)) t->items[k].kind = SBT_TENSOR_FROZEN;
        if (p->o->mode == SBT_SPARSE_BINARIZE) continue;
        char name[SBT_NAME_MAX + 16];
        scores_name(w->name, name, sizeof name);
        if (sbt_model_tensor(m, name))
            return sbt_fail(SBT_ERR_ARG, "convert: a tensor named %s exists already", name);
        st = sbt_table_add(t, SBT_TENSOR_PARAM, 2, w->shape, "%s", name);
    }
    if (st) free(t->items);
    return st;
}

/* Values of the new model: the old ones, and each converted layer's scores: |W| (or
 * seeded uniform for random pruning). */
static void fill_values(const plan *p, sbt_model *nm) {
    const sbt_model *m = p->m;
    const sbt_graph *g = m->graph;
    for (int i = 0; i < m->n_tensors; i++)
        memcpy(nm->values + nm->tensors[i].offset, m->values + m->tensors[i].offset,
               (size_t)m->tensors[i].size * sizeof(float));
    for (int i = 0; i < g->count && p->o->mode != SBT_SPARSE_BINARIZE; i++) {
        if (p->act[i] != CONVERT) continue;
        const sbt_node *w = &g->nodes[g->nodes[i].inputs[1]];
        char name[SBT_NAME_MAX + 16];
        scores_name(w->name, name, sizeof name);
        float *s = sbt_model_data(nm, name);
        sbt_rng r;
        sbt_rng_seed(&r, sbt_rng_derive(p->o->seed, sbt_rng_stream_key(name)));
        for (int64_t k = 0; k < w->size; k++)
            s[k] = p->o->random_scores ? sbt_rng_uniform(&r) : fabsf(w->value[k]);
    }
}

/* A leaf of the old graph, bound to the new model's buffers by name. */
static int copy_leaf(sbt_graph *ng, const sbt_node *src, sbt_model *nm) {
    const sbt_tensor_info *ti =
        src->op == SBT_OP_PARAM || src->op == SBT_OP_STATE ? sbt_model_tensor(nm, src->name) : NULL;
    if (!ti) return sbt_graph_copy_node(ng, src, NULL, src->value, NULL);
    float *grad = ti->kind == SBT_TENSOR_PARAM ? nm->grads + ti->offset : NULL;
    return sbt_graph_copy_node(ng, src, NULL, nm->values + ti->offset, grad);
}

/* The sparse weight of a converted Linear: scores (new param) and W, then the Linear. */
static int converted_linear(sbt_graph *ng, const plan *p, int i, const int *map, sbt_model *nm) {
    const sbt_node *lin = &p->m->graph->nodes[i], *w = &p->m->graph->nodes[lin->inputs[1]];
    int scores = -1;
    if (p->o->mode != SBT_SPARSE_BINARIZE) {
        char name[SBT_NAME_MAX + 16];
        scores_name(w->name, name, sizeof name);
        const sbt_tensor_info *ti = sbt_model_tensor(nm, name);
        scores = sbt_param(ng, name, 2, ti->shape, nm->values + ti->offset, nm->grads + ti->offset);
    }
    int sparse =
        sbt_sparse_weight(ng, scores, map[lin->inputs[1]], p->keep[i], p->o->per_row_alpha, p->o->mode);
    char name[SBT_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s.effective_weight", lin->name);
    if (strlen(name) <= SBT_NAME_MAX) sbt_graph_name(ng, sparse, name);
    int bias = lin->n_inputs == 3 ? map[lin->inputs[2]] : -1;
    return sbt_graph_name(ng, sbt_linear(ng, map[lin->inputs[0]], sparse, bias), lin->name);
}

/* 1 when sparse-weight node i is the weight of a Linear whose mode changes. */
static int feeds_changed_layer(const plan *p, int i) {
    const sbt_graph *g = p->m->graph;
    for (int k = i + 1; k < g->count; k++)
        if (p->act[k] == CHANGE_MODE && g->nodes[k].inputs[1] == i) return 1;
    return 0;
}

static sbt_status new_graph(const plan *p, sbt_model *nm, sbt_graph **out) {
    const sbt_graph *g = p->m->graph;
    sbt_graph *ng = sbt_graph_new();
    int *map = malloc((size_t)g->count * sizeof *map);
    if (!ng || !map) {
        sbt_graph_free(ng);
        free(map);
        return sbt_fail(SBT_ERR_NOMEM, "convert: out of memory");
    }
    memcpy(ng->bound, g->bound, sizeof ng->bound);
    for (int i = 0; i < g->count; i++) {
        const sbt_node *src = &g->nodes[i];
        if (p->act[i] == CONVERT) {
            map[i] = converted_linear(ng, p, i, map, nm);
        } else if (src->op == SBT_OP_INPUT || src->op == SBT_OP_PARAM || src->op == SBT_OP_STATE ||
                   src->op == SBT_OP_CONST) {
            map[i] = copy_leaf(ng, src, nm);
        } else {
            sbt_node copy = *src;
            if (src->op == SBT_OP_SPARSE_WEIGHT && feeds_changed_layer(p, i)) {
                /* binarizing a pruned layer is alpha * sign(W) over its mask: Biprop with its scores */
                copy.attr.sparse.mode = SBT_SPARSE_BIPROP;
                copy.attr.sparse.per_row_alpha = p->o->per_row_alpha;
            }
            map[i] = sbt_graph_copy_node(ng, &copy, map, NULL, NULL);
        }
        if (map[i] < 0) break;
    }
    for (int o = 0; o < g->n_outputs && ng->status == SBT_OK; o++)
        sbt_graph_mark_output(ng, map[g->outputs[o]]);
    free(map);
    sbt_status st = sbt_graph_status(ng);
    if (st) {
        sbt_graph_free(ng);
        return st;
    }
    *out = ng;
    return SBT_OK;
}

/* Moves nm's table, buffers and graph into m (m keeps its metadata). */
static void adopt(sbt_model *m, sbt_model *nm, sbt_graph *ng, const sbt_sparsify_options *o) {
    sbt_graph_free(m->graph);
    free(m->tensors);
    free(m->values);
    free(m->grads);
    m->graph = ng;
    m->tensors = nm->tensors;
    m->n_tensors = nm->n_tensors;
    m->n_values = nm->n_values;
    m->values = nm->values;
    m->grads = nm->grads;
    m->native = 0;
    m->cfg.weights = SBT_WEIGHTS_SBT;
    m->cfg.keep = o->mode == SBT_SPARSE_BINARIZE ? m->cfg.keep : o->keep;
    m->cfg.alpha_per_row = o->per_row_alpha;
    nm->tensors = NULL;
    nm->values = nm->grads = NULL;
    nm->graph = NULL;
    sbt_model_free(nm);
}

sbt_status sbt_model_sparsify(sbt_model *m, const sbt_sparsify_options *o, int *layers) {
    if (layers) *layers = 0;
    if (!m->graph) return sbt_fail(SBT_ERR_ARG, "convert: the model has no graph");
    if (o->mode != SBT_SPARSE_BINARIZE && !(o->keep > 0.0f && o->keep <= 1.0f))
        return sbt_fail(SBT_ERR_ARG, "convert: keep = %g is outside (0, 1]", o->keep);
    plan p = {.o = o, .m = m};
    p.act = calloc((size_t)m->graph->count, sizeof *p.act);
    p.keep = calloc((size_t)m->graph->count, sizeof *p.keep);
    sbt_status st = p.act && p.keep ? SBT_OK : sbt_fail(SBT_ERR_NOMEM, "convert: out of memory");
    if (!st) find_layers(&p);
    if (!st && p.n_convert + p.n_change == 0)
        st = sbt_fail(SBT_ERR_ARG, "convert: no Linear layer with trained float weights%s%s",
                      o->layers ? " matches " : "", o->layers ? o->layers : "");
    if (!st && o->global && o->mode != SBT_SPARSE_BINARIZE) st = global_keeps(&p);
    sbt_tensor_table t = {0};
    sbt_model *nm = NULL;
    sbt_graph *ng = NULL;
    if (!st) st = new_table(&p, &t);
    if (!st) st = sbt_model_alloc(&t, &nm);
    if (!st) {
        fill_values(&p, nm);
        st = new_graph(&p, nm, &ng);
    }
    if (!st) {
        adopt(m, nm, ng, o);
        if (layers) *layers = p.n_convert + p.n_change;
    } else {
        sbt_model_free(nm);
    }
    free(p.act);
    free(p.keep);
    return st;
}
