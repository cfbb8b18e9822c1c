/* Internal to libsbt: what the model's files, builder and runner share. */
#ifndef SBT_MODEL_INTERNAL_H
#define SBT_MODEL_INTERNAL_H

#include "graph/graph_internal.h"
#include "sbt/model.h"

/* A tensor table being built: entries and the flat buffer's total length. */
typedef struct {
    sbt_tensor_info *items;
    int count, capacity;
    int64_t total;
} sbt_tensor_table;

sbt_status sbt_table_add(sbt_tensor_table *t, sbt_tensor_kind kind, int ndim, const int64_t *shape,
                         const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* The native encoder's table for cfg (checked first). */
sbt_status sbt_model_table_of_config(const sbt_config *cfg, sbt_tensor_table *t);
/* A model over table t (taken over; t is emptied): zeroed values and gradients. */
sbt_status sbt_model_alloc(sbt_tensor_table *t, sbt_model **out);
/* Initial values of every tensor, or of the frozen ones only (after loading). */
void sbt_model_init_values(sbt_model *m, int frozen_only);
/* Draws a seeded tensor from its provenance into v. */
void sbt_tensor_draw(const sbt_tensor_info *ti, float *v);
void sbt_free_names(char **names, int n);

/* sbt_model_graph_build_infer on the kernels given instead of m->kernel. */
sbt_status sbt_model_graph_build_frozen(sbt_model *m, int batch, int length, sbt_weight_kernel kernel,
                                        sbt_model_graph *mg);

/* The paper's encoder as a graph description over m's tensors (encoder.c). */
sbt_status sbt_encoder_describe(sbt_model *m, int untrimmed, sbt_graph **out);
/* 1 when the encoder's graph for cfg computes only the last step somewhere (trimming). */
int sbt_encoder_trims(const sbt_config *cfg);

#endif
