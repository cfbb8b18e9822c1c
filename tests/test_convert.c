/* Converting trained float models: Biprop, prune and binarize over stored weights,
 * scores that start as |W| (magnitude pruning first), global scope, prune then
 * binarize, a save/load round trip, training the scores, and the refusals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sbt/biprop.h"
#include "sbt/convert.h"
#include "sbt/data.h"
#include "sbt/model.h"
#include "sbt/rng.h"
#include "sbt/train.h"

static sbt_config dense_config(void) {
    sbt_config c = sbt_config_default(SBT_TASK_CLASSIFY);
    c.channels = 6;
    c.outputs = 4;
    c.max_len = 48;
    c.d_model = 16;
    c.heads = 2;
    c.layers = 2;
    c.d_ff = 32;
    c.seed = 4;
    return c;
}

/* A dense model whose weights look trained (random, not the init). */
static sbt_model *trained_dense(void) {
    sbt_config c = dense_config();
    sbt_model *m = NULL;
    if (sbt_model_new(&c, &m) != SBT_OK) return NULL;
    sbt_rng r;
    sbt_rng_seed(&r, 11);
    for (int i = 0; i < m->n_tensors; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        if (ti->kind == SBT_TENSOR_PARAM && strstr(ti->name, ".weight"))
            for (int64_t k = 0; k < ti->size; k++)
                m->values[ti->offset + k] = sbt_rng_uniform_range(&r, -1, 1);
    }
    return m;
}

/* The effective weight of Linear `layer` in a frozen copy of m's graph. */
static const float *frozen_weight(sbt_graph *frozen, const char *layer) {
    char name[160];
    snprintf(name, sizeof name, "%s.effective_weight", layer);
    int id = sbt_graph_find(frozen, name);
    return id >= 0 && sbt_node_op(frozen, id) == SBT_OP_CONST ? sbt_graph_value(frozen, id) : NULL;
}

static void test_biprop_over_stored_weights(void) {
    sbt_model *m = trained_dense();
    REQUIRE(m != NULL);
    int64_t n = sbt_model_tensor(m, "layer0.q.weight")->size;
    float *w = malloc((size_t)n * sizeof(float)), *mask = malloc((size_t)n * sizeof(float));
    int32_t *scratch = malloc((size_t)n * sizeof(int32_t));
    memcpy(w, sbt_model_data(m, "layer0.q.weight"), (size_t)n * sizeof(float));
    sbt_sparsify_options o = sbt_sparsify_defaults();
    int layers = 0;
    REQUIRE(sbt_model_sparsify(m, &o, &layers) == SBT_OK);
    CHECK(layers == 14); /* input, 6 per layer, head */
    CHECK(m->native == 0 && sbt_model_tensor(m, "layer0.q.weight")->kind == SBT_TENSOR_FROZEN);
    CHECK(sbt_model_tensor(m, "layer0.q.scores")->kind == SBT_TENSOR_PARAM);
    /* first top-k = magnitude pruning: the mask of |W|, alpha = mean |W| over it */
    sbt_biprop_select(w, n, sbt_biprop_keep_count(0.5f, n), mask, scratch);
    float alpha = sbt_biprop_alpha(w, mask, n);
    sbt_graph *frozen = NULL;
    REQUIRE(sbt_graph_freeze(m->graph, &frozen) == SBT_OK);
    const float *eff = frozen_weight(frozen, "layer0.q");
    REQUIRE(eff != NULL);
    int64_t kept = 0;
    for (int64_t k = 0; k < n; k++) {
        float want = mask[k] != 0.0f ? (w[k] > 0 ? alpha : -alpha) : 0.0f;
        CHECK(eff[k] == want);
        kept += eff[k] != 0.0f;
    }
    CHECK(kept == n / 2);
    sbt_graph_free(frozen);
    free(w);
    free(mask);
    free(scratch);
    sbt_model_free(m);
}

static void test_prune_then_binarize_keeps_mask(void) {
    sbt_model *m = trained_dense();
    REQUIRE(m != NULL);
    sbt_sparsify_options o = sbt_sparsify_defaults();
    o.mode = SBT_SPARSE_PRUNE;
    o.keep = 0.25f;
    REQUIRE(sbt_model_sparsify(m, &o, NULL) == SBT_OK);
    sbt_graph *pruned = NULL, *binarized = NULL;
    REQUIRE(sbt_graph_freeze(m->graph, &pruned) == SBT_OK);
    o.mode = SBT_SPARSE_BINARIZE;
    o.per_row_alpha = 1;
    int layers = 0;
    REQUIRE(sbt_model_sparsify(m, &o, &layers) == SBT_OK);
    CHECK(layers == 14);
    REQUIRE(sbt_graph_freeze(m->graph, &binarized) == SBT_OK);
    const float *p = frozen_weight(pruned, "layer1.ff1"), *b = frozen_weight(binarized, "layer1.ff1");
    REQUIRE(p && b);
    int64_t rows = 32, cols = 16, kept = 0;
    for (int64_t r = 0; r < rows; r++) {
        double sum = 0;
        int cnt = 0;
        for (int64_t c = 0; c < cols; c++)
            if (p[r * cols + c] != 0.0f) sum += fabs(p[r * cols + c]), cnt++;
        for (int64_t c = 0; c < cols; c++) {
            float pv = p[r * cols + c], want = pv == 0.0f ? 0.0f : (float)(pv > 0 ? sum / cnt : -sum / cnt);
            CHECK_NEAR(b[r * cols + c], want, 1e-6);
            kept += pv != 0.0f;
        }
    }
    CHECK(kept == 128); /* 0.25 of 512 */
    sbt_graph_free(pruned);
    sbt_graph_free(binarized);
    sbt_model_free(m);
}

static void test_global_scope(void) {
    sbt_model *m = trained_dense();
    REQUIRE(m != NULL);
    /* make layer1.ff2 large: a global threshold keeps more of it than of the others */
    float *w = sbt_model_data(m, "layer1.ff2.weight");
    for (int64_t k = 0; k < sbt_model_tensor(m, "layer1.ff2.weight")->size; k++) w[k] *= 10.0f;
    sbt_sparsify_options o = sbt_sparsify_defaults();
    o.mode = SBT_SPARSE_PRUNE;
    o.global = 1;
    o.keep = 0.1f;
    REQUIRE(sbt_model_sparsify(m, &o, NULL) == SBT_OK);
    sbt_graph *frozen = NULL;
    REQUIRE(sbt_graph_freeze(m->graph, &frozen) == SBT_OK);
    const float *big = frozen_weight(frozen, "layer1.ff2"), *small = frozen_weight(frozen, "layer0.q");
    int64_t kept_big = 0, kept_small = 0;
    for (int k = 0; k < 512; k++) kept_big += big[k] != 0.0f;
    for (int k = 0; k < 256; k++) kept_small += small[k] != 0.0f;
    CHECK(kept_big > 400 && kept_small < 10);
    sbt_graph_free(frozen);
    sbt_model_free(m);
}

static void test_round_trip_and_training(void) {
    sbt_model *m = trained_dense(), *back = NULL;
    REQUIRE(m != NULL);
    sbt_sparsify_options o = sbt_sparsify_defaults();
    o.layers = "layer*";
    int layers = 0;
    REQUIRE(sbt_model_sparsify(m, &o, &layers) == SBT_OK);
    CHECK(layers == 12); /* input and head left dense */
    CHECK(sbt_model_tensor(m, "head.weight")->kind == SBT_TENSOR_PARAM);
    char path[] = "/tmp/sbt-convert-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    REQUIRE(sbt_model_save(m, path) == SBT_OK);
    REQUIRE(sbt_model_load(path, &back) == SBT_OK);
    unlink(path);
    CHECK(back->native == 0 && sbt_model_tensor(back, "layer0.q.weight")->kind == SBT_TENSOR_FROZEN);
    sbt_synth_config sc = sbt_synth_default();
    sc.n_train = sc.n_test = 64;
    sbt_dataset *train = NULL, *test = NULL;
    REQUIRE(sbt_synth_classification(&sc, &train, &test) == SBT_OK);
    double acc_a, acc_b, loss_a, loss_b;
    REQUIRE(sbt_model_classify(m, test, NULL, &acc_a, &loss_a) == SBT_OK);
    REQUIRE(sbt_model_classify(back, test, NULL, &acc_b, &loss_b) == SBT_OK);
    CHECK(acc_a == acc_b && loss_a == loss_b);
    /* a converted native model keeps its symbolic length: series longer than its max_len run */
    sbt_model_graph longer;
    CHECK(sbt_model_graph_build_infer(back, 2, back->cfg.max_len + 13, &longer) == SBT_OK);
    sbt_model_graph_free(&longer);
    /* training moves the scores and never W */
    float w0 = sbt_model_data(back, "layer0.q.weight")[3], s0 = sbt_model_data(back, "layer0.q.scores")[3];
    sbt_train_config tc = sbt_train_config_default(SBT_TASK_CLASSIFY);
    tc.epochs = 2;
    tc.patience = 0;
    sbt_trainer *t = NULL;
    REQUIRE(sbt_trainer_new(back, &tc, &t) == SBT_OK);
    REQUIRE(sbt_trainer_fit(t, train, NULL, NULL, NULL, NULL) == SBT_OK);
    sbt_trainer_free(t);
    CHECK(sbt_model_data(back, "layer0.q.weight")[3] == w0);
    CHECK(sbt_model_data(back, "layer0.q.scores")[3] != s0);
    sbt_dataset_free(train);
    sbt_dataset_free(test);
    sbt_model_free(m);
    sbt_model_free(back);
}

static void test_refusals(void) {
    sbt_model *m = trained_dense();
    REQUIRE(m != NULL);
    sbt_sparsify_options o = sbt_sparsify_defaults();
    o.keep = 0.0f;
    CHECK(sbt_model_sparsify(m, &o, NULL) == SBT_ERR_ARG && strstr(sbt_last_error(), "keep"));
    o.keep = 1.5f;
    CHECK(sbt_model_sparsify(m, &o, NULL) == SBT_ERR_ARG);
    o.keep = 0.5f;
    o.layers = "nothing.*";
    CHECK(sbt_model_sparsify(m, &o, NULL) == SBT_ERR_ARG && strstr(sbt_last_error(), "no Linear layer"));
    CHECK(m->native == 1); /* unchanged */
    sbt_model_free(m);
    /* an SBT model's weights are frozen random signs: nothing trained to convert */
    sbt_config c = dense_config();
    c.weights = SBT_WEIGHTS_SBT;
    REQUIRE(sbt_model_new(&c, &m) == SBT_OK);
    o.layers = NULL;
    o.mode = SBT_SPARSE_PRUNE;
    CHECK(sbt_model_sparsify(m, &o, NULL) == SBT_ERR_ARG);
    sbt_model_free(m);
}

int main(void) {
    RUN(test_biprop_over_stored_weights);
    RUN(test_prune_then_binarize_keeps_mask);
    RUN(test_global_scope);
    RUN(test_round_trip_and_training);
    RUN(test_refusals);
    return check_summary();
}
