/* sbt/gbench.h - benchmark results as Google Benchmark JSON (written with cJSON), so that
 * Google Benchmark's compare.py and sbt-report read them.
 *
 * The context describes the machine (date, host_name, executable, num_cpus, mhz_per_cpu,
 * cpu_scaling_enabled, caches, load_avg, library_version, library_build_type,
 * json_schema_version 1) plus any keys the caller adds (model path, PAPI availability,
 * refused events). Each run adds one entry per repetition (run_type "iteration") and the
 * mean, median, stddev and cv aggregates (run_type "aggregate"; cv is a fraction with
 * aggregate_unit "percentage", as Google Benchmark writes it). Counters are flat keys of
 * every entry: the cost (params, nonzero, bits, macs, flops) and PAPI events per
 * iteration.
 *
 *     sbt_gbench *b = NULL;
 *     sbt_gbench_new(argv[0], &b);
 *     sbt_gbench_context_string(b, "model", "jv.sbtm");
 *     double real[9], cpu[9];        // seconds per iteration, one per repetition
 *     sbt_gbench_run r = {.name = "forward/jv/attn:full/batch:1/threads:1", .threads = 1,
 *                         .iterations = 100, .repetitions = 9, .real_seconds = real,
 *                         .cpu_seconds = cpu};
 *     sbt_gbench_add_run(b, &r);
 *     sbt_gbench_write(b, "out.json");   // atomic: a temporary file renamed into place
 *     sbt_gbench_free(b);
 *
 * Ownership: the builder copies everything it is given; sbt_gbench_free releases it.
 */
#ifndef SBT_GBENCH_H
#define SBT_GBENCH_H

#include <stdint.h>

#include "sbt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbt_gbench sbt_gbench;

/* A counter written as a flat key. Constant counters (cost) repeat per repetition;
 * `per_repetition` (PAPI events) gives one value per repetition instead. */
typedef struct sbt_gbench_counter {
    const char *name;
    double value;
    const double *per_repetition; /* NULL: `value` for every repetition */
} sbt_gbench_counter;

typedef struct sbt_gbench_run {
    const char *name; /* run name, e.g. "forward/jv/attn:full/batch:1/threads:1" */
    int family_index; /* -1: the next unused one */
    int per_family_instance_index;
    int threads;
    int64_t iterations;         /* per repetition */
    int repetitions;            /* >= 1 */
    const double *real_seconds; /* wall time per iteration, one per repetition */
    const double *cpu_seconds;  /* CPU time per iteration, one per repetition */
    const char *time_unit;      /* "ns", "us", "ms" or "s" (NULL: "ns") */
    const sbt_gbench_counter *counters;
    int n_counters;
} sbt_gbench_run;

/* Creates a document whose context describes this machine and `executable`. */
sbt_status sbt_gbench_new(const char *executable, sbt_gbench **out);
void sbt_gbench_free(sbt_gbench *b);

/* Extra context keys (replace a key of the same name). */
sbt_status sbt_gbench_context_string(sbt_gbench *b, const char *key, const char *value);
sbt_status sbt_gbench_context_number(sbt_gbench *b, const char *key, double value);
sbt_status sbt_gbench_context_bool(sbt_gbench *b, const char *key, int value);
/* An object {name: reason, ...}, e.g. the PAPI events that could not be counted. */
sbt_status sbt_gbench_context_pairs(sbt_gbench *b, const char *key, const char *const *names,
                                    const char *const *values, int n);

/* Adds the repetitions of one run and their aggregates (mean, median, stddev, cv; with one
 * repetition, no aggregates). */
sbt_status sbt_gbench_add_run(sbt_gbench *b, const sbt_gbench_run *r);

/* The JSON text (malloc'ed; the caller frees), or NULL when out of memory. */
char *sbt_gbench_text(const sbt_gbench *b);
/* Writes the JSON atomically to `path`. */
sbt_status sbt_gbench_write(const sbt_gbench *b, const char *path);

/* Summary statistics of n values (used for the aggregates; exposed for tools and tests). */
typedef struct sbt_stats {
    double mean, median, stddev, cv; /* stddev: sample (n - 1); cv = stddev / mean */
} sbt_stats;
sbt_stats sbt_stats_of(const double *v, int n);

#ifdef __cplusplus
}
#endif
#endif
