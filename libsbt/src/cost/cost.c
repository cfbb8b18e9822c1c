/* The cost walker: which nodes the output reads, their groups, the parameters and their
 * storage; the per-node operation counts live in cost_exact.c and cost_paper.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost/cost_internal.h"
#include "sbt/biprop.h"
#include "sbt/kernels.h"
#include "sbt/model.h"

const char *sbt_cost_convention_name(sbt_cost_convention c) {
    return c == SBT_COST_PAPER ? "paper" : "exact";
}

int sbt_cost_convention_parse(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "exact")) return SBT_COST_EXACT;
    if (!strcmp(name, "paper")) return SBT_COST_PAPER;
    return -1;
}

void sbt_cost_free(sbt_cost *c) {
    if (!c) return;
    free(c->groups);
    memset(c, 0, sizeof *c);
}

/* Nodes are appended in topological order, so one backward sweep marks every node the
 * output depends on. */
static void mark_live(cost_walker *w, int output) {
    w->live[output] = 1;
    for (int id = output; id >= 0; id--) {
        if (!w->live[id]) continue;
        for (int i = 0; i < sbt_node_input_count(w->g, id); i++) {
            int in = sbt_node_input(w->g, id, i);
            if (in >= 0) w->live[in] = 1;
        }
    }
}

static int find_or_add_group(cost_walker *w, const char *name, size_t len) {
    sbt_cost *c = w->cost;
    if (len > SBT_NAME_MAX) len = SBT_NAME_MAX;
    for (int i = 0; i < c->n_groups; i++)
        if (strlen(c->groups[i].name) == len && !strncmp(c->groups[i].name, name, len)) return i;
    int i = c->n_groups++;
    memcpy(c->groups[i].name, name, len);
    c->groups[i].name[len] = '\0';
    return i;
}

/* The graph names an unnamed node "<Op>_<id>" (graph.c); such a name says nothing about
 * the layer it belongs to. */
static int is_default_name(const sbt_graph *g, int id, const char *name) {
    char def[SBT_NAME_MAX + 1];
    snprintf(def, sizeof def, "%s_%d", sbt_op_name(sbt_node_op(g, id)), id);
    return !strcmp(name, def);
}

/* The group a node's own name gives ("layer0.q" -> "layer0"), or -1 if unnamed. A Linear
 * takes its weight's name: the head Linear is renamed "prediction", its weight is not. */
static int named_group(cost_walker *w, int id) {
    const char *name = sbt_node_name(w->g, id);
    if (sbt_node_op(w->g, id) == SBT_OP_LINEAR) {
        int wid = sbt_node_input(w->g, id, 1);
        const char *wn = sbt_node_name(w->g, wid);
        if (wn && *wn && !is_default_name(w->g, wid, wn)) name = wn;
    }
    if (!name || !*name || is_default_name(w->g, id, name)) return -1;
    const char *dot = strchr(name, '.');
    return find_or_add_group(w, name, dot ? (size_t)(dot - name) : strlen(name));
}

/* Unnamed nodes join the group of their latest input: in `x + attention(x)` that is the
 * attention of the current layer, not the previous layer's output. */
static void assign_groups(cost_walker *w) {
    for (int id = 0; id < w->n; id++) {
        w->group[id] = -1;
        if (!w->live[id]) continue;
        int gi = named_group(w, id), latest = -1;
        for (int i = 0; gi < 0 && i < sbt_node_input_count(w->g, id); i++) {
            int in = sbt_node_input(w->g, id, i);
            if (in > latest && w->group[in] >= 0) latest = in;
        }
        if (gi < 0 && latest >= 0) gi = w->group[latest];
        w->group[id] = gi >= 0 ? gi : find_or_add_group(w, "other", 5);
    }
}

/* A ternary matrix a float kernel would not recognise: every row in {-a, 0, +a}
 * (sbt_ternary_rows), at least two columns. */
static int is_ternary(const float *v, int64_t rows, int64_t cols) {
    return v && rows >= 1 && cols >= 2 && sbt_ternary_rows(v, rows, cols, NULL);
}

/* Leaves that hold parameters: trained PARAMs and CONSTs holding data (a frozen weight, a
 * stored float weight), not generated ones (positions, masks) nor state (statistics). */
static int is_param_leaf(const sbt_graph *g, int id) {
    sbt_op op = sbt_node_op(g, id);
    return op == SBT_OP_PARAM || (op == SBT_OP_CONST && sbt_node_attr(g, id)->constant.gen == SBT_GEN_NONE);
}

static void set_role(cost_walker *w, int id, cost_role role) {
    if (id >= 0 && is_param_leaf(w->g, id) && w->role[id] == ROLE_NONE) w->role[id] = role;
}

int cost_is_ternary_op(const cost_walker *w, int wid) {
    return sbt_node_op(w->g, wid) == SBT_OP_SPARSE_WEIGHT &&
           sbt_node_attr(w->g, wid)->sparse.mode != SBT_SPARSE_PRUNE;
}

static void assign_roles(cost_walker *w) {
    for (int id = 0; id < w->n; id++) {
        if (!w->live[id]) continue;
        int in0 = sbt_node_input(w->g, id, 0), in1 = sbt_node_input(w->g, id, 1),
            in2 = sbt_node_input(w->g, id, 2);
        switch (sbt_node_op(w->g, id)) {
        case SBT_OP_LINEAR: {
            const float *v = sbt_graph_value(w->g, in1);
            int64_t rows = sbt_node_dim(w->g, in1, 0), size = sbt_node_size(w->g, in1);
            set_role(w, in1, is_ternary(v, rows, rows ? size / rows : 0) ? ROLE_TERNARY : ROLE_WEIGHT);
            set_role(w, in2, ROLE_BIAS);
            break;
        }
        case SBT_OP_SPARSE_WEIGHT:
            set_role(w, in0, ROLE_SCORES);
            set_role(w, in1, cost_is_ternary_op(w, id) ? ROLE_SPARSE : ROLE_PRUNED);
            break;
        case SBT_OP_LAYERNORM:
        case SBT_OP_BATCHNORM:
            set_role(w, in1, ROLE_NORM_SCALE);
            set_role(w, in2, ROLE_NORM_SHIFT);
            break;
        default: break;
        }
    }
    for (int id = 0; id < w->n; id++) {
        if (w->live[id] && sbt_node_op(w->g, id) == SBT_OP_PARAM && w->role[id] == ROLE_NONE)
            w->role[id] = ROLE_OTHER; /* e.g. a learned position table */
        if (w->role[id] == ROLE_SPARSE || w->role[id] == ROLE_TERNARY) w->has_sparse = 1;
    }
}

static int64_t count_nonzero(const float *v, int64_t n) {
    int64_t k = 0;
    for (int64_t i = 0; v && i < n; i++) k += v[i] != 0.0f;
    return v ? k : n;
}

/* A sparse weight keeps k = round(keep * n) entries (Biprop, prune); binarising keeps
 * the non-zeros of W. */
int64_t cost_weight_nonzero(const cost_walker *w, int wid) {
    if (sbt_node_op(w->g, wid) == SBT_OP_SPARSE_WEIGHT) {
        const sbt_attr *a = sbt_node_attr(w->g, wid);
        int W = sbt_node_input(w->g, wid, 1);
        if (a->sparse.mode == SBT_SPARSE_BINARIZE)
            return W >= 0 && W < w->n && w->nnz[W] >= 0 ? w->nnz[W] : sbt_node_size(w->g, wid);
        return sbt_biprop_keep_count(a->sparse.keep, sbt_node_size(w->g, wid));
    }
    if (wid >= 0 && wid < w->n && w->nnz[wid] >= 0) return w->nnz[wid];
    return sbt_node_size(w->g, wid);
}

/* log2 of the binomial coefficient C(n, k): the bits of a k-of-n mask. */
static double log2_binomial(int64_t n, int64_t k) {
    return (lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1)) / log(2.0);
}

/* n * H(zero, plus, minus): a ternary matrix's entropy bound when its signs must be stored
 * too (scales, like alphas elsewhere, not counted). */
static double ternary_entropy_bits(const float *v, int64_t n) {
    int64_t pos = 0, neg = 0;
    for (int64_t i = 0; i < n; i++) pos += v[i] > 0.0f, neg += v[i] < 0.0f;
    double h = 0.0, counts[3] = {(double)(n - pos - neg), (double)pos, (double)neg};
    for (int i = 0; i < 3; i++)
        if (counts[i] > 0) h -= counts[i] * log2(counts[i] / (double)n);
    return h;
}

/* Storage of one parameter tensor under the paper's two rules (cost.h). */
static void add_param_bits(const cost_walker *w, int id, int64_t n, sbt_cost_counts *c) {
    cost_role r = w->role[id];
    c->bits_f32 += 32 * n;
    if (!w->has_sparse) {
        c->bits_paper += 32 * n;
        c->bits_entropy += 32.0 * (double)n;
        return;
    }
    if (r == ROLE_BIAS || r == ROLE_NORM_SHIFT) return;
    if (r == ROLE_PRUNED) { /* the kept floats, and where they are */
        c->bits_paper += 32 * w->nnz[id];
        c->bits_entropy += 32.0 * (double)w->nnz[id] + log2_binomial(n, w->nnz[id]);
        return;
    }
    if (r == ROLE_SPARSE || r == ROLE_TERNARY) {
        c->bits_paper += n;
        c->bits_entropy += r == ROLE_SPARSE ? log2_binomial(n, w->nnz[id])
                                            : ternary_entropy_bits(sbt_graph_value(w->g, id), n);
        return;
    }
    c->bits_paper += 32 * n;
    c->bits_entropy += 32.0 * (double)n;
}

static void count_param(cost_walker *w, int id, sbt_cost_counts *c) {
    cost_role r = w->role[id];
    if (r == ROLE_NONE || r == ROLE_SCORES) return;
    int64_t n = sbt_node_size(w->g, id);
    c->params += n;
    c->params_nonzero += w->nnz[id];
    if (r == ROLE_SPARSE || r == ROLE_TERNARY)
        c->params_ternary += n; /* a pruned weight stays float */
    else
        c->params_float += n;
    add_param_bits(w, id, n, c);
}

/* Non-zeros of every live parameter; a Biprop weight's W has k = round(keep * n). */
static void count_nonzeros(cost_walker *w) {
    for (int id = 0; id < w->n; id++) w->nnz[id] = -1;
    for (int id = 0; id < w->n; id++) {
        if (!w->live[id]) continue;
        if (is_param_leaf(w->g, id))
            w->nnz[id] = count_nonzero(sbt_graph_value(w->g, id), sbt_node_size(w->g, id));
    }
    for (int id = 0; id < w->n; id++) {
        if (!w->live[id] || sbt_node_op(w->g, id) != SBT_OP_SPARSE_WEIGHT) continue;
        int wid = sbt_node_input(w->g, id, 1);
        if (wid >= 0 && (w->role[wid] == ROLE_SPARSE || w->role[wid] == ROLE_PRUNED))
            w->nnz[wid] = cost_weight_nonzero(w, id);
    }
}

static void add_counts(sbt_cost_counts *to, const sbt_cost_counts *c) {
    to->params += c->params;
    to->params_nonzero += c->params_nonzero;
    to->params_float += c->params_float;
    to->params_ternary += c->params_ternary;
    to->bits_f32 += c->bits_f32;
    to->bits_paper += c->bits_paper;
    to->bits_entropy += c->bits_entropy;
    to->macs_dense += c->macs_dense;
    to->macs_nonzero += c->macs_nonzero;
    to->addsub += c->addsub;
    to->mults += c->mults;
    to->nonlinear += c->nonlinear;
}

static void walk(cost_walker *w) {
    sbt_cost *c = w->cost;
    for (int id = 0; id < w->n; id++) {
        if (!w->live[id]) continue;
        sbt_cost_counts node = {0};
        if (is_param_leaf(w->g, id)) count_param(w, id, &node);
        if (w->opt.convention == SBT_COST_PAPER)
            cost_paper_node(w, id, &node);
        else
            cost_exact_node(w, id, &node);
        add_counts(&c->groups[w->group[id]].counts, &node);
        add_counts(&c->total, &node);
    }
}

sbt_status sbt_cost_graph(sbt_graph *g, int output, const sbt_cost_options *opt, sbt_cost *out) {
    memset(out, 0, sizeof *out);
    int n = sbt_graph_count(g);
    if (output < 0 || output >= n) return sbt_fail(SBT_ERR_ARG, "cost: output node %d of %d", output, n);
    cost_walker w = {.g = g, .n = n, .cost = out, .opt = opt ? *opt : (sbt_cost_options){0}};
    w.live = calloc((size_t)n, 1);
    w.group = calloc((size_t)n, sizeof *w.group);
    w.role = calloc((size_t)n, sizeof *w.role);
    w.nnz = calloc((size_t)n, sizeof *w.nnz);
    out->groups = calloc((size_t)n + 1, sizeof *out->groups); /* at most one group per node, + "other" */
    sbt_status st = SBT_OK;
    if (!w.live || !w.group || !w.role || !w.nnz || !out->groups) {
        st = sbt_fail(SBT_ERR_NOMEM, "cost: out of memory");
    } else {
        out->convention = w.opt.convention;
        mark_live(&w, output);
        assign_groups(&w);
        assign_roles(&w);
        count_nonzeros(&w);
        cost_paper_defaults(&w);
        out->window = w.opt.window;
        walk(&w);
    }
    free(w.live);
    free(w.group);
    free(w.role);
    free(w.nnz);
    if (st) sbt_cost_free(out);
    return st;
}

sbt_status sbt_cost_model(sbt_model *m, int length, sbt_cost_convention convention, sbt_cost *out) {
    memset(out, 0, sizeof *out);
    if (length <= 0) length = m->cfg.max_len;
    /* The training graph: it runs the same per-window work as the frozen one (the walker
     * leaves out the sparse weights' top-k) and still knows which weights come from a
     * seed, which the entropy bound needs. */
    sbt_model_graph mg;
    sbt_status st = sbt_model_graph_build(m, 1, length, &mg);
    if (st) return st;
    sbt_cost_options opt = {.convention = convention, .window = length, .attn_keep = m->cfg.attn_keep};
    st = sbt_cost_graph(mg.graph, mg.output, &opt, out);
    sbt_model_graph_free(&mg);
    return st;
}
