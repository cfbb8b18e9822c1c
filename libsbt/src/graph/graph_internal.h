/* Internal to libsbt: the graph structure and the per-op kernels' signatures. */
#ifndef SBT_GRAPH_INTERNAL_H
#define SBT_GRAPH_INTERNAL_H

#include "sbt/graph.h"

typedef struct sbt_node {
    sbt_op op;
    char name[SBT_NAME_MAX + 1];
    int n_inputs;
    int inputs[SBT_MAX_INPUTS];
    int ndim;
    int64_t shape[SBT_MAX_DIMS];
    int64_t size; /* elements */
    float *value; /* after finalize */
    float *grad;  /* NULL when no gradient flows here */
    int needs_grad;
    float *saved; /* op-specific forward state needed by backward */
    int64_t saved_size;
    sbt_attr attr;
    /* private to the graph */
    int64_t value_off, grad_off, saved_off;
    int value_alias, grad_external;
} sbt_node;

struct sbt_graph {
    sbt_node *nodes;
    int count, capacity;
    sbt_status status; /* first build error */
    char error[512];
    sbt_arena arena;
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

/* Forward and backward of each op (ops_*.c). A backward adds into the grads of inputs
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
SBT_DECLARE_OP(biprop)
SBT_DECLARE_OP(step_t)
SBT_DECLARE_OP(step_t_last)
#undef SBT_DECLARE_OP

#endif
