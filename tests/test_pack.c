/* test_pack.c - the .sbt codecs (sbt/pack.h): round trips of every encoding on random and
 * structured data, exact sizes, the entropy-coded sizes against their bound and against
 * zlib, and rejection of corrupt payloads. The .sbt file itself is tested in
 * test_packfile.c. */
#include "check.h"
#include "sbt/biprop.h"
#include "sbt/pack.h"
#include "sbt/rng.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

static int contains(const char *s, const char *part) { return strstr(s, part) != NULL; }

/* A top-k mask of random scores, as sbt_biprop_select makes it. */
static void topk_mask(sbt_rng *r, int64_t n, float keep, uint8_t *mask) {
    float *scores = malloc((size_t)n * sizeof *scores), *m = malloc((size_t)n * sizeof *m);
    int32_t *scratch = malloc((size_t)n * sizeof *scratch);
    for (int64_t i = 0; i < n; i++) scores[i] = sbt_rng_normal(r);
    sbt_biprop_select(scores, n, sbt_biprop_keep_count(keep, n), m, scratch);
    for (int64_t i = 0; i < n; i++) mask[i] = m[i] != 0;
    free(scores);
    free(m);
    free(scratch);
}

static void random_trits(sbt_rng *r, int64_t n, float keep, int8_t *t) {
    for (int64_t i = 0; i < n; i++)
        t[i] = (int8_t)(sbt_rng_uniform(r) < keep ? (sbt_rng_below(r, 2) ? 1 : -1) : 0);
}

/* ---- f16 ---- */

static void test_f16_every_value_round_trips(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = sbt_f16_to_f32((uint16_t)h);
        int is_nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
        uint16_t back = sbt_f32_to_f16(f);
        if (is_nan
                ? !(f != f) || (back & 0x7C00) != 0x7C00 || !(back & 0x3FF) || (back & 0x8000) != (h & 0x8000)
                : back != h)
            bad++;
    }
    CHECK(bad == 0);
    CHECK(sbt_f16_to_f32(0x3C00) == 1.0f);
    CHECK(sbt_f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(sbt_f16_to_f32(0x7BFF) == 65504.0f);
}

static void test_f16_rounds_to_nearest_even(void) {
    CHECK(sbt_f32_to_f16(1.0f + 0x1p-11f) == 0x3C00);            /* tie, even below */
    CHECK(sbt_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3C02);        /* tie, even above */
    CHECK(sbt_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3C01); /* just above a tie */
    CHECK(sbt_f32_to_f16(65504.0f + 15.99f) == 0x7BFF);          /* below the overflow tie */
    CHECK(sbt_f32_to_f16(65520.0f) == 0x7C00);                   /* the tie rounds to infinity */
    CHECK(sbt_f32_to_f16(0x1p-25f) == 0x0000);                   /* subnormal tie to even 0 */
    CHECK(sbt_f32_to_f16(0x1p-25f * 1.5f) == 0x0001);            /* above it */
    CHECK(sbt_f32_to_f16(3 * 0x1p-25f) == 0x0002);               /* subnormal tie to even 2 */
    CHECK(sbt_f32_to_f16(0x1p-14f - 0x1p-26f) == 0x0400);        /* carries into the smallest normal */
    CHECK(sbt_f32_to_f16(-0.0f) == 0x8000);
    CHECK(sbt_f32_to_f16(1e-30f) == 0 && sbt_f32_to_f16(-1e30f) == 0xFC00);
#ifdef __FLT16_MAX__
    /* Against the compiler's own conversion, which is IEEE round-to-nearest-even. */
    sbt_rng r;
    sbt_rng_seed(&r, 7);
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)sbt_rng_next(&r);
        float f;
        memcpy(&f, &u, 4);
        if (f != f) continue;
        _Float16 h = (_Float16)f;
        uint16_t hb;
        memcpy(&hb, &h, 2);
        bad += hb != sbt_f32_to_f16(f);
    }
    CHECK(bad == 0);
#endif
}

/* ---- floats ---- */

static void test_floats_round_trip(void) {
    sbt_rng r;
    sbt_rng_seed(&r, 1);
    const int64_t sizes[] = {0, 1, 3, 1001};
    for (int s = 0; s < 4; s++) {
        int64_t n = sizes[s];
        float *x = malloc((size_t)(n + 1) * sizeof *x), *y = malloc((size_t)(n + 1) * sizeof *y);
        for (int64_t i = 0; i < n; i++) x[i] = sbt_rng_normal(&r) * 100;
        unsigned char *p = NULL;
        size_t bytes = 0;
        CHECK(sbt_pack_encode_floats(SBT_ENC_F32, x, n, &p, &bytes) == SBT_OK && bytes == (size_t)(4 * n));
        CHECK(sbt_pack_decode_floats(SBT_ENC_F32, p, bytes, n, y) == SBT_OK);
        CHECK(n == 0 || !memcmp(x, y, (size_t)n * 4));
        free(p);
        for (int64_t i = 0; i < n; i++) x[i] = sbt_f16_to_f32(sbt_f32_to_f16(x[i])); /* f16-representable */
        CHECK(sbt_pack_encode_floats(SBT_ENC_F16, x, n, &p, &bytes) == SBT_OK && bytes == (size_t)(2 * n));
        CHECK(sbt_pack_decode_floats(SBT_ENC_F16, p, bytes, n, y) == SBT_OK);
        CHECK(n == 0 || !memcmp(x, y, (size_t)n * 4));
        CHECK(sbt_pack_decode_floats(SBT_ENC_F16, p, bytes, n + 1, y) == SBT_ERR_FORMAT);
        CHECK(contains(sbt_last_error(), "f16 payload is"));
        free(p);
        free(x);
        free(y);
    }
    int32_t iv[3] = {-1, 0, 2147483647}, ov[3];
    unsigned char *p = NULL;
    size_t bytes = 0;
    CHECK(sbt_pack_encode_i32(iv, 3, &p, &bytes) == SBT_OK && bytes == 12);
    CHECK(sbt_pack_decode_i32(p, bytes, 3, ov) == SBT_OK && !memcmp(iv, ov, sizeof iv));
    free(p);
}

/* ---- masks and ternary ---- */

static const int64_t shapes[][2] = {{0, 5}, {1, 1}, {1, 7}, {3, 3}, {2, 4}, {5, 13}, {64, 32}, {317, 331}};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

/* Fills t (n trits) with pattern `kind`: random at several keeps, then structured ones. */
static void pattern(sbt_rng *r, int kind, int64_t n, int8_t *t) {
    const float keeps[] = {0.5f, 0.25f, 0.1f, 0.9f};
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case 4: t[i] = 0; break;                             /* all zero */
        case 5: t[i] = 1; break;                             /* all +1 */
        case 6: t[i] = -1; break;                            /* all -1 */
        case 7: t[i] = (int8_t)(i % 3 - 1); break;           /* -1 0 1 cycle */
        case 8: t[i] = (int8_t)(i < n / 2 ? 1 : 0); break;   /* one block */
        case 9: t[i] = (int8_t)(i == n - 1 ? -1 : 0); break; /* only the last */
        default: break;
        }
    }
    if (kind < 4) random_trits(r, n, keeps[kind], t);
}
enum { NPATTERNS = 10 };

static void check_mask_round_trip(sbt_encoding enc, const uint8_t *mask, int64_t rows, int64_t cols,
                                  const float *alpha, int per_row) {
    int64_t n = rows * cols;
    unsigned char *p = NULL;
    size_t bytes = 0;
    uint8_t *back = malloc((size_t)n + 1);
    float alpha_back[400];
    int per_row_back = -1;
    sbt_status st = sbt_pack_encode_mask(enc, mask, rows, cols, alpha, per_row, &p, &bytes);
    if (st == SBT_ERR_ARG && contains(sbt_last_error(), "too sparse")) { /* 1 kept in 100k: by design */
        CHECK(enc == SBT_ENC_SEED_MASK_CODED && n > 100000);
        free(back);
        return;
    }
    REQUIRE(st == SBT_OK);
    CHECK(sbt_pack_validate(enc, p, bytes, rows, cols) == SBT_OK);
    CHECK(sbt_pack_decode_mask(enc, p, bytes, rows, cols, back, alpha_back, &per_row_back) == SBT_OK);
    CHECK(n == 0 || !memcmp(mask, back, (size_t)n));
    CHECK(per_row_back == per_row);
    CHECK(!memcmp(alpha, alpha_back, (per_row ? (size_t)rows : 1) * sizeof(float)));
    size_t head = 1 + 4 * (per_row ? (size_t)rows : 1);
    if (enc == SBT_ENC_SEED_MASK) CHECK(bytes == head + (size_t)(n + 7) / 8); /* exactly 1 bit per weight */
    /* One byte short or one byte over is refused (the coded stream may be empty: then only over). */
    if (bytes > head + (enc == SBT_ENC_SEED_MASK_CODED ? 1 : 0)) {
        CHECK(sbt_pack_validate(enc, p, bytes - 1, rows, cols) == SBT_ERR_FORMAT);
    }
    unsigned char *longer = malloc(bytes + 1);
    memcpy(longer, p, bytes);
    longer[bytes] = 0;
    CHECK(sbt_pack_validate(enc, longer, bytes + 1, rows, cols) == SBT_ERR_FORMAT);
    free(longer);
    free(back);
    free(p);
}

static void test_masks_round_trip(void) {
    sbt_rng r;
    sbt_rng_seed(&r, 2);
    float alpha[400];
    for (int i = 0; i < 400; i++) alpha[i] = sbt_rng_uniform(&r);
    for (int s = 0; s < NSHAPES; s++) {
        int64_t rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
        int8_t *t = malloc((size_t)n + 1);
        uint8_t *mask = malloc((size_t)n + 1);
        for (int k = 0; k < NPATTERNS; k++) {
            pattern(&r, k, n, t);
            for (int64_t i = 0; i < n; i++) mask[i] = t[i] != 0;
            for (int per_row = 0; per_row < 2; per_row++) {
                check_mask_round_trip(SBT_ENC_SEED_MASK, mask, rows, cols, alpha, per_row);
                check_mask_round_trip(SBT_ENC_SEED_MASK_CODED, mask, rows, cols, alpha, per_row);
            }
        }
        free(t);
        free(mask);
    }
}

static void check_ternary_round_trip(sbt_encoding enc, const int8_t *t, int64_t rows, int64_t cols,
                                     const float *alpha, int per_row) {
    int64_t n = rows * cols;
    unsigned char *p = NULL;
    size_t bytes = 0;
    int8_t *back = malloc((size_t)n + 1);
    float alpha_back[400];
    int per_row_back = -1;
    sbt_status st = sbt_pack_encode_ternary(enc, t, rows, cols, alpha, per_row, &p, &bytes);
    if (st == SBT_ERR_ARG && contains(sbt_last_error(), "too sparse")) { /* 1 non-zero in 100k: by design */
        CHECK(enc == SBT_ENC_TERNARY_CODED && n > 100000);
        free(back);
        return;
    }
    REQUIRE(st == SBT_OK);
    CHECK(sbt_pack_validate(enc, p, bytes, rows, cols) == SBT_OK);
    CHECK(sbt_pack_decode_ternary(enc, p, bytes, rows, cols, back, alpha_back, &per_row_back) == SBT_OK);
    CHECK(n == 0 || !memcmp(t, back, (size_t)n));
    CHECK(per_row_back == per_row);
    CHECK(!memcmp(alpha, alpha_back, (per_row ? (size_t)rows : 1) * sizeof(float)));
    size_t head = 1 + 4 * (per_row ? (size_t)rows : 1);
    if (enc == SBT_ENC_TERNARY2) CHECK(bytes == head + (size_t)(n + 3) / 4);
    if (enc == SBT_ENC_TERNARY_B3) CHECK(bytes == head + (size_t)(n + 4) / 5);
    if (bytes > head + (enc == SBT_ENC_TERNARY_CODED ? 2 : 0))
        CHECK(sbt_pack_validate(enc, p, bytes - 1, rows, cols) == SBT_ERR_FORMAT);
    free(back);
    free(p);
}

static void test_ternary_round_trip(void) {
    sbt_rng r;
    sbt_rng_seed(&r, 3);
    float alpha[400];
    for (int i = 0; i < 400; i++) alpha[i] = sbt_rng_uniform(&r) * 3;
    const sbt_encoding encs[] = {SBT_ENC_TERNARY2, SBT_ENC_TERNARY_B3, SBT_ENC_TERNARY_CODED};
    for (int s = 0; s < NSHAPES; s++) {
        int64_t rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
        int8_t *t = malloc((size_t)n + 1);
        for (int k = 0; k < NPATTERNS; k++) {
            pattern(&r, k, n, t);
            for (int e = 0; e < 3; e++)
                for (int per_row = 0; per_row < 2; per_row++)
                    check_ternary_round_trip(encs[e], t, rows, cols, alpha, per_row);
        }
        free(t);
    }
}

/* The TQ1_0 decoding trick of the spec gives the base-3 digits, and only 243 bytes are valid. */
static void test_b3_bytes(void) {
    int valid_bytes = 0;
    for (int b = 0; b < 256; b++) {
        unsigned char payload[6] = {0, 0, 0, 0, 0, (unsigned char)b};
        int8_t t[5];
        if (sbt_pack_decode_ternary(SBT_ENC_TERNARY_B3, payload, 6, 1, 5, t, NULL, NULL) != SBT_OK) {
            CHECK(contains(sbt_last_error(), "is not a valid pack of 5 trits"));
            continue;
        }
        valid_bytes++;
        unsigned char *p = NULL;
        size_t bytes = 0;
        float a = 0;
        CHECK(sbt_pack_encode_ternary(SBT_ENC_TERNARY_B3, t, 1, 5, &a, 0, &p, &bytes) == SBT_OK);
        CHECK(bytes == 6 && p[5] == b); /* re-encodes to the same byte */
        int q = 0;
        for (int i = 0; i < 5; i++) q = 3 * q + t[i] + 1;
        CHECK(b == (q * 256 + 242) / 243);
        free(p);
    }
    CHECK(valid_bytes == 243);
}

static void test_encoder_arguments(void) {
    unsigned char *p = NULL;
    size_t bytes = 0;
    float alpha = 1, nan_alpha = NAN;
    uint8_t mask[2] = {0, 2};
    int8_t t[2] = {0, 2};
    CHECK(sbt_pack_encode_mask(SBT_ENC_SEED_MASK, mask, 1, 2, &alpha, 0, &p, &bytes) == SBT_ERR_ARG);
    CHECK(contains(sbt_last_error(), "mask value 2 at 1"));
    CHECK(sbt_pack_encode_ternary(SBT_ENC_TERNARY2, t, 1, 2, &alpha, 0, &p, &bytes) == SBT_ERR_ARG);
    CHECK(contains(sbt_last_error(), "ternary code 2 at 1"));
    mask[1] = 1;
    CHECK(sbt_pack_encode_mask(SBT_ENC_SEED_MASK, mask, 1, 2, &nan_alpha, 0, &p, &bytes) == SBT_ERR_ARG);
    CHECK(contains(sbt_last_error(), "alpha 0 is not a finite number"));
    CHECK(sbt_pack_encode_mask(SBT_ENC_TERNARY2, mask, 1, 2, &alpha, 0, &p, &bytes) == SBT_ERR_ARG);
    CHECK(p == NULL);
    sbt_encoding e;
    CHECK(sbt_encoding_parse("ternary-b3", &e) == SBT_OK && e == SBT_ENC_TERNARY_B3);
    CHECK(sbt_encoding_parse("int4", &e) == SBT_ERR_PARSE &&
          contains(sbt_last_error(), "unknown encoding 'int4'"));
    for (int i = SBT_ENC_FIRST; i <= SBT_ENC_LAST; i++)
        CHECK(sbt_encoding_parse(sbt_encoding_name(i), &e) == SBT_OK && (int)e == i);
}

/* ---- corrupt payloads: each refused with its reason ---- */

static sbt_status validate_bytes(sbt_encoding enc, const unsigned char *p, size_t bytes, int64_t rows,
                                 int64_t cols, const char *expect) {
    sbt_status st = sbt_pack_validate(enc, p, bytes, rows, cols);
    CHECK_MSG(st == SBT_ERR_FORMAT && contains(sbt_last_error(), expect), "expected '%s', got '%s'", expect,
              st ? sbt_last_error() : "ok");
    return st;
}

static void test_corrupt_payloads(void) {
    sbt_rng r;
    sbt_rng_seed(&r, 4);
    uint8_t mask[1000];
    int8_t t[1000];
    float alpha = 0.5f;
    unsigned char *p = NULL;
    size_t bytes = 0;
    topk_mask(&r, 1000, 0.25f, mask);
    REQUIRE(sbt_pack_encode_mask(SBT_ENC_SEED_MASK_CODED, mask, 10, 100, &alpha, 0, &p, &bytes) == SBT_OK);
    unsigned char *q = malloc(bytes + 8);
    memcpy(q, p, bytes);
    /* The stream cut short, and a stray byte after it. */
    validate_bytes(SBT_ENC_SEED_MASK_CODED, q, bytes - 1, 10, 100, "the coded stream decodes past its end");
    q[bytes] = 0x55;
    validate_bytes(SBT_ENC_SEED_MASK_CODED, q, bytes + 1, 10, 100,
                   "bytes are left over after the coded stream");
    free(q);
    /* k = 1001 > n (varint e9 07 in place of the real count, stream dropped). */
    unsigned char big_k[] = {0, 0, 0, 0, 0x3f, 0xe9, 0x07};
    validate_bytes(SBT_ENC_SEED_MASK_CODED, big_k, sizeof big_k, 10, 100, "1001 non-zero weights of 1000");
    unsigned char non_minimal[] = {0, 0, 0, 0, 0x3f, 0x80, 0x00};
    validate_bytes(SBT_ENC_SEED_MASK_CODED, non_minimal, sizeof non_minimal, 10, 100, "not minimal");
    unsigned char bad_code[] = {0, 0, 0, 0, 0x3f, 0x01, 0xff, 0xff, 0xff, 0xff};
    validate_bytes(SBT_ENC_SEED_MASK_CODED, bad_code, sizeof bad_code, 10, 100, "corrupt");
    /* k = 0 or k = n needs no stream, whatever n; a stream is capped at 1024 weights per byte. */
    unsigned char empty_k[] = {0, 0, 0, 0, 0, 0x00};
    CHECK(sbt_pack_validate(SBT_ENC_SEED_MASK_CODED, empty_k, 6, (int64_t)1 << 40, (int64_t)1 << 8) ==
          SBT_OK);
    unsigned char one_k[] = {0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0};
    validate_bytes(SBT_ENC_SEED_MASK_CODED, one_k, 10, 1, 1024 * 11 + 1,
                   "exceed the limit of 1024 weights per byte");
    validate_bytes(SBT_ENC_SEED_MASK_CODED, one_k, 10, (int64_t)1 << 40, (int64_t)1 << 8, "exceed the limit");
    unsigned char *sparse = calloc(1, 200000);
    sparse[199999] = 1;
    CHECK(sbt_pack_encode_mask(SBT_ENC_SEED_MASK_CODED, sparse, 1, 200000, &alpha, 0, &q, &bytes) ==
          SBT_ERR_ARG);
    CHECK(contains(sbt_last_error(), "too sparse for seed-mask-coded"));
    q = NULL;
    free(sparse);
    free(p);

    /* The alpha block. */
    unsigned char layout2[] = {2, 0, 0, 0, 0, 0};
    validate_bytes(SBT_ENC_SEED_MASK, layout2, 6, 1, 8, "alpha layout 2 is not 0 or 1");
    unsigned char nan_alpha[] = {0, 0, 0, 0xc0, 0x7f, 0};
    validate_bytes(SBT_ENC_SEED_MASK, nan_alpha, 6, 1, 8, "alpha 0 is not a finite number >= 0");
    unsigned char neg_alpha[] = {0, 0, 0, 0x80, 0xbf, 0};
    validate_bytes(SBT_ENC_TERNARY2, neg_alpha, 6, 1, 4, "alpha 0 is not a finite number >= 0");
    unsigned char per_row_short[] = {1, 0, 0, 0, 0, 0};
    validate_bytes(SBT_ENC_SEED_MASK, per_row_short, 6, 2, 4, "too short for 2 alphas");
    validate_bytes(SBT_ENC_SEED_MASK, per_row_short, 0, 2, 4, "payload is empty");

    /* Fixed sizes, padding and invalid codes. */
    unsigned char m7[] = {0, 0, 0, 0, 0, 0x80};
    validate_bytes(SBT_ENC_SEED_MASK, m7, 6, 1, 7, "padding bits after the last weight are not 0");
    validate_bytes(SBT_ENC_SEED_MASK, m7, 6, 1, 9, "seed-mask payload is 6 bytes, 9 weights need 7");
    unsigned char t2_bad[] = {0, 0, 0, 0, 0, 0x0c};
    validate_bytes(SBT_ENC_TERNARY2, t2_bad, 6, 1, 4, "invalid code 11 at weight 1");
    unsigned char t2_pad[] = {0, 0, 0, 0, 0, 0x40};
    validate_bytes(SBT_ENC_TERNARY2, t2_pad, 6, 1, 3, "padding codes after the last weight are not 0");
    unsigned char b3_pad[] = {0, 0, 0, 0, 0, 0};
    /* byte 0 is five -1 trits: fine for 5 weights, not for 4 (the fifth is padding) */
    CHECK(sbt_pack_validate(SBT_ENC_TERNARY_B3, b3_pad, 6, 1, 5) == SBT_OK);
    validate_bytes(SBT_ENC_TERNARY_B3, b3_pad, 6, 1, 4, "padding trits after the last weight are not 0");
    unsigned char tc_pos[] = {0, 0, 0, 0, 0, 0x02, 0x03};
    validate_bytes(SBT_ENC_TERNARY_CODED, tc_pos, 7, 1, 4, "3 positive weights of 2 non-zero");
    validate_bytes(SBT_ENC_F32, tc_pos, 7, 1, 2, "f32 payload is 7 bytes, 2 elements need 8");
    CHECK(sbt_pack_validate((sbt_encoding)42, tc_pos, 7, 1, 2) == SBT_ERR_FORMAT);
    CHECK(contains(sbt_last_error(), "unknown encoding 42"));

    /* Ternary-coded stream cut short. */
    random_trits(&r, 1000, 0.3f, t);
    REQUIRE(sbt_pack_encode_ternary(SBT_ENC_TERNARY_CODED, t, 1, 1000, &alpha, 0, &p, &bytes) == SBT_OK);
    validate_bytes(SBT_ENC_TERNARY_CODED, p, bytes - 1, 1, 1000, "the coded stream decodes past its end");
    free(p);
}

/* ---- sizes ---- */

static double log2_binomial(int64_t n, int64_t k) {
    return (lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1)) / log(2.0);
}

static size_t zlib_bytes(const void *data, size_t len) {
    uLongf out_len = compressBound((uLong)len);
    unsigned char *out = malloc(out_len);
    CHECK(compress2(out, &out_len, data, (uLong)len, 9) == Z_OK);
    free(out);
    return (size_t)out_len;
}

static size_t payload_bytes(sbt_encoding enc, const void *values, int64_t rows, int64_t cols,
                            const float *alpha, size_t *zlib_of_payload) {
    unsigned char *p = NULL;
    size_t bytes = 0;
    sbt_status st = sbt_encoding_kind(enc) == SBT_ENC_KIND_MASK
                        ? sbt_pack_encode_mask(enc, values, rows, cols, alpha, 0, &p, &bytes)
                        : sbt_pack_encode_ternary(enc, values, rows, cols, alpha, 0, &p, &bytes);
    CHECK(st == SBT_OK);
    if (zlib_of_payload) *zlib_of_payload = zlib_bytes(p, bytes);
    free(p);
    return bytes;
}

/* 102,400 weights (a 400 x 256 layer): the coded payloads are within 3 % of the order-0
 * entropy, never below the information content log2 C(n, k), and below zlib. */
static void test_coded_sizes_near_the_bound(void) {
    enum { ROWS = 400, COLS = 256, N = ROWS * COLS };
    const float keeps[] = {0.5f, 0.25f, 0.1f};
    sbt_rng r;
    sbt_rng_seed(&r, 5);
    uint8_t *mask = malloc(N);
    int8_t *t = malloc(N);
    float alpha = 0.02f;
    for (int i = 0; i < 3; i++) {
        topk_mask(&r, N, keeps[i], mask);
        int64_t k = 0, npos = 0;
        for (int j = 0; j < N; j++) k += mask[j];
        for (int j = 0; j < N; j++)
            t[j] = (int8_t)(mask[j] ? (sbt_rng_below(&r, 2) ? 1 : -1) : 0), npos += t[j] > 0;
        size_t z_plain = 0, z_t2 = 0;
        size_t coded = payload_bytes(SBT_ENC_SEED_MASK_CODED, mask, ROWS, COLS, &alpha, NULL);
        payload_bytes(SBT_ENC_SEED_MASK, mask, ROWS, COLS, &alpha, &z_plain);
        double bound = sbt_pack_mask_bound_bits(N, k);
        CHECK_MSG(8.0 * coded <= 1.03 * bound, "keep %g: mask %zu bytes, bound %.0f bits", keeps[i], coded,
                  bound);
        CHECK(8.0 * coded >= log2_binomial(N, k));
        CHECK_MSG(coded < z_plain && coded < zlib_bytes(mask, N), "keep %g: coded %zu, zlib %zu", keeps[i],
                  coded, z_plain);
        size_t tcoded = payload_bytes(SBT_ENC_TERNARY_CODED, t, ROWS, COLS, &alpha, NULL);
        payload_bytes(SBT_ENC_TERNARY2, t, ROWS, COLS, &alpha, &z_t2);
        double tbound = sbt_pack_ternary_bound_bits(N, k, npos);
        double nominal = N * (sbt_pack_hb(keeps[i]) + keeps[i]);
        CHECK_MSG(8.0 * tcoded <= 1.03 * tbound, "keep %g: ternary %zu bytes, bound %.0f bits", keeps[i],
                  tcoded, tbound);
        CHECK(8.0 * tcoded <= 1.03 * nominal);
        CHECK(8.0 * tcoded >= log2_binomial(N, k) + log2_binomial(k, npos));
        CHECK(tcoded < z_t2 && tcoded < zlib_bytes(t, N));
        /* sbt_pack_payload_bound_bits recomputes the same bound from a payload. */
        unsigned char *p = NULL;
        size_t bytes = 0;
        CHECK(sbt_pack_encode_ternary(SBT_ENC_TERNARY_B3, t, ROWS, COLS, &alpha, 0, &p, &bytes) == SBT_OK);
        CHECK_NEAR(sbt_pack_payload_bound_bits(SBT_ENC_TERNARY_B3, p, bytes, ROWS, COLS), tbound,
                   1e-6 * tbound);
        CHECK(sbt_pack_payload_bound_bits(SBT_ENC_TERNARY_B3, p, bytes - 1, ROWS, COLS) == -1);
        free(p);
    }
    CHECK_NEAR(sbt_pack_hb(0.25), 0.811278, 1e-6);
    CHECK_NEAR(sbt_pack_hb(0.1), 0.468996, 1e-6);
    free(mask);
    free(t);
}

int main(void) {
    RUN(test_f16_every_value_round_trips);
    RUN(test_f16_rounds_to_nearest_even);
    RUN(test_floats_round_trip);
    RUN(test_masks_round_trip);
    RUN(test_ternary_round_trip);
    RUN(test_b3_bytes);
    RUN(test_encoder_arguments);
    RUN(test_corrupt_payloads);
    RUN(test_coded_sizes_near_the_bound);
    return check_summary();
}
