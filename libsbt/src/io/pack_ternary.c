/* pack_ternary.c - the .sbt encodings of sparse-binary and ternary weights: seed-mask,
 * seed-mask-coded, ternary2, ternary-b3, ternary-coded (formats/sbt.md 3.2-3.8).
 *
 * Every payload starts with the alpha block. The coded encodings store the counts (kept
 * weights, non-zeros and positives) and code each bit with the probability that the counts
 * left imply: enumerative coding through the range coder, log2 C(n, k) bits, which no
 * order-0 model can beat for a "k of n" top-k mask. Decoders double as validators: with
 * NULL outputs they run every check and write nothing.
 */
#include "io/pack_internal.h"
#include "sbt/pack.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the alpha block ---- */

static uint64_t alpha_count(int per_row, int64_t rows) { return per_row ? (uint64_t)rows : 1; }

static sbt_status check_encode_args(sbt_encoding enc, int64_t rows, int64_t cols, const float *alpha,
                                    int per_row, const void *values, int64_t *n) {
    *n = pack_count(rows, cols);
    if (*n < 0) return sbt_fail(SBT_ERR_ARG, "pack: %s: shape out of range", sbt_encoding_name(enc));
    if (!alpha || (*n > 0 && !values))
        return sbt_fail(SBT_ERR_ARG, "pack: %s: no data", sbt_encoding_name(enc));
    for (uint64_t i = 0; i < alpha_count(per_row, rows); i++)
        if (!isfinite(alpha[i]) || alpha[i] < 0)
            return sbt_fail(SBT_ERR_ARG, "pack: %s: alpha %" PRIu64 " is not a finite number >= 0",
                            sbt_encoding_name(enc), i);
    return SBT_OK;
}

static size_t put_alpha_block(unsigned char *p, const float *alpha, int per_row, int64_t rows) {
    p[0] = per_row ? 1 : 0;
    for (uint64_t i = 0; i < alpha_count(per_row, rows); i++) {
        uint32_t u;
        memcpy(&u, &alpha[i], 4);
        pack_put_u32(p + 1 + 4 * i, u);
    }
    return 1 + 4 * (size_t)alpha_count(per_row, rows);
}

/* Reads and checks the alpha block at the start of `in`; *pos is then just after it. */
static sbt_status get_alpha_block(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t rows,
                                  size_t *pos, float *alpha, int *per_row_out) {
    const char *name = sbt_encoding_name(enc);
    if (bytes < 1) return sbt_fail(SBT_ERR_FORMAT, "%s payload is empty (no alpha block)", name);
    if (in[0] > 1) return sbt_fail(SBT_ERR_FORMAT, "%s payload: alpha layout %u is not 0 or 1", name, in[0]);
    int per_row = in[0];
    uint64_t count = alpha_count(per_row, rows);
    if (count > (bytes - 1) / 4)
        return sbt_fail(SBT_ERR_FORMAT, "%s payload is %zu bytes, too short for %" PRIu64 " alphas", name,
                        bytes, count);
    for (uint64_t i = 0; i < count; i++) {
        uint32_t u = pack_get_u32(in + 1 + 4 * i);
        float a;
        memcpy(&a, &u, 4);
        if (!isfinite(a) || a < 0)
            return sbt_fail(SBT_ERR_FORMAT, "%s payload: alpha %" PRIu64 " is not a finite number >= 0", name,
                            i);
        if (alpha) alpha[i] = a;
    }
    if (per_row_out) *per_row_out = per_row;
    *pos = 1 + 4 * (size_t)count;
    return SBT_OK;
}

static sbt_status alloc_payload(size_t bytes, unsigned char **out, size_t *out_bytes) {
    if (!out || !out_bytes) return sbt_fail(SBT_ERR_ARG, "pack: invalid argument");
    *out = calloc(1, bytes + 1);
    *out_bytes = *out ? bytes : 0;
    return *out ? SBT_OK : sbt_fail(SBT_ERR_NOMEM, "pack: out of memory for %zu bytes", bytes);
}

/* Fixed-size bodies must fill the payload exactly. */
static sbt_status check_body_length(sbt_encoding enc, size_t bytes, size_t pos, uint64_t body, int64_t n) {
    if ((uint64_t)(bytes - pos) != body)
        return sbt_fail(SBT_ERR_FORMAT, "%s payload is %zu bytes, %" PRId64 " weights need %" PRIu64,
                        sbt_encoding_name(enc), bytes, n, (uint64_t)pos + body);
    return SBT_OK;
}

/* ---- the coded bodies: counts, then the range-coded stream ---- */

/* Codes t[0..n) (0/1 masks as trits 0/+1 with signs) given nnz non-zeros, nneg of them -1.
 * signs: whether sign bits are coded (ternary-coded) or not (seed-mask-coded). */
static int encode_stream(pack_rc_enc *e, const int8_t *t, const uint8_t *mask, int64_t n, uint64_t nnz,
                         uint64_t nneg, int signs) {
    uint64_t k_left = nnz, neg_left = nneg, nz_left = nnz;
    for (int64_t i = 0; i < n && k_left > 0; i++) {
        uint64_t n_left = (uint64_t)(n - i);
        int kept = t ? t[i] != 0 : mask[i] != 0;
        if (k_left < n_left) pack_rc_enc_bit(e, kept, pack_rc_p0(n_left - k_left, n_left));
        if (!kept) continue;
        k_left--;
        if (!signs) continue;
        int neg = t[i] < 0;
        if (neg_left > 0 && neg_left < nz_left)
            pack_rc_enc_bit(e, neg, pack_rc_p0(nz_left - neg_left, nz_left));
        nz_left--;
        neg_left -= (uint64_t)neg;
    }
    return pack_rc_enc_finish(e);
}

/* The inverse of encode_stream; out (trits, or 0/1 when !signs) may be NULL. NULL on
 * success, else why the stream is refused. */
static const char *decode_stream(const unsigned char *s, size_t len, int64_t n, uint64_t nnz, uint64_t nneg,
                                 int signs, int8_t *out) {
    pack_rc_dec d;
    pack_rc_dec_init(&d, s, len);
    uint64_t k_left = nnz, neg_left = nneg, nz_left = nnz;
    for (int64_t i = 0; i < n; i++) {
        uint64_t n_left = (uint64_t)(n - i);
        int kept = k_left == 0        ? 0
                   : k_left == n_left ? 1
                                      : pack_rc_dec_bit(&d, pack_rc_p0(n_left - k_left, n_left));
        int neg = 0;
        if (kept && signs) {
            neg = neg_left == 0         ? 0
                  : neg_left == nz_left ? 1
                                        : pack_rc_dec_bit(&d, pack_rc_p0(nz_left - neg_left, nz_left));
            nz_left--;
            neg_left -= (uint64_t)neg;
        }
        k_left -= (uint64_t)kept;
        if (d.past_end) return "the coded stream decodes past its end";
        if (d.bad) return "the coded stream is corrupt (code outside the range)";
        if (out) out[i] = (int8_t)(kept ? (neg ? -1 : 1) : 0);
        if (k_left == 0 && !out) break; /* the rest is forced to 0 */
    }
    if (d.pos != len) return "bytes are left over after the coded stream";
    return NULL;
}

static sbt_status encode_coded(sbt_encoding enc, const int8_t *t, const uint8_t *mask, int64_t n,
                               int64_t rows, const float *alpha, int per_row, unsigned char **out,
                               size_t *out_bytes) {
    uint64_t nnz = 0, nneg = 0;
    for (int64_t i = 0; i < n; i++) {
        nnz += t ? t[i] != 0 : mask[i];
        nneg += t ? t[i] < 0 : 0;
    }
    int signs = enc == SBT_ENC_TERNARY_CODED;
    pack_rc_enc e;
    pack_rc_enc_init(&e);
    if (encode_stream(&e, t, mask, n, nnz, nneg, signs)) {
        free(e.buf);
        return sbt_fail(SBT_ERR_NOMEM, "pack: out of memory");
    }
    size_t head = 1 + 4 * (size_t)alpha_count(per_row, rows) + (size_t)pack_varint_size(nnz) +
                  (signs ? (size_t)pack_varint_size(nnz - nneg) : 0);
    sbt_status st = alloc_payload(head + e.len, out, out_bytes);
    if (st == SBT_OK) {
        size_t pos = put_alpha_block(*out, alpha, per_row, rows);
        pos += (size_t)pack_put_varint(*out + pos, nnz);
        if (signs) pos += (size_t)pack_put_varint(*out + pos, nnz - nneg);
        if (e.len) memcpy(*out + pos, e.buf, e.len);
    }
    size_t stream_len = e.len;
    free(e.buf);
    if (st == SBT_OK && stream_len > 0 &&
        (uint64_t)n > PACK_CODED_WEIGHTS_PER_BYTE * ((uint64_t)*out_bytes + 1)) {
        free(*out);
        *out = NULL;
        *out_bytes = 0;
        return sbt_fail(SBT_ERR_ARG,
                        "pack: %" PRId64 " weights with %" PRIu64 " kept are too sparse for %s "
                        "(over 1024 weights per byte); use seed-mask or ternary2",
                        n, nnz, sbt_encoding_name(enc));
    }
    return st;
}

/* Counts that force every bit (no stream): all kept or none, all signs alike. */
static int forced(int64_t n, uint64_t nnz, uint64_t npos, int signs) {
    return (nnz == 0 || nnz == (uint64_t)n) && (!signs || npos == 0 || npos == nnz);
}

static sbt_status decode_coded(sbt_encoding enc, const unsigned char *in, size_t bytes, size_t pos, int64_t n,
                               int8_t *out) {
    const char *name = sbt_encoding_name(enc), *why;
    int signs = enc == SBT_ENC_TERNARY_CODED;
    uint64_t nnz = 0, npos = 0;
    if ((why = pack_get_varint(in, &pos, bytes, &nnz)) ||
        (signs && (why = pack_get_varint(in, &pos, bytes, &npos))))
        return sbt_fail(SBT_ERR_FORMAT, "%s payload: count: %s", name, why);
    if (nnz > (uint64_t)n)
        return sbt_fail(SBT_ERR_FORMAT, "%s payload: %" PRIu64 " non-zero weights of %" PRId64, name, nnz, n);
    if (npos > nnz)
        return sbt_fail(SBT_ERR_FORMAT, "%s payload: %" PRIu64 " positive weights of %" PRIu64 " non-zero",
                        name, npos, nnz);
    if (forced(n, nnz, npos, signs)) { /* no stream: O(1) to validate, whatever n */
        if (pos != bytes)
            return sbt_fail(SBT_ERR_FORMAT, "%s payload: bytes are left over after the coded stream", name);
        if (out) memset(out, nnz == 0 ? 0 : (!signs || npos == nnz) ? 1 : -1, (size_t)n);
        return SBT_OK;
    }
    if ((uint64_t)n > PACK_CODED_WEIGHTS_PER_BYTE * ((uint64_t)bytes + 1))
        return sbt_fail(SBT_ERR_FORMAT,
                        "%s payload: %" PRId64 " weights in %zu bytes exceed the limit of 1024 "
                        "weights per byte",
                        name, n, bytes);
    why = decode_stream(in + pos, bytes - pos, n, nnz, nnz - npos, signs, out);
    return why ? sbt_fail(SBT_ERR_FORMAT, "%s payload: %s", name, why) : SBT_OK;
}

/* ---- masks ---- */

sbt_status sbt_pack_encode_mask(sbt_encoding enc, const uint8_t *mask, int64_t rows, int64_t cols,
                                const float *alpha, int alpha_per_row, unsigned char **out,
                                size_t *out_bytes) {
    int64_t n;
    if (enc != SBT_ENC_SEED_MASK && enc != SBT_ENC_SEED_MASK_CODED)
        return sbt_fail(SBT_ERR_ARG, "pack: %s is not a mask encoding", sbt_encoding_name(enc));
    sbt_status st = check_encode_args(enc, rows, cols, alpha, alpha_per_row, mask, &n);
    if (st) return st;
    for (int64_t i = 0; i < n; i++)
        if (mask[i] > 1)
            return sbt_fail(SBT_ERR_ARG, "pack: mask value %u at %" PRId64 " is not 0 or 1", mask[i], i);
    if (enc == SBT_ENC_SEED_MASK_CODED)
        return encode_coded(enc, NULL, mask, n, rows, alpha, alpha_per_row, out, out_bytes);
    size_t head = 1 + 4 * (size_t)alpha_count(alpha_per_row, rows);
    if ((st = alloc_payload(head + (size_t)(n + 7) / 8, out, out_bytes))) return st;
    unsigned char *p = *out + put_alpha_block(*out, alpha, alpha_per_row, rows);
    for (int64_t i = 0; i < n; i++) p[i >> 3] |= (unsigned char)(mask[i] << (i & 7));
    return SBT_OK;
}

sbt_status sbt_pack_decode_mask(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t rows,
                                int64_t cols, uint8_t *mask, float *alpha, int *alpha_per_row) {
    int64_t n = pack_count(rows, cols);
    size_t pos = 0;
    if (enc != SBT_ENC_SEED_MASK && enc != SBT_ENC_SEED_MASK_CODED)
        return sbt_fail(SBT_ERR_ARG, "pack: %s is not a mask encoding", sbt_encoding_name(enc));
    if (n < 0) return sbt_fail(SBT_ERR_FORMAT, "%s payload: shape out of range", sbt_encoding_name(enc));
    sbt_status st = get_alpha_block(enc, in, bytes, rows, &pos, alpha, alpha_per_row);
    if (st) return st;
    if (enc == SBT_ENC_SEED_MASK_CODED) return decode_coded(enc, in, bytes, pos, n, (int8_t *)mask);
    if ((st = check_body_length(enc, bytes, pos, ((uint64_t)n + 7) / 8, n))) return st;
    const unsigned char *p = in + pos;
    if ((n & 7) && (p[n >> 3] >> (n & 7)))
        return sbt_fail(SBT_ERR_FORMAT, "seed-mask payload: padding bits after the last weight are not 0");
    if (mask)
        for (int64_t i = 0; i < n; i++) mask[i] = (p[i >> 3] >> (i & 7)) & 1;
    return SBT_OK;
}

/* ---- ternary ---- */

static const uint8_t pow3[5] = {1, 3, 9, 27, 81};

/* The TQ1_0 byte of q = 81 u0 + 27 u1 + 9 u2 + 3 u3 + u4 (formats/sbt.md 3.6). */
static unsigned char b3_byte(unsigned q) { return (unsigned char)((q * 256 + 242) / 243); }

static void encode_b3(const int8_t *t, int64_t n, unsigned char *p) {
    for (int64_t g = 0; g < (n + 4) / 5; g++) {
        unsigned q = 0;
        for (int64_t j = 5 * g; j < 5 * g + 5; j++) q = 3 * q + (unsigned)(j < n ? t[j] + 1 : 1);
        p[g] = b3_byte(q);
    }
}

/* valid[b] = 1 for the 243 bytes b3_byte produces. */
static void b3_valid_table(uint8_t valid[256]) {
    memset(valid, 0, 256);
    for (unsigned q = 0; q < 243; q++) valid[b3_byte(q)] = 1;
}

static int b3_trit(unsigned char b, int i) { return (int)(((unsigned)(uint8_t)(b * pow3[i]) * 3) >> 8) - 1; }

static sbt_status decode_b3(const unsigned char *p, int64_t n, int8_t *out) {
    uint8_t valid[256];
    b3_valid_table(valid);
    for (int64_t g = 0; g < (n + 4) / 5; g++) {
        if (!valid[p[g]])
            return sbt_fail(SBT_ERR_FORMAT,
                            "ternary-b3 payload: byte %" PRId64 " (0x%02x) is not a valid pack of 5 trits", g,
                            p[g]);
        for (int i = 0; i < 5; i++) {
            int64_t j = 5 * g + i;
            int t = b3_trit(p[g], i);
            if (j >= n && t != 0)
                return sbt_fail(SBT_ERR_FORMAT,
                                "ternary-b3 payload: padding trits after the last weight are not 0");
            if (j < n && out) out[j] = (int8_t)t;
        }
    }
    return SBT_OK;
}

static sbt_status decode_t2(const unsigned char *p, int64_t n, int8_t *out) {
    for (int64_t i = 0; i < (n + 3) / 4 * 4; i++) {
        unsigned c = (p[i >> 2] >> (2 * (i & 3))) & 3;
        if (c == 3)
            return sbt_fail(SBT_ERR_FORMAT, "ternary2 payload: invalid code 11 at weight %" PRId64, i);
        if (i >= n && c)
            return sbt_fail(SBT_ERR_FORMAT,
                            "ternary2 payload: padding codes after the last weight are not 0");
        if (i < n && out) out[i] = (int8_t)(c == 1 ? 1 : c == 2 ? -1 : 0);
    }
    return SBT_OK;
}

static uint64_t ternary_body_bytes(sbt_encoding enc, int64_t n) {
    return enc == SBT_ENC_TERNARY2 ? ((uint64_t)n + 3) / 4 : ((uint64_t)n + 4) / 5;
}

sbt_status sbt_pack_encode_ternary(sbt_encoding enc, const int8_t *codes, int64_t rows, int64_t cols,
                                   const float *alpha, int alpha_per_row, unsigned char **out,
                                   size_t *out_bytes) {
    int64_t n;
    if (sbt_encoding_kind(enc) != SBT_ENC_KIND_TERNARY)
        return sbt_fail(SBT_ERR_ARG, "pack: %s is not a ternary encoding", sbt_encoding_name(enc));
    sbt_status st = check_encode_args(enc, rows, cols, alpha, alpha_per_row, codes, &n);
    if (st) return st;
    for (int64_t i = 0; i < n; i++)
        if (codes[i] < -1 || codes[i] > 1)
            return sbt_fail(SBT_ERR_ARG, "pack: ternary code %d at %" PRId64 " is not -1, 0 or +1", codes[i],
                            i);
    if (enc == SBT_ENC_TERNARY_CODED)
        return encode_coded(enc, codes, NULL, n, rows, alpha, alpha_per_row, out, out_bytes);
    size_t head = 1 + 4 * (size_t)alpha_count(alpha_per_row, rows);
    if ((st = alloc_payload(head + (size_t)ternary_body_bytes(enc, n), out, out_bytes))) return st;
    unsigned char *p = *out + put_alpha_block(*out, alpha, alpha_per_row, rows);
    if (enc == SBT_ENC_TERNARY_B3) {
        encode_b3(codes, n, p);
    } else {
        for (int64_t i = 0; i < n; i++)
            p[i >> 2] |= (unsigned char)((codes[i] > 0 ? 1u : codes[i] < 0 ? 2u : 0u) << (2 * (i & 3)));
    }
    return SBT_OK;
}

sbt_status sbt_pack_decode_ternary(sbt_encoding enc, const unsigned char *in, size_t bytes, int64_t rows,
                                   int64_t cols, int8_t *codes, float *alpha, int *alpha_per_row) {
    int64_t n = pack_count(rows, cols);
    size_t pos = 0;
    if (sbt_encoding_kind(enc) != SBT_ENC_KIND_TERNARY)
        return sbt_fail(SBT_ERR_ARG, "pack: %s is not a ternary encoding", sbt_encoding_name(enc));
    if (n < 0) return sbt_fail(SBT_ERR_FORMAT, "%s payload: shape out of range", sbt_encoding_name(enc));
    sbt_status st = get_alpha_block(enc, in, bytes, rows, &pos, alpha, alpha_per_row);
    if (st) return st;
    if (enc == SBT_ENC_TERNARY_CODED) return decode_coded(enc, in, bytes, pos, n, codes);
    if ((st = check_body_length(enc, bytes, pos, ternary_body_bytes(enc, n), n))) return st;
    return enc == SBT_ENC_TERNARY_B3 ? decode_b3(in + pos, n, codes) : decode_t2(in + pos, n, codes);
}
