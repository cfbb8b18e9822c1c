/* sbt/kernels.h - linear-layer kernels for ternary weights: y = x W^T (+ bias).
 *
 * x is (rows, in) float32 row-major; W is (out, in) with every entry of row o equal to
 * -alpha_o, 0 or +alpha_o (a per-layer alpha is the same value in every row); y is
 * (rows, out) row-major. The weight is prepared ONCE into an opaque object laid out for
 * the kernels; a call then allocates nothing and prepares nothing:
 *
 *     sbt_ternary_matrix *w = NULL;
 *     if (sbt_ternary_prepare(w_float, out, in, &w) != SBT_OK)      // e.g. not ternary
 *         fprintf(stderr, "error: %s\n", sbt_last_error());
 *     void *scratch = malloc(sbt_ternary_scratch_bytes(w, SBT_ACT_I8));  // once, any rows
 *     sbt_ternary_matmul(w, SBT_ACT_I8, SBT_PATH_AUTO, x, rows, bias, y, scratch);
 *     ...
 *     free(scratch);
 *     sbt_ternary_free(w);
 *
 * Activations (sbt_act):
 *   SBT_ACT_F32  float activations, add/sub only, alpha applied once per output; within 1e-5
 *                relative of the float product (the sums are reordered). Two kernels:
 *                - 4 rows or more: per output row, index lists of the inputs where W is +alpha
 *                  and where it is -alpha (zeros are skipped, never touched), vectorised
 *                  across 16 (AVX-512) or 8 (AVX2) rows of x;
 *                - 1 to 3 rows (batch 1): across outputs, x[k] added under 16-output masks of
 *                  +alpha and -alpha (2 bits per weight; dense over W, but no lane is wasted).
 *   SBT_ACT_I8   int8 activations: each row of x is quantised on the fly, symmetric with one
 *                scale per row (q = round(x * 127 / max|x_r|), |q| <= 127); the integer sums
 *                q . t (t in {-1, 0, 1}) are exact in int32 and scaled back once:
 *                y = acc * (max|x_r| / 127) * alpha_o + bias_o. Two kernels, same acc:
 *                - dense dot products, AVX-512 VNNI vpdpbusd or AVX2 vpmaddubsw (int16 partial
 *                  sums bounded by construction, see ternary_avx2.c);
 *                - with 32 rows or more and at most 30 % of W non-zero: the float kernel's
 *                  index lists over int16 lanes (zero skipping), int16 sums bounded by the
 *                  256-column blocks of the lists (256 * 127 <= 32767).
 *
 * Cost of a call: no allocation, no weight preparation; the caller's scratch holds the
 * transposed or quantised rows of x (a group of at most 128 rows at a time). A call with
 * rows = 1 on a 76 x 76 layer takes about 0.1 us (int8) or 0.3 us (float) on the Xeon this
 * was measured on (bench/results/kernels.md).
 *
 * Paths (sbt_kernel_path) are chosen at run time from the CPU (cpuid): SBT_PATH_AUTO takes
 * the best one this CPU has, or the one forced with sbt_kernel_force(). The library itself
 * needs only x86-64 (or any CPU, for the scalar path): SIMD code is in separate files built
 * with their own flags and called only when the CPU reports the feature.
 *   SBT_PATH_SCALAR  portable C, the reference every other path is tested against.
 *   SBT_PATH_AVX2    AVX2 + FMA (Haswell, Zen 1-3).
 *   SBT_PATH_AVX512  AVX-512 F/BW/VL, plus VNNI for SBT_ACT_I8 (Ice Lake, Zen 4).
 *
 * Threading: the kernels are single-threaded and reentrant. Any number of threads may run
 * the same prepared matrix at once, each with its own scratch and its own rows of x and y
 * (split the rows: they are independent; bench/kernels.c does so with one persistent worker
 * and measures when it pays). Nothing here uses OpenMP, the trainer or global state other
 * than the sbt_kernel_force() setting.
 *
 * Ownership: sbt_ternary_prepare copies what it needs from w; the caller keeps w. The caller
 * owns the returned matrix and frees it with sbt_ternary_free. Scratch is the caller's
 * (any alignment; its size depends on the matrix and the activation type, not on rows).
 */
#ifndef SBT_KERNELS_H
#define SBT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "sbt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sbt_act { SBT_ACT_F32 = 0, SBT_ACT_I8 = 1 } sbt_act;

typedef enum sbt_kernel_path {
    SBT_PATH_AUTO = 0, /* the forced path if any, else the best this CPU has */
    SBT_PATH_SCALAR = 1,
    SBT_PATH_AVX2 = 2,
    SBT_PATH_AVX512 = 3,
    SBT_PATH_COUNT
} sbt_kernel_path;

typedef struct sbt_ternary_matrix sbt_ternary_matrix;

/* ---- CPU dispatch ---- */

/* 1 if this CPU (and this build) can run `path` for activations `act`, else 0.
 * SBT_PATH_AVX512 needs AVX-512 F, BW and VL, and VNNI for SBT_ACT_I8. */
int sbt_kernel_available(sbt_kernel_path path, sbt_act act);
/* The path SBT_PATH_AUTO resolves to for `act` (the forced one when it is available). */
sbt_kernel_path sbt_kernel_best(sbt_act act);
/* Forces SBT_PATH_AUTO to `path` process-wide (SBT_PATH_AUTO undoes it). Fails with
 * SBT_ERR_UNSUPPORTED if this CPU does not have it for either activation type. For tests
 * and benchmarks; not meant to be changed while other threads run kernels. */
sbt_status sbt_kernel_force(sbt_kernel_path path);
/* "auto", "scalar", "avx2", "avx512"; sbt_kernel_path_parse returns SBT_PATH_COUNT for an
 * unknown name. */
const char *sbt_kernel_path_name(sbt_kernel_path path);
sbt_kernel_path sbt_kernel_path_parse(const char *name);
/* Writes the available paths for `act` as "scalar,avx2,avx512" into buf (always
 * NUL-terminated); returns buf. */
char *sbt_kernel_list(sbt_act act, char *buf, size_t size);

/* ---- prepared ternary weights ---- */

/* 1 when every row o of W (out, in) holds only 0 and +-a_o for one a_o (exactly, as a frozen
 * Biprop or binarised weight does; an all-zero row counts), else 0. alpha (out values, may
 * be NULL) receives each row's a_o. The test every ternary consumer (kernels, cost, the C
 * export, the conversion tools) uses. */
int sbt_ternary_rows(const float *w, int64_t out, int64_t in, float *alpha);

/* Prepares W (out, in), row-major float. Every row must hold only 0 and +-alpha_o for one
 * alpha_o > 0 (exactly, up to a relative 1e-6); an all-zero row is allowed (its alpha is 0).
 * Fails with SBT_ERR_ARG naming the first row and column that break this (or a NaN or an
 * infinity), or
 * SBT_ERR_NOMEM. out and in must be >= 1 and in < 2^31. */
sbt_status sbt_ternary_prepare(const float *w, int64_t out, int64_t in, sbt_ternary_matrix **m);
void sbt_ternary_free(sbt_ternary_matrix *m);

int64_t sbt_ternary_out(const sbt_ternary_matrix *m);
int64_t sbt_ternary_in(const sbt_ternary_matrix *m);
int64_t sbt_ternary_nonzeros(const sbt_ternary_matrix *m); /* over the whole matrix */
float sbt_ternary_alpha(const sbt_ternary_matrix *m, int64_t row);
size_t sbt_ternary_bytes(const sbt_ternary_matrix *m); /* memory held by the prepared matrix */

/* Bytes of scratch one call needs for activations `act` (any number of rows). */
size_t sbt_ternary_scratch_bytes(const sbt_ternary_matrix *m, sbt_act act);

/* y (rows, out) = x (rows, in) W^T + bias (bias may be NULL). x and y must not overlap.
 * rows >= 0. Fails with SBT_ERR_UNSUPPORTED if `path` is not available (see above). */
sbt_status sbt_ternary_matmul(const sbt_ternary_matrix *m, sbt_act act, sbt_kernel_path path, const float *x,
                              int64_t rows, const float *bias, float *y, void *scratch);

/* The int8 path's exact integer result, for tests: acc (rows, out) = sum_k q[r,k] t[o,k]
 * with t in {-1, 0, 1}, and row_scale[r] = max|x_r| / 127 (0 for an all-zero row), so that
 * the float result is acc * row_scale[r] * alpha_o + bias_o. Every path gives the same acc. */
sbt_status sbt_ternary_matmul_i8_acc(const sbt_ternary_matrix *m, sbt_kernel_path path, const float *x,
                                     int64_t rows, int32_t *acc, float *row_scale, void *scratch);

/* ---- dense baseline ---- */

/* y (rows, out) = x (rows, in) W^T + bias with OpenBLAS cblas_sgemm (W float (out, in)). */
void sbt_dense_linear(const float *x, int64_t rows, const float *w, int64_t out, int64_t in,
                      const float *bias, float *y);

#ifdef __cplusplus
}
#endif
#endif
