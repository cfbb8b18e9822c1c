/* Biprop: exact top-k selection with deterministic ties, alpha, the effective weight's
 * values, the straight-through rule, and storage as seed + scores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sbt/biprop.h"
#include "sbt/graph.h"
#include "sbt/model.h"
#include "sbt/rng.h"

static void test_keep_count(void) {
    CHECK(sbt_biprop_keep_count(0.5f, 10) == 5);
    CHECK(sbt_biprop_keep_count(0.25f, 10) == 3); /* 2.5 rounds away from zero */
    CHECK(sbt_biprop_keep_count(0.1f, 7) == 1);
    CHECK(sbt_biprop_keep_count(0.01f, 7) == 1); /* never an empty layer */
    CHECK(sbt_biprop_keep_count(1.0f, 7) == 7);
}

/* The k-th largest |s| by sorting: the reference for the quickselect. */
static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void test_select_matches_sort(void) {
    sbt_rng r;
    sbt_rng_seed(&r, 3);
    int64_t sizes[] = {1, 2, 7, 100, 1000, 4097};
    for (int si = 0; si < 6; si++) {
        int64_t n = sizes[si];
        float *s = malloc((size_t)n * sizeof(float)), *mask = malloc((size_t)n * sizeof(float));
        float *sorted = malloc((size_t)n * sizeof(float));
        int32_t *scratch = malloc((size_t)n * sizeof(int32_t));
        for (int64_t i = 0; i < n; i++) s[i] = sbt_rng_normal(&r);
        for (int64_t i = 0; i < n; i++) sorted[i] = fabsf(s[i]);
        qsort(sorted, (size_t)n, sizeof(float), cmp_desc);
        float keeps[] = {0.1f, 0.5f, 0.9f, 1.0f};
        for (int ki = 0; ki < 4; ki++) {
            int64_t k = sbt_biprop_keep_count(keeps[ki], n), count = 0, wrong = 0;
            sbt_biprop_select(s, n, k, mask, scratch);
            for (int64_t i = 0; i < n; i++) {
                count += mask[i] != 0.0f;
                /* kept entries are at least the k-th largest, dropped ones at most */
                if (mask[i] != 0.0f && fabsf(s[i]) < sorted[k - 1]) wrong++;
                if (mask[i] == 0.0f && fabsf(s[i]) > sorted[k - 1]) wrong++;
            }
            CHECK_MSG(count == k && wrong == 0, "n %lld keep %g: %lld kept, %lld misplaced", (long long)n,
                      keeps[ki], (long long)count, (long long)wrong);
        }
        free(s), free(mask), free(sorted), free(scratch);
    }
}

static void test_select_ties_by_index(void) {
    float s[8] = {1, -1, 1, 1, -1, 1, 1, 1}, mask[8];
    int32_t scratch[8];
    sbt_biprop_select(s, 8, 3, mask, scratch);
    const float want[8] = {1, 1, 1, 0, 0, 0, 0, 0};
    CHECK(memcmp(mask, want, sizeof want) == 0);
    float s2[6] = {0.5f, -2.0f, 0.5f, 2.0f, 0.1f, 0.5f}, mask2[6];
    sbt_biprop_select(s2, 6, 3, mask2, scratch);
    const float want2[6] = {1, 1, 0, 1, 0, 0}; /* |-2| and |2|, then the first 0.5 */
    CHECK(memcmp(mask2, want2, sizeof want2) == 0);
}

static void test_alpha(void) {
    float w[4] = {-0.5f, 0.25f, 1.0f, -2.0f}, mask[4] = {1, 0, 1, 0};
    CHECK_NEAR(sbt_biprop_alpha(w, mask, 4), 0.75, 1e-7);
    float none[4] = {0};
    CHECK(sbt_biprop_alpha(w, none, 4) == 0.0f);
}

/* Builds W_eff = biprop(S, W) -> y = x W_eff^T -> mse, and checks values and the rule. */
static void check_effective_weight(int per_row) {
    enum { OUT = 3, IN = 4, N = OUT * IN };
    float s[N], w[N], gs[N] = {0}, x[2 * IN], target[2 * OUT] = {0};
    sbt_rng r;
    sbt_rng_seed(&r, 17 + (uint64_t)per_row);
    for (int i = 0; i < N; i++) s[i] = sbt_rng_normal(&r), w[i] = sbt_rng_uniform_range(&r, -1, 1);
    for (int i = 0; i < 2 * IN; i++) x[i] = sbt_rng_normal(&r);
    sbt_graph *g = sbt_graph_new();
    int ps = sbt_param(g, "s", 2, (int64_t[]){OUT, IN}, s, gs);
    int pw = sbt_param(g, "w", 2, (int64_t[]){OUT, IN}, w, NULL);
    int weff = sbt_biprop_weight(g, ps, pw, 0.5f, per_row);
    int px = sbt_param(g, "x", 2, (int64_t[]){2, IN}, x, NULL);
    int pt = sbt_param(g, "t", 2, (int64_t[]){2, OUT}, target, NULL);
    int loss = sbt_mse(g, sbt_linear(g, px, weff, -1), pt);
    REQUIRE(sbt_graph_finalize(g) == SBT_OK);
    REQUIRE(sbt_graph_forward(g, 1) == SBT_OK);
    REQUIRE(sbt_graph_backward(g, loss) == SBT_OK);
    const float *we = sbt_graph_value(g, weff), *dwe = sbt_graph_grad(g, weff);
    float mask[N];
    int32_t scratch[N];
    sbt_biprop_select(s, N, 6, mask, scratch);
    int nonzero = 0;
    for (int row = 0; row < OUT; row++) {
        float alpha =
            per_row ? sbt_biprop_alpha(w + row * IN, mask + row * IN, IN) : sbt_biprop_alpha(w, mask, N);
        for (int c = 0; c < IN; c++) {
            int i = row * IN + c;
            float want = mask[i] != 0.0f ? (w[i] > 0 ? alpha : -alpha) : 0.0f;
            CHECK_NEAR(we[i], want, 1e-7);
            nonzero += we[i] != 0.0f;
            /* the straight-through rule: dS = dW_eff * W * sign(S), dropped entries too */
            float sign_s = s[i] > 0 ? 1.0f : s[i] < 0 ? -1.0f : 0.0f;
            CHECK_NEAR(gs[i], dwe[i] * w[i] * sign_s, 1e-7);
        }
    }
    CHECK(nonzero == 6);
    int moved = 0;
    for (int i = 0; i < N; i++) moved += gs[i] != 0.0f && mask[i] == 0.0f;
    CHECK(moved > 0); /* pruned scores still learn, or they could never come back */
    sbt_graph_free(g);
}

static void test_effective_weight_per_layer(void) { check_effective_weight(0); }
static void test_effective_weight_per_row(void) { check_effective_weight(1); }

/* A sparse-binary model file stores scores, not the frozen weights: they come back from
 * the seed bit-exactly, and the file is smaller than the dense model's. */
static void test_sbt_model_file_regenerates_weights(void) {
    sbt_config cfg = sbt_config_default(SBT_TASK_CLASSIFY);
    cfg.channels = 4, cfg.outputs = 3, cfg.max_len = 10, cfg.d_model = 16, cfg.d_ff = 32, cfg.seed = 9;
    cfg.weights = SBT_WEIGHTS_SBT;
    cfg.keep = 0.25f;
    sbt_model *m = NULL, *back = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    const sbt_tensor_info *w = sbt_model_tensor(m, "layer0.q.weight");
    REQUIRE(w && w->kind == SBT_TENSOR_FROZEN);
    CHECK(sbt_model_tensor(m, "layer0.q.scores")->kind == SBT_TENSOR_PARAM);
    CHECK(sbt_model_tensor(m, "layer0.q.bias")->kind == SBT_TENSOR_FROZEN);
    char dir[] = "/tmp/sbt_biprop_XXXXXX", path[64];
    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.sbtm", dir);
    REQUIRE(sbt_model_save(m, path) == SBT_OK);
    REQUIRE(sbt_model_load(path, &back) == SBT_OK);
    CHECK(memcmp(back->values, m->values, (size_t)m->n_values * sizeof(float)) == 0);
    CHECK(back->cfg.weights == SBT_WEIGHTS_SBT && back->cfg.keep == 0.25f);
    /* a different seed gives different frozen weights */
    cfg.seed = 10;
    sbt_model *other = NULL;
    REQUIRE(sbt_model_new(&cfg, &other) == SBT_OK);
    CHECK(memcmp(sbt_model_data(other, "layer0.q.weight"), sbt_model_data(m, "layer0.q.weight"),
                 (size_t)w->size * sizeof(float)) != 0);
    unlink(path);
    rmdir(dir);
    sbt_model_free(m);
    sbt_model_free(back);
    sbt_model_free(other);
}

int main(void) {
    RUN(test_keep_count);
    RUN(test_select_matches_sort);
    RUN(test_select_ties_by_index);
    RUN(test_alpha);
    RUN(test_effective_weight_per_layer);
    RUN(test_effective_weight_per_row);
    RUN(test_sbt_model_file_regenerates_weights);
    return check_summary();
}
