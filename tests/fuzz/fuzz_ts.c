/* fuzz_ts.c - libFuzzer target for the UEA .ts reader (sbt_ts_read).
 *
 * Any input must either be rejected (a status, a message, no dataset) or give a dataset
 * whose sizes agree with each other: every length in [1, length], every label a class, no
 * NaN left after the interpolation of missing values. The input is read twice: alone, and
 * against the labels of a small real training file (the TEST-against-TRAIN path).
 * Built with -DFUZZ_SEED_MAIN it writes a seed corpus cut from the UEA files in SBT_DATA.
 */
#include <math.h>

#include "fuzz_util.h"
#include "sbt/data.h"

static void check_dataset(const sbt_dataset *ds) {
    if (ds->n < 1 || ds->channels < 1 || ds->length < 1 || !ds->x || !ds->len) abort();
    for (int i = 0; i < ds->n; i++) {
        if (ds->len[i] < 1 || ds->len[i] > ds->length) abort();
        if (ds->y && (ds->y[i] < 0 || ds->y[i] >= ds->n_classes)) abort();
    }
    size_t values = (size_t)ds->n * (size_t)ds->length * (size_t)ds->channels;
    for (size_t k = 0; k < values; k++)
        if (!isfinite(ds->x[k])) abort();
    for (int c = 0; c < ds->n_classes; c++)
        if (!ds->class_names[c]) abort();
}

static const char REF[] = "@problemName ref\n@timeStamps false\n@missing false\n@univariate false\n"
                          "@dimensions 2\n@equalLength true\n@seriesLength 2\n@classLabel true 1 2 3\n"
                          "@data\n1,2:3,4:1\n5,6:7,8:2\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static sbt_dataset *ref;
    if (!ref && sbt_ts_read(fuzz_input_file(1, (const uint8_t *)REF, sizeof REF - 1), NULL, &ref)) abort();
    const char *path = fuzz_input_file(0, data, size);
    for (int pass = 0; pass < 2; pass++) {
        sbt_dataset *ds = NULL;
        sbt_status st = sbt_ts_read(path, pass ? ref : NULL, &ds);
        if (st != SBT_OK) {
            fuzz_expect_failure(st, ds);
            continue;
        }
        check_dataset(ds);
        if (pass && ds->n_classes != ref->n_classes) abort();
        sbt_dataset_free(ds);
    }
    return 0;
}

#ifdef FUZZ_SEED_MAIN
int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    static const char *const sets[] = {"JapaneseVowels", "BasicMotions", "PenDigits", "Epilepsy",
                                       "AtrialFibrillation"};
    int bad = 0;
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        char rel[256], name[256];
        snprintf(rel, sizeof rel, "classification/%s/%s_TRAIN.ts", sets[i], sets[i]);
        snprintf(name, sizeof name, "%s.ts", sets[i]);
        bad |= fuzz_seed_lines(argv[1], name, rel, 18); /* the header and a few cases */
    }
    bad |= fuzz_write_seed(argv[1], "ref.ts", REF, sizeof REF - 1);
    static const char missing[] = "@problemName m\n@missing true\n@dimensions 2\n@equalLength false\n"
                                  "@classLabel true a b\n@data\n1,?,3:?,2:a\n4,NaN:5,6:b\n";
    bad |= fuzz_write_seed(argv[1], "missing.ts", missing, sizeof missing - 1);
    return bad;
}
#endif
