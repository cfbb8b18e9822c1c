/* onnx_tensor.c - constant tensors of the ONNX importer: allocation, reading
 * TensorProtos (every count checked against the data actually present, external data
 * refused) and node attributes. */
#include <stdlib.h>
#include <string.h>

#include "io/onnx_const.h"

oc_tensor *oc_new(int is_int, int ndim, const int64_t *shape) {
    if (ndim < 0 || ndim > OC_MAX_DIMS) return NULL;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (shape[d] > 0 && n > OC_MAX_ELEMENTS / shape[d])) return NULL;
        n *= shape[d];
    }
    if (n > OC_MAX_ELEMENTS) return NULL;
    oc_tensor *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->is_int = is_int;
    t->ndim = ndim;
    if (ndim) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->n = n;
    size_t bytes = (size_t)(n ? n : 1) * 8;
    if (is_int)
        t->i = calloc(1, bytes);
    else
        t->f = calloc(1, bytes);
    if (!t->i && !t->f) return free(t), NULL;
    return t;
}

void oc_free(oc_tensor *t) {
    if (!t) return;
    free(t->f);
    free(t->i);
    free(t);
}

int oc_type_is_float(int32_t type) {
    switch (type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return 1;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return 0;
    default: return -1;
    }
}

int oc_axis(int64_t axis, int ndim) {
    if (axis < 0) axis += ndim;
    return axis >= 0 && axis < ndim ? (int)axis : -1;
}

static sbt_status bad(const char *what, const char *problem) {
    return sbt_fail(SBT_ERR_FORMAT, "%s: %s", what, problem);
}

/* Bytes per element in raw_data, by ONNX type. */
static size_t raw_width(int32_t type) {
    switch (type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return 8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return 4;
    default: return 1;
    }
}

/* Element k of little-endian raw data of `type`. */
static void raw_read(const uint8_t *p, int32_t type, oc_tensor *t, int64_t k) {
    uint64_t u = 0;
    size_t w = raw_width(type);
    for (size_t b = 0; b < w; b++) u |= (uint64_t)p[(size_t)k * w + b] << (8 * b);
    switch (type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: memcpy(&t->f[k], &u, 8); break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
        uint32_t u32 = (uint32_t)u;
        float f;
        memcpy(&f, &u32, 4);
        t->f[k] = f;
        break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: t->i[k] = (int64_t)u; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: t->i[k] = (int32_t)(uint32_t)u; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: t->i[k] = (int8_t)(uint8_t)u; break;
    default: t->i[k] = (int64_t)u; break; /* UINT8, BOOL */
    }
}

/* Element k from the typed repeated field that holds `type`; 0 when that field is too
 * short (the caller checked the count). */
static void typed_read(const Onnx__TensorProto *p, oc_tensor *t, int64_t k) {
    switch (p->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: t->f[k] = p->float_data[k]; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: t->f[k] = p->double_data[k]; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: t->i[k] = p->int64_data[k]; break;
    default: t->i[k] = p->int32_data[k]; break;
    }
}

static size_t typed_count(const Onnx__TensorProto *p) {
    switch (p->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return p->n_float_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return p->n_double_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return p->n_int64_data;
    default: return p->n_int32_data;
    }
}

sbt_status oc_from_proto(const Onnx__TensorProto *p, const char *what, oc_tensor **out) {
    *out = NULL;
    if ((p->has_data_location && p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
        p->n_external_data)
        return sbt_fail(SBT_ERR_UNSUPPORTED,
                        "%s: external data (weights in a separate file) is not supported", what);
    if (p->segment) return bad(what, "segmented tensors are not supported");
    int kind = oc_type_is_float(p->data_type);
    if (kind < 0)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "%s: element type %d is not supported", what, (int)p->data_type);
    if (p->n_dims > OC_MAX_DIMS) return bad(what, "too many dimensions");
    int64_t shape[OC_MAX_DIMS];
    for (size_t d = 0; d < p->n_dims; d++) {
        if (p->dims[d] < 0) return bad(what, "negative dimension");
        shape[d] = p->dims[d];
    }
    oc_tensor *t = oc_new(!kind, (int)p->n_dims, shape);
    if (!t) return bad(what, "dimensions too large");
    if (p->has_raw_data) {
        if (p->raw_data.len != (size_t)t->n * raw_width(p->data_type))
            return oc_free(t), bad(what, "raw data length does not match the dimensions");
        for (int64_t k = 0; k < t->n; k++) raw_read(p->raw_data.data, p->data_type, t, k);
    } else {
        if (typed_count(p) != (size_t)t->n)
            return oc_free(t), bad(what, "element count does not match the dimensions");
        for (int64_t k = 0; k < t->n; k++) typed_read(p, t, k);
    }
    *out = t;
    return SBT_OK;
}

const Onnx__AttributeProto *oc_attr(const Onnx__NodeProto *n, const char *name) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name)) return n->attribute[i];
    return NULL;
}

int64_t oc_attr_int(const Onnx__NodeProto *n, const char *name, int64_t fallback) {
    const Onnx__AttributeProto *a = oc_attr(n, name);
    return a && a->has_i ? a->i : fallback;
}

float oc_attr_float(const Onnx__NodeProto *n, const char *name, float fallback) {
    const Onnx__AttributeProto *a = oc_attr(n, name);
    return a && a->has_f ? a->f : fallback;
}
