/* The graph IR: generic construction, NumPy broadcasting and batch-broadcast MatMul
 * against values computed here, names, symbolic batch and length, forward-only
 * instantiation and freezing, the graph text form, model files (v2 round trip, seeded
 * tensors that survive a rename, the checked-in v1 fixture). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sbt/biprop.h"
#include "sbt/container.h"
#include "sbt/data.h"
#include "sbt/graph.h"
#include "sbt/model.h"
#include "sbt/rng.h"
#include "tiny_model.h"

static void fill_random(float *v, int64_t n, uint64_t seed) {
    sbt_rng r;
    sbt_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) v[i] = sbt_rng_uniform_range(&r, -1, 1);
}

/* ---- construction ---- */

/* One small graph built twice, by the typed builders and by sbt_graph_add. */
static sbt_graph *small_graph(int generic, float *w, float *b) {
    sbt_graph *g = sbt_graph_new();
    int x = sbt_input(g, "x", 3, (int64_t[]){2, 3, 4});
    int pw = sbt_param(g, "w", 2, (int64_t[]){5, 4}, w, NULL),
        pb = sbt_param(g, "b", 1, (int64_t[]){5}, b, NULL);
    int y, t, s;
    if (!generic) {
        y = sbt_relu(g, sbt_linear(g, x, pw, pb));
        t = sbt_transpose(g, y, (int[]){0, 2, 1});
        s = sbt_softmax(g, sbt_scale(g, t, 0.5f), -1);
    } else {
        y = sbt_graph_add(g, SBT_OP_RELU,
                          (int[]){sbt_graph_add(g, SBT_OP_LINEAR, (int[]){x, pw, pb}, 3, NULL)}, 1, NULL);
        sbt_attr perm = {.transpose = {{0, 2, 1}}}, scale = {.scale = {0.5f}};
        t = sbt_graph_add(g, SBT_OP_TRANSPOSE, &y, 1, &perm);
        int sc = sbt_graph_add(g, SBT_OP_SCALE, &t, 1, &scale);
        s = sbt_graph_add(g, SBT_OP_SOFTMAX, &sc, 1, NULL);
    }
    sbt_graph_mark_output(g, s);
    return g;
}

static void test_generic_equals_typed(void) {
    float w[20], b[5], x[24];
    fill_random(w, 20, 1);
    fill_random(b, 5, 2);
    fill_random(x, 24, 3);
    sbt_graph *a = small_graph(0, w, b), *c = small_graph(1, w, b);
    REQUIRE(sbt_graph_status(a) == SBT_OK && sbt_graph_status(c) == SBT_OK);
    REQUIRE(sbt_graph_count(a) == sbt_graph_count(c));
    for (int i = 0; i < sbt_graph_count(a); i++) {
        CHECK(sbt_node_op(a, i) == sbt_node_op(c, i));
        CHECK(sbt_node_ndim(a, i) == sbt_node_ndim(c, i));
        CHECK(sbt_node_size(a, i) == sbt_node_size(c, i));
        CHECK(sbt_node_input_count(a, i) == sbt_node_input_count(c, i));
        for (int k = 0; k < sbt_node_input_count(a, i); k++)
            CHECK(sbt_node_input(a, i, k) == sbt_node_input(c, i, k));
        CHECK(!memcmp(sbt_node_attr(a, i), sbt_node_attr(c, i), sizeof(sbt_attr)) ||
              sbt_node_op(a, i) == SBT_OP_PARAM);
    }
    char *ta = NULL, *tc = NULL;
    REQUIRE(sbt_graph_to_text(a, &ta) == SBT_OK && sbt_graph_to_text(c, &tc) == SBT_OK);
    CHECK(!strcmp(ta, tc));
    REQUIRE(sbt_graph_finalize(a) == SBT_OK && sbt_graph_finalize(c) == SBT_OK);
    memcpy(sbt_graph_value(a, 0), x, sizeof x);
    memcpy(sbt_graph_value(c, 0), x, sizeof x);
    REQUIRE(sbt_graph_forward(a, 0) == SBT_OK && sbt_graph_forward(c, 0) == SBT_OK);
    int out = sbt_graph_output(a, 0);
    CHECK(!memcmp(sbt_graph_value(a, out), sbt_graph_value(c, out), 30 * sizeof(float)));
    free(ta);
    free(tc);
    sbt_graph_free(a);
    sbt_graph_free(c);
}

static void test_names(void) {
    sbt_graph *g = sbt_graph_new();
    char name[200];
    memset(name, 'n', 127);
    name[127] = '\0';
    int x = sbt_input(g, name, 1, (int64_t[]){3});
    CHECK(x >= 0 && sbt_graph_find(g, name) == x);
    CHECK(sbt_graph_find(g, "absent") == -1);
    /* a 53-character PyTorch name survives whole */
    const char *torch = "encoder.layers.0.self_attn.out_proj.weight_quantized";
    int y = sbt_graph_name(g, sbt_relu(g, x), torch);
    CHECK(y >= 0 && !strcmp(sbt_node_name(g, y), torch));
    name[127] = 'n';
    name[128] = '\0';
    CHECK(sbt_graph_name(g, y, name) == -1);
    CHECK(sbt_graph_status(g) == SBT_ERR_ARG);
    CHECK(strstr(sbt_last_error(), "longer than 127") != NULL);
    sbt_graph_free(g);
    g = sbt_graph_new();
    CHECK(sbt_input(g, "has space", 1, (int64_t[]){3}) == -1);
    sbt_graph_free(g);
}

/* ---- broadcasting, checked against loops written here ---- */

static void run_binary(sbt_op op, int na, const int64_t *sa, int nb, const int64_t *sb, const float *a,
                       const float *b, float *out, int64_t *out_size) {
    sbt_graph *g = sbt_graph_new();
    int ia = sbt_input(g, "a", na, sa), ib = sbt_input(g, "b", nb, sb);
    int y = sbt_graph_add(g, op, (int[]){ia, ib}, 2, NULL);
    REQUIRE(sbt_graph_finalize(g) == SBT_OK);
    memcpy(sbt_graph_value(g, ia), a, (size_t)sbt_node_size(g, ia) * sizeof(float));
    memcpy(sbt_graph_value(g, ib), b, (size_t)sbt_node_size(g, ib) * sizeof(float));
    REQUIRE(sbt_graph_forward(g, 0) == SBT_OK);
    *out_size = sbt_node_size(g, y);
    memcpy(out, sbt_graph_value(g, y), (size_t)*out_size * sizeof(float));
    sbt_graph_free(g);
}

static void test_numpy_broadcast(void) {
    float a[24], b[12], out[64];
    int64_t n;
    fill_random(a, 24, 4);
    fill_random(b, 12, 5);
    /* (B,T,d) + (1,T,d): B=2, T=3, d=4 */
    run_binary(SBT_OP_ADD, 3, (int64_t[]){2, 3, 4}, 3, (int64_t[]){1, 3, 4}, a, b, out, &n);
    CHECK(n == 24);
    for (int i = 0; i < 24; i++) CHECK(out[i] == a[i] + b[i % 12]);
    /* (1) - (B,T) */
    run_binary(SBT_OP_SUB, 1, (int64_t[]){1}, 2, (int64_t[]){3, 4}, a, b, out, &n);
    CHECK(n == 12);
    for (int i = 0; i < 12; i++) CHECK(out[i] == a[0] - b[i]);
    /* (T,1) * (1,d) = (T,d) */
    run_binary(SBT_OP_MUL, 2, (int64_t[]){3, 1}, 2, (int64_t[]){1, 4}, a, b, out, &n);
    CHECK(n == 12);
    for (int t = 0; t < 3; t++)
        for (int j = 0; j < 4; j++) CHECK(out[t * 4 + j] == a[t] * b[j]);
    /* (2,3,1) / (3,4) */
    run_binary(SBT_OP_DIV, 3, (int64_t[]){2, 3, 1}, 2, (int64_t[]){3, 4}, a, b, out, &n);
    CHECK(n == 24);
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < 3; t++)
            for (int j = 0; j < 4; j++) CHECK(out[(i * 3 + t) * 4 + j] == a[i * 3 + t] / b[t * 4 + j]);
    /* shapes that do not broadcast are a build error naming both */
    sbt_graph *g = sbt_graph_new();
    int x = sbt_input(g, "x", 2, (int64_t[]){3, 4}), y = sbt_input(g, "y", 2, (int64_t[]){2, 4});
    CHECK(sbt_add(g, x, y) == -1);
    CHECK(sbt_graph_status(g) == SBT_ERR_SHAPE && strstr(sbt_last_error(), "(3, 4) and (2, 4)"));
    sbt_graph_free(g);
}

static void test_matmul_broadcast(void) {
    float a[2 * 3 * 4], b[2 * 4 * 5];
    fill_random(a, 24, 6);
    fill_random(b, 40, 7);
    /* (1,3,4) @ (2,4,5): a is shared by both batches of b */
    sbt_graph *g = sbt_graph_new();
    int ia = sbt_input(g, "a", 3, (int64_t[]){1, 3, 4}), ib = sbt_input(g, "b", 3, (int64_t[]){2, 4, 5});
    int y = sbt_matmul(g, ia, ib, 0, 0);
    REQUIRE(sbt_graph_finalize(g) == SBT_OK);
    CHECK(sbt_node_ndim(g, y) == 3 && sbt_node_dim(g, y, 0) == 2 && sbt_node_dim(g, y, 1) == 3);
    memcpy(sbt_graph_value(g, ia), a, 12 * sizeof(float));
    memcpy(sbt_graph_value(g, ib), b, 40 * sizeof(float));
    REQUIRE(sbt_graph_forward(g, 0) == SBT_OK);
    for (int bi = 0; bi < 2; bi++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++) {
                double s = 0;
                for (int k = 0; k < 4; k++) s += (double)a[i * 4 + k] * b[(bi * 4 + k) * 5 + j];
                CHECK_NEAR(sbt_graph_value(g, y)[(bi * 3 + i) * 5 + j], s, 1e-5);
            }
    sbt_graph_free(g);
    /* (3,4) @ (2,4,5): a 2-D a against a batch */
    g = sbt_graph_new();
    ia = sbt_input(g, "a", 2, (int64_t[]){3, 4});
    ib = sbt_input(g, "b", 3, (int64_t[]){2, 4, 5});
    y = sbt_matmul(g, ia, ib, 0, 0);
    CHECK(sbt_graph_status(g) == SBT_OK && sbt_node_dim(g, y, 0) == 2);
    sbt_graph_free(g);
}

/* ---- models: symbolic dims, forward-only instances, files ---- */

/* Outputs of `count` random windows (seeded), run `batch` at a time in graph mg_fn. */
typedef sbt_status (*build_fn)(sbt_model *m, int batch, int length, sbt_model_graph *mg);

static sbt_status outputs_of(sbt_model *m, build_fn build, int batch, int count, int length, float *out) {
    int k = m->cfg.outputs;
    for (int start = 0; start < count; start += batch) {
        sbt_model_graph mg;
        sbt_status st = build(m, batch, length, &mg);
        if (st) return st;
        for (int b = 0; b < batch; b++) {
            fill_random(sbt_graph_value(mg.graph, mg.x) + (int64_t)b * length * m->cfg.channels,
                        (int64_t)length * m->cfg.channels, 1000 + (uint64_t)(start + b));
            for (int t = 0; t < length; t++) sbt_graph_value(mg.graph, mg.step_mask)[b * length + t] = 1.0f;
        }
        st = sbt_graph_forward_until(mg.graph, 0, mg.output);
        if (!st)
            memcpy(out + (int64_t)start * k, sbt_graph_value(mg.graph, mg.output),
                   (size_t)(batch * k) * sizeof(float));
        sbt_model_graph_free(&mg);
        if (st) return st;
    }
    return SBT_OK;
}

static double max_rel_diff(const float *a, const float *b, int64_t n) {
    double worst = 0, scale = 1e-6;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(a[i]));
    for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]) / scale);
    return worst;
}

/* One description instantiated at batch 1, 8 and 64 gives the same per-sample outputs,
 * training graph and frozen forward-only graph alike. */
static void test_batch_invariance(void) {
    const sbt_config cfgs[] = {tiny_config(SBT_TASK_CLASSIFY, SBT_WEIGHTS_SBT, SBT_ATTN_QKV_MASK),
                               tiny_config(SBT_TASK_FORECAST, SBT_WEIGHTS_SBT, SBT_ATTN_STEP_T),
                               tiny_config(SBT_TASK_ANOMALY, SBT_WEIGHTS_DENSE, SBT_ATTN_FULL)};
    for (int c = 0; c < 3; c++) {
        sbt_model *m = NULL;
        REQUIRE(sbt_model_new(&cfgs[c], &m) == SBT_OK);
        int k = m->cfg.outputs;
        float *ref = malloc(64 * (size_t)k * sizeof(float)), *got = malloc(64 * (size_t)k * sizeof(float));
        REQUIRE(outputs_of(m, sbt_model_graph_build, 1, 64, 10, ref) == SBT_OK);
        REQUIRE(outputs_of(m, sbt_model_graph_build, 8, 64, 10, got) == SBT_OK);
        CHECK_MSG(max_rel_diff(ref, got, 64 * k) < 1e-5, "config %d batch 8: %g", c,
                  max_rel_diff(ref, got, 64 * k));
        REQUIRE(outputs_of(m, sbt_model_graph_build_infer, 64, 64, 10, got) == SBT_OK);
        CHECK_MSG(max_rel_diff(ref, got, 64 * k) < 1e-5, "config %d infer batch 64: %g", c,
                  max_rel_diff(ref, got, 64 * k));
        REQUIRE(outputs_of(m, sbt_model_graph_build_infer, 1, 64, 10, got) == SBT_OK);
        CHECK_MSG(max_rel_diff(ref, got, 64 * k) < 1e-6, "config %d infer batch 1: %g", c,
                  max_rel_diff(ref, got, 64 * k));
        free(ref);
        free(got);
        sbt_model_free(m);
    }
}

/* The forward-only arena holds no gradients or saved state and reuses buffers. */
static void test_infer_arena_smaller(void) {
    sbt_config cfg = tiny_config(SBT_TASK_CLASSIFY, SBT_WEIGHTS_SBT, SBT_ATTN_FULL);
    cfg.d_model = 64;
    cfg.d_ff = 256;
    cfg.channels = 12;
    cfg.outputs = 9;
    cfg.max_len = 29;
    sbt_model *m = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    sbt_model_graph train, infer;
    REQUIRE(sbt_model_graph_build(m, 1, 29, &train) == SBT_OK);
    REQUIRE(sbt_model_graph_build_infer(m, 1, 29, &infer) == SBT_OK);
    size_t tb = sbt_graph_arena_bytes(train.graph), ib = sbt_graph_arena_bytes(infer.graph);
    printf(
        "JapaneseVowels-shaped SBT classifier, batch 1, 29 steps: training arena %zu bytes, forward-only %zu "
        "bytes (%.1fx smaller)\n",
        tb, ib, (double)tb / (double)ib);
    CHECK(ib * 3 < tb);
    /* a forward-only graph refuses to train */
    CHECK(sbt_graph_forward(infer.graph, 1) == SBT_ERR_ARG);
    CHECK(sbt_graph_backward(infer.graph, infer.loss) == SBT_ERR_ARG);
    sbt_model_graph_free(&train);
    sbt_model_graph_free(&infer);
    sbt_model_free(m);
}

/* Freezing selects once: the frozen forward equals the training graph's eval forward,
 * bit for bit, and later score changes do not reach an existing frozen graph. */
static void test_freeze(void) {
    sbt_config cfg = tiny_config(SBT_TASK_FORECAST, SBT_WEIGHTS_SBT, SBT_ATTN_STEP_T);
    sbt_model *m = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    float a[16 * 3], b[16 * 3];
    REQUIRE(outputs_of(m, sbt_model_graph_build, 4, 16, 10, a) == SBT_OK);
    REQUIRE(outputs_of(m, sbt_model_graph_build_infer, 4, 16, 10, b) == SBT_OK);
    CHECK(!memcmp(a, b, sizeof a));
    sbt_graph *frozen = NULL;
    REQUIRE(sbt_graph_freeze(m->graph, &frozen) == SBT_OK);
    int sparse = 0, consts = 0;
    for (int i = 0; i < sbt_graph_count(m->graph); i++) {
        sparse += sbt_node_op(m->graph, i) == SBT_OP_SPARSE_WEIGHT;
        consts += sbt_node_op(frozen, i) == SBT_OP_CONST && sbt_node_op(m->graph, i) == SBT_OP_SPARSE_WEIGHT;
    }
    CHECK(sparse > 0 && consts == sparse);
    sbt_graph_free(frozen);
    sbt_model_free(m);
}

/* Frozen ternary weights on the ternary kernels: every sparse Linear is prepared, float
 * activations agree with sgemm to 1e-5, int8 activations to the quantisation's error. */
static void test_ternary_kernels(void) {
    const sbt_config cfgs[] = {tiny_config(SBT_TASK_FORECAST, SBT_WEIGHTS_SBT, SBT_ATTN_STEP_T),
                               tiny_config(SBT_TASK_CLASSIFY, SBT_WEIGHTS_SBT, SBT_ATTN_QKV_MASK)};
    for (int c = 0; c < 2; c++) {
        sbt_model *m = NULL;
        REQUIRE(sbt_model_new(&cfgs[c], &m) == SBT_OK);
        int k = m->cfg.outputs;
        float dense[16 * 4], got[16 * 4];
        REQUIRE(outputs_of(m, sbt_model_graph_build_infer, 4, 16, 10, dense) == SBT_OK);
        m->kernel = SBT_KERNEL_TERNARY_F32;
        sbt_model_graph mg;
        REQUIRE(sbt_model_graph_build_infer(m, 1, 10, &mg) == SBT_OK);
        int linear = 0, ternary = 0;
        for (int i = 0; i < sbt_graph_count(mg.graph); i++)
            if (sbt_node_op(mg.graph, i) == SBT_OP_LINEAR && sbt_node_is_live(mg.graph, i)) {
                linear++;
                ternary += sbt_node_kernel(mg.graph, i) == SBT_KERNEL_TERNARY_F32;
            }
        CHECK(linear > 0 && ternary == linear);
        sbt_model_graph_free(&mg);
        REQUIRE(outputs_of(m, sbt_model_graph_build_infer, 4, 16, 10, got) == SBT_OK);
        CHECK_MSG(max_rel_diff(dense, got, 16 * k) < 1e-5, "ternary f32: %g",
                  max_rel_diff(dense, got, 16 * k));
        m->kernel = SBT_KERNEL_TERNARY_I8;
        REQUIRE(outputs_of(m, sbt_model_graph_build_infer, 4, 16, 10, got) == SBT_OK);
        double d = max_rel_diff(dense, got, 16 * k);
        printf("config %d: int8 activations, largest difference %.3g of the output scale\n", c, d);
        CHECK_MSG(d > 0 && d < 0.05, "ternary int8: %g", d);
        sbt_model_free(m);
    }
}

/* The three sparse-weight modes on a 2 x 4 weight. */
static void test_sparse_modes(void) {
    float w[8] = {0.5f, -2.0f, 0.0f, 1.0f, -0.25f, 3.0f, -1.0f, 0.75f};
    float s[8] = {0.1f, 0.9f, 0.8f, 0.2f, 0.3f, 0.7f, 0.6f, 0.05f}; /* top 4: 1, 2, 5, 6 */
    sbt_graph *g = sbt_graph_new();
    int pw = sbt_param(g, "w", 2, (int64_t[]){2, 4}, w, NULL),
        ps = sbt_param(g, "s", 2, (int64_t[]){2, 4}, s, NULL);
    int prune = sbt_sparse_weight(g, ps, pw, 0.5f, 0, SBT_SPARSE_PRUNE);
    int bin = sbt_sparse_weight(g, -1, pw, 1.0f, 1, SBT_SPARSE_BINARIZE);
    int bip = sbt_sparse_weight(g, ps, pw, 0.5f, 0, SBT_SPARSE_BIPROP);
    REQUIRE(sbt_graph_finalize(g) == SBT_OK && sbt_graph_forward(g, 0) == SBT_OK);
    const float want_prune[8] = {0, -2.0f, 0, 0, 0, 3.0f, -1.0f, 0};
    for (int i = 0; i < 8; i++) CHECK(sbt_graph_value(g, prune)[i] == want_prune[i]);
    /* binarize per row, zeros stay zero: row 0 alpha = (0.5+2+1)/3, row 1 = (0.25+3+1+0.75)/4 */
    float a0 = 3.5f / 3.0f, a1 = 5.0f / 4.0f;
    const float want_bin[8] = {a0, -a0, 0, a0, -a1, a1, -a1, a1};
    for (int i = 0; i < 8; i++) CHECK_NEAR(sbt_graph_value(g, bin)[i], want_bin[i], 1e-6);
    float alpha = (2.0f + 0.0f + 3.0f + 1.0f) / 4.0f; /* kept entries 1, 2 (a zero weight), 5, 6 */
    const float want_bip[8] = {0, -alpha, 0, 0, 0, alpha, -alpha, 0};
    for (int i = 0; i < 8; i++) CHECK_NEAR(sbt_graph_value(g, bip)[i], want_bip[i], 1e-6);
    sbt_graph_free(g);
}

static sbt_dataset *random_cases(int n, int length, int channels, int classes) {
    sbt_dataset *ds = NULL;
    if (sbt_dataset_new(n, channels, length, classes, &ds) != SBT_OK) return NULL;
    fill_random(ds->x, (int64_t)n * length * channels, 77);
    for (int i = 0; i < n; i++) {
        ds->len[i] = length - i % 3;
        ds->y[i] = i % classes;
    }
    return ds;
}

static void test_save_load_v2(void) {
    char dir[] = "/tmp/sbt-ir-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/m.sbtm", dir);
    const sbt_config cfgs[] = {tiny_config(SBT_TASK_CLASSIFY, SBT_WEIGHTS_SBT, SBT_ATTN_QKV_MASK),
                               tiny_config(SBT_TASK_CLASSIFY, SBT_WEIGHTS_DENSE, SBT_ATTN_FULL)};
    sbt_dataset *ds = random_cases(10, 12, 3, 4);
    REQUIRE(ds != NULL);
    for (int c = 0; c < 2; c++) {
        sbt_model *m = NULL, *back = NULL;
        REQUIRE(sbt_model_new(&cfgs[c], &m) == SBT_OK);
        for (int i = 0; i < m->n_tensors; i++) { /* trained-looking values; seeded tensors stay */
            const sbt_tensor_info *ti = &m->tensors[i];
            if (ti->kind != SBT_TENSOR_FROZEN && strncmp(ti->name, "data.", 5))
                fill_random(m->values + ti->offset, ti->size, 31 + (uint64_t)(c * 100 + i));
        }
        REQUIRE(sbt_model_save(m, path) == SBT_OK);
        REQUIRE(sbt_model_load(path, &back) == SBT_OK);
        CHECK(back->native == 1 && back->n_tensors == m->n_tensors);
        int pa[10], pb[10];
        double acc_a, acc_b, loss_a, loss_b;
        REQUIRE(sbt_model_classify(m, ds, pa, &acc_a, &loss_a) == SBT_OK);
        REQUIRE(sbt_model_classify(back, ds, pb, &acc_b, &loss_b) == SBT_OK);
        CHECK(!memcmp(pa, pb, sizeof pa) && loss_a == loss_b);
        char *ga = NULL, *gb = NULL;
        REQUIRE(sbt_graph_to_text(m->graph, &ga) == SBT_OK && sbt_graph_to_text(back->graph, &gb) == SBT_OK);
        CHECK(!strcmp(ga, gb));
        free(ga);
        free(gb);
        sbt_model_free(m);
        sbt_model_free(back);
    }
    sbt_dataset_free(ds);
    unlink(path);
    rmdir(dir);
}

/* Copies container `in` with one text section's occurrences of `from` replaced by `to`. */
static char *replace_all(const char *text, const char *from, const char *to) {
    size_t n = 0, lf = strlen(from), lt = strlen(to);
    for (const char *p = strstr(text, from); p; p = strstr(p + lf, from)) n++;
    char *out = malloc(strlen(text) + n * (lt + 1) + 1), *o = out;
    for (const char *p = text;;) {
        const char *hit = strstr(p, from);
        if (!hit) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, to, lt);
        o += lt;
        p = hit + lf;
    }
    return out;
}

static sbt_container *renamed(const sbt_container *in, const char *from, const char *to) {
    sbt_container *out = sbt_container_new();
    for (int i = 0; i < sbt_container_count(in); i++) {
        const sbt_section *s = sbt_container_at(in, i);
        if (s->type == SBT_SECTION_TEXT && (!strcmp(s->name, "graph") || !strcmp(s->name, "tensors"))) {
            char *t = replace_all(s->data, from, to);
            sbt_container_add(out, s->name, SBT_SECTION_TEXT, 1, (int64_t[]){(int64_t)strlen(t)}, t);
            free(t);
        } else {
            sbt_container_add(out, s->name, s->type, s->ndim, s->shape, s->data);
        }
    }
    return out;
}

/* A seeded tensor's values come from its recorded seed and stream, not its name. */
static void test_rename_seeded_tensor(void) {
    sbt_config cfg = tiny_config(SBT_TASK_FORECAST, SBT_WEIGHTS_SBT, SBT_ATTN_STEP_T);
    sbt_model *m = NULL, *back = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    sbt_container *c = sbt_container_new(), *r = NULL;
    REQUIRE(sbt_model_to_container(m, c) == SBT_OK);
    CHECK(sbt_container_find(c, "layer0.q.weight") == NULL); /* seeded: not stored */
    r = renamed(c, "layer0.q.weight", "layer0.q.w_renamed");
    REQUIRE(sbt_model_from_container(r, "renamed.sbtm", &back) == SBT_OK);
    CHECK(sbt_model_tensor(back, "layer0.q.w_renamed") != NULL &&
          sbt_model_tensor(back, "layer0.q.weight") == NULL);
    CHECK(!memcmp(sbt_model_data(m, "layer0.q.weight"), sbt_model_data(back, "layer0.q.w_renamed"),
                  (size_t)sbt_model_tensor(m, "layer0.q.weight")->size * sizeof(float)));
    float a[8 * 3], b[8 * 3];
    REQUIRE(outputs_of(m, sbt_model_graph_build_infer, 8, 8, 12, a) == SBT_OK);
    REQUIRE(outputs_of(back, sbt_model_graph_build_infer, 8, 8, 12, b) == SBT_OK);
    CHECK(!memcmp(a, b, sizeof a));
    sbt_container_free(c);
    sbt_container_free(r);
    sbt_model_free(m);
    sbt_model_free(back);
}

/* Malformed graph text is refused with the line and the reason. */
static void test_graph_text_errors(void) {
    struct {
        const char *text, *want;
    } cases[] = {
        {"", "expected 'sbt-graph 1'"},
        {"sbt-graph 1\n", "no nodes"},
        {"sbt-graph 1\n0 Input x dtype=f32 shape=B,3\n1 Relu r in=1\n", "line 3"},
        {"sbt-graph 1\n0 Input x dtype=f32 shape=B,3\n1 Bogus r in=0\n", "unknown op 'Bogus'"},
        {"sbt-graph 1\n0 Input x dtype=f32 shape=B,3\n1 Relu r in=0 extra=1\n", "unknown key 'extra'"},
        {"sbt-graph 1\n0 Input x dtype=f32 shape=B,3,1,1,1\n", "more than 4 dimensions"},
        {"sbt-graph 1\n0 Input x dtype=f32 shape=B,3\n1 Reshape r in=0 shape=B,4\n", "changes the size"},
        {"sbt-graph 1\n0 Input x dtype=f32 shape=B,3\n2 Relu r in=0\n", "id=2"},
        {"sbt-graph 1\n0 Input x dtype=f32 shape=B,3\noutput 5\n", "output=5"},
        {"sbt-graph 1\n0 Param w shape=3\n", "no tensor table"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sbt_graph *g = NULL;
        sbt_status st = sbt_graph_from_text(cases[i].text, "t.sbtm", NULL, NULL, &g);
        CHECK_MSG(st == SBT_ERR_FORMAT && g == NULL, "case %zu: status %d", i, (int)st);
        CHECK_MSG(strstr(sbt_last_error(), cases[i].want) && strstr(sbt_last_error(), "t.sbtm"),
                  "case %zu: '%s'", i, sbt_last_error());
    }
}

/* tests/golden/model_v1.sbtm was written by sbt-train at commit d595cec (file version 1:
 * config + tensors, Biprop W regenerated from name-keyed streams):
 *   sbt-train --task classify --model sbt --keep 0.5 --attn qkv-mask --synthetic --d-model 8 --heads 2
 *             --layers 1 --ffn 16 --epochs 3 --seed 3
 * and that commit's sbt-eval gave accuracy 0.250000 and loss 1.383735 on the synthetic
 * test half. This library loads it, saves it as version 2, and gets the same. */
static void test_v1_fixture(void) {
    sbt_model *m = NULL, *v2 = NULL;
    REQUIRE(sbt_model_load(SBT_SOURCE_DIR "/tests/golden/model_v1.sbtm", &m) == SBT_OK);
    sbt_synth_config sc = sbt_synth_default();
    sbt_dataset *train = NULL, *test = NULL;
    REQUIRE(sbt_synth_classification(&sc, &train, &test) == SBT_OK);
    double acc = 0, loss = 0;
    REQUIRE(sbt_model_classify(m, test, NULL, &acc, &loss) == SBT_OK);
    CHECK_MSG(fabs(acc - 0.25) < 1e-9 && fabs(loss - 1.383735) < 2e-6, "v1: accuracy %f loss %f", acc, loss);
    char path[] = "/tmp/sbt-v2-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    REQUIRE(sbt_model_save(m, path) == SBT_OK);
    REQUIRE(sbt_model_load(path, &v2) == SBT_OK);
    double acc2 = 0, loss2 = 0;
    REQUIRE(sbt_model_classify(v2, test, NULL, &acc2, &loss2) == SBT_OK);
    CHECK(acc2 == acc && loss2 == loss);
    unlink(path);
    sbt_dataset_free(train);
    sbt_dataset_free(test);
    sbt_model_free(m);
    sbt_model_free(v2);
}

int main(void) {
    RUN(test_generic_equals_typed);
    RUN(test_names);
    RUN(test_numpy_broadcast);
    RUN(test_matmul_broadcast);
    RUN(test_batch_invariance);
    RUN(test_infer_arena_smaller);
    RUN(test_freeze);
    RUN(test_sparse_modes);
    RUN(test_ternary_kernels);
    RUN(test_save_load_v2);
    RUN(test_rename_seeded_tensor);
    RUN(test_graph_text_errors);
    RUN(test_v1_fixture);
    return check_summary();
}
