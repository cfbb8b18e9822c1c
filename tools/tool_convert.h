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

/* Runs the job; returns the tool's exit code (errors printed). */
int tool_convert_run(const tool_convert_job *job);

#endif
