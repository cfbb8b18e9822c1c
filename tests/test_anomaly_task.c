/* Anomaly detection on windows: the splits of sbt_anomaly_windows (chronological
 * validation from train, every test step scored), z-score from the training rows only,
 * and labels placed at the test rows. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "sbt/forecast.h"

static void test_windows_layout(void) {
    sbt_series *train = NULL, *test = NULL;
    REQUIRE(sbt_series_new(10, 2, 0, &train) == SBT_OK);
    REQUIRE(sbt_series_new(5, 2, 1, &test) == SBT_OK);
    for (int t = 0; t < 10; t++) train->x[2 * t] = (float)t, train->x[2 * t + 1] = 1.0f;
    for (int t = 0; t < 5; t++) test->x[2 * t] = 100.0f, test->x[2 * t + 1] = 1.0f, test->label[t] = t == 3;
    sbt_forecast_data *d = NULL;
    REQUIRE(sbt_anomaly_windows(train, test, 3, 0.2, &d) == SBT_OK);
    /* train targets [w-1, 8), validation [8, 10), test [10, 15) */
    CHECK(d->split.target_begin[SBT_FC_TRAIN] == 2 && d->split.target_end[SBT_FC_TRAIN] == 8);
    CHECK(d->split.target_begin[SBT_FC_VAL] == 8 && d->split.target_end[SBT_FC_VAL] == 10);
    CHECK(d->split.target_begin[SBT_FC_TEST] == 10 && d->split.target_end[SBT_FC_TEST] == 15);
    CHECK(sbt_forecast_count(d, SBT_FC_TEST) == 5);
    /* statistics of rows 0..7 only: mean 3.5, population std sqrt(5.25); the test's 100s
     * and the validation rows do not move them; a constant channel gets std 1 */
    CHECK_NEAR(d->mean[0], 3.5, 1e-6);
    CHECK_NEAR(d->std[0], sqrt(5.25), 1e-6);
    CHECK_NEAR(d->std[1], 1.0, 1e-6);
    CHECK_NEAR(d->series.x[2 * 12], (100.0 - 3.5) / sqrt(5.25), 1e-4);
    for (int t = 0; t < 15; t++) CHECK(d->series.label[t] == (t == 13));
    /* the first test window reaches back into the train rows */
    float x[3 * 2], y[2];
    int64_t row = 10;
    REQUIRE(sbt_forecast_batch(d, &row, 1, x, y) == SBT_OK);
    CHECK_NEAR(x[0], (8.0 - 3.5) / sqrt(5.25), 1e-5);
    CHECK(x[4] == 0.0f && x[5] == 0.0f); /* the predicted step's input is zeroed */
    CHECK_NEAR(y[0], (100.0 - 3.5) / sqrt(5.25), 1e-4);
    sbt_forecast_free(d);
    sbt_series_free(train);
    sbt_series_free(test);
}

static void test_windows_errors(void) {
    sbt_series *train = NULL, *test = NULL, *unlabelled = NULL;
    REQUIRE(sbt_series_new(10, 2, 0, &train) == SBT_OK && sbt_series_new(5, 2, 1, &test) == SBT_OK);
    REQUIRE(sbt_series_new(5, 2, 0, &unlabelled) == SBT_OK);
    sbt_forecast_data *d = NULL;
    CHECK(sbt_anomaly_windows(train, unlabelled, 3, 0.2, &d) == SBT_ERR_ARG && d == NULL);
    CHECK(sbt_anomaly_windows(train, test, 9, 0.2, &d) == SBT_ERR_SHAPE); /* windows longer than train */
    CHECK(strstr(sbt_last_error(), "too few") != NULL);
    sbt_series_free(train);
    sbt_series_free(test);
    sbt_series_free(unlabelled);
}

int main(void) {
    RUN(test_windows_layout);
    RUN(test_windows_errors);
    return check_summary();
}
