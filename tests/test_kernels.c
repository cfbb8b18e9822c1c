/* Ternary linear-layer kernels (sbt/kernels.h): every path this CPU has against the scalar
 * reference and against a plain double-precision product; odd shapes; keep 1.0 / 0.5 / 0.1;
 * all-zero rows; the int16 overflow hazard of vpmaddubsw; rejection of non-ternary weights. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sbt/kernels.h"

static uint64_t rng_state = 88172645463325252ull;
static double urand(void) { /* xorshift64*, in [0, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* W (out, in) with a fraction `keep` of non-zeros of random sign, alpha per row (or one alpha
 * when per_row is 0); every row listed in zero_row is all zero. */
static float *make_ternary(int64_t out, int64_t in, double keep, int per_row, int64_t zero_row) {
    float *w = malloc(sizeof(float) * (size_t)(out * in));
    float layer_alpha = (float)(0.05 + urand());
    for (int64_t o = 0; o < out; o++) {
        float alpha = per_row ? (float)(0.05 + urand()) : layer_alpha;
        for (int64_t k = 0; k < in; k++) {
            double u = urand();
            w[o * in + k] = o == zero_row || u >= keep ? 0.0f : urand() < 0.5 ? -alpha : alpha;
        }
    }
    return w;
}

static float *make_x(int64_t rows, int64_t in, int64_t zero_row) {
    float *x = malloc(sizeof(float) * (size_t)(rows * in > 0 ? rows * in : 1));
    for (int64_t i = 0; i < rows * in; i++) x[i] = i / in == zero_row ? 0.0f : (float)(4.0 * urand() - 2.0);
    return x;
}

/* y = x W^T + b in double; mag = sum |x w| + |b|, the scale of the rounding error. */
static void reference(const float *x, const float *w, const float *b, int64_t rows, int64_t in, int64_t out,
                      double *y, double *mag) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < out; o++) {
            double s = b ? b[o] : 0.0, a = b ? fabs(b[o]) : 0.0;
            for (int64_t k = 0; k < in; k++) {
                s += (double)x[r * in + k] * w[o * in + k];
                a += fabs((double)x[r * in + k] * w[o * in + k]);
            }
            y[r * out + o] = s;
            mag[r * out + o] = a;
        }
}

/* The quantisation of sbt/kernels.h, written out independently of the library. */
static void quantize(const float *x, int64_t in, int8_t *q, float *scale) {
    float mx = 0.0f;
    for (int64_t k = 0; k < in; k++) mx = fmaxf(mx, fabsf(x[k]));
    *scale = mx / 127.0f;
    for (int64_t k = 0; k < in; k++) {
        long v = mx > 0.0f ? lrintf(x[k] * (127.0f / mx)) : 0;
        q[k] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
}

typedef struct {
    int64_t rows, in, out;
} shape;

static const shape shapes[] = {{1, 1, 1},   {1, 76, 76},  {3, 13, 5},   {17, 33, 1},   {1, 7, 40},
                               {5, 100, 3}, {29, 64, 64}, {65, 70, 19}, {200, 76, 76}, {130, 257, 33}};
static const double keeps[] = {1.0, 0.5, 0.1};

static const char *path_name(int p) { return sbt_kernel_path_name((sbt_kernel_path)p); }

static int paths_ran[2][SBT_PATH_COUNT];

/* One shape and keep: every float path vs the double product and vs the scalar path. */
static void check_float_case(const shape *s, double keep, int per_row) {
    int64_t zero_w = s->out > 2 ? 1 : -1, zero_x = s->rows > 3 ? 2 : -1;
    float *w = make_ternary(s->out, s->in, keep, per_row, zero_w), *x = make_x(s->rows, s->in, zero_x);
    float *b = make_x(1, s->out, -1);
    double *ref = malloc(sizeof(double) * (size_t)(s->rows * s->out)),
           *mag = malloc(sizeof(double) * (size_t)(s->rows * s->out));
    float *y0 = malloc(sizeof(float) * (size_t)(s->rows * s->out)),
          *y = malloc(sizeof(float) * (size_t)(s->rows * s->out));
    reference(x, w, b, s->rows, s->in, s->out, ref, mag);
    sbt_ternary_matrix *m = NULL;
    CHECK(sbt_ternary_prepare(w, s->out, s->in, &m) == SBT_OK);
    if (!m) return;
    void *scratch = malloc(sbt_ternary_scratch_bytes(m, SBT_ACT_F32));
    CHECK(sbt_ternary_matmul(m, SBT_ACT_F32, SBT_PATH_SCALAR, x, s->rows, b, y0, scratch) == SBT_OK);
    for (int p = SBT_PATH_SCALAR; p < SBT_PATH_COUNT; p++) {
        if (!sbt_kernel_available((sbt_kernel_path)p, SBT_ACT_F32)) continue;
        paths_ran[SBT_ACT_F32][p] = 1;
        memset(y, 0xff, sizeof(float) * (size_t)(s->rows * s->out)); /* NaN: a missed output shows */
        CHECK(sbt_ternary_matmul(m, SBT_ACT_F32, (sbt_kernel_path)p, x, s->rows, b, y, scratch) == SBT_OK);
        int bad = 0;
        for (int64_t i = 0; i < s->rows * s->out && bad < 3; i++) {
            double tol = 1e-5 * mag[i] + 1e-6;
            if (!(fabs(y[i] - ref[i]) <= tol && fabs(y[i] - y0[i]) <= tol)) {
                bad++;
                CHECK_MSG(0, "%s %lldx%lldx%lld keep %.2f: y[%lld] = %.9g, scalar %.9g, double %.9g",
                          path_name(p), (long long)s->rows, (long long)s->in, (long long)s->out, keep,
                          (long long)i, y[i], y0[i], ref[i]);
            }
        }
    }
    free(scratch);
    sbt_ternary_free(m);
    free(w), free(x), free(b), free(ref), free(mag), free(y0), free(y);
}

static void test_float_paths(void) {
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (size_t k = 0; k < sizeof keeps / sizeof *keeps; k++)
            check_float_case(&shapes[i], keeps[k], (int)(i % 2));
}

/* One shape and keep: every int8 path's integer result equals the independent one exactly,
 * and its float output is within the quantisation error of the double product. */
static void check_int8_case(const shape *s, double keep, int per_row) {
    int64_t zero_w = s->out > 2 ? 1 : -1, zero_x = s->rows > 3 ? 2 : -1, n = s->rows * s->out;
    float *w = make_ternary(s->out, s->in, keep, per_row, zero_w), *x = make_x(s->rows, s->in, zero_x);
    float *b = make_x(1, s->out, -1);
    double *ref = malloc(sizeof(double) * (size_t)n), *mag = malloc(sizeof(double) * (size_t)n);
    int32_t *want = malloc(sizeof(int32_t) * (size_t)n), *acc = malloc(sizeof(int32_t) * (size_t)n);
    float *want_scale = malloc(sizeof(float) * (size_t)s->rows),
          *scale = malloc(sizeof(float) * (size_t)s->rows);
    float *y = malloc(sizeof(float) * (size_t)n);
    int8_t *q = malloc((size_t)s->in);
    reference(x, w, b, s->rows, s->in, s->out, ref, mag);
    for (int64_t r = 0; r < s->rows; r++) {
        quantize(x + r * s->in, s->in, q, &want_scale[r]);
        for (int64_t o = 0; o < s->out; o++) {
            int32_t a = 0;
            for (int64_t k = 0; k < s->in; k++)
                a += q[k] * (w[o * s->in + k] > 0 ? 1 : w[o * s->in + k] < 0 ? -1 : 0);
            want[r * s->out + o] = a;
        }
    }
    sbt_ternary_matrix *m = NULL;
    CHECK(sbt_ternary_prepare(w, s->out, s->in, &m) == SBT_OK);
    if (!m) return;
    void *scratch = malloc(sbt_ternary_scratch_bytes(m, SBT_ACT_I8));
    for (int p = SBT_PATH_SCALAR; p < SBT_PATH_COUNT; p++) {
        if (!sbt_kernel_available((sbt_kernel_path)p, SBT_ACT_I8)) continue;
        paths_ran[SBT_ACT_I8][p] = 1;
        memset(acc, 0x55, sizeof(int32_t) * (size_t)n);
        CHECK(sbt_ternary_matmul_i8_acc(m, (sbt_kernel_path)p, x, s->rows, acc, scale, scratch) == SBT_OK);
        int bad = 0;
        for (int64_t i = 0; i < n && bad < 3; i++)
            if (acc[i] != want[i]) {
                bad++;
                CHECK_MSG(0, "%s %lldx%lldx%lld keep %.2f: acc[%lld] = %d, want %d", path_name(p),
                          (long long)s->rows, (long long)s->in, (long long)s->out, keep, (long long)i, acc[i],
                          want[i]);
            }
        for (int64_t r = 0; r < s->rows; r++) CHECK(scale[r] == want_scale[r]);
        memset(y, 0xff, sizeof(float) * (size_t)n);
        CHECK(sbt_ternary_matmul(m, SBT_ACT_I8, (sbt_kernel_path)p, x, s->rows, b, y, scratch) == SBT_OK);
        for (int64_t i = 0, bad_y = 0; i < n && bad_y < 3; i++) {
            int64_t r = i / s->out, o = i % s->out;
            double alpha = sbt_ternary_alpha(m, o);
            double exact = (double)want[i] * want_scale[r] * alpha + b[o];
            /* |x - q * scale| <= scale / 2 per input: the product moves by at most that times
             * alpha per non-zero of the row */
            double nz = 0;
            for (int64_t k = 0; k < s->in; k++) nz += w[o * s->in + k] != 0.0f;
            double qtol = 0.5 * want_scale[r] * alpha * nz + 1e-5 * mag[i] + 1e-6;
            if (!(fabs(y[i] - exact) <= 1e-5 * (fabs(exact) + mag[i]) + 1e-6 &&
                  fabs(y[i] - ref[i]) <= qtol)) {
                bad_y++;
                CHECK_MSG(0, "%s int8 %lldx%lldx%lld keep %.2f: y[%lld] = %.9g, from acc %.9g, double %.9g",
                          path_name(p), (long long)s->rows, (long long)s->in, (long long)s->out, keep,
                          (long long)i, y[i], exact, ref[i]);
            }
        }
    }
    free(scratch);
    sbt_ternary_free(m);
    free(w), free(x), free(b), free(ref), free(mag), free(want), free(acc), free(want_scale), free(scale),
        free(y);
    free(q);
}

static void test_int8_paths(void) {
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (size_t k = 0; k < sizeof keeps / sizeof *keeps; k++)
            check_int8_case(&shapes[i], keeps[k], (int)(i % 2));
}

/* Activations all of one sign at full scale (q = +-127 everywhere) against weights all +alpha
 * or all -alpha: acc = +-127 * in, far past the int16 range (a vpmaddubsw kernel that summed
 * more than 64 products per int16 lane would saturate or wrap). */
static void test_int8_overflow(void) {
    const int64_t rows = 3, out = 20, ins[] = {4096, 1003};
    for (size_t t = 0; t < 2; t++) {
        int64_t in = ins[t];
        float *w = malloc(sizeof(float) * (size_t)(out * in)),
              *x = malloc(sizeof(float) * (size_t)(rows * in));
        for (int64_t o = 0; o < out; o++)
            for (int64_t k = 0; k < in; k++) w[o * in + k] = o % 2 ? -0.5f : 0.5f;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t k = 0; k < in; k++) x[r * in + k] = r == 1 ? -3.0f : 3.0f;
        sbt_ternary_matrix *m = NULL;
        REQUIRE(sbt_ternary_prepare(w, out, in, &m) == SBT_OK);
        void *scratch = malloc(sbt_ternary_scratch_bytes(m, SBT_ACT_I8));
        int32_t acc[3 * 20];
        float scale[3], y[3 * 20];
        for (int p = SBT_PATH_SCALAR; p < SBT_PATH_COUNT; p++) {
            if (!sbt_kernel_available((sbt_kernel_path)p, SBT_ACT_I8)) continue;
            CHECK(sbt_ternary_matmul_i8_acc(m, (sbt_kernel_path)p, x, rows, acc, scale, scratch) == SBT_OK);
            CHECK(sbt_ternary_matmul(m, SBT_ACT_I8, (sbt_kernel_path)p, x, rows, NULL, y, scratch) == SBT_OK);
            for (int64_t r = 0; r < rows; r++)
                for (int64_t o = 0; o < out; o++) {
                    int32_t want = (int32_t)(127 * in) * (r == 1 ? -1 : 1) * (o % 2 ? -1 : 1);
                    CHECK_MSG(acc[r * out + o] == want, "%s in %lld: acc[%lld][%lld] = %d, want %d",
                              path_name(p), (long long)in, (long long)r, (long long)o, acc[r * out + o],
                              want);
                    double yw = 3.0 * 0.5 * (double)in * (r == 1 ? -1 : 1) * (o % 2 ? -1 : 1);
                    CHECK_NEAR(y[r * out + o], yw, 1e-5 * fabs(yw));
                }
        }
        free(scratch);
        sbt_ternary_free(m);
        free(w), free(x);
    }
}

/* The same for the zero-skipping int8 kernel (many rows, sparse W): every row of W is +alpha
 * (or -alpha) on its first 512 columns and 0 elsewhere (1/8 non-zero, so 256-column blocks):
 * each block adds 256 * 127 = 32512 into an int16 lane, the most the construction allows,
 * and the total, 65024, only fits after the widening to int32. */
static void test_int8_overflow_sparse(void) {
    const int64_t rows = 40, out = 17, in = 4096;
    float *w = calloc((size_t)(out * in), sizeof(float)), *x = malloc(sizeof(float) * (size_t)(rows * in));
    for (int64_t o = 0; o < out; o++)
        for (int64_t k = 0; k < 512; k++) w[o * in + k] = o % 2 ? -0.25f : 0.25f;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < in; k++) x[r * in + k] = r % 3 ? 5.0f : -5.0f;
    sbt_ternary_matrix *m = NULL;
    REQUIRE(sbt_ternary_prepare(w, out, in, &m) == SBT_OK);
    void *scratch = malloc(sbt_ternary_scratch_bytes(m, SBT_ACT_I8));
    int32_t *acc = malloc(sizeof(int32_t) * (size_t)(rows * out));
    float *scale = malloc(sizeof(float) * (size_t)rows);
    for (int p = SBT_PATH_SCALAR; p < SBT_PATH_COUNT; p++) {
        if (!sbt_kernel_available((sbt_kernel_path)p, SBT_ACT_I8)) continue;
        CHECK(sbt_ternary_matmul_i8_acc(m, (sbt_kernel_path)p, x, rows, acc, scale, scratch) == SBT_OK);
        int bad = 0;
        for (int64_t i = 0; i < rows * out && bad < 3; i++) {
            int32_t want = 127 * 512 * ((i / out) % 3 ? 1 : -1) * ((i % out) % 2 ? -1 : 1);
            if (acc[i] != want) {
                bad++;
                CHECK_MSG(0, "%s: acc[%lld] = %d, want %d", path_name(p), (long long)i, acc[i], want);
            }
        }
    }
    free(scratch), free(acc), free(scale), free(w), free(x);
    sbt_ternary_free(m);
}

static void test_prepare_rejects(void) {
    sbt_ternary_matrix *m = (sbt_ternary_matrix *)&m;
    const float two_alphas[6] = {0.5f, 0.0f, -0.5f, 0.25f, 0.0f, -0.5f};
    CHECK(sbt_ternary_prepare(two_alphas, 2, 3, &m) == SBT_ERR_ARG);
    CHECK(m == NULL);
    CHECK(strstr(sbt_last_error(), "not ternary") && strstr(sbt_last_error(), "w[1][2]"));
    const float nan_w[2] = {0.5f, NAN};
    CHECK(sbt_ternary_prepare(nan_w, 1, 2, &m) == SBT_ERR_ARG);
    const float inf_w[2] = {INFINITY, -INFINITY};
    CHECK(sbt_ternary_prepare(inf_w, 1, 2, &m) == SBT_ERR_ARG);
    CHECK(sbt_ternary_prepare(two_alphas, 0, 3, &m) == SBT_ERR_ARG);
    /* all zero, and a per-layer alpha within the 1e-6 tolerance, are accepted */
    const float ok[6] = {0.0f, 0.0f, 0.0f, 0.25f, -0.25f * (1.0f + 1e-7f), 0.0f};
    REQUIRE(sbt_ternary_prepare(ok, 2, 3, &m) == SBT_OK);
    CHECK(sbt_ternary_nonzeros(m) == 2);
    CHECK(sbt_ternary_alpha(m, 0) == 0.0f && sbt_ternary_alpha(m, 1) == 0.25f);
    CHECK(sbt_ternary_out(m) == 2 && sbt_ternary_in(m) == 3 && sbt_ternary_bytes(m) > 0);
    float y[2] = {1, 1};
    CHECK(sbt_ternary_matmul(m, SBT_ACT_F32, SBT_PATH_COUNT, ok, 1, NULL, y, y) == SBT_ERR_UNSUPPORTED);
    CHECK(sbt_ternary_matmul(m, SBT_ACT_F32, SBT_PATH_AUTO, ok, 0, NULL, NULL, NULL) == SBT_OK);
    sbt_ternary_free(m);
}

static void test_dispatch(void) {
    char list[64];
    for (int a = 0; a < 2; a++) {
        sbt_kernel_list((sbt_act)a, list, sizeof list);
        CHECK(!strncmp(list, "scalar", 6));
        CHECK(sbt_kernel_available(sbt_kernel_best((sbt_act)a), (sbt_act)a));
        fprintf(stderr, "  %s activations: paths %s, best %s\n", a ? "int8" : "float", list,
                sbt_kernel_path_name(sbt_kernel_best((sbt_act)a)));
    }
    CHECK(sbt_kernel_force(SBT_PATH_SCALAR) == SBT_OK);
    CHECK(sbt_kernel_best(SBT_ACT_F32) == SBT_PATH_SCALAR && sbt_kernel_best(SBT_ACT_I8) == SBT_PATH_SCALAR);
    CHECK(sbt_kernel_force(SBT_PATH_AUTO) == SBT_OK);
    CHECK(sbt_kernel_path_parse("avx2") == SBT_PATH_AVX2 && sbt_kernel_path_parse("sse") == SBT_PATH_COUNT);
    char tiny[4];
    CHECK(strlen(sbt_kernel_list(SBT_ACT_F32, tiny, sizeof tiny)) < sizeof tiny);
}

static void test_dense_baseline(void) {
    const int64_t rows = 7, in = 19, out = 5;
    float *w = make_x(out, in, -1), *x = make_x(rows, in, -1), *b = make_x(1, out, -1), y[7 * 5];
    double ref[7 * 5], mag[7 * 5];
    reference(x, w, b, rows, in, out, ref, mag);
    sbt_dense_linear(x, rows, w, out, in, b, y);
    for (int i = 0; i < rows * out; i++) CHECK_NEAR(y[i], ref[i], 1e-5 * mag[i] + 1e-6);
    free(w), free(x), free(b);
}

int main(void) {
    RUN(test_dispatch);
    RUN(test_prepare_rejects);
    RUN(test_float_paths);
    RUN(test_int8_paths);
    RUN(test_int8_overflow);
    RUN(test_int8_overflow_sparse);
    RUN(test_dense_baseline);
    for (int a = 0; a < 2; a++) {
        fprintf(stderr, "  paths tested, %s activations:", a ? "int8" : "float");
        for (int p = SBT_PATH_SCALAR; p < SBT_PATH_COUNT; p++)
            if (paths_ran[a][p]) fprintf(stderr, " %s", path_name(p));
        fprintf(stderr, "\n");
    }
    return check_summary();
}
