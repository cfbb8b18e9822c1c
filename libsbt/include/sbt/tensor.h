/* sbt/tensor.h - shapes of float32 tensors and the arena that holds them.
 *
 * libsbt's tensors are contiguous, row-major arrays (float32 unless a graph node says
 * otherwise) of up to SBT_MAX_DIMS
 * dimensions. The shape lives with whoever owns the data (a graph node, a model
 * parameter); this header gives the shape arithmetic and the arena that lets a graph
 * reserve every buffer once, so that running it allocates nothing.
 *
 *     sbt_arena a;
 *     sbt_arena_init(&a);
 *     size_t off = sbt_arena_reserve(&a, 1000);   // count floats; no memory yet
 *     sbt_arena_commit(&a);                       // one aligned allocation
 *     float *p = sbt_arena_at(&a, off);
 *     sbt_arena_release(&a);
 *
 * Ownership: the arena owns its single block; pointers from sbt_arena_at stay valid
 * until sbt_arena_release.
 */
#ifndef SBT_TENSOR_H
#define SBT_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "sbt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SBT_MAX_DIMS 4

/* Product of shape[0..ndim); 1 for ndim == 0. -1 on overflow or a negative dim. */
int64_t sbt_shape_numel(int ndim, const int64_t *shape);
/* Writes "(2, 3, 4)" into buf. Returns buf. */
char *sbt_shape_format(int ndim, const int64_t *shape, char *buf, size_t cap);

typedef struct sbt_arena {
    unsigned char *base;
    size_t used;     /* bytes reserved */
    size_t capacity; /* bytes allocated (0 until commit) */
} sbt_arena;

void sbt_arena_init(sbt_arena *a);
/* Reserves `bytes` (rounded up to 64 so every buffer is 64-byte aligned) and returns
 * their byte offset. Only valid before commit. */
size_t sbt_arena_reserve(sbt_arena *a, size_t bytes);
/* Allocates the reserved space, zero-filled. */
sbt_status sbt_arena_commit(sbt_arena *a);
void *sbt_arena_at(const sbt_arena *a, size_t offset);
void sbt_arena_release(sbt_arena *a);

#ifdef __cplusplus
}
#endif
#endif
