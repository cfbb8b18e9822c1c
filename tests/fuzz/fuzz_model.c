/* fuzz_model.c - libFuzzer target for model files (formats/sbtm.md section 7): the
 * container, then the model reader (meta, config, tensor table text, graph text, stored
 * tensors; version 1 files through the config). Any input must be refused with
 * SBT_ERR_FORMAT, SBT_ERR_ARG, SBT_ERR_SHAPE or SBT_ERR_NOMEM (and no model), or load into
 * a model whose forward-only graph runs on a batch of one window.
 *
 * Built with -DFUZZ_SEED_MAIN, it writes a seed corpus: native models of each task and
 * attention variant (dense and SBT) and a pruned model; tests/golden/model_v1.sbtm
 * seeds the version 1 reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/container.h"
#include "sbt/convert.h"
#include "sbt/model.h"

/* A loaded model must run: its graph instantiated forward-only for a short window. */
static void run_or_abort(sbt_model *m) {
    sbt_model_graph mg;
    int length = m->cfg.max_len < 8 ? m->cfg.max_len : 8;
    if (sbt_model_graph_build_infer(m, 1, length, &mg) != SBT_OK) return; /* refusing a shape is fine */
    if (sbt_graph_forward_until(mg.graph, 0, mg.output) != SBT_OK && mg.labels < 0) abort();
    sbt_model_graph_free(&mg);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    sbt_container *c = NULL;
    if (sbt_container_decode(data, size, "fuzz", "SBTM", &c) != SBT_OK) return 0;
    sbt_model *m = NULL;
    sbt_status st = sbt_model_from_container(c, "fuzz.sbtm", &m);
    if (st != SBT_OK) {
        if (m || (st != SBT_ERR_FORMAT && st != SBT_ERR_ARG && st != SBT_ERR_SHAPE && st != SBT_ERR_NOMEM))
            abort();
    } else {
        /* small models only: a fuzzer must not spend its time running big ones */
        if (m->n_values < (1 << 16)) run_or_abort(m);
        sbt_model_free(m);
    }
    sbt_container_free(c);
    return 0;
}

#ifdef FUZZ_SEED_MAIN
static int write_model(const char *dir, const char *name, const sbt_model *m) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (sbt_model_save(m, path) == SBT_OK) return 0;
    fprintf(stderr, "%s\n", sbt_last_error());
    return 1;
}

static sbt_config tiny(sbt_task task, sbt_weights w, sbt_attention a, sbt_norm norm) {
    sbt_config c = sbt_config_default(task);
    c.channels = 3;
    c.outputs = task == SBT_TASK_CLASSIFY ? 2 : 3;
    c.max_len = 6;
    c.d_model = 4;
    c.heads = 2;
    c.layers = 1;
    c.d_ff = 8;
    c.weights = w;
    c.keep = w == SBT_WEIGHTS_SBT ? 0.5f : 1.0f;
    c.attention = a;
    c.norm = norm;
    return c;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    const sbt_config cfgs[] = {tiny(SBT_TASK_CLASSIFY, SBT_WEIGHTS_DENSE, SBT_ATTN_FULL, SBT_NORM_BATCH),
                               tiny(SBT_TASK_CLASSIFY, SBT_WEIGHTS_SBT, SBT_ATTN_QKV_MASK, SBT_NORM_BATCH),
                               tiny(SBT_TASK_FORECAST, SBT_WEIGHTS_SBT, SBT_ATTN_STEP_T, SBT_NORM_LAYER),
                               tiny(SBT_TASK_ANOMALY, SBT_WEIGHTS_DENSE, SBT_ATTN_SELF, SBT_NORM_NONE)};
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        sbt_model *m = NULL;
        char name[32];
        snprintf(name, sizeof name, "native%d.sbtm", i);
        bad |= sbt_model_new(&cfgs[i], &m) != SBT_OK || write_model(argv[1], name, m);
        if (i == 0) {
            sbt_sparsify_options o = sbt_sparsify_defaults();
            o.mode = SBT_SPARSE_PRUNE;
            bad |= sbt_model_sparsify(m, &o, NULL) != SBT_OK || write_model(argv[1], "pruned.sbtm", m);
        }
        sbt_model_free(m);
    }
    return bad; /* add tests/golden/model_v1.sbtm to the corpus for the version 1 reader */
}
#endif
