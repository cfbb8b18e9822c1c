/* Ternary weights: preparation (index lists and the int8 layout), scratch sizes, run-time
 * CPU dispatch and the public entry points of sbt/kernels.h. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels_internal.h"

/* ---- CPU dispatch ---- */

static sbt_kernel_path forced_path = SBT_PATH_AUTO;

static int cpu_has_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int cpu_has_avx512(void) {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && cpu_has_avx2();
#else
    return 0;
#endif
}

static int cpu_has_avx512vnni(void) {
#if defined(__x86_64__) || defined(__i386__)
    return cpu_has_avx512() && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

int sbt_kernel_available(sbt_kernel_path path, sbt_act act) {
    switch (path) {
    case SBT_PATH_SCALAR: return 1;
    case SBT_PATH_AVX2: return cpu_has_avx2();
    case SBT_PATH_AVX512: return act == SBT_ACT_I8 ? cpu_has_avx512vnni() : cpu_has_avx512();
    default: return 0;
    }
}

sbt_kernel_path sbt_kernel_best(sbt_act act) {
    if (forced_path != SBT_PATH_AUTO && sbt_kernel_available(forced_path, act)) return forced_path;
    for (int p = SBT_PATH_COUNT - 1; p > SBT_PATH_SCALAR; p--)
        if (sbt_kernel_available((sbt_kernel_path)p, act)) return (sbt_kernel_path)p;
    return SBT_PATH_SCALAR;
}

sbt_status sbt_kernel_force(sbt_kernel_path path) {
    if (path != SBT_PATH_AUTO && !sbt_kernel_available(path, SBT_ACT_F32) &&
        !sbt_kernel_available(path, SBT_ACT_I8))
        return sbt_fail(SBT_ERR_UNSUPPORTED, "kernel path %s is not available on this CPU",
                        sbt_kernel_path_name(path));
    forced_path = path;
    return SBT_OK;
}

static const char *const path_names[SBT_PATH_COUNT] = {"auto", "scalar", "avx2", "avx512"};

const char *sbt_kernel_path_name(sbt_kernel_path path) {
    return path >= SBT_PATH_AUTO && path < SBT_PATH_COUNT ? path_names[path] : "unknown";
}

sbt_kernel_path sbt_kernel_path_parse(const char *name) {
    for (int p = 0; p < SBT_PATH_COUNT; p++)
        if (name && !strcmp(name, path_names[p])) return (sbt_kernel_path)p;
    return SBT_PATH_COUNT;
}

char *sbt_kernel_list(sbt_act act, char *buf, size_t size) {
    size_t used = 0;
    if (!size) return buf;
    buf[0] = '\0';
    for (int p = SBT_PATH_SCALAR; p < SBT_PATH_COUNT; p++) {
        if (!sbt_kernel_available((sbt_kernel_path)p, act)) continue;
        const char *name = path_names[p];
        size_t n = strlen(name) + (used ? 1 : 0);
        if (used + n + 1 > size) break;
        if (used) buf[used++] = ',';
        memcpy(buf + used, name, strlen(name) + 1);
        used += strlen(name);
    }
    return buf;
}

/* ---- preparation ---- */

/* alpha of one row: the common |w| of its non-zeros; -1 (and *bad) where a row breaks it. */
static float row_alpha(const float *w, int64_t in, int64_t *bad) {
    float alpha = 0.0f;
    for (int64_t k = 0; k < in; k++) {
        float a = fabsf(w[k]);
        if (!isfinite(a)) { /* NaN or infinity */
            *bad = k;
            return -1.0f;
        }
        if (a == 0.0f) continue;
        if (alpha == 0.0f) alpha = a;
        if (fabsf(a - alpha) > 1e-6f * alpha) {
            *bad = k;
            return -1.0f;
        }
    }
    return alpha;
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static sbt_status allocate(sbt_ternary_matrix *m) {
    size_t a = align64(sizeof(float) * (size_t)m->out),
           i = align64(sizeof(int32_t) * (size_t)(m->nnz + SBT_LIST_PAD * 2 * m->kblocks * m->out)),
           s = align64(sizeof(int64_t) * (size_t)(m->kblocks * m->out + 1)),
           p = align64(sizeof(int32_t) * (size_t)(m->kblocks * m->out)), so = p,
           q = align64((size_t)m->in_pad * (size_t)m->out_pad),
           c = align64(sizeof(uint16_t) * 2 * (size_t)m->in * (size_t)(m->out_pad / 16));
    m->bytes = a + i + s + p + so + q + c;
    char *mem = aligned_alloc(64, m->bytes);
    if (!mem)
        return sbt_fail(SBT_ERR_NOMEM, "ternary weight (%lld x %lld): out of memory", (long long)m->out,
                        (long long)m->in);
    m->alpha = (float *)mem;
    m->idx = (int32_t *)(mem + a);
    m->start = (int64_t *)(mem + a + i);
    m->npos = (int32_t *)(mem + a + i + s);
    m->seg_out = (int32_t *)(mem + a + i + s + p);
    m->wq = (uint8_t *)(mem + a + i + s + p + so);
    m->cmask = (uint16_t *)(mem + a + i + s + p + so + q);
    return SBT_OK;
}

typedef struct {
    int64_t key; /* padded +alpha count, then padded -alpha count */
    int32_t out;
} seg_order;

static int cmp_seg(const void *a, const void *b) {
    const seg_order *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->out > y->out) - (x->out < y->out);
}

static int64_t count_sign(const float *row, int64_t k0, int64_t k1, int sign) {
    int64_t n = 0;
    for (int64_t k = k0; k < k1; k++) n += sign > 0 ? row[k] > 0.0f : row[k] < 0.0f;
    return n;
}

static int64_t pad_list(int64_t n) { return (n + SBT_LIST_PAD - 1) / SBT_LIST_PAD * SBT_LIST_PAD; }

/* The segments of one column block, ordered within each chunk of out_chunk outputs
 * by their two list lengths, so that consecutive outputs run loops of the same trip counts
 * (the branch predictor then guesses the exits). */
static void fill_block(sbt_ternary_matrix *m, const float *w, int64_t b, seg_order *order, int64_t *n) {
    int64_t in = m->in, k0 = b * m->kc, k1 = k0 + m->kc < in ? k0 + m->kc : in;
    for (int64_t o = 0; o < m->out; o++) {
        const float *row = w + o * in;
        order[o].key = pad_list(count_sign(row, k0, k1, 1)) * (in + SBT_LIST_PAD) +
                       pad_list(count_sign(row, k0, k1, -1));
        order[o].out = (int32_t)o;
    }
    for (int64_t c0 = 0; c0 < m->out; c0 += m->out_chunk) {
        int64_t cn = m->out - c0 < m->out_chunk ? m->out - c0 : m->out_chunk;
        qsort(order + c0, (size_t)cn, sizeof *order, cmp_seg);
    }
    for (int64_t i = 0; i < m->out; i++) {
        const float *row = w + order[i].out * in;
        int64_t seg = b * m->out + i, start = *n;
        m->start[seg] = start;
        m->seg_out[seg] = order[i].out;
        for (int64_t k = k0; k < k1; k++)
            if (row[k] > 0.0f) m->idx[(*n)++] = (int32_t)k;
        while ((*n - start) % SBT_LIST_PAD) m->idx[(*n)++] = (int32_t)in; /* the zero row */
        m->npos[seg] = (int32_t)(*n - start);
        for (int64_t k = k0; k < k1; k++)
            if (row[k] < 0.0f) m->idx[(*n)++] = (int32_t)k;
        while ((*n - start) % SBT_LIST_PAD) m->idx[(*n)++] = (int32_t)in;
    }
}

static sbt_status fill(sbt_ternary_matrix *m, const float *w) {
    int64_t n = 0, in = m->in, op = m->out_pad;
    seg_order *order = malloc(sizeof *order * (size_t)m->out);
    if (!order) return sbt_fail(SBT_ERR_NOMEM, "ternary weight: out of memory");
    for (int64_t b = 0; b < m->kblocks; b++) fill_block(m, w, b, order, &n);
    free(order);
    m->start[m->kblocks * m->out] = n;
    memset(m->wq, 1, (size_t)(m->in_pad * op)); /* t = 0 everywhere, padding included */
    memset(m->cmask, 0, sizeof(uint16_t) * 2 * (size_t)(in * (op / 16)));
    for (int64_t o = 0; o < m->out; o++)
        for (int64_t k = 0; k < in; k++) {
            float v = w[o * in + k];
            m->wq[((k / 4) * op + o) * 4 + k % 4] = (uint8_t)(v > 0.0f ? 2 : v < 0.0f ? 0 : 1);
            if (v != 0.0f) m->cmask[(k * (op / 16) + o / 16) * 2 + (v < 0.0f)] |= (uint16_t)(1u << (o % 16));
        }
    return SBT_OK;
}

sbt_status sbt_ternary_prepare(const float *w, int64_t out, int64_t in, sbt_ternary_matrix **mp) {
    *mp = NULL;
    if (!w || out < 1 || in < 1 || in >= INT32_MAX - 64 || out >= INT32_MAX - 64)
        return sbt_fail(SBT_ERR_ARG, "ternary weight: bad shape (%lld x %lld)", (long long)out,
                        (long long)in);
    sbt_ternary_matrix *m = calloc(1, sizeof *m);
    if (!m) return sbt_fail(SBT_ERR_NOMEM, "ternary weight: out of memory");
    m->out = out;
    m->in = in;
    m->in_pad = (in + 3) / 4 * 4;
    m->out_pad = (out + 15) / 16 * 16;
    for (int64_t o = 0; o < out; o++) {
        int64_t bad = -1, unused;
        if (row_alpha(w + o * in, in, &bad) < 0.0f) {
            float before = row_alpha(w + o * in, bad, &unused); /* the alpha of the columns before */
            free(m);
            return sbt_fail(SBT_ERR_ARG,
                            "weight (%lld x %lld) is not ternary per row: w[%lld][%lld] = %g, but the "
                            "row's earlier non-zeros have |w| = %g",
                            (long long)out, (long long)in, (long long)o, (long long)bad,
                            (double)w[o * in + bad], (double)before);
        }
        for (int64_t k = 0; k < in; k++) m->nnz += w[o * in + k] != 0.0f;
    }
    m->kc = (double)m->nnz > SBT_F32_KC_DENSE * (double)out * (double)in ? SBT_F32_KC : SBT_F32_KC_SPARSE;
    m->kblocks = (in + m->kc - 1) / m->kc;
    m->out_chunk = m->kblocks == 1 ? SBT_F32_OUT_CHUNK : out;
    sbt_status st = allocate(m);
    if (st) {
        free(m);
        return st;
    }
    for (int64_t o = 0; o < out; o++) {
        int64_t bad = -1;
        m->alpha[o] = row_alpha(w + o * in, in, &bad);
    }
    st = fill(m, w);
    if (st) {
        sbt_ternary_free(m);
        return st;
    }
    *mp = m;
    return SBT_OK;
}

void sbt_ternary_free(sbt_ternary_matrix *m) {
    if (!m) return;
    free(m->alpha); /* the one block holding every array */
    free(m);
}

int64_t sbt_ternary_out(const sbt_ternary_matrix *m) { return m->out; }
int64_t sbt_ternary_in(const sbt_ternary_matrix *m) { return m->in; }
int64_t sbt_ternary_nonzeros(const sbt_ternary_matrix *m) { return m->nnz; }

int sbt_ternary_rows(const float *w, int64_t out, int64_t in, float *alpha) {
    for (int64_t r = 0; r < out; r++) {
        float a = 0.0f;
        for (int64_t k = 0; k < in; k++) {
            float v = fabsf(w[r * in + k]);
            if (v == 0.0f) continue;
            if (a == 0.0f) a = v;
            if (v != a) return 0;
        }
        if (alpha) alpha[r] = a;
    }
    return 1;
}
float sbt_ternary_alpha(const sbt_ternary_matrix *m, int64_t row) {
    return row >= 0 && row < m->out ? m->alpha[row] : 0.0f;
}
size_t sbt_ternary_bytes(const sbt_ternary_matrix *m) { return sizeof *m + m->bytes; }

/* ---- scratch ---- */

static char *align_scratch(void *scratch) { return (char *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63); }

size_t sbt_kernel_f32_scratch(const sbt_ternary_matrix *m, float **xt, float **yt, void *scratch) {
    size_t x_bytes = align64(sizeof(float) * SBT_F32_GROUP * (size_t)(m->in + 1));
    /* the SIMD kernels' partial sums of one output chunk; the scalar path's sums of a row */
    size_t chunk = (size_t)(m->out < m->out_chunk ? m->out : m->out_chunk);
    size_t y_floats = SBT_F32_GROUP * chunk > (size_t)m->out ? SBT_F32_GROUP * chunk : (size_t)m->out;
    size_t y_bytes = align64(sizeof(float) * y_floats);
    if (scratch) {
        char *p = align_scratch(scratch);
        *xt = (float *)p;
        *yt = (float *)(p + x_bytes);
    }
    return 64 + x_bytes + y_bytes;
}

size_t sbt_kernel_i8_scratch(const sbt_ternary_matrix *m, int8_t **xq, int32_t **rowsum, float **scale,
                             void *scratch) {
    size_t q_bytes = align64((size_t)SBT_I8_GROUP * (size_t)m->in_pad);
    size_t s_bytes = align64(sizeof(int32_t) * SBT_I8_GROUP);
    if (scratch) {
        char *p = align_scratch(scratch);
        *xq = (int8_t *)p;
        *rowsum = (int32_t *)(p + q_bytes);
        *scale = (float *)(p + q_bytes + s_bytes);
    }
    return 64 + q_bytes + 2 * s_bytes;
}

size_t sbt_kernel_i16_scratch(const sbt_ternary_matrix *m, float **xt, int32_t **yt, float **inv,
                              float **scale, void *scratch) {
    size_t x_bytes = align64(sizeof(float) * SBT_I16_GROUP * (size_t)(m->in + 1));
    size_t y_bytes = align64(sizeof(int32_t) * SBT_I16_GROUP * (size_t)m->out);
    size_t s_bytes = align64(sizeof(float) * SBT_I16_GROUP);
    if (scratch) {
        char *p = align_scratch(scratch);
        *xt = (float *)p;
        *yt = (int32_t *)(p + x_bytes);
        *inv = (float *)(p + x_bytes + y_bytes);
        *scale = (float *)(p + x_bytes + y_bytes + s_bytes);
    }
    return 64 + x_bytes + y_bytes + 2 * s_bytes;
}

size_t sbt_ternary_scratch_bytes(const sbt_ternary_matrix *m, sbt_act act) {
    if (act != SBT_ACT_I8) return sbt_kernel_f32_scratch(m, NULL, NULL, NULL);
    size_t dense = sbt_kernel_i8_scratch(m, NULL, NULL, NULL, NULL);
    size_t sparse = sbt_kernel_i16_scratch(m, NULL, NULL, NULL, NULL, NULL);
    return dense > sparse ? dense : sparse;
}

/* ---- entry points ---- */

static const sbt_f32_kernel f32_kernels[SBT_PATH_COUNT] = {NULL, sbt_f32_scalar, sbt_f32_avx2,
                                                           sbt_f32_avx512};
static const sbt_i8_kernel i8_kernels[SBT_PATH_COUNT] = {NULL, sbt_i8_scalar, sbt_i8_avx2, sbt_i8_avx512};

static sbt_status resolve(sbt_kernel_path *path, sbt_act act) {
    if (*path == SBT_PATH_AUTO) *path = sbt_kernel_best(act);
    if (!sbt_kernel_available(*path, act))
        return sbt_fail(SBT_ERR_UNSUPPORTED, "kernel path %s (%s activations) is not available on this CPU",
                        sbt_kernel_path_name(*path), act == SBT_ACT_I8 ? "int8" : "float");
    return SBT_OK;
}

sbt_status sbt_ternary_matmul(const sbt_ternary_matrix *m, sbt_act act, sbt_kernel_path path, const float *x,
                              int64_t rows, const float *bias, float *y, void *scratch) {
    if (!m || rows < 0 || (rows && (!x || !y || !scratch)))
        return sbt_fail(SBT_ERR_ARG, "ternary matmul: missing argument or rows %lld < 0", (long long)rows);
    sbt_status st = resolve(&path, act);
    if (st || !rows) return st;
    if (act == SBT_ACT_I8)
        i8_kernels[path](m, x, rows, bias, y, NULL, NULL, scratch);
    else
        f32_kernels[path](m, x, rows, bias, y, scratch);
    return SBT_OK;
}

sbt_status sbt_ternary_matmul_i8_acc(const sbt_ternary_matrix *m, sbt_kernel_path path, const float *x,
                                     int64_t rows, int32_t *acc, float *row_scale, void *scratch) {
    if (!m || rows < 0 || (rows && (!x || !acc || !row_scale || !scratch)))
        return sbt_fail(SBT_ERR_ARG, "ternary matmul: missing argument or rows %lld < 0", (long long)rows);
    sbt_status st = resolve(&path, SBT_ACT_I8);
    if (st || !rows) return st;
    i8_kernels[path](m, x, rows, NULL, NULL, acc, row_scale, scratch);
    return SBT_OK;
}

void sbt_dense_linear(const float *x, int64_t rows, const float *w, int64_t out, int64_t in,
                      const float *bias, float *y) {
    float beta = 0.0f;
    if (bias) {
        for (int64_t r = 0; r < rows; r++) memcpy(y + r * out, bias, sizeof(float) * (size_t)out);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)out, (int)in, 1.0f, x, (int)in, w,
                (int)in, beta, y, (int)out);
}
