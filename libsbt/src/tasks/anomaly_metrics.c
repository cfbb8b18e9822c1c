/* anomaly_metrics.c - thresholds (quantile, peaks-over-threshold) and detection metrics
 * (precision/recall/F1 with and without point adjustment, average precision).
 *
 * POT follows Siffer et al., "Anomaly Detection in Streams with Extreme Value Theory"
 * (KDD 2017) and their reference SPOT code, with three deliberate differences:
 *  - Grimshaw's equation is solved by scanning a dense grid for sign changes and bisecting,
 *    instead of a few L-BFGS starts: every root found is a true root.
 *  - The positive roots are searched on (0, 2(mean-min)/min^2], not on the reference code's
 *    (2(mean-min)/(mean*min), ...]: that lower bound lies above the root of heavy-tailed data
 *    (Pareto alpha=2 excesses: root ~0.14, bound ~1e3), so the reference never finds it.
 *  - The exponential (gamma = 0) log-likelihood is -n(1 + log mean); the reference code has
 *    +n(1 + log mean), which makes gamma = 0 win too often.
 * A method-of-moments estimate is the fallback candidate when no root beats it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/anomaly.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static sbt_status check_scores(const char *who, const double *scores, int64_t n) {
    if (!scores || n < 1) return sbt_fail(SBT_ERR_ARG, "%s: no scores", who);
    if ((uint64_t)n > SIZE_MAX / sizeof(double)) return sbt_fail(SBT_ERR_ARG, "%s: too many scores", who);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(scores[i]))
            return sbt_fail(SBT_ERR_NUMERIC, "%s: score %lld is %s", who, (long long)i,
                            isnan(scores[i]) ? "NaN" : "infinite");
    return SBT_OK;
}

/* A sorted copy of the scores (caller frees). */
static sbt_status sorted_copy(const char *who, const double *scores, int64_t n, double **out) {
    *out = NULL;
    sbt_status st = check_scores(who, scores, n);
    if (st != SBT_OK) return st;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory for %lld scores", who, (long long)n);
    memcpy(s, scores, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    *out = s;
    return SBT_OK;
}

sbt_status sbt_threshold_quantile(const double *scores, int64_t n, double q, double *threshold) {
    if (!(q >= 0.0 && q <= 1.0)) return sbt_fail(SBT_ERR_ARG, "quantile: q = %g is outside [0, 1]", q);
    double *s = NULL;
    sbt_status st = sorted_copy("quantile", scores, n, &s);
    if (st != SBT_OK) return st;
    double pos = q * (double)(n - 1);
    int64_t lo = (int64_t)floor(pos);
    if (lo >= n - 1) lo = n - 1;
    double frac = pos - (double)lo;
    *threshold = lo + 1 < n ? s[lo] + frac * (s[lo + 1] - s[lo]) : s[lo];
    free(s);
    return SBT_OK;
}

/* ---- GPD fit ------------------------------------------------------------------------- */

/* Log-likelihood of excesses y under GPD(gamma, sigma); -inf outside the support. */
static double gpd_loglik(const double *y, int64_t n, double gamma, double sigma) {
    if (!(sigma > 0.0) || !isfinite(gamma)) return -INFINITY;
    double sum = 0.0;
    if (gamma == 0.0) {
        for (int64_t i = 0; i < n; i++) sum += y[i];
        return -(double)n * log(sigma) - sum / sigma;
    }
    double tau = gamma / sigma;
    for (int64_t i = 0; i < n; i++) {
        if (!(1.0 + tau * y[i] > 0.0)) return -INFINITY;
        sum += log1p(tau * y[i]);
    }
    return -(double)n * log(sigma) - (1.0 + 1.0 / gamma) * sum;
}

/* Grimshaw's function w(t) = u(t) v(t) - 1 with u = 1 + mean log(1 + t y) and
 * v = mean 1/(1 + t y); a root t != 0 gives gamma = u(t) - 1 and sigma = gamma / t. */
static double grimshaw_w(const double *y, int64_t n, double t, double *gamma) {
    double lsum = 0.0, isum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        lsum += log1p(t * y[i]);
        isum += 1.0 / (1.0 + t * y[i]);
    }
    double u = 1.0 + lsum / (double)n, v = isum / (double)n;
    if (gamma) *gamma = u - 1.0;
    return u * v - 1.0;
}

typedef struct {
    const double *y;
    int64_t n;
    double best_ll, gamma, sigma;
    sbt_gpd_method method;
} gpd_search;

static void consider(gpd_search *g, double gamma, double sigma, sbt_gpd_method method) {
    double ll = gpd_loglik(g->y, g->n, gamma, sigma);
    if (ll > g->best_ll) {
        g->best_ll = ll;
        g->gamma = gamma;
        g->sigma = sigma;
        g->method = method;
    }
}

/* Bisection of a sign change of w between t0 and t1, then the root as a candidate. */
static void refine_root(gpd_search *g, double t0, double w0, double t1) {
    for (int it = 0; it < 200 && fabs(t1 - t0) > 1e-15 * fabs(t0); it++) {
        double tm = 0.5 * (t0 + t1), wm = grimshaw_w(g->y, g->n, tm, NULL);
        if ((wm < 0) == (w0 < 0)) {
            t0 = tm;
            w0 = wm;
        } else {
            t1 = tm;
        }
    }
    double t = 0.5 * (t0 + t1), gamma = 0.0;
    grimshaw_w(g->y, g->n, t, &gamma);
    if (gamma != 0.0) consider(g, gamma, gamma / t, SBT_GPD_GRIMSHAW);
}

/* Scans x = lo * (hi/lo)^(k/steps), k = 0..steps (lo, hi of one sign) for sign changes of
 * w at t = x, or at t = pole * (1 - x) when pole != 0: that grid is dense next to the pole
 * t = -1/max(y), where the roots of strongly bounded tails lie. */
static void scan(gpd_search *g, double lo, double hi, int steps, double pole) {
    double tp = 0.0, wp = 0.0;
    for (int k = 0; k <= steps; k++) {
        double x = lo * pow(hi / lo, (double)k / steps);
        double t = pole != 0.0 ? pole * (1.0 - x) : x;
        double w = grimshaw_w(g->y, g->n, t, NULL);
        if (!isfinite(w)) continue;
        if (w == 0.0)
            refine_root(g, t, w, t); /* a grid point is a root */
        else if (k > 0 && wp != 0.0 && (w < 0) != (wp < 0))
            refine_root(g, tp, wp, t);
        tp = t;
        wp = w;
    }
}

sbt_status sbt_gpd_fit(const double *y, int64_t n, sbt_pot_fit *fit) {
    sbt_status st = check_scores("gpd fit", y, n);
    if (st != SBT_OK) return st;
    double ymin = y[0], ymax = y[0], mean = 0.0, m2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (!(y[i] > 0.0))
            return sbt_fail(SBT_ERR_ARG, "gpd fit: excess %lld is %g, not positive", (long long)i, y[i]);
        ymin = y[i] < ymin ? y[i] : ymin;
        ymax = y[i] > ymax ? y[i] : ymax;
        mean += y[i];
    }
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) m2 += (y[i] - mean) * (y[i] - mean);
    gpd_search g = {y, n, -INFINITY, 0.0, mean, SBT_GPD_EXPONENTIAL};
    consider(&g, 0.0, mean, SBT_GPD_EXPONENTIAL); /* gamma = 0 is always a solution */
    double var = n > 1 ? m2 / (double)(n - 1) : 0.0;
    if (var > 0.0) {
        double r = mean * mean / var;
        consider(&g, 0.5 * (1.0 - r), 0.5 * mean * (r + 1.0), SBT_GPD_MOMENTS);
    }
    if (ymax > ymin) {
        /* Negative roots lie in (-1/ymax, 0), positive ones below 2(mean-min)/min^2 (Grimshaw);
         * grids are geometric so that roots at any scale are bracketed. The positive range is
         * capped at 30 decades, which only gives up shapes far beyond any real score tail. */
        double pole = -1.0 / ymax, lo = 1e-10 / ymax, hi = 2.0 * (mean - ymin) / (ymin * ymin);
        if (!(hi < lo * 1e30)) hi = lo * 1e30;
        scan(&g, -lo, 0.5 * pole, 120, 0.0); /* [pole/2, 0): dense near 0 */
        scan(&g, 0.5, 1e-12, 120, pole);     /* (pole, pole/2]: dense near the pole */
        if (hi > lo) scan(&g, lo, hi, 40 + (int)(8.0 * log10(hi / lo)), 0.0);
    }
    fit->gamma = g.gamma;
    fit->sigma = g.sigma;
    fit->log_likelihood = g.best_ll;
    fit->method = g.method;
    fit->n_peaks = n;
    return SBT_OK;
}

/* ---- POT ------------------------------------------------------------------------------ */

sbt_status sbt_pot_threshold(const double *calib, int64_t n, double risk, double level, double *threshold,
                             sbt_pot_fit *fit_out) {
    if (!(level > 0.0 && level < 1.0)) return sbt_fail(SBT_ERR_ARG, "pot: level %g is outside (0, 1)", level);
    if (!(risk > 0.0 && risk < 1.0)) return sbt_fail(SBT_ERR_ARG, "pot: risk %g is outside (0, 1)", risk);
    double *s = NULL;
    sbt_status st = sorted_copy("pot", calib, n, &s);
    if (st != SBT_OK) return st;
    int64_t k = (int64_t)(level * (double)n);
    if (k > n - 1) k = n - 1;
    double t = s[k];
    int64_t j = k;
    while (j < n && s[j] <= t) j++;
    int64_t nt = n - j;
    sbt_pot_fit fit = {.init_threshold = t, .n = n, .n_peaks = nt};
    if (fit_out) *fit_out = fit; /* what is known so far, also for a caller whose fit fails below */
    if (nt == 0) {
        free(s);
        return sbt_fail(SBT_ERR_ARG,
                        "pot: no calibration score above the initial threshold %g (level %g of %lld "
                        "scores); lower the level",
                        t, level, (long long)n);
    }
    double r = risk * (double)n / (double)nt;
    if (r >= 1.0) {
        free(s);
        return sbt_fail(SBT_ERR_ARG, "pot: risk %g is not below the fraction of peaks %lld/%lld = %g", risk,
                        (long long)nt, (long long)n, (double)nt / (double)n);
    }
    for (int64_t i = j; i < n; i++) s[i - j] = s[i] - t; /* the excesses, reusing s */
    st = sbt_gpd_fit(s, nt, &fit);
    free(s);
    if (st != SBT_OK) return st;
    /* expm1 keeps the gamma -> 0 limit (t - sigma log r) accurate for tiny gamma. */
    *threshold =
        fit.gamma != 0.0 ? t + fit.sigma / fit.gamma * expm1(-fit.gamma * log(r)) : t - fit.sigma * log(r);
    if (fit_out) *fit_out = fit;
    return SBT_OK;
}

/* ---- guarded POT ---------------------------------------------------------------------- */

const char *sbt_pot_fallback_name(sbt_pot_fallback f) {
    switch (f) {
    case SBT_POT_FITTED: return "none";
    case SBT_POT_FIT_FAILED: return "fit-failed";
    case SBT_POT_NOT_FINITE: return "not-finite";
    case SBT_POT_BEYOND_GUARD: return "beyond-guard";
    }
    return "unknown";
}

/* Which rule replaces the fitted threshold, if any (see sbt/anomaly.h). */
static sbt_pot_fallback pot_verdict(const sbt_pot_guarded *g) {
    if (!isfinite(g->fitted)) return SBT_POT_NOT_FINITE;
    double t = g->fit.init_threshold;
    if (g->fitted - t > SBT_POT_GUARD_FACTOR * (g->max_score - t)) return SBT_POT_BEYOND_GUARD;
    return SBT_POT_FITTED;
}

sbt_status sbt_pot_threshold_guarded(const double *calib, int64_t n, double risk, double level,
                                     sbt_pot_guarded *out) {
    memset(out, 0, sizeof *out);
    out->fitted = NAN;
    /* What the caller got wrong stays an error; only what the data does to the fit falls back. */
    if (!(level > 0.0 && level < 1.0)) return sbt_fail(SBT_ERR_ARG, "pot: level %g is outside (0, 1)", level);
    if (!(risk > 0.0 && risk < 1.0)) return sbt_fail(SBT_ERR_ARG, "pot: risk %g is outside (0, 1)", risk);
    sbt_status st = check_scores("pot", calib, n);
    if (st != SBT_OK) return st;
    out->max_score = calib[0];
    for (int64_t i = 1; i < n; i++) out->max_score = calib[i] > out->max_score ? calib[i] : out->max_score;
    double z = NAN;
    st = sbt_pot_threshold(calib, n, risk, level, &z, &out->fit);
    if (st == SBT_ERR_NOMEM) return st;
    if (st != SBT_OK) {
        out->fallback = SBT_POT_FIT_FAILED;
        snprintf(out->reason, sizeof out->reason, "%s", sbt_last_error());
    } else {
        out->fitted = z;
        out->fallback = pot_verdict(out);
    }
    if (out->fallback == SBT_POT_FITTED) {
        out->threshold = z;
        return SBT_OK;
    }
    return sbt_threshold_quantile(calib, n, 1.0 - risk, &out->threshold);
}

/* ---- detection metrics ------------------------------------------------------------------ */

void sbt_point_adjust(const uint8_t *pred, const uint8_t *labels, int64_t n, uint8_t *adjusted) {
    for (int64_t i = 0; i < n;) {
        if (!labels[i]) {
            adjusted[i] = pred[i] != 0;
            i++;
            continue;
        }
        int64_t end = i;
        int hit = 0;
        while (end < n && labels[end]) hit |= pred[end++] != 0;
        for (; i < end; i++) adjusted[i] = (uint8_t)hit;
    }
}

static void finish_counts(sbt_detection *d) {
    d->precision = d->tp + d->fp ? (double)d->tp / (double)(d->tp + d->fp) : 0.0;
    d->recall = d->tp + d->fn ? (double)d->tp / (double)(d->tp + d->fn) : 0.0;
    double s = d->precision + d->recall;
    d->f1 = s > 0.0 ? 2.0 * d->precision * d->recall / s : 0.0;
}

sbt_status sbt_detection_from_predictions(const uint8_t *pred, const uint8_t *labels, int64_t n,
                                          int point_adjust, sbt_detection *out) {
    memset(out, 0, sizeof *out);
    if (!pred || !labels || n < 1) return sbt_fail(SBT_ERR_ARG, "detection: no predictions or labels");
    uint8_t *adj = NULL;
    if (point_adjust) {
        if (!(adj = malloc((size_t)n))) return sbt_fail(SBT_ERR_NOMEM, "detection: out of memory");
        sbt_point_adjust(pred, labels, n, adj);
        pred = adj;
    }
    for (int64_t i = 0; i < n; i++) {
        int p = pred[i] != 0, y = labels[i] != 0;
        out->tp += p && y;
        out->fp += p && !y;
        out->fn += !p && y;
        out->tn += !p && !y;
    }
    free(adj);
    finish_counts(out);
    return SBT_OK;
}

sbt_status sbt_detection_eval(const double *scores, const uint8_t *labels, int64_t n, double threshold,
                              int point_adjust, sbt_detection *out) {
    memset(out, 0, sizeof *out);
    sbt_status st = check_scores("detection", scores, n);
    if (st != SBT_OK) return st;
    if (!labels) return sbt_fail(SBT_ERR_ARG, "detection: no labels");
    uint8_t *pred = malloc((size_t)n);
    if (!pred) return sbt_fail(SBT_ERR_NOMEM, "detection: out of memory");
    for (int64_t i = 0; i < n; i++) pred[i] = scores[i] > threshold;
    st = sbt_detection_from_predictions(pred, labels, n, point_adjust, out);
    free(pred);
    return st;
}

sbt_status sbt_detection_eval_pooled(const double *scores, const uint8_t *labels, const int64_t *starts,
                                     int count, double threshold, int point_adjust, sbt_detection *out) {
    memset(out, 0, sizeof *out);
    if (!starts || count < 1 || starts[0] != 0)
        return sbt_fail(SBT_ERR_ARG, "detection: entity offsets must start at 0 (%d entities)", count);
    for (int k = 0; k < count; k++) {
        if (starts[k + 1] <= starts[k])
            return sbt_fail(SBT_ERR_ARG, "detection: entity %d has no steps [%lld, %lld)", k,
                            (long long)starts[k], (long long)starts[k + 1]);
        sbt_detection one;
        int64_t a = starts[k], len = starts[k + 1] - a;
        sbt_status st =
            sbt_detection_eval(scores + a, labels ? labels + a : NULL, len, threshold, point_adjust, &one);
        if (st != SBT_OK) return st;
        out->tp += one.tp;
        out->fp += one.fp;
        out->fn += one.fn;
        out->tn += one.tn;
    }
    finish_counts(out);
    return SBT_OK;
}

/* ---- average precision ---------------------------------------------------------------------- */

typedef struct {
    double s;
    int y;
} scored;

static int cmp_scored_desc(const void *a, const void *b) {
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

sbt_status sbt_auc_pr(const double *scores, const uint8_t *labels, int64_t n, double *ap) {
    *ap = 0.0;
    sbt_status st = check_scores("auc-pr", scores, n);
    if (st != SBT_OK) return st;
    if (!labels) return sbt_fail(SBT_ERR_ARG, "auc-pr: no labels");
    if ((uint64_t)n > SIZE_MAX / sizeof(scored)) return sbt_fail(SBT_ERR_ARG, "auc-pr: too many scores");
    scored *v = malloc((size_t)n * sizeof *v);
    if (!v) return sbt_fail(SBT_ERR_NOMEM, "auc-pr: out of memory for %lld scores", (long long)n);
    int64_t pos = 0;
    for (int64_t i = 0; i < n; i++) {
        v[i].s = scores[i];
        v[i].y = labels[i] != 0;
        pos += v[i].y;
    }
    if (pos == 0) {
        free(v);
        return sbt_fail(SBT_ERR_ARG, "auc-pr: no positive label among %lld steps", (long long)n);
    }
    qsort(v, (size_t)n, sizeof *v, cmp_scored_desc);
    int64_t tp = 0, fp = 0;
    double sum = 0.0, prev_recall = 0.0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        for (; j < n && v[j].s == v[i].s; j++) { /* a group of equal scores is one threshold */
            tp += v[j].y;
            fp += !v[j].y;
        }
        double recall = (double)tp / (double)pos;
        sum += (recall - prev_recall) * (double)tp / (double)(tp + fp);
        prev_recall = recall;
        i = j;
    }
    free(v);
    *ap = sum;
    return SBT_OK;
}
