/* The encoder: padding has no effect, save/load round trip, corrupt files, and the
 * golden test against PyTorch (tests/golden/torch_encoder.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sbt/model.h"
#include "sbt/rng.h"

static sbt_config small_config(sbt_norm norm, sbt_posenc pos) {
    sbt_config c = sbt_config_default(SBT_TASK_CLASSIFY);
    c.channels = 3;
    c.outputs = 4;
    c.max_len = 16;
    c.d_model = 8;
    c.heads = 2;
    c.layers = 2;
    c.d_ff = 16;
    c.norm = norm;
    c.pos = pos;
    c.seed = 5;
    return c;
}

/* Two cases of lengths 6 and 10, random values, garbage in the padding. */
static sbt_dataset *two_cases(int length) {
    sbt_dataset *ds = NULL;
    if (sbt_dataset_new(2, 3, length, 4, &ds)) return NULL;
    sbt_rng r;
    sbt_rng_seed(&r, 8);
    ds->len[0] = 6;
    ds->len[1] = 10;
    ds->y[0] = 1;
    ds->y[1] = 3;
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < length; t++)
            for (int c = 0; c < 3; c++) {
                float v = sbt_rng_uniform_range(&r, -1, 1);
                ds->x[(i * length + t) * 3 + c] = t < ds->len[i] ? v : 1e3f; /* padding garbage */
            }
    return ds;
}

/* Copies the two cases' real steps into a dataset padded to `length`. */
static sbt_dataset *repad(const sbt_dataset *src, int length) {
    sbt_dataset *ds = NULL;
    if (sbt_dataset_new(2, 3, length, 4, &ds)) return NULL;
    for (int i = 0; i < 2; i++) {
        ds->len[i] = src->len[i];
        ds->y[i] = src->y[i];
        memcpy(ds->x + i * length * 3, src->x + i * src->length * 3, (size_t)src->len[i] * 3 * sizeof(float));
        for (int t = src->len[i]; t < length; t++) ds->x[(i * length + t) * 3] = -77.0f;
    }
    return ds;
}

/* Loss, logits and every gradient of one training-mode step. */
static void step_outputs(sbt_model *m, const sbt_dataset *ds, float *logits, float *loss, float *grads) {
    sbt_model_graph mg;
    memset(m->grads, 0, (size_t)m->n_values * sizeof(float));
    float saved[4096];
    memcpy(saved, m->values, (size_t)m->n_values * sizeof(float)); /* running stats change */
    if (sbt_model_graph_build(m, 2, ds->length, &mg)) return;
    sbt_model_graph_load(&mg, ds, (int[]){0, 1}, 2);
    sbt_graph_forward(mg.graph, 1);
    sbt_graph_backward(mg.graph, mg.loss);
    memcpy(logits, sbt_graph_value(mg.graph, mg.output), 8 * sizeof(float));
    *loss = sbt_graph_value(mg.graph, mg.loss)[0];
    memcpy(grads, m->grads, (size_t)m->n_values * sizeof(float));
    memcpy(m->values, saved, (size_t)m->n_values * sizeof(float));
    sbt_model_graph_free(&mg);
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double d = 0.0;
    for (int64_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

/* max |a - b| / max(max |b|, floor): a relative error per tensor. The floor matters for
 * tensors whose exact gradient is zero (the K bias: softmax ignores a constant shift;
 * biases in front of BatchNorm): there float32 leaves round-off of order 1e-9, so they
 * are compared on the scale of the whole model's gradients (floor = 1e-3 * the largest
 * reference gradient) instead of their own. */
static double rel_error(const float *a, const float *b, int64_t n, double floor) {
    double num = 0.0, den = floor > 1e-12 ? floor : 1e-12;
    for (int64_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs((double)b[i]));
    }
    return num / den;
}

/* Padded steps (whatever their values, however many) change neither outputs nor
 * gradients, in training mode (BatchNorm statistics) and in eval mode. */
static void test_padding_has_no_effect(void) {
    sbt_norm norms[] = {SBT_NORM_BATCH, SBT_NORM_LAYER};
    for (int k = 0; k < 2; k++) {
        sbt_config cfg = small_config(norms[k], SBT_POS_SINUSOIDAL);
        sbt_model *m = NULL;
        REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
        REQUIRE(m->n_values <= 4096);
        sbt_dataset *a = two_cases(10), *b = repad(a, 16);
        REQUIRE(a && b);
        float la[8], lb[8], lossa = 0, lossb = 0, *ga = calloc(4096, 4), *gb = calloc(4096, 4);
        step_outputs(m, a, la, &lossa, ga);
        step_outputs(m, b, lb, &lossb, gb);
        CHECK_MSG(max_abs_diff(la, lb, 8) < 1e-5, "logits differ by %g", max_abs_diff(la, lb, 8));
        CHECK_NEAR(lossa, lossb, 1e-5);
        CHECK_MSG(max_abs_diff(ga, gb, m->n_values) < 1e-5, "grads differ by %g",
                  max_abs_diff(ga, gb, m->n_values));
        double acc_a, acc_b, loss_a, loss_b;
        CHECK(sbt_model_classify(m, a, NULL, &acc_a, &loss_a) == SBT_OK);
        CHECK(sbt_model_classify(m, b, NULL, &acc_b, &loss_b) == SBT_OK);
        CHECK_NEAR(loss_a, loss_b, 1e-5);
        /* Polarity check: un-padding (calling the garbage real) must change the output. */
        b->len[0] = 16;
        CHECK(sbt_model_classify(m, b, NULL, &acc_b, &loss_b) == SBT_OK);
        CHECK(fabs(loss_a - loss_b) > 1e-3);
        free(ga);
        free(gb);
        sbt_dataset_free(a);
        sbt_dataset_free(b);
        sbt_model_free(m);
    }
}

/* The config's text form keeps every field, and a file written before a field existed
 * (its key missing) reads as that field's old behaviour. */
static void test_config_text(void) {
    sbt_config cfg = sbt_config_default(SBT_TASK_FORECAST), back;
    cfg.channels = cfg.outputs = 7;
    cfg.max_len = 96;
    CHECK(cfg.window_norm == SBT_WINDOW_LAST);
    char text[1024];
    REQUIRE(sbt_config_to_text(&cfg, text, sizeof text) == SBT_OK);
    REQUIRE(sbt_config_from_text(text, "t", &back) == SBT_OK);
    CHECK(memcmp(&cfg, &back, sizeof cfg) == 0);
    char *key = strstr(text, "window_norm=last\n");
    REQUIRE(key);
    memmove(key, key + strlen("window_norm=last\n"), strlen(key + strlen("window_norm=last\n")) + 1);
    REQUIRE(sbt_config_from_text(text, "t", &back) == SBT_OK);
    CHECK(back.window_norm == SBT_WINDOW_NONE);
    CHECK(sbt_config_from_text("task=forecast\nwindow_norm=mean\n", "t", &back) == SBT_ERR_FORMAT);
    CHECK(strstr(sbt_last_error(), "window_norm") != NULL);
}

static void test_save_load_round_trip(void) {
    sbt_config cfg = small_config(SBT_NORM_BATCH, SBT_POS_LEARNED);
    sbt_model *m = NULL, *back = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    char *names[] = {"a", "b", "c", "d"};
    REQUIRE(sbt_model_set_class_names(m, names, 4) == SBT_OK);
    char dir[] = "/tmp/sbt_model_XXXXXX", path[64];
    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.sbtm", dir);
    REQUIRE(sbt_model_save(m, path) == SBT_OK);
    REQUIRE(sbt_model_load(path, &back) == SBT_OK);
    CHECK(back->n_values == m->n_values);
    CHECK(memcmp(back->values, m->values, (size_t)m->n_values * sizeof(float)) == 0);
    CHECK(back->cfg.pos == SBT_POS_LEARNED && back->cfg.d_ff == 16 && back->cfg.seed == 5);
    CHECK(back->cfg.window_norm == SBT_WINDOW_NONE);
    CHECK(back->class_names && !strcmp(back->class_names[3], "d"));
    /* A corrupt file: one byte changed in the middle. */
    FILE *f = fopen(path, "r+b");
    REQUIRE(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size / 2, SEEK_SET);
    int c = fgetc(f);
    fseek(f, size / 2, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
    sbt_model *bad = NULL;
    CHECK(sbt_model_load(path, &bad) == SBT_ERR_FORMAT);
    CHECK(bad == NULL);
    CHECK(strstr(sbt_last_error(), "m.sbtm") != NULL);
    unlink(path);
    rmdir(dir);
    sbt_model_free(m);
    sbt_model_free(back);
}

/* ---- last-layer trimming (forecast and anomaly graphs) ---- */

enum { TRIM_BATCH = 3, TRIM_LEN = 12 };

/* What one training step of a graph gives: prediction, loss, every gradient, and the
 * graph's size. */
typedef struct {
    float out[TRIM_BATCH * 3], loss, *grads;
    int nodes, trimmed;
    size_t arena;
} step_result;

static sbt_config trim_config(sbt_task task, sbt_norm norm, sbt_weights weights, sbt_attention attention,
                              int include_last) {
    sbt_config c = small_config(norm, SBT_POS_SINUSOIDAL);
    c.task = task;
    c.outputs = c.channels;
    c.weights = weights;
    c.keep = weights == SBT_WEIGHTS_SBT ? 0.5f : 1.0f;
    c.attention = attention;
    c.attn_include_last = include_last;
    return c;
}

/* Random windows and targets (seeded, so both graphs see the same batch), one
 * training-mode forward and backward. */
static sbt_status run_step(sbt_model *m, int untrimmed, step_result *res) {
    sbt_model_graph mg;
    sbt_status st = untrimmed ? sbt_model_graph_build_untrimmed(m, TRIM_BATCH, TRIM_LEN, &mg)
                              : sbt_model_graph_build(m, TRIM_BATCH, TRIM_LEN, &mg);
    if (st) return st;
    sbt_rng r;
    sbt_rng_seed(&r, 77);
    float *x = sbt_graph_value(mg.graph, mg.x), *y = sbt_graph_value(mg.graph, mg.target);
    for (int i = 0; i < TRIM_BATCH * TRIM_LEN * 3; i++) x[i] = sbt_rng_uniform_range(&r, -2, 2);
    for (int i = 0; i < TRIM_BATCH * 3; i++) y[i] = sbt_rng_uniform_range(&r, -1, 1);
    for (int i = 0; i < TRIM_BATCH * TRIM_LEN; i++) {
        sbt_graph_value(mg.graph, mg.step_mask)[i] = 1.0f;
        sbt_graph_value(mg.graph, mg.attn_mask)[i] = 0.0f;
    }
    memset(m->grads, 0, (size_t)m->n_values * sizeof(float));
    st = sbt_graph_forward(mg.graph, 1);
    if (!st) st = sbt_graph_backward(mg.graph, mg.loss);
    memcpy(res->out, sbt_graph_value(mg.graph, mg.output), sizeof res->out);
    res->loss = sbt_graph_value(mg.graph, mg.loss)[0];
    memcpy(res->grads, m->grads, (size_t)m->n_values * sizeof(float));
    res->nodes = sbt_graph_count(mg.graph);
    res->arena = sbt_graph_arena_bytes(mg.graph);
    res->trimmed = mg.trimmed;
    sbt_model_graph_free(&mg);
    return st;
}

/* The trimmed graph against the untrimmed one: the same prediction, loss and gradient of
 * every trained tensor (Biprop scores included) up to float rounding. Returns whether
 * the default build trimmed. */
static int compare_trimmed(const sbt_config *cfg, const char *what) {
    sbt_model *m = NULL;
    if (sbt_model_new(cfg, &m) != SBT_OK) {
        CHECK_MSG(0, "%s: %s", what, sbt_last_error());
        return 0;
    }
    step_result full = {.grads = calloc((size_t)m->n_values, sizeof(float))},
                trim = {.grads = calloc((size_t)m->n_values, sizeof(float))};
    CHECK(run_step(m, 1, &full) == SBT_OK);
    CHECK(run_step(m, 0, &trim) == SBT_OK);
    CHECK(!full.trimmed);
    CHECK_MSG(rel_error(trim.out, full.out, TRIM_BATCH * 3, 0) < 1e-5, "%s: prediction rel error %g", what,
              rel_error(trim.out, full.out, TRIM_BATCH * 3, 0));
    CHECK_MSG(rel_error(&trim.loss, &full.loss, 1, 0) < 1e-5, "%s: loss %g vs %g", what, trim.loss,
              full.loss);
    double largest = 0.0;
    for (int64_t i = 0; i < m->n_values; i++) largest = fmax(largest, fabs(full.grads[i]));
    CHECK_MSG(largest > 0.0, "%s: no gradient", what);
    int compared = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        if (ti->kind != SBT_TENSOR_PARAM) continue;
        /* the floor (see rel_error): the K bias's exact gradient is zero, and what the two
         * graphs give for it is round-off of up to ~1e-8 of the largest gradient */
        double e = rel_error(trim.grads + ti->offset, full.grads + ti->offset, ti->size, 1e-2 * largest);
        CHECK_MSG(e < 1e-5, "%s: %s gradient rel error %g", what, ti->name, e);
        compared++;
    }
    CHECK(compared >= 14); /* SBT without norms: the scores of 14 linear layers */
    /* the nodes are as many (a slice moves into the last layer); their buffers shrink */
    if (trim.trimmed)
        CHECK_MSG(trim.arena < full.arena, "%s: arena %zu vs %zu bytes", what, trim.arena, full.arena);
    else
        CHECK(trim.nodes == full.nodes && trim.arena == full.arena);
    free(full.grads);
    free(trim.grads);
    sbt_model_free(m);
    return trim.trimmed;
}

/* Step-T's last layer: LayerNorm and no norm, dense and SBT, both include_last
 * conventions; forecast and anomaly. */
static void test_trimmed_step_t_matches_untrimmed(void) {
    sbt_norm norms[] = {SBT_NORM_LAYER, SBT_NORM_NONE};
    sbt_weights weights[] = {SBT_WEIGHTS_DENSE, SBT_WEIGHTS_SBT};
    for (int n = 0; n < 2; n++)
        for (int w = 0; w < 2; w++)
            for (int incl = 0; incl < 2; incl++) {
                char what[96];
                snprintf(what, sizeof what, "step-t norm %s %s include_last %d", sbt_norm_name(norms[n]),
                         sbt_weights_name(weights[w]), incl);
                sbt_config c = trim_config(SBT_TASK_FORECAST, norms[n], weights[w], SBT_ATTN_STEP_T, incl);
                CHECK_MSG(compare_trimmed(&c, what), "%s: not trimmed", what);
            }
    sbt_config c = trim_config(SBT_TASK_ANOMALY, SBT_NORM_LAYER, SBT_WEIGHTS_SBT, SBT_ATTN_STEP_T, 0);
    CHECK_MSG(compare_trimmed(&c, "anomaly"), "anomaly: not trimmed");
}

/* `self` attention (every layer on the last step), and what must not be trimmed:
 * BatchNorm (statistics over all steps), full attention, classification. The untrimmed
 * graph is built then, and both builds agree trivially. */
static void test_trim_only_when_exact(void) {
    sbt_config c = trim_config(SBT_TASK_FORECAST, SBT_NORM_LAYER, SBT_WEIGHTS_SBT, SBT_ATTN_SELF, 0);
    CHECK_MSG(compare_trimmed(&c, "self"), "self: not trimmed");
    c = trim_config(SBT_TASK_FORECAST, SBT_NORM_BATCH, SBT_WEIGHTS_DENSE, SBT_ATTN_STEP_T, 0);
    CHECK_MSG(!compare_trimmed(&c, "batchnorm"), "batchnorm: trimmed");
    c = trim_config(SBT_TASK_FORECAST, SBT_NORM_LAYER, SBT_WEIGHTS_DENSE, SBT_ATTN_FULL, 0);
    CHECK_MSG(!compare_trimmed(&c, "full attention"), "full attention: trimmed");
    c = small_config(SBT_NORM_LAYER, SBT_POS_SINUSOIDAL);
    sbt_model *m = NULL;
    sbt_model_graph mg;
    REQUIRE(sbt_model_new(&c, &m) == SBT_OK);
    REQUIRE(sbt_model_graph_build(m, 2, 10, &mg) == SBT_OK);
    CHECK(!mg.trimmed);
    sbt_model_graph_free(&mg);
    sbt_model_free(m);
}

/* ---- golden test against PyTorch ---- */

static void write_tensor(const char *dir, FILE *manifest, const char *name, const float *data, int ndim,
                         const int64_t *shape) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.f32", dir, name);
    FILE *f = fopen(path, "wb");
    int64_t n = sbt_shape_numel(ndim, shape);
    if (f) {
        fwrite(data, sizeof(float), (size_t)n, f);
        fclose(f);
    }
    fprintf(manifest, "%s", name);
    for (int i = 0; i < ndim; i++) fprintf(manifest, " %lld", (long long)shape[i]);
    fprintf(manifest, "\n");
}

static float *read_tensor(const char *dir, const char *name, int64_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/out/%s.f32", dir, name);
    FILE *f = fopen(path, "rb");
    float *data = malloc((size_t)n * sizeof(float));
    if (!f || fread(data, sizeof(float), (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    if (f) fclose(f);
    return data;
}

static void write_golden_inputs(const char *dir, sbt_model *m, const sbt_dataset *ds) {
    char path[512];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *man = fopen(path, "w");
    for (int i = 0; i < m->n_tensors; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        write_tensor(dir, man, ti->name, m->values + ti->offset, ti->ndim, ti->shape);
    }
    float lengths[2] = {(float)ds->len[0], (float)ds->len[1]}, labels[2] = {(float)ds->y[0], (float)ds->y[1]};
    write_tensor(dir, man, "batch.x", ds->x, 3, (int64_t[]){2, ds->length, ds->channels});
    write_tensor(dir, man, "batch.lengths", lengths, 1, (int64_t[]){2});
    if (m->cfg.attention == SBT_ATTN_QKV_MASK) {
        const char *names[3] = {"attn.q_mask", "attn.k_mask", "attn.v_mask"};
        float mask[16 * 64];
        for (int i = 0; i < 3; i++) {
            sbt_model_qkv_mask(&m->cfg, i, ds->length, mask);
            write_tensor(dir, man, names[i], mask, 2, (int64_t[]){ds->length, m->cfg.d_model});
        }
    }
    write_tensor(dir, man, "batch.labels", labels, 1, (int64_t[]){2});
    fclose(man);
    char text[1024];
    sbt_config_to_text(&m->cfg, text, sizeof text);
    snprintf(path, sizeof path, "%s/config.txt", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void compare_with_torch(sbt_norm norm, sbt_posenc pos, sbt_weights weights, sbt_attention attention) {
    sbt_config cfg = small_config(norm, pos);
    cfg.weights = weights;
    cfg.keep = weights == SBT_WEIGHTS_SBT ? 0.5f : 1.0f;
    cfg.attention = attention;
    sbt_model *m = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    float *mean = sbt_model_data(m, "data.mean"), *std = sbt_model_data(m, "data.std");
    for (int c = 0; c < 3; c++) mean[c] = 0.1f * (float)c, std[c] = 1.0f + 0.5f * (float)c;
    sbt_dataset *ds = two_cases(10);
    for (int64_t i = 0; i < 2 * 10 * 3; i++)
        ds->x[i] = fminf(ds->x[i], 5.0f); /* padding is zero-masked anyway */
    char dir[] = "/tmp/sbt_golden_XXXXXX", cmd[1024];
    REQUIRE(mkdtemp(dir));
    write_golden_inputs(dir, m, ds);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/golden/torch_encoder.py %s", SBT_SOURCE_DIR, dir);
    REQUIRE(system(cmd) == 0);
    float logits[8], loss, *grads = calloc((size_t)m->n_values, sizeof(float));
    step_outputs(m, ds, logits, &loss, grads);
    float *ref_logits = read_tensor(dir, "logits", 8), *ref_loss = read_tensor(dir, "loss", 1);
    REQUIRE(ref_logits && ref_loss);
    CHECK_MSG(rel_error(logits, ref_logits, 8, 0) < 1e-4, "logits rel error %g",
              rel_error(logits, ref_logits, 8, 0));
    CHECK_MSG(rel_error(&loss, ref_loss, 1, 0) < 1e-4, "loss %g vs %g", loss, ref_loss[0]);
    float *refs[256] = {0};
    double largest = 0.0;
    for (int i = 0; i < m->n_tensors && i < 256; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        if (ti->kind != SBT_TENSOR_PARAM) continue;
        char name[SBT_NAME_MAX + 8];
        snprintf(name, sizeof name, "grad.%s", ti->name);
        refs[i] = read_tensor(dir, name, ti->size);
        CHECK_MSG(refs[i] != NULL, "no reference gradient for %s", ti->name);
        for (int64_t k = 0; refs[i] && k < ti->size; k++) largest = fmax(largest, fabs(refs[i][k]));
    }
    int compared = 0;
    for (int i = 0; i < m->n_tensors && i < 256; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        if (!refs[i]) continue;
        double e = rel_error(grads + ti->offset, refs[i], ti->size, 1e-3 * largest);
        CHECK_MSG(e < 1e-4, "%s (norm %s): gradient rel error %g", ti->name, sbt_norm_name(norm), e);
        compared++;
        free(refs[i]);
    }
    CHECK(compared >= 20);
    free(ref_logits);
    free(ref_loss);
    free(grads);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    sbt_dataset_free(ds);
    sbt_model_free(m);
}

static void test_golden_torch_batchnorm(void) {
    compare_with_torch(SBT_NORM_BATCH, SBT_POS_SINUSOIDAL, SBT_WEIGHTS_DENSE, SBT_ATTN_FULL);
}
static void test_golden_torch_layernorm_learned(void) {
    compare_with_torch(SBT_NORM_LAYER, SBT_POS_LEARNED, SBT_WEIGHTS_DENSE, SBT_ATTN_FULL);
}
/* The 2-layer SBT encoder: outputs and every score gradient against PyTorch's autograd
 * through the reference code's custom backward. */
static void test_golden_torch_sbt(void) {
    compare_with_torch(SBT_NORM_BATCH, SBT_POS_SINUSOIDAL, SBT_WEIGHTS_SBT, SBT_ATTN_FULL);
}
static void test_golden_torch_sbt_qkv_mask(void) {
    compare_with_torch(SBT_NORM_BATCH, SBT_POS_SINUSOIDAL, SBT_WEIGHTS_SBT, SBT_ATTN_QKV_MASK);
}

int main(void) {
    RUN(test_padding_has_no_effect);
    RUN(test_config_text);
    RUN(test_save_load_round_trip);
    RUN(test_trimmed_step_t_matches_untrimmed);
    RUN(test_trim_only_when_exact);
    RUN(test_golden_torch_batchnorm);
    RUN(test_golden_torch_layernorm_learned);
    RUN(test_golden_torch_sbt);
    RUN(test_golden_torch_sbt_qkv_mask);
    return check_summary();
}
