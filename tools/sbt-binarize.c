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
    enum { OPT_ALPHA = 256 };
    static const struct option opts[] = {
        TOOL_CONVERT_OPTIONS, {"alpha", required_argument, 0, OPT_ALPHA}, {0, 0, 0, 0}};
    tool_convert_job job = {.tool = TOOL, .opt = sbt_sparsify_defaults()};
    job.opt.mode = SBT_SPARSE_BINARIZE;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:hV", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_ALPHA:
            if (strcmp(optarg, "layer") && strcmp(optarg, "row"))
                return tool_usage_error(TOOL, "--alpha %s: layer or row", optarg);
            job.opt.per_row_alpha = !strcmp(optarg, "row");
            break;
        default: {
            int rc = tool_convert_option(&job, opt, optarg, usage);
            if (rc >= 0) return rc;
        }
        }
    }
    int rc = tool_convert_args(&job, argc, argv, optind);
    if (rc >= 0) return rc;
    return tool_convert_run(&job);
}
