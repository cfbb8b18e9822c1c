/* The text form of a graph description (formats/sbtm.md, section "graph"):
 *
 *     sbt-graph 1
 *     0 Input x dtype=f32 shape=B,T,12
 *     1 Param input.weight shape=64,12
 *     2 Linear input in=0,1
 *     3 Slice last in=2 axis=1 start=T-1 end=T
 *     output 3
 *
 * One node per line, in order; inputs by id. Leaves with data (params, state, stored
 * consts) are named only: the reader asks a resolver for their buffers. Floats are
 * written with 9 significant digits, which reads back to the same float. The reader
 * trusts nothing: every token is checked, and every node goes through the generic
 * constructor, so the shape rules check the graph as they would a built one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kvline.h"
#include "core/strbuf.h"
#include "graph/graph_internal.h"

#define GRAPH_TEXT_VERSION 1

static void put_dim(sbt_strbuf *t, sbt_dim d) {
    if (d.sym == SBT_SYM_NONE) {
        sbt_strbuf_printf(t, "%lld", (long long)d.n);
        return;
    }
    sbt_strbuf_printf(t, "%c", d.sym == SBT_SYM_BATCH ? 'B' : 'T');
    if (d.n) sbt_strbuf_printf(t, "%+lld", (long long)d.n);
}

static void put_dims(sbt_strbuf *t, const char *key, int ndim, const sbt_dim *dims) {
    sbt_strbuf_printf(t, " %s=", key);
    for (int i = 0; i < ndim; i++) {
        if (i) sbt_strbuf_printf(t, ",");
        put_dim(t, dims[i]);
    }
}

static void put_shape(sbt_strbuf *t, const sbt_node *n) {
    sbt_dim dims[SBT_MAX_DIMS];
    for (int i = 0; i < n->ndim; i++)
        dims[i] = n->op == SBT_OP_INPUT || n->op == SBT_OP_CONST ? n->dims[i] : sbt_dim_n(n->shape[i]);
    put_dims(t, "shape", n->ndim, dims);
}

static const char *const SPARSE_MODES[] = {"biprop", "prune", "binarize"};
static const char *const GENERATORS[] = {"none", "sinusoidal", "qkv_mask"};

static void put_attrs(sbt_strbuf *t, const sbt_node *n) {
    const sbt_attr *a = &n->attr;
    switch (n->op) {
    case SBT_OP_MATMUL:
        sbt_strbuf_printf(t, " trans_a=%d trans_b=%d", a->matmul.trans_a, a->matmul.trans_b);
        break;
    case SBT_OP_SCALE: sbt_strbuf_printf(t, " factor=%.9g", (double)a->scale.factor); break;
    case SBT_OP_TRANSPOSE:
        sbt_strbuf_printf(t, " perm=");
        for (int i = 0; i < n->ndim; i++) sbt_strbuf_printf(t, i ? ",%d" : "%d", a->transpose.perm[i]);
        break;
    case SBT_OP_RESHAPE: put_dims(t, "shape", a->reshape.ndim, a->reshape.shape); break;
    case SBT_OP_SLICE:
        sbt_strbuf_printf(t, " axis=%d", a->slice.axis);
        put_dims(t, "start", 1, &a->slice.start);
        put_dims(t, "end", 1, &a->slice.end);
        break;
    case SBT_OP_CONCAT:
    case SBT_OP_MEAN: sbt_strbuf_printf(t, " axis=%d", a->axis.axis); break;
    case SBT_OP_LAYERNORM: sbt_strbuf_printf(t, " eps=%.9g", (double)a->layernorm.eps); break;
    case SBT_OP_BATCHNORM:
        sbt_strbuf_printf(t, " eps=%.9g momentum=%.9g", (double)a->batchnorm.eps,
                          (double)a->batchnorm.momentum);
        break;
    case SBT_OP_DROPOUT:
        sbt_strbuf_printf(t, " p=%.9g seed=%llu", (double)a->dropout.p, (unsigned long long)a->dropout.seed);
        break;
    case SBT_OP_SPARSE_WEIGHT:
        sbt_strbuf_printf(t, " keep=%.9g alpha=%s mode=%s", (double)a->sparse.keep,
                          a->sparse.per_row_alpha ? "row" : "layer", SPARSE_MODES[a->sparse.mode]);
        break;
    case SBT_OP_STEP_T:
    case SBT_OP_STEP_T_LAST: sbt_strbuf_printf(t, " include_last=%d", a->step_t.include_last); break;
    default: break;
    }
}

static void put_node(sbt_strbuf *t, int id, const sbt_node *n) {
    sbt_strbuf_printf(t, "%d %s %s", id, sbt_op_name(n->op), n->name);
    if (n->op == SBT_OP_INPUT || n->op == SBT_OP_CONST)
        sbt_strbuf_printf(t, " dtype=%s", sbt_dtype_name(n->dtype));
    if (n->op == SBT_OP_INPUT || n->op == SBT_OP_PARAM || n->op == SBT_OP_STATE || n->op == SBT_OP_CONST)
        put_shape(t, n);
    if (n->op == SBT_OP_CONST && n->attr.constant.gen)
        sbt_strbuf_printf(t, " gen=%s seed=%llu which=%d keep=%.9g", GENERATORS[n->attr.constant.gen],
                          (unsigned long long)n->attr.constant.seed, n->attr.constant.which,
                          (double)n->attr.constant.keep);
    if (n->n_inputs) {
        sbt_strbuf_printf(t, " in=");
        for (int i = 0; i < n->n_inputs; i++) sbt_strbuf_printf(t, i ? ",%d" : "%d", n->inputs[i]);
    }
    put_attrs(t, n);
    sbt_strbuf_printf(t, "\n");
}

sbt_status sbt_graph_to_text(const sbt_graph *g, char **out) {
    *out = NULL;
    if (g->status != SBT_OK) return sbt_fail(g->status, "%s", g->error);
    sbt_strbuf t = {0};
    sbt_strbuf_printf(&t, "sbt-graph %d\n", GRAPH_TEXT_VERSION);
    for (int i = 0; i < g->count; i++) put_node(&t, i, &g->nodes[i]);
    for (int o = 0; o < g->n_outputs; o++) sbt_strbuf_printf(&t, "output %d\n", g->outputs[o]);
    if (t.failed || !t.buf) {
        free(t.buf);
        return sbt_fail(SBT_ERR_NOMEM, "graph: out of memory writing text");
    }
    *out = t.buf;
    return SBT_OK;
}

/* ---- reading ---- */

static sbt_status parse_dim(sbt_kvline *c, const char *key, const char *s, sbt_dim *d) {
    d->sym = *s == 'B' ? SBT_SYM_BATCH : *s == 'T' ? SBT_SYM_LENGTH : SBT_SYM_NONE;
    if (d->sym == SBT_SYM_NONE) return sbt_kv_parse_i64(c, key, s, -1, INT64_MAX / 4, &d->n);
    d->n = 0;
    return s[1] ? sbt_kv_parse_i64(c, key, s + 1, -(INT64_MAX / 4), INT64_MAX / 4, &d->n) : SBT_OK;
}

static sbt_status get_dims(sbt_kvline *c, const char *key, int *ndim, sbt_dim *dims) {
    const char *s = sbt_kv_get(c, key);
    if (!s || !*s) return sbt_kv_bad(c, "%s= is missing", key);
    char copy[256], *items[SBT_MAX_DIMS];
    snprintf(copy, sizeof copy, "%s", s);
    int n = sbt_kv_split_list(copy, items, SBT_MAX_DIMS);
    if (n < 1) return sbt_kv_bad(c, "%s=%s has more than %d dimensions", key, s, SBT_MAX_DIMS);
    for (int i = 0; i < n; i++) {
        sbt_status st = parse_dim(c, key, items[i], &dims[i]);
        if (st) return st;
    }
    *ndim = n;
    return SBT_OK;
}

static sbt_status get_int_list(sbt_kvline *c, const char *key, int max, int64_t lo, int64_t hi, int *n_out,
                               int *values) {
    const char *s = sbt_kv_get(c, key);
    if (!s || !*s) return sbt_kv_bad(c, "%s= is missing", key);
    char copy[256], *items[SBT_MAX_INPUTS];
    snprintf(copy, sizeof copy, "%s", s);
    int n = sbt_kv_split_list(copy, items, max);
    if (n < 1) return sbt_kv_bad(c, "%s=%s has more than %d items", key, s, max);
    for (int i = 0; i < n; i++) {
        int64_t v;
        sbt_status st = sbt_kv_parse_i64(c, key, items[i], lo, hi, &v);
        if (st) return st;
        values[i] = (int)v;
    }
    *n_out = n;
    return SBT_OK;
}

/* The attributes of op nodes, read back as put_attrs wrote them. */
static sbt_status read_attrs(sbt_kvline *c, sbt_op op, int rank, sbt_attr *a) {
    int64_t v = 0;
    sbt_status st = SBT_OK;
    int n = 0, mode = 0;
    switch (op) {
    case SBT_OP_MATMUL:
        st = sbt_kv_int(c, "trans_a", 0, 1, &v);
        a->matmul.trans_a = (int)v;
        if (!st) st = sbt_kv_int(c, "trans_b", 0, 1, &v);
        a->matmul.trans_b = (int)v;
        return st;
    case SBT_OP_SCALE: return sbt_kv_float(c, "factor", &a->scale.factor);
    case SBT_OP_TRANSPOSE:
        st = get_int_list(c, "perm", SBT_MAX_DIMS, 0, SBT_MAX_DIMS - 1, &n, a->transpose.perm);
        return st ? st : n == rank ? SBT_OK : sbt_kv_bad(c, "perm has %d axes for a rank-%d input", n, rank);
    case SBT_OP_RESHAPE: return get_dims(c, "shape", &a->reshape.ndim, a->reshape.shape);
    case SBT_OP_SLICE:
        st = sbt_kv_int(c, "axis", 0, SBT_MAX_DIMS - 1, &v);
        a->slice.axis = (int)v;
        if (!st) st = get_dims(c, "start", &n, &a->slice.start);
        if (!st && n != 1) st = sbt_kv_bad(c, "start is one dimension");
        if (!st) st = get_dims(c, "end", &n, &a->slice.end);
        return st || n == 1 ? st : sbt_kv_bad(c, "end is one dimension");
    case SBT_OP_CONCAT:
    case SBT_OP_MEAN:
        st = sbt_kv_int(c, "axis", 0, SBT_MAX_DIMS - 1, &v);
        a->axis.axis = (int)v;
        return st;
    case SBT_OP_LAYERNORM: return sbt_kv_float(c, "eps", &a->layernorm.eps);
    case SBT_OP_BATCHNORM:
        st = sbt_kv_float(c, "eps", &a->batchnorm.eps);
        return st ? st : sbt_kv_float(c, "momentum", &a->batchnorm.momentum);
    case SBT_OP_DROPOUT:
        st = sbt_kv_float(c, "p", &a->dropout.p);
        return st ? st : sbt_kv_u64(c, "seed", &a->dropout.seed);
    case SBT_OP_SPARSE_WEIGHT:
        st = sbt_kv_float(c, "keep", &a->sparse.keep);
        if (!st)
            st =
                sbt_kv_choice(c, "alpha", (const char *const[]){"layer", "row"}, 2, &a->sparse.per_row_alpha);
        if (!st) st = sbt_kv_choice(c, "mode", SPARSE_MODES, 3, &mode);
        a->sparse.mode = (sbt_sparse_mode)mode;
        return st;
    case SBT_OP_STEP_T:
    case SBT_OP_STEP_T_LAST:
        st = sbt_kv_int(c, "include_last", 0, 1, &v);
        a->step_t.include_last = (int)v;
        return st;
    default: return SBT_OK;
    }
}

static sbt_status literal_shape(sbt_kvline *c, int ndim, const sbt_dim *dims, int64_t *shape) {
    for (int i = 0; i < ndim; i++) {
        if (dims[i].sym != SBT_SYM_NONE || dims[i].n < 0)
            return sbt_kv_bad(c, "shape must be literal and non-negative");
        shape[i] = dims[i].n;
    }
    return SBT_OK;
}

static sbt_status read_dtype(sbt_kvline *c, sbt_dtype *dtype) {
    const char *names[SBT_DTYPE_COUNT];
    for (int t = 0; t < SBT_DTYPE_COUNT; t++) names[t] = sbt_dtype_name((sbt_dtype)t);
    int d = 0;
    sbt_status st = sbt_kv_choice(c, "dtype", names, SBT_DTYPE_COUNT, &d);
    *dtype = (sbt_dtype)d;
    return st;
}

typedef struct {
    sbt_leaf_resolver resolve;
    void *user;
} resolver;

/* A leaf line: its shape, and for data leaves the buffers the resolver gives. */
static sbt_status read_leaf(sbt_kvline *c, sbt_graph *g, sbt_op op, const char *name, const resolver *r) {
    sbt_dim dims[SBT_MAX_DIMS];
    int64_t shape[SBT_MAX_DIMS];
    int ndim = 0;
    sbt_dtype dtype = SBT_DTYPE_F32;
    sbt_status st = get_dims(c, "shape", &ndim, dims);
    if (!st && (op == SBT_OP_INPUT || op == SBT_OP_CONST)) st = read_dtype(c, &dtype);
    if (st) return st;
    if (op == SBT_OP_INPUT)
        return sbt_input_dims(g, name, dtype, ndim, dims) < 0 ? sbt_graph_status(g) : SBT_OK;
    const char *gen = op == SBT_OP_CONST ? sbt_kv_get(c, "gen") : NULL;
    if (gen) {
        sbt_attr a = {0};
        int kind = 0;
        int64_t w = 0;
        st = sbt_kv_choice(c, "gen", GENERATORS, 3, &kind);
        if (!st && kind == SBT_GEN_NONE) st = sbt_kv_bad(c, "gen=none");
        if (!st) st = sbt_kv_u64(c, "seed", &a.constant.seed);
        if (!st) st = sbt_kv_int(c, "which", 0, 2, &w);
        if (!st) st = sbt_kv_float(c, "keep", &a.constant.keep);
        if (!st && (ndim != 2 || dims[0].sym != SBT_SYM_LENGTH || dims[0].n || dims[1].sym || dims[1].n < 1))
            st = sbt_kv_bad(c, "a generated const has shape=T,width");
        if (st) return st;
        a.constant.gen = (sbt_const_gen)kind;
        a.constant.which = (int)w;
        return sbt_const_generated(g, name, &a, dims[1].n) < 0 ? sbt_graph_status(g) : SBT_OK;
    }
    if ((st = literal_shape(c, ndim, dims, shape))) return st;
    if (op == SBT_OP_CONST && dtype != SBT_DTYPE_F32) return sbt_kv_bad(c, "a stored const must be f32");
    float *value = NULL, *grad = NULL;
    if (!r->resolve)
        return sbt_kv_bad(c, "no tensor table to give %s '%.60s' its data", sbt_op_name(op), name);
    if ((st = r->resolve(r->user, name, op, ndim, shape, &value, &grad))) return st;
    int id = op == SBT_OP_PARAM   ? sbt_param(g, name, ndim, shape, value, grad)
             : op == SBT_OP_STATE ? sbt_state(g, name, ndim, shape, value)
                                  : sbt_const(g, name, SBT_DTYPE_F32, ndim, shape, value);
    return id < 0 ? sbt_graph_status(g) : SBT_OK;
}

static sbt_status read_op(sbt_kvline *c, sbt_graph *g, sbt_op op, const char *name, int id) {
    int inputs[SBT_MAX_INPUTS], n = 0;
    sbt_attr a = {0};
    sbt_status st = get_int_list(c, "in", SBT_MAX_INPUTS, 0, id - 1, &n, inputs);
    if (!st) st = read_attrs(c, op, g->nodes[inputs[0]].ndim, &a);
    if (st) return st;
    int got = sbt_graph_add(g, op, inputs, n, &a);
    return got < 0 || sbt_graph_name(g, got, name) < 0 ? sbt_graph_status(g) : SBT_OK;
}

typedef struct {
    sbt_graph *g;
    resolver r;
} reader;

static sbt_status read_line(sbt_kvline *c, char *line, void *user) {
    reader *rd = user;
    sbt_graph *g = rd->g;
    char *w[3];
    int n;
    sbt_status st = sbt_kv_tokenize(c, line, w, 3, &n);
    if (st) return st;
    if (n == 2 && !strcmp(w[0], "output") && c->n_kv == 0) {
        int64_t id;
        if ((st = sbt_kv_parse_i64(c, "output", w[1], 0, g->count - 1, &id))) return st;
        sbt_graph_mark_output(g, (int)id);
        return sbt_graph_status(g);
    }
    if (n != 3) return sbt_kv_bad(c, "expected 'id op name key=value...'");
    int64_t id;
    if ((st = sbt_kv_parse_i64(c, "id", w[0], g->count, g->count, &id))) return st;
    sbt_op op = sbt_op_from_name(w[1]);
    if (op == SBT_OP_COUNT) return sbt_kv_bad(c, "unknown op '%.40s'", w[1]);
    int leaf = op == SBT_OP_INPUT || op == SBT_OP_PARAM || op == SBT_OP_STATE || op == SBT_OP_CONST;
    st = leaf ? read_leaf(c, g, op, w[2], &rd->r) : read_op(c, g, op, w[2], (int)id);
    if (st) return st == SBT_ERR_FORMAT ? st : sbt_kv_bad(c, "%s", sbt_last_error());
    return sbt_kv_check_all_used(c, w[1]);
}

sbt_status sbt_graph_from_text(const char *text, const char *source, sbt_leaf_resolver resolve, void *user,
                               sbt_graph **out) {
    *out = NULL;
    sbt_kvline c = {.source = source, .section = "graph"};
    char *copy = strdup(text ? text : "");
    reader rd = {sbt_graph_new(), {resolve, user}};
    if (!copy || !rd.g) {
        free(copy);
        sbt_graph_free(rd.g);
        return sbt_fail(SBT_ERR_NOMEM, "graph: out of memory");
    }
    char header[32];
    snprintf(header, sizeof header, "sbt-graph %d", GRAPH_TEXT_VERSION);
    sbt_status st = sbt_kv_each_line(&c, copy, header, read_line, &rd);
    if (!st && rd.g->count == 0) st = sbt_kv_bad(&c, "no nodes");
    free(copy);
    if (st) {
        sbt_graph_free(rd.g);
        return st;
    }
    *out = rd.g;
    return SBT_OK;
}
