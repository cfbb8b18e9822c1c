#include "tool_common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/error.h"
#include "sbt/forecast.h"
#include "sbt/model.h"

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

static void json_string(const char *s) {
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* A number, or null for NaN and infinity (which JSON cannot hold). */
static void json_number(const char *fmt, double v) {
    if (isfinite(v))
        printf(fmt, v);
    else
        printf("null");
}

static void json_detection(const char *name, const sbt_anomaly_result *r) {
    printf("\"%s\": {\"threshold\": %.9g, \"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f, "
           "\"pa_precision\": %.6f, \"pa_recall\": %.6f, \"pa_f1\": %.6f",
           name, r->threshold, r->raw.precision, r->raw.recall, r->raw.f1, r->point_adjusted.precision,
           r->point_adjusted.recall, r->point_adjusted.f1);
}

static void json_entity(const sbt_anomaly_entity_report *e, const char *name) {
    printf("{\"name\": ");
    json_string(name);
    printf(", \"steps\": %lld, \"anomalous\": %lld, \"auc_pr\": ", (long long)e->test_steps,
           (long long)e->test_anomalies);
    json_number("%.6f", e->auc_pr);
    printf(", ");
    json_detection("pot", &e->pot);
    printf("}, ");
    json_detection("quantile", &e->quantile);
    printf("}}");
}

static void json_report(const sbt_anomaly_report *r, const sbt_anomaly_options *o,
                        const sbt_entity_list *names, const char *single_name, const char *model_path) {
    const sbt_pot_guarded *g = &r->pot_fit;
    printf("{\"model\": ");
    json_string(model_path);
    printf(", \"task\": \"anomaly\", \"steps\": %lld, \"anomalous\": %lld, \"auc_pr\": %.6f, ",
           (long long)r->test_steps, (long long)r->test_anomalies, r->auc_pr);
    json_detection("pot", &r->pot);
    printf(", \"risk\": %.9g, \"level\": %.9g, \"fallback\": \"%s\", \"fitted\": ", o->pot_risk, o->pot_level,
           sbt_pot_fallback_name(g->fallback));
    json_number("%.9g", g->fitted);
    printf(", \"initial\": %.9g, \"max_calibration_score\": %.9g}, ", g->fit.init_threshold, g->max_score);
    json_detection("quantile", &r->quantile);
    printf(", \"q\": %.9g}, \"entities\": [", o->quantile);
    for (int e = 0; e < r->entities; e++) {
        if (e) printf(", ");
        json_entity(&r->entity[e], names && e < names->count ? names->names[e] : single_name);
    }
    printf("]}\n");
}

void tool_print_anomaly_report(const sbt_anomaly_report *r, const sbt_anomaly_options *o,
                               const sbt_entity_list *names, const char *single_name,
                               const char *json_model_path) {
    if (json_model_path) {
        json_report(r, o, names, single_name, json_model_path);
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

int tool_report_forecast(const char *tool, sbt_model *m, const sbt_forecast_data *d,
                         const char *json_model_path) {
    sbt_examples test = sbt_examples_of_forecast(d, SBT_FC_TEST);
    sbt_eval e;
    sbt_forecast_metrics base;
    if (sbt_model_evaluate(m, &test, NULL, &e) || sbt_forecast_persistence(d, SBT_FC_TEST, &base))
        return tool_fail_lib(tool);
    if (json_model_path)
        printf("{\"model\": \"%s\", \"task\": \"forecast\", \"windows\": %lld, \"mse\": %.6f, \"mae\": %.6f, "
               "\"mse_original\": %.6g, \"mae_original\": %.6g, \"persistence_mse\": %.6f, "
               "\"persistence_mae\": %.6f}\n",
               json_model_path, (long long)e.count, e.forecast.mse, e.forecast.mae, e.forecast.mse_raw,
               e.forecast.mae_raw, base.mse, base.mae);
    else
        printf("test MSE %.4f MAE %.4f (standardised), MSE %.4g MAE %.4g (original units), %lld windows\n"
               "persistence baseline: MSE %.4f MAE %.4f (standardised)\n",
               e.forecast.mse, e.forecast.mae, e.forecast.mse_raw, e.forecast.mae_raw, (long long)e.count,
               base.mse, base.mae);
    return TOOL_EXIT_OK;
}
