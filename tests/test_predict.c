/* The predictor (sbt/predict.h) against the evaluation path: the same logits for a
 * classification series, the same forecast as a window fed the way training feeds it
 * (sbt_forecast_relative_to_last), on sgemm and on the ternary kernels; and its refusals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sbt/data.h"
#include "sbt/forecast.h"
#include "sbt/model.h"
#include "sbt/predict.h"
#include "sbt/rng.h"

static sbt_config config(sbt_task task) {
    sbt_config c = sbt_config_default(task);
    c.channels = 4;
    c.outputs = task == SBT_TASK_CLASSIFY ? 3 : 4;
    c.max_len = 16;
    c.d_model = 8;
    c.heads = 2;
    c.layers = 2;
    c.d_ff = 16;
    c.seed = 2;
    c.weights = SBT_WEIGHTS_SBT;
    c.keep = 0.5f;
    return c;
}

static void random_fill(float *v, int n, uint64_t seed, float lo, float hi) {
    sbt_rng r;
    sbt_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) v[i] = sbt_rng_uniform_range(&r, lo, hi);
}

static void test_classify_matches_evaluation(void) {
    sbt_config cfg = config(SBT_TASK_CLASSIFY);
    sbt_model *m = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    random_fill(sbt_model_data(m, "data.mean"), 4, 1, -1, 1);
    random_fill(sbt_model_data(m, "data.std"), 4, 2, 0.5f, 2);
    sbt_dataset *ds = NULL;
    REQUIRE(sbt_dataset_new(1, 4, 11, 3, &ds) == SBT_OK);
    random_fill(ds->x, 44, 3, -3, 3);
    ds->len[0] = 11;
    ds->y[0] = 0;
    sbt_model_graph mg;
    REQUIRE(sbt_model_graph_build_infer(m, 1, 11, &mg) == SBT_OK);
    REQUIRE(sbt_model_graph_load(&mg, ds, (int[]){0}, 1) == SBT_OK);
    REQUIRE(sbt_graph_forward_until(mg.graph, 0, mg.output) == SBT_OK);
    const float *want = sbt_graph_value(mg.graph, mg.output);
    for (int k = 0; k < 2; k++) {
        sbt_predictor *p = NULL;
        sbt_predict_options o = {.kernel = k ? SBT_KERNEL_TERNARY_F32 : SBT_KERNEL_DENSE};
        REQUIRE(sbt_predictor_new(m, &o, &p) == SBT_OK);
        CHECK(sbt_predictor_length(p) == 16 && sbt_predictor_outputs(p) == 3);
        float got[3];
        REQUIRE(sbt_predict(p, ds->x, 11, got) == SBT_OK); /* padded to 16 and masked */
        for (int c = 0; c < 3; c++) CHECK_NEAR(got[c], want[c], 1e-4 * (1 + fabs(want[c])));
        sbt_predictor_free(p);
    }
    sbt_model_graph_free(&mg);
    sbt_dataset_free(ds);
    sbt_model_free(m);
}

/* A forecast the way training feeds a window: z-score, the target row zeroed, relative to
 * the last observed step; the prediction moved back. */
static void test_forecast_matches_training_frame(void) {
    sbt_config cfg = config(SBT_TASK_FORECAST);
    sbt_model *m = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    float *mean = sbt_model_data(m, "data.mean"), *std = sbt_model_data(m, "data.std");
    random_fill(mean, 4, 5, -1, 1);
    random_fill(std, 4, 6, 0.5f, 2);
    enum { W = 16, C = 4 };
    float raw[(W - 1) * C], x[W * C], y[C];
    random_fill(raw, (W - 1) * C, 7, -2, 2);
    for (int t = 0; t < W - 1; t++)
        for (int c = 0; c < C; c++) x[t * C + c] = (raw[t * C + c] - mean[c]) / std[c];
    memset(x + (W - 1) * C, 0, sizeof(float) * C);
    float last[C];
    memcpy(last, x + (W - 2) * C, sizeof last);
    sbt_forecast_relative_to_last(x, NULL, 1, W, C);
    sbt_model_graph mg;
    REQUIRE(sbt_model_graph_build_infer(m, 1, W, &mg) == SBT_OK);
    memcpy(sbt_graph_value(mg.graph, mg.x), x, sizeof x);
    REQUIRE(sbt_graph_forward_until(mg.graph, 0, mg.output) == SBT_OK);
    for (int c = 0; c < C; c++) y[c] = (sbt_graph_value(mg.graph, mg.output)[c] + last[c]) * std[c] + mean[c];
    sbt_predictor *p = NULL;
    sbt_predict_options o = {.kernel = SBT_KERNEL_DENSE};
    REQUIRE(sbt_predictor_new(m, &o, &p) == SBT_OK);
    float got[C];
    REQUIRE(sbt_predict(p, raw, W - 1, got) == SBT_OK);
    for (int c = 0; c < C; c++) CHECK_NEAR(got[c], y[c], 1e-5 * (1 + fabs(y[c])));
    /* refusals: a window of the wrong length, a NaN */
    CHECK(sbt_predict(p, raw, W, got) == SBT_ERR_ARG && strstr(sbt_last_error(), "15"));
    raw[5] = NAN;
    CHECK(sbt_predict(p, raw, W - 1, got) == SBT_ERR_ARG && strstr(sbt_last_error(), "not finite"));
    sbt_predictor_free(p);
    sbt_model_graph_free(&mg);
    sbt_model_free(m);
}

int main(void) {
    RUN(test_classify_matches_evaluation);
    RUN(test_forecast_matches_training_frame);
    return check_summary();
}
