/* sbt/predict.h - inference: a model's prediction for one raw window at a time.
 *
 * A predictor freezes the model once (sparse weights become constants, ternary ones
 * prepared for the chosen kernel), builds a forward-only graph for batch 1 and a fixed
 * length, and then predicts with no allocation and no weight preparation per call. It
 * uses no trainer, no data reader and no OpenMP: graph, ops, kernels and the model's
 * tensors only.
 *
 *     sbt_predictor *p = NULL;
 *     sbt_predict_options o = {.kernel = SBT_KERNEL_TERNARY_F32};
 *     if (sbt_predictor_new(model, &o, &p) != SBT_OK) ... sbt_last_error() ...
 *     float out[16];
 *     sbt_predict(p, window, steps, out);   // window: steps x channels raw values
 *     sbt_predictor_free(p);
 *
 * What goes in and comes out follows the model's task:
 *   classify           a series of 1..length steps (shorter ones are padded and masked);
 *                      out: one logit per class (argmax = the class);
 *   forecast, anomaly  the last `length - 1` observed steps (the model's window holds them
 *                      and the step to predict); out: the predicted next values of every
 *                      channel, in the window's own units (the model's z-score and window
 *                      frame are applied and undone here). An anomaly score is the mean
 *                      squared error of this prediction in z-scored units.
 * The input is z-scored with the model's data.mean and data.std when it has them (native
 * models), else fed as it is (imported models take what PyTorch took).
 *
 * Ownership: the predictor borrows the model only while sbt_predictor_new runs (it keeps
 * its own frozen copy of the weights); free it with sbt_predictor_free.
 */
#ifndef SBT_PREDICT_H
#define SBT_PREDICT_H

#include "sbt/graph.h"
#include "sbt/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbt_predict_options {
    sbt_weight_kernel kernel; /* DENSE (sgemm), TERNARY_F32 or TERNARY_I8 */
    int length;               /* steps per window; 0: the model's max_len */
} sbt_predict_options;

typedef struct sbt_predictor sbt_predictor;

sbt_status sbt_predictor_new(sbt_model *m, const sbt_predict_options *o, sbt_predictor **out);
void sbt_predictor_free(sbt_predictor *p);
int sbt_predictor_channels(const sbt_predictor *p);
int sbt_predictor_outputs(const sbt_predictor *p);
int sbt_predictor_length(const sbt_predictor *p);
/* window: `steps` rows of channels values (row-major); out: outputs values. A NaN or an
 * infinity in the window, or a wrong number of steps, is an SBT_ERR_ARG. */
sbt_status sbt_predict(sbt_predictor *p, const float *window, int steps, float *out);

#ifdef __cplusplus
}
#endif
#endif
