/* sbt-eval: evaluate a model file on test data. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/data.h"
#include "sbt/forecast.h"
#include "sbt/model.h"
#include "sbt/runtime.h"
#include "tool_common.h"

static const char *const TOOL = "sbt-eval";

static void usage(void) {
    printf(
        "Usage: %s MODEL.sbtm (--test FILE.ts | --synthetic) [--json] [--threads N]\n"
        "Evaluate a trained model on labelled test data: accuracy and mean cross-entropy for a\n"
        "classifier; for a forecaster, MSE and MAE on the test split of the CSV (by date) beside the\n"
        "persistence baseline.\n\n"
        "  --test FILE      test data: UEA .ts (labels among the model's classes), or the forecasting CSV\n"
        "  --synthetic      the test half of the built-in synthetic set\n"
        "  --entity NAME    anomaly models: the SMD machine or NASA channel of --test DIR\n"
        "  --labels CSV     anomaly models on NASA data: the label file (default beside DIR)\n"
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

/* Anomaly detection: thresholds from the entity's train + validation scores, metrics on
 * its test steps, exactly as sbt-train reports them after training. */
static int eval_anomaly(const char *model_path, sbt_model *m, const char *dir, const char *entity,
                        const char *labels, int json) {
    int window = m->cfg.max_len;
    sbt_forecast_data *d = NULL;
    sbt_anomaly_options ao = sbt_anomaly_defaults();
    sbt_anomaly_report r;
    if (sbt_anomaly_load(dir, entity, labels, &window, &d)) return tool_fail_lib(TOOL);
    int rc = TOOL_EXIT_OK;
    if (sbt_anomaly_evaluate(m, d, &ao, &r))
        rc = tool_fail_lib(TOOL);
    else
        tool_print_anomaly_report(&r, json ? model_path : NULL);
    sbt_forecast_free(d);
    return rc;
}

/* Forecasting: the test split of the CSV (chronological, by date), one window per row. */
static int eval_forecast(const char *model_path, sbt_model *m, const char *csv, int json) {
    sbt_forecast_options fo = sbt_forecast_defaults();
    fo.window = m->cfg.max_len;
    sbt_forecast_data *d = NULL;
    if (sbt_forecast_load(csv, &fo, &d)) return tool_fail_lib(TOOL);
    sbt_examples test = sbt_examples_of_forecast(d, SBT_FC_TEST);
    sbt_eval e;
    sbt_forecast_metrics base;
    int rc = TOOL_EXIT_OK;
    if (sbt_model_evaluate(m, &test, NULL, &e) || sbt_forecast_persistence(d, SBT_FC_TEST, &base))
        rc = tool_fail_lib(TOOL);
    else if (json)
        printf("{\"model\": \"%s\", \"task\": \"forecast\", \"windows\": %lld, \"mse\": %.6f, \"mae\": %.6f, "
               "\"mse_original\": %.6g, \"mae_original\": %.6g, \"persistence_mse\": %.6f, "
               "\"persistence_mae\": %.6f}\n",
               model_path, (long long)e.count, e.forecast.mse, e.forecast.mae, e.forecast.mse_raw,
               e.forecast.mae_raw, base.mse, base.mae);
    else
        printf("test MSE %.4f MAE %.4f (standardised), MSE %.4g MAE %.4g (original units), %lld windows; "
               "persistence MSE %.4f MAE %.4f\n",
               e.forecast.mse, e.forecast.mae, e.forecast.mse_raw, e.forecast.mae_raw, (long long)e.count,
               base.mse, base.mae);
    sbt_forecast_free(d);
    return rc;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"test", required_argument, 0, 't'},
                                         {"entity", required_argument, 0, 'e'},
                                         {"labels", required_argument, 0, 'l'},
                                         {"synthetic", no_argument, 0, 's'},
                                         {"json", no_argument, 0, 'j'},
                                         {"threads", required_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    const char *test_path = NULL, *entity = NULL, *labels = NULL;
    int synthetic = 0, json = 0, opt;
    long threads = 0;
    while ((opt = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (opt) {
        case 't': test_path = optarg; break;
        case 'e': entity = optarg; break;
        case 'l': labels = optarg; break;
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
    if (m->cfg.task == SBT_TASK_ANOMALY) {
        int arc = synthetic || !entity
                      ? tool_usage_error(TOOL, "an anomaly model needs --test DIR --entity NAME")
                      : eval_anomaly(model_path, m, test_path, entity, labels, json);
        sbt_model_free(m);
        return arc;
    }
    if (m->cfg.task == SBT_TASK_FORECAST) {
        int frc = synthetic ? tool_usage_error(TOOL, "a forecasting model needs --test FILE.csv")
                            : eval_forecast(model_path, m, test_path, json);
        sbt_model_free(m);
        return frc;
    }
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
