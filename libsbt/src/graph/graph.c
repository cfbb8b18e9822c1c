/* Building graphs: the generic constructor, leaves, the typed builders (thin wrappers),
 * names, outputs and the accessors. Running is in run.c, the text form in text.c, the
 * shape rules in shapes.c and the kernels in ops/. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "sbt/kernels.h"

static const char *const OP_NAMES[SBT_OP_COUNT] = {
    [SBT_OP_INPUT] = "Input",
    [SBT_OP_PARAM] = "Param",
    [SBT_OP_STATE] = "State",
    [SBT_OP_CONST] = "Const",
    [SBT_OP_MATMUL] = "MatMul",
    [SBT_OP_LINEAR] = "Linear",
    [SBT_OP_ADD] = "Add",
    [SBT_OP_SUB] = "Sub",
    [SBT_OP_MUL] = "Mul",
    [SBT_OP_DIV] = "Div",
    [SBT_OP_SCALE] = "Scale",
    [SBT_OP_TRANSPOSE] = "Transpose",
    [SBT_OP_RESHAPE] = "Reshape",
    [SBT_OP_SLICE] = "Slice",
    [SBT_OP_CONCAT] = "Concat",
    [SBT_OP_GATHER] = "Gather",
    [SBT_OP_SOFTMAX] = "Softmax",
    [SBT_OP_LAYERNORM] = "LayerNorm",
    [SBT_OP_BATCHNORM] = "BatchNorm",
    [SBT_OP_RELU] = "Relu",
    [SBT_OP_GELU] = "Gelu",
    [SBT_OP_ERF] = "Erf",
    [SBT_OP_MEAN] = "Mean",
    [SBT_OP_MASKED_MEAN] = "MaskedMean",
    [SBT_OP_DROPOUT] = "Dropout",
    [SBT_OP_CROSS_ENTROPY] = "CrossEntropy",
    [SBT_OP_MSE] = "MSE",
    [SBT_OP_SPARSE_WEIGHT] = "SparseWeight",
    [SBT_OP_STEP_T] = "StepTAttention",
    [SBT_OP_STEP_T_LAST] = "StepTAttentionLast",
};

const char *sbt_op_name(sbt_op op) { return op >= 0 && op < SBT_OP_COUNT ? OP_NAMES[op] : "?"; }

sbt_op sbt_op_from_name(const char *name) {
    for (int op = 0; op < SBT_OP_COUNT; op++)
        if (!strcmp(OP_NAMES[op], name)) return (sbt_op)op;
    return SBT_OP_COUNT;
}

size_t sbt_dtype_size(sbt_dtype t) {
    switch (t) {
    case SBT_DTYPE_F32:
    case SBT_DTYPE_I32: return 4;
    case SBT_DTYPE_I64: return 8;
    default: return 1;
    }
}

const char *sbt_dtype_name(sbt_dtype t) {
    static const char *const names[SBT_DTYPE_COUNT] = {"f32", "i32", "i64", "i8", "packed"};
    return t >= 0 && t < SBT_DTYPE_COUNT ? names[t] : "?";
}

sbt_graph *sbt_graph_new(void) {
    sbt_graph *g = calloc(1, sizeof(sbt_graph));
    if (g) g->bound[SBT_SYM_BATCH] = g->bound[SBT_SYM_LENGTH] = 1;
    return g;
}

static void blob_release(sbt_blob *b) {
    if (b && --b->refs == 0) {
        sbt_ternary_free(b->ternary);
        free(b->data);
        free(b);
    }
}

void sbt_graph_free(sbt_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->count; i++) blob_release(g->nodes[i].blob);
    sbt_arena_release(&g->arena);
    free(g->nodes);
    free(g->outputs);
    free(g);
}

void sbt_graph_set_dims(sbt_graph *g, int64_t batch, int64_t length) {
    g->bound[SBT_SYM_BATCH] = batch;
    g->bound[SBT_SYM_LENGTH] = length;
}

int64_t sbt_graph_batch(const sbt_graph *g) { return g->bound[SBT_SYM_BATCH]; }
int64_t sbt_graph_length(const sbt_graph *g) { return g->bound[SBT_SYM_LENGTH]; }

sbt_status sbt_graph_status(const sbt_graph *g) {
    if (!g) return sbt_fail(SBT_ERR_NOMEM, "graph: out of memory");
    return g->status == SBT_OK ? SBT_OK : sbt_fail(g->status, "%s", g->error);
}

/* Records the first build error; later ones are consequences of it. */
int sbt_graph_error(sbt_graph *g, sbt_status code, const char *fmt, ...) {
    if (g->status != SBT_OK) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->error, sizeof g->error, fmt, ap);
    va_end(ap);
    g->status = code;
    return -1;
}

static int valid_inputs(sbt_graph *g, const int *inputs, int n_inputs) {
    if (g->status != SBT_OK) return 0;
    if (g->finalized) return sbt_graph_error(g, SBT_ERR_ARG, "graph: cannot add nodes after finalize"), 0;
    if (n_inputs < 0 || n_inputs > SBT_MAX_INPUTS)
        return sbt_graph_error(g, SBT_ERR_ARG, "graph: %d inputs (at most %d)", n_inputs, SBT_MAX_INPUTS), 0;
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] < 0 || inputs[i] >= g->count)
            return sbt_graph_error(g, SBT_ERR_ARG, "graph: input %d is not a node", inputs[i]), 0;
    return 1;
}

/* A new zeroed node at the end of the list, or NULL (error recorded). */
static sbt_node *append_node(sbt_graph *g, sbt_op op) {
    if (g->count == g->capacity) {
        int cap = g->capacity ? 2 * g->capacity : 64;
        sbt_node *nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return sbt_graph_error(g, SBT_ERR_NOMEM, "graph: out of memory"), NULL;
        g->nodes = nodes;
        g->capacity = cap;
    }
    sbt_node *n = &g->nodes[g->count];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->live = 1;
    snprintf(n->name, sizeof n->name, "%s_%d", sbt_op_name(op), g->count);
    return n;
}

/* Which inputs pass a gradient on: masks, labels, indices and frozen weights do not. */
static int grad_from_first_input_only(const sbt_node *n) {
    switch (n->op) {
    case SBT_OP_GATHER:
    case SBT_OP_SOFTMAX:
    case SBT_OP_MASKED_MEAN:
    case SBT_OP_CROSS_ENTROPY:
    case SBT_OP_SPARSE_WEIGHT: return 1;
    default: return 0;
    }
}

int sbt_graph_add(sbt_graph *g, sbt_op op, const int *inputs, int n_inputs, const sbt_attr *attr) {
    if (!valid_inputs(g, inputs, n_inputs)) return -1;
    sbt_shape_fn rule = op >= 0 && op < SBT_OP_COUNT ? sbt_shape_rule(op) : NULL;
    if (!rule) return sbt_graph_error(g, SBT_ERR_ARG, "graph: %s is not an op", sbt_op_name(op));
    sbt_node *n = append_node(g, op);
    if (!n) return -1;
    if (attr) n->attr = *attr;
    n->n_inputs = n_inputs;
    const sbt_node *in[SBT_MAX_INPUTS];
    for (int i = 0; i < n_inputs; i++) {
        n->inputs[i] = inputs[i];
        in[i] = &g->nodes[inputs[i]];
    }
    if (rule(g, n, in, n_inputs) < 0) return -1;
    n->size = sbt_shape_numel(n->ndim, n->shape);
    if (n->size < 0) return sbt_graph_error(g, SBT_ERR_SHAPE, "graph: %s: size overflows", sbt_op_name(op));
    int last_grad_input = grad_from_first_input_only(n) ? 1 : n_inputs;
    if (op == SBT_OP_SPARSE_WEIGHT && n->attr.sparse.mode == SBT_SPARSE_BINARIZE) last_grad_input = 0;
    for (int i = 0; i < last_grad_input; i++) n->needs_grad |= in[i]->needs_grad;
    return g->count++;
}

/* ---- leaves ---- */

static int check_shape(sbt_graph *g, const char *what, int ndim, const int64_t *shape) {
    if (ndim < 1 || ndim > SBT_MAX_DIMS || sbt_shape_numel(ndim, shape) < 0)
        return sbt_graph_error(g, SBT_ERR_SHAPE, "graph: %s: bad rank %d or size", what, ndim);
    return 0;
}

int sbt_graph_leaf(sbt_graph *g, sbt_op op, const char *name, sbt_dtype dtype, int ndim,
                   const int64_t *shape) {
    if (!valid_inputs(g, NULL, 0) || check_shape(g, name ? name : sbt_op_name(op), ndim, shape) < 0)
        return -1;
    if (dtype < 0 || dtype >= SBT_DTYPE_COUNT)
        return sbt_graph_error(g, SBT_ERR_ARG, "graph: dtype %d", (int)dtype);
    sbt_node *n = append_node(g, op);
    if (!n) return -1;
    n->dtype = dtype;
    n->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        n->shape[i] = shape[i];
        n->dims[i] = sbt_dim_n(shape[i]);
    }
    n->size = sbt_shape_numel(ndim, shape);
    int id = g->count++;
    return name ? sbt_graph_name(g, id, name) : id;
}

int sbt_input(sbt_graph *g, const char *name, int ndim, const int64_t *shape) {
    return sbt_graph_leaf(g, SBT_OP_INPUT, name, SBT_DTYPE_F32, ndim, shape);
}

int sbt_input_dims(sbt_graph *g, const char *name, sbt_dtype dtype, int ndim, const sbt_dim *dims) {
    int64_t shape[SBT_MAX_DIMS];
    if (ndim < 1 || ndim > SBT_MAX_DIMS)
        return sbt_graph_error(g, SBT_ERR_SHAPE, "graph: input rank %d", ndim);
    for (int i = 0; i < ndim; i++) shape[i] = sbt_dim_value(g, dims[i]);
    int id = sbt_graph_leaf(g, SBT_OP_INPUT, name, dtype, ndim, shape);
    if (id >= 0) memcpy(g->nodes[id].dims, dims, (size_t)ndim * sizeof *dims);
    return id;
}

int sbt_param(sbt_graph *g, const char *name, int ndim, const int64_t *shape, float *value, float *grad) {
    if (!value) return sbt_graph_error(g, SBT_ERR_ARG, "graph: parameter %s has no data", name ? name : "?");
    int id = sbt_graph_leaf(g, SBT_OP_PARAM, name, SBT_DTYPE_F32, ndim, shape);
    if (id < 0) return id;
    sbt_node *n = &g->nodes[id];
    n->value = value;
    n->grad = grad;
    n->external = 1;
    n->needs_grad = grad != NULL;
    return id;
}

int sbt_state(sbt_graph *g, const char *name, int ndim, const int64_t *shape, float *value) {
    if (!value) return sbt_graph_error(g, SBT_ERR_ARG, "graph: state %s has no data", name ? name : "?");
    int id = sbt_graph_leaf(g, SBT_OP_STATE, name, SBT_DTYPE_F32, ndim, shape);
    if (id >= 0) {
        g->nodes[id].value = value;
        g->nodes[id].external = 1;
    }
    return id;
}

sbt_blob *sbt_blob_new(size_t bytes) {
    sbt_blob *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->data = aligned_alloc(64, bytes ? (bytes + 63) & ~(size_t)63 : 64);
    if (!b->data) {
        free(b);
        return NULL;
    }
    b->refs = 1;
    b->bytes = bytes;
    return b;
}

/* Gives const node `id` a blob of its size (contents undefined); 0 or -1. */
static int const_alloc(sbt_graph *g, int id) {
    sbt_node *n = &g->nodes[id];
    n->blob = sbt_blob_new((size_t)n->size * sbt_dtype_size(n->dtype));
    if (!n->blob) return sbt_graph_error(g, SBT_ERR_NOMEM, "graph: out of memory for const %s", n->name);
    n->value = n->blob->data;
    n->external = 1;
    return 0;
}

int sbt_const(sbt_graph *g, const char *name, sbt_dtype dtype, int ndim, const int64_t *shape,
              const void *data) {
    if (!data) return sbt_graph_error(g, SBT_ERR_ARG, "graph: const %s has no data", name ? name : "?");
    int id = sbt_graph_leaf(g, SBT_OP_CONST, name, dtype, ndim, shape);
    if (id < 0 || const_alloc(g, id) < 0) return -1;
    memcpy(g->nodes[id].value, data, g->nodes[id].blob->bytes);
    return id;
}

/* The data is made when the graph is finalized, for the length bound then. */
int sbt_const_generated(sbt_graph *g, const char *name, const sbt_attr *gen, int64_t width) {
    if (!gen || gen->constant.gen <= SBT_GEN_NONE || gen->constant.gen > SBT_GEN_QKV_MASK)
        return sbt_graph_error(g, SBT_ERR_ARG, "graph: const %s: unknown generator", name ? name : "?");
    int id =
        sbt_graph_leaf(g, SBT_OP_CONST, name, SBT_DTYPE_F32, 2, (int64_t[]){g->bound[SBT_SYM_LENGTH], width});
    if (id < 0) return id;
    g->nodes[id].attr = *gen;
    g->nodes[id].dims[0] = sbt_dim_length(0);
    return id;
}

/* Shares desc's const `src` with node `id` of g (instantiation and freezing). */
void sbt_graph_share_const(sbt_graph *g, int id, const sbt_node *src) {
    sbt_node *n = &g->nodes[id];
    n->blob = src->blob;
    n->blob->refs++;
    n->value = n->blob->data;
    n->external = 1;
}

/* ---- typed builders: wrappers of sbt_graph_add ---- */

int sbt_matmul(sbt_graph *g, int a, int b, int trans_a, int trans_b) {
    sbt_attr at = {.matmul = {trans_a, trans_b}};
    return sbt_graph_add(g, SBT_OP_MATMUL, (int[]){a, b}, 2, &at);
}

int sbt_linear(sbt_graph *g, int x, int weight, int bias) {
    return sbt_graph_add(g, SBT_OP_LINEAR, (int[]){x, weight, bias}, bias >= 0 ? 3 : 2, NULL);
}

int sbt_add(sbt_graph *g, int a, int b) { return sbt_graph_add(g, SBT_OP_ADD, (int[]){a, b}, 2, NULL); }
int sbt_sub(sbt_graph *g, int a, int b) { return sbt_graph_add(g, SBT_OP_SUB, (int[]){a, b}, 2, NULL); }
int sbt_mul(sbt_graph *g, int a, int b) { return sbt_graph_add(g, SBT_OP_MUL, (int[]){a, b}, 2, NULL); }
int sbt_div(sbt_graph *g, int a, int b) { return sbt_graph_add(g, SBT_OP_DIV, (int[]){a, b}, 2, NULL); }
int sbt_relu(sbt_graph *g, int x) { return sbt_graph_add(g, SBT_OP_RELU, &x, 1, NULL); }
int sbt_gelu(sbt_graph *g, int x) { return sbt_graph_add(g, SBT_OP_GELU, &x, 1, NULL); }
int sbt_erf(sbt_graph *g, int x) { return sbt_graph_add(g, SBT_OP_ERF, &x, 1, NULL); }

int sbt_scale(sbt_graph *g, int x, float factor) {
    sbt_attr at = {.scale = {factor}};
    return sbt_graph_add(g, SBT_OP_SCALE, &x, 1, &at);
}

int sbt_transpose(sbt_graph *g, int x, const int *perm) {
    sbt_attr at = {0};
    int nd = x >= 0 && x < g->count ? g->nodes[x].ndim : 0;
    memcpy(at.transpose.perm, perm, (size_t)nd * sizeof *perm);
    return sbt_graph_add(g, SBT_OP_TRANSPOSE, &x, 1, &at);
}

int sbt_reshape_dims(sbt_graph *g, int x, int ndim, const sbt_dim *shape) {
    sbt_attr at = {.reshape = {.ndim = ndim}};
    if (ndim >= 1 && ndim <= SBT_MAX_DIMS) memcpy(at.reshape.shape, shape, (size_t)ndim * sizeof *shape);
    return sbt_graph_add(g, SBT_OP_RESHAPE, &x, 1, &at);
}

int sbt_reshape(sbt_graph *g, int x, int ndim, const int64_t *shape) {
    sbt_dim dims[SBT_MAX_DIMS];
    for (int i = 0; i < ndim && i < SBT_MAX_DIMS; i++) dims[i] = sbt_dim_n(shape[i]);
    return sbt_reshape_dims(g, x, ndim, dims);
}

int sbt_slice_dims(sbt_graph *g, int x, int axis, sbt_dim start, sbt_dim end) {
    sbt_attr at = {.slice = {axis, start, end}};
    return sbt_graph_add(g, SBT_OP_SLICE, &x, 1, &at);
}

/* Plain indices are taken as given: a negative start is an error here, as before. */
int sbt_slice(sbt_graph *g, int x, int axis, int64_t start, int64_t end) {
    if (start < 0 || end < 0)
        return sbt_graph_error(g, SBT_ERR_ARG, "Slice: [%lld, %lld) on axis %d is out of range",
                               (long long)start, (long long)end, axis);
    return sbt_slice_dims(g, x, axis, sbt_dim_n(start), sbt_dim_n(end));
}

int sbt_concat(sbt_graph *g, const int *xs, int n, int axis) {
    if (n < 1 || n > SBT_MAX_INPUTS)
        return sbt_graph_error(g, SBT_ERR_ARG, "Concat: %d inputs (1..%d)", n, SBT_MAX_INPUTS);
    sbt_attr at = {.axis = {axis}};
    return sbt_graph_add(g, SBT_OP_CONCAT, xs, n, &at);
}

int sbt_gather(sbt_graph *g, int table, int indices) {
    return sbt_graph_add(g, SBT_OP_GATHER, (int[]){table, indices}, 2, NULL);
}

int sbt_softmax(sbt_graph *g, int x, int mask) {
    return sbt_graph_add(g, SBT_OP_SOFTMAX, (int[]){x, mask}, mask >= 0 ? 2 : 1, NULL);
}

int sbt_layernorm(sbt_graph *g, int x, int gamma, int beta, float eps) {
    sbt_attr at = {.layernorm = {eps}};
    return sbt_graph_add(g, SBT_OP_LAYERNORM, (int[]){x, gamma, beta}, 3, &at);
}

int sbt_batchnorm(sbt_graph *g, int x, int gamma, int beta, int running_mean, int running_var, int row_mask,
                  float eps, float momentum) {
    sbt_attr at = {.batchnorm = {eps, momentum}};
    int inputs[6] = {x, gamma, beta, running_mean, running_var, row_mask};
    return sbt_graph_add(g, SBT_OP_BATCHNORM, inputs, row_mask >= 0 ? 6 : 5, &at);
}

int sbt_mean(sbt_graph *g, int x, int axis) {
    sbt_attr at = {.axis = {axis}};
    return sbt_graph_add(g, SBT_OP_MEAN, &x, 1, &at);
}

int sbt_masked_mean(sbt_graph *g, int x, int mask) {
    return sbt_graph_add(g, SBT_OP_MASKED_MEAN, (int[]){x, mask}, 2, NULL);
}

int sbt_dropout(sbt_graph *g, int x, float p, uint64_t seed) {
    sbt_attr at = {.dropout = {p, seed}};
    return sbt_graph_add(g, SBT_OP_DROPOUT, &x, 1, &at);
}

int sbt_cross_entropy(sbt_graph *g, int logits, int labels) {
    return sbt_graph_add(g, SBT_OP_CROSS_ENTROPY, (int[]){logits, labels}, 2, NULL);
}

int sbt_mse(sbt_graph *g, int a, int b) { return sbt_graph_add(g, SBT_OP_MSE, (int[]){a, b}, 2, NULL); }

int sbt_sparse_weight(sbt_graph *g, int scores, int weight, float keep, int per_row_alpha,
                      sbt_sparse_mode mode) {
    sbt_attr at = {.sparse = {keep, per_row_alpha, mode}};
    if (mode == SBT_SPARSE_BINARIZE) return sbt_graph_add(g, SBT_OP_SPARSE_WEIGHT, &weight, 1, &at);
    return sbt_graph_add(g, SBT_OP_SPARSE_WEIGHT, (int[]){scores, weight}, 2, &at);
}

int sbt_biprop_weight(sbt_graph *g, int scores, int weight, float keep, int per_row_alpha) {
    return sbt_sparse_weight(g, scores, weight, keep, per_row_alpha, SBT_SPARSE_BIPROP);
}

int sbt_step_t_attention(sbt_graph *g, int q, int k, int v, int include_last) {
    sbt_attr at = {.step_t = {include_last}};
    return sbt_graph_add(g, SBT_OP_STEP_T, (int[]){q, k, v}, 3, &at);
}

int sbt_step_t_attention_last(sbt_graph *g, int q, int k, int v, int include_last) {
    sbt_attr at = {.step_t = {include_last}};
    return sbt_graph_add(g, SBT_OP_STEP_T_LAST, (int[]){q, k, v}, 3, &at);
}

/* ---- names and outputs ---- */

/* Names travel in the graph text one token per field: no spaces or control bytes. */
static int name_ok(const char *name) {
    if (!*name) return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p <= ' ' || *p == 0x7f) return 0;
    return 1;
}

int sbt_graph_name(sbt_graph *g, int id, const char *name) {
    if (id < 0 || id >= g->count || !name) return id;
    if (strlen(name) > SBT_NAME_MAX)
        return sbt_graph_error(g, SBT_ERR_ARG, "graph: name '%.40s...' is %zu bytes, longer than %d", name,
                               strlen(name), SBT_NAME_MAX);
    if (!name_ok(name))
        return sbt_graph_error(g, SBT_ERR_ARG,
                               "graph: name '%s' is empty or has a space or control character", name);
    snprintf(g->nodes[id].name, sizeof g->nodes[id].name, "%s", name);
    return id;
}

int sbt_graph_mark_output(sbt_graph *g, int id) {
    if (id < 0 || id >= g->count || g->nodes[id].output) return id;
    if (g->n_outputs == g->outputs_cap) {
        int cap = g->outputs_cap ? 2 * g->outputs_cap : 4;
        int *o = realloc(g->outputs, (size_t)cap * sizeof *o);
        if (!o) return sbt_graph_error(g, SBT_ERR_NOMEM, "graph: out of memory");
        g->outputs = o;
        g->outputs_cap = cap;
    }
    g->outputs[g->n_outputs++] = id;
    g->nodes[id].output = 1;
    return id;
}

int sbt_graph_output_count(const sbt_graph *g) { return g->n_outputs; }
int sbt_graph_output(const sbt_graph *g, int i) { return i >= 0 && i < g->n_outputs ? g->outputs[i] : -1; }

/* ---- accessors ---- */

int sbt_graph_count(const sbt_graph *g) { return g->count; }

static const sbt_node *node_at(const sbt_graph *g, int id) {
    return g && id >= 0 && id < g->count ? &g->nodes[id] : NULL;
}

sbt_op sbt_node_op(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->op : SBT_OP_COUNT;
}

const char *sbt_node_name(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->name : NULL;
}

int sbt_node_input_count(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->n_inputs : 0;
}

int sbt_node_input(const sbt_graph *g, int id, int i) {
    const sbt_node *n = node_at(g, id);
    return n && i >= 0 && i < n->n_inputs ? n->inputs[i] : -1;
}

int sbt_node_ndim(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->ndim : 0;
}

int64_t sbt_node_dim(const sbt_graph *g, int id, int axis) {
    const sbt_node *n = node_at(g, id);
    if (!n) return -1;
    if (axis < 0) axis += n->ndim;
    return axis >= 0 && axis < n->ndim ? n->shape[axis] : -1;
}

sbt_dim sbt_node_sym_dim(const sbt_graph *g, int id, int axis) {
    const sbt_node *n = node_at(g, id);
    if (!n) return sbt_dim_n(-1);
    if (axis < 0) axis += n->ndim;
    if (axis < 0 || axis >= n->ndim) return sbt_dim_n(-1);
    return n->op == SBT_OP_INPUT || n->op == SBT_OP_CONST ? n->dims[axis] : sbt_dim_n(n->shape[axis]);
}

int64_t sbt_node_size(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->size : -1;
}

sbt_dtype sbt_node_dtype(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->dtype : SBT_DTYPE_COUNT;
}

const sbt_attr *sbt_node_attr(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? &n->attr : NULL;
}

int sbt_node_is_live(const sbt_graph *g, int id) {
    const sbt_node *n = node_at(g, id);
    return n ? n->live : 0;
}

int sbt_graph_find(const sbt_graph *g, const char *name) {
    for (int i = 0; g && name && i < g->count; i++)
        if (!strcmp(g->nodes[i].name, name)) return i;
    return -1;
}

void *sbt_graph_data(sbt_graph *g, int id) {
    return id >= 0 && id < g->count ? (void *)g->nodes[id].value : NULL;
}
float *sbt_graph_value(sbt_graph *g, int id) { return id >= 0 && id < g->count ? g->nodes[id].value : NULL; }
float *sbt_graph_grad(sbt_graph *g, int id) { return id >= 0 && id < g->count ? g->nodes[id].grad : NULL; }
size_t sbt_graph_arena_bytes(const sbt_graph *g) { return g->arena.capacity; }
