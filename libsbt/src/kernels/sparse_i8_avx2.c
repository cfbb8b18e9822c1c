/* Int8 activations with zero skipping on AVX2: sparse_i8_avx512.c with 16 int16 rows per ymm
 * (groups of at most 64 rows). Same quantisation, same index lists, same int16 bound (one
 * column block adds at most 256 values of |q| <= 127: 32512), the same exact acc. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_internal.h"
#include "kernels/transpose.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define GROUP_AVX2 64

static void row_scales(const float *x, int64_t in, int nrows, int R, float *inv, float *scale) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int r = 0; r < R; r++) {
        float mx = 0.0f;
        if (r < nrows) {
            const float *xr = x + r * in;
            __m256 v = _mm256_setzero_ps();
            int64_t k = 0;
            for (; k + 8 <= in; k += 8)
                v = _mm256_max_ps(v, _mm256_and_ps(_mm256_loadu_ps(xr + k), abs_mask));
            float lanes[8];
            _mm256_storeu_ps(lanes, v);
            for (int i = 0; i < 8; i++) mx = fmaxf(mx, lanes[i]);
            for (; k < in; k++) mx = fmaxf(mx, fabsf(xr[k]));
        }
        inv[r] = mx > 0.0f ? 127.0f / mx : 0.0f;
        scale[r] = mx / 127.0f;
    }
}

/* xt (in, R) floats -> int16 q in place (see the AVX-512 file). */
static void quantize_interleaved(float *xt, int64_t in, int R, const float *inv) {
    int16_t *q = (int16_t *)xt;
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    for (int64_t k = 0; k < in; k++)
        for (int r = 0; r < R; r += 16) {
            __m256 v0 = _mm256_mul_ps(_mm256_load_ps(xt + k * R + r), _mm256_load_ps(inv + r));
            __m256 v1 = _mm256_mul_ps(_mm256_load_ps(xt + k * R + r + 8), _mm256_load_ps(inv + r + 8));
            __m256i i0 = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(v0), lo), hi);
            __m256i i1 = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(v1), lo), hi);
            /* packs works within 128-bit lanes: put the quarters back in order */
            __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(i0, i1), 0xD8);
            _mm256_store_si256((__m256i *)(q + k * R + r), p);
        }
}

ALWAYS_INLINE void i16_group(const sbt_ternary_matrix *m, const int16_t *q, int32_t *yt, const int NV) {
    const int64_t R = 16 * NV;
    for (int64_t blk = 0; blk < m->kblocks; blk++) {
        for (int64_t i = 0; i < m->out; i++) {
            const int64_t seg = blk * m->out + i, o = m->seg_out[seg];
            const int32_t *idx = m->idx + m->start[seg];
            const int64_t npos = m->npos[seg], n = m->start[seg + 1] - m->start[seg];
            __m256i a[4], b[4];
            for (int v = 0; v < NV; v++) a[v] = b[v] = _mm256_setzero_si256();
            for (int64_t k = 0; k + 2 <= npos; k += 2) {
                const int16_t *p = q + idx[k] * R, *s = q + idx[k + 1] * R;
                for (int v = 0; v < NV; v++) {
                    a[v] = _mm256_add_epi16(a[v], _mm256_load_si256((const __m256i *)(p + 16 * v)));
                    b[v] = _mm256_add_epi16(b[v], _mm256_load_si256((const __m256i *)(s + 16 * v)));
                }
            }
            for (int64_t k = npos; k + 2 <= n; k += 2) {
                const int16_t *p = q + idx[k] * R, *s = q + idx[k + 1] * R;
                for (int v = 0; v < NV; v++) {
                    a[v] = _mm256_sub_epi16(a[v], _mm256_load_si256((const __m256i *)(p + 16 * v)));
                    b[v] = _mm256_sub_epi16(b[v], _mm256_load_si256((const __m256i *)(s + 16 * v)));
                }
            }
            int32_t *yo = yt + o * R;
            for (int v = 0; v < NV; v++) {
                /* a + b: at most one block's columns (256) of |q| <= 127 in all: <= 32512 */
                __m256i s = _mm256_add_epi16(a[v], b[v]);
                __m256i lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s));
                __m256i hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s, 1));
                __m256i *dst = (__m256i *)(yo + 16 * v);
                if (blk) {
                    lo = _mm256_add_epi32(lo, _mm256_load_si256(dst));
                    hi = _mm256_add_epi32(hi, _mm256_load_si256(dst + 1));
                }
                _mm256_store_si256(dst, lo);
                _mm256_store_si256(dst + 1, hi);
            }
        }
    }
}

static void scale_group(const sbt_ternary_matrix *m, int32_t *yt, int R, const float *scale,
                        const float *bias) {
    for (int64_t o = 0; o < m->out; o++) {
        const __m256 alpha = _mm256_set1_ps(m->alpha[o]), beta = _mm256_set1_ps(bias ? bias[o] : 0.0f);
        for (int r = 0; r < R; r += 8) {
            __m256 s = _mm256_mul_ps(_mm256_load_ps(scale + r), alpha);
            __m256 v = _mm256_cvtepi32_ps(_mm256_load_si256((const __m256i *)(yt + o * R + r)));
            _mm256_store_ps((float *)(yt + o * R + r), _mm256_add_ps(_mm256_mul_ps(v, s), beta));
        }
    }
}

void sbt_i8_sparse_avx2(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias,
                        float *y, int32_t *acc, float *row_scale, void *scratch) {
    float *xt, *inv, *scale;
    int32_t *yt;
    sbt_kernel_i16_scratch(m, &xt, &yt, &inv, &scale, scratch);
    for (int64_t r0 = 0; r0 < rows; r0 += GROUP_AVX2) {
        int nrows = (int)(rows - r0 < GROUP_AVX2 ? rows - r0 : GROUP_AVX2), nv = (nrows + 15) / 16;
        int R = 16 * nv;
        const float *xg = x + r0 * m->in;
        row_scales(xg, m->in, nrows, R, inv, scale);
        rows_to_interleaved(xg, m->in, nrows, R, xt);
        quantize_interleaved(xt, m->in, R, inv);
        memset((int16_t *)xt + m->in * R, 0, sizeof(int16_t) * (size_t)R); /* the padding's zero row */
        switch (nv) {
        case 1: i16_group(m, (const int16_t *)xt, yt, 1); break;
        case 2: i16_group(m, (const int16_t *)xt, yt, 2); break;
        case 3: i16_group(m, (const int16_t *)xt, yt, 3); break;
        default: i16_group(m, (const int16_t *)xt, yt, 4); break;
        }
        if (acc) {
            interleaved_to_rows((const float *)yt, m->out, nrows, R, (float *)(acc + r0 * m->out), m->out);
            memcpy(row_scale + r0, scale, sizeof(float) * (size_t)nrows);
        } else {
            scale_group(m, yt, R, scale, bias);
            interleaved_to_rows((const float *)yt, m->out, nrows, R, y + r0 * m->out, m->out);
        }
    }
}
