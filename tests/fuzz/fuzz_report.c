/* fuzz_report.c - libFuzzer target for sbt_report_add_json, the reader of sbt-report's
 * inputs (grid results, Google Benchmark JSON, packed sizes; see tests/fuzz/README.md).
 *
 * Any input must either be rejected with SBT_ERR_PARSE (leaving the report's counts as
 * they were) or accepted with counts that only grew; anything else (a crash, a sanitizer
 * report, another status) is a finding. Rendering is not fuzzed: it runs gnuplot.
 *
 * Built with -DFUZZ_SEED_MAIN instead, this file writes a seed corpus of valid inputs of
 * each kind into the directory given as its argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/report.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    sbt_report *r = NULL;
    if (sbt_report_new(&r) != SBT_OK) abort();
    int g0, b0, p0, g1, b1, p1;
    sbt_report_counts(r, &g0, &b0, &p0);
    sbt_status st = sbt_report_add_json(r, "fuzz", (const char *)data, size);
    sbt_report_counts(r, &g1, &b1, &p1);
    if (st != SBT_OK && st != SBT_ERR_PARSE) abort();
    if (g1 < g0 || b1 < b0 || p1 < p0) abort();
    sbt_report_free(r);
    return 0;
}

#ifdef FUZZ_SEED_MAIN
static const char *const SEEDS[][2] = {
    {"grid.json",
     "{\"task\": \"classify\", \"main_metric\": \"accuracy\", \"rows\": [{\"dataset\": \"JV\", \"model\": "
     "\"sbt\", \"keep\": 0.5, \"attention\": \"full\", \"accuracy\": {\"mean\": 0.97, \"std\": 0.01, "
     "\"values\": [0.96, 0.98]}}]}"},
    {"bench.json",
     "{\"context\": {}, \"benchmarks\": [{\"name\": \"forward/m/attn:full/batch:1/threads:1\", "
     "\"run_name\": \"forward/m/attn:full/batch:1/threads:1\", \"run_type\": \"iteration\", "
     "\"threads\": 1, \"real_time\": 12.5, \"time_unit\": \"us\", \"macs_exact\": 100, \"macs_paper\": "
     "50, \"bits\": 10, \"bits_f32\": 320}]}"},
    {"packed.json", "{\"encodings\": [{\"model\": \"m\", \"encoding\": \"seed+mask\", \"bytes\": 40}]}"},
    {"export.json",
     "{\"file\": \"/x/m.sbt\", \"bytes\": 100, \"f32_bytes\": 900, \"sections\": [{\"name\": \"w\", "
     "\"encoding\": \"seed-mask\", \"bytes\": 8, \"bound_bits\": 50}]}"}};

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof SEEDS / sizeof *SEEDS; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], SEEDS[i][0]);
        FILE *f = fopen(path, "w");
        if (!f || fputs(SEEDS[i][1], f) < 0) return 1;
        fclose(f);
    }
    return 0;
}
#endif
