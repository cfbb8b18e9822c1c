/* Datasets and their readers: the real UEA .ts files and forecasting CSVs, missing-value
 * interpolation, z-score, the stratified split, the synthetic task, and every malformed
 * file of tests/bad/ with the message it must give. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "sbt/data.h"

#ifndef SBT_SOURCE_DIR
#define SBT_SOURCE_DIR "."
#endif

static char tmp_dir[64];

/* Writes `text` to tmp_dir/name; returns the path (a static buffer per call slot). */
static const char *write_tmp(const char *name, const char *text) {
    static char paths[4][256];
    static int slot;
    char *p = paths[slot++ % 4];
    snprintf(p, 256, "%s/%s", tmp_dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

static const char *data_path(const char *rel) {
    static char p[1024];
    snprintf(p, sizeof p, "%s/%s", check_data_dir(), rel);
    return p;
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float at(const sbt_dataset *ds, int i, int t, int c) {
    return ds->x[((size_t)i * ds->length + (size_t)t) * ds->channels + c];
}

/* 1 when every value after each case's length is exactly zero. */
static int padding_is_zero(const sbt_dataset *ds) {
    for (int i = 0; i < ds->n; i++)
        for (int t = ds->len[i]; t < ds->length; t++)
            for (int c = 0; c < ds->channels; c++)
                if (at(ds, i, t, c) != 0.0f) return 0;
    return 1;
}

static const char ts_header[] = "@problemName T\n@timeStamps false\n@missing true\n@univariate false\n"
                                "@dimensions 2\n@equalLength false\n@classLabel true a b\n@data\n";

/* ---- real .ts files ------------------------------------------------------------ */

static void test_japanese_vowels(void) {
    sbt_dataset *train = NULL, *test = NULL;
    sbt_status st =
        sbt_ts_read(data_path("classification/JapaneseVowels/JapaneseVowels_TRAIN.ts"), NULL, &train);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    REQUIRE(train);
    st = sbt_ts_read(data_path("classification/JapaneseVowels/JapaneseVowels_TEST.ts"), train, &test);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    if (!test) sbt_dataset_free(train);
    REQUIRE(test);
    CHECK(train->n == 270 && test->n == 370);
    CHECK(train->channels == 12 && test->channels == 12);
    CHECK(train->n_classes == 9 && test->n_classes == 9);
    CHECK(strcmp(train->class_names[0], "1") == 0 && strcmp(train->class_names[8], "9") == 0);
    CHECK_NEAR(at(train, 0, 0, 0), 1.860936, 1e-6);
    CHECK_NEAR(at(train, 0, 0, 1), -0.207383, 1e-6);
    CHECK(train->len[0] == 20 && train->y[0] == 0);
    int lo = 1000, hi = 0, per_class[9] = {0};
    for (int i = 0; i < train->n; i++) {
        lo = train->len[i] < lo ? train->len[i] : lo;
        hi = train->len[i] > hi ? train->len[i] : hi;
        per_class[train->y[i]]++;
    }
    for (int i = 0; i < test->n; i++) {
        lo = test->len[i] < lo ? test->len[i] : lo;
        hi = test->len[i] > hi ? test->len[i] : hi;
    }
    CHECK(lo == 7 && hi == 29);
    CHECK(train->length <= 29 && test->length <= 29);
    for (int k = 0; k < 9; k++) CHECK(per_class[k] == 30);
    CHECK(padding_is_zero(train) && padding_is_zero(test));
    sbt_dataset_free(train);
    sbt_dataset_free(test);
}

static void test_basic_motions(void) {
    sbt_dataset *train = NULL, *test = NULL;
    sbt_status st = sbt_ts_read(data_path("classification/BasicMotions/BasicMotions_TRAIN.ts"), NULL, &train);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    REQUIRE(train);
    st = sbt_ts_read(data_path("classification/BasicMotions/BasicMotions_TEST.ts"), train, &test);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    if (test) {
        CHECK(test->n == 40 && test->channels == 6 && test->length == 100 && test->n_classes == 4);
        for (int i = 0; i < test->n; i++) CHECK(test->len[i] == 100 && test->y[i] >= 0 && test->y[i] < 4);
    }
    CHECK(train->n == 40 && train->channels == 6 && train->length == 100 && train->n_classes == 4);
    CHECK(strcmp(train->class_names[0], "Standing") == 0 && strcmp(train->class_names[3], "Badminton") == 0);
    sbt_dataset_free(train);
    sbt_dataset_free(test);
}

/* The largest archive files load in well under a second (more under sanitizers). */
static void test_large_ts_speed(void) {
    const char *files[] = {"classification/LSST/LSST_TRAIN.ts",
                           "classification/PenDigits/PenDigits_TRAIN.ts"};
    const int cases[] = {2459, 7494}, channels[] = {6, 2}, lengths[] = {36, 8};
    for (int f = 0; f < 2; f++) {
        sbt_dataset *ds = NULL;
        double t0 = seconds_now();
        sbt_status st = sbt_ts_read(data_path(files[f]), NULL, &ds);
        double dt = seconds_now() - t0;
        CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
        CHECK_MSG(dt < 5.0, "%s took %.2f s", files[f], dt);
        if (ds) CHECK(ds->n == cases[f] && ds->channels == channels[f] && ds->length == lengths[f]);
        sbt_dataset_free(ds);
    }
}

/* ---- .ts details --------------------------------------------------------------- */

static void test_ts_interpolation(void) {
    char text[1024];
    snprintf(text, sizeof text, "%s1,?,3,?:?,2,NaN,4:a\n?,?,0,?,2:7,?,?,?,3:b\n5:6:a\n", ts_header);
    sbt_dataset *ds = NULL;
    sbt_status st = sbt_ts_read(write_tmp("interp.ts", text), NULL, &ds);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    REQUIRE(ds);
    CHECK(ds->n == 3 && ds->length == 5 && ds->channels == 2);
    CHECK(ds->len[0] == 4 && ds->len[1] == 5 && ds->len[2] == 1);
    const float c0[4] = {1, 2, 3, 3}, c1[4] = {2, 2, 3, 4};
    for (int t = 0; t < 4; t++) CHECK(at(ds, 0, t, 0) == c0[t] && at(ds, 0, t, 1) == c1[t]);
    const float d0[5] = {0, 0, 0, 1, 2}, d1[5] = {7, 6, 5, 4, 3};
    for (int t = 0; t < 5; t++) CHECK(at(ds, 1, t, 0) == d0[t] && at(ds, 1, t, 1) == d1[t]);
    CHECK(at(ds, 2, 0, 0) == 5 && at(ds, 2, 0, 1) == 6);
    CHECK(ds->y[0] == 0 && ds->y[1] == 1 && ds->y[2] == 0);
    CHECK(padding_is_zero(ds));
    sbt_dataset_free(ds);
}

/* CRLF, gzip, a BOM, lower-case keys, comments in the data, a case wrapped after ',' and
 * ':', no final newline, and labels spelled "1.0" against a header saying "1". */
static void test_ts_tolerated(void) {
    const char *text = "\xEF\xBB\xBF# comment\r\n@problemname T\r\n@TIMESTAMPS false\r\n@dimensions 2\r\n"
                       "@classlabel true 1 2\r\n@data\r\n1, 2 ,3:\r\n4,5,6:1.0\r\n# note\r\n\r\n"
                       "7,8,\r\n9:10,11,12 : 2";
    const char *plain = write_tmp("tolerated.ts", text);
    char gz_path[300];
    snprintf(gz_path, sizeof gz_path, "%s/tolerated.ts.gz", tmp_dir);
    gzFile g = gzopen(gz_path, "wb");
    REQUIRE(g);
    gzputs(g, text);
    gzclose(g);
    const char *paths[2] = {plain, gz_path};
    for (int p = 0; p < 2; p++) {
        sbt_dataset *ds = NULL;
        sbt_status st = sbt_ts_read(paths[p], NULL, &ds);
        CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
        if (!ds) continue;
        CHECK(ds->n == 2 && ds->channels == 2 && ds->length == 3);
        CHECK(at(ds, 0, 1, 0) == 2 && at(ds, 0, 2, 1) == 6 && at(ds, 1, 2, 0) == 9 && at(ds, 1, 2, 1) == 12);
        CHECK(ds->y[0] == 0 && ds->y[1] == 1);
        sbt_dataset_free(ds);
    }
}

/* Reads `text` as a .ts file and checks the failure status and message. */
static void expect_ts_error(const char *text, sbt_status want, const char *substring) {
    sbt_dataset *ds = NULL;
    sbt_status st = sbt_ts_read(write_tmp("err.ts", text), NULL, &ds);
    CHECK_MSG(st == want, "status %d, want %d (%s)", (int)st, (int)want, sbt_last_error());
    CHECK_MSG(strstr(sbt_last_error(), substring) != NULL, "'%s' lacks '%s'", sbt_last_error(), substring);
    CHECK(ds == NULL);
    sbt_dataset_free(ds);
}

static void test_ts_errors(void) {
    char text[1024];
    expect_ts_error("@timeStamps true\n@data\n1:a\n", SBT_ERR_UNSUPPORTED, "err.ts:1: @timeStamps true");
    expect_ts_error("@dimensions 2\n@bogus 1\n@data\n", SBT_ERR_PARSE,
                    "err.ts:2: unknown header key '@bogus'");
    expect_ts_error("@dimensions 2\n@dimensions 2\n@data\n", SBT_ERR_PARSE, "@dimensions given twice");
    expect_ts_error("@dimensions x\n@data\n", SBT_ERR_PARSE, "@dimensions expects a positive integer");
    expect_ts_error("@classLabel true\n@data\n", SBT_ERR_PARSE, "lists no labels");
    expect_ts_error("@classLabel true a\n@data\n", SBT_ERR_PARSE, "err.ts: no cases after @data");
    expect_ts_error("# only a comment\n@classLabel true a\n", SBT_ERR_PARSE, "err.ts: no @data section");
    expect_ts_error("@classLabel true a\n1,2\n@data\n", SBT_ERR_PARSE,
                    "err.ts:2: unexpected line before @data");
    expect_ts_error("@classLabel true a\n@data\n1,2:a\n@dimensions 1\n", SBT_ERR_PARSE,
                    "err.ts:4: header line");
    snprintf(text, sizeof text, "%s1,2,3:4,5:a\n", ts_header);
    expect_ts_error(text, SBT_ERR_PARSE, "err.ts:9: dimension 2 has 2 values but dimension 1 has 3");
    snprintf(text, sizeof text, "%s1,2:3,4:a\n1,2:3,4:c\n", ts_header);
    expect_ts_error(text, SBT_ERR_PARSE, "err.ts:10: unknown class label 'c' (known: a b)");
    snprintf(text, sizeof text, "%s1,2:3,4\n1,2:3,4:a\n", ts_header);
    expect_ts_error(text, SBT_ERR_PARSE, "err.ts:9: case has no class label");
    snprintf(text, sizeof text, "%s1,2:3,4:a\n1,2:3,4\n", ts_header);
    expect_ts_error(text, SBT_ERR_PARSE, "err.ts: truncated: line 10 ends inside a case");
    snprintf(text, sizeof text, "%s1,,2:3,4,5:a\n", ts_header);
    expect_ts_error(text, SBT_ERR_PARSE, "err.ts:9: column 2 of dimension 1: empty value");
    snprintf(text, sizeof text, "%s1,2:3,1e99:a\n", ts_header);
    expect_ts_error(text, SBT_ERR_PARSE, "column 2 of dimension 2: '1e99' is not a finite float");
    expect_ts_error("@equalLength true\n@seriesLength 3\n@classLabel false\n@data\n1,2,3:4,5,6\n1,2:3,4\n",
                    SBT_ERR_PARSE, "err.ts:6: dimension 1 has 2 values, expected 3 (@seriesLength)");
    expect_ts_error("@univariate true\n@classLabel false\n@data\n1,2,3:4,5,6\n", SBT_ERR_PARSE,
                    "case has 2 dimensions, expected 1 (@univariate true)");

    sbt_dataset *ds = NULL;
    sbt_status st = sbt_ts_read("/nonexistent/missing.ts", NULL, &ds);
    CHECK(st == SBT_ERR_IO && ds == NULL);
    CHECK_MSG(strcmp(sbt_last_error(), "/nonexistent/missing.ts: cannot open: No such file or directory") ==
                  0,
              "%s", sbt_last_error());
}

static void test_ts_unlabelled(void) {
    sbt_dataset *ds = NULL;
    sbt_status st = sbt_ts_read(write_tmp("u.ts", "@classLabel false\n@data\n1,2:3,4\n5:6\n"), NULL, &ds);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    REQUIRE(ds);
    CHECK(ds->y == NULL && ds->n_classes == 0 && ds->n == 2 && ds->channels == 2 && ds->length == 2);
    CHECK(ds->len[1] == 1 && at(ds, 1, 0, 1) == 6 && at(ds, 1, 1, 1) == 0);
    sbt_dataset_free(ds);
}

/* ---- dataset, zscore, split ---------------------------------------------------- */

static void test_dataset_new_subset(void) {
    sbt_dataset *ds = NULL, *sub = NULL;
    REQUIRE(sbt_dataset_new(5, 2, 3, 3, &ds) == SBT_OK);
    CHECK(ds->n == 5 && ds->y && ds->len[4] == 3 && strcmp(ds->class_names[2], "2") == 0);
    for (int i = 0; i < 5 * 3 * 2; i++) ds->x[i] = (float)i;
    for (int i = 0; i < 5; i++) ds->y[i] = i % 3, ds->len[i] = 1 + i % 3;
    int idx[3] = {4, 0, 4};
    CHECK(sbt_dataset_subset(ds, idx, 3, &sub) == SBT_OK);
    if (sub) {
        CHECK(sub->n == 3 && sub->length == 3 && sub->channels == 2 && sub->n_classes == 3);
        CHECK(sub->y[0] == 1 && sub->y[1] == 0 && sub->len[0] == 2 && sub->len[1] == 1);
        CHECK(at(sub, 0, 0, 0) == 24 && at(sub, 1, 2, 1) == 5 && at(sub, 2, 1, 1) == 27);
        CHECK(sub->class_names[1] != ds->class_names[1] && strcmp(sub->class_names[1], "1") == 0);
    }
    sbt_dataset_free(sub);
    int bad = 5;
    CHECK(sbt_dataset_subset(ds, &bad, 1, &sub) == SBT_ERR_ARG && sub == NULL);
    CHECK(sbt_dataset_new(1, 0, 3, 0, &sub) == SBT_ERR_ARG && sub == NULL);
    sbt_dataset_free(ds);
    REQUIRE(sbt_dataset_new(2, 1, 1, 0, &ds) == SBT_OK);
    CHECK(ds->y == NULL && ds->class_names == NULL);
    sbt_dataset_free(ds);
}

static void test_zscore(void) {
    sbt_dataset *train = NULL, *test = NULL;
    REQUIRE(sbt_dataset_new(2, 2, 3, 0, &train) == SBT_OK);
    if (sbt_dataset_new(1, 2, 3, 0, &test) != SBT_OK) sbt_dataset_free(train);
    REQUIRE(test);
    /* Channel 0 valid values {1, 2, 3, 6} (mean 3, std sqrt(3.5)); channel 1 constant 5. */
    const float v0[2][3] = {{1, 2, 3}, {6, 0, 0}};
    train->len[1] = 1;
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < 3; t++) {
            train->x[(i * 3 + t) * 2] = v0[i][t];
            train->x[(i * 3 + t) * 2 + 1] = t < train->len[i] ? 5.0f : 0.0f;
        }
    test->len[0] = 2;
    test->x[0] = 3, test->x[1] = 5, test->x[2] = 6, test->x[3] = 7;
    float mean[2], std[2];
    CHECK(sbt_zscore_fit(train, mean, std) == SBT_OK);
    CHECK_NEAR(mean[0], 3.0, 1e-6);
    CHECK_NEAR(std[0], sqrt(3.5), 1e-6);
    CHECK_NEAR(mean[1], 5.0, 1e-6);
    CHECK(std[1] == 1.0f); /* constant in train: offset removed, not scaled */
    sbt_zscore_apply(train, mean, std);
    sbt_zscore_apply(test, mean, std);
    CHECK_NEAR(at(train, 1, 0, 0), 3.0 / sqrt(3.5), 1e-5);
    CHECK(at(train, 0, 2, 1) == 0.0f && padding_is_zero(train) && padding_is_zero(test));
    CHECK_NEAR(at(test, 0, 0, 0), 0.0, 1e-6);
    CHECK_NEAR(at(test, 0, 1, 0), 3.0 / sqrt(3.5), 1e-5);
    CHECK_NEAR(at(test, 0, 1, 1), 2.0, 1e-6); /* not 2e8 */
    sbt_dataset_free(train);
    sbt_dataset_free(test);
}

static void test_split(void) {
    /* Class sizes 10, 7, 1, 2 with frac 0.2: val gets round(2) = 2, round(1.4) = 1, 0 (a
     * single case stays in train), and 1 (at least one of two). */
    enum { N = 20 };
    int y[N], sizes[4] = {10, 7, 1, 2}, want_val[4] = {2, 1, 0, 1}, n = 0;
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < sizes[k]; j++) y[n++] = k;
    for (int i = 0; i < N; i++) { /* interleave, so that order is not by class */
        int j = (i * 7) % N, t = y[i];
        y[i] = y[j], y[j] = t;
    }
    int *tr = NULL, *va = NULL, *tr2 = NULL, *va2 = NULL, ntr, nva, ntr2, nva2;
    REQUIRE(sbt_split_stratified(y, N, 4, 0.2, 42, &tr, &ntr, &va, &nva) == SBT_OK);
    CHECK(ntr + nva == N && nva == 4);
    int seen[N] = {0}, val_per[4] = {0};
    for (int i = 0; i < ntr; i++) {
        seen[tr[i]]++;
        CHECK(i == 0 || tr[i] > tr[i - 1]);
    }
    for (int i = 0; i < nva; i++) {
        seen[va[i]]++;
        val_per[y[va[i]]]++;
        CHECK(i == 0 || va[i] > va[i - 1]);
    }
    for (int i = 0; i < N; i++) CHECK(seen[i] == 1);
    for (int k = 0; k < 4; k++) CHECK(val_per[k] == want_val[k]);
    REQUIRE(sbt_split_stratified(y, N, 4, 0.2, 42, &tr2, &ntr2, &va2, &nva2) == SBT_OK);
    CHECK(ntr2 == ntr && nva2 == nva && memcmp(va, va2, (size_t)nva * sizeof *va) == 0);
    free(tr2), free(va2);
    int differs = 0;
    for (uint64_t seed = 1; seed < 6 && !differs; seed++) {
        REQUIRE(sbt_split_stratified(y, N, 4, 0.2, seed, &tr2, &ntr2, &va2, &nva2) == SBT_OK);
        differs = nva2 != nva || memcmp(va, va2, (size_t)nva * sizeof *va) != 0;
        free(tr2), free(va2);
    }
    CHECK(differs);
    free(tr), free(va);
    REQUIRE(sbt_split_stratified(y, N, 4, 0.0, 1, &tr, &ntr, &va, &nva) == SBT_OK);
    CHECK(ntr == N && nva == 0);
    free(tr), free(va);
    y[3] = 4;
    CHECK(sbt_split_stratified(y, N, 4, 0.2, 1, &tr, &ntr, &va, &nva) == SBT_ERR_ARG && !tr && !va);
    CHECK(sbt_split_stratified(y, N, 5, 1.0, 1, &tr, &ntr, &va, &nva) == SBT_ERR_ARG);
}

/* ---- CSV ----------------------------------------------------------------------- */

static void test_csv_etth1(void) {
    sbt_table *t = NULL;
    sbt_status st = sbt_csv_read(data_path("forecasting/ETTh1/ETTh1.csv"), "date", &t);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    REQUIRE(t);
    CHECK(t->rows == 17420 && t->cols == 7);
    CHECK(strcmp(t->col_names[0], "HUFL") == 0 && sbt_table_column(t, "OT") == 6);
    CHECK(sbt_table_column(t, "date") == -1 && sbt_table_column(t, "nope") == -1);
    CHECK(t->row_keys && strcmp(t->row_keys[0], "2016-07-01 00:00:00") == 0);
    CHECK_NEAR(t->values[0], 5.827000141143799, 1e-6);
    CHECK_NEAR(t->values[6], 30.5310001373291, 1e-5);
    sbt_table_free(t);
}

/* Every forecasting file loads with its date column skipped; weather has CRLF and odd
 * header bytes, ETTm1 and weather are gzipped. */
static void test_csv_forecasting_files(void) {
    const char *files[] = {"forecasting/weather/weather.csv.gz", "forecasting/ETTm1/ETTm1.csv.gz",
                           "forecasting/WTH/WTH.csv",
                           "forecasting/electricity_subset/electricity_first6clients.csv"};
    const int rows[] = {52696, 69680, 35064, 26304}, cols[] = {21, 7, 12, 6};
    for (int f = 0; f < 4; f++) {
        sbt_table *t = NULL;
        sbt_status st = sbt_csv_read(data_path(files[f]), "date", &t);
        CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
        if (!t) continue;
        CHECK_MSG(t->rows == rows[f] && t->cols == cols[f], "%s: %d x %d", files[f], t->rows, t->cols);
        for (int j = 0; j < t->cols; j++) CHECK(!strchr(t->col_names[j], '\r'));
        for (int i = 0; i < t->rows; i++) CHECK(!strchr(t->row_keys[i], '\r'));
        if (f == 0) {
            CHECK(strcmp(t->col_names[t->cols - 1], "OT") == 0 && strcmp(t->col_names[0], "p (mbar)") == 0);
            CHECK(strcmp(t->row_keys[0], "2020-01-01 00:10:00") == 0);
            CHECK_NEAR(t->values[t->cols - 1], 428.1, 1e-3);
        }
        sbt_table_free(t);
    }
}

static void test_csv_small(void) {
    const char *path =
        write_tmp("small.csv", "\"id\",a, \"b\" ,when\r\n1,1,,x\r\n1,NaN,2,y\r\n2,3,\"4\",z\r\n\r\n");
    sbt_table *t = NULL;
    /* Missing cells: an error naming the first one and the count, unless filling is asked for. */
    CHECK(sbt_csv_read(path, "when", &t) == SBT_ERR_NUMERIC && t == NULL);
    CHECK_MSG(
        strstr(sbt_last_error(), "small.csv:2: column 'b': empty or NaN cell; 2 such cells in 2 columns"),
        "%s", sbt_last_error());
    sbt_status st = sbt_csv_read_flags(path, "when", SBT_CSV_FILL_LINEAR, &t);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    REQUIRE(t);
    CHECK(t->rows == 3 && t->cols == 3 && strcmp(t->col_names[0], "id") == 0 &&
          strcmp(t->col_names[2], "b") == 0);
    CHECK(strcmp(t->row_keys[2], "z") == 0);
    const float want[9] = {1, 1, 2, 1, 2, 2, 2, 3, 4};
    for (int i = 0; i < 9; i++) CHECK(t->values[i] == want[i]);
    CHECK(t->filled && t->filled[0] == 0 && t->filled[1] == 1 && t->filled[2] == 1);
    sbt_table_free(t);
    t = NULL;
    CHECK(sbt_csv_read_flags(write_tmp("f.csv", "a,b\n1,2\n3,4\n"), NULL, SBT_CSV_FILL_LINEAR, &t) ==
              SBT_OK &&
          t && t->filled && t->filled[0] == 0 && t->filled[1] == 0);
    sbt_table_free(t);
    t = NULL;
    CHECK(sbt_csv_read(path, NULL, &t) == SBT_ERR_PARSE && t == NULL);
    CHECK_MSG(strstr(sbt_last_error(), "small.csv:2: column 'when': 'x' is not a number"), "%s",
              sbt_last_error());
    CHECK(sbt_csv_read(path, "date", &t) == SBT_ERR_PARSE &&
          strstr(sbt_last_error(), "no column named 'date'"));
    CHECK(sbt_csv_read_flags(write_tmp("m.csv", "a,b\n1,\n2,nan\n"), NULL, SBT_CSV_FILL_LINEAR, &t) ==
          SBT_ERR_PARSE);
    CHECK_MSG(strstr(sbt_last_error(), "m.csv: column 'b' has no values (all missing)"), "%s",
              sbt_last_error());
    CHECK(sbt_csv_read(write_tmp("f.csv", "a,b\n1,2\n3\n"), NULL, &t) == SBT_ERR_PARSE);
    CHECK(strstr(sbt_last_error(), "f.csv:3: 1 fields, expected 2"));
    CHECK(sbt_csv_read(write_tmp("e.csv", ""), NULL, &t) == SBT_ERR_PARSE &&
          strstr(sbt_last_error(), "empty file"));
    CHECK(sbt_csv_read("/nonexistent/x.csv", NULL, &t) == SBT_ERR_IO &&
          strstr(sbt_last_error(), "cannot open"));
}

static void test_table_to_dataset(void) {
    sbt_table *t = NULL;
    const char *text = "case,v,label,w\n7,1,3,10\n7,2,3,20\n7,3,3,30\n8,4,1,40\n9,5,3,50\n9,6,3,60\n";
    REQUIRE(sbt_csv_read(write_tmp("cases.csv", text), NULL, &t) == SBT_OK);
    sbt_dataset *ds = NULL, *ds2 = NULL;
    sbt_status st = sbt_table_to_dataset(t, "case", "label", NULL, &ds);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    if (ds) {
        CHECK(ds->n == 3 && ds->channels == 2 && ds->length == 3 && ds->n_classes == 2);
        CHECK(strcmp(ds->class_names[0], "1") == 0 && strcmp(ds->class_names[1], "3") == 0);
        CHECK(ds->y[0] == 1 && ds->y[1] == 0 && ds->y[2] == 1);
        CHECK(ds->len[0] == 3 && ds->len[1] == 1 && ds->len[2] == 2);
        CHECK(at(ds, 0, 2, 0) == 3 && at(ds, 0, 2, 1) == 30 && at(ds, 2, 1, 1) == 60 && padding_is_zero(ds));
        CHECK(sbt_table_to_dataset(t, "case", "label", ds, &ds2) == SBT_OK && ds2 && ds2->y[1] == 0);
    }
    sbt_dataset_free(ds2);
    sbt_dataset_free(ds);
    CHECK(sbt_table_to_dataset(t, "nope", "label", NULL, &ds) == SBT_ERR_ARG && ds == NULL);
    sbt_table_free(t);
    REQUIRE(sbt_csv_read(write_tmp("mixed.csv", "case,v,label\n1,1,0\n1,2,1\n"), NULL, &t) == SBT_OK);
    CHECK(sbt_table_to_dataset(t, "case", "label", NULL, &ds) == SBT_ERR_PARSE && ds == NULL);
    CHECK_MSG(strstr(sbt_last_error(), "label 1 differs from 0"), "%s", sbt_last_error());
    sbt_table_free(t);
}

/* ---- synthetic task ------------------------------------------------------------ */

/* Test accuracy of the nearest class mean: the task must beat chance clearly without
 * being solved by matching a template. */
static double nearest_centroid_accuracy(const sbt_dataset *tr, const sbt_dataset *te) {
    size_t D = (size_t)tr->length * tr->channels;
    int K = tr->n_classes, ok = 0;
    double *cen = calloc((size_t)K * D, sizeof *cen);
    int *cnt = calloc((size_t)K, sizeof *cnt);
    for (int i = 0; i < tr->n; i++) {
        cnt[tr->y[i]]++;
        for (size_t d = 0; d < D; d++) cen[tr->y[i] * D + d] += tr->x[i * D + d];
    }
    for (int i = 0; i < te->n; i++) {
        int best = 0;
        double best_d = INFINITY;
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (size_t d = 0; d < D; d++) {
                double e = te->x[i * D + d] - cen[k * D + d] / cnt[k];
                s += e * e;
            }
            if (s < best_d) best_d = s, best = k;
        }
        ok += best == te->y[i];
    }
    free(cen);
    free(cnt);
    return (double)ok / te->n;
}

static void test_synth(void) {
    sbt_synth_config cfg = sbt_synth_default();
    CHECK(cfg.n_train == 240 && cfg.n_test == 240 && cfg.channels == 6 && cfg.length == 48 &&
          cfg.n_classes == 4);
    CHECK(cfg.noise == 0.5f && cfg.seed == 1);
    sbt_dataset *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    REQUIRE(sbt_synth_classification(&cfg, &a, &b) == SBT_OK);
    CHECK(a->n == 240 && b->n == 240 && a->channels == 6 && a->length == 48 && a->n_classes == 4);
    CHECK(strcmp(a->class_names[0], "c0") == 0 && strcmp(b->class_names[3], "c3") == 0);
    int per[4] = {0};
    for (int i = 0; i < a->n; i++) {
        per[a->y[i]]++;
        CHECK(a->len[i] == 48);
    }
    for (int k = 0; k < 4; k++) CHECK(per[k] == 60);
    size_t bytes = (size_t)a->n * a->length * a->channels * sizeof(float);
    if (sbt_synth_classification(&cfg, &c, &d) == SBT_OK) {
        CHECK(memcmp(a->x, c->x, bytes) == 0 && memcmp(a->y, c->y, (size_t)a->n * sizeof(int)) == 0);
        CHECK(memcmp(b->x, d->x, bytes) == 0);
        CHECK(memcmp(a->x, b->x, bytes) != 0);
    }
    sbt_dataset_free(c);
    sbt_dataset_free(d);
    double acc = nearest_centroid_accuracy(a, b);
    CHECK_MSG(acc > 0.45 && acc < 0.95, "nearest-centroid accuracy %.3f", acc);
    cfg.seed = 2;
    REQUIRE(sbt_synth_classification(&cfg, &c, &d) == SBT_OK);
    CHECK(memcmp(a->x, c->x, bytes) != 0);
    sbt_dataset_free(a), sbt_dataset_free(b), sbt_dataset_free(c), sbt_dataset_free(d);
    cfg.n_classes = 1;
    CHECK(sbt_synth_classification(&cfg, &a, &b) == SBT_ERR_ARG && a == NULL && b == NULL);
}

/* ---- tests/bad ----------------------------------------------------------------- */

static void test_bad_files(void) {
    const struct {
        const char *file, *train; /* train: read first, then `file` against it */
        sbt_status status;
        const char *message;
    } cases[] = {
        {"truncated.ts", NULL, SBT_ERR_PARSE, "truncated.ts: truncated: line 13 ends inside a case"},
        {"wrong_dims.ts", NULL, SBT_ERR_PARSE,
         "wrong_dims.ts:13: case has 2 dimensions, expected 3 (@dimensions)"},
        {"non_numeric.ts", NULL, SBT_ERR_PARSE,
         "non_numeric.ts:12: column 3 of dimension 2: 'abc' is not a number"},
        {"empty.ts", NULL, SBT_ERR_PARSE, "empty.ts: empty file (no @data section)"},
        {"unknown_label_TEST.ts", "unknown_label_TRAIN.ts", SBT_ERR_PARSE,
         "unknown_label_TEST.ts:14: unknown class label '4' (known: 1 2 3)"},
        {"nan_channel.ts", NULL, SBT_ERR_PARSE, "nan_channel.ts:13: dimension 2 has no values (all missing)"},
        {"bad_cell.csv", NULL, SBT_ERR_PARSE, "bad_cell.csv:4: column 'HULL': 'abc' is not a number"},
        {"gaps.csv", NULL, SBT_ERR_NUMERIC,
         "gaps.csv:3: column 'HULL': empty or NaN cell; 3 such cells in 2 columns"},
        {"unlabelled_TEST.ts", "unknown_label_TRAIN.ts", SBT_ERR_PARSE,
         "unlabelled_TEST.ts: no class labels (@classLabel false or missing)"},
        {"does_not_exist.ts", NULL, SBT_ERR_IO, "does_not_exist.ts: cannot open: No such file or directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512], train_path[512];
        snprintf(path, sizeof path, "%s/tests/bad/%s", SBT_SOURCE_DIR, cases[i].file);
        sbt_dataset *ref = NULL, *ds = NULL;
        if (cases[i].train) {
            snprintf(train_path, sizeof train_path, "%s/tests/bad/%s", SBT_SOURCE_DIR, cases[i].train);
            CHECK_MSG(sbt_ts_read(train_path, NULL, &ref) == SBT_OK, "%s", sbt_last_error());
            CHECK_MSG(sbt_ts_read(path, NULL, &ds) == SBT_OK, "%s alone: %s", cases[i].file,
                      sbt_last_error());
            sbt_dataset_free(ds);
            ds = NULL;
            if (!ref) continue;
        }
        sbt_status st;
        if (strstr(cases[i].file, ".csv")) {
            sbt_table *t = NULL;
            st = sbt_csv_read(path, "date", &t);
            CHECK(t == NULL);
            sbt_table_free(t);
        } else {
            st = sbt_ts_read(path, ref, &ds);
            CHECK(ds == NULL);
            sbt_dataset_free(ds);
        }
        CHECK_MSG(st == cases[i].status, "%s: status %d (%s)", cases[i].file, (int)st, sbt_last_error());
        CHECK_MSG(strstr(sbt_last_error(), cases[i].message), "%s: got '%s'", cases[i].file,
                  sbt_last_error());
        sbt_dataset_free(ref);
    }
}

static void remove_tmp_dir(void) {
    const char *names[] = {"interp.ts", "tolerated.ts", "tolerated.ts.gz", "err.ts",
                           "u.ts",      "small.csv",    "m.csv",           "f.csv",
                           "e.csv",     "cases.csv",    "mixed.csv"};
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmp_dir, names[i]);
        remove(p);
    }
    rmdir(tmp_dir);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/sbt_data_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_japanese_vowels);
    RUN(test_basic_motions);
    RUN(test_large_ts_speed);
    RUN(test_ts_interpolation);
    RUN(test_ts_tolerated);
    RUN(test_ts_errors);
    RUN(test_ts_unlabelled);
    RUN(test_dataset_new_subset);
    RUN(test_zscore);
    RUN(test_split);
    RUN(test_csv_etth1);
    RUN(test_csv_forecasting_files);
    RUN(test_csv_small);
    RUN(test_table_to_dataset);
    RUN(test_synth);
    RUN(test_bad_files);
    remove_tmp_dir();
    return check_summary();
}
