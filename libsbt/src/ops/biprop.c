/* Sparse-weight kernels: exact top-k selection by quickselect, alpha, and the graph
 * op's forward and backward in its three modes (Biprop, prune, binarize). */
#include "sbt/biprop.h"

#include <math.h>
#include <string.h>

#include "graph/graph_internal.h"

int64_t sbt_biprop_keep_count(float keep, int64_t n) {
    int64_t k = (int64_t)llround((double)keep * (double)n);
    return k < 1 ? 1 : k > n ? n : k;
}

/* Strict total order: larger |score| first, then lower index. */
static int ranks_before(const float *s, int32_t a, int32_t b) {
    float fa = fabsf(s[a]), fb = fabsf(s[b]);
    return fa > fb || (fa == fb && a < b);
}

static void swap32(int32_t *a, int32_t *b) {
    int32_t t = *a;
    *a = *b;
    *b = t;
}

/* Moves the k best of idx[lo..hi] to the front (nth_element). Because the order is
 * total, the selected set does not depend on pivot choices. */
static void quickselect(const float *s, int32_t *idx, int64_t lo, int64_t hi, int64_t k) {
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        /* median of three into idx[hi] as the pivot */
        if (ranks_before(s, idx[mid], idx[lo])) swap32(&idx[mid], &idx[lo]);
        if (ranks_before(s, idx[hi], idx[lo])) swap32(&idx[hi], &idx[lo]);
        if (ranks_before(s, idx[mid], idx[hi])) swap32(&idx[mid], &idx[hi]);
        int32_t pivot = idx[hi];
        int64_t store = lo;
        for (int64_t i = lo; i < hi; i++)
            if (ranks_before(s, idx[i], pivot)) swap32(&idx[i], &idx[store++]);
        swap32(&idx[store], &idx[hi]);
        if (store == k) return;
        if (store < k)
            lo = store + 1;
        else
            hi = store - 1;
    }
}

void sbt_biprop_select(const float *scores, int64_t n, int64_t k, float *mask, int32_t *scratch) {
    for (int64_t i = 0; i < n; i++) {
        scratch[i] = (int32_t)i;
        mask[i] = 0.0f;
    }
    if (k < n) quickselect(scores, scratch, 0, n - 1, k);
    for (int64_t i = 0; i < k && i < n; i++) mask[scratch[i]] = 1.0f;
}

float sbt_biprop_alpha(const float *w, const float *mask, int64_t n) {
    double sum = 0.0;
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++)
        if (mask[i] != 0.0f) {
            sum += fabs((double)w[i]);
            kept++;
        }
    return kept ? (float)(sum / (double)kept) : 0.0f;
}

/* Scaled signs of the kept entries: alpha = mean |w| over the kept entries of the layer
 * or of each row. */
static void binarize_kept(const float *w, const float *mask, int64_t rows, int64_t cols, int per_row,
                          float *out) {
    float alpha = per_row ? 0.0f : sbt_biprop_alpha(w, mask, rows * cols);
    for (int64_t r = 0; r < rows; r++) {
        const float *wr = w + r * cols, *mr = mask + r * cols;
        float a = per_row ? sbt_biprop_alpha(wr, mr, cols) : alpha;
        for (int64_t c = 0; c < cols; c++)
            out[r * cols + c] = mr[c] != 0.0f ? (wr[c] > 0.0f ? a : wr[c] < 0.0f ? -a : 0.0f) : 0.0f;
    }
}

void sbt_sparse_weight_compute(const sbt_attr *at, int64_t rows, int64_t cols, const float *s, const float *w,
                               float *out, float *mask, int32_t *scratch) {
    int64_t n = rows * cols;
    sbt_sparse_mode mode = at->sparse.mode;
    if (mode == SBT_SPARSE_BINARIZE) {
        for (int64_t i = 0; i < n; i++) mask[i] = w[i] != 0.0f ? 1.0f : 0.0f; /* a pruned zero stays zero */
    } else {
        sbt_biprop_select(s, n, sbt_biprop_keep_count(at->sparse.keep, n), mask, scratch);
    }
    if (mode == SBT_SPARSE_PRUNE) {
        for (int64_t i = 0; i < n; i++) out[i] = w[i] * mask[i];
        return;
    }
    binarize_kept(w, mask, rows, cols, at->sparse.per_row_alpha, out);
}

/* Inputs: scores and weight (out, in); BINARIZE: the weight alone. The mask and the
 * selection's indices are forward-only scratch. */
sbt_status sbt_fwd_sparse_weight(sbt_graph *g, sbt_node *n) {
    const sbt_node *s = in_node(g, n, 0), *w = in_node(g, n, n->n_inputs - 1);
    sbt_sparse_weight_compute(&n->attr, n->shape[0], n->shape[1], s->value, w->value, n->value, n->scratch,
                              (int32_t *)(n->scratch + n->size));
    return SBT_OK;
}

static float signf(float x) { return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : 0.0f; }

/* Straight through: the top-k passes the gradient of W_eff to S as if W_eff = W * |S|
 * (BIPROP and PRUNE alike); BINARIZE has no scores. */
sbt_status sbt_bwd_sparse_weight(sbt_graph *g, sbt_node *n) {
    sbt_node *s = in_node(g, n, 0);
    if (n->attr.sparse.mode == SBT_SPARSE_BINARIZE || !s->grad) return SBT_OK;
    const float *w = in_node(g, n, 1)->value;
    for (int64_t i = 0; i < n->size; i++) s->grad[i] += n->grad[i] * w[i] * signf(s->value[i]);
    return SBT_OK;
}
