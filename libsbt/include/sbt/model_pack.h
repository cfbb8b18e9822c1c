/* sbt/model_pack.h - a model as a deployable .sbt file (formats/sbt.md section 6), and back.
 *
 * Packing writes the model's metadata, config, tensor table and graph as text sections and
 * each stored tensor as a weight section. The scores of a sparse-weight layer (Biprop or
 * prune) are not stored: only their top-k keep mask is, with the layer's alpha, in the
 * smaller of seed-mask-coded and seed-mask. A seeded tensor (Biprop's frozen W) is not stored either: the
 * tensor table records its generator, seed and stream, and loading draws it again bit for
 * bit. Loading puts the mask back as scores in {0, 1}, whose top-k is that mask, so the
 * effective weights, and every output, are bit-identical to the model that was packed.
 * A .sbt is for inference: training from it restarts the scores from the mask.
 *
 *     sbt_model_pack_options opt = {0};               // masks: smallest exact encoding; floats f32
 *     if (sbt_model_save_sbt(m, "model.sbt", &opt) != SBT_OK) ...   // atomic
 *     sbt_model *back = NULL;
 *     if (sbt_model_load_sbt("model.sbt", &back) != SBT_OK) ...
 *
 * Ownership: sbt_model_pack returns a file the caller frees with sbt_packfile_free();
 * sbt_model_unpack and sbt_model_load_sbt a model freed with sbt_model_free().
 */
#ifndef SBT_MODEL_PACK_H
#define SBT_MODEL_PACK_H

#include "sbt/error.h"
#include "sbt/model.h"
#include "sbt/pack.h"
#include "sbt/packfile.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbt_model_pack_options {
    /* Sparse-weight scores: 0 (default) = per layer the smaller of seed-mask-coded and
     * seed-mask (both exact); SBT_ENC_SEED_MASK_CODED or SBT_ENC_SEED_MASK to force one; or
     * SBT_ENC_F32 (the scores themselves, as a model file holds them: the f32 baseline). */
    sbt_encoding mask_encoding;
    /* Every other float tensor: 0 or SBT_ENC_F32 (default, exact), or SBT_ENC_F16 (rounds:
     * only when the caller accepts it). */
    sbt_encoding float_encoding;
    /* 0: each section deflated when that makes it smaller (the text sections); SBT_PACK_ZLIB:
     * every section deflated. */
    unsigned flags;
} sbt_model_pack_options;

/* opt may be NULL (the defaults). */
sbt_status sbt_model_pack(const sbt_model *m, const sbt_model_pack_options *opt, sbt_packfile **out);
/* The same from a model file's container form (every section kept, including the ones
 * a task stores beside the model, such as "anomaly"); m names the sparse-weight scores. */
sbt_status sbt_model_pack_container(const sbt_container *c, const sbt_model *m,
                                    const sbt_model_pack_options *opt, sbt_packfile **out);
sbt_status sbt_model_unpack(const sbt_packfile *pf, const char *path_for_message, sbt_model **out);
/* The container form of a .sbt file: text as text, every weight as f32 (a mask as scores
 * in {0, 1}). The caller frees *out with sbt_container_free(). */
sbt_status sbt_packfile_to_container(const sbt_packfile *pf, const char *path_for_message,
                                     sbt_container **out);
/* Reads a model file of either kind, .sbtm or .sbt (told apart by the magic), into the
 * model and, when c_out is not NULL, the container form of the file, for the sections a
 * task keeps beside the model (the caller frees it). */
sbt_status sbt_model_read_file(const char *path, sbt_model **m, sbt_container **c_out);
sbt_status sbt_model_save_sbt(const sbt_model *m, const char *path, const sbt_model_pack_options *opt);
sbt_status sbt_model_load_sbt(const char *path, sbt_model **out);

/* Names the scores tensor of every sparse-weight (Biprop or prune) node of m's graph:
 * *keep and *per_row of the one named `name`; 0 if no such node reads it. */
int sbt_model_sparse_scores(const sbt_model *m, const char *name, float *keep, int *per_row);

#ifdef __cplusplus
}
#endif
#endif
