/* Running graphs: which nodes a forward needs, buffer planning (one arena; in
 * forward-only graphs buffers are reused once their last reader has run),
 * instantiation of a description for a batch and length, freezing, and the forward and
 * backward walks. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "sbt/kernels.h"

typedef struct {
    sbt_op_fn forward, backward;
} op_kernels;

static const op_kernels KERNELS[SBT_OP_COUNT] = {
    [SBT_OP_MATMUL] = {sbt_fwd_matmul, sbt_bwd_matmul},
    [SBT_OP_LINEAR] = {sbt_fwd_linear, sbt_bwd_linear},
    [SBT_OP_ADD] = {sbt_fwd_add, sbt_bwd_add},
    [SBT_OP_SUB] = {sbt_fwd_sub, sbt_bwd_sub},
    [SBT_OP_MUL] = {sbt_fwd_mul, sbt_bwd_mul},
    [SBT_OP_DIV] = {sbt_fwd_div, sbt_bwd_div},
    [SBT_OP_SCALE] = {sbt_fwd_scale, sbt_bwd_scale},
    [SBT_OP_TRANSPOSE] = {sbt_fwd_transpose, sbt_bwd_transpose},
    [SBT_OP_RESHAPE] = {sbt_fwd_reshape, sbt_bwd_reshape},
    [SBT_OP_SLICE] = {sbt_fwd_slice, sbt_bwd_slice},
    [SBT_OP_CONCAT] = {sbt_fwd_concat, sbt_bwd_concat},
    [SBT_OP_GATHER] = {sbt_fwd_gather, sbt_bwd_gather},
    [SBT_OP_SOFTMAX] = {sbt_fwd_softmax, sbt_bwd_softmax},
    [SBT_OP_LAYERNORM] = {sbt_fwd_layernorm, sbt_bwd_layernorm},
    [SBT_OP_BATCHNORM] = {sbt_fwd_batchnorm, sbt_bwd_batchnorm},
    [SBT_OP_RELU] = {sbt_fwd_relu, sbt_bwd_relu},
    [SBT_OP_GELU] = {sbt_fwd_gelu, sbt_bwd_gelu},
    [SBT_OP_ERF] = {sbt_fwd_erf, sbt_bwd_erf},
    [SBT_OP_MEAN] = {sbt_fwd_mean, sbt_bwd_mean},
    [SBT_OP_MASKED_MEAN] = {sbt_fwd_masked_mean, sbt_bwd_masked_mean},
    [SBT_OP_DROPOUT] = {sbt_fwd_dropout, sbt_bwd_dropout},
    [SBT_OP_CROSS_ENTROPY] = {sbt_fwd_cross_entropy, sbt_bwd_cross_entropy},
    [SBT_OP_MSE] = {sbt_fwd_mse, sbt_bwd_mse},
    [SBT_OP_SPARSE_WEIGHT] = {sbt_fwd_sparse_weight, sbt_bwd_sparse_weight},
    [SBT_OP_STEP_T] = {sbt_fwd_step_t, sbt_bwd_step_t},
    [SBT_OP_STEP_T_LAST] = {sbt_fwd_step_t_last, sbt_bwd_step_t_last},
};

static int is_leaf(sbt_op op) {
    return op == SBT_OP_INPUT || op == SBT_OP_PARAM || op == SBT_OP_STATE || op == SBT_OP_CONST;
}

/* Forward state each op keeps for its backward, in floats. */
static int64_t saved_floats(const sbt_graph *g, const sbt_node *n) {
    const sbt_node *x = n->n_inputs ? &g->nodes[n->inputs[0]] : NULL;
    switch (n->op) {
    case SBT_OP_LAYERNORM: return 2 * rows_of(n);
    case SBT_OP_BATCHNORM: return 2 * last_dim(n);
    case SBT_OP_DROPOUT: return n->size;
    case SBT_OP_CROSS_ENTROPY: return x->size;
    case SBT_OP_STEP_T: return n->size / n->shape[3]; /* the last query's probabilities */
    case SBT_OP_STEP_T_LAST: return g->nodes[n->inputs[1]].size / n->shape[3]; /* the same, over k's steps */
    default: return 0;
    }
}

/* The prepared ternary weight of Linear n, or NULL (sgemm). */
static const sbt_blob *ternary_weight(const sbt_graph *g, const sbt_node *n) {
    const sbt_blob *b = n->op == SBT_OP_LINEAR ? g->nodes[n->inputs[1]].blob : NULL;
    return b && b->ternary ? b : NULL;
}

/* Temporary space an op needs during its forward only, in floats. */
static int64_t scratch_floats(const sbt_graph *g, const sbt_node *n) {
    if (n->op == SBT_OP_SPARSE_WEIGHT) return 2 * n->size; /* mask, then the selection's int32 */
    const sbt_blob *t = ternary_weight(g, n);
    return t ? (int64_t)((sbt_ternary_scratch_bytes(t->ternary, (sbt_act)t->ternary_act) + 3) / 4) : 0;
}

/* A forward computes what the declared outputs need (everything when none is declared).
 * Inputs always keep a buffer: callers feed every input whether or not it is read. */
static void mark_live(sbt_graph *g) {
    for (int i = 0; i < g->count; i++) g->nodes[i].live = g->n_outputs == 0 || g->nodes[i].op == SBT_OP_INPUT;
    for (int o = 0; o < g->n_outputs; o++) g->nodes[g->outputs[o]].live = 1;
    for (int i = g->count - 1; i >= 0; i--)
        if (g->nodes[i].live)
            for (int k = 0; k < g->nodes[i].n_inputs; k++) g->nodes[g->nodes[i].inputs[k]].live = 1;
}

/* The node whose buffer n's value is (a reshape shares its input's). */
static int buffer_root(const sbt_graph *g, int i) {
    while (g->nodes[i].op == SBT_OP_RESHAPE) i = g->nodes[i].inputs[0];
    return i;
}

static size_t value_bytes(const sbt_node *n) { return (size_t)n->size * sbt_dtype_size(n->dtype); }

/* ---- forward-only buffer plan: first fit over the blocks still read later ---- */

typedef struct {
    size_t off, bytes;
    int last_use;
} block;

typedef struct {
    block *live;
    int count;
    size_t peak;
} pool;

/* Drops the blocks whose last reader ran before node `now`. */
static void pool_release(pool *p, int now) {
    int k = 0;
    for (int i = 0; i < p->count; i++)
        if (p->live[i].last_use >= now) p->live[k++] = p->live[i];
    p->count = k;
}

/* Lowest offset where `bytes` fit between the live blocks (kept sorted by offset). */
static size_t pool_take(pool *p, size_t bytes, int last_use) {
    bytes = (bytes + 63) & ~(size_t)63;
    size_t at = 0;
    int pos = 0;
    for (; pos < p->count; pos++) {
        if (p->live[pos].off >= at + bytes) break;
        size_t end = p->live[pos].off + p->live[pos].bytes;
        if (end > at) at = end;
    }
    memmove(&p->live[pos + 1], &p->live[pos], (size_t)(p->count - pos) * sizeof(block));
    p->live[pos] = (block){at, bytes, last_use};
    p->count++;
    if (at + bytes > p->peak) p->peak = at + bytes;
    return at;
}

/* Index of the last node that reads each buffer root (INT_MAX: never freed). */
static int *last_uses(const sbt_graph *g) {
    int *last = malloc((size_t)(g->count ? g->count : 1) * sizeof *last);
    if (!last) return NULL;
    for (int i = 0; i < g->count; i++) last[i] = i;
    for (int i = 0; i < g->count; i++) {
        const sbt_node *n = &g->nodes[i];
        if (!n->live) continue;
        for (int k = 0; k < n->n_inputs; k++) {
            int r = buffer_root(g, n->inputs[k]);
            if (last[r] < i) last[r] = i;
        }
        if (n->output || n->op == SBT_OP_INPUT) last[buffer_root(g, i)] = INT_MAX;
    }
    return last;
}

/* Value offsets of forward-only op nodes inside a pool placed after the dedicated
 * buffers: returns the pool's size, or (size_t)-1 when out of memory. */
static size_t plan_reuse(sbt_graph *g, size_t base) {
    int *last = last_uses(g);
    pool p = {.live = malloc((size_t)(g->count ? g->count : 1) * sizeof(block))};
    if (!last || !p.live) {
        free(last);
        free(p.live);
        return (size_t)-1;
    }
    for (int i = 0; i < g->count; i++) {
        sbt_node *n = &g->nodes[i];
        if (!n->live || is_leaf(n->op) || n->value_alias || last[i] == INT_MAX) continue;
        pool_release(&p, i);
        n->value_off = (int64_t)(base + pool_take(&p, value_bytes(n), last[i]));
    }
    free(last);
    free(p.live);
    return p.peak;
}

/* In a forward-only graph an output that is a reshape keeps its input's buffer, so that
 * buffer is kept like an output's (marked 2: kept, not declared). */
static void keep_output_roots(sbt_graph *g) {
    for (int i = 0; i < g->count; i++) {
        sbt_node *n = &g->nodes[i];
        if (!n->live || !n->output || n->op != SBT_OP_RESHAPE) continue;
        sbt_node *r = &g->nodes[buffer_root(g, i)];
        if (!is_leaf(r->op) && !r->output) r->output = 2;
    }
}

/* Reserves values, gradients and saved state. Forward-only graphs keep dedicated
 * buffers for inputs and outputs only and reuse the rest (plan_reuse); the forward
 * state of every op then goes to the shared scratch, which *shared_floats sizes. */
static sbt_status reserve(sbt_graph *g, int64_t *shared_floats) {
    int infer = g->mode == SBT_EXEC_INFER;
    int64_t shared = 0;
    if (infer) keep_output_roots(g);
    for (int i = 0; i < g->count; i++) {
        sbt_node *n = &g->nodes[i];
        n->value_alias = n->op == SBT_OP_RESHAPE;
        if (infer) n->needs_grad = 0;
        if (!n->live) continue;
        int dedicated = !infer || n->op == SBT_OP_INPUT || n->output;
        if ((!is_leaf(n->op) || n->op == SBT_OP_INPUT) && !n->value_alias && dedicated)
            n->value_off = (int64_t)sbt_arena_reserve(&g->arena, value_bytes(n));
        if (n->needs_grad && !n->external && !n->value_alias)
            n->grad_off = (int64_t)sbt_arena_reserve(&g->arena, value_bytes(n));
        n->saved_size = is_leaf(n->op) ? 0 : saved_floats(g, n);
        n->scratch_size = scratch_floats(g, n);
        if (!infer && n->saved_size)
            n->saved_off = (int64_t)sbt_arena_reserve(&g->arena, (size_t)n->saved_size * sizeof(float));
        int64_t temp = n->scratch_size + (infer ? n->saved_size : 0);
        if (temp > shared) shared = temp;
    }
    if (infer) {
        size_t pool_bytes = plan_reuse(g, g->arena.used);
        if (pool_bytes == (size_t)-1) return sbt_fail(SBT_ERR_NOMEM, "graph: out of memory");
        sbt_arena_reserve(&g->arena, pool_bytes);
    }
    *shared_floats = shared;
    return SBT_OK;
}

static sbt_status generate_consts(sbt_graph *g) {
    for (int i = 0; i < g->count; i++) {
        sbt_node *n = &g->nodes[i];
        if (n->op != SBT_OP_CONST || n->blob || !n->attr.constant.gen) continue;
        n->blob = calloc(1, sizeof *n->blob);
        if (n->blob) n->blob->data = aligned_alloc(64, ((size_t)n->size * sizeof(float) + 63) & ~(size_t)63);
        if (!n->blob || !n->blob->data)
            return sbt_fail(SBT_ERR_NOMEM, "graph: out of memory for const %s", n->name);
        n->blob->refs = 1;
        n->blob->bytes = (size_t)n->size * sizeof(float);
        n->value = n->blob->data;
        n->external = 1;
        sbt_const_generate(&n->attr, n->shape[0], n->shape[1], n->value);
    }
    return SBT_OK;
}

static sbt_status finalize_mode(sbt_graph *g, sbt_exec_mode mode) {
    if (g->status != SBT_OK) return sbt_fail(g->status, "%s", g->error);
    if (g->finalized) return SBT_OK;
    g->mode = mode;
    mark_live(g);
    int64_t shared = 0;
    sbt_status st = reserve(g, &shared);
    size_t shared_off = sbt_arena_reserve(&g->arena, (size_t)shared * sizeof(float));
    if (!st) st = sbt_arena_commit(&g->arena);
    if (!st) st = generate_consts(g);
    if (st) return st;
    float *shared_at = sbt_arena_at(&g->arena, shared_off);
    for (int i = 0; i < g->count; i++) {
        sbt_node *n = &g->nodes[i];
        if (!n->live) continue;
        if (n->value_alias) {
            /* a reshape shares its input's buffers: no copy forward or backward */
            n->value = g->nodes[n->inputs[0]].value;
            n->grad = g->nodes[n->inputs[0]].grad;
            continue;
        }
        if (!n->external) n->value = sbt_arena_at(&g->arena, (size_t)n->value_off);
        if (mode == SBT_EXEC_INFER && n->op == SBT_OP_PARAM) n->grad = NULL;
        if (n->needs_grad && !n->external) n->grad = sbt_arena_at(&g->arena, (size_t)n->grad_off);
        n->scratch = shared_at;
        n->saved = mode == SBT_EXEC_INFER
                       ? shared_at + n->scratch_size
                       : (n->saved_size ? (float *)sbt_arena_at(&g->arena, (size_t)n->saved_off) : NULL);
    }
    g->finalized = 1;
    return SBT_OK;
}

sbt_status sbt_graph_finalize(sbt_graph *g) { return finalize_mode(g, SBT_EXEC_TRAIN); }

/* ---- instantiation and freezing: replays a description node by node ---- */

int sbt_graph_copy_node(sbt_graph *g, const sbt_node *src, const int *map, float *value, float *grad) {
    switch (src->op) {
    case SBT_OP_INPUT: return sbt_input_dims(g, src->name, src->dtype, src->ndim, src->dims);
    case SBT_OP_PARAM: return sbt_param(g, src->name, src->ndim, src->shape, value, grad);
    case SBT_OP_STATE: return sbt_state(g, src->name, src->ndim, src->shape, value);
    case SBT_OP_CONST:
        if (src->attr.constant.gen) return sbt_const_generated(g, src->name, &src->attr, src->shape[1]);
        {
            int id = sbt_graph_leaf(g, SBT_OP_CONST, src->name, src->dtype, src->ndim, src->shape);
            if (id >= 0) sbt_graph_share_const(g, id, src);
            return id;
        }
    default: {
        int inputs[SBT_MAX_INPUTS];
        for (int k = 0; k < src->n_inputs; k++) inputs[k] = map ? map[src->inputs[k]] : src->inputs[k];
        int id = sbt_graph_add(g, src->op, inputs, src->n_inputs, &src->attr);
        return id < 0 ? id : sbt_graph_name(g, id, src->name);
    }
    }
}

/* Adds desc's node `src` to g (same id, since nodes are replayed in order). */
static int replay_node(sbt_graph *g, const sbt_node *src, sbt_exec_mode mode) {
    return sbt_graph_copy_node(g, src, NULL, src->value, mode == SBT_EXEC_TRAIN ? src->grad : NULL);
}

/* g gets desc's nodes under its own binding; node `i` becomes a const when
 * replace_sparse and it is a sparse weight (freezing). */
static sbt_status replay(const sbt_graph *desc, sbt_graph *g, sbt_exec_mode mode, int replace_sparse);

sbt_status sbt_graph_instantiate(const sbt_graph *desc, int64_t batch, int64_t length, sbt_exec_mode mode,
                                 sbt_graph **out) {
    *out = NULL;
    if (desc->status != SBT_OK) return sbt_fail(desc->status, "%s", desc->error);
    if (batch < 1 || length < 1)
        return sbt_fail(SBT_ERR_ARG, "graph: batch %lld, length %lld", (long long)batch, (long long)length);
    sbt_graph *g = sbt_graph_new();
    if (!g) return sbt_fail(SBT_ERR_NOMEM, "graph: out of memory");
    sbt_graph_set_dims(g, batch, length);
    sbt_status st = replay(desc, g, mode, 0);
    if (!st) st = finalize_mode(g, mode);
    if (st) {
        sbt_graph_free(g);
        return st;
    }
    *out = g;
    return SBT_OK;
}

/* The effective weight of desc's sparse-weight node `src`, as a const of g. */
static int frozen_weight(sbt_graph *g, const sbt_graph *desc, const sbt_node *src) {
    const sbt_node *w = &desc->nodes[src->inputs[src->n_inputs - 1]], *s = &desc->nodes[src->inputs[0]];
    if (!w->value || !s->value)
        return sbt_graph_error(g, SBT_ERR_ARG, "freeze: %s: its weight and scores must be params or consts",
                               src->name);
    float *out = malloc((size_t)src->size * sizeof(float)), *mask = malloc((size_t)src->size * sizeof(float));
    int32_t *scratch = malloc((size_t)src->size * sizeof(int32_t));
    int id = -1;
    if (out && mask && scratch) {
        sbt_sparse_weight_compute(&src->attr, src->shape[0], src->shape[1], s->value, w->value, out, mask,
                                  scratch);
        id = sbt_const(g, src->name, SBT_DTYPE_F32, 2, src->shape, out);
    } else {
        sbt_graph_error(g, SBT_ERR_NOMEM, "freeze: out of memory");
    }
    free(out);
    free(mask);
    free(scratch);
    return id;
}

static sbt_status replay(const sbt_graph *desc, sbt_graph *g, sbt_exec_mode mode, int replace_sparse) {
    for (int i = 0; i < desc->count; i++) {
        const sbt_node *src = &desc->nodes[i];
        int id = replace_sparse && src->op == SBT_OP_SPARSE_WEIGHT ? frozen_weight(g, desc, src)
                                                                   : replay_node(g, src, mode);
        if (id < 0) return sbt_graph_status(g);
    }
    for (int o = 0; o < desc->n_outputs; o++) sbt_graph_mark_output(g, desc->outputs[o]);
    return sbt_graph_status(g);
}

sbt_status sbt_graph_freeze(const sbt_graph *desc, sbt_graph **out) {
    *out = NULL;
    if (desc->status != SBT_OK) return sbt_fail(desc->status, "%s", desc->error);
    sbt_graph *g = sbt_graph_new();
    if (!g) return sbt_fail(SBT_ERR_NOMEM, "graph: out of memory");
    memcpy(g->bound, desc->bound, sizeof g->bound);
    sbt_status st = replay(desc, g, SBT_EXEC_INFER, 1);
    if (st) {
        sbt_graph_free(g);
        return st;
    }
    *out = g;
    return SBT_OK;
}

/* Prepares every 2-D float const that is a Linear's weight and ternary for the kernel;
 * the rest stays on sgemm (a refusal is not an error here: pruned floats are common). */
static sbt_status prepare_ternary(sbt_graph *g, sbt_weight_kernel kernel) {
    for (int i = 0; i < g->count; i++) {
        const sbt_node *lin = &g->nodes[i];
        if (lin->op != SBT_OP_LINEAR) continue;
        sbt_node *w = &g->nodes[lin->inputs[1]];
        if (w->op != SBT_OP_CONST || w->dtype != SBT_DTYPE_F32 || !w->blob || w->blob->ternary) continue;
        sbt_ternary_matrix *t = NULL;
        sbt_status st = sbt_ternary_prepare(w->value, w->shape[0], w->shape[1], &t);
        if (st == SBT_ERR_NOMEM) return st;
        if (st) continue;
        w->blob->ternary = t;
        w->blob->ternary_act = kernel == SBT_KERNEL_TERNARY_I8 ? SBT_ACT_I8 : SBT_ACT_F32;
    }
    return SBT_OK;
}

sbt_status sbt_graph_freeze_kernels(const sbt_graph *desc, sbt_weight_kernel kernel, sbt_graph **out) {
    sbt_status st = sbt_graph_freeze(desc, out);
    if (!st && kernel != SBT_KERNEL_DENSE) st = prepare_ternary(*out, kernel);
    if (st) {
        sbt_graph_free(*out);
        *out = NULL;
    }
    return st;
}

sbt_weight_kernel sbt_node_kernel(const sbt_graph *g, int id) {
    if (id < 0 || id >= g->count) return SBT_KERNEL_DENSE;
    const sbt_blob *t = ternary_weight(g, &g->nodes[id]);
    return !t                             ? SBT_KERNEL_DENSE
           : t->ternary_act == SBT_ACT_I8 ? SBT_KERNEL_TERNARY_I8
                                          : SBT_KERNEL_TERNARY_F32;
}

/* ---- forward and backward ---- */

sbt_status sbt_graph_forward_until(sbt_graph *g, int training, int last) {
    if (!g->finalized) return sbt_fail(SBT_ERR_ARG, "graph: forward before finalize");
    if (training && g->mode == SBT_EXEC_INFER)
        return sbt_fail(SBT_ERR_ARG, "graph: a forward-only graph cannot train");
    g->training = training;
    if (last < 0 || last >= g->count) last = g->count - 1;
    for (int i = 0; i <= last; i++) {
        sbt_node *n = &g->nodes[i];
        if (!n->live || !KERNELS[n->op].forward) continue;
        sbt_status st = KERNELS[n->op].forward(g, n);
        if (st != SBT_OK) return st;
    }
    return SBT_OK;
}

sbt_status sbt_graph_forward(sbt_graph *g, int training) {
    return sbt_graph_forward_until(g, training, g->count - 1);
}

sbt_status sbt_graph_backward(sbt_graph *g, int loss) {
    if (!g->finalized) return sbt_fail(SBT_ERR_ARG, "graph: backward before finalize");
    if (g->mode == SBT_EXEC_INFER)
        return sbt_fail(SBT_ERR_ARG, "graph: a forward-only graph has no backward");
    if (loss < 0 || loss >= g->count || g->nodes[loss].size != 1 || !g->nodes[loss].live)
        return sbt_fail(SBT_ERR_ARG, "graph: backward needs a scalar loss node that the forward computes");
    for (int i = 0; i < g->count; i++) {
        sbt_node *n = &g->nodes[i];
        if (n->live && n->grad && !n->external && !n->value_alias) memset(n->grad, 0, value_bytes(n));
    }
    sbt_node *l = &g->nodes[loss];
    if (!l->grad) return SBT_OK; /* nothing trainable reaches the loss */
    l->grad[0] += 1.0f;
    for (int i = loss; i >= 0; i--) {
        sbt_node *n = &g->nodes[i];
        if (!n->live || !n->grad || !KERNELS[n->op].backward) continue;
        sbt_status st = KERNELS[n->op].backward(g, n);
        if (st != SBT_OK) return st;
    }
    return SBT_OK;
}

void sbt_graph_set_step(sbt_graph *g, uint64_t step) { g->step = step; }
