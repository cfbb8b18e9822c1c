/* AVX-512 kernels (built with -mavx512f -mavx512bw -mavx512vl -mavx512vnni; called only when
 * the CPU has them, see ternary.c). Layouts: kernels/kernels_internal.h. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_internal.h"
#include "kernels/transpose.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* ---- float activations: add/sub over index lists, 16 rows per zmm ---- */

/* acc[u] += (or -=, SUB) the R floats at xt + idx[k] * R for k = u, u + U, ...: U sets of
 * NV accumulators, so that U * NV add chains run at once (U = 2; 4 measured no faster). n is a
 * multiple of SBT_LIST_PAD, so of U. */
ALWAYS_INLINE void add_list(const float *xt, const int32_t *idx, int64_t n, int64_t R, __m512 acc[4][4],
                            const int NV, const int U, const int SUB) {
    int64_t k = 0;
    for (; k + U <= n; k += U)
        for (int u = 0; u < U; u++) {
            const float *p = xt + idx[k + u] * R;
            for (int v = 0; v < NV; v++)
                acc[u][v] = SUB ? _mm512_sub_ps(acc[u][v], _mm512_load_ps(p + 16 * v))
                                : _mm512_add_ps(acc[u][v], _mm512_load_ps(p + 16 * v));
        }
}

/* One group of R = 16 * NV rows: xt (in, R) -> y rows = alpha * (sum+ - sum-) + bias. Per chunk
 * of outputs (out_chunk), one column block after the other (partial sums stay in yt), then
 * the chunk's (outputs, R) sums are transposed into y. */
ALWAYS_INLINE void f32_group(const sbt_ternary_matrix *m, const float *xt, const float *bias, float *yt,
                             int nrows, float *y, const int NV) {
    const int64_t R = 16 * NV;
    const int U = 2;
    for (int64_t c0 = 0; c0 < m->out; c0 += m->out_chunk) {
        const int64_t cn = m->out - c0 < m->out_chunk ? m->out - c0 : m->out_chunk;
        for (int64_t blk = 0; blk < m->kblocks; blk++) {
            const int first = blk == 0, last = blk == m->kblocks - 1;
            for (int64_t i = 0; i < cn; i++) {
                const int64_t seg = blk * m->out + c0 + i, o = m->seg_out[seg];
                const int32_t *idx = m->idx + m->start[seg];
                const int64_t npos = m->npos[seg], n = m->start[seg + 1] - m->start[seg];
                float *yo = yt + (o - c0) * R;
                __m512 acc[4][4];
                for (int v = 0; v < NV; v++) {
                    acc[0][v] = first ? _mm512_setzero_ps() : _mm512_load_ps(yo + 16 * v);
                    for (int u = 1; u < U; u++) acc[u][v] = _mm512_setzero_ps();
                }
                add_list(xt, idx, npos, R, acc, NV, U, 0);
                add_list(xt, idx + npos, n - npos, R, acc, NV, U, 1);
                for (int v = 0; v < NV; v++) {
                    __m512 sum = acc[0][v];
                    for (int u = 1; u < U; u++) sum = _mm512_add_ps(sum, acc[u][v]);
                    if (last) {
                        const __m512 alpha = _mm512_set1_ps(m->alpha[o]),
                                     beta = _mm512_set1_ps(bias ? bias[o] : 0.0f);
                        sum = _mm512_add_ps(_mm512_mul_ps(sum, alpha), beta);
                    }
                    _mm512_store_ps(yo + 16 * v, sum);
                }
            }
        }
        interleaved_to_rows(yt, cn, nrows, (int)R, y + c0, m->out);
    }
}

/* Few rows: across outputs with the column masks (see SBT_F32_FEW_ROWS). NB blocks of 16
 * outputs at once, +alpha and -alpha sums apart: 2 * NB independent add chains. */
ALWAYS_INLINE void f32_columns(const sbt_ternary_matrix *m, const float *x, int64_t ob0, const float *bias,
                               float *y, const int NB) {
    const int64_t nob = m->out_pad / 16;
    __m512 p[4], n[4];
    for (int b = 0; b < NB; b++) p[b] = n[b] = _mm512_setzero_ps();
    const uint16_t *cm = m->cmask + ob0 * 2;
    for (int64_t k = 0; k < m->in; k++, cm += nob * 2) {
        const __m512 xb = _mm512_set1_ps(x[k]);
        for (int b = 0; b < NB; b++) {
            p[b] = _mm512_mask_add_ps(p[b], _load_mask16((__mmask16 *)(cm + 2 * b)), p[b], xb);
            n[b] = _mm512_mask_add_ps(n[b], _load_mask16((__mmask16 *)(cm + 2 * b + 1)), n[b], xb);
        }
    }
    for (int b = 0; b < NB; b++) {
        int64_t o = (ob0 + b) * 16, left = m->out - o;
        __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        __m512 alpha = _mm512_maskz_loadu_ps(mk, m->alpha + o);
        __m512 beta = bias ? _mm512_maskz_loadu_ps(mk, bias + o) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(y + o, mk,
                              _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(p[b], n[b]), alpha), beta));
    }
}

static void f32_few_rows(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias,
                         float *y) {
    const int64_t nob = m->out_pad / 16;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t ob = 0; ob < nob; ob += 4) {
            const float *xr = x + r * m->in;
            float *yr = y + r * m->out;
            switch (nob - ob >= 4 ? 4 : nob - ob) {
            case 1: f32_columns(m, xr, ob, bias, yr, 1); break;
            case 2: f32_columns(m, xr, ob, bias, yr, 2); break;
            case 3: f32_columns(m, xr, ob, bias, yr, 3); break;
            default: f32_columns(m, xr, ob, bias, yr, 4); break;
            }
        }
}

void sbt_f32_avx512(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                    void *scratch) {
    float *xt, *yt;
    sbt_kernel_f32_scratch(m, &xt, &yt, scratch);
    if (rows < SBT_F32_FEW_ROWS) {
        f32_few_rows(m, x, rows, bias, y);
        return;
    }
    for (int64_t r0 = 0; r0 < rows; r0 += SBT_F32_GROUP) {
        int nrows = (int)(rows - r0 < SBT_F32_GROUP ? rows - r0 : SBT_F32_GROUP);
        int nv = (nrows + 15) / 16;
        rows_to_interleaved(x + r0 * m->in, m->in, nrows, 16 * nv, xt);
        memset(xt + m->in * 16 * nv, 0, sizeof(float) * 16 * (size_t)nv); /* the padding's zero row */
        switch (nv) {
        case 1: f32_group(m, xt, bias, yt, nrows, y + r0 * m->out, 1); break;
        case 2: f32_group(m, xt, bias, yt, nrows, y + r0 * m->out, 2); break;
        case 3: f32_group(m, xt, bias, yt, nrows, y + r0 * m->out, 3); break;
        default: f32_group(m, xt, bias, yt, nrows, y + r0 * m->out, 4); break;
        }
    }
}

/* ---- int8 activations: vpdpbusd ---- */

/* The scalar quantiser's arithmetic, 16 at a time (same max, same product, same rounding:
 * vcvtps2dq rounds to nearest even like lrintf in the default mode). */
static int32_t quantize_row(const float *x, int64_t n, int64_t n_pad, int8_t *q, float *scale) {
    __m512 mx = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_loadu_ps(x + k)));
    __mmask16 tail = (__mmask16)((1u << (n - k)) - 1);
    mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_maskz_loadu_ps(tail, x + k)));
    float max_abs = _mm512_reduce_max_ps(mx);
    memset(q + n, 0, (size_t)(n_pad - n));
    if (max_abs == 0.0f) {
        memset(q, 0, (size_t)n);
        *scale = 0.0f;
        return 0;
    }
    const __m512 inv = _mm512_set1_ps(127.0f / max_abs);
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    __m512i sum = _mm512_setzero_si512();
    for (k = 0; k < n; k += 16) {
        __mmask16 mk = n - k >= 16 ? (__mmask16)0xffff : tail;
        __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(mk, x + k), inv));
        v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
        sum = _mm512_add_epi32(sum, v);
        _mm_mask_storeu_epi8(q + k, mk, _mm512_cvtepi32_epi8(v));
    }
    *scale = max_abs / 127.0f;
    return _mm512_reduce_add_epi32(sum);
}

/* MR rows x NV zmm (16 outputs each) of x W^T over the whole of in_pad. */
ALWAYS_INLINE void i8_block(const sbt_ternary_matrix *m, const int8_t *xq, const int32_t *rowsum,
                            const float *scale, int64_t o0, const float *bias, float *y, int32_t *acc_out,
                            int64_t ldy, const int MR, const int NV) {
    __m512i acc[6][4];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_si512();
    const int64_t in_pad = m->in_pad, k4n = in_pad / 4;
    const uint8_t *wp = m->wq + o0 * 4;
    for (int64_t k4 = 0; k4 < k4n; k4++, wp += m->out_pad * 4) {
        __m512i w[4];
        for (int v = 0; v < NV; v++) w[v] = _mm512_load_si512(wp + 64 * v);
        for (int r = 0; r < MR; r++) {
            int32_t word;
            memcpy(&word, xq + r * in_pad + 4 * k4, 4);
            const __m512i b = _mm512_set1_epi32(word);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], w[v], b);
        }
    }
    for (int v = 0; v < NV; v++) {
        int64_t o = o0 + 16 * v, left = m->out - o;
        if (left <= 0) break;
        __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        __m512 alpha = _mm512_maskz_loadu_ps(mk, m->alpha + o);
        __m512 beta = bias ? _mm512_maskz_loadu_ps(mk, bias + o) : _mm512_setzero_ps();
        for (int r = 0; r < MR; r++) {
            __m512i a = _mm512_sub_epi32(acc[r][v], _mm512_set1_epi32(rowsum[r]));
            if (acc_out) {
                _mm512_mask_storeu_epi32(acc_out + r * ldy + o, mk, a);
            } else {
                __m512 s = _mm512_mul_ps(_mm512_set1_ps(scale[r]), alpha);
                _mm512_mask_storeu_ps(y + r * ldy + o, mk,
                                      _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(a), s), beta));
            }
        }
    }
}

#define I8_MR 6
#define I8_NV 4

ALWAYS_INLINE void i8_rows(const sbt_ternary_matrix *m, const int8_t *xq, const int32_t *rowsum,
                           const float *scale, const float *bias, float *y, int32_t *acc, const int MR) {
    const int64_t nv_total = m->out_pad / 16;
    for (int64_t v0 = 0; v0 < nv_total; v0 += I8_NV) {
        int64_t o0 = 16 * v0;
        switch (nv_total - v0 >= I8_NV ? I8_NV : nv_total - v0) {
        case 1: i8_block(m, xq, rowsum, scale, o0, bias, y, acc, m->out, MR, 1); break;
        case 2: i8_block(m, xq, rowsum, scale, o0, bias, y, acc, m->out, MR, 2); break;
        case 3: i8_block(m, xq, rowsum, scale, o0, bias, y, acc, m->out, MR, 3); break;
        default: i8_block(m, xq, rowsum, scale, o0, bias, y, acc, m->out, MR, 4); break;
        }
    }
}

void sbt_i8_avx512(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                   int32_t *acc, float *row_scale, void *scratch) {
    if (rows >= SBT_I16_MIN_ROWS && (double)m->nnz <= SBT_I16_MAX_DENSITY * (double)m->out * (double)m->in) {
        sbt_i8_sparse_avx512(m, x, rows, bias, y, acc, row_scale, scratch);
        return;
    }
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
            case 4: i8_rows(m, q, rowsum + r, scale + r, bias, yr, ar, 4); break;
            case 5: i8_rows(m, q, rowsum + r, scale + r, bias, yr, ar, 5); break;
            default: i8_rows(m, q, rowsum + r, scale + r, bias, yr, ar, 6); break;
            }
        }
    }
}
