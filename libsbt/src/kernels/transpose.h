/* kernels/transpose.h - moving a group of rows between row-major (rows, n) and the
 * row-interleaved (n, R) layout of the float kernels. Included by the SIMD files, each
 * built with its own flags; 8 x 8 blocks go through AVX registers, the edges through
 * scalar code. */
#ifndef SBT_KERNELS_TRANSPOSE_H
#define SBT_KERNELS_TRANSPOSE_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* One 4-byte element, whatever it holds: the int8 kernels move int32 sums through these
 * helpers too, and memcpy keeps that free of type punning. */
static inline void copy4(void *dst, const void *src) { memcpy(dst, src, 4); }

/* The classic 8 x 8 float transpose in 24 shuffles: rows r[0..7] become columns. */
static inline void transpose8x8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* xt[k * R + r] = x[r * n + k] for r < nrows, 0 for nrows <= r < R (R a multiple of 8). */
static inline void rows_to_interleaved(const float *x, int64_t n, int nrows, int R, float *xt) {
    int r0 = 0;
    for (; r0 + 8 <= nrows; r0 += 8) {
        int64_t k = 0;
        for (; k + 8 <= n; k += 8) {
            __m256 v[8];
            for (int i = 0; i < 8; i++) v[i] = _mm256_loadu_ps(x + (r0 + i) * n + k);
            transpose8x8(v);
            for (int i = 0; i < 8; i++) _mm256_storeu_ps(xt + (k + i) * R + r0, v[i]);
        }
        for (; k < n; k++)
            for (int i = 0; i < 8; i++) copy4(xt + k * R + r0 + i, x + (r0 + i) * n + k);
    }
    for (int64_t k = 0; k < n; k++) {
        for (int r = r0; r < nrows; r++) copy4(xt + k * R + r, x + r * n + k);
        for (int r = nrows; r < R; r++) xt[k * R + r] = 0.0f;
    }
}

/* y[r * ldy + k] = yt[k * R + r] for r < nrows, k < n. */
static inline void interleaved_to_rows(const float *yt, int64_t n, int nrows, int R, float *y, int64_t ldy) {
    int r0 = 0;
    for (; r0 + 8 <= nrows; r0 += 8) {
        int64_t k = 0;
        for (; k + 8 <= n; k += 8) {
            __m256 v[8];
            for (int i = 0; i < 8; i++) v[i] = _mm256_loadu_ps(yt + (k + i) * R + r0);
            transpose8x8(v);
            for (int i = 0; i < 8; i++) _mm256_storeu_ps(y + (r0 + i) * ldy + k, v[i]);
        }
        for (; k < n; k++)
            for (int i = 0; i < 8; i++) copy4(y + (r0 + i) * ldy + k, yt + k * R + r0 + i);
    }
    for (int r = r0; r < nrows; r++)
        for (int64_t k = 0; k < n; k++) copy4(y + r * ldy + k, yt + k * R + r);
}

#endif
