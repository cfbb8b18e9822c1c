/* sbt-train: train a model on a task's data and write it to a model file. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbt/anomaly.h"
#include "sbt/convert.h"
#include "sbt/data.h"
#include "sbt/forecast.h"
#include "sbt/model.h"
#include "sbt/rng.h"
#include "sbt/runtime.h"
#include "sbt/train.h"
#include "tool_common.h"

static const char *const TOOL = "sbt-train";

static void usage(void) {
    printf(
        "Usage: %s --task classify|forecast|anomaly --model dense|sbt (--train FILE.ts [--test FILE.ts] | "
        "--synthetic)\n"
        "                 -o MODEL.sbtm [options]\n"
        "Train a transformer encoder and write it to MODEL.sbtm. The test file, if given, is read\n"
        "before training (to fail early on bad input) and evaluated only after it; it is never used\n"
        "to choose anything. A validation split is carved from the training data.\n\n"
        "Data:\n"
        "  --train FILE          training data (UEA .ts, plain or gzip)\n"
        "  --test FILE           test data, evaluated once after training\n"
        "  --synthetic           the built-in synthetic classification set (no files needed)\n"
        "  --val-frac F          stratified validation fraction of the training data (default 0.1)\n"
        "Model (defaults: the paper's classifier):\n"
        "  --task classify|forecast  the task (classify); forecast: --train FILE.csv with a date\n"
        "                        column, split by date (train/validation/test), last step predicted\n"
        "  --split RULE          forecast: ett-hour (12/4/4 months of hourly rows), ett-minute (the same\n"
        "                        of 15-minute rows), ratio:A,B,C (train, validation, test fractions of\n"
        "                        the rows, e.g. ratio:0.7,0.1,0.2) or auto (default: ett-hour for ETTh*\n"
        "                        files, ett-minute for ETTm*, else ratio:0.7,0.1,0.2). Printed with the\n"
        "                        rows of each split and stored in the model: sbt-eval splits the same\n"
        "  --fill none|linear    forecast: an empty or NaN cell is an error naming the first and the\n"
        "                        count (none, the default), or filled by linear interpolation down its\n"
        "                        column, the count per column said on stderr (stored in the model)\n"
        "  --task anomaly        --train DIR (SMD: train/ test/ test_label/; NASA MSL|SMAP: train/ test/\n"
        "                        with ../SMAP_MSL/labeled_anomalies.csv) --entity NAME, or --train\n"
        "                        A.csv --test B.csv --label-column NAME: the model predicts each step\n"
        "                        from the steps before it; score = its MSE; thresholds (POT, quantile)\n"
        "                        from train + validation scores only; precision/recall/F1 with and\n"
        "                        without point adjustment, AUC-PR\n"
        "  --entity NAME[,NAME..]|all  anomaly: SMD machine(s) or NASA channel(s); several (or all that\n"
        "                        can be read; what is left out is said on stderr; NASA: P-2, twice in\n"
        "                        the label file, is left out) train one model over the entities end to\n"
        "                        end: no window straddles two entities, validation is the last 10 %%\n"
        "                        of each entity's train part, each entity is z-scored on its own, and\n"
        "                        metrics are pooled over all test steps (sbt-eval --json: per entity)\n"
        "  --labels CSV          anomaly, NASA: the label file (../SMAP_MSL/labeled_anomalies.csv)\n"
        "  --label-column NAME   anomaly on CSV files: the 0/1 label column (required in --test; in\n"
        "                        --train it may be absent and is ignored). Every other column is a\n"
        "                        channel; empty or NaN cells are errors (nothing is filled in)\n"
        "  --time-column NAME    anomaly on CSV files: a time stamp column to leave out\n"
        "  --pot-risk R          anomaly: POT tail probability, 0 < R < 1 - Q (1e-4)\n"
        "  --pot-level Q         anomaly: POT initial threshold, the Q-quantile of the calibration\n"
        "                        scores, 0.5 <= Q < 1 (0.98). Both are stored in the model for\n"
        "                        sbt-eval. A POT threshold beyond 10x the calibration scores' reach\n"
        "                        above the initial threshold (or a failed fit) falls back to the\n"
        "                        (1 - R)-quantile of the calibration scores; the report says so\n"
        "  --window W            forecast/anomaly: steps per window (200; NASA and CSV anomaly 50)\n"
        "  --window-norm none|last  forecast/anomaly: feed each window relative to its last\n"
        "                        observed step, so the model predicts the change (forecast last,\n"
        "                        anomaly none; none is the paper's)\n"
        "  --train-stride N      forecast/anomaly: train on every N-th window only (1); validation\n"
        "                        and test keep every window\n"
        "  --model dense|sbt     dense float weights, or Biprop sparse binary weights (dense)\n"
        "  --keep K              sbt: fraction of weights kept per layer, sparsity = 1 - K (0.5)\n"
        "  --alpha layer|row     sbt: one scale per layer or per output row (layer)\n"
        "  --train-bias          sbt: train the biases (the paper keeps them at their random init)\n"
        "  --attn VARIANT        full | qkv-mask (fixed mask on Q/K/V activations) | step-t (each step\n"
        "                        attends to itself, the last to all earlier) | self (default: full for\n"
        "                        classify, step-t for forecast)\n"
        "  --attn-keep F         qkv-mask: fraction of activations kept (0.5)\n"
        "  --d-model N --heads N --layers N --ffn N   shape (64, 2, 2, 256)\n"
        "  --norm batch|layer|none   normalisation (batch)\n"
        "  --pos sinusoidal|learned  positional encoding (sinusoidal)\n"
        "  --dropout P           dropout after attention and FFN (0)\n"
        "Training:\n"
        "  --epochs N            maximum epochs (100; sbt classify 200; forecast, anomaly 50)\n"
        "  --batch N             batch size (classify 8; forecast, anomaly 128)\n"
        "  --lr F                learning rate (1e-3)       --optimizer adam|adamw (adam)\n"
        "  --weight-decay F      (0)                        --clip F      gradient-norm clip (4; 0 off)\n"
        "  --patience N          early stopping on validation accuracy or MSE (20; sbt classify 50;\n"
        "                        forecast, anomaly 5; 0 off)\n"
        "  --seed S              seed of initialisation, split and batch order (0)\n"
        "  --threads N           threads (default: all cores)\n"
        "  --checkpoint FILE     write a resumable checkpoint after every epoch\n"
        "  --resume FILE         continue from a checkpoint (model and training flags come from it)\n"
        "  --init MODEL          start from a trained model (.sbtm, .sbt or .onnx; its shape wins over the\n"
        "                        shape flags). With --model sbt its float Linear weights become Biprop\n"
        "                        layers over those weights (keep --keep, scores from |w|: magnitude\n"
        "                        pruning first) and training recovers the accuracy; the metric is\n"
        "                        reported for the float model, right after conversion, and after training\n"
        "  --freeze-biases       --init: keep the biases as they are (norms are always trained)\n"
        "  --progress            print a progress line per epoch even when stderr is not a terminal\n"
        "  --quiet               no progress line\n"
        "  -o, --output FILE     the model file to write (required)\n"
        "  -h, --help            this help      -V, --version   the version\n\n"
        "Example:\n"
        "  %s --task classify --model dense --train JapaneseVowels_TRAIN.ts \\\n"
        "            --test JapaneseVowels_TEST.ts --epochs 100 --seed 0 -o jv.sbtm\n"
        "  %s --task forecast --model sbt --keep 0.5 --train ETTh1.csv --split ett-hour -o etth1.sbtm\n"
        "  %s --init jv.sbtm --model sbt --keep 0.5 --train JapaneseVowels_TRAIN.ts \\\n"
        "            --test JapaneseVowels_TEST.ts -o jv_recovered.sbtm\n",
        TOOL, TOOL, TOOL, TOOL);
    printf("  %s --task anomaly --train data/anomaly/SMD --entity machine-1-6,machine-1-7 -o smd.sbtm\n"
           "  %s --task anomaly --train train.csv --test test.csv --label-column label -o m.sbtm\n",
           TOOL, TOOL);
}

typedef struct {
    const char *train_path, *test_path, *output, *checkpoint, *resume, *init;
    int freeze_biases;
    int synthetic, progress, quiet, threads, keep_given, window, d_model_given, epochs_given, patience_given,
        train_stride;
    const char *entity, *labels, *label_column, *time_column;
    sbt_split_rule split; /* forecast: --split (scheme AUTO when not given) */
    int split_given, fill;
    double val_frac;
    sbt_anomaly_options anomaly;
    int pot_given;
    sbt_config cfg;
    sbt_train_config tc;
} options;

enum {
    OPT_TASK = 256,
    OPT_MODEL,
    OPT_TRAIN,
    OPT_TEST,
    OPT_SYNTH,
    OPT_VAL,
    OPT_D,
    OPT_HEADS,
    OPT_LAYERS,
    OPT_FFN,
    OPT_NORM,
    OPT_POS,
    OPT_DROPOUT,
    OPT_EPOCHS,
    OPT_BATCH,
    OPT_LR,
    OPT_OPTIM,
    OPT_WD,
    OPT_CLIP,
    OPT_PATIENCE,
    OPT_SEED,
    OPT_THREADS,
    OPT_CKPT,
    OPT_RESUME,
    OPT_PROGRESS,
    OPT_QUIET,
    OPT_KEEP,
    OPT_ALPHA,
    OPT_TRAIN_BIAS,
    OPT_ATTN,
    OPT_ATTN_KEEP,
    OPT_WINDOW,
    OPT_ENTITY,
    OPT_LABELS,
    OPT_WINDOW_NORM,
    OPT_TRAIN_STRIDE,
    OPT_LABEL_COLUMN,
    OPT_TIME_COLUMN,
    OPT_POT_RISK,
    OPT_POT_LEVEL,
    OPT_SPLIT,
    OPT_FILL,
    OPT_INIT,
    OPT_FREEZE_BIASES
};

static const struct option LONG_OPTIONS[] = {{"task", required_argument, 0, OPT_TASK},
                                             {"model", required_argument, 0, OPT_MODEL},
                                             {"train", required_argument, 0, OPT_TRAIN},
                                             {"test", required_argument, 0, OPT_TEST},
                                             {"synthetic", no_argument, 0, OPT_SYNTH},
                                             {"val-frac", required_argument, 0, OPT_VAL},
                                             {"d-model", required_argument, 0, OPT_D},
                                             {"heads", required_argument, 0, OPT_HEADS},
                                             {"layers", required_argument, 0, OPT_LAYERS},
                                             {"ffn", required_argument, 0, OPT_FFN},
                                             {"norm", required_argument, 0, OPT_NORM},
                                             {"pos", required_argument, 0, OPT_POS},
                                             {"dropout", required_argument, 0, OPT_DROPOUT},
                                             {"epochs", required_argument, 0, OPT_EPOCHS},
                                             {"batch", required_argument, 0, OPT_BATCH},
                                             {"lr", required_argument, 0, OPT_LR},
                                             {"optimizer", required_argument, 0, OPT_OPTIM},
                                             {"weight-decay", required_argument, 0, OPT_WD},
                                             {"clip", required_argument, 0, OPT_CLIP},
                                             {"patience", required_argument, 0, OPT_PATIENCE},
                                             {"seed", required_argument, 0, OPT_SEED},
                                             {"threads", required_argument, 0, OPT_THREADS},
                                             {"checkpoint", required_argument, 0, OPT_CKPT},
                                             {"resume", required_argument, 0, OPT_RESUME},
                                             {"init", required_argument, 0, OPT_INIT},
                                             {"freeze-biases", no_argument, 0, OPT_FREEZE_BIASES},
                                             {"progress", no_argument, 0, OPT_PROGRESS},
                                             {"quiet", no_argument, 0, OPT_QUIET},
                                             {"keep", required_argument, 0, OPT_KEEP},
                                             {"alpha", required_argument, 0, OPT_ALPHA},
                                             {"train-bias", no_argument, 0, OPT_TRAIN_BIAS},
                                             {"attn", required_argument, 0, OPT_ATTN},
                                             {"attn-keep", required_argument, 0, OPT_ATTN_KEEP},
                                             {"window", required_argument, 0, OPT_WINDOW},
                                             {"window-norm", required_argument, 0, OPT_WINDOW_NORM},
                                             {"train-stride", required_argument, 0, OPT_TRAIN_STRIDE},
                                             {"entity", required_argument, 0, OPT_ENTITY},
                                             {"labels", required_argument, 0, OPT_LABELS},
                                             {"label-column", required_argument, 0, OPT_LABEL_COLUMN},
                                             {"time-column", required_argument, 0, OPT_TIME_COLUMN},
                                             {"pot-risk", required_argument, 0, OPT_POT_RISK},
                                             {"pot-level", required_argument, 0, OPT_POT_LEVEL},
                                             {"split", required_argument, 0, OPT_SPLIT},
                                             {"fill", required_argument, 0, OPT_FILL},
                                             {"output", required_argument, 0, 'o'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};

static const char *option_name(int opt) {
    for (const struct option *o = LONG_OPTIONS; o->name; o++)
        if (o->val == opt) return o->name;
    return "?";
}

/* Applies one model or training flag; returns 0, or -1 for a bad value. */
static int set_numeric(options *o, int opt, const char *arg) {
    long v;
    double f;
    switch (opt) {
    case OPT_D: o->d_model_given = 1; return tool_model_flag("d-model", arg, &o->cfg);
    case OPT_HEADS:
    case OPT_LAYERS:
    case OPT_FFN:
    case OPT_DROPOUT:
    case OPT_ATTN_KEEP: return tool_model_flag(option_name(opt), arg, &o->cfg);
    case OPT_KEEP: o->keep_given = 1; return tool_model_flag("keep", arg, &o->cfg);
    case OPT_EPOCHS:
        return tool_parse_int(arg, 1, 1000000, &v) ? -1 : (o->tc.epochs = (int)v, o->epochs_given = 1, 0);
    case OPT_BATCH: return tool_parse_int(arg, 1, 1 << 20, &v) ? -1 : (o->tc.batch = (int)v, 0);
    case OPT_LR: return tool_parse_double(arg, 1e-12, 10, &f) ? -1 : (o->tc.lr = (float)f, 0);
    case OPT_WD: return tool_parse_double(arg, 0, 10, &f) ? -1 : (o->tc.weight_decay = (float)f, 0);
    case OPT_CLIP: return tool_parse_double(arg, 0, 1e9, &f) ? -1 : (o->tc.clip_norm = (float)f, 0);
    case OPT_PATIENCE:
        return tool_parse_int(arg, 0, 1000000, &v) ? -1 : (o->tc.patience = (int)v, o->patience_given = 1, 0);
    case OPT_VAL: return tool_parse_double(arg, 0, 0.9, &o->val_frac);
    case OPT_WINDOW: return tool_parse_int(arg, 2, 100000, &v) ? -1 : (o->window = (int)v, 0);
    case OPT_TRAIN_STRIDE: return tool_parse_int(arg, 1, 1000000, &v) ? -1 : (o->train_stride = (int)v, 0);
    case OPT_THREADS: return tool_parse_int(arg, 1, 1024, &v) ? -1 : (o->threads = (int)v, 0);
    /* risk: a tail probability, below 1 - level (checked once both are known); level: an upper
     * quantile, so that the excesses above it are a tail */
    case OPT_POT_RISK:
        return tool_parse_double(arg, 1e-12, 0.5, &f) || f <= 0
                   ? -1
                   : (o->anomaly.pot_risk = f, o->pot_given = 1, 0);
    case OPT_POT_LEVEL:
        return tool_parse_double(arg, 0.5, 0.999999, &f) ? -1
                                                         : (o->anomaly.pot_level = f, o->pot_given = 1, 0);
    case OPT_SEED:
        if (tool_model_flag("seed", arg, &o->cfg)) return -1;
        o->tc.seed = o->cfg.seed;
        return 0;
    }
    return -1;
}

static int set_choice(options *o, int opt, const char *arg) {
    switch (opt) {
    case OPT_TASK: return tool_task_of(arg) < 0 ? -1 : 0;
    case OPT_MODEL:
    case OPT_ALPHA:
    case OPT_ATTN:
    case OPT_NORM:
    case OPT_POS:
    case OPT_WINDOW_NORM: return tool_model_flag(option_name(opt), arg, &o->cfg);
    case OPT_OPTIM:
        if (!strcmp(arg, "adam")) return o->tc.optimizer = SBT_OPT_ADAM, 0;
        if (!strcmp(arg, "adamw")) return o->tc.optimizer = SBT_OPT_ADAMW, 0;
        return -1;
    case OPT_FILL:
        if (!strcmp(arg, "none")) return o->fill = 0, 0;
        if (!strcmp(arg, "linear")) return o->fill = 1, 0;
        return -1;
    }
    return -1;
}

/* Anomaly data comes from a folder with --entity, or from CSV files with --label-column;
 * returns -1 when the flags fit together, else the usage error's exit code. */
static int check_anomaly_args(const options *o) {
    if (o->label_column) {
        if (o->entity || o->labels)
            return tool_usage_error(TOOL, "anomaly: --entity and --labels are for SMD/NASA folders, "
                                          "--label-column for CSV files; give one kind");
        if (!o->test_path || !o->train_path)
            return tool_usage_error(TOOL, "anomaly on CSV files: give --train FILE.csv and --test FILE.csv");
    } else {
        if (o->time_column) return tool_usage_error(TOOL, "--time-column needs --label-column (CSV files)");
        if (!o->entity)
            return tool_usage_error(TOOL,
                                    "anomaly: name the machine(s) or channel(s) with --entity (e.g. "
                                    "machine-1-6, C-1,C-2 or all), or give CSV files with --label-column");
    }
    if (!(o->anomaly.pot_risk < 1.0 - o->anomaly.pot_level))
        return tool_usage_error(TOOL,
                                "--pot-risk %g must be below 1 - --pot-level = %g (a tail beyond the "
                                "initial threshold)",
                                o->anomaly.pot_risk, 1.0 - o->anomaly.pot_level);
    return -1;
}

/* Returns -1 to continue, or an exit code. */
static int parse_args(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    sbt_task task = (sbt_task)tool_prescan_task(argc, argv);
    o->cfg = sbt_config_default(task);
    o->tc = sbt_train_config_default(task);
    o->train_stride = 1;
    o->window = 0; /* task default: 200, 50 for NASA anomaly data */
    o->val_frac = 0.1;
    o->anomaly = sbt_anomaly_defaults();
    int opt;
    while ((opt = getopt_long(argc, argv, "o:hV", LONG_OPTIONS, NULL)) != -1) {
        switch (opt) {
        case 'h': usage(); return TOOL_EXIT_OK;
        case 'V': tool_print_version(TOOL); return TOOL_EXIT_OK;
        case 'o': o->output = optarg; break;
        case OPT_TRAIN: o->train_path = optarg; break;
        case OPT_TEST: o->test_path = optarg; break;
        case OPT_SYNTH: o->synthetic = 1; break;
        case OPT_CKPT: o->checkpoint = optarg; break;
        case OPT_RESUME: o->resume = optarg; break;
        case OPT_INIT: o->init = optarg; break;
        case OPT_FREEZE_BIASES: o->freeze_biases = 1; break;
        case OPT_PROGRESS: o->progress = 1; break;
        case OPT_QUIET: o->quiet = 1; break;
        case OPT_TRAIN_BIAS: o->cfg.train_bias = 1; break;
        case OPT_ENTITY: o->entity = optarg; break;
        case OPT_LABELS: o->labels = optarg; break;
        case OPT_LABEL_COLUMN: o->label_column = optarg; break;
        case OPT_TIME_COLUMN: o->time_column = optarg; break;
        case OPT_SPLIT:
            if (sbt_split_rule_parse(optarg, &o->split))
                return tool_usage_error(TOOL, "--split: %s", sbt_last_error());
            o->split_given = 1;
            break;
        case OPT_FILL:
        case OPT_ALPHA:
        case OPT_ATTN:
        case OPT_TASK:
        case OPT_MODEL:
        case OPT_NORM:
        case OPT_POS:
        case OPT_OPTIM:
        case OPT_WINDOW_NORM:
            if (set_choice(o, opt, optarg))
                return tool_usage_error(TOOL, "unsupported value '%s' for --%s", optarg, option_name(opt));
            break;
        case '?': return tool_usage_hint(TOOL);
        default:
            if (set_numeric(o, opt, optarg))
                return tool_usage_error(TOOL, "invalid value '%s' for --%s", optarg, option_name(opt));
        }
    }
    if (optind < argc) return tool_usage_error(TOOL, "unexpected argument '%s'", argv[optind]);
    if (o->cfg.weights == SBT_WEIGHTS_DENSE && o->cfg.keep < 1.0f)
        return tool_usage_error(TOOL, "--keep applies to --model sbt only");
    if (o->cfg.weights == SBT_WEIGHTS_SBT && !o->keep_given) o->cfg.keep = 0.5f;
    /* Sparse binary classifiers learn more slowly and their validation accuracy plateaus
     * early on small validation sets: longer runs, more patience (the paper trains SBTs
     * for up to 250 epochs). NATOPS seed 0, keep 0.5: 0.667 with 100/20, 0.833 with 200/50. */
    if (o->cfg.weights == SBT_WEIGHTS_SBT && o->cfg.task == SBT_TASK_CLASSIFY) {
        if (!o->epochs_given) o->tc.epochs = 200;
        if (!o->patience_given) o->tc.patience = 50;
    }
    if (!o->output) return tool_usage_error(TOOL, "no output file: give -o MODEL.sbtm");
    if (o->init && o->resume)
        return tool_usage_error(TOOL, "--init starts a run, --resume continues one: give one");
    if (o->freeze_biases && !o->init) return tool_usage_error(TOOL, "--freeze-biases applies to --init");
    if (!o->synthetic == !o->train_path)
        return tool_usage_error(TOOL, "give either --train FILE or --synthetic");
    if (o->synthetic && o->test_path)
        return tool_usage_error(TOOL, "--synthetic brings its own test set; drop --test");
    if (o->cfg.task == SBT_TASK_ANOMALY) {
        int rc = check_anomaly_args(o);
        if (rc >= 0) return rc;
    } else if (o->label_column || o->time_column || o->pot_given || o->labels) {
        return tool_usage_error(TOOL, "--label-column, --time-column, --labels, --pot-risk and --pot-level "
                                      "apply to --task anomaly");
    }
    if (o->cfg.task != SBT_TASK_FORECAST && (o->split_given || o->fill))
        return tool_usage_error(TOOL, "--split and --fill apply to --task forecast");
    int csv_anomaly = o->cfg.task == SBT_TASK_ANOMALY && o->label_column;
    if (o->cfg.task != SBT_TASK_CLASSIFY && (o->synthetic || (o->test_path && !csv_anomaly)))
        return tool_usage_error(TOOL,
                                "%s: --train holds every split (by date / train and test folders); drop "
                                "--test and --synthetic",
                                sbt_task_name(o->cfg.task));
    if (o->cfg.task == SBT_TASK_CLASSIFY &&
        (o->entity || o->window || o->train_stride != 1 || o->cfg.window_norm))
        return tool_usage_error(TOOL,
                                "--entity, --window, --window-norm and --train-stride apply to forecast "
                                "and anomaly tasks");
    return -1;
}

typedef struct {
    int tty;
    int enabled;
} progress_state;

static void format_duration(double s, char *buf, size_t cap) {
    long t = (long)(s + 0.5);
    snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

static void on_epoch(const sbt_epoch_report *r, void *user) {
    progress_state *p = user;
    if (!p->enabled) return;
    char eta[32], val[64];
    format_duration(r->eta_seconds, eta, sizeof eta);
    if (isnan(r->val_accuracy)) /* regression: the validation MSE is what selects */
        snprintf(val, sizeof val, "val_mse %.4f  best@%d", r->val_loss, r->best_epoch);
    else
        snprintf(val, sizeof val, "val_acc %.4f  best %.4f@%d", r->val_accuracy, r->best_val_accuracy,
                 r->best_epoch);
    fprintf(stderr, "%sepoch %4d/%-4d  loss %.4f  %s  lr %.2g  %.2fs/epoch  ETA %s%s", p->tty ? "\r" : "",
            r->epoch, r->epochs, r->train_loss, val, r->lr, r->seconds, eta, p->tty ? "\033[K" : "\n");
    fflush(stderr);
}

/* The model for fresh training: shapes from the data, input normalisation from train. */
static int new_model(const options *o, const sbt_dataset *train, sbt_model **m) {
    sbt_config cfg = o->cfg;
    cfg.channels = train->channels;
    cfg.outputs = train->n_classes;
    cfg.max_len = train->length;
    if (sbt_model_new(&cfg, m) || sbt_model_fit_normalization(*m, train) ||
        sbt_model_set_class_names(*m, train->class_names, train->n_classes))
        return tool_fail_lib(TOOL);
    return TOOL_EXIT_OK;
}

/* Carves the stratified validation split from the training data (none if val_frac is 0:
 * then *train is NULL and the caller trains on all of it). */
static int split_train(const options *o, const sbt_dataset *all, sbt_dataset **train, sbt_dataset **val) {
    int *tr = NULL, *va = NULL, n_tr = 0, n_va = 0;
    *train = *val = NULL;
    if (o->val_frac <= 0.0) return TOOL_EXIT_OK;
    int rc = TOOL_EXIT_OK;
    uint64_t split_seed = sbt_rng_derive(o->tc.seed, 0x5B1A);
    if (sbt_split_stratified(all->y, all->n, all->n_classes, o->val_frac, split_seed, &tr, &n_tr, &va,
                             &n_va) ||
        sbt_dataset_subset(all, tr, n_tr, train) || sbt_dataset_subset(all, va, n_va, val))
        rc = tool_fail_lib(TOOL);
    free(tr);
    free(va);
    return rc;
}

/* Reads train and test (test labels mapped as in train), or makes the synthetic set. */
static int load_data(const options *o, sbt_dataset **train, sbt_dataset **test) {
    *train = *test = NULL;
    if (o->synthetic) {
        sbt_synth_config sc = sbt_synth_default();
        return sbt_synth_classification(&sc, train, test) ? tool_fail_lib(TOOL) : TOOL_EXIT_OK;
    }
    if (sbt_ts_read(o->train_path, NULL, train)) return tool_fail_lib(TOOL);
    if (o->test_path && sbt_ts_read(o->test_path, *train, test)) return tool_fail_lib(TOOL);
    return TOOL_EXIT_OK;
}

/* A checkpoint resumed on data it was not made for would fail later with a shape error
 * deep in the graph; say it here, in the data's terms. max_len 0: not checked. */
static int check_resumed(const options *o, const sbt_model *m, int channels, int outputs, int max_len) {
    const sbt_config *c = &m->cfg;
    if (c->task == o->cfg.task && c->channels == channels && c->outputs == outputs &&
        (max_len == 0 || c->max_len == max_len))
        return TOOL_EXIT_OK;
    fprintf(
        stderr,
        "%s: error: %s: the checkpoint is a(n) %s model for %d channels, %d outputs and %d steps; the data "
        "needs %s, %d, %d and %d\n",
        TOOL, o->resume, sbt_task_name(c->task), c->channels, c->outputs, c->max_len,
        sbt_task_name(o->cfg.task), channels, outputs, max_len ? max_len : c->max_len);
    return TOOL_EXIT_RUNTIME;
}

/* --init: what a model scores on the test data (accuracy, or test MSE of windows). */
typedef struct {
    const sbt_dataset *test;    /* classification */
    const sbt_forecast_data *d; /* forecast, anomaly */
} metric_data;

static int metric_of(sbt_model *m, const metric_data *md, double *value, const char **name) {
    if (md->test) {
        double loss;
        *name = "test accuracy";
        return sbt_model_classify(m, md->test, NULL, value, &loss) ? tool_fail_lib(TOOL) : 0;
    }
    sbt_examples ex = sbt_examples_of_forecast(md->d, SBT_FC_TEST);
    sbt_eval e;
    *name = "test MSE (standardised)";
    if (sbt_model_evaluate(m, &ex, NULL, &e)) return tool_fail_lib(TOOL);
    *value = e.forecast.mse;
    return 0;
}

/* The model an --init run starts from (read here unless *m holds it), checked against the data; with --model
 * sbt its float Linear layers become Biprop layers over their own weights. The metric before and after the
 * conversion is printed (md NULL: no test data to score). */
static int load_init(const options *o, int channels, int outputs, const metric_data *md, sbt_model **m) {
    if (!*m && tool_load_model(TOOL, o->init, o->cfg.task, m, NULL)) return TOOL_EXIT_RUNTIME;
    const sbt_config *c = &(*m)->cfg;
    if (c->task != o->cfg.task || c->channels != channels || c->outputs != outputs) {
        fprintf(stderr,
                "%s: error: %s: a(n) %s model for %d channels and %d outputs; the data needs %s, %d, %d\n",
                TOOL, o->init, sbt_task_name(c->task), c->channels, c->outputs, sbt_task_name(o->cfg.task),
                channels, outputs);
        return TOOL_EXIT_RUNTIME;
    }
    double v = 0;
    const char *name = NULL;
    if (md && metric_of(*m, md, &v, &name)) return TOOL_EXIT_RUNTIME;
    if (md) printf("init %s: %s %.4f (the model as given)\n", o->init, name, v);
    int sparse = 0; /* converted already (sbt-prune, sbt-binarize): train it as it is */
    for (int i = 0; i < sbt_graph_count((*m)->graph); i++)
        sparse |= sbt_node_op((*m)->graph, i) == SBT_OP_SPARSE_WEIGHT;
    if (sparse) printf("init %s: already sparse; its scores are trained as they are\n", o->init);
    if (o->cfg.weights == SBT_WEIGHTS_SBT && !sparse) {
        sbt_sparsify_options so = sbt_sparsify_defaults();
        so.keep = o->cfg.keep;
        so.per_row_alpha = o->cfg.alpha_per_row;
        int layers = 0;
        if (sbt_model_sparsify(*m, &so, &layers)) return tool_fail_lib(TOOL);
        if (md && metric_of(*m, md, &v, &name)) return TOOL_EXIT_RUNTIME;
        printf("converted %d Linear layers to Biprop (keep %.4g, scores from |w|)", layers, o->cfg.keep);
        if (md) printf(": %s %.4f before training", name, v);
        printf("\n");
    }
    for (int i = 0; i < (*m)->n_tensors && o->freeze_biases; i++) {
        sbt_tensor_info *ti = &(*m)->tensors[i];
        if (ti->kind == SBT_TENSOR_PARAM && tool_has_suffix(ti->name, ".bias")) ti->kind = SBT_TENSOR_FROZEN;
    }
    return TOOL_EXIT_OK;
}

static int start_or_resume(const options *o, const sbt_dataset *train, const sbt_dataset *test, sbt_model **m,
                           sbt_trainer **t) {
    if (o->resume)
        return sbt_trainer_resume(o->resume, m, t)
                   ? tool_fail_lib(TOOL)
                   : check_resumed(o, *m, train->channels, train->n_classes, 0);
    metric_data md = {.test = test};
    int rc = o->init ? load_init(o, train->channels, train->n_classes, test ? &md : NULL, m)
                     : new_model(o, train, m);
    if (!rc && sbt_trainer_new(*m, &o->tc, t)) rc = tool_fail_lib(TOOL);
    return rc;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

/* Test evaluation happens here, after training has chosen its weights. Anomaly models
 * (settings not NULL) carry their threshold settings and data in the file. */
static int finish(const options *o, sbt_model *m, const sbt_dataset *test, int best_epoch,
                  const sbt_anomaly_settings *settings) {
    if (settings ? sbt_anomaly_model_save(m, settings, o->output) : sbt_model_save(m, o->output))
        return tool_fail_lib(TOOL);
    printf("trained: best validation epoch %d, %lld trained values, model file %s (%ld bytes)\n", best_epoch,
           (long long)sbt_model_param_count(m), o->output, file_size(o->output));
    if (m->cfg.weights == SBT_WEIGHTS_SBT)
        printf("sparse binary: keep %.4g, sparsity %.4g, attention %s\n", m->cfg.keep, 1.0 - m->cfg.keep,
               sbt_attention_name(m->cfg.attention));
    if (test) {
        double acc, loss;
        if (sbt_model_classify(m, test, NULL, &acc, &loss)) return tool_fail_lib(TOOL);
        printf("test accuracy %.4f (%d cases), test loss %.4f\n", acc, test->n, loss);
    }
    return TOOL_EXIT_OK;
}

static int report_windows(const options *o, sbt_model *m, const sbt_forecast_data *d,
                          const sbt_entity_list *names) {
    if (m->cfg.task == SBT_TASK_ANOMALY) {
        sbt_anomaly_report r;
        int rc = TOOL_EXIT_OK;
        if (sbt_anomaly_evaluate(m, d, &o->anomaly, &r))
            rc = tool_fail_lib(TOOL);
        else
            tool_print_anomaly_report(&r, &o->anomaly, names, o->test_path, NULL);
        sbt_anomaly_report_free(&r);
        return rc;
    }
    return tool_report_forecast(TOOL, m, d, NULL);
}

/* Forecasting and anomaly detection: one series with chronological train / validation /
 * test splits, one window per target step, the last step predicted. */
static int run_windows(const options *o, progress_state *progress) {
    sbt_forecast_data *d = NULL;
    sbt_model *m = NULL;
    sbt_trainer *t = NULL;
    sbt_entity_list *names = NULL;
    int window = o->window, rc = TOOL_EXIT_OK;
    if (o->init) { /* read once (load_init takes it); its window is the model's */
        if (tool_load_model(TOOL, o->init, o->cfg.task, &m, NULL)) return TOOL_EXIT_RUNTIME;
        if (window && window != m->cfg.max_len) {
            fprintf(stderr, "%s: error: %s takes windows of %d steps, not %d\n", TOOL, o->init,
                    m->cfg.max_len, window);
            sbt_model_free(m);
            return TOOL_EXIT_RUNTIME;
        }
        window = m->cfg.max_len;
    }
    if (o->cfg.task == SBT_TASK_ANOMALY) {
        tool_anomaly_source src = {.dir = o->train_path,
                                   .entities = o->entity,
                                   .labels = o->labels,
                                   .train_csv = o->train_path,
                                   .test_csv = o->test_path,
                                   .label_column = o->label_column,
                                   .time_column = o->time_column};
        rc = tool_anomaly_load(TOOL, &src, &window, &d, &names);
        if (!rc && names && names->count > 1) {
            char *list = tool_join_names(names);
            printf("one model over %d entities: %s\n", names->count, list ? list : "");
            free(list);
        }
    } else {
        sbt_forecast_options fo = sbt_forecast_defaults();
        fo.window = window ? window : 200;
        fo.scheme = o->split.scheme;
        memcpy(fo.ratio, o->split.ratio, sizeof fo.ratio);
        fo.fill = o->fill;
        window = fo.window;
        rc = sbt_forecast_load(o->train_path, &fo, &d) ? tool_fail_lib(TOOL) : TOOL_EXIT_OK;
        if (!rc) tool_print_forecast_data(TOOL, d, 1);
    }
    if (rc) {
        sbt_model_free(m); /* an --init model read above */
        return rc;
    }
    sbt_config cfg = o->cfg;
    cfg.channels = cfg.outputs = d->series.channels;
    cfg.max_len = window;
    if (!o->d_model_given && cfg.task == SBT_TASK_ANOMALY) /* the paper: d = 2 C, a multiple of heads */
        cfg.d_model = (2 * cfg.channels + cfg.heads - 1) / cfg.heads * cfg.heads;
    int channels = d->series.channels;
    if (o->resume)
        rc = sbt_trainer_resume(o->resume, &m, &t) ? tool_fail_lib(TOOL)
                                                   : check_resumed(o, m, channels, channels, window);
    else if (o->init) {
        metric_data md = {.d = d};
        rc = load_init(o, channels, channels, &md, &m);
        if (!rc && sbt_trainer_new(m, &o->tc, &t)) rc = tool_fail_lib(TOOL);
    } else if (sbt_model_new(&cfg, &m) || sbt_trainer_new(m, &o->tc, &t))
        rc = tool_fail_lib(TOOL);
    sbt_examples train = sbt_examples_of_forecast_every(d, SBT_FC_TRAIN, o->train_stride),
                 val = sbt_examples_of_forecast(d, SBT_FC_VAL);
    if (!rc && sbt_trainer_fit_examples(t, &train, &val, o->checkpoint, on_epoch, progress))
        rc = tool_fail_lib(TOOL);
    if (progress->enabled && progress->tty) fputc('\n', stderr);
    if (!rc && cfg.task == SBT_TASK_FORECAST) { /* how the CSV was read, for sbt-eval */
        m->cfg.split = (int)d->split.scheme;
        memcpy(m->cfg.split_ratio, d->split.ratio, sizeof m->cfg.split_ratio);
        m->cfg.fill = o->fill;
    }
    if (!rc) {
        /* the z-score the windows were fed with (an imported model has none: it takes raw values) */
        float *mean = sbt_model_data(m, "data.mean"), *std = sbt_model_data(m, "data.std");
        if (mean && std) {
            memcpy(mean, d->mean, (size_t)channels * sizeof(float));
            memcpy(std, d->std, (size_t)channels * sizeof(float));
        }
        sbt_anomaly_settings as = {.opt = o->anomaly,
                                   .entities = tool_join_names(names),
                                   .label_column = (char *)o->label_column,
                                   .time_column = (char *)o->time_column};
        rc = finish(o, m, NULL, sbt_trainer_best_epoch(t), o->cfg.task == SBT_TASK_ANOMALY ? &as : NULL);
        free(as.entities);
    }
    if (!rc) rc = report_windows(o, m, d, names);
    sbt_trainer_free(t);
    sbt_model_free(m);
    sbt_forecast_free(d);
    sbt_entity_list_free(names);
    return rc;
}

int main(int argc, char **argv) {
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    if (tool_check_output(TOOL, o.output) || (o.checkpoint && tool_check_output(TOOL, o.checkpoint)))
        return TOOL_EXIT_RUNTIME;
    if (o.threads) sbt_set_threads(o.threads);
    if (o.cfg.task != SBT_TASK_CLASSIFY) {
        progress_state fp = {isatty(STDERR_FILENO), !o.quiet && (o.progress || isatty(STDERR_FILENO))};
        return run_windows(&o, &fp);
    }
    sbt_dataset *all = NULL, *test = NULL, *train = NULL, *val = NULL;
    sbt_model *m = NULL;
    sbt_trainer *t = NULL;
    progress_state progress = {isatty(STDERR_FILENO), !o.quiet && (o.progress || isatty(STDERR_FILENO))};
    rc = load_data(&o, &all, &test);
    if (!rc) rc = start_or_resume(&o, all, test, &m, &t);
    if (!rc) rc = split_train(&o, all, &train, &val);
    if (!rc && sbt_trainer_fit(t, train ? train : all, val, o.checkpoint, on_epoch, &progress))
        rc = tool_fail_lib(TOOL);
    if (progress.enabled && progress.tty) fputc('\n', stderr);
    if (!rc) rc = finish(&o, m, test, sbt_trainer_best_epoch(t), NULL);
    sbt_trainer_free(t);
    sbt_model_free(m);
    sbt_dataset_free(all);
    sbt_dataset_free(train);
    sbt_dataset_free(val);
    sbt_dataset_free(test);
    return rc;
}
