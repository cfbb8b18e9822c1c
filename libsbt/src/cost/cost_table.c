/* The cost as a human table: one row per group and the total, the units in the header. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "sbt/cost.h"

static void row(sbt_strbuf *t, const char *name, const sbt_cost_counts *c) {
    sbt_strbuf_printf(
        t, "%-12s %10lld %10lld %10lld %10lld %11lld %11lld %13lld %13lld %13lld %11lld %11lld %11lld\n",
        name, (long long)c->params, (long long)c->params_nonzero, (long long)c->params_float,
        (long long)c->params_ternary, (long long)c->bits_paper, (long long)c->bits_f32,
        (long long)c->macs_dense, (long long)c->macs_nonzero, (long long)sbt_cost_flops(c),
        (long long)c->addsub, (long long)c->mults, (long long)c->nonlinear);
}

char *sbt_cost_table(const sbt_cost *c) {
    sbt_strbuf t = {0};
    sbt_strbuf_printf(&t, "cost of one window (%lld steps), %s convention%s\n", (long long)c->window,
                      sbt_cost_convention_name(c->convention),
                      c->convention == SBT_COST_PAPER
                          ? " (the paper's FLOPs are its multiply-adds: the MACs columns)"
                          : "");
    sbt_strbuf_printf(&t, "%-12s %10s %10s %10s %10s %11s %11s %13s %13s %13s %11s %11s %11s\n", "group",
                      "params", "nonzero", "float", "ternary", "bits_paper", "bits_f32", "MACs_dense",
                      "MACs_nonzero", "FLOPs", "add/sub", "mults", "nonlinear");
    static const sbt_cost_counts zero;
    for (int i = 0; i < c->n_groups; i++) /* groups of inputs alone hold nothing to show */
        if (memcmp(&c->groups[i].counts, &zero, sizeof zero))
            row(&t, c->groups[i].name, &c->groups[i].counts);
    row(&t, "total", &c->total);
    sbt_strbuf_printf(
        &t,
        "units: parameters in values; bits of storage; MACs = multiply-accumulates; FLOPs = 2 x MACs_nonzero "
        "(linear algebra only);\n"
        "add/sub and mults outside the MACs (ternary path, element-wise ops, norms); nonlinear in weighted "
        "element operations (exp %d, div %d, sqrt %d, softmax %d, compare %d). Entropy bound of the "
        "storage: %.0f bits.\n",
        SBT_COST_EXP, SBT_COST_DIV, SBT_COST_SQRT, SBT_COST_SOFTMAX, SBT_COST_CMP, c->total.bits_entropy);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}

static cJSON *counts_json(const sbt_cost_counts *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "params", (double)c->params);
    cJSON_AddNumberToObject(o, "params_nonzero", (double)c->params_nonzero);
    cJSON_AddNumberToObject(o, "params_float", (double)c->params_float);
    cJSON_AddNumberToObject(o, "params_ternary", (double)c->params_ternary);
    cJSON_AddNumberToObject(o, "bits_paper", (double)c->bits_paper);
    cJSON_AddNumberToObject(o, "bits_f32", (double)c->bits_f32);
    cJSON_AddNumberToObject(o, "bits_entropy", c->bits_entropy);
    cJSON_AddNumberToObject(o, "macs_dense", (double)c->macs_dense);
    cJSON_AddNumberToObject(o, "macs_nonzero", (double)c->macs_nonzero);
    cJSON_AddNumberToObject(o, "flops", (double)sbt_cost_flops(c));
    cJSON_AddNumberToObject(o, "addsub", (double)c->addsub);
    cJSON_AddNumberToObject(o, "mults", (double)c->mults);
    cJSON_AddNumberToObject(o, "nonlinear", (double)c->nonlinear);
    return o;
}

char *sbt_cost_json(const sbt_cost *c) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    cJSON_AddStringToObject(root, "convention", sbt_cost_convention_name(c->convention));
    cJSON_AddNumberToObject(root, "window", (double)c->window);
    cJSON *units = cJSON_AddObjectToObject(root, "units");
    cJSON_AddStringToObject(units, "macs", "multiply-accumulates per window");
    cJSON_AddStringToObject(units, "flops", "2 x macs_nonzero, linear algebra only");
    cJSON_AddStringToObject(units, "bits", "storage bits");
    cJSON_AddStringToObject(units, "nonlinear",
                            "weighted element operations: exp 32, div 4, sqrt 24, softmax 36");
    cJSON *groups = cJSON_AddArrayToObject(root, "groups");
    for (int i = 0; i < c->n_groups; i++) {
        cJSON *g = counts_json(&c->groups[i].counts);
        cJSON_AddStringToObject(g, "name", c->groups[i].name);
        cJSON_AddItemToArray(groups, g);
    }
    cJSON_AddItemToObject(root, "total", counts_json(&c->total));
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}
