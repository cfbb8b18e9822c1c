/* Internal to libsbt: the node and graph structures, and the per-op kernels' signatures. */
#ifndef SBT_GRAPH_INTERNAL_H
#define SBT_GRAPH_INTERNAL_H

#include "sbt/graph.h"

struct sbt_ternary_matrix;

/* Data a const owns; instantiated graphs share it with their description. A frozen
 * ternary weight also holds its kernel-prepared form (prepared once, at freeze). */
typedef struct sbt_blob {
    int refs;
    size_t bytes;
    void *data; /* 64-byte aligned */
    struct sbt_ternary_matrix *ternary;
    int ternary_act; /* sbt_act the Linear runs it with */
} sbt_blob;

/* A blob of `bytes` (contents undefined) with one reference, or NULL. */
sbt_blob *sbt_blob_new(size_t bytes);

typedef struct sbt_node {
    sbt_op op;
    sbt_dtype dtype;
    char name[SBT_NAME_MAX + 1];
    int n_inputs;
    int inputs[SBT_MAX_INPUTS];
    int ndim;
    int64_t shape[SBT_MAX_DIMS]; /* bound */
    sbt_dim dims[SBT_MAX_DIMS];  /* inputs: as declared (maybe symbolic) */
    int64_t size;                /* elements */
    float *value;                /* the data (cast for other dtypes); after finalize */
    float *grad;                 /* NULL when no gradient flows here */
    int needs_grad;
    float *saved;                     /* forward state that backward reads (training graphs) */
    float *scratch;                   /* forward-only temporary space */
    int64_t saved_size, scratch_size; /* in floats */
    sbt_attr attr;
    sbt_blob *blob; /* CONST: its data */
    int live;       /* a forward computes it */
    int output;
    /* private to finalize */
    int64_t value_off, grad_off, saved_off;
    int value_alias, external;
} sbt_node;

struct sbt_graph {
    sbt_node *nodes;
    int count, capacity;
    sbt_status status; /* first build error */
    char error[512];
    int64_t bound[SBT_SYM_COUNT]; /* values of the symbolic dimensions */
    int *outputs;
    int n_outputs, outputs_cap;
    sbt_arena arena;
    sbt_exec_mode mode;
    int finalized;
    int training;
    uint64_t step;
};

typedef sbt_status (*sbt_op_fn)(sbt_graph *g, sbt_node *n);

/* Input node `i` of n. */
static inline sbt_node *in_node(sbt_graph *g, const sbt_node *n, int i) { return &g->nodes[n->inputs[i]]; }

/* Rows and the last dimension of a node, for ops over the last axis. */
static inline int64_t last_dim(const sbt_node *n) { return n->shape[n->ndim - 1]; }
static inline int64_t rows_of(const sbt_node *n) { return n->size / last_dim(n); }

/* Records the first build error of g; returns -1 (a builder's failure value). */
int sbt_graph_error(sbt_graph *g, sbt_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A leaf (input, param, state or const) of a literal shape, without data yet. */
int sbt_graph_leaf(sbt_graph *g, sbt_op op, const char *name, sbt_dtype dtype, int ndim,
                   const int64_t *shape);
/* Node `id` (a const) shares src's data (instantiation). */
void sbt_graph_share_const(sbt_graph *g, int id, const sbt_node *src);

/* Adds a copy of `src`, a node of another graph, to g: op inputs through map (map[i]
 * is g's id for the other graph's node i; NULL keeps ids), params and state bound to
 * value and grad, consts sharing src's data. Returns the new id or -1. */
int sbt_graph_copy_node(sbt_graph *g, const sbt_node *src, const int *map, float *value, float *grad);

/* The value of a possibly symbolic dimension under g's binding. */
static inline int64_t sbt_dim_value(const sbt_graph *g, sbt_dim d) {
    return (d.sym > SBT_SYM_NONE && d.sym < SBT_SYM_COUNT ? g->bound[d.sym] : 0) + d.n;
}

/* Shape rules (graph/shapes.c): given the inputs and attributes of a new node, set its
 * ndim, shape and dtype, or record a build error and return -1. */
typedef int (*sbt_shape_fn)(sbt_graph *g, sbt_node *out, const sbt_node *const *in, int n_in);
sbt_shape_fn sbt_shape_rule(sbt_op op);

/* NumPy broadcasting of a and b into out's shape; 0 if they do not broadcast. */
int sbt_broadcast_shape(const sbt_node *a, const sbt_node *b, int *ndim, int64_t *shape);

/* 1 when b, without its leading 1s, is a trailing block of out's shape (ops_elementwise.c). */
int sbt_is_trailing_block(const sbt_node *b, const sbt_node *out);

/* Generated consts (ops/const_gen.c): fills (length, width) floats. */
void sbt_const_generate(const sbt_attr *a, int64_t length, int64_t width, float *out);

/* The effective weight of a sparse-weight node from scores s and weight w, into out;
 * mask and scratch hold n floats and n int32 (ops/biprop.c). */
void sbt_sparse_weight_compute(const sbt_attr *a, int64_t rows, int64_t cols, const float *s, const float *w,
                               float *out, float *mask, int32_t *scratch);

/* Forward and backward of each op (ops/). A backward adds into the grads of inputs
 * that need one (input->grad != NULL). */
#define SBT_DECLARE_OP(name)                                                                                 \
    sbt_status sbt_fwd_##name(sbt_graph *g, sbt_node *n);                                                    \
    sbt_status sbt_bwd_##name(sbt_graph *g, sbt_node *n);
SBT_DECLARE_OP(matmul)
SBT_DECLARE_OP(linear)
SBT_DECLARE_OP(add)
SBT_DECLARE_OP(sub)
SBT_DECLARE_OP(mul)
SBT_DECLARE_OP(div)
SBT_DECLARE_OP(scale)
SBT_DECLARE_OP(transpose)
SBT_DECLARE_OP(reshape)
SBT_DECLARE_OP(slice)
SBT_DECLARE_OP(concat)
SBT_DECLARE_OP(gather)
SBT_DECLARE_OP(softmax)
SBT_DECLARE_OP(layernorm)
SBT_DECLARE_OP(batchnorm)
SBT_DECLARE_OP(relu)
SBT_DECLARE_OP(gelu)
SBT_DECLARE_OP(erf)
SBT_DECLARE_OP(mean)
SBT_DECLARE_OP(masked_mean)
SBT_DECLARE_OP(dropout)
SBT_DECLARE_OP(cross_entropy)
SBT_DECLARE_OP(mse)
SBT_DECLARE_OP(sparse_weight)
SBT_DECLARE_OP(step_t)
SBT_DECLARE_OP(step_t_last)
#undef SBT_DECLARE_OP

#endif
