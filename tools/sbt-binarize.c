/* sbt-binarize: each kept weight of a (pruned) trained model becomes sign(w) * alpha. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tool_common.h"
#include "tool_convert.h"

static const char *const TOOL = "sbt-binarize";

static void usage(void) {
    printf("Usage: %s IN.sbtm -o OUT.sbtm [--alpha layer|row] [--layers GLOB] [--json]\n"
           "Binarize the Linear weights of a trained model: each kept weight becomes sign(w) * alpha,\n"
           "alpha = the mean |w| of the kept weights of the layer (or of each output row). A pruning\n"
           "mask (sbt-prune, or zeros in the weights) is kept, so the weights become ternary:\n"
           "-alpha, 0, +alpha. Prints the weights, non-zeros and bits of each layer before and after,\n"
           "and the file sizes.\n\n"
           "  -o, --output FILE   the binarized model (written atomically; checked before any work)\n"
           "  --alpha layer|row   one scale per layer (default) or per output row\n"
           "  --layers GLOB       only Linear layers whose name matches (default all)\n"
           "  --json              the table as one JSON object\n"
           "  --task TASK         an .onnx input's task: classify (default), forecast, anomaly\n"
           "IN is a model file (.sbtm, .sbt) or an ONNX file (fed raw values, as PyTorch took them);\n"
           "an OUT ending in .onnx is written as ONNX (ternary weights as int8 codes + scale), else as\n"
           "a model file.\n"
           "  -h, --help          this help      -V, --version   the version\n\n"
           "Example:\n"
           "  sbt-prune jv.sbtm -o jv_pruned.sbtm --keep 0.5\n"
           "  %s jv_pruned.sbtm -o jv_ternary.sbtm\n",
           TOOL, TOOL);
}

int main(int argc, char **argv) {
    enum { OPT_ALPHA = 256, OPT_LAYERS, OPT_JSON, OPT_TASK };
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"alpha", required_argument, 0, OPT_ALPHA},
                                         {"layers", required_argument, 0, OPT_LAYERS},
                                         {"json", no_argument, 0, OPT_JSON},
                                         {"task", required_argument, 0, OPT_TASK},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    tool_convert_job job = {.tool = TOOL, .opt = sbt_sparsify_defaults()};
    job.opt.mode = SBT_SPARSE_BINARIZE;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'o': job.out = optarg; break;
        case OPT_ALPHA:
            if (strcmp(optarg, "layer") && strcmp(optarg, "row"))
                return tool_usage_error(TOOL, "--alpha %s: layer or row", optarg);
            job.opt.per_row_alpha = !strcmp(optarg, "row");
            break;
        case OPT_LAYERS: job.opt.layers = optarg; break;
        case OPT_JSON: job.json = 1; break;
        case OPT_TASK:
            if ((job.onnx_task = tool_task_of(optarg)) < 0)
                return tool_usage_error(TOOL, "--task %s: classify, forecast or anomaly", optarg);
            break;
        case 'h': usage(); return TOOL_EXIT_OK;
        case 'V': tool_print_version(TOOL); return TOOL_EXIT_OK;
        default: return tool_usage_error(TOOL, "unknown option");
        }
    }
    if (optind != argc - 1) return tool_usage_error(TOOL, "give exactly one input model");
    if (!job.out) return tool_usage_error(TOOL, "give the output with -o FILE");
    job.in = argv[optind];
    return tool_convert_run(&job);
}
