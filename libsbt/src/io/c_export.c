/* The C-source export (sbt/c_export.h): the frozen forward-only graph of batch 1 printed
 * as C99. Every activation lives in one static arena at the offset the graph's liveness
 * plan gave it, so the generated code needs the RAM the runtime needs and no more. */
#include "sbt/c_export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "graph/graph_internal.h"
#include "model/model_internal.h"
#include "sbt/container.h"
#include "sbt/kernels.h"

/* The loops the generated forward pass calls, each printed only when used; each mirrors
 * the runtime's op (ops/), so the outputs agree up to float summation order. */
enum {
    H_DENSE,
    H_TERNARY,
    H_BINARY,
    H_UNARY,
    H_PERMUTE,
    H_SLICE,
    H_MATMUL,
    H_SOFTMAX,
    H_LAYERNORM,
    H_BATCHNORM,
    H_MASKED_MEAN,
    H_LAST_QUERY,
    H_STEP_T,
    H_COUNT
};

static const char *const HELPERS[H_COUNT] = {
    [H_DENSE] = "static void dense_linear(const float *x, int rows, int in, int out, const float *w, const "
                "float *b, float *y) {\n"
                "    for (int r = 0; r < rows; r++)\n"
                "        for (int o = 0; o < out; o++) {\n"
                "            float s = b ? b[o] : 0.0f;\n"
                "            for (int k = 0; k < in; k++) s += x[r * in + k] * w[(long)o * in + k];\n"
                "            y[r * out + o] = s;\n"
                "        }\n"
                "}\n"
                "\n",
    [H_TERNARY] =
        "/* codes: base 3, 5 weights per byte (1.6 bits per weight) in row-major order, the first\n"
        " * weight the lowest digit; digit 1 = +alpha, 2 = -alpha, 0 = zero. */\n"
        "static void ternary_linear(const float *x, int rows, int in, int out, const unsigned char *codes,\n"
        "                           const float *alpha, const float *b, float *y) {\n"
        "    for (int r = 0; r < rows; r++)\n"
        "        for (int o = 0; o < out; o++) {\n"
        "            long idx = (long)o * in;\n"
        "            int byte = codes[idx / 5], pos = (int)(idx % 5);\n"
        "            float s = 0.0f;\n"
        "            for (int j = 0; j < pos; j++) byte /= 3;\n"
        "            for (int k = 0; k < in; k++) {\n"
        "                int d = byte % 3;\n"
        "                if (d == 1) s += x[r * in + k];\n"
        "                else if (d == 2) s -= x[r * in + k];\n"
        "                byte /= 3;\n"
        "                if (++pos == 5 && k + 1 < in) {\n"
        "                    pos = 0;\n"
        "                    byte = codes[(idx + k + 1) / 5];\n"
        "                }\n"
        "            }\n"
        "            y[r * out + o] = s * alpha[o] + (b ? b[o] : 0.0f);\n"
        "        }\n"
        "}\n"
        "\n",
    [H_BINARY] =
        "/* b repeats every nb values of a (a trailing block of a's shape). */\n"
        "static void binary(int op, const float *a, const float *b, int n, int nb, float *y) {\n"
        "    for (int i = 0; i < n; i += nb)\n"
        "        for (int j = 0; j < nb; j++) {\n"
        "            float av = a[i + j], bv = b[j];\n"
        "            y[i + j] = op == 0 ? av + bv : op == 1 ? av - bv : op == 2 ? av * bv : av / bv;\n"
        "        }\n"
        "}\n"
        "\n",
    [H_UNARY] = "static void unary(int op, const float *x, int n, float f, float *y) {\n"
                "    for (int i = 0; i < n; i++) {\n"
                "        float v = x[i];\n"
                "        y[i] = op == 0 ? v * f : op == 1 ? (v > 0.0f ? v : 0.0f)\n"
                "             : op == 2 ? 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)) : op == 3 ? "
                "erff(v) : v;\n"
                "    }\n"
                "}\n"
                "\n",
    [H_PERMUTE] =
        "/* y in order of the output's 4 axes d; s: the input's stride per output axis. */\n"
        "static void permute(const float *x, float *y, int d0, int d1, int d2, int d3, int s0, int s1, int "
        "s2, int s3) {\n"
        "    int o = 0;\n"
        "    for (int a = 0; a < d0; a++)\n"
        "        for (int b = 0; b < d1; b++)\n"
        "            for (int c = 0; c < d2; c++)\n"
        "                for (int e = 0; e < d3; e++) y[o++] = x[a * s0 + b * s1 + c * s2 + e * s3];\n"
        "}\n"
        "\n",
    [H_SLICE] =
        "static void slice(const float *x, float *y, int outer, int dim, int inner, int start, int len) {\n"
        "    for (int o = 0; o < outer; o++) memcpy(y + o * len * inner, x + (o * dim + start) * inner,\n"
        "                                          sizeof(float) * (size_t)(len * inner));\n"
        "}\n"
        "\n",
    [H_MATMUL] = "static void matmul(const float *a, const float *b, float *c, int batch, int m, int n, int "
                 "k, int ta, int tb,\n"
                 "                   int a_stride, int b_stride) {\n"
                 "    for (int q = 0; q < batch; q++) {\n"
                 "        const float *A = a + q * a_stride, *B = b + q * b_stride;\n"
                 "        float *C = c + q * m * n;\n"
                 "        for (int i = 0; i < m; i++)\n"
                 "            for (int j = 0; j < n; j++) {\n"
                 "                float s = 0.0f;\n"
                 "                for (int p = 0; p < k; p++) s += (ta ? A[p * m + i] : A[i * k + p]) * (tb "
                 "? B[j * k + p] : B[p * n + j]);\n"
                 "                C[i * n + j] = s;\n"
                 "            }\n"
                 "    }\n"
                 "}\n"
                 "\n",
    [H_SOFTMAX] = "/* mask: NULL, or one row added to every row (mask_cols 1 or cols). */\n"
                  "static void softmax(const float *x, float *y, int rows, int cols, const float *mask, int "
                  "mask_cols) {\n"
                  "    for (int r = 0; r < rows; r++) {\n"
                  "        const float *xr = x + r * cols;\n"
                  "        float *yr = y + r * cols, mx = -INFINITY, sum = 0.0f;\n"
                  "        for (int c = 0; c < cols; c++) {\n"
                  "            yr[c] = xr[c] + (mask ? mask[mask_cols == 1 ? 0 : c] : 0.0f);\n"
                  "            mx = yr[c] > mx ? yr[c] : mx;\n"
                  "        }\n"
                  "        for (int c = 0; c < cols; c++) {\n"
                  "            float z = yr[c] - mx;\n"
                  "            sum += (yr[c] = z < -88.0f ? 0.0f : expf(z));\n"
                  "        }\n"
                  "        for (int c = 0; c < cols; c++) yr[c] *= 1.0f / sum;\n"
                  "    }\n"
                  "}\n"
                  "\n",
    [H_LAYERNORM] =
        "static void layernorm(const float *x, float *y, int rows, int cols, const float *g, const float *b, "
        "float eps) {\n"
        "    for (int r = 0; r < rows; r++) {\n"
        "        const float *xr = x + r * cols;\n"
        "        float mu = 0.0f, var = 0.0f;\n"
        "        for (int c = 0; c < cols; c++) mu += xr[c];\n"
        "        mu /= (float)cols;\n"
        "        for (int c = 0; c < cols; c++) var += (xr[c] - mu) * (xr[c] - mu);\n"
        "        float rs = 1.0f / sqrtf(var / (float)cols + eps);\n"
        "        for (int c = 0; c < cols; c++) y[r * cols + c] = (xr[c] - mu) * rs * g[c] + b[c];\n"
        "    }\n"
        "}\n"
        "\n",
    [H_BATCHNORM] = "static void batchnorm(const float *x, float *y, int rows, int f, const float *g, const "
                    "float *b, const float *rm,\n"
                    "                      const float *rv, float eps) {\n"
                    "    for (int r = 0; r < rows; r++)\n"
                    "        for (int c = 0; c < f; c++) y[r * f + c] = (x[r * f + c] - rm[c]) * (1.0f / "
                    "sqrtf(rv[c] + eps)) * g[c] + b[c];\n"
                    "}\n"
                    "\n",
    [H_MASKED_MEAN] =
        "static void masked_mean(const float *x, const float *mask, float *y, int steps, int inner) {\n"
        "    float count = 0.0f;\n"
        "    for (int t = 0; t < steps; t++) count += mask[t] != 0.0f;\n"
        "    float inv = count > 0.0f ? 1.0f / count : 0.0f;\n"
        "    for (int i = 0; i < inner; i++) y[i] = 0.0f;\n"
        "    for (int t = 0; t < steps; t++)\n"
        "        if (mask[t] != 0.0f)\n"
        "            for (int i = 0; i < inner; i++) y[i] += x[t * inner + i];\n"
        "    for (int i = 0; i < inner; i++) y[i] *= inv;\n"
        "}\n"
        "\n",
    [H_LAST_QUERY] = "/* The last query of one head against keys 0..keys-1 (Step-T). */\n"
                     "static void last_query(const float *q, const float *k, const float *v, int keys, int "
                     "dh, float *p, float *out) {\n"
                     "    float scale = 1.0f / sqrtf((float)dh), mx = -INFINITY, sum = 0.0f;\n"
                     "    for (int j = 0; j < keys; j++) {\n"
                     "        float s = 0.0f;\n"
                     "        for (int c = 0; c < dh; c++) s += q[c] * k[j * dh + c];\n"
                     "        p[j] = s * scale;\n"
                     "        mx = p[j] > mx ? p[j] : mx;\n"
                     "    }\n"
                     "    for (int j = 0; j < keys; j++) sum += (p[j] = expf(p[j] - mx));\n"
                     "    for (int c = 0; c < dh; c++) out[c] = 0.0f;\n"
                     "    for (int j = 0; j < keys; j++) {\n"
                     "        p[j] /= sum;\n"
                     "        for (int c = 0; c < dh; c++) out[c] += p[j] * v[j * dh + c];\n"
                     "    }\n"
                     "}\n"
                     "\n",
    [H_STEP_T] = "/* Step-T over heads x steps x dh: steps before the last see themselves (v); with "
                 "last_only, q and the\n"
                 " * output hold the last step alone. */\n"
                 "static void step_t(const float *q, const float *k, const float *v, float *y, int heads, "
                 "int steps, int dh,\n"
                 "                   int keys, int last_only, float *p) {\n"
                 "    for (int h = 0; h < heads; h++) {\n"
                 "        const float *kh = k + h * steps * dh, *vh = v + h * steps * dh;\n"
                 "        if (last_only) {\n"
                 "            last_query(q + h * dh, kh, vh, keys, dh, p, y + h * dh);\n"
                 "        } else {\n"
                 "            memcpy(y + h * steps * dh, vh, sizeof(float) * (size_t)(steps * dh));\n"
                 "            last_query(q + (h * steps + steps - 1) * dh, kh, vh, keys, dh, p, y + (h * "
                 "steps + steps - 1) * dh);\n"
                 "        }\n"
                 "    }\n"
                 "}\n"
                 "\n",
};

typedef struct {
    sbt_strbuf body, data, init; /* the forward pass; the static arrays; first-call set-up */
    const sbt_graph *g;
    const float *arena_base; /* the instance's arena: activation offsets are from here */
    int64_t scratch_floats;  /* Step-T probabilities */
    int used[H_COUNT];       /* helpers the forward pass calls */
    sbt_c_export_stats stats;
    char err[256];
} emitter;

static int is_leaf(sbt_op op) {
    return op == SBT_OP_INPUT || op == SBT_OP_PARAM || op == SBT_OP_STATE || op == SBT_OP_CONST;
}

/* A node's data as a C expression: a static array, or a place in the arena. */
static void ref(emitter *e, int id, char *out, size_t cap) {
    const sbt_node *n = &e->g->nodes[id];
    while (n->op == SBT_OP_RESHAPE) n = &e->g->nodes[n->inputs[0]]; /* shares its input's buffer */
    id = (int)(n - e->g->nodes);
    if (n->op == SBT_OP_PARAM || n->op == SBT_OP_STATE || n->op == SBT_OP_CONST)
        snprintf(out, cap, "W%d", id);
    else
        snprintf(out, cap, "(arena + %lld)", (long long)(n->value - e->arena_base));
}

static void emit_floats(emitter *e, const char *name, const float *v, int64_t n) {
    sbt_strbuf_printf(&e->data, "static const float %s[%lld] = {", name, (long long)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        sbt_strbuf_printf(&e->data, "%s%af", !i ? "\n    " : i % 8 ? ", " : ",\n    ", (double)v[i]);
    sbt_strbuf_printf(&e->data, n ? "};\n" : "0};\n");
    e->stats.weight_bytes += (size_t)n * sizeof(float);
}

/* Weight W of a Linear as base-3 codes (5 per byte) plus alpha per row when every row is
 * ternary; returns 1 then, 0 to keep it float. */
static int emit_ternary(emitter *e, int id, const float *w, int64_t out, int64_t in) {
    float *alpha = malloc((size_t)out * sizeof(float));
    if (!alpha || !sbt_ternary_rows(w, out, in, alpha)) {
        free(alpha);
        return 0;
    }
    int64_t n = out * in, bytes = (n + 4) / 5;
    sbt_strbuf_printf(&e->data, "static const unsigned char T%d[%lld] = {", id, (long long)bytes);
    for (int64_t b = 0; b < bytes; b++) {
        unsigned v = 0;
        for (int j = 4; j >= 0; j--) {
            int64_t i = 5 * b + j;
            float x = i < n ? w[i] : 0.0f;
            v = 3 * v + (x > 0.0f ? 1u : x < 0.0f ? 2u : 0u);
        }
        sbt_strbuf_printf(&e->data, "%s%u", !b ? "\n    " : b % 16 ? ", " : ",\n    ", v);
    }
    sbt_strbuf_printf(&e->data, "};\n");
    char name[32];
    snprintf(name, sizeof name, "A%d", id);
    emit_floats(e, name, alpha, out);
    e->stats.weight_bytes += (size_t)bytes;
    free(alpha);
    return 1;
}

static int fail(emitter *e, const sbt_node *n, const char *why) {
    snprintf(e->err, sizeof e->err, "C export: %s '%s': %s", sbt_op_name(n->op), n->name, why);
    return -1;
}

static int emit_linear(emitter *e, const sbt_node *n) {
    const sbt_node *w = &e->g->nodes[n->inputs[1]];
    char x[64], y[64], b[64] = "0";
    ref(e, n->inputs[0], x, sizeof x);
    ref(e, (int)(n - e->g->nodes), y, sizeof y);
    if (n->n_inputs == 3) ref(e, n->inputs[2], b, sizeof b);
    int64_t out = w->shape[0], in = w->shape[1], rows = n->size / out;
    int wid = n->inputs[1];
    if (w->op == SBT_OP_CONST && emit_ternary(e, wid, w->value, out, in)) {
        e->stats.ternary_layers++;
        e->used[H_TERNARY] = 1;
        sbt_strbuf_printf(&e->body, "    ternary_linear(%s, %lld, %lld, %lld, T%d, A%d, %s, %s);\n", x,
                          (long long)rows, (long long)in, (long long)out, wid, wid, b, y);
        return 0;
    }
    e->stats.float_layers++;
    e->used[H_DENSE] = 1;
    sbt_strbuf_printf(&e->body, "    dense_linear(%s, %lld, %lld, %lld, W%d, %s, %s);\n", x, (long long)rows,
                      (long long)in, (long long)out, wid, b, y);
    return 0;
}

/* Leaves with data become static arrays (a ternary Linear weight is written by its Linear);
 * the sinusoidal position table is computed at the first call instead of stored. */
static void emit_leaf_data(emitter *e, int id, const int *ternary_weight) {
    const sbt_node *n = &e->g->nodes[id];
    if (n->op == SBT_OP_INPUT || ternary_weight[id]) return;
    if (n->op == SBT_OP_CONST && n->attr.constant.gen == SBT_GEN_SINUSOIDAL) {
        sbt_strbuf_printf(&e->data, "static float W%d[%lld];\n", id, (long long)n->size);
        sbt_strbuf_printf(
            &e->init,
            "        for (int t = 0; t < %lld; t++)\n"
            "            for (int i = 0; i < %lld; i += 2) {\n"
            "                double freq = exp(-(double)i * log(10000.0) / %lld.0);\n"
            "                W%d[t * %lld + i] = (float)sin((double)t * freq);\n"
            "                if (i + 1 < %lld) W%d[t * %lld + i + 1] = (float)cos((double)t * freq);\n"
            "            }\n",
            (long long)n->shape[0], (long long)n->shape[1], (long long)n->shape[1], id,
            (long long)n->shape[1], (long long)n->shape[1], id, (long long)n->shape[1]);
        e->stats.arena_bytes += (size_t)n->size * sizeof(float);
        return;
    }
    char name[32];
    snprintf(name, sizeof name, "W%d", id);
    emit_floats(e, name, n->value, n->size);
}

/* Padded 4-axis output shape and the input's stride per output axis of a Transpose. */
static void emit_transpose(emitter *e, const sbt_node *n, const char *x, const char *y) {
    const sbt_node *in = &e->g->nodes[n->inputs[0]];
    int64_t stride[SBT_MAX_DIMS], d[4] = {1, 1, 1, 1}, s[4] = {0, 0, 0, 0};
    int nd = n->ndim, pad = 4 - nd;
    stride[nd - 1] = 1;
    for (int i = nd - 2; i >= 0; i--) stride[i] = stride[i + 1] * in->shape[i + 1];
    for (int i = 0; i < nd; i++) {
        d[pad + i] = n->shape[i];
        s[pad + i] = stride[n->attr.transpose.perm[i]];
    }
    e->used[H_PERMUTE] = 1;
    sbt_strbuf_printf(&e->body, "    permute(%s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld);\n", x,
                      y, (long long)d[0], (long long)d[1], (long long)d[2], (long long)d[3], (long long)s[0],
                      (long long)s[1], (long long)s[2], (long long)s[3]);
}

/* Only the broadcasts native graphs make: b equal to a, or a trailing block of it. */
static int emit_binary(emitter *e, const sbt_node *n, const char *y) {
    const sbt_node *A = &e->g->nodes[n->inputs[0]], *B = &e->g->nodes[n->inputs[1]];
    if (A->size != n->size || !sbt_is_trailing_block(B, n))
        return fail(e, n, "a broadcast other than a trailing block");
    char a[64], b[64];
    ref(e, n->inputs[0], a, sizeof a);
    ref(e, n->inputs[1], b, sizeof b);
    int op = n->op == SBT_OP_ADD ? 0 : n->op == SBT_OP_SUB ? 1 : n->op == SBT_OP_MUL ? 2 : 3;
    e->used[H_BINARY] = 1;
    sbt_strbuf_printf(&e->body, "    binary(%d, %s, %s, %lld, %lld, %s);\n", op, a, b, (long long)n->size,
                      (long long)B->size, y);
    return 0;
}

static int emit_matmul(emitter *e, const sbt_node *n, const char *y) {
    const sbt_node *A = &e->g->nodes[n->inputs[0]], *B = &e->g->nodes[n->inputs[1]];
    int64_t m = n->shape[n->ndim - 2], nn = n->shape[n->ndim - 1];
    int64_t k = A->shape[A->ndim - (n->attr.matmul.trans_a ? 2 : 1)], batch = n->size / (m * nn);
    int64_t a_batch = A->size / (m * k), b_batch = B->size / (k * nn);
    if ((a_batch != batch && a_batch != 1) || (b_batch != batch && b_batch != 1))
        return fail(e, n, "batch dimensions that broadcast per axis");
    char a[64], b[64];
    ref(e, n->inputs[0], a, sizeof a);
    ref(e, n->inputs[1], b, sizeof b);
    e->used[H_MATMUL] = 1;
    sbt_strbuf_printf(&e->body, "    matmul(%s, %s, %s, %lld, %lld, %lld, %lld, %d, %d, %lld, %lld);\n", a, b,
                      y, (long long)batch, (long long)m, (long long)nn, (long long)k, n->attr.matmul.trans_a,
                      n->attr.matmul.trans_b, (long long)(a_batch == 1 ? 0 : m * k),
                      (long long)(b_batch == 1 ? 0 : k * nn));
    return 0;
}

static int emit_softmax(emitter *e, const sbt_node *n, const char *x, const char *y) {
    int64_t cols = last_dim(n), rows = n->size / cols;
    e->used[H_SOFTMAX] = 1;
    if (n->n_inputs == 1) {
        sbt_strbuf_printf(&e->body, "    softmax(%s, %s, %lld, %lld, 0, 1);\n", x, y, (long long)rows,
                          (long long)cols);
        return 0;
    }
    const sbt_node *M = &e->g->nodes[n->inputs[1]];
    if (M->size != last_dim(M)) return fail(e, n, "a mask that varies over rows");
    char m[64];
    ref(e, n->inputs[1], m, sizeof m);
    sbt_strbuf_printf(&e->body, "    softmax(%s, %s, %lld, %lld, %s, %lld);\n", x, y, (long long)rows,
                      (long long)cols, m, (long long)M->size);
    return 0;
}

static int emit_step_t(emitter *e, const sbt_node *n, const char *y) {
    const sbt_node *K = &e->g->nodes[n->inputs[1]];
    int64_t steps = K->shape[2], dh = K->shape[3], heads = K->size / (steps * dh);
    int64_t keys = n->attr.step_t.include_last || steps == 1 ? steps : steps - 1;
    char q[64], k[64], v[64];
    ref(e, n->inputs[0], q, sizeof q);
    ref(e, n->inputs[1], k, sizeof k);
    ref(e, n->inputs[2], v, sizeof v);
    if (steps > e->scratch_floats) e->scratch_floats = steps;
    e->used[H_STEP_T] = e->used[H_LAST_QUERY] = 1;
    sbt_strbuf_printf(&e->body, "    step_t(%s, %s, %s, %s, %lld, %lld, %lld, %lld, %d, scratch);\n", q, k, v,
                      y, (long long)heads, (long long)steps, (long long)dh, (long long)keys,
                      n->op == SBT_OP_STEP_T_LAST);
    return 0;
}

static int emit_op(emitter *e, int id) {
    const sbt_node *n = &e->g->nodes[id];
    char x[64] = "", y[64], p1[64] = "", p2[64] = "", p3[64] = "", p4[64] = "";
    ref(e, id, y, sizeof y);
    if (n->n_inputs) ref(e, n->inputs[0], x, sizeof x);
    int64_t cols = n->ndim ? last_dim(n) : 1;
    switch (n->op) {
    case SBT_OP_LINEAR: return emit_linear(e, n);
    case SBT_OP_RESHAPE: return 0;
    case SBT_OP_ADD:
    case SBT_OP_SUB:
    case SBT_OP_MUL:
    case SBT_OP_DIV: return emit_binary(e, n, y);
    case SBT_OP_SCALE:
    case SBT_OP_RELU:
    case SBT_OP_GELU:
    case SBT_OP_ERF:
    case SBT_OP_DROPOUT: {
        int op = n->op == SBT_OP_SCALE  ? 0
                 : n->op == SBT_OP_RELU ? 1
                 : n->op == SBT_OP_GELU ? 2
                 : n->op == SBT_OP_ERF  ? 3
                                        : 4;
        e->used[H_UNARY] = 1;
        sbt_strbuf_printf(&e->body, "    unary(%d, %s, %lld, %af, %s);\n", op, x, (long long)n->size,
                          (double)(n->op == SBT_OP_SCALE ? n->attr.scale.factor : 1.0f), y);
        return 0;
    }
    case SBT_OP_TRANSPOSE: emit_transpose(e, n, x, y); return 0;
    case SBT_OP_SLICE: {
        const sbt_node *in = &e->g->nodes[n->inputs[0]];
        int axis = n->attr.slice.axis;
        int64_t outer = 1, inner = 1, start = sbt_dim_value(e->g, n->attr.slice.start);
        if (start < 0) start += in->shape[axis];
        for (int i = 0; i < axis; i++) outer *= in->shape[i];
        for (int i = axis + 1; i < in->ndim; i++) inner *= in->shape[i];
        e->used[H_SLICE] = 1;
        sbt_strbuf_printf(&e->body, "    slice(%s, %s, %lld, %lld, %lld, %lld, %lld);\n", x, y,
                          (long long)outer, (long long)in->shape[axis], (long long)inner, (long long)start,
                          (long long)n->shape[axis]);
        return 0;
    }
    case SBT_OP_MATMUL: return emit_matmul(e, n, y);
    case SBT_OP_SOFTMAX: return emit_softmax(e, n, x, y);
    case SBT_OP_LAYERNORM:
        ref(e, n->inputs[1], p1, sizeof p1);
        ref(e, n->inputs[2], p2, sizeof p2);
        e->used[H_LAYERNORM] = 1;
        sbt_strbuf_printf(&e->body, "    layernorm(%s, %s, %lld, %lld, %s, %s, %af);\n", x, y,
                          (long long)(n->size / cols), (long long)cols, p1, p2,
                          (double)n->attr.layernorm.eps);
        return 0;
    case SBT_OP_BATCHNORM:
        ref(e, n->inputs[1], p1, sizeof p1);
        ref(e, n->inputs[2], p2, sizeof p2);
        ref(e, n->inputs[3], p3, sizeof p3);
        ref(e, n->inputs[4], p4, sizeof p4);
        e->used[H_BATCHNORM] = 1;
        sbt_strbuf_printf(&e->body, "    batchnorm(%s, %s, %lld, %lld, %s, %s, %s, %s, %af);\n", x, y,
                          (long long)(n->size / cols), (long long)cols, p1, p2, p3, p4,
                          (double)n->attr.batchnorm.eps);
        return 0;
    case SBT_OP_MASKED_MEAN: {
        const sbt_node *in = &e->g->nodes[n->inputs[0]];
        if (in->shape[0] != 1) return fail(e, n, "batch above 1");
        ref(e, n->inputs[1], p1, sizeof p1);
        e->used[H_MASKED_MEAN] = 1;
        sbt_strbuf_printf(&e->body, "    masked_mean(%s, %s, %s, %lld, %lld);\n", x, p1, y,
                          (long long)in->shape[1], (long long)(in->size / in->shape[1]));
        return 0;
    }
    case SBT_OP_STEP_T:
    case SBT_OP_STEP_T_LAST: return emit_step_t(e, n, y);
    default: return fail(e, n, "no C form in this exporter");
    }
}

/* Which nodes the output needs, and which Linear weights go out as ternary codes. */
static void mark_needed(const sbt_graph *g, int output, int *needed) {
    needed[output] = 1;
    for (int i = output; i >= 0; i--)
        if (needed[i])
            for (int k = 0; k < g->nodes[i].n_inputs; k++) needed[g->nodes[i].inputs[k]] = 1;
}

static int emit_graph(emitter *e, int output) {
    const sbt_graph *g = e->g;
    int *needed = calloc((size_t)g->count, sizeof(int)), *tern = calloc((size_t)g->count, sizeof(int));
    int rc = needed && tern ? 0 : -1;
    if (rc) snprintf(e->err, sizeof e->err, "C export: out of memory");
    if (!rc) mark_needed(g, output, needed);
    for (int i = 0; !rc && i < g->count; i++) {
        const sbt_node *n = &g->nodes[i];
        if (!needed[i]) continue;
        if (is_leaf(n->op)) {
            int is_tern_weight = 0; /* a const that some needed Linear writes as codes */
            for (int j = i + 1; j < g->count && n->op == SBT_OP_CONST; j++) {
                if (!needed[j] || g->nodes[j].op != SBT_OP_LINEAR || g->nodes[j].inputs[1] != i) continue;
                is_tern_weight = sbt_ternary_rows(n->value, n->shape[0], n->shape[1], NULL);
            }
            tern[i] = is_tern_weight;
            emit_leaf_data(e, i, tern);
            continue;
        }
        rc = emit_op(e, i);
    }
    free(needed);
    free(tern);
    return rc;
}

/* The C of the interface and of the feeding around the forward pass (what sbt_predict
 * does: z-score, masks, the window frame, and back). */
static void emit_predict(emitter *e, const sbt_model *m, const sbt_model_graph *mg, const char *prefix,
                         int length, int has_norm) {
    char x[64], sm[64], am[64], y[64];
    ref(e, mg->x, x, sizeof x);
    ref(e, mg->step_mask, sm, sizeof sm);
    ref(e, mg->attn_mask, am, sizeof am);
    ref(e, mg->output, y, sizeof y);
    int classify = m->cfg.task == SBT_TASK_CLASSIFY,
        last = !classify && m->cfg.window_norm == SBT_WINDOW_LAST;
    int c = m->cfg.channels;
    sbt_strbuf *b = &e->data;
    sbt_strbuf_printf(b, "\nint %s_predict(const float *window, int steps, float *out) {\n", prefix);
    sbt_strbuf_printf(b, "    float *x = %s, *step_mask = %s, *attn_mask = %s, last[%d];\n", x, sm, am, c);
    sbt_strbuf_printf(b, "    (void)last;\n");
    if (e->init.buf) {
        sbt_strbuf_printf(b, "    static int ready;\n    if (!ready) {\n%s        ready = 1;\n    }\n",
                          e->init.buf);
    }
    if (classify)
        sbt_strbuf_printf(b, "    if (steps < 1 || steps > %d) return -1;\n", length);
    else
        sbt_strbuf_printf(b, "    if (steps != %d) return -1;\n", length - 1);
    sbt_strbuf_printf(b, "    for (int t = 0; t < %d; t++) {\n", length);
    sbt_strbuf_printf(b, "        for (int k = 0; k < %d; k++) {\n", c);
    sbt_strbuf_printf(b, "            float v = t < steps ? window[t * %d + k] : 0.0f;\n", c);
    if (has_norm)
        sbt_strbuf_printf(
            b, "            x[t * %d + k] = t < steps ? (v - DATA_MEAN[k]) / DATA_STD[k] : v;\n", c);
    else
        sbt_strbuf_printf(b, "            x[t * %d + k] = v;\n", c);
    sbt_strbuf_printf(b, "        }\n");
    sbt_strbuf_printf(b, "        step_mask[t] = %s ? 1.0f : 0.0f;\n", classify ? "t < steps" : "1");
    sbt_strbuf_printf(b, "        attn_mask[t] = %s ? 0.0f : -1e9f;\n", classify ? "t < steps" : "1");
    sbt_strbuf_printf(b, "    }\n");
    if (!classify) {
        sbt_strbuf_printf(b, "    for (int k = 0; k < %d; k++) last[k] = x[(steps - 1) * %d + k];\n", c, c);
        if (last)
            sbt_strbuf_printf(b,
                              "    for (int t = 0; t < steps; t++)\n        for (int k = 0; k < %d; k++) x[t "
                              "* %d + k] -= last[k];\n",
                              c, c);
    }
    sbt_strbuf_printf(b, "%s", e->body.buf ? e->body.buf : "");
    sbt_strbuf_printf(b, "    for (int k = 0; k < %d; k++) {\n        float v = %s[k];\n", m->cfg.outputs, y);
    if (!classify && last) sbt_strbuf_printf(b, "        v += last[k];\n");
    if (!classify && has_norm) sbt_strbuf_printf(b, "        v = v * DATA_STD[k] + DATA_MEAN[k];\n");
    sbt_strbuf_printf(b, "        out[k] = v;\n    }\n    return 0;\n}\n");
}

static char *header_text(const sbt_model *m, const char *prefix, const char *upper, int length) {
    sbt_strbuf h = {0};
    sbt_strbuf_printf(&h,
                      "/* Generated by libsbt (sbt-export): a %s model as dependency-free C99 (libm only).\n"
                      " *\n"
                      " * int %s_predict(const float *window, int steps, float *out);\n"
                      " *   window: steps rows of %s_CHANNELS raw values (row-major).\n",
                      sbt_task_name(m->cfg.task), prefix, upper);
    if (m->cfg.task == SBT_TASK_CLASSIFY)
        sbt_strbuf_printf(&h, " *   steps: 1 to %s_LENGTH; out: %s_OUTPUTS logits (argmax = the class).\n",
                          upper, upper);
    else
        sbt_strbuf_printf(
            &h,
            " *   steps: %s_LENGTH - 1 (the last observed steps); out: the next value of each of the\n"
            " *   %s_OUTPUTS channels, in the window's units.\n",
            upper, upper);
    sbt_strbuf_printf(
        &h,
        " *   Returns 0, or -1 for a wrong number of steps. Not reentrant: one static arena.\n"
        " */\n#ifndef %s_H\n#define %s_H\n\n#define %s_CHANNELS %d\n#define %s_OUTPUTS %d\n#define "
        "%s_LENGTH %d\n\nint %s_predict(const float *window, int steps, float *out);\n\n#endif\n",
        upper, upper, upper, m->cfg.channels, upper, m->cfg.outputs, upper, length, prefix);
    return h.failed ? (free(h.buf), NULL) : h.buf;
}

static int valid_prefix(const char *p) {
    if (!*p || (*p >= '0' && *p <= '9')) return 0;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

sbt_status sbt_c_export(sbt_model *m, const sbt_c_export_options *o, const char *c_path, const char *h_path,
                        sbt_c_export_stats *stats) {
    const char *prefix = o && o->prefix ? o->prefix : "sbt_model";
    if (!valid_prefix(prefix) || strlen(prefix) > 64)
        return sbt_fail(SBT_ERR_ARG, "C export: '%s' is not a C identifier prefix", prefix);
    int length = o && o->length > 0 ? o->length : m->cfg.max_len;
    sbt_model_graph mg; /* on sgemm: the exporter writes ternary weights itself */
    sbt_status st = sbt_model_graph_build_frozen(m, 1, length, SBT_KERNEL_DENSE, &mg);
    if (st) return st;
    emitter e = {.g = mg.graph, .arena_base = (const float *)mg.graph->arena.base};
    const float *mean = sbt_model_data(m, "data.mean"), *std = sbt_model_data(m, "data.std");
    int has_norm = mean && std;
    if (has_norm) {
        emit_floats(&e, "DATA_MEAN", mean, m->cfg.channels);
        emit_floats(&e, "DATA_STD", std, m->cfg.channels);
    }
    int rc = emit_graph(&e, mg.output);
    size_t arena_floats = mg.graph->arena.capacity / sizeof(float);
    char upper[72];
    size_t i = 0;
    for (; prefix[i] && i < sizeof upper - 1; i++)
        upper[i] = (char)(prefix[i] >= 'a' && prefix[i] <= 'z' ? prefix[i] - 32 : prefix[i]);
    upper[i] = '\0';
    sbt_strbuf c = {0};
    if (!rc) {
        emit_predict(&e, m, &mg, prefix, length, has_norm);
        sbt_strbuf_printf(&c,
                          "/* Generated by libsbt (sbt-export); see %s. */\n#include <math.h>\n#include "
                          "<string.h>\n\n#include \"%s\"\n\n",
                          base_name(h_path), base_name(h_path));
        sbt_strbuf_printf(&c, "static float arena[%zu];\n", arena_floats ? arena_floats : 1);
        if (e.scratch_floats)
            sbt_strbuf_printf(&c, "static float scratch[%lld];\n", (long long)e.scratch_floats);
        sbt_strbuf_printf(&c, "\n");
        for (int h = 0; h < H_COUNT; h++)
            if (e.used[h]) sbt_strbuf_printf(&c, "%s", HELPERS[h]);
        sbt_strbuf_printf(&c, "%s", e.data.buf ? e.data.buf : "");
    }
    e.stats.arena_bytes += (arena_floats + (size_t)e.scratch_floats) * sizeof(float);
    sbt_model_graph_free(&mg);
    char *h = rc ? NULL : header_text(m, prefix, upper, length);
    if (rc)
        st = sbt_fail(SBT_ERR_UNSUPPORTED, "%s", e.err);
    else if (c.failed || e.body.failed || e.data.failed || e.init.failed || !h)
        st = sbt_fail(SBT_ERR_NOMEM, "C export: out of memory");
    if (!st) st = sbt_write_file_atomic(h_path, h, strlen(h));
    if (!st) st = sbt_write_file_atomic(c_path, c.buf, c.len);
    if (st && !rc) remove(h_path); /* neither file on failure */
    if (!st && stats) *stats = e.stats;
    free(h);
    free(c.buf);
    free(e.body.buf);
    free(e.data.buf);
    free(e.init.buf);
    return st;
}
