/* report.md and the self-contained report.html (SVG plots inlined), and the render entry. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report/report_internal.h"
#include "sbt/container.h"

/* A number for a table: "-" when missing. */
static const char *fmt_num(char *buf, size_t cap, const char *fmt, double v) {
    if (!isfinite(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, fmt, v);
    return buf;
}

/* ---- shared tables, written as Markdown or HTML rows ----------------------------------- */

typedef struct {
    rpt_text *t;
    int html;
} out;

static void row(out *o, int n, const char *const *cells, int header) {
    if (!o->html) {
        rpt_put(o->t, "|");
        for (int i = 0; i < n; i++) rpt_put(o->t, " %s |", cells[i]);
        rpt_put(o->t, "\n");
        if (header) {
            rpt_put(o->t, "|");
            for (int i = 0; i < n; i++) rpt_put(o->t, " --- |");
            rpt_put(o->t, "\n");
        }
        return;
    }
    rpt_put(o->t, "<tr>");
    for (int i = 0; i < n; i++) {
        rpt_put(o->t, header ? "<th>" : "<td>");
        rpt_put_html(o->t, cells[i]);
        rpt_put(o->t, header ? "</th>" : "</td>");
    }
    rpt_put(o->t, "</tr>\n");
}

static void table_start(out *o) {
    if (o->html) rpt_put(o->t, "<table>\n");
}

static void table_end(out *o) { rpt_put(o->t, o->html ? "</table>\n" : "\n"); }

static void heading(out *o, const char *text) {
    if (o->html) {
        rpt_put(o->t, "<h2>");
        rpt_put_html(o->t, text);
        rpt_put(o->t, "</h2>\n");
    } else {
        rpt_put(o->t, "## %s\n\n", text);
    }
}

static void para(out *o, const char *text) {
    if (o->html) {
        rpt_put(o->t, "<p>");
        rpt_put_html(o->t, text);
        rpt_put(o->t, "</p>\n");
    } else {
        rpt_put(o->t, "%s\n\n", text);
    }
}

static void grid_table(out *o, const sbt_report *r) {
    const char *h[] = {"dataset", "model", "attention", "keep", "metric",
                       "mean",    "std",   "min",       "max",  "seeds"};
    table_start(o);
    row(o, 10, h, 1);
    for (int i = 0; i < r->n_grid; i++) {
        const rpt_grid_row *g = &r->grid[i];
        char c[6][32];
        snprintf(c[0], 32, "%.3g", g->keep);
        fmt_num(c[1], 32, "%.4f", g->mean), fmt_num(c[2], 32, "%.4f", g->std);
        fmt_num(c[3], 32, "%.4f", g->lo), fmt_num(c[4], 32, "%.4f", g->hi);
        snprintf(c[5], 32, "%d", g->n);
        const char *cells[] = {g->dataset, g->model, g->attention, c[0], g->metric,
                               c[1],       c[2],     c[3],         c[4], c[5]};
        row(o, 10, cells, 0);
    }
    table_end(o);
}

static void bench_table(out *o, const sbt_report *r) {
    const char *h[] = {"run",
                       "file",
                       "median per forward (us)",
                       "cv (%)",
                       "per window (us)",
                       "MACs exact",
                       "MACs paper",
                       "params",
                       "bits float32",
                       "bits paper",
                       "entropy bound (bits)"};
    table_start(o);
    row(o, 11, h, 1);
    for (int i = 0; i < r->n_bench; i++) {
        const rpt_bench_run *b = &r->bench[i];
        char c[9][40];
        fmt_num(c[0], 40, "%.2f", b->median_us), fmt_num(c[1], 40, "%.1f", 100.0 * b->cv);
        fmt_num(c[2], 40, "%.2f", b->median_us / b->batch), fmt_num(c[3], 40, "%.0f", b->macs_exact);
        fmt_num(c[4], 40, "%.0f", b->macs_paper), fmt_num(c[5], 40, "%.0f", b->params);
        fmt_num(c[6], 40, "%.0f", b->bits_f32), fmt_num(c[7], 40, "%.0f", b->bits_paper);
        fmt_num(c[8], 40, "%.0f", b->bits_entropy);
        const char *cells[] = {b->run_name, b->source, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]};
        row(o, 11, cells, 0);
    }
    table_end(o);
}

static void packed_table(out *o, const sbt_report *r) {
    const char *h[] = {"model", "encoding", "bytes", "bits", "file"};
    table_start(o);
    row(o, 5, h, 1);
    for (int i = 0; i < r->n_packed; i++) {
        const rpt_packed *p = &r->packed[i];
        char c[2][32];
        snprintf(c[0], 32, "%.0f", p->bytes), snprintf(c[1], 32, "%.0f", 8.0 * p->bytes);
        const char *cells[] = {p->model, p->encoding, c[0], c[1], p->source};
        row(o, 5, cells, 0);
    }
    table_end(o);
}

static void inputs_table(out *o, const sbt_report *r) {
    const char *h[] = {"input", "kind"};
    table_start(o);
    row(o, 2, h, 1);
    for (int i = 0; i < r->n_inputs; i++) {
        const char *cells[] = {r->inputs[i].path, r->inputs[i].kind};
        row(o, 2, cells, 0);
    }
    table_end(o);
}

/* ---- plots ----------------------------------------------------------------------------- */

/* The SVG file's text without its XML prolog and doctype, for inlining. */
static char *svg_body(const char *dir, const char *stem) {
    char path[4096];
    snprintf(path, sizeof path, "%s/plots/%s.svg", dir, stem);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
        buf[n] = '\0';
    else
        free(buf), buf = NULL;
    fclose(f);
    char *svg = buf ? strstr(buf, "<svg") : NULL;
    if (svg) memmove(buf, svg, strlen(svg) + 1);
    return svg ? buf : (free(buf), NULL);
}

static sbt_status plots_matching(out *o, const rpt_plots *p, const char *prefix, const char *dir) {
    for (int i = 0; i < p->n; i++) {
        if (strncmp(p->plots[i].stem, prefix, strlen(prefix))) continue;
        if (!o->html) {
            rpt_put(o->t, "![%s](plots/%s.png) ([SVG](plots/%s.svg))\n\n", p->plots[i].caption,
                    p->plots[i].stem, p->plots[i].stem);
            continue;
        }
        char *svg = svg_body(dir, p->plots[i].stem);
        if (!svg)
            return sbt_fail(SBT_ERR_IO, "report: %s/plots/%s.svg is missing or not SVG", dir,
                            p->plots[i].stem);
        rpt_put(o->t, "<figure>\n%s\n<figcaption>", svg);
        rpt_put_html(o->t, p->plots[i].caption);
        rpt_put(o->t, "</figcaption></figure>\n");
        free(svg);
    }
    return SBT_OK;
}

/* ---- documents ------------------------------------------------------------------------- */

static sbt_status body(out *o, const sbt_report *r, const rpt_plots *p, const char *dir) {
    heading(o, "Inputs");
    inputs_table(o, r);
    sbt_status st = SBT_OK;
    if (r->n_grid) {
        heading(o, "Metric vs keep: dense vs SBT");
        para(o, "Mean over seeds; the bars and the min/max columns span the seeds. keep is the fraction of "
                "weights "
                "kept per layer (sparsity = 1 - keep).");
        st = plots_matching(o, p, "keep_", dir);
        grid_table(o, r);
    }
    if (!st && r->n_bench) {
        heading(o, "Cost and latency of each benchmark run");
        para(o, "Times are medians over the repetitions of one forward call (the batch given in the run "
                "name). MACs "
                "are multiply-accumulates per window, FLOPs = 2 x MACs; exact counts what runs, paper "
                "follows the "
                "paper's code. Storage: float32 = 32 bits per parameter; paper = 1 bit per sparse-binary "
                "weight, 32 "
                "per float weight, biases and statistics not counted; entropy bound = log2 C(n, k) per "
                "sparse mask.");
        bench_table(o, r);
        heading(o, "Storage");
        st = plots_matching(o, p, "storage", dir);
        heading(o, "MACs per attention variant");
        if (!st) st = plots_matching(o, p, "macs", dir);
        heading(o, "Latency");
        if (!st) st = plots_matching(o, p, "latency", dir);
    }
    if (r->n_packed) {
        heading(o, "Packed encodings");
        packed_table(o, r);
    }
    if (p->skipped[0]) para(o, p->skipped);
    return st;
}

static const char *const CSS = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
                               "table{border-collapse:collapse;margin:1em 0;font-size:90%}"
                               "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}"
                               "td:first-child,th:first-child{text-align:left}figure{margin:1em 0}"
                               "svg{max-width:100%;height:auto}";

sbt_status rpt_write_markdown(const sbt_report *r, const rpt_plots *p, const char *dir) {
    rpt_text t = {0};
    out o = {&t, 0};
    rpt_put(&t, "# sbt report\n\nMade by sbt-report (libsbt %s) from %d input file(s).\n\n", sbt_version(),
            r->n_inputs);
    sbt_status st = body(&o, r, p, dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/report.md", dir);
    if (!st)
        st = t.failed ? sbt_fail(SBT_ERR_NOMEM, "report: out of memory")
                      : sbt_write_file_atomic(path, t.buf, t.len);
    free(t.buf);
    return st;
}

sbt_status rpt_write_html(const sbt_report *r, const rpt_plots *p, const char *dir) {
    rpt_text t = {0};
    out o = {&t, 1};
    rpt_put(
        &t,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>sbt report</title>\n"
        "<style>%s</style>\n</head>\n<body>\n<h1>sbt report</h1>\n<p>Made by sbt-report (libsbt %s) from %d "
        "input file(s). Every plot is inlined: this file needs nothing beside it.</p>\n",
        CSS, sbt_version(), r->n_inputs);
    sbt_status st = body(&o, r, p, dir);
    rpt_put(&t, "</body>\n</html>\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/report.html", dir);
    if (!st)
        st = t.failed ? sbt_fail(SBT_ERR_NOMEM, "report: out of memory")
                      : sbt_write_file_atomic(path, t.buf, t.len);
    free(t.buf);
    return st;
}

sbt_status sbt_report_render(sbt_report *r, const char *out_dir, const char *gnuplot) {
    if (!out_dir || !*out_dir || strpbrk(out_dir, "'\"\n\\"))
        return sbt_fail(SBT_ERR_ARG,
                        "report: output folder '%s': quotes, backslashes and newlines are not supported",
                        out_dir ? out_dir : "");
    if (!r->n_inputs) return sbt_fail(SBT_ERR_ARG, "report: no input files");
    if (mkdir(out_dir, 0755) && errno != EEXIST)
        return sbt_fail(SBT_ERR_IO, "report: cannot create %s: %s", out_dir, strerror(errno));
    rpt_plots p = {0};
    sbt_status st = rpt_render_plots(r, out_dir, gnuplot ? gnuplot : "gnuplot", &p);
    if (!st) st = rpt_write_markdown(r, &p, out_dir);
    if (!st) st = rpt_write_html(r, &p, out_dir);
    free(p.plots);
    return st;
}
