/* Readers against hostile input: what the fuzz targets (tests/fuzz/) and issue 16 found,
 * one check per finding, plus the checks that keep the fixes in place.
 *   - .npy: a small file whose header claims a huge shape must be refused before the values
 *     are allocated, plain or gzip, with the file named (the SMD/NASA arrays go through it);
 *   - config text: integers beyond int (channels=4294967298 was read as 2) and negative
 *     seeds are errors naming the key;
 *   - split rules and the forecast CSV's missing cells (error by default, filled on request).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "sbt/anomaly.h"
#include "sbt/data.h"
#include "sbt/forecast.h"
#include "sbt/model.h"

static char tmp_dir[64];

static const char *tmp_path(const char *name) {
    static char paths[4][512];
    static int slot;
    char *p = paths[slot++ % 4];
    snprintf(p, 512, "%s/%s", tmp_dir, name);
    return p;
}

static const char *write_file(const char *name, const void *data, size_t n, int gzip) {
    const char *p = tmp_path(name);
    if (gzip) {
        gzFile f = gzopen(p, "wb");
        if (!f || gzwrite(f, data, (unsigned)n) != (int)n || gzclose(f) != Z_OK) return NULL;
        return p;
    }
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f)) return NULL;
    return p;
}

/* A format 1.0 header for `dict` followed by `data_bytes` bytes of data. */
static size_t npy_bytes(const char *dict, size_t data_bytes, unsigned char *out, size_t cap) {
    size_t d = strlen(dict), h = d + 1, n = 10 + h + data_bytes;
    if (n > cap) return 0;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (unsigned char)(h & 0xff);
    out[9] = (unsigned char)(h >> 8);
    memcpy(out + 10, dict, d);
    out[10 + d] = '\n';
    memset(out + 10 + h, 0, data_bytes);
    return n;
}

/* Issue 16: 128 bytes claiming (100000000000, 38) made the reader ask for 15 TB (244 GB in the
 * report's case) before looking at the data; now the size is checked first (plain) or memory
 * follows the data read (gzip), and the message names the file. */
static void test_npy_huge_shape(void) {
    unsigned char buf[256];
    size_t n = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 38), }", 48, buf,
                         sizeof buf);
    REQUIRE(n > 0);
    sbt_series *s = NULL;
    const char *plain = write_file("huge.npy", buf, n, 0);
    REQUIRE(plain);
    CHECK(sbt_npy_read(plain, 0, &s) == SBT_ERR_FORMAT && !s);
    CHECK_MSG(strstr(sbt_last_error(), "huge.npy: the header's shape (100000000000, 38) needs 15200000000000 "
                                       "bytes of data, the file holds 48 after the header"),
              "%s", sbt_last_error());
    char fixture[1024];
    snprintf(fixture, sizeof fixture, "%s/tests/bad/huge_shape.npy", SBT_SOURCE_DIR);
    CHECK(sbt_npy_read(fixture, 0, &s) == SBT_ERR_FORMAT && !s);
    CHECK_MSG(strstr(sbt_last_error(),
                     "huge_shape.npy: the header's shape (100000000000, 38) needs 15200000000000 "
                     "bytes of data, the file holds 48 after the header"),
              "%s", sbt_last_error());
    const char *gz = write_file("huge.npy.gz", buf, n, 1);
    REQUIRE(gz);
    CHECK(sbt_npy_read(gz, 0, &s) == SBT_ERR_FORMAT && !s);
    CHECK_MSG(strstr(sbt_last_error(), "huge.npy.gz: truncated data: 12 of 3800000000000 values present"),
              "%s", sbt_last_error());
    /* a good gzip file larger than the first growth step still reads in full */
    enum { ROWS = 40000, COLS = 3 };
    static unsigned char big[10 + 128 + ROWS * COLS * 4];
    char dict[128];
    snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", ROWS, COLS);
    n = npy_bytes(dict, ROWS * COLS * 4, big, sizeof big);
    float *v = (float *)(big + n - ROWS * COLS * 4);
    for (int i = 0; i < ROWS * COLS; i++) {
        float f = (float)i;
        memcpy(&v[i], &f, 4);
    }
    gz = write_file("big.npy.gz", big, n, 1);
    REQUIRE(gz);
    CHECK_MSG(sbt_npy_read(gz, 0, &s) == SBT_OK, "%s", sbt_last_error());
    REQUIRE(s);
    CHECK(s->steps == ROWS && s->channels == COLS && s->x[ROWS * COLS - 1] == (float)(ROWS * COLS - 1));
    sbt_series_free(s);
}

/* The SMD reader goes through the same code: the array's path is in the message. */
static void test_smd_array_named(void) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/smd", tmp_dir);
    const char *subs[] = {"smd", "smd/train", "smd/test", "smd/test_label"};
    for (int i = 0; i < 4; i++) mkdir(tmp_path(subs[i]), 0700);
    unsigned char buf[256];
    size_t n = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 38), }", 16, buf,
                         sizeof buf);
    CHECK(write_file("smd/train/m.npy.gz", buf, n, 1) != NULL);
    CHECK(write_file("smd/test/m.npy.gz", buf, n, 1) != NULL);
    CHECK(write_file("smd/test_label/m.txt", "0\n", 2, 0) != NULL);
    sbt_series *train = NULL, *test = NULL;
    CHECK(sbt_smd_read(dir, "m", &train, &test) == SBT_ERR_FORMAT && !train && !test);
    CHECK_MSG(strstr(sbt_last_error(), "smd/train/m.npy.gz: truncated data"), "%s", sbt_last_error());
    const char *files[] = {"smd/train/m.npy.gz", "smd/test/m.npy.gz", "smd/test_label/m.txt"};
    for (int i = 0; i < 3; i++) unlink(tmp_path(files[i]));
    for (int i = 3; i >= 0; i--) rmdir(tmp_path(subs[i]));
}

/* Issue 16: channels=4294967298 was read as channels=2. */
static void test_config_ranges(void) {
    sbt_config c;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"task=classify\nchannels=4294967298\n",
         "m.sbtm: config line 2: channels=4294967298 is out of range"},
        {"channels=-2147483649\n", "config line 1: channels=-2147483649 is out of range"},
        {"d_model=99999999999999999999\n", "d_model=99999999999999999999 is out of range"},
        {"dropout=1e99\n", "dropout=1e99 is out of range"},
        {"seed=18446744073709551616\n", "seed=18446744073709551616 is out of range"},
        {"seed=-1\n", "bad value '-1' for seed"},
        {"split=ratio:0.5,0.5\n", "bad value 'ratio:0.5,0.5' for split"},
        {"fill=spline\n", "bad value 'spline' for fill"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        CHECK_MSG(sbt_config_from_text(cases[i].text, "m.sbtm", &c) == SBT_ERR_FORMAT, "case %zu", i);
        CHECK_MSG(strstr(sbt_last_error(), cases[i].msg), "case %zu: %s", i, sbt_last_error());
    }
    CHECK(sbt_config_from_text("task=classify\nchannels=2147483647\noutputs=2\nmax_len=3\n", "m", &c) ==
              SBT_OK &&
          c.channels == 2147483647);
    CHECK(sbt_config_from_text("task=classify\nchannels=1\noutputs=2\nmax_len=3\nseed=18446744073709551615\n",
                               "m", &c) == SBT_OK &&
          c.seed == UINT64_MAX);
}

/* The forecast keys round-trip and are written for forecast models only. */
static void test_config_forecast_keys(void) {
    sbt_config f = sbt_config_default(SBT_TASK_FORECAST), back;
    f.channels = f.outputs = 7, f.max_len = 48;
    f.split = SBT_SPLIT_CUSTOM, f.split_ratio[0] = 0.6, f.split_ratio[1] = 0.2, f.split_ratio[2] = 0.2;
    f.fill = 1;
    char text[2048];
    REQUIRE(sbt_config_to_text(&f, text, sizeof text) == SBT_OK);
    CHECK_MSG(strstr(text, "split=ratio:0.6,0.2,0.2\nfill=linear\n"), "%s", text);
    REQUIRE(sbt_config_from_text(text, "t", &back) == SBT_OK);
    CHECK(back.split == SBT_SPLIT_CUSTOM && back.split_ratio[0] == 0.6 && back.split_ratio[2] == 0.2 &&
          back.fill);
    /* a file written before the keys existed: auto split, nothing filled */
    char *cut = strstr(text, "split=");
    *cut = '\0';
    REQUIRE(sbt_config_from_text(text, "t", &back) == SBT_OK);
    CHECK(back.split == SBT_SPLIT_AUTO && back.fill == 0);
    sbt_config c = sbt_config_default(SBT_TASK_CLASSIFY);
    c.channels = 2, c.outputs = 2, c.max_len = 3;
    REQUIRE(sbt_config_to_text(&c, text, sizeof text) == SBT_OK);
    CHECK(!strstr(text, "split=") && !strstr(text, "fill="));
}

static void test_split_rules(void) {
    sbt_split_rule r;
    char buf[128];
    CHECK(sbt_split_rule_parse("ratio:0.6,0.2,0.2", &r) == SBT_OK && r.scheme == SBT_SPLIT_CUSTOM &&
          r.ratio[0] == 0.6);
    sbt_split_rule_format(&r, buf, sizeof buf);
    CHECK(strcmp(buf, "ratio:0.6,0.2,0.2") == 0);
    CHECK(sbt_split_rule_parse("custom", &r) == SBT_OK && r.ratio[0] == 0.7 && r.ratio[2] == 0.2);
    CHECK(sbt_split_rule_parse("ett-hour", &r) == SBT_OK && r.scheme == SBT_SPLIT_ETT_HOUR &&
          r.ratio[0] == 0);
    sbt_split_rule_format(&r, buf, sizeof buf);
    CHECK(strcmp(buf, "ett-hour") == 0);
    const char *bad[] = {
        "ratio:0.7,0.1", "ratio:0.7,0.2,0.2", "ratio:0,0.5,0.5", "ratio:0.7,0.1,0.2x", "hourly", "ratio:"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_MSG(sbt_split_rule_parse(bad[i], &r) == SBT_ERR_ARG, "%s", bad[i]);
        CHECK(strstr(sbt_last_error(), bad[i]));
    }
    sbt_forecast_split sp;
    REQUIRE(sbt_split_rule_parse("ratio:0.5,0.25,0.25", &r) == SBT_OK);
    REQUIRE(sbt_forecast_split_rule_rows(1000, &r, 10, 1, &sp) == SBT_OK);
    CHECK(sp.row_end[SBT_FC_TRAIN] == 500 && sp.row_begin[SBT_FC_TEST] == 750 &&
          sp.row_end[SBT_FC_TEST] == 1000);
    sbt_forecast_split_describe(&sp, buf, sizeof buf);
    CHECK_MSG(strcmp(buf, "ratio:0.5,0.25,0.25: train rows [0, 500), validation [500, 750), test [750, 1000) "
                          "of 1000") == 0,
              "%s", buf);
    REQUIRE(sbt_forecast_split_rows(17420, SBT_SPLIT_ETT_HOUR, 200, 1, &sp) == SBT_OK);
    sbt_forecast_split_describe(&sp, buf, sizeof buf);
    CHECK_MSG(strstr(buf, "ett-hour: train rows [0, 8640), validation [8640, 11520), test [11520, 14400) of "
                          "17420, rows from 14400 on unused"),
              "%s", buf);
}

/* Issue 16: a forecasting CSV with gaps was interpolated without a word. */
static void test_forecast_missing_cells(void) {
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text, "date,a,b\n");
    for (int r = 0; r < 100; r++) {
        char a[16] = "", b[16] = "";
        if (r != 40 && r != 41) snprintf(a, sizeof a, "%d", r);
        if (r != 70) snprintf(b, sizeof b, "%d", 2 * r);
        n += (size_t)snprintf(text + n, sizeof text - n, "2020-01-%02d %02d:00:00,%s,%s\n", 1 + r / 24,
                              r % 24, a, r == 90 ? "NaN" : b);
    }
    const char *p = write_file("gaps.csv", text, n, 0);
    REQUIRE(p);
    sbt_forecast_options o = sbt_forecast_defaults();
    o.window = 8;
    sbt_forecast_data *d = NULL;
    CHECK(sbt_forecast_load(p, &o, &d) == SBT_ERR_NUMERIC && !d);
    CHECK_MSG(
        strstr(sbt_last_error(), "gaps.csv:42: column 'a': empty or NaN cell; 4 such cells in 2 columns"),
        "%s", sbt_last_error());
    o.fill = 1;
    CHECK_MSG(sbt_forecast_load(p, &o, &d) == SBT_OK, "%s", sbt_last_error());
    REQUIRE(d);
    CHECK(d->filled && d->filled[0] == 2 && d->filled[1] == 2);
    CHECK(d->split.scheme == SBT_SPLIT_CUSTOM && d->split.row_end[SBT_FC_TRAIN] == 70);
    sbt_forecast_free(d);
    unlink(p);
}

/* fuzz_ts, finding 1: an unlabelled file read against a training file's classes gave an
 * unlabelled "test set", which sbt-eval scored as "accuracy nan (-2147483648 of 1 cases)". */
static void test_ts_unlabelled_against_ref(void) {
    char path[1024], ref_path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/regressions/fuzz_ts/unlabelled_against_ref.ts",
             SBT_SOURCE_DIR);
    static const char ref_text[] = "@problemName r\n@dimensions 7\n@equalLength true\n@seriesLength 1\n"
                                   "@classLabel true 0 1\n@data\n1:2:3:4:5:6:7:0\n1:2:3:4:5:6:7:1\n";
    snprintf(ref_path, sizeof ref_path, "%s", write_file("ref.ts", ref_text, sizeof ref_text - 1, 0));
    sbt_dataset *ref = NULL, *ds = NULL;
    REQUIRE(sbt_ts_read(ref_path, NULL, &ref) == SBT_OK);
    CHECK_MSG(sbt_ts_read(path, NULL, &ds) == SBT_OK && ds && ds->n_classes == 0 && !ds->y, "%s",
              sbt_last_error());
    sbt_dataset_free(ds);
    ds = NULL;
    CHECK(sbt_ts_read(path, ref, &ds) == SBT_ERR_PARSE && !ds);
    CHECK_MSG(strstr(sbt_last_error(), "unlabelled_against_ref.ts: no class labels"), "%s", sbt_last_error());
    sbt_dataset_free(ref);
    unlink(ref_path);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/sbt-readers.XXXXXX");
    if (!mkdtemp(tmp_dir)) return 1;
    RUN(test_npy_huge_shape);
    RUN(test_smd_array_named);
    RUN(test_config_ranges);
    RUN(test_config_forecast_keys);
    RUN(test_split_rules);
    RUN(test_forecast_missing_cells);
    RUN(test_ts_unlabelled_against_ref);
    const char *files[] = {"huge.npy", "huge.npy.gz", "big.npy.gz"};
    for (size_t i = 0; i < 3; i++) unlink(tmp_path(files[i]));
    rmdir(tmp_dir);
    return check_summary();
}
