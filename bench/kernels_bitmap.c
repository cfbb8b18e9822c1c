/* The bitmap variant of the float-activation kernel (see kernels_bitmap.h). Built with
 * AVX-512 flags; only called after sbt_bitmap_available(). Same row-interleaved layout and
 * transposes as libsbt's kernel; per output row, one bit per input for +alpha and one for
 * -alpha, walked with tzcnt (blsr clears the lowest bit). */
#include "kernels_bitmap.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/transpose.h"

struct sbt_bitmap_matrix {
    int64_t out, in, words;
    uint64_t *pos, *neg; /* [out][words] */
    float *alpha;
};

int sbt_bitmap_available(void) { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2"); }

sbt_bitmap_matrix *sbt_bitmap_prepare(const float *w, int64_t out, int64_t in) {
    sbt_bitmap_matrix *m = calloc(1, sizeof *m);
    m->out = out;
    m->in = in;
    m->words = (in + 63) / 64;
    m->pos = calloc((size_t)(out * m->words), sizeof(uint64_t));
    m->neg = calloc((size_t)(out * m->words), sizeof(uint64_t));
    m->alpha = calloc((size_t)out, sizeof(float));
    for (int64_t o = 0; o < out; o++)
        for (int64_t k = 0; k < in; k++) {
            float v = w[o * in + k];
            if (v != 0.0f) m->alpha[o] = v > 0 ? v : -v;
            if (v > 0) m->pos[o * m->words + k / 64] |= 1ull << (k % 64);
            if (v < 0) m->neg[o * m->words + k / 64] |= 1ull << (k % 64);
        }
    return m;
}

void sbt_bitmap_free(sbt_bitmap_matrix *m) {
    if (!m) return;
    free(m->pos);
    free(m->neg);
    free(m->alpha);
    free(m);
}

size_t sbt_bitmap_scratch_bytes(const sbt_bitmap_matrix *m) {
    return 64 + sizeof(float) * 64 * (size_t)(m->in + m->out) + 64;
}

static inline __attribute__((always_inline)) void group(const sbt_bitmap_matrix *m, const float *xt,
                                                        float *yt, const int NV) {
    const int64_t R = 16 * NV;
    for (int64_t o = 0; o < m->out; o++) {
        __m512 a[4], b[4]; /* +alpha and -alpha sums: two sets of add chains, as in libsbt */
        for (int v = 0; v < NV; v++) a[v] = b[v] = _mm512_setzero_ps();
        const uint64_t *pw = m->pos + o * m->words, *nw = m->neg + o * m->words;
        for (int64_t i = 0; i < m->words; i++) {
            for (uint64_t bits = pw[i]; bits; bits &= bits - 1) {
                const float *p = xt + (64 * i + __builtin_ctzll(bits)) * R;
                for (int v = 0; v < NV; v++) a[v] = _mm512_add_ps(a[v], _mm512_load_ps(p + 16 * v));
            }
            for (uint64_t bits = nw[i]; bits; bits &= bits - 1) {
                const float *p = xt + (64 * i + __builtin_ctzll(bits)) * R;
                for (int v = 0; v < NV; v++) b[v] = _mm512_add_ps(b[v], _mm512_load_ps(p + 16 * v));
            }
        }
        const __m512 alpha = _mm512_set1_ps(m->alpha[o]);
        for (int v = 0; v < NV; v++)
            _mm512_store_ps(yt + o * R + 16 * v, _mm512_mul_ps(_mm512_sub_ps(a[v], b[v]), alpha));
    }
}

void sbt_bitmap_matmul(const sbt_bitmap_matrix *m, const float *x, int64_t rows, float *y, void *scratch) {
    float *xt = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *yt = xt + 64 * m->in + 16 - (64 * m->in) % 16;
    yt = (float *)(((uintptr_t)yt + 63) & ~(uintptr_t)63);
    for (int64_t r0 = 0; r0 < rows; r0 += 64) {
        int nrows = (int)(rows - r0 < 64 ? rows - r0 : 64), nv = (nrows + 15) / 16;
        rows_to_interleaved(x + r0 * m->in, m->in, nrows, 16 * nv, xt);
        switch (nv) {
        case 1: group(m, xt, yt, 1); break;
        case 2: group(m, xt, yt, 2); break;
        case 3: group(m, xt, yt, 3); break;
        default: group(m, xt, yt, 4); break;
        }
        interleaved_to_rows(yt, m->out, nrows, 16 * nv, y + r0 * m->out, m->out);
    }
}
