/* sbt/onnx.h - ONNX models in and out (protobuf-c; onnx.proto of libonnx-dev).
 *
 * Import turns an ONNX file (e.g. from torch.onnx.export) into an sbt graph: weights
 * (initializers) become parameter tensors owned by the imported model, nodes become
 * graph ops. Everything that only computes shapes, masks or tables from constants
 * (Shape -> Gather -> Concat -> Reshape, Cast, ConstantOfShape, Unsqueeze, Equal/Where,
 * Range, ScatterND, ...) is folded at import and never becomes an op. LayerNorm
 * decomposed into ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add (opsets < 17) is matched back
 * into one LayerNorm op; GELU in its Erf form is kept as our elementwise ops
 * (Scale, Erf, Add, Mul: exact, and each has a backward). MatMul/Gemm with a constant
 * weight becomes Linear (W stored (out, in)).
 *
 *     sbt_onnx_options opt = sbt_onnx_defaults();
 *     opt.batch = 8;                         // symbolic batch axis bound to 8
 *     sbt_onnx_model *m = NULL;
 *     if (sbt_onnx_import("model.onnx", &opt, &m) != SBT_OK)
 *         fprintf(stderr, "error: %s\n", sbt_last_error());
 *     sbt_graph *g = sbt_onnx_graph(m);       // finalised, ready to run
 *     memcpy(sbt_graph_value(g, sbt_onnx_input(m)), x, ...);   // raw values, as PyTorch took them
 *     sbt_graph_forward(g, 0);
 *     const float *y = sbt_graph_value(g, sbt_onnx_output(m));
 *     sbt_onnx_model_free(m);
 *
 * The graph is built for one binding of the symbolic axes (opt.batch, opt.length); the
 * input layout (which axis is batch, time, channel) is told from the ONNX input shape:
 * the symbolic axis is the batch, the last fixed axis the channels, the other the time
 * (opt.layout overrides it, e.g. "TBC").
 *
 * Errors name the file and the problem: truncated or corrupt files, external-data
 * tensors, an op outside the supported set (its type, node name and opset), a shape
 * computed from data at run time that cannot be folded.
 *
 * Ownership: the imported model owns its graph and every tensor the graph points to;
 * sbt_onnx_model_free releases all of them.
 */
#ifndef SBT_ONNX_H
#define SBT_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "sbt/error.h"
#include "sbt/graph.h"
#include "sbt/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbt_onnx_options {
    int64_t batch;      /* value of the symbolic batch axis (default 1) */
    int64_t length;     /* value of a symbolic time axis (0: the file must fix it) */
    const char *layout; /* input axes as letters B, T, C (e.g. "BTC", "TBC"); NULL: from the file */
} sbt_onnx_options;

sbt_onnx_options sbt_onnx_defaults(void);

typedef struct sbt_onnx_model sbt_onnx_model;

sbt_status sbt_onnx_import(const char *path, const sbt_onnx_options *opt, sbt_onnx_model **out);
/* The same from bytes in memory; `name` stands for the file in messages. */
sbt_status sbt_onnx_import_bytes(const void *data, size_t size, const char *name, const sbt_onnx_options *opt,
                                 sbt_onnx_model **out);
void sbt_onnx_model_free(sbt_onnx_model *m);

/* The finalised graph (owned by m), its input and output node ids. */
sbt_graph *sbt_onnx_graph(const sbt_onnx_model *m);
int sbt_onnx_input(const sbt_onnx_model *m);
int sbt_onnx_output(const sbt_onnx_model *m);
/* The graph as a description whose batch is symbolic (sbt_graph_instantiate at any
 * batch; its params and state are m's tensors, so m must outlive the instances), or
 * NULL when the file's batch axis is fixed or a number in the graph follows the batch
 * in a way an sbt_dim cannot say; sbt_onnx_description_note then says why. It is found
 * by importing the file a second time at batch + 1 and comparing. */
const sbt_graph *sbt_onnx_description(const sbt_onnx_model *m);
const char *sbt_onnx_description_note(const sbt_onnx_model *m);
/* The imported model as an sbt model (caller frees with sbt_model_free), so that
 * evaluation, conversion (sbt/convert.h), training and model files take it: the
 * description between the model interface's inputs (x (B, T, C), step_mask, attn_mask,
 * labels or target; the masks unused) and outputs (logits or prediction, (B, outputs),
 * and loss); parameters and BatchNorm statistics copied into the tensor table under
 * their ONNX names; no input normalisation (fed raw values, as PyTorch took them). Needs
 * a description (symbolic batch), a BTC or TBC input and a (batch, outputs) output; the
 * length is the file's. */
sbt_status sbt_onnx_to_model(const sbt_onnx_model *m, sbt_task task, sbt_model **out);
/* Input axes as letters ("BTC", "TBC", "BC"...), one per input axis. */
const char *sbt_onnx_layout(const sbt_onnx_model *m);
/* The file's default-domain opset. */
int sbt_onnx_opset(const sbt_onnx_model *m);
/* Names of the ONNX input and output (for an export that keeps them). */
const char *sbt_onnx_input_name(const sbt_onnx_model *m);
const char *sbt_onnx_output_name(const sbt_onnx_model *m);

/* Export: the nodes `output` depends on, as an ONNX model (opset 17) with the shapes
 * the graph was built for. Parameters become float32 initializers; with `ternary`, a
 * Linear weight whose values are {-a, 0, +a} (a per layer or per output row, as
 * binarised sparse weights are) is stored as int8 codes and a scale through
 * DequantizeLinear instead (a quarter of the bytes). Sparse-weight nodes are written as
 * their effective weights (the graph is run forward once for that). The file is
 * written to a temporary name and renamed. Ops without an ONNX form (Step-T attention,
 * masked mean, losses) are refused by name. */
typedef struct sbt_onnx_export_options {
    int ternary;
    const char *input_name, *output_name; /* default "x", "y" */
} sbt_onnx_export_options;

typedef struct sbt_onnx_export_stats {
    size_t file_bytes, initializer_bytes;
    int ternary_layers, float_layers; /* Linear weights written each way */
} sbt_onnx_export_stats;

sbt_onnx_export_options sbt_onnx_export_defaults(void);
/* The same without writing: stats->file_bytes is the size the file would have. */
sbt_status sbt_onnx_export_size(sbt_graph *g, int input, int output, const sbt_onnx_export_options *opt,
                                sbt_onnx_export_stats *stats);
/* `stats` may be NULL. The graph must be finalised. */
sbt_status sbt_onnx_export(sbt_graph *g, int input, int output, const char *path,
                           const sbt_onnx_export_options *opt, sbt_onnx_export_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
