/* pack_codec.c - the plain .sbt encodings (f32, f16, i32, text), encoding names, payload
 * validation and entropy bounds (formats/sbt.md section 3). */
#include "io/pack_internal.h"
#include "sbt/pack.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const enc_names[] = {
    NULL,       "text",       "f32",           "f16", "seed-mask", "seed-mask-coded",
    "ternary2", "ternary-b3", "ternary-coded", "i32"};

const char *sbt_encoding_name(int encoding) {
    return encoding >= SBT_ENC_FIRST && encoding <= SBT_ENC_LAST ? enc_names[encoding] : "?";
}

sbt_status sbt_encoding_parse(const char *name, sbt_encoding *out) {
    for (int e = SBT_ENC_FIRST; e <= SBT_ENC_LAST; e++)
        if (name && !strcmp(name, enc_names[e])) {
            *out = (sbt_encoding)e;
            return SBT_OK;
        }
    return sbt_fail(SBT_ERR_PARSE,
                    "unknown encoding '%s' (known: f32, f16, seed-mask, seed-mask-coded, ternary2, "
                    "ternary-b3, ternary-coded, i32, text)",
                    name ? name : "(null)");
}

int sbt_encoding_kind(int encoding) {
    switch (encoding) {
    case SBT_ENC_SEED_MASK:
    case SBT_ENC_SEED_MASK_CODED: return SBT_ENC_KIND_MASK;
    case SBT_ENC_TERNARY2:
    case SBT_ENC_TERNARY_B3:
    case SBT_ENC_TERNARY_CODED: return SBT_ENC_KIND_TERNARY;
    }
    return 0;
}

/* ---- f16 ---- */

uint16_t sbt_f32_to_f16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    int exp = (int)((u >> 23) & 0xFF);
    uint32_t man = u & 0x7FFFFFu;
    if (exp == 0xFF) /* infinity, or NaN made quiet so that it stays a NaN */
        return (uint16_t)(sign | 0x7C00u | (man ? 0x200u | (man >> 13) : 0));
    int e = exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7C00u);
    if (e <= 0) { /* subnormal f16: m = M >> (14 - e), M the 24-bit significand */
        if (e < -10) return sign;
        man |= 0x800000u;
        int shift = 14 - e;
        uint32_t r = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++; /* may carry into the smallest normal */
        return (uint16_t)(sign | r);
    }
    uint32_t r = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1))) r++; /* may carry up to infinity */
    return (uint16_t)(sign | r);
}

float sbt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, u;
    if (exp == 0x1F) {
        u = sign | 0x7F800000u | (man << 13);
    } else if (exp == 0) {
        float f = (float)man * 0x1p-24f; /* exact: man < 2^10 */
        return sign ? -f : f;
    } else {
        u = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- fixed-size encodings ---- */

static int elem_bytes(sbt_encoding enc) {
    switch (enc) {
    case SBT_ENC_F32:
    case SBT_ENC_I32: return 4;
    case SBT_ENC_F16: return 2;
    case SBT_ENC_TEXT: return 1;
    default: return 0;
    }
}

static sbt_status check_fixed_length(sbt_encoding enc, size_t bytes, int64_t n) {
    int eb = elem_bytes(enc);
    if (n < 0 || (uint64_t)n > PACK_MAX_COUNT)
        return sbt_fail(SBT_ERR_FORMAT, "%s payload: element count is negative or above 2^48",
                        sbt_encoding_name(enc));
    if ((uint64_t)bytes != (uint64_t)n * (uint64_t)eb)
        return sbt_fail(SBT_ERR_FORMAT, "%s payload is %zu bytes, %" PRId64 " elements need %" PRIu64,
                        sbt_encoding_name(enc), bytes, n, (uint64_t)n * (uint64_t)eb);
    return SBT_OK;
}

static sbt_status alloc_out(int64_t n, int eb, unsigned char **out, size_t *out_bytes) {
    if (!out || !out_bytes) return sbt_fail(SBT_ERR_ARG, "pack: invalid argument");
    *out = NULL;
    *out_bytes = 0;
    if (n < 0 || (uint64_t)n > PACK_MAX_COUNT || (uint64_t)n * (uint64_t)eb > SIZE_MAX - 1)
        return sbt_fail(SBT_ERR_ARG, "pack: element count %" PRId64 " out of range", n);
    *out = malloc((size_t)n * (size_t)eb + 1); /* + 1: malloc(0) may return NULL */
    if (!*out) return sbt_fail(SBT_ERR_NOMEM, "pack: out of memory");
    *out_bytes = (size_t)n * (size_t)eb;
    return SBT_OK;
}

sbt_status sbt_pack_encode_floats(sbt_encoding enc, const float *x, int64_t n, unsigned char **out,
                                  size_t *out_bytes) {
    if (enc != SBT_ENC_F32 && enc != SBT_ENC_F16)
        return sbt_fail(SBT_ERR_ARG, "pack: %s is not a float encoding", sbt_encoding_name(enc));
    if (n > 0 && !x) return sbt_fail(SBT_ERR_ARG, "pack: no data");
    sbt_status st = alloc_out(n, elem_bytes(enc), out, out_bytes);
    if (st) return st;
    for (int64_t i = 0; i < n; i++) {
        if (enc == SBT_ENC_F16) {
            pack_put_u16(*out + 2 * i, sbt_f32_to_f16(x[i]));
        } else {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            pack_put_u32(*out + 4 * i, u);
        }
    }
    return SBT_OK;
}

sbt_status sbt_pack_decode_floats(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t n,
                                  float *x) {
    if (enc != SBT_ENC_F32 && enc != SBT_ENC_F16)
        return sbt_fail(SBT_ERR_ARG, "pack: %s is not a float encoding", sbt_encoding_name(enc));
    sbt_status st = check_fixed_length(enc, bytes, n);
    if (st || !x) return st;
    for (int64_t i = 0; i < n; i++) {
        if (enc == SBT_ENC_F16) {
            x[i] = sbt_f16_to_f32(pack_get_u16(in + 2 * i));
        } else {
            uint32_t u = pack_get_u32(in + 4 * i);
            memcpy(&x[i], &u, 4);
        }
    }
    return SBT_OK;
}

sbt_status sbt_pack_encode_i32(const int32_t *x, int64_t n, unsigned char **out, size_t *out_bytes) {
    if (n > 0 && !x) return sbt_fail(SBT_ERR_ARG, "pack: no data");
    sbt_status st = alloc_out(n, 4, out, out_bytes);
    if (st) return st;
    for (int64_t i = 0; i < n; i++) pack_put_u32(*out + 4 * i, (uint32_t)x[i]);
    return SBT_OK;
}

sbt_status sbt_pack_decode_i32(const unsigned char *in, size_t bytes, int64_t n, int32_t *x) {
    sbt_status st = check_fixed_length(SBT_ENC_I32, bytes, n);
    if (st || !x) return st;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = pack_get_u32(in + 4 * i);
        memcpy(&x[i], &u, 4);
    }
    return SBT_OK;
}

/* ---- any encoding ---- */

sbt_status sbt_pack_validate(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t rows,
                             int64_t cols) {
    int64_t n = pack_count(rows, cols);
    switch (sbt_encoding_kind(enc)) {
    case SBT_ENC_KIND_MASK: return sbt_pack_decode_mask(enc, in, bytes, rows, cols, NULL, NULL, NULL);
    case SBT_ENC_KIND_TERNARY: return sbt_pack_decode_ternary(enc, in, bytes, rows, cols, NULL, NULL, NULL);
    }
    if (!elem_bytes(enc)) return sbt_fail(SBT_ERR_FORMAT, "unknown encoding %d", (int)enc);
    return check_fixed_length(enc, bytes, n);
}

double sbt_pack_hb(double p) {
    if (p <= 0 || p >= 1) return 0;
    return -p * log2(p) - (1 - p) * log2(1 - p);
}

double sbt_pack_mask_bound_bits(int64_t n, int64_t kept) {
    return n > 0 ? (double)n * sbt_pack_hb((double)kept / (double)n) : 0;
}

double sbt_pack_ternary_bound_bits(int64_t n, int64_t nnz, int64_t npos) {
    double b = sbt_pack_mask_bound_bits(n, nnz);
    return nnz > 0 ? b + (double)nnz * sbt_pack_hb((double)npos / (double)nnz) : b;
}

/* Decodes a mask or ternary payload into a scratch array and returns its bound. */
static double coded_bound(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t rows, int64_t cols,
                          int64_t n) {
    int8_t *t = malloc((size_t)n + 1);
    float *alpha = malloc(((size_t)(rows > 1 ? rows : 1)) * sizeof *alpha);
    double bits = -1;
    int kind = sbt_encoding_kind(enc);
    sbt_status st = SBT_ERR_NOMEM;
    if (t && alpha)
        st = kind == SBT_ENC_KIND_MASK
                 ? sbt_pack_decode_mask(enc, in, bytes, rows, cols, (uint8_t *)t, alpha, NULL)
                 : sbt_pack_decode_ternary(enc, in, bytes, rows, cols, t, alpha, NULL);
    if (st == SBT_OK) {
        int64_t nnz = 0, npos = 0;
        for (int64_t i = 0; i < n; i++) nnz += t[i] != 0, npos += t[i] > 0;
        bits = kind == SBT_ENC_KIND_MASK ? sbt_pack_mask_bound_bits(n, nnz)
                                         : sbt_pack_ternary_bound_bits(n, nnz, npos);
    }
    free(t);
    free(alpha);
    return bits;
}

double sbt_pack_payload_bound_bits(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t rows,
                                   int64_t cols) {
    int64_t n = pack_count(rows, cols);
    if (n < 0 || sbt_pack_validate(enc, in, bytes, rows, cols) != SBT_OK) return -1;
    if (sbt_encoding_kind(enc)) return coded_bound(enc, in, bytes, rows, cols, n);
    return 8.0 * elem_bytes(enc) * (double)n;
}
