#include "tool_convert.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sbt/anomaly.h"
#include "sbt/container.h"
#include "sbt/kernels.h"
#include "tool_common.h"

/* One Linear layer's weight: how many values, how many are non-zero, what it is. */
typedef struct {
    char name[SBT_NAME_MAX + 1];
    int64_t values, nonzero;
    int sparse, ternary; /* a sparse-weight node; its non-zeros are +-alpha */
} layer_stats;

typedef struct {
    layer_stats *layers;
    int count;
    int64_t float_params; /* trained or stored floats outside the converted weights */
    long long file_bytes;
} model_stats;

/* Walks the frozen graph: every Linear's weight as it computes. */
static int collect(const char *tool, const sbt_model *m, model_stats *s) {
    sbt_graph *g = NULL;
    if (sbt_graph_freeze(m->graph, &g)) return tool_fail_lib(tool);
    s->layers = calloc((size_t)sbt_graph_count(g), sizeof *s->layers);
    s->count = 0;
    for (int i = 0; i < sbt_graph_count(g); i++) {
        if (sbt_node_op(g, i) != SBT_OP_LINEAR) continue;
        int w = sbt_node_input(g, i, 1);
        layer_stats *l = &s->layers[s->count++];
        snprintf(l->name, sizeof l->name, "%s", sbt_node_name(g, i));
        l->values = sbt_node_size(g, w);
        const float *v = sbt_graph_value(g, w);
        for (int64_t k = 0; k < l->values; k++) l->nonzero += v[k] != 0.0f;
        l->sparse = sbt_node_op(m->graph, w) == SBT_OP_SPARSE_WEIGHT;
        l->ternary = l->sparse && sbt_node_attr(m->graph, w)->sparse.mode != SBT_SPARSE_PRUNE &&
                     sbt_ternary_rows(v, sbt_node_dim(g, w, 0), sbt_node_dim(g, w, 1), NULL);
    }
    sbt_graph_free(g);
    /* floats the model computes with outside the sparse layers: dense weights, biases, norms */
    int64_t trained = sbt_model_param_count(m);
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].kind == SBT_TENSOR_PARAM && strstr(m->tensors[i].name, ".scores"))
            trained -= m->tensors[i].size;
    s->float_params = trained;
    return 0;
}

/* Bits of a plain bit-level encoding of a layer's weight: 32 per value when dense; a
 * 1-bit keep mask plus 32 bits per kept value when pruned; 2 bits per value (ternary
 * codes) when binarized. */
static int64_t layer_bits(const layer_stats *l) {
    if (!l->sparse) return 32 * l->values;
    return l->ternary ? 2 * l->values : l->values + 32 * l->nonzero;
}

static cJSON *layer_json(const layer_stats *b, const layer_stats *a) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "layer", b->name);
    cJSON_AddNumberToObject(o, "weights", (double)b->values);
    cJSON_AddNumberToObject(o, "nonzero_before", (double)b->nonzero);
    cJSON_AddNumberToObject(o, "nonzero_after", (double)a->nonzero);
    cJSON_AddNumberToObject(o, "bits_before", (double)layer_bits(b));
    cJSON_AddNumberToObject(o, "bits_after", (double)layer_bits(a));
    cJSON_AddStringToObject(o, "after", a->ternary ? "ternary" : a->sparse ? "pruned" : "dense");
    return o;
}

static void totals(const model_stats *s, int64_t *values, int64_t *nonzero, int64_t *bits) {
    *values = *nonzero = *bits = 0;
    for (int i = 0; i < s->count; i++) {
        *values += s->layers[i].values;
        *nonzero += s->layers[i].nonzero;
        *bits += layer_bits(&s->layers[i]);
    }
}

static void print_table(const tool_convert_job *job, const model_stats *b, const model_stats *a) {
    int64_t vb, nb, bb, va, na, ba;
    totals(b, &vb, &nb, &bb);
    totals(a, &va, &na, &ba);
    if (job->json) {
        cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "layers");
        cJSON_AddStringToObject(root, "input", job->in);
        cJSON_AddStringToObject(root, "output", job->out);
        for (int i = 0; i < b->count && i < a->count; i++)
            cJSON_AddItemToArray(list, layer_json(&b->layers[i], &a->layers[i]));
        cJSON *t = cJSON_AddObjectToObject(root, "total");
        cJSON_AddNumberToObject(t, "weights", (double)vb);
        cJSON_AddNumberToObject(t, "nonzero_before", (double)nb);
        cJSON_AddNumberToObject(t, "nonzero_after", (double)na);
        cJSON_AddNumberToObject(t, "weight_bits_before", (double)bb);
        cJSON_AddNumberToObject(t, "weight_bits_after", (double)ba);
        cJSON_AddNumberToObject(t, "other_float_params", (double)a->float_params);
        cJSON_AddNumberToObject(t, "file_bytes_before", (double)b->file_bytes);
        cJSON_AddNumberToObject(t, "file_bytes_after", (double)a->file_bytes);
        char *text = cJSON_Print(root);
        printf("%s\n", text);
        free(text);
        cJSON_Delete(root);
        return;
    }
    printf("%-24s %10s %12s %12s %12s %12s  %s\n", "layer", "weights", "nonzero", "nonzero", "bits", "bits",
           "after");
    printf("%-24s %10s %12s %12s %12s %12s\n", "", "", "before", "after", "before", "after");
    for (int i = 0; i < b->count && i < a->count; i++) {
        const layer_stats *lb = &b->layers[i], *la = &a->layers[i];
        printf("%-24s %10lld %12lld %12lld %12lld %12lld  %s\n", lb->name, (long long)lb->values,
               (long long)lb->nonzero, (long long)la->nonzero, (long long)layer_bits(lb),
               (long long)layer_bits(la),
               la->ternary  ? "ternary"
               : la->sparse ? "pruned"
                            : "dense");
    }
    printf("%-24s %10lld %12lld %12lld %12lld %12lld\n", "total", (long long)vb, (long long)nb, (long long)na,
           (long long)bb, (long long)ba);
    printf("other float parameters (biases, norms, layers left dense): %lld\n", (long long)a->float_params);
    printf(
        "bits: a plain bit-level encoding of each weight (dense 32/value; pruned 1-bit mask + 32/kept value; "
        "ternary 2/value)\n");
    printf("file: %s %lld bytes -> %s %lld bytes (a model file keeps W and float scores for retraining; "
           "sbt-export packs it small, and an .onnx output stores ternary weights as int8)\n",
           job->in, b->file_bytes, job->out, a->file_bytes);
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int tool_convert_option(tool_convert_job *job, int opt, const char *arg, void (*usage)(void)) {
    switch (opt) {
    case 'o': job->out = arg; return -1;
    case TOOL_CONVERT_OPT_LAYERS: job->opt.layers = arg; return -1;
    case TOOL_CONVERT_OPT_JSON: job->json = 1; return -1;
    case TOOL_CONVERT_OPT_TASK:
        if ((job->onnx_task = tool_task_of(arg)) < 0)
            return tool_usage_error(job->tool, "--task %s: classify, forecast or anomaly", arg);
        return -1;
    case 'h': usage(); return TOOL_EXIT_OK;
    case 'V': tool_print_version(job->tool); return TOOL_EXIT_OK;
    default: return tool_usage_hint(job->tool); /* getopt said what was wrong */
    }
}

int tool_convert_args(tool_convert_job *job, int argc, char **argv, int optind) {
    if (optind != argc - 1) return tool_usage_error(job->tool, "give exactly one input model");
    if (!job->out) return tool_usage_error(job->tool, "give the output with -o FILE");
    job->in = argv[optind];
    return -1;
}

int tool_convert_run(const tool_convert_job *job) {
    int rc = tool_check_output(job->tool, job->out);
    if (rc) return rc;
    sbt_model *m = NULL;
    sbt_anomaly_settings settings = {0};
    if (tool_load_model(job->tool, job->in, job->onnx_task, &m, &settings)) return TOOL_EXIT_RUNTIME;
    model_stats before = {0}, after = {0};
    before.file_bytes = file_size(job->in);
    int layers = 0;
    rc = collect(job->tool, m, &before);
    if (!rc && sbt_model_sparsify(m, &job->opt, &layers)) rc = tool_fail_lib(job->tool);
    if (!rc) rc = collect(job->tool, m, &after);
    /* an .onnx output is the converted forward pass; anomaly models keep their threshold
     * settings beside the model */
    if (!rc && tool_has_suffix(job->out, ".onnx"))
        rc = tool_write_onnx(job->tool, m, job->out, 0, 0, NULL, NULL);
    else if (!rc && (m->cfg.task == SBT_TASK_ANOMALY ? sbt_anomaly_model_save(m, &settings, job->out)
                                                     : sbt_model_save(m, job->out)))
        rc = tool_fail_lib(job->tool);
    if (!rc) {
        after.file_bytes = file_size(job->out);
        print_table(job, &before, &after);
        if (!job->json) fprintf(stderr, "%s: converted %d layers, wrote %s\n", job->tool, layers, job->out);
    }
    free(before.layers);
    free(after.layers);
    sbt_anomaly_settings_free(&settings);
    sbt_model_free(m);
    return rc;
}
