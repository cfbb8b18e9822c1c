/* What the report's reader, plotter and writers share. */
#ifndef SBT_REPORT_INTERNAL_H
#define SBT_REPORT_INTERNAL_H

#include <stddef.h>

#include "core/strbuf.h"
#include "sbt/report.h"

#define RPT_STR 128

typedef struct {
    char source[RPT_STR], task[32], dataset[RPT_STR], model[32], attention[32], metric[48];
    double keep, mean, std, lo, hi; /* lo, hi: min and max over the seeds */
    int n;
} rpt_grid_row;

typedef struct {
    char source[RPT_STR], run_name[256], impl[64], model[RPT_STR], attention[32];
    int batch, threads, repetitions;
    double median_us, cv;
    /* counters, NaN when absent */
    double params, bits_paper, bits_f32, bits_entropy, macs_exact, macs_paper;
} rpt_bench_run;

typedef struct {
    char source[RPT_STR], model[RPT_STR], encoding[48];
    double bytes;
} rpt_packed;

typedef struct {
    char path[RPT_STR * 2];
    const char *kind;
} rpt_input;

struct sbt_report {
    rpt_grid_row *grid;
    int n_grid, cap_grid;
    rpt_bench_run *bench;
    int n_bench, cap_bench;
    rpt_packed *packed;
    int n_packed, cap_packed;
    rpt_input *inputs;
    int n_inputs, cap_inputs;
};

/* Text is written into the shared growing buffer (core/strbuf.h). */
typedef sbt_strbuf rpt_text;
#define rpt_put sbt_strbuf_printf

/* Appends s with &, <, > and " escaped for HTML. */
void rpt_put_html(rpt_text *t, const char *s);

/* One rendered plot: its file stem under plots/, a caption, and whether it exists. */
typedef struct {
    char stem[RPT_STR], caption[256];
} rpt_plot;

typedef struct {
    rpt_plot *plots;
    int n, cap;
    char skipped[512]; /* why a plot was left out, for the report */
} rpt_plots;

/* Writes plots/<stem>.gp for every plot the data allows and runs gnuplot on each. */
sbt_status rpt_render_plots(const sbt_report *r, const char *out_dir, const char *gnuplot, rpt_plots *out);
/* report.md and report.html. */
sbt_status rpt_write_markdown(const sbt_report *r, const rpt_plots *p, const char *out_dir);
sbt_status rpt_write_html(const sbt_report *r, const rpt_plots *p, const char *out_dir);

/* Human units of a grid metric ("accuracy (fraction of test cases)"). */
const char *rpt_metric_label(const char *metric);

#endif
