/* fuzz_csv.c - libFuzzer target for the numeric CSV reader (sbt_csv_read) and the table
 * conversions built on it (sbt_table_to_dataset, sbt_series_from_table).
 *
 * The input is read with the date column skipped and without, strictly and with linear
 * filling. A table must have consistent sizes and, when read, finite values only (the
 * strict read refuses missing cells, the filling read fills every one of them).
 * Built with -DFUZZ_SEED_MAIN it writes a seed corpus cut from the forecasting CSVs.
 */
#include <math.h>

#include "fuzz_util.h"
#include "sbt/anomaly.h"
#include "sbt/data.h"

static void check_table(const sbt_table *t, int with_keys) {
    if (t->rows < 1 || t->cols < 1 || !t->values || !t->col_names) abort();
    if (with_keys != (t->row_keys != NULL)) abort();
    for (size_t k = 0; k < (size_t)t->rows * (size_t)t->cols; k++)
        if (!isfinite(t->values[k])) abort();
    for (int r = 0; t->row_keys && r < t->rows; r++)
        if (!t->row_keys[r]) abort();
}

static void conversions(const sbt_table *t) {
    if (t->cols < 2) return;
    sbt_dataset *ds = NULL;
    sbt_status st = sbt_table_to_dataset(t, t->col_names[0], t->col_names[t->cols - 1], NULL, &ds);
    if (st != SBT_OK)
        fuzz_expect_failure(st, ds);
    else if (ds->n < 1 || ds->channels != t->cols - 2)
        abort();
    sbt_dataset_free(ds);
    sbt_series *s = NULL;
    st = sbt_series_from_table(t, t->col_names[t->cols - 1], &s);
    if (st != SBT_OK)
        fuzz_expect_failure(st, s);
    else if (s->steps != t->rows || s->channels != t->cols - 1 || !s->label)
        abort();
    sbt_series_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_input_file(0, data, size);
    for (int pass = 0; pass < 4; pass++) {
        const char *skip = pass & 1 ? "date" : NULL;
        unsigned flags = pass & 2 ? SBT_CSV_FILL_LINEAR : 0;
        sbt_table *t = NULL;
        sbt_status st = sbt_csv_read_flags(path, skip, flags, &t);
        if (st != SBT_OK) {
            fuzz_expect_failure(st, t);
            continue;
        }
        check_table(t, skip != NULL);
        if (!(flags & SBT_CSV_FILL_LINEAR) && t->filled) abort();
        if (pass == 2) conversions(t);
        sbt_table_free(t);
    }
    return 0;
}

#ifdef FUZZ_SEED_MAIN
int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    int bad = fuzz_seed_lines(argv[1], "etth1.csv", "forecasting/ETTh1/ETTh1.csv", 12);
    bad |= fuzz_seed_lines(argv[1], "wth.csv", "forecasting/WTH/WTH.csv", 12);
    bad |= fuzz_seed_lines(argv[1], "weather.csv", "forecasting/weather/weather.csv.gz", 8);
    bad |= fuzz_seed_lines(argv[1], "ecl.csv", "forecasting/electricity_subset/electricity_first6clients.csv",
                           12);
    static const char gaps[] = "date,a,b\n2016-07-01 00:00:00,1,\n2016-07-01 01:00:00,,2\n"
                               "2016-07-01 02:00:00,nan,3\n2016-07-01 03:00:00,4,5\n";
    bad |= fuzz_write_seed(argv[1], "gaps.csv", gaps, sizeof gaps - 1);
    return bad;
}
#endif
