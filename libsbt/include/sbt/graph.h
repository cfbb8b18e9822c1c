/* sbt/graph.h - the op graph: one IR that every tool builds, runs, counts and exports.
 *
 * A graph is a list of nodes in topological order. Leaves are inputs (fed by the
 * caller), params (trained; buffers owned by the caller), state (BatchNorm running
 * statistics; caller-owned, updated in training) and consts (owned by the graph). Every
 * other node is an op with up to SBT_MAX_INPUTS inputs and an attribute record; one
 * shape rule per op checks its inputs when the node is added.
 *
 * A graph is first a *description*: shapes may follow a symbolic batch and length
 * (sbt_dim), and nothing is allocated. sbt_graph_instantiate() binds (batch, length) and
 * gives a runnable graph, either for training (values, gradients and forward state saved
 * for backward, all in one arena) or forward-only (no gradients, no saved state, dead
 * nodes pruned, buffers reused by liveness). Running allocates nothing.
 *
 *     sbt_graph *d = sbt_graph_new();
 *     int x = sbt_input_dims(d, "x", SBT_DTYPE_F32, 2, (sbt_dim[]){sbt_dim_batch(), sbt_dim_n(12)});
 *     int w = sbt_param(d, "w", 2, (int64_t[]){4, 12}, w_data, w_grad);
 *     int y = sbt_graph_mark_output(d, sbt_linear(d, x, w, -1));
 *     sbt_graph *g = NULL;
 *     if (sbt_graph_instantiate(d, 8, 1, SBT_EXEC_INFER, &g) != SBT_OK) ... // batch 8
 *     memcpy(sbt_graph_value(g, x), batch, ...);
 *     sbt_graph_forward(g, 0);
 *     ... sbt_graph_value(g, y) ...
 *     sbt_graph_free(g);
 *     sbt_graph_free(d);
 *
 * A graph built directly (without instantiate) is bound to batch 1 and length 1 unless
 * sbt_graph_set_dims() says otherwise, and sbt_graph_finalize() makes it runnable for
 * training in place (the older, still supported way).
 *
 * Builder functions return a node id (>= 0), or -1 after recording the first error in
 * the graph; a -1 passed on as an input is ignored, so a builder can be written as
 * straight-line code and checked once (sbt_graph_status, finalize or instantiate).
 *
 * Conventions: tensors are row-major. Binary ops broadcast by NumPy's rules; MatMul
 * broadcasts its batch dimensions. Class labels and gather indices are int32 inputs.
 *
 * Ownership: a graph owns its nodes, arena and consts. Param and state buffers stay
 * owned by the caller and must outlive every graph that uses them (instantiated graphs
 * share them with their description). Gradients of params are accumulated (+=); the
 * caller zeroes them between steps.
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
    SBT_OP_PARAM,  /* caller-owned trained parameter, with optional gradient */
    SBT_OP_MATMUL, /* batched a @ b with optional transposes and broadcast batch dimensions */
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
    SBT_OP_GATHER,    /* rows of a table by int32 index (axis 0) */
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
    SBT_OP_SPARSE_WEIGHT, /* pruned and/or binarised weight (Biprop; see biprop.h) */
    SBT_OP_STEP_T,        /* Step-T attention over (B, h, T, d_head) q, k, v */
    SBT_OP_STEP_T_LAST,   /* its last step alone: q (B, h, 1, d_head), k and v (B, h, T, d_head) */
    SBT_OP_STATE,         /* caller-owned state (BatchNorm running statistics): not trained */
    SBT_OP_CONST,         /* data owned by the graph (copied in, or generated per length) */
    SBT_OP_COUNT
} sbt_op;

/* The name Biprop kept before the op was generalised. */
#define SBT_OP_BIPROP SBT_OP_SPARSE_WEIGHT

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

/* Bytes per element (PACKED: 1, the layout's own size is its byte count). */
size_t sbt_dtype_size(sbt_dtype t);
const char *sbt_dtype_name(sbt_dtype t);

/* A dimension that may follow the instantiation's batch or length: its value is
 * n + (the bound batch or length, when sym says so). Literal: sym = SBT_SYM_NONE. */
enum { SBT_SYM_NONE = 0, SBT_SYM_BATCH = 1, SBT_SYM_LENGTH = 2, SBT_SYM_COUNT = 3 };
typedef struct sbt_dim {
    int64_t n;
    int sym;
} sbt_dim;
static inline sbt_dim sbt_dim_n(int64_t n) { return (sbt_dim){n, SBT_SYM_NONE}; }
static inline sbt_dim sbt_dim_batch(void) { return (sbt_dim){0, SBT_SYM_BATCH}; }
static inline sbt_dim sbt_dim_length(int64_t offset) { return (sbt_dim){offset, SBT_SYM_LENGTH}; }

/* How a sparse weight is formed from its frozen weight W and scores S:
 *   BIPROP    alpha * sign(W) * topk(|S|)   (the paper)
 *   PRUNE     W * topk(|S|)                 (unstructured pruning; scores may start as |W|)
 *   BINARIZE  alpha * sign(W)               (no scores; zeros of W stay zero) */
typedef enum sbt_sparse_mode {
    SBT_SPARSE_BIPROP = 0,
    SBT_SPARSE_PRUNE = 1,
    SBT_SPARSE_BINARIZE = 2
} sbt_sparse_mode;

/* Consts whose data a generator makes for the bound length (see sbt_const_generated). */
typedef enum sbt_const_gen {
    SBT_GEN_NONE = 0,
    SBT_GEN_SINUSOIDAL = 1, /* (T, d): "Attention is all you need" positions */
    SBT_GEN_QKV_MASK = 2    /* (T, d): entry kept with probability keep, by hash of (seed, which, t, j) */
} sbt_const_gen;

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
        int ndim;
        sbt_dim shape[SBT_MAX_DIMS]; /* a literal -1 is inferred from the size */
    } reshape;
    struct {
        int axis;
        sbt_dim start, end; /* resolved values < 0 count from the end */
    } slice;
    struct {
        int axis;
    } axis;
    struct {
        float eps;
    } layernorm;
    struct {
        float eps, momentum;
    } batchnorm;
    struct {
        float p;
        uint64_t seed;
    } dropout;
    struct {
        float keep; /* fraction of weights kept, in (0, 1] */
        int per_row_alpha;
        sbt_sparse_mode mode;
    } sparse;
    struct {
        int include_last;
    } step_t;
    struct {
        sbt_const_gen gen;
        uint64_t seed;
        int which;
        float keep;
    } constant;
} sbt_attr;

typedef struct sbt_graph sbt_graph;

sbt_graph *sbt_graph_new(void);
void sbt_graph_free(sbt_graph *g);
/* The batch and length that symbolic dimensions take while building (default 1, 1). */
void sbt_graph_set_dims(sbt_graph *g, int64_t batch, int64_t length);
int64_t sbt_graph_batch(const sbt_graph *g);
int64_t sbt_graph_length(const sbt_graph *g);
/* The first build error (SBT_OK if none); the message is set as the last error. */
sbt_status sbt_graph_status(const sbt_graph *g);

/* Generic construction: one op, its inputs and its attribute record (NULL for ops
 * without attributes). Every typed builder below is a wrapper of this. */
int sbt_graph_add(sbt_graph *g, sbt_op op, const int *inputs, int n_inputs, const sbt_attr *attr);

/* Leaves. */
int sbt_input(sbt_graph *g, const char *name, int ndim, const int64_t *shape);
int sbt_input_dims(sbt_graph *g, const char *name, sbt_dtype dtype, int ndim, const sbt_dim *shape);
/* `grad` may be NULL for a frozen parameter. */
int sbt_param(sbt_graph *g, const char *name, int ndim, const int64_t *shape, float *value, float *grad);
int sbt_state(sbt_graph *g, const char *name, int ndim, const int64_t *shape, float *value);
/* Copies `data` (size from dtype and shape) into the graph. */
int sbt_const(sbt_graph *g, const char *name, sbt_dtype dtype, int ndim, const int64_t *shape,
              const void *data);
/* A float const of shape (length, width) made by `gen` for whatever length is bound. */
int sbt_const_generated(sbt_graph *g, const char *name, const sbt_attr *gen, int64_t width);

/* Ops. */
int sbt_matmul(sbt_graph *g, int a, int b, int trans_a, int trans_b);
int sbt_linear(sbt_graph *g, int x, int weight, int bias);
int sbt_add(sbt_graph *g, int a, int b);
int sbt_sub(sbt_graph *g, int a, int b);
int sbt_mul(sbt_graph *g, int a, int b);
int sbt_div(sbt_graph *g, int a, int b);
int sbt_scale(sbt_graph *g, int x, float factor);
int sbt_transpose(sbt_graph *g, int x, const int *perm);
int sbt_reshape(sbt_graph *g, int x, int ndim, const int64_t *shape);
int sbt_reshape_dims(sbt_graph *g, int x, int ndim, const sbt_dim *shape);
int sbt_slice(sbt_graph *g, int x, int axis, int64_t start, int64_t end);
int sbt_slice_dims(sbt_graph *g, int x, int axis, sbt_dim start, sbt_dim end);
int sbt_concat(sbt_graph *g, const int *xs, int n, int axis);
/* indices: int32. */
int sbt_gather(sbt_graph *g, int table, int indices);
/* `mask` (or -1) is added to x before the softmax; its shape has x's rank with each
 * dimension equal to x's or 1. Use a large negative value (e.g. -1e9) to block. */
int sbt_softmax(sbt_graph *g, int x, int mask);
int sbt_layernorm(sbt_graph *g, int x, int gamma, int beta, float eps);
/* running_mean and running_var are state nodes (length = features): used in eval mode,
 * updated in training mode with `momentum` (PyTorch convention: new = (1 - m) * old +
 * m * batch, unbiased batch variance). `row_mask` (or -1) has x's shape without the
 * last axis; rows where it is 0 (padding) are left out of the batch statistics. */
int sbt_batchnorm(sbt_graph *g, int x, int gamma, int beta, int running_mean, int running_var, int row_mask,
                  float eps, float momentum);
int sbt_relu(sbt_graph *g, int x);
int sbt_gelu(sbt_graph *g, int x);
int sbt_erf(sbt_graph *g, int x);
int sbt_mean(sbt_graph *g, int x, int axis);
int sbt_masked_mean(sbt_graph *g, int x, int mask);
int sbt_dropout(sbt_graph *g, int x, float p, uint64_t seed);
/* logits (N, K), labels (N) int32 class indices; output shape (1). */
int sbt_cross_entropy(sbt_graph *g, int logits, int labels);
int sbt_mse(sbt_graph *g, int a, int b);
/* The effective weight of a sparse linear layer (biprop.h): weight W (out, in), scores
 * of the same shape (or -1 with SBT_SPARSE_BINARIZE). The scores get the
 * straight-through gradient, W none. */
int sbt_sparse_weight(sbt_graph *g, int scores, int weight, float keep, int per_row_alpha,
                      sbt_sparse_mode mode);
/* Biprop: sbt_sparse_weight(..., SBT_SPARSE_BIPROP). */
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

/* Names the node (for errors, lookup, sbt-info and exporters). A name longer than
 * SBT_NAME_MAX bytes is a build error. Returns `id`. */
int sbt_graph_name(sbt_graph *g, int id, const char *name);
/* Declares `id` an output; a forward then runs only what the outputs need. Returns id. */
int sbt_graph_mark_output(sbt_graph *g, int id);
int sbt_graph_output_count(const sbt_graph *g);
int sbt_graph_output(const sbt_graph *g, int i);

/* Running. */
typedef enum sbt_exec_mode {
    SBT_EXEC_TRAIN = 0, /* values, gradients, forward state saved for backward */
    SBT_EXEC_INFER = 1  /* forward only: inputs and outputs keep their buffers, the rest is reused */
} sbt_exec_mode;

/* A runnable copy of description `desc` with symbolic dimensions bound to (batch,
 * length). Params and state share desc's caller-owned buffers; consts share desc's
 * data. In SBT_EXEC_INFER only inputs, outputs (and consts/params) hold their values
 * after a forward; other nodes' buffers are reused. The caller frees *out. */
sbt_status sbt_graph_instantiate(const sbt_graph *desc, int64_t batch, int64_t length, sbt_exec_mode mode,
                                 sbt_graph **out);
/* A copy of desc in which every sparse-weight node is a const holding its effective
 * weight now (computed once): inference then does no per-call selection. */
sbt_status sbt_graph_freeze(const sbt_graph *desc, sbt_graph **out);
/* The kernels a frozen graph's ternary Linear weights run on: OpenBLAS sgemm over their
 * float values (DENSE: what training computes, bit for bit), or the ternary kernels of
 * sbt/kernels.h (add/sub only, zeros skipped) with float or int8 activations. The
 * weights are prepared for the kernel once, here. Weights that are not ternary (pruned
 * floats) stay on sgemm. */
typedef enum sbt_weight_kernel {
    SBT_KERNEL_DENSE = 0,
    SBT_KERNEL_TERNARY_F32 = 1,
    SBT_KERNEL_TERNARY_I8 = 2
} sbt_weight_kernel;
sbt_status sbt_graph_freeze_kernels(const sbt_graph *desc, sbt_weight_kernel kernel, sbt_graph **out);
/* Which kernel a Linear node of a runnable graph uses (DENSE for sgemm). */
sbt_weight_kernel sbt_node_kernel(const sbt_graph *g, int id);
/* Makes a directly built graph runnable for training, in place. */
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
/* Dimension `axis` (negative counts from the end, -1 = last), as bound now. */
int64_t sbt_node_dim(const sbt_graph *g, int id, int axis);
/* The declared dimension of an input (symbolic or literal); other nodes: literal. */
sbt_dim sbt_node_sym_dim(const sbt_graph *g, int id, int axis);
int64_t sbt_node_size(const sbt_graph *g, int id);
sbt_dtype sbt_node_dtype(const sbt_graph *g, int id);
const sbt_attr *sbt_node_attr(const sbt_graph *g, int id);
/* 1 when a forward computes the node (an output needs it, or no output is declared). */
int sbt_node_is_live(const sbt_graph *g, int id);
/* The id of the node named `name`, or -1. */
int sbt_graph_find(const sbt_graph *g, const char *name);
/* The node's data: float values for F32, int32_t for I32, and so on. NULL before a
 * runnable graph has buffers. */
void *sbt_graph_data(sbt_graph *g, int id);
float *sbt_graph_value(sbt_graph *g, int id);
float *sbt_graph_grad(sbt_graph *g, int id);
const char *sbt_op_name(sbt_op op);
/* The op named `name` (as sbt_op_name gives it), or SBT_OP_COUNT. */
sbt_op sbt_op_from_name(const char *name);
/* Bytes of the arena (values, gradients, saved state and scratch). */
size_t sbt_graph_arena_bytes(const sbt_graph *g);

/* Text form of a description (formats/sbtm.md, section "graph"): one line per node.
 * Params, state and stored consts are written by name only; their data lives in the
 * model's tensor table. *out is malloc'ed; the caller frees it. */
sbt_status sbt_graph_to_text(const sbt_graph *g, char **out);
/* What a leaf named in a graph text refers to: the reader asks for each param, state
 * and stored const node. value must hold the leaf's shape; grad may be NULL. */
typedef sbt_status (*sbt_leaf_resolver)(void *user, const char *name, sbt_op kind, int ndim,
                                        const int64_t *shape, float **value, float **grad);
/* Parses a graph text; errors name `source` and the line. The caller frees *out. */
sbt_status sbt_graph_from_text(const char *text, const char *source, sbt_leaf_resolver resolve, void *user,
                               sbt_graph **out);

#ifdef __cplusplus
}
#endif
#endif
