/* What the cost walker's parts share: the graph, which nodes the output reads, each
 * parameter's role and each node's group. */
#ifndef SBT_COST_INTERNAL_H
#define SBT_COST_INTERNAL_H

#include "sbt/cost.h"

typedef enum {
    ROLE_NONE = 0,
    ROLE_WEIGHT,     /* float weight of a Linear */
    ROLE_TERNARY,    /* Linear weight whose rows hold {-a, 0, +a} */
    ROLE_SPARSE,     /* frozen W of a Biprop (sparse-binary) weight */
    ROLE_PRUNED,     /* frozen W of a pruned weight: float, k of n kept */
    ROLE_SCORES,     /* Biprop scores: choose the mask, not counted as parameters */
    ROLE_BIAS,       /* bias of a Linear */
    ROLE_NORM_SCALE, /* gamma */
    ROLE_NORM_SHIFT, /* beta */
    ROLE_OTHER       /* any other float parameter (learned position table, ...) */
} cost_role;

typedef struct {
    sbt_graph *g;
    int n;
    char *live;      /* 1 for nodes the output depends on */
    int *group;      /* group index of each node, -1 if none */
    cost_role *role; /* role of each parameter leaf (PARAM, or CONST holding weights) */
    int64_t *nnz;    /* real non-zeros of each leaf (-1 for not computed) */
    int has_sparse;  /* a sparse-binary or ternary weight is present */
    sbt_cost_options opt;
    sbt_cost *cost;
} cost_walker;

/* Adds the work of live node `id` under the exact / paper convention to `c`. */
void cost_exact_node(const cost_walker *w, int id, sbt_cost_counts *c);
void cost_paper_node(const cost_walker *w, int id, sbt_cost_counts *c);
/* Fills opt.window and opt.attn_keep from the graph where they are 0. */
void cost_paper_defaults(cost_walker *w);

/* Non-zeros of a Linear's weight input `wid` (a sparse-weight node: its k). */
int64_t cost_weight_nonzero(const cost_walker *w, int wid);
/* 1 for a sparse-weight node whose values are ternary (Biprop, binarise), 0 otherwise. */
int cost_is_ternary_op(const cost_walker *w, int wid);

#endif
