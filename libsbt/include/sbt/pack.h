/* sbt/pack.h - the weight encodings of the deployable .sbt file, as pure codecs over arrays.
 *
 * Each encoding turns an array (floats, a keep mask, ternary codes) into the payload bytes
 * that formats/sbt.md section 3 specifies, and back. Encoders allocate the payload;
 * decoders check every length, count, padding bit and code of the payload against the
 * tensor's shape before writing an output, and refuse a coded stream that decodes past its
 * end or leaves bytes over. A decoder given NULL output arrays only validates (this is what
 * the .sbt reader does for every section it loads).
 *
 *     unsigned char *payload = NULL;
 *     size_t bytes = 0;
 *     // mask[i] in {0, 1}; one alpha for the layer
 *     if (sbt_pack_encode_mask(SBT_ENC_SEED_MASK_CODED, mask, rows, cols, &alpha, 0, &payload, &bytes)) ...
 *     double bound = sbt_pack_mask_bound_bits(rows * cols, kept);   // n * Hb(kept / n)
 *     ...
 *     int per_row = 0;
 *     if (sbt_pack_decode_mask(SBT_ENC_SEED_MASK_CODED, payload, bytes, rows, cols, mask2, alpha2,
 *                              &per_row)) ...
 *     free(payload);
 *
 * Shapes: a tensor is `rows` x `cols` (rows = first dimension, cols = the product of the
 * others; a 0-d tensor is 1 x 1), weights in row-major order. Alphas are 1 value, or `rows`
 * values when alpha_per_row is set; decoders write into an array of max(rows, 1) floats.
 *
 * Ownership: every *out payload is malloc'ed and the caller frees it with free(). Errors
 * are SBT_ERR_ARG for bad arguments to an encoder and SBT_ERR_FORMAT for a payload that a
 * decoder refuses, with a message saying why (the caller adds the file and section).
 */
#ifndef SBT_PACK_H
#define SBT_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "sbt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Encoding tags as stored in the file (formats/sbt.md section 3); stable. */
typedef enum sbt_encoding {
    SBT_ENC_TEXT = 1,
    SBT_ENC_F32 = 2,
    SBT_ENC_F16 = 3,
    SBT_ENC_SEED_MASK = 4,
    SBT_ENC_SEED_MASK_CODED = 5,
    SBT_ENC_TERNARY2 = 6,
    SBT_ENC_TERNARY_B3 = 7,
    SBT_ENC_TERNARY_CODED = 8,
    SBT_ENC_I32 = 9
} sbt_encoding;
#define SBT_ENC_FIRST 1
#define SBT_ENC_LAST 9

/* "f32", "seed-mask-coded", ...; "?" for a tag this build does not know. */
const char *sbt_encoding_name(int encoding);
/* The tag of a name as sbt_encoding_name spells it; SBT_ERR_PARSE naming the known ones. */
sbt_status sbt_encoding_parse(const char *name, sbt_encoding *out);
/* 1 for the mask encodings (4, 5), 2 for the ternary ones (6, 7, 8), 0 otherwise. */
int sbt_encoding_kind(int encoding);
#define SBT_ENC_KIND_MASK 1
#define SBT_ENC_KIND_TERNARY 2

/* ---- floats and integers (f32, f16, i32, text) ---- */

/* IEEE binary16 <-> binary32. To f16 rounds to nearest, ties to even; overflow gives
 * infinity, NaN stays NaN (quiet, sign kept). Every f16 value round-trips exactly. */
uint16_t sbt_f32_to_f16(float x);
float sbt_f16_to_f32(uint16_t h);

/* f32 or f16 payload of n floats. */
sbt_status sbt_pack_encode_floats(sbt_encoding enc, const float *x, int64_t n, unsigned char **out,
                                  size_t *out_bytes);
sbt_status sbt_pack_decode_floats(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t n,
                                  float *x);
/* i32 payload of n values. */
sbt_status sbt_pack_encode_i32(const int32_t *x, int64_t n, unsigned char **out, size_t *out_bytes);
sbt_status sbt_pack_decode_i32(const unsigned char *in, size_t bytes, int64_t n, int32_t *x);

/* ---- keep masks of seeded sparse-binary weights (seed-mask, seed-mask-coded) ---- */

/* mask[i] must be 0 or 1; alpha holds 1 value, or `rows` when alpha_per_row. */
sbt_status sbt_pack_encode_mask(sbt_encoding enc, const uint8_t *mask, int64_t rows, int64_t cols,
                                const float *alpha, int alpha_per_row, unsigned char **out,
                                size_t *out_bytes);
/* mask (rows*cols bytes), alpha (max(rows, 1) floats) and alpha_per_row may each be NULL. */
sbt_status sbt_pack_decode_mask(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t rows,
                                int64_t cols, uint8_t *mask, float *alpha, int *alpha_per_row);

/* ---- ternary weights alpha * t, t in {-1, 0, +1} (ternary2, ternary-b3, ternary-coded) ---- */

sbt_status sbt_pack_encode_ternary(sbt_encoding enc, const int8_t *codes, int64_t rows, int64_t cols,
                                   const float *alpha, int alpha_per_row, unsigned char **out,
                                   size_t *out_bytes);
sbt_status sbt_pack_decode_ternary(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t rows,
                                   int64_t cols, int8_t *codes, float *alpha, int *alpha_per_row);

/* ---- any encoding ---- */

/* Validates a payload of encoding `enc` for n = rows * cols elements (text: n bytes)
 * without decoding it anywhere: the check the .sbt reader runs on every section. */
sbt_status sbt_pack_validate(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t rows,
                             int64_t cols);

/* ---- entropy bounds, in bits ---- */

/* Hb(p) = -p log2 p - (1-p) log2(1-p), 0 at p = 0 and 1. */
double sbt_pack_hb(double p);
/* n * Hb(kept / n): the order-0 entropy of a mask with `kept` ones in n. */
double sbt_pack_mask_bound_bits(int64_t n, int64_t kept);
/* n Hb(nnz/n) + nnz Hb(npos/nnz): the order-0 entropy of n trits with nnz non-zeros, npos +1. */
double sbt_pack_ternary_bound_bits(int64_t n, int64_t nnz, int64_t npos);
/* The bound of a valid payload: the mask or ternary bound from its counts, 32 n for
 * f32/i32, 16 n for f16, 8 n for text (no model of those). -1 if the payload is invalid. */
double sbt_pack_payload_bound_bits(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t rows,
                                   int64_t cols);

#ifdef __cplusplus
}
#endif
#endif
