/* sbt/bench.h - timing a model's forward pass, and handing the same model to a peer.
 *
 * sbt_bench_forward times sbt_graph_forward_until(graph, 0, output) on a built model graph
 * (sbt_model_graph_build_infer for what inference runs): two warm-up calls, then the
 * calls per repetition grown until one run of them lasts min_time seconds (as Google
 * Benchmark calibrates), then the repetitions, each with the
 * counters (sbt/counters.h) around it. Times are per forward call: wall clock
 * (CLOCK_MONOTONIC) and CPU time of the whole process (CLOCK_PROCESS_CPUTIME_ID, every
 * thread), events per forward call.
 *
 *     sbt_model_graph mg;
 *     sbt_model_graph_build_infer(m, 1, 29, &mg);
 *     sbt_bench_fill_inputs(&mg, 12345);
 *     sbt_forward_timing t;
 *     if (sbt_bench_forward(&mg, 9, 0.1, counters, &t) == SBT_OK) ... t.real_seconds[rep] ...
 *     sbt_forward_timing_free(&t);
 *
 * sbt_bench_dump writes what the peers need to run the same model: for
 * bench/torch_forward.py every model tensor, each Linear's effective weight (as the graph
 * holds it after a forward), the Q/K/V masks, the input batch, the masks the graph reads
 * (feed.<name>), the graph's output and the config; for bench/ort_forward.js the graph as
 * a dense float ONNX model (model.onnx), or onnx_refused.txt saying why the exporter
 * refused it.
 *
 * Ownership: sbt_forward_timing owns its arrays; sbt_forward_timing_free releases them.
 */
#ifndef SBT_BENCH_H
#define SBT_BENCH_H

#include <stdint.h>

#include "sbt/counters.h"
#include "sbt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sbt_model;
struct sbt_model_graph;

typedef struct sbt_forward_timing {
    int repetitions;
    int64_t iterations;   /* forward calls per repetition */
    double *real_seconds; /* per forward call, one per repetition */
    double *cpu_seconds;  /* per forward call, one per repetition */
    int n_events;         /* the counters' events */
    double *events;       /* events[e * repetitions + rep], per forward call */
} sbt_forward_timing;

/* Seeded inputs in [-1, 1), every step real (masks: all steps kept). */
void sbt_bench_fill_inputs(struct sbt_model_graph *mg, uint64_t seed);

/* repetitions >= 1, min_time >= 0 seconds per repetition; counters may be NULL. */
sbt_status sbt_bench_forward(struct sbt_model_graph *mg, int repetitions, double min_time,
                             sbt_counters *counters, sbt_forward_timing *out);
void sbt_forward_timing_free(sbt_forward_timing *t);

/* Writes dir/manifest.txt ("name dims..." per tensor), dir/NAME.f32 (raw little-endian
 * float32) and dir/config.txt; creates dir (not its parents). Run a forward first so that
 * effective weights and the output hold values. */
sbt_status sbt_bench_dump(struct sbt_model *m, struct sbt_model_graph *mg, const char *dir);

#ifdef __cplusplus
}
#endif
#endif
