/* onnx_model.c - an imported ONNX model as an sbt model (graph description + tensor
 * table + metadata), so that everything that takes a model (evaluation, conversion,
 * training, model files) takes an imported one.
 *
 * The model graph follows the native one's interface (model/run.c binds these names):
 * inputs x (B, T, C), step_mask (B, T), attn_mask (B, 1, 1, T), labels (B, int32) or
 * target (B, outputs); outputs logits or prediction (B, outputs) and loss. The ONNX
 * graph is copied in between, its parameters and BatchNorm statistics moved into the
 * model's tensor table. The masks are accepted and unused: the ONNX model computes
 * what it computes on every step, as it did in PyTorch. T is the file's length (the
 * description's batch is symbolic, its length is not): graphs of an imported model
 * are built for that length only (model/run.c checks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/onnx_import.h"
#include "model/model_internal.h"

/* The table entry name of desc's leaf `id`: its node name, made unique. */
static void leaf_name(const sbt_tensor_table *t, const char *base, char *name) {
    snprintf(name, SBT_NAME_MAX + 1, "%s", base);
    for (int k = 2;; k++) {
        int clash = 0;
        for (int i = 0; i < t->count && !clash; i++) clash = !strcmp(t->items[i].name, name);
        if (!clash) return;
        char suffix[16];
        int n = snprintf(suffix, sizeof suffix, "#%d", k);
        snprintf(name, SBT_NAME_MAX + 1 - (size_t)n, "%s", base);
        strcat(name, suffix);
    }
}

static sbt_status build_table(const sbt_graph *d, sbt_tensor_table *t, int *entry) {
    for (int id = 0; id < sbt_graph_count(d); id++) {
        sbt_op op = sbt_node_op(d, id);
        entry[id] = -1;
        if (op != SBT_OP_PARAM && op != SBT_OP_STATE && op != SBT_OP_CONST) continue;
        if (sbt_node_dtype(d, id) != SBT_DTYPE_F32)
            return sbt_fail(SBT_ERR_UNSUPPORTED, "ONNX model: constant '%s' is not float32",
                            sbt_node_name(d, id));
        int64_t shape[SBT_MAX_DIMS];
        int nd = sbt_node_ndim(d, id);
        for (int k = 0; k < nd; k++) shape[k] = sbt_node_dim(d, id, k);
        char name[SBT_NAME_MAX + 1];
        leaf_name(t, sbt_node_name(d, id), name);
        entry[id] = t->count;
        sbt_status st =
            sbt_table_add(t,
                          op == SBT_OP_PARAM   ? SBT_TENSOR_PARAM
                          : op == SBT_OP_STATE ? SBT_TENSOR_STATE
                                               : SBT_TENSOR_FROZEN,
                          nd, shape, "%s", name); /* consts too: model files keep every tensor in the table */
        if (st) return st;
    }
    return SBT_OK;
}

/* The model's interface inputs; returns the node the ONNX input maps to (x, or x
 * transposed to (T, B, C) for a time-major model). */
static int interface_inputs(sbt_graph *g, const char *layout, int64_t steps, int64_t channels, sbt_task task,
                            int64_t outputs, int *labels) {
    /* The length is the file's: the description's shapes are literal in it. */
    sbt_dim b = sbt_dim_batch(), l = sbt_dim_n(steps);
    int x = sbt_input_dims(g, "x", SBT_DTYPE_F32, 3, (sbt_dim[]){b, l, sbt_dim_n(channels)});
    sbt_input_dims(g, "step_mask", SBT_DTYPE_F32, 2, (sbt_dim[]){b, l});
    sbt_input_dims(g, "attn_mask", SBT_DTYPE_F32, 4, (sbt_dim[]){b, sbt_dim_n(1), sbt_dim_n(1), l});
    *labels = task == SBT_TASK_CLASSIFY
                  ? sbt_input_dims(g, "labels", SBT_DTYPE_I32, 1, &b)
                  : sbt_input_dims(g, "target", SBT_DTYPE_F32, 2, (sbt_dim[]){b, sbt_dim_n(outputs)});
    return strcmp(layout, "TBC") ? x : sbt_transpose(g, x, (int[]){1, 0, 2});
}

/* Copies desc's nodes up to `output` into g, leaves bound to the model's buffers. */
static sbt_status copy_graph(const sbt_graph *d, int input, int output, sbt_model *m, const int *entry,
                             sbt_graph *g, int x, int *map) {
    for (int id = 0; id <= output; id++) {
        sbt_op op = sbt_node_op(d, id);
        const char *name = sbt_node_name(d, id);
        int nd = sbt_node_ndim(d, id), n_in = sbt_node_input_count(d, id), in[SBT_MAX_INPUTS];
        int64_t shape[SBT_MAX_DIMS];
        for (int k = 0; k < nd; k++) shape[k] = sbt_node_dim(d, id, k);
        if (op == SBT_OP_INPUT) {
            if (id != input) return sbt_fail(SBT_ERR_UNSUPPORTED, "ONNX model: a second input '%s'", name);
            map[id] = x;
            continue;
        }
        if (op == SBT_OP_PARAM || op == SBT_OP_STATE || op == SBT_OP_CONST) {
            const sbt_tensor_info *ti = &m->tensors[entry[id]];
            float *v = m->values + ti->offset;
            memcpy(v, sbt_graph_data((sbt_graph *)d, id), (size_t)ti->size * sizeof *v);
            map[id] = op == SBT_OP_STATE   ? sbt_state(g, ti->name, nd, shape, v)
                      : op == SBT_OP_PARAM ? sbt_param(g, ti->name, nd, shape, v, m->grads + ti->offset)
                                           : sbt_param(g, ti->name, nd, shape, v, NULL); /* frozen */
            continue;
        }
        for (int k = 0; k < n_in; k++) in[k] = map[sbt_node_input(d, id, k)];
        map[id] = sbt_graph_name(g, sbt_graph_add(g, op, in, n_in, sbt_node_attr(d, id)), name);
    }
    return sbt_graph_status(g);
}

static sbt_status model_graph(const sbt_onnx_model *om, sbt_model *m, const int *entry, int *map) {
    const sbt_graph *d = sbt_onnx_description(om);
    int in = sbt_onnx_input(om), out = sbt_onnx_output(om), labels;
    const char *layout = sbt_onnx_layout(om);
    int64_t steps = m->cfg.max_len;
    sbt_graph *g = sbt_graph_new();
    if (!g) return sbt_fail(SBT_ERR_NOMEM, "ONNX model: out of memory");
    sbt_graph_set_dims(g, 1, steps);
    int x = interface_inputs(g, layout, steps, m->cfg.channels, m->cfg.task, m->cfg.outputs, &labels);
    sbt_status st = copy_graph(d, in, out, m, entry, g, x, map);
    if (!st) {
        int y = map[out], loss;
        sbt_graph_name(g, y, m->cfg.task == SBT_TASK_CLASSIFY ? "logits" : "prediction");
        loss = m->cfg.task == SBT_TASK_CLASSIFY ? sbt_cross_entropy(g, y, labels) : sbt_mse(g, y, labels);
        sbt_graph_mark_output(g, y);
        sbt_graph_mark_output(g, sbt_graph_name(g, loss, "loss"));
        st = sbt_graph_status(g);
    }
    if (st) {
        sbt_graph_free(g);
        return sbt_fail(st, "ONNX model: %s", sbt_last_error());
    }
    m->graph = g;
    return SBT_OK;
}

sbt_status sbt_onnx_to_model(const sbt_onnx_model *om, sbt_task task, sbt_model **out) {
    *out = NULL;
    const sbt_graph *d = sbt_onnx_description(om);
    const char *layout = sbt_onnx_layout(om);
    if (!d)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "ONNX model: no description with a symbolic batch (%s)",
                        sbt_onnx_description_note(om));
    if (strcmp(layout, "BTC") && strcmp(layout, "TBC"))
        return sbt_fail(SBT_ERR_UNSUPPORTED, "ONNX model: input layout %s (BTC or TBC needed)", layout);
    int in = sbt_onnx_input(om), out_id = sbt_onnx_output(om);
    if (sbt_node_ndim(d, out_id) != 2)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "ONNX model: output of rank %d, (batch, outputs) needed",
                        sbt_node_ndim(d, out_id));
    int t_axis = layout[0] == 'T' ? 0 : 1;
    sbt_config cfg = sbt_config_default(task);
    cfg.channels = (int)sbt_node_dim(d, in, 2);
    cfg.max_len = (int)sbt_node_dim(d, in, t_axis);
    cfg.outputs = (int)sbt_node_dim(d, out_id, 1);
    sbt_tensor_table t = {0};
    int *entry = calloc((size_t)sbt_graph_count(d), sizeof *entry);
    int *map = calloc((size_t)sbt_graph_count(d), sizeof *map);
    sbt_status st =
        entry && map ? build_table(d, &t, entry) : sbt_fail(SBT_ERR_NOMEM, "ONNX model: out of memory");
    sbt_model *m = NULL;
    if (!st) st = sbt_model_alloc(&t, &m);
    free(t.items);
    if (!st) {
        m->cfg = cfg;
        m->native = 0;
        st = model_graph(om, m, entry, map);
    }
    free(entry);
    free(map);
    if (st) {
        sbt_model_free(m);
        return st;
    }
    *out = m;
    return SBT_OK;
}
