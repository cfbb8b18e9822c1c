/* dataset.c - the in-memory dataset, its z-score normalisation and the stratified split. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/data.h"
#include "sbt/rng.h"

/* n * channels * length as a size_t, or 0 when it would overflow. */
static size_t value_count(int n, int channels, int length) {
    size_t per_case = (size_t)channels * (size_t)length;
    if (per_case != 0 && (size_t)n > SIZE_MAX / sizeof(float) / per_case) return 0;
    return (size_t)n * per_case;
}

void sbt_dataset_free(sbt_dataset *ds) {
    if (!ds) return;
    if (ds->class_names)
        for (int k = 0; k < ds->n_classes; k++) free(ds->class_names[k]);
    free(ds->class_names);
    free(ds->x);
    free(ds->len);
    free(ds->y);
    free(ds);
}

/* class_names "0", "1", ... so that a fresh dataset is always printable. */
static sbt_status default_class_names(sbt_dataset *ds) {
    ds->class_names = calloc((size_t)ds->n_classes, sizeof *ds->class_names);
    if (!ds->class_names)
        return sbt_fail(SBT_ERR_NOMEM, "dataset: out of memory for %d class names", ds->n_classes);
    for (int k = 0; k < ds->n_classes; k++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d", k);
        ds->class_names[k] = strdup(buf);
        if (!ds->class_names[k]) return sbt_fail(SBT_ERR_NOMEM, "dataset: out of memory for class names");
    }
    return SBT_OK;
}

sbt_status sbt_dataset_new(int n, int channels, int length, int n_classes, sbt_dataset **out) {
    *out = NULL;
    if (n < 0 || channels < 1 || length < 1 || n_classes < 0)
        return sbt_fail(SBT_ERR_ARG, "dataset: invalid sizes n=%d channels=%d length=%d classes=%d", n,
                        channels, length, n_classes);
    size_t count = value_count(n, channels, length);
    if (n > 0 && count == 0)
        return sbt_fail(SBT_ERR_ARG, "dataset: %d x %d x %d values overflow memory", n, length, channels);
    sbt_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return sbt_fail(SBT_ERR_NOMEM, "dataset: out of memory");
    ds->n = n;
    ds->channels = channels;
    ds->length = length;
    ds->n_classes = n_classes;
    /* +1 so that an empty dataset still owns valid (non-NULL) arrays. */
    ds->x = calloc(count + 1, sizeof *ds->x);
    ds->len = calloc((size_t)n + 1, sizeof *ds->len);
    if (n_classes > 0) ds->y = calloc((size_t)n + 1, sizeof *ds->y);
    if (!ds->x || !ds->len || (n_classes > 0 && !ds->y)) {
        sbt_dataset_free(ds);
        return sbt_fail(SBT_ERR_NOMEM, "dataset: out of memory for %d x %d x %d values", n, length, channels);
    }
    for (int i = 0; i < n; i++) ds->len[i] = length;
    if (n_classes > 0) {
        sbt_status st = default_class_names(ds);
        if (st != SBT_OK) {
            sbt_dataset_free(ds);
            return st;
        }
    }
    *out = ds;
    return SBT_OK;
}

/* The subset keeps the source's padded length so that its cases keep the same shape as
 * the cases of the set they came from (a model sized on the source fits the subset). */
sbt_status sbt_dataset_subset(const sbt_dataset *src, const int *idx, int count, sbt_dataset **out) {
    *out = NULL;
    if (count < 0) return sbt_fail(SBT_ERR_ARG, "dataset subset: negative count %d", count);
    for (int i = 0; i < count; i++)
        if (idx[i] < 0 || idx[i] >= src->n)
            return sbt_fail(SBT_ERR_ARG, "dataset subset: index %d out of range [0, %d)", idx[i], src->n);
    sbt_dataset *ds = NULL;
    sbt_status st = sbt_dataset_new(count, src->channels, src->length, src->y ? src->n_classes : 0, &ds);
    if (st != SBT_OK) return st;
    size_t per_case = (size_t)src->channels * (size_t)src->length;
    for (int i = 0; i < count; i++) {
        memcpy(ds->x + (size_t)i * per_case, src->x + (size_t)idx[i] * per_case, per_case * sizeof *ds->x);
        ds->len[i] = src->len[idx[i]];
        if (ds->y) ds->y[i] = src->y[idx[i]];
    }
    for (int k = 0; ds->y && k < ds->n_classes; k++) {
        char *name = strdup(src->class_names[k]);
        if (!name) {
            sbt_dataset_free(ds);
            return sbt_fail(SBT_ERR_NOMEM, "dataset subset: out of memory");
        }
        free(ds->class_names[k]);
        ds->class_names[k] = name;
    }
    *out = ds;
    return SBT_OK;
}

/* A channel constant in the training data keeps its offset removed but is not scaled:
 * dividing by a tiny std would turn any later deviation into ~1e8 (sklearn's rule). */
static float std_or_one(double variance) {
    double sd = sqrt(variance);
    return sd < 1e-8 ? 1.0f : (float)sd;
}

sbt_status sbt_zscore_fit_rows(const float *x, int64_t rows, int channels, float *mean, float *std) {
    if (rows < 1) return sbt_fail(SBT_ERR_ARG, "zscore: no rows to fit");
    /* Two passes in double (mean, then squared deviations): one-pass sums lose precision
     * on channels with a large offset such as pressure in mbar. */
    for (int c = 0; c < channels; c++) {
        double sum = 0.0, sq = 0.0;
        for (int64_t r = 0; r < rows; r++) sum += x[r * channels + c];
        double m = sum / (double)rows;
        for (int64_t r = 0; r < rows; r++) sq += (x[r * channels + c] - m) * (x[r * channels + c] - m);
        mean[c] = (float)m;
        std[c] = std_or_one(sq / (double)rows);
    }
    return SBT_OK;
}

sbt_status sbt_zscore_fit(const sbt_dataset *ds, float *mean, float *std) {
    int C = ds->channels;
    double *sum = calloc((size_t)C, sizeof *sum), *sq = calloc((size_t)C, sizeof *sq);
    if (!sum || !sq) {
        free(sum);
        free(sq);
        return sbt_fail(SBT_ERR_NOMEM, "zscore: out of memory");
    }
    long long steps = 0;
    /* Two passes (mean, then squared deviations): one-pass sums lose precision on
     * channels with a large offset such as pressure in mbar. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < ds->n; i++) {
            const float *xi = ds->x + (size_t)i * ds->length * C;
            for (int t = 0; t < ds->len[i]; t++)
                for (int c = 0; c < C; c++) {
                    double v = xi[(size_t)t * C + c];
                    if (pass == 0)
                        sum[c] += v;
                    else
                        sq[c] += (v - mean[c]) * (v - mean[c]);
                }
            if (pass == 0) steps += ds->len[i];
        }
        if (steps == 0) break;
        for (int c = 0; c < C; c++) {
            if (pass == 0)
                mean[c] = (float)(sum[c] / (double)steps);
            else
                std[c] = std_or_one(sq[c] / (double)steps);
        }
    }
    free(sum);
    free(sq);
    if (steps == 0) return sbt_fail(SBT_ERR_ARG, "zscore: dataset has no values to fit");
    return SBT_OK;
}

void sbt_zscore_apply(sbt_dataset *ds, const float *mean, const float *std) {
    int C = ds->channels;
    for (int i = 0; i < ds->n; i++) {
        float *xi = ds->x + (size_t)i * ds->length * C;
        for (int t = 0; t < ds->len[i]; t++)
            for (int c = 0; c < C; c++) xi[(size_t)t * C + c] = (xi[(size_t)t * C + c] - mean[c]) / std[c];
    }
}

/* Cases of one class to put into validation: round(frac * count), at least one when the
 * class has two or more, and never all of them (the model must see every class). */
static int val_count(double frac, int count) {
    if (frac <= 0.0 || count < 2) return 0;
    int k = (int)floor(frac * count + 0.5);
    if (k < 1) k = 1;
    if (k > count - 1) k = count - 1;
    return k;
}

static sbt_status split_check(const int *y, int n, int n_classes, double frac) {
    if (n < 0 || n_classes < 1) return sbt_fail(SBT_ERR_ARG, "split: invalid n=%d classes=%d", n, n_classes);
    if (!(frac >= 0.0 && frac < 1.0)) return sbt_fail(SBT_ERR_ARG, "split: fraction %g not in [0, 1)", frac);
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= n_classes)
            return sbt_fail(SBT_ERR_ARG, "split: label %d of case %d not in [0, %d)", y[i], i, n_classes);
    return SBT_OK;
}

/* frac == 0 gives an empty validation set (no "at least one" rule): it means "no split". */
sbt_status sbt_split_stratified(const int *y, int n, int n_classes, double frac, uint64_t seed, int **train,
                                int *n_train, int **val, int *n_val) {
    *train = *val = NULL;
    *n_train = *n_val = 0;
    sbt_status st = split_check(y, n, n_classes, frac);
    if (st != SBT_OK) return st;
    int *members = malloc(((size_t)n + 1) * sizeof *members);
    char *in_val = calloc((size_t)n + 1, 1);
    int *tr = malloc(((size_t)n + 1) * sizeof *tr), *va = malloc(((size_t)n + 1) * sizeof *va);
    if (!members || !in_val || !tr || !va) {
        free(members), free(in_val), free(tr), free(va);
        return sbt_fail(SBT_ERR_NOMEM, "split: out of memory");
    }
    sbt_rng rng;
    sbt_rng_seed(&rng, seed);
    for (int k = 0; k < n_classes; k++) {
        int count = 0;
        for (int i = 0; i < n; i++)
            if (y[i] == k) members[count++] = i;
        sbt_rng_shuffle_int(&rng, members, count);
        int take = val_count(frac, count);
        for (int j = 0; j < take; j++) in_val[members[j]] = 1;
    }
    /* Walking 0..n-1 yields both lists already sorted. */
    for (int i = 0; i < n; i++) {
        if (in_val[i])
            va[(*n_val)++] = i;
        else
            tr[(*n_train)++] = i;
    }
    free(members);
    free(in_val);
    *train = tr;
    *val = va;
    return SBT_OK;
}
