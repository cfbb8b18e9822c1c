/* Inference latency per window and arena bytes per window, dense vs SBT at keep 0.5, on
 * two of the paper's shapes, through two paths of the same model:
 *   train-graph  the training graph run in eval mode (what every evaluation did before
 *                the forward-only graph: a top-k per sparse layer on every call, gradient
 *                and saved-state buffers allocated);
 *   frozen       sbt_model_graph_build_infer: sparse weights frozen into constants once,
 *                forward-only, buffers reused by liveness.
 * Both run the same fp32 kernels (OpenBLAS sgemm), 1 thread. The ternary kernels come
 * with the runtime. Writes Google Benchmark JSON (cJSON) and a Markdown table.
 *
 * Usage: infer_latency [--min-time S] [--json FILE] [--md FILE] */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbt/kernels.h"
#include "sbt/model.h"
#include "sbt/rng.h"
#include "sbt/runtime.h"

static double clock_seconds(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "infer_latency: %s: %s\n", what, sbt_last_error());
    exit(1);
}

typedef struct {
    const char *name;
    sbt_config cfg;
    int length;
} workload;

/* JapaneseVowels (C 12, d 32, h 2, L 2, F 256, w 29, BatchNorm, 9 classes) and SMD
 * (C 38, d 76, h 2, L 2, F 256, w 200, Step-T; no norm for SBT, LayerNorm dense), as in
 * ../shared/paper-configs.md. */
static workload make_workload(int smd, int sbt) {
    workload w;
    sbt_config c = sbt_config_default(smd ? SBT_TASK_ANOMALY : SBT_TASK_CLASSIFY);
    c.channels = smd ? 38 : 12;
    c.outputs = smd ? 38 : 9;
    c.max_len = smd ? 200 : 29;
    c.d_model = smd ? 76 : 32;
    c.heads = 2;
    c.layers = 2;
    c.d_ff = 256;
    c.seed = 1;
    if (smd) c.norm = sbt ? SBT_NORM_NONE : SBT_NORM_LAYER;
    c.weights = sbt ? SBT_WEIGHTS_SBT : SBT_WEIGHTS_DENSE;
    c.keep = sbt ? 0.5f : 1.0f;
    w.cfg = c;
    w.length = c.max_len;
    w.name = smd ? (sbt ? "SMD/sbt-keep0.5" : "SMD/dense")
                 : (sbt ? "JapaneseVowels/sbt-keep0.5" : "JapaneseVowels/dense");
    return w;
}

/* Wall time and this process's CPU time: on a shared machine the CPU time is the steadier
 * figure (1 thread: it is the time the forward ran), so ratios are taken from it. */
typedef struct {
    double seconds_per_window;     /* wall, median over repetitions */
    double cpu_seconds_per_window; /* process CPU time, median over repetitions */
    double arena_bytes_per_window;
    int repetitions;
    long iterations;
} measurement;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over 9 repetitions of at least min_time / 9 seconds each. */
static measurement time_forward(sbt_model *m, int frozen, sbt_weight_kernel kernel, int batch, int length,
                                double min_time) {
    sbt_model_graph mg;
    m->kernel = kernel;
    sbt_status st = frozen ? sbt_model_graph_build_infer(m, batch, length, &mg)
                           : sbt_model_graph_build(m, batch, length, &mg);
    if (st) die("graph");
    sbt_rng r;
    sbt_rng_seed(&r, 3);
    float *x = sbt_graph_value(mg.graph, mg.x), *step = sbt_graph_value(mg.graph, mg.step_mask);
    for (int64_t i = 0; i < (int64_t)batch * length * m->cfg.channels; i++)
        x[i] = sbt_rng_uniform_range(&r, -1, 1);
    for (int64_t i = 0; i < (int64_t)batch * length; i++) step[i] = 1.0f;
    enum { REPS = 9 };
    double per[REPS], cpu[REPS];
    long total = 0;
    for (int warm = 0; warm < 3; warm++) sbt_graph_forward_until(mg.graph, 0, mg.output);
    for (int rep = 0; rep < REPS; rep++) {
        long n = 0;
        double t0 = clock_seconds(CLOCK_MONOTONIC), c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID), t;
        do {
            if (sbt_graph_forward_until(mg.graph, 0, mg.output)) die("forward");
            n++;
            t = clock_seconds(CLOCK_MONOTONIC) - t0;
        } while (t < min_time / REPS);
        per[rep] = t / (double)n / batch;
        cpu[rep] = (clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0) / (double)n / batch;
        total += n;
    }
    qsort(per, REPS, sizeof per[0], cmp_double);
    qsort(cpu, REPS, sizeof cpu[0], cmp_double);
    measurement out = {per[REPS / 2], cpu[REPS / 2], (double)sbt_graph_arena_bytes(mg.graph) / batch, REPS,
                       total};
    sbt_model_graph_free(&mg);
    return out;
}

static const char *fmt_us(measurement m, char *buf) {
    snprintf(buf, 32, "%.1f", m.cpu_seconds_per_window * 1e6);
    return buf;
}

static cJSON *context_json(void) {
    cJSON *c = cJSON_CreateObject();
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    time_t t = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S%z", localtime(&t));
    cJSON_AddStringToObject(c, "date", date);
    cJSON_AddStringToObject(c, "host_name", host);
    cJSON_AddStringToObject(c, "executable", "bench/infer_latency");
    cJSON_AddNumberToObject(c, "num_cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
    cJSON_AddStringToObject(c, "library_version", sbt_version());
    cJSON_AddStringToObject(c, "library_build_type", "release");
    cJSON_AddNumberToObject(c, "json_schema_version", 1);
    cJSON_AddNumberToObject(c, "threads", 1);
    return c;
}

static void add_benchmark(cJSON *list, const char *name, const measurement *me) {
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddStringToObject(b, "run_name", name);
    cJSON_AddStringToObject(b, "run_type", "aggregate");
    cJSON_AddStringToObject(b, "aggregate_name", "median");
    cJSON_AddNumberToObject(b, "repetitions", me->repetitions);
    cJSON_AddNumberToObject(b, "threads", 1);
    cJSON_AddNumberToObject(b, "iterations", (double)me->iterations);
    cJSON_AddNumberToObject(b, "real_time", me->seconds_per_window * 1e6);
    cJSON_AddNumberToObject(b, "cpu_time", me->cpu_seconds_per_window * 1e6);
    cJSON_AddStringToObject(b, "time_unit", "us");
    cJSON_AddNumberToObject(b, "arena_bytes_per_window", me->arena_bytes_per_window);
    cJSON_AddItemToArray(list, b);
}

int main(int argc, char **argv) {
    double min_time = 2.0;
    const char *json_path = "bench/results/infer_latency.json", *md_path = "bench/results/infer_latency.md";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--min-time") && i + 1 < argc)
            min_time = atof(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json_path = argv[++i];
        else if (!strcmp(argv[i], "--md") && i + 1 < argc)
            md_path = argv[++i];
        else {
            fprintf(stderr, "usage: infer_latency [--min-time S] [--json FILE] [--md FILE]\n");
            return 2;
        }
    }
    sbt_set_threads(1);
    cJSON *root = cJSON_CreateObject(), *list = cJSON_CreateArray();
    cJSON_AddItemToObject(root, "context", context_json());
    cJSON_AddItemToObject(root, "benchmarks", list);
    FILE *md = fopen(md_path, "w");
    if (!md) {
        fprintf(stderr, "infer_latency: cannot write %s\n", md_path);
        return 1;
    }
    fprintf(
        md,
        "# Inference latency per window (1 thread)\n\n"
        "`bench/run_infer_latency.sh`; median of 9 repetitions; CPU time of the process (1 thread), wall "
        "time "
        "in the JSON. train-graph: the training graph in eval mode (top-k per sparse layer on every call). "
        "frozen: forward-only graph with frozen weights.\n\n"
        "| model | batch | train-graph us/window | frozen us/window | speed-up | frozen ternary f32 us | "
        "frozen "
        "ternary int8 us | train-graph arena B/window | frozen arena B/window "
        "|\n|---|---|---|---|---|---|---|---|---|\n");
    double frozen_b1[2][2] = {{0}}, ternary_b1[2][2] = {{0}};
    char b1[32], b2[32];
    for (int smd = 0; smd < 2; smd++)
        for (int sbt = 0; sbt < 2; sbt++) {
            workload w = make_workload(smd, sbt);
            sbt_model *m = NULL;
            if (sbt_model_new(&w.cfg, &m)) die(w.name);
            int batches[2] = {1, 64};
            for (int bi = 0; bi < 2; bi++) {
                measurement old = time_forward(m, 0, SBT_KERNEL_DENSE, batches[bi], w.length, min_time);
                measurement now = time_forward(m, 1, SBT_KERNEL_DENSE, batches[bi], w.length, min_time);
                measurement tf = now, ti = now;
                if (sbt) {
                    tf = time_forward(m, 1, SBT_KERNEL_TERNARY_F32, batches[bi], w.length, min_time);
                    ti = time_forward(m, 1, SBT_KERNEL_TERNARY_I8, batches[bi], w.length, min_time);
                }
                char name[128];
                snprintf(name, sizeof name, "%s/batch%d/train-graph", w.name, batches[bi]);
                add_benchmark(list, name, &old);
                snprintf(name, sizeof name, "%s/batch%d/frozen", w.name, batches[bi]);
                add_benchmark(list, name, &now);
                if (sbt) {
                    snprintf(name, sizeof name, "%s/batch%d/frozen-ternary-f32", w.name, batches[bi]);
                    add_benchmark(list, name, &tf);
                    snprintf(name, sizeof name, "%s/batch%d/frozen-ternary-i8", w.name, batches[bi]);
                    add_benchmark(list, name, &ti);
                }
                if (bi == 0) frozen_b1[smd][sbt] = now.cpu_seconds_per_window;
                if (bi == 0 && sbt)
                    ternary_b1[smd][0] = tf.cpu_seconds_per_window,
                    ternary_b1[smd][1] = ti.cpu_seconds_per_window;
                fprintf(md, "| %s | %d | %.1f | %.1f | %.2fx | %s | %s | %.0f | %.0f |\n", w.name,
                        batches[bi], old.cpu_seconds_per_window * 1e6, now.cpu_seconds_per_window * 1e6,
                        old.cpu_seconds_per_window / now.cpu_seconds_per_window, sbt ? fmt_us(tf, b1) : "-",
                        sbt ? fmt_us(ti, b2) : "-", old.arena_bytes_per_window, now.arena_bytes_per_window);
                printf("%-28s batch %2d: train-graph %8.1f us, frozen %8.1f us CPU per window\n", w.name,
                       batches[bi], old.cpu_seconds_per_window * 1e6, now.cpu_seconds_per_window * 1e6);
                fflush(stdout);
            }
            sbt_model_free(m);
        }
    fprintf(md,
            "\nSBT keep 0.5 / dense, frozen, batch 1 (goal <= 1 with the same fp32 kernels): JapaneseVowels "
            "%.2f, SMD %.2f.\n",
            frozen_b1[0][1] / frozen_b1[0][0], frozen_b1[1][1] / frozen_b1[1][0]);
    fprintf(md,
            "SBT keep 0.5 on the ternary kernels / dense sgemm, batch 1: JapaneseVowels f32 %.2f, int8 %.2f; "
            "SMD f32 "
            "%.2f, int8 %.2f.\n",
            ternary_b1[0][0] / frozen_b1[0][0], ternary_b1[0][1] / frozen_b1[0][0],
            ternary_b1[1][0] / frozen_b1[1][0], ternary_b1[1][1] / frozen_b1[1][0]);
    fclose(md);
    char *text = cJSON_Print(root);
    FILE *f = fopen(json_path, "w");
    if (!f || fputs(text, f) < 0) {
        fprintf(stderr, "infer_latency: cannot write %s\n", json_path);
        return 1;
    }
    fclose(f);
    free(text);
    cJSON_Delete(root);
    return 0;
}
