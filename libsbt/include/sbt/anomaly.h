/* sbt/anomaly.h - multivariate series for anomaly detection, their readers (NumPy .npy,
 * SMD, NASA MSL/SMAP, labelled CSV), thresholds (quantile, POT) and detection metrics.
 *
 * A series is one long recording of `steps` time steps, each `channels` values, stored
 * row-major (time, channel), with an optional 0/1 anomaly label per step:
 *
 *     x[t * channels + c]     label[t]
 *
 *     sbt_series *train = NULL, *test = NULL;
 *     if (sbt_smd_read("data/anomaly/SMD", "machine-1-6", &train, &test))
 *         fprintf(stderr, "%s\n", sbt_last_error());
 *     // ... a model turns windows of train/validation/test into one score per step ...
 *     double thr;
 *     sbt_pot_fit fit;
 *     sbt_pot_threshold(calib_scores, n_calib, 1e-5, 0.99995, &thr, &fit); // no test scores
 *     sbt_detection raw, adj;
 *     sbt_detection_eval(test_scores, test->label, test->steps, thr, 0, &raw);
 *     sbt_detection_eval(test_scores, test->label, test->steps, thr, 1, &adj); // point-adjusted
 *     double ap;
 *     sbt_auc_pr(test_scores, test->label, test->steps, &ap);                // threshold-free
 *     sbt_series_free(train); sbt_series_free(test);
 *
 * Readers read plain or gzip files alike and distrust their input: a malformed file gives
 * SBT_ERR_PARSE (text) or SBT_ERR_FORMAT (.npy) naming the file and the place, and a NaN or
 * infinity in a series is SBT_ERR_NUMERIC naming the file and index.
 *
 * Ownership: every sbt_series and sbt_entity_list returned through an out-pointer belongs
 * to the caller, who frees it with sbt_series_free() / sbt_entity_list_free(). Nothing is
 * returned on failure (*out = NULL). Input arrays are never modified or kept.
 */
#ifndef SBT_ANOMALY_H
#define SBT_ANOMALY_H

#include <stdint.h>

#include "sbt/data.h"
#include "sbt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- series ---------------------------------------------------------------------- */

typedef struct sbt_series {
    int64_t steps;
    int channels;
    float *x;             /* steps * channels, row-major (time, channel) */
    uint8_t *label;       /* steps 0/1 anomaly labels, or NULL */
    char **channel_names; /* channels names, or NULL */
} sbt_series;

/* A zero-filled series; label is allocated (all 0) when with_labels is non-zero. */
sbt_status sbt_series_new(int64_t steps, int channels, int with_labels, sbt_series **out);
void sbt_series_free(sbt_series *s);

/* The parts one after the other in time ("one model over concatenated entities"). All parts
 * must have the same channel count (and the same channel names where both have names);
 * labels are kept when every part has them, dropped when none has, an error otherwise.
 * If `starts` is not NULL it receives count + 1 offsets: part k occupies steps
 * [starts[k], starts[k+1]) of the result, so windows need not straddle two entities. */
sbt_status sbt_series_concat(const sbt_series *const *parts, int count, int64_t *starts, sbt_series **out);

/* A series from a CSV table (sbt_csv_read; pass the date column as its skip_column): every
 * column but `label_column` is a channel, named as in the header. The label column (NULL for
 * none) must hold 0 or 1 on every row. Beware that a table read with SBT_CSV_FILL_LINEAR has
 * its empty and NaN cells filled by interpolation, labels included. */
sbt_status sbt_series_from_table(const sbt_table *t, const char *label_column, sbt_series **out);

/* The label column may be missing from the file (a training file): then label is NULL. */
#define SBT_CSV_LABEL_OPTIONAL 1u

/* A labelled CSV for anomaly detection (plain or gzip, LF or CRLF, a UTF-8 BOM ignored): a
 * header row naming the columns, then one row per time step. Every column but `time_column`
 * (kept out as text and ignored; NULL for none) and `label_column` (NULL for none) is a
 * channel, named as in the header. Cells may be wrapped in one pair of double quotes; commas
 * inside quotes are not supported. Strict, unlike sbt_csv_read: nothing is interpolated.
 * Errors name the file (and line and column where there is one): a missing label or time
 * column (SBT_ERR_PARSE; a missing label column is allowed with SBT_CSV_LABEL_OPTIONAL), a
 * row with another field count than the header (SBT_ERR_PARSE), a cell that is not a number
 * (SBT_ERR_PARSE), an empty, NaN or infinite cell (SBT_ERR_NUMERIC), a label other than 0 or
 * 1 (SBT_ERR_PARSE), no data rows or no channel column (SBT_ERR_PARSE). */
sbt_status sbt_series_read_csv(const char *path, const char *time_column, const char *label_column,
                               unsigned flags, sbt_series **out);

/* ---- NumPy .npy ------------------------------------------------------------------- */

/* Accept NaN and infinity in the data instead of failing with SBT_ERR_NUMERIC. */
#define SBT_NPY_ALLOW_NONFINITE 1u

/* Reads a .npy file (plain or gzip): format versions 1.0, 2.0 and 3.0, C order only, one
 * or two dimensions, dtype '<f4', '<f8', '<i4', '<i8', '|u1' or '|b1', converted to float
 * (integers beyond 2^24 in magnitude are rounded). A 1-d array of n values becomes n steps of
 * one channel; a 2-d array (rows, cols) becomes rows steps of cols channels. Labels and
 * channel names are NULL. An empty array is an error. */
sbt_status sbt_npy_read(const char *path, unsigned flags, sbt_series **out);

/* ---- entity lists (SMD machines, NASA channels) ------------------------------------ */

typedef struct sbt_entity_list {
    int count;
    char **names; /* the entities that can be read */
    int n_skipped;
    char **skipped; /* "name: reason" for each entity left out */
} sbt_entity_list;

void sbt_entity_list_free(sbt_entity_list *l);

/* ---- SMD (Server Machine Dataset) ---------------------------------------------------- */

/* Reads machine `machine` (e.g. "machine-1-6") from an SMD directory:
 *   dir/train/<machine>.npy, .npy.gz, .txt or .txt.gz   (.txt: the official format, one
 *   dir/test/<machine>.*                                  comma-separated row per step)
 *   dir/test_label/<machine>.txt[.gz]                    (one 0 or 1 per line)
 * The first existing name in that order is used. Train and test must have the same channel
 * count and the label count must equal the test steps; test->label holds the labels and
 * train->label is NULL (SMD's train part is unlabelled). */
sbt_status sbt_smd_read(const char *dir, const char *machine, sbt_series **train, sbt_series **test);

/* The machines of `dir` that sbt_smd_read can read (train, test and labels present), in
 * natural order (machine-3-2 before machine-3-10). A machine with a label file but missing
 * arrays is listed in `skipped`. */
sbt_status sbt_smd_list(const char *dir, sbt_entity_list **out);

/* ---- NASA MSL / SMAP (telemanom) ----------------------------------------------------- */

/* Reads channel `channel` (e.g. "C-1") of `spacecraft` ("MSL" or "SMAP"): dir/train/<channel>
 * and dir/test/<channel> as .npy or .npy.gz (column 0 the telemetry value, the others
 * one-hot commands), labels from the labeled_anomalies.csv at `labels_csv`: its
 * `anomaly_sequences` are inclusive [start, end] index ranges into the test array and its
 * `num_values` must equal the test steps. The channel's row must name `spacecraft`. When a
 * channel has several rows (P-2 in the official file) the first is used. */
sbt_status sbt_nasa_read(const char *dir, const char *labels_csv, const char *spacecraft, const char *channel,
                         sbt_series **train, sbt_series **test);

/* Leave out every channel that has more than one row in the CSV (OmniAnomaly's practice
 * for P-2; SMAP then has 53 channels) instead of keeping the channel with its first row. */
#define SBT_NASA_DROP_DUPLICATED 1u

/* The channels of `spacecraft` in CSV order, each once. Left out, and named in `skipped`
 * with the reason: repeated rows of a channel (all its rows with SBT_NASA_DROP_DUPLICATED),
 * channels whose train or test array is missing under `dir`. */
sbt_status sbt_nasa_list(const char *dir, const char *labels_csv, const char *spacecraft, unsigned flags,
                         sbt_entity_list **out);

/* ---- thresholds ---------------------------------------------------------------------- */

/* The q-quantile (0 <= q <= 1) of n scores by linear interpolation between order
 * statistics (NumPy's default). The scores must be finite. */
sbt_status sbt_threshold_quantile(const double *scores, int64_t n, double q, double *threshold);

typedef enum sbt_gpd_method {
    SBT_GPD_GRIMSHAW = 1, /* a root of Grimshaw's likelihood equation */
    SBT_GPD_EXPONENTIAL,  /* gamma = 0, sigma = mean excess */
    SBT_GPD_MOMENTS       /* method of moments */
} sbt_gpd_method;

typedef struct sbt_pot_fit {
    double init_threshold; /* t: the initial threshold (filled by sbt_pot_threshold) */
    int64_t n;             /* calibration scores */
    int64_t n_peaks;       /* N_t: scores strictly above t (excesses fitted) */
    double gamma, sigma;   /* GPD shape and scale of the excesses */
    double log_likelihood; /* of the excesses under (gamma, sigma) */
    sbt_gpd_method method; /* which candidate had the highest likelihood */
} sbt_pot_fit;

/* Maximum-likelihood fit of a Generalized Pareto Distribution to n > 0 positive excesses,
 * following Siffer et al. (KDD 2017): the roots of Grimshaw's equation are candidates, as are
 * the exponential (gamma = 0) and method-of-moments fits; the one with the highest
 * likelihood wins. Fills gamma, sigma, log_likelihood, method and n_peaks of *fit. */
sbt_status sbt_gpd_fit(const double *excesses, int64_t n, sbt_pot_fit *fit);

/* Peaks-over-threshold (Siffer et al. 2017): t is the order statistic sorted[floor(level*n)]
 * of the n calibration scores (as in the reference SPOT code), the excesses over t are fitted
 * by sbt_gpd_fit, and the threshold for tail probability `risk` is
 *     z = t + sigma/gamma * ((risk*n/N_t)^(-gamma) - 1)     (gamma != 0)
 *     z = t - sigma * log(risk*n/N_t)                       (gamma == 0).
 * Calibrate on train + validation scores only, never on test scores. Requires
 * 0 < risk < N_t/n (a tail probability beyond t) and 0 < level < 1; fails when no score lies
 * above t. fit_out may be NULL; when the fit fails after t is known it still receives
 * init_threshold, n and n_peaks. */
sbt_status sbt_pot_threshold(const double *calib, int64_t n, double risk, double level, double *threshold,
                             sbt_pot_fit *fit_out);

/* POT's threshold as used by the anomaly task: sbt_pot_threshold, guarded. The GPD fit
 * extrapolates, and on heavy-tailed calibration scores it can put the threshold absurdly far
 * out (NASA MSL C-1: 3e7 for scores below 1e3), which then flags nothing. The fitted threshold
 * z is replaced when
 *     - the fit fails (no score above the initial threshold t, or risk not below N_t/n),
 *     - z is not finite, or
 *     - z - t > SBT_POT_GUARD_FACTOR * (max - t): z lies more than ten times as far beyond t
 *       as the largest calibration score does (shift- and scale-free, so it holds for any
 *       score unit),
 * by the empirical (1 - risk)-quantile of the calibration scores (sbt_threshold_quantile):
 * the same tail probability, estimated without extrapolation (with n * risk < 1 it is close
 * to the largest score). Argument errors (risk or level outside (0, 1)), non-finite scores
 * and out-of-memory remain errors. */
#define SBT_POT_GUARD_FACTOR 10.0

typedef enum sbt_pot_fallback {
    SBT_POT_FITTED = 0,  /* POT's threshold is used */
    SBT_POT_FIT_FAILED,  /* sbt_pot_threshold failed; `reason` says why */
    SBT_POT_NOT_FINITE,  /* the fitted threshold is NaN or infinite */
    SBT_POT_BEYOND_GUARD /* the fitted threshold lies beyond the guard */
} sbt_pot_fallback;

/* "none", "fit-failed", "not-finite", "beyond-guard". */
const char *sbt_pot_fallback_name(sbt_pot_fallback f);

typedef struct sbt_pot_guarded {
    double threshold;          /* the threshold to use */
    double fitted;             /* POT's own threshold z (NaN when the fit failed) */
    double max_score;          /* the largest calibration score */
    sbt_pot_fallback fallback; /* SBT_POT_FITTED, or why `threshold` is the (1 - risk)-quantile */
    sbt_pot_fit fit;           /* the fit (init_threshold, n and n_peaks also when it failed) */
    char reason[160];          /* SBT_POT_FIT_FAILED: the fit's error message; else empty */
} sbt_pot_guarded;

sbt_status sbt_pot_threshold_guarded(const double *calib, int64_t n, double risk, double level,
                                     sbt_pot_guarded *out);

/* ---- detection metrics ------------------------------------------------------------------ */

typedef struct sbt_detection {
    int64_t tp, fp, fn, tn; /* point counts */
    double precision;       /* tp / (tp + fp), 0 when nothing is predicted */
    double recall;          /* tp / (tp + fn), 0 when nothing is anomalous */
    double f1;              /* harmonic mean, 0 when precision + recall = 0 */
} sbt_detection;

/* Point adjustment: wherever a true anomaly segment (a maximal run of label 1) contains at
 * least one predicted point, every point of the segment counts as predicted. Predictions
 * outside segments are copied. `adjusted` may be `pred`. */
void sbt_point_adjust(const uint8_t *pred, const uint8_t *labels, int64_t n, uint8_t *adjusted);

/* Counts and precision/recall/F1 of 0/1 predictions against 0/1 labels (any non-zero is 1),
 * after point adjustment when point_adjust is non-zero. */
sbt_status sbt_detection_from_predictions(const uint8_t *pred, const uint8_t *labels, int64_t n,
                                          int point_adjust, sbt_detection *out);

/* The same with pred[i] = scores[i] > threshold (strictly: a score equal to the threshold is
 * normal). scores[i] and labels[i] describe the same step; scores must be finite. */
sbt_status sbt_detection_eval(const double *scores, const uint8_t *labels, int64_t n, double threshold,
                              int point_adjust, sbt_detection *out);

/* sbt_detection_eval over `count` entities whose steps lie end to end in scores/labels:
 * entity k owns steps [starts[k], starts[k+1]) (starts[0] = 0, starts[count] = the total).
 * The counts are summed over entities, so raw (point-wise) metrics equal those of one
 * sbt_detection_eval over the whole arrays; point adjustment is applied within each entity,
 * so an anomaly segment ending one entity and one starting the next stay two segments. */
sbt_status sbt_detection_eval_pooled(const double *scores, const uint8_t *labels, const int64_t *starts,
                                     int count, double threshold, int point_adjust, sbt_detection *out);

/* Threshold-free area under the precision-recall curve as average precision:
 * sum over distinct score values s, from high to low, of (R(s) - R(s_prev)) * P(s), where
 * P and R are precision and recall of predicting "score >= s" - equal scores form one step
 * (scikit-learn's average_precision_score). Needs at least one positive label. */
sbt_status sbt_auc_pr(const double *scores, const uint8_t *labels, int64_t n, double *ap);

#ifdef __cplusplus
}
#endif
#endif
