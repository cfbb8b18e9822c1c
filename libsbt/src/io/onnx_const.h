/* Internal to libsbt: constant tensors of the ONNX importer and the evaluator that folds
 * every node whose inputs are all constants (shape arithmetic, masks, positions).
 *
 * A constant is either floating (held as double, whatever its ONNX type) or integer
 * (int64; booleans are 0/1). Folding works on these two kinds only: it never needs to
 * reproduce float32 rounding because what reaches the graph is converted once. */
#ifndef SBT_ONNX_CONST_H
#define SBT_ONNX_CONST_H

#include <stdint.h>

#include "onnx/onnx.pb-c.h"
#include "sbt/error.h"

#define OC_MAX_DIMS 8
/* Largest constant the importer builds (elements): guards folding (ConstantOfShape,
 * Expand, Range) against shapes read from a hostile file. */
#define OC_MAX_ELEMENTS ((int64_t)1 << 26)

typedef struct oc_tensor {
    int is_int; /* 1: int64 data in i; 0: floating data in f */
    int ndim;
    int64_t shape[OC_MAX_DIMS];
    int64_t n; /* elements */
    double *f;
    int64_t *i;
} oc_tensor;

oc_tensor *oc_new(int is_int, int ndim, const int64_t *shape);
void oc_free(oc_tensor *t);
/* double -> int64 without undefined behaviour: NaN gives 0, out-of-range values clamp. */
static inline int64_t oc_to_int(double v) {
    if (!(v == v)) return 0;
    if (v >= 9.2233720368547758e18) return INT64_MAX;
    if (v <= -9.2233720368547758e18) return INT64_MIN;
    return (int64_t)v;
}
static inline double oc_at(const oc_tensor *t, int64_t k) { return t->is_int ? (double)t->i[k] : t->f[k]; }
static inline int64_t oc_int_at(const oc_tensor *t, int64_t k) {
    return t->is_int ? t->i[k] : oc_to_int(t->f[k]);
}

/* ONNX element types the importer reads: 1 as floating, 0 as integer, -1 unsupported. */
int oc_type_is_float(int32_t onnx_type);

/* A TensorProto as a constant. `what` names it in errors ("FILE: initializer NAME"). */
sbt_status oc_from_proto(const Onnx__TensorProto *p, const char *what, oc_tensor **out);

const Onnx__AttributeProto *oc_attr(const Onnx__NodeProto *n, const char *name);
int64_t oc_attr_int(const Onnx__NodeProto *n, const char *name, int64_t fallback);
float oc_attr_float(const Onnx__NodeProto *n, const char *name, float fallback);

/* Folds node `n` (op `n->op_type`, opset `opset`) over constant inputs (`in[k]` NULL for
 * an absent optional input). SBT_ERR_UNSUPPORTED with no message when this op is not
 * folded here; other errors carry a message prefixed with `where`. */
sbt_status oc_eval(const Onnx__NodeProto *n, int opset, oc_tensor *const *in, int n_in, const char *where,
                   oc_tensor **out);

/* Normalises a possibly negative axis of a rank-`ndim` tensor; -1 if out of range. */
int oc_axis(int64_t axis, int ndim);

#endif
