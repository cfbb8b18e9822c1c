/* sbt-predict: a model's predictions for the windows of a series (CSV or .npy). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/anomaly.h"
#include "sbt/container.h"
#include "sbt/predict.h"
#include "tool_common.h"

static const char *const TOOL = "sbt-predict";

static void usage(void) {
    printf("Usage: %s MODEL.sbtm --input FILE.csv|FILE.npy [-o OUT.csv] [--kernel dense|ternary|int8]\n"
           "                   [--time-column NAME]\n"
           "Run a model on raw data with the inference runtime (frozen weights, forward-only, batch 1).\n"
           "A classifier reads the whole file as one series (rows = steps, columns = channels) and\n"
           "writes its class and logits. A forecast or anomaly model slides its window over the\n"
           "series and writes, for every step that has a full window of earlier steps (and for the\n"
           "step after the last row), the predicted value of every channel, in the file's units.\n\n"
           "  --input FILE        CSV with a header row (numbers only, no empty cells) or .npy (steps,\n"
           "                      channels)\n"
           "  --time-column NAME  CSV: a time stamp column to leave out\n"
           "  -o, --output FILE   where the CSV goes (written atomically; default: standard output)\n"
           "  --kernel K          dense: OpenBLAS sgemm (default); ternary: add/sub kernels with float\n"
           "                      activations; int8: ternary kernels with int8 activations\n"
           "  -h, --help          this help      -V, --version   the version\n\n"
           "Example:\n"
           "  %s etth1.sbtm --input recent.csv --time-column date --kernel ternary -o next.csv\n",
           TOOL, TOOL);
}

typedef struct {
    char *buf;
    size_t len, cap;
} text;

static int append(text *t, const char *s) {
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4096;
        while (cap < t->len + n + 1) cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b) return -1;
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n + 1);
    t->len += n;
    return 0;
}

static int classify(sbt_predictor *p, const sbt_model *m, const sbt_series *s, text *out) {
    int k = sbt_predictor_outputs(p);
    float logits[k];
    if (sbt_predict(p, s->x, (int)s->steps, logits)) return -1;
    int best = 0;
    for (int c = 1; c < k; c++)
        if (logits[c] > logits[best]) best = c;
    char cell[64];
    int bad = append(out, "class");
    for (int c = 0; c < k && !bad; c++) {
        snprintf(cell, sizeof cell, ",logit_%d", c);
        bad = append(out, cell);
    }
    bad |= append(out, "\n");
    bad |=
        append(out, m->class_names ? m->class_names[best] : (snprintf(cell, sizeof cell, "%d", best), cell));
    for (int c = 0; c < k && !bad; c++) {
        snprintf(cell, sizeof cell, ",%.9g", logits[c]);
        bad = append(out, cell);
    }
    return bad | append(out, "\n");
}

/* One row per predicted step: the window of the history steps before it. */
static int forecast(sbt_predictor *p, const sbt_series *s, text *out) {
    int history = sbt_predictor_length(p) - 1, c = s->channels;
    float y[c];
    char cell[64];
    int bad = append(out, "step");
    for (int k = 0; k < c && !bad; k++) {
        bad = append(out, ",");
        bad |= append(out, s->channel_names ? s->channel_names[k]
                                            : (snprintf(cell, sizeof cell, "ch%d", k), cell));
    }
    bad |= append(out, "\n");
    for (int64_t t = history; t <= s->steps && !bad; t++) {
        if (sbt_predict(p, s->x + (t - history) * c, history, y)) return -1;
        snprintf(cell, sizeof cell, "%lld", (long long)t);
        bad = append(out, cell);
        for (int k = 0; k < c && !bad; k++) {
            snprintf(cell, sizeof cell, ",%.9g", y[k]);
            bad = append(out, cell);
        }
        bad |= append(out, "\n");
    }
    return bad;
}

static int read_input(const char *path, const char *time_column, sbt_series **s) {
    int npy = tool_has_suffix(path, ".npy") || tool_has_suffix(path, ".npy.gz");
    sbt_status st = npy ? sbt_npy_read(path, 0, s) : sbt_series_read_csv(path, time_column, NULL, 0, s);
    return st ? tool_fail_lib(TOOL) : 0;
}

int main(int argc, char **argv) {
    enum { OPT_INPUT = 256, OPT_KERNEL, OPT_TIME };
    static const struct option opts[] = {{"input", required_argument, 0, OPT_INPUT},
                                         {"kernel", required_argument, 0, OPT_KERNEL},
                                         {"time-column", required_argument, 0, OPT_TIME},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    const char *input = NULL, *output = NULL, *time_column = NULL;
    sbt_predict_options po = {.kernel = SBT_KERNEL_DENSE};
    int opt;
    while ((opt = getopt_long(argc, argv, "o:hV", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_INPUT: input = optarg; break;
        case OPT_TIME: time_column = optarg; break;
        case 'o': output = optarg; break;
        case OPT_KERNEL:
            if (!strcmp(optarg, "dense"))
                po.kernel = SBT_KERNEL_DENSE;
            else if (!strcmp(optarg, "ternary"))
                po.kernel = SBT_KERNEL_TERNARY_F32;
            else if (!strcmp(optarg, "int8"))
                po.kernel = SBT_KERNEL_TERNARY_I8;
            else
                return tool_usage_error(TOOL, "--kernel %s: dense, ternary or int8", optarg);
            break;
        case 'h': usage(); return TOOL_EXIT_OK;
        case 'V': tool_print_version(TOOL); return TOOL_EXIT_OK;
        default: return tool_usage_error(TOOL, "unknown option");
        }
    }
    if (optind != argc - 1) return tool_usage_error(TOOL, "give exactly one model file");
    if (!input) return tool_usage_error(TOOL, "give the data with --input FILE");
    sbt_model *m = NULL;
    sbt_series *s = NULL;
    sbt_predictor *p = NULL;
    text out = {0};
    if (output && tool_check_output(TOOL, output)) return TOOL_EXIT_RUNTIME;
    if (sbt_anomaly_model_load(argv[optind], &m, NULL)) return tool_fail_lib(TOOL);
    int rc = read_input(input, time_column, &s);
    if (!rc && s->channels != m->cfg.channels) {
        fprintf(stderr, "%s: error: %s has %d channels, the model takes %d\n", TOOL, input, s->channels,
                m->cfg.channels);
        rc = TOOL_EXIT_RUNTIME;
    }
    if (!rc && m->cfg.task != SBT_TASK_CLASSIFY && s->steps < m->cfg.max_len - 1) {
        fprintf(stderr, "%s: error: %s has %lld steps; the model needs %d to predict one\n", TOOL, input,
                (long long)s->steps, m->cfg.max_len - 1);
        rc = TOOL_EXIT_RUNTIME;
    }
    if (!rc && m->cfg.task == SBT_TASK_CLASSIFY)
        po.length = (int)s->steps > m->cfg.max_len ? (int)s->steps : 0;
    if (!rc && sbt_predictor_new(m, &po, &p)) rc = tool_fail_lib(TOOL);
    if (!rc && (m->cfg.task == SBT_TASK_CLASSIFY ? classify(p, m, s, &out) : forecast(p, s, &out)))
        rc = tool_fail_lib(TOOL);
    if (!rc && output && sbt_write_file_atomic(output, out.buf, out.len)) rc = tool_fail_lib(TOOL);
    if (!rc && !output) fputs(out.buf, stdout);
    free(out.buf);
    sbt_predictor_free(p);
    sbt_series_free(s);
    sbt_model_free(m);
    return rc;
}
