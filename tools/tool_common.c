#include "tool_common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "sbt/error.h"
#include "sbt/forecast.h"

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

static void print_detection(const char *name, const sbt_anomaly_result *r) {
    printf("%-8s threshold %.5g: precision %.4f recall %.4f F1 %.4f | point-adjusted: precision %.4f recall "
           "%.4f "
           "F1 %.4f\n",
           name, r->threshold, r->raw.precision, r->raw.recall, r->raw.f1, r->point_adjusted.precision,
           r->point_adjusted.recall, r->point_adjusted.f1);
}

static void json_detection(const char *name, const sbt_anomaly_result *r, const char *sep) {
    printf("\"%s\": {\"threshold\": %.9g, \"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f, "
           "\"pa_precision\": %.6f, \"pa_recall\": %.6f, \"pa_f1\": %.6f}%s",
           name, r->threshold, r->raw.precision, r->raw.recall, r->raw.f1, r->point_adjusted.precision,
           r->point_adjusted.recall, r->point_adjusted.f1, sep);
}

void tool_print_anomaly_report(const sbt_anomaly_report *r, const char *json_model_path) {
    if (!json_model_path) {
        printf("test: %lld steps, %lld anomalous; AUC-PR %.4f\n", (long long)r->test_steps,
               (long long)r->test_anomalies, r->auc_pr);
        print_detection("POT", &r->pot);
        print_detection("quantile", &r->quantile);
        return;
    }
    printf(
        "{\"model\": \"%s\", \"task\": \"anomaly\", \"steps\": %lld, \"anomalous\": %lld, \"auc_pr\": %.6f, ",
        json_model_path, (long long)r->test_steps, (long long)r->test_anomalies, r->auc_pr);
    json_detection("pot", &r->pot, ", ");
    json_detection("quantile", &r->quantile, "}\n");
}
