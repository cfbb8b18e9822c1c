/* Int8 activations with zero skipping on AVX-512 (see SBT_I16_GROUP in kernels_internal.h):
 * the rows of a group are quantised exactly as sbt_quantize_row_scalar does, transposed to
 * (in, R) and held as int16, so that one index of the float kernel's lists adds 32 rows per
 * vpaddw. Integer sums are exact, so acc equals every other int8 path's. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_internal.h"
#include "kernels/transpose.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* inv[r] = 127 / max|x_r| (0 for an all-zero row, so that q = 0), scale[r] = max|x_r| / 127. */
static void row_scales(const float *x, int64_t in, int nrows, int R, float *inv, float *scale) {
    for (int r = 0; r < R; r++) {
        float mx = 0.0f;
        if (r < nrows) {
            const float *xr = x + r * in;
            __m512 v = _mm512_setzero_ps();
            int64_t k = 0;
            for (; k + 16 <= in; k += 16) v = _mm512_max_ps(v, _mm512_abs_ps(_mm512_loadu_ps(xr + k)));
            v = _mm512_max_ps(
                v, _mm512_abs_ps(_mm512_maskz_loadu_ps((__mmask16)((1u << (in - k)) - 1), xr + k)));
            mx = _mm512_reduce_max_ps(v);
        }
        inv[r] = mx > 0.0f ? 127.0f / mx : 0.0f;
        scale[r] = mx / 127.0f;
    }
}

/* xt (in, R) floats -> int16 q in place (an int16 row of R is written below the float row it
 * came from, so nothing is overwritten before it is read). */
static void quantize_interleaved(float *xt, int64_t in, int R, const float *inv) {
    int16_t *q = (int16_t *)xt;
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    for (int64_t k = 0; k < in; k++)
        for (int r = 0; r < R; r += 16) {
            __m512 v = _mm512_mul_ps(_mm512_load_ps(xt + k * R + r), _mm512_load_ps(inv + r));
            __m512i i = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(v), lo), hi);
            _mm256_store_si256((__m256i *)(q + k * R + r), _mm512_cvtepi32_epi16(i));
        }
}

/* One group of R = 32 * NV rows: q (in, R) int16 -> yt (out, R) int32 sums over all blocks. */
ALWAYS_INLINE void i16_group(const sbt_ternary_matrix *m, const int16_t *q, int32_t *yt, const int NV) {
    const int64_t R = 32 * NV;
    for (int64_t blk = 0; blk < m->kblocks; blk++) {
        for (int64_t i = 0; i < m->out; i++) {
            const int64_t seg = blk * m->out + i, o = m->seg_out[seg];
            const int32_t *idx = m->idx + m->start[seg];
            const int64_t npos = m->npos[seg], n = m->start[seg + 1] - m->start[seg];
            __m512i a[4], b[4];
            for (int v = 0; v < NV; v++) a[v] = b[v] = _mm512_setzero_si512();
            int64_t k = 0;
            for (; k + 2 <= npos; k += 2) {
                const int16_t *p = q + idx[k] * R, *s = q + idx[k + 1] * R;
                for (int v = 0; v < NV; v++) {
                    a[v] = _mm512_add_epi16(a[v], _mm512_load_si512(p + 32 * v));
                    b[v] = _mm512_add_epi16(b[v], _mm512_load_si512(s + 32 * v));
                }
            }
            for (k = npos; k + 2 <= n; k += 2) {
                const int16_t *p = q + idx[k] * R, *s = q + idx[k + 1] * R;
                for (int v = 0; v < NV; v++) {
                    a[v] = _mm512_sub_epi16(a[v], _mm512_load_si512(p + 32 * v));
                    b[v] = _mm512_sub_epi16(b[v], _mm512_load_si512(s + 32 * v));
                }
            }
            int32_t *yo = yt + o * R;
            for (int v = 0; v < NV; v++) {
                /* a + b: at most one block's columns (256) of |q| <= 127 in all: <= 32512 */
                __m512i s = _mm512_add_epi16(a[v], b[v]);
                __m512i lo = _mm512_cvtepi16_epi32(_mm512_castsi512_si256(s));
                __m512i hi = _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(s, 1));
                if (blk) {
                    lo = _mm512_add_epi32(lo, _mm512_load_si512(yo + 32 * v));
                    hi = _mm512_add_epi32(hi, _mm512_load_si512(yo + 32 * v + 16));
                }
                _mm512_store_si512(yo + 32 * v, lo);
                _mm512_store_si512(yo + 32 * v + 16, hi);
            }
        }
    }
}

/* yt int32 sums -> floats in place: acc * (scale_r * alpha_o) + bias_o, as the scalar path. */
static void scale_group(const sbt_ternary_matrix *m, int32_t *yt, int R, const float *scale,
                        const float *bias) {
    for (int64_t o = 0; o < m->out; o++) {
        const __m512 alpha = _mm512_set1_ps(m->alpha[o]), beta = _mm512_set1_ps(bias ? bias[o] : 0.0f);
        for (int r = 0; r < R; r += 16) {
            __m512 s = _mm512_mul_ps(_mm512_load_ps(scale + r), alpha);
            __m512 v = _mm512_cvtepi32_ps(_mm512_load_si512(yt + o * R + r));
            _mm512_store_ps((float *)(yt + o * R + r), _mm512_add_ps(_mm512_mul_ps(v, s), beta));
        }
    }
}

void sbt_i8_sparse_avx512(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias,
                          float *y, int32_t *acc, float *row_scale, void *scratch) {
    float *xt, *inv, *scale;
    int32_t *yt;
    sbt_kernel_i16_scratch(m, &xt, &yt, &inv, &scale, scratch);
    for (int64_t r0 = 0; r0 < rows; r0 += SBT_I16_GROUP) {
        int nrows = (int)(rows - r0 < SBT_I16_GROUP ? rows - r0 : SBT_I16_GROUP), nv = (nrows + 31) / 32;
        int R = 32 * nv;
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
            /* int32 moved as float bit patterns: the transposes only shuffle */
            interleaved_to_rows((const float *)yt, m->out, nrows, R, (float *)(acc + r0 * m->out), m->out);
            memcpy(row_scale + r0, scale, sizeof(float) * (size_t)nrows);
        } else {
            scale_group(m, yt, R, scale, bias);
            interleaved_to_rows((const float *)yt, m->out, nrows, R, y + r0 * m->out, m->out);
        }
    }
}
