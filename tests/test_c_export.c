/* The C-source export: the generated files compile as strict C99
 * (-std=c99 -Wall -Wextra -Werror -pedantic) and give the runtime's outputs (sbt_predict on
 * sgemm) within 1e-5 of the output scale, for classifiers (BatchNorm, padding, full and
 * Q/K/V-mask attention) and forecasters (Step-T, LayerNorm, the last-step frame), dense
 * and sparse binary; ternary layers are written as base-3 codes (5 a byte). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sbt/c_export.h"
#include "sbt/model.h"
#include "sbt/predict.h"
#include "sbt/rng.h"
#include "tiny_model.h"

static const char *MAIN_C = "#include <stdio.h>\n"
                            "#include \"m.h\"\n"
                            "int main(int argc, char **argv) {\n"
                            "    static float window[M_LENGTH * M_CHANNELS], out[M_OUTPUTS];\n"
                            "    int steps = 0;\n"
                            "    if (argc != 2 || sscanf(argv[1], \"%d\", &steps) != 1) return 2;\n"
                            "    for (int i = 0; i < steps * M_CHANNELS; i++)\n"
                            "        if (scanf(\"%f\", &window[i]) != 1) return 3;\n"
                            "    if (m_predict(window, steps, out)) return 4;\n"
                            "    for (int k = 0; k < M_OUTPUTS; k++) printf(\"%.9g\\n\", out[k]);\n"
                            "    return 0;\n"
                            "}\n";

/* Exports m into dir, builds it with main.c, runs it on window; 0 on success. */
static int run_generated(sbt_model *m, const char *dir, const float *window, int steps, float *out,
                         sbt_c_export_stats *stats) {
    char c_path[512], h_path[512], cmd[2048];
    snprintf(c_path, sizeof c_path, "%s/m.c", dir);
    snprintf(h_path, sizeof h_path, "%s/m.h", dir);
    sbt_c_export_options o = {.prefix = "m"};
    if (sbt_c_export(m, &o, c_path, h_path, stats) != SBT_OK) {
        fprintf(stderr, "export: %s\n", sbt_last_error());
        return -1;
    }
    snprintf(cmd, sizeof cmd, "%s/main.c", dir);
    FILE *f = fopen(cmd, "w");
    if (!f) return -1;
    fputs(MAIN_C, f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 %s/m.c %s/main.c -lm -o %s/prog 2>&1", dir, dir,
             dir);
    if (system(cmd) != 0) return -1;
    snprintf(cmd, sizeof cmd, "%s/prog %d > %s/out.txt < %s/in.txt", dir, steps, dir, dir);
    snprintf(c_path, sizeof c_path, "%s/in.txt", dir);
    f = fopen(c_path, "w");
    for (int i = 0; f && i < steps * m->cfg.channels; i++) fprintf(f, "%.9g\n", window[i]);
    if (f) fclose(f);
    if (system(cmd) != 0) return -1;
    snprintf(c_path, sizeof c_path, "%s/out.txt", dir);
    f = fopen(c_path, "r");
    int n = 0;
    while (f && n < m->cfg.outputs && fscanf(f, "%f", &out[n]) == 1) n++;
    if (f) fclose(f);
    return n == m->cfg.outputs ? 0 : -1;
}

static void test_generated_matches_runtime(void) {
    const sbt_config cfgs[] = {tiny_config(SBT_TASK_CLASSIFY, SBT_WEIGHTS_SBT, SBT_ATTN_FULL),
                               tiny_config(SBT_TASK_CLASSIFY, SBT_WEIGHTS_DENSE, SBT_ATTN_QKV_MASK),
                               tiny_config(SBT_TASK_FORECAST, SBT_WEIGHTS_SBT, SBT_ATTN_STEP_T),
                               tiny_config(SBT_TASK_ANOMALY, SBT_WEIGHTS_DENSE, SBT_ATTN_STEP_T)};
    char dir[] = "/tmp/sbt-cexport-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    for (int c = 0; c < 4; c++) {
        sbt_model *m = NULL;
        REQUIRE(sbt_model_new(&cfgs[c], &m) == SBT_OK);
        sbt_rng r;
        sbt_rng_seed(&r, 40 + (uint64_t)c);
        float *mean = sbt_model_data(m, "data.mean"), *std = sbt_model_data(m, "data.std");
        for (int k = 0; k < 3; k++)
            mean[k] = sbt_rng_uniform_range(&r, -1, 1), std[k] = sbt_rng_uniform_range(&r, 0.5f, 2);
        int steps = m->cfg.task == SBT_TASK_CLASSIFY ? 9 : 11; /* a padded series; a forecast window */
        float window[12 * 3], want[4], got[4];
        for (int i = 0; i < steps * 3; i++) window[i] = sbt_rng_uniform_range(&r, -3, 3);
        sbt_predictor *p = NULL;
        sbt_predict_options po = {.kernel = SBT_KERNEL_DENSE};
        REQUIRE(sbt_predictor_new(m, &po, &p) == SBT_OK);
        REQUIRE(sbt_predict(p, window, steps, want) == SBT_OK);
        sbt_predictor_free(p);
        sbt_c_export_stats st;
        REQUIRE(run_generated(m, dir, window, steps, got, &st) == 0);
        double scale = 1e-6;
        for (int k = 0; k < m->cfg.outputs; k++) scale = fmax(scale, fabs(want[k]));
        for (int k = 0; k < m->cfg.outputs; k++)
            CHECK_MSG(fabs(got[k] - want[k]) <= 1e-5 * scale, "config %d output %d: C %.9g, runtime %.9g", c,
                      k, got[k], want[k]);
        int sbt = cfgs[c].weights == SBT_WEIGHTS_SBT;
        CHECK(sbt ? st.ternary_layers > 0 && st.float_layers == 0 : st.ternary_layers == 0);
        printf("config %d: %d ternary and %d float layers, %zu bytes of weights, %zu bytes of arena\n", c,
               st.ternary_layers, st.float_layers, st.weight_bytes, st.arena_bytes);
        sbt_model_free(m);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

static void test_refusals(void) {
    sbt_config c = tiny_config(SBT_TASK_CLASSIFY, SBT_WEIGHTS_DENSE, SBT_ATTN_FULL);
    sbt_model *m = NULL;
    REQUIRE(sbt_model_new(&c, &m) == SBT_OK);
    char dir[] = "/tmp/sbt-cexport-bad-XXXXXX", c_path[128], h_path[128];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(h_path, sizeof h_path, "%s/x.h", dir);
    snprintf(c_path, sizeof c_path, "%s/x.c", dir);
    sbt_c_export_options o = {.prefix = "9bad"};
    CHECK(sbt_c_export(m, &o, c_path, h_path, NULL) == SBT_ERR_ARG && strstr(sbt_last_error(), "identifier"));
    CHECK(access(h_path, F_OK) != 0 && access(c_path, F_OK) != 0);
    /* the header can be written, the source cannot: the header written first is removed again */
    snprintf(c_path, sizeof c_path, "%s/missing/x.c", dir);
    o.prefix = "ok";
    CHECK(sbt_c_export(m, &o, c_path, h_path, NULL) != SBT_OK);
    CHECK(access(h_path, F_OK) != 0);
    CHECK(rmdir(dir) == 0); /* empty: nothing left behind */
    sbt_model_free(m);
}

int main(void) {
    RUN(test_generated_matches_runtime);
    RUN(test_refusals);
    return check_summary();
}
