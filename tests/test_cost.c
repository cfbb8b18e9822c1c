/* Cost accounting: hand-computed counts on small graphs, onnx-tool's Gemm/MatMul rule, and
 * the paper's own totals (derived from its code) for JapaneseVowels and SMD. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sbt/biprop.h"
#include "sbt/cost.h"
#include "sbt/model.h"

static const sbt_cost_options EXACT = {.convention = SBT_COST_EXACT};

static const sbt_cost_group *group(const sbt_cost *c, const char *name) {
    for (int i = 0; i < c->n_groups; i++)
        if (!strcmp(c->groups[i].name, name)) return &c->groups[i];
    return NULL;
}

/* y = x W^T + b with x (2, 3, 4), W (5, 4): onnx-tool counts volume(Y) x K + volume(Y) =
 * 30 x 4 + 30 MACs. A MatMul (2, 3, 4) @ (2, 4, 6): volume(Y) x K = 36 x 4. */
static void test_onnx_tool_rule(void) {
    float w[20], b[5], m[48];
    for (int i = 0; i < 20; i++) w[i] = (float)(i + 1);
    for (int i = 0; i < 5; i++) b[i] = 0.5f;
    for (int i = 0; i < 48; i++) m[i] = 1.0f;
    sbt_graph *g = sbt_graph_new();
    int x = sbt_input(g, "x", 3, (int64_t[]){2, 3, 4});
    int y = sbt_linear(g, x, sbt_param(g, "fc.weight", 2, (int64_t[]){5, 4}, w, NULL),
                       sbt_param(g, "fc.bias", 1, (int64_t[]){5}, b, NULL));
    sbt_graph_name(g, y, "fc");
    int mm = sbt_matmul(g, x, sbt_param(g, "mm.b", 3, (int64_t[]){2, 4, 6}, m, NULL), 0, 0);
    REQUIRE(sbt_graph_finalize(g) == SBT_OK);
    sbt_cost c;
    REQUIRE(sbt_cost_graph(g, y, &EXACT, &c) == SBT_OK);
    CHECK(c.total.macs_dense == 30 * 4 + 30);
    CHECK(c.total.macs_nonzero == 30 * 4 + 30);
    CHECK(sbt_cost_flops(&c.total) == 2 * 150);
    CHECK(c.total.params == 25 && c.total.params_nonzero == 25 && c.total.params_float == 25);
    CHECK(c.total.bits_paper == 25 * 32 && c.total.bits_f32 == 25 * 32);
    CHECK(c.n_groups == 2 && group(&c, "fc") && group(&c, "x"));
    sbt_cost_free(&c);
    REQUIRE(sbt_cost_graph(g, mm, &EXACT, &c) == SBT_OK);
    CHECK(c.total.macs_dense == 36 * 4);
    CHECK(c.total.params == 48); /* the linear is not read by mm: not counted */
    sbt_cost_free(&c);
    CHECK(sbt_cost_graph(g, 99, &EXACT, &c) == SBT_ERR_ARG);
    sbt_graph_free(g);
}

/* A Biprop weight (6, 10) at keep 0.3 (k = 18) over x (1, 4, 10), bias: non-zero MACs
 * 4 x 18 + 24, dense 24 x 10 + 24; the ternary path 4 x 18 + 24 addsub and 24 alpha mults.
 * A ternary PARAM weight counts its real non-zeros. Storage: 1 bit per sparse weight, bias
 * and scores not counted. */
static void test_sparse_and_ternary(void) {
    float scores[60], w[60], b[6], t[12] = {0.5f, 0, -0.5f, 0.5f, 0, 0, 2, -2, 0, 0, 0, 2};
    for (int i = 0; i < 60; i++) scores[i] = (float)((i * 37) % 60) - 30.0f, w[i] = i % 2 ? 0.1f : -0.1f;
    for (int i = 0; i < 6; i++) b[i] = 0.1f;
    sbt_graph *g = sbt_graph_new();
    int x = sbt_input(g, "x", 3, (int64_t[]){1, 4, 10});
    int eff = sbt_biprop_weight(g, sbt_param(g, "sp.scores", 2, (int64_t[]){6, 10}, scores, NULL),
                                sbt_param(g, "sp.weight", 2, (int64_t[]){6, 10}, w, NULL), 0.3f, 0);
    sbt_graph_name(g, eff, "sp.effective_weight");
    int y = sbt_linear(g, x, eff, sbt_param(g, "sp.bias", 1, (int64_t[]){6}, b, NULL));
    int z = sbt_linear(g, y, sbt_param(g, "tern.weight", 2, (int64_t[]){2, 6}, t, NULL), -1);
    REQUIRE(sbt_graph_finalize(g) == SBT_OK);
    sbt_cost c;
    REQUIRE(sbt_cost_graph(g, z, &EXACT, &c) == SBT_OK);
    int64_t k = sbt_biprop_keep_count(0.3f, 60);
    CHECK(k == 18);
    const sbt_cost_group *sp = group(&c, "sp"), *tern = group(&c, "tern");
    REQUIRE(sp && tern);
    CHECK(sp->counts.macs_dense == 24 * 10 + 24);
    CHECK(sp->counts.macs_nonzero == 4 * 18 + 24);
    CHECK(sp->counts.addsub == 4 * 18 + 24 && sp->counts.mults == 24);
    CHECK(sp->counts.params == 66 && sp->counts.params_nonzero == 18 + 6);
    CHECK(sp->counts.params_ternary == 60 && sp->counts.params_float == 6);
    CHECK(sp->counts.bits_paper == 60);
    CHECK(sp->counts.bits_f32 == 66 * 32);
    /* entropy bound of an 18-of-60 mask */
    double bound = (lgamma(61) - lgamma(19) - lgamma(43)) / log(2.0);
    CHECK_NEAR(sp->counts.bits_entropy, bound, 1e-6);
    CHECK(tern->counts.macs_dense == 4 * 2 * 6 && tern->counts.macs_nonzero == 4 * 6);
    CHECK(tern->counts.params_ternary == 12 && tern->counts.params_nonzero == 6 &&
          tern->counts.bits_paper == 12);
    CHECK(tern->counts.addsub == 4 * 6 && tern->counts.mults == 8);
    sbt_cost_free(&c);
    sbt_graph_free(g);
}

/* Softmax attention over (1, h 2, T 5, dh 3): Q K^T and A V are 2 x 25 x 3 MACs each;
 * softmax 36 per score; Step-T: the last query over 4 keys, 2 x (4 x 3) x 2 MACs. */
static void test_attention_counted(void) {
    float buf[30];
    for (int i = 0; i < 30; i++) buf[i] = 0.01f * (float)i;
    sbt_graph *g = sbt_graph_new();
    int64_t s[4] = {1, 2, 5, 3};
    int q = sbt_param(g, "q", 4, s, buf, NULL), k = sbt_param(g, "k", 4, s, buf, NULL),
        v = sbt_param(g, "v", 4, s, buf, NULL);
    int probs = sbt_softmax(g, sbt_matmul(g, q, k, 0, 1), -1);
    int ctx = sbt_matmul(g, probs, v, 0, 0);
    int st = sbt_step_t_attention(g, q, k, v, 0);
    REQUIRE(sbt_graph_finalize(g) == SBT_OK);
    sbt_cost c;
    REQUIRE(sbt_cost_graph(g, ctx, &EXACT, &c) == SBT_OK);
    CHECK(c.total.macs_dense == 2 * 25 * 3 + 2 * 5 * 3 * 5);
    CHECK(c.total.nonlinear == 50 * 36);
    sbt_cost_free(&c);
    REQUIRE(sbt_cost_graph(g, st, &EXACT, &c) == SBT_OK);
    CHECK(c.total.macs_dense == 2 * (4 * 3) * 2);
    CHECK(c.total.nonlinear == 2 * 4 * 36 && c.total.mults == 2 * 4);
    sbt_cost_free(&c);
    sbt_graph_free(g);
}

static sbt_model *model_of(sbt_config cfg) {
    sbt_model *m = NULL;
    if (sbt_model_new(&cfg, &m) != SBT_OK) fprintf(stderr, "model: %s\n", sbt_last_error());
    return m;
}

static sbt_config jv_config(sbt_weights weights) {
    sbt_config c = sbt_config_default(SBT_TASK_CLASSIFY);
    c.channels = 12, c.outputs = 9, c.max_len = 29, c.d_model = 32;
    c.weights = weights;
    if (weights == SBT_WEIGHTS_SBT) c.keep = 0.5f, c.attention = SBT_ATTN_QKV_MASK;
    return c;
}

/* JapaneseVowels (C 12, d 32, h 2, L 2, F 256, w 29, BatchNorm, 9 classes). The paper's
 * dense model has a learned position table of its code's default 1024 rows: 75,529
 * parameters; 326,532 FLOPs. SBT keep 0.5 with the Q/K/V mask: 45,728 bits (1 per
 * sparse weight plus 32 per BatchNorm gamma), 156,148 FLOPs. Counted before training. */
static void test_paper_japanese_vowels(void) {
    sbt_config dense = jv_config(SBT_WEIGHTS_DENSE);
    dense.pos = SBT_POS_LEARNED, dense.max_len = 1024;
    sbt_model *m = model_of(dense);
    REQUIRE(m);
    sbt_cost c;
    REQUIRE(sbt_cost_model(m, 29, SBT_COST_PAPER, &c) == SBT_OK);
    CHECK_MSG(c.total.params == 75529, "%lld", (long long)c.total.params);
    CHECK(c.total.bits_paper == 75529LL * 32);
    CHECK_MSG(c.total.macs_nonzero == 326532, "%lld", (long long)c.total.macs_nonzero);
    CHECK(c.total.macs_dense == 326532);
    CHECK(c.window == 29);
    sbt_cost_free(&c);
    sbt_model_free(m);

    m = model_of(jv_config(SBT_WEIGHTS_SBT));
    REQUIRE(m);
    REQUIRE(sbt_cost_model(m, 29, SBT_COST_PAPER, &c) == SBT_OK);
    CHECK_MSG(c.total.bits_paper == 45728, "%lld", (long long)c.total.bits_paper);
    CHECK_MSG(c.total.macs_nonzero == 156148, "%lld", (long long)c.total.macs_nonzero);
    CHECK(c.total.params_ternary == 41632);
    const sbt_cost_group *l0 = group(&c, "layer0"), *head = group(&c, "head");
    REQUIRE(l0 && head);
    CHECK(head->counts.bits_paper == 32 * 9);
    sbt_cost_free(&c);
    sbt_model_free(m);
}

/* SMD (C 38, d 76, h 2, L 2, F 256, w 200, last step predicted). SBT keep 0.25, Step-T, no
 * norm: 129,808 bits and 1,863,484 FLOPs. Dense (LayerNorm, full attention): 19,513,552
 * FLOPs; the paper's 132,794 parameters normalise over time (gamma and beta of w = 200
 * values per norm) where ours normalise over d = 76: 4 norms x 2 x (200 - 76) fewer. */
static void test_paper_smd(void) {
    sbt_config c0 = sbt_config_default(SBT_TASK_ANOMALY);
    c0.channels = c0.outputs = 38, c0.max_len = 200, c0.d_model = 76;
    sbt_config dense = c0, sbt = c0;
    dense.weights = SBT_WEIGHTS_DENSE, dense.norm = SBT_NORM_LAYER, dense.attention = SBT_ATTN_FULL;
    sbt.weights = SBT_WEIGHTS_SBT, sbt.keep = 0.25f, sbt.norm = SBT_NORM_NONE,
    sbt.attention = SBT_ATTN_STEP_T;
    sbt_model *m = model_of(dense);
    REQUIRE(m);
    sbt_cost c;
    REQUIRE(sbt_cost_model(m, 200, SBT_COST_PAPER, &c) == SBT_OK);
    CHECK_MSG(c.total.macs_nonzero == 19513552, "%lld", (long long)c.total.macs_nonzero);
    CHECK_MSG(c.total.params + 4 * 2 * (200 - 76) == 132794, "%lld", (long long)c.total.params);
    sbt_cost_free(&c);
    sbt_model_free(m);

    m = model_of(sbt);
    REQUIRE(m);
    REQUIRE(sbt_cost_model(m, 200, SBT_COST_PAPER, &c) == SBT_OK);
    CHECK_MSG(c.total.bits_paper == 129808, "%lld", (long long)c.total.bits_paper);
    CHECK_MSG(c.total.macs_nonzero == 1863484, "%lld", (long long)c.total.macs_nonzero);
    sbt_cost_free(&c);
    sbt_model_free(m);
}

/* A tiny trimmed Step-T forecaster (C 3, d 4, h 2, L 1, F 8, w 6, LayerNorm, sbt keep 0.5),
 * counted by hand under the exact convention: the one layer runs K, V over 6 steps and
 * everything else on the last step. */
static void test_exact_small_step_t(void) {
    sbt_config c = sbt_config_default(SBT_TASK_FORECAST);
    c.channels = c.outputs = 3, c.max_len = 6, c.d_model = 4, c.heads = 2, c.layers = 1, c.d_ff = 8;
    c.norm = SBT_NORM_LAYER, c.attention = SBT_ATTN_STEP_T, c.weights = SBT_WEIGHTS_SBT, c.keep = 0.5f;
    sbt_model *m = model_of(c);
    REQUIRE(m);
    sbt_cost cost;
    REQUIRE(sbt_cost_model(m, 6, SBT_COST_EXACT, &cost) == SBT_OK);
    /* k per layer: input 6 of 12, q/k/v/out 8 of 16, ff1 16 of 32, ff2 16 of 32, head 6 of 12 */
    int64_t linear_nz = 6 * 6 + 24                /* input over 6 steps + bias adds */
                        + 6 * 8 + 24 + 6 * 8 + 24 /* k, v over 6 steps */
                        + 8 + 4 + 8 + 4           /* q, out on the last step */
                        + 16 + 8 + 16 + 4         /* ff1, ff2 */
                        + 6 + 3;                  /* head */
    int64_t attn = 2 * 2 * (5 * 2);               /* 2 heads, 5 keys, dh 2: q.k and a.v */
    CHECK_MSG(cost.total.macs_nonzero == linear_nz + attn, "%lld vs %lld", (long long)cost.total.macs_nonzero,
              (long long)(linear_nz + attn));
    int64_t linear_dense =
        6 * 4 * 3 + 24 + 2 * (6 * 4 * 4 + 24) + 2 * (4 * 4 + 4) + 8 * 4 + 8 + 4 * 8 + 4 + 3 * 4 + 3;
    CHECK(cost.total.macs_dense == linear_dense + attn);
    /* input 12 + 4 (bias of d), q/k/v/out 4 x 20, ff1 40, ff2 36, two LayerNorms 16, head 15;
     * scores are not parameters of the sparse weight */
    CHECK_MSG(cost.total.params == 16 + 80 + 40 + 36 + 16 + 15, "%lld", (long long)cost.total.params);
    CHECK(cost.total.params_ternary == 12 + 4 * 16 + 2 * 32 + 12);
    CHECK(cost.n_groups == 5 && group(&cost, "input") && group(&cost, "pos") && group(&cost, "head"));
    char *table = sbt_cost_table(&cost);
    CHECK(table && strstr(table, "layer0") && strstr(table, "total") &&
          strstr(table, "multiply-accumulates"));
    free(table);
    char *json = sbt_cost_json(&cost);
    CHECK(json && strstr(json, "\"groups\"") && strstr(json, "\"name\":\"layer0\""));
    char expect[64];
    snprintf(expect, sizeof expect, "\"params\":%lld", (long long)cost.total.params);
    CHECK(json && strstr(json, expect));
    free(json);
    sbt_cost_free(&cost);
    sbt_model_free(m);
}

/* The training graph (sparse-weight nodes over scores and W) and the frozen inference graph
 * (ternary constants, prepared for the dense or a ternary kernel) of the same model count
 * the same parameters, storage and work. */
static void test_training_and_frozen_graphs_agree(void) {
    sbt_config c = jv_config(SBT_WEIGHTS_SBT);
    sbt_model *m = model_of(c);
    REQUIRE(m);
    for (int run = 0; run < 6; run++) {
        int conv = run % 2; /* each convention with each weight kernel of the frozen graph */
        m->kernel = (sbt_weight_kernel)(run / 2);
        sbt_model_graph frozen;
        REQUIRE(sbt_model_graph_build_infer(m, 1, 29, &frozen) == SBT_OK);
        sbt_cost_options opt = {.convention = (sbt_cost_convention)conv, .attn_keep = c.attn_keep};
        sbt_cost a, b;
        REQUIRE(sbt_cost_graph(frozen.graph, frozen.output, &opt, &a) == SBT_OK);
        REQUIRE(sbt_cost_model(m, 29, (sbt_cost_convention)conv, &b) == SBT_OK);
        CHECK(a.total.params == b.total.params && a.total.params_nonzero == b.total.params_nonzero);
        CHECK(a.total.params_ternary == b.total.params_ternary && a.total.bits_paper == b.total.bits_paper);
        CHECK_MSG(a.total.macs_nonzero == b.total.macs_nonzero, "%lld vs %lld",
                  (long long)a.total.macs_nonzero, (long long)b.total.macs_nonzero);
        CHECK(a.total.macs_dense == b.total.macs_dense && a.total.addsub == b.total.addsub);
        CHECK(a.total.mults == b.total.mults && a.total.nonlinear == b.total.nonlinear);
        /* signs stored (frozen constant) vs regenerated from the seed (mask only) */
        CHECK(a.total.bits_entropy > b.total.bits_entropy);
        sbt_cost_free(&a);
        sbt_cost_free(&b);
        sbt_model_graph_free(&frozen);
    }
    sbt_model_free(m);
}

int main(void) {
    RUN(test_onnx_tool_rule);
    RUN(test_sparse_and_ternary);
    RUN(test_attention_counted);
    RUN(test_paper_japanese_vowels);
    RUN(test_paper_smd);
    RUN(test_exact_small_step_t);
    RUN(test_training_and_frozen_graphs_agree);
    return check_summary();
}
