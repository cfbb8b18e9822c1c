/* onnx_symbolic.c - a graph description with a symbolic batch from two imports.
 *
 * The importer folds shape arithmetic at one binding of the batch, so its graph has
 * literal shapes. Imported at batch P and at batch P + 1, the two graphs differ only
 * where a number followed the batch: the input's batch axis, Reshape targets (B, or B
 * times the heads, as PyTorch's attention reshapes (T, B * h, d_head)) and Slice
 * bounds. Comparing them node by node gives each such number as n + B (an sbt_dim) or,
 * for a multiple of B, as the one inferred (-1) dimension of its Reshape. Anything else
 * that differs (a constant whose data depends on the batch, a second multiple of B in
 * one Reshape) leaves the model without a description, with the reason. */
#include <stdio.h>
#include <string.h>

#include "io/onnx_import.h"

typedef struct probe_pair {
    const sbt_graph *a, *b; /* imported at batch pa and pb = pa + 1 */
    int64_t pa, pb;
    char *why;
    size_t why_cap;
} probe_pair;

static int differ(probe_pair *p, int id, const char *what) {
    snprintf(p->why, p->why_cap,
             "node '%s' (%s): %s depends on the batch in a way a symbolic batch cannot express",
             sbt_node_name(p->a, id), sbt_op_name(sbt_node_op(p->a, id)), what);
    return -1;
}

/* The symbolic form of a number that is `x` at batch pa and `y` at batch pb: literal,
 * or n + B. 0 when neither (*multiple set when x and y are the same multiple of B). */
static int symbolic_number(const probe_pair *p, int64_t x, int64_t y, sbt_dim *out, int *multiple) {
    *multiple = 0;
    if (x == y) return *out = sbt_dim_n(x), 1;
    if (y - x == p->pb - p->pa) return *out = (sbt_dim){x - p->pa, SBT_SYM_BATCH}, 1;
    if (x % p->pa == 0 && y % p->pb == 0 && x / p->pa == y / p->pb) *multiple = 1;
    return 0;
}

static int reshape_dims(probe_pair *p, int id, sbt_attr *at) {
    const sbt_attr *bt = sbt_node_attr(p->b, id);
    int inferred = 0;
    for (int d = 0; d < at->reshape.ndim; d++) {
        int multiple;
        sbt_dim x = at->reshape.shape[d], y = bt->reshape.shape[d];
        if (x.sym || y.sym) return differ(p, id, "a target dimension"), 0;
        if (symbolic_number(p, x.n, y.n, &at->reshape.shape[d], &multiple)) continue;
        if (!multiple || inferred++) return differ(p, id, "a target dimension"), 0;
        at->reshape.shape[d] = sbt_dim_n(-1);
    }
    return 1;
}

static int slice_bounds(probe_pair *p, int id, sbt_attr *at) {
    const sbt_attr *bt = sbt_node_attr(p->b, id);
    int multiple;
    if (at->slice.start.sym || at->slice.end.sym ||
        !symbolic_number(p, at->slice.start.n, bt->slice.start.n, &at->slice.start, &multiple) ||
        !symbolic_number(p, at->slice.end.n, bt->slice.end.n, &at->slice.end, &multiple))
        return differ(p, id, "a slice bound"), 0;
    return 1;
}

static int same_const(probe_pair *p, int id) {
    int nd = sbt_node_ndim(p->a, id);
    if (nd != sbt_node_ndim(p->b, id) || sbt_node_dtype(p->a, id) != sbt_node_dtype(p->b, id))
        return differ(p, id, "a constant"), 0;
    for (int d = 0; d < nd; d++)
        if (sbt_node_dim(p->a, id, d) != sbt_node_dim(p->b, id, d)) return differ(p, id, "a constant"), 0;
    size_t bytes = (size_t)sbt_node_size(p->a, id) * sbt_dtype_size(sbt_node_dtype(p->a, id));
    const void *x = sbt_graph_data((sbt_graph *)p->a, id), *y = sbt_graph_data((sbt_graph *)p->b, id);
    if (!x || !y || memcmp(x, y, bytes)) return differ(p, id, "a constant"), 0;
    return 1;
}

/* Adds node `id` of p->a to d (same id), made symbolic where p->b says so. */
static int copy_node(probe_pair *p, sbt_graph *d, int id, int batch_axis) {
    const sbt_graph *a = p->a;
    sbt_op op = sbt_node_op(a, id);
    const char *name = sbt_node_name(a, id);
    int nd = sbt_node_ndim(a, id), n_in = sbt_node_input_count(a, id), inputs[SBT_MAX_INPUTS];
    int64_t shape[SBT_MAX_DIMS];
    for (int k = 0; k < nd; k++) shape[k] = sbt_node_dim(a, id, k);
    if (op != sbt_node_op(p->b, id) || n_in != sbt_node_input_count(p->b, id) ||
        nd != sbt_node_ndim(p->b, id))
        return differ(p, id, "the graph's structure");
    for (int k = 0; k < n_in; k++)
        if ((inputs[k] = sbt_node_input(a, id, k)) != sbt_node_input(p->b, id, k))
            return differ(p, id, "the graph's structure");
    switch (op) {
    case SBT_OP_INPUT: {
        sbt_dim dims[SBT_MAX_DIMS];
        for (int k = 0; k < nd; k++) dims[k] = k == batch_axis ? sbt_dim_batch() : sbt_dim_n(shape[k]);
        return sbt_input_dims(d, name, sbt_node_dtype(a, id), nd, dims);
    }
    case SBT_OP_PARAM: return sbt_param(d, name, nd, shape, sbt_graph_value((sbt_graph *)a, id), NULL);
    case SBT_OP_STATE: return sbt_state(d, name, nd, shape, sbt_graph_value((sbt_graph *)a, id));
    case SBT_OP_CONST:
        if (!same_const(p, id)) return -1;
        return sbt_const(d, name, sbt_node_dtype(a, id), nd, shape, sbt_graph_data((sbt_graph *)a, id));
    default: break;
    }
    sbt_attr at = *sbt_node_attr(a, id);
    if (op == SBT_OP_RESHAPE && !reshape_dims(p, id, &at)) return -1;
    if (op == SBT_OP_SLICE && !slice_bounds(p, id, &at)) return -1;
    if (op == SBT_OP_SCALE && at.scale.factor != sbt_node_attr(p->b, id)->scale.factor)
        return differ(p, id, "the factor");
    return sbt_graph_name(d, sbt_graph_add(d, op, inputs, n_in, &at), name);
}

sbt_graph *onnx_symbolic_description(const sbt_graph *a, const sbt_graph *b, int64_t pa, int input,
                                     int output, int batch_axis, char *why, size_t why_cap) {
    probe_pair p = {a, b, pa, pa + 1, why, why_cap};
    if (sbt_graph_count(a) != sbt_graph_count(b)) {
        snprintf(why, why_cap, "the graph's structure depends on the batch");
        return NULL;
    }
    sbt_graph *d = sbt_graph_new();
    if (!d) return snprintf(why, why_cap, "out of memory"), NULL;
    sbt_graph_set_dims(d, pa, 1);
    for (int id = 0; id <= output; id++) {
        int got = copy_node(&p, d, id, batch_axis);
        if (got == id) continue;
        if (got >= 0 || sbt_graph_status(d) != SBT_OK)
            snprintf(why, why_cap, "rebuilding node %d: %s", id,
                     sbt_graph_status(d) != SBT_OK ? sbt_last_error() : "?");
        sbt_graph_free(d);
        return NULL;
    }
    (void)input;
    sbt_graph_mark_output(d, output);
    return d;
}
