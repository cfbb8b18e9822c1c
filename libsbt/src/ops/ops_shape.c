/* Ops that move data without arithmetic: transpose, reshape, slice, concat, gather. */
#include <math.h>
#include <string.h>

#include "graph/graph_internal.h"

/* Walks the output of a transpose in order; `src_stride[i]` is the input stride of output
 * axis i. Shapes are padded to 4 axes in front. backward != 0 scatters-adds instead. */
static void permute_copy(const sbt_node *n, const int64_t *in_shape, float *in, float *out, int backward) {
    int64_t in_stride[SBT_MAX_DIMS], shape[4] = {1, 1, 1, 1}, stride[4] = {0, 0, 0, 0};
    int nd = n->ndim, pad = 4 - nd;
    in_stride[nd - 1] = 1;
    for (int i = nd - 2; i >= 0; i--) in_stride[i] = in_stride[i + 1] * in_shape[i + 1];
    for (int i = 0; i < nd; i++) {
        shape[pad + i] = n->shape[i];
        stride[pad + i] = in_stride[n->attr.transpose.perm[i]];
    }
    int64_t o = 0;
    for (int64_t a = 0; a < shape[0]; a++)
        for (int64_t b = 0; b < shape[1]; b++)
            for (int64_t c = 0; c < shape[2]; c++) {
                const int64_t base = a * stride[0] + b * stride[1] + c * stride[2];
                if (backward)
                    for (int64_t d = 0; d < shape[3]; d++) in[base + d * stride[3]] += out[o++];
                else
                    for (int64_t d = 0; d < shape[3]; d++) out[o++] = in[base + d * stride[3]];
            }
}

sbt_status sbt_fwd_transpose(sbt_graph *g, sbt_node *n) {
    sbt_node *x = in_node(g, n, 0);
    permute_copy(n, x->shape, x->value, n->value, 0);
    return SBT_OK;
}

sbt_status sbt_bwd_transpose(sbt_graph *g, sbt_node *n) {
    sbt_node *x = in_node(g, n, 0);
    permute_copy(n, x->shape, x->grad, n->grad, 1);
    return SBT_OK;
}

/* Reshape aliases its input's value and gradient buffers (see finalize). */
sbt_status sbt_fwd_reshape(sbt_graph *g, sbt_node *n) {
    (void)g;
    (void)n;
    return SBT_OK;
}

sbt_status sbt_bwd_reshape(sbt_graph *g, sbt_node *n) {
    (void)g;
    (void)n;
    return SBT_OK;
}

/* Views a tensor as (outer, axis, inner) around `axis`. */
static void split_at_axis(const sbt_node *n, int axis, int64_t *outer, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= n->shape[i];
    for (int i = axis + 1; i < n->ndim; i++) *inner *= n->shape[i];
}

/* The first index a slice takes, under the graph's binding (as the shape rule resolved it). */
static int64_t slice_start(const sbt_graph *g, const sbt_node *n, const sbt_node *x) {
    int64_t start = sbt_dim_value(g, n->attr.slice.start);
    return start < 0 ? start + x->shape[n->attr.slice.axis] : start;
}

sbt_status sbt_fwd_slice(sbt_graph *g, sbt_node *n) {
    const sbt_node *x = in_node(g, n, 0);
    int axis = n->attr.slice.axis;
    int64_t outer, inner, len = n->shape[axis], start = slice_start(g, n, x);
    split_at_axis(x, axis, &outer, &inner);
    for (int64_t o = 0; o < outer; o++)
        memcpy(n->value + o * len * inner, x->value + (o * x->shape[axis] + start) * inner,
               (size_t)(len * inner) * sizeof(float));
    return SBT_OK;
}

sbt_status sbt_bwd_slice(sbt_graph *g, sbt_node *n) {
    sbt_node *x = in_node(g, n, 0);
    int axis = n->attr.slice.axis;
    int64_t outer, inner, len = n->shape[axis], start = slice_start(g, n, x);
    split_at_axis(x, axis, &outer, &inner);
    for (int64_t o = 0; o < outer; o++) {
        float *dx = x->grad + (o * x->shape[axis] + start) * inner;
        const float *dy = n->grad + o * len * inner;
        for (int64_t i = 0; i < len * inner; i++) dx[i] += dy[i];
    }
    return SBT_OK;
}

static void concat_walk(sbt_graph *g, sbt_node *n, int backward) {
    int axis = n->attr.axis.axis;
    int64_t outer, inner, offset = 0;
    split_at_axis(n, axis, &outer, &inner);
    for (int k = 0; k < n->n_inputs; k++) {
        sbt_node *x = in_node(g, n, k);
        int64_t len = x->shape[axis] * inner;
        for (int64_t o = 0; o < outer; o++) {
            float *y = (backward ? n->grad : n->value) + o * n->shape[axis] * inner + offset;
            if (!backward)
                memcpy(y, x->value + o * len, (size_t)len * sizeof(float));
            else if (x->grad)
                for (int64_t i = 0; i < len; i++) x->grad[o * len + i] += y[i];
        }
        offset += len;
    }
}

sbt_status sbt_fwd_concat(sbt_graph *g, sbt_node *n) {
    concat_walk(g, n, 0);
    return SBT_OK;
}

sbt_status sbt_bwd_concat(sbt_graph *g, sbt_node *n) {
    concat_walk(g, n, 1);
    return SBT_OK;
}

/* Checks every index before reading: indices come from data. */
sbt_status sbt_fwd_gather(sbt_graph *g, sbt_node *n) {
    const sbt_node *table = in_node(g, n, 0), *idx = in_node(g, n, 1);
    int64_t rows = table->shape[0], width = table->size / rows;
    const int32_t *index = (const int32_t *)idx->value;
    for (int64_t i = 0; i < idx->size; i++) {
        if (index[i] < 0 || index[i] >= rows)
            return sbt_fail(SBT_ERR_ARG, "Gather '%s': index %d outside [0, %lld)", n->name, (int)index[i],
                            (long long)rows);
        memcpy(n->value + i * width, table->value + (int64_t)index[i] * width, (size_t)width * sizeof(float));
    }
    return SBT_OK;
}

sbt_status sbt_bwd_gather(sbt_graph *g, sbt_node *n) {
    sbt_node *table = in_node(g, n, 0);
    const sbt_node *idx = in_node(g, n, 1);
    int64_t width = table->size / table->shape[0];
    for (int64_t i = 0; i < idx->size; i++) {
        float *dt = table->grad + (int64_t)((const int32_t *)idx->value)[i] * width;
        for (int64_t j = 0; j < width; j++) dt[j] += n->grad[i * width + j];
    }
    return SBT_OK;
}
