/* sbt/train.h - training: Adam/AdamW, gradient clipping, mini-batches, early stopping
 * and best-checkpoint selection on a validation set, and resumable checkpoints.
 *
 * Everything random in an epoch (the batch order) is derived from (seed, epoch), and
 * dropout from (seed, step), so a run stopped after any epoch and resumed from its
 * checkpoint ends with the same bytes as an uninterrupted run.
 *
 *     sbt_train_config tc = sbt_train_config_default(SBT_TASK_CLASSIFY);
 *     sbt_trainer *t = NULL;
 *     sbt_trainer_new(model, &tc, &t);
 *     sbt_trainer_fit(t, train, val, "run.sbtc", on_epoch, NULL);  // checkpoint per epoch
 *     sbt_trainer_free(t);   // the model now holds the best-validation weights
 *
 * Resuming: sbt_trainer_resume("run.sbtc", &model, &t) gives back the model and the
 * trainer as they were after the checkpointed epoch; call sbt_trainer_fit again.
 *
 * Ownership: the trainer borrows the model passed to sbt_trainer_new (the caller frees
 * both, trainer first); sbt_trainer_resume returns a model and a trainer that the caller
 * frees (sbt_trainer_free, then sbt_model_free).
 */
#ifndef SBT_TRAIN_H
#define SBT_TRAIN_H

#include <stdint.h>

#include "sbt/data.h"
#include "sbt/error.h"
#include "sbt/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sbt_optimizer { SBT_OPT_ADAM = 0, SBT_OPT_ADAMW = 1 } sbt_optimizer;

typedef struct sbt_train_config {
    int epochs; /* maximum number of epochs */
    int batch;  /* mini-batch size */
    sbt_optimizer optimizer;
    float lr;
    float weight_decay; /* L2 added to the gradient (Adam) or decoupled (AdamW) */
    float beta1, beta2, adam_eps;
    float clip_norm;      /* clip the global gradient norm to this; 0 = no clipping */
    int patience;         /* stop after this many epochs without validation improvement; 0 = never */
    float plateau_factor; /* multiply lr by this after plateau_patience epochs without improvement; 1 = off */
    int plateau_patience;
    uint64_t seed;  /* batch order and dropout */
    int stop_after; /* end this call after this many epochs (an interruption, for tests); 0 = off */
} sbt_train_config;

/* The paper's settings for the task (classify: batch 8, Adam lr 1e-3, clip 4, 100
 * epochs, patience 20; see ../shared/paper-configs.md). */
sbt_train_config sbt_train_config_default(sbt_task task);
sbt_status sbt_train_config_check(const sbt_train_config *tc);

typedef struct sbt_epoch_report {
    int epoch;                     /* 1-based, just finished */
    int epochs;                    /* maximum */
    double train_loss;             /* mean over the epoch's batches */
    double val_loss, val_accuracy; /* NaN without validation data */
    int best_epoch;
    double best_val_accuracy;
    int improved;
    float lr;
    double seconds;     /* this epoch */
    double eta_seconds; /* to the maximum number of epochs at the current pace */
} sbt_epoch_report;

typedef void (*sbt_epoch_callback)(const sbt_epoch_report *report, void *user);

typedef struct sbt_trainer sbt_trainer;

sbt_status sbt_trainer_new(sbt_model *m, const sbt_train_config *tc, sbt_trainer **out);
void sbt_trainer_free(sbt_trainer *t);
/* Trains until the maximum epoch, early stopping, or stop_after. `val` may be NULL
 * (then the last epoch's weights are kept). If `checkpoint` is not NULL a checkpoint is
 * written (atomically) after every epoch. When training ends, the model holds the
 * weights of the best validation epoch. */
sbt_status sbt_trainer_fit(sbt_trainer *t, const sbt_dataset *train, const sbt_dataset *val,
                           const char *checkpoint, sbt_epoch_callback on_epoch, void *user);
/* The same for any task: classification cases or forecasting windows (model.h). */
sbt_status sbt_trainer_fit_examples(sbt_trainer *t, const sbt_examples *train, const sbt_examples *val,
                                    const char *checkpoint, sbt_epoch_callback on_epoch, void *user);
/* 1 once training has ended (maximum epochs or early stop). */
int sbt_trainer_done(const sbt_trainer *t);
int sbt_trainer_epoch(const sbt_trainer *t);
int sbt_trainer_best_epoch(const sbt_trainer *t);
sbt_status sbt_trainer_save(const sbt_trainer *t, const char *path);
sbt_status sbt_trainer_resume(const char *path, sbt_model **model, sbt_trainer **trainer);

#ifdef __cplusplus
}
#endif
#endif
