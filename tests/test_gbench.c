/* Google Benchmark JSON: the context keys, repetitions and aggregates with the values they
 * should hold, escaping of strings, an atomic write, and the statistics. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sbt/gbench.h"

static void test_stats(void) {
    double v[5] = {3, 1, 2, 5, 4};
    sbt_stats s = sbt_stats_of(v, 5);
    CHECK_NEAR(s.mean, 3.0, 1e-12);
    CHECK_NEAR(s.median, 3.0, 1e-12);
    CHECK_NEAR(s.stddev, sqrt(2.5), 1e-12);
    CHECK_NEAR(s.cv, sqrt(2.5) / 3.0, 1e-12);
    double w[4] = {4, 1, 3, 2};
    CHECK_NEAR(sbt_stats_of(w, 4).median, 2.5, 1e-12);
}

static const cJSON *find_entry(const cJSON *arr, const char *name) {
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (!strcmp(cJSON_GetObjectItem(e, "name")->valuestring, name)) return e;
    }
    return NULL;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void test_document(void) {
    sbt_gbench *b = NULL;
    REQUIRE(sbt_gbench_new("sbt-bench", &b) == SBT_OK);
    CHECK(sbt_gbench_context_string(b, "model", "a \"quoted\"\\path.sbtm") == SBT_OK);
    const char *names[2] = {"PAPI_TOT_CYC", "PAPI_L1_DCM"}, *why[2] = {"Event does not exist", "x"};
    CHECK(sbt_gbench_context_pairs(b, "papi_refused", names, why, 2) == SBT_OK);
    double real[3] = {1e-3, 2e-3, 3e-3}, cpu[3] = {1e-3, 1e-3, 4e-3}, clock[3] = {10, 20, 60};
    sbt_gbench_counter counters[2] = {{"macs", 1234, NULL}, {"perf::TASK-CLOCK", 0, clock}};
    sbt_gbench_run r = {.name = "forward/m/threads:1",
                        .family_index = -1,
                        .threads = 1,
                        .iterations = 10,
                        .repetitions = 3,
                        .real_seconds = real,
                        .cpu_seconds = cpu,
                        .time_unit = "us",
                        .counters = counters,
                        .n_counters = 2};
    REQUIRE(sbt_gbench_add_run(b, &r) == SBT_OK);
    r.name = "forward/m/threads:2";
    REQUIRE(sbt_gbench_add_run(b, &r) == SBT_OK);
    r.repetitions = 0;
    CHECK(sbt_gbench_add_run(b, &r) == SBT_ERR_ARG);
    char *text = sbt_gbench_text(b);
    REQUIRE(text);
    cJSON *doc = cJSON_Parse(text);
    REQUIRE(doc);
    const cJSON *ctx = cJSON_GetObjectItem(doc, "context"), *arr = cJSON_GetObjectItem(doc, "benchmarks");
    const char *keys[] = {"date",
                          "host_name",
                          "executable",
                          "num_cpus",
                          "mhz_per_cpu",
                          "cpu_scaling_enabled",
                          "caches",
                          "load_avg",
                          "library_version",
                          "library_build_type",
                          "json_schema_version"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        CHECK_MSG(cJSON_HasObjectItem(ctx, keys[i]), "%s", keys[i]);
    CHECK(num(ctx, "json_schema_version") == 1);
    CHECK(!strcmp(cJSON_GetObjectItem(ctx, "model")->valuestring, "a \"quoted\"\\path.sbtm"));
    CHECK(!strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(ctx, "papi_refused"), "PAPI_TOT_CYC")->valuestring,
                  "Event does not exist"));
    CHECK(cJSON_GetArraySize(arr) == 2 * (3 + 4));
    const cJSON *first = cJSON_GetArrayItem(arr, 0);
    CHECK(!strcmp(cJSON_GetObjectItem(first, "run_type")->valuestring, "iteration"));
    CHECK(num(first, "repetition_index") == 0 && num(first, "iterations") == 10);
    CHECK_NEAR(num(first, "real_time"), 1000.0, 1e-9); /* 1 ms in us */
    CHECK(num(first, "macs") == 1234 && num(first, "perf::TASK-CLOCK") == 10);
    const cJSON *mean = find_entry(arr, "forward/m/threads:1_mean"),
                *cv = find_entry(arr, "forward/m/threads:1_cv");
    const cJSON *median = find_entry(arr, "forward/m/threads:2_median");
    REQUIRE(mean && cv && median);
    CHECK(!strcmp(cJSON_GetObjectItem(mean, "aggregate_name")->valuestring, "mean"));
    CHECK(!strcmp(cJSON_GetObjectItem(mean, "run_name")->valuestring, "forward/m/threads:1"));
    CHECK_NEAR(num(mean, "real_time"), 2000.0, 1e-9);
    CHECK_NEAR(num(mean, "perf::TASK-CLOCK"), 30.0, 1e-9);
    CHECK(!strcmp(cJSON_GetObjectItem(cv, "aggregate_unit")->valuestring, "percentage"));
    CHECK_NEAR(num(cv, "real_time"), 0.5, 1e-12); /* stddev 1 ms over mean 2 ms */
    CHECK(num(median, "family_index") == 1 && num(mean, "family_index") == 0);
    cJSON_Delete(doc);
    free(text);

    const char *path = "test_gbench_out.json";
    REQUIRE(sbt_gbench_write(b, path) == SBT_OK);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (f) fclose(f);
    remove(path);
    CHECK(sbt_gbench_write(b, "/nonexistent-dir/x.json") == SBT_ERR_IO);
    sbt_gbench_free(b);
}

int main(void) {
    RUN(test_stats);
    RUN(test_document);
    return check_summary();
}
