/* onnx_const.c - folding the ONNX nodes that compute shapes, masks and tables from
 * constants (the tensors themselves: onnx_tensor.c). */
#include "io/onnx_const.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- folding ---- */

typedef struct {
    const Onnx__NodeProto *node;
    int opset;
    oc_tensor *const *in;
    int n_in;
    const char *where;
} fold_ctx;

static sbt_status fail_at(const fold_ctx *c, const char *problem) {
    return sbt_fail(SBT_ERR_FORMAT, "%s: %s", c->where, problem);
}

static const oc_tensor *arg(const fold_ctx *c, int k) { return k >= 0 && k < c->n_in ? c->in[k] : NULL; }

static void strides_of(int ndim, const int64_t *shape, int64_t *strides) {
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) strides[d] = s, s *= shape[d];
}

/* NumPy broadcast shape of `n` tensors; 0 if they do not broadcast. */
static int broadcast_shape(const oc_tensor *const *ts, int n, int *ndim, int64_t *shape) {
    *ndim = 0;
    for (int k = 0; k < n; k++)
        if (ts[k]->ndim > *ndim) *ndim = ts[k]->ndim;
    for (int d = 0; d < *ndim; d++) shape[d] = 1;
    for (int k = 0; k < n; k++)
        for (int d = 0; d < ts[k]->ndim; d++) {
            int64_t v = ts[k]->shape[d], *o = &shape[*ndim - ts[k]->ndim + d];
            if (v == *o || v == 1) continue;
            if (*o != 1) return 0;
            *o = v;
        }
    return 1;
}

/* Index into `t` of output element `flat` of the broadcast shape. */
static int64_t broadcast_index(const oc_tensor *t, int ndim, const int64_t *shape, int64_t flat) {
    int64_t idx = 0, stride = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        int64_t coord = flat % shape[d];
        flat /= shape[d];
        int td = d - (ndim - t->ndim);
        if (td < 0) break;
        if (t->shape[td] != 1) idx += coord * stride;
        stride *= t->shape[td];
    }
    return idx;
}

static int is_compare(const char *op) {
    return !strcmp(op, "Equal") || !strcmp(op, "Less") || !strcmp(op, "Greater") ||
           !strcmp(op, "LessOrEqual") || !strcmp(op, "GreaterOrEqual") || !strcmp(op, "And") ||
           !strcmp(op, "Or") || !strcmp(op, "Xor");
}

static double apply_binary(const char *op, double a, double b) {
    if (!strcmp(op, "Add")) return a + b;
    if (!strcmp(op, "Sub")) return a - b;
    if (!strcmp(op, "Mul")) return a * b;
    if (!strcmp(op, "Div")) return a / b;
    if (!strcmp(op, "Pow")) return pow(a, b);
    if (!strcmp(op, "Max")) return a > b ? a : b;
    if (!strcmp(op, "Min")) return a < b ? a : b;
    if (!strcmp(op, "Equal")) return a == b;
    if (!strcmp(op, "Less")) return a < b;
    if (!strcmp(op, "Greater")) return a > b;
    if (!strcmp(op, "LessOrEqual")) return a <= b;
    if (!strcmp(op, "GreaterOrEqual")) return a >= b;
    if (!strcmp(op, "And")) return a != 0 && b != 0;
    if (!strcmp(op, "Or")) return a != 0 || b != 0;
    return (a != 0) != (b != 0); /* Xor */
}

/* Integer arithmetic in int64 (wrapping instead of overflowing, which C leaves undefined). */
static int64_t int_binary(const char *op, int64_t a, int64_t b) {
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    if (!strcmp(op, "Add")) return (int64_t)(ua + ub);
    if (!strcmp(op, "Sub")) return (int64_t)(ua - ub);
    if (!strcmp(op, "Mul")) return (int64_t)(ua * ub);
    if (!strcmp(op, "Div")) return b == 0 || (a == INT64_MIN && b == -1) ? 0 : a / b;
    if (!strcmp(op, "Max")) return a > b ? a : b;
    if (!strcmp(op, "Min")) return a < b ? a : b;
    return oc_to_int(pow((double)a, (double)b)); /* Pow */
}

static int is_binary(const char *op) {
    static const char *ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
        if (!strcmp(op, ops[k])) return 1;
    return is_compare(op);
}

/* Elementwise with broadcasting: binary ops and Where (3 inputs). */
static sbt_status fold_broadcast(const fold_ctx *c, oc_tensor **out) {
    const char *op = c->node->op_type;
    int where = !strcmp(op, "Where"), n = where ? 3 : 2;
    if (c->n_in < n || !arg(c, 0) || !arg(c, 1) || (where && !arg(c, 2))) return fail_at(c, "missing input");
    int ndim;
    int64_t shape[OC_MAX_DIMS];
    const oc_tensor *ins[3] = {c->in[0], c->in[1], where ? c->in[2] : NULL};
    if (!broadcast_shape(ins, n, &ndim, shape)) return fail_at(c, "input shapes do not broadcast");
    const oc_tensor *a = c->in[where], *b = c->in[where + 1];
    int ints = where ? a->is_int && b->is_int : (is_compare(op) || (a->is_int && b->is_int));
    oc_tensor *t = oc_new(ints, ndim, shape);
    if (!t) return fail_at(c, "result too large");
    for (int64_t k = 0; k < t->n; k++) {
        int64_t ia = broadcast_index(a, ndim, shape, k), ib = broadcast_index(b, ndim, shape, k);
        if (where) {
            int pick_a = oc_at(c->in[0], broadcast_index(c->in[0], ndim, shape, k)) != 0;
            /* Integers are copied as integers: INT64_MAX sentinels (Slice ends) survive. */
            if (ints)
                t->i[k] = pick_a ? a->i[ia] : b->i[ib];
            else
                t->f[k] = pick_a ? oc_at(a, ia) : oc_at(b, ib);
        } else if (ints && !is_compare(op)) {
            t->i[k] = int_binary(op, a->i[ia], b->i[ib]);
        } else {
            double v = apply_binary(op, oc_at(a, ia), oc_at(b, ib));
            if (ints)
                t->i[k] = oc_to_int(v);
            else
                t->f[k] = v;
        }
    }
    *out = t;
    return SBT_OK;
}

static double apply_unary(const char *op, double x) {
    if (!strcmp(op, "Neg")) return -x;
    if (!strcmp(op, "Not")) return x == 0;
    if (!strcmp(op, "Sqrt")) return sqrt(x);
    if (!strcmp(op, "Abs")) return fabs(x);
    if (!strcmp(op, "Exp")) return exp(x);
    if (!strcmp(op, "Log")) return log(x);
    if (!strcmp(op, "Erf")) return erf(x);
    if (!strcmp(op, "Relu")) return x > 0 ? x : 0;
    if (!strcmp(op, "Sin")) return sin(x);
    if (!strcmp(op, "Cos")) return cos(x);
    if (!strcmp(op, "Floor")) return floor(x);
    if (!strcmp(op, "Ceil")) return ceil(x);
    if (!strcmp(op, "Reciprocal")) return 1.0 / x;
    if (!strcmp(op, "Tanh")) return tanh(x);
    return 1.0 / (1.0 + exp(-x)); /* Sigmoid */
}

static int is_unary(const char *op) {
    static const char *ops[] = {"Neg", "Not", "Sqrt",  "Abs",  "Exp",        "Log",  "Erf",    "Relu",
                                "Sin", "Cos", "Floor", "Ceil", "Reciprocal", "Tanh", "Sigmoid"};
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
        if (!strcmp(op, ops[k])) return 1;
    return 0;
}

static oc_tensor *copy_as(const oc_tensor *x, int is_int, int ndim, const int64_t *shape) {
    oc_tensor *t = oc_new(is_int, ndim, shape);
    if (!t || t->n != x->n) return oc_free(t), NULL;
    for (int64_t k = 0; k < t->n; k++) {
        if (is_int)
            t->i[k] = x->is_int ? x->i[k] : oc_to_int(x->f[k]);
        else
            t->f[k] = oc_at(x, k);
    }
    return t;
}

static sbt_status fold_unary(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *x = arg(c, 0);
    if (!x) return fail_at(c, "missing input");
    const char *op = c->node->op_type;
    int ints = !strcmp(op, "Not") ||
               (x->is_int && (!strcmp(op, "Neg") || !strcmp(op, "Abs") || !strcmp(op, "Relu")));
    oc_tensor *t = oc_new(ints, x->ndim, x->shape);
    if (!t) return fail_at(c, "result too large");
    for (int64_t k = 0; k < t->n; k++) {
        double v = apply_unary(op, oc_at(x, k));
        if (ints)
            t->i[k] = oc_to_int(v);
        else
            t->f[k] = v;
    }
    *out = t;
    return SBT_OK;
}

/* The int64 list of a 1-D (or scalar) constant input, or of attribute `name` (older
 * opsets); count -1 when neither is present. */
static int list_of(const fold_ctx *c, int input, const char *name, int64_t *vals, int cap) {
    const oc_tensor *t = arg(c, input);
    if (t) {
        if (t->n > cap) return -2;
        for (int64_t k = 0; k < t->n; k++) vals[k] = oc_int_at(t, k);
        return (int)t->n;
    }
    const Onnx__AttributeProto *a = name ? oc_attr(c->node, name) : NULL;
    if (!a) return -1;
    if (a->n_ints > (size_t)cap) return -2;
    for (size_t k = 0; k < a->n_ints; k++) vals[k] = a->ints[k];
    return (int)a->n_ints;
}

static sbt_status fold_unsqueeze(const fold_ctx *c, int squeeze, oc_tensor **out) {
    const oc_tensor *x = arg(c, 0);
    int64_t axes[OC_MAX_DIMS];
    int na = list_of(c, 1, "axes", axes, OC_MAX_DIMS);
    if (!x || na == -2) return fail_at(c, "bad input or axes");
    int64_t shape[OC_MAX_DIMS];
    int nd = 0;
    if (squeeze) {
        for (int d = 0; d < x->ndim; d++) {
            int drop = na < 0 ? x->shape[d] == 1 : 0;
            for (int k = 0; k < na; k++) drop |= oc_axis(axes[k], x->ndim) == d;
            if (drop && x->shape[d] != 1) return fail_at(c, "squeezing an axis that is not 1");
            if (!drop) shape[nd++] = x->shape[d];
        }
    } else {
        int out_nd = x->ndim + (na < 0 ? 0 : na), is_new[OC_MAX_DIMS] = {0};
        if (na < 0 || out_nd > OC_MAX_DIMS) return fail_at(c, "bad axes");
        for (int k = 0; k < na; k++) {
            int a = oc_axis(axes[k], out_nd);
            if (a < 0 || is_new[a]) return fail_at(c, "bad axes");
            is_new[a] = 1;
        }
        for (int d = 0, s = 0; d < out_nd; d++) shape[nd++] = is_new[d] ? 1 : x->shape[s++];
    }
    *out = copy_as(x, x->is_int, nd, shape);
    return *out ? SBT_OK : fail_at(c, "out of memory");
}

static sbt_status fold_concat(const fold_ctx *c, oc_tensor **out) {
    if (c->n_in < 1 || !arg(c, 0)) return fail_at(c, "no inputs");
    const oc_tensor *x0 = c->in[0];
    int axis = oc_axis(oc_attr_int(c->node, "axis", 0), x0->ndim);
    if (axis < 0) return fail_at(c, "bad axis");
    int64_t shape[OC_MAX_DIMS];
    memcpy(shape, x0->shape, sizeof shape);
    shape[axis] = 0;
    int ints = 1;
    for (int k = 0; k < c->n_in; k++) {
        const oc_tensor *x = c->in[k];
        if (!x || x->ndim != x0->ndim) return fail_at(c, "inputs of different ranks");
        for (int d = 0; d < x0->ndim; d++)
            if (d != axis && x->shape[d] != x0->shape[d]) return fail_at(c, "inputs of different shapes");
        shape[axis] += x->shape[axis];
        ints &= x->is_int;
    }
    oc_tensor *t = oc_new(ints, x0->ndim, shape);
    if (!t) return fail_at(c, "result too large");
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= shape[d];
    for (int d = axis + 1; d < x0->ndim; d++) inner *= shape[d];
    int64_t k = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int j = 0; j < c->n_in; j++) {
            const oc_tensor *x = c->in[j];
            int64_t run = x->shape[axis] * inner;
            for (int64_t e = 0; e < run; e++, k++) {
                if (ints)
                    t->i[k] = x->i[o * run + e];
                else
                    t->f[k] = oc_at(x, o * run + e);
            }
        }
    *out = t;
    return SBT_OK;
}

static sbt_status fold_gather(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *x = arg(c, 0), *idx = arg(c, 1);
    if (!x || !idx || !idx->is_int) return fail_at(c, "bad inputs");
    int axis = oc_axis(oc_attr_int(c->node, "axis", 0), x->ndim);
    if (axis < 0 || x->ndim - 1 + idx->ndim > OC_MAX_DIMS) return fail_at(c, "bad axis or rank");
    int64_t shape[OC_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < axis; d++) shape[nd++] = x->shape[d];
    for (int d = 0; d < idx->ndim; d++) shape[nd++] = idx->shape[d];
    for (int d = axis + 1; d < x->ndim; d++) shape[nd++] = x->shape[d];
    oc_tensor *t = oc_new(x->is_int, nd, shape);
    if (!t) return fail_at(c, "result too large");
    int64_t outer = 1, inner = 1, dim = x->shape[axis];
    for (int d = 0; d < axis; d++) outer *= x->shape[d];
    for (int d = axis + 1; d < x->ndim; d++) inner *= x->shape[d];
    int64_t k = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < idx->n; j++) {
            int64_t i = idx->i[j] < 0 ? idx->i[j] + dim : idx->i[j];
            if (i < 0 || i >= dim) return oc_free(t), fail_at(c, "index out of range");
            for (int64_t e = 0; e < inner; e++, k++) {
                int64_t src = (o * dim + i) * inner + e;
                if (x->is_int)
                    t->i[k] = x->i[src];
                else
                    t->f[k] = x->f[src];
            }
        }
    *out = t;
    return SBT_OK;
}

/* Reshape target: 0 copies the input's dimension (unless allowzero), -1 is inferred. */
sbt_status oc_reshape_dims(const oc_tensor *spec, int allowzero, int in_ndim, const int64_t *in_shape,
                           int64_t in_n, int *ndim, int64_t *shape);
sbt_status oc_reshape_dims(const oc_tensor *spec, int allowzero, int in_ndim, const int64_t *in_shape,
                           int64_t in_n, int *ndim, int64_t *shape) {
    if (!spec->is_int || spec->ndim > 1 || spec->n > OC_MAX_DIMS) return SBT_ERR_SHAPE;
    int infer = -1;
    int64_t known = 1;
    *ndim = (int)spec->n;
    for (int d = 0; d < *ndim; d++) {
        int64_t v = spec->i[d];
        if (v == 0 && !allowzero) {
            if (d >= in_ndim) return SBT_ERR_SHAPE;
            v = in_shape[d];
        }
        if (v == -1) {
            if (infer >= 0) return SBT_ERR_SHAPE;
            infer = d;
            v = 1;
        } else if (v < 0) {
            return SBT_ERR_SHAPE;
        }
        shape[d] = v;
        if (v && known > INT64_MAX / v) return SBT_ERR_SHAPE;
        known *= v;
    }
    if (infer >= 0) {
        if (known == 0 || in_n % known) return SBT_ERR_SHAPE;
        shape[infer] = in_n / known;
        known = in_n;
    }
    return known == in_n ? SBT_OK : SBT_ERR_SHAPE;
}

static sbt_status fold_reshape(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *x = arg(c, 0), *s = arg(c, 1);
    if (!x || !s) return fail_at(c, "missing input");
    int nd;
    int64_t shape[OC_MAX_DIMS];
    if (oc_reshape_dims(s, (int)oc_attr_int(c->node, "allowzero", 0), x->ndim, x->shape, x->n, &nd, shape))
        return fail_at(c, "shape does not fit the input");
    *out = copy_as(x, x->is_int, nd, shape);
    return *out ? SBT_OK : fail_at(c, "out of memory");
}

static sbt_status fold_expand(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *x = arg(c, 0), *s = arg(c, 1);
    if (!x || !s || !s->is_int || s->n > OC_MAX_DIMS) return fail_at(c, "bad inputs");
    oc_tensor *shape_t = oc_new(0, (int)s->n, (int64_t[OC_MAX_DIMS]){0});
    if (!shape_t) return fail_at(c, "bad shape");
    for (int d = 0; d < s->n; d++) shape_t->shape[d] = s->i[d] < 1 ? s->i[d] : s->i[d];
    for (int d = 0; d < s->n; d++)
        if (s->i[d] < 0) return oc_free(shape_t), fail_at(c, "negative shape");
    /* Broadcast x against a tensor of the given shape (without allocating its data). */
    oc_tensor probe = *shape_t;
    const oc_tensor *pair[2] = {x, &probe};
    int nd;
    int64_t shape[OC_MAX_DIMS];
    int ok = broadcast_shape(pair, 2, &nd, shape);
    oc_free(shape_t);
    if (!ok) return fail_at(c, "shape does not broadcast");
    oc_tensor *t = oc_new(x->is_int, nd, shape);
    if (!t) return fail_at(c, "result too large");
    for (int64_t k = 0; k < t->n; k++) {
        int64_t src = broadcast_index(x, nd, shape, k);
        if (x->is_int)
            t->i[k] = x->i[src];
        else
            t->f[k] = x->f[src];
    }
    *out = t;
    return SBT_OK;
}

static sbt_status fold_constant_of_shape(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *s = arg(c, 0);
    if (!s || !s->is_int || s->n > OC_MAX_DIMS) return fail_at(c, "bad shape input");
    int is_int = 0;
    double v = 0;
    const Onnx__AttributeProto *a = oc_attr(c->node, "value");
    if (a && a->t) {
        oc_tensor *val = NULL;
        if (oc_from_proto(a->t, c->where, &val) != SBT_OK) return SBT_ERR_FORMAT;
        if (val->n != 1) return oc_free(val), fail_at(c, "value must hold one element");
        is_int = val->is_int;
        v = oc_at(val, 0);
        oc_free(val);
    }
    int64_t shape[OC_MAX_DIMS];
    for (int d = 0; d < s->n; d++) shape[d] = s->i[d];
    oc_tensor *t = oc_new(is_int, (int)s->n, shape);
    if (!t) return fail_at(c, "shape negative or too large");
    for (int64_t k = 0; k < t->n; k++) {
        if (is_int)
            t->i[k] = oc_to_int(v);
        else
            t->f[k] = v;
    }
    *out = t;
    return SBT_OK;
}

/* Clamped [start, end) with step of one axis of length `dim` (ONNX Slice rules). */
void oc_slice_range(int64_t dim, int64_t step, int64_t *start, int64_t *end);
void oc_slice_range(int64_t dim, int64_t step, int64_t *start, int64_t *end) {
    int64_t s = *start, e = *end;
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
        s = s < 0 ? 0 : (s > dim ? dim : s);
        e = e < 0 ? 0 : (e > dim ? dim : e);
    } else {
        s = s < 0 ? -1 : (s > dim - 1 ? dim - 1 : s);
        e = e < -1 ? -1 : (e > dim - 1 ? dim - 1 : e);
    }
    *start = s, *end = e;
}

static sbt_status fold_slice(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *x = arg(c, 0);
    int64_t starts[OC_MAX_DIMS], ends[OC_MAX_DIMS], axes[OC_MAX_DIMS], steps[OC_MAX_DIMS];
    int ns = list_of(c, 1, "starts", starts, OC_MAX_DIMS), ne = list_of(c, 2, "ends", ends, OC_MAX_DIMS);
    int na = list_of(c, 3, "axes", axes, OC_MAX_DIMS), nst = list_of(c, 4, NULL, steps, OC_MAX_DIMS);
    if (!x || ns < 0 || ns != ne || na == -2 || nst == -2 || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return fail_at(c, "bad starts, ends, axes or steps");
    int64_t lo[OC_MAX_DIMS], step[OC_MAX_DIMS], shape[OC_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) lo[d] = 0, step[d] = 1, shape[d] = x->shape[d];
    for (int k = 0; k < ns; k++) {
        int a = oc_axis(na >= 0 ? axes[k] : k, x->ndim);
        int64_t st = nst >= 0 ? steps[k] : 1, s = starts[k], e = ends[k];
        if (a < 0 || st == 0) return fail_at(c, "bad axis or zero step");
        oc_slice_range(x->shape[a], st, &s, &e);
        int64_t len = st > 0 ? (e > s ? (e - s + st - 1) / st : 0) : (s > e ? (s - e - st - 1) / -st : 0);
        lo[a] = s, step[a] = st, shape[a] = len;
    }
    oc_tensor *t = oc_new(x->is_int, x->ndim, shape);
    if (!t) return fail_at(c, "result too large");
    int64_t in_strides[OC_MAX_DIMS];
    strides_of(x->ndim, x->shape, in_strides);
    for (int64_t k = 0; k < t->n; k++) {
        int64_t rem = k, src = 0;
        for (int d = x->ndim - 1; d >= 0; d--) {
            int64_t coord = rem % shape[d];
            rem /= shape[d];
            src += (lo[d] + coord * step[d]) * in_strides[d];
        }
        if (x->is_int)
            t->i[k] = x->i[src];
        else
            t->f[k] = x->f[src];
    }
    *out = t;
    return SBT_OK;
}

static sbt_status fold_range(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *s = arg(c, 0), *l = arg(c, 1), *d = arg(c, 2);
    if (!s || !l || !d || s->n != 1 || l->n != 1 || d->n != 1) return fail_at(c, "bad inputs");
    double start = oc_at(s, 0), limit = oc_at(l, 0), delta = oc_at(d, 0);
    if (delta == 0) return fail_at(c, "zero delta");
    double count = ceil((limit - start) / delta);
    if (!(count < (double)OC_MAX_ELEMENTS)) return fail_at(c, "range too long");
    int64_t n = count > 0 ? (int64_t)count : 0;
    oc_tensor *t = oc_new(s->is_int, 1, &n);
    if (!t) return fail_at(c, "out of memory");
    for (int64_t k = 0; k < n; k++) {
        if (t->is_int)
            t->i[k] = s->i[0] + k * oc_int_at(d, 0);
        else
            t->f[k] = start + (double)k * delta;
    }
    *out = t;
    return SBT_OK;
}

static sbt_status fold_scatter_nd(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *x = arg(c, 0), *idx = arg(c, 1), *upd = arg(c, 2);
    if (!x || !idx || !upd || !idx->is_int || idx->ndim < 1) return fail_at(c, "bad inputs");
    int64_t q = idx->shape[idx->ndim - 1];
    if (q < 1 || q > x->ndim) return fail_at(c, "bad index depth");
    int64_t slice = 1, strides[OC_MAX_DIMS];
    for (int d = (int)q; d < x->ndim; d++) slice *= x->shape[d];
    strides_of(x->ndim, x->shape, strides);
    int64_t count = idx->n / q;
    if (upd->n != count * slice) return fail_at(c, "updates do not match the indices");
    oc_tensor *t = copy_as(x, x->is_int, x->ndim, x->shape);
    if (!t) return fail_at(c, "out of memory");
    for (int64_t j = 0; j < count; j++) {
        int64_t off = 0;
        for (int d = 0; d < q; d++) {
            int64_t i = idx->i[j * q + d];
            if (i < 0) i += x->shape[d];
            if (i < 0 || i >= x->shape[d]) return oc_free(t), fail_at(c, "index out of range");
            off += i * strides[d];
        }
        for (int64_t e = 0; e < slice; e++) {
            if (t->is_int)
                t->i[off + e] = oc_int_at(upd, j * slice + e);
            else
                t->f[off + e] = oc_at(upd, j * slice + e);
        }
    }
    *out = t;
    return SBT_OK;
}

static sbt_status fold_transpose(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *x = arg(c, 0);
    if (!x) return fail_at(c, "missing input");
    int64_t perm[OC_MAX_DIMS];
    int np = list_of(c, -1, "perm", perm, OC_MAX_DIMS);
    if (np < 0)
        for (int d = 0; d < x->ndim; d++) perm[d] = x->ndim - 1 - d;
    else if (np != x->ndim)
        return fail_at(c, "bad perm");
    int64_t shape[OC_MAX_DIMS], in_strides[OC_MAX_DIMS];
    int seen[OC_MAX_DIMS] = {0};
    for (int d = 0; d < x->ndim; d++) {
        if (perm[d] < 0 || perm[d] >= x->ndim || seen[perm[d]]++) return fail_at(c, "bad perm");
        shape[d] = x->shape[perm[d]];
    }
    strides_of(x->ndim, x->shape, in_strides);
    oc_tensor *t = oc_new(x->is_int, x->ndim, shape);
    if (!t) return fail_at(c, "out of memory");
    for (int64_t k = 0; k < t->n; k++) {
        int64_t rem = k, src = 0;
        for (int d = x->ndim - 1; d >= 0; d--) {
            src += (rem % shape[d]) * in_strides[perm[d]];
            rem /= shape[d];
        }
        if (x->is_int)
            t->i[k] = x->i[src];
        else
            t->f[k] = x->f[src];
    }
    *out = t;
    return SBT_OK;
}

static sbt_status fold_cast(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *x = arg(c, 0);
    int kind = oc_type_is_float((int32_t)oc_attr_int(c->node, "to", 0));
    if (!x) return fail_at(c, "missing input");
    if (kind < 0) return fail_at(c, "cast to an unsupported type");
    oc_tensor *t = copy_as(x, !kind, x->ndim, x->shape);
    if (t && oc_attr_int(c->node, "to", 0) == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
        for (int64_t k = 0; k < t->n; k++) t->i[k] = oc_at(x, k) != 0;
    *out = t;
    return t ? SBT_OK : fail_at(c, "out of memory");
}

static sbt_status fold_shape_of(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *x = arg(c, 0);
    if (!x) return fail_at(c, "missing input");
    int64_t start = oc_attr_int(c->node, "start", 0), end = oc_attr_int(c->node, "end", x->ndim);
    oc_slice_range(x->ndim, 1, &start, &end);
    int64_t n = end > start ? end - start : 0;
    if (!strcmp(c->node->op_type, "Size")) {
        oc_tensor *t = oc_new(1, 0, NULL);
        if (t) t->i[0] = x->n;
        return (*out = t) ? SBT_OK : fail_at(c, "out of memory");
    }
    oc_tensor *t = oc_new(1, 1, &n);
    if (!t) return fail_at(c, "out of memory");
    for (int64_t k = 0; k < n; k++) t->i[k] = x->shape[start + k];
    *out = t;
    return SBT_OK;
}

/* ReduceSum / ReduceMean / ReduceMax / ReduceMin over the given axes (all when none). */
static sbt_status fold_reduce(const fold_ctx *c, oc_tensor **out) {
    const oc_tensor *x = arg(c, 0);
    int64_t axes[OC_MAX_DIMS];
    int na = list_of(c, 1, "axes", axes, OC_MAX_DIMS), keep = (int)oc_attr_int(c->node, "keepdims", 1);
    if (!x || na == -2) return fail_at(c, "bad input or axes");
    int reduced[OC_MAX_DIMS] = {0}, nd = 0;
    for (int d = 0; d < x->ndim; d++) reduced[d] = na <= 0;
    for (int k = 0; k < na; k++) {
        int a = oc_axis(axes[k], x->ndim);
        if (a < 0) return fail_at(c, "bad axis");
        reduced[a] = 1;
    }
    int64_t shape[OC_MAX_DIMS], full[OC_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) {
        full[d] = reduced[d] ? 1 : x->shape[d];
        if (!reduced[d] || keep) shape[nd++] = full[d];
    }
    const char *op = c->node->op_type;
    int mean = !strcmp(op, "ReduceMean"), max = !strcmp(op, "ReduceMax"), min = !strcmp(op, "ReduceMin");
    oc_tensor *t = oc_new(x->is_int && !mean, nd, shape);
    double *acc = t ? calloc((size_t)(t->n ? t->n : 1), sizeof *acc) : NULL;
    int64_t *count = acc ? calloc((size_t)(t->n ? t->n : 1), sizeof *count) : NULL;
    if (!count) return free(acc), oc_free(t), fail_at(c, "out of memory");
    for (int64_t k = 0; k < x->n; k++) {
        int64_t rem = k, o = 0, stride = 1;
        for (int d = x->ndim - 1; d >= 0; d--) {
            int64_t coord = rem % x->shape[d];
            rem /= x->shape[d];
            if (!reduced[d]) o += coord * stride;
            stride *= full[d];
        }
        double v = oc_at(x, k);
        if (!count[o]++)
            acc[o] = v;
        else
            acc[o] = max ? fmax(acc[o], v) : min ? fmin(acc[o], v) : acc[o] + v;
    }
    for (int64_t o = 0; o < t->n; o++) {
        double v = mean && count[o] ? acc[o] / (double)count[o] : acc[o];
        if (t->is_int)
            t->i[o] = oc_to_int(v);
        else
            t->f[o] = v;
    }
    free(acc);
    free(count);
    *out = t;
    return SBT_OK;
}

sbt_status oc_eval(const Onnx__NodeProto *n, int opset, oc_tensor *const *in, int n_in, const char *where,
                   oc_tensor **out) {
    fold_ctx c = {n, opset, in, n_in, where};
    const char *op = n->op_type;
    *out = NULL;
    if (is_binary(op) || !strcmp(op, "Where")) return fold_broadcast(&c, out);
    if (is_unary(op)) return fold_unary(&c, out);
    if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) {
        if (!arg(&c, 0)) return fail_at(&c, "missing input");
        *out = copy_as(in[0], in[0]->is_int, in[0]->ndim, in[0]->shape);
        return *out ? SBT_OK : fail_at(&c, "out of memory");
    }
    if (!strcmp(op, "Cast")) return fold_cast(&c, out);
    if (!strcmp(op, "Shape") || !strcmp(op, "Size")) return fold_shape_of(&c, out);
    if (!strcmp(op, "Unsqueeze")) return fold_unsqueeze(&c, 0, out);
    if (!strcmp(op, "Squeeze")) return fold_unsqueeze(&c, 1, out);
    if (!strcmp(op, "Concat")) return fold_concat(&c, out);
    if (!strcmp(op, "Gather")) return fold_gather(&c, out);
    if (!strcmp(op, "Reshape")) return fold_reshape(&c, out);
    if (!strcmp(op, "Expand")) return fold_expand(&c, out);
    if (!strcmp(op, "ConstantOfShape")) return fold_constant_of_shape(&c, out);
    if (!strcmp(op, "Slice")) return fold_slice(&c, out);
    if (!strcmp(op, "Range")) return fold_range(&c, out);
    if (!strcmp(op, "ScatterND")) return fold_scatter_nd(&c, out);
    if (!strcmp(op, "Transpose")) return fold_transpose(&c, out);
    if (!strcmp(op, "ReduceSum") || !strcmp(op, "ReduceMean") || !strcmp(op, "ReduceMax") ||
        !strcmp(op, "ReduceMin"))
        return fold_reduce(&c, out);
    return SBT_ERR_UNSUPPORTED;
}
