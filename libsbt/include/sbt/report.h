/* sbt/report.h - a compression and speed report from result JSON files: report.md, a
 * self-contained report.html (its SVG plots inlined) and gnuplot-rendered PNG and SVG plots.
 *
 * Inputs, told apart by their keys:
 *   grid results   {"task", "main_metric", "rows": [{dataset, model, keep, attention,
 *                  <metric>: {mean, std, values}}]}  (reports/paper_grid_*.json)
 *   benchmarks     Google Benchmark JSON {"context", "benchmarks"} (sbt-bench, the peers
 *                  in bench/); counters macs_exact, macs_paper, bits, bits_f32,
 *                  bits_entropy are read where present
 *   packed sizes   {"encodings": [{"model", "encoding", "bytes"}]}  (real encodings of a
 *                  model's weights, from any tool)
 *   sbt-export     sbt-export --json {"file", "bytes", "f32_bytes", "sections": [...]}: the
 *                  .sbt file, the same all float32 and the sections' entropy bound, for the
 *                  model named like the file (jv_sbt.sbt -> jv_sbt)
 * Without packed sizes or sbt-export JSON the report says the encodings plot was skipped.
 *
 * Plots (each PNG and SVG, with title, axis labels with units and a legend): the main
 * metric vs keep per dataset (dense vs SBT per attention variant, mean with the seeds'
 * min-max), storage per model (float32, the paper's 1-bit convention, the entropy bound
 * and any real encoding; log scale), MACs per attention variant (exact vs paper), and
 * median forward latency of every benchmark run (ours and peers).
 *
 *     sbt_report *r = NULL;
 *     sbt_report_new(&r);
 *     sbt_report_add_file(r, "reports/paper_grid_classify.json");
 *     sbt_report_add_file(r, "bench.json");
 *     sbt_report_render(r, "report", NULL);   // gnuplot from PATH
 *     sbt_report_free(r);
 *
 * Errors name the file and the field. The output folder is created if missing; every
 * file in it is written atomically. gnuplot's messages go to report/gnuplot.log.
 * Ownership: the report copies what it reads; sbt_report_free releases it.
 */
#ifndef SBT_REPORT_H
#define SBT_REPORT_H

#include <stddef.h>

#include "sbt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbt_report sbt_report;

sbt_status sbt_report_new(sbt_report **out);
void sbt_report_free(sbt_report *r);

/* Reads one result file (at most 64 MiB). SBT_ERR_PARSE for JSON that is not one of the
 * three kinds or has a field of the wrong type, naming `path` and the field. */
sbt_status sbt_report_add_file(sbt_report *r, const char *path);
/* The same from memory; `name` stands for the file in messages and in the report. */
sbt_status sbt_report_add_json(sbt_report *r, const char *name, const char *text, size_t len);

/* Counts of what was read: grid rows, benchmark runs, packed sizes. */
void sbt_report_counts(const sbt_report *r, int *grid_rows, int *bench_runs, int *packed_sizes);

/* Writes out_dir/report.md, out_dir/report.html and out_dir/plots/<plot>.{png,svg,gp}.
 * `gnuplot`: the program to run (NULL: "gnuplot" from PATH). */
sbt_status sbt_report_render(sbt_report *r, const char *out_dir, const char *gnuplot);

#ifdef __cplusplus
}
#endif
#endif
