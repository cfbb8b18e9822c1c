/* One anomaly model over several entities, and what goes with it: windows that never
 * straddle two entities (checked by value and against each entity's windows alone), pooled
 * metrics against the same metrics over the concatenated score and label arrays, the POT
 * guard on tails that do and do not trip it, the strict labelled-CSV reader on good and bad
 * files, entity lists ("all" and comma lists) and the anomaly settings in model files. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sbt/anomaly.h"
#include "sbt/container.h"
#include "sbt/forecast.h"
#include "sbt/model.h"

static char tmp_dir[64];

static const char *tmp_file(const char *name) {
    static char paths[4][256];
    static int slot;
    char *p = paths[slot++ % 4];
    snprintf(p, 256, "%s/%s", tmp_dir, name);
    return p;
}

static const char *write_text(const char *name, const char *text) {
    const char *p = tmp_file(name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

/* Entity e: channel 0 counts up from base (train, then test continuing), channel 1 is a
 * sine of the entity's own amplitude. */
static void make_entity(int64_t ntr, int64_t nte, float base, uint8_t anomaly_at, sbt_series **train,
                        sbt_series **test) {
    sbt_series_new(ntr, 2, 0, train);
    sbt_series_new(nte, 2, 1, test);
    for (int64_t t = 0; t < ntr + nte; t++) {
        float *x = t < ntr ? (*train)->x + 2 * t : (*test)->x + 2 * (t - ntr);
        x[0] = base + (float)t;
        x[1] = sinf(0.3f * (float)t) * (1.0f + base / 1000.0f);
    }
    for (int64_t t = 0; t < nte; t++) (*test)->label[t] = t >= anomaly_at && t < anomaly_at + 3;
}

/* Whether a window of entity e (channel 0 of its W-1 observed steps, then its target, all
 * standardised with e's own statistics) holds W consecutive raw steps of entity e:
 * base_e + j, base_e + j + 1, ... within [base_e, base_e + steps_e). A row of another entity
 * (standardised with that entity's statistics) breaks the run. */
static int window_in_entity(const float *x, const float *y, int w, const sbt_forecast_data *alone,
                            double base, int64_t steps) {
    double first = x[0] * alone->std[0] + alone->mean[0];
    for (int s = 0; s < w; s++) {
        double v = (s < w - 1 ? x[2 * s] : y[0]) * alone->std[0] + alone->mean[0];
        if (fabs(v - (first + s)) > 0.05) return 0;
    }
    return first > base - 0.05 && first + w - 1 < base + (double)steps - 1 + 0.05;
}

/* ---- windows ---------------------------------------------------------------------------- */

static void test_windows_stay_in_one_entity(void) {
    enum { E = 3, W = 5 };
    sbt_series *tr[E], *te[E];
    const int64_t ntr[E] = {40, 25, 31}, nte[E] = {12, 7, 9};
    for (int e = 0; e < E; e++) make_entity(ntr[e], nte[e], 1000.0f + 4000.0f * (float)e, 2, &tr[e], &te[e]);
    sbt_forecast_data *d = NULL, *one[E] = {0};
    REQUIRE(sbt_anomaly_windows_concat((const sbt_series *const *)tr, (const sbt_series *const *)te, E, W,
                                       0.2, &d) == SBT_OK);
    for (int e = 0; e < E; e++) REQUIRE(sbt_anomaly_windows(tr[e], te[e], W, 0.2, &one[e]) == SBT_OK);
    CHECK(d->entities == E && d->target_row != NULL);
    CHECK(d->series.steps == 40 + 12 + 25 + 7 + 31 + 9);
    float x[W * 2], y[2], xo[W * 2], yo[2];
    int64_t windows = 0, bad_rows = 0, bad_values = 0, differ = 0;
    for (int k = 0; k < 3; k++) {
        const int64_t *first = d->entity_first + k * (E + 1);
        CHECK(first[0] == d->split.target_begin[k] && first[E] == d->split.target_end[k]);
        for (int e = 0; e < E; e++) {
            /* the same targets as the entity alone, in the same order */
            CHECK(first[e + 1] - first[e] == sbt_forecast_count(one[e], k));
            for (int64_t i = first[e]; i < first[e + 1]; i++, windows++) {
                int64_t row = d->target_row[i], alone = one[e]->split.target_begin[k] + (i - first[e]);
                if (row - (W - 1) < d->entity_rows[e] || row >= d->entity_rows[e + 1]) bad_rows++;
                REQUIRE(sbt_forecast_batch(d, &i, 1, x, y) == SBT_OK);
                REQUIRE(sbt_forecast_batch(one[e], &alone, 1, xo, yo) == SBT_OK);
                differ += memcmp(x, xo, sizeof x) != 0 || memcmp(y, yo, sizeof y) != 0;
                bad_values += !window_in_entity(x, y, W, one[e], 1000.0 + 4000.0 * e, ntr[e] + nte[e]);
            }
        }
    }
    CHECK(windows == d->split.target_end[SBT_FC_TEST]);
    CHECK_MSG(bad_rows == 0 && bad_values == 0 && differ == 0,
              "%lld windows: %lld rows, %lld values outside "
              "their entity, %lld differ from the entity alone",
              (long long)windows, (long long)bad_rows, (long long)bad_values, (long long)differ);
    /* every test step of every entity is a target, once, with its label */
    int64_t test_targets = 0, labelled = 0;
    for (int64_t i = d->split.target_begin[SBT_FC_TEST]; i < d->split.target_end[SBT_FC_TEST]; i++) {
        test_targets++;
        labelled += d->series.label[d->target_row[i]];
    }
    CHECK(test_targets == 12 + 7 + 9 && labelled == 3 * E);
    /* a target index past the end is refused, not read */
    int64_t past = d->split.target_end[SBT_FC_TEST];
    CHECK(sbt_forecast_batch(d, &past, 1, x, y) == SBT_ERR_ARG);
    CHECK(d->mean[0] == 0.0f && d->std[0] == 1.0f); /* no common statistics */
    sbt_forecast_free(d);
    for (int e = 0; e < E; e++) {
        sbt_forecast_free(one[e]);
        sbt_series_free(tr[e]);
        sbt_series_free(te[e]);
    }
}

/* A single entity keeps the row-based layout sbt_anomaly_windows always had. */
static void test_one_entity_is_unchanged(void) {
    sbt_series *tr = NULL, *te = NULL;
    make_entity(10, 5, 1000.0f, 1, &tr, &te);
    const sbt_series *trs[1] = {tr}, *tes[1] = {te};
    sbt_forecast_data *d = NULL;
    REQUIRE(sbt_anomaly_windows_concat(trs, tes, 1, 3, 0.2, &d) == SBT_OK);
    CHECK(d->target_row == NULL && d->entities == 1);
    CHECK(d->split.target_begin[SBT_FC_TRAIN] == 2 && d->split.target_end[SBT_FC_TRAIN] == 8);
    CHECK(d->split.target_begin[SBT_FC_TEST] == 10 && d->split.target_end[SBT_FC_TEST] == 15);
    CHECK(d->entity_first[2 * 2] == 10 && d->entity_first[2 * 2 + 1] == 15);
    CHECK_NEAR(d->mean[0], 1003.5, 1e-3); /* its own statistics, rows 0..7 */
    sbt_forecast_free(d);
    sbt_series_free(tr);
    sbt_series_free(te);
}

static void test_concat_errors(void) {
    sbt_series *tr[2], *te[2], *wide = NULL, *shorty = NULL;
    make_entity(30, 5, 1000.0f, 0, &tr[0], &te[0]);
    make_entity(30, 5, 5000.0f, 0, &tr[1], &te[1]);
    sbt_series_new(5, 3, 1, &wide);
    sbt_series_new(4, 2, 0, &shorty);
    sbt_forecast_data *d = NULL;
    const sbt_series *a[2] = {tr[0], tr[1]}, *b[2] = {te[0], wide};
    CHECK(sbt_anomaly_windows_concat(a, b, 2, 3, 0.1, &d) == SBT_ERR_SHAPE && d == NULL);
    CHECK(strstr(sbt_last_error(), "entity 1") != NULL);
    a[1] = shorty;
    b[1] = te[1];
    CHECK(sbt_anomaly_windows_concat(a, b, 2, 5, 0.1, &d) == SBT_ERR_SHAPE);
    CHECK(strstr(sbt_last_error(), "entity 1") && strstr(sbt_last_error(), "too few"));
    CHECK(sbt_anomaly_windows_concat(a, b, 0, 5, 0.1, &d) == SBT_ERR_ARG);
    for (int e = 0; e < 2; e++) sbt_series_free(tr[e]), sbt_series_free(te[e]);
    sbt_series_free(wide);
    sbt_series_free(shorty);
}

/* ---- pooled metrics ------------------------------------------------------------------------ */

static void same_counts(const sbt_detection *a, const sbt_detection *b, const char *what) {
    CHECK_MSG(a->tp == b->tp && a->fp == b->fp && a->fn == b->fn && a->tn == b->tn,
              "%s: %lld/%lld/%lld/%lld vs %lld/%lld/%lld/%lld", what, (long long)a->tp, (long long)a->fp,
              (long long)a->fn, (long long)a->tn, (long long)b->tp, (long long)b->fp, (long long)b->fn,
              (long long)b->tn);
    CHECK_NEAR(a->f1, b->f1, 1e-12);
}

static void test_pooled_metrics(void) {
    /* two entities of 8 and 6 steps; no anomaly segment touches the boundary at step 8 */
    const double s[14] = {0.1, 0.9, 0.2, 0.1, 0.8, 0.3, 0.1, 0.2, 0.1, 0.7, 0.2, 0.1, 0.95, 0.1};
    const uint8_t y[14] = {0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0};
    const int64_t starts[3] = {0, 8, 14};
    for (int pa = 0; pa < 2; pa++) {
        sbt_detection pooled, whole;
        REQUIRE(sbt_detection_eval_pooled(s, y, starts, 2, 0.5, pa, &pooled) == SBT_OK);
        REQUIRE(sbt_detection_eval(s, y, 14, 0.5, pa, &whole) == SBT_OK);
        same_counts(&pooled, &whole, pa ? "point-adjusted" : "raw");
    }
    /* a segment ending entity 0 and one starting entity 1: concatenated, they would be one
     * segment and the hit in entity 1 would credit entity 0's missed steps */
    const double s2[6] = {0.1, 0.1, 0.1, 0.9, 0.1, 0.1};
    const uint8_t y2[6] = {0, 1, 1, 1, 1, 0};
    const int64_t st2[3] = {0, 3, 6};
    sbt_detection pooled, whole, raw_pooled, raw_whole;
    REQUIRE(sbt_detection_eval_pooled(s2, y2, st2, 2, 0.5, 1, &pooled) == SBT_OK);
    REQUIRE(sbt_detection_eval(s2, y2, 6, 0.5, 1, &whole) == SBT_OK);
    CHECK(whole.tp == 4 && whole.fn == 0);
    CHECK(pooled.tp == 2 && pooled.fn == 2); /* entity 0's segment is missed, entity 1's found */
    REQUIRE(sbt_detection_eval_pooled(s2, y2, st2, 2, 0.5, 0, &raw_pooled) == SBT_OK);
    REQUIRE(sbt_detection_eval(s2, y2, 6, 0.5, 0, &raw_whole) == SBT_OK);
    same_counts(&raw_pooled, &raw_whole, "raw at the boundary");
    const int64_t bad[3] = {0, 3, 3};
    CHECK(sbt_detection_eval_pooled(s2, y2, bad, 2, 0.5, 0, &pooled) == SBT_ERR_ARG);
}

/* A small random model scores pooled data; the report must be the metrics of the
 * concatenated arrays (labels taken from each entity alone, not from the pooled data). */
static void test_evaluate_pooled(void) {
    enum { E = 2, W = 6 };
    sbt_series *tr[E], *te[E];
    make_entity(120, 40, 1000.0f, 10, &tr[0], &te[0]);
    make_entity(90, 30, 5000.0f, 25, &tr[1], &te[1]);
    te[1]->x[2 * 26] += 50.0f; /* something for the model to miss-predict */
    sbt_forecast_data *d = NULL;
    REQUIRE(sbt_anomaly_windows_concat((const sbt_series *const *)tr, (const sbt_series *const *)te, E, W,
                                       0.1, &d) == SBT_OK);
    sbt_config cfg = sbt_config_default(SBT_TASK_ANOMALY);
    cfg.channels = cfg.outputs = 2;
    cfg.max_len = W;
    cfg.d_model = 4;
    cfg.heads = 1;
    cfg.layers = 1;
    cfg.d_ff = 8;
    sbt_model *m = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    sbt_anomaly_options o = sbt_anomaly_defaults();
    o.pot_risk = 1e-2; /* a few hundred calibration scores */
    o.pot_level = 0.9;
    sbt_anomaly_report r;
    REQUIRE(sbt_anomaly_evaluate(m, d, &o, &r) == SBT_OK);
    int64_t nc = sbt_forecast_count(d, SBT_FC_TRAIN) + sbt_forecast_count(d, SBT_FC_VAL);
    int64_t nt = sbt_forecast_count(d, SBT_FC_TEST);
    double *calib = malloc((size_t)nc * sizeof *calib), *test = malloc((size_t)nt * sizeof *test);
    float *f = malloc((size_t)(nc + nt) * sizeof *f);
    uint8_t *labels = malloc((size_t)nt);
    REQUIRE(calib && test && f && labels);
    sbt_examples ex[3] = {sbt_examples_of_forecast(d, SBT_FC_TRAIN), sbt_examples_of_forecast(d, SBT_FC_VAL),
                          sbt_examples_of_forecast(d, SBT_FC_TEST)};
    REQUIRE(sbt_model_scores(m, &ex[0], f) == SBT_OK &&
            sbt_model_scores(m, &ex[1], f + ex[0].count) == SBT_OK);
    REQUIRE(sbt_model_scores(m, &ex[2], f + nc) == SBT_OK);
    for (int64_t i = 0; i < nc; i++) calib[i] = f[i];
    for (int64_t i = 0; i < nt; i++) test[i] = f[nc + i];
    memcpy(labels, te[0]->label, 40);
    memcpy(labels + 40, te[1]->label, 30);
    CHECK(nt == 70 && r.test_steps == 70 && r.test_anomalies == 6 && r.entities == E);
    double q, ap;
    sbt_pot_guarded g;
    REQUIRE(sbt_threshold_quantile(calib, nc, o.quantile, &q) == SBT_OK);
    REQUIRE(sbt_pot_threshold_guarded(calib, nc, o.pot_risk, o.pot_level, &g) == SBT_OK);
    REQUIRE(sbt_auc_pr(test, labels, nt, &ap) == SBT_OK);
    CHECK(r.quantile.threshold == q && r.pot.threshold == g.threshold && r.auc_pr == ap);
    sbt_detection raw_q, raw_p;
    REQUIRE(sbt_detection_eval(test, labels, nt, q, 0, &raw_q) == SBT_OK);
    REQUIRE(sbt_detection_eval(test, labels, nt, g.threshold, 0, &raw_p) == SBT_OK);
    same_counts(&r.quantile.raw, &raw_q, "pooled quantile");
    same_counts(&r.pot.raw, &raw_p, "pooled POT");
    /* per entity: its own slice; the counts add up to the pooled ones */
    sbt_detection e0, e1;
    REQUIRE(sbt_detection_eval(test, labels, 40, q, 1, &e0) == SBT_OK);
    REQUIRE(sbt_detection_eval(test + 40, labels + 40, 30, q, 1, &e1) == SBT_OK);
    same_counts(&r.entity[0].quantile.point_adjusted, &e0, "entity 0 adjusted");
    same_counts(&r.entity[1].quantile.point_adjusted, &e1, "entity 1 adjusted");
    CHECK(r.entity[0].test_steps == 40 && r.entity[1].test_anomalies == 3);
    CHECK(r.quantile.point_adjusted.tp == e0.tp + e1.tp && r.quantile.point_adjusted.fp == e0.fp + e1.fp);
    sbt_anomaly_report_free(&r);
    CHECK(r.entity == NULL);
    free(calib);
    free(test);
    free(f);
    free(labels);
    sbt_model_free(m);
    sbt_forecast_free(d);
    for (int e = 0; e < E; e++) sbt_series_free(tr[e]), sbt_series_free(te[e]);
}

/* ---- the POT guard ------------------------------------------------------------------------- */

/* n scores: a uniform body on [0, 1) and, above the 0.98 level, Pareto excesses of shape
 * gamma (deterministic quantiles, so the test does not depend on a random draw). */
static double *tail_scores(int64_t n, double gamma) {
    double *s = malloc((size_t)n * sizeof *s);
    int64_t body = (int64_t)(0.98 * (double)n);
    for (int64_t i = 0; i < body; i++) s[i] = (double)i / (double)body;
    for (int64_t i = body; i < n; i++) {
        double u = ((double)(i - body) + 0.5) / (double)(n - body); /* uniform in (0, 1) */
        s[i] = 1.0 + (gamma > 0 ? (pow(1.0 - u, -gamma) - 1.0) / gamma : -log(1.0 - u)) * 0.1;
    }
    return s;
}

static void test_pot_guard_trips_on_heavy_tail(void) {
    /* 1,000 scores with a shape-2 tail: risk 1e-4 asks for a quantile 20 times further out
     * than the data reaches, and the GPD extrapolates that far */
    double *s = tail_scores(1000, 2.0);
    sbt_pot_guarded g;
    REQUIRE(s && sbt_pot_threshold_guarded(s, 1000, 1e-4, 0.98, &g) == SBT_OK);
    double q;
    REQUIRE(sbt_threshold_quantile(s, 1000, 1.0 - 1e-4, &q) == SBT_OK);
    CHECK_MSG(g.fallback == SBT_POT_BEYOND_GUARD, "fallback %s, fitted %g, max %g, t %g",
              sbt_pot_fallback_name(g.fallback), g.fitted, g.max_score, g.fit.init_threshold);
    CHECK(g.fitted - g.fit.init_threshold > SBT_POT_GUARD_FACTOR * (g.max_score - g.fit.init_threshold));
    CHECK(g.threshold == q && g.threshold <= g.max_score);
    CHECK(strcmp(sbt_pot_fallback_name(g.fallback), "beyond-guard") == 0);
    /* the unguarded call returns the absurd value */
    double raw;
    REQUIRE(sbt_pot_threshold(s, 1000, 1e-4, 0.98, &raw, NULL) == SBT_OK);
    CHECK(raw == g.fitted && raw > SBT_POT_GUARD_FACTOR * g.max_score);
    free(s);
}

static void test_pot_guard_keeps_light_tail(void) {
    /* 20,000 scores with an exponential tail: the fit is trusted and kept */
    double *s = tail_scores(20000, 0.0);
    sbt_pot_guarded g;
    double raw;
    REQUIRE(s && sbt_pot_threshold_guarded(s, 20000, 1e-4, 0.98, &g) == SBT_OK);
    REQUIRE(sbt_pot_threshold(s, 20000, 1e-4, 0.98, &raw, NULL) == SBT_OK);
    CHECK_MSG(g.fallback == SBT_POT_FITTED, "fallback %s", sbt_pot_fallback_name(g.fallback));
    CHECK(g.threshold == raw && g.fitted == raw && g.reason[0] == '\0');
    CHECK(g.threshold > g.fit.init_threshold && g.threshold < g.max_score * 2);
    free(s);
}

static void test_pot_guard_fit_failure_and_errors(void) {
    double flat[100];
    for (int i = 0; i < 100; i++) flat[i] = 3.0; /* nothing above the initial threshold */
    sbt_pot_guarded g;
    REQUIRE(sbt_pot_threshold_guarded(flat, 100, 1e-3, 0.98, &g) == SBT_OK);
    CHECK(g.fallback == SBT_POT_FIT_FAILED && g.threshold == 3.0 && isnan(g.fitted));
    CHECK(strstr(g.reason, "no calibration score above") != NULL);
    CHECK(g.fit.init_threshold == 3.0 && g.fit.n == 100 && g.fit.n_peaks == 0);
    double s[4] = {1, 2, NAN, 4};
    CHECK(sbt_pot_threshold_guarded(s, 4, 1e-3, 0.5, &g) == SBT_ERR_NUMERIC);
    CHECK(sbt_pot_threshold_guarded(flat, 100, 0.0, 0.98, &g) == SBT_ERR_ARG);
    CHECK(sbt_pot_threshold_guarded(flat, 100, 1e-3, 1.0, &g) == SBT_ERR_ARG);
}

/* ---- labelled CSV ---------------------------------------------------------------------------- */

static void test_csv_good(void) {
    const char *p = write_text("good.csv", "\xEF\xBB\xBFtime,\"a\",b,label\r\n"
                                           "2020-01-01 00:00,1.5,-2,0\r\n"
                                           "2020-01-01 00:01, 2.5 ,3e1,1\r\n"
                                           "\r\n"
                                           "2020-01-01 00:02,3.5,4,0\r\n");
    sbt_series *s = NULL;
    CHECK_MSG(sbt_series_read_csv(p, "time", "label", 0, &s) == SBT_OK, "%s", sbt_last_error());
    REQUIRE(s);
    CHECK(s->steps == 3 && s->channels == 2 && s->label);
    CHECK(strcmp(s->channel_names[0], "a") == 0 && strcmp(s->channel_names[1], "b") == 0);
    CHECK(s->x[0] == 1.5f && s->x[1] == -2.0f && s->x[3] == 30.0f && s->x[4] == 3.5f);
    CHECK(s->label[0] == 0 && s->label[1] == 1 && s->label[2] == 0);
    sbt_series_free(s);
    /* a training file without the label column, allowed when asked */
    p = write_text("nolabel.csv", "a,b\n1,2\n3,4\n");
    CHECK(sbt_series_read_csv(p, NULL, "label", 0, &s) == SBT_ERR_PARSE && s == NULL);
    CHECK(strstr(sbt_last_error(), "nolabel.csv") && strstr(sbt_last_error(), "no label column 'label'"));
    CHECK_MSG(sbt_series_read_csv(p, NULL, "label", SBT_CSV_LABEL_OPTIONAL, &s) == SBT_OK, "%s",
              sbt_last_error());
    REQUIRE(s);
    CHECK(s->steps == 2 && s->channels == 2 && s->label == NULL);
    sbt_series_free(s);
}

/* Each bad file: the status, and the file's name plus `what` in the message. */
static void bad_csv(const char *name, const char *text, const char *label, sbt_status want,
                    const char *what) {
    const char *p = write_text(name, text);
    sbt_series *s = NULL;
    sbt_status st = sbt_series_read_csv(p, NULL, label, 0, &s);
    CHECK_MSG(st == want && s == NULL, "%s: status %d, expected %d", name, (int)st, (int)want);
    CHECK_MSG(strstr(sbt_last_error(), name) && strstr(sbt_last_error(), what), "%s: '%s' lacks '%s'", name,
              sbt_last_error(), what);
    sbt_series_free(s);
}

static void test_csv_bad(void) {
    bad_csv("nan.csv", "a,b,y\n1,2,0\n1,NaN,0\n", "y", SBT_ERR_NUMERIC, ":3: column 'b'");
    bad_csv("empty_cell.csv", "a,b,y\n1,,0\n", "y", SBT_ERR_NUMERIC, "empty cell");
    bad_csv("inf.csv", "a,b,y\n1,inf,0\n", "y", SBT_ERR_NUMERIC, "column 'b'");
    bad_csv("count.csv", "a,b,y\n1,2,0\n1,2\n", "y", SBT_ERR_PARSE, ":3: 2 fields, expected 3");
    bad_csv("word.csv", "a,b,y\n1,two,0\n", "y", SBT_ERR_PARSE, "'two' is not a number");
    bad_csv("label2.csv", "a,b,y\n1,2,2\n", "y", SBT_ERR_PARSE, "label column 'y' holds '2'");
    bad_csv("label_nan.csv", "a,b,y\n1,2,0\n1,2,\n1,2,1\n", "y", SBT_ERR_NUMERIC, ":3: column 'y'");
    bad_csv("nolab.csv", "a,b\n1,2\n", "y", SBT_ERR_PARSE, "no label column 'y'");
    bad_csv("header_only.csv", "a,b,y\n", "y", SBT_ERR_PARSE, "no data rows");
    bad_csv("only_label.csv", "y\n1\n", "y", SBT_ERR_PARSE, "no channel column");
    sbt_series *s = NULL;
    CHECK(sbt_series_read_csv(tmp_file("missing.csv"), NULL, NULL, 0, &s) == SBT_ERR_IO && s == NULL);
}

static void test_load_csv(void) {
    /* train without labels, test with them; a sine with a spike */
    char *train = malloc(1 << 16), *test = malloc(1 << 16);
    REQUIRE(train && test);
    int n = sprintf(train, "t,u,v\n"), m = sprintf(test, "t,u,v,anomaly\n");
    for (int i = 0; i < 300; i++) n += sprintf(train + n, "%d,%.4f,%.4f\n", i, sin(0.2 * i), cos(0.2 * i));
    for (int i = 0; i < 80; i++)
        m += sprintf(test + m, "%d,%.4f,%.4f,%d\n", i, sin(0.2 * i) + (i == 40 ? 5 : 0), cos(0.2 * i),
                     i == 40);
    const char *ptr = write_text("train.csv", train), *pte = write_text("test.csv", test);
    char tr_path[256], te_path[256];
    snprintf(tr_path, sizeof tr_path, "%s", ptr);
    snprintf(te_path, sizeof te_path, "%s", pte);
    int window = 0;
    sbt_forecast_data *d = NULL;
    CHECK_MSG(sbt_anomaly_load_csv(tr_path, te_path, "t", "anomaly", &window, &d) == SBT_OK, "%s",
              sbt_last_error());
    REQUIRE(d);
    CHECK(window == 50 && d->series.channels == 2 && d->entities == 1);
    CHECK(sbt_forecast_count(d, SBT_FC_TEST) == 80 && d->series.label[300 + 40] == 1);
    CHECK(sbt_forecast_count(d, SBT_FC_VAL) == 30); /* the last 10 % of train */
    sbt_forecast_free(d);
    /* the test file's channels must be the train file's */
    const char *other = write_text("other.csv", "t,u,w,anomaly\n0,1,2,0\n");
    CHECK(sbt_anomaly_load_csv(tr_path, other, "t", "anomaly", &window, &d) == SBT_ERR_SHAPE && d == NULL);
    CHECK(strstr(sbt_last_error(), "other.csv") && strstr(sbt_last_error(), "'w'"));
    /* the label column is required in the test file */
    CHECK(sbt_anomaly_load_csv(tr_path, tr_path, "t", "anomaly", &window, &d) == SBT_ERR_PARSE);
    /* a train file too short for the window names the train file */
    window = 400;
    CHECK(sbt_anomaly_load_csv(tr_path, te_path, "t", "anomaly", &window, &d) == SBT_ERR_SHAPE);
    CHECK(strstr(sbt_last_error(), "train.csv") && strstr(sbt_last_error(), "too few"));
    free(train);
    free(test);
}

/* ---- entity lists and model settings ------------------------------------------------------------ */

static const char *data_path(const char *rel) {
    static char buf[2][1024];
    static int slot;
    char *p = buf[slot++ % 2];
    snprintf(p, 1024, "%s/%s", check_data_dir(), rel);
    return p;
}

static void test_entity_lists(void) {
    sbt_entity_list *l = NULL;
    REQUIRE(sbt_anomaly_entities("unused", "C-1,C-2,D-14", NULL, &l) == SBT_OK);
    CHECK(l->count == 3 && strcmp(l->names[2], "D-14") == 0 && l->n_skipped == 0);
    sbt_entity_list_free(l);
    CHECK(sbt_anomaly_entities("unused", "C-1,,C-2", NULL, &l) == SBT_ERR_ARG && l == NULL);
    CHECK(sbt_anomaly_entities("unused", "C-1,C-2,C-1", NULL, &l) == SBT_ERR_ARG);
    CHECK(strstr(sbt_last_error(), "named twice") != NULL);
    CHECK(sbt_anomaly_entities("unused", "", NULL, &l) == SBT_ERR_ARG);
    /* "all" on the real folders: SMD has arrays for 6 machines (labels for 28); SMAP lists
     * 54 channels, of which P-2 has two rows and is left out */
    CHECK_MSG(sbt_anomaly_entities(data_path("anomaly/SMD"), "all", NULL, &l) == SBT_OK, "%s",
              sbt_last_error());
    REQUIRE(l);
    CHECK(l->count == 6 && l->n_skipped == 22);
    sbt_entity_list_free(l);
    CHECK_MSG(sbt_anomaly_entities(data_path("anomaly/SMAP"), "all", NULL, &l) == SBT_OK, "%s",
              sbt_last_error());
    REQUIRE(l);
    int p2 = 0;
    for (int i = 0; i < l->count; i++) p2 += strcmp(l->names[i], "P-2") == 0;
    CHECK(l->count == 53 && p2 == 0 && l->n_skipped == 1 && strncmp(l->skipped[0], "P-2: ", 5) == 0);
    sbt_entity_list_free(l);
    CHECK(sbt_anomaly_entities(tmp_file("nothing"), "all", tmp_file("no.csv"), &l) != SBT_OK && l == NULL);
    /* two real MSL channels, read into one model's windows */
    const char *two[2] = {"C-1", "C-2"};
    int window = 0;
    sbt_forecast_data *d = NULL;
    CHECK_MSG(sbt_anomaly_load_entities(data_path("anomaly/MSL"), two, 2, NULL, &window, &d) == SBT_OK, "%s",
              sbt_last_error());
    REQUIRE(d);
    CHECK(window == 50 && d->entities == 2 && d->series.channels == 55);
    sbt_forecast_free(d);
    const char *bad[2] = {"C-1", "X-99"};
    CHECK(sbt_anomaly_load_entities(data_path("anomaly/MSL"), bad, 2, NULL, &window, &d) != SBT_OK);
    CHECK(strstr(sbt_last_error(), "X-99") != NULL && d == NULL);
}

static void test_model_settings(void) {
    sbt_config cfg = sbt_config_default(SBT_TASK_ANOMALY);
    cfg.channels = cfg.outputs = 2;
    cfg.max_len = 4;
    cfg.d_model = 4;
    cfg.heads = 1;
    cfg.layers = 1;
    cfg.d_ff = 4;
    sbt_model *m = NULL, *back = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK);
    sbt_anomaly_settings s = {.opt = {.pot_risk = 3e-3, .pot_level = 0.95, .quantile = 0.995},
                              .entities = "C-1,C-2",
                              .label_column = NULL,
                              .time_column = "t"};
    char path[256];
    snprintf(path, sizeof path, "%s", tmp_file("a.sbtm"));
    REQUIRE(sbt_anomaly_model_save(m, &s, path) == SBT_OK);
    sbt_anomaly_settings got;
    REQUIRE(sbt_anomaly_model_load(path, &back, &got) == SBT_OK);
    CHECK(got.opt.pot_risk == 3e-3 && got.opt.pot_level == 0.95 && got.opt.quantile == 0.995);
    CHECK(got.entities && strcmp(got.entities, "C-1,C-2") == 0 && got.label_column == NULL);
    CHECK(got.time_column && strcmp(got.time_column, "t") == 0);
    CHECK(back && back->cfg.max_len == 4);
    sbt_anomaly_settings_free(&got);
    sbt_model_free(back);
    /* a plain model file: the defaults */
    REQUIRE(sbt_model_save(m, path) == SBT_OK);
    REQUIRE(sbt_anomaly_model_load(path, &back, &got) == SBT_OK);
    CHECK(got.opt.pot_risk == 1e-4 && got.opt.pot_level == 0.98 && !got.entities);
    sbt_model_free(back);
    /* an unknown key or a value out of range is a format error naming the file */
    const char *bad_sections[2] = {"pot_risk=1e-4\nwhatever=1\n", "pot_level=1.5\n"};
    for (int i = 0; i < 2; i++) {
        sbt_container *c = sbt_container_new();
        REQUIRE(c && sbt_model_to_container(m, c) == SBT_OK);
        int64_t len = (int64_t)strlen(bad_sections[i]);
        REQUIRE(sbt_container_add(c, "anomaly", SBT_SECTION_TEXT, 1, &len, bad_sections[i]) == SBT_OK);
        REQUIRE(sbt_container_write(c, path, "SBTM") == SBT_OK);
        sbt_container_free(c);
        CHECK(sbt_anomaly_model_load(path, &back, &got) == SBT_ERR_FORMAT && back == NULL);
        CHECK(strstr(sbt_last_error(), "a.sbtm") && strstr(sbt_last_error(), "anomaly"));
    }
    s.entities = "a\nb";
    CHECK(sbt_anomaly_model_save(m, &s, path) == SBT_ERR_ARG);
    remove(path);
    sbt_model_free(m);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/sbt-anomaly-concat.XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_windows_stay_in_one_entity);
    RUN(test_one_entity_is_unchanged);
    RUN(test_concat_errors);
    RUN(test_pooled_metrics);
    RUN(test_evaluate_pooled);
    RUN(test_pot_guard_trips_on_heavy_tail);
    RUN(test_pot_guard_keeps_light_tail);
    RUN(test_pot_guard_fit_failure_and_errors);
    RUN(test_csv_good);
    RUN(test_csv_bad);
    RUN(test_load_csv);
    RUN(test_entity_lists);
    RUN(test_model_settings);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_summary();
}
