/* tools/tool_convert.h - what sbt-prune and sbt-binarize share: reading the model,
 * checking the output before any work, the conversion (sbt/convert.h), the before/after
 * table per layer and in total (text or JSON), and the atomic write. */
#ifndef SBT_TOOL_CONVERT_H
#define SBT_TOOL_CONVERT_H

#include "sbt/convert.h"

typedef struct {
    const char *tool;
    const char *in, *out;
    sbt_sparsify_options opt;
    int json;
    int onnx_task; /* the task of an .onnx input (sbt_task) */
} tool_convert_job;

/* The options both tools take: -o, --layers, --json, --task (long-option ids from 300). */
enum { TOOL_CONVERT_OPT_LAYERS = 300, TOOL_CONVERT_OPT_JSON, TOOL_CONVERT_OPT_TASK };
#define TOOL_CONVERT_OPTIONS                                                                                 \
    {"output", required_argument, 0, 'o'}, {"layers", required_argument, 0, TOOL_CONVERT_OPT_LAYERS},        \
        {"json", no_argument, 0, TOOL_CONVERT_OPT_JSON},                                                     \
        {"task", required_argument, 0, TOOL_CONVERT_OPT_TASK}, {"help", no_argument, 0, 'h'}, {              \
        "version", no_argument, 0, 'V'                                                                       \
    }

/* Applies a shared option, -h, -V, or getopt's complaint about an unknown one: -1 when
 * the tool goes on, else the exit code to return (0 after help or version). The tool
 * handles its own options before calling this. */
int tool_convert_option(tool_convert_job *job, int opt, const char *arg, void (*usage)(void));
/* After getopt: exactly one input and an output. -1 to go on, else the exit code. */
int tool_convert_args(tool_convert_job *job, int argc, char **argv, int optind);

/* Runs the job; returns the tool's exit code (errors printed). */
int tool_convert_run(const tool_convert_job *job);

#endif
