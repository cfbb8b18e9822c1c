/* The report's plots: one gnuplot script per plot (data inline), rendered to PNG and SVG
 * under temporary names and renamed once gnuplot has succeeded. */
#define _DEFAULT_SOURCE /* mkdir modes, posix_spawn */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "report/report_internal.h"
#include "sbt/container.h"

extern char **environ;

void rpt_put_html(rpt_text *t, const char *s) {
    for (; s && *s; s++) {
        if (*s == '&')
            rpt_put(t, "&amp;");
        else if (*s == '<')
            rpt_put(t, "&lt;");
        else if (*s == '>')
            rpt_put(t, "&gt;");
        else if (*s == '"')
            rpt_put(t, "&quot;");
        else
            rpt_put(t, "%c", *s);
    }
}

const char *rpt_metric_label(const char *m) {
    if (!strcmp(m, "accuracy")) return "test accuracy (fraction of cases)";
    if (!strcmp(m, "mse")) return "test MSE (standardised units squared)";
    if (!strcmp(m, "mae")) return "test MAE (standardised units)";
    if (!strcmp(m, "pot_f1")) return "test F1 at the POT threshold (fraction)";
    if (!strcmp(m, "auc_pr")) return "test AUC-PR (fraction)";
    return m;
}

/* A string safe inside a double-quoted gnuplot string and a data block. */
static void safe(char *dst, size_t cap, const char *s) {
    size_t i = 0;
    for (; s && *s && i + 1 < cap; s++)
        dst[i++] = (*s == '"' || *s == '\\' || *s == ' ' || (unsigned char)*s < 0x20) ? '_' : *s;
    dst[i] = '\0';
}

/* A legend title safe inside single or double quotes (spaces kept). */
static void safe_title(char *dst, size_t cap, const char *s) {
    size_t i = 0;
    for (; s && *s && i + 1 < cap; s++)
        dst[i++] = (*s == '"' || *s == '\'' || *s == '\\' || (unsigned char)*s < 0x20) ? '_' : *s;
    dst[i] = '\0';
}

/* Terminal setup and the head of every script; the caller adds data and `plot`. */
static void head(rpt_text *t, const char *title, const char *xlabel, const char *ylabel) {
    char s[256];
    rpt_put(t, "set termoption noenhanced\nset encoding utf8\nset grid\nset key outside right top\n");
    safe_title(s, sizeof s, title);
    rpt_put(t, "set title \"%s\"\nset xlabel \"%s\"\nset ylabel \"%s\"\n", s, xlabel, ylabel);
}

/* Renders the script to PNG, then replots to SVG. */
static void outputs(rpt_text *t, const char *dir, const char *stem, const char *plot_cmd) {
    rpt_put(t,
            "set terminal pngcairo noenhanced size 960,560 font 'Sans,10'\nset output "
            "'%s/plots/%s.png.tmp'\n%s\n",
            dir, stem, plot_cmd);
    rpt_put(t,
            "set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'\nset output "
            "'%s/plots/%s.svg.tmp'\nreplot\nunset output\n",
            dir, stem);
}

static int add_plot(rpt_plots *p, const char *stem, const char *caption) {
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 8;
        rpt_plot *q = realloc(p->plots, (size_t)cap * sizeof *q);
        if (!q) return -1;
        p->plots = q, p->cap = cap;
    }
    snprintf(p->plots[p->n].stem, sizeof p->plots[p->n].stem, "%s", stem);
    snprintf(p->plots[p->n].caption, sizeof p->plots[p->n].caption, "%s", caption);
    p->n++;
    return 0;
}

/* Runs gnuplot on the script, its messages appended to out_dir/gnuplot.log. */
static sbt_status run_gnuplot(const char *gnuplot, const char *script, const char *out_dir) {
    char log[4096];
    snprintf(log, sizeof log, "%s/gnuplot.log", out_dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char *argv[] = {(char *)gnuplot, (char *)script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, gnuplot, &fa, NULL, argv, environ), status = 0;
    posix_spawn_file_actions_destroy(&fa);
    if (rc) return sbt_fail(SBT_ERR_IO, "report: cannot run %s: %s", gnuplot, strerror(rc));
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
        return sbt_fail(SBT_ERR_IO, "report: %s failed on %s (see %s)", gnuplot, script, log);
    return SBT_OK;
}

/* Writes plots/<stem>.gp, runs it, and moves the PNG and SVG into place. */
static sbt_status render(const rpt_text *t, const char *dir, const char *stem, const char *gnuplot,
                         rpt_plots *p, const char *caption) {
    if (t->failed) return sbt_fail(SBT_ERR_NOMEM, "report: out of memory");
    char script[4096], tmp[4096], final[4096];
    snprintf(script, sizeof script, "%s/plots/%s.gp", dir, stem);
    sbt_status st = sbt_write_file_atomic(script, t->buf, t->len);
    if (!st) st = run_gnuplot(gnuplot, script, dir);
    for (int i = 0; !st && i < 2; i++) {
        const char *ext = i ? "svg" : "png";
        snprintf(tmp, sizeof tmp, "%s/plots/%s.%s.tmp", dir, stem, ext);
        snprintf(final, sizeof final, "%s/plots/%s.%s", dir, stem, ext);
        if (rename(tmp, final)) st = sbt_fail(SBT_ERR_IO, "report: %s: %s", final, strerror(errno));
    }
    if (!st && add_plot(p, stem, caption)) st = sbt_fail(SBT_ERR_NOMEM, "report: out of memory");
    return st;
}

/* ---- metric vs keep -------------------------------------------------------------------- */

/* One block per series (dense, then SBT per attention variant) of one dataset. */
static int grid_series(const sbt_report *r, const char *dataset, rpt_text *t, char names[8][80]) {
    int n = 0;
    for (int i = 0; i < r->n_grid && n < 8; i++) {
        const rpt_grid_row *g = &r->grid[i];
        if (strcmp(g->dataset, dataset)) continue;
        char name[80];
        if (!strcmp(g->model, "dense"))
            snprintf(name, sizeof name, "dense (%s)", g->attention);
        else
            snprintf(name, sizeof name, "%s %s", g->model, g->attention);
        int k = 0;
        char clean[80];
        safe_title(clean, sizeof clean, name);
        while (k < n && strcmp(names[k], clean)) k++;
        if (k < n) continue;
        safe_title(names[n], 80, name);
        rpt_put(t, "$s%d << EOD\n", n);
        for (int j = 0; j < r->n_grid; j++) {
            const rpt_grid_row *h = &r->grid[j];
            if (strcmp(h->dataset, dataset) || strcmp(h->model, g->model) ||
                strcmp(h->attention, g->attention))
                continue;
            rpt_put(t, "%.6g %.9g %.9g %.9g\n", h->keep, h->mean, h->lo, h->hi);
        }
        rpt_put(t, "EOD\n");
        n++;
    }
    return n;
}

static sbt_status plot_grid(const sbt_report *r, const char *dir, const char *gnuplot, rpt_plots *p) {
    for (int i = 0; i < r->n_grid; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = !strcmp(r->grid[j].dataset, r->grid[i].dataset);
        if (seen) continue;
        const rpt_grid_row *g = &r->grid[i];
        char title[512], stem[RPT_STR], names[8][80], plot[2048] = "plot ";
        snprintf(title, sizeof title, "%s (%s): %s vs keep, mean over seeds, bars min-max", g->dataset,
                 g->task, g->metric);
        rpt_text t = {0};
        head(&t, title, "keep (fraction of weights kept; sparsity = 1 - keep)", rpt_metric_label(g->metric));
        rpt_put(&t, "set xrange [0:1.08]\n");
        int n = grid_series(r, g->dataset, &t, names);
        for (int s = 0; s < n; s++) {
            size_t len = strlen(plot);
            snprintf(plot + len, sizeof plot - len,
                     "%s$s%d using 1:2:3:4 with yerrorlines lw 2 pt %d title \"%s\"", s ? ", " : "", s, 5 + s,
                     names[s]);
        }
        safe(stem, sizeof stem, g->dataset);
        for (char *c = stem; *c; c++) *c = (*c == '/' || *c == ':' || *c == '.') ? '_' : *c;
        char full[RPT_STR + 16];
        snprintf(full, sizeof full, "keep_%s", stem);
        outputs(&t, dir, full, plot);
        char caption[256];
        snprintf(caption, sizeof caption, "%s: %s vs keep (dense vs SBT per attention variant)", g->dataset,
                 g->metric);
        sbt_status st = render(&t, dir, full, gnuplot, p, caption);
        free(t.buf);
        if (st) return st;
    }
    return SBT_OK;
}

/* ---- storage, MACs, latency ------------------------------------------------------------ */

static void num_or_missing(rpt_text *t, double v) {
    if (isfinite(v) && v > 0)
        rpt_put(t, " %.9g", v);
    else
        rpt_put(t, " ?");
}

/* One bar group per model: float32, the paper's convention, the entropy bound and each real
 * encoding given in a packed-sizes file. */
static sbt_status plot_storage(const sbt_report *r, const char *dir, const char *gnuplot, rpt_plots *p) {
    rpt_text t = {0};
    head(&t, "Storage per model: float32, 1 bit per sparse weight (paper), entropy bound, real encodings",
         "model", "storage (bits, log scale)");
    rpt_put(&t, "set logscale y\nset style data histograms\nset style histogram clustered gap 1\n"
                "set style fill solid 0.8 border -1\nset datafile missing '?'\nset xtics rotate by -20\n");
    char encodings[8][48];
    int n_enc = 0, rows = 0;
    for (int i = 0; i < r->n_packed && n_enc < 8; i++) {
        int k = 0;
        while (k < n_enc && strcmp(encodings[k], r->packed[i].encoding)) k++;
        if (k == n_enc) snprintf(encodings[n_enc++], 48, "%s", r->packed[i].encoding);
    }
    rpt_put(&t, "$d << EOD\n");
    for (int i = 0; i < r->n_bench; i++) {
        const rpt_bench_run *b = &r->bench[i];
        int seen = !isfinite(b->bits_f32);
        for (int j = 0; j < i && !seen; j++)
            seen = !strcmp(r->bench[j].model, b->model) && isfinite(r->bench[j].bits_f32);
        if (seen) continue;
        char m[RPT_STR];
        safe(m, sizeof m, b->model);
        rpt_put(&t, "%s", m);
        num_or_missing(&t, b->bits_f32), num_or_missing(&t, b->bits_paper),
            num_or_missing(&t, b->bits_entropy);
        for (int e = 0; e < n_enc; e++) {
            double bits = NAN;
            for (int k = 0; k < r->n_packed; k++)
                if (!strcmp(r->packed[k].model, b->model) && !strcmp(r->packed[k].encoding, encodings[e]))
                    bits = 8.0 * r->packed[k].bytes;
            num_or_missing(&t, bits);
        }
        rpt_put(&t, "\n");
        rows++;
    }
    rpt_put(&t, "EOD\n");
    if (!rows) {
        free(t.buf);
        return SBT_OK;
    }
    char plot[1024];
    int len = snprintf(plot, sizeof plot,
                       "plot $d using 2:xtic(1) title 'float32', '' using 3 title 'paper: 1 bit per "
                       "sparse weight', '' using 4 title 'entropy bound'");
    for (int e = 0; e < n_enc && len < (int)sizeof plot - 80; e++) {
        char s[48];
        safe_title(s, sizeof s, encodings[e]);
        len +=
            snprintf(plot + len, sizeof plot - (size_t)len, ", '' using %d title '%s (bytes x 8)'", 5 + e, s);
    }
    outputs(&t, dir, "storage", plot);
    sbt_status st = render(&t, dir, "storage", gnuplot, p, "Storage per model (bits, log scale)");
    free(t.buf);
    return st;
}

static sbt_status plot_macs(const sbt_report *r, const char *dir, const char *gnuplot, rpt_plots *p) {
    rpt_text t = {0};
    head(&t, "MACs per attention variant: exact (what runs) vs the paper convention",
         "model / attention variant", "multiply-accumulates per window (log scale)");
    rpt_put(&t, "set logscale y\nset style data histograms\nset style histogram clustered gap 1\n"
                "set style fill solid 0.8 border -1\nset xtics rotate by -20\n$d << EOD\n");
    int rows = 0;
    for (int i = 0; i < r->n_bench; i++) {
        const rpt_bench_run *b = &r->bench[i];
        int seen = !isfinite(b->macs_exact) || !isfinite(b->macs_paper);
        for (int j = 0; j < i && !seen; j++)
            seen = isfinite(r->bench[j].macs_exact) && !strcmp(r->bench[j].model, b->model) &&
                   !strcmp(r->bench[j].attention, b->attention); /* peers carry no MACs */
        if (seen) continue;
        char m[RPT_STR], a[32];
        safe(m, sizeof m, b->model), safe(a, sizeof a, b->attention);
        rpt_put(&t, "%s/%s %.9g %.9g\n", m, a, b->macs_exact, b->macs_paper);
        rows++;
    }
    rpt_put(&t, "EOD\n");
    sbt_status st = SBT_OK;
    if (rows) {
        outputs(&t, dir, "macs",
                "plot $d using 2:xtic(1) title 'exact', '' using 3 title 'paper convention'");
        st = render(&t, dir, "macs", gnuplot, p, "MACs per attention variant, exact vs paper convention");
    }
    free(t.buf);
    return st;
}

/* The distinct values of a string field over the benchmark runs (at most `cap`). */
static int distinct_impls(const sbt_report *r, char out[][64], int cap) {
    int n = 0;
    for (int i = 0; i < r->n_bench; i++) {
        int k = 0;
        while (k < n && strcmp(out[k], r->bench[i].impl)) k++;
        if (k == n && n < cap) snprintf(out[n++], 64, "%s", r->bench[i].impl);
    }
    return n;
}

/* One plot per (batch, threads): a bar group per model/attention, a bar per implementation
 * (ours and each peer), so that the peers stand side by side. */
static sbt_status plot_latency_group(const sbt_report *r, int first, char impls[][64], int n_impl,
                                     const char *dir, const char *gnuplot, rpt_plots *p) {
    int batch = r->bench[first].batch, threads = r->bench[first].threads;
    char title[256], stem[64], caption[256];
    snprintf(title, sizeof title,
             "Forward latency, batch %d, %d thread(s): median of the repetitions, ours and peers", batch,
             threads);
    rpt_text t = {0};
    head(&t, title, "model / attention variant", "median time per forward call (microseconds, log scale)");
    rpt_put(
        &t,
        "set logscale y\nset style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.8 border -1\nset datafile missing '?'\nset xtics rotate by -20\n$d << EOD\n");
    for (int i = first; i < r->n_bench; i++) {
        const rpt_bench_run *b = &r->bench[i];
        int seen = b->batch != batch || b->threads != threads;
        for (int j = first; j < i && !seen; j++)
            seen = r->bench[j].batch == batch && r->bench[j].threads == threads &&
                   !strcmp(r->bench[j].model, b->model) && !strcmp(r->bench[j].attention, b->attention);
        if (seen) continue;
        char m[RPT_STR], a[32];
        safe(m, sizeof m, b->model), safe(a, sizeof a, b->attention);
        rpt_put(&t, "%s/%s", m, a);
        for (int k = 0; k < n_impl; k++) {
            double us = NAN;
            for (int j = first; j < r->n_bench; j++) {
                const rpt_bench_run *c = &r->bench[j];
                if (c->batch == batch && c->threads == threads && !strcmp(c->impl, impls[k]) &&
                    !strcmp(c->model, b->model) && !strcmp(c->attention, b->attention))
                    us = c->median_us;
            }
            num_or_missing(&t, us);
        }
        rpt_put(&t, "\n");
    }
    rpt_put(&t, "EOD\n");
    char plot[1024];
    int len = snprintf(plot, sizeof plot, "plot");
    for (int k = 0; k < n_impl && len < (int)sizeof plot - 100; k++) {
        char s[64], legend[80];
        safe_title(s, sizeof s, impls[k]);
        /* sbt-bench names its runs forward (sgemm) and forward-<kernel> */
        if (!strcmp(s, "forward"))
            snprintf(legend, sizeof legend, "sbt (sgemm)");
        else if (!strncmp(s, "forward-", 8))
            snprintf(legend, sizeof legend, "sbt %s", s + 8);
        else if (!strcmp(s, "torch"))
            snprintf(legend, sizeof legend, "PyTorch");
        else if (!strcmp(s, "ort"))
            snprintf(legend, sizeof legend, "ONNX Runtime");
        else
            snprintf(legend, sizeof legend, "%s", s);
        len += snprintf(plot + len, sizeof plot - (size_t)len, "%s $d using %d%s title '%s'", k ? "," : "",
                        2 + k, k ? "" : ":xtic(1)", legend);
    }
    snprintf(stem, sizeof stem, "latency_b%d_t%d", batch, threads);
    outputs(&t, dir, stem, plot);
    snprintf(caption, sizeof caption, "Median forward latency, batch %d, %d thread(s), ours and peers", batch,
             threads);
    sbt_status st = render(&t, dir, stem, gnuplot, p, caption);
    free(t.buf);
    return st;
}

static sbt_status plot_latency(const sbt_report *r, const char *dir, const char *gnuplot, rpt_plots *p) {
    char impls[6][64];
    int n_impl = distinct_impls(r, impls, 6), groups = 0;
    sbt_status st = SBT_OK;
    for (int i = 0; !st && i < r->n_bench && groups < 16; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = r->bench[j].batch == r->bench[i].batch && r->bench[j].threads == r->bench[i].threads;
        if (seen) continue;
        st = plot_latency_group(r, i, impls, n_impl, dir, gnuplot, p);
        groups++;
    }
    return st;
}

sbt_status rpt_render_plots(const sbt_report *r, const char *out_dir, const char *gnuplot, rpt_plots *out) {
    char plots[4096];
    snprintf(plots, sizeof plots, "%s/plots", out_dir);
    if (mkdir(plots, 0755) && errno != EEXIST)
        return sbt_fail(SBT_ERR_IO, "report: cannot create %s: %s", plots, strerror(errno));
    sbt_status st = plot_grid(r, out_dir, gnuplot, out);
    if (!st) st = plot_storage(r, out_dir, gnuplot, out);
    if (!st) st = plot_macs(r, out_dir, gnuplot, out);
    if (!st) st = plot_latency(r, out_dir, gnuplot, out);
    if (!r->n_packed)
        snprintf(out->skipped, sizeof out->skipped,
                 "No packed-format JSON was given (packed sizes or sbt-export --json), so the plot of real "
                 "encodings' sizes was skipped: the storage plot shows float32, the paper's 1-bit convention "
                 "and the "
                 "entropy bound only.");
    return st;
}
