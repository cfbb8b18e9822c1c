/* fuzz_onnx.c - libFuzzer target for the ONNX importer (sbt_onnx_import_bytes; see
 * README.md).
 *
 * Any input must either be refused with a message naming the file, or import into a
 * finalised graph that runs forward on a zero input (and, when the import found a
 * description with a symbolic batch, that description instantiated at batch 3 runs
 * too); a crash, a sanitizer report, a refusal without the file's name or a failing
 * forward pass is a finding.
 *
 * Built with -DFUZZ_SEED_MAIN instead, this file is a small program that writes the
 * seed corpus into the directory given: a native graph exported as float32 and as
 * ternary ONNX, and the PyTorch test models (tests/golden/onnx_models.py, written by
 * ctest's onnx_models fixture) when they are there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/graph.h"
#include "sbt/onnx.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    sbt_onnx_options opt = sbt_onnx_defaults();
    opt.batch = 2;
    opt.length = 3;
    sbt_onnx_model *m = NULL;
    sbt_status st = sbt_onnx_import_bytes(data, size, "fuzz.onnx", &opt, &m);
    if (st != SBT_OK) {
        if (m || !strstr(sbt_last_error(), "fuzz.onnx")) abort();
        return 0;
    }
    sbt_graph *g = sbt_onnx_graph(m);
    int in = sbt_onnx_input(m), out = sbt_onnx_output(m);
    if (in < 0 || out < 0 || !sbt_graph_value(g, in) || !sbt_graph_value(g, out)) abort();
    memset(sbt_graph_value(g, in), 0, (size_t)sbt_node_size(g, in) * sizeof(float));
    if (sbt_graph_forward(g, 0) != SBT_OK) abort();
    /* A description with a symbolic batch must instantiate at another batch and run. */
    const sbt_graph *d = sbt_onnx_description(m);
    sbt_graph *g3 = NULL;
    if (d) {
        if (sbt_graph_instantiate(d, 3, 3, SBT_EXEC_INFER, &g3) != SBT_OK) abort();
        memset(sbt_graph_value(g3, in), 0, (size_t)sbt_node_size(g3, in) * sizeof(float));
        if (sbt_graph_forward(g3, 0) != SBT_OK) abort();
        sbt_graph_free(g3);
    }
    sbt_onnx_model_free(m);
    return 0;
}

#ifdef FUZZ_SEED_MAIN
#include <dirent.h>

/* Copies the test models (tests/golden/onnx_models.py, written by ctest's onnx_models
 * fixture) under 256 KB from $SBT_ONNX_MODELS or build/tests/onnx_models beside this
 * source; none there is not an error (the native seeds remain). */
static int copy_test_models(const char *corpus) {
    char dir[4096];
    const char *env = getenv("SBT_ONNX_MODELS");
    if (env && *env) {
        snprintf(dir, sizeof dir, "%s", env);
    } else {
        snprintf(dir, sizeof dir, "%s", __FILE__);
        char *cut = strstr(dir, "/tests/fuzz/fuzz_onnx.c");
        if (!cut) return 0;
        strcpy(cut, "/build/tests/onnx_models");
    }
    DIR *d = opendir(dir);
    if (!d) return 0;
    int copied = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".onnx")) continue;
        char src[8192], dst[8192];
        snprintf(src, sizeof src, "%s/%s", dir, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", corpus, e->d_name);
        FILE *in = fopen(src, "rb"), *out = NULL;
        static unsigned char buf[1 << 18];
        size_t len = in ? fread(buf, 1, sizeof buf, in) : 0;
        if (in && len < sizeof buf && (out = fopen(dst, "wb"))) copied += fwrite(buf, 1, len, out) == len;
        if (in) fclose(in);
        if (out) fclose(out);
    }
    closedir(d);
    return copied;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    /* x (2, 3, 4) -> Linear (ternary weight) -> LayerNorm -> ReLU -> Softmax */
    float w[5 * 4], b[5] = {0.1f, -0.2f, 0.3f, 0, 0.5f}, gamma[5] = {1, 1, 2, 1, 1}, beta[5] = {0};
    for (int k = 0; k < 20; k++) w[k] = k % 3 == 0 ? 0.0f : (k % 2 ? 0.25f : -0.25f);
    sbt_graph *g = sbt_graph_new();
    int x = sbt_input(g, "x", 3, (int64_t[]){2, 3, 4});
    int W = sbt_param(g, "w", 2, (int64_t[]){5, 4}, w, NULL),
        B = sbt_param(g, "b", 1, (int64_t[]){5}, b, NULL);
    int G = sbt_param(g, "gamma", 1, (int64_t[]){5}, gamma, NULL);
    int Z = sbt_param(g, "beta", 1, (int64_t[]){5}, beta, NULL);
    int y = sbt_softmax(g, sbt_relu(g, sbt_layernorm(g, sbt_linear(g, x, W, B), G, Z, 1e-5f)), -1);
    int bad = sbt_graph_finalize(g) != SBT_OK;
    sbt_onnx_export_options eo = sbt_onnx_export_defaults();
    char path[4096];
    for (int ternary = 0; !bad && ternary < 2; ternary++) {
        eo.ternary = ternary;
        snprintf(path, sizeof path, "%s/native%s.onnx", argv[1], ternary ? "_ternary" : "");
        bad |= sbt_onnx_export(g, x, y, path, &eo, NULL) != SBT_OK;
    }
    if (bad) fprintf(stderr, "%s\n", sbt_last_error());
    if (!bad) fprintf(stderr, "fuzz_onnx_seeds: 2 native seeds, %d test models\n", copy_test_models(argv[1]));
    sbt_graph_free(g);
    return bad;
}
#endif
