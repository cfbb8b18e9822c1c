/* fuzz_series_csv.c - libFuzzer target for the strict labelled CSV reader of anomaly data
 * (sbt_series_read_csv).
 *
 * The input is read with and without a time and a label column (the names are those of
 * the seeds). A series must have its sizes, finite values only (the reader fills
 * nothing in) and 0/1 labels; a rejection must leave a message and no series.
 * Built with -DFUZZ_SEED_MAIN it writes a seed corpus cut from the forecasting CSVs (a
 * label column added) and a small labelled file.
 */
#include <math.h>

#include "fuzz_util.h"
#include "sbt/anomaly.h"

static void check_series(const sbt_series *s, int labelled) {
    if (s->steps < 1 || s->channels < 1 || !s->x || !s->channel_names) abort();
    if (labelled && !s->label) abort();
    for (size_t k = 0; k < (size_t)s->steps * (size_t)s->channels; k++)
        if (!isfinite(s->x[k])) abort();
    for (int64_t t = 0; s->label && t < s->steps; t++)
        if (s->label[t] > 1) abort();
    for (int c = 0; c < s->channels; c++)
        if (!s->channel_names[c]) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_input_file(0, data, size);
    static const struct {
        const char *time, *label;
        unsigned flags;
    } reads[] = {{NULL, NULL, 0}, {"date", "label", 0}, {"date", "label", SBT_CSV_LABEL_OPTIONAL}};
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        sbt_series *s = NULL;
        sbt_status st = sbt_series_read_csv(path, reads[i].time, reads[i].label, reads[i].flags, &s);
        if (st != SBT_OK) {
            fuzz_expect_failure(st, s);
            continue;
        }
        check_series(s, reads[i].label && !(reads[i].flags & SBT_CSV_LABEL_OPTIONAL));
        sbt_series_free(s);
    }
    return 0;
}

#ifdef FUZZ_SEED_MAIN
/* The first rows of a forecasting CSV with a label column appended (1 on every third row). */
static int labelled_seed(const char *dir, const char *name, const char *rel) {
    size_t n = 0;
    unsigned char *buf = fuzz_read_head(fuzz_data_path(rel), 4096, &n);
    if (!buf) return 1;
    char out[8192];
    size_t o = 0;
    int line = 0;
    for (size_t i = 0; i < n && line < 10 && o + 16 < sizeof out; i++) {
        if (buf[i] == '\r') continue;
        if (buf[i] == '\n') {
            o += (size_t)snprintf(out + o, sizeof out - o, line ? ",%d\n" : ",label\n", line % 3 == 0);
            line++;
        } else {
            out[o++] = (char)buf[i];
        }
    }
    free(buf);
    return fuzz_write_seed(dir, name, out, o);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    int bad = labelled_seed(argv[1], "etth1.csv", "forecasting/ETTh1/ETTh1.csv");
    bad |= labelled_seed(argv[1], "wth.csv", "forecasting/WTH/WTH.csv");
    bad |= labelled_seed(argv[1], "weather.csv", "forecasting/weather/weather.csv.gz");
    bad |= fuzz_seed_lines(argv[1], "ecl.csv", "forecasting/electricity_subset/electricity_first6clients.csv",
                           10);
    static const char quoted[] = "\xEF\xBB\xBF\"date\",\"u\",v,label\r\n0,0.5,\"1e3\",0\r\n1,-2,3,1\r\n";
    bad |= fuzz_write_seed(argv[1], "quoted.csv", quoted, sizeof quoted - 1);
    return bad;
}
#endif
