/* Anomaly detection support: POT thresholds on distributions with a known tail, F1 with and
 * without point adjustment and AUC-PR on hand-worked examples, the .npy reader on files
 * written byte by byte (good and broken), the SMD text format and NASA label CSV on small
 * files, and the real SMD machine-1-6 and NASA MSL/SMAP data. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "sbt/anomaly.h"
#include "sbt/rng.h"

static char tmp_dir[64];
static char created[64][256]; /* files and directories to remove at the end, in order */
static int n_created;

/* tmp_dir/name in a rotating static buffer. */
static const char *tmp_path(const char *name) {
    static char paths[4][256];
    static int slot;
    char *p = paths[slot++ % 4];
    snprintf(p, 256, "%s/%s", tmp_dir, name);
    return p;
}

static void remember(const char *path) {
    for (int i = 0; i < n_created; i++)
        if (strcmp(created[i], path) == 0) return;
    if (n_created < 64) snprintf(created[n_created++], 256, "%s", path);
}

static void make_dir(const char *name) {
    const char *p = tmp_path(name);
    mkdir(p, 0700);
    remember(p);
}

/* Writes n bytes to tmp_dir/name, gzip-compressed when the name ends in ".gz". */
static const char *write_bytes(const char *name, const void *data, size_t n) {
    const char *p = tmp_path(name);
    remember(p);
    size_t len = strlen(name);
    if (len > 3 && strcmp(name + len - 3, ".gz") == 0) {
        gzFile g = gzopen(p, "wb");
        if (g) {
            gzwrite(g, data, (unsigned)n);
            gzclose(g);
        }
        return p;
    }
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
    return p;
}

static const char *write_text(const char *name, const char *text) {
    return write_bytes(name, text, strlen(text));
}

/* A .npy file: magic, version, header length (2 bytes for v1, 4 for v2/v3), `dict` padded
 * with spaces and '\n' to a multiple of 64 as NumPy does, then `nbytes` of data. */
static const char *write_npy(const char *name, int version, const char *dict, const void *data,
                             size_t nbytes) {
    static unsigned char buf[4096];
    size_t pre = version == 1 ? 10 : 12, hlen = strlen(dict) + 1;
    while ((pre + hlen) % 64) hlen++;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)version;
    buf[7] = 0;
    for (size_t k = 0; k < pre - 8; k++) buf[8 + k] = (unsigned char)(hlen >> (8 * k));
    memset(buf + pre, ' ', hlen);
    memcpy(buf + pre, dict, strlen(dict));
    buf[pre + hlen - 1] = '\n';
    memcpy(buf + pre + hlen, data, nbytes);
    return write_bytes(name, buf, pre + hlen + nbytes);
}

static const char *data_path(const char *rel) {
    static char p[4][1024];
    static int slot;
    char *s = p[slot++ % 4];
    snprintf(s, 1024, "%s/%s", check_data_dir(), rel);
    return s;
}

/* Uniform in (0, 1) with 53 random bits (never 0, so logs and powers stay finite). */
static double uniform53(sbt_rng *r) { return ((double)(sbt_rng_next(r) >> 11) + 0.5) * 0x1p-53; }

/* ---- POT ----------------------------------------------------------------------------- */

enum { N_SAMPLES = 100000 };
static double samples[N_SAMPLES];

/* Exp(1): the excesses over any threshold are Exp(1) again, a GPD with gamma = 0, sigma = 1,
 * and the exact quantile at tail probability q is -log(q) (6.9078 for q = 1e-3). */
static void test_pot_exponential(void) {
    sbt_rng r;
    sbt_rng_seed(&r, 7);
    for (int i = 0; i < N_SAMPLES; i++) samples[i] = -log(uniform53(&r));
    double thr = 0.0;
    sbt_pot_fit fit;
    sbt_status st = sbt_pot_threshold(samples, N_SAMPLES, 1e-3, 0.98, &thr, &fit);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    /* 2000 peaks: standard errors ~0.03 for gamma and ~2% for sigma. */
    CHECK(fit.n == N_SAMPLES && fit.n_peaks >= 1990 && fit.n_peaks <= 2000);
    CHECK_NEAR(fit.init_threshold, log(50.0), 0.1);
    CHECK_NEAR(fit.gamma, 0.0, 0.07);
    CHECK_NEAR(fit.sigma, 1.0, 0.08);
    CHECK_NEAR(thr, -log(1e-3), 0.03 * -log(1e-3));
    /* Ten times further out than the data reach (1e-5 * 1e5 = 1 expected sample). */
    st = sbt_pot_threshold(samples, N_SAMPLES, 1e-5, 0.98, &thr, NULL);
    CHECK(st == SBT_OK);
    CHECK_NEAR(thr, -log(1e-5), 0.1 * -log(1e-5));
}

/* Pareto(alpha = 2): P(X > x) = x^-2. Excesses over t are GPD with gamma = 1/alpha = 0.5 and
 * sigma = t/2; the exact quantile at q is q^-0.5 (31.62 for q = 1e-3). */
static void test_pot_pareto(void) {
    sbt_rng r;
    sbt_rng_seed(&r, 11);
    for (int i = 0; i < N_SAMPLES; i++) samples[i] = pow(uniform53(&r), -0.5);
    double thr = 0.0;
    sbt_pot_fit fit;
    sbt_status st = sbt_pot_threshold(samples, N_SAMPLES, 1e-3, 0.98, &thr, &fit);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    CHECK(fit.method == SBT_GPD_GRIMSHAW);
    CHECK_NEAR(fit.gamma, 0.5, 0.1); /* standard error ~0.034 */
    CHECK_NEAR(fit.sigma / fit.init_threshold, 0.5, 0.05);
    /* Extrapolating 20x past the initial threshold: +-0.1 in gamma is +-30%; 15% is ~1.5 SE. */
    CHECK_NEAR(thr, pow(1e-3, -0.5), 0.15 * pow(1e-3, -0.5));
}

/* X = 1 - sqrt(U): P(X > x) = (1 - x)^2 on [0, 1], a bounded tail. Excesses over t are GPD
 * with gamma = -0.5 and sigma = (1 - t)/2; the quantile at q is 1 - sqrt(q) (0.99 for 1e-4). */
static void test_pot_bounded(void) {
    sbt_rng r;
    sbt_rng_seed(&r, 13);
    for (int i = 0; i < N_SAMPLES; i++) samples[i] = 1.0 - sqrt(uniform53(&r));
    double thr = 0.0;
    sbt_pot_fit fit;
    sbt_status st = sbt_pot_threshold(samples, N_SAMPLES, 1e-4, 0.98, &thr, &fit);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    CHECK(fit.method == SBT_GPD_GRIMSHAW);
    CHECK_NEAR(fit.gamma, -0.5, 0.1);
    CHECK_NEAR(thr, 0.99, 0.005);
    CHECK(thr < 1.0 + 1e-3); /* the fitted endpoint t + sigma/|gamma| stays near 1 */
}

static double gpd_loglik(const double *y, int n, double g, double s) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        double z = 1.0 + g / s * y[i];
        if (z <= 0.0) return -INFINITY;
        sum += log(z);
    }
    return -n * log(s) - (1.0 + 1.0 / g) * sum;
}

/* On GPD samples (inverse CDF y = (u^-g - 1) / g, sigma 1) the fit is the likelihood maximum:
 * every nearby (gamma, sigma) is less likely. */
static void test_gpd_fit_is_mle(void) {
    static const double shapes[3] = {0.3, -0.3, 1.0};
    double y[500];
    for (int k = 0; k < 3; k++) {
        sbt_rng r;
        sbt_rng_seed(&r, 100 + (uint64_t)k);
        for (int i = 0; i < 500; i++) y[i] = (pow(uniform53(&r), -shapes[k]) - 1.0) / shapes[k];
        sbt_pot_fit f;
        CHECK(sbt_gpd_fit(y, 500, &f) == SBT_OK && f.method == SBT_GPD_GRIMSHAW && f.n_peaks == 500);
        CHECK_NEAR(f.gamma, shapes[k], 0.15);
        CHECK_NEAR(f.sigma, 1.0, 0.2);
        double ll = gpd_loglik(y, 500, f.gamma, f.sigma);
        CHECK_NEAR(ll, f.log_likelihood, 1e-6 * fabs(ll));
        for (int d = 0; d < 4; d++) {
            double g = f.gamma + (d == 0 ? 0.01 : d == 1 ? -0.01 : 0.0);
            double s = f.sigma * (d == 2 ? 1.01 : d == 3 ? 0.99 : 1.0);
            CHECK_MSG(gpd_loglik(y, 500, g, s) < ll, "shape %g, step %d", shapes[k], d);
        }
    }
}

static void test_pot_small_and_errors(void) {
    double v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, thr = 0.0;
    sbt_pot_fit fit;
    /* level 0.95 of 10: t = sorted[9] = 10, nothing above it. */
    CHECK(sbt_pot_threshold(v, 10, 1e-3, 0.95, &thr, &fit) == SBT_ERR_ARG);
    CHECK(strstr(sbt_last_error(), "lower the level") != NULL);
    /* level 0.8: t = sorted[8] = 9, one peak (excess 1): the exponential fit, sigma = 1,
     * z = 9 - log(0.01 * 10 / 1) = 9 + log(10). */
    CHECK(sbt_pot_threshold(v, 10, 0.01, 0.8, &thr, &fit) == SBT_OK);
    CHECK(fit.n_peaks == 1 && fit.method == SBT_GPD_EXPONENTIAL && fit.gamma == 0.0);
    CHECK_NEAR(thr, 9.0 + log(10.0), 1e-12);
    CHECK(sbt_pot_threshold(v, 10, 0.5, 0.8, &thr, NULL) == SBT_ERR_ARG); /* risk 0.5 >= N_t/n */
    CHECK(sbt_pot_threshold(v, 10, 0.0, 0.8, &thr, NULL) == SBT_ERR_ARG);
    CHECK(sbt_pot_threshold(v, 10, 0.01, 1.0, &thr, NULL) == SBT_ERR_ARG);
    CHECK(sbt_pot_threshold(v, 0, 0.01, 0.5, &thr, NULL) == SBT_ERR_ARG);
    v[3] = NAN;
    CHECK(sbt_pot_threshold(v, 10, 0.01, 0.8, &thr, NULL) == SBT_ERR_NUMERIC);
    CHECK(strstr(sbt_last_error(), "score 3 is NaN") != NULL);
    double ex[3] = {1.0, -1.0, 2.0};
    CHECK(sbt_gpd_fit(ex, 3, &fit) == SBT_ERR_ARG);
}

static void test_quantile(void) {
    double v[5] = {5, 1, 4, 2, 3}, t = 0.0;
    CHECK(sbt_threshold_quantile(v, 5, 0.5, &t) == SBT_OK && t == 3.0);
    CHECK(sbt_threshold_quantile(v, 5, 0.0, &t) == SBT_OK && t == 1.0);
    CHECK(sbt_threshold_quantile(v, 5, 1.0, &t) == SBT_OK && t == 5.0);
    /* NumPy: position 0.9 * 4 = 3.6 -> 4 + 0.6 * (5 - 4) = 4.6 */
    CHECK(sbt_threshold_quantile(v, 5, 0.9, &t) == SBT_OK);
    CHECK_NEAR(t, 4.6, 1e-12);
    CHECK(sbt_threshold_quantile(v, 1, 0.3, &t) == SBT_OK && t == 5.0);
    CHECK(sbt_threshold_quantile(v, 5, 1.5, &t) == SBT_ERR_ARG);
    CHECK(v[0] == 5 && v[1] == 1); /* input untouched */
}

/* ---- detection metrics --------------------------------------------------------------------- */

static void test_f1_point_adjust(void) {
    /* steps        0  1  2  3  4  5  6  7  8  9
     * label        0  1  1  1  0  0  1  1  0  0    segments [1,3] and [6,7]
     * score > 0.5  0  0  1  0  0  1  0  0  0  1    (step 3 scores exactly 0.5: normal)
     * Raw: TP = {2}, FP = {5, 9}, FN = {1, 3, 6, 7}, TN = {0, 4, 8}
     *      P = 1/3, R = 1/5, F1 = 2 PR / (P + R) = (2/15) / (8/15) = 0.25
     * Adjusted: segment [1,3] is hit at 2 -> TP = {1, 2, 3}; [6,7] is missed -> FN = {6, 7};
     *      FP, TN unchanged: P = 3/5, R = 3/5, F1 = 0.6 */
    const uint8_t label[10] = {0, 1, 1, 1, 0, 0, 1, 1, 0, 0};
    const double score[10] = {0.1, 0.2, 0.9, 0.5, 0.0, 0.7, 0.3, 0.4, 0.2, 0.6};
    sbt_detection d;
    CHECK(sbt_detection_eval(score, label, 10, 0.5, 0, &d) == SBT_OK);
    CHECK(d.tp == 1 && d.fp == 2 && d.fn == 4 && d.tn == 3);
    CHECK_NEAR(d.precision, 1.0 / 3.0, 1e-12);
    CHECK_NEAR(d.recall, 0.2, 1e-12);
    CHECK_NEAR(d.f1, 0.25, 1e-12);
    CHECK(sbt_detection_eval(score, label, 10, 0.5, 1, &d) == SBT_OK);
    CHECK(d.tp == 3 && d.fp == 2 && d.fn == 2 && d.tn == 3);
    CHECK_NEAR(d.precision, 0.6, 1e-12);
    CHECK_NEAR(d.recall, 0.6, 1e-12);
    CHECK_NEAR(d.f1, 0.6, 1e-12);

    /* A segment at the very end, hit at its last step: 0 0 1 1 / pred 0 0 0 1 -> both TP. */
    const uint8_t l2[4] = {0, 0, 1, 1}, p2[4] = {0, 0, 0, 1};
    uint8_t adj[4];
    sbt_point_adjust(p2, l2, 4, adj);
    CHECK(adj[0] == 0 && adj[1] == 0 && adj[2] == 1 && adj[3] == 1);
    CHECK(sbt_detection_from_predictions(p2, l2, 4, 1, &d) == SBT_OK && d.tp == 2 && d.f1 == 1.0);
    CHECK(sbt_detection_from_predictions(p2, l2, 4, 0, &d) == SBT_OK && d.tp == 1 && d.fn == 1);
    CHECK_NEAR(d.f1, 2.0 / 3.0, 1e-12); /* P = 1, R = 1/2 */
    /* Nothing predicted: precision, recall and F1 are 0 by definition, not NaN. */
    const uint8_t none[4] = {0, 0, 0, 0};
    CHECK(sbt_detection_from_predictions(none, l2, 4, 1, &d) == SBT_OK);
    CHECK(d.tp == 0 && d.fn == 2 && d.precision == 0.0 && d.recall == 0.0 && d.f1 == 0.0);
    const double bad[2] = {0.0, NAN};
    CHECK(sbt_detection_eval(bad, l2, 2, 0.5, 0, &d) == SBT_ERR_NUMERIC);
}

static void test_auc_pr(void) {
    /* Ranked 0.9+ 0.8- 0.7+ 0.6- 0.5-: positives found at ranks 1 (P = 1) and 3 (P = 2/3),
     * each adding recall 1/2: AP = 0.5 * 1 + 0.5 * 2/3 = 5/6. */
    const double s1[5] = {0.9, 0.8, 0.7, 0.6, 0.5};
    const uint8_t y1[5] = {1, 0, 1, 0, 0};
    double ap = 0.0;
    CHECK(sbt_auc_pr(s1, y1, 5, &ap) == SBT_OK);
    CHECK_NEAR(ap, 5.0 / 6.0, 1e-12);
    /* Ties: 0.9- | 0.5+ 0.5- | 0.1+. Thresholds: >= 0.9: R 0; >= 0.5: R 1/2, P 1/3;
     * >= 0.1: R 1, P 1/2. AP = 1/2 * 1/3 + 1/2 * 1/2 = 5/12, whatever the order of the tie. */
    const double s2[4] = {0.9, 0.5, 0.5, 0.1}, s3[4] = {0.5, 0.1, 0.9, 0.5};
    const uint8_t y2[4] = {0, 1, 0, 1}, y3[4] = {0, 1, 0, 1};
    CHECK(sbt_auc_pr(s2, y2, 4, &ap) == SBT_OK);
    CHECK_NEAR(ap, 5.0 / 12.0, 1e-12);
    CHECK(sbt_auc_pr(s3, y3, 4, &ap) == SBT_OK);
    CHECK_NEAR(ap, 5.0 / 12.0, 1e-12);
    /* Perfect ranking -> 1. Inverted (10 steps, the 2 positives lowest): positives found at
     * ranks 9 and 10: AP = 1/2 * 1/9 + 1/2 * 2/10 = 0.155556. All scores equal -> prevalence. */
    double s4[10], s5[10];
    uint8_t y4[10] = {0};
    for (int i = 0; i < 10; i++) {
        s4[i] = i;
        s5[i] = 1.0;
    }
    y4[8] = y4[9] = 1;
    CHECK(sbt_auc_pr(s4, y4, 10, &ap) == SBT_OK && ap == 1.0);
    for (int i = 0; i < 10; i++) s4[i] = -i;
    CHECK(sbt_auc_pr(s4, y4, 10, &ap) == SBT_OK);
    CHECK_NEAR(ap, 0.5 / 9.0 + 0.5 * 0.2, 1e-12);
    CHECK(sbt_auc_pr(s5, y4, 10, &ap) == SBT_OK);
    CHECK_NEAR(ap, 0.2, 1e-12);
    const uint8_t zero[3] = {0, 0, 0};
    CHECK(sbt_auc_pr(s1, zero, 3, &ap) == SBT_ERR_ARG);
}

/* ---- .npy ------------------------------------------------------------------------------------ */

static void test_npy_good(void) {
    const float f4[6] = {1.5f, -2.0f, 3.25f, 4.0f, 5.0f, -6.5f};
    sbt_series *s = NULL;
    const char *p =
        write_npy("a.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", f4, 24);
    CHECK_MSG(sbt_npy_read(p, 0, &s) == SBT_OK, "%s", sbt_last_error());
    REQUIRE(s);
    CHECK(s->steps == 3 && s->channels == 2 && !s->label && !s->channel_names);
    CHECK(s->x[0] == 1.5f && s->x[3] == 4.0f && s->x[5] == -6.5f);
    sbt_series_free(s);
    /* v2 header (4-byte length), float64, 1-d, double quotes and no trailing comma. */
    const double f8[4] = {0.5, 1e30, -3.0, 7.0};
    p = write_npy("b.npy", 2, "{\"shape\": (4,), \"fortran_order\": False, \"descr\": \"<f8\"}", f8, 32);
    CHECK_MSG(sbt_npy_read(p, 0, &s) == SBT_OK, "%s", sbt_last_error());
    REQUIRE(s);
    CHECK(s->steps == 4 && s->channels == 1 && s->x[1] == 1e30f && s->x[3] == 7.0f);
    sbt_series_free(s);
    /* v3, int64, gzip-compressed. */
    const int64_t i8[4] = {-1, 2, 1 << 20, 0};
    p = write_npy("c.npy.gz", 3, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", i8, 32);
    CHECK_MSG(sbt_npy_read(p, 0, &s) == SBT_OK, "%s", sbt_last_error());
    REQUIRE(s);
    CHECK(s->steps == 2 && s->x[0] == -1.0f && s->x[2] == 1048576.0f);
    sbt_series_free(s);
    const int32_t i4[2] = {-7, 9};
    const uint8_t u1[3] = {0, 200, 1};
    p = write_npy("d.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }", i4, 8);
    CHECK(sbt_npy_read(p, 0, &s) == SBT_OK && s->x[0] == -7.0f && s->x[1] == 9.0f);
    sbt_series_free(s);
    p = write_npy("e.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", u1, 3);
    CHECK(sbt_npy_read(p, 0, &s) == SBT_OK && s->x[1] == 200.0f);
    sbt_series_free(s);
    p = write_npy("f.npy", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2L,), }", u1 + 1, 2);
    CHECK(sbt_npy_read(p, 0, &s) == SBT_ERR_FORMAT); /* 200 is not a boolean */
    CHECK(strstr(sbt_last_error(), "boolean value 200 at index 0") != NULL);
    p = write_npy("f.npy", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2L,), }", u1 + 1 + 1, 1);
    CHECK(sbt_npy_read(p, 0, &s) == SBT_ERR_FORMAT); /* one value for a shape of two */
}

/* Every broken file fails with the expected status and a message naming the problem. */
static void test_npy_bad(void) {
    static const float f4[4] = {1, 2, NAN, 4};
    static const float inf4[2] = {1, INFINITY};
    static const struct {
        const char *dict;
        const void *data;
        size_t nbytes;
        sbt_status st;
        const char *msg;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f4, 16, SBT_ERR_FORMAT,
         "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f4, 12, SBT_ERR_FORMAT,
         "shape (2, 2) needs 16 bytes of data, the file holds 12"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", f4, 12, SBT_ERR_FORMAT,
         "needs 8 bytes of data, the file holds 12"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f4, 16, SBT_ERR_NUMERIC,
         "NaN at index 2"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", inf4, 8, SBT_ERR_NUMERIC,
         "infinity at index 1 (step 0, channel 1)"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", f4, 16, SBT_ERR_FORMAT, "dtype '>f4'"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", f4, 16, SBT_ERR_FORMAT,
         "unsupported dtype"},
        {"{'descr': '<f4', 'shape': (4,), }", f4, 16, SBT_ERR_FORMAT, "no 'fortran_order' key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", f4, 16, SBT_ERR_FORMAT,
         "unknown key"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", f4, 16, SBT_ERR_FORMAT,
         "repeated"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), }", f4, 16, SBT_ERR_FORMAT,
         "1-d and 2-d"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f4, 16, SBT_ERR_FORMAT, "0-d"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", f4, 0, SBT_ERR_FORMAT, "empty"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", f4, 16,
         SBT_ERR_FORMAT, "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", f4, 16,
         SBT_ERR_FORMAT, "overflows"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,), }", f4, 16, SBT_ERR_FORMAT, "neither True"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } x", f4, 16, SBT_ERR_FORMAT,
         "after the dict"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (4,)}", f4, 16, SBT_ERR_FORMAT, "expected ','"},
        {"['descr', '<f4']", f4, 16, SBT_ERR_FORMAT, "does not start with '{'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sbt_series *s = NULL;
        const char *p = write_npy("bad.npy", 1, cases[k].dict, cases[k].data, cases[k].nbytes);
        sbt_status st = sbt_npy_read(p, 0, &s);
        CHECK_MSG(st == cases[k].st && !s, "case %zu: status %d", k, (int)st);
        CHECK_MSG(strstr(sbt_last_error(), cases[k].msg) && strstr(sbt_last_error(), "bad.npy"),
                  "case %zu: '%s' lacks '%s'", k, sbt_last_error(), cases[k].msg);
    }
    /* NaN is accepted on request. */
    sbt_series *s = NULL;
    const char *p = write_npy("nan.npy", 1, cases[3].dict, f4, 16);
    CHECK(sbt_npy_read(p, SBT_NPY_ALLOW_NONFINITE, &s) == SBT_OK && s && isnan(s->x[2]));
    sbt_series_free(s);
    /* Broken preambles. */
    p = write_bytes("magic.npy", "\x93NUMPZ\x01\x00\x10\x00", 10);
    CHECK(sbt_npy_read(p, 0, &s) == SBT_ERR_FORMAT && strstr(sbt_last_error(), "bad magic"));
    p = write_bytes("version.npy", "\x93NUMPY\x04\x00\x10\x00", 10);
    CHECK(sbt_npy_read(p, 0, &s) == SBT_ERR_FORMAT && strstr(sbt_last_error(), "version 4.0"));
    p = write_bytes("short.npy", "\x93NUMPY\x01\x00\x40\x00{'descr'", 17);
    CHECK(sbt_npy_read(p, 0, &s) == SBT_ERR_FORMAT && strstr(sbt_last_error(), "truncated .npy header"));
    p = write_bytes("tiny.npy", "\x93NUMPY\x02\x00\x40", 9);
    CHECK(sbt_npy_read(p, 0, &s) == SBT_ERR_FORMAT && strstr(sbt_last_error(), "truncated .npy preamble"));
    CHECK(sbt_npy_read(tmp_path("absent.npy"), 0, &s) == SBT_ERR_IO && !s);
}

/* ---- series utilities -------------------------------------------------------------------------- */

static void test_series_concat_and_table(void) {
    sbt_series *a = NULL, *b = NULL, *c = NULL, *out = NULL;
    REQUIRE(sbt_series_new(3, 2, 1, &a) == SBT_OK);
    REQUIRE(sbt_series_new(2, 2, 1, &b) == SBT_OK);
    REQUIRE(sbt_series_new(2, 3, 0, &c) == SBT_OK);
    for (int i = 0; i < 6; i++) a->x[i] = (float)i;
    for (int i = 0; i < 4; i++) b->x[i] = (float)(10 + i);
    a->label[2] = 1;
    b->label[0] = 1;
    const sbt_series *parts[3] = {a, b, c};
    int64_t starts[3];
    CHECK(sbt_series_concat(parts, 2, starts, &out) == SBT_OK);
    if (out) {
        CHECK(out->steps == 5 && out->channels == 2 && starts[0] == 0 && starts[1] == 3 && starts[2] == 5);
        CHECK(out->x[5] == 5.0f && out->x[6] == 10.0f && out->label[2] == 1 && out->label[3] == 1 &&
              out->label[4] == 0);
    }
    sbt_series_free(out);
    CHECK(sbt_series_concat(parts, 3, NULL, &out) == SBT_ERR_SHAPE && !out);
    free(b->label);
    b->label = NULL;
    CHECK(sbt_series_concat(parts, 2, NULL, &out) == SBT_ERR_ARG && strstr(sbt_last_error(), "labels"));
    sbt_series_free(a);
    sbt_series_free(b);
    sbt_series_free(c);

    sbt_table *t = NULL;
    const char *p = write_text("lab.csv", "date,a,b,is_anomaly\n1,0.5,1,0\n2,,2,1\n3,1.5,3,0\n");
    REQUIRE(sbt_csv_read_flags(p, "date", SBT_CSV_FILL_LINEAR, &t) == SBT_OK);
    CHECK(sbt_series_from_table(t, "is_anomaly", &out) == SBT_OK);
    if (out) {
        CHECK(out->steps == 3 && out->channels == 2 && strcmp(out->channel_names[1], "b") == 0);
        CHECK(out->x[2] == 1.0f && out->x[5] == 3.0f); /* the empty cell was interpolated */
        CHECK(out->label[0] == 0 && out->label[1] == 1 && out->label[2] == 0);
    }
    sbt_series_free(out);
    CHECK(sbt_series_from_table(t, "nope", &out) == SBT_ERR_ARG);
    CHECK(sbt_series_from_table(t, NULL, &out) == SBT_OK && out && out->channels == 3 && !out->label);
    sbt_series_free(out);
    CHECK(sbt_series_from_table(t, "b", &out) == SBT_ERR_PARSE && strstr(sbt_last_error(), "data row 2"));
    sbt_table_free(t);
}

/* ---- SMD and NASA on small files ------------------------------------------------------------------- */

static void test_smd_text_format(void) {
    make_dir("smd");
    make_dir("smd/train");
    make_dir("smd/test");
    make_dir("smd/test_label");
    write_text("smd/train/machine-1-2.txt", "1,2,3\n4,5,6\n");
    write_text("smd/test/machine-1-2.txt.gz", "7,8,9\r\n10,11,12\r\n13,14,15\r\n");
    write_text("smd/test_label/machine-1-2.txt", "0\n1\n1\n");
    write_text("smd/test_label/machine-1-10.txt", "0\n");
    write_text("smd/train/machine-1-10.txt", "1,2,3\n");
    write_text("smd/test_label/machine-1-3.txt", "0\n");
    sbt_series *tr = NULL, *te = NULL;
    CHECK_MSG(sbt_smd_read(tmp_path("smd"), "machine-1-2", &tr, &te) == SBT_OK, "%s", sbt_last_error());
    if (tr && te) {
        CHECK(tr->steps == 2 && tr->channels == 3 && !tr->label && tr->x[5] == 6.0f);
        CHECK(te->steps == 3 && te->x[8] == 15.0f && te->label[0] == 0 && te->label[2] == 1);
    }
    sbt_series_free(tr);
    sbt_series_free(te);
    sbt_entity_list *l = NULL;
    CHECK(sbt_smd_list(tmp_path("smd"), &l) == SBT_OK);
    if (l) {
        CHECK(l->count == 1 && strcmp(l->names[0], "machine-1-2") == 0);
        /* natural order: 1-3 before 1-10 */
        CHECK(l->n_skipped == 2 && strcmp(l->skipped[0], "machine-1-3: no train array") == 0 &&
              strcmp(l->skipped[1], "machine-1-10: no test array") == 0);
    }
    sbt_entity_list_free(l);
    write_text("smd/test_label/machine-1-2.txt", "0\n1\n");
    CHECK(sbt_smd_read(tmp_path("smd"), "machine-1-2", &tr, &te) == SBT_ERR_PARSE && !tr && !te);
    CHECK(strstr(sbt_last_error(), "2 labels for 3 test steps") != NULL);
    write_text("smd/test_label/machine-1-2.txt", "0\n1\n2\n");
    CHECK(sbt_smd_read(tmp_path("smd"), "machine-1-2", &tr, &te) == SBT_ERR_PARSE);
    CHECK(strstr(sbt_last_error(), "not 0 or 1") != NULL);
    write_text("smd/train/machine-1-2.txt", "1,2,3\n4,x,6\n");
    CHECK(sbt_smd_read(tmp_path("smd"), "machine-1-2", &tr, &te) == SBT_ERR_PARSE);
    CHECK(strstr(sbt_last_error(), "machine-1-2.txt:2: field 2") != NULL);
    write_text("smd/train/machine-1-2.txt", "1,2,3\n4,5\n");
    CHECK(sbt_smd_read(tmp_path("smd"), "machine-1-2", &tr, &te) == SBT_ERR_PARSE);
    CHECK(strstr(sbt_last_error(), ":2: 2 fields, expected 3") != NULL);
    write_text("smd/train/machine-1-2.txt", "1,2,3\n4,nan,6\n");
    CHECK(sbt_smd_read(tmp_path("smd"), "machine-1-2", &tr, &te) == SBT_ERR_NUMERIC);
    CHECK(sbt_smd_read(tmp_path("smd"), "machine-9-9", &tr, &te) == SBT_ERR_IO);
}

static void test_nasa_small(void) {
    make_dir("nasa");
    make_dir("nasa/train");
    make_dir("nasa/test");
    const double tr[4] = {1, 0, 2, 1}, te[10] = {0, 0, 1, 0, 2, 1, 3, 0, 4, 0};
    const char *d2 = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
    const char *d5 = "{'descr': '<f8', 'fortran_order': False, 'shape': (5, 2), }";
    write_npy("nasa/train/X-1.npy", 1, d2, tr, 32);
    write_npy("nasa/test/X-1.npy.gz", 1, d5, te, 80);
    write_npy("nasa/train/Y-1.npy", 1, d2, tr, 32);
    char csv[256]; /* tmp_path's buffers rotate */
    snprintf(csv, sizeof csv, "%s",
             write_text("nasa/labels.csv", "chan_id,spacecraft,anomaly_sequences,class,num_values\n"
                                           "X-1,MSL,\"[[1, 2], [4, 4]]\",\"[point, point]\",5\n"
                                           "Y-1,MSL,\"[[0, 0]]\",[point],5\n"
                                           "Z-1,SMAP,\"[]\",[],3\n"
                                           "X-1,MSL,\"[[0, 1]]\",[point],5\n"));
    sbt_series *a = NULL, *b = NULL;
    CHECK_MSG(sbt_nasa_read(tmp_path("nasa"), csv, "MSL", "X-1", &a, &b) == SBT_OK, "%s", sbt_last_error());
    if (a && b) {
        CHECK(a->steps == 2 && b->steps == 5 && b->channels == 2 && b->x[8] == 4.0f);
        /* the first X-1 row: [1, 2] and [4, 4] inclusive */
        CHECK(!b->label[0] && b->label[1] && b->label[2] && !b->label[3] && b->label[4]);
    }
    sbt_series_free(a);
    sbt_series_free(b);
    CHECK(sbt_nasa_read(tmp_path("nasa"), csv, "SMAP", "X-1", &a, &b) == SBT_ERR_ARG && !a && !b);
    CHECK(strstr(sbt_last_error(), "belongs to MSL, not SMAP") != NULL);
    CHECK(sbt_nasa_read(tmp_path("nasa"), csv, "MSL", "Y-1", &a, &b) == SBT_ERR_IO && !a && !b);
    sbt_entity_list *l = NULL;
    CHECK(sbt_nasa_list(tmp_path("nasa"), csv, "MSL", 0, &l) == SBT_OK);
    if (l) {
        CHECK(l->count == 1 && strcmp(l->names[0], "X-1") == 0 && l->n_skipped == 2);
        CHECK(strstr(l->skipped[0], "Y-1: no test array") &&
              strstr(l->skipped[1], "X-1: repeated row (line 5"));
    }
    sbt_entity_list_free(l);
    CHECK(sbt_nasa_list(tmp_path("nasa"), csv, "MSL", SBT_NASA_DROP_DUPLICATED, &l) == SBT_OK);
    if (l) CHECK(l->count == 0 && l->n_skipped == 2 && strstr(l->skipped[0], "X-1: 2 rows"));
    sbt_entity_list_free(l);
    CHECK(sbt_nasa_list(tmp_path("nasa"), csv, "Voyager", 0, &l) == SBT_ERR_ARG && !l);
    snprintf(csv, sizeof csv, "%s",
             write_text("nasa/bad.csv",
                        "chan_id,spacecraft,anomaly_sequences,num_values\nX-1,MSL,\"[[1, 5]]\",5\n"));
    CHECK(sbt_nasa_read(tmp_path("nasa"), csv, "MSL", "X-1", &a, &b) == SBT_ERR_PARSE);
    CHECK(strstr(sbt_last_error(), "bad.csv:2: anomaly range [1, 5]") != NULL);
    snprintf(csv, sizeof csv, "%s",
             write_text("nasa/bad.csv",
                        "chan_id,spacecraft,anomaly_sequences,num_values\nX-1,MSL,\"[[1, 2]]\",6\n"));
    CHECK(sbt_nasa_read(tmp_path("nasa"), csv, "MSL", "X-1", &a, &b) == SBT_ERR_SHAPE);
    CHECK(strstr(sbt_last_error(), "num_values 6") != NULL);
    snprintf(csv, sizeof csv, "%s",
             write_text("nasa/bad.csv",
                        "chan_id,spacecraft,anomaly_sequences,num_values\nX-1,MSL,\"[[1 2]]\",5\n"));
    CHECK(sbt_nasa_read(tmp_path("nasa"), csv, "MSL", "X-1", &a, &b) == SBT_ERR_PARSE);
    snprintf(csv, sizeof csv, "%s",
             write_text("nasa/bad.csv", "chan_id,spacecraft,sequences,num_values\nX-1,MSL,\"[[1, 2]]\",5\n"));
    CHECK(sbt_nasa_read(tmp_path("nasa"), csv, "MSL", "X-1", &a, &b) == SBT_ERR_PARSE);
    CHECK(strstr(sbt_last_error(), "no column 'anomaly_sequences'") != NULL);
    snprintf(csv, sizeof csv, "%s",
             write_text("nasa/bad.csv",
                        "chan_id,spacecraft,anomaly_sequences,num_values\nX-1,MSL,\"[[1, 2]],5\n"));
    CHECK(sbt_nasa_read(tmp_path("nasa"), csv, "MSL", "X-1", &a, &b) == SBT_ERR_PARSE);
    CHECK(strstr(sbt_last_error(), "bad quoting") != NULL);
}

/* ---- the real data -------------------------------------------------------------------------------- */

static void test_real_smd(void) {
    sbt_entity_list *l = NULL;
    CHECK_MSG(sbt_smd_list(data_path("anomaly/SMD"), &l) == SBT_OK, "%s", sbt_last_error());
    REQUIRE(l);
    static const char *const expect[6] = {"machine-1-6", "machine-1-7", "machine-2-1",
                                          "machine-2-2", "machine-2-7", "machine-2-8"};
    CHECK(l->count == 6 && l->n_skipped == 22);
    for (int i = 0; i < 6 && i < l->count; i++) CHECK(strcmp(l->names[i], expect[i]) == 0);
    CHECK(l->n_skipped > 0 && strcmp(l->skipped[0], "machine-1-1: no train array") == 0);
    sbt_entity_list_free(l);
    sbt_series *tr = NULL, *te = NULL;
    CHECK_MSG(sbt_smd_read(data_path("anomaly/SMD"), "machine-1-6", &tr, &te) == SBT_OK, "%s",
              sbt_last_error());
    REQUIRE(tr && te);
    CHECK(tr->steps == 23688 && tr->channels == 38 && !tr->label);
    CHECK(te->steps == 23689 && te->channels == 38 && te->label);
    CHECK(tr->x[0] == 0.061728f && tr->x[3] == 0.021759f);
    int64_t anomalies = 0;
    for (int64_t i = 0; i < te->steps; i++) anomalies += te->label[i];
    CHECK(anomalies == 3708); /* awk '{s += $1} END {print s}' test_label/machine-1-6.txt */
    sbt_series_free(tr);
    sbt_series_free(te);
}

static void test_real_nasa(void) {
    char csv[1024]; /* data_path's buffers rotate */
    snprintf(csv, sizeof csv, "%s", data_path("anomaly/SMAP_MSL/labeled_anomalies.csv"));
    sbt_series *tr = NULL, *te = NULL;
    CHECK_MSG(sbt_nasa_read(data_path("anomaly/MSL"), csv, "MSL", "C-1", &tr, &te) == SBT_OK, "%s",
              sbt_last_error());
    REQUIRE(tr && te);
    CHECK(tr->steps == 2158 && tr->channels == 55 && te->steps == 2264 && te->channels == 55);
    CHECK(te->x[0] == (float)-0.9469578783151326);
    int64_t anomalies = 0;
    for (int64_t i = 0; i < te->steps; i++) anomalies += te->label[i];
    CHECK(anomalies == (750 - 550 + 1) + (2210 - 2100 + 1)); /* C-1: [[550, 750], [2100, 2210]] */
    CHECK(te->label[550] && te->label[750] && !te->label[549] && !te->label[751]);
    sbt_series_free(tr);
    sbt_series_free(te);

    sbt_entity_list *msl = NULL, *smap = NULL, *smap53 = NULL;
    CHECK(sbt_nasa_list(data_path("anomaly/MSL"), csv, "MSL", 0, &msl) == SBT_OK);
    CHECK(sbt_nasa_list(data_path("anomaly/SMAP"), csv, "SMAP", 0, &smap) == SBT_OK);
    CHECK(sbt_nasa_list(data_path("anomaly/SMAP"), csv, "SMAP", SBT_NASA_DROP_DUPLICATED, &smap53) == SBT_OK);
    if (msl) CHECK(msl->count == 27 && msl->n_skipped == 0);
    if (smap)
        CHECK(smap->count == 54 && smap->n_skipped == 1 && strstr(smap->skipped[0], "P-2: repeated row"));
    if (smap53) CHECK(smap53->count == 53 && smap53->n_skipped == 1);
    /* One series over all 27 MSL channels: the README's 58,317 train / 73,729 test steps. */
    if (msl && msl->count == 27) {
        sbt_series *trs[27] = {0}, *tes[27] = {0}, *all_tr = NULL, *all_te = NULL;
        int ok = 1;
        for (int i = 0; i < 27 && ok; i++)
            ok = sbt_nasa_read(data_path("anomaly/MSL"), csv, "MSL", msl->names[i], &trs[i], &tes[i]) ==
                 SBT_OK;
        CHECK_MSG(ok, "%s", sbt_last_error());
        int64_t starts[28];
        if (ok) {
            CHECK(sbt_series_concat((const sbt_series *const *)trs, 27, NULL, &all_tr) == SBT_OK);
            CHECK(sbt_series_concat((const sbt_series *const *)tes, 27, starts, &all_te) == SBT_OK);
        }
        if (all_tr && all_te) {
            CHECK(all_tr->steps == 58317 && all_te->steps == 73729 && all_te->channels == 55);
            CHECK(all_te->label && !all_tr->label && starts[27] == 73729);
        }
        for (int i = 0; i < 27; i++) {
            sbt_series_free(trs[i]);
            sbt_series_free(tes[i]);
        }
        sbt_series_free(all_tr);
        sbt_series_free(all_te);
    }
    sbt_entity_list_free(msl);
    sbt_entity_list_free(smap);
    sbt_entity_list_free(smap53);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/sbt_anomaly_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_pot_exponential);
    RUN(test_pot_pareto);
    RUN(test_pot_bounded);
    RUN(test_gpd_fit_is_mle);
    RUN(test_pot_small_and_errors);
    RUN(test_quantile);
    RUN(test_f1_point_adjust);
    RUN(test_auc_pr);
    RUN(test_npy_good);
    RUN(test_npy_bad);
    RUN(test_series_concat_and_table);
    RUN(test_smd_text_format);
    RUN(test_nasa_small);
    RUN(test_real_smd);
    RUN(test_real_nasa);
    for (int i = n_created - 1; i >= 0; i--) remove(created[i]); /* files before their directories */
    rmdir(tmp_dir);
    return check_summary();
}
