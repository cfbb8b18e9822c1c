/* onnx_emit.c - ONNX nodes that depend on the input become graph ops.
 *
 * LayerNorm that PyTorch decomposed (opsets < 17: ReduceMean, Sub, Pow, ReduceMean, Add,
 * Sqrt, Div, then Mul by gamma and Add of beta) is matched lazily: each step yields a
 * "deferred" value that the next step of the pattern extends; any other use
 * materialises it (a finished pattern becomes one LayerNorm node; a partial one is an
 * error, since we have no Sqrt op). GELU's Erf form needs no matching: its Div, Erf,
 * Add, Mul, Mul are our Scale, Erf, Add, Mul, Scale.
 *
 * Broadcasting: the graph's binary ops take b equal to a trailing part of a's shape;
 * other NumPy broadcasts of run-time values are made explicit by a MatMul with ones
 * (exact: one product by 1.0 per element) along the last two axes. */
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
int onnx_param_of(onnx_importer *im, const oc_tensor *t, const char *name, int ndim, const int64_t *shape) {
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
    float *buf = onnx_buffer(im, t->n);
    if (!buf) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory"), -1;
    for (int64_t k = 0; k < t->n; k++) buf[k] = (float)oc_at(t, k);
    int id = sbt_param(im->g, name, ndim, shape, buf, NULL);
    if (id < 0) onnx_graph_error(im);
    return id;
}

static int scalar_param(onnx_importer *im, float v, const char *name) {
    oc_tensor *t = oc_new(0, 0, NULL);
    if (!t) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory"), -1;
    t->f[0] = v;
    int id = onnx_param_of(im, t, name, 0, NULL);
    oc_free(t);
    return id;
}

int onnx_filled_param(onnx_importer *im, float v, int ndim, const int64_t *shape, const char *name) {
    oc_tensor *t = oc_new(0, ndim, shape);
    if (!t) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory"), -1;
    for (int64_t k = 0; k < t->n; k++) t->f[k] = v;
    int id = onnx_param_of(im, t, name, ndim, shape);
    oc_free(t);
    return id;
}

static sbt_status materialise(onnx_importer *im, onnx_val *v);

int onnx_node_of(onnx_importer *im, onnx_val *v) {
    switch (v->kind) {
    case V_NODE: return v->node;
    case V_CONST:
        if (v->node < 0) v->node = onnx_param_of(im, v->c, v->name, v->c->ndim, v->c->shape);
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
        int gamma = v->gamma ? onnx_param_of(im, v->gamma, "gamma", 1, &d)
                             : onnx_filled_param(im, 1.0f, 1, &d, "gamma");
        int beta =
            v->beta ? onnx_param_of(im, v->beta, "beta", 1, &d) : onnx_filled_param(im, 0.0f, 1, &d, "beta");
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
        *out = (onnx_val){.name = out->name, .gamma = from->gamma, .beta = from->beta, .eps = from->eps};
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
        return defer(out, D_LN, a, a->x), out->gamma = b->c, 1;
    if (!strcmp(op, "Add") && is_deferred(a, D_LN) && !a->beta && b->kind == V_CONST)
        return defer(out, D_LN, a, a->x), out->beta = b->c, 1;
    return 0;
}

/* ---- broadcasting ---- */

/* Drops leading 1s of a shape (they do not change the data layout). */
static int squeeze_leading(int nd, int64_t *shape) {
    int drop = 0;
    while (drop < nd - 1 && shape[drop] == 1) drop++;
    memmove(shape, shape + drop, (size_t)(nd - drop) * sizeof *shape);
    return nd - drop;
}

/* 1 when b (leading 1s dropped) equals a trailing part of a. */
static int is_suffix(int na, const int64_t *a, int nb, const int64_t *b) {
    if (nb > na) return 0;
    for (int d = 0; d < nb; d++)
        if (b[nb - 1 - d] != a[na - 1 - d]) return 0;
    return 1;
}

static int broadcast2(int na, const int64_t *a, int nb, const int64_t *b, int64_t *out) {
    int n = na > nb ? na : nb;
    for (int d = 0; d < n; d++) {
        int64_t x = d < n - na ? 1 : a[d - (n - na)], y = d < n - nb ? 1 : b[d - (n - nb)];
        if (x != y && x != 1 && y != 1) return -1;
        out[d] = x == 1 ? y : x;
    }
    return n;
}

static int same_shape(int na, const int64_t *a, int nb, const int64_t *b) {
    return na == nb && !memcmp(a, b, (size_t)na * sizeof *a);
}

/* Node x broadcast to `target` (its rank >= x's) through MatMuls with ones; -1 after an
 * error when an axis other than the last two needs repeating. */
static int expand_node(onnx_importer *im, int x, int nt, const int64_t *target) {
    int64_t shape[SBT_MAX_DIMS], cur[SBT_MAX_DIMS];
    int nx = onnx_shape_of(im, x, shape);
    if (nt > SBT_MAX_DIMS) return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "broadcast to rank %d", nt), -1;
    for (int d = 0; d < nt; d++) cur[d] = d < nt - nx ? 1 : shape[d - (nt - nx)];
    for (int d = 0; d < nt - 2; d++)
        if (cur[d] != target[d])
            return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "broadcasting a run-time value along axis %d", d),
                   -1;
    if (nx != nt) x = sbt_reshape(im->g, x, nt, cur);
    if (cur[nt - 1] != target[nt - 1]) { /* (..., 1) @ ones (1, K) */
        int ones = onnx_filled_param(im, 1.0f, 2, (int64_t[]){1, target[nt - 1]}, "ones");
        x = sbt_matmul(im->g, x, ones, 0, 0);
        cur[nt - 1] = target[nt - 1];
    }
    if (nt >= 2 && cur[nt - 2] != target[nt - 2]) { /* ones (..., T, 1) @ (..., 1, K) */
        int64_t os[SBT_MAX_DIMS];
        memcpy(os, cur, sizeof os);
        os[nt - 2] = target[nt - 2], os[nt - 1] = 1;
        int ones = onnx_filled_param(im, 1.0f, nt, os, "ones");
        x = sbt_matmul(im->g, ones, x, 0, 0);
    }
    if (x < 0) onnx_graph_error(im);
    return x;
}

typedef int (*binary_fn)(sbt_graph *g, int a, int b);

static binary_fn binary_of(const char *op) {
    if (!strcmp(op, "Add")) return sbt_add;
    if (!strcmp(op, "Sub")) return sbt_sub;
    if (!strcmp(op, "Mul")) return sbt_mul;
    return sbt_div;
}

/* Both operands are nodes: a to the full shape, b to a suffix of it (or full). */
static sbt_status runtime_binary(onnx_importer *im, const char *op, int a, int b, onnx_val *out) {
    int64_t sa[SBT_MAX_DIMS], sb[SBT_MAX_DIMS], target[OC_MAX_DIMS];
    int na = onnx_shape_of(im, a, sa), nb = onnx_shape_of(im, b, sb);
    int nt = broadcast2(na, sa, nb, sb, target);
    if (nt < 0) return onnx_node_fail(im, SBT_ERR_SHAPE, "operand shapes do not broadcast");
    int commutes = !strcmp(op, "Add") || !strcmp(op, "Mul");
    if (!same_shape(na, sa, nt, target) && commutes && same_shape(nb, sb, nt, target)) {
        int t = a;
        a = b, b = t;
        nb = onnx_shape_of(im, b, sb);
    }
    if (!same_shape(onnx_shape_of(im, a, sa), sa, nt, target)) a = expand_node(im, a, nt, target);
    if (a < 0) return SBT_ERR_UNSUPPORTED;
    int nbs = squeeze_leading(nb, sb);
    if (is_suffix(nt, target, nbs, sb)) {
        if (nbs != nb) b = sbt_reshape(im->g, b, nbs, sb);
    } else {
        b = expand_node(im, b, nt, target);
        if (b < 0) return SBT_ERR_UNSUPPORTED;
    }
    return onnx_result(im, out, binary_of(op)(im->g, a, b));
}

static int all_equal(const oc_tensor *c) {
    for (int64_t k = 1; k < c->n; k++)
        if (oc_at(c, k) != oc_at(c, 0)) return 0;
    return c->n > 0;
}

/* Node x op constant c (or c op x when c_first). */
static sbt_status const_binary(onnx_importer *im, const char *op, int x, onnx_val *cv, int c_first,
                               onnx_val *out) {
    const oc_tensor *c = cv->c;
    int64_t sx[SBT_MAX_DIMS], target[OC_MAX_DIMS];
    int nx = onnx_shape_of(im, x, sx), nt = broadcast2(nx, sx, c->ndim, c->shape, target);
    if (nt < 0) return onnx_node_fail(im, SBT_ERR_SHAPE, "operand shapes do not broadcast");
    if (!same_shape(nx, sx, nt, target) && (x = expand_node(im, x, nt, target)) < 0)
        return SBT_ERR_UNSUPPORTED;
    int add = !strcmp(op, "Add"), sub = !strcmp(op, "Sub"), mul = !strcmp(op, "Mul");
    if (all_equal(c)) { /* a scalar in effect: Scale, or Add of one value */
        double v = oc_at(c, 0);
        if ((mul && v == 1.0) || ((add || (sub && !c_first)) && v == 0.0) ||
            (!c_first && !strcmp(op, "Div") && v == 1.0))
            return onnx_result(im, out, x);
        if (mul) return onnx_result(im, out, sbt_scale(im->g, x, (float)v));
        if (!c_first && !add && !sub) return onnx_result(im, out, sbt_scale(im->g, x, (float)(1.0 / v)));
        if (add || sub) {
            if (sub && c_first) x = sbt_scale(im->g, x, -1.0f);
            int p = scalar_param(im, (float)(sub && !c_first ? -v : v), cv->name);
            return p < 0 ? SBT_ERR_ARG : onnx_result(im, out, sbt_add(im->g, x, p));
        }
    }
    /* The constant as a parameter of its trailing shape, or of the full shape when it
     * must come first (c - x, c / x) or does not fit a suffix. */
    int64_t sc[OC_MAX_DIMS];
    memcpy(sc, c->shape, sizeof sc);
    int nc = c->ndim ? squeeze_leading(c->ndim, sc) : 0;
    int p;
    if (!c_first && is_suffix(nt, target, nc, sc)) {
        p = onnx_param_of(im, c, cv->name, nc, sc);
    } else {
        oc_tensor *full = oc_new(0, nt, target);
        if (!full) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory");
        int64_t strides[OC_MAX_DIMS], s = 1;
        for (int d = c->ndim - 1; d >= 0; d--) strides[d] = s, s *= c->shape[d];
        for (int64_t k = 0; k < full->n; k++) { /* NumPy broadcast of c */
            int64_t rem = k, src = 0;
            for (int d = nt - 1; d >= 0; d--) {
                int64_t coord = rem % target[d];
                rem /= target[d];
                int cd = d - (nt - c->ndim);
                if (cd >= 0 && c->shape[cd] != 1) src += coord * strides[cd];
            }
            full->f[k] = oc_at(c, src);
        }
        p = onnx_param_of(im, full, cv->name, nt, target);
        oc_free(full);
    }
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
    return b < 0 ? SBT_ERR_ARG : runtime_binary(im, op, a, b, out);
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
