/* Scalar reference kernels: the definition every SIMD path is tested against. Plain loops in
 * the order of sbt/kernels.h; no intrinsics, so they build for any CPU. */
#include <math.h>
#include <string.h>

#include "kernels/kernels_internal.h"

void sbt_f32_scalar(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                    void *scratch) {
    float *unused, *sum;
    sbt_kernel_f32_scratch(m, &unused, &sum, scratch);
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * m->in;
        for (int64_t o = 0; o < m->out; o++) sum[o] = 0.0f;
        /* segments block by block; index `in` is list padding */
        for (int64_t s = 0; s < m->kblocks * m->out; s++) {
            const int32_t *idx = m->idx + m->start[s];
            int64_t npos = m->npos[s], n = m->start[s + 1] - m->start[s];
            float *so = &sum[m->seg_out[s]];
            for (int64_t k = 0; k < npos; k++)
                if (idx[k] < m->in) *so += xr[idx[k]];
            for (int64_t k = npos; k < n; k++)
                if (idx[k] < m->in) *so -= xr[idx[k]];
        }
        for (int64_t o = 0; o < m->out; o++)
            y[r * m->out + o] = sum[o] * m->alpha[o] + (bias ? bias[o] : 0.0f);
    }
}

int32_t sbt_quantize_row_scalar(const float *x, int64_t n, int8_t *q, float *scale) {
    float max_abs = 0.0f;
    for (int64_t k = 0; k < n; k++) max_abs = fmaxf(max_abs, fabsf(x[k]));
    if (max_abs == 0.0f) {
        memset(q, 0, (size_t)n);
        *scale = 0.0f;
        return 0;
    }
    float inv = 127.0f / max_abs;
    int32_t sum = 0;
    for (int64_t k = 0; k < n; k++) {
        long v = lrintf(x[k] * inv);
        q[k] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        sum += q[k];
    }
    *scale = max_abs / 127.0f;
    return sum;
}

/* t in {-1, 0, 1} of W[o][k], read back from the int8 layout. */
static int ternary_at(const sbt_ternary_matrix *m, int64_t o, int64_t k) {
    return (int)m->wq[((k / 4) * m->out_pad + o) * 4 + k % 4] - 1;
}

void sbt_i8_scalar(const sbt_ternary_matrix *m, const float *x, int64_t rows, const float *bias, float *y,
                   int32_t *acc, float *row_scale, void *scratch) {
    int8_t *q;
    int32_t *rowsum;
    float *scale;
    sbt_kernel_i8_scratch(m, &q, &rowsum, &scale, scratch);
    for (int64_t r = 0; r < rows; r++) {
        float s;
        sbt_quantize_row_scalar(x + r * m->in, m->in, q, &s);
        for (int64_t o = 0; o < m->out; o++) {
            int32_t a = 0;
            for (int64_t k = 0; k < m->in; k++) a += (int32_t)q[k] * ternary_at(m, o, k);
            if (acc)
                acc[r * m->out + o] = a;
            else
                y[r * m->out + o] = (float)a * (s * m->alpha[o]) + (bias ? bias[o] : 0.0f);
        }
        if (acc) row_scale[r] = s;
    }
}
