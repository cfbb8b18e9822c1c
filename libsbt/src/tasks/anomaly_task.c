/* Anomaly detection on the forecasting machinery: train and test series become one
 * standardised series with chronological splits, so the model, trainer and window filler
 * are shared. The model predicts each window's last step from the steps before it (its
 * input is zeroed, as in forecasting, so it cannot copy it through the residual path);
 * the anomaly score of a step is the mean squared error over channels of that
 * prediction.
 *
 * Several entities (SMD machines, NASA channels) share one model by laying their series end
 * to end. The trainer and the window filler take targets as one contiguous range per split,
 * which cannot skip the first w-1 rows of each entity; so with several entities the ranges
 * count targets and d->target_row maps each to its row (see sbt_anomaly_windows_concat).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbt/container.h"
#include "sbt/data.h"
#include "sbt/forecast.h"
#include "sbt/model.h"
#include "sbt/model_pack.h"

/* ---- windows over one or several entities ------------------------------------------- */

static int64_t fit_rows_of(int64_t train_steps, double val_frac) {
    return train_steps - (int64_t)llround(val_frac * (double)train_steps);
}

/* "anomaly" for a single entity, "anomaly: <name>" or "anomaly: entity <e>" otherwise. */
static void entity_label(char *buf, size_t cap, const char *const *names, int e, int count) {
    if (count == 1)
        snprintf(buf, cap, "anomaly");
    else if (names)
        snprintf(buf, cap, "anomaly: %s", names[e]);
    else
        snprintf(buf, cap, "anomaly: entity %d", e);
}

static sbt_status check_entity(const sbt_series *train, const sbt_series *test, int channels,
                               const char *who) {
    if (!train || !test) return sbt_fail(SBT_ERR_ARG, "%s: no train or test series", who);
    if (train->channels != test->channels)
        return sbt_fail(SBT_ERR_SHAPE, "%s: train has %d channels, test %d", who, train->channels,
                        test->channels);
    if (train->channels != channels)
        return sbt_fail(SBT_ERR_SHAPE, "%s: %d channels, the first entity has %d", who, train->channels,
                        channels);
    if (!test->label) return sbt_fail(SBT_ERR_ARG, "%s: the test series has no labels", who);
    return SBT_OK;
}

static sbt_status check_sizes(const sbt_series *train, const sbt_series *test, int window, double val_frac,
                              const char *who) {
    if (fit_rows_of(train->steps, val_frac) - (window - 1) < 1 || test->steps < 1)
        return sbt_fail(SBT_ERR_SHAPE, "%s: %lld train steps are too few for windows of %d", who,
                        (long long)train->steps, window);
    return SBT_OK;
}

static sbt_status check_all(const sbt_series *const *train, const sbt_series *const *test,
                            const char *const *names, int count, int window, double val_frac) {
    if (!train || !test || count < 1) return sbt_fail(SBT_ERR_ARG, "anomaly: no entities");
    if (window < 2) return sbt_fail(SBT_ERR_ARG, "anomaly: window %d, must be >= 2", window);
    if (!(val_frac > 0.0 && val_frac < 0.5)) return sbt_fail(SBT_ERR_ARG, "anomaly: val_frac %g", val_frac);
    for (int e = 0; e < count; e++) {
        char who[160];
        entity_label(who, sizeof who, names, e, count);
        sbt_status st = check_entity(train[e], test[e], train[0] ? train[0]->channels : 0, who);
        if (st == SBT_OK) st = check_sizes(train[e], test[e], window, val_frac, who);
        if (st != SBT_OK) return st;
    }
    return SBT_OK;
}

/* Allocates d for `count` entities of `rows` rows in all and `targets` mapped targets
 * (0: none, the targets are rows). */
static sbt_status alloc_windows(sbt_forecast_data *d, int count, int64_t rows, int channels,
                                int64_t targets) {
    size_t c = (size_t)channels;
    d->series.steps = rows;
    d->series.channels = channels;
    d->series.x = malloc((size_t)rows * c * sizeof(float));
    d->series.label = calloc((size_t)rows, 1);
    d->mean = malloc(c * sizeof(float));
    d->std = malloc(c * sizeof(float));
    d->entities = count;
    d->entity_rows = calloc((size_t)count + 1, sizeof *d->entity_rows);
    d->entity_first = calloc(3 * ((size_t)count + 1), sizeof *d->entity_first);
    if (targets) d->target_row = malloc((size_t)targets * sizeof *d->target_row);
    if (!d->series.x || !d->series.label || !d->mean || !d->std || !d->entity_rows || !d->entity_first ||
        (targets && !d->target_row))
        return sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory for %lld rows", (long long)rows);
    return SBT_OK;
}

/* Entity e's rows: its train then test rows at entity_rows[e], standardised with the
 * statistics of its own fit rows (mean/std receive them). */
static void place_entity(sbt_forecast_data *d, const sbt_series *train, const sbt_series *test, int e,
                         double val_frac, float *mean, float *std) {
    int c = d->series.channels;
    int64_t at = d->entity_rows[e], ntr = train->steps, nte = test->steps;
    float *x = d->series.x + (size_t)at * (size_t)c;
    memcpy(x, train->x, (size_t)(ntr * c) * sizeof(float));
    memcpy(x + ntr * c, test->x, (size_t)(nte * c) * sizeof(float));
    memcpy(d->series.label + at + ntr, test->label, (size_t)nte);
    sbt_zscore_fit_rows(train->x, fit_rows_of(ntr, val_frac), c, mean, std); /* >= 1 row: checked */
    for (int64_t i = 0; i < (ntr + nte) * c; i++) x[i] = (x[i] - mean[i % c]) / std[i % c];
}

/* Entity e's target rows of each split, relative to its first row: train [w-1, fit),
 * validation [fit, train steps), test every test row (its windows reach back into the
 * entity's train rows, so every test step gets a score). */
static void entity_targets(const sbt_series *train, const sbt_series *test, int window, double val_frac,
                           int64_t lo[3], int64_t hi[3]) {
    int64_t fit = fit_rows_of(train->steps, val_frac);
    lo[SBT_FC_TRAIN] = window - 1, hi[SBT_FC_TRAIN] = fit;
    lo[SBT_FC_VAL] = fit, hi[SBT_FC_VAL] = train->steps;
    lo[SBT_FC_TEST] = train->steps, hi[SBT_FC_TEST] = train->steps + test->steps;
}

/* The split ranges, entity_first and (several entities) target_row. With one entity the
 * targets are rows, as they always were; otherwise target indices run split by split,
 * entity by entity, and every index maps to a row of its own entity. */
static void lay_out_targets(sbt_forecast_data *d, const sbt_series *const *train,
                            const sbt_series *const *test, int window, double val_frac) {
    int count = d->entities;
    int64_t next = 0;
    for (int k = 0; k < 3; k++) {
        int64_t *first = d->entity_first + (size_t)k * ((size_t)count + 1);
        for (int e = 0; e < count; e++) {
            int64_t lo[3], hi[3], base = d->entity_rows[e];
            entity_targets(train[e], test[e], window, val_frac, lo, hi);
            if (count == 1) {
                first[0] = lo[k], first[1] = hi[k];
                break;
            }
            first[e] = next;
            for (int64_t r = lo[k]; r < hi[k]; r++) d->target_row[next++] = base + r;
            first[e + 1] = next;
        }
        sbt_forecast_split *s = &d->split;
        s->target_begin[k] = s->row_begin[k] = s->border1[k] = first[0];
        s->target_end[k] = s->row_end[k] = s->border2[k] = first[count];
    }
    d->split.scheme = SBT_SPLIT_CUSTOM;
    d->split.window = window;
    d->split.reach_back = 1;
    d->split.rows = d->series.steps;
}

static sbt_status make_windows(const sbt_series *const *train, const sbt_series *const *test,
                               const char *const *names, int count, int window, double val_frac,
                               sbt_forecast_data **out) {
    *out = NULL;
    sbt_status st = check_all(train, test, names, count, window, val_frac);
    if (st != SBT_OK) return st;
    int c = train[0]->channels;
    int64_t rows = 0, targets = 0;
    for (int e = 0; e < count; e++) {
        int64_t lo[3], hi[3];
        entity_targets(train[e], test[e], window, val_frac, lo, hi);
        rows += train[e]->steps + test[e]->steps;
        for (int k = 0; k < 3; k++) targets += hi[k] - lo[k];
    }
    sbt_forecast_data *d = calloc(1, sizeof *d);
    float *mean = malloc((size_t)c * sizeof *mean), *std = malloc((size_t)c * sizeof *std);
    st = d && mean && std ? alloc_windows(d, count, rows, c, count > 1 ? targets : 0)
                          : sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory");
    for (int e = 0; st == SBT_OK && e < count; e++) {
        d->entity_rows[e + 1] = d->entity_rows[e] + train[e]->steps + test[e]->steps;
        place_entity(d, train[e], test[e], e, val_frac, count == 1 ? d->mean : mean,
                     count == 1 ? d->std : std);
    }
    if (st == SBT_OK && count > 1) /* no single transformation: each entity has its own */
        for (int j = 0; j < c; j++) d->mean[j] = 0.0f, d->std[j] = 1.0f;
    if (st == SBT_OK) lay_out_targets(d, train, test, window, val_frac);
    free(mean);
    free(std);
    if (st != SBT_OK) {
        sbt_forecast_free(d);
        return st;
    }
    *out = d;
    return SBT_OK;
}

sbt_status sbt_anomaly_windows_concat(const sbt_series *const *train, const sbt_series *const *test,
                                      int count, int window, double val_frac, sbt_forecast_data **out) {
    return make_windows(train, test, NULL, count, window, val_frac, out);
}

sbt_status sbt_anomaly_windows(const sbt_series *train, const sbt_series *test, int window, double val_frac,
                               sbt_forecast_data **out) {
    return make_windows(&train, &test, NULL, 1, window, val_frac, out);
}

/* ---- reading entities ------------------------------------------------------------------ */

/* SMD: the folder has test_label/. Otherwise NASA: the spacecraft is the folder's name and
 * the labels default to ../SMAP_MSL/labeled_anomalies.csv beside it. */
typedef struct {
    int smd;
    char spacecraft[64];
    char labels[4096];
} folder_kind;

static void folder_kind_of(const char *dir, const char *labels_csv, folder_kind *k) {
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/test_label", dir);
    k->smd = access(probe, F_OK) == 0;
    const char *base = strrchr(dir, '/');
    snprintf(k->spacecraft, sizeof k->spacecraft, "%s", base && base[1] ? base + 1 : dir);
    if (labels_csv)
        snprintf(k->labels, sizeof k->labels, "%s", labels_csv);
    else
        snprintf(k->labels, sizeof k->labels, "%s/../SMAP_MSL/labeled_anomalies.csv", dir);
}

static sbt_status read_entity(const char *dir, const folder_kind *k, const char *entity, sbt_series **train,
                              sbt_series **test) {
    if (k->smd) return sbt_smd_read(dir, entity, train, test);
    return sbt_nasa_read(dir, k->labels, k->spacecraft, entity, train, test);
}

sbt_status sbt_anomaly_load_entities(const char *dir, const char *const *entities, int count,
                                     const char *labels_csv, int *window, sbt_forecast_data **out) {
    *out = NULL;
    if (!entities || count < 1) return sbt_fail(SBT_ERR_ARG, "anomaly: no entity named");
    folder_kind k;
    folder_kind_of(dir, labels_csv, &k);
    sbt_series **train = calloc((size_t)count, sizeof *train), **test = calloc((size_t)count, sizeof *test);
    sbt_status st = train && test ? SBT_OK : sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory");
    for (int e = 0; st == SBT_OK && e < count; e++)
        st = read_entity(dir, &k, entities[e], &train[e], &test[e]);
    if (*window <= 0) *window = k.smd ? 200 : 50; /* the paper's windows */
    if (st == SBT_OK)
        st = make_windows((const sbt_series *const *)train, (const sbt_series *const *)test, entities, count,
                          *window, 0.1, out);
    for (int e = 0; e < count && train && test; e++) {
        sbt_series_free(train[e]);
        sbt_series_free(test[e]);
    }
    free(train);
    free(test);
    return st;
}

sbt_status sbt_anomaly_load(const char *dir, const char *entity, const char *labels_csv, int *window,
                            sbt_forecast_data **out) {
    return sbt_anomaly_load_entities(dir, &entity, 1, labels_csv, window, out);
}

static sbt_status add_name(sbt_entity_list *l, const char *name, size_t len) {
    char **grown = realloc(l->names, ((size_t)l->count + 1) * sizeof *grown);
    if (!grown) return sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory");
    l->names = grown;
    if (!(grown[l->count] = malloc(len + 1))) return sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory");
    memcpy(grown[l->count], name, len);
    grown[l->count++][len] = '\0';
    return SBT_OK;
}

/* "a,b,c" as given; an empty name or one given twice is an error. */
static sbt_status parse_entity_list(const char *spec, sbt_entity_list *l) {
    for (const char *p = spec;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0) return sbt_fail(SBT_ERR_ARG, "anomaly: empty entity name in '%s'", spec);
        for (int i = 0; i < l->count; i++)
            if (strlen(l->names[i]) == len && memcmp(l->names[i], p, len) == 0)
                return sbt_fail(SBT_ERR_ARG, "anomaly: entity '%s' is named twice in '%s'", l->names[i],
                                spec);
        sbt_status st = add_name(l, p, len);
        if (st != SBT_OK || !comma) return st;
        p = comma + 1;
    }
}

sbt_status sbt_anomaly_entities(const char *dir, const char *spec, const char *labels_csv,
                                sbt_entity_list **out) {
    *out = NULL;
    if (!spec || !*spec) return sbt_fail(SBT_ERR_ARG, "anomaly: no entity named");
    sbt_status st;
    if (strcmp(spec, "all") == 0) {
        folder_kind k;
        folder_kind_of(dir, labels_csv, &k);
        st = k.smd ? sbt_smd_list(dir, out)
                   : sbt_nasa_list(dir, k.labels, k.spacecraft, SBT_NASA_DROP_DUPLICATED, out);
        if (st == SBT_OK && (*out)->count == 0) {
            int skipped = (*out)->n_skipped;
            sbt_entity_list_free(*out);
            *out = NULL;
            st = sbt_fail(SBT_ERR_IO, "%s: no entity can be read (%d left out)", dir, skipped);
        }
        return st;
    }
    sbt_entity_list *l = calloc(1, sizeof *l);
    st = l ? parse_entity_list(spec, l) : sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory");
    if (st != SBT_OK) {
        sbt_entity_list_free(l);
        return st;
    }
    *out = l;
    return SBT_OK;
}

/* The test file must have the train file's channels, by name and in order. */
static sbt_status same_channels(const sbt_series *train, const sbt_series *test, const char *train_csv,
                                const char *test_csv) {
    if (train->channels != test->channels)
        return sbt_fail(SBT_ERR_SHAPE, "%s has %d channels, %s has %d", test_csv, test->channels, train_csv,
                        train->channels);
    for (int c = 0; c < train->channels; c++)
        if (strcmp(train->channel_names[c], test->channel_names[c]) != 0)
            return sbt_fail(SBT_ERR_SHAPE, "%s: channel %d is '%s', in %s it is '%s'", test_csv, c + 1,
                            test->channel_names[c], train_csv, train->channel_names[c]);
    return SBT_OK;
}

sbt_status sbt_anomaly_load_csv(const char *train_csv, const char *test_csv, const char *time_column,
                                const char *label_column, int *window, sbt_forecast_data **out) {
    *out = NULL;
    if (!label_column) return sbt_fail(SBT_ERR_ARG, "anomaly: %s: no label column named", test_csv);
    sbt_series *train = NULL, *test = NULL;
    sbt_status st = sbt_series_read_csv(train_csv, time_column, label_column, SBT_CSV_LABEL_OPTIONAL, &train);
    if (st == SBT_OK) st = sbt_series_read_csv(test_csv, time_column, label_column, 0, &test);
    if (st == SBT_OK) st = same_channels(train, test, train_csv, test_csv);
    if (*window <= 0) *window = 50;
    if (st == SBT_OK && (st = sbt_anomaly_windows(train, test, *window, 0.1, out)) != SBT_OK) {
        char msg[512]; /* say which file is too short */
        snprintf(msg, sizeof msg, "%s", sbt_last_error());
        st = sbt_fail(st, "%s: %s", train_csv, msg);
    }
    sbt_series_free(train);
    sbt_series_free(test);
    return st;
}

/* ---- evaluation ---------------------------------------------------------------------------- */

sbt_anomaly_options sbt_anomaly_defaults(void) {
    sbt_anomaly_options o = {.pot_risk = 1e-4, .pot_level = 0.98, .quantile = 0.99};
    return o;
}

void sbt_anomaly_report_free(sbt_anomaly_report *r) {
    if (!r) return;
    free(r->entity);
    r->entity = NULL;
}

/* Scores of every example of one split, as doubles (what the metrics take). */
static sbt_status split_scores(sbt_model *m, const sbt_forecast_data *d, int split, double *out) {
    sbt_examples ex = sbt_examples_of_forecast(d, split);
    float *s = malloc((size_t)(ex.count > 0 ? ex.count : 1) * sizeof(float));
    if (!s) return sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory");
    sbt_status st = ex.count > 0 ? sbt_model_scores(m, &ex, s) : SBT_OK;
    for (int64_t i = 0; !st && i < ex.count; i++) out[i] = s[i];
    free(s);
    return st;
}

static sbt_status detect(const double *test, const uint8_t *labels, const int64_t *starts, int count,
                         double thr, sbt_anomaly_result *r) {
    r->threshold = thr;
    sbt_status st = sbt_detection_eval_pooled(test, labels, starts, count, thr, 0, &r->raw);
    return st ? st : sbt_detection_eval_pooled(test, labels, starts, count, thr, 1, &r->point_adjusted);
}

/* Everything the metrics read: calibration (train + validation) and test scores, the test
 * labels in test-target order, and where each entity's test steps start. */
typedef struct {
    double *calib, *test;
    uint8_t *labels;
    int64_t n_calib, n_test;
    int count;
    int64_t *starts; /* count + 1 */
} scored;

static void scored_free(scored *s) {
    free(s->calib);
    free(s->test);
    free(s->labels);
    free(s->starts);
}

static sbt_status score_everything(sbt_model *m, const sbt_forecast_data *d, scored *s) {
    int64_t n_train = sbt_forecast_count(d, SBT_FC_TRAIN), n_val = sbt_forecast_count(d, SBT_FC_VAL);
    int64_t tb = d->split.target_begin[SBT_FC_TEST];
    if (!d->series.label) return sbt_fail(SBT_ERR_ARG, "anomaly: the data has no test labels");
    s->n_calib = n_train + n_val;
    s->n_test = sbt_forecast_count(d, SBT_FC_TEST);
    s->count = d->entities > 0 ? d->entities : 1;
    s->calib = malloc((size_t)(s->n_calib > 0 ? s->n_calib : 1) * sizeof(double));
    s->test = malloc((size_t)(s->n_test > 0 ? s->n_test : 1) * sizeof(double));
    s->labels = malloc((size_t)(s->n_test > 0 ? s->n_test : 1));
    s->starts = malloc(((size_t)s->count + 1) * sizeof *s->starts);
    if (!s->calib || !s->test || !s->labels || !s->starts)
        return sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory");
    for (int64_t i = 0; i < s->n_test; i++) /* a test target's label is its row's */
        s->labels[i] = d->series.label[d->target_row ? d->target_row[tb + i] : tb + i];
    const int64_t *first =
        d->entity_first ? d->entity_first + (size_t)SBT_FC_TEST * ((size_t)s->count + 1) : NULL;
    for (int e = 0; e <= s->count; e++) s->starts[e] = first ? first[e] - tb : (e ? s->n_test : 0);
    sbt_status st = split_scores(m, d, SBT_FC_TRAIN, s->calib);
    if (!st) st = split_scores(m, d, SBT_FC_VAL, s->calib + n_train);
    return st ? st : split_scores(m, d, SBT_FC_TEST, s->test);
}

static int64_t count_ones(const uint8_t *v, int64_t n) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) k += v[i] != 0;
    return k;
}

/* Entity e's test steps under the pooled thresholds. */
static sbt_status entity_report(const scored *s, int e, const sbt_anomaly_report *pooled,
                                sbt_anomaly_entity_report *r) {
    int64_t a = s->starts[e], n = s->starts[e + 1] - a, one[2] = {0, n};
    r->test_steps = n;
    r->test_anomalies = count_ones(s->labels + a, n);
    r->auc_pr = NAN; /* undefined without an anomaly */
    sbt_status st = detect(s->test + a, s->labels + a, one, 1, pooled->quantile.threshold, &r->quantile);
    if (!st) st = detect(s->test + a, s->labels + a, one, 1, pooled->pot.threshold, &r->pot);
    if (!st && r->test_anomalies > 0) st = sbt_auc_pr(s->test + a, s->labels + a, n, &r->auc_pr);
    return st;
}

/* Thresholds come from train + validation scores only (never test labels or test scores). */
static sbt_status evaluate_scored(const scored *s, const sbt_anomaly_options *opt, sbt_anomaly_report *out) {
    double thr;
    sbt_status st = sbt_threshold_quantile(s->calib, s->n_calib, opt->quantile, &thr);
    if (!st) st = detect(s->test, s->labels, s->starts, s->count, thr, &out->quantile);
    if (!st)
        st = sbt_pot_threshold_guarded(s->calib, s->n_calib, opt->pot_risk, opt->pot_level, &out->pot_fit);
    if (!st) st = detect(s->test, s->labels, s->starts, s->count, out->pot_fit.threshold, &out->pot);
    if (!st) st = sbt_auc_pr(s->test, s->labels, s->n_test, &out->auc_pr);
    out->test_steps = s->n_test;
    out->test_anomalies = count_ones(s->labels, s->n_test);
    if (!st && !(out->entity = calloc((size_t)s->count, sizeof *out->entity)))
        st = sbt_fail(SBT_ERR_NOMEM, "anomaly: out of memory");
    for (int e = 0; !st && e < s->count; e++) st = entity_report(s, e, out, &out->entity[e]);
    if (!st) out->entities = s->count;
    return st;
}

sbt_status sbt_anomaly_evaluate(sbt_model *m, const sbt_forecast_data *d, const sbt_anomaly_options *opt,
                                sbt_anomaly_report *out) {
    memset(out, 0, sizeof *out);
    scored s = {0};
    sbt_status st = score_everything(m, d, &s);
    if (!st) st = evaluate_scored(&s, opt, out);
    scored_free(&s);
    return st;
}

/* ---- the "anomaly" section of model files ------------------------------------------------- */

void sbt_anomaly_settings_free(sbt_anomaly_settings *s) {
    if (!s) return;
    free(s->entities);
    free(s->label_column);
    free(s->time_column);
    s->entities = s->label_column = s->time_column = NULL;
}

static int has_newline(const char *s) { return s && strpbrk(s, "\r\n") != NULL; }

/* key=value lines; a NULL string is left out. */
static char *settings_text(const sbt_anomaly_settings *s) {
    const char *keys[3] = {"entities", "label_column", "time_column"};
    const char *vals[3] = {s->entities, s->label_column, s->time_column};
    size_t len = 200;
    for (int i = 0; i < 3; i++) len += vals[i] ? strlen(keys[i]) + strlen(vals[i]) + 2 : 0;
    char *text = malloc(len);
    if (!text) return NULL;
    int n = snprintf(text, len, "pot_risk=%.17g\npot_level=%.17g\nquantile=%.17g\n", s->opt.pot_risk,
                     s->opt.pot_level, s->opt.quantile);
    for (int i = 0; i < 3; i++)
        if (vals[i]) n += snprintf(text + n, len - (size_t)n, "%s=%s\n", keys[i], vals[i]);
    return text;
}

sbt_status sbt_anomaly_model_save(const sbt_model *m, const sbt_anomaly_settings *s, const char *path) {
    if (has_newline(s->entities) || has_newline(s->label_column) || has_newline(s->time_column))
        return sbt_fail(SBT_ERR_ARG, "%s: an anomaly setting holds a line break", path);
    sbt_container *c = sbt_container_new();
    char *text = settings_text(s);
    sbt_status st =
        c && text ? sbt_model_to_container(m, c) : sbt_fail(SBT_ERR_NOMEM, "model: out of memory");
    if (!st)
        st = sbt_container_add(c, "anomaly", SBT_SECTION_TEXT, 1, (int64_t[]){(int64_t)strlen(text)}, text);
    if (!st) st = sbt_container_write(c, path, "SBTM");
    free(text);
    sbt_container_free(c);
    return st;
}

static sbt_status parse_setting_number(const char *path, const char *key, const char *val, double lo,
                                       double hi, int open, double *out) {
    char *end = NULL;
    double v = strtod(val, &end);
    int in = open ? v > lo && v < hi : v >= lo && v <= hi;
    if (end == val || *end || !isfinite(v) || !in)
        return sbt_fail(SBT_ERR_FORMAT, "%s: section 'anomaly': %s='%.40s' is not a number in %c%g, %g%c",
                        path, key, val, open ? '(' : '[', lo, hi, open ? ')' : ']');
    *out = v;
    return SBT_OK;
}

static sbt_status set_string(const char *path, char **dst, const char *val) {
    free(*dst);
    *dst = strdup(val);
    return *dst ? SBT_OK : sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
}

static sbt_status parse_setting(const char *path, char *line, sbt_anomaly_settings *s) {
    char *eq = strchr(line, '=');
    if (!eq)
        return sbt_fail(SBT_ERR_FORMAT, "%s: section 'anomaly': line '%.40s' is not key=value", path, line);
    *eq = '\0';
    const char *key = line, *val = eq + 1;
    if (!strcmp(key, "pot_risk")) return parse_setting_number(path, key, val, 0, 1, 1, &s->opt.pot_risk);
    if (!strcmp(key, "pot_level")) return parse_setting_number(path, key, val, 0, 1, 1, &s->opt.pot_level);
    if (!strcmp(key, "quantile")) return parse_setting_number(path, key, val, 0, 1, 0, &s->opt.quantile);
    if (!strcmp(key, "entities")) return set_string(path, &s->entities, val);
    if (!strcmp(key, "label_column")) return set_string(path, &s->label_column, val);
    if (!strcmp(key, "time_column")) return set_string(path, &s->time_column, val);
    /* as in the config section: a key this build does not know could change the meaning */
    return sbt_fail(SBT_ERR_FORMAT, "%s: section 'anomaly': unknown key '%.40s'", path, key);
}

static sbt_status parse_settings(const char *path, const char *text, sbt_anomaly_settings *s) {
    char *copy = strdup(text);
    if (!copy) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    sbt_status st = SBT_OK;
    for (char *line = copy, *next; st == SBT_OK && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (*line) st = parse_setting(path, line, s);
    }
    free(copy);
    return st;
}

sbt_status sbt_anomaly_model_load(const char *path, sbt_model **m, sbt_anomaly_settings *s) {
    *m = NULL;
    sbt_anomaly_settings tmp = {.opt = sbt_anomaly_defaults()};
    sbt_container *c = NULL;
    sbt_status st = sbt_model_read_file(path, m, &c); /* .sbtm or .sbt */
    const sbt_section *sec = st ? NULL : sbt_container_find(c, "anomaly");
    if (sec && sec->type != SBT_SECTION_TEXT)
        st = sbt_fail(SBT_ERR_FORMAT, "%s: section 'anomaly' is not text", path);
    else if (sec)
        st = parse_settings(path, sec->data, &tmp);
    sbt_container_free(c);
    if (st != SBT_OK || !s) sbt_anomaly_settings_free(&tmp);
    if (st != SBT_OK) {
        sbt_model_free(*m);
        *m = NULL;
        return st;
    }
    if (s) *s = tmp;
    return SBT_OK;
}
