/* Forward timing and the peer dump (sbt/bench.h) on a small model: repetitions with times
 * and a software counter that really counts, seeded inputs, and a dump whose tensors hold
 * the graph's own values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sbt/bench.h"
#include "sbt/model.h"

static sbt_model *small_model(void) {
    sbt_config c = sbt_config_default(SBT_TASK_CLASSIFY);
    c.channels = 3, c.outputs = 2, c.max_len = 10, c.d_model = 8, c.d_ff = 16, c.layers = 1;
    c.weights = SBT_WEIGHTS_SBT, c.keep = 0.5f;
    sbt_model *m = NULL;
    return sbt_model_new(&c, &m) == SBT_OK ? m : NULL;
}

static void test_forward_timing(void) {
    sbt_model *m = small_model();
    REQUIRE(m);
    sbt_model_graph mg;
    REQUIRE(sbt_model_graph_build_infer(m, 2, 10, &mg) == SBT_OK);
    sbt_bench_fill_inputs(&mg, 7);
    float first = sbt_graph_value(mg.graph, mg.x)[0];
    sbt_bench_fill_inputs(&mg, 7);
    CHECK(sbt_graph_value(mg.graph, mg.x)[0] == first && first >= -1.0f && first < 1.0f);
    sbt_counters *k = NULL;
    REQUIRE(sbt_counters_new("perf::TASK-CLOCK", &k) == SBT_OK);
    sbt_forward_timing t;
    REQUIRE(sbt_bench_forward(&mg, 4, 0.01, k, &t) == SBT_OK);
    CHECK(t.repetitions == 4 && t.iterations >= 1 && t.n_events == sbt_counters_count(k));
    for (int rep = 0; rep < 4; rep++) {
        CHECK(t.real_seconds[rep] > 0 && t.cpu_seconds[rep] >= 0);
        /* a repetition lasts at least about min_time */
        CHECK(t.real_seconds[rep] * (double)t.iterations > 0.005);
        if (t.n_events) CHECK(t.events[rep] > 0); /* task clock, ns per call */
    }
    sbt_forward_timing_free(&t);
    CHECK(sbt_bench_forward(&mg, 0, 0.01, NULL, &t) == SBT_ERR_ARG);
    REQUIRE(sbt_bench_forward(&mg, 1, 0.0, NULL, &t) == SBT_OK); /* no counters */
    CHECK(t.n_events == 0 && t.iterations == 1);
    sbt_forward_timing_free(&t);
    sbt_counters_free(k);
    sbt_model_graph_free(&mg);
    sbt_model_free(m);
}

static float *read_f32(const char *path, long n) {
    FILE *f = fopen(path, "rb");
    float *v = malloc((size_t)n * sizeof *v);
    if (!f || !v || fread(v, sizeof *v, (size_t)n, f) != (size_t)n) {
        free(v);
        v = NULL;
    }
    if (f) fclose(f);
    return v;
}

static void test_dump(void) {
    sbt_model *m = small_model();
    REQUIRE(m);
    sbt_model_graph mg;
    REQUIRE(sbt_model_graph_build_infer(m, 1, 10, &mg) == SBT_OK);
    sbt_bench_fill_inputs(&mg, 1);
    REQUIRE(sbt_graph_forward_until(mg.graph, 0, mg.output) == SBT_OK);
    char dir[] = "test_bench_dump_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char sub[64], path[128], line[256];
    snprintf(sub, sizeof sub, "%s/m", dir);
    REQUIRE(sbt_bench_dump(m, &mg, sub) == SBT_OK);
    snprintf(path, sizeof path, "%s/manifest.txt", sub);
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    int effective = 0, input = 0;
    while (fgets(line, sizeof line, f)) {
        effective += strstr(line, ".effective ") != NULL;
        input += !strncmp(line, "input.x 1 10 3", 14);
    }
    fclose(f);
    CHECK(effective == 8 && input == 1); /* input, q, k, v, out, ff1, ff2, head */
    snprintf(path, sizeof path, "%s/output.ours.f32", sub);
    float *out = read_f32(path, 2);
    CHECK(out && out[0] == sbt_graph_value(mg.graph, mg.output)[0] &&
          out[1] == sbt_graph_value(mg.graph, mg.output)[1]);
    free(out);
    snprintf(path, sizeof path, "%s/head.effective.f32", sub);
    float *head = read_f32(path, 16); /* head (2, 8) at keep 0.5: 8 entries of +-alpha */
    REQUIRE(head);
    int nonzero = 0, same_magnitude = 1;
    float alpha = 0.0f;
    for (int i = 0; i < 16; i++) {
        if (head[i] == 0.0f) continue;
        if (!nonzero++) alpha = fabsf(head[i]);
        same_magnitude &= fabsf(head[i]) == alpha;
    }
    CHECK(nonzero == 8 && same_magnitude && alpha > 0.0f);
    free(head);
    CHECK(sbt_bench_dump(m, &mg, "/nonexistent-dir/x") == SBT_ERR_IO);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    sbt_model_graph_free(&mg);
    sbt_model_free(m);
}

int main(void) {
    RUN(test_forward_timing);
    RUN(test_dump);
    return check_summary();
}
