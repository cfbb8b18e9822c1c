/* kernels/kernels_internal.h - the prepared ternary matrix and the per-path kernels.
 *
 * One prepared matrix serves every path and both activation types; it holds two layouts:
 *
 * Float activations (add/sub with zero skipping): per output row o, the column indices where
 * W is +alpha (idx[start[o] .. start[o] + npos[o])) followed by those where it is -alpha (up
 * to start[o + 1]). The SIMD kernels vectorise across rows of x: they transpose a group of R
 * rows of x into xt (in, R), so that one index selects R contiguous floats, add or subtract
 * them into R/lanes vector accumulators, scale once by alpha and transpose the group's
 * (out, R) result back into y. Index lists beat a bitmap here because the work is then
 * proportional to the non-zeros (see bench/README.md for the measurement).
 *
 * Int8 activations (dense dot products): wq holds t + 1 (t in {-1, 0, 1}, so 0, 1 or 2) as
 * bytes in the layout (in_pad / 4, out_pad, 4): four consecutive k of one output are one
 * 32-bit lane, 16 outputs are one zmm (8 one ymm). With w' = t + 1 as the unsigned operand
 * and q as the signed one, vpdpbusd / vpmaddubsw give sum q (t + 1) = sum q t + sum q, so
 * the kernels subtract the row sum of q (computed while quantising). Padding: k >= in holds
 * q = 0; outputs >= out hold w' = 1 and are never stored.
 */
#ifndef SBT_KERNELS_INTERNAL_H
#define SBT_KERNELS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sbt/kernels.h"

struct sbt_ternary_matrix {
    int64_t out, in, nnz;
    float *alpha;            /* [out] */
    int64_t kc;              /* columns per block: SBT_F32_KC or SBT_F32_KC_SPARSE */
    int64_t kblocks;         /* ceil(in / kc) */
    int64_t out_chunk;       /* outputs finished at once: SBT_F32_OUT_CHUNK, or out with several blocks */
    int32_t *idx;            /* [nnz]: per segment, the +alpha columns then the -alpha columns */
    int64_t *start;          /* [kblocks * out + 1] */
    int32_t *npos;           /* [kblocks * out] */
    int32_t *seg_out;        /* [kblocks * out]: the output row of each segment */
    int64_t in_pad, out_pad; /* in rounded up to 4, out rounded up to 16 */
    uint8_t *wq;             /* [in_pad / 4][out_pad][4], t + 1 */
    uint16_t *cmask;         /* [in][out_pad / 16][2]: +alpha and -alpha bits of 16 outputs */
    size_t bytes;
};

/* Rows of x transposed at once by the float kernels (the widest group: 4 zmm). */
#define SBT_F32_GROUP 64
/* Few rows (batch 1): one row gives index lists nothing to vectorise across, so the AVX-512
 * float kernel works across outputs instead: for each input k it broadcasts x[k] and adds it
 * under the +alpha mask and under the -alpha mask of 16 outputs (cmask, 2 bits per weight).
 * Dense over W but 2 masked adds per 16 weights with 8 independent chains; used below
 * SBT_F32_FEW_ROWS rows (bench/README.md has the measurement). */
#define SBT_F32_FEW_ROWS 4
/* With a single column block (in <= 128, or <= 256 when sparse: the paper's layers), the
 * float kernels finish SBT_F32_OUT_CHUNK outputs at a time, so that their sums (64 outputs
 * x 64 rows = 16 KB) stay in L1 and go straight into y; the segments of a block are ordered
 * by length within each chunk (out_chunk). With several blocks a chunk is every output:
 * chunking would stream all of xt from L2 once per chunk (measured 12 % slower at 1024^3,
 * against 10 % faster on 200 x 76 x 256). */
#define SBT_F32_OUT_CHUNK 64
/* Every +alpha list and every -alpha list is padded to a multiple of SBT_LIST_PAD entries with
 * the index `in`, which selects a row of zeros that the kernels append to xt: the add loops,
 * unrolled by 2, then have no remainder branch to mispredict. 2 rather than 4: at keep 0.1 a
 * list holds about 4 entries, and padding to 4 cost more adds than it saved (measured). The
 * scalar path skips the padding. */
#define SBT_LIST_PAD 2
/* Columns per block of the index lists: 128 (64 rows x 128 columns of xt = 32 KB, in L1)
 * when more than SBT_F32_KC_DENSE of W is non-zero, else 256: with few non-zeros per
 * segment, the per-segment cost (partial sums through yt, loop exits) outweighs the L1
 * misses (measured at 1024^3, float: keep 0.5 88 vs 81 GMAC/s and keep 0.25 177 vs 158
 * with 128; keep 0.1 equal, int8 406 vs 392 with 256). */
#define SBT_F32_KC 128
#define SBT_F32_KC_SPARSE 256
#define SBT_F32_KC_DENSE 0.15
/* Rows of x quantised at once by the int8 kernels. */
#define SBT_I8_GROUP 64

/* Int8 activations with zero skipping (AVX2 and AVX-512, many rows, sparse W): the float kernel's
 * index lists over int16 lanes, 32 rows per zmm. One column block (at most
 * SBT_F32_KC_SPARSE = 256 columns) adds at most 256 values of |q| <= 127 into an int16
 * lane: 32512 <= 32767, so the int16 sums cannot overflow; they are widened into int32 after every block. */
#define SBT_I16_GROUP 128
_Static_assert(SBT_F32_KC * 127 <= 32767 && SBT_F32_KC_SPARSE * 127 <= 32767,
               "int16 sums of one column block could overflow");
/* Used instead of vpdpbusd when rows >= SBT_I16_MIN_ROWS and at most this fraction of W is
 * non-zero (measured: bench/README.md). */
#define SBT_I16_MIN_ROWS 32
#define SBT_I16_MAX_DENSITY 0.3
size_t sbt_kernel_i16_scratch(const sbt_ternary_matrix *m, float **xt, int32_t **yt, float **inv,
                              float **scale, void *scratch);
void sbt_i8_sparse_avx2(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias,
                        float *y, int32_t *acc, float *row_scale, void *scratch);
void sbt_i8_sparse_avx512(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias,
                          float *y, int32_t *acc, float *row_scale, void *scratch);

/* Scratch layouts (offsets from the 64-byte-aligned start of the caller's scratch). */
size_t sbt_kernel_f32_scratch(const sbt_ternary_matrix *m, float **xt, float **yt, void *scratch);
size_t sbt_kernel_i8_scratch(const sbt_ternary_matrix *m, int8_t **xq, int32_t **rowsum, float **scale,
                             void *scratch);

/* Float activations: y = x W^T + bias. */
typedef void (*sbt_f32_kernel)(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias,
                               float *y, void *scratch);
/* Int8 activations: with acc == NULL, y = acc * scale * alpha + bias; otherwise acc and
 * row_scale are written (the exact integer result) and y is not touched. */
typedef void (*sbt_i8_kernel)(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias,
                              float *y, int32_t *acc, float *row_scale, void *scratch);

void sbt_f32_scalar(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                    void *scratch);
void sbt_i8_scalar(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                   int32_t *acc, float *row_scale, void *scratch);
void sbt_f32_avx2(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                  void *scratch);
void sbt_i8_avx2(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                 int32_t *acc, float *row_scale, void *scratch);
void sbt_f32_avx512(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                    void *scratch);
void sbt_i8_avx512(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                   int32_t *acc, float *row_scale, void *scratch);

/* Quantises one row of n floats (the scalar definition every path reproduces bit for bit):
 * scale = max|x| / 127; q = clamp(lrintf(x * (127 / max|x|)), -127, 127); returns the sum of
 * q and writes the scale (0 and q = 0 for an all-zero row). */
int32_t sbt_quantize_row_scalar(const float *x, int64_t n, int8_t *q, float *scale);

#endif
