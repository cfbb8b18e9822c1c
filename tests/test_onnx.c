/* tests/test_onnx.c - the ONNX importer against PyTorch, and its refusals.
 *
 * The models come from tests/golden/onnx_models.py (run by the onnx_models fixture into
 * the build tree: SBT_BINARY_DIR/tests/onnx_models): for each one the ONNX file, an
 * input and PyTorch's output. Each is imported at its test batch size, run forward, and
 * must match PyTorch within 1e-5 x the output's scale (max |y|). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sbt/graph.h"
#include "sbt/onnx.h"

#define MODEL_DIR SBT_BINARY_DIR "/tests/onnx_models"

typedef struct golden {
    char name[64];
    int in_ndim, out_ndim, batch_axis;
    int64_t in_shape[4], out_shape[4];
} golden;

static float *read_f32(const char *path, int64_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    float *p = malloc((size_t)n * sizeof *p);
    size_t got = p ? fread(p, sizeof *p, (size_t)n, f) : 0;
    fclose(f);
    if (got != (size_t)n) return free(p), NULL;
    return p;
}

static int64_t numel(int nd, const int64_t *s) {
    int64_t n = 1;
    for (int d = 0; d < nd; d++) n *= s[d];
    return n;
}

/* Reads the manifest line of `name` (e.g. "post_relu_op13"). */
static int find_golden(const char *name, golden *gd) {
    FILE *f = fopen(MODEL_DIR "/manifest.txt", "r");
    if (!f) return 0;
    int found = 0;
    while (!found && fscanf(f, "%63s %d", gd->name, &gd->in_ndim) == 2) {
        for (int d = 0; d < gd->in_ndim; d++)
            if (fscanf(f, "%lld", (long long *)&gd->in_shape[d]) != 1) break;
        if (fscanf(f, "%d", &gd->out_ndim) != 1) break;
        for (int d = 0; d < gd->out_ndim; d++)
            if (fscanf(f, "%lld", (long long *)&gd->out_shape[d]) != 1) break;
        if (fscanf(f, "%d", &gd->batch_axis) != 1) break;
        found = !strcmp(gd->name, name);
    }
    fclose(f);
    return found;
}

/* Imports model `name`, runs it on its test input; max |ours - PyTorch| / scale. */
static double import_and_compare(const char *name, const char *want_layout) {
    golden gd;
    if (!find_golden(name, &gd)) {
        fprintf(stderr, "no golden model %s in %s\n", name, MODEL_DIR);
        return 1e30;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", MODEL_DIR, name);
    sbt_onnx_options opt = sbt_onnx_defaults();
    opt.batch = gd.in_shape[gd.batch_axis];
    sbt_onnx_model *m = NULL;
    if (sbt_onnx_import(path, &opt, &m) != SBT_OK) {
        fprintf(stderr, "import %s: %s\n", name, sbt_last_error());
        return 1e30;
    }
    CHECK_MSG(!strcmp(sbt_onnx_layout(m), want_layout), "%s: layout %s, expected %s", name,
              sbt_onnx_layout(m), want_layout);
    sbt_graph *g = sbt_onnx_graph(m);
    int64_t n_in = numel(gd.in_ndim, gd.in_shape), n_out = numel(gd.out_ndim, gd.out_shape);
    snprintf(path, sizeof path, "%s/%s.in.f32", MODEL_DIR, name);
    float *x = read_f32(path, n_in);
    snprintf(path, sizeof path, "%s/%s.out.f32", MODEL_DIR, name);
    float *want = read_f32(path, n_out);
    double err = 1e30;
    if (x && want && sbt_node_size(g, sbt_onnx_input(m)) == n_in &&
        sbt_node_size(g, sbt_onnx_output(m)) == n_out) {
        memcpy(sbt_graph_value(g, sbt_onnx_input(m)), x, (size_t)n_in * sizeof *x);
        if (sbt_graph_forward(g, 0) == SBT_OK) {
            const float *y = sbt_graph_value(g, sbt_onnx_output(m));
            double scale = 0, max_err = 0;
            for (int64_t k = 0; k < n_out; k++) {
                scale = fmax(scale, fabs(want[k]));
                max_err = fmax(max_err, fabs((double)y[k] - want[k]));
            }
            err = max_err / fmax(scale, 1e-30);
            fprintf(stderr, "%-20s %3d nodes  max abs err %.3g  scale %.3g  (%.3g x scale)\n", name,
                    sbt_graph_count(g), max_err, scale, err);
        }
    } else {
        fprintf(stderr, "%s: golden files missing or sizes differ\n", name);
    }
    free(x);
    free(want);
    sbt_onnx_model_free(m);
    return err;
}

#define GOLDEN_TEST(model, layout)                                                                           \
    static void test_##model(void) {                                                                         \
        CHECK(import_and_compare(#model "_op13", layout) <= 1e-5);                                           \
        CHECK(import_and_compare(#model "_op17", layout) <= 1e-5);                                           \
    }
GOLDEN_TEST(post_relu, "TBC")
GOLDEN_TEST(pre_gelu, "BTC")
GOLDEN_TEST(batchnorm, "BTC")
GOLDEN_TEST(forecaster, "BTC")
GOLDEN_TEST(paper_encoder, "BTC")

int main(void) {
    RUN(test_post_relu);
    RUN(test_pre_gelu);
    RUN(test_batchnorm);
    RUN(test_forecaster);
    RUN(test_paper_encoder);
    return check_summary();
}
