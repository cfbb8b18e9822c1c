/* test_forecast.c - date stamps, Informer splits, train-only z-scoring, window batches,
 * metrics and the persistence baseline on the real forecasting CSVs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sbt/forecast.h"

static char *data_path(const char *rel) {
    static char buf[4][1024];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/forecasting/%s", check_data_dir(), rel);
    return b;
}

static int64_t parsed(const char *text) {
    int64_t s = -12345;
    return sbt_datetime_parse(text, &s) == SBT_OK ? s : -12345;
}

static void test_date_formats(void) {
    CHECK(parsed("2016-07-01 00:00:00") == 1467331200); /* ETT */
    CHECK(parsed("2016-07-01 02:00") == 1467338400);    /* minutes only */
    CHECK(parsed("1/1/2010 0:00") == 1262304000);       /* WTH */
    CHECK(parsed("12/31/2010 23:00") == 1262304000 + 364 * 86400 + 23 * 3600);
    CHECK(parsed("2016/7/1 2:00") == 1467338400); /* electricity */
    CHECK(parsed("2016/07/01 02:00") == 1467338400);
    CHECK(parsed("2016-07-01T02:00:00") == 1467338400);
    CHECK(parsed("2016-07-01") == 1467331200);
    CHECK(parsed("2016-02-29 23:59:59") == 1456790399); /* leap day */
    CHECK(parsed("2000-03-01 00:00") == 951868800);     /* 2000 is a leap year */
    CHECK(parsed("1969-12-31 23:59:59") == -1);
    char buf[32];
    sbt_datetime_format(1456790399, buf, sizeof buf);
    CHECK(strcmp(buf, "2016-02-29 23:59:59") == 0);
    sbt_datetime_format(-1, buf, sizeof buf);
    CHECK(strcmp(buf, "1969-12-31 23:59:59") == 0);
    /* Round trip over a range that crosses leap years and century rules. */
    int ok = 1;
    for (int64_t s = -3000000000LL; s < 5000000000LL; s += 7777777) {
        sbt_datetime_format(s, buf, sizeof buf);
        ok &= parsed(buf) == s;
    }
    CHECK(ok);
}

static void test_bad_dates(void) {
    const char *bad[] = {"",
                         "2016-07-01 24:00",
                         "2016-07-01 12:60",
                         "2016-07-01 12:00:60",
                         "2017-02-29 00:00",
                         "1900-02-29 00:00",
                         "2016-13-01 00:00",
                         "2016-04-31 00:00",
                         "2016-00-10 00:00",
                         "13/1/2010 0:00",
                         "1/32/2010 0:00",
                         "1/1/10 0:00",
                         "16-07-01 00:00",
                         "2016-07-01 0:0",
                         "2016-07-01 00:00 x",
                         "2016-07-01x00:00",
                         "2016.07.01 00:00",
                         "2016-07/01 00:00",
                         "20160-07-01 00:00",
                         "2016-07-01 123:00",
                         "yesterday"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t s = 0;
        sbt_status st = sbt_datetime_parse(bad[i], &s);
        CHECK_MSG(st == SBT_ERR_PARSE, "'%s' parsed", bad[i]);
    }
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* Loads `text` as a CSV; returns the status and leaves the message in sbt_last_error(). */
static sbt_status load_text(const char *name, const char *text, sbt_forecast_data **d) {
    write_file(name, text);
    sbt_forecast_options o = sbt_forecast_defaults();
    o.scheme = SBT_SPLIT_CUSTOM;
    o.window = 2;
    sbt_status st = sbt_forecast_load(name, &o, d);
    remove(name);
    return st;
}

static void test_dates_in_files(void) {
    sbt_forecast_data *d = NULL;
    const char *good = "date,a,b\n2016-07-01 00:00:00,1,2\n2016-07-01 01:00:00,2,3\n2016-07-01 02:00:00,3,4\n"
                       "2016-07-01 03:00:00,4,5\n2016-07-01 04:00:00,5,6\n2016-07-01 05:00:00,6,7\n"
                       "2016-07-01 06:00:00,7,8\n2016-07-01 07:00:00,8,9\n2016-07-01 08:00:00,9,1\n"
                       "2016-07-01 09:00:00,1,1\n";
    CHECK(load_text("fc_good.csv", good, &d) == SBT_OK);
    REQUIRE(d);
    CHECK(d->time[1] - d->time[0] == 3600);
    sbt_forecast_free(d);
    d = NULL;
    CHECK(load_text("fc_bad.csv", "date,a\n2016-07-01 00:00,1\n2016-07-01 01:00,2\n2016-07-32 02:00,3\n",
                    &d) == SBT_ERR_PARSE);
    CHECK(d == NULL);
    CHECK_MSG(strstr(sbt_last_error(), "fc_bad.csv:4:") && strstr(sbt_last_error(), "'2016-07-32 02:00'"),
              "%s", sbt_last_error());
    CHECK(load_text("fc_same.csv", "date,a\n1/1/2010 0:00,1\n1/1/2010 1:00,2\n1/1/2010 1:00,3\n", &d) ==
          SBT_ERR_PARSE);
    CHECK_MSG(strstr(sbt_last_error(), "fc_same.csv:4:") && strstr(sbt_last_error(), "not after"), "%s",
              sbt_last_error());
    CHECK(load_text("fc_back.csv", "date,a\n2016/7/1 2:00,1\n2016/7/1 1:00,2\n", &d) == SBT_ERR_PARSE);
    CHECK_MSG(strstr(sbt_last_error(), "fc_back.csv:3:") && strstr(sbt_last_error(), "'2016/7/1 1:00'"), "%s",
              sbt_last_error());
}

static void test_schemes(void) {
    CHECK(sbt_split_scheme_for_path("/x/ETTh1/ETTh1.csv") == SBT_SPLIT_ETT_HOUR);
    CHECK(sbt_split_scheme_for_path("ETTh2.csv") == SBT_SPLIT_ETT_HOUR);
    CHECK(sbt_split_scheme_for_path("/d/ETTm1.csv.gz") == SBT_SPLIT_ETT_MINUTE);
    CHECK(sbt_split_scheme_for_path("/ETTh/WTH.csv") == SBT_SPLIT_CUSTOM);
    sbt_split_scheme s = SBT_SPLIT_AUTO;
    CHECK(sbt_split_scheme_parse("ett-minute", &s) == SBT_OK && s == SBT_SPLIT_ETT_MINUTE);
    CHECK(sbt_split_scheme_parse("informer", &s) == SBT_ERR_ARG);
    CHECK(strcmp(sbt_split_scheme_name(SBT_SPLIT_CUSTOM), "custom") == 0);
    sbt_forecast_split sp;
    CHECK(sbt_forecast_split_rows(20000, SBT_SPLIT_ETT_HOUR, 1, 1, &sp) == SBT_ERR_ARG);
    CHECK(sbt_forecast_split_rows(14399, SBT_SPLIT_ETT_HOUR, 200, 1, &sp) == SBT_ERR_ARG);
    CHECK(sbt_forecast_split_rows(14400, SBT_SPLIT_ETT_HOUR, 200, 1, &sp) == SBT_OK);
    CHECK(sbt_forecast_split_rows(100, SBT_SPLIT_AUTO, 2, 1, &sp) == SBT_ERR_ARG);
    /* 100 rows: train 70, val 10, test 20; a window of 12 leaves val no target of its own. */
    CHECK(sbt_forecast_split_rows(100, SBT_SPLIT_CUSTOM, 12, 1, &sp) == SBT_OK);
    CHECK(sp.target_begin[SBT_FC_VAL] == 70 && sp.target_end[SBT_FC_VAL] == 80);
    CHECK(sbt_forecast_split_rows(100, SBT_SPLIT_CUSTOM, 12, 0, &sp) == SBT_ERR_ARG);
    CHECK(sbt_forecast_split_rows(100, SBT_SPLIT_CUSTOM, 10, 0, &sp) == SBT_OK);
    CHECK(sp.target_begin[SBT_FC_VAL] == 79 && sp.target_begin[SBT_FC_TEST] == 89);
}

/* Target ranges are disjoint, in time order and inside their own split's rows. */
static void check_split_shape(const sbt_forecast_split *s) {
    for (int k = 0; k < 3; k++) {
        CHECK(s->row_begin[k] <= s->target_begin[k] && s->target_begin[k] < s->target_end[k]);
        CHECK(s->target_end[k] == s->row_end[k]);
    }
    CHECK(s->target_end[SBT_FC_TRAIN] <= s->target_begin[SBT_FC_VAL]);
    CHECK(s->target_end[SBT_FC_VAL] <= s->target_begin[SBT_FC_TEST]);
    CHECK(s->row_end[SBT_FC_TEST] <= s->rows);
}

static sbt_forecast_data *etth1;

static void test_split_etth1(void) {
    sbt_status st = sbt_forecast_load(data_path("ETTh1/ETTh1.csv"), NULL, &etth1);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    REQUIRE(etth1);
    const sbt_forecast_split *s = &etth1->split;
    int w = 200;
    CHECK(etth1->series.steps == 17420 && etth1->series.channels == 7);
    CHECK(strcmp(etth1->series.channel_names[6], "OT") == 0);
    CHECK(s->scheme == SBT_SPLIT_ETT_HOUR && s->window == w && s->reach_back == 1);
    /* Informer's Dataset_ETT_hour borders for seq_len = w. */
    int64_t b1[3] = {0, 12 * 30 * 24 - w, 12 * 30 * 24 + 4 * 30 * 24 - w};
    int64_t b2[3] = {12 * 30 * 24, 12 * 30 * 24 + 4 * 30 * 24, 12 * 30 * 24 + 8 * 30 * 24};
    for (int k = 0; k < 3; k++) CHECK(s->border1[k] == b1[k] && s->border2[k] == b2[k]);
    CHECK(s->row_end[SBT_FC_TRAIN] - s->row_begin[SBT_FC_TRAIN] == 8640);
    CHECK(s->row_end[SBT_FC_VAL] - s->row_begin[SBT_FC_VAL] == 2880);
    CHECK(s->row_end[SBT_FC_TEST] - s->row_begin[SBT_FC_TEST] == 2880);
    /* Informer's own sample counts, len(data) - seq_len - pred_len + 1 per split, are the
     * validation and test target counts; train loses one more window of rows because
     * its window of w includes the target. */
    CHECK(sbt_forecast_count(etth1, SBT_FC_TRAIN) == 8640 - (w - 1));
    CHECK(sbt_forecast_count(etth1, SBT_FC_VAL) == (b2[1] - b1[1]) - w - 1 + 1);
    CHECK(sbt_forecast_count(etth1, SBT_FC_TEST) == (b2[2] - b1[2]) - w - 1 + 1);
    CHECK(s->target_begin[SBT_FC_VAL] == 8640 && s->target_begin[SBT_FC_TEST] == 11520);
    CHECK(s->target_end[SBT_FC_TEST] == 14400);
    check_split_shape(s);
    char buf[32];
    sbt_datetime_format(etth1->time[s->target_begin[SBT_FC_TEST]], buf, sizeof buf);
    printf("ETTh1: train %lld, val %lld, test %lld targets; test from %s\n",
           (long long)sbt_forecast_count(etth1, 0), (long long)sbt_forecast_count(etth1, 1),
           (long long)sbt_forecast_count(etth1, 2), buf);
}

static void test_split_ettm1(void) {
    sbt_forecast_data *d = NULL;
    sbt_status st = sbt_forecast_load(data_path("ETTm1/ETTm1.csv.gz"), NULL, &d);
    CHECK_MSG(st == SBT_OK, "%s", sbt_last_error());
    REQUIRE(d);
    const sbt_forecast_split *s = &d->split;
    int64_t m = 30 * 24 * 4, w = 200;
    CHECK(d->series.steps == 69680 && s->scheme == SBT_SPLIT_ETT_MINUTE);
    int64_t b1[3] = {0, 12 * m - w, 16 * m - w}, b2[3] = {12 * m, 16 * m, 20 * m};
    for (int k = 0; k < 3; k++) CHECK(s->border1[k] == b1[k] && s->border2[k] == b2[k]);
    CHECK(sbt_forecast_count(d, SBT_FC_TRAIN) == 34560 - (w - 1));
    CHECK(sbt_forecast_count(d, SBT_FC_VAL) == 11520 && sbt_forecast_count(d, SBT_FC_TEST) == 11520);
    CHECK(d->time[1] - d->time[0] == 900);
    check_split_shape(s);
    sbt_forecast_free(d);
}

/* The custom 0.7 / 0.1 / 0.2 split on the other files, each with its own date format. */
static void check_custom(const char *rel, int64_t rows, int channels, int64_t n_train, int64_t n_val,
                         int64_t n_test, int64_t step) {
    sbt_forecast_data *d = NULL;
    sbt_forecast_options o = sbt_forecast_defaults();
    o.allow_duplicate_rows = 1;
    sbt_status st = sbt_forecast_load(data_path(rel), &o, &d);
    CHECK_MSG(st == SBT_OK, "%s: %s", rel, sbt_last_error());
    REQUIRE(d);
    const sbt_forecast_split *s = &d->split;
    CHECK(s->scheme == SBT_SPLIT_CUSTOM);
    CHECK_MSG(d->series.steps == rows && d->series.channels == channels, "%s: %lld x %d", rel,
              (long long)d->series.steps, d->series.channels);
    CHECK(s->row_end[0] == n_train && s->row_end[1] - s->row_begin[1] == n_val);
    CHECK(s->row_end[2] - s->row_begin[2] == n_test && s->row_end[2] == rows);
    CHECK(s->border1[1] == n_train - 200 && s->border1[2] == rows - n_test - 200);
    CHECK(sbt_forecast_count(d, SBT_FC_TRAIN) == n_train - 199);
    CHECK(sbt_forecast_count(d, SBT_FC_VAL) == n_val && sbt_forecast_count(d, SBT_FC_TEST) == n_test);
    CHECK(d->time[1] - d->time[0] == step);
    check_split_shape(s);
    sbt_forecast_free(d);
}

static void test_split_custom(void) {
    /* WTH: int(35064 * 0.7) = 24544, int(35064 * 0.2) = 7012, val the remaining 3508. */
    check_custom("WTH/WTH.csv", 35064, 12, 24544, 3508, 7012, 3600);
    check_custom("electricity_subset/electricity_first6clients.csv", 26304, 6, 18412, 2632, 5260, 3600);
    check_custom("weather/weather.csv.gz", 52696, 21, 36887, 5270, 10539, 600);
}

/* weather.csv repeats one record; strict by default, kept (as Informer does) on request. */
static void test_duplicate_rows(void) {
    sbt_forecast_data *d = NULL;
    CHECK(sbt_forecast_load(data_path("weather/weather.csv.gz"), NULL, &d) == SBT_ERR_PARSE);
    CHECK_MSG(strstr(sbt_last_error(), "weather.csv.gz:19046:") && strstr(sbt_last_error(), "repeats"), "%s",
              sbt_last_error());
    sbt_forecast_options o = sbt_forecast_defaults();
    o.allow_duplicate_rows = 1;
    o.window = 2;
    o.scheme = SBT_SPLIT_CUSTOM;
    const char *text = "date,a,b\n2016-07-01 00:00,1,2\n2016-07-01 01:00,1,2\n2016-07-01 01:00,1,3\n";
    write_file("fc_dup.csv", text);
    CHECK(sbt_forecast_load("fc_dup.csv", &o, &d) == SBT_ERR_PARSE); /* same stamp, other values */
    CHECK_MSG(strstr(sbt_last_error(), "fc_dup.csv:4:") && !strstr(sbt_last_error(), "repeats"), "%s",
              sbt_last_error());
    remove("fc_dup.csv");
    CHECK(d == NULL);
}

/* The statistics are those of the train rows, computed here directly from the CSV. */
static void test_zscore_train_only(void) {
    REQUIRE(etth1);
    sbt_table *t = NULL;
    REQUIRE(sbt_csv_read(data_path("ETTh1/ETTh1.csv"), "date", &t) == SBT_OK);
    int C = t->cols;
    for (int c = 0; c < C; c++) {
        double sum = 0, sq = 0, all = 0;
        for (int r = 0; r < 8640; r++) sum += t->values[r * C + c];
        double m = sum / 8640;
        for (int r = 0; r < 8640; r++) sq += (t->values[r * C + c] - m) * (t->values[r * C + c] - m);
        for (int r = 0; r < t->rows; r++) all += t->values[r * C + c];
        CHECK_NEAR(etth1->mean[c], m, 1e-5 * (1 + fabs(m)));
        CHECK_NEAR(etth1->std[c], sqrt(sq / 8640), 1e-5 * sqrt(sq / 8640));
        CHECK(fabs(all / t->rows - m) > 1e-3); /* the full-file mean differs: train only */
        double zs = 0;
        for (int r = 0; r < 8640; r++) zs += etth1->series.x[r * C + c];
        CHECK_NEAR(zs / 8640, 0.0, 1e-4);
    }
    sbt_table_free(t);
    /* Changing every row after train leaves the statistics alone. */
    float vals[100 * 2];
    for (int r = 0; r < 100; r++) {
        vals[2 * r] = r < 70 ? (float)(r % 5) : 1e6f;
        vals[2 * r + 1] = r < 70 ? 3.0f : -7.0f; /* constant in train */
    }
    char *names[2] = {"a", "b"};
    sbt_table tab = {.rows = 100, .cols = 2, .values = vals, .col_names = names};
    sbt_forecast_options o = sbt_forecast_defaults();
    o.date_column = NULL;
    o.scheme = SBT_SPLIT_CUSTOM;
    o.window = 5;
    sbt_forecast_data *d = NULL;
    CHECK(sbt_forecast_from_table(&tab, "hand", &o, &d) == SBT_OK);
    REQUIRE(d);
    CHECK_NEAR(d->mean[0], 2.0, 1e-6);
    CHECK_NEAR(d->std[0], sqrt(2.0), 1e-6);
    CHECK_NEAR(d->mean[1], 3.0, 1e-6);
    CHECK(d->std[1] == 1.0f); /* zero variance: divide by 1, as StandardScaler */
    CHECK(d->series.x[99 * 2 + 1] == -10.0f);
    CHECK(d->time == NULL);
    sbt_forecast_free(d);
}

static void test_windows(void) {
    REQUIRE(etth1);
    sbt_table *t = NULL;
    REQUIRE(sbt_csv_read(data_path("ETTh1/ETTh1.csv"), "date", &t) == SBT_OK);
    enum { W = 200, C = 7, N = 5 };
    int64_t rows[N] = {W - 1, 8640, 11520, 14399, 9000};
    float *x = malloc(sizeof(float) * N * W * C), y[N * C];
    REQUIRE(x);
    CHECK(sbt_forecast_batch(etth1, rows, N, x, y) == SBT_OK);
    int ok = 1, zero = 1;
    for (int i = 0; i < N; i++) {
        for (int s = 0; s < W; s++)
            for (int c = 0; c < C; c++) {
                float got = x[((size_t)i * W + s) * C + c];
                int64_t r = rows[i] - (W - 1) + s; /* the window ends at the target row */
                float want = (t->values[r * C + c] - etth1->mean[c]) / etth1->std[c];
                if (s == W - 1)
                    zero &= got == 0.0f;
                else
                    ok &= fabsf(got - want) <= 1e-6f * (1 + fabsf(want));
            }
        for (int c = 0; c < C; c++) {
            float want = (t->values[rows[i] * C + c] - etth1->mean[c]) / etth1->std[c];
            ok &= fabsf(y[i * C + c] - want) <= 1e-6f * (1 + fabsf(want));
        }
    }
    CHECK(ok);
    CHECK(zero);
    int64_t bad[2] = {W - 2, 17420};
    CHECK(sbt_forecast_batch(etth1, bad, 1, x, y) == SBT_ERR_ARG);
    CHECK(sbt_forecast_batch(etth1, bad + 1, 1, x, NULL) == SBT_ERR_ARG);
    free(x);
    sbt_table_free(t);
}

/* The frame of the last observed step: rows 0..w-2 and the target move by row w-2, the
 * zeroed target row stays zero, and target minus input differences are unchanged. */
static void test_relative_to_last(void) {
    REQUIRE(etth1);
    enum { W = 200, C = 7, N = 3 }; /* the window etth1 was loaded with */
    int64_t rows[N] = {W - 1, 9000, 14399};
    float x[N * W * C], y[N * C], rx[N * W * C], ry[N * C];
    REQUIRE(sbt_forecast_batch(etth1, rows, N, x, y) == SBT_OK);
    memcpy(rx, x, sizeof x);
    memcpy(ry, y, sizeof y);
    sbt_forecast_relative_to_last(rx, ry, N, W, C);
    int ok = 1;
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            float last = x[(i * W + W - 2) * C + c];
            for (int s = 0; s < W - 1; s++) ok &= rx[(i * W + s) * C + c] == x[(i * W + s) * C + c] - last;
            ok &= rx[(i * W + W - 2) * C + c] == 0.0f && rx[(i * W + W - 1) * C + c] == 0.0f;
            ok &= ry[i * C + c] == y[i * C + c] - last;
        }
    CHECK(ok);
    /* a target-free call (inference) moves the inputs alone */
    memcpy(rx, x, sizeof x);
    sbt_forecast_relative_to_last(rx, NULL, N, W, C);
    CHECK(rx[0] == x[0] - x[(W - 2) * C]);
}

static void test_metrics(void) {
    const float pred[4] = {1, 2, 3, 4}, target[4] = {0, 2, 5, 4}, std[2] = {2, 10};
    sbt_forecast_accum a = {0};
    sbt_forecast_metrics m = sbt_forecast_accum_result(&a);
    CHECK(isnan(m.mse) && m.count == 0);
    sbt_forecast_accum_add(&a, pred, target, 2, 2, std);
    m = sbt_forecast_accum_result(&a);
    /* errors (1, 0, -2, 0); in units (2, 0, -4, 0) */
    CHECK_NEAR(m.mse, 1.25, 1e-12);
    CHECK_NEAR(m.mae, 0.75, 1e-12);
    CHECK_NEAR(m.mse_raw, 5.0, 1e-12);
    CHECK_NEAR(m.mae_raw, 1.5, 1e-12);
    CHECK(m.count == 4);
    sbt_forecast_accum b = {0};
    sbt_forecast_accum_add(&b, pred, target, 1, 2, std);
    sbt_forecast_accum_add(&b, pred + 2, target + 2, 1, 2, std);
    sbt_forecast_metrics mb = sbt_forecast_accum_result(&b);
    CHECK(mb.mse == m.mse && mb.mae_raw == m.mae_raw && mb.count == 4);
    sbt_forecast_accum c = {0};
    sbt_forecast_accum_add(&c, pred, target, 2, 2, NULL);
    CHECK(sbt_forecast_accum_result(&c).mse_raw == 1.25);
}

static void test_persistence_etth1(void) {
    REQUIRE(etth1);
    sbt_forecast_metrics m;
    CHECK(sbt_forecast_persistence(etth1, SBT_FC_TEST, &m) == SBT_OK);
    printf(
        "ETTh1 test persistence: MSE %.4f MAE %.4f (standardised), MSE %.4f MAE %.4f (units), %lld values\n",
        m.mse, m.mae, m.mse_raw, m.mae_raw, (long long)m.count);
    CHECK(isfinite(m.mse) && m.mse > 0 && isfinite(m.mae) && m.mae > 0);
    CHECK(m.count == 2880 * 7);
    /* The same number from the windows: the last observed step of each test window. */
    enum { W = 200, C = 7 };
    float *x = malloc(sizeof(float) * W * C), y[C];
    REQUIRE(x);
    sbt_forecast_accum a = {0};
    for (int64_t t = etth1->split.target_begin[SBT_FC_TEST]; t < etth1->split.target_end[SBT_FC_TEST]; t++) {
        if (sbt_forecast_batch(etth1, &t, 1, x, y) != SBT_OK) break;
        sbt_forecast_accum_add(&a, x + (W - 2) * C, y, 1, C, etth1->std);
    }
    sbt_forecast_metrics w = sbt_forecast_accum_result(&a);
    CHECK_NEAR(w.mse, m.mse, 1e-9);
    CHECK_NEAR(w.mae_raw, m.mae_raw, 1e-9);
    CHECK(sbt_forecast_persistence(etth1, 3, &m) == SBT_ERR_ARG);
    free(x);
}

int main(void) {
    RUN(test_date_formats);
    RUN(test_bad_dates);
    RUN(test_dates_in_files);
    RUN(test_schemes);
    RUN(test_split_etth1);
    RUN(test_split_ettm1);
    RUN(test_split_custom);
    RUN(test_duplicate_rows);
    RUN(test_zscore_train_only);
    RUN(test_windows);
    RUN(test_relative_to_last);
    RUN(test_metrics);
    RUN(test_persistence_etth1);
    sbt_forecast_free(etth1);
    return check_summary();
}
