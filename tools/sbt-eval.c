/* sbt-eval: evaluate a model file on test data. */
#include <cjson/cJSON.h>
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
        "persistence baseline; for an anomaly model, the thresholds refitted on the train +\n"
        "validation scores as in training and the test metrics (pooled over the entities; --json\n"
        "adds each entity and the POT guard).\n\n"
        "  --test FILE      test data: UEA .ts (labels among the model's classes), the forecasting CSV,\n"
        "                   an anomaly folder (SMD, MSL, SMAP) or an anomaly test CSV\n"
        "  --synthetic      the test half of the built-in synthetic set\n"
        "  --entity SPEC    anomaly folders: NAME, NAME,NAME,... or all (default: the model's entities)\n"
        "  --labels CSV     anomaly models on NASA data: the label file (default beside DIR)\n"
        "  --train FILE     anomaly models on CSV files: the training CSV (thresholds come from it)\n"
        "  --label-column NAME  --time-column NAME   anomaly CSV files (default: as in training)\n"
        "  --pot-risk R  --pot-level Q   anomaly: POT settings (default: those stored in the model)\n"
        "  --json           print one JSON object instead of text; its keys, by the model's task:\n"
        "                     classify: model, task, cases, correct, accuracy, loss\n"
        "                     forecast: model, task, windows, mse, mae, mse_original, mae_original,\n"
        "                       persistence_mse, persistence_mae, split, split_rows {train, validation,\n"
        "                       test: [first, end)}, filled {column: cells filled}\n"
        "                     anomaly: model, task, steps, anomalous, auc_pr, pot {threshold, precision,\n"
        "                       recall, f1, pa_precision, pa_recall, pa_f1, risk, level, fallback, fitted,\n"
        "                       initial, max_calibration_score}, quantile {threshold, precision, recall,\n"
        "                       f1, pa_precision, pa_recall, pa_f1, q}, entities [{name, steps, anomalous,\n"
        "                       auc_pr, pot {...}, quantile {...}}]\n"
        "                   (a forecasting CSV is split and read as in training: the rule and fill\n"
        "                   stored in the model, whatever the file is called)\n"
        "  --threads N      threads (default: all cores)\n"
        "  --kernel K       what ternary weights run on: dense (sgemm, as training computes; default),\n"
        "                   ternary (add/sub kernels, float activations) or int8 (int8 activations)\n"
        "  -h, --help       this help      -V, --version   the version\n\n"
        "Examples:\n"
        "  %s jv.sbtm --test JapaneseVowels_TEST.ts --json\n"
        "  %s etth1.sbtm --test ETTh1.csv\n"
        "  %s smd.sbtm --test data/anomaly/SMD --entity machine-1-1,machine-1-6 --json\n"
        "  %s m.sbtm --train train.csv --test test.csv\n",
        TOOL, TOOL, TOOL, TOOL, TOOL);
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

/* Anomaly flags; NULL / 0 when not given (the model's stored settings apply). */
typedef struct {
    const char *train, *test, *entity, *labels, *label_column, *time_column;
    double pot_risk, pot_level;
} anomaly_flags;

/* The data and threshold settings: the flags where given, else what the model file says. */
static int anomaly_setup(const anomaly_flags *f, const sbt_anomaly_settings *stored, tool_anomaly_source *src,
                         sbt_anomaly_options *ao) {
    *ao = stored->opt;
    if (f->pot_risk > 0) ao->pot_risk = f->pot_risk;
    if (f->pot_level > 0) ao->pot_level = f->pot_level;
    if (!(ao->pot_risk < 1.0 - ao->pot_level))
        return tool_usage_error(TOOL, "POT risk %g must be below 1 - level = %g", ao->pot_risk,
                                1.0 - ao->pot_level);
    memset(src, 0, sizeof *src);
    src->label_column = f->label_column ? f->label_column : stored->label_column;
    if (src->label_column) { /* a model trained on CSV files */
        if (f->entity || f->labels)
            return tool_usage_error(TOOL, "--entity and --labels are for anomaly folders");
        if (!f->train) return tool_usage_error(TOOL, "an anomaly model on CSV files needs --train FILE.csv");
        src->train_csv = f->train;
        src->test_csv = f->test;
        src->time_column = f->time_column ? f->time_column : stored->time_column;
        return -1;
    }
    if (f->train || f->time_column)
        return tool_usage_error(TOOL,
                                "--train and --time-column are for anomaly CSV files (with --label-column)");
    src->dir = f->test;
    src->entities = f->entity ? f->entity : stored->entities;
    src->labels = f->labels;
    if (!src->entities) return tool_usage_error(TOOL, "an anomaly model needs --test DIR --entity NAME");
    return -1;
}

/* Anomaly detection: thresholds from the train + validation scores, metrics on the test
 * steps, exactly as sbt-train reports them after training (same data, same settings). */
static int eval_anomaly(const char *model_path, sbt_model *m, const anomaly_flags *f,
                        const sbt_anomaly_settings *stored, int json) {
    tool_anomaly_source src;
    sbt_anomaly_options ao;
    int rc = anomaly_setup(f, stored, &src, &ao);
    if (rc >= 0) return rc;
    int window = m->cfg.max_len;
    sbt_forecast_data *d = NULL;
    sbt_entity_list *names = NULL;
    if ((rc = tool_anomaly_load(TOOL, &src, &window, &d, &names)) != 0) return rc;
    sbt_anomaly_report r;
    if (sbt_anomaly_evaluate(m, d, &ao, &r))
        rc = tool_fail_lib(TOOL);
    else
        tool_print_anomaly_report(&r, &ao, names, f->test, json ? model_path : NULL);
    sbt_anomaly_report_free(&r);
    sbt_entity_list_free(names);
    sbt_forecast_free(d);
    return rc;
}

/* Forecasting: the test split of the CSV (chronological, by date), one window per row. */
static int eval_forecast(const char *model_path, sbt_model *m, const char *csv, int json) {
    sbt_forecast_options fo = sbt_forecast_defaults();
    fo.window = m->cfg.max_len;
    /* As training read it: a model from before the split was stored (0, auto) falls back to
     * the file's name, as then. */
    fo.scheme = (sbt_split_scheme)m->cfg.split;
    memcpy(fo.ratio, m->cfg.split_ratio, sizeof fo.ratio);
    fo.fill = m->cfg.fill;
    sbt_forecast_data *d = NULL;
    if (sbt_forecast_load(csv, &fo, &d)) return tool_fail_lib(TOOL);
    tool_print_forecast_data(TOOL, d, !json);
    int rc = tool_report_forecast(TOOL, m, d, json ? model_path : NULL);
    sbt_forecast_free(d);
    return rc;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"test", required_argument, 0, 't'},
                                         {"entity", required_argument, 0, 'e'},
                                         {"labels", required_argument, 0, 'l'},
                                         {"train", required_argument, 0, 'T'},
                                         {"label-column", required_argument, 0, 'c'},
                                         {"time-column", required_argument, 0, 'C'},
                                         {"pot-risk", required_argument, 0, 'r'},
                                         {"pot-level", required_argument, 0, 'q'},
                                         {"synthetic", no_argument, 0, 's'},
                                         {"json", no_argument, 0, 'j'},
                                         {"threads", required_argument, 0, 'n'},
                                         {"kernel", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    const char *test_path = NULL;
    anomaly_flags af = {0};
    int synthetic = 0, json = 0, opt;
    long threads = 0;
    sbt_weight_kernel kernel = SBT_KERNEL_DENSE;
    while ((opt = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (opt) {
        case 't': test_path = af.test = optarg; break;
        case 'e': af.entity = optarg; break;
        case 'l': af.labels = optarg; break;
        case 'T': af.train = optarg; break;
        case 'c': af.label_column = optarg; break;
        case 'C': af.time_column = optarg; break;
        case 'r': /* the ranges of sbt-train */
            if (tool_parse_double(optarg, 1e-12, 0.5, &af.pot_risk))
                return tool_usage_error(TOOL, "invalid --pot-risk '%s'", optarg);
            break;
        case 'q':
            if (tool_parse_double(optarg, 0.5, 0.999999, &af.pot_level))
                return tool_usage_error(TOOL, "invalid --pot-level '%s'", optarg);
            break;
        case 's': synthetic = 1; break;
        case 'j': json = 1; break;
        case 'n':
            if (tool_parse_int(optarg, 1, 1024, &threads))
                return tool_usage_error(TOOL, "invalid --threads '%s'", optarg);
            break;
        case 'k':
            if (!strcmp(optarg, "dense"))
                kernel = SBT_KERNEL_DENSE;
            else if (!strcmp(optarg, "ternary"))
                kernel = SBT_KERNEL_TERNARY_F32;
            else if (!strcmp(optarg, "int8"))
                kernel = SBT_KERNEL_TERNARY_I8;
            else
                return tool_usage_error(TOOL, "--kernel %s: dense, ternary or int8", optarg);
            break;
        case 'h': usage(); return TOOL_EXIT_OK;
        case 'V': tool_print_version(TOOL); return TOOL_EXIT_OK;
        default: return tool_usage_hint(TOOL);
        }
    }
    if (optind != argc - 1) return tool_usage_error(TOOL, "give exactly one model file");
    if (!synthetic == !test_path) return tool_usage_error(TOOL, "give either --test FILE or --synthetic");
    if (threads) sbt_set_threads((int)threads);
    const char *model_path = argv[optind];
    sbt_model *m = NULL;
    sbt_dataset *test = NULL;
    sbt_anomaly_settings stored;
    if (sbt_anomaly_model_load(model_path, &m, &stored)) return tool_fail_lib(TOOL);
    m->kernel = kernel;
    if (m->cfg.task == SBT_TASK_ANOMALY) {
        int arc = synthetic ? tool_usage_error(TOOL, "an anomaly model needs --test DIR or --test FILE.csv")
                            : eval_anomaly(model_path, m, &af, &stored, json);
        sbt_anomaly_settings_free(&stored);
        sbt_model_free(m);
        return arc;
    }
    sbt_anomaly_settings_free(&stored);
    if (af.entity || af.labels || af.train || af.label_column || af.time_column || af.pot_risk > 0 ||
        af.pot_level > 0) {
        sbt_model_free(m);
        return tool_usage_error(TOOL,
                                "--entity, --labels, --train, --label-column, --time-column, --pot-risk "
                                "and --pot-level are for anomaly models");
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
    if (!rc && json) {
        cJSON *root = cJSON_CreateObject();
        tool_json_string(root, "model", model_path);
        cJSON_AddStringToObject(root, "task", "classify");
        cJSON_AddNumberToObject(root, "cases", test->n);
        cJSON_AddNumberToObject(root, "correct", (int)(acc * test->n + 0.5));
        cJSON_AddNumberToObject(root, "accuracy", acc);
        cJSON_AddNumberToObject(root, "loss", loss);
        rc = tool_json_print(TOOL, root);
    } else if (!rc)
        printf("accuracy %.4f (%d of %d cases), mean cross-entropy %.4f\n", acc, (int)(acc * test->n + 0.5),
               test->n, loss);
    sbt_dataset_free(test);
    sbt_model_free(m);
    return rc;
}
