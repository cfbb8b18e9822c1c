/* fuzz_nasa_labels.c - libFuzzer target for the NASA label file (labeled_anomalies.csv)
 * as sbt_nasa_list and sbt_nasa_read read it: quoted fields, anomaly ranges, num_values.
 *
 * The input is the label file of a scratch folder whose channel "X" has a 4-step train
 * and a 4-step test array. Listing must fail with a message or name each channel once;
 * reading channel X of MSL must fail or label exactly the 4 test steps with 0/1.
 * Built with -DFUZZ_SEED_MAIN it writes a seed corpus cut from the real label file.
 */
#include "fuzz_util.h"
#include "sbt/anomaly.h"

static char nasa_dir[64];

static const char ARRAY[] =
    "\x93NUMPY\x01\x00\x3a\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }"
    "\n\0\0\x80\x3f\0\0\0\x40\0\0\x40\x40\0\0\x80\x40";

static void remove_dir(void) {
    char p[128];
    snprintf(p, sizeof p, "%s/train/X.npy", nasa_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/test/X.npy", nasa_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/train", nasa_dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/test", nasa_dir);
    rmdir(p);
    rmdir(nasa_dir);
}

static void make_dir(void) {
    snprintf(nasa_dir, sizeof nasa_dir, "/tmp/sbt-fuzz-nasa.XXXXXX");
    if (!mkdtemp(nasa_dir)) abort();
    atexit(remove_dir);
    static const char *const parts[] = {"train", "test"};
    for (int k = 0; k < 2; k++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", nasa_dir, parts[k]);
        if (mkdir(p, 0700)) abort();
        snprintf(p, sizeof p, "%s/%s/X.npy", nasa_dir, parts[k]);
        FILE *f = fopen(p, "wb");
        if (!f || fwrite(ARRAY, 1, sizeof ARRAY - 1, f) != sizeof ARRAY - 1 || fclose(f)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!nasa_dir[0]) make_dir();
    const char *labels = fuzz_input_file(0, data, size);
    for (unsigned flags = 0; flags < 2; flags++) {
        sbt_entity_list *l = NULL;
        sbt_status st = sbt_nasa_list(nasa_dir, labels, "MSL", flags ? SBT_NASA_DROP_DUPLICATED : 0, &l);
        if (st != SBT_OK) {
            fuzz_expect_failure(st, l);
            continue;
        }
        for (int i = 0; i < l->count; i++)
            for (int j = 0; j < i; j++)
                if (!strcmp(l->names[i], l->names[j])) abort();
        sbt_entity_list_free(l);
    }
    sbt_series *train = NULL, *test = NULL;
    sbt_status st = sbt_nasa_read(nasa_dir, labels, "MSL", "X", &train, &test);
    if (st != SBT_OK) {
        fuzz_expect_failure(st, train ? (void *)train : (void *)test);
        return 0;
    }
    if (test->steps != 4 || !test->label) abort();
    for (int t = 0; t < 4; t++)
        if (test->label[t] > 1) abort();
    sbt_series_free(train);
    sbt_series_free(test);
    return 0;
}

#ifdef FUZZ_SEED_MAIN
int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    int bad = fuzz_seed_lines(argv[1], "labeled_anomalies.csv", "anomaly/SMAP_MSL/labeled_anomalies.csv", 6);
    static const char x[] = "chan_id,spacecraft,anomaly_sequences,class,num_values\n"
                            "X,MSL,\"[[0, 1], [3, 3]]\",\"[point, contextual]\",4\n"
                            "X,MSL,\"[[2, 2]]\",[point],4\n";
    bad |= fuzz_write_seed(argv[1], "x.csv", x, sizeof x - 1);
    return bad;
}
#endif
