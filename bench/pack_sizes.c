/* pack_sizes: bytes of a deployable .sbt file per encoding, for the paper's JapaneseVowels,
 * SMD and ETTm1 configurations at keep 0.5, 0.25 and 0.1, against float32, zlib'd float32,
 * the entropy bound and the paper's counted bits.
 *
 * Each model is its list of sparse-binary layers (input projection, Q, K, V, attention
 * output, both FFN linears per encoder layer, output head; shapes from
 * ../shared/paper-configs.md) plus its norm parameters. Until sbt-export packs real
 * models, every layer gets random scores and random frozen W from libsbt's generator; the
 * mask is the top-k of |scores| (sbt_biprop_select, as training leaves it), the signs are
 * sign(W), alpha = mean |W| over the kept entries (sbt_biprop_alpha). For a top-k mask of
 * trained scores the mask entropy is the same Hb(keep) per weight, so the sizes carry over.
 *
 * What a file holds here: one section per sparse layer in the encoding under test, and the
 * norm parameters as f32 (gamma and beta; BatchNorm also its running mean and variance).
 * Not included yet: the graph and metadata text sections (written by the lead's graph
 * serializer; a few hundred bytes) and biases (the paper's SBT layers keep them at their
 * seeded initial values, so they are regenerated, not stored).
 *
 * The paper counts 1 bit per sparse-binary weight, kept or not, plus 32 bits per norm
 * weight (gamma), and ignores alphas, biases, norm biases and statistics and the seed.
 *
 * It also measures the choice of model in the coded encodings: the ideal code length of a
 * static probability k/n (n Hb(k/n)), of an LZMA-style adaptive bit probability (11 bits,
 * shift 5), and of the exact remaining counts (log2 C(n, k), what seed-mask-coded uses),
 * next to the bytes the range coder really writes.
 *
 * Then it does the same with real models: the paper's three configurations built by libsbt's
 * encoder builder (untrained: random scores, whose top-k masks have the same entropy as
 * trained ones), packed by sbt_model_pack into the .sbt that sbt-export writes, graph,
 * tensor table, metadata and every norm and input-normalisation tensor included.
 *
 *     pack_sizes [--json PATH] [--md PATH] [--seed N]
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "sbt/biprop.h"
#include "sbt/container.h"
#include "sbt/model.h"
#include "sbt/model_pack.h"
#include "sbt/pack.h"
#include "sbt/packfile.h"
#include "sbt/rng.h"

enum { MAX_LAYERS = 32, N_KEEPS = 3 };
static const float KEEPS[N_KEEPS] = {0.5f, 0.25f, 0.1f};

typedef struct layer {
    char name[64];
    int64_t rows, cols;
} layer;

typedef struct model_shape {
    const char *name;
    int channels, d_model, layers, d_ff, outputs;
    int norms_per_layer, norm_tensors; /* norm tensors of d: 2 LayerNorm (gamma, beta), 4 BatchNorm */
    int64_t paper_bits_expected;       /* from the issue text; 0 = not given */
    int n_layers;
    layer layer[MAX_LAYERS];
} model_shape;

static void add_layer(model_shape *m, const char *name, int64_t rows, int64_t cols) {
    layer *l = &m->layer[m->n_layers++];
    snprintf(l->name, sizeof l->name, "%s.weight", name);
    l->rows = rows;
    l->cols = cols;
}

static void build_layers(model_shape *m) {
    const char *sub[] = {"q", "k", "v", "out"};
    char name[48];
    add_layer(m, "input", m->d_model, m->channels);
    for (int l = 0; l < m->layers; l++) {
        for (int s = 0; s < 4; s++) {
            snprintf(name, sizeof name, "layer%d.%s", l, sub[s]);
            add_layer(m, name, m->d_model, m->d_model);
        }
        snprintf(name, sizeof name, "layer%d.ff1", l);
        add_layer(m, name, m->d_ff, m->d_model);
        snprintf(name, sizeof name, "layer%d.ff2", l);
        add_layer(m, name, m->d_model, m->d_ff);
    }
    add_layer(m, "head", m->outputs, m->d_model);
}

static int64_t sparse_weights(const model_shape *m) {
    int64_t n = 0;
    for (int i = 0; i < m->n_layers; i++) n += m->layer[i].rows * m->layer[i].cols;
    return n;
}

/* The paper's count: 1 bit per sparse weight, 32 per norm weight (gamma). */
static int64_t paper_bits(const model_shape *m) {
    return sparse_weights(m) + 32LL * m->layers * m->norms_per_layer * m->d_model;
}

/* One layer's masks, trits, effective weights and alpha. */
typedef struct layer_data {
    uint8_t *mask;
    int8_t *trits;
    float *w_eff;
    float alpha;
    int64_t kept;
} layer_data;

static void make_layer(uint64_t seed, int index, const layer *l, float keep, layer_data *d) {
    int64_t n = l->rows * l->cols;
    float *scores = malloc((size_t)n * sizeof *scores), *w = malloc((size_t)n * sizeof *w);
    float *m = malloc((size_t)n * sizeof *m);
    int32_t *scratch = malloc((size_t)n * sizeof *scratch);
    sbt_rng r;
    sbt_rng_seed(&r, sbt_rng_derive(seed, (uint64_t)index));
    float bound = 1.0f / sqrtf((float)l->cols); /* Kaiming-uniform-like, as a linear layer's init */
    for (int64_t i = 0; i < n; i++) scores[i] = sbt_rng_uniform_range(&r, -bound, bound);
    for (int64_t i = 0; i < n; i++) w[i] = sbt_rng_uniform_range(&r, -bound, bound);
    sbt_biprop_select(scores, n, sbt_biprop_keep_count(keep, n), m, scratch);
    d->alpha = sbt_biprop_alpha(w, m, n);
    d->mask = malloc((size_t)n);
    d->trits = malloc((size_t)n);
    d->w_eff = malloc((size_t)n * sizeof *d->w_eff);
    d->kept = 0;
    for (int64_t i = 0; i < n; i++) {
        d->mask[i] = m[i] != 0;
        d->trits[i] = (int8_t)(m[i] != 0 ? (w[i] < 0 ? -1 : 1) : 0);
        d->w_eff[i] = d->alpha * (float)d->trits[i];
        d->kept += d->mask[i];
    }
    free(scores);
    free(w);
    free(m);
    free(scratch);
}

static void free_layer(layer_data *d) {
    free(d->mask);
    free(d->trits);
    free(d->w_eff);
}

/* ---- encodings under test ---- */

typedef struct encoding_case {
    const char *label;
    sbt_encoding enc;
    unsigned flags;
} encoding_case;

static const encoding_case CASES[] = {
    {"f32", SBT_ENC_F32, 0},
    {"f32+zlib", SBT_ENC_F32, SBT_PACK_ZLIB},
    {"seed-mask", SBT_ENC_SEED_MASK, 0},
    {"seed-mask+zlib", SBT_ENC_SEED_MASK, SBT_PACK_ZLIB},
    {"seed-mask-coded", SBT_ENC_SEED_MASK_CODED, 0},
    {"ternary2", SBT_ENC_TERNARY2, 0},
    {"ternary2+zlib", SBT_ENC_TERNARY2, SBT_PACK_ZLIB},
    {"ternary-b3", SBT_ENC_TERNARY_B3, 0},
    {"ternary-coded", SBT_ENC_TERNARY_CODED, 0},
};
enum { N_CASES = sizeof CASES / sizeof CASES[0] };

typedef struct result {
    size_t file_bytes;   /* the whole file */
    size_t sparse_bytes; /* payloads + table entries of the sparse layers */
    double bound_bits;   /* entropy bound of the sparse layers' payloads in this encoding */
} result;

static int pack_case(const model_shape *m, layer_data *data, const encoding_case *c, result *res) {
    sbt_packfile *pf = sbt_packfile_new();
    int bad = 0;
    for (int i = 0; i < m->n_layers && !bad; i++) {
        const layer *l = &m->layer[i];
        const int64_t shape[2] = {l->rows, l->cols};
        int kind = sbt_encoding_kind(c->enc);
        sbt_status st = kind == SBT_ENC_KIND_MASK
                            ? sbt_packfile_add_mask(pf, l->name, c->enc, 2, shape, data[i].mask,
                                                    &data[i].alpha, 0, c->flags)
                        : kind == SBT_ENC_KIND_TERNARY
                            ? sbt_packfile_add_ternary(pf, l->name, c->enc, 2, shape, data[i].trits,
                                                       &data[i].alpha, 0, c->flags)
                            : sbt_packfile_add_floats(pf, l->name, c->enc, 2, shape, data[i].w_eff, c->flags);
        bad = st != SBT_OK;
    }
    int sparse_sections = sbt_packfile_count(pf);
    float *ones = malloc((size_t)m->d_model * sizeof *ones);
    for (int i = 0; i < m->d_model; i++) ones[i] = 1.0f + 0.01f * (float)i; /* trained norms are not all 1 */
    const char *norm_tensors[] = {"gamma", "beta", "running_mean", "running_var"};
    for (int l = 0; l < m->layers && !bad; l++)
        for (int k = 1; k <= m->norms_per_layer; k++)
            for (int t = 0; t < m->norm_tensors; t++) {
                char name[64];
                snprintf(name, sizeof name, "layer%d.norm%d.%s", l, k, norm_tensors[t]);
                bad |=
                    sbt_packfile_add_floats(pf, name, SBT_ENC_F32, 1, (int64_t[]){m->d_model}, ones, 0) != 0;
            }
    free(ones);
    if (bad) {
        fprintf(stderr, "pack_sizes: %s %s: %s\n", m->name, c->label, sbt_last_error());
        sbt_packfile_free(pf);
        return 1;
    }
    res->file_bytes = sbt_packfile_size(pf);
    res->sparse_bytes = 0;
    res->bound_bits = 0;
    for (int i = 0; i < sparse_sections; i++) {
        const sbt_pack_section *s = sbt_packfile_at(pf, i);
        res->sparse_bytes += s->stored_bytes + sbt_packfile_entry_size(pf, i);
        res->bound_bits += sbt_packfile_bound_bits(s);
    }
    sbt_packfile_free(pf);
    return 0;
}

/* ---- the coder model comparison ---- */

typedef struct model_costs {
    double static_bits, adaptive_bits, enumerative_bits, coded_stream_bits;
} model_costs;

/* Ideal code length of the mask under an LZMA-style adaptive probability (11 bits, shift 5). */
static double adaptive_bits(const uint8_t *mask, int64_t n) {
    int p0 = 1024; /* P(0) in 1/2048 */
    double bits = 0;
    for (int64_t i = 0; i < n; i++) {
        if (mask[i]) {
            bits -= log2(1.0 - p0 / 2048.0);
            p0 -= p0 >> 5;
        } else {
            bits -= log2(p0 / 2048.0);
            p0 += (2048 - p0) >> 5;
        }
    }
    return bits;
}

static void add_costs(const layer *l, const layer_data *d, model_costs *c) {
    int64_t n = l->rows * l->cols;
    c->static_bits += sbt_pack_mask_bound_bits(n, d->kept);
    c->adaptive_bits += adaptive_bits(d->mask, n);
    c->enumerative_bits +=
        (lgamma((double)n + 1) - lgamma((double)d->kept + 1) - lgamma((double)(n - d->kept) + 1)) / log(2.0);
    unsigned char *p = NULL;
    size_t bytes = 0;
    if (sbt_pack_encode_mask(SBT_ENC_SEED_MASK_CODED, d->mask, l->rows, l->cols, &d->alpha, 0, &p, &bytes) ==
        0) {
        size_t head = 5 + (size_t)(d->kept < 128 ? 1 : d->kept < 16384 ? 2 : 3); /* alpha block + varint k */
        c->coded_stream_bits += 8.0 * (double)(bytes - head);
    }
    free(p);
}

/* ---- real models ---- */

typedef struct real_run {
    const char *model;
    float keep;
    size_t sbtm_bytes, coded_bytes, mask_bytes, f32_bytes, text_bytes;
    int64_t paper_bits;
} real_run;

static sbt_config paper_config(const model_shape *m, float keep, uint64_t seed) {
    sbt_task task = !strcmp(m->name, "SMD")     ? SBT_TASK_ANOMALY
                    : !strcmp(m->name, "ETTm1") ? SBT_TASK_FORECAST
                                                : SBT_TASK_CLASSIFY;
    sbt_config c = sbt_config_default(task);
    c.channels = m->channels;
    c.outputs = m->outputs;
    c.max_len = task == SBT_TASK_CLASSIFY ? 29 : 200;
    c.d_model = m->d_model;
    c.heads = 2;
    c.layers = m->layers;
    c.d_ff = m->d_ff;
    c.norm = task == SBT_TASK_CLASSIFY   ? SBT_NORM_BATCH
             : task == SBT_TASK_FORECAST ? SBT_NORM_LAYER
                                         : SBT_NORM_NONE;
    c.weights = SBT_WEIGHTS_SBT;
    c.keep = keep;
    c.seed = seed;
    return c;
}

static size_t packed_size(const sbt_model *m, sbt_encoding masks, size_t *text_bytes) {
    sbt_packfile *pf = NULL;
    sbt_model_pack_options o = {masks, 0, 0};
    if (sbt_model_pack(m, &o, &pf)) return 0;
    size_t n = sbt_packfile_size(pf);
    if (text_bytes) {
        *text_bytes = 0;
        for (int i = 0; i < sbt_packfile_count(pf); i++)
            if (sbt_packfile_at(pf, i)->encoding == SBT_ENC_TEXT)
                *text_bytes += sbt_packfile_at(pf, i)->stored_bytes + sbt_packfile_entry_size(pf, i);
    }
    sbt_packfile_free(pf);
    return n;
}

static int real_model(const model_shape *shape, float keep, uint64_t seed, real_run *out) {
    sbt_config cfg = paper_config(shape, keep, seed);
    sbt_model *m = NULL;
    sbt_container *c = sbt_container_new();
    unsigned char *buf = NULL;
    size_t len = 0;
    int bad = sbt_model_new(&cfg, &m) || sbt_model_to_container(m, c) ||
              sbt_container_encode(c, "SBTM", &buf, &len);
    if (!bad) {
        out->model = shape->name;
        out->keep = keep;
        out->sbtm_bytes = len;
        out->coded_bytes = packed_size(m, 0, &out->text_bytes); /* sbt-export's default */
        out->mask_bytes = packed_size(m, SBT_ENC_SEED_MASK, NULL);
        out->f32_bytes = packed_size(m, SBT_ENC_F32, NULL);
        out->paper_bits = paper_bits(shape);
        bad = !out->coded_bytes || !out->mask_bytes || !out->f32_bytes;
    }
    if (bad) fprintf(stderr, "pack_sizes: %s model: %s\n", shape->name, sbt_last_error());
    free(buf);
    sbt_container_free(c);
    sbt_model_free(m);
    return bad;
}

/* ---- output ---- */

typedef struct run {
    const model_shape *m;
    float keep;
    result r[N_CASES];
    model_costs costs;
} run;

static cJSON *benchmark_json(const run *u, int c) {
    char name[128];
    snprintf(name, sizeof name, "pack/%s/keep:%g/%s", u->m->name, u->keep, CASES[c].label);
    cJSON *b = cJSON_CreateObject();
    int64_t n = sparse_weights(u->m);
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddStringToObject(b, "run_name", name);
    cJSON_AddStringToObject(b, "run_type", "iteration");
    cJSON_AddNumberToObject(b, "repetitions", 1);
    cJSON_AddNumberToObject(b, "iterations", 1);
    cJSON_AddNumberToObject(b, "real_time", 0);
    cJSON_AddNumberToObject(b, "cpu_time", 0);
    cJSON_AddStringToObject(b, "time_unit", "ns");
    cJSON_AddNumberToObject(b, "file_bytes", (double)u->r[c].file_bytes);
    cJSON_AddNumberToObject(b, "sparse_weights", (double)n);
    cJSON_AddNumberToObject(b, "sparse_bytes", (double)u->r[c].sparse_bytes);
    cJSON_AddNumberToObject(b, "sparse_bits_per_weight", 8.0 * (double)u->r[c].sparse_bytes / (double)n);
    cJSON_AddNumberToObject(b, "bound_bits", u->r[c].bound_bits);
    cJSON_AddNumberToObject(b, "sparse_over_bound", 8.0 * (double)u->r[c].sparse_bytes / u->r[c].bound_bits);
    cJSON_AddNumberToObject(b, "paper_bits", (double)paper_bits(u->m));
    cJSON_AddNumberToObject(b, "file_over_paper",
                            8.0 * (double)u->r[c].file_bytes / (double)paper_bits(u->m));
    cJSON_AddNumberToObject(b, "f32_over_file", (double)u->r[0].file_bytes / (double)u->r[c].file_bytes);
    cJSON_AddNumberToObject(b, "zlib_f32_over_file", (double)u->r[1].file_bytes / (double)u->r[c].file_bytes);
    return b;
}

static cJSON *costs_json(const run *u) {
    char name[128];
    snprintf(name, sizeof name, "mask-model/%s/keep:%g", u->m->name, u->keep);
    double n = (double)sparse_weights(u->m);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddStringToObject(b, "run_type", "iteration");
    cJSON_AddNumberToObject(b, "iterations", 1);
    cJSON_AddNumberToObject(b, "real_time", 0);
    cJSON_AddNumberToObject(b, "cpu_time", 0);
    cJSON_AddStringToObject(b, "time_unit", "ns");
    cJSON_AddNumberToObject(b, "static_bits_per_weight", u->costs.static_bits / n);
    cJSON_AddNumberToObject(b, "adaptive_bits_per_weight", u->costs.adaptive_bits / n);
    cJSON_AddNumberToObject(b, "enumerative_bits_per_weight", u->costs.enumerative_bits / n);
    cJSON_AddNumberToObject(b, "range_coder_bits_per_weight", u->costs.coded_stream_bits / n);
    return b;
}

static cJSON *real_json(const real_run *u) {
    char name[128];
    snprintf(name, sizeof name, "model/%s/keep:%g", u->model, u->keep);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddStringToObject(b, "run_type", "iteration");
    cJSON_AddNumberToObject(b, "iterations", 1);
    cJSON_AddNumberToObject(b, "real_time", 0);
    cJSON_AddNumberToObject(b, "cpu_time", 0);
    cJSON_AddStringToObject(b, "time_unit", "ns");
    cJSON_AddNumberToObject(b, "sbtm_bytes", (double)u->sbtm_bytes);
    cJSON_AddNumberToObject(b, "sbt_bytes", (double)u->coded_bytes);
    cJSON_AddNumberToObject(b, "sbt_seed_mask_bytes", (double)u->mask_bytes);
    cJSON_AddNumberToObject(b, "sbt_f32_bytes", (double)u->f32_bytes);
    cJSON_AddNumberToObject(b, "text_bytes", (double)u->text_bytes);
    cJSON_AddNumberToObject(b, "paper_bits", (double)u->paper_bits);
    cJSON_AddNumberToObject(b, "sbt_over_paper", 8.0 * (double)u->coded_bytes / (double)u->paper_bits);
    return b;
}

static int write_json(const char *path, const run *runs, int n_runs, const real_run *reals, int n_reals,
                      const char *date, uint64_t seed) {
    cJSON *root = cJSON_CreateObject(), *ctx = cJSON_AddObjectToObject(root, "context");
    cJSON_AddStringToObject(ctx, "date", date);
    cJSON_AddStringToObject(ctx, "executable", "build/bench/pack_sizes");
    cJSON_AddStringToObject(ctx, "sbt_version", sbt_version());
    cJSON_AddNumberToObject(ctx, "seed", (double)seed);
    cJSON_AddStringToObject(
        ctx, "note",
        "sizes, not times: one entry per (model, keep, encoding) with file_bytes (header, "
        "table, sparse layers in the encoding, norm parameters f32), sparse_bytes (sparse "
        "layers' payloads + table entries), bound_bits (their entropy bound), paper_bits (1 "
        "bit per sparse weight + 32 per norm gamma); mask-model entries compare coder models");
    cJSON *list = cJSON_AddArrayToObject(root, "benchmarks");
    for (int i = 0; i < n_runs; i++) {
        for (int c = 0; c < N_CASES; c++) cJSON_AddItemToArray(list, benchmark_json(&runs[i], c));
        cJSON_AddItemToArray(list, costs_json(&runs[i]));
    }
    for (int i = 0; i < n_reals; i++) cJSON_AddItemToArray(list, real_json(&reals[i]));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return 1;
    size_t len = strlen(text);
    sbt_status st = sbt_write_file_atomic(path, text, len);
    free(text);
    if (st) fprintf(stderr, "pack_sizes: %s\n", sbt_last_error());
    return st != SBT_OK;
}

static void md_sizes(FILE *f, const run *runs, int n_runs) {
    fprintf(f,
            "| model | keep | sparse weights | paper count | f32 | f32+zlib | seed-mask | seed-mask+zlib | "
            "seed-mask-coded | ternary2 | ternary2+zlib | ternary-b3 | ternary-coded |\n");
    fprintf(f,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < n_runs; i++) {
        const run *u = &runs[i];
        fprintf(f, "| %s | %g | %lld | %lld bits = %lld B |", u->m->name, u->keep,
                (long long)sparse_weights(u->m), (long long)paper_bits(u->m),
                (long long)((paper_bits(u->m) + 7) / 8));
        for (int c = 0; c < N_CASES; c++) fprintf(f, " %zu |", u->r[c].file_bytes);
        fprintf(f, "\n");
    }
}

static void md_coded(FILE *f, const run *runs, int n_runs) {
    fprintf(
        f,
        "| model | keep | encoding | bits/weight (sparse layers, with table entries) | bound bits/weight | "
        "over bound | file / paper count | f32 / file | zlib'd f32 / file |\n");
    fprintf(f, "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    const int coded[] = {2, 4, 7, 8}; /* seed-mask, seed-mask-coded, ternary-b3, ternary-coded */
    for (int i = 0; i < n_runs; i++)
        for (int j = 0; j < 4; j++) {
            const run *u = &runs[i];
            const result *r = &u->r[coded[j]];
            double n = (double)sparse_weights(u->m);
            fprintf(f, "| %s | %g | %s | %.4f | %.4f | %+.2f %% | %.3f | %.1fx | %.1fx |\n", u->m->name,
                    u->keep, CASES[coded[j]].label, 8.0 * (double)r->sparse_bytes / n, r->bound_bits / n,
                    100.0 * (8.0 * (double)r->sparse_bytes / r->bound_bits - 1),
                    8.0 * (double)r->file_bytes / (double)paper_bits(u->m),
                    (double)u->r[0].file_bytes / (double)r->file_bytes,
                    (double)u->r[1].file_bytes / (double)r->file_bytes);
        }
}

static void md_models(FILE *f, const run *runs, int n_runs) {
    fprintf(f, "| model | keep | static p = k/n (n Hb) | adaptive bit (LZMA, shift 5) | exact counts (log2 "
               "C(n,k)) | "
               "range coder, real stream |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < n_runs; i++) {
        double n = (double)sparse_weights(runs[i].m);
        const model_costs *c = &runs[i].costs;
        fprintf(f, "| %s | %g | %.4f | %.4f | %.4f | %.4f |\n", runs[i].m->name, runs[i].keep,
                c->static_bits / n, c->adaptive_bits / n, c->enumerative_bits / n, c->coded_stream_bits / n);
    }
}

static void md_reals(FILE *f, const real_run *r, int n) {
    fprintf(
        f,
        "| model | keep | model file (.sbtm) | .sbt f32 | .sbt seed-mask | .sbt default (smaller of "
        "seed-mask-coded and seed-mask per layer) | "
        "of which text | paper count | .sbt / paper count |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: "
        "| "
        "---: | ---: |\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "| %s | %g | %zu | %zu | %zu | %zu | %zu | %lld B | %.3f |\n", r[i].model, r[i].keep,
                r[i].sbtm_bytes, r[i].f32_bytes, r[i].mask_bytes, r[i].coded_bytes, r[i].text_bytes,
                (long long)((r[i].paper_bits + 7) / 8),
                8.0 * (double)r[i].coded_bytes / (double)r[i].paper_bits);
}

static int write_md(const char *path, const run *runs, int n_runs, const real_run *reals, int n_reals,
                    const char *date, uint64_t seed) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return 1;
    fprintf(
        f,
        "# .sbt file sizes per encoding\n\n%s, sbt %s, `build/bench/pack_sizes --seed %llu`. Bytes of the "
        "whole file: header, section table, one section per sparse-binary layer in the encoding of the "
        "column, norm parameters as f32 (no graph or metadata text yet). Masks are top-k of random scores "
        "(sbt_biprop_select), signs from random W, one alpha per layer. The paper count is 1 bit per sparse "
        "weight plus 32 bits per norm weight (gamma).\n\n",
        date, sbt_version(), (unsigned long long)seed);
    md_sizes(f, runs, n_runs);
    fprintf(
        f,
        "\nPer encoding: the sparse layers' bits per weight (payload and table entry, so alphas, counts, "
        "names and shapes included) against their entropy bound (seed-mask*: n Hb(k/n); ternary*: n Hb(k/n) "
        "+ k Hb(npos/k)); the whole file against the paper's count and against float32 files.\n\n");
    md_coded(f, runs, n_runs);
    fprintf(f, "\nChoice of the mask model in seed-mask-coded (bits per sparse weight; ideal code lengths "
               "except the "
               "last column, the range coder's real stream without counts or alpha):\n\n");
    md_models(f, runs, n_runs);
    fprintf(
        f,
        "\nReal models: the paper's configurations built by libsbt (untrained), packed as sbt-export packs "
        "them: graph, tensor table, config and metadata text (deflated), input normalisation and norm "
        "tensors f32, sparse-weight scores as their keep mask; .sbt f32 keeps the scores as f32 (the model "
        "file's content in the .sbt container). Bytes of the whole file.\n\n");
    md_reals(f, reals, n_reals);
    fclose(f);
    sbt_status st = sbt_write_file_atomic(path, text, len);
    free(text);
    if (st) fprintf(stderr, "pack_sizes: %s\n", sbt_last_error());
    return st != SBT_OK;
}

int main(int argc, char **argv) {
    const char *json_path = "bench/results/pack_sizes.json", *md_path = "bench/results/pack_sizes.md";
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json_path = argv[++i];
        else if (!strcmp(argv[i], "--md") && i + 1 < argc)
            md_path = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--json PATH] [--md PATH] [--seed N]\n", argv[0]);
            return 2;
        }
    }
    model_shape models[3] = {
        {"JapaneseVowels", 12, 32, 2, 256, 9, 2, 4, 45728, 0, {{{0}, 0, 0}}},
        {"SMD", 38, 76, 2, 256, 38, 0, 0, 129808, 0, {{{0}, 0, 0}}},
        {"ETTm1", 7, 64, 2, 256, 7, 2, 2, 0, 0, {{{0}, 0, 0}}},
    };
    run runs[3 * N_KEEPS];
    real_run reals[3 * N_KEEPS];
    int n_runs = 0, bad = 0;
    for (int mi = 0; mi < 3; mi++) {
        model_shape *m = &models[mi];
        build_layers(m);
        if (m->paper_bits_expected && paper_bits(m) != m->paper_bits_expected)
            fprintf(stderr, "pack_sizes: %s: %lld paper bits, the issue says %lld\n", m->name,
                    (long long)paper_bits(m), (long long)m->paper_bits_expected);
        for (int k = 0; k < N_KEEPS; k++) {
            run *u = &runs[n_runs++];
            memset(u, 0, sizeof *u);
            u->m = m;
            u->keep = KEEPS[k];
            layer_data data[MAX_LAYERS];
            for (int i = 0; i < m->n_layers; i++) {
                make_layer(seed, i, &m->layer[i], KEEPS[k], &data[i]);
                add_costs(&m->layer[i], &data[i], &u->costs);
            }
            for (int c = 0; c < N_CASES; c++) bad |= pack_case(m, data, &CASES[c], &u->r[c]);
            bad |= real_model(m, KEEPS[k], seed, &reals[n_runs - 1]);
            for (int i = 0; i < m->n_layers; i++) free_layer(&data[i]);
        }
    }
    char date[64];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S+00:00", gmtime(&now));
    bad |= write_json(json_path, runs, n_runs, reals, n_runs, date, seed);
    bad |= write_md(md_path, runs, n_runs, reals, n_runs, date, seed);
    return bad;
}
