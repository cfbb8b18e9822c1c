/* sbt/c_export.h - a model as dependency-free C99 source, for microcontroller-class
 * targets.
 *
 * The model is frozen (sparse weights become constants), instantiated forward-only for
 * batch 1 and one window length, and printed as two files:
 *   NAME.h  the interface: PREFIX_CHANNELS, PREFIX_OUTPUTS, PREFIX_LENGTH and
 *           int PREFIX_predict(const float *window, int steps, float *out);
 *   NAME.c  the weights as static const arrays (ternary layers as base-3 codes, 5 weights
 *           per byte, plus one alpha per output row; the rest float32; the sinusoidal
 *           position table computed at the first call, not stored), one static arena for every
 *           activation (sized and laid out at export from the graph's liveness plan), and
 *           the forward pass as straight-line calls of small loops. No malloc, no other
 *           library than libm (expf, sqrtf, erff).
 * PREFIX_predict takes what sbt_predict takes (sbt/predict.h): a classifier a series of
 * 1..LENGTH steps (raw values; out: one logit per class), a forecaster or anomaly model the
 * last LENGTH-1 observed steps (out: the next value of every channel, in the input's
 * units). It returns 0, or -1 for a wrong number of steps. It is not reentrant (one
 * static arena).
 *
 *     sbt_c_export_options o = {.prefix = "jv"};
 *     sbt_c_export_stats s;
 *     if (sbt_c_export(model, &o, "jv.c", "jv.h", &s) != SBT_OK) ... sbt_last_error() ...
 *
 * Ops without a C form here (those no native model uses after freezing: Gather, Concat,
 * Mean, broadcasts other than a trailing block, ...) are refused by name. Both files are
 * written atomically; on failure neither exists.
 */
#ifndef SBT_C_EXPORT_H
#define SBT_C_EXPORT_H

#include <stddef.h>

#include "sbt/error.h"
#include "sbt/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbt_c_export_options {
    const char *prefix; /* C identifier prefix of the interface (default "sbt_model") */
    int length;         /* steps per window; 0: the model's max_len */
} sbt_c_export_options;

typedef struct sbt_c_export_stats {
    size_t weight_bytes; /* static const data (flash) */
    size_t arena_bytes;  /* static activations and computed tables (RAM) */
    int ternary_layers, float_layers;
} sbt_c_export_stats;

/* stats may be NULL. */
sbt_status sbt_c_export(sbt_model *m, const sbt_c_export_options *o, const char *c_path, const char *h_path,
                        sbt_c_export_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
