/* onnx_export.c - an sbt graph (native or imported) written as an ONNX ModelProto
 * (opset 17) through protobuf-c.
 *
 * Only the nodes the output depends on are written, with the shapes the graph was
 * built for. Parameters become float32 initializers, except, with opt.ternary, the
 * weight of a Linear whose values are {-a, 0, +a} (one a per layer or per output row,
 * as sparse-binary weights are): int8 codes {-1, 0, 1} and the scale, through
 * DequantizeLinear - a quarter of the bytes. A sparse-weight node is written as the
 * effective weight it computes (a forward is run once to have it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.pb-c.h"
#include "sbt/container.h"
#include "sbt/onnx.h"

#define EXPORT_OPSET 17

typedef struct exporter {
    sbt_graph *g;
    const sbt_onnx_export_options *opt;
    Onnx__NodeProto **nodes;
    size_t n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
    void **owned; /* every allocation, freed after packing */
    size_t n_owned, cap_owned;
    int failed;
    sbt_onnx_export_stats *stats;
} exporter;

static void *own(exporter *ex, void *p) {
    if (!p) {
        ex->failed = 1;
        return NULL;
    }
    if (ex->n_owned == ex->cap_owned) {
        size_t cap = ex->cap_owned ? 2 * ex->cap_owned : 256;
        void **o = realloc(ex->owned, cap * sizeof *o);
        if (!o) {
            free(p);
            ex->failed = 1;
            return NULL;
        }
        ex->owned = o;
        ex->cap_owned = cap;
    }
    return ex->owned[ex->n_owned++] = p;
}

static void *alloc(exporter *ex, size_t bytes) { return own(ex, calloc(1, bytes ? bytes : 1)); }

static char *str(exporter *ex, const char *fmt, const char *s, int id) {
    char buf[SBT_NAME_MAX + 32];
    snprintf(buf, sizeof buf, fmt, s, id);
    char *p = alloc(ex, strlen(buf) + 1);
    if (p) strcpy(p, buf);
    return p;
}

/* Name of the value of graph node `id`. */
static char *value_name(exporter *ex, int id) { return str(ex, "%s_%d", sbt_node_name(ex->g, id), id); }

static void push(exporter *ex, void ***arr, size_t *n, size_t *cap, void *item) {
    if (!item) return;
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        void **a = realloc(*arr, c * sizeof *a);
        if (!a) {
            ex->failed = 1;
            return;
        }
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = item;
}

static Onnx__TensorProto *tensor(exporter *ex, const char *name, int32_t type, int ndim, const int64_t *dims,
                                 const void *data, size_t bytes) {
    Onnx__TensorProto *t = alloc(ex, sizeof *t);
    if (!t) return NULL;
    onnx__tensor_proto__init(t);
    t->name = str(ex, "%s%.0d", name, 0);
    t->has_data_type = 1;
    t->data_type = type;
    t->n_dims = (size_t)ndim;
    t->dims = alloc(ex, (size_t)(ndim ? ndim : 1) * sizeof *dims);
    if (t->dims && ndim) memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = alloc(ex, bytes);
    if (t->raw_data.data && bytes) memcpy(t->raw_data.data, data, bytes); /* little-endian hosts only */
    push(ex, (void ***)&ex->inits, &ex->n_inits, &ex->cap_inits, t);
    ex->stats->initializer_bytes += bytes;
    return t;
}

static char *float_init(exporter *ex, const char *name, int ndim, const int64_t *dims, const float *data) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d];
    Onnx__TensorProto *t =
        tensor(ex, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, ndim, dims, data, (size_t)n * 4);
    return t ? t->name : NULL;
}

static char *int64_init(exporter *ex, const char *name, int n, const int64_t *data) {
    int64_t dims[1] = {n};
    Onnx__TensorProto *t =
        tensor(ex, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, dims, data, (size_t)n * 8);
    return t ? t->name : NULL;
}

static char *scalar_init(exporter *ex, const char *name, float v) {
    return float_init(ex, name, 0, NULL, &v);
}

static Onnx__AttributeProto *attr_new(exporter *ex, const char *name,
                                      Onnx__AttributeProto__AttributeType type) {
    Onnx__AttributeProto *a = alloc(ex, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = str(ex, "%s%.0d", name, 0);
    a->has_type = 1;
    a->type = type;
    return a;
}

static Onnx__AttributeProto *attr_int(exporter *ex, const char *name, int64_t v) {
    Onnx__AttributeProto *a = attr_new(ex, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) a->has_i = 1, a->i = v;
    return a;
}

static Onnx__AttributeProto *attr_float(exporter *ex, const char *name, float v) {
    Onnx__AttributeProto *a = attr_new(ex, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) a->has_f = 1, a->f = v;
    return a;
}

static Onnx__AttributeProto *attr_ints(exporter *ex, const char *name, int n, const int64_t *v) {
    Onnx__AttributeProto *a = attr_new(ex, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    if (!a) return NULL;
    a->n_ints = (size_t)n;
    a->ints = alloc(ex, (size_t)n * sizeof *v);
    if (a->ints) memcpy(a->ints, v, (size_t)n * sizeof *v);
    return a;
}

/* Appends node `op` with the given inputs (NULL-terminated) and one output. */
static Onnx__NodeProto *node(exporter *ex, const char *op, char *output, char *const *inputs, int n_in,
                             Onnx__AttributeProto *a1, Onnx__AttributeProto *a2) {
    Onnx__NodeProto *n = alloc(ex, sizeof *n);
    if (!n) return NULL;
    onnx__node_proto__init(n);
    n->op_type = str(ex, "%s%.0d", op, 0);
    n->n_input = (size_t)n_in;
    n->input = alloc(ex, (size_t)(n_in ? n_in : 1) * sizeof(char *));
    for (int i = 0; n->input && i < n_in; i++) {
        n->input[i] = inputs[i];
        if (!inputs[i]) ex->failed = 1;
    }
    n->n_output = 1;
    n->output = alloc(ex, sizeof(char *));
    if (n->output) n->output[0] = output;
    if (!output) ex->failed = 1;
    n->attribute = alloc(ex, 2 * sizeof *n->attribute);
    if (n->attribute && a1) n->attribute[n->n_attribute++] = a1;
    if (n->attribute && a2) n->attribute[n->n_attribute++] = a2;
    push(ex, (void ***)&ex->nodes, &ex->n_nodes, &ex->cap_nodes, n);
    return n;
}

/* ---- values ---- */

typedef struct walk {
    exporter *ex;
    char **names;               /* value name of each graph node, once written */
    int input;                  /* the graph input */
    int batch_axis;             /* its symbolic batch axis (then exported as dim_param "batch"), or -1 */
    char *batch;                /* the batch as a (1,) int64 value, made on first use */
    int others[SBT_MAX_INPUTS]; /* further graph inputs the output needs (masks) */
    int n_others;
} walk;

static sbt_status export_fail(walk *w, int id, const char *problem) {
    return sbt_fail(SBT_ERR_UNSUPPORTED, "ONNX export: node '%s' (%s): %s", sbt_node_name(w->ex->g, id),
                    sbt_op_name(sbt_node_op(w->ex->g, id)), problem);
}

static int dims_of(sbt_graph *g, int id, int64_t *dims) {
    int nd = sbt_node_ndim(g, id);
    for (int d = 0; d < nd; d++) dims[d] = sbt_node_dim(g, id, d);
    return nd;
}

/* The value name of node id; parameters and sparse weights become initializers here. */
static char *val(walk *w, int id) {
    if (w->names[id]) return w->names[id];
    sbt_op op = sbt_node_op(w->ex->g, id);
    if (op != SBT_OP_PARAM && op != SBT_OP_SPARSE_WEIGHT && op != SBT_OP_STATE && op != SBT_OP_CONST)
        return NULL;
    if (sbt_node_dtype(w->ex->g, id) != SBT_DTYPE_F32) return NULL;
    int64_t dims[SBT_MAX_DIMS];
    int nd = dims_of(w->ex->g, id, dims);
    return w->names[id] = float_init(w->ex, value_name(w->ex, id), nd, dims, sbt_graph_value(w->ex->g, id));
}

/* a when every non-zero |w| of row r equals a (relative 1e-6); 0 for an all-zero row;
 * -1 when the row is not ternary. */
static float row_alpha(const float *row, int64_t n) {
    float a = 0;
    for (int64_t k = 0; k < n; k++) {
        float v = fabsf(row[k]);
        if (v == 0) continue;
        if (a == 0) a = v;
        if (fabsf(v - a) > 1e-6f * a) return -1;
    }
    return a;
}

/* W (out, in) as int8 codes (in, out) and a scale per tensor or per output column,
 * through DequantizeLinear; NULL (and nothing written) when W is not ternary. */
static char *ternary_weight(walk *w, int wid, const float *W, int64_t out, int64_t in) {
    exporter *ex = w->ex;
    float *alpha = malloc((size_t)out * sizeof *alpha);
    int8_t *codes = malloc((size_t)(out * in));
    int ok = alpha && codes, per_row = 0;
    for (int64_t o = 0; ok && o < out; o++) {
        alpha[o] = row_alpha(W + o * in, in);
        ok = alpha[o] >= 0;
        if (alpha[o] == 0) alpha[o] = 1; /* codes all 0; the scale must be positive */
        per_row |= ok && fabsf(alpha[o] - alpha[0]) > 1e-6f * alpha[0];
    }
    char *name = NULL;
    if (ok) {
        /* Codes stay (out, in) and a Transpose follows the DequantizeLinear: ONNX Runtime
         * fuses DequantizeLinear -> MatMul into a kernel that quantizes the activations
         * too (0.5 % off on our tests), which this keeps it from doing. */
        for (int64_t k = 0; k < out * in; k++) codes[k] = (int8_t)(W[k] > 0 ? 1 : W[k] < 0 ? -1 : 0);
        char *base = value_name(ex, wid);
        int64_t cdims[2] = {out, in}, sdims[1] = {out}, perm[2] = {1, 0};
        Onnx__TensorProto *c =
            tensor(ex, str(ex, "%s.codes%.0d", base, 0), ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 2, cdims, codes,
                   (size_t)(in * out));
        char *scale = float_init(ex, str(ex, "%s.scale%.0d", base, 0), per_row, sdims, alpha);
        char *deq = str(ex, "%s.dequantized%.0d", base, 0);
        name = str(ex, "%s.T%.0d", base, 0);
        char *ins[2] = {c ? c->name : NULL, scale};
        node(ex, "DequantizeLinear", deq, ins, 2, per_row ? attr_int(ex, "axis", 0) : NULL, NULL);
        node(ex, "Transpose", name, &deq, 1, attr_ints(ex, "perm", 2, perm), NULL);
        ex->stats->ternary_layers++;
    }
    free(alpha);
    free(codes);
    return name;
}

/* The (in, out) weight of a Linear: int8 ternary when asked and possible, else float. */
static char *linear_weight(walk *w, int wid) {
    exporter *ex = w->ex;
    int64_t out = sbt_node_dim(ex->g, wid, 0), in = sbt_node_dim(ex->g, wid, 1);
    const float *W = sbt_graph_value(ex->g, wid);
    if (ex->opt->ternary) {
        char *t = ternary_weight(w, wid, W, out, in);
        if (t) return t;
    }
    float *wt = malloc((size_t)(out * in) * sizeof *wt);
    if (!wt) return ex->failed = 1, NULL;
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < in; i++) wt[i * out + o] = W[o * in + i];
    int64_t dims[2] = {in, out};
    char *name = float_init(ex, str(ex, "%s.T%.0d", value_name(ex, wid), 0), 2, dims, wt);
    free(wt);
    ex->stats->float_layers++;
    return name;
}

/* `name_fmt` makes the result's name from x's ("%s" then an empty "%.0d"). */
static char *transpose_last2(walk *w, char *x, int nd, const char *name_fmt) {
    int64_t perm[SBT_MAX_DIMS];
    for (int d = 0; d < nd; d++) perm[d] = d;
    perm[nd - 2] = nd - 1, perm[nd - 1] = nd - 2;
    char *out = str(w->ex, name_fmt, x, 0);
    node(w->ex, "Transpose", out, &x, 1, attr_ints(w->ex, "perm", nd, perm), NULL);
    return out;
}

static sbt_status emit_linear(walk *w, int id, char *y) {
    sbt_graph *g = w->ex->g;
    char *x = val(w, sbt_node_input(g, id, 0)), *wt = linear_weight(w, sbt_node_input(g, id, 1));
    int bias = sbt_node_input(g, id, 2);
    char *ins[2] = {x, wt};
    if (bias < 0) return node(w->ex, "MatMul", y, ins, 2, NULL, NULL), SBT_OK;
    char *xw = str(w->ex, "%s.matmul%.0d", y, 0);
    node(w->ex, "MatMul", xw, ins, 2, NULL, NULL);
    char *ins2[2] = {xw, val(w, bias)};
    node(w->ex, "Add", y, ins2, 2, NULL, NULL);
    return SBT_OK;
}

static sbt_status emit_batchnorm(walk *w, int id, char *y) {
    exporter *ex = w->ex;
    sbt_graph *g = ex->g;
    int x = sbt_node_input(g, id, 0), nd = sbt_node_ndim(g, x);
    const sbt_attr *a = sbt_node_attr(g, id);
    if (nd > 3) return export_fail(w, id, "BatchNorm of rank > 3");
    char *ins[5] = {val(w, x), val(w, sbt_node_input(g, id, 1)), val(w, sbt_node_input(g, id, 2)),
                    val(w, sbt_node_input(g, id, 3)), val(w, sbt_node_input(g, id, 4))};
    int64_t perm[3] = {0, 2, 1};
    if (nd == 3) {
        char *t = str(ex, "%s.in%.0d", y, 0);
        node(ex, "Transpose", t, ins, 1, attr_ints(ex, "perm", 3, perm), NULL);
        ins[0] = t;
    }
    char *bn = nd == 3 ? str(ex, "%s.bn%.0d", y, 0) : y;
    node(ex, "BatchNormalization", bn, ins, 5, attr_float(ex, "epsilon", a->batchnorm.eps), NULL);
    if (nd == 3) node(ex, "Transpose", y, &bn, 1, attr_ints(ex, "perm", 3, perm), NULL);
    return SBT_OK;
}

/* GELU = x * 0.5 * (1 + erf(x / sqrt 2)) (no Gelu op before opset 20). */
static sbt_status emit_gelu(walk *w, int id, char *y) {
    exporter *ex = w->ex;
    char *x = val(w, sbt_node_input(ex->g, id, 0));
    char *t1 = str(ex, "%s.scaled%.0d", y, 0), *t2 = str(ex, "%s.erf%.0d", y, 0);
    char *t3 = str(ex, "%s.plus1%.0d", y, 0), *t4 = str(ex, "%s.half%.0d", y, 0);
    char *a[2] = {x, scalar_init(ex, str(ex, "%s.rsqrt2%.0d", y, 0), 0.70710678118654752f)};
    node(ex, "Mul", t1, a, 2, NULL, NULL);
    node(ex, "Erf", t2, &t1, 1, NULL, NULL);
    char *b[2] = {t2, scalar_init(ex, str(ex, "%s.one%.0d", y, 0), 1.0f)};
    node(ex, "Add", t3, b, 2, NULL, NULL);
    char *c[2] = {x, scalar_init(ex, str(ex, "%s.half_c%.0d", y, 0), 0.5f)};
    node(ex, "Mul", t4, c, 2, NULL, NULL);
    char *d[2] = {t4, t3};
    node(ex, "Mul", y, d, 2, NULL, NULL);
    return SBT_OK;
}

/* A symbolic dimension's value as the graph is bound (negative: from the end, as
 * ONNX Slice reads it too). */
static int64_t bound_dim(sbt_graph *g, sbt_dim d) {
    return d.n + (d.sym == SBT_SYM_BATCH    ? sbt_graph_batch(g)
                  : d.sym == SBT_SYM_LENGTH ? sbt_graph_length(g)
                                            : 0);
}

/* The batch as a run-time (1,) int64 value: Shape(input) -> Gather(batch axis). */
static char *batch_value(walk *w) {
    if (w->batch) return w->batch;
    exporter *ex = w->ex;
    char *shape = str(ex, "batch.shape%.0s%.0d", "", 0), *name = str(ex, "batch%.0s%.0d", "", 0);
    int64_t axis = w->batch_axis;
    node(ex, "Shape", shape, &w->names[w->input], 1, NULL, NULL);
    char *ins[2] = {shape, int64_init(ex, str(ex, "batch.axis%.0s%.0d", "", 0), 1, &axis)};
    node(ex, "Gather", name, ins, 2, attr_int(ex, "axis", 0), NULL);
    return w->batch = name;
}

/* A (1,) int64 value of dimension d: a literal initializer, or batch + n at run time
 * when the export keeps the batch symbolic. */
static char *dim_value(walk *w, sbt_dim d, const char *y, int k) {
    exporter *ex = w->ex;
    if (w->batch_axis < 0 || d.sym != SBT_SYM_BATCH) {
        int64_t v = bound_dim(ex->g, d);
        if (w->batch_axis >= 0 && d.sym == SBT_SYM_NONE) v = d.n; /* keeps a literal -1 (inferred) */
        return int64_init(ex, str(ex, y, "", k), 1, &v);
    }
    if (d.n == 0) return batch_value(w);
    char *ins[2] = {batch_value(w), int64_init(ex, str(ex, y, ".n", k), 1, &d.n)},
         *out = str(ex, y, ".sum", k);
    node(ex, "Add", out, ins, 2, NULL, NULL);
    return out;
}

static sbt_status emit_shape_op(walk *w, int id, char *y) {
    exporter *ex = w->ex;
    sbt_graph *g = ex->g;
    int x = sbt_node_input(g, id, 0);
    const sbt_attr *a = sbt_node_attr(g, id);
    char *xi = val(w, x);
    int64_t v[SBT_MAX_DIMS];
    switch (sbt_node_op(g, id)) {
    case SBT_OP_TRANSPOSE: {
        int nd = sbt_node_ndim(g, id);
        for (int d = 0; d < nd; d++) v[d] = a->transpose.perm[d];
        node(ex, "Transpose", y, &xi, 1, attr_ints(ex, "perm", nd, v), NULL);
        return SBT_OK;
    }
    case SBT_OP_RESHAPE: {
        char *ins[2] = {xi, NULL};
        if (w->batch_axis < 0) {
            int nd = dims_of(g, id, v);
            ins[1] = int64_init(ex, str(ex, "%s.shape%.0d", y, 0), nd, v);
        } else { /* the target as declared: n + batch at run time, -1 inferred */
            char *parts[SBT_MAX_DIMS], *shape = str(ex, "%s.shape%.0d", y, 0);
            char *fmt = str(ex, "%s.dim%%s%%d", y, 0);
            for (int d = 0; d < a->reshape.ndim; d++) parts[d] = dim_value(w, a->reshape.shape[d], fmt, d);
            node(ex, "Concat", shape, parts, a->reshape.ndim, attr_int(ex, "axis", 0), NULL);
            ins[1] = shape;
        }
        node(ex, "Reshape", y, ins, 2, NULL, NULL);
        return SBT_OK;
    }
    case SBT_OP_SLICE: {
        int64_t ax = a->slice.axis;
        char *ins[4] = {xi, dim_value(w, a->slice.start, str(ex, "%s.starts%%s%%d", y, 0), 0),
                        dim_value(w, a->slice.end, str(ex, "%s.ends%%s%%d", y, 0), 0),
                        int64_init(ex, str(ex, "%s.axes%.0d", y, 0), 1, &ax)};
        node(ex, "Slice", y, ins, 4, NULL, NULL);
        return SBT_OK;
    }
    case SBT_OP_MEAN: {
        int64_t axis = a->axis.axis;
        node(ex, "ReduceMean", y, &xi, 1, attr_ints(ex, "axes", 1, &axis), attr_int(ex, "keepdims", 0));
        return SBT_OK;
    }
    default: {
        int n = sbt_node_input_count(g, id);
        char *ins[SBT_MAX_INPUTS];
        for (int k = 0; k < n; k++) ins[k] = val(w, sbt_node_input(g, id, k));
        node(ex, "Concat", y, ins, n, attr_int(ex, "axis", a->axis.axis), NULL);
        return SBT_OK;
    }
    }
}

static char *axes_init(exporter *ex, const char *y, const char *tag, int64_t axis) {
    return int64_init(ex, str(ex, y, tag, 0), 1, &axis);
}

/* MaskedMean: x (B, T, K), mask (B, T): sum_t x * mask / sum_t mask. */
static sbt_status emit_masked_mean(walk *w, int id, char *y) {
    exporter *ex = w->ex;
    sbt_graph *g = ex->g;
    if (sbt_node_ndim(g, sbt_node_input(g, id, 0)) != 3)
        return export_fail(w, id, "MaskedMean of rank other than 3");
    char *fmt = str(ex, "%s%%s%%.0d", y, 0);
    char *m3 = str(ex, fmt, ".mask3", 0), *xm = str(ex, fmt, ".masked", 0), *num = str(ex, fmt, ".sum", 0);
    char *den = str(ex, fmt, ".count", 0);
    char *a[2] = {val(w, sbt_node_input(g, id, 1)), axes_init(ex, fmt, ".axis2", 2)};
    node(ex, "Unsqueeze", m3, a, 2, NULL, NULL);
    char *b[2] = {val(w, sbt_node_input(g, id, 0)), m3};
    node(ex, "Mul", xm, b, 2, NULL, NULL);
    char *c[2] = {xm, axes_init(ex, fmt, ".axis1", 1)};
    node(ex, "ReduceSum", num, c, 2, attr_int(ex, "keepdims", 0), NULL);
    char *d[2] = {m3, c[1]};
    node(ex, "ReduceSum", den, d, 2, attr_int(ex, "keepdims", 0), NULL);
    char *e[2] = {num, den};
    node(ex, "Div", y, e, 2, NULL, NULL);
    return SBT_OK;
}

/* Step-T attention (ops_attention.c): the last query attends to the first `keys` steps
 * (all but itself unless include_last); every other step returns its own value. */
static sbt_status emit_step_t(walk *w, int id, char *y) {
    exporter *ex = w->ex;
    sbt_graph *g = ex->g;
    int last_only = sbt_node_op(g, id) == SBT_OP_STEP_T_LAST, k_id = sbt_node_input(g, id, 1);
    int64_t steps = sbt_node_dim(g, k_id, 2), dh = sbt_node_dim(g, k_id, 3);
    int64_t keys = sbt_node_attr(g, id)->step_t.include_last || steps == 1 ? steps : steps - 1;
    char *fmt = str(ex, "%s%%s%%.0d", y, 0);
    char *q = val(w, sbt_node_input(g, id, 0)), *k = val(w, k_id), *v = val(w, sbt_node_input(g, id, 2));
    char *zero = axes_init(ex, fmt, ".zero", 0), *axis2 = axes_init(ex, fmt, ".axis2", 2);
    char *keys_end = axes_init(ex, fmt, ".keys", keys);
    if (!last_only) { /* the last query */
        char *a[4] = {q, axes_init(ex, fmt, ".last", steps - 1), axes_init(ex, fmt, ".steps", steps), axis2};
        node(ex, "Slice", str(ex, fmt, ".q_last", 0), a, 4, NULL, NULL);
        q = str(ex, fmt, ".q_last", 0);
    }
    char *ks = str(ex, fmt, ".k_keys", 0), *vs = str(ex, fmt, ".v_keys", 0), *kt = str(ex, fmt, ".k_t", 0);
    char *sk[4] = {k, zero, keys_end, axis2}, *sv[4] = {v, zero, keys_end, axis2};
    node(ex, "Slice", ks, sk, 4, NULL, NULL);
    node(ex, "Slice", vs, sv, 4, NULL, NULL);
    int64_t perm[4] = {0, 1, 3, 2};
    node(ex, "Transpose", kt, &ks, 1, attr_ints(ex, "perm", 4, perm), NULL);
    char *scores = str(ex, fmt, ".scores", 0), *scaled = str(ex, fmt, ".scaled", 0),
         *p = str(ex, fmt, ".p", 0);
    char *m1[2] = {q, kt};
    node(ex, "MatMul", scores, m1, 2, NULL, NULL);
    char *m2[2] = {scores, scalar_init(ex, str(ex, fmt, ".scale", 0), 1.0f / sqrtf((float)dh))};
    node(ex, "Mul", scaled, m2, 2, NULL, NULL);
    node(ex, "Softmax", p, &scaled, 1, attr_int(ex, "axis", -1), NULL);
    char *att = last_only ? y : str(ex, fmt, ".attended", 0), *m3[2] = {p, vs};
    node(ex, "MatMul", att, m3, 2, NULL, NULL);
    if (last_only) return SBT_OK;
    char *rest = str(ex, fmt, ".own", 0), *sr[4] = {v, zero, axes_init(ex, fmt, ".first", steps - 1), axis2};
    node(ex, "Slice", rest, sr, 4, NULL, NULL);
    char *cat[2] = {rest, att};
    node(ex, "Concat", y, cat, 2, attr_int(ex, "axis", 2), NULL);
    return SBT_OK;
}

static sbt_status emit_op(walk *w, int id, char *y) {
    exporter *ex = w->ex;
    sbt_graph *g = ex->g;
    sbt_op op = sbt_node_op(g, id);
    const sbt_attr *a = sbt_node_attr(g, id);
    if (op == SBT_OP_LINEAR) return emit_linear(w, id, y); /* its weight is not a plain initializer */
    char *x = sbt_node_input_count(g, id) ? val(w, sbt_node_input(g, id, 0)) : NULL;
    char *x1 = sbt_node_input_count(g, id) > 1 ? val(w, sbt_node_input(g, id, 1)) : NULL;
    char *ins[3] = {x, x1, NULL};
    static const char *BINARY[] = {
        [SBT_OP_ADD] = "Add", [SBT_OP_SUB] = "Sub", [SBT_OP_MUL] = "Mul", [SBT_OP_DIV] = "Div"};
    switch (op) {
    case SBT_OP_ADD:
    case SBT_OP_SUB:
    case SBT_OP_MUL:
    case SBT_OP_DIV: node(ex, BINARY[op], y, ins, 2, NULL, NULL); return SBT_OK;
    case SBT_OP_MATMUL: {
        int nd_a = sbt_node_ndim(g, sbt_node_input(g, id, 0)),
            nd_b = sbt_node_ndim(g, sbt_node_input(g, id, 1));
        if (a->matmul.trans_a) ins[0] = transpose_last2(w, x, nd_a, "%s.ta%.0d");
        if (a->matmul.trans_b) ins[1] = transpose_last2(w, x1, nd_b, "%s.tb%.0d");
        node(ex, "MatMul", y, ins, 2, NULL, NULL);
        return SBT_OK;
    }
    case SBT_OP_SCALE:
        ins[1] = scalar_init(ex, str(ex, "%s.factor%.0d", y, 0), a->scale.factor);
        node(ex, "Mul", y, ins, 2, NULL, NULL);
        return SBT_OK;
    case SBT_OP_SOFTMAX:
        if (sbt_node_input_count(g, id) > 1) {
            char *masked = str(ex, "%s.masked%.0d", y, 0);
            node(ex, "Add", masked, ins, 2, NULL, NULL);
            ins[0] = masked;
        }
        node(ex, "Softmax", y, ins, 1, attr_int(ex, "axis", -1), NULL);
        return SBT_OK;
    case SBT_OP_LAYERNORM:
        ins[2] = val(w, sbt_node_input(g, id, 2));
        node(ex, "LayerNormalization", y, ins, 3, attr_int(ex, "axis", -1),
             attr_float(ex, "epsilon", a->layernorm.eps));
        return SBT_OK;
    case SBT_OP_BATCHNORM: return emit_batchnorm(w, id, y);
    case SBT_OP_RELU: node(ex, "Relu", y, ins, 1, NULL, NULL); return SBT_OK;
    case SBT_OP_ERF: node(ex, "Erf", y, ins, 1, NULL, NULL); return SBT_OK;
    case SBT_OP_DROPOUT: node(ex, "Identity", y, ins, 1, NULL, NULL); return SBT_OK;
    case SBT_OP_GELU: return emit_gelu(w, id, y);
    case SBT_OP_MASKED_MEAN: return emit_masked_mean(w, id, y);
    case SBT_OP_STEP_T:
    case SBT_OP_STEP_T_LAST: return emit_step_t(w, id, y);
    case SBT_OP_TRANSPOSE:
    case SBT_OP_RESHAPE:
    case SBT_OP_SLICE:
    case SBT_OP_MEAN:
    case SBT_OP_CONCAT: return emit_shape_op(w, id, y);
    default: return export_fail(w, id, "no ONNX form for this op yet");
    }
}

/* ndim < 0: no shape (an output whose batch axis the exporter does not know). */
static Onnx__ValueInfoProto *value_info(exporter *ex, char *name, int ndim, const int64_t *dims,
                                        int batch_axis) {
    Onnx__ValueInfoProto *vi = alloc(ex, sizeof *vi);
    Onnx__TypeProto *tp = alloc(ex, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = alloc(ex, sizeof *tt);
    Onnx__TensorShapeProto *sp = alloc(ex, sizeof *sp);
    Onnx__TensorShapeProto__Dimension **dv = alloc(ex, (size_t)(ndim > 0 ? ndim : 1) * sizeof *dv);
    if (!vi || !tp || !tt || !sp || !dv) return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sp);
    for (int d = 0; d < ndim; d++) {
        dv[d] = alloc(ex, sizeof **dv);
        if (!dv[d]) return NULL;
        onnx__tensor_shape_proto__dimension__init(dv[d]);
        dv[d]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dv[d]->dim_value = dims[d];
        if (d == batch_axis) {
            dv[d]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dv[d]->dim_param = "batch";
        }
    }
    sp->n_dim = (size_t)ndim;
    sp->dim = dv;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = ndim >= 0 ? sp : NULL;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = name;
    vi->type = tp;
    return vi;
}

/* Marks the nodes `output` depends on. */
static int *live_nodes(sbt_graph *g, int output) {
    int n = sbt_graph_count(g);
    int *live = calloc((size_t)n, sizeof *live);
    if (!live) return NULL;
    live[output] = 1;
    for (int id = output; id >= 0; id--)
        if (live[id])
            for (int k = 0; k < sbt_node_input_count(g, id); k++) live[sbt_node_input(g, id, k)] = 1;
    return live;
}

static sbt_status walk_graph(walk *w, int input, int output, const int *live) {
    exporter *ex = w->ex;
    for (int id = 0; id <= output; id++) {
        if (!live[id]) continue;
        sbt_op op = sbt_node_op(ex->g, id);
        if (op == SBT_OP_PARAM || op == SBT_OP_SPARSE_WEIGHT || op == SBT_OP_STATE || op == SBT_OP_CONST)
            continue; /* initializers, on first use */
        if (op == SBT_OP_INPUT) {
            if (id == input) continue;
            if (w->n_others == SBT_MAX_INPUTS) return export_fail(w, id, "too many graph inputs");
            if (sbt_node_dtype(ex->g, id) != SBT_DTYPE_F32)
                return export_fail(w, id, "an input that is not float32");
            w->others[w->n_others++] = id;
            w->names[id] = str(ex, "%s%.0d", sbt_node_name(ex->g, id), 0);
            continue;
        }
        /* Short names for intermediate values: on small models, long ones outweigh the weights. */
        char *y = id == output ? (char *)ex->opt->output_name : str(ex, "t%.0s%d", "", id);
        sbt_status st = emit_op(w, id, y);
        if (st != SBT_OK) return st;
        w->names[id] = y;
        if (ex->failed) return sbt_fail(SBT_ERR_NOMEM, "ONNX export: out of memory");
    }
    return SBT_OK;
}

static sbt_status build_model(exporter *ex, int input, int output, uint8_t **bytes, size_t *len) {
    sbt_graph *g = ex->g;
    int *live = live_nodes(g, output);
    char **names = calloc((size_t)sbt_graph_count(g), sizeof *names);
    if (!live || !names)
        return free(live), free(names), sbt_fail(SBT_ERR_NOMEM, "ONNX export: out of memory");
    for (int id = 0; id <= output; id++)
        if (live[id] && sbt_node_op(g, id) == SBT_OP_SPARSE_WEIGHT) { /* the effective weights */
            sbt_graph_forward_until(g, 0, output);
            break;
        }
    walk w = {.ex = ex, .names = names, .input = input, .batch_axis = -1};
    names[input] = (char *)ex->opt->input_name;
    for (int d = 0; d < sbt_node_ndim(g, input); d++)
        if (sbt_node_sym_dim(g, input, d).sym == SBT_SYM_BATCH) w.batch_axis = d;
    sbt_status st = walk_graph(&w, input, output, live);
    free(live);
    free(names);
    if (st != SBT_OK) return st;
    int64_t dims[SBT_MAX_DIMS];
    Onnx__ValueInfoProto *in_vis[1 + SBT_MAX_INPUTS];
    in_vis[0] = value_info(ex, (char *)ex->opt->input_name, dims_of(g, input, dims), dims, w.batch_axis);
    Onnx__ValueInfoProto *in_vi = in_vis[0];
    for (int k = 0; k < w.n_others; k++) {
        int id = w.others[k], axis = -1;
        for (int d = 0; d < sbt_node_ndim(g, id); d++)
            if (sbt_node_sym_dim(g, id, d).sym == SBT_SYM_BATCH) axis = d;
        in_vis[1 + k] =
            value_info(ex, str(ex, "%s%.0d", sbt_node_name(g, id), 0), dims_of(g, id, dims), dims, axis);
        if (!in_vis[1 + k]) in_vi = NULL;
    }
    Onnx__ValueInfoProto *out_vi = value_info(ex, (char *)ex->opt->output_name,
                                              w.batch_axis >= 0 ? -1 : dims_of(g, output, dims), dims, -1);
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    graph.name = "sbt";
    graph.n_node = ex->n_nodes;
    graph.node = ex->nodes;
    graph.n_initializer = ex->n_inits;
    graph.initializer = ex->inits;
    graph.n_input = 1 + (size_t)w.n_others;
    graph.input = in_vis;
    graph.n_output = 1;
    graph.output = &out_vi;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets = &opset;
    opset.domain = "";
    opset.has_version = 1;
    opset.version = EXPORT_OPSET;
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    model.has_ir_version = 1;
    model.ir_version = 8;
    model.producer_name = "sbt";
    model.producer_version = (char *)sbt_version();
    model.n_opset_import = 1;
    model.opset_import = &opsets;
    model.graph = &graph;
    if (ex->failed || !in_vi || !out_vi) return sbt_fail(SBT_ERR_NOMEM, "ONNX export: out of memory");
    *len = onnx__model_proto__get_packed_size(&model);
    *bytes = malloc(*len ? *len : 1);
    if (!*bytes) return sbt_fail(SBT_ERR_NOMEM, "ONNX export: out of memory");
    onnx__model_proto__pack(&model, *bytes);
    return SBT_OK;
}

sbt_onnx_export_options sbt_onnx_export_defaults(void) {
    sbt_onnx_export_options o = {0, "x", "y"};
    return o;
}

/* The model's bytes (path == NULL: size only), or the file written. */
static sbt_status export_to(sbt_graph *g, int input, int output, const char *path,
                            const sbt_onnx_export_options *opt, sbt_onnx_export_stats *stats) {
    const char *what = path ? path : "ONNX export";
    sbt_onnx_export_options defaults = sbt_onnx_export_defaults();
    sbt_onnx_export_stats local;
    if (!opt) opt = &defaults;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (input < 0 || input >= sbt_graph_count(g) || sbt_node_op(g, input) != SBT_OP_INPUT ||
        output <= input || output >= sbt_graph_count(g) || !sbt_graph_value(g, output))
        return sbt_fail(SBT_ERR_ARG, "%s: ONNX export needs a finalised graph, its input and a later output",
                        what);
    exporter ex = {.g = g, .opt = opt, .stats = stats};
    uint8_t *bytes = NULL;
    size_t len = 0;
    sbt_status st = build_model(&ex, input, output, &bytes, &len);
    for (size_t k = 0; k < ex.n_owned; k++) free(ex.owned[k]);
    free(ex.owned);
    free(ex.nodes);
    free(ex.inits);
    if (st == SBT_OK && path) st = sbt_write_file_atomic(path, bytes, len);
    if (st != SBT_OK && strstr(sbt_last_error(), what) == NULL) {
        char why[512]; /* sbt_fail must not read the buffer it writes */
        snprintf(why, sizeof why, "%s", sbt_last_error());
        st = sbt_fail(st, "%s: %s", what, why);
    }
    free(bytes);
    stats->file_bytes = st == SBT_OK ? len : 0;
    return st;
}

sbt_status sbt_onnx_export(sbt_graph *g, int input, int output, const char *path,
                           const sbt_onnx_export_options *opt, sbt_onnx_export_stats *stats) {
    if (!path) return sbt_fail(SBT_ERR_ARG, "ONNX export: no output path");
    return export_to(g, input, output, path, opt, stats);
}

sbt_status sbt_onnx_export_size(sbt_graph *g, int input, int output, const sbt_onnx_export_options *opt,
                                sbt_onnx_export_stats *stats) {
    return export_to(g, input, output, NULL, opt, stats);
}
