#include "tool_common.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbt/error.h"
#include "sbt/forecast.h"
#include "sbt/model.h"
#include "sbt/onnx.h"
#include "sbt/packfile.h"

void tool_print_version(const char *tool) { printf("%s (sbt) %s\n", tool, sbt_version()); }

int tool_fail_lib(const char *tool) {
    fprintf(stderr, "%s: error: %s\n", tool, sbt_last_error());
    return TOOL_EXIT_RUNTIME;
}

int tool_usage_error(const char *tool, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", tool);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", tool);
    return TOOL_EXIT_USAGE;
}

int tool_usage_hint(const char *tool) {
    fprintf(stderr, "Try '%s --help'.\n", tool);
    return TOOL_EXIT_USAGE;
}

int tool_check_output(const char *tool, const char *path) {
    struct stat st;
    const char *why = NULL;
    if (!*path)
        why = "empty file name";
    else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        why = "it is a directory";
    char *probe = why ? NULL : malloc(strlen(path) + 32);
    if (!why && !probe) why = "out of memory";
    if (probe) { /* the temporary name sbt_write_file_atomic uses, created and removed */
        snprintf(probe, strlen(path) + 32, "%s.tmp.%ld", path, (long)getpid());
        int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0)
            why = strerror(errno);
        else
            close(fd), unlink(probe);
        free(probe);
    }
    if (!why) return TOOL_EXIT_OK;
    fprintf(stderr, "%s: error: cannot write %s: %s (nothing was done)\n", tool, path, why);
    return TOOL_EXIT_RUNTIME;
}

void tool_json_float(cJSON *obj, const char *key, double v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", v);
    if (isfinite(v))
        cJSON_AddNumberToObject(obj, key, strtod(buf, NULL));
    else
        cJSON_AddNullToObject(obj, key);
}

void tool_json_string(cJSON *obj, const char *key, const char *s) {
    if (s)
        cJSON_AddStringToObject(obj, key, s);
    else
        cJSON_AddNullToObject(obj, key);
}

int tool_json_print(const char *tool, cJSON *obj) {
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!text) {
        fprintf(stderr, "%s: error: out of memory while writing JSON\n", tool);
        return TOOL_EXIT_RUNTIME;
    }
    puts(text);
    cJSON_free(text);
    return TOOL_EXIT_OK;
}

int tool_parse_int(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int tool_parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (*s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = (uint64_t)v;
    return 0;
}

int tool_parse_double(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* ---- model flags ---------------------------------------------------------------------- */

int tool_task_of(const char *name) {
    if (!strcmp(name, "classify")) return SBT_TASK_CLASSIFY;
    if (!strcmp(name, "forecast")) return SBT_TASK_FORECAST;
    if (!strcmp(name, "anomaly")) return SBT_TASK_ANOMALY;
    return -1;
}

int tool_prescan_task(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--task") && i + 1 < argc && tool_task_of(argv[i + 1]) >= 0)
            return tool_task_of(argv[i + 1]);
        if (!strncmp(a, "--task=", 7) && tool_task_of(a + 7) >= 0) return tool_task_of(a + 7);
    }
    return SBT_TASK_CLASSIFY;
}

/* The index of `arg` in the NULL-terminated `names`, or -1. */
static int choice(const char *arg, const char *const *names) {
    for (int i = 0; names[i]; i++)
        if (!strcmp(arg, names[i])) return i;
    return -1;
}

static int model_choice(const char *flag, const char *arg, sbt_config *cfg) {
    static const char *const WEIGHTS[] = {"dense", "sbt", NULL}, *const ALPHA[] = {"layer", "row", NULL},
                             *const ATTN[] = {"full", "qkv-mask", "step-t", "self", NULL},
                             *const NORM[] = {"batch", "layer", "none", NULL},
                             *const POS[] = {"sinusoidal", "learned", NULL},
                             *const WNORM[] = {"none", "last", NULL};
    int v;
    if (!strcmp(flag, "model"))
        return (v = choice(arg, WEIGHTS)) < 0 ? -1 : (cfg->weights = (sbt_weights)v, 0);
    if (!strcmp(flag, "alpha")) return (v = choice(arg, ALPHA)) < 0 ? -1 : (cfg->alpha_per_row = v, 0);
    if (!strcmp(flag, "attn"))
        return (v = choice(arg, ATTN)) < 0 ? -1 : (cfg->attention = (sbt_attention)v, 0);
    if (!strcmp(flag, "norm")) return (v = choice(arg, NORM)) < 0 ? -1 : (cfg->norm = (sbt_norm)v, 0);
    if (!strcmp(flag, "pos")) return (v = choice(arg, POS)) < 0 ? -1 : (cfg->pos = (sbt_posenc)v, 0);
    if (!strcmp(flag, "window-norm"))
        return (v = choice(arg, WNORM)) < 0 ? -1 : (cfg->window_norm = (sbt_window_norm)v, 0);
    return 1;
}

int tool_model_flag(const char *flag, const char *arg, sbt_config *cfg) {
    long v;
    double f;
    if (!strcmp(flag, "d-model")) return tool_parse_int(arg, 1, 65536, &v) ? -1 : (cfg->d_model = (int)v, 0);
    if (!strcmp(flag, "heads")) return tool_parse_int(arg, 1, 1024, &v) ? -1 : (cfg->heads = (int)v, 0);
    if (!strcmp(flag, "layers")) return tool_parse_int(arg, 0, 64, &v) ? -1 : (cfg->layers = (int)v, 0);
    if (!strcmp(flag, "ffn")) return tool_parse_int(arg, 1, 1 << 20, &v) ? -1 : (cfg->d_ff = (int)v, 0);
    if (!strcmp(flag, "dropout"))
        return tool_parse_double(arg, 0, 0.99, &f) ? -1 : (cfg->dropout = (float)f, 0);
    if (!strcmp(flag, "keep")) return tool_parse_double(arg, 1e-6, 1, &f) ? -1 : (cfg->keep = (float)f, 0);
    if (!strcmp(flag, "attn-keep"))
        return tool_parse_double(arg, 1e-6, 1, &f) ? -1 : (cfg->attn_keep = (float)f, 0);
    if (!strcmp(flag, "seed")) return tool_parse_u64(arg, &cfg->seed) ? -1 : 0;
    return model_choice(flag, arg, cfg);
}

/* ---- anomaly data ---------------------------------------------------------------------- */

/* What "all" left out, on stderr, so that a pooled result never silently covers fewer
 * entities than the user expects. */
static void say_skipped(const char *tool, const sbt_entity_list *l) {
    for (int i = 0; i < l->n_skipped; i++) fprintf(stderr, "%s: left out %s\n", tool, l->skipped[i]);
}

int tool_anomaly_load(const char *tool, const tool_anomaly_source *src, int *window, sbt_forecast_data **d,
                      sbt_entity_list **names) {
    *d = NULL;
    *names = NULL;
    if (src->label_column)
        return sbt_anomaly_load_csv(src->train_csv, src->test_csv, src->time_column, src->label_column,
                                    window, d)
                   ? tool_fail_lib(tool)
                   : TOOL_EXIT_OK;
    if (sbt_anomaly_entities(src->dir, src->entities, src->labels, names)) return tool_fail_lib(tool);
    say_skipped(tool, *names);
    if (sbt_anomaly_load_entities(src->dir, (const char *const *)(*names)->names, (*names)->count,
                                  src->labels, window, d)) {
        sbt_entity_list_free(*names);
        *names = NULL;
        return tool_fail_lib(tool);
    }
    return TOOL_EXIT_OK;
}

char *tool_join_names(const sbt_entity_list *names) {
    if (!names || names->count < 1) return NULL;
    size_t len = 1;
    for (int i = 0; i < names->count; i++) len += strlen(names->names[i]) + 1;
    char *s = malloc(len), *p = s;
    for (int i = 0; s && i < names->count; i++) p += sprintf(p, "%s%s", i ? "," : "", names->names[i]);
    return s;
}

/* ---- anomaly reports ------------------------------------------------------------------- */

static void print_detection(const char *name, const sbt_anomaly_result *r) {
    printf("%-8s threshold %.5g: precision %.4f recall %.4f F1 %.4f | point-adjusted: precision %.4f recall "
           "%.4f "
           "F1 %.4f\n",
           name, r->threshold, r->raw.precision, r->raw.recall, r->raw.f1, r->point_adjusted.precision,
           r->point_adjusted.recall, r->point_adjusted.f1);
}

/* Why the POT line's threshold is not POT's own, in words. */
static void print_pot_fallback(const sbt_pot_guarded *g, const sbt_anomaly_options *o) {
    if (g->fallback == SBT_POT_FITTED) return;
    printf("         POT fallback (%s): ", sbt_pot_fallback_name(g->fallback));
    if (g->fallback == SBT_POT_FIT_FAILED)
        printf("the fit failed (%s)", g->reason);
    else
        printf("the fitted threshold %.5g lies more than %g times as far above the initial threshold %.5g as "
               "the "
               "largest calibration score %.5g",
               g->fitted, SBT_POT_GUARD_FACTOR, g->fit.init_threshold, g->max_score);
    printf("; the threshold is the %.6g-quantile of the calibration scores instead\n", 1.0 - o->pot_risk);
}

static cJSON *json_detection(cJSON *parent, const char *name, const sbt_anomaly_result *r) {
    cJSON *o = cJSON_AddObjectToObject(parent, name);
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "threshold", r->threshold);
    cJSON_AddNumberToObject(o, "precision", r->raw.precision);
    cJSON_AddNumberToObject(o, "recall", r->raw.recall);
    cJSON_AddNumberToObject(o, "f1", r->raw.f1);
    cJSON_AddNumberToObject(o, "pa_precision", r->point_adjusted.precision);
    cJSON_AddNumberToObject(o, "pa_recall", r->point_adjusted.recall);
    cJSON_AddNumberToObject(o, "pa_f1", r->point_adjusted.f1);
    return o;
}

static void json_counts(cJSON *o, int64_t steps, int64_t anomalous, double auc_pr) {
    cJSON_AddNumberToObject(o, "steps", (double)steps);
    cJSON_AddNumberToObject(o, "anomalous", (double)anomalous);
    cJSON_AddNumberToObject(o, "auc_pr", auc_pr); /* NaN (no anomaly) prints as null */
}

static cJSON *json_report(const sbt_anomaly_report *r, const sbt_anomaly_options *o,
                          const sbt_entity_list *names, const char *single_name, const char *model_path) {
    const sbt_pot_guarded *g = &r->pot_fit;
    cJSON *root = cJSON_CreateObject();
    tool_json_string(root, "model", model_path);
    cJSON_AddStringToObject(root, "task", "anomaly");
    json_counts(root, r->test_steps, r->test_anomalies, r->auc_pr);
    cJSON *pot = json_detection(root, "pot", &r->pot);
    if (pot) {
        cJSON_AddNumberToObject(pot, "risk", o->pot_risk);
        cJSON_AddNumberToObject(pot, "level", o->pot_level);
        cJSON_AddStringToObject(pot, "fallback", sbt_pot_fallback_name(g->fallback));
        cJSON_AddNumberToObject(pot, "fitted", g->fitted);
        cJSON_AddNumberToObject(pot, "initial", g->fit.init_threshold);
        cJSON_AddNumberToObject(pot, "max_calibration_score", g->max_score);
    }
    cJSON *q = json_detection(root, "quantile", &r->quantile);
    if (q) cJSON_AddNumberToObject(q, "q", o->quantile);
    cJSON *list = cJSON_AddArrayToObject(root, "entities");
    for (int e = 0; list && e < r->entities; e++) {
        const sbt_anomaly_entity_report *x = &r->entity[e];
        cJSON *item = cJSON_CreateObject();
        tool_json_string(item, "name", names && e < names->count ? names->names[e] : single_name);
        json_counts(item, x->test_steps, x->test_anomalies, x->auc_pr);
        json_detection(item, "pot", &x->pot);
        json_detection(item, "quantile", &x->quantile);
        cJSON_AddItemToArray(list, item);
    }
    return root;
}

void tool_print_anomaly_report(const sbt_anomaly_report *r, const sbt_anomaly_options *o,
                               const sbt_entity_list *names, const char *single_name,
                               const char *json_model_path) {
    if (json_model_path) {
        tool_json_print("sbt", json_report(r, o, names, single_name, json_model_path));
        return;
    }
    printf("test: %lld steps, %lld anomalous; AUC-PR %.4f\n", (long long)r->test_steps,
           (long long)r->test_anomalies, r->auc_pr);
    if (r->entities > 1)
        printf("(pooled over the test steps of %d entities; sbt-eval --json also gives each entity)\n",
               r->entities);
    print_detection("POT", &r->pot);
    print_pot_fallback(&r->pot_fit, o);
    print_detection("quantile", &r->quantile);
}

void tool_print_forecast_data(const char *tool, const sbt_forecast_data *d, int to_stdout) {
    char split[512];
    sbt_forecast_split_describe(&d->split, split, sizeof split);
    fprintf(to_stdout ? stdout : stderr, "split %s\n", split);
    for (int c = 0; d->filled && c < d->series.channels; c++)
        if (d->filled[c])
            fprintf(stderr, "%s: filled %lld empty or NaN cells of column '%s' (linear)\n", tool,
                    (long long)d->filled[c], d->series.channel_names[c]);
}

/* The split rule and each split's rows, as sbt-eval's JSON gives them. */
static void json_split(cJSON *root, const sbt_forecast_data *d) {
    sbt_split_rule rule = {.scheme = d->split.scheme};
    memcpy(rule.ratio, d->split.ratio, sizeof rule.ratio);
    char name[96];
    sbt_split_rule_format(&rule, name, sizeof name);
    cJSON_AddStringToObject(root, "split", name);
    cJSON *rows = cJSON_AddObjectToObject(root, "split_rows");
    static const char *const what[3] = {"train", "validation", "test"};
    for (int k = 0; rows && k < 3; k++) {
        double range[2] = {(double)d->split.row_begin[k], (double)d->split.row_end[k]};
        cJSON_AddItemToObject(rows, what[k], cJSON_CreateDoubleArray(range, 2));
    }
    cJSON *filled = cJSON_AddObjectToObject(root, "filled");
    for (int c = 0; filled && d->filled && c < d->series.channels; c++)
        cJSON_AddNumberToObject(filled, d->series.channel_names[c], (double)d->filled[c]);
}

int tool_report_forecast(const char *tool, sbt_model *m, const sbt_forecast_data *d,
                         const char *json_model_path) {
    sbt_examples test = sbt_examples_of_forecast(d, SBT_FC_TEST);
    sbt_eval e;
    sbt_forecast_metrics base;
    if (sbt_model_evaluate(m, &test, NULL, &e) || sbt_forecast_persistence(d, SBT_FC_TEST, &base))
        return tool_fail_lib(tool);
    if (json_model_path) {
        cJSON *root = cJSON_CreateObject();
        tool_json_string(root, "model", json_model_path);
        cJSON_AddStringToObject(root, "task", "forecast");
        cJSON_AddNumberToObject(root, "windows", (double)e.count);
        cJSON_AddNumberToObject(root, "mse", e.forecast.mse);
        cJSON_AddNumberToObject(root, "mae", e.forecast.mae);
        cJSON_AddNumberToObject(root, "mse_original", e.forecast.mse_raw);
        cJSON_AddNumberToObject(root, "mae_original", e.forecast.mae_raw);
        cJSON_AddNumberToObject(root, "persistence_mse", base.mse);
        cJSON_AddNumberToObject(root, "persistence_mae", base.mae);
        json_split(root, d);
        return tool_json_print(tool, root);
    }
    printf("test MSE %.4f MAE %.4f (standardised), MSE %.4g MAE %.4g (original units), %lld windows\n"
           "persistence baseline: MSE %.4f MAE %.4f (standardised)\n",
           e.forecast.mse, e.forecast.mae, e.forecast.mse_raw, e.forecast.mae_raw, (long long)e.count,
           base.mse, base.mae);
    return TOOL_EXIT_OK;
}

static double per_element(double bits, int64_t n) { return n > 0 ? bits / (double)n : 0; }

void tool_print_packfile(const char *path, const sbt_packfile *pf) {
    size_t total = sbt_packfile_size(pf);
    int64_t elements = 0;
    printf("%s: %zu bytes (%d sections)\n", path, total, sbt_packfile_count(pf));
    printf("  %-28s %-16s %10s %12s %10s %10s\n", "section", "encoding", "elements", "bytes", "bits/elt",
           "bound");
    for (int i = 0; i < sbt_packfile_count(pf); i++) {
        const sbt_pack_section *s = sbt_packfile_at(pf, i);
        if (s->encoding != SBT_ENC_TEXT) elements += s->count;
        printf("  %-28s %-16s %10lld %12zu %10.4f %10.4f%s\n", s->name, sbt_encoding_name(s->encoding),
               (long long)s->count, s->stored_bytes, per_element(8.0 * (double)s->stored_bytes, s->count),
               per_element(sbt_packfile_bound_bits(s), s->count), s->flags & SBT_PACK_ZLIB ? " (zlib)" : "");
    }
    printf("total %zu bytes, %.4f bits per stored element (%lld elements; header, table and text included)\n",
           total, per_element(8.0 * (double)total, elements), (long long)elements);
}

int tool_has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

int tool_load_model(const char *tool, const char *path, int onnx_task, sbt_model **m,
                    sbt_anomaly_settings *s) {
    *m = NULL;
    if (!tool_has_suffix(path, ".onnx")) return sbt_anomaly_model_load(path, m, s) ? tool_fail_lib(tool) : 0;
    if (s) {
        memset(s, 0, sizeof *s);
        s->opt = sbt_anomaly_defaults();
    }
    sbt_onnx_options opt = sbt_onnx_defaults();
    sbt_onnx_model *om = NULL;
    sbt_status st = sbt_onnx_import(path, &opt, &om);
    if (!st) st = sbt_onnx_to_model(om, (sbt_task)onnx_task, m);
    sbt_onnx_model_free(om);
    return st ? tool_fail_lib(tool) : 0;
}

int tool_write_onnx(const char *tool, sbt_model *m, const char *path, int length, int float_only,
                    sbt_onnx_export_stats *stats, size_t *f32_bytes) {
    sbt_model_graph mg;
    sbt_onnx_export_options eo = sbt_onnx_export_defaults(), f32 = sbt_onnx_export_defaults();
    sbt_onnx_export_stats st, st32;
    eo.ternary = !float_only;
    sbt_status s = sbt_model_graph_build_infer(m, 1, length > 0 ? length : m->cfg.max_len, &mg);
    if (!s) {
        s = f32_bytes ? sbt_onnx_export_size(mg.graph, mg.x, mg.output, &f32, &st32) : SBT_OK;
        if (!s) s = sbt_onnx_export(mg.graph, mg.x, mg.output, path, &eo, &st);
        sbt_model_graph_free(&mg);
    }
    if (s) return tool_fail_lib(tool);
    if (stats) *stats = st;
    if (f32_bytes) *f32_bytes = st32.file_bytes;
    return 0;
}
