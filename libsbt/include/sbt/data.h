/* sbt/data.h - labelled multivariate series in memory, and the readers that fill them.
 *
 * A dataset holds n cases of up to `length` steps and `channels` channels, stored
 * (case, time, channel) row-major and zero-padded after each case's own length:
 *
 *     x[(i * length + t) * channels + c]     valid for t < len[i]
 *
 * Readers distrust their input: a bad file gives SBT_ERR_PARSE (or SBT_ERR_IO) and a
 * message naming the file, the line (and column where it helps) and what was wrong.
 *
 *     sbt_dataset *train = NULL, *test = NULL;
 *     if (sbt_ts_read("JV_TRAIN.ts", NULL, &train) ||
 *         sbt_ts_read("JV_TEST.ts", train, &test))       // labels mapped as in train
 *         fprintf(stderr, "%s\n", sbt_last_error());
 *     float mean[64], std[64];
 *     sbt_zscore_fit(train, mean, std);                   // train statistics only
 *     sbt_zscore_apply(train, mean, std);
 *     sbt_zscore_apply(test, mean, std);
 *     sbt_dataset_free(train); sbt_dataset_free(test);
 *
 * Ownership: every sbt_dataset returned through an out-pointer belongs to the caller,
 * who frees it with sbt_dataset_free(). Nothing is returned on failure (*out = NULL).
 */
#ifndef SBT_DATA_H
#define SBT_DATA_H

#include <stdint.h>

#include "sbt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbt_dataset {
    int n;              /* cases */
    int channels;       /* values per step */
    int length;         /* padded length = max over cases of len[i] */
    float *x;           /* n * length * channels, zero after len[i] */
    int *len;           /* n valid lengths, 1 <= len[i] <= length */
    int *y;             /* n class indices in [0, n_classes), or NULL when unlabelled */
    int n_classes;      /* 0 when unlabelled */
    char **class_names; /* n_classes label strings, in index order */
} sbt_dataset;

/* A zero-filled dataset with the given sizes; y is allocated (all 0) when n_classes > 0
 * and class_names then holds "0", "1", ...; len[i] = length. */
sbt_status sbt_dataset_new(int n, int channels, int length, int n_classes, sbt_dataset **out);
void sbt_dataset_free(sbt_dataset *ds);

/* A new dataset holding cases idx[0..count) of `src` in that order (labels shared by
 * copy of the class name table). */
sbt_status sbt_dataset_subset(const sbt_dataset *src, const int *idx, int count, sbt_dataset **out);

/* Reads a UEA/sktime .ts file (plain or gzip). Header keys (@problemName, @timeStamps,
 * @missing, @univariate, @dimensions, @equalLength, @seriesLength, @classLabel, @data)
 * are checked against the data; dimensions are separated by ':', values by ',', the
 * class label comes last. Missing values ('?' or NaN) are filled by linear
 * interpolation within their channel (constant extension at the ends; a channel with
 * no value at all is an error). Labels: if `label_ref` is NULL the class list comes from
 * @classLabel (in header order); otherwise label_ref's class names are used and a label
 * not among them is an error (a TEST file read against its TRAIN file). */
sbt_status sbt_ts_read(const char *path, const sbt_dataset *label_ref, sbt_dataset **out);

/* A numeric table from a CSV file (plain or gzip; CRLF accepted). The first row is a
 * header. The column named `skip_column` (e.g. a date column; NULL for none) is kept as
 * text in `row_keys`; every other cell must parse as a finite number. An empty or NaN
 * cell is SBT_ERR_NUMERIC naming the file, the line and column of the first one and how
 * many there are, unless flags has SBT_CSV_FILL_LINEAR: then they are filled by linear
 * interpolation down their column (constant at the ends; a column with no value at all is
 * SBT_ERR_PARSE) and `filled` counts them per column. sbt_csv_read is flags 0. */
typedef struct sbt_table {
    int rows, cols;
    float *values;    /* rows * cols, row-major */
    char **col_names; /* cols names */
    char **row_keys;  /* rows strings of skip_column, or NULL if none */
    int64_t *filled;  /* SBT_CSV_FILL_LINEAR: cols counts of filled cells; NULL otherwise */
} sbt_table;

#define SBT_CSV_FILL_LINEAR 1u
sbt_status sbt_csv_read(const char *path, const char *skip_column, sbt_table **out);
sbt_status sbt_csv_read_flags(const char *path, const char *skip_column, unsigned flags, sbt_table **out);
void sbt_table_free(sbt_table *t);
/* Index of the column called `name`, or -1. */
int sbt_table_column(const sbt_table *t, const char *name);

/* A labelled classification dataset from a CSV table: one case per `case_column` value
 * run (consecutive rows with the same value form one series), labels from
 * `label_column` (must be constant within a case), all other columns channels. */
sbt_status sbt_table_to_dataset(const sbt_table *t, const char *case_column, const char *label_column,
                                const sbt_dataset *label_ref, sbt_dataset **out);

/* Per-channel mean and standard deviation over the valid steps of all cases
 * (a channel whose std is below 1e-8, constant in train, gets std 1: its offset is
 * removed, a later deviation is not blown up). */
sbt_status sbt_zscore_fit(const sbt_dataset *ds, float *mean, float *std);
/* The same over `rows` contiguous rows of a (rows, channels) row-major matrix (a series
 * or its training part). */
sbt_status sbt_zscore_fit_rows(const float *x, int64_t rows, int channels, float *mean, float *std);
/* x = (x - mean) / std on valid steps; padding stays zero. */
void sbt_zscore_apply(sbt_dataset *ds, const float *mean, const float *std);

/* Stratified split of 0..n-1 by label: in each class round(frac * count) cases (at
 * least one when the class has two or more) go to `val`, the rest to `train`, chosen by
 * a seeded shuffle. Output arrays are malloc'ed, owned by the caller, sorted ascending. */
sbt_status sbt_split_stratified(const int *y, int n, int n_classes, double frac, uint64_t seed, int **train,
                                int *n_train, int **val, int *n_val);

/* The built-in default: a deterministic synthetic multivariate classification task.
 * Each class has its own shape per channel (sines of class-dependent frequency and
 * phase, steps, ramps, bumps) plus Gaussian noise, random time shift and amplitude
 * jitter, so that it is learnable but not trivial. Same config, same bytes. */
typedef struct sbt_synth_config {
    int n_train, n_test; /* cases */
    int channels;
    int length;
    int n_classes;
    float noise; /* noise standard deviation relative to signal amplitude 1 */
    uint64_t seed;
} sbt_synth_config;

/* Defaults: 240 train, 240 test, 6 channels, length 48, 4 classes, noise 0.5, seed 1. */
sbt_synth_config sbt_synth_default(void);
sbt_status sbt_synth_classification(const sbt_synth_config *cfg, sbt_dataset **train, sbt_dataset **test);

#ifdef __cplusplus
}
#endif
#endif
