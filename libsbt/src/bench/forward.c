/* Forward timing with counters, and the dump a peer needs to run the same model
 * (sbt/bench.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sbt/bench.h"
#include "sbt/container.h"
#include "sbt/model.h"
#include "sbt/onnx.h"
#include "sbt/rng.h"

static double now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sbt_bench_fill_inputs(sbt_model_graph *mg, uint64_t seed) {
    sbt_rng r;
    sbt_rng_seed(&r, seed);
    float *x = sbt_graph_value(mg->graph, mg->x), *step = sbt_graph_value(mg->graph, mg->step_mask),
          *attn = sbt_graph_value(mg->graph, mg->attn_mask);
    int64_t nx = sbt_node_size(mg->graph, mg->x), nt = (int64_t)mg->batch * mg->length;
    for (int64_t i = 0; x && i < nx; i++) x[i] = 2.0f * sbt_rng_uniform(&r) - 1.0f;
    for (int64_t i = 0; i < nt; i++) { /* a forward-only graph drops the masks nothing reads */
        if (step) step[i] = 1.0f;
        if (attn) attn[i] = 0.0f;
    }
}

static sbt_status run_calls(sbt_model_graph *mg, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        sbt_status st = sbt_graph_forward_until(mg->graph, 0, mg->output);
        if (st) return st;
    }
    return SBT_OK;
}

void sbt_forward_timing_free(sbt_forward_timing *t) {
    if (!t) return;
    free(t->real_seconds);
    free(t->cpu_seconds);
    free(t->events);
    memset(t, 0, sizeof *t);
}

/* One repetition: `iterations` calls with the counters around them. */
static sbt_status repetition(sbt_model_graph *mg, sbt_counters *k, int rep, sbt_forward_timing *t) {
    long long v[SBT_COUNTERS_MAX];
    sbt_status st = k ? sbt_counters_start(k) : SBT_OK;
    double r0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    if (!st) st = run_calls(mg, t->iterations);
    double r1 = now(CLOCK_MONOTONIC), c1 = now(CLOCK_PROCESS_CPUTIME_ID);
    if (!st && k) st = sbt_counters_stop(k, v);
    t->real_seconds[rep] = (r1 - r0) / (double)t->iterations;
    t->cpu_seconds[rep] = (c1 - c0) / (double)t->iterations;
    for (int e = 0; !st && e < t->n_events; e++)
        t->events[e * t->repetitions + rep] = (double)v[e] / (double)t->iterations;
    return st;
}

sbt_status sbt_bench_forward(sbt_model_graph *mg, int repetitions, double min_time, sbt_counters *k,
                             sbt_forward_timing *t) {
    memset(t, 0, sizeof *t);
    if (repetitions < 1 || !(min_time >= 0))
        return sbt_fail(SBT_ERR_ARG, "bench: %d repetitions of %g s", repetitions, min_time);
    t->repetitions = repetitions;
    t->n_events = sbt_counters_count(k);
    t->real_seconds = calloc((size_t)repetitions, sizeof *t->real_seconds);
    t->cpu_seconds = calloc((size_t)repetitions, sizeof *t->cpu_seconds);
    t->events = calloc((size_t)repetitions * (size_t)(t->n_events ? t->n_events : 1), sizeof *t->events);
    if (!t->real_seconds || !t->cpu_seconds || !t->events) {
        sbt_forward_timing_free(t);
        return sbt_fail(SBT_ERR_NOMEM, "bench: out of memory");
    }
    sbt_status st = run_calls(mg, 2); /* warm-up: caches, page faults of fresh buffers */
    /* Calibration as Google Benchmark does it: grow the calls per repetition until one
     * run of them lasts min_time. */
    t->iterations = 1;
    while (!st) {
        double t0 = now(CLOCK_MONOTONIC);
        st = run_calls(mg, t->iterations);
        double elapsed = now(CLOCK_MONOTONIC) - t0;
        if (st || elapsed >= min_time || t->iterations >= 1000000000) break;
        double grow = elapsed > 0 ? 1.4 * min_time / elapsed : 100.0;
        t->iterations = (int64_t)ceil((double)t->iterations * fmin(fmax(grow, 2.0), 100.0));
    }
    for (int rep = 0; !st && rep < repetitions; rep++) st = repetition(mg, k, rep, t);
    if (st) sbt_forward_timing_free(t);
    return st;
}

/* ---- the dump for a peer --------------------------------------------------------------- */

static sbt_status write_tensor(const char *dir, FILE *manifest, const char *name, const float *v, int ndim,
                               const int64_t *shape) {
    char path[4096];
    int64_t n = 1;
    fprintf(manifest, "%s", name);
    for (int i = 0; i < ndim; i++) fprintf(manifest, " %lld", (long long)shape[i]), n *= shape[i];
    fprintf(manifest, "\n");
    if (!v && n) return sbt_fail(SBT_ERR_ARG, "bench: %s has no values to dump", name);
    snprintf(path, sizeof path, "%.2048s/%.200s.f32", dir, name);
    return sbt_write_file_atomic(path, v, (size_t)n * sizeof *v);
}

/* A graph node's value under `name`, its shape from the graph. */
static sbt_status write_node(const char *dir, FILE *manifest, const char *name, sbt_graph *g, int id) {
    int64_t shape[SBT_MAX_DIMS];
    int nd = sbt_node_ndim(g, id);
    for (int i = 0; i < nd && i < SBT_MAX_DIMS; i++) shape[i] = sbt_node_dim(g, id, i);
    return write_tensor(dir, manifest, name, sbt_graph_value(g, id), nd, shape);
}

/* Each Linear's weight input as the graph holds it (a frozen constant, or a sparse
 * weight's effective value after a forward), as <layer>.effective. */
static sbt_status write_effective(const char *dir, FILE *f, sbt_graph *g) {
    sbt_status st = SBT_OK;
    for (int id = 0; !st && id < sbt_graph_count(g); id++) {
        const char *wn = sbt_node_name(g, sbt_node_input(g, id, 1)), *dot = wn ? strrchr(wn, '.') : NULL;
        if (sbt_node_op(g, id) != SBT_OP_LINEAR || !dot) continue;
        char name[SBT_NAME_MAX + 16];
        snprintf(name, sizeof name, "%.*s.effective", (int)(dot - wn), wn);
        st = write_node(dir, f, name, g, sbt_node_input(g, id, 1));
    }
    return st;
}

/* The masks the graph reads besides x, as feed.<name> (an ONNX export takes them as inputs
 * of those names). */
static sbt_status write_feeds(const char *dir, FILE *f, sbt_model_graph *mg) {
    int ids[2] = {mg->step_mask, mg->attn_mask};
    sbt_status st = SBT_OK;
    for (int k = 0; !st && k < 2; k++) {
        if (ids[k] < 0 || !sbt_node_is_live(mg->graph, ids[k]) || !sbt_graph_value(mg->graph, ids[k]))
            continue;
        char name[SBT_NAME_MAX + 8];
        snprintf(name, sizeof name, "feed.%s", sbt_node_name(mg->graph, ids[k]));
        st = write_node(dir, f, name, mg->graph, ids[k]);
    }
    return st;
}

/* The dense float ONNX export for ONNX Runtime, or why there is none (onnx_refused.txt):
 * a peer that cannot run is reported, not a failed dump. */
static sbt_status write_onnx(const char *dir, sbt_model_graph *mg) {
    char path[4096];
    snprintf(path, sizeof path, "%.4000s/model.onnx", dir);
    if (sbt_onnx_export(mg->graph, mg->x, mg->output, path, NULL, NULL) == SBT_OK) return SBT_OK;
    char why[1024];
    snprintf(why, sizeof why, "%s\n", sbt_last_error());
    snprintf(path, sizeof path, "%.4000s/onnx_refused.txt", dir);
    return sbt_write_file_atomic(path, why, strlen(why));
}

sbt_status sbt_bench_dump(sbt_model *m, sbt_model_graph *mg, const char *dir) {
    char path[4096], cfg[4096];
    if (mkdir(dir, 0755) && errno != EEXIST)
        return sbt_fail(SBT_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%.4000s/manifest.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) return sbt_fail(SBT_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    sbt_status st = SBT_OK;
    for (int i = 0; !st && i < m->n_tensors; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        st = write_tensor(dir, f, ti->name, m->values + ti->offset, ti->ndim, ti->shape);
    }
    sbt_graph *g = mg->graph;
    if (!st) st = write_effective(dir, f, g);
    const char *masks[3] = {"attn.q_mask", "attn.k_mask", "attn.v_mask"};
    for (int i = 0; !st && i < 3; i++)
        if (sbt_graph_find(g, masks[i]) >= 0)
            st = write_node(dir, f, masks[i], g, sbt_graph_find(g, masks[i]));
    if (!st) st = write_node(dir, f, "input.x", g, mg->x);
    if (!st) st = write_node(dir, f, "output.ours", g, mg->output);
    if (!st) st = write_feeds(dir, f, mg);
    if (fclose(f) && !st) st = sbt_fail(SBT_ERR_IO, "%s: write failed", path);
    snprintf(path, sizeof path, "%.4000s/config.txt", dir);
    if (!st) st = sbt_config_to_text(&m->cfg, cfg, sizeof cfg);
    if (!st) st = sbt_write_file_atomic(path, cfg, strlen(cfg));
    if (!st) st = write_onnx(dir, mg);
    return st;
}
