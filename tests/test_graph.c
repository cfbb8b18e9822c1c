/* Every op's backward against central finite differences, plus forward values checked
 * against direct formulas and the graph's error handling. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "sbt/graph.h"
#include "sbt/rng.h"

#define MAX_PARAMS 4

/* A small graph under test: up to four random parameters feed `build`, whose output is
 * compared with a random target by MSE (the scalar loss). */
typedef struct {
    int n_params;
    int ndim[MAX_PARAMS];
    int64_t shape[MAX_PARAMS][4];
    float *value[MAX_PARAMS], *grad[MAX_PARAMS];
    int ids[MAX_PARAMS];
    float running_mean[64], running_var[64];
    int training;
} fixture;

typedef int (*build_fn)(sbt_graph *g, fixture *f);

static void fixture_param(fixture *f, int ndim, const int64_t *shape, float lo, float hi, sbt_rng *r) {
    int i = f->n_params++;
    f->ndim[i] = ndim;
    memcpy(f->shape[i], shape, (size_t)ndim * sizeof *shape);
    int64_t n = sbt_shape_numel(ndim, shape);
    f->value[i] = malloc((size_t)n * sizeof(float));
    f->grad[i] = calloc((size_t)n, sizeof(float));
    for (int64_t k = 0; k < n; k++) f->value[i][k] = sbt_rng_uniform_range(r, lo, hi);
}

static void fixture_free(fixture *f) {
    for (int i = 0; i < f->n_params; i++) {
        free(f->value[i]);
        free(f->grad[i]);
    }
}

static double loss_of(sbt_graph *g, int loss, int training, fixture *f) {
    /* BatchNorm updates running stats in training mode; keep them fixed across probes. */
    float rm[64], rv[64];
    memcpy(rm, f->running_mean, sizeof rm);
    memcpy(rv, f->running_var, sizeof rv);
    sbt_graph_set_step(g, 7);
    sbt_status st = sbt_graph_forward(g, training);
    memcpy(f->running_mean, rm, sizeof rm);
    memcpy(f->running_var, rv, sizeof rv);
    return st == SBT_OK ? (double)sbt_graph_value(g, loss)[0] : NAN;
}

/* Checks d loss / d param for every element of every param with a gradient. */
static int gradcheck(const char *what, fixture *f, build_fn build, int frozen_mask) {
    sbt_graph *g = sbt_graph_new();
    for (int i = 0; i < f->n_params; i++)
        f->ids[i] = sbt_param(g, "p", f->ndim[i], f->shape[i], f->value[i],
                              (frozen_mask >> i) & 1 ? NULL : f->grad[i]);
    int y = build(g, f);
    int64_t ysize = y >= 0 ? sbt_node_size(g, y) : 0;
    int t = sbt_input(g, "target", 1, (int64_t[]){ysize ? ysize : 1});
    int yflat = sbt_reshape(g, y, 1, (int64_t[]){ysize});
    int loss = sbt_mse(g, yflat, t);
    if (sbt_graph_finalize(g) != SBT_OK) {
        fprintf(stderr, "%s: %s\n", what, sbt_last_error());
        sbt_graph_free(g);
        return 0;
    }
    sbt_rng r;
    sbt_rng_seed(&r, 99);
    for (int64_t k = 0; k < ysize; k++) sbt_graph_value(g, t)[k] = sbt_rng_uniform_range(&r, -1, 1);
    loss_of(g, loss, f->training, f);
    sbt_graph_backward(g, loss);
    int bad = 0;
    const float eps = 1e-3f;
    for (int i = 0; i < f->n_params; i++) {
        if ((frozen_mask >> i) & 1) continue;
        int64_t n = sbt_shape_numel(f->ndim[i], f->shape[i]);
        for (int64_t k = 0; k < n; k++) {
            float keep = f->value[i][k];
            f->value[i][k] = keep + eps;
            double lp = loss_of(g, loss, f->training, f);
            f->value[i][k] = keep - eps;
            double lm = loss_of(g, loss, f->training, f);
            f->value[i][k] = keep;
            double numeric = (lp - lm) / (2.0 * eps), analytic = f->grad[i][k];
            double tol = 2e-3 + 2e-2 * fabs(numeric);
            if (!(fabs(numeric - analytic) <= tol) && bad++ < 3)
                fprintf(stderr, "%s: param %d[%lld]: analytic %.6g numeric %.6g\n", what, i, (long long)k,
                        analytic, numeric);
        }
    }
    sbt_graph_free(g);
    return bad == 0;
}

#define P(i) (f->ids[i])

static int b_matmul_nn(sbt_graph *g, fixture *f) { return sbt_matmul(g, P(0), P(1), 0, 0); }
static int b_matmul_tn(sbt_graph *g, fixture *f) { return sbt_matmul(g, P(0), P(1), 1, 0); }
static int b_matmul_nt(sbt_graph *g, fixture *f) { return sbt_matmul(g, P(0), P(1), 0, 1); }
static int b_matmul_tt(sbt_graph *g, fixture *f) { return sbt_matmul(g, P(0), P(1), 1, 1); }
static int b_linear(sbt_graph *g, fixture *f) { return sbt_linear(g, P(0), P(1), P(2)); }
static int b_add(sbt_graph *g, fixture *f) { return sbt_add(g, P(0), P(1)); }
static int b_sub(sbt_graph *g, fixture *f) { return sbt_sub(g, P(0), P(1)); }
static int b_mul(sbt_graph *g, fixture *f) { return sbt_mul(g, P(0), P(1)); }
static int b_div(sbt_graph *g, fixture *f) { return sbt_div(g, P(0), P(1)); }
static int b_scale(sbt_graph *g, fixture *f) { return sbt_scale(g, P(0), -1.7f); }
static int b_transpose(sbt_graph *g, fixture *f) { return sbt_transpose(g, P(0), (int[]){2, 0, 3, 1}); }
static int b_reshape(sbt_graph *g, fixture *f) {
    return sbt_scale(g, sbt_reshape(g, P(0), 2, (int64_t[]){4, 6}), 2.0f);
}
static int b_slice(sbt_graph *g, fixture *f) { return sbt_slice(g, P(0), 1, 1, 3); }
static int b_concat(sbt_graph *g, fixture *f) { return sbt_concat(g, (int[]){P(0), P(1)}, 2, 1); }
/* An int32 input of n values. */
static int int_input(sbt_graph *g, const char *name, int64_t n) {
    return sbt_input_dims(g, name, SBT_DTYPE_I32, 1, (sbt_dim[]){sbt_dim_n(n)});
}

static int b_gather(sbt_graph *g, fixture *f) {
    int idx = int_input(g, "idx", 4);
    return sbt_gather(g, P(0), idx);
}
static int b_softmax(sbt_graph *g, fixture *f) { return sbt_softmax(g, P(0), -1); }
static int b_softmax_mask(sbt_graph *g, fixture *f) { return sbt_softmax(g, P(0), P(1)); }
static int b_layernorm(sbt_graph *g, fixture *f) { return sbt_layernorm(g, P(0), P(1), P(2), 1e-5f); }
/* Running statistics as state nodes of the feature count. */
static int b_batchnorm_with(sbt_graph *g, fixture *f, int mask) {
    int64_t features = sbt_node_size(g, P(1));
    int rm = sbt_state(g, "running_mean", 1, &features, f->running_mean);
    int rv = sbt_state(g, "running_var", 1, &features, f->running_var);
    return sbt_batchnorm(g, P(0), P(1), P(2), rm, rv, mask, 1e-5f, 0.1f);
}
static int b_batchnorm(sbt_graph *g, fixture *f) { return b_batchnorm_with(g, f, -1); }
static int b_batchnorm_masked(sbt_graph *g, fixture *f) { return b_batchnorm_with(g, f, P(3)); }
static int b_relu(sbt_graph *g, fixture *f) { return sbt_relu(g, P(0)); }
static int b_gelu(sbt_graph *g, fixture *f) { return sbt_gelu(g, P(0)); }
static int b_erf(sbt_graph *g, fixture *f) { return sbt_erf(g, P(0)); }
static int b_mean(sbt_graph *g, fixture *f) { return sbt_mean(g, P(0), 1); }
static int b_masked_mean(sbt_graph *g, fixture *f) { return sbt_masked_mean(g, P(0), P(1)); }
static int b_dropout(sbt_graph *g, fixture *f) { return sbt_dropout(g, P(0), 0.4f, 5); }
static int b_cross_entropy(sbt_graph *g, fixture *f) {
    int labels = int_input(g, "labels", 3);
    return sbt_cross_entropy(g, P(0), labels);
}
static int b_mse(sbt_graph *g, fixture *f) { return sbt_mse(g, P(0), P(1)); }
static int b_step_t(sbt_graph *g, fixture *f) { return sbt_step_t_attention(g, P(0), P(1), P(2), 0); }
static int b_step_t_incl(sbt_graph *g, fixture *f) { return sbt_step_t_attention(g, P(0), P(1), P(2), 1); }
static int b_step_t_last(sbt_graph *g, fixture *f) {
    return sbt_step_t_attention_last(g, P(0), P(1), P(2), 0);
}
static int b_step_t_last_incl(sbt_graph *g, fixture *f) {
    return sbt_step_t_attention_last(g, P(0), P(1), P(2), 1);
}

/* Runs one gradcheck with params of the given shapes (NULL-terminated list). */
static int run_check(const char *what, build_fn build, int training, int frozen_mask, int n, const int *ndims,
                     const int64_t (*shapes)[4], float lo, float hi) {
    fixture f;
    memset(&f, 0, sizeof f);
    f.training = training;
    for (int i = 0; i < 64; i++)
        f.running_mean[i] = 0.1f * (float)(i % 5), f.running_var[i] = 1.0f + 0.2f * (float)(i % 3);
    sbt_rng r;
    sbt_rng_seed(&r, 1234);
    for (int i = 0; i < n; i++) fixture_param(&f, ndims[i], shapes[i], lo, hi, &r);
    int ok = gradcheck(what, &f, build, frozen_mask);
    fixture_free(&f);
    return ok;
}

static void test_matmul_grads(void) {
    const int64_t s[][4] = {{2, 3, 4}, {2, 4, 5}};
    CHECK(run_check("matmul nn", b_matmul_nn, 0, 0, 2, (int[]){3, 3}, s, -1, 1));
    const int64_t st[][4] = {{2, 4, 3}, {2, 4, 5}};
    CHECK(run_check("matmul tn", b_matmul_tn, 0, 0, 2, (int[]){3, 3}, st, -1, 1));
    const int64_t snt[][4] = {{2, 3, 4}, {2, 5, 4}};
    CHECK(run_check("matmul nt", b_matmul_nt, 0, 0, 2, (int[]){3, 3}, snt, -1, 1));
    const int64_t stt[][4] = {{2, 4, 3}, {2, 5, 4}};
    CHECK(run_check("matmul tt", b_matmul_tt, 0, 0, 2, (int[]){3, 3}, stt, -1, 1));
    const int64_t sb[][4] = {{2, 3, 4}, {4, 5}};
    CHECK(run_check("matmul shared b", b_matmul_nn, 0, 0, 2, (int[]){3, 2}, sb, -1, 1));
    /* NumPy batch broadcasting: a shared a, a batch of 1 against 2, and (2,1) x (1,3) */
    const int64_t sa[][4] = {{3, 4}, {2, 4, 5}};
    CHECK(run_check("matmul shared a", b_matmul_nn, 0, 0, 2, (int[]){2, 3}, sa, -1, 1));
    const int64_t s1[][4] = {{1, 3, 4}, {2, 4, 5}};
    CHECK(run_check("matmul batch 1 vs 2", b_matmul_nn, 0, 0, 2, (int[]){3, 3}, s1, -1, 1));
    const int64_t s4[][4] = {{2, 1, 3, 4}, {1, 3, 4, 2}};
    CHECK(run_check("matmul 4-d broadcast", b_matmul_nn, 0, 0, 2, (int[]){4, 4}, s4, -1, 1));
}

static void test_linear_grads(void) {
    const int64_t s[][4] = {{2, 3, 4}, {5, 4}, {5}};
    CHECK(run_check("linear", b_linear, 0, 0, 3, (int[]){3, 2, 1}, s, -1, 1));
}

static void test_binary_grads(void) {
    const int64_t same[][4] = {{3, 4}, {3, 4}};
    const int64_t suffix[][4] = {{2, 3, 4}, {3, 4}};
    const int64_t scalar[][4] = {{3, 4}, {1}};
    build_fn fns[] = {b_add, b_sub, b_mul, b_div};
    const char *names[] = {"add", "sub", "mul", "div"};
    for (int i = 0; i < 4; i++) {
        /* values in [0.5, 1.5] keep Div away from zero */
        CHECK_MSG(run_check(names[i], fns[i], 0, 0, 2, (int[]){2, 2}, same, 0.5f, 1.5f), "%s same", names[i]);
        CHECK_MSG(run_check(names[i], fns[i], 0, 0, 2, (int[]){3, 2}, suffix, 0.5f, 1.5f), "%s suffix",
                  names[i]);
        CHECK_MSG(run_check(names[i], fns[i], 0, 0, 2, (int[]){2, 1}, scalar, 0.5f, 1.5f), "%s scalar",
                  names[i]);
        /* NumPy broadcasting beyond a trailing block: (B,T,d)+(1,T,1), (1)-(B,T), (T,1)*(1,d) */
        const int64_t inner[][4] = {{2, 3, 4}, {1, 3, 1}};
        CHECK_MSG(run_check(names[i], fns[i], 0, 0, 2, (int[]){3, 3}, inner, 0.5f, 1.5f), "%s inner",
                  names[i]);
        const int64_t lead[][4] = {{1}, {2, 3}};
        CHECK_MSG(run_check(names[i], fns[i], 0, 0, 2, (int[]){1, 2}, lead, 0.5f, 1.5f), "%s scalar a",
                  names[i]);
        const int64_t outer[][4] = {{3, 1}, {1, 4}};
        CHECK_MSG(run_check(names[i], fns[i], 0, 0, 2, (int[]){2, 2}, outer, 0.5f, 1.5f), "%s outer",
                  names[i]);
    }
}

static void test_shape_op_grads(void) {
    const int64_t t4[][4] = {{2, 3, 2, 2}};
    CHECK(run_check("scale", b_scale, 0, 0, 1, (int[]){4}, t4, -1, 1));
    CHECK(run_check("transpose", b_transpose, 0, 0, 1, (int[]){4}, t4, -1, 1));
    const int64_t r[][4] = {{2, 3, 4}};
    CHECK(run_check("reshape", b_reshape, 0, 0, 1, (int[]){3}, r, -1, 1));
    CHECK(run_check("slice", b_slice, 0, 0, 1, (int[]){3}, r, -1, 1));
    const int64_t c[][4] = {{2, 3, 2}, {2, 1, 2}};
    CHECK(run_check("concat", b_concat, 0, 0, 2, (int[]){3, 3}, c, -1, 1));
}

static void test_gather(void) {
    float table[] = {0, 1, 10, 11, 20, 21}, grad[6] = {0};
    sbt_graph *g = sbt_graph_new();
    int t = sbt_param(g, "table", 2, (int64_t[]){3, 2}, table, grad);
    int idx = int_input(g, "idx", 4);
    int y = sbt_gather(g, t, idx);
    int s = sbt_mean(g, sbt_reshape(g, y, 1, (int64_t[]){8}), 0);
    REQUIRE(sbt_graph_finalize(g) == SBT_OK);
    memcpy(sbt_graph_data(g, idx), (int32_t[]){2, 0, 2, 1}, 4 * sizeof(int32_t));
    REQUIRE(sbt_graph_forward(g, 0) == SBT_OK);
    const float want[] = {20, 21, 0, 1, 20, 21, 10, 11};
    for (int i = 0; i < 8; i++) CHECK(sbt_graph_value(g, y)[i] == want[i]);
    REQUIRE(sbt_graph_backward(g, s) == SBT_OK);
    CHECK_NEAR(grad[4], 2.0 / 8, 1e-7); /* row 2 gathered twice */
    CHECK_NEAR(grad[0], 1.0 / 8, 1e-7);
    ((int32_t *)sbt_graph_data(g, idx))[1] = 3; /* out of range: an error, not a wild read */
    CHECK(sbt_graph_forward(g, 0) == SBT_ERR_ARG);
    CHECK(strstr(sbt_last_error(), "outside") != NULL);
    sbt_graph_free(g);
    const int64_t tb[][4] = {{5, 3}};
    /* indices input stays 0 in gradcheck: every gradient lands in row 0 */
    CHECK(run_check("gather", b_gather, 0, 0, 1, (int[]){2}, tb, -1, 1));
}

static void test_norm_grads(void) {
    const int64_t s[][4] = {{2, 3, 5}};
    CHECK(run_check("softmax", b_softmax, 0, 0, 1, (int[]){3}, s, -2, 2));
    const int64_t sm[][4] = {{2, 3, 5}, {2, 1, 5}};
    CHECK(run_check("softmax+mask", b_softmax_mask, 0, 2, 2, (int[]){3, 3}, sm, -2, 2));
    const int64_t ln[][4] = {{2, 3, 5}, {5}, {5}};
    CHECK(run_check("layernorm", b_layernorm, 0, 0, 3, (int[]){3, 1, 1}, ln, -2, 2));
    CHECK(run_check("batchnorm train", b_batchnorm, 1, 0, 3, (int[]){3, 1, 1}, ln, -2, 2));
    CHECK(run_check("batchnorm eval", b_batchnorm, 0, 0, 3, (int[]){3, 1, 1}, ln, -2, 2));
}

/* The row mask must be exactly 0/1: built here rather than drawn at random. */
static int b_batchnorm_masked_fixed(sbt_graph *g, fixture *f) {
    for (int i = 0; i < 6; i++) f->value[3][i] = (i == 2 || i == 5) ? 0.0f : 1.0f;
    return b_batchnorm_masked(g, f);
}

static void test_masked_batchnorm(void) {
    const int64_t s[][4] = {{2, 3, 4}, {4}, {4}, {2, 3}};
    CHECK(run_check("batchnorm masked", b_batchnorm_masked_fixed, 1, 8, 4, (int[]){3, 1, 1, 2}, s, -2, 2));
}

static void test_activation_grads(void) {
    const int64_t s[][4] = {{3, 7}};
    CHECK(run_check("relu", b_relu, 0, 0, 1, (int[]){2}, s, -2, 2));
    CHECK(run_check("gelu", b_gelu, 0, 0, 1, (int[]){2}, s, -2, 2));
    CHECK(run_check("erf", b_erf, 0, 0, 1, (int[]){2}, s, -2, 2));
    CHECK(run_check("dropout", b_dropout, 1, 0, 1, (int[]){2}, s, -2, 2));
}

static int b_masked_mean_fixed(sbt_graph *g, fixture *f) {
    for (int i = 0; i < 8; i++) f->value[1][i] = (i % 4 < 2 + i / 4) ? 1.0f : 0.0f;
    return b_masked_mean(g, f);
}

static void test_reduce_grads(void) {
    const int64_t s[][4] = {{2, 4, 3}};
    CHECK(run_check("mean", b_mean, 0, 0, 1, (int[]){3}, s, -1, 1));
    const int64_t mm[][4] = {{2, 4, 3}, {2, 4}};
    CHECK(run_check("masked mean", b_masked_mean_fixed, 0, 2, 2, (int[]){3, 2}, mm, -1, 1));
    const int64_t ce[][4] = {{3, 4}};
    CHECK(run_check("cross entropy", b_cross_entropy, 0, 0, 1, (int[]){2}, ce, -2, 2));
    const int64_t ms[][4] = {{3, 4}, {3, 4}};
    CHECK(run_check("mse", b_mse, 0, 0, 2, (int[]){2, 2}, ms, -2, 2));
}

static void test_forward_values(void) {
    float a[] = {1, 2, 3, 4, 5, 6}, b[] = {1, 0, 0, 1, 1, 1};
    sbt_graph *g = sbt_graph_new();
    int pa = sbt_param(g, "a", 2, (int64_t[]){2, 3}, a, NULL);
    int pb = sbt_param(g, "b", 2, (int64_t[]){3, 2}, b, NULL);
    int mm = sbt_matmul(g, pa, pb, 0, 0);
    int sm = sbt_softmax(g, pa, -1);
    int tr = sbt_transpose(g, pa, (int[]){1, 0});
    int ce_labels = int_input(g, "y", 2);
    int ce = sbt_cross_entropy(g, pa, ce_labels);
    REQUIRE(sbt_graph_finalize(g) == SBT_OK);
    ((int32_t *)sbt_graph_data(g, ce_labels))[0] = 2;
    ((int32_t *)sbt_graph_data(g, ce_labels))[1] = 0;
    REQUIRE(sbt_graph_forward(g, 0) == SBT_OK);
    const float want_mm[] = {4, 5, 10, 11};
    for (int i = 0; i < 4; i++) CHECK(sbt_graph_value(g, mm)[i] == want_mm[i]);
    float z = expf(1) + expf(2) + expf(3);
    CHECK_NEAR(sbt_graph_value(g, sm)[0], expf(1) / z, 1e-6);
    const float want_tr[] = {1, 4, 2, 5, 3, 6};
    for (int i = 0; i < 6; i++) CHECK(sbt_graph_value(g, tr)[i] == want_tr[i]);
    double l0 = log(z) - 3, l1 = log(expf(4) + expf(5) + expf(6)) - 4;
    CHECK_NEAR(sbt_graph_value(g, ce)[0], (l0 + l1) / 2, 1e-5);
    sbt_graph_free(g);
}

static void test_build_errors(void) {
    float w[12];
    sbt_graph *g = sbt_graph_new();
    int x = sbt_input(g, "x", 2, (int64_t[]){4, 5});
    int pw = sbt_param(g, "w", 2, (int64_t[]){3, 4}, w, NULL);
    int y = sbt_linear(g, x, pw, -1); /* 5 inputs vs weight (3, 4): shape error */
    CHECK(y == -1);
    CHECK(sbt_relu(g, y) == -1); /* the error propagates quietly */
    CHECK(sbt_graph_finalize(g) == SBT_ERR_SHAPE);
    CHECK(strstr(sbt_last_error(), "Linear") != NULL);
    CHECK(strstr(sbt_last_error(), "(4, 5)") != NULL);
    sbt_graph_free(g);
}

/* A fixed graph allocates its arena once; forward may run many times on it. */
static void test_dropout_determinism(void) {
    float x[100], grad[100];
    for (int i = 0; i < 100; i++) x[i] = 1.0f;
    sbt_graph *g = sbt_graph_new();
    int px = sbt_param(g, "x", 1, (int64_t[]){100}, x, grad);
    int d = sbt_dropout(g, px, 0.5f, 11);
    REQUIRE(sbt_graph_finalize(g) == SBT_OK);
    float first[100];
    sbt_graph_set_step(g, 3);
    sbt_graph_forward(g, 1);
    memcpy(first, sbt_graph_value(g, d), sizeof first);
    int zeros = 0;
    for (int i = 0; i < 100; i++) zeros += first[i] == 0.0f;
    CHECK(zeros > 25 && zeros < 75);
    sbt_graph_set_step(g, 4);
    sbt_graph_forward(g, 1);
    CHECK(memcmp(first, sbt_graph_value(g, d), sizeof first) != 0);
    sbt_graph_set_step(g, 3);
    sbt_graph_forward(g, 1);
    CHECK(memcmp(first, sbt_graph_value(g, d), sizeof first) == 0);
    sbt_graph_forward(g, 0); /* eval: identity */
    for (int i = 0; i < 100; i++) CHECK(sbt_graph_value(g, d)[i] == 1.0f);
    sbt_graph_free(g);
}

static void test_step_t_grads(void) {
    const int64_t s[][4] = {{2, 2, 5, 3}, {2, 2, 5, 3}, {2, 2, 5, 3}};
    CHECK(run_check("step-t", b_step_t, 0, 0, 3, (int[]){4, 4, 4}, s, -1, 1));
    CHECK(run_check("step-t incl", b_step_t_incl, 0, 0, 3, (int[]){4, 4, 4}, s, -1, 1));
}

/* The last-step-only op: q of one step, k and v of five. */
static void test_step_t_last_grads(void) {
    const int64_t s[][4] = {{2, 2, 1, 3}, {2, 2, 5, 3}, {2, 2, 5, 3}};
    CHECK(run_check("step-t last", b_step_t_last, 0, 0, 3, (int[]){4, 4, 4}, s, -1, 1));
    CHECK(run_check("step-t last incl", b_step_t_last_incl, 0, 0, 3, (int[]){4, 4, 4}, s, -1, 1));
    const int64_t one[][4] = {{2, 2, 1, 3}, {2, 2, 1, 3}, {2, 2, 1, 3}}; /* T = 1: the step sees itself */
    CHECK(run_check("step-t last T=1", b_step_t_last, 0, 0, 3, (int[]){4, 4, 4}, one, -1, 1));
}

/* StepTAttentionLast equals the last step of StepTAttention (bit for bit: one kernel),
 * and its gradients equal those of a loss reading only that step. */
static void test_step_t_last_matches_full(void) {
    enum { B = 2, H = 2, T = 5, DH = 3, N = B * H * T * DH, NL = B * H * DH };
    for (int include_last = 0; include_last < 2; include_last++) {
        float q[N], k[N], v[N], qlast[NL], grads[2][3][N];
        memset(grads, 0, sizeof grads);
        sbt_rng r;
        sbt_rng_seed(&r, 21);
        for (int i = 0; i < N; i++)
            q[i] = sbt_rng_uniform_range(&r, -1, 1), k[i] = sbt_rng_uniform_range(&r, -1, 1),
            v[i] = sbt_rng_uniform_range(&r, -1, 1);
        for (int bh = 0; bh < B * H; bh++)
            memcpy(qlast + bh * DH, q + (bh * T + T - 1) * DH, DH * sizeof(float));
        int64_t full[4] = {B, H, T, DH}, last[4] = {B, H, 1, DH};
        sbt_graph *g = sbt_graph_new();
        int pq = sbt_param(g, "q", 4, full, q, grads[0][0]), pk = sbt_param(g, "k", 4, full, k, grads[0][1]);
        int pv = sbt_param(g, "v", 4, full, v, grads[0][2]);
        int pql = sbt_param(g, "q_last", 4, last, qlast, grads[1][0]);
        int pk2 = sbt_param(g, "k2", 4, full, k, grads[1][1]),
            pv2 = sbt_param(g, "v2", 4, full, v, grads[1][2]);
        int y = sbt_step_t_attention(g, pq, pk, pv, include_last);
        int y_last = sbt_step_t_attention_last(g, pql, pk2, pv2, include_last);
        /* the same loss on both: the mean of the last step */
        int loss_full = sbt_mean(g, sbt_reshape(g, sbt_slice(g, y, 2, T - 1, T), 1, (int64_t[]){NL}), 0);
        int loss_last = sbt_mean(g, sbt_reshape(g, y_last, 1, (int64_t[]){NL}), 0);
        REQUIRE(sbt_graph_finalize(g) == SBT_OK);
        REQUIRE(sbt_graph_forward(g, 1) == SBT_OK);
        for (int bh = 0; bh < B * H; bh++)
            CHECK(memcmp(sbt_graph_value(g, y_last) + bh * DH, sbt_graph_value(g, y) + (bh * T + T - 1) * DH,
                         DH * sizeof(float)) == 0);
        REQUIRE(sbt_graph_backward(g, loss_full) == SBT_OK);
        REQUIRE(sbt_graph_backward(g, loss_last) == SBT_OK);
        for (int bh = 0; bh < B * H; bh++)
            for (int c = 0; c < DH; c++)
                CHECK_NEAR(grads[1][0][bh * DH + c], grads[0][0][(bh * T + T - 1) * DH + c], 1e-7);
        for (int a = 1; a < 3; a++)
            for (int i = 0; i < N; i++) CHECK_NEAR(grads[1][a][i], grads[0][a][i], 1e-7);
        sbt_graph_free(g);
    }
}

/* A q of more than one step, or k and v of different lengths, is a build error. */
static void test_step_t_last_shapes(void) {
    float data[2 * 5 * 3] = {0};
    sbt_graph *g = sbt_graph_new();
    int q = sbt_param(g, "q", 4, (int64_t[]){1, 2, 2, 3}, data, NULL);
    int k = sbt_param(g, "k", 4, (int64_t[]){1, 2, 5, 3}, data, NULL);
    CHECK(sbt_step_t_attention_last(g, q, k, k, 0) == -1);
    CHECK(sbt_graph_finalize(g) == SBT_ERR_SHAPE);
    CHECK(strstr(sbt_last_error(), "StepTAttentionLast") != NULL);
    sbt_graph_free(g);
    g = sbt_graph_new();
    q = sbt_param(g, "q", 4, (int64_t[]){1, 2, 1, 3}, data, NULL);
    k = sbt_param(g, "k", 4, (int64_t[]){1, 2, 5, 3}, data, NULL);
    int v = sbt_param(g, "v", 4, (int64_t[]){1, 2, 4, 3}, data, NULL);
    CHECK(sbt_step_t_attention_last(g, q, k, v, 0) == -1);
    CHECK(sbt_graph_finalize(g) == SBT_ERR_SHAPE);
    sbt_graph_free(g);
}

/* Which outputs can an input step influence? Perturb q, k or v at one step and record
 * which output steps move: Step-T lets step i < T-1 see only itself, and the last step
 * see the earlier steps (and itself only with include_last). */
static void test_step_t_dependencies(void) {
    enum { T = 6, DH = 2, N = T * DH };
    for (int include_last = 0; include_last < 2; include_last++) {
        float qkv[3][N], dummy[N];
        sbt_rng r;
        sbt_rng_seed(&r, 4);
        for (int a = 0; a < 3; a++)
            for (int i = 0; i < N; i++) qkv[a][i] = sbt_rng_uniform_range(&r, -1, 1);
        sbt_graph *g = sbt_graph_new();
        int64_t shape[4] = {1, 1, T, DH};
        int ids[3];
        for (int a = 0; a < 3; a++) ids[a] = sbt_param(g, "x", 4, shape, qkv[a], dummy);
        int y = sbt_step_t_attention(g, ids[0], ids[1], ids[2], include_last);
        REQUIRE(sbt_graph_finalize(g) == SBT_OK);
        REQUIRE(sbt_graph_forward(g, 0) == SBT_OK);
        float base[N];
        memcpy(base, sbt_graph_value(g, y), sizeof base);
        for (int a = 0; a < 3; a++)
            for (int step = 0; step < T; step++) {
                qkv[a][step * DH] += 0.5f;
                sbt_graph_forward(g, 0);
                qkv[a][step * DH] -= 0.5f;
                for (int out = 0; out < T; out++) {
                    int moved = 0;
                    for (int c = 0; c < DH; c++)
                        moved |= sbt_graph_value(g, y)[out * DH + c] != base[out * DH + c];
                    int last = out == T - 1;
                    /* q matters only at the last step; k and v of step s reach the last output
                     * when s is one of its keys; v of step s is output s itself */
                    int is_key = step < T - 1 || include_last;
                    int expect =
                        a == 0 ? last && step == T - 1 : (last && is_key) || (a == 2 && !last && out == step);
                    CHECK_MSG(moved == expect, "include_last %d: %c at step %d -> output %d moved %d",
                              include_last, "qkv"[a], step, out, moved);
                }
            }
        sbt_graph_free(g);
    }
}

/* The last-only op: its one output moves with q, and with k and v at the key steps
 * (every step before the last, and the last only with include_last). */
static void test_step_t_last_dependencies(void) {
    enum { T = 6, DH = 2, N = T * DH };
    for (int include_last = 0; include_last < 2; include_last++) {
        float q[DH], kv[2][N];
        sbt_rng r;
        sbt_rng_seed(&r, 5);
        for (int c = 0; c < DH; c++) q[c] = sbt_rng_uniform_range(&r, -1, 1);
        for (int a = 0; a < 2; a++)
            for (int i = 0; i < N; i++) kv[a][i] = sbt_rng_uniform_range(&r, -1, 1);
        sbt_graph *g = sbt_graph_new();
        int pq = sbt_param(g, "q", 4, (int64_t[]){1, 1, 1, DH}, q, NULL);
        int pk = sbt_param(g, "k", 4, (int64_t[]){1, 1, T, DH}, kv[0], NULL);
        int pv = sbt_param(g, "v", 4, (int64_t[]){1, 1, T, DH}, kv[1], NULL);
        int y = sbt_step_t_attention_last(g, pq, pk, pv, include_last);
        REQUIRE(sbt_graph_finalize(g) == SBT_OK);
        REQUIRE(sbt_graph_forward(g, 0) == SBT_OK);
        float base[DH];
        memcpy(base, sbt_graph_value(g, y), sizeof base);
        q[0] += 0.5f;
        sbt_graph_forward(g, 0);
        q[0] -= 0.5f;
        CHECK(memcmp(base, sbt_graph_value(g, y), sizeof base) != 0);
        for (int a = 0; a < 2; a++)
            for (int step = 0; step < T; step++) {
                kv[a][step * DH] += 0.5f;
                sbt_graph_forward(g, 0);
                kv[a][step * DH] -= 0.5f;
                int moved = memcmp(base, sbt_graph_value(g, y), sizeof base) != 0;
                int expect = step < T - 1 || include_last;
                CHECK_MSG(moved == expect, "include_last %d: %c at step %d moved %d", include_last, "kv"[a],
                          step, moved);
            }
        sbt_graph_free(g);
    }
}

int main(void) {
    RUN(test_forward_values);
    RUN(test_build_errors);
    RUN(test_matmul_grads);
    RUN(test_linear_grads);
    RUN(test_binary_grads);
    RUN(test_shape_op_grads);
    RUN(test_gather);
    RUN(test_norm_grads);
    RUN(test_masked_batchnorm);
    RUN(test_activation_grads);
    RUN(test_reduce_grads);
    RUN(test_dropout_determinism);
    RUN(test_step_t_grads);
    RUN(test_step_t_dependencies);
    RUN(test_step_t_last_grads);
    RUN(test_step_t_last_matches_full);
    RUN(test_step_t_last_shapes);
    RUN(test_step_t_last_dependencies);
    return check_summary();
}
