/* sbt/graph.h - a build-then-run op graph with forward and backward for every op.
 *
 * A graph is built once for fixed shapes (nodes are appended in topological order),
 * finalised (every value, gradient and saved buffer is reserved in one arena), then run
 * any number of times: forward and backward allocate nothing. The same node list is
 * what training runs, what the cost model counts and what exporters walk.
 *
 *     sbt_graph *g = sbt_graph_new();
 *     int x = sbt_input(g, "x", 2, (int64_t[]){8, 12});
 *     int w = sbt_param(g, "w", 2, (int64_t[]){4, 12}, w_data, w_grad);
 *     int y = sbt_linear(g, x, w, -1);
 *     int t = sbt_input(g, "target", 2, (int64_t[]){8, 4});
 *     int loss = sbt_mse(g, y, t);
 *     if (sbt_graph_finalize(g) != SBT_OK) ... // reports the first build error
 *     memcpy(sbt_graph_value(g, x), batch, ...);
 *     sbt_graph_forward(g, 1);               // 1 = training mode
 *     sbt_graph_backward(g, loss);           // accumulates into w_grad
 *     sbt_graph_free(g);
 *
 * Builder functions return a node id (>= 0), or -1 after recording the first error in
 * the graph; a -1 passed on as an input is ignored, so a builder can be written as
 * straight-line code and checked once at sbt_graph_finalize().
 *
 * Conventions: all tensors are float32, row-major. Broadcasting in the binary ops is
 * "suffix" broadcasting: b's shape must equal a's, or equal a trailing part of a's shape
 * (b is repeated over a's leading dimensions), or be a single element. Integer inputs
 * (class labels, gather indices) are stored as floats holding exact integers.
 *
 * Ownership: the graph owns its nodes and arena. Parameter buffers (value and gradient)
 * and BatchNorm running statistics stay owned by the caller and must outlive the graph.
 * Gradients of parameters are accumulated (+=); the caller zeroes them between steps.
 */
#ifndef SBT_GRAPH_H
#define SBT_GRAPH_H

#include <stdint.h>

#include "sbt/error.h"
#include "sbt/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sbt_op {
    SBT_OP_INPUT,  /* data fed by the caller */
    SBT_OP_PARAM,  /* caller-owned parameter, with optional gradient */
    SBT_OP_MATMUL, /* batched a @ b with optional transposes */
    SBT_OP_LINEAR, /* x @ W^T + b (Gemm) */
    SBT_OP_ADD,
    SBT_OP_SUB,
    SBT_OP_MUL,
    SBT_OP_DIV,
    SBT_OP_SCALE,     /* x * constant */
    SBT_OP_TRANSPOSE, /* permutation of axes */
    SBT_OP_RESHAPE,   /* same data, new shape (aliases its input) */
    SBT_OP_SLICE,     /* [start, end) along one axis */
    SBT_OP_CONCAT,    /* along one axis */
    SBT_OP_GATHER,    /* rows of a table by index (axis 0) */
    SBT_OP_SOFTMAX,   /* over the last axis, with an optional additive mask */
    SBT_OP_LAYERNORM, /* over the last axis */
    SBT_OP_BATCHNORM, /* per feature (last axis) over all other axes */
    SBT_OP_RELU,
    SBT_OP_GELU, /* exact, x * Phi(x) */
    SBT_OP_ERF,
    SBT_OP_MEAN,          /* mean over one axis (removed) */
    SBT_OP_MASKED_MEAN,   /* (B, T, ...) -> (B, ...), mean over t where mask[b, t] != 0 */
    SBT_OP_DROPOUT,       /* inverted dropout, training only, seeded */
    SBT_OP_CROSS_ENTROPY, /* mean over rows of -log softmax(logits)[label] */
    SBT_OP_MSE,           /* mean of (a - b)^2 over all elements */
    SBT_OP_BIPROP,        /* sparse binary weight alpha * sign(W) * topk(|S|) (see biprop.h) */
    SBT_OP_STEP_T,        /* Step-T attention over (B, h, T, d_head) q, k, v */
    SBT_OP_STEP_T_LAST,   /* its last step alone: q (B, h, 1, d_head), k and v (B, h, T, d_head) */
    SBT_OP_COUNT
} sbt_op;

#define SBT_MAX_INPUTS 8
#define SBT_NAME_MAX 127 /* longest node name, in bytes */

/* Element types of a node's value. Integers are real integers (class labels, gather
 * indices), never floats holding integers; PACKED is an opaque weight layout that a
 * kernel prepared (runtime). */
typedef enum sbt_dtype {
    SBT_DTYPE_F32 = 0,
    SBT_DTYPE_I32 = 1,
    SBT_DTYPE_I64 = 2,
    SBT_DTYPE_I8 = 3,
    SBT_DTYPE_PACKED = 4,
    SBT_DTYPE_COUNT
} sbt_dtype;

/* The attribute record of a node; which member is meaningful follows from its op. */
typedef union sbt_attr {
    struct {
        int trans_a, trans_b;
    } matmul;
    struct {
        float factor;
    } scale;
    struct {
        int perm[SBT_MAX_DIMS];
    } transpose;
    struct {
        int axis;
        int64_t start, end;
    } slice;
    struct {
        int axis;
    } axis;
    struct {
        float eps;
    } layernorm;
    struct {
        float eps, momentum;
        float *running_mean, *running_var;
    } batchnorm;
    struct {
        float p;
        uint64_t seed;
    } dropout;
    struct {
        float keep;
        int per_row_alpha;
    } biprop;
    struct {
        int include_last;
    } step_t;
} sbt_attr;

typedef struct sbt_graph sbt_graph;

sbt_graph *sbt_graph_new(void);
void sbt_graph_free(sbt_graph *g);

/* Builders. Each returns the new node id or -1 (error recorded in the graph). */
int sbt_input(sbt_graph *g, const char *name, int ndim, const int64_t *shape);
/* `grad` may be NULL for a frozen parameter. */
int sbt_param(sbt_graph *g, const char *name, int ndim, const int64_t *shape, float *value, float *grad);
int sbt_matmul(sbt_graph *g, int a, int b, int trans_a, int trans_b);
int sbt_linear(sbt_graph *g, int x, int weight, int bias);
int sbt_add(sbt_graph *g, int a, int b);
int sbt_sub(sbt_graph *g, int a, int b);
int sbt_mul(sbt_graph *g, int a, int b);
int sbt_div(sbt_graph *g, int a, int b);
int sbt_scale(sbt_graph *g, int x, float factor);
int sbt_transpose(sbt_graph *g, int x, const int *perm);
int sbt_reshape(sbt_graph *g, int x, int ndim, const int64_t *shape);
int sbt_slice(sbt_graph *g, int x, int axis, int64_t start, int64_t end);
int sbt_concat(sbt_graph *g, const int *xs, int n, int axis);
int sbt_gather(sbt_graph *g, int table, int indices);
/* `mask` (or -1) is added to x before the softmax; its shape has x's rank with each
 * dimension equal to x's or 1. Use a large negative value (e.g. -1e9) to block. */
int sbt_softmax(sbt_graph *g, int x, int mask);
int sbt_layernorm(sbt_graph *g, int x, int gamma, int beta, float eps);
/* `row_mask` (or -1) has x's shape without the last axis; rows where it is 0 (padding)
 * are left out of the batch statistics. running_mean/var (caller-owned, length =
 * features) are used in eval mode and updated in training mode with `momentum`
 * (PyTorch convention: new = (1 - m) * old + m * batch, unbiased batch variance). */
int sbt_batchnorm(sbt_graph *g, int x, int gamma, int beta, int row_mask, float eps, float momentum,
                  float *running_mean, float *running_var);
int sbt_relu(sbt_graph *g, int x);
int sbt_gelu(sbt_graph *g, int x);
int sbt_erf(sbt_graph *g, int x);
int sbt_mean(sbt_graph *g, int x, int axis);
int sbt_masked_mean(sbt_graph *g, int x, int mask);
int sbt_dropout(sbt_graph *g, int x, float p, uint64_t seed);
/* logits (N, K), labels (N) holding class indices; output shape (1). */
int sbt_cross_entropy(sbt_graph *g, int logits, int labels);
int sbt_mse(sbt_graph *g, int a, int b);
/* The effective weight of a sparse-binary linear layer (biprop.h): scores and frozen
 * weight of the same 2-D shape; keep in (0, 1]; per_row_alpha: one alpha per output row
 * instead of one per layer. The scores get the straight-through gradient, the weight
 * none. */
int sbt_biprop_weight(sbt_graph *g, int scores, int weight, float keep, int per_row_alpha);
/* Step-T attention on q, k, v of shape (B, h, T, d_head): step i < T-1 returns v_i (it
 * attends only to itself); the last step attends to steps 0..T-2 (the paper's code), or
 * to 0..T-1 when include_last. Costs O(T * d_head) per head instead of O(T^2 * d_head).
 * No padding mask: the windows it serves are never padded. */
int sbt_step_t_attention(sbt_graph *g, int q, int k, int v, int include_last);
/* The last step of sbt_step_t_attention alone, for when nothing reads the other steps:
 * q (B, h, 1, d_head) is the last step's query, k and v (B, h, T, d_head) every step's;
 * the output (B, h, 1, d_head) equals step T-1 of sbt_step_t_attention (same kernel). */
int sbt_step_t_attention_last(sbt_graph *g, int q, int k, int v, int include_last);

/* Names the node (for errors, sbt-info and exporters). Returns `id`. */
int sbt_graph_name(sbt_graph *g, int id, const char *name);

/* Reserves and allocates every buffer; reports the first build error, if any. */
sbt_status sbt_graph_finalize(sbt_graph *g);
/* training != 0: dropout active, BatchNorm uses and updates batch statistics. */
sbt_status sbt_graph_forward(sbt_graph *g, int training);
/* Runs forward only up to and including node `last` (cheaper evaluation). */
sbt_status sbt_graph_forward_until(sbt_graph *g, int training, int last);
/* Gradients of the scalar node `loss` with respect to every node that needs one. */
sbt_status sbt_graph_backward(sbt_graph *g, int loss);
/* Dropout masks depend on (seed, node, step): set the step before each forward. */
void sbt_graph_set_step(sbt_graph *g, uint64_t step);

int sbt_graph_count(const sbt_graph *g);
/* Accessors: walkers (cost, exporters, tools) read nodes only through these, so the
 * node layout can change. An id out of range gives SBT_OP_COUNT, NULL, 0 or -1. */
sbt_op sbt_node_op(const sbt_graph *g, int id);
const char *sbt_node_name(const sbt_graph *g, int id);
int sbt_node_input_count(const sbt_graph *g, int id);
int sbt_node_input(const sbt_graph *g, int id, int i);
int sbt_node_ndim(const sbt_graph *g, int id);
/* Dimension `axis` (negative counts from the end, -1 = last). */
int64_t sbt_node_dim(const sbt_graph *g, int id, int axis);
int64_t sbt_node_size(const sbt_graph *g, int id);
sbt_dtype sbt_node_dtype(const sbt_graph *g, int id);
const sbt_attr *sbt_node_attr(const sbt_graph *g, int id);
/* The id of the node named `name`, or -1. */
int sbt_graph_find(const sbt_graph *g, const char *name);
float *sbt_graph_value(sbt_graph *g, int id);
float *sbt_graph_grad(sbt_graph *g, int id);
const char *sbt_op_name(sbt_op op);
/* Bytes of the arena (values, gradients, saved state). */
size_t sbt_graph_arena_bytes(const sbt_graph *g);

#ifdef __cplusplus
}
#endif
#endif
