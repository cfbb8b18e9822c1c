/* Internal to libsbt: the ONNX importer's state, shared by the driver (onnx_import.c)
 * and the op emitters (onnx_emit.c). */
#ifndef SBT_ONNX_IMPORT_H
#define SBT_ONNX_IMPORT_H

#include "io/onnx_const.h"
#include "sbt/graph.h"
#include "sbt/onnx.h"

/* What an ONNX value is while importing. */
typedef enum {
    V_UNSET, /* not produced (an unused optional output) */
    V_CONST, /* folded constant */
    V_NODE,  /* a graph node computes it */
    V_DEFER  /* part of a decomposed LayerNorm, matched lazily (see onnx_emit.c) */
} val_kind;

/* Steps of PyTorch's decomposed LayerNorm over the last axis of node x. */
typedef enum { D_MEAN, D_CENTER, D_SQDEV, D_VAR, D_VAREPS, D_STD, D_LN } defer_kind;

typedef struct onnx_val {
    const char *name; /* points into the parsed proto */
    val_kind kind;
    oc_tensor *c;  /* V_CONST (owned) */
    int from_init; /* V_CONST: an initializer, or folded from one (a weight, not a shape) */
    int node;      /* V_NODE; for a constant, the parameter node made from it (or -1) */
    defer_kind d;  /* V_DEFER: the step, over node x */
    int x;
    float eps;
    const oc_tensor *gamma, *beta;      /* D_LN: affine constants matched so far (borrowed) */
    const char *gamma_name, *beta_name; /* and the names of their values */
} onnx_val;

typedef struct onnx_importer {
    const char *file;
    int opset;
    sbt_graph *g;
    onnx_val *vals;
    size_t n_vals, cap_vals;
    int *slots; /* hash table of indices into vals (-1 empty) */
    size_t n_slots;
    float **buffers; /* tensors the graph points to, owned */
    size_t n_buffers, cap_buffers;
    int64_t values; /* elements of every graph node so far (bounded: hostile files) */
    /* the node being imported, for messages */
    const Onnx__NodeProto *node;
    char where[512];
} onnx_importer;

/* Most values (floats) an imported graph may hold, summed over its nodes: 1 GiB. */
#define ONNX_MAX_GRAPH_VALUES ((int64_t)1 << 28)

/* Value `name`, or NULL. */
onnx_val *onnx_lookup(onnx_importer *im, const char *name);
/* An error about the current node: "FILE: node 'NAME' (op TYPE, opset N): ...". */
sbt_status onnx_node_fail(onnx_importer *im, sbt_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* A float32 buffer of n elements owned by the importer's result. */
float *onnx_buffer(onnx_importer *im, int64_t n);

/* Emits the current node (some input is not constant); sets out->kind/node/... */
sbt_status onnx_emit(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);
/* The graph node holding v (a constant becomes a parameter; a deferred step is
 * materialised), or -1 after recording an error. */
int onnx_node_of(onnx_importer *im, onnx_val *v);

/* Emitter helpers (onnx_emit.c), shared with onnx_emit_layers.c. */
typedef sbt_status (*onnx_emit_fn)(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);
sbt_status onnx_graph_error(onnx_importer *im);
sbt_status onnx_result(onnx_importer *im, onnx_val *out, int id);
int onnx_shape_of(onnx_importer *im, int id, int64_t *shape);
int onnx_param_of(onnx_importer *im, const oc_tensor *t, const char *name, int ndim, const int64_t *shape,
                  int trainable);
int onnx_filled_param(onnx_importer *im, float v, int ndim, const int64_t *shape, const char *name);
sbt_status emit_matmul(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);
sbt_status emit_gemm(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);
sbt_status emit_transpose(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);
sbt_status emit_reshape(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);
sbt_status emit_slice(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);
sbt_status emit_gather(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);
sbt_status emit_concat(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);
sbt_status emit_softmax(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);
sbt_status emit_layernorm(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);
sbt_status emit_batchnorm(onnx_importer *im, onnx_val *const *in, int n_in, onnx_val *out);

/* The description with a symbolic batch from graphs imported at batch pa and pa + 1
 * (onnx_symbolic.c); NULL with the reason in `why` when it cannot be made. */
sbt_graph *onnx_symbolic_description(const sbt_graph *a, const sbt_graph *b, int64_t pa, int input,
                                     int output, int batch_axis, char *why, size_t why_cap);

sbt_status oc_reshape_dims(const oc_tensor *spec, int allowzero, int in_ndim, const int64_t *in_shape,
                           int64_t in_n, int *ndim, int64_t *shape);
void oc_slice_range(int64_t dim, int64_t step, int64_t *start, int64_t *end);

#endif
