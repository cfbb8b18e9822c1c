/* sbt-info: describe a model file: configuration, tensors, parameter counts. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/anomaly.h"
#include "sbt/cost.h"
#include "sbt/forecast.h"
#include "sbt/model.h"
#include "sbt/packfile.h"
#include "tool_common.h"

static const char *const TOOL = "sbt-info";

static void usage(void) {
    printf("Usage: %s MODEL.sbtm|MODEL.sbt [--json]\n"
           "Describe a model file: its configuration, every tensor (name, kind, shape, values)\n"
           "and the parameter counts; for a .sbt file also its sections (encoding, bytes, bits\n"
           "per element, entropy bound).\n\n"
           "  --json          one JSON object instead of text\n"
           "  -h, --help      this help      -V, --version   the version\n\n"
           "Example:\n"
           "  %s jv.sbtm\n",
           TOOL, TOOL);
}

static int is_packed(const char *path) {
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    int yes = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "SBTP", 4);
    if (f) fclose(f);
    return yes;
}

static const char *kind_name(sbt_tensor_kind k) {
    return k == SBT_TENSOR_PARAM ? "param" : k == SBT_TENSOR_STATE ? "state" : "frozen";
}

static void shape_text(const sbt_tensor_info *ti, char *buf, size_t cap) {
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ti->ndim && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, d ? ", %lld" : "%lld", (long long)ti->shape[d]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

/* Where a tensor's values come from: the file, or its recorded seed. */
static const char *source_name(const sbt_tensor_info *ti) {
    return ti->kind == SBT_TENSOR_FROZEN && ti->provenance == SBT_PROV_SEEDED ? "seeded" : "stored";
}

/* The graph in one line: nodes, how many of each op that runs, what it outputs. */
static void print_graph_text(const sbt_model *m) {
    const sbt_graph *g = m->graph;
    int count[SBT_OP_COUNT] = {0};
    for (int i = 0; i < sbt_graph_count(g); i++) count[sbt_node_op(g, i)]++;
    printf("  graph: %d nodes (%s; batch and length symbolic):", sbt_graph_count(g),
           m->native ? "native" : "converted or imported");
    for (int op = SBT_OP_MATMUL; op < SBT_OP_COUNT; op++)
        if (count[op] && op != SBT_OP_STATE && op != SBT_OP_CONST)
            printf(" %s %d", sbt_op_name((sbt_op)op), count[op]);
    printf("; outputs");
    for (int o = 0; o < sbt_graph_output_count(g); o++)
        printf(" %s", sbt_node_name(g, sbt_graph_output(g, o)));
    printf("\n");
}

/* Forecast and anomaly models: the frame their windows are fed in, and for anomaly models
 * the data and threshold settings stored beside the model. */
static void print_window_text(const sbt_model *m, const sbt_anomaly_settings *s) {
    const sbt_config *c = &m->cfg;
    if (c->task == SBT_TASK_CLASSIFY) return;
    printf("  windows of %d steps, fed %s\n", c->max_len,
           c->window_norm == SBT_WINDOW_LAST ? "relative to the last observed step" : "z-scored");
    if (c->task == SBT_TASK_FORECAST) {
        sbt_split_rule rule = {.scheme = (sbt_split_scheme)c->split};
        memcpy(rule.ratio, c->split_ratio, sizeof rule.ratio);
        char split[96];
        sbt_split_rule_format(&rule, split, sizeof split);
        printf("  CSV split %s%s, empty or NaN cells %s\n", split,
               c->split == SBT_SPLIT_AUTO ? " (by the file's name)" : "",
               c->fill ? "filled linearly" : "refused");
    }
    if (c->task != SBT_TASK_ANOMALY) return;
    printf("  anomaly thresholds: POT risk %g, level %g; quantile %g; trained on %s\n", s->opt.pot_risk,
           s->opt.pot_level, s->opt.quantile, s->entities ? s->entities : "(not recorded)");
}

static void print_text(const char *path, const sbt_model *m, const sbt_anomaly_settings *s) {
    const sbt_config *c = &m->cfg;
    printf("model %s\n", path);
    printf("  task %s, channels %d, outputs %d, max_len %d\n", sbt_task_name(c->task), c->channels,
           c->outputs, c->max_len);
    printf("  d_model %d, heads %d, layers %d, d_ff %d, norm %s, pos %s, dropout %g, seed %llu\n", c->d_model,
           c->heads, c->layers, c->d_ff, sbt_norm_name(c->norm), sbt_posenc_name(c->pos), c->dropout,
           (unsigned long long)c->seed);
    printf("  weights %s", sbt_weights_name(c->weights));
    if (c->weights == SBT_WEIGHTS_SBT)
        printf(" (keep %.4g, sparsity %.4g, alpha per %s, biases %s)", c->keep, 1.0 - c->keep,
               c->alpha_per_row ? "row" : "layer", c->train_bias ? "trained" : "frozen");
    printf(", attention %s", sbt_attention_name(c->attention));
    if (c->attention == SBT_ATTN_QKV_MASK) printf(" (keep %.4g)", c->attn_keep);
    if (c->attention == SBT_ATTN_STEP_T)
        printf(" (last step attends to %s)", c->attn_include_last ? "every step" : "the earlier steps");
    printf("\n");
    print_window_text(m, s);
    if (m->class_names) {
        printf("  classes");
        for (int i = 0; i < c->outputs; i++) printf(" %s", m->class_names[i]);
        printf("\n");
    }
    print_graph_text(m);
    printf("  %-28s %-6s %-16s %10s  %s\n", "tensor", "kind", "shape", "values", "source");
    int64_t state = 0, seeded = 0, stored_frozen = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        char shape[96];
        shape_text(ti, shape, sizeof shape);
        printf("  %-28s %-6s %-16s %10lld  %s\n", ti->name, kind_name(ti->kind), shape, (long long)ti->size,
               source_name(ti));
        if (ti->kind == SBT_TENSOR_STATE) state += ti->size;
        if (ti->kind == SBT_TENSOR_FROZEN)
            *(ti->provenance == SBT_PROV_SEEDED ? &seeded : &stored_frozen) += ti->size;
    }
    printf("parameters %lld trained (float32: %lld bytes); state %lld values; frozen %lld values drawn again "
           "from "
           "their seed (not stored) and %lld stored\n",
           (long long)sbt_model_param_count(m), (long long)sbt_model_param_count(m) * 4, (long long)state,
           (long long)seeded, (long long)stored_frozen);
    sbt_cost cost;
    if (sbt_cost_model((sbt_model *)m, m->cfg.max_len, SBT_COST_EXACT, &cost) == SBT_OK) {
        char *table = sbt_cost_table(&cost);
        if (table)
            printf("cost of one window of %d steps (sbt-bench counts more):\n%s", m->cfg.max_len, table);
        free(table);
        sbt_cost_free(&cost);
    }
}

static cJSON *shape_json(const sbt_tensor_info *ti) {
    double dims[SBT_MAX_DIMS];
    for (int d = 0; d < ti->ndim; d++) dims[d] = (double)ti->shape[d];
    return cJSON_CreateDoubleArray(dims, ti->ndim);
}

/* Forecast models: the split rule and fill choice sbt-eval applies to the CSV. */
static void forecast_json(cJSON *root, const sbt_config *c) {
    sbt_split_rule rule = {.scheme = (sbt_split_scheme)c->split};
    memcpy(rule.ratio, c->split_ratio, sizeof rule.ratio);
    char split[96];
    sbt_split_rule_format(&rule, split, sizeof split);
    cJSON_AddStringToObject(root, "split", split);
    cJSON_AddStringToObject(root, "fill", c->fill ? "linear" : "none");
}

static int print_json(const char *path, const sbt_model *m, const sbt_anomaly_settings *s) {
    const sbt_config *c = &m->cfg;
    cJSON *root = cJSON_CreateObject();
    tool_json_string(root, "model", path);
    cJSON_AddStringToObject(root, "task", sbt_task_name(c->task));
    cJSON_AddNumberToObject(root, "channels", c->channels);
    cJSON_AddNumberToObject(root, "outputs", c->outputs);
    cJSON_AddNumberToObject(root, "max_len", c->max_len);
    cJSON_AddNumberToObject(root, "d_model", c->d_model);
    cJSON_AddNumberToObject(root, "heads", c->heads);
    cJSON_AddNumberToObject(root, "layers", c->layers);
    cJSON_AddNumberToObject(root, "d_ff", c->d_ff);
    cJSON_AddStringToObject(root, "norm", sbt_norm_name(c->norm));
    cJSON_AddStringToObject(root, "pos", sbt_posenc_name(c->pos));
    cJSON_AddStringToObject(root, "weights", sbt_weights_name(c->weights));
    tool_json_float(root, "keep", c->keep);
    cJSON_AddStringToObject(root, "attention", sbt_attention_name(c->attention));
    cJSON_AddNumberToObject(root, "parameters", (double)sbt_model_param_count(m));
    if (c->task != SBT_TASK_CLASSIFY)
        cJSON_AddStringToObject(root, "window_norm", sbt_window_norm_name(c->window_norm));
    if (c->task == SBT_TASK_FORECAST) forecast_json(root, c);
    if (c->task == SBT_TASK_ANOMALY) {
        cJSON *a = cJSON_AddObjectToObject(root, "anomaly");
        if (a) {
            cJSON_AddNumberToObject(a, "pot_risk", s->opt.pot_risk);
            cJSON_AddNumberToObject(a, "pot_level", s->opt.pot_level);
            cJSON_AddNumberToObject(a, "quantile", s->opt.quantile);
            tool_json_string(a, "entities", s->entities);
        }
    }
    if (m->class_names) {
        cJSON *classes = cJSON_AddArrayToObject(root, "classes");
        for (int i = 0; classes && i < c->outputs; i++)
            cJSON_AddItemToArray(classes, cJSON_CreateString(m->class_names[i]));
    }
    cJSON *list = cJSON_AddArrayToObject(root, "tensors");
    for (int i = 0; list && i < m->n_tensors; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        cJSON *t = cJSON_CreateObject();
        tool_json_string(t, "name", ti->name);
        cJSON_AddStringToObject(t, "kind", kind_name(ti->kind));
        cJSON_AddItemToObject(t, "shape", shape_json(ti));
        cJSON_AddNumberToObject(t, "values", (double)ti->size);
        cJSON_AddStringToObject(t, "source", source_name(ti));
        cJSON_AddItemToArray(list, t);
    }
    cJSON_AddNumberToObject(root, "graph_nodes", sbt_graph_count(m->graph));
    cJSON_AddBoolToObject(root, "native", m->native);
    sbt_cost cost;
    if (sbt_cost_model((sbt_model *)m, m->cfg.max_len, SBT_COST_EXACT, &cost) == SBT_OK) {
        char *text = sbt_cost_json(&cost);
        cJSON *parsed = text ? cJSON_Parse(text) : NULL;
        if (parsed) cJSON_AddItemToObject(root, "cost", parsed);
        free(text);
        sbt_cost_free(&cost);
    }
    return tool_json_print(TOOL, root);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    int json = 0, opt;
    while ((opt = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': json = 1; break;
        case 'h': usage(); return TOOL_EXIT_OK;
        case 'V': tool_print_version(TOOL); return TOOL_EXIT_OK;
        default: return tool_usage_hint(TOOL);
        }
    }
    if (optind != argc - 1) return tool_usage_error(TOOL, "give exactly one model file");
    sbt_model *m = NULL;
    sbt_anomaly_settings settings = {0};
    if (sbt_anomaly_model_load(argv[optind], &m, &settings)) return tool_fail_lib(TOOL);
    int rc = TOOL_EXIT_OK;
    sbt_packfile *pf = NULL; /* a .sbt file: its sections too */
    if (!json && is_packed(argv[optind]) && sbt_packfile_read(argv[optind], &pf)) return tool_fail_lib(TOOL);
    if (json)
        rc = print_json(argv[optind], m, &settings);
    else
        print_text(argv[optind], m, &settings);
    if (pf) tool_print_packfile(argv[optind], pf);
    sbt_packfile_free(pf);
    sbt_anomaly_settings_free(&settings);
    sbt_model_free(m);
    return rc;
}
