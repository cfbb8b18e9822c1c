/* sbt-eval: evaluate a model file on test data. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/data.h"
#include "sbt/model.h"
#include "sbt/runtime.h"
#include "tool_common.h"

static const char *const TOOL = "sbt-eval";

static void usage(void) {
    printf("Usage: %s MODEL.sbtm (--test FILE.ts | --synthetic) [--json] [--threads N]\n"
           "Evaluate a trained model on labelled test data: accuracy and mean cross-entropy.\n\n"
           "  --test FILE      test data (UEA .ts, plain or gzip); labels must be among the model's classes\n"
           "  --synthetic      the test half of the built-in synthetic set\n"
           "  --json           print one JSON object (accuracy, loss, cases, correct) instead of text\n"
           "  --threads N      threads (default: all cores)\n"
           "  -h, --help       this help      -V, --version   the version\n\n"
           "Example:\n"
           "  %s jv.sbtm --test JapaneseVowels_TEST.ts --json\n",
           TOOL, TOOL);
}

/* A label table holding the model's class names, so test labels map as in training. */
static sbt_dataset label_table(const sbt_model *m) {
    sbt_dataset ref;
    memset(&ref, 0, sizeof ref);
    ref.n_classes = m->cfg.outputs;
    ref.class_names = m->class_names;
    return ref;
}

static int load_test(const char *path, int synthetic, const sbt_model *m, sbt_dataset **test) {
    if (synthetic) {
        sbt_synth_config sc = sbt_synth_default();
        sbt_dataset *train = NULL;
        sbt_status st = sbt_synth_classification(&sc, &train, test);
        sbt_dataset_free(train);
        return st ? tool_fail_lib(TOOL) : TOOL_EXIT_OK;
    }
    if (!m->class_names) {
        fprintf(stderr, "%s: error: the model has no class names to map test labels\n", TOOL);
        return TOOL_EXIT_RUNTIME;
    }
    sbt_dataset ref = label_table(m);
    return sbt_ts_read(path, &ref, test) ? tool_fail_lib(TOOL) : TOOL_EXIT_OK;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"test", required_argument, 0, 't'},
                                         {"synthetic", no_argument, 0, 's'},
                                         {"json", no_argument, 0, 'j'},
                                         {"threads", required_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    const char *test_path = NULL;
    int synthetic = 0, json = 0, opt;
    long threads = 0;
    while ((opt = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (opt) {
        case 't': test_path = optarg; break;
        case 's': synthetic = 1; break;
        case 'j': json = 1; break;
        case 'n':
            if (tool_parse_int(optarg, 1, 1024, &threads))
                return tool_usage_error(TOOL, "invalid --threads '%s'", optarg);
            break;
        case 'h': usage(); return TOOL_EXIT_OK;
        case 'V': tool_print_version(TOOL); return TOOL_EXIT_OK;
        default: return TOOL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return tool_usage_error(TOOL, "give exactly one model file");
    if (!synthetic == !test_path) return tool_usage_error(TOOL, "give either --test FILE or --synthetic");
    if (threads) sbt_set_threads((int)threads);
    const char *model_path = argv[optind];
    sbt_model *m = NULL;
    sbt_dataset *test = NULL;
    if (sbt_model_load(model_path, &m)) return tool_fail_lib(TOOL);
    int rc = load_test(test_path, synthetic, m, &test);
    double acc = 0, loss = 0;
    if (!rc && sbt_model_classify(m, test, NULL, &acc, &loss)) rc = tool_fail_lib(TOOL);
    if (!rc && json)
        printf(
            "{\"model\": \"%s\", \"task\": \"classify\", \"cases\": %d, \"correct\": %d, \"accuracy\": %.6f, "
            "\"loss\": %.6f}\n",
            model_path, test->n, (int)(acc * test->n + 0.5), acc, loss);
    else if (!rc)
        printf("accuracy %.4f (%d of %d cases), mean cross-entropy %.4f\n", acc, (int)(acc * test->n + 0.5),
               test->n, loss);
    sbt_dataset_free(test);
    sbt_model_free(m);
    return rc;
}
