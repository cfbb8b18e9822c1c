/* onnx_emit.c - ONNX nodes that depend on the input become graph ops.
 *
 * LayerNorm that PyTorch decomposed (opsets < 17: ReduceMean, Sub, Pow, ReduceMean, Add,
 * Sqrt, Div, then Mul by gamma and Add of beta) is matched lazily: each step yields a
 * "deferred" value that the next step of the pattern extends; any other use
 * materialises it (a finished pattern becomes one LayerNorm node; a partial one is an
 * error, since we have no Sqrt op). GELU's Erf form needs no matching: its Div, Erf,
 * Add, Mul, Mul are our Scale, Erf, Add, Mul, Scale.
 *
 * Binary ops broadcast by NumPy's rules in the graph itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/onnx_import.h"

typedef sbt_status (*emit_fn)(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);

sbt_status onnx_graph_error(onnx_importer *im) {
    sbt_status st = sbt_graph_finalize(im->g); /* fails, reporting the first build error */
    return onnx_node_fail(im, st == SBT_OK ? SBT_ERR_SHAPE : st, "%s", sbt_last_error());
}

/* Records node `id` as the onnx_result. */
sbt_status onnx_result(onnx_importer *im, onnx_val *out, int id) {
    if (id < 0) return onnx_graph_error(im);
    im->values += sbt_node_size(im->g, id);
    if (im->values > ONNX_MAX_GRAPH_VALUES)
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "the graph would hold more than %lld values",
                              (long long)ONNX_MAX_GRAPH_VALUES);
    out->kind = V_NODE;
    out->node = sbt_graph_name(im->g, id, out->name);
    return SBT_OK;
}

int onnx_shape_of(onnx_importer *im, int id, int64_t *shape) {
    int nd = sbt_node_ndim(im->g, id);
    for (int d = 0; d < nd; d++) shape[d] = sbt_node_dim(im->g, id, d);
    return nd;
}

/* A parameter holding the float32 copy of constant t, with shape (ndim, shape). */
/* Constant t as a graph leaf of shape (ndim, shape): a parameter (buffer owned by the
 * import; weights, biases, norms: what recovery training may update) when it comes from
 * the file's initializers, else a const the graph owns (masks, positions, ones). */
int onnx_param_of(onnx_importer *im, const oc_tensor *t, const char *name, int ndim, const int64_t *shape,
                  int trainable) {
    int64_t one = 1;
    if (ndim == 0) ndim = 1, shape = &one;
    while (ndim > SBT_MAX_DIMS && shape[0] == 1) ndim--, shape++;
    if (ndim > SBT_MAX_DIMS)
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "constant '%s' of rank %d", name, ndim), -1;
    im->values += t->n;
    if (im->values > ONNX_MAX_GRAPH_VALUES)
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "the graph would hold more than %lld values",
                              (long long)ONNX_MAX_GRAPH_VALUES),
               -1;
    float *buf = trainable ? onnx_buffer(im, t->n) : malloc((size_t)(t->n ? t->n : 1) * sizeof *buf);
    if (!buf) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory"), -1;
    for (int64_t k = 0; k < t->n; k++) buf[k] = (float)oc_at(t, k);
    int id = trainable ? sbt_param(im->g, name, ndim, shape, buf, NULL)
                       : sbt_const(im->g, name, SBT_DTYPE_F32, ndim, shape, buf);
    if (!trainable) free(buf);
    if (id < 0) onnx_graph_error(im);
    return id;
}

static int scalar_param(onnx_importer *im, float v, const char *name) {
    oc_tensor *t = oc_new(0, 0, NULL);
    if (!t) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory"), -1;
    t->f[0] = v;
    int id = onnx_param_of(im, t, name, 0, NULL, 0);
    oc_free(t);
    return id;
}

int onnx_filled_param(onnx_importer *im, float v, int ndim, const int64_t *shape, const char *name) {
    oc_tensor *t = oc_new(0, ndim, shape);
    if (!t) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory"), -1;
    for (int64_t k = 0; k < t->n; k++) t->f[k] = v;
    int id = onnx_param_of(im, t, name, ndim, shape, 0);
    oc_free(t);
    return id;
}

static sbt_status materialise(onnx_importer *im, onnx_val *v);

int onnx_node_of(onnx_importer *im, onnx_val *v) {
    switch (v->kind) {
    case V_NODE: return v->node;
    case V_CONST:
        if (v->node < 0) v->node = onnx_param_of(im, v->c, v->name, v->c->ndim, v->c->shape, v->from_init);
        return v->node;
    case V_DEFER: return materialise(im, v) == SBT_OK ? v->node : -1;
    default: return onnx_node_fail(im, SBT_ERR_FORMAT, "value '%s' is not computed", v->name), -1;
    }
}

/* ---- deferred LayerNorm ---- */

static const char *DEFER_NAMES[] = {"mean",           "x - mean",           "(x - mean)^2", "variance",
                                    "variance + eps", "standard deviation", "normalised x"};

static sbt_status materialise(onnx_importer *im, onnx_val *v) {
    int x = v->x, nd = sbt_node_ndim(im->g, x);
    int64_t shape[SBT_MAX_DIMS], d = sbt_node_dim(im->g, x, -1);
    onnx_shape_of(im, x, shape);
    int id = -1;
    if (v->d == D_MEAN) {
        shape[nd - 1] = 1;
        id = sbt_reshape(im->g, sbt_mean(im->g, x, nd - 1), nd, shape);
    } else if (v->d == D_LN) {
        if ((v->gamma && v->gamma->n != d) || (v->beta && v->beta->n != d))
            return onnx_node_fail(im, SBT_ERR_SHAPE, "LayerNorm gamma/beta do not match %lld features",
                                  (long long)d);
        int gamma = v->gamma ? onnx_param_of(im, v->gamma, v->gamma_name, 1, &d, 1)
                             : onnx_filled_param(im, 1.0f, 1, &d, "gamma");
        int beta = v->beta ? onnx_param_of(im, v->beta, v->beta_name, 1, &d, 1)
                           : onnx_filled_param(im, 0.0f, 1, &d, "beta");
        if (gamma < 0 || beta < 0) return SBT_ERR_SHAPE;
        id = sbt_layernorm(im->g, x, gamma, beta, v->eps);
    } else {
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED,
                              "'%s' (%s of a LayerNorm pattern) is used outside the pattern: not supported",
                              v->name, DEFER_NAMES[v->d]);
    }
    if (id < 0) return onnx_graph_error(im);
    v->kind = V_NODE;
    v->node = sbt_graph_name(im->g, id, v->name);
    return SBT_OK;
}

static int is_deferred(const onnx_val *v, defer_kind d) { return v && v->kind == V_DEFER && v->d == d; }

static sbt_status defer(onnx_val *out, defer_kind d, const onnx_val *from, int x) {
    if (from)
        *out = (onnx_val){.name = out->name,
                          .gamma = from->gamma,
                          .beta = from->beta,
                          .gamma_name = from->gamma_name,
                          .beta_name = from->beta_name,
                          .eps = from->eps};
    out->kind = V_DEFER;
    out->d = d;
    out->x = x;
    out->node = -1;
    return SBT_OK;
}

static int const_scalar(const onnx_val *v, double *value) {
    if (!v || v->kind != V_CONST || v->c->n != 1) return 0;
    *value = oc_at(v->c, 0);
    return 1;
}

/* The LayerNorm pattern's binary steps; 1 when the node was one of them. */
static int layernorm_step(const char *op, onnx_val *a, onnx_val *b, onnx_val *out) {
    double s;
    if (!strcmp(op, "Sub") && a->kind == V_NODE && is_deferred(b, D_MEAN) && b->x == a->node)
        return defer(out, D_CENTER, NULL, a->node), 1;
    if (!strcmp(op, "Mul") && is_deferred(a, D_CENTER) && is_deferred(b, D_CENTER) && a->x == b->x)
        return defer(out, D_SQDEV, NULL, a->x), 1;
    if (!strcmp(op, "Pow") && is_deferred(a, D_CENTER) && const_scalar(b, &s) && s == 2.0)
        return defer(out, D_SQDEV, NULL, a->x), 1;
    if (!strcmp(op, "Add") && is_deferred(b, D_VAR)) {
        onnx_val *t = a;
        a = b, b = t;
    }
    if (!strcmp(op, "Add") && is_deferred(a, D_VAR) && const_scalar(b, &s) && s > 0)
        return defer(out, D_VAREPS, NULL, a->x), out->eps = (float)s, 1;
    if (!strcmp(op, "Div") && is_deferred(a, D_CENTER) && is_deferred(b, D_STD) && a->x == b->x)
        return defer(out, D_LN, b, a->x), 1;
    if ((!strcmp(op, "Mul") || !strcmp(op, "Add")) && b->kind == V_DEFER) {
        onnx_val *t = a;
        a = b, b = t;
    }
    if (!strcmp(op, "Mul") && is_deferred(a, D_LN) && !a->gamma && !a->beta && b->kind == V_CONST)
        return defer(out, D_LN, a, a->x), out->gamma = b->c, out->gamma_name = b->name, 1;
    if (!strcmp(op, "Add") && is_deferred(a, D_LN) && !a->beta && b->kind == V_CONST)
        return defer(out, D_LN, a, a->x), out->beta = b->c, out->beta_name = b->name, 1;
    return 0;
}

/* ---- binary ops (the graph broadcasts by NumPy's rules) ---- */

typedef int (*binary_fn)(sbt_graph *g, int a, int b);

static binary_fn binary_of(const char *op) {
    if (!strcmp(op, "Add")) return sbt_add;
    if (!strcmp(op, "Sub")) return sbt_sub;
    if (!strcmp(op, "Mul")) return sbt_mul;
    return sbt_div;
}

static int all_equal(const oc_tensor *c) {
    for (int64_t k = 1; k < c->n; k++)
        if (oc_at(c, k) != oc_at(c, 0)) return 0;
    return c->n > 0;
}

/* 1 when broadcasting c against node x leaves x's shape unchanged. */
static int keeps_shape(onnx_importer *im, int x, const oc_tensor *c) {
    int nx = sbt_node_ndim(im->g, x);
    if (c->ndim > nx) return 0;
    for (int d = 0; d < c->ndim; d++) {
        int64_t cd = c->shape[c->ndim - 1 - d], xd = sbt_node_dim(im->g, x, -1 - d);
        if (cd != 1 && cd != xd) return 0;
    }
    return 1;
}

/* Node x op constant c (or c op x when c_first). A constant of one repeated value that
 * does not change x's shape is a Scale, an Add of one value, or nothing at all (the
 * all-ones and all-zeros masks of sequences without padding). */
static sbt_status const_binary(onnx_importer *im, const char *op, int x, onnx_val *cv, int c_first,
                               onnx_val *out) {
    const oc_tensor *c = cv->c;
    int add = !strcmp(op, "Add"), sub = !strcmp(op, "Sub"), mul = !strcmp(op, "Mul"),
        div = !add && !sub && !mul;
    if (all_equal(c) && keeps_shape(im, x, c)) {
        double v = oc_at(c, 0);
        if ((mul && v == 1.0) || ((add || (sub && !c_first)) && v == 0.0) || (!c_first && div && v == 1.0))
            return onnx_result(im, out, x);
        if (mul) return onnx_result(im, out, sbt_scale(im->g, x, (float)v));
        if (div && !c_first) return onnx_result(im, out, sbt_scale(im->g, x, (float)(1.0 / v)));
        if (add || sub) {
            if (sub && c_first) x = sbt_scale(im->g, x, -1.0f);
            int p = scalar_param(im, (float)(sub && !c_first ? -v : v), cv->name);
            return p < 0 ? SBT_ERR_ARG : onnx_result(im, out, sbt_add(im->g, x, p));
        }
    }
    int p = onnx_node_of(im, cv);
    if (p < 0) return SBT_ERR_SHAPE;
    return onnx_result(im, out, c_first ? binary_of(op)(im->g, p, x) : binary_of(op)(im->g, x, p));
}

static sbt_status emit_binary(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    const char *op = im->node->op_type;
    if (n_in < 2 || !in[0] || !in[1]) return onnx_node_fail(im, SBT_ERR_FORMAT, "needs two inputs");
    if (layernorm_step(op, in[0], in[1], out)) return SBT_OK;
    if (in[0]->kind == V_CONST || in[1]->kind == V_CONST) {
        int c_first = in[0]->kind == V_CONST;
        int x = onnx_node_of(im, in[c_first]);
        /* x + c = c + x, x * c = c * x: the constant goes second, where it can be a suffix. */
        if (!strcmp(op, "Add") || !strcmp(op, "Mul"))
            return x < 0 ? SBT_ERR_ARG : const_binary(im, op, x, in[!c_first], 0, out);
        return x < 0 ? SBT_ERR_ARG : const_binary(im, op, x, in[!c_first], c_first, out);
    }
    int a = onnx_node_of(im, in[0]), b = a < 0 ? -1 : onnx_node_of(im, in[1]);
    return b < 0 ? SBT_ERR_ARG : onnx_result(im, out, binary_of(op)(im->g, a, b));
}

static sbt_status emit_pow(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    double e;
    if (n_in < 2 || !in[0] || !in[1]) return onnx_node_fail(im, SBT_ERR_FORMAT, "needs two inputs");
    if (layernorm_step("Pow", in[0], in[1], out)) return SBT_OK;
    if (!const_scalar(in[1], &e) || (e != 1.0 && e != 2.0))
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Pow with an exponent other than a constant 1 or 2");
    int x = onnx_node_of(im, in[0]);
    if (x < 0) return SBT_ERR_ARG;
    return onnx_result(im, out, e == 1.0 ? x : sbt_mul(im->g, x, x));
}

static sbt_status emit_sqrt(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    if (n_in >= 1 && is_deferred(in[0], D_VAREPS)) return defer(out, D_STD, in[0], in[0]->x);
    return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Sqrt of run-time values outside a LayerNorm pattern");
}

/* Axes of a Reduce* node (attribute before opset 18 / ReduceSum 13, input after). */
static int reduce_axes(onnx_importer *im, onnx_val *const *in, int n_in, int64_t *axes) {
    const Onnx__AttributeProto *a = oc_attr(im->node, "axes");
    if (a) {
        if (a->n_ints > OC_MAX_DIMS) return -1;
        for (size_t k = 0; k < a->n_ints; k++) axes[k] = a->ints[k];
        return (int)a->n_ints;
    }
    if (n_in >= 2 && in[1]) {
        if (in[1]->kind != V_CONST || in[1]->c->n > OC_MAX_DIMS) return -1;
        for (int64_t k = 0; k < in[1]->c->n; k++) axes[k] = oc_int_at(in[1]->c, k);
        return (int)in[1]->c->n;
    }
    return 0;
}

static sbt_status emit_reduce(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    int64_t axes[OC_MAX_DIMS];
    int na = n_in >= 1 && in[0] ? reduce_axes(im, in, n_in, axes) : -1;
    int keep = (int)oc_attr_int(im->node, "keepdims", 1), sum = !strcmp(im->node->op_type, "ReduceSum");
    if (na != 1)
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "reduction over %d axes (one is supported)", na);
    int src = in[0]->kind == V_DEFER ? in[0]->x : -1;
    int nd = sbt_node_ndim(im->g, src >= 0 ? src : (in[0]->kind == V_NODE ? in[0]->node : -1));
    int last = nd > 0 && oc_axis(axes[0], nd) == nd - 1;
    if (!sum && keep && last && in[0]->kind == V_NODE) return defer(out, D_MEAN, NULL, in[0]->node);
    if (!sum && keep && last && is_deferred(in[0], D_SQDEV)) return defer(out, D_VAR, NULL, in[0]->x);
    int x = onnx_node_of(im, in[0]);
    if (x < 0) return SBT_ERR_ARG;
    int64_t shape[SBT_MAX_DIMS];
    nd = onnx_shape_of(im, x, shape);
    int axis = oc_axis(axes[0], nd);
    if (axis < 0) return onnx_node_fail(im, SBT_ERR_ARG, "axis %lld of rank %d", (long long)axes[0], nd);
    int id = sbt_mean(im->g, x, axis);
    if (sum) id = sbt_scale(im->g, id, (float)shape[axis]);
    if (keep) {
        shape[axis] = 1;
        id = sbt_reshape(im->g, id, nd, shape);
    }
    return onnx_result(im, out, id);
}

/* Identity, Dropout (inference) and Cast between floating types: the same value. */
static sbt_status emit_alias(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    if (n_in < 1 || !in[0]) return onnx_node_fail(im, SBT_ERR_FORMAT, "missing input");
    if (!strcmp(im->node->op_type, "Cast") && oc_type_is_float((int32_t)oc_attr_int(im->node, "to", 0)) != 1)
        return onnx_node_fail(
            im, SBT_ERR_UNSUPPORTED,
            "Cast of run-time values to integers: a shape or index computed from data cannot be folded");
    const char *name = out->name;
    *out = *in[0];
    out->name = name;
    out->c = NULL;
    if (in[0]->kind == V_CONST) return SBT_ERR_ARG; /* not reached: constants are folded */
    return SBT_OK;
}

static sbt_status emit_unary(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    int x = n_in >= 1 && in[0] ? onnx_node_of(im, in[0]) : -1;
    if (x < 0) return SBT_ERR_ARG;
    const char *op = im->node->op_type;
    if (!strcmp(op, "Relu")) return onnx_result(im, out, sbt_relu(im->g, x));
    if (!strcmp(op, "Erf")) return onnx_result(im, out, sbt_erf(im->g, x));
    if (!strcmp(op, "Neg")) return onnx_result(im, out, sbt_scale(im->g, x, -1.0f));
    return onnx_result(im, out, sbt_gelu(im->g, x)); /* Gelu (opset 20), approximate="none" checked below */
}

static sbt_status emit_gelu(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    const Onnx__AttributeProto *a = oc_attr(im->node, "approximate");
    if (a && a->has_s && !(a->s.len == 4 && !memcmp(a->s.data, "none", 4)))
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Gelu with approximate other than 'none'");
    return emit_unary(im, in, n_in, out);
}

static const struct {
    const char *op;
    emit_fn fn;
} EMITTERS[] = {
    {"Add", emit_binary},
    {"Sub", emit_binary},
    {"Mul", emit_binary},
    {"Div", emit_binary},
    {"Pow", emit_pow},
    {"Sqrt", emit_sqrt},
    {"ReduceMean", emit_reduce},
    {"ReduceSum", emit_reduce},
    {"Identity", emit_alias},
    {"Dropout", emit_alias},
    {"Cast", emit_alias},
    {"Relu", emit_unary},
    {"Erf", emit_unary},
    {"Neg", emit_unary},
    {"Gelu", emit_gelu},
    {"MatMul", emit_matmul},
    {"Gemm", emit_gemm},
    {"Transpose", emit_transpose},
    {"Reshape", emit_reshape},
    {"Flatten", emit_reshape},
    {"Unsqueeze", emit_reshape},
    {"Squeeze", emit_reshape},
    {"Slice", emit_slice},
    {"Gather", emit_gather},
    {"Concat", emit_concat},
    {"Softmax", emit_softmax},
    {"LayerNormalization", emit_layernorm},
    {"BatchNormalization", emit_batchnorm},
};

sbt_status onnx_emit(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    for (size_t k = 0; k < sizeof EMITTERS / sizeof *EMITTERS; k++)
        if (!strcmp(EMITTERS[k].op, im->node->op_type)) return EMITTERS[k].fn(im, in, n_in, out);
    return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "unsupported op");
}
