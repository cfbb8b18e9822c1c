/* forecast_data.c - Informer-style forecasting data: date checks, chronological splits,
 * train-only z-scoring, window batches and error metrics (see sbt/forecast.h).
 *
 * The windows are never materialised: the standardised series is kept once and a batch
 * is copied out of it per call, so a 50,000-row file with w = 200 costs its own size in
 * memory rather than 200 times that.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/forecast.h"

/* ---- dates ------------------------------------------------------------------------- */

/* Whether data row r repeats row r-1 in every value (a duplicated record). */
static int same_values(const sbt_table *t, int r) {
    const float *a = t->values + (size_t)r * (size_t)t->cols, *b = a - t->cols;
    for (int c = 0; c < t->cols; c++)
        if (a[c] != b[c]) return 0;
    return 1;
}

/* Checks the order of stamp r against r-1 (see sbt_table_times). */
static sbt_status check_order(const sbt_table *t, const char *path, unsigned flags, const int64_t *times,
                              int r) {
    if (times[r] > times[r - 1]) return SBT_OK;
    int dup = times[r] == times[r - 1] && same_values(t, r);
    if (dup && (flags & SBT_TIMES_ALLOW_DUPLICATE_ROWS)) return SBT_OK;
    /* Splits are by row position: a repeated or backward stamp means the rows are not one
     * chronological series and the "future" could leak into train. */
    return sbt_fail(
        SBT_ERR_PARSE, "%s:%d: date '%.64s' is not after the previous row's '%.64s'%s", path, r + 2,
        t->row_keys[r], t->row_keys[r - 1],
        dup ? " (the whole row repeats the previous one; allow_duplicate_rows keeps it, as Informer "
              "does)"
            : "");
}

sbt_status sbt_table_times(const sbt_table *t, const char *path, unsigned flags, int64_t **out) {
    *out = NULL;
    if (!path) path = "table";
    if (!t->row_keys) return sbt_fail(SBT_ERR_ARG, "%s: the table has no date column", path);
    int64_t *times = malloc(((size_t)t->rows + 1) * sizeof *times);
    if (!times) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory for %d dates", path, t->rows);
    for (int r = 0; r < t->rows; r++) {
        /* Line = data row + 2 (the header is line 1); sbt_csv_read skips blank lines, so
         * this is exact for files without blank lines in the middle, as all ours are. */
        sbt_status st = SBT_OK;
        if (sbt_datetime_parse(t->row_keys[r], &times[r]) != SBT_OK)
            st = sbt_fail(SBT_ERR_PARSE,
                          "%s:%d: date '%.64s' does not parse (expected YYYY-MM-DD HH:MM[:SS], "
                          "M/D/YYYY H:MM or YYYY/M/D H:MM)",
                          path, r + 2, t->row_keys[r]);
        else if (r > 0)
            st = check_order(t, path, flags, times, r);
        if (st != SBT_OK) {
            free(times);
            return st;
        }
    }
    *out = times;
    return SBT_OK;
}

/* ---- schemes ------------------------------------------------------------------------ */

static const char *const scheme_names[] = {"auto", "ett-hour", "ett-minute", "custom"};

const char *sbt_split_scheme_name(sbt_split_scheme s) {
    return (unsigned)s < sizeof scheme_names / sizeof *scheme_names ? scheme_names[s] : "unknown";
}

sbt_status sbt_split_scheme_parse(const char *name, sbt_split_scheme *out) {
    for (unsigned i = 0; name && i < sizeof scheme_names / sizeof *scheme_names; i++)
        if (strcmp(name, scheme_names[i]) == 0) {
            *out = (sbt_split_scheme)i;
            return SBT_OK;
        }
    return sbt_fail(SBT_ERR_ARG, "unknown split scheme '%s' (expected auto, ett-hour, ett-minute or custom)",
                    name ? name : "(null)");
}

sbt_split_scheme sbt_split_scheme_for_path(const char *path) {
    if (!path) return SBT_SPLIT_CUSTOM;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    /* Informer picks its loader by dataset name: ETTh1/ETTh2 hourly, ETTm1/ETTm2 minute. */
    if (strncmp(base, "ETTh", 4) == 0) return SBT_SPLIT_ETT_HOUR;
    if (strncmp(base, "ETTm", 4) == 0) return SBT_SPLIT_ETT_MINUTE;
    return SBT_SPLIT_CUSTOM;
}

static const double default_ratio[3] = {0.7, 0.1, 0.2};

sbt_status sbt_split_rule_parse(const char *text, sbt_split_rule *out) {
    memset(out, 0, sizeof *out);
    if (text && strncmp(text, "ratio:", 6) == 0) {
        double r[3];
        const char *p = text + 6;
        for (int k = 0; k < 3; k++) {
            char *end = NULL;
            r[k] = strtod(p, &end);
            if (end == p || !(r[k] > 0.0 && r[k] < 1.0) || *end != (k < 2 ? ',' : '\0'))
                return sbt_fail(SBT_ERR_ARG,
                                "split '%s': expected ratio:TRAIN,VALIDATION,TEST with three fractions in "
                                "(0, 1), e.g. ratio:0.7,0.1,0.2",
                                text);
            p = end + 1;
        }
        if (fabs(r[0] + r[1] + r[2] - 1.0) > 1e-6)
            return sbt_fail(SBT_ERR_ARG, "split '%s': the fractions sum to %g, not 1", text,
                            r[0] + r[1] + r[2]);
        out->scheme = SBT_SPLIT_CUSTOM;
        memcpy(out->ratio, r, sizeof r);
        return SBT_OK;
    }
    if (sbt_split_scheme_parse(text, &out->scheme) != SBT_OK)
        return sbt_fail(SBT_ERR_ARG,
                        "unknown split '%s' (expected auto, ett-hour, ett-minute or ratio:A,B,C)",
                        text ? text : "(null)");
    if (out->scheme == SBT_SPLIT_CUSTOM) memcpy(out->ratio, default_ratio, sizeof default_ratio);
    return SBT_OK;
}

void sbt_split_rule_format(const sbt_split_rule *r, char *buf, size_t cap) {
    if (r->scheme != SBT_SPLIT_CUSTOM) {
        snprintf(buf, cap, "%s", sbt_split_scheme_name(r->scheme));
        return;
    }
    const double *q = r->ratio[0] > 0 ? r->ratio : default_ratio;
    snprintf(buf, cap, "ratio:%.9g,%.9g,%.9g", q[0], q[1], q[2]);
}

/* ---- splits ------------------------------------------------------------------------ */

/* The rows of each split as the Informer loaders cut them. */
static sbt_status split_borders(int64_t rows, sbt_split_scheme scheme, const double *ratio,
                                int64_t *train_end, int64_t *val_end, int64_t *test_begin,
                                int64_t *test_end) {
    if (scheme == SBT_SPLIT_ETT_HOUR || scheme == SBT_SPLIT_ETT_MINUTE) {
        int64_t per_month = 30 * 24 * (scheme == SBT_SPLIT_ETT_MINUTE ? 4 : 1);
        *train_end = 12 * per_month;
        *val_end = *test_begin = 16 * per_month;
        *test_end = 20 * per_month;
        if (rows < *test_end)
            return sbt_fail(SBT_ERR_ARG,
                            "forecast split %s needs %lld rows (12/4/4 months), the table has %lld",
                            sbt_split_scheme_name(scheme), (long long)*test_end, (long long)rows);
        return SBT_OK;
    }
    if (scheme != SBT_SPLIT_CUSTOM)
        return sbt_fail(SBT_ERR_ARG, "forecast split: scheme %d is not ett-hour, ett-minute or custom",
                        (int)scheme);
    /* Dataset_Custom: num_train = int(len*0.7), num_test = int(len*0.2), the rest val;
     * the same double arithmetic and truncation as Python's int(). */
    int64_t n_train = (int64_t)((double)rows * ratio[0]), n_test = (int64_t)((double)rows * ratio[2]);
    *train_end = n_train;
    *val_end = *test_begin = rows - n_test;
    *test_end = rows;
    return SBT_OK;
}

sbt_status sbt_forecast_split_rows(int64_t rows, sbt_split_scheme scheme, int window, int reach_back,
                                   sbt_forecast_split *out) {
    sbt_split_rule rule = {.scheme = scheme};
    return sbt_forecast_split_rule_rows(rows, &rule, window, reach_back, out);
}

sbt_status sbt_forecast_split_rule_rows(int64_t rows, const sbt_split_rule *rule, int window, int reach_back,
                                        sbt_forecast_split *out) {
    memset(out, 0, sizeof *out);
    sbt_split_scheme scheme = rule->scheme;
    if (window < 2)
        return sbt_fail(SBT_ERR_ARG,
                        "forecast window %d: must be at least 2 (the last step's input is zeroed)", window);
    const double *ratio = rule->ratio[0] > 0 ? rule->ratio : default_ratio;
    int64_t tr_end = 0, val_end = 0, te_begin = 0, te_end = 0;
    sbt_status st = split_borders(rows, scheme, ratio, &tr_end, &val_end, &te_begin, &te_end);
    if (st != SBT_OK) return st;
    int64_t back = window - 1;
    sbt_forecast_split s = {.scheme = scheme, .window = window, .reach_back = reach_back != 0, .rows = rows};
    if (scheme == SBT_SPLIT_CUSTOM) memcpy(s.ratio, ratio, sizeof s.ratio);
    int64_t begin[3] = {0, tr_end, te_begin}, end[3] = {tr_end, val_end, te_end};
    for (int k = 0; k < 3; k++) {
        s.row_begin[k] = begin[k];
        s.row_end[k] = end[k];
        /* Train windows never reach back (there is nothing before row 0 and the first
         * full window ends at row w-1); validation and test may, into earlier rows. */
        s.target_begin[k] = begin[k] + (k == SBT_FC_TRAIN || !s.reach_back ? back : 0);
        s.target_end[k] = end[k];
        s.border1[k] = k == SBT_FC_TRAIN ? 0 : begin[k] - window;
        s.border2[k] = end[k];
    }
    static const char *const what[3] = {"train", "validation", "test"};
    for (int k = 0; k < 3; k++)
        if (s.target_begin[k] >= s.target_end[k])
            return sbt_fail(SBT_ERR_ARG,
                            "forecast split %s of %lld rows: the %s rows [%lld, %lld) hold no target for "
                            "window %d",
                            sbt_split_scheme_name(scheme), (long long)rows, what[k], (long long)begin[k],
                            (long long)end[k], window);
    /* The promise of the header: target ranges disjoint and in time order. */
    if (s.target_end[SBT_FC_TRAIN] > s.target_begin[SBT_FC_VAL] ||
        s.target_end[SBT_FC_VAL] > s.target_begin[SBT_FC_TEST])
        return sbt_fail(SBT_ERR_ARG, "forecast split: overlapping target ranges");
    *out = s;
    return SBT_OK;
}

void sbt_forecast_split_describe(const sbt_forecast_split *s, char *buf, size_t cap) {
    sbt_split_rule rule = {.scheme = s->scheme};
    memcpy(rule.ratio, s->ratio, sizeof rule.ratio);
    char name[96];
    sbt_split_rule_format(&rule, name, sizeof name);
    int n = snprintf(
        buf, cap, "%s: train rows [%lld, %lld), validation [%lld, %lld), test [%lld, %lld) of %lld", name,
        (long long)s->row_begin[0], (long long)s->row_end[0], (long long)s->row_begin[1],
        (long long)s->row_end[1], (long long)s->row_begin[2], (long long)s->row_end[2], (long long)s->rows);
    if (n > 0 && (size_t)n < cap && s->row_end[2] < s->rows)
        snprintf(buf + n, cap - (size_t)n, ", rows from %lld on unused", (long long)s->row_end[2]);
}

sbt_status sbt_forecast_zscore_fit(const sbt_table *t, const sbt_forecast_split *split, float *mean,
                                   float *std) {
    int64_t n = split->row_end[SBT_FC_TRAIN];
    if (n < 1 || n > t->rows)
        return sbt_fail(SBT_ERR_ARG, "forecast z-score: %lld train rows for a table of %d", (long long)n,
                        t->rows);
    return sbt_zscore_fit_rows(t->values, n, t->cols, mean, std);
}

/* ---- data -------------------------------------------------------------------------- */

sbt_forecast_options sbt_forecast_defaults(void) {
    sbt_forecast_options o = {
        .date_column = "date", .scheme = SBT_SPLIT_AUTO, .window = 200, .reach_back = 1};
    return o;
}

void sbt_forecast_free(sbt_forecast_data *d) {
    if (!d) return;
    if (d->series.channel_names)
        for (int c = 0; c < d->series.channels; c++) free(d->series.channel_names[c]);
    free(d->series.channel_names);
    free(d->series.x);
    free(d->series.label);
    free(d->time);
    free(d->mean);
    free(d->std);
    free(d->filled);
    free(d->target_row);
    free(d->entity_rows);
    free(d->entity_first);
    free(d);
}

/* Allocates the series, names and statistics of d for a table of rows x cols. */
static sbt_status alloc_data(sbt_forecast_data *d, const sbt_table *t, const char *path) {
    size_t rows = (size_t)t->rows, cols = (size_t)t->cols;
    d->series.steps = t->rows;
    d->series.channels = t->cols;
    d->series.x = malloc(rows * cols * sizeof *d->series.x);
    d->series.channel_names = calloc(cols, sizeof *d->series.channel_names);
    d->mean = malloc(cols * sizeof *d->mean);
    d->std = malloc(cols * sizeof *d->std);
    if (!d->series.x || !d->series.channel_names || !d->mean || !d->std)
        return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory for %zu x %zu values", path, rows, cols);
    for (size_t c = 0; c < cols; c++)
        if (!(d->series.channel_names[c] = strdup(t->col_names[c])))
            return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    return SBT_OK;
}

static sbt_status build_data(sbt_forecast_data *d, const sbt_table *t, const char *path,
                             const sbt_forecast_options *o) {
    sbt_split_rule rule = {.scheme =
                               o->scheme == SBT_SPLIT_AUTO ? sbt_split_scheme_for_path(path) : o->scheme};
    if (o->scheme == SBT_SPLIT_CUSTOM) memcpy(rule.ratio, o->ratio, sizeof rule.ratio);
    sbt_status st = SBT_OK;
    if (o->date_column && !t->row_keys)
        return sbt_fail(SBT_ERR_ARG, "%s: read without its date column '%s'", path, o->date_column);
    unsigned flags = o->allow_duplicate_rows ? SBT_TIMES_ALLOW_DUPLICATE_ROWS : 0;
    if (t->row_keys && (st = sbt_table_times(t, path, flags, &d->time)) != SBT_OK) return st;
    if ((st = sbt_forecast_split_rule_rows(t->rows, &rule, o->window, o->reach_back, &d->split)) != SBT_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", sbt_last_error());
        return sbt_fail(st, "%s: %s", path, msg);
    }
    if ((st = alloc_data(d, t, path)) != SBT_OK) return st;
    if (t->filled) {
        if (!(d->filled = malloc((size_t)t->cols * sizeof *d->filled)))
            return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
        memcpy(d->filled, t->filled, (size_t)t->cols * sizeof *d->filled);
    }
    if ((st = sbt_forecast_zscore_fit(t, &d->split, d->mean, d->std)) != SBT_OK) return st;
    size_t cols = (size_t)t->cols;
    for (size_t r = 0; r < (size_t)t->rows; r++)
        for (size_t c = 0; c < cols; c++)
            d->series.x[r * cols + c] = (t->values[r * cols + c] - d->mean[c]) / d->std[c];
    return SBT_OK;
}

sbt_status sbt_forecast_from_table(const sbt_table *t, const char *path, const sbt_forecast_options *opt,
                                   sbt_forecast_data **out) {
    *out = NULL;
    sbt_forecast_options o = opt ? *opt : sbt_forecast_defaults();
    if (!path) path = "table";
    sbt_forecast_data *d = calloc(1, sizeof *d);
    if (!d) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    sbt_status st = build_data(d, t, path, &o);
    if (st != SBT_OK) {
        sbt_forecast_free(d);
        return st;
    }
    *out = d;
    return SBT_OK;
}

sbt_status sbt_forecast_load(const char *path, const sbt_forecast_options *opt, sbt_forecast_data **out) {
    *out = NULL;
    sbt_forecast_options o = opt ? *opt : sbt_forecast_defaults();
    sbt_table *t = NULL;
    sbt_status st = sbt_csv_read_flags(path, o.date_column, o.fill ? SBT_CSV_FILL_LINEAR : 0, &t);
    if (st != SBT_OK) return st;
    st = sbt_forecast_from_table(t, path, &o, out);
    sbt_table_free(t);
    return st;
}

/* ---- windows ----------------------------------------------------------------------- */

int64_t sbt_forecast_count(const sbt_forecast_data *d, int split) {
    if (split < SBT_FC_TRAIN || split > SBT_FC_TEST) return 0;
    return d->split.target_end[split] - d->split.target_begin[split];
}

sbt_status sbt_forecast_batch(const sbt_forecast_data *d, const int64_t *rows, int n, float *x, float *y) {
    int64_t w = d->split.window;
    size_t C = (size_t)d->series.channels;
    for (int i = 0; i < n; i++) {
        int64_t t = rows[i];
        if (d->target_row) { /* anomaly data of several entities: rows[i] is a target index */
            if (t < 0 || t >= d->split.target_end[SBT_FC_TEST])
                return sbt_fail(SBT_ERR_ARG, "forecast batch: target %lld (entry %d) outside [0, %lld)",
                                (long long)t, i, (long long)d->split.target_end[SBT_FC_TEST]);
            t = d->target_row[t];
        }
        if (t < w - 1 || t >= d->series.steps)
            return sbt_fail(SBT_ERR_ARG, "forecast batch: target row %lld (entry %d) outside [%lld, %lld)",
                            (long long)t, i, (long long)(w - 1), (long long)d->series.steps);
        float *xi = x + (size_t)i * (size_t)w * C;
        const float *src = d->series.x + (size_t)(t - w + 1) * C;
        memcpy(xi, src, (size_t)(w - 1) * C * sizeof *xi);
        /* The target step is in the window (the model's output there is read) but its
         * values must not be: zero them, as the paper's code does. */
        memset(xi + (size_t)(w - 1) * C, 0, C * sizeof *xi);
        if (y) memcpy(y + (size_t)i * C, d->series.x + (size_t)t * C, C * sizeof *y);
    }
    return SBT_OK;
}

void sbt_forecast_relative_to_last(float *x, float *y, int n, int64_t w, int channels) {
    size_t C = (size_t)channels;
    for (int i = 0; i < n && w >= 2; i++) {
        float *xi = x + (size_t)i * (size_t)w * C, last[C];
        memcpy(last, xi + (size_t)(w - 2) * C, C * sizeof *last);
        for (int64_t t = 0; t < w - 1; t++)
            for (size_t c = 0; c < C; c++) xi[(size_t)t * C + c] -= last[c];
        for (size_t c = 0; c < C && y; c++) y[(size_t)i * C + c] -= last[c];
    }
}

/* ---- metrics ----------------------------------------------------------------------- */

void sbt_forecast_accum_add(sbt_forecast_accum *a, const float *pred, const float *target, int64_t n,
                            int channels, const float *std) {
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < channels; c++) {
            size_t k = (size_t)i * (size_t)channels + (size_t)c;
            double e = (double)pred[k] - (double)target[k];
            /* De-standardising both sides, (p*s + m) - (t*s + m) = (p - t) * s: the mean
             * cancels, so only the std is needed. */
            double er = std ? e * (double)std[c] : e;
            a->sq += e * e;
            a->abs += fabs(e);
            a->sq_raw += er * er;
            a->abs_raw += fabs(er);
        }
    a->count += n * channels;
}

sbt_forecast_metrics sbt_forecast_accum_result(const sbt_forecast_accum *a) {
    sbt_forecast_metrics m = {NAN, NAN, NAN, NAN, a->count};
    if (a->count > 0) {
        double n = (double)a->count;
        m.mse = a->sq / n;
        m.mae = a->abs / n;
        m.mse_raw = a->sq_raw / n;
        m.mae_raw = a->abs_raw / n;
    }
    return m;
}

sbt_status sbt_forecast_persistence(const sbt_forecast_data *d, int split, sbt_forecast_metrics *out) {
    if (split < SBT_FC_TRAIN || split > SBT_FC_TEST)
        return sbt_fail(SBT_ERR_ARG, "forecast persistence: split %d is not train, validation or test",
                        split);
    int64_t begin = d->split.target_begin[split], n = sbt_forecast_count(d, split);
    if ((!d->target_row && begin < 1) || n < 1)
        return sbt_fail(SBT_ERR_ARG, "forecast persistence: no row before the first target");
    size_t C = (size_t)d->series.channels;
    sbt_forecast_accum a = {0};
    if (d->target_row) { /* mapped targets: each one's previous row, one at a time */
        for (int64_t k = begin; k < begin + n; k++) {
            const float *row = d->series.x + (size_t)d->target_row[k] * C;
            sbt_forecast_accum_add(&a, row - C, row, 1, d->series.channels, d->std);
        }
        *out = sbt_forecast_accum_result(&a);
        return SBT_OK;
    }
    /* Targets are consecutive rows, so the predictions (each previous row) are the same
     * block shifted by one row. */
    sbt_forecast_accum_add(&a, d->series.x + (size_t)(begin - 1) * C, d->series.x + (size_t)begin * C, n,
                           d->series.channels, d->std);
    *out = sbt_forecast_accum_result(&a);
    return SBT_OK;
}
