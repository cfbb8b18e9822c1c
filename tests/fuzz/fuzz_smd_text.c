/* fuzz_smd_text.c - libFuzzer target for the SMD text files read by sbt_smd_read: the
 * official headerless comma-separated rows (train/ and test/) and the label file
 * (test_label/, one 0 or 1 per line).
 *
 * The input is split at NUL bytes into the train text, the test text (default: the train
 * text) and the labels, each put in place of machine "m" of a scratch SMD folder. A read
 * must fail with a message and no series, or give train and test of one channel count with
 * finite values and one 0/1 label per test step.
 * Built with -DFUZZ_SEED_MAIN it writes a seed corpus cut from SMD machine-1-6.
 */
#include <math.h>

#include "fuzz_util.h"
#include "sbt/anomaly.h"

static char smd_dir[64];

static void remove_dir(void) {
    static const char *const parts[] = {"train", "test", "test_label"};
    char p[128];
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "%s/%s/m.txt", smd_dir, parts[k]);
        unlink(p);
        snprintf(p, sizeof p, "%s/%s", smd_dir, parts[k]);
        rmdir(p);
    }
    rmdir(smd_dir);
}

/* A scratch SMD folder whose files are links to the input slots 0, 1, 2. */
static void make_dir(void) {
    static const char *const parts[] = {"train", "test", "test_label"};
    snprintf(smd_dir, sizeof smd_dir, "/tmp/sbt-fuzz-smd.XXXXXX");
    if (!mkdtemp(smd_dir)) abort();
    atexit(remove_dir);
    for (int k = 0; k < 3; k++) {
        char sub[128], link[160];
        snprintf(sub, sizeof sub, "%s/%s", smd_dir, parts[k]);
        snprintf(link, sizeof link, "%s/m.txt", sub);
        if (mkdir(sub, 0700) || symlink(fuzz_input_file(k, NULL, 0), link)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!smd_dir[0]) make_dir();
    const uint8_t *part[3] = {data, NULL, NULL};
    size_t len[3] = {size, 0, 0};
    for (int k = 0; k < 2; k++) {
        const uint8_t *nul = part[k] ? memchr(part[k], 0, len[k]) : NULL;
        if (!nul) break;
        part[k + 1] = nul + 1;
        len[k + 1] = len[k] - (size_t)(nul + 1 - part[k]);
        len[k] = (size_t)(nul - part[k]);
    }
    if (!part[1]) part[1] = part[0], len[1] = len[0];
    for (int k = 0; k < 3; k++) fuzz_input_file(k, part[k], len[k]);
    sbt_series *train = NULL, *test = NULL;
    sbt_status st = sbt_smd_read(smd_dir, "m", &train, &test);
    if (st != SBT_OK) {
        fuzz_expect_failure(st, train ? (void *)train : (void *)test);
        return 0;
    }
    if (train->channels != test->channels || !test->label || train->label) abort();
    for (size_t i = 0; i < (size_t)train->steps * (size_t)train->channels; i++)
        if (!isfinite(train->x[i])) abort();
    for (int64_t t = 0; t < test->steps; t++)
        if (test->label[t] > 1) abort();
    sbt_series_free(train);
    sbt_series_free(test);
    return 0;
}

#ifdef FUZZ_SEED_MAIN
/* The first rows of a real SMD array as official text rows. */
static size_t text_rows(const char *rel, int rows, char *out, size_t cap) {
    sbt_series *s = NULL;
    if (sbt_npy_read(fuzz_data_path(rel), 0, &s) != SBT_OK) {
        fprintf(stderr, "seed: %s\n", sbt_last_error());
        return 0;
    }
    size_t o = 0;
    for (int t = 0; t < rows && t < s->steps; t++)
        for (int c = 0; c < s->channels && o + 32 < cap; c++)
            o += (size_t)snprintf(out + o, cap - o, "%.6g%s", (double)s->x[(size_t)t * s->channels + c],
                                  c + 1 < s->channels ? "," : "\n");
    sbt_series_free(s);
    return o;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    static char buf[1 << 16];
    size_t n = text_rows("anomaly/SMD/train/machine-1-6.npy.gz", 3, buf, sizeof buf / 2);
    if (!n) return 1;
    int bad = fuzz_write_seed(argv[1], "train_only.txt", buf, n); /* test = train, no labels */
    buf[n++] = 0;
    size_t m = text_rows("anomaly/SMD/test/machine-1-6.npy.gz", 3, buf + n, sizeof buf / 2);
    if (!m) return 1;
    n += m;
    buf[n++] = 0;
    memcpy(buf + n, "0\n1\n0\n", 6);
    bad |= fuzz_write_seed(argv[1], "machine-1-6.txt", buf, n + 6);
    size_t k = 0;
    unsigned char *labels = fuzz_read_head(fuzz_data_path("anomaly/SMD/test_label/machine-1-6.txt"), 64, &k);
    if (labels) {
        bad |= fuzz_write_seed(argv[1], "labels.txt", labels, k);
        free(labels);
    }
    return bad;
}
#endif
