/* The paper's convention: the counting rules of its code (../shared/paper-configs.md),
 * read off the graph by op, by generated consts (sinusoidal positions, Q/K/V masks) and by
 * the encoder builder's Linear names (layerN.q/k/v). Its numbers are multiply-adds that the paper calls
 * FLOPs. */
#include <math.h>
#include <string.h>

#include "cost/cost_internal.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = s ? strlen(s) : 0, k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* The first generated const of kind `gen`, or -1. */
static int find_generated(const sbt_graph *g, sbt_const_gen gen) {
    for (int id = 0; id < sbt_graph_count(g); id++)
        if (sbt_node_op(g, id) == SBT_OP_CONST && sbt_node_attr(g, id)->constant.gen == gen) return id;
    return -1;
}

void cost_paper_defaults(cost_walker *w) {
    if (w->opt.window <= 0) {
        int x = sbt_graph_find(w->g, "x");
        w->opt.window = x >= 0 && sbt_node_ndim(w->g, x) == 3 ? sbt_node_dim(w->g, x, 1) : 1;
    }
    int mask = find_generated(w->g, SBT_GEN_QKV_MASK);
    if (w->opt.attn_keep <= 0.0f && mask >= 0) w->opt.attn_keep = sbt_node_attr(w->g, mask)->constant.keep;
}

/* Q, K and V projections are counted over all w steps, every other Linear for one step;
 * a sparse layer's count is scaled by keep (its k non-zeros out of n). */
static void linear(const cost_walker *w, int id, sbt_cost_counts *c) {
    int wid = sbt_node_input(w->g, id, 1);
    const char *name = sbt_node_name(w->g, id);
    int64_t steps =
        ends_with(name, ".q") || ends_with(name, ".k") || ends_with(name, ".v") ? w->opt.window : 1;
    c->macs_dense += sbt_node_size(w->g, wid) * steps;
    c->macs_nonzero += cost_weight_nonzero(w, wid) * steps;
}

static void add_ops(sbt_cost_counts *c, int64_t ops) {
    c->macs_dense += ops;
    c->macs_nonzero += ops;
}

/* The attention formulas, counted once per layer at Q K^T (or the Step-T node). The w*d
 * term is the paper's query scaling. */
static void attention(const cost_walker *w, int id, sbt_cost_counts *c) {
    int q = sbt_node_input(w->g, id, 0);
    int64_t h = sbt_node_dim(w->g, q, 1), dh = sbt_node_dim(w->g, q, -1), d = h * dh, t = w->opt.window;
    sbt_op op = sbt_node_op(w->g, id);
    if (op == SBT_OP_STEP_T || op == SBT_OP_STEP_T_LAST) {
        add_ops(c, t * d + h * ((t - 1) * dh + t + (t - 1) * dh));
    } else if (find_generated(w->g, SBT_GEN_QKV_MASK) >= 0) {
        double p = w->opt.attn_keep;
        int64_t kept = (int64_t)floor(p * (double)t);
        add_ops(c, (int64_t)llround(p * (double)(t * d)) + 3 * t * d +
                       h * (kept * kept * dh + t * t + t * kept * dh));
    } else {
        add_ops(c, t * d + h * (t * t * dh + t * t + t * t * dh));
    }
}

void cost_paper_node(const cost_walker *w, int id, sbt_cost_counts *c) {
    switch (sbt_node_op(w->g, id)) {
    case SBT_OP_LINEAR: linear(w, id, c); break;
    case SBT_OP_MATMUL:
        if (sbt_node_ndim(w->g, id) == 4) { /* attention: its formula at Q K^T, nothing at A V */
            if (sbt_node_attr(w->g, id)->matmul.trans_b) attention(w, id, c);
        } else {
            int a = sbt_node_input(w->g, id, 0);
            add_ops(c, sbt_node_size(w->g, id) * sbt_node_dim(w->g, a, -1));
        }
        break;
    case SBT_OP_STEP_T:
    case SBT_OP_STEP_T_LAST: attention(w, id, c); break;
    case SBT_OP_LAYERNORM: add_ops(c, 2 * sbt_node_dim(w->g, id, -1) * w->opt.window); break;
    case SBT_OP_CONST: /* the sinusoidal position encoding: w * d */
        if (sbt_node_attr(w->g, id)->constant.gen == SBT_GEN_SINUSOIDAL) add_ops(c, sbt_node_size(w->g, id));
        break;
    default: break; /* BatchNorm and everything else: not counted by the paper's code */
    }
}
