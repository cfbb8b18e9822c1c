/* AVX2 kernels (built with -mavx2 -mfma; called only when the CPU has them, see ternary.c).
 * Layouts: kernels/kernels_internal.h. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_internal.h"
#include "kernels/transpose.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* ---- float activations: add/sub over index lists, 8 rows per ymm ---- */

/* acc[u] += (or -=, SUB) the R floats at xt + idx[k] * R for k = u, u + U, ...: U sets of
 * NV accumulators, so that U * NV add chains run at once (U = 2; 4 measured no faster). n is a
 * multiple of SBT_LIST_PAD, so of U. */
ALWAYS_INLINE void add_list(const float *xt, const int32_t *idx, int64_t n, int64_t R, __m256 acc[4][4],
                            const int NV, const int U, const int SUB) {
    int64_t k = 0;
    for (; k + U <= n; k += U)
        for (int u = 0; u < U; u++) {
            const float *p = xt + idx[k + u] * R;
            for (int v = 0; v < NV; v++)
                acc[u][v] = SUB ? _mm256_sub_ps(acc[u][v], _mm256_load_ps(p + 8 * v))
                                : _mm256_add_ps(acc[u][v], _mm256_load_ps(p + 8 * v));
        }
}

/* One group of R = 8 * NV rows: xt (in, R) -> y rows = alpha * (sum+ - sum-) + bias. Per chunk
 * of outputs (out_chunk), one column block after the other (partial sums stay in yt), then
 * the chunk's (outputs, R) sums are transposed into y. */
ALWAYS_INLINE void f32_group(const sbt_ternary_matrix *m, const float *xt, const float *bias, float *yt,
                             int nrows, float *y, const int NV) {
    const int64_t R = 8 * NV;
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
                __m256 acc[4][4];
                for (int v = 0; v < NV; v++) {
                    acc[0][v] = first ? _mm256_setzero_ps() : _mm256_load_ps(yo + 8 * v);
                    for (int u = 1; u < U; u++) acc[u][v] = _mm256_setzero_ps();
                }
                add_list(xt, idx, npos, R, acc, NV, U, 0);
                add_list(xt, idx + npos, n - npos, R, acc, NV, U, 1);
                for (int v = 0; v < NV; v++) {
                    __m256 sum = acc[0][v];
                    for (int u = 1; u < U; u++) sum = _mm256_add_ps(sum, acc[u][v]);
                    if (last) {
                        const __m256 alpha = _mm256_set1_ps(m->alpha[o]),
                                     beta = _mm256_set1_ps(bias ? bias[o] : 0.0f);
                        sum = _mm256_add_ps(_mm256_mul_ps(sum, alpha), beta);
                    }
                    _mm256_store_ps(yo + 8 * v, sum);
                }
            }
        }
        interleaved_to_rows(yt, cn, nrows, (int)R, y + c0, m->out);
    }
}

#define F32_GROUP_AVX2 32

/* Few rows (see SBT_F32_FEW_ROWS): the AVX-512 kernel's column masks, 8 outputs per byte.
 * AVX2 has no mask registers, so a byte of mask selects a ready 8-lane mask from this table
 * (8 KB) and vandps keeps x where the bit is set. */
#define LANE(b, i) (-(((b) >> (i)) & 1))
#define MASK(b)                                                                                              \
    { LANE(b, 0), LANE(b, 1), LANE(b, 2), LANE(b, 3), LANE(b, 4), LANE(b, 5), LANE(b, 6), LANE(b, 7) }
#define MASK4(b) MASK(b), MASK((b) + 1), MASK((b) + 2), MASK((b) + 3)
#define MASK16(b) MASK4(b), MASK4((b) + 4), MASK4((b) + 8), MASK4((b) + 12)
#define MASK64(b) MASK16(b), MASK16((b) + 16), MASK16((b) + 32), MASK16((b) + 48)
static const int32_t byte_masks[256][8]
    __attribute__((aligned(32))) = {MASK64(0), MASK64(64), MASK64(128), MASK64(192)};

static inline __m256 masked(__m256 x, unsigned byte) {
    return _mm256_and_ps(x, _mm256_load_ps((const float *)byte_masks[byte]));
}

/* NB blocks of 16 outputs (two ymm each), +alpha and -alpha sums apart: 4 * NB add chains. */
ALWAYS_INLINE void f32_columns(const sbt_ternary_matrix *m, const float *x, int64_t ob0, const float *bias,
                               float *y, const int NB) {
    const int64_t nob = m->out_pad / 16;
    __m256 p[2][2], n[2][2];
    for (int b = 0; b < NB; b++)
        for (int h = 0; h < 2; h++) p[b][h] = n[b][h] = _mm256_setzero_ps();
    const uint16_t *cm = m->cmask + ob0 * 2;
    for (int64_t k = 0; k < m->in; k++, cm += nob * 2) {
        const __m256 xb = _mm256_set1_ps(x[k]);
        for (int b = 0; b < NB; b++) {
            unsigned pm = cm[2 * b], nm = cm[2 * b + 1];
            p[b][0] = _mm256_add_ps(p[b][0], masked(xb, pm & 0xff));
            p[b][1] = _mm256_add_ps(p[b][1], masked(xb, pm >> 8));
            n[b][0] = _mm256_add_ps(n[b][0], masked(xb, nm & 0xff));
            n[b][1] = _mm256_add_ps(n[b][1], masked(xb, nm >> 8));
        }
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int b = 0; b < NB; b++)
        for (int h = 0; h < 2; h++) {
            int64_t o = (ob0 + b) * 16 + 8 * h, left = m->out - o;
            if (left <= 0) break;
            const __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32(left > 8 ? 8 : (int)left), lane);
            __m256 alpha = _mm256_maskload_ps(m->alpha + o, mk);
            __m256 beta = bias ? _mm256_maskload_ps(bias + o, mk) : _mm256_setzero_ps();
            __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(p[b][h], n[b][h]), alpha), beta);
            _mm256_maskstore_ps(y + o, mk, v);
        }
}

static void f32_few_rows(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias,
                         float *y) {
    const int64_t nob = m->out_pad / 16;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t ob = 0; ob < nob; ob += 2) {
            if (nob - ob >= 2)
                f32_columns(m, x + r * m->in, ob, bias, y + r * m->out, 2);
            else
                f32_columns(m, x + r * m->in, ob, bias, y + r * m->out, 1);
        }
}

void sbt_f32_avx2(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                  void *scratch) {
    float *xt, *yt;
    sbt_kernel_f32_scratch(m, &xt, &yt, scratch);
    if (rows < SBT_F32_FEW_ROWS) {
        f32_few_rows(m, x, rows, bias, y);
        return;
    }
    for (int64_t r0 = 0; r0 < rows; r0 += F32_GROUP_AVX2) {
        int nrows = (int)(rows - r0 < F32_GROUP_AVX2 ? rows - r0 : F32_GROUP_AVX2);
        int nv = (nrows + 7) / 8;
        rows_to_interleaved(x + r0 * m->in, m->in, nrows, 8 * nv, xt);
        memset(xt + m->in * 8 * nv, 0, sizeof(float) * 8 * (size_t)nv); /* the padding's zero row */
        switch (nv) {
        case 1: f32_group(m, xt, bias, yt, nrows, y + r0 * m->out, 1); break;
        case 2: f32_group(m, xt, bias, yt, nrows, y + r0 * m->out, 2); break;
        case 3: f32_group(m, xt, bias, yt, nrows, y + r0 * m->out, 3); break;
        default: f32_group(m, xt, bias, yt, nrows, y + r0 * m->out, 4); break;
        }
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
    if (rows >= SBT_I16_MIN_ROWS && (double)m->nnz <= SBT_I16_MAX_DENSITY * (double)m->out * (double)m->in) {
        sbt_i8_sparse_avx2(m, x, rows, bias, y, acc, row_scale, scratch);
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
            default: i8_rows(m, q, rowsum + r, scale + r, bias, yr, ar, 4); break;
            }
        }
    }
}
