/* sbt/model.h - a model: a graph description, a tensor table and metadata; the
 * paper's encoder as one such model; model files.
 *
 * A model is
 *   - a graph description (m->graph, sbt/graph.h) with a symbolic batch and length,
 *     whose params and state are bound to the model's tensors;
 *   - a tensor table: N-d float32 tensors, each trained (param), state, or frozen
 *     (never trained: Biprop's random W, regenerated from its recorded seed), flat in
 *     one buffer, with its provenance (stored, or seeded: generator, seed, stream,
 *     distribution and bounds);
 *   - metadata: the task, class names, the input normalisation (tensors data.mean and
 *     data.std), and in m->cfg the fields feeding and metrics use (task, channels,
 *     outputs, window_norm, ...). A native model (m->native) was built from m->cfg by
 *     the paper's encoder builder; the stored graph is what runs either way.
 *
 *     sbt_config cfg = sbt_config_default(SBT_TASK_CLASSIFY);
 *     cfg.channels = 12; cfg.outputs = 9; cfg.max_len = 29;
 *     sbt_model *m = NULL;
 *     if (sbt_model_new(&cfg, &m) != SBT_OK) ...
 *     sbt_model_graph mg;
 *     sbt_model_graph_build(m, 8, 29, &mg);        // training graph: batch 8, 29 steps
 *     sbt_model_graph_load(&mg, dataset, idx, 8);  // copy a batch in
 *     sbt_graph_forward(mg.graph, 0);
 *     sbt_model_graph_free(&mg);
 *     sbt_model_graph_build_infer(m, 1, 29, &mg);  // forward-only, sparse weights frozen
 *     sbt_model_save(m, "model.sbtm");
 *     sbt_model_free(m);
 *
 * Ownership: sbt_model_new/load return a model the caller frees with sbt_model_free().
 * An sbt_model_graph borrows the model's buffers: free it before the model.
 */
#ifndef SBT_MODEL_H
#define SBT_MODEL_H

#include <stdint.h>

#include "sbt/container.h"
#include "sbt/data.h"
#include "sbt/error.h"
#include "sbt/forecast.h"
#include "sbt/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sbt_task { SBT_TASK_CLASSIFY = 0, SBT_TASK_FORECAST = 1, SBT_TASK_ANOMALY = 2 } sbt_task;
typedef enum sbt_norm { SBT_NORM_BATCH = 0, SBT_NORM_LAYER = 1, SBT_NORM_NONE = 2 } sbt_norm;
typedef enum sbt_posenc { SBT_POS_SINUSOIDAL = 0, SBT_POS_LEARNED = 1 } sbt_posenc;
/* How linear layers hold their weights: trained floats, or Biprop sparse binary
 * (frozen random signs from the seed, trained scores choose the kept entries). */
typedef enum sbt_weights { SBT_WEIGHTS_DENSE = 0, SBT_WEIGHTS_SBT = 1 } sbt_weights;
/* Attention variants (one description drives the graph, the cost count and exporters):
 * full softmax attention; a fixed seeded mask on the Q, K, V activations
 * (classification); Step-T (each step attends to itself, the last step to the others);
 * self (each step attends only to itself, the paper's ablation). */
typedef enum sbt_attention {
    SBT_ATTN_FULL = 0,
    SBT_ATTN_QKV_MASK = 1,
    SBT_ATTN_STEP_T = 2,
    SBT_ATTN_SELF = 3
} sbt_attention;

/* What forecasting and anomaly windows are fed relative to: the z-scored values as they
 * are (the paper), or their difference from the window's last observed step, so that
 * the model predicts the change since then (the "subtract last value" of NLinear).
 * Errors, and so every metric and anomaly score, are the same in both frames. */
typedef enum sbt_window_norm { SBT_WINDOW_NONE = 0, SBT_WINDOW_LAST = 1 } sbt_window_norm;

typedef struct sbt_config {
    sbt_task task;
    int channels;            /* C: input values per step */
    int outputs;             /* classes (classify) or predicted channels (forecast, anomaly) */
    int max_len;             /* longest series the model accepts (size of a learned position table) */
    int d_model;             /* d */
    int heads;               /* h; d_model % heads == 0 */
    int layers;              /* L encoder layers */
    int d_ff;                /* F: feed-forward width */
    sbt_norm norm;           /* normalisation in the encoder layers */
    sbt_posenc pos;          /* positional encoding */
    float dropout;           /* after attention and FFN sub-layers; 0 in the paper */
    float norm_eps;          /* 1e-5 */
    float bn_momentum;       /* 0.1 (PyTorch convention) */
    uint64_t seed;           /* initialisation seed */
    sbt_weights weights;     /* dense or sbt */
    float keep;              /* sbt: fraction of weights kept per layer, in (0, 1]; sparsity = 1 - keep */
    int alpha_per_row;       /* sbt: one alpha per output row instead of one per layer */
    int train_bias;          /* sbt: train the biases of sparse-binary layers (the paper freezes them) */
    sbt_attention attention; /* attention variant */
    float attn_keep;         /* qkv-mask: fraction of Q/K/V activations kept (0.5) */
    int attn_include_last; /* step-t: the last step attends to itself too (default 0, as the paper's code) */
    sbt_window_norm window_norm; /* forecast, anomaly: frame of the inputs and target (forecast: last) */
    /* Forecast: how the CSV was read, so that sbt-eval reads it the same way whatever the
     * file is called (keys split= and fill=, written for forecast models only; a file
     * without them reads as auto and 0). */
    int split;             /* sbt_split_scheme of sbt/forecast.h; 0 = auto: by the file's name */
    double split_ratio[3]; /* split SBT_SPLIT_CUSTOM: train, validation, test fractions */
    int fill;              /* 1: empty or NaN cells were filled linearly; 0: they are an error */
} sbt_config;

/* Paper defaults for the task (classification: d 64, 2 heads, 2 layers, F 256,
 * BatchNorm, sinusoidal; see ../shared/paper-configs.md). Data-dependent fields
 * (channels, outputs, max_len) are 0 and must be set. */
sbt_config sbt_config_default(sbt_task task);
/* SBT_ERR_ARG naming the first inconsistent field. */
sbt_status sbt_config_check(const sbt_config *cfg);
const char *sbt_task_name(sbt_task t);
const char *sbt_norm_name(sbt_norm n);
const char *sbt_posenc_name(sbt_posenc p);
const char *sbt_weights_name(sbt_weights w);
const char *sbt_attention_name(sbt_attention a);
const char *sbt_window_norm_name(sbt_window_norm w);
/* "key=value\n" lines, and back (unknown keys, and integers out of their type's range,
 * are an error naming the key). */
sbt_status sbt_config_to_text(const sbt_config *cfg, char *buf, size_t cap);
sbt_status sbt_config_from_text(const char *text, const char *source_for_message, sbt_config *cfg);

typedef enum sbt_tensor_kind {
    SBT_TENSOR_PARAM = 0, /* trained */
    SBT_TENSOR_STATE = 1, /* not trained but part of the model (BatchNorm running statistics) */
    SBT_TENSOR_FROZEN = 2 /* never trained (Biprop's W; a frozen bias) */
} sbt_tensor_kind;

/* Where a tensor's values come from. A seeded tensor is not stored: loading draws it
 * again, bit for bit, from the recorded generator, seed and stream, so a renamed tensor
 * keeps its values. */
typedef enum sbt_provenance {
    SBT_PROV_STORED = 0, /* in the file */
    SBT_PROV_SEEDED = 1  /* uniform in [lo, hi) from sbt_rng, seeded sbt_rng_derive(seed, stream) */
} sbt_provenance;

#define SBT_RNG_GENERATOR "sbt-rng"
#define SBT_RNG_GENERATOR_VERSION 1 /* SplitMix64-seeded xoshiro256**, sbt_rng_uniform_range */

typedef struct sbt_tensor_info {
    char name[SBT_NAME_MAX + 1];
    sbt_tensor_kind kind;
    int ndim;
    int64_t shape[SBT_MAX_DIMS];
    int64_t offset; /* into values/grads */
    int64_t size;
    sbt_provenance provenance;
    uint64_t seed, stream; /* seeded */
    float lo, hi;          /* seeded: the uniform bounds */
} sbt_tensor_info;

typedef struct sbt_model {
    sbt_config cfg;
    int native; /* built by the paper's encoder builder from cfg */
    int n_tensors;
    sbt_tensor_info *tensors;
    int64_t n_values;
    float *values; /* every tensor, flat */
    float *grads;  /* same layout; zero for STATE tensors */
    /* Labels of a classifier, from its training data (n = cfg.outputs); may be NULL. */
    char **class_names;
    /* The graph description: inputs x (B, T, channels), step_mask (B, T), attn_mask
     * (B, 1, 1, T), labels (B, i32) or target (B, outputs); outputs logits or prediction
     * (B, outputs), and loss. */
    sbt_graph *graph;
    /* The kernels evaluation and forward-only graphs run the frozen ternary weights on
     * (graph.h); SBT_KERNEL_DENSE (sgemm, bit-identical to training) unless set. Not
     * stored in files. */
    sbt_weight_kernel kernel;
} sbt_model;

/* Builds the parameter table and initialises it from cfg->seed (Linear weights and
 * biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch does, norms gamma 1 beta 0,
 * running variance 1, learned positions U(-0.02, 0.02)). */
sbt_status sbt_model_new(const sbt_config *cfg, sbt_model **out);
void sbt_model_free(sbt_model *m);
/* NULL if absent. */
const sbt_tensor_info *sbt_model_tensor(const sbt_model *m, const char *name);
float *sbt_model_data(sbt_model *m, const char *name);
/* Parameters (trained values) and their total. */
int64_t sbt_model_param_count(const sbt_model *m);
/* Sets the model's input normalisation (tensors data.mean, data.std) to the per-channel
 * z-score of `train`; sbt_model_graph_load applies it, so the model takes raw series. */
sbt_status sbt_model_fit_normalization(sbt_model *m, const sbt_dataset *train);
/* Copies the class names (may be NULL to clear). */
sbt_status sbt_model_set_class_names(sbt_model *m, char *const *names, int n);

/* The graph of the model for a batch of `batch` series of `length` steps. */
typedef struct sbt_model_graph {
    sbt_graph *graph;
    sbt_model *model; /* borrowed */
    int batch, length;
    int x;         /* input (batch, length, channels) */
    int step_mask; /* (batch, length): 1 for real steps, 0 for padding */
    int attn_mask; /* (batch, 1, 1, length): 0 or -1e9 added to attention scores */
    int labels;    /* (batch) class indices (classify), else -1 */
    int target;    /* (batch, outputs) values of the last step (forecast, anomaly), else -1 */
    int output;    /* (batch, outputs): logits (classify) or the last step's prediction */
    int loss;      /* scalar */
    int trimmed;   /* 1 when layers compute only what the output reads (see below) */
} sbt_model_graph;

/* Forecast and anomaly models read only the last step of the encoder output, so where it
 * is exact (LayerNorm or no norm, Step-T or self attention) the graph computes only that:
 * Step-T's last layer projects K and V over every step and all else (Q, attention,
 * output projection, norms, FFN) on step T-1 alone; with self attention every layer runs
 * on step T-1 alone. Outputs, loss and gradients are those of the full computation up to
 * float rounding (with dropout: the same distribution, other draws, since the masks are
 * drawn per node). */
sbt_status sbt_model_graph_build(sbt_model *m, int batch, int length, sbt_model_graph *out);
/* The same graph with every step of every layer computed (trimmed = 0): slower, for
 * tests that check trimming, and for inspecting per-step activations. Native models. */
sbt_status sbt_model_graph_build_untrimmed(sbt_model *m, int batch, int length, sbt_model_graph *out);
/* A forward-only graph of the model as it is now: every sparse weight frozen into a
 * constant once (no per-call top-k; ternary ones prepared for m->kernel), no gradients,
 * buffers reused. Inputs and outputs as in the training graph; rebuild it after the
 * weights change. */
sbt_status sbt_model_graph_build_infer(sbt_model *m, int batch, int length, sbt_model_graph *out);
/* Rebuilds m->graph from m->cfg (native models), e.g. after changing the config. */
sbt_status sbt_model_build_graph(sbt_model *m);
void sbt_model_graph_free(sbt_model_graph *mg);
/* Copies cases idx[0..count) of ds into the graph's inputs (x, masks, labels);
 * count must equal the graph's batch (build one graph per batch size). A series longer
 * than the graph's length, or with other channels, is an SBT_ERR_SHAPE. */
sbt_status sbt_model_graph_load(sbt_model_graph *mg, const sbt_dataset *ds, const int *idx, int count);

/* The qkv-mask attention variant's fixed mask of projection `which` (0 = Q, 1 = K,
 * 2 = V) for `length` steps: length * d_model values in {0, 1}. Entry (t, j) depends
 * only on (seed, which, t, j), so it is the same for every sample, head and epoch, and
 * at inference for any length. */
void sbt_model_qkv_mask(const sbt_config *c, int which, int64_t length, float *mask);

/* What a model is fed: the cases of a classification dataset, or the target rows of one
 * split of a forecasting series (one window each). Borrowed pointers. */
typedef struct sbt_examples {
    int64_t count;                   /* examples */
    int length;                      /* steps per example (the graph's length) */
    const sbt_dataset *cases;        /* classification, or NULL */
    const sbt_forecast_data *series; /* forecasting, or NULL */
    int split;                       /* SBT_FC_TRAIN / _VAL / _TEST */
    int stride;                      /* series: example i is target row begin + i * stride */
} sbt_examples;

sbt_examples sbt_examples_of_dataset(const sbt_dataset *ds);
sbt_examples sbt_examples_of_forecast(const sbt_forecast_data *d, int split);
/* Every stride-th target row of a series split (stride >= 1): a cheaper training epoch
 * over a densely sampled series, where neighbouring windows overlap in all but a step. */
sbt_examples sbt_examples_of_forecast_every(const sbt_forecast_data *d, int split, int stride);
/* Copies examples idx[0..count) into the graph's inputs (count = the graph's batch). */
sbt_status sbt_model_graph_feed(sbt_model_graph *mg, const sbt_examples *ex, const int *idx, int count);

typedef struct sbt_eval {
    int64_t count;
    double loss;                   /* mean cross-entropy or MSE; NaN without labels */
    double accuracy;               /* classification; NaN otherwise */
    sbt_forecast_metrics forecast; /* forecasting: MSE/MAE standardised and in original units */
} sbt_eval;

/* Runs the model in eval mode over every example. pred (classification, may be NULL)
 * receives the argmax class of each example. */
sbt_status sbt_model_evaluate(sbt_model *m, const sbt_examples *ex, int *pred, sbt_eval *out);

/* Forecast and anomaly models: scores[i] = mean squared error over channels of the
 * prediction of example i's last step (the anomaly score of that step). */
sbt_status sbt_model_scores(sbt_model *m, const sbt_examples *ex, float *scores);

/* Class predictions (argmax of logits) for every case of ds, and the accuracy if ds is
 * labelled (accuracy may be NULL). pred may be NULL. Runs in eval mode. */
sbt_status sbt_model_classify(sbt_model *m, const sbt_dataset *ds, int *pred, double *accuracy,
                              double *mean_loss);

/* Model files: a container (formats/sbtm.md) with magic "SBTM". Version 2 holds the
 * metadata, the config, the tensor table, the graph and every stored tensor as a
 * float32 section; version 1 files (config and tensors, no graph) still load. */
sbt_status sbt_model_to_container(const sbt_model *m, sbt_container *c);
sbt_status sbt_model_from_container(const sbt_container *c, const char *path_for_message, sbt_model **out);
sbt_status sbt_model_save(const sbt_model *m, const char *path);
sbt_status sbt_model_load(const char *path, sbt_model **out);

#ifdef __cplusplus
}
#endif
#endif
