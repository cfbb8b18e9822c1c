/* fuzz_datetime.c - libFuzzer target for the date-time parser of forecasting CSVs
 * (sbt_datetime_parse) and its inverse (sbt_datetime_format).
 *
 * A text must be rejected with a message, or parse to a stamp that formats to
 * "YYYY-MM-DD HH:MM:SS" and parses back to the same stamp.
 * Built with -DFUZZ_SEED_MAIN it writes the first date of each forecasting CSV as seeds.
 */
#include "fuzz_util.h"
#include "sbt/forecast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 256) return 0;
    char text[257];
    memcpy(text, data, size);
    text[size] = '\0';
    int64_t s = 0, again = 0;
    sbt_status st = sbt_datetime_parse(text, &s);
    if (st != SBT_OK) {
        if (st != SBT_ERR_PARSE || s != 0 || !*sbt_last_error()) abort();
        return 0;
    }
    char buf[64];
    sbt_datetime_format(s, buf, sizeof buf);
    if (sbt_datetime_parse(buf, &again) != SBT_OK || again != s) abort();
    return 0;
}

#ifdef FUZZ_SEED_MAIN
/* The date of data row `row` (1 = the first after the header) of a forecasting CSV. */
static int date_seed(const char *dir, const char *name, const char *rel, int row) {
    size_t n = 0;
    unsigned char *buf = fuzz_read_head(fuzz_data_path(rel), 4096, &n);
    if (!buf) return 1;
    char *p = (char *)buf;
    for (int l = 0; l < row && p; l++) p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    int bad = 1;
    if (p) {
        size_t len = strcspn(p, ",\r\n");
        bad = fuzz_write_seed(dir, name, p, len);
    }
    free(buf);
    return bad;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    int bad = date_seed(argv[1], "etth1", "forecasting/ETTh1/ETTh1.csv", 1);
    bad |= date_seed(argv[1], "ettm1", "forecasting/ETTm1/ETTm1.csv.gz", 5);
    bad |= date_seed(argv[1], "wth", "forecasting/WTH/WTH.csv", 3);
    bad |= date_seed(argv[1], "weather", "forecasting/weather/weather.csv.gz", 2);
    bad |= date_seed(argv[1], "ecl", "forecasting/electricity_subset/electricity_first6clients.csv", 1);
    bad |= fuzz_write_seed(argv[1], "iso_t", "2016-02-29T23:59:59", 19);
    return bad;
}
#endif
