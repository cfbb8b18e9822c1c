/* Anomaly detection on the forecasting machinery: train and test series become one
 * standardised series with chronological splits, so the model, trainer and window filler
 * are shared. The model predicts each window's last step from the steps before it (its
 * input is zeroed, as in forecasting, so it cannot copy it through the residual path);
 * the anomaly score of a step is the mean squared error over channels of that
 * prediction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbt/data.h"
#include "sbt/forecast.h"
#include "sbt/model.h"

static sbt_status check_inputs(const sbt_series *train, const sbt_series *test, int window, double val_frac) {
    if (train->channels != test->channels)
        return sbt_fail(SBT_ERR_SHAPE, "anomaly: train has %d channels, test %d", train->channels,
                        test->channels);
    if (!test->label) return sbt_fail(SBT_ERR_ARG, "anomaly: the test series has no labels");
    if (window < 2) return sbt_fail(SBT_ERR_ARG, "anomaly: window %d, must be >= 2", window);
    if (!(val_frac > 0.0 && val_frac < 0.5)) return sbt_fail(SBT_ERR_ARG, "anomaly: val_frac %g", val_frac);
    int64_t fit_rows = train->steps - (int64_t)llround(val_frac * (double)train->steps);
    if (fit_rows - (window - 1) < 1 || test->steps < 1)
        return sbt_fail(SBT_ERR_SHAPE, "anomaly: %lld train steps are too few for windows of %d",
                        (long long)train->steps, window);
    return SBT_OK;
}

sbt_status sbt_anomaly_windows(const sbt_series *train, const sbt_series *test, int window, double val_frac,
                               sbt_forecast_data **out) {
    *out = NULL;
    sbt_status st = check_inputs(train, test, window, val_frac);
    if (st) return st;
    int c = train->channels;
    int64_t ntr = train->steps, nte = test->steps, rows = ntr + nte;
    int64_t fit_rows = ntr - (int64_t)llround(val_frac * (double)ntr);
    sbt_forecast_data *d = calloc(1, sizeof *d);
    if (d) {
        d->series.x = malloc((size_t)(rows * c) * sizeof(float));
        d->series.label = calloc((size_t)rows, 1);
        d->mean = malloc((size_t)c * sizeof(float));
        d->std = malloc((size_t)c * sizeof(float));
    }
    if (!d || !d->series.x || !d->series.label || !d->mean || !d->std) {
        sbt_forecast_free(d);
        return sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory");
    }
    d->series.steps = rows;
    d->series.channels = c;
    memcpy(d->series.x, train->x, (size_t)(ntr * c) * sizeof(float));
    memcpy(d->series.x + ntr * c, test->x, (size_t)(nte * c) * sizeof(float));
    memcpy(d->series.label + ntr, test->label, (size_t)nte);
    sbt_zscore_fit_rows(train->x, fit_rows, c, d->mean, d->std); /* fit_rows >= 1: checked above */
    for (int64_t i = 0; i < rows * c; i++) d->series.x[i] = (d->series.x[i] - d->mean[i % c]) / d->std[i % c];
    sbt_forecast_split *s = &d->split;
    s->scheme = SBT_SPLIT_CUSTOM;
    s->window = window;
    s->reach_back = 1;
    s->rows = rows;
    int64_t begin[3] = {0, fit_rows, ntr}, end[3] = {fit_rows, ntr, rows};
    for (int k = 0; k < 3; k++) {
        s->row_begin[k] = begin[k];
        s->row_end[k] = end[k];
        /* validation and test windows reach back into the rows before them, so every test
         * step gets a score */
        s->target_begin[k] = k == 0 ? window - 1 : begin[k];
        s->target_end[k] = end[k];
        s->border1[k] = begin[k];
        s->border2[k] = end[k];
    }
    *out = d;
    return SBT_OK;
}

sbt_anomaly_options sbt_anomaly_defaults(void) {
    sbt_anomaly_options o = {.pot_risk = 1e-4, .pot_level = 0.98, .quantile = 0.99};
    return o;
}

/* Scores of every example of one split, as doubles (what the metrics take). */
static sbt_status split_scores(sbt_model *m, const sbt_forecast_data *d, int split, double *out, int64_t *n) {
    sbt_examples ex = sbt_examples_of_forecast(d, split);
    float *s = malloc((size_t)ex.count * sizeof(float));
    if (!s) return sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory");
    sbt_status st = sbt_model_scores(m, &ex, s);
    for (int64_t i = 0; !st && i < ex.count; i++) out[i] = s[i];
    *n = ex.count;
    free(s);
    return st;
}

static sbt_status detect(const double *test, const uint8_t *labels, int64_t n, double thr,
                         sbt_anomaly_result *r) {
    r->threshold = thr;
    sbt_status st = sbt_detection_eval(test, labels, n, thr, 0, &r->raw);
    return st ? st : sbt_detection_eval(test, labels, n, thr, 1, &r->point_adjusted);
}

/* Thresholds come from train + validation scores only (never test labels or test scores). */
sbt_status sbt_anomaly_evaluate(sbt_model *m, const sbt_forecast_data *d, const sbt_anomaly_options *opt,
                                sbt_anomaly_report *out) {
    memset(out, 0, sizeof *out);
    int64_t n_train = sbt_forecast_count(d, SBT_FC_TRAIN), n_val = sbt_forecast_count(d, SBT_FC_VAL);
    int64_t n_test = sbt_forecast_count(d, SBT_FC_TEST), got;
    double *calib = malloc((size_t)(n_train + n_val) * sizeof(double)),
           *test = malloc((size_t)n_test * sizeof(double));
    sbt_status st = calib && test ? SBT_OK : sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory");
    if (!st) st = split_scores(m, d, SBT_FC_TRAIN, calib, &got);
    if (!st) st = split_scores(m, d, SBT_FC_VAL, calib + n_train, &got);
    if (!st) st = split_scores(m, d, SBT_FC_TEST, test, &got);
    const uint8_t *labels = d->series.label + d->split.target_begin[SBT_FC_TEST];
    double thr;
    if (!st) st = sbt_threshold_quantile(calib, n_train + n_val, opt->quantile, &thr);
    if (!st) st = detect(test, labels, n_test, thr, &out->quantile);
    if (!st) st = sbt_pot_threshold(calib, n_train + n_val, opt->pot_risk, opt->pot_level, &thr, NULL);
    if (!st) st = detect(test, labels, n_test, thr, &out->pot);
    if (!st) st = sbt_auc_pr(test, labels, n_test, &out->auc_pr);
    out->test_steps = n_test;
    for (int64_t i = 0; !st && i < n_test; i++) out->test_anomalies += labels[i];
    free(calib);
    free(test);
    return st;
}

/* SMD: the folder has test_label/. Otherwise NASA: the spacecraft is the folder's name and
 * the labels default to ../SMAP_MSL/labeled_anomalies.csv beside it. */
sbt_status sbt_anomaly_load(const char *dir, const char *entity, const char *labels_csv, int *window,
                            sbt_forecast_data **out) {
    *out = NULL;
    sbt_series *train = NULL, *test = NULL;
    char probe[4096], labels[4096], spacecraft[64];
    snprintf(probe, sizeof probe, "%s/test_label", dir);
    int smd = access(probe, F_OK) == 0;
    sbt_status st;
    if (smd) {
        st = sbt_smd_read(dir, entity, &train, &test);
    } else {
        const char *base = strrchr(dir, '/');
        snprintf(spacecraft, sizeof spacecraft, "%s", base && base[1] ? base + 1 : dir);
        snprintf(labels, sizeof labels, "%s/../SMAP_MSL/labeled_anomalies.csv", dir);
        st = sbt_nasa_read(dir, labels_csv ? labels_csv : labels, spacecraft, entity, &train, &test);
    }
    if (*window <= 0) *window = smd ? 200 : 50; /* the paper's windows */
    if (!st) st = sbt_anomaly_windows(train, test, *window, 0.1, out);
    sbt_series_free(train);
    sbt_series_free(test);
    return st;
}
