/* fuzz_config.c - libFuzzer target for the config text of model files
 * (sbt_config_from_text, the "config" section; formats/sbtm.md).
 *
 * A text must be rejected with SBT_ERR_FORMAT and a message naming the source, or give a
 * config that passes sbt_config_check and survives a text round trip unchanged.
 * Built with -DFUZZ_SEED_MAIN it writes the config sections that sbt-train stores for
 * the three tasks (classification of JapaneseVowels' shape, ETTh1 forecasting, SMD).
 */
#include "fuzz_util.h"
#include "sbt/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 8192) return 0;
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    sbt_config c, again;
    sbt_status st = sbt_config_from_text(text, "fuzz", &c);
    free(text);
    if (st != SBT_OK) {
        if (st != SBT_ERR_FORMAT || !strstr(sbt_last_error(), "fuzz")) abort();
        return 0;
    }
    char a[4096], b[4096];
    if (sbt_config_check(&c) != SBT_OK || sbt_config_to_text(&c, a, sizeof a) != SBT_OK) abort();
    if (sbt_config_from_text(a, "again", &again) != SBT_OK ||
        sbt_config_to_text(&again, b, sizeof b) != SBT_OK)
        abort();
    if (strcmp(a, b)) abort();
    return 0;
}

#ifdef FUZZ_SEED_MAIN
static int config_seed(const char *dir, const char *name, sbt_config c) {
    char text[4096];
    if (sbt_config_to_text(&c, text, sizeof text) != SBT_OK) return 1;
    return fuzz_write_seed(dir, name, text, strlen(text));
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    sbt_config jv = sbt_config_default(SBT_TASK_CLASSIFY);
    jv.channels = 12, jv.outputs = 9, jv.max_len = 29;
    sbt_config etth1 = sbt_config_default(SBT_TASK_FORECAST);
    etth1.channels = etth1.outputs = 7, etth1.max_len = 200, etth1.weights = SBT_WEIGHTS_SBT,
    etth1.keep = 0.5f;
    sbt_config smd = sbt_config_default(SBT_TASK_ANOMALY);
    smd.channels = smd.outputs = 38, smd.max_len = 200, smd.d_model = 76;
    int bad = config_seed(argv[1], "jv", jv);
    bad |= config_seed(argv[1], "etth1", etth1);
    bad |= config_seed(argv[1], "smd", smd);
    return bad;
}
#endif
