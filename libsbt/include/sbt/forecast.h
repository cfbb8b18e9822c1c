/* sbt/forecast.h - one-step forecasting on Informer-style CSVs: date stamps, the
 * chronological train/validation/test splits of the Informer data loaders, z-scoring
 * with train statistics, window batches for the trainer, and error metrics.
 *
 * The task (../shared/paper-configs.md): a window of w steps ends at the target row t,
 * i.e. rows t-w+1 .. t, with the input of row t zeroed; the model's output at the last
 * step is regressed on all channels of row t. So a window reads w-1 observed rows.
 *
 *     sbt_forecast_options o = sbt_forecast_defaults();      // window 200, scheme by file name
 *     sbt_forecast_data *d = NULL;
 *     if (sbt_forecast_load("ETTh1.csv", &o, &d)) fprintf(stderr, "%s\n", sbt_last_error());
 *     int64_t rows[128];
 *     for (int i = 0; i < 128; i++) rows[i] = d->split.target_begin[SBT_FC_TRAIN] + i;
 *     sbt_forecast_batch(d, rows, 128, x, y);   // float x[128 * w * C], y[128 * C]
 *     sbt_forecast_metrics base;
 *     sbt_forecast_persistence(d, SBT_FC_TEST, &base);       // the bar a model must beat
 *     sbt_forecast_free(d);
 *
 * Splits, as the Informer loaders (Dataset_ETT_hour, Dataset_ETT_minute, Dataset_Custom)
 * cut them (n = rows, w = window):
 *
 *     scheme       train rows          validation rows             test rows
 *     ETT hourly   [0, 8640)           [8640, 11520)               [11520, 14400)
 *     ETT minute   [0, 34560)          [34560, 46080)              [46080, 57600)
 *     custom       [0, int(0.7 n))     [int(0.7 n), n - int(0.2 n))  [n - int(0.2 n), n)
 *
 * (ETT: 12, 4 and 4 months of 30 days; rows beyond the test end are not used, as in
 * Informer.) Targets: train targets are the train rows whose whole window lies in
 * train, [w-1, train_end) (8441 on ETTh1 for w = 200). Validation and test targets are
 * all of their split's rows: their windows reach back w-1 rows into the previous split,
 * as Informer's border1s = [0, train_end - w, test_begin - w] allow (Informer's window
 * is w observed rows before the target; ours reads w-1 of them, so row border1 itself
 * is never read). This only ever puts earlier rows into the input, never a target: the
 * train, validation and test target ranges are disjoint and in time order, always
 * (checked). With reach_back = 0 the windows of every split stay inside it, and
 * validation and test lose w-1 targets each.
 *
 * Z-score statistics are the mean and population standard deviation (sklearn's
 * StandardScaler) of each channel over all train rows [0, train_end), nothing later.
 * Channels keep the file's column order (Dataset_Custom moves its target column last;
 * with all channels predicted that changes only the channel index, not the metrics).
 *
 * Ownership: sbt_forecast_data returned through an out-pointer belongs to the caller,
 * who frees it with sbt_forecast_free() (which also frees its embedded series: never
 * pass &d->series to sbt_series_free). Nothing is returned on failure (*out = NULL).
 */
#ifndef SBT_FORECAST_H
#define SBT_FORECAST_H

#include <stddef.h>
#include <stdint.h>

#include "sbt/anomaly.h"
#include "sbt/data.h"
#include "sbt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- date stamps ------------------------------------------------------------------ */

/* Seconds since 1970-01-01 00:00:00 (proleptic Gregorian, no time zone, no leap seconds)
 * of "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD HH:MM", "M/D/YYYY H:MM", "YYYY/M/D H:MM" (one or
 * two digits for month, day and hour in every form; a 'T' may replace the space; a date
 * alone is midnight). Month lengths and leap years are checked. SBT_ERR_PARSE otherwise. */
sbt_status sbt_datetime_parse(const char *text, int64_t *seconds);
/* "YYYY-MM-DD HH:MM:SS" of a value from sbt_datetime_parse. */
void sbt_datetime_format(int64_t seconds, char *buf, size_t cap);

/* The parsed row_keys of a table (sbt_csv_read with the date column as skip_column) as a
 * malloc'ed array of t->rows stamps. A key that does not parse, or a stamp not strictly
 * after the previous one, is SBT_ERR_PARSE naming `path`, the line (data row + 2: the
 * header is line 1) and the text. With SBT_TIMES_ALLOW_DUPLICATE_ROWS a stamp equal to
 * the previous one is accepted when the whole row repeats the previous row: the
 * Autoformer weather.csv has one such record (2020-05-12 06:00:00, line 19046), which
 * Informer-style loaders keep, and keeping it keeps the split sizes of the literature. */
#define SBT_TIMES_ALLOW_DUPLICATE_ROWS 1u
sbt_status sbt_table_times(const sbt_table *t, const char *path, unsigned flags, int64_t **out);

/* ---- splits ------------------------------------------------------------------------- */

typedef enum sbt_split_scheme {
    SBT_SPLIT_AUTO = 0,   /* from the file name: ETTh* hourly, ETTm* minute, else custom */
    SBT_SPLIT_ETT_HOUR,   /* 12/4/4 months of 30 days of hourly rows */
    SBT_SPLIT_ETT_MINUTE, /* the same months of 15-minute rows */
    SBT_SPLIT_CUSTOM      /* 70 % train, 10 % validation, 20 % test by rows */
} sbt_split_scheme;

/* "auto", "ett-hour", "ett-minute", "custom"; parse accepts the same names. */
const char *sbt_split_scheme_name(sbt_split_scheme s);
sbt_status sbt_split_scheme_parse(const char *name, sbt_split_scheme *out);
/* The scheme Informer would use for a file: by its base name (ETTh*, ETTm*, else custom). */
sbt_split_scheme sbt_split_scheme_for_path(const char *path);

/* A split rule as the tools take it (sbt-train --split) and model files store it:
 * "auto", "ett-hour", "ett-minute", or "ratio:A,B,C" = SBT_SPLIT_CUSTOM with train,
 * validation and test fractions A, B, C of the rows (each in (0, 1), summing to 1 within
 * 1e-6; train = int(n A), test = int(n C), validation the rest, as Dataset_Custom cuts
 * them). "custom" is ratio:0.7,0.1,0.2. ratio is {0, 0, 0} for the other schemes. */
typedef struct sbt_split_rule {
    sbt_split_scheme scheme;
    double ratio[3];
} sbt_split_rule;
/* SBT_ERR_ARG naming the text when it is none of the above. */
sbt_status sbt_split_rule_parse(const char *text, sbt_split_rule *out);
/* The text parse reads back: "ett-hour", "ratio:0.7,0.1,0.2", ... */
void sbt_split_rule_format(const sbt_split_rule *r, char *buf, size_t cap);

enum { SBT_FC_TRAIN = 0, SBT_FC_VAL = 1, SBT_FC_TEST = 2 };

typedef struct sbt_forecast_split {
    sbt_split_scheme scheme; /* never AUTO */
    int window;              /* w >= 2 */
    int reach_back;          /* see the top of this file */
    int64_t rows;            /* rows of the table */
    int64_t row_begin[3];    /* each split's own rows [row_begin, row_end) */
    int64_t row_end[3];      /* (rows past row_end[SBT_FC_TEST] are unused) */
    int64_t target_begin[3]; /* target rows [target_begin, target_end) */
    int64_t target_end[3];   /* (end exclusive); never empty */
    int64_t border1[3];      /* Informer's border1s/border2s for seq_len = w, for reference: */
    int64_t border2[3];      /* {0, train_end - w, test_begin - w}, the row_end values */
    double ratio[3];         /* SBT_SPLIT_CUSTOM: the fractions used; 0 otherwise */
} sbt_forecast_split;

/* The split of a table of `rows` rows (scheme not AUTO). SBT_ERR_ARG when the window is
 * below 2 or the rows are too few (an ETT scheme needs its 14,400 / 57,600 rows; every
 * split must get at least one target). */
sbt_status sbt_forecast_split_rows(int64_t rows, sbt_split_scheme scheme, int window, int reach_back,
                                   sbt_forecast_split *out);
/* The same for a rule (SBT_SPLIT_CUSTOM with its ratio; ratio {0, 0, 0}: 0.7, 0.1, 0.2). */
sbt_status sbt_forecast_split_rule_rows(int64_t rows, const sbt_split_rule *rule, int window, int reach_back,
                                        sbt_forecast_split *out);
/* "ett-hour: train rows [0, 8640), validation [8640, 11520), test [11520, 14400) of 17420"
 * (and ", rows from 14400 on unused" when the test split ends early). */
void sbt_forecast_split_describe(const sbt_forecast_split *s, char *buf, size_t cap);

/* Mean and population standard deviation per column of t over the train rows
 * [0, split->row_end[SBT_FC_TRAIN]) (a standard deviation below 1e-8 becomes 1, as in
 * StandardScaler, so a channel constant in train stays finite later). */
sbt_status sbt_forecast_zscore_fit(const sbt_table *t, const sbt_forecast_split *split, float *mean,
                                   float *std);

/* ---- the standardised data and its windows ----------------------------------------- */

typedef struct sbt_forecast_options {
    const char *date_column;  /* "date"; NULL when the file has none (no date checks) */
    sbt_split_scheme scheme;  /* AUTO: from the file name */
    double ratio[3];          /* SBT_SPLIT_CUSTOM: the fractions ({0, 0, 0}: 0.7, 0.1, 0.2) */
    int fill;                 /* 0: an empty or NaN cell is an error; 1: filled linearly (d->filled) */
    int window;               /* 200 */
    int reach_back;           /* 1 (Informer) */
    int allow_duplicate_rows; /* 0; 1: SBT_TIMES_ALLOW_DUPLICATE_ROWS (weather.csv needs it) */
} sbt_forecast_options;

sbt_forecast_options sbt_forecast_defaults(void);

typedef struct sbt_forecast_data {
    sbt_series series; /* all rows, z-scored with the train statistics; label NULL */
    int64_t *time;     /* series.steps stamps, or NULL without a date column */
    float *mean, *std; /* series.channels each: the train statistics */
    int64_t *filled;   /* opt.fill: series.channels counts of filled cells; NULL otherwise */
    sbt_forecast_split split;
    /* Anomaly data only (sbt_anomaly_windows*; NULL / 0 for forecasting data): */
    int64_t *target_row;   /* several entities: the split's target ranges count targets, and
                              target k reads series row target_row[k] (see sbt_anomaly_windows_concat);
                              NULL: targets are rows */
    int entities;          /* entities in the series (0: forecasting data) */
    int64_t *entity_rows;  /* entities + 1 offsets: entity e owns rows [entity_rows[e], [e+1]) */
    int64_t *entity_first; /* 3 * (entities + 1): entity e's targets of split k are
                              [entity_first[k * (entities + 1) + e], ... + e + 1) */
} sbt_forecast_data;

/* Reads the CSV (sbt_csv_read: plain or gzip, CRLF), checks its dates, splits and
 * standardises it. `opt` may be NULL for the defaults. */
sbt_status sbt_forecast_load(const char *path, const sbt_forecast_options *opt, sbt_forecast_data **out);
/* The same from a table already read; `path` names the file in messages and, for
 * SBT_SPLIT_AUTO, chooses the scheme. */
sbt_status sbt_forecast_from_table(const sbt_table *t, const char *path, const sbt_forecast_options *opt,
                                   sbt_forecast_data **out);
void sbt_forecast_free(sbt_forecast_data *d);

/* Targets of split SBT_FC_TRAIN / _VAL / _TEST. */
int64_t sbt_forecast_count(const sbt_forecast_data *d, int split);

/* For each of the n target rows rows[i]: x[i] (w, C) = series rows rows[i]-w+1 .. rows[i]
 * with the last step zeroed, y[i] (C) = series row rows[i]. x holds n*w*C floats, y n*C
 * (y may be NULL). SBT_ERR_ARG when a row is < w-1 or >= steps (the entries before it
 * are already filled). The trainer calls this per batch. With d->target_row set, rows[i]
 * are target indices in [0, split.target_end[SBT_FC_TEST]), mapped through target_row. */
sbt_status sbt_forecast_batch(const sbt_forecast_data *d, const int64_t *rows, int n, float *x, float *y);
/* Moves n windows filled by sbt_forecast_batch into the frame of their last observed
 * step (row w-2): that row is subtracted from rows 0..w-2 and from y (may be NULL); the
 * zeroed target row stays zero. A prediction in this frame plus row w-2 of the original
 * window is the prediction in the z-scored frame; errors are the same in both. */
void sbt_forecast_relative_to_last(float *x, float *y, int n, int64_t window, int channels);

/* ---- metrics ----------------------------------------------------------------------- */

typedef struct sbt_forecast_metrics {
    double mse, mae;         /* on the standardised scale (what papers report) */
    double mse_raw, mae_raw; /* in the file's units: errors times the train std */
    int64_t count;           /* values compared (targets x channels) */
} sbt_forecast_metrics;

/* Running sums, so that a test set can be scored batch by batch. Zero-initialise. */
typedef struct sbt_forecast_accum {
    double sq, abs, sq_raw, abs_raw;
    int64_t count;
} sbt_forecast_accum;

/* Adds n predictions against n targets, each `channels` standardised values; `std`
 * (channels) converts to original units (NULL: raw sums equal standardised ones). */
void sbt_forecast_accum_add(sbt_forecast_accum *a, const float *pred, const float *target, int64_t n,
                            int channels, const float *std);
/* Means of the sums (NaN when nothing was added). */
sbt_forecast_metrics sbt_forecast_accum_result(const sbt_forecast_accum *a);

/* Metrics of the persistence forecast "row t = row t-1" over the targets of `split`:
 * the baseline every model has to beat. */
sbt_status sbt_forecast_persistence(const sbt_forecast_data *d, int split, sbt_forecast_metrics *out);

/* ---- anomaly detection on the same windows ------------------------------------------- */

/* One series for anomaly detection: train then test rows, z-scored with the statistics
 * of the training rows. Splits: train targets [w-1, fit) with fit = steps of train minus
 * the last val_frac of them (chronological validation, never from test), validation
 * targets [fit, train steps), test targets every test row (its windows reach back into
 * the train rows, so every test step is scored). series.label holds the test labels at
 * the test rows, 0 elsewhere. entities = 1. Free with sbt_forecast_free(). */
sbt_status sbt_anomaly_windows(const sbt_series *train, const sbt_series *test, int window, double val_frac,
                               sbt_forecast_data **out);

/* One model over `count` entities (SMD machines, NASA channels): what sbt_anomaly_windows
 * makes of each entity, laid end to end. Entity e's rows are its train rows then its test
 * rows, [entity_rows[e], entity_rows[e+1]), z-scored with the statistics of its own train
 * rows before its validation part (entities differ in scale, and this way an entity's
 * windows are exactly its windows when alone; d->mean and d->std, having no single value,
 * are then 0 and 1). Its targets are those sbt_anomaly_windows gives it, so
 *   - no window straddles two entities: every window ends at a target of its entity and
 *     starts at or after the entity's first row;
 *   - validation is chronological per entity: the last val_frac of each entity's train;
 *   - every test step of every entity is scored.
 * The targets are ordered split by split and, within a split, entity by entity (entity_first
 * gives the ranges); with count > 1 the split's ranges (target_*, and row_* and border*,
 * set equal to them) count targets and target_row maps them to rows. count == 1 is sbt_anomaly_windows. Every
 * entity needs train and labelled test series with the same channel count; an error names the entity by its
 * index. */
sbt_status sbt_anomaly_windows_concat(const sbt_series *const *train, const sbt_series *const *test,
                                      int count, int window, double val_frac, sbt_forecast_data **out);

/* Reads one entity and makes its windows (validation: the last 10 % of train): an SMD
 * folder (train/, test/, test_label/) with a machine name, or a NASA MSL or SMAP folder
 * (train/, test/; labels from labels_csv, by default ../SMAP_MSL/labeled_anomalies.csv
 * beside it) with a channel name. *window <= 0 takes the paper's window (SMD 200, NASA
 * 50) and reports it. */
sbt_status sbt_anomaly_load(const char *dir, const char *entity, const char *labels_csv, int *window,
                            sbt_forecast_data **out);

/* The entities named by `spec` in a folder that sbt_anomaly_load reads: "all" (every
 * machine with train, test and labels - sbt_smd_list - or every channel of the spacecraft -
 * sbt_nasa_list with SBT_NASA_DROP_DUPLICATED, so P-2 is left out as usual; `skipped` says
 * what was left out and why), or a comma-separated list of names, taken as given (a name
 * that cannot be read fails later, in sbt_anomaly_load_entities). An empty name or a name
 * given twice is SBT_ERR_ARG; "all" finding nothing is SBT_ERR_IO. */
sbt_status sbt_anomaly_entities(const char *dir, const char *spec, const char *labels_csv,
                                sbt_entity_list **out);

/* sbt_anomaly_load for `count` entities of one folder: one model over all of them
 * (sbt_anomaly_windows_concat, validation the last 10 % of each entity's train). An entity
 * that cannot be read fails the call, naming it. */
sbt_status sbt_anomaly_load_entities(const char *dir, const char *const *entities, int count,
                                     const char *labels_csv, int *window, sbt_forecast_data **out);

/* Generic labelled CSVs (sbt_series_read_csv): train_csv (its label column, if present, is
 * ignored: training is unsupervised) and test_csv (label_column required), with the same
 * channels by name and order; time_column (NULL: none) is left out of both. *window <= 0
 * takes 50. Validation: the last 10 % of train. */
sbt_status sbt_anomaly_load_csv(const char *train_csv, const char *test_csv, const char *time_column,
                                const char *label_column, int *window, sbt_forecast_data **out);

typedef struct sbt_anomaly_options {
    double pot_risk;  /* POT risk q (1e-4) */
    double pot_level; /* POT initial threshold: this quantile of the calibration scores (0.98) */
    double quantile;  /* the quantile threshold (0.99) */
} sbt_anomaly_options;
sbt_anomaly_options sbt_anomaly_defaults(void);

typedef struct sbt_anomaly_result {
    double threshold;
    sbt_detection raw;            /* point-wise precision, recall, F1 */
    sbt_detection point_adjusted; /* the common point adjustment (inflates scores: report both) */
} sbt_anomaly_result;

/* One entity's test steps under the pooled thresholds. */
typedef struct sbt_anomaly_entity_report {
    int64_t test_steps, test_anomalies;
    sbt_anomaly_result pot, quantile;
    double auc_pr; /* NaN when the entity's test part has no anomaly */
} sbt_anomaly_entity_report;

typedef struct sbt_anomaly_report {
    int64_t test_steps, test_anomalies;
    sbt_anomaly_result pot, quantile;  /* thresholds fitted on train + validation scores only */
    double auc_pr;                     /* threshold-free, on the test scores */
    sbt_pot_guarded pot_fit;           /* how the POT threshold came about (pot_fit.fallback) */
    int entities;                      /* d->entities */
    sbt_anomaly_entity_report *entity; /* per entity (malloc'ed): free with sbt_anomaly_report_free */
} sbt_anomaly_report;

/* Frees r->entity (not r itself) and sets it to NULL; r may be NULL. */
void sbt_anomaly_report_free(sbt_anomaly_report *r);

struct sbt_model;
/* Scores train, validation and test steps with the model, fits both thresholds on the
 * train + validation scores (all entities pooled; POT through sbt_pot_threshold_guarded),
 * and measures the test steps against their labels: pooled over every test step of every
 * entity (precision/recall/F1 from summed counts, point adjustment within each entity, as
 * sbt_detection_eval_pooled; AUC-PR over all test steps: how MSL/SMAP results are usually
 * reported) and per entity. Release the report with sbt_anomaly_report_free(), also after a
 * failure. */
sbt_status sbt_anomaly_evaluate(struct sbt_model *m, const sbt_forecast_data *d,
                                const sbt_anomaly_options *opt, sbt_anomaly_report *out);

/* What an anomaly model file holds beside the model: a text section "anomaly" of key=value
 * lines (formats/sbtm.md) with the threshold options, so that sbt-eval recomputes the
 * thresholds as training did, and the data it was trained on (for defaults and messages). */
typedef struct sbt_anomaly_settings {
    sbt_anomaly_options opt;
    char *entities;     /* comma-separated entity names, or NULL */
    char *label_column; /* generic CSV data: the label column, or NULL */
    char *time_column;  /* generic CSV data: the time column, or NULL */
} sbt_anomaly_settings;

/* sbt_model_save plus the "anomaly" section (strings may be NULL; none may hold a newline). */
sbt_status sbt_anomaly_model_save(const struct sbt_model *m, const sbt_anomaly_settings *s, const char *path);
/* sbt_model_load plus the section: a file without it (written before the section existed)
 * gives sbt_anomaly_defaults() and NULL strings; an unknown key or a bad value is
 * SBT_ERR_FORMAT naming the file. s may be NULL. Free the strings with
 * sbt_anomaly_settings_free. */
sbt_status sbt_anomaly_model_load(const char *path, struct sbt_model **m, sbt_anomaly_settings *s);
/* Frees the strings of s (not s) and sets them to NULL. */
void sbt_anomaly_settings_free(sbt_anomaly_settings *s);

#ifdef __cplusplus
}
#endif
#endif
