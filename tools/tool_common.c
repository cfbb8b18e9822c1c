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
