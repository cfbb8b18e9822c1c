/* bench/kernels_bitmap.h - the float-activation ternary kernel with bitmaps instead of index
 * lists (AVX-512), kept in bench/ only to measure the choice sbt/kernels.h made. */
#ifndef SBT_BENCH_KERNELS_BITMAP_H
#define SBT_BENCH_KERNELS_BITMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct sbt_bitmap_matrix sbt_bitmap_matrix;

int sbt_bitmap_available(void); /* AVX-512 F on this CPU */
sbt_bitmap_matrix *sbt_bitmap_prepare(const float *w, int64_t out, int64_t in);
void sbt_bitmap_free(sbt_bitmap_matrix *m);
size_t sbt_bitmap_scratch_bytes(const sbt_bitmap_matrix *m);
/* y = x W^T (no bias), the same arithmetic as sbt_ternary_matmul's float path. */
void sbt_bitmap_matmul(const sbt_bitmap_matrix *m, const float *x, int64_t rows, float *y, void *scratch);

#endif
