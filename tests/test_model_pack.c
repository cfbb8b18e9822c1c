/* test_model_pack.c - models through .sbt files (sbt/model_pack.h): for each task and each
 * mask encoding, the loaded model's outputs are bit-identical to the packed model's, the
 * file is smaller than the model file, and a mask that its layer's keep would not select
 * is refused. */
#include "check.h"
#include "sbt/model_pack.h"
#include "sbt/rng.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { BATCH = 3, LENGTH = 12 };

static sbt_config small_sbt_config(sbt_task task) {
    sbt_config cfg = sbt_config_default(task);
    cfg.channels = 5;
    cfg.outputs = task == SBT_TASK_CLASSIFY ? 4 : 5;
    cfg.max_len = LENGTH;
    cfg.d_model = 16;
    cfg.heads = 2;
    cfg.layers = 2;
    cfg.d_ff = 24;
    cfg.weights = SBT_WEIGHTS_SBT;
    cfg.keep = task == SBT_TASK_ANOMALY ? 0.1f : 0.25f;
    cfg.alpha_per_row = task == SBT_TASK_FORECAST;
    cfg.seed = 17 + (uint64_t)task;
    return cfg;
}

/* Outputs of the frozen forward-only graph on fixed random inputs (BATCH * outputs floats). */
static int infer(sbt_model *m, float *out) {
    sbt_model_graph mg;
    if (sbt_model_graph_build_infer(m, BATCH, LENGTH, &mg) != SBT_OK) return -1;
    sbt_rng r;
    sbt_rng_seed(&r, 99);
    float *x = sbt_graph_value(mg.graph, mg.x);
    for (int i = 0; i < BATCH * LENGTH * m->cfg.channels; i++) x[i] = sbt_rng_normal(&r);
    if (mg.step_mask >= 0)
        for (int i = 0; i < BATCH * LENGTH; i++) sbt_graph_value(mg.graph, mg.step_mask)[i] = 1.0f;
    if (mg.attn_mask >= 0) memset(sbt_graph_value(mg.graph, mg.attn_mask), 0, BATCH * LENGTH * sizeof(float));
    int bad = sbt_graph_forward(mg.graph, 0) != SBT_OK;
    memcpy(out, sbt_graph_value(mg.graph, mg.output), (size_t)(BATCH * m->cfg.outputs) * sizeof(float));
    sbt_model_graph_free(&mg);
    return bad ? -1 : 0;
}

/* Scores of every sparse layer are random: make them so, and far from ties. */
static void randomize_scores(sbt_model *m) {
    sbt_rng r;
    sbt_rng_seed(&r, 5);
    for (int i = 0; i < m->n_tensors; i++)
        if (sbt_model_sparse_scores(m, m->tensors[i].name, NULL, NULL))
            for (int64_t j = 0; j < m->tensors[i].size; j++)
                m->values[m->tensors[i].offset + j] = sbt_rng_normal(&r);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

static void check_task(sbt_task task) {
    sbt_config cfg = small_sbt_config(task);
    sbt_model *m = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    randomize_scores(m);
    float want[BATCH * 8], got[BATCH * 8];
    REQUIRE(infer(m, want) == 0);
    REQUIRE(sbt_model_save(m, "test_model_pack.sbtm") == SBT_OK);
    long sbtm_bytes = file_size("test_model_pack.sbtm");
    int n_sparse = 0;
    for (int i = 0; i < m->n_tensors; i++)
        n_sparse += sbt_model_sparse_scores(m, m->tensors[i].name, NULL, NULL);
    CHECK(n_sparse >= 7); /* input, q, k, v, out, ff1, ff2, ... */
    const sbt_model_pack_options opts[] = {
        {0, 0, 0}, /* the defaults: per layer the smaller exact mask encoding */
        {SBT_ENC_SEED_MASK_CODED, SBT_ENC_F32, 0},
        {SBT_ENC_SEED_MASK, SBT_ENC_F32, 0},
        {SBT_ENC_SEED_MASK_CODED, SBT_ENC_F32, SBT_PACK_ZLIB},
        {SBT_ENC_F32, SBT_ENC_F32, 0},
    };
    for (int k = 0; k < 5; k++) {
        REQUIRE(sbt_model_save_sbt(m, "test_model_pack.sbt", &opts[k]) == SBT_OK);
        long sbt_bytes = file_size("test_model_pack.sbt");
        sbt_model *back = NULL;
        REQUIRE(sbt_model_load_sbt("test_model_pack.sbt", &back) == SBT_OK);
        memset(got, 0, sizeof got);
        CHECK(infer(back, got) == 0);
        CHECK_MSG(!memcmp(want, got, (size_t)(BATCH * cfg.outputs) * sizeof(float)),
                  "task %d, option %d: outputs differ (%g vs %g)", (int)task, k, want[0], got[0]);
        CHECK(back->n_tensors == m->n_tensors && back->cfg.keep == m->cfg.keep);
        /* Every tensor but the scores (now a 0/1 mask) is the same, seeded W included. */
        for (int i = 0; i < m->n_tensors; i++) {
            const sbt_tensor_info *a = &m->tensors[i], *b = sbt_model_tensor(back, a->name);
            REQUIRE(b != NULL);
            if (sbt_model_sparse_scores(m, a->name, NULL, NULL) && opts[k].mask_encoding != SBT_ENC_F32)
                continue;
            CHECK(!memcmp(m->values + a->offset, back->values + b->offset, (size_t)a->size * sizeof(float)));
        }
        if (opts[k].mask_encoding != SBT_ENC_F32)
            CHECK_MSG(sbt_bytes * 4 < sbtm_bytes, "task %d: .sbt %ld bytes vs .sbtm %ld", (int)task,
                      sbt_bytes, sbtm_bytes);
        sbt_model_free(back);
    }
    /* f16 for the float tensors (only when asked): not exact, but close. */
    sbt_model_pack_options half = {0, SBT_ENC_F16, 0};
    sbt_model *back = NULL;
    REQUIRE(sbt_model_save_sbt(m, "test_model_pack.sbt", &half) == SBT_OK);
    REQUIRE(sbt_model_load_sbt("test_model_pack.sbt", &back) == SBT_OK);
    CHECK(infer(back, got) == 0);
    double worst = 0, scale = 0;
    for (int i = 0; i < BATCH * cfg.outputs; i++) {
        worst = fmax(worst, fabs((double)want[i] - got[i]));
        scale = fmax(scale, fabs((double)want[i]));
    }
    CHECK_MSG(worst <= 1e-2 * scale + 1e-3, "task %d: f16 outputs differ by %g (scale %g)", (int)task, worst,
              scale);
    sbt_model_free(back);
    sbt_model_free(m);
    unlink("test_model_pack.sbt");
    unlink("test_model_pack.sbtm");
}

static void test_classifier_round_trip(void) { check_task(SBT_TASK_CLASSIFY); }
static void test_forecaster_round_trip(void) { check_task(SBT_TASK_FORECAST); }
static void test_anomaly_round_trip(void) { check_task(SBT_TASK_ANOMALY); }

/* A mask with one kept entry too many is refused: its top-k would not give it back. */
static void test_mask_count_must_match_keep(void) {
    sbt_config cfg = small_sbt_config(SBT_TASK_CLASSIFY);
    sbt_model *m = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    sbt_packfile *pf = NULL, *bad = sbt_packfile_new();
    REQUIRE(sbt_model_pack(m, NULL, &pf) == SBT_OK);
    int changed = 0;
    for (int i = 0; i < sbt_packfile_count(pf); i++) {
        const sbt_pack_section *s = sbt_packfile_at(pf, i);
        if (sbt_encoding_kind(s->encoding) == SBT_ENC_KIND_MASK && !changed) {
            uint8_t *mask = malloc((size_t)s->count);
            float alpha[64];
            int per_row = 0;
            CHECK(sbt_packfile_mask(s, mask, alpha, &per_row) == SBT_OK);
            for (int64_t j = 0; j < s->count && !changed; j++)
                if (!mask[j]) mask[j] = 1, changed = 1;
            CHECK(sbt_packfile_add_mask(bad, s->name, s->encoding, s->ndim, s->shape, mask, alpha, per_row,
                                        0) == 0);
            free(mask);
        } else {
            CHECK(sbt_packfile_add(bad, s->name, s->encoding, s->ndim, s->shape, s->data, s->bytes, 0) ==
                  SBT_OK);
        }
    }
    sbt_model *back = NULL;
    CHECK(sbt_model_unpack(bad, "bad.sbt", &back) == SBT_ERR_FORMAT && back == NULL);
    CHECK(strstr(sbt_last_error(), "bad.sbt: section '") &&
          strstr(sbt_last_error(), "the layer's keep 0.25 selects"));
    CHECK(sbt_model_unpack(pf, "ok.sbt", &back) == SBT_OK);
    sbt_model_free(back);
    /* Options that would lose the model are refused. */
    sbt_packfile *none = NULL;
    sbt_model_pack_options t2 = {SBT_ENC_TERNARY2, SBT_ENC_F32, 0};
    CHECK(sbt_model_pack(m, &t2, &none) == SBT_ERR_ARG && none == NULL);
    CHECK(sbt_model_save_sbt(m, "no_such_dir/m.sbt", NULL) == SBT_ERR_IO);
    sbt_packfile_free(pf);
    sbt_packfile_free(bad);
    sbt_model_free(m);
}

int main(void) {
    RUN(test_classifier_round_trip);
    RUN(test_forecaster_round_trip);
    RUN(test_anomaly_round_trip);
    RUN(test_mask_count_must_match_keep);
    return check_summary();
}
