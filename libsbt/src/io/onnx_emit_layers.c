/* onnx_emit_layers.c - ONNX MatMul/Gemm (constant weights become Linear), the shape ops
 * on run-time values (Transpose, Reshape, Flatten, (Un)Squeeze, Slice, Gather, Concat),
 * Softmax, LayerNormalization and BatchNormalization (inference, running statistics). */
#include <stdlib.h>
#include <string.h>

#include "io/onnx_import.h"

static int node_in(onnx_importer *im, onnx_val *const *in, int n_in, int k) {
    if (k >= n_in || !in[k]) return onnx_node_fail(im, SBT_ERR_FORMAT, "input %d missing", k), -1;
    return onnx_node_of(im, in[k]);
}

/* A constant input (shapes, axes, indices): run-time data cannot be folded. */
static const oc_tensor *const_in(onnx_importer *im, onnx_val *const *in, int n_in, int k, const char *what) {
    if (k >= n_in || !in[k]) return NULL;
    if (in[k]->kind != V_CONST) {
        onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "%s is computed from run-time data and cannot be folded",
                       what);
        return NULL;
    }
    return in[k]->c;
}

/* W (out, in) = transpose of a (in, out) constant, times `alpha`. */
static int transposed_weight(onnx_importer *im, const oc_tensor *b, int already_out_in, float alpha,
                             const char *name, int trainable) {
    int64_t out_dim = already_out_in ? b->shape[0] : b->shape[1],
            in_dim = already_out_in ? b->shape[1] : b->shape[0];
    oc_tensor *w = oc_new(0, 2, (int64_t[]){out_dim, in_dim});
    if (!w) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory"), -1;
    for (int64_t o = 0; o < out_dim; o++)
        for (int64_t i = 0; i < in_dim; i++)
            w->f[o * in_dim + i] = alpha * oc_at(b, already_out_in ? o * in_dim + i : i * out_dim + o);
    int id = onnx_param_of(im, w, name, 2, w->shape, trainable);
    oc_free(w);
    return id;
}

sbt_status emit_matmul(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    if (n_in < 2 || !in[0] || !in[1]) return onnx_node_fail(im, SBT_ERR_FORMAT, "needs two inputs");
    if (in[1]->kind == V_CONST && in[1]->c->ndim == 2) { /* x @ W: a Linear layer */
        int x = onnx_node_of(im, in[0]);
        int w = x < 0 ? -1 : transposed_weight(im, in[1]->c, 0, 1.0f, in[1]->name, in[1]->from_init);
        return w < 0 ? SBT_ERR_ARG : onnx_result(im, out, sbt_linear(im->g, x, w, -1));
    }
    int a = node_in(im, in, n_in, 0), b = a < 0 ? -1 : node_in(im, in, n_in, 1);
    if (b < 0) return SBT_ERR_ARG;
    if (sbt_node_ndim(im->g, a) < 2 || sbt_node_ndim(im->g, b) < 2)
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "MatMul of 1-D operands");
    return onnx_result(im, out, sbt_matmul(im->g, a, b, 0, 0));
}

sbt_status emit_gemm(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    float alpha = oc_attr_float(im->node, "alpha", 1.0f), beta = oc_attr_float(im->node, "beta", 1.0f);
    int trans_a = (int)oc_attr_int(im->node, "transA", 0), trans_b = (int)oc_attr_int(im->node, "transB", 0);
    int a = node_in(im, in, n_in, 0);
    if (a < 0 || n_in < 2 || !in[1] || in[1]->kind != V_CONST || in[1]->c->ndim != 2)
        return a < 0 ? SBT_ERR_ARG : onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Gemm with a run-time B");
    if (trans_a) a = sbt_transpose(im->g, a, (int[]){1, 0});
    int w = transposed_weight(im, in[1]->c, trans_b, alpha, in[1]->name, in[1]->from_init);
    if (w < 0) return SBT_ERR_ARG;
    int64_t out_dim = sbt_node_dim(im->g, w, 0);
    int bias = -1;
    const oc_tensor *c = n_in >= 3 && in[2] && in[2]->kind == V_CONST ? in[2]->c : NULL;
    if (n_in >= 3 && in[2] && !c) return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Gemm with a run-time C");
    if (c && (c->n != out_dim || (c->ndim == 2 && c->shape[0] != 1)))
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Gemm C other than a bias of %lld values",
                              (long long)out_dim);
    if (c) {
        oc_tensor *scaled = oc_new(0, 1, &out_dim);
        if (!scaled) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; k < out_dim; k++) scaled->f[k] = beta * oc_at(c, k);
        bias = onnx_param_of(im, scaled, in[2]->name, 1, &out_dim, in[2]->from_init);
        oc_free(scaled);
        if (bias < 0) return SBT_ERR_ARG;
    }
    return onnx_result(im, out, sbt_linear(im->g, a, w, bias));
}

sbt_status emit_transpose(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    int x = node_in(im, in, n_in, 0);
    if (x < 0) return SBT_ERR_ARG;
    int nd = sbt_node_ndim(im->g, x), perm[SBT_MAX_DIMS];
    const Onnx__AttributeProto *a = oc_attr(im->node, "perm");
    if (a && a->n_ints != (size_t)nd)
        return onnx_node_fail(im, SBT_ERR_FORMAT, "perm of %zu axes, rank %d", a->n_ints, nd);
    for (int d = 0; d < nd; d++) {
        int64_t p = a ? a->ints[d] : nd - 1 - d;
        if (p < 0 || p >= nd) return onnx_node_fail(im, SBT_ERR_FORMAT, "bad perm");
        perm[d] = (int)p;
    }
    return onnx_result(im, out, sbt_transpose(im->g, x, perm));
}

/* New shape of x for Reshape, Flatten, Unsqueeze and Squeeze. */
static int reshape_target(onnx_importer *im, onnx_val *const *in, int n_in, int x, int64_t *shape) {
    const char *op = im->node->op_type;
    int64_t xs[SBT_MAX_DIMS];
    int nx = onnx_shape_of(im, x, xs), nd = -1;
    int64_t size = sbt_node_size(im->g, x);
    if (!strcmp(op, "Reshape")) {
        const oc_tensor *spec = const_in(im, in, n_in, 1, "the target shape");
        if (!spec) return -1;
        int64_t s[OC_MAX_DIMS];
        if (oc_reshape_dims(spec, (int)oc_attr_int(im->node, "allowzero", 0), nx, xs, size, &nd, s) != SBT_OK)
            return onnx_node_fail(im, SBT_ERR_SHAPE, "target shape does not fit the input"), -1;
        if (nd > SBT_MAX_DIMS) return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "result of rank %d", nd), -1;
        memcpy(shape, s, (size_t)nd * sizeof *s);
        return nd;
    }
    if (!strcmp(op, "Flatten")) {
        int axis = (int)oc_attr_int(im->node, "axis", 1);
        if (axis < 0) axis += nx;
        if (axis < 0 || axis > nx) return onnx_node_fail(im, SBT_ERR_FORMAT, "bad axis"), -1;
        shape[0] = shape[1] = 1;
        for (int d = 0; d < nx; d++) shape[d >= axis] *= xs[d];
        return 2;
    }
    /* (Un)Squeeze: fold the same node over a constant of x's shape (its data unused). */
    oc_tensor *probe = oc_new(0, nx, xs);
    if (!probe) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory"), -1;
    oc_tensor *args[2] = {probe, n_in >= 2 && in[1] ? in[1]->c : NULL}, *res = NULL;
    if (n_in >= 2 && in[1] && in[1]->kind != V_CONST) {
        oc_free(probe);
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "axes computed from run-time data"), -1;
    }
    sbt_status st = oc_eval(im->node, im->opset, args, n_in < 2 ? n_in : 2, im->where, &res);
    oc_free(probe);
    if (st != SBT_OK) return -1;
    nd = res->ndim;
    if (nd > SBT_MAX_DIMS || nd < 1) nd = nd < 1 ? 1 : -1;
    if (nd < 0)
        return oc_free(res), onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "result of rank %d", res->ndim), -1;
    if (res->ndim == 0) shape[0] = 1;
    memcpy(shape, res->shape, (size_t)res->ndim * sizeof *shape);
    oc_free(res);
    return nd;
}

sbt_status emit_reshape(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    int x = node_in(im, in, n_in, 0);
    if (x < 0) return SBT_ERR_ARG;
    int64_t shape[SBT_MAX_DIMS];
    int nd = reshape_target(im, in, n_in, x, shape);
    if (nd < 0) return SBT_ERR_SHAPE;
    if (nd == 0) shape[0] = 1, nd = 1;
    return onnx_result(im, out, sbt_reshape(im->g, x, nd, shape));
}

static int list_input(onnx_importer *im, onnx_val *const *in, int n_in, int k, const char *attr,
                      const char *what, int64_t *vals) {
    if (k < n_in && in[k]) {
        const oc_tensor *t = const_in(im, in, n_in, k, what);
        if (!t) return -2;
        if (t->n > OC_MAX_DIMS) return onnx_node_fail(im, SBT_ERR_FORMAT, "too many %s", what), -2;
        for (int64_t j = 0; j < t->n; j++) vals[j] = oc_int_at(t, j);
        return (int)t->n;
    }
    const Onnx__AttributeProto *a = attr ? oc_attr(im->node, attr) : NULL;
    if (!a) return -1;
    if (a->n_ints > OC_MAX_DIMS) return onnx_node_fail(im, SBT_ERR_FORMAT, "too many %s", what), -2;
    for (size_t j = 0; j < a->n_ints; j++) vals[j] = a->ints[j];
    return (int)a->n_ints;
}

sbt_status emit_slice(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    int x = node_in(im, in, n_in, 0);
    if (x < 0) return SBT_ERR_ARG;
    int64_t starts[OC_MAX_DIMS], ends[OC_MAX_DIMS], axes[OC_MAX_DIMS], steps[OC_MAX_DIMS];
    int ns = list_input(im, in, n_in, 1, "starts", "starts", starts);
    int ne = list_input(im, in, n_in, 2, "ends", "ends", ends);
    int na = list_input(im, in, n_in, 3, "axes", "axes", axes);
    int nst = list_input(im, in, n_in, 4, NULL, "steps", steps);
    if (ns == -2 || ne == -2 || na == -2 || nst == -2) return SBT_ERR_UNSUPPORTED;
    if (ns < 0 || ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return onnx_node_fail(im, SBT_ERR_FORMAT, "starts, ends, axes and steps of different lengths");
    int nd = sbt_node_ndim(im->g, x);
    for (int k = 0; k < ns; k++) {
        int axis = oc_axis(na >= 0 ? axes[k] : k, nd);
        if (axis < 0) return onnx_node_fail(im, SBT_ERR_FORMAT, "bad axis");
        if (nst >= 0 && steps[k] != 1)
            return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Slice with a step other than 1");
        int64_t dim = sbt_node_dim(im->g, x, axis), s = starts[k], e = ends[k];
        oc_slice_range(dim, 1, &s, &e);
        if (s >= e) return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "empty slice");
        if (s == 0 && e == dim) continue;
        x = sbt_slice(im->g, x, axis, s, e);
        if (x < 0) return onnx_graph_error(im);
    }
    return onnx_result(im, out, x);
}

sbt_status emit_gather(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    int x = node_in(im, in, n_in, 0);
    const oc_tensor *idx = x < 0 ? NULL : const_in(im, in, n_in, 1, "the indices");
    if (!idx) return x < 0 ? SBT_ERR_ARG : SBT_ERR_UNSUPPORTED;
    int64_t shape[SBT_MAX_DIMS];
    int nd = onnx_shape_of(im, x, shape), axis = oc_axis(oc_attr_int(im->node, "axis", 0), nd);
    if (axis < 0 || idx->ndim > 1 || idx->n < 1)
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Gather of this form");
    int64_t first = oc_int_at(idx, 0) < 0 ? oc_int_at(idx, 0) + shape[axis] : oc_int_at(idx, 0);
    for (int64_t k = 0; k < idx->n; k++) { /* consecutive indices: a slice */
        int64_t i = oc_int_at(idx, k) < 0 ? oc_int_at(idx, k) + shape[axis] : oc_int_at(idx, k);
        if (i < 0 || i >= shape[axis]) return onnx_node_fail(im, SBT_ERR_ARG, "index out of range");
        if (i != first + k)
            return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Gather of non-consecutive indices");
    }
    int id = sbt_slice(im->g, x, axis, first, first + idx->n);
    if (idx->ndim == 0) { /* a scalar index removes the axis */
        memmove(shape + axis, shape + axis + 1, (size_t)(nd - axis - 1) * sizeof *shape);
        if (--nd == 0) shape[nd++] = 1;
        id = sbt_reshape(im->g, id, nd, shape);
    }
    return onnx_result(im, out, id);
}

sbt_status emit_concat(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    if (n_in < 1 || n_in > SBT_MAX_INPUTS)
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Concat of %d inputs (1..%d)", n_in, SBT_MAX_INPUTS);
    int xs[SBT_MAX_INPUTS];
    for (int k = 0; k < n_in; k++)
        if ((xs[k] = node_in(im, in, n_in, k)) < 0) return SBT_ERR_ARG;
    int axis = oc_axis(oc_attr_int(im->node, "axis", 0), sbt_node_ndim(im->g, xs[0]));
    if (axis < 0) return onnx_node_fail(im, SBT_ERR_FORMAT, "bad axis");
    return onnx_result(im, out, sbt_concat(im->g, xs, n_in, axis));
}

sbt_status emit_softmax(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    int x = node_in(im, in, n_in, 0);
    if (x < 0) return SBT_ERR_ARG;
    int nd = sbt_node_ndim(im->g, x);
    int axis = oc_axis(oc_attr_int(im->node, "axis", im->opset >= 13 ? -1 : 1), nd);
    if (axis != nd - 1)
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Softmax over an axis other than the last");
    return onnx_result(im, out, sbt_softmax(im->g, x, -1));
}

sbt_status emit_layernorm(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    int x = node_in(im, in, n_in, 0);
    if (x < 0) return SBT_ERR_ARG;
    int nd = sbt_node_ndim(im->g, x);
    if (oc_axis(oc_attr_int(im->node, "axis", -1), nd) != nd - 1)
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "LayerNormalization over more than the last axis");
    int64_t d = sbt_node_dim(im->g, x, -1);
    int gamma = node_in(im, in, n_in, 1);
    int beta = n_in >= 3 && in[2] ? onnx_node_of(im, in[2]) : onnx_filled_param(im, 0.0f, 1, &d, "beta");
    if (gamma < 0 || beta < 0) return SBT_ERR_ARG;
    return onnx_result(im, out,
                       sbt_layernorm(im->g, x, gamma, beta, oc_attr_float(im->node, "epsilon", 1e-5f)));
}

/* A float32 copy of constant input k, owned by the import (BatchNorm running stats). */
static float *const_floats(onnx_importer *im, onnx_val *const *in, int n_in, int k, int64_t n,
                           const char *what) {
    const oc_tensor *t = const_in(im, in, n_in, k, what);
    if (!t) return NULL;
    if (t->n != n)
        return onnx_node_fail(im, SBT_ERR_SHAPE, "%s has %lld values, expected %lld", what, (long long)t->n,
                              (long long)n),
               NULL;
    float *buf = onnx_buffer(im, n);
    if (!buf) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory"), NULL;
    for (int64_t j = 0; j < n; j++) buf[j] = (float)oc_at(t, j);
    return buf;
}

/* BatchNorm over axis 1 of (N, C) or (N, C, L...): ours normalises the last axis, so
 * channels are moved last and back. */
sbt_status emit_batchnorm(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out) {
    if (oc_attr_int(im->node, "training_mode", 0))
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "BatchNormalization in training mode");
    int x = node_in(im, in, n_in, 0);
    if (x < 0 || n_in < 5)
        return x < 0 ? SBT_ERR_ARG : onnx_node_fail(im, SBT_ERR_FORMAT, "needs five inputs");
    int nd = sbt_node_ndim(im->g, x);
    if (nd < 2 || nd > 3)
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "BatchNormalization of rank %d (2 or 3)", nd);
    int64_t c = sbt_node_dim(im->g, x, 1);
    int gamma = node_in(im, in, n_in, 1), beta = node_in(im, in, n_in, 2);
    float *mean = const_floats(im, in, n_in, 3, c, "the running mean");
    float *var = mean ? const_floats(im, in, n_in, 4, c, "the running variance") : NULL;
    if (gamma < 0 || beta < 0 || !var) return SBT_ERR_ARG;
    float eps = oc_attr_float(im->node, "epsilon", 1e-5f);
    int mean_id = sbt_state(im->g, in[3]->name, 1, &c, mean),
        var_id = sbt_state(im->g, in[4]->name, 1, &c, var);
    int perm[3] = {0, 2, 1};
    if (nd == 3) x = sbt_transpose(im->g, x, perm);
    int id = sbt_batchnorm(im->g, x, gamma, beta, mean_id, var_id, -1, eps, 0.1f);
    if (nd == 3) id = sbt_transpose(im->g, id, perm);
    return onnx_result(im, out, id);
}
