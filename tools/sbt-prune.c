/* sbt-prune: unstructured pruning of a trained model's Linear weights. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tool_common.h"
#include "tool_convert.h"

static const char *const TOOL = "sbt-prune";

static void usage(void) {
    printf("Usage: %s IN.sbtm -o OUT.sbtm --keep K [--scope layer|global] [--layers GLOB]\n"
           "                 [--method magnitude|random] [--seed N] [--json]\n"
           "Prune the Linear weights of a trained float model: keep the fraction K of each layer's\n"
           "weights (or of all chosen layers together with --scope global) with the largest |w|, or a\n"
           "random fraction. The weights stay stored (frozen) under a keep mask of trainable scores that\n"
           "start as |w|, so `sbt-train --init OUT.sbtm --model sbt` can recover accuracy. Prints the\n"
           "weights, non-zeros and bits of each layer before and after, and the file sizes.\n\n"
           "  -o, --output FILE   the pruned model (written atomically; checked before any work)\n"
           "  --keep K            fraction kept, 0 < K <= 1 (sparsity = 1 - K)\n"
           "  --scope layer|global  K per layer (default) or one magnitude threshold over all layers\n"
           "  --layers GLOB       only Linear layers whose name matches (e.g. 'layer*.ff*'; default all)\n"
           "  --method magnitude|random  which weights are kept (magnitude)\n"
           "  --seed N            random method: the seed (0)\n"
           "  --json              the table as one JSON object\n"
           "  --task TASK         an .onnx input's task: classify (default), forecast, anomaly\n"
           "IN is a model file (.sbtm, .sbt) or an ONNX file (fed raw values, as PyTorch took them);\n"
           "an OUT ending in .onnx is written as ONNX (ternary weights as int8 codes + scale), else as\n"
           "a model file.\n"
           "  -h, --help          this help      -V, --version   the version\n\n"
           "Example:\n"
           "  %s jv.sbtm -o jv_pruned.sbtm --keep 0.5\n",
           TOOL, TOOL);
}

int main(int argc, char **argv) {
    enum { OPT_KEEP = 256, OPT_SCOPE, OPT_METHOD, OPT_SEED };
    static const struct option opts[] = {TOOL_CONVERT_OPTIONS,
                                         {"keep", required_argument, 0, OPT_KEEP},
                                         {"scope", required_argument, 0, OPT_SCOPE},
                                         {"method", required_argument, 0, OPT_METHOD},
                                         {"seed", required_argument, 0, OPT_SEED},
                                         {0, 0, 0, 0}};
    tool_convert_job job = {.tool = TOOL, .opt = sbt_sparsify_defaults()};
    job.opt.mode = SBT_SPARSE_PRUNE;
    int keep_given = 0, opt;
    double keep;
    while ((opt = getopt_long(argc, argv, "o:hV", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_KEEP:
            if (tool_parse_double(optarg, 0, 1, &keep) || !(keep > 0))
                return tool_usage_error(TOOL, "--keep %s: a fraction in (0, 1]", optarg);
            job.opt.keep = (float)keep;
            keep_given = 1;
            break;
        case OPT_SCOPE:
            if (strcmp(optarg, "layer") && strcmp(optarg, "global"))
                return tool_usage_error(TOOL, "--scope %s: layer or global", optarg);
            job.opt.global = !strcmp(optarg, "global");
            break;
        case OPT_METHOD:
            if (strcmp(optarg, "magnitude") && strcmp(optarg, "random"))
                return tool_usage_error(TOOL, "--method %s: magnitude or random", optarg);
            job.opt.random_scores = !strcmp(optarg, "random");
            break;
        case OPT_SEED:
            if (tool_parse_u64(optarg, &job.opt.seed))
                return tool_usage_error(TOOL, "--seed %s: an integer", optarg);
            break;
        default: {
            int rc = tool_convert_option(&job, opt, optarg, usage);
            if (rc >= 0) return rc;
        }
        }
    }
    int rc = tool_convert_args(&job, argc, argv, optind);
    if (rc >= 0) return rc;
    if (!keep_given) return tool_usage_error(TOOL, "give --keep K");
    if (job.opt.random_scores && job.opt.global)
        return tool_usage_error(TOOL,
                                "--method random keeps K of each layer; it does not take --scope global");
    return tool_convert_run(&job);
}
