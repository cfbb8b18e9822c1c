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
#include "sbt/model.h"
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
GOLDEN_TEST(wide, "TBC")

/* The batch axis is symbolic: the same file imported for batch 1 gives sample 0 of
 * PyTorch's batch (the models are per-sample in eval mode). */
static void test_other_batch_size(void) {
    golden gd;
    REQUIRE(find_golden("pre_gelu_op13", &gd) && gd.batch_axis == 0);
    sbt_onnx_options opt = sbt_onnx_defaults();
    opt.batch = 1;
    sbt_onnx_model *m = NULL;
    REQUIRE(sbt_onnx_import(MODEL_DIR "/pre_gelu_op13.onnx", &opt, &m) == SBT_OK);
    sbt_graph *g = sbt_onnx_graph(m);
    int64_t n_in = numel(gd.in_ndim, gd.in_shape), n_out = numel(gd.out_ndim, gd.out_shape);
    float *x = read_f32(MODEL_DIR "/pre_gelu_op13.in.f32", n_in);
    float *want = read_f32(MODEL_DIR "/pre_gelu_op13.out.f32", n_out);
    int64_t in1 = n_in / gd.in_shape[0], out1 = n_out / gd.out_shape[0];
    CHECK(x && want && sbt_node_size(g, sbt_onnx_input(m)) == in1 &&
          sbt_node_size(g, sbt_onnx_output(m)) == out1);
    if (x && want && sbt_node_size(g, sbt_onnx_input(m)) == in1) {
        memcpy(sbt_graph_value(g, sbt_onnx_input(m)), x, (size_t)in1 * sizeof *x);
        CHECK(sbt_graph_forward(g, 0) == SBT_OK);
        const float *y = sbt_graph_value(g, sbt_onnx_output(m));
        for (int64_t k = 0; k < out1; k++) CHECK_NEAR(y[k], want[k], 1e-5 * (1 + fabs(want[k])));
    }
    free(x);
    free(want);
    sbt_onnx_model_free(m);
}

/* Copies sample `from` of src (batch axis `axis`, `batch` samples) into sample `to` of
 * dst (`dst_batch` samples): shapes (outer, batch, inner). */
static void copy_sample(const float *src, int64_t batch, float *dst, int64_t dst_batch, int nd,
                        const int64_t *shape, int axis, int64_t from, int64_t to) {
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= shape[d];
    for (int d = axis + 1; d < nd; d++) inner *= shape[d];
    for (int64_t o = 0; o < outer; o++)
        memcpy(dst + (o * dst_batch + to) * inner, src + (o * batch + from) * inner,
               (size_t)inner * sizeof *src);
}

/* The description with a symbolic batch, instantiated at batch 1, the export's batch and
 * three times it (samples cycled), gives PyTorch's outputs for those samples. */
static void check_symbolic(const char *name) {
    golden gd;
    REQUIRE(find_golden(name, &gd));
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", MODEL_DIR, name);
    sbt_onnx_model *m = NULL;
    REQUIRE(sbt_onnx_import(path, NULL, &m) == SBT_OK);
    const sbt_graph *d = sbt_onnx_description(m);
    CHECK_MSG(d != NULL, "%s: no symbolic description: %s", name, sbt_onnx_description_note(m));
    int64_t nb = gd.in_shape[gd.batch_axis], n_in = numel(gd.in_ndim, gd.in_shape);
    int64_t n_out = numel(gd.out_ndim, gd.out_shape);
    int out_axis = !strcmp(sbt_onnx_layout(m), "TBC") ? 1 : 0;
    snprintf(path, sizeof path, "%s/%s.in.f32", MODEL_DIR, name);
    float *x = read_f32(path, n_in);
    snprintf(path, sizeof path, "%s/%s.out.f32", MODEL_DIR, name);
    float *want = read_f32(path, n_out);
    int64_t batches[3] = {1, nb, 3 * nb};
    for (int k = 0; d && x && want && k < 3; k++) {
        int64_t b = batches[k];
        sbt_graph *g = NULL;
        REQUIRE(sbt_graph_instantiate(d, b, 1, SBT_EXEC_INFER, &g) == SBT_OK);
        int in = sbt_onnx_input(m), out = sbt_onnx_output(m);
        CHECK(sbt_node_size(g, in) == n_in / nb * b && sbt_node_size(g, out) == n_out / nb * b);
        float *xb = malloc((size_t)(n_in / nb * b) * sizeof *xb),
              *wb = malloc((size_t)(n_out / nb * b) * sizeof *wb);
        for (int64_t s = 0; s < b; s++) {
            copy_sample(x, nb, xb, b, gd.in_ndim, gd.in_shape, gd.batch_axis, s % nb, s);
            copy_sample(want, nb, wb, b, gd.out_ndim, gd.out_shape, out_axis, s % nb, s);
        }
        memcpy(sbt_graph_value(g, in), xb, (size_t)(n_in / nb * b) * sizeof *xb);
        CHECK(sbt_graph_forward(g, 0) == SBT_OK);
        double err = 0, scale = 0;
        for (int64_t j = 0; j < n_out / nb * b; j++) {
            err = fmax(err, fabs((double)sbt_graph_value(g, out)[j] - wb[j]));
            scale = fmax(scale, fabs(wb[j]));
        }
        CHECK_MSG(err <= 1e-5 * scale, "%s at batch %lld: %.3g x scale", name, (long long)b, err / scale);
        fprintf(stderr, "%-20s symbolic batch, instantiated at %lld: %.3g x scale\n", name, (long long)b,
                err / scale);
        free(xb);
        free(wb);
        sbt_graph_free(g);
    }
    free(x);
    free(want);
    sbt_onnx_model_free(m);
}

static void test_symbolic_batch(void) {
    static const char *names[] = {"post_relu_op13",     "post_relu_op17",    "pre_gelu_op13",
                                  "pre_gelu_op17",      "batchnorm_op13",    "forecaster_op17",
                                  "paper_encoder_op13", "paper_encoder_op17"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) check_symbolic(names[k]);
}

/* Imports `file` (in MODEL_DIR), expecting failure with each of `parts` in the message. */
static void expect_refusal(const char *file, sbt_status code, const char *const *parts, int n_parts) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", MODEL_DIR, file);
    sbt_onnx_model *m = NULL;
    sbt_status st = sbt_onnx_import(path, NULL, &m);
    CHECK_MSG(st == code && !m, "%s: status %d, expected %d", file, (int)st, (int)code);
    CHECK_MSG(strstr(sbt_last_error(), path) != NULL, "%s: message does not name the file: %s", file,
              sbt_last_error());
    for (int k = 0; k < n_parts; k++)
        CHECK_MSG(strstr(sbt_last_error(), parts[k]) != NULL, "%s: message lacks '%s': %s", file, parts[k],
                  sbt_last_error());
    sbt_onnx_model_free(m);
}

static void test_refusals(void) {
    expect_refusal("bad_unknown_op.onnx", SBT_ERR_UNSUPPORTED,
                   (const char *[]){"Hardmax", "my_hardmax", "opset 13", "unsupported op"}, 4);
    expect_refusal("bad_external_data.onnx", SBT_ERR_UNSUPPORTED, (const char *[]){"'w'", "external data"},
                   2);
    expect_refusal("bad_dynamic_length.onnx", SBT_ERR_ARG,
                   (const char *[]){"axis 1 is dynamic", "cannot be folded"}, 2);
    expect_refusal("bad_data_shape.onnx", SBT_ERR_UNSUPPORTED, (const char *[]){"to_int", "cannot be folded"},
                   2);
    expect_refusal("no_such_file.onnx", SBT_ERR_IO, (const char *[]){"cannot open"}, 1);
}

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = n > 0 ? malloc((size_t)n) : NULL;
    *len = p ? fread(p, 1, (size_t)n, f) : 0;
    fclose(f);
    return p;
}

/* Every truncation of a real model is refused with a message naming it, and so are
 * bytes that are not a protobuf at all. */
static void test_truncated_and_corrupt(void) {
    size_t len = 0;
    unsigned char *bytes = read_all(MODEL_DIR "/forecaster_op13.onnx", &len);
    REQUIRE(bytes && len > 1000);
    int refused = 0, tried = 0;
    for (size_t cut = 0; cut < len; cut += len / 97 + 1, tried++) {
        sbt_onnx_model *m = NULL;
        sbt_status st = sbt_onnx_import_bytes(bytes, cut, "cut.onnx", NULL, &m);
        refused += st != SBT_OK && !m && strstr(sbt_last_error(), "cut.onnx") != NULL;
        sbt_onnx_model_free(m);
    }
    CHECK_MSG(refused == tried, "%d of %d truncations refused", refused, tried);
    const char garbage[] = "this is not an ONNX model, just text \xff\xff\xff";
    sbt_onnx_model *m = NULL;
    CHECK(sbt_onnx_import_bytes(garbage, sizeof garbage, "garbage.onnx", NULL, &m) == SBT_ERR_FORMAT && !m);
    CHECK(strstr(sbt_last_error(), "garbage.onnx") && strstr(sbt_last_error(), "truncated or corrupt"));
    free(bytes);
}

/* ---- export, checked by ONNX Runtime (tests/golden/ort_run.js) ---- */

#define ORT_MODULES SBT_SOURCE_DIR "/.deps/node/node_modules/onnxruntime-node"

static int have_ort(void) {
    FILE *f = fopen(ORT_MODULES "/package.json", "r");
    if (f) fclose(f);
    if (!f) fprintf(stderr, "SKIP: no %s (run scripts/setup-debian.sh)\n", ORT_MODULES);
    return f != NULL;
}

static int write_f32(const char *path, const float *p, int64_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t put = fwrite(p, sizeof *p, (size_t)n, f);
    return !fclose(f) && put == (size_t)n;
}

/* Runs `onnx` in ONNX Runtime on x (shape of graph node `input`); max |ORT - want| / scale. */
static double ort_error_feeds(const char *onnx, sbt_graph *g, int input, const float *x, const float *want,
                              int64_t n_out, const char *feeds);

static double ort_error(const char *onnx, sbt_graph *g, int input, const float *x, const float *want,
                        int64_t n_out) {
    return ort_error_feeds(onnx, g, input, x, want, n_out, "");
}

/* `feeds`: more inputs for ort_run.js ("-- NAME FILE D0,D1 ..."), or "". */
static double ort_error_feeds(const char *onnx, sbt_graph *g, int input, const float *x, const float *want,
                              int64_t n_out, const char *feeds) {
    char in_path[600], out_path[600], cmd[2048];
    snprintf(in_path, sizeof in_path, "%s.in.f32", onnx);
    snprintf(out_path, sizeof out_path, "%s.ort.f32", onnx);
    if (!write_f32(in_path, x, sbt_node_size(g, input))) return 1e30;
    int n = snprintf(cmd, sizeof cmd, "node %s/tests/golden/ort_run.js %s %s %s", SBT_SOURCE_DIR, onnx,
                     in_path, out_path);
    for (int d = 0; d < sbt_node_ndim(g, input); d++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %lld", (long long)sbt_node_dim(g, input, d));
    snprintf(cmd + n, sizeof cmd - (size_t)n, " %s", feeds);
    remove(out_path);
    if (system(cmd) != 0) return 1e30;
    float *y = read_f32(out_path, n_out);
    if (!y) return 1e30;
    double scale = 0, err = 0;
    for (int64_t k = 0; k < n_out; k++) {
        scale = fmax(scale, fabs(want[k]));
        err = fmax(err, fabs((double)y[k] - want[k]));
    }
    free(y);
    return err / fmax(scale, 1e-30);
}

/* Imported model -> libsbt output -> export -> ONNX Runtime gives the same. */
static double roundtrip(const char *name, const sbt_onnx_export_options *eopt, sbt_onnx_export_stats *stats,
                        void (*edit)(sbt_graph *g)) {
    golden gd;
    if (!find_golden(name, &gd)) return 1e30;
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", MODEL_DIR, name);
    sbt_onnx_options opt = sbt_onnx_defaults();
    opt.batch = gd.in_shape[gd.batch_axis];
    sbt_onnx_model *m = NULL;
    if (sbt_onnx_import(path, &opt, &m) != SBT_OK) return 1e30;
    sbt_graph *g = sbt_onnx_graph(m);
    int in = sbt_onnx_input(m), out = sbt_onnx_output(m);
    int64_t n_in = sbt_node_size(g, in), n_out = sbt_node_size(g, out);
    snprintf(path, sizeof path, "%s/%s.in.f32", MODEL_DIR, name);
    float *x = read_f32(path, n_in), *ours = malloc((size_t)n_out * sizeof *ours);
    double err = 1e30;
    if (edit) edit(g);
    if (x && ours) {
        memcpy(sbt_graph_value(g, in), x, (size_t)n_in * sizeof *x);
        if (sbt_graph_forward(g, 0) == SBT_OK) {
            memcpy(ours, sbt_graph_value(g, out), (size_t)n_out * sizeof *ours);
            snprintf(path, sizeof path, "%s/%s.export%s.onnx", MODEL_DIR, name,
                     eopt->ternary ? ".ternary" : "");
            if (sbt_onnx_export(g, in, out, path, eopt, stats) == SBT_OK)
                err = ort_error(path, g, in, x, ours, n_out);
            else
                fprintf(stderr, "export %s: %s\n", name, sbt_last_error());
        }
    }
    fprintf(stderr, "%-20s export%s: %zu bytes, ORT vs libsbt %.3g x scale\n", name,
            eopt->ternary ? " (ternary)" : "", stats->file_bytes, err);
    free(x);
    free(ours);
    sbt_onnx_model_free(m);
    return err;
}

static void test_export_matches_ort(void) {
    if (!have_ort()) return;
    static const char *names[] = {"post_relu_op13", "pre_gelu_op17", "batchnorm_op13", "forecaster_op17",
                                  "paper_encoder_op13"};
    sbt_onnx_export_options eopt = sbt_onnx_export_defaults();
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        sbt_onnx_export_stats st;
        CHECK_MSG(roundtrip(names[k], &eopt, &st, NULL) <= 1e-5, "%s", names[k]);
        CHECK(st.ternary_layers == 0 && st.float_layers > 0);
    }
}

/* Every Linear weight becomes ternary: the top half of |w| kept as sign(w) * alpha,
 * alpha = mean kept |w|, per layer for even layers and per output row for odd ones. */
static void ternarise(sbt_graph *g) {
    int layer = 0;
    for (int id = 0; id < sbt_graph_count(g); id++) {
        if (sbt_node_op(g, id) != SBT_OP_LINEAR) continue;
        int w = sbt_node_input(g, id, 1);
        float *W = sbt_graph_value(g, w);
        int64_t out = sbt_node_dim(g, w, 0), in = sbt_node_dim(g, w, 1), n = out * in;
        double mean_abs = 0;
        for (int64_t k = 0; k < n; k++) mean_abs += fabs(W[k]) / (double)n;
        int per_row = layer++ % 2;
        for (int64_t o = 0; o < out; o++) {
            double kept = 0, count = 0;
            for (int64_t i = 0; i < in; i++)
                if (fabs(W[o * in + i]) >= mean_abs) kept += fabs(W[o * in + i]), count++;
            float alpha = per_row ? (float)(count ? kept / count : 1) : (float)mean_abs;
            for (int64_t i = 0; i < in; i++) {
                float v = W[o * in + i];
                W[o * in + i] = fabs(v) >= mean_abs ? (v > 0 ? alpha : -alpha) : 0.0f;
            }
        }
    }
}

/* Ternary Linear weights as int8 codes + scale through DequantizeLinear: ONNX Runtime
 * gives libsbt's outputs, and on a model whose weights dominate (d_model 128, d_ff 512)
 * the file is about 4x smaller than the float32 export. */
static void test_ternary_export(void) {
    if (!have_ort()) return;
    static const char *names[] = {"post_relu_op17", "wide_op17"};
    for (int k = 0; k < 2; k++) {
        sbt_onnx_export_options eopt = sbt_onnx_export_defaults();
        sbt_onnx_export_stats fl, tern;
        CHECK_MSG(roundtrip(names[k], &eopt, &fl, ternarise) <= 1e-5, "%s float", names[k]);
        eopt.ternary = 1;
        CHECK_MSG(roundtrip(names[k], &eopt, &tern, ternarise) <= 1e-5, "%s ternary", names[k]);
        CHECK(tern.ternary_layers == fl.float_layers && tern.float_layers == 0 && tern.ternary_layers > 0);
        double ratio = (double)fl.file_bytes / (double)tern.file_bytes;
        fprintf(stderr, "%s ternary export: %zu vs %zu bytes float32 (%.2fx smaller)\n", names[k],
                tern.file_bytes, fl.file_bytes, ratio);
        if (k == 1) CHECK_MSG(ratio > 3.5, "ratio %.2f", ratio);
    }
}

/* A native graph -> ONNX -> imported again: the same outputs. Its MatMul with a
 * transposed constant operand is exported as Transpose(initializer), which the importer
 * folds (fold_transpose read in[-1] for its perm until the fuzzer found it). */
static void test_native_roundtrip(void) {
    float w[5 * 4], b[5] = {0.1f, -0.2f, 0.3f, 0, 0.5f}, v[3 * 5], gamma[5] = {1, 1, 2, 1, 1}, beta[5] = {0};
    for (int k = 0; k < 20; k++) w[k] = (float)((k * 7) % 11) / 11.0f - 0.4f;
    for (int k = 0; k < 15; k++) v[k] = (float)((k * 5) % 7) / 7.0f - 0.5f;
    sbt_graph *g = sbt_graph_new();
    int x = sbt_input(g, "x", 3, (int64_t[]){2, 3, 4});
    int W = sbt_param(g, "w", 2, (int64_t[]){5, 4}, w, NULL),
        B = sbt_param(g, "b", 1, (int64_t[]){5}, b, NULL);
    int V = sbt_param(g, "v", 2, (int64_t[]){3, 5}, v, NULL);
    int G = sbt_param(g, "gamma", 1, (int64_t[]){5}, gamma, NULL),
        Z = sbt_param(g, "beta", 1, (int64_t[]){5}, beta, NULL);
    int h = sbt_gelu(g, sbt_layernorm(g, sbt_linear(g, x, W, B), G, Z, 1e-5f));
    int y = sbt_softmax(g, sbt_matmul(g, h, V, 0, 1), -1); /* h @ V^T: (2, 3, 3) */
    REQUIRE(sbt_graph_finalize(g) == SBT_OK);
    float *xv = sbt_graph_value(g, x);
    for (int k = 0; k < 24; k++) xv[k] = (float)((k * 3) % 13) / 6.5f - 1.0f;
    REQUIRE(sbt_graph_forward(g, 0) == SBT_OK);
    const char *path = SBT_BINARY_DIR "/tests/onnx_native_roundtrip.onnx";
    REQUIRE(sbt_onnx_export(g, x, y, path, NULL, NULL) == SBT_OK);
    sbt_onnx_model *m = NULL;
    REQUIRE(sbt_onnx_import(path, NULL, &m) == SBT_OK);
    sbt_graph *g2 = sbt_onnx_graph(m);
    REQUIRE(sbt_node_size(g2, sbt_onnx_input(m)) == 24 && sbt_node_size(g2, sbt_onnx_output(m)) == 18);
    memcpy(sbt_graph_value(g2, sbt_onnx_input(m)), xv, 24 * sizeof *xv);
    REQUIRE(sbt_graph_forward(g2, 0) == SBT_OK);
    for (int k = 0; k < 18; k++)
        CHECK_NEAR(sbt_graph_value(g2, sbt_onnx_output(m))[k], sbt_graph_value(g, y)[k], 1e-6);
    sbt_onnx_model_free(m);
    sbt_graph_free(g);
}

/* The symbolic description, instantiated at the export's batch and written as ONNX,
 * keeps the batch symbolic (dim_param "batch"; Reshape targets computed from Shape at
 * run time): ONNX Runtime runs it at the export's batch and at 3x, matching PyTorch. */
static void check_dynamic_export(const char *name) {
    golden gd;
    REQUIRE(find_golden(name, &gd));
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", MODEL_DIR, name);
    sbt_onnx_model *m = NULL;
    REQUIRE(sbt_onnx_import(path, NULL, &m) == SBT_OK);
    REQUIRE(sbt_onnx_description(m) != NULL);
    int64_t nb = gd.in_shape[gd.batch_axis], n_in = numel(gd.in_ndim, gd.in_shape);
    int64_t n_out = numel(gd.out_ndim, gd.out_shape);
    int out_axis = !strcmp(sbt_onnx_layout(m), "TBC") ? 1 : 0, in = sbt_onnx_input(m),
        out = sbt_onnx_output(m);
    sbt_graph *g = NULL;
    REQUIRE(sbt_graph_instantiate(sbt_onnx_description(m), nb, 1, SBT_EXEC_INFER, &g) == SBT_OK);
    snprintf(path, sizeof path, "%s/%s.dynamic.onnx", MODEL_DIR, name);
    REQUIRE(sbt_onnx_export(g, in, out, path, NULL, NULL) == SBT_OK);
    snprintf(path, sizeof path, "%s/%s.in.f32", MODEL_DIR, name);
    float *x = read_f32(path, n_in);
    snprintf(path, sizeof path, "%s/%s.out.f32", MODEL_DIR, name);
    float *want = read_f32(path, n_out);
    snprintf(path, sizeof path, "%s/%s.dynamic.onnx", MODEL_DIR, name);
    for (int64_t b = nb; x && want && b <= 3 * nb; b += 2 * nb) {
        sbt_graph *gb = NULL; /* only for the input's shape at batch b */
        REQUIRE(sbt_graph_instantiate(sbt_onnx_description(m), b, 1, SBT_EXEC_INFER, &gb) == SBT_OK);
        float *xb = malloc((size_t)(n_in / nb * b) * sizeof *xb),
              *wb = malloc((size_t)(n_out / nb * b) * sizeof *wb);
        for (int64_t s = 0; s < b; s++) {
            copy_sample(x, nb, xb, b, gd.in_ndim, gd.in_shape, gd.batch_axis, s % nb, s);
            copy_sample(want, nb, wb, b, gd.out_ndim, gd.out_shape, out_axis, s % nb, s);
        }
        double err = ort_error(path, gb, in, xb, wb, n_out / nb * b);
        fprintf(stderr, "%-20s dynamic-batch export, ORT at batch %lld vs PyTorch: %.3g x scale\n", name,
                (long long)b, err);
        CHECK_MSG(err <= 1e-5, "%s at batch %lld", name, (long long)b);
        free(xb);
        free(wb);
        sbt_graph_free(gb);
    }
    free(x);
    free(want);
    sbt_graph_free(g);
    sbt_onnx_model_free(m);
}

static void test_dynamic_batch_export(void) {
    if (!have_ort()) return;
    check_dynamic_export("post_relu_op13");
    check_dynamic_export("pre_gelu_op17");
    check_dynamic_export("forecaster_op13");
    check_dynamic_export("paper_encoder_op17");
}

/* Native models (the paper's encoder from a config, forward-only graphs with frozen
 * sparse weights) exported and run in ONNX Runtime with their masks: the classifier
 * (BatchNorm, full attention, masked mean over steps) dense and SBT (ternary export),
 * the forecaster (Step-T attention, LayerNorm) dense and SBT. */
static void check_native_export(sbt_task task, sbt_weights weights, const char *tag) {
    sbt_config cfg = sbt_config_default(task);
    cfg.channels = 3, cfg.outputs = task == SBT_TASK_CLASSIFY ? 4 : 3, cfg.max_len = 8;
    cfg.d_model = 16, cfg.d_ff = 32, cfg.weights = weights;
    sbt_model *m = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    sbt_model_graph mg;
    REQUIRE(sbt_model_graph_build_infer(m, 2, 8, &mg) == SBT_OK);
    sbt_graph *g = mg.graph;
    float *x = sbt_graph_value(g, mg.x);
    for (int64_t k = 0; k < sbt_node_size(g, mg.x); k++) x[k] = (float)((k * 37) % 23) / 11.5f - 1.0f;
    char feeds[1024] = "--", path[512];
    int ids[2] = {mg.step_mask, mg.attn_mask};
    for (int k = 0; k < 2; k++) {
        if (ids[k] < 0 || !sbt_node_is_live(g, ids[k])) continue;
        float *v = sbt_graph_value(g, ids[k]);
        /* padding: sample 0 has 6 real steps, sample 1 has 7 (as sbt_model_graph_load sets the masks) */
        for (int64_t j = 0; j < sbt_node_size(g, ids[k]); j++) {
            int real = j % 8 < 6 + j / 8 % 2;
            v[j] = k == 0 ? (float)real : real ? 0.0f : -1e9f;
        }
        snprintf(path, sizeof path, "%s/native_%s.%s.f32", MODEL_DIR, tag, sbt_node_name(g, ids[k]));
        REQUIRE(write_f32(path, v, sbt_node_size(g, ids[k])));
        size_t len = strlen(feeds);
        len += (size_t)snprintf(feeds + len, sizeof feeds - len, " %s %s ", sbt_node_name(g, ids[k]), path);
        for (int d = 0; d < sbt_node_ndim(g, ids[k]); d++)
            len += (size_t)snprintf(feeds + len, sizeof feeds - len, "%s%lld", d ? "," : "",
                                    (long long)sbt_node_dim(g, ids[k], d));
    }
    REQUIRE(sbt_graph_forward(g, 0) == SBT_OK);
    int64_t n_out = sbt_node_size(g, mg.output);
    float *ours = malloc((size_t)n_out * sizeof *ours);
    memcpy(ours, sbt_graph_value(g, mg.output), (size_t)n_out * sizeof *ours);
    sbt_onnx_export_options eo = sbt_onnx_export_defaults();
    eo.ternary = weights == SBT_WEIGHTS_SBT;
    sbt_onnx_export_stats st = {0};
    snprintf(path, sizeof path, "%s/native_%s.onnx", MODEL_DIR, tag);
    CHECK_MSG(sbt_onnx_export(g, mg.x, mg.output, path, &eo, &st) == SBT_OK, "%s: %s", tag, sbt_last_error());
    double err = ort_error_feeds(path, g, mg.x, x, ours, n_out, feeds);
    fprintf(
        stderr,
        "native %-16s export: %zu bytes, %d ternary / %d float Linear weights, ORT vs libsbt %.3g x scale\n",
        tag, st.file_bytes, st.ternary_layers, st.float_layers, err);
    CHECK_MSG(err <= 1e-5, "%s", tag);
    CHECK(weights != SBT_WEIGHTS_SBT || st.ternary_layers > 0);
    free(ours);
    sbt_model_graph_free(&mg);
    sbt_model_free(m);
}

static void test_native_export(void) {
    if (!have_ort()) return;
    check_native_export(SBT_TASK_CLASSIFY, SBT_WEIGHTS_DENSE, "classifier");
    check_native_export(SBT_TASK_CLASSIFY, SBT_WEIGHTS_SBT, "classifier_sbt");
    check_native_export(SBT_TASK_FORECAST, SBT_WEIGHTS_DENSE, "forecaster");
    check_native_export(SBT_TASK_FORECAST, SBT_WEIGHTS_SBT, "forecaster_sbt");
}

/* Runs model m at the golden batch on `name`'s input; max error / scale vs PyTorch. */
static double model_error(sbt_model *m, const golden *gd, const char *name, int infer) {
    sbt_model_graph mg;
    int64_t nb = gd->in_shape[0], steps = gd->in_shape[1];
    if ((infer ? sbt_model_graph_build_infer(m, (int)nb, (int)steps, &mg)
               : sbt_model_graph_build(m, (int)nb, (int)steps, &mg)) != SBT_OK) {
        fprintf(stderr, "%s: %s\n", name, sbt_last_error());
        return 1e30;
    }
    char path[512];
    int64_t n_in = numel(gd->in_ndim, gd->in_shape), n_out = numel(gd->out_ndim, gd->out_shape);
    snprintf(path, sizeof path, "%s/%s.in.f32", MODEL_DIR, name);
    float *x = read_f32(path, n_in);
    snprintf(path, sizeof path, "%s/%s.out.f32", MODEL_DIR, name);
    float *want = read_f32(path, n_out);
    double err = 1e30;
    if (x && want && sbt_node_size(mg.graph, mg.x) == n_in) {
        memcpy(sbt_graph_value(mg.graph, mg.x), x, (size_t)n_in * sizeof *x);
        float *step = sbt_graph_value(mg.graph, mg.step_mask),
              *attn = sbt_graph_value(mg.graph, mg.attn_mask);
        for (int64_t k = 0; k < nb * steps; k++) step[k] = 1.0f, attn[k] = 0.0f;
        int32_t *labels = sbt_graph_data(mg.graph, mg.labels);
        for (int64_t b = 0; b < nb; b++) labels[b] = (int32_t)(b % gd->out_shape[1]);
        if (sbt_graph_forward(mg.graph, 0) == SBT_OK) {
            double scale = 0, e = 0;
            for (int64_t k = 0; k < n_out; k++) {
                scale = fmax(scale, fabs(want[k]));
                e = fmax(e, fabs((double)sbt_graph_value(mg.graph, mg.output)[k] - want[k]));
            }
            err = e / scale;
        }
        if (!infer) { /* the imported weights take gradients (recovery training) */
            memset(m->grads, 0, (size_t)m->n_values * sizeof *m->grads);
            double g2 = 0;
            if (sbt_graph_backward(mg.graph, mg.loss) == SBT_OK)
                for (int64_t k = 0; k < m->n_values; k++) g2 += (double)m->grads[k] * m->grads[k];
            if (!(g2 > 0)) err = 1e30;
        }
    }
    free(x);
    free(want);
    sbt_model_graph_free(&mg);
    return err;
}

/* Imported classifiers as sbt models: forward-only and training graphs give PyTorch's
 * logits, gradients reach the imported weights, and a saved and reloaded model file
 * gives them again. */
static void check_to_model(const char *name) {
    golden gd;
    REQUIRE(find_golden(name, &gd));
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", MODEL_DIR, name);
    sbt_onnx_model *om = NULL;
    REQUIRE(sbt_onnx_import(path, NULL, &om) == SBT_OK);
    sbt_model *m = NULL, *back = NULL;
    CHECK_MSG(sbt_onnx_to_model(om, SBT_TASK_CLASSIFY, &m) == SBT_OK, "%s: %s", name, sbt_last_error());
    sbt_onnx_model_free(om); /* the model owns copies of everything */
    if (!m) return;
    double e_infer = model_error(m, &gd, name, 1), e_train = model_error(m, &gd, name, 0);
    snprintf(path, sizeof path, "%s/%s.sbtm", MODEL_DIR, name);
    CHECK_MSG(sbt_model_save(m, path) == SBT_OK, "%s", sbt_last_error());
    CHECK_MSG(sbt_model_load(path, &back) == SBT_OK, "%s", sbt_last_error());
    double e_loaded = back ? model_error(back, &gd, name, 1) : 1e30;
    fprintf(stderr,
            "%-20s as an sbt model: %d tensors, %lld params; vs PyTorch %.3g (infer) %.3g (train) %.3g "
            "(reloaded) x scale\n",
            name, m->n_tensors, (long long)sbt_model_param_count(m), e_infer, e_train, e_loaded);
    CHECK(e_infer <= 1e-5 && e_train <= 1e-5 && e_loaded <= 1e-5);
    sbt_model_free(back);
    sbt_model_free(m);
}

static void test_onnx_to_model(void) {
    check_to_model("pre_gelu_op13");
    check_to_model("pre_gelu_op17");
    check_to_model("paper_encoder_op17");
}

int main(void) {
    RUN(test_post_relu);
    RUN(test_pre_gelu);
    RUN(test_batchnorm);
    RUN(test_forecaster);
    RUN(test_paper_encoder);
    RUN(test_wide);
    RUN(test_other_batch_size);
    RUN(test_symbolic_batch);
    RUN(test_refusals);
    RUN(test_truncated_and_corrupt);
    RUN(test_native_roundtrip);
    RUN(test_export_matches_ort);
    RUN(test_ternary_export);
    RUN(test_dynamic_batch_export);
    RUN(test_native_export);
    RUN(test_onnx_to_model);
    return check_summary();
}
