/* AVX2 kernels (built with -mavx2 -mfma; called only when the CPU has them, see ternary.c).
 * Layouts: kernels/kernels_internal.h. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_internal.h"
#include "kernels/transpose.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* ---- float activations: add/sub over index lists, 8 rows per ymm ---- */

/* One group of R = 8 * NV rows (NV <= 4, so at most 32 rows); as in the AVX-512 file, two
 * sets of accumulators take alternate indices. */
ALWAYS_INLINE void f32_group(const sbt_ternary_matrix *m, const float *xt, const float *bias, float *yt,
                             const int NV) {
    const int64_t R = 8 * NV;
    for (int64_t blk = 0; blk < m->kblocks; blk++) {
        const int first = blk == 0, last = blk == m->kblocks - 1;
        for (int64_t o = 0; o < m->out; o++) {
            const int64_t seg = blk * m->out + o;
            const int32_t *idx = m->idx + m->start[seg];
            const int64_t npos = m->npos[seg], n = m->start[seg + 1] - m->start[seg];
            float *yo = yt + o * R;
            __m256 a[4], b[4];
            for (int v = 0; v < NV; v++) {
                a[v] = first ? _mm256_setzero_ps() : _mm256_load_ps(yo + 8 * v);
                b[v] = _mm256_setzero_ps();
            }
            int64_t k = 0;
            for (; k + 2 <= npos; k += 2) {
                const float *p = xt + idx[k] * R, *q = xt + idx[k + 1] * R;
                for (int v = 0; v < NV; v++) {
                    a[v] = _mm256_add_ps(a[v], _mm256_load_ps(p + 8 * v));
                    b[v] = _mm256_add_ps(b[v], _mm256_load_ps(q + 8 * v));
                }
            }
            if (k < npos)
                for (int v = 0; v < NV; v++)
                    a[v] = _mm256_add_ps(a[v], _mm256_load_ps(xt + idx[k] * R + 8 * v));
            for (k = npos; k + 2 <= n; k += 2) {
                const float *p = xt + idx[k] * R, *q = xt + idx[k + 1] * R;
                for (int v = 0; v < NV; v++) {
                    a[v] = _mm256_sub_ps(a[v], _mm256_load_ps(p + 8 * v));
                    b[v] = _mm256_sub_ps(b[v], _mm256_load_ps(q + 8 * v));
                }
            }
            if (k < n)
                for (int v = 0; v < NV; v++)
                    a[v] = _mm256_sub_ps(a[v], _mm256_load_ps(xt + idx[k] * R + 8 * v));
            if (last) {
                const __m256 alpha = _mm256_set1_ps(m->alpha[o]),
                             beta = _mm256_set1_ps(bias ? bias[o] : 0.0f);
                for (int v = 0; v < NV; v++)
                    _mm256_store_ps(yo + 8 * v,
                                    _mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(a[v], b[v]), alpha), beta));
            } else {
                for (int v = 0; v < NV; v++) _mm256_store_ps(yo + 8 * v, _mm256_add_ps(a[v], b[v]));
            }
        }
    }
}

#define F32_GROUP_AVX2 32

void sbt_f32_avx2(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                  void *scratch) {
    float *xt, *yt;
    sbt_kernel_f32_scratch(m, &xt, &yt, scratch);
    for (int64_t r0 = 0; r0 < rows; r0 += F32_GROUP_AVX2) {
        int nrows = (int)(rows - r0 < F32_GROUP_AVX2 ? rows - r0 : F32_GROUP_AVX2);
        int nv = (nrows + 7) / 8;
        rows_to_interleaved(x + r0 * m->in, m->in, nrows, 8 * nv, xt);
        switch (nv) {
        case 1: f32_group(m, xt, bias, yt, 1); break;
        case 2: f32_group(m, xt, bias, yt, 2); break;
        case 3: f32_group(m, xt, bias, yt, 3); break;
        default: f32_group(m, xt, bias, yt, 4); break;
        }
        interleaved_to_rows(yt, m->out, nrows, 8 * nv, y + r0 * m->out);
    }
}

/* ---- int8 activations: vpmaddubsw ---- */

/* The scalar quantiser's arithmetic, 8 at a time (vcvtps2dq rounds like lrintf). */
static int32_t quantize_row(const float *x, int64_t n, int64_t n_pad, int8_t *q, float *scale) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 mx = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) mx = _mm256_max_ps(mx, _mm256_and_ps(_mm256_loadu_ps(x + k), abs_mask));
    float lanes[8], max_abs = 0.0f;
    _mm256_storeu_ps(lanes, mx);
    for (int i = 0; i < 8; i++) max_abs = fmaxf(max_abs, lanes[i]);
    for (int64_t t = k; t < n; t++) max_abs = fmaxf(max_abs, fabsf(x[t]));
    memset(q + n, 0, (size_t)(n_pad - n));
    if (max_abs == 0.0f) {
        memset(q, 0, (size_t)n);
        *scale = 0.0f;
        return 0;
    }
    const float inv_s = 127.0f / max_abs;
    const __m256 inv = _mm256_set1_ps(inv_s);
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    __m256i sum = _mm256_setzero_si256();
    for (k = 0; k + 8 <= n; k += 8) {
        __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k), inv));
        v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
        sum = _mm256_add_epi32(sum, v);
        __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(q + k), _mm_packs_epi16(w16, w16));
    }
    int32_t lanes_i[8], total = 0;
    _mm256_storeu_si256((__m256i *)lanes_i, sum);
    for (int i = 0; i < 8; i++) total += lanes_i[i];
    for (; k < n; k++) {
        long v = lrintf(x[k] * inv_s);
        q[k] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        total += q[k];
    }
    *scale = max_abs / 127.0f;
    return total;
}

/* The int16 hazard of vpmaddubsw, guarded by construction: the unsigned operand is the weight
 * t + 1 <= 2 and |q| <= 127, so one int16 lane of one vpmaddubsw is at most 2 * 2 * 127 = 508
 * in magnitude; at most I8_KC of them are summed in int16 before vpmaddwd widens to int32. */
#define I8_KC 16
#define I8_LANE_MAX (2 * 2 * 127)
_Static_assert(I8_KC *I8_LANE_MAX <= 32767, "int16 partial sums of vpmaddubsw could overflow");

#define I8_MR 4
#define I8_NV 2

/* MR rows x 16 outputs (two ymm) of x W^T over the whole of in_pad. */
ALWAYS_INLINE void i8_block(const sbt_ternary_matrix *m, const int8_t *xq, const int32_t *rowsum,
                            const float *scale, int64_t o0, const float *bias, float *y, int32_t *acc_out,
                            int64_t ldy, const int MR) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[I8_MR][I8_NV];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < I8_NV; v++) acc[r][v] = _mm256_setzero_si256();
    const int64_t in_pad = m->in_pad, k4n = in_pad / 4, stride = m->out_pad * 4;
    for (int64_t c0 = 0; c0 < k4n; c0 += I8_KC) {
        const int64_t c1 = c0 + I8_KC < k4n ? c0 + I8_KC : k4n;
        __m256i part[I8_MR][I8_NV];
        for (int r = 0; r < MR; r++)
            for (int v = 0; v < I8_NV; v++) part[r][v] = _mm256_setzero_si256();
        const uint8_t *wp = m->wq + c0 * stride + o0 * 4;
        for (int64_t k4 = c0; k4 < c1; k4++, wp += stride) {
            __m256i w[I8_NV];
            for (int v = 0; v < I8_NV; v++) w[v] = _mm256_load_si256((const __m256i *)(wp + 32 * v));
            for (int r = 0; r < MR; r++) {
                int32_t word;
                memcpy(&word, xq + r * in_pad + 4 * k4, 4);
                const __m256i b = _mm256_set1_epi32(word);
                for (int v = 0; v < I8_NV; v++)
                    part[r][v] = _mm256_add_epi16(part[r][v], _mm256_maddubs_epi16(w[v], b));
            }
        }
        for (int r = 0; r < MR; r++)
            for (int v = 0; v < I8_NV; v++)
                acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(part[r][v], ones));
    }
    for (int v = 0; v < I8_NV; v++) {
        int64_t o = o0 + 8 * v, left = m->out - o;
        if (left <= 0) break;
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32(left > 8 ? 8 : (int)left), lane);
        __m256 alpha = _mm256_maskload_ps(m->alpha + o, mk);
        __m256 beta = bias ? _mm256_maskload_ps(bias + o, mk) : _mm256_setzero_ps();
        for (int r = 0; r < MR; r++) {
            __m256i a = _mm256_sub_epi32(acc[r][v], _mm256_set1_epi32(rowsum[r]));
            if (acc_out) {
                _mm256_maskstore_epi32(acc_out + r * ldy + o, mk, a);
            } else {
                __m256 s = _mm256_mul_ps(_mm256_set1_ps(scale[r]), alpha);
                _mm256_maskstore_ps(y + r * ldy + o, mk,
                                    _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a), s), beta));
            }
        }
    }
}

ALWAYS_INLINE void i8_rows(const sbt_ternary_matrix *m, const int8_t *xq, const int32_t *rowsum,
                           const float *scale, const float *bias, float *y, int32_t *acc, const int MR) {
    for (int64_t o0 = 0; o0 < m->out_pad; o0 += 8 * I8_NV)
        i8_block(m, xq, rowsum, scale, o0, bias, y, acc, m->out, MR);
}

void sbt_i8_avx2(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                 int32_t *acc, float *row_scale, void *scratch) {
    int8_t *xq;
    int32_t *rowsum;
    float *scale;
    sbt_kernel_i8_scratch(m, &xq, &rowsum, &scale, scratch);
    for (int64_t g0 = 0; g0 < rows; g0 += SBT_I8_GROUP) {
        int n = (int)(rows - g0 < SBT_I8_GROUP ? rows - g0 : SBT_I8_GROUP);
        for (int r = 0; r < n; r++)
            rowsum[r] = quantize_row(x + (g0 + r) * m->in, m->in, m->in_pad, xq + r * m->in_pad, &scale[r]);
        if (row_scale) memcpy(row_scale + g0, scale, sizeof(float) * (size_t)n);
        for (int r = 0; r < n; r += I8_MR) {
            int mr = n - r < I8_MR ? n - r : I8_MR;
            const int8_t *q = xq + r * m->in_pad;
            float *yr = y ? y + (g0 + r) * m->out : NULL;
            int32_t *ar = acc ? acc + (g0 + r) * m->out : NULL;
            switch (mr) {
            case 1: i8_rows(m, q, rowsum + r, scale + r, bias, yr, ar, 1); break;
            case 2: i8_rows(m, q, rowsum + r, scale + r, bias, yr, ar, 2); break;
            case 3: i8_rows(m, q, rowsum + r, scale + r, bias, yr, ar, 3); break;
            default: i8_rows(m, q, rowsum + r, scale + r, bias, yr, ar, 4); break;
            }
        }
    }
}
