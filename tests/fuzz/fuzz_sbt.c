/* fuzz_sbt.c - libFuzzer target for the .sbt reader (sbt_packfile_decode) and the codecs of
 * sbt/pack.h (see README.md).
 *
 * The first input byte picks what the rest is:
 *   even: a whole .sbt file. It must be refused with SBT_ERR_FORMAT, or read into sections
 *         whose values decode, re-encode into a file that reads back, and decode to the same
 *         values.
 *   odd:  a raw payload for encoding (byte >> 1) % 10 with rows and cols from the next two
 *         bytes: the codec must refuse it with SBT_ERR_FORMAT or decode it, and a valid payload
 *         re-encodes to one that decodes to the same values.
 * Anything else (a crash, a sanitizer report, another status, a mismatch) is a finding.
 *
 * Built with -DFUZZ_SEED_MAIN instead, this file writes a seed corpus of valid files into
 * the directory given as its argument.
 */
#include "sbt/pack.h"
#include "sbt/packfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DECODED = 1 << 20 }; /* coded sections may claim many weights in few bytes */

/* The values of a mask or ternary payload as trits + alphas; 0 if the payload is invalid. */
static int values(int enc, const unsigned char *p, size_t bytes, int64_t rows, int64_t cols, int8_t *t,
                  float *alpha, int *per_row) {
    sbt_status st =
        sbt_encoding_kind(enc) == SBT_ENC_KIND_MASK
            ? sbt_pack_decode_mask((sbt_encoding)enc, p, bytes, rows, cols, (uint8_t *)t, alpha, per_row)
            : sbt_pack_decode_ternary((sbt_encoding)enc, p, bytes, rows, cols, t, alpha, per_row);
    if (st != SBT_OK && st != SBT_ERR_FORMAT) abort();
    return st == SBT_OK;
}

/* A valid mask/ternary payload re-encodes into one with the same values. */
static void reencode_same(int enc, const unsigned char *p, size_t bytes, int64_t rows, int64_t cols) {
    int64_t n = rows * cols, arows = rows > 1 ? rows : 1;
    if (n > MAX_DECODED || arows > MAX_DECODED) return;
    int8_t *t = malloc((size_t)n + 1), *u = malloc((size_t)n + 1);
    float *a = malloc((size_t)arows * sizeof *a), *b = malloc((size_t)arows * sizeof *b);
    int per_row = 0, per_row2 = 0;
    if (!values(enc, p, bytes, rows, cols, t, a, &per_row)) abort(); /* validated before */
    unsigned char *q = NULL;
    size_t qbytes = 0;
    sbt_status st =
        sbt_encoding_kind(enc) == SBT_ENC_KIND_MASK
            ? sbt_pack_encode_mask((sbt_encoding)enc, (uint8_t *)t, rows, cols, a, per_row, &q, &qbytes)
            : sbt_pack_encode_ternary((sbt_encoding)enc, t, rows, cols, a, per_row, &q, &qbytes);
    if (st != SBT_OK) abort();
    if (!values(enc, q, qbytes, rows, cols, u, b, &per_row2) || per_row2 != per_row ||
        memcmp(t, u, (size_t)n) || memcmp(a, b, (size_t)(per_row ? rows : 1) * sizeof *a))
        abort();
    free(q);
    free(t);
    free(u);
    free(a);
    free(b);
}

static void fuzz_payload(const unsigned char *data, size_t size) {
    if (size < 3) return;
    int enc = (data[0] >> 1) % 10;
    int64_t rows = data[1], cols = data[2];
    const unsigned char *p = data + 3;
    size_t bytes = size - 3;
    sbt_status st = sbt_pack_validate((sbt_encoding)enc, p, bytes, rows, cols);
    if (st != SBT_OK && st != SBT_ERR_FORMAT) abort();
    if (st == SBT_OK && sbt_encoding_kind(enc)) reencode_same(enc, p, bytes, rows, cols);
    if (st == SBT_OK && (enc == SBT_ENC_F32 || enc == SBT_ENC_F16)) {
        float *x = malloc((size_t)(rows * cols) * sizeof *x + 1);
        if (sbt_pack_decode_floats((sbt_encoding)enc, p, bytes, rows * cols, x) != SBT_OK) abort();
        free(x);
    }
    if (st == SBT_OK && sbt_pack_payload_bound_bits((sbt_encoding)enc, p, bytes, rows, cols) < 0) abort();
}

static void same_sections(const sbt_packfile *a, const sbt_packfile *b) {
    if (sbt_packfile_count(a) != sbt_packfile_count(b)) abort();
    for (int i = 0; i < sbt_packfile_count(a); i++) {
        const sbt_pack_section *x = sbt_packfile_at(a, i), *y = sbt_packfile_at(b, i);
        if (strcmp(x->name, y->name) || x->encoding != y->encoding || x->known != y->known ||
            x->flags != y->flags || x->ndim != y->ndim || memcmp(x->shape, y->shape, sizeof x->shape) ||
            x->bytes != y->bytes || x->stored_bytes != y->stored_bytes ||
            memcmp(x->data, y->data, x->bytes) || x->data[x->bytes])
            abort();
        if (sbt_packfile_find(a, x->name) != x) abort();
        if (x->known && sbt_encoding_kind(x->encoding))
            reencode_same(x->encoding, x->data, x->bytes, x->rows, x->cols);
    }
}

static void fuzz_file(const unsigned char *data, size_t size) {
    sbt_packfile *pf = NULL, *again = NULL;
    sbt_status st = sbt_packfile_decode(data, size, "fuzz", &pf);
    if (st != SBT_OK) {
        if (st != SBT_ERR_FORMAT || pf) abort();
        return;
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    /* The writer reproduces the file, except optional header flags (bytes 6-7, which it writes as 0)
     * and the header and table CRCs (24-31: recomputed, and not checked in a no-CRC fuzzing build). */
    if (sbt_packfile_encode(pf, &buf, &len) != SBT_OK || len != size || memcmp(buf, data, 6) ||
        memcmp(buf + 8, data + 8, 16) || memcmp(buf + 32, data + 32, size - 32))
        abort();
    if (sbt_packfile_decode(buf, len, "fuzz-again", &again) != SBT_OK) abort();
    same_sections(pf, again);
    free(buf);
    sbt_packfile_free(again);
    sbt_packfile_free(pf);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (size < 1) return 0;
    if (data[0] & 1)
        fuzz_payload(data, size);
    else
        fuzz_file(data + 1, size - 1);
    return 0;
}

#ifdef FUZZ_SEED_MAIN
/* Writes `prefix` + bytes as one corpus file. */
static int write_seed(const char *dir, const char *name, unsigned char prefix, const unsigned char *p,
                      size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    int bad = fwrite(&prefix, 1, 1, f) != 1 || (n && fwrite(p, 1, n, f) != n);
    return fclose(f) || bad;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    uint8_t mask[60];
    int8_t t[60];
    float x[6] = {1, -2, 3.5f, 0, 1e-5f, 65504}, alpha[4] = {0.5f, 0.25f, 1, 2};
    for (int i = 0; i < 60; i++) mask[i] = (uint8_t)(i % 3 == 0), t[i] = (int8_t)(i % 3 - 1);
    sbt_packfile *pf = sbt_packfile_new();
    int bad = 0;
    bad |= sbt_packfile_add_text(pf, "graph", "input x\n", 0) != SBT_OK;
    bad |= sbt_packfile_add_text(pf, "metadata", "seed=1\n", SBT_PACK_ZLIB) != SBT_OK;
    bad |= sbt_packfile_add_floats(pf, "f32", SBT_ENC_F32, 2, (int64_t[]){2, 3}, x, 0) != SBT_OK;
    bad |= sbt_packfile_add_floats(pf, "f16", SBT_ENC_F16, 1, (int64_t[]){6}, x, 0) != SBT_OK;
    for (int e = SBT_ENC_SEED_MASK; e <= SBT_ENC_TERNARY_CODED; e++) {
        char name[32];
        snprintf(name, sizeof name, "w%d", e);
        bad |= (sbt_encoding_kind(e) == SBT_ENC_KIND_MASK
                    ? sbt_packfile_add_mask(pf, name, (sbt_encoding)e, 2, (int64_t[]){4, 15}, mask, alpha,
                                            e & 1, 0)
                    : sbt_packfile_add_ternary(pf, name, (sbt_encoding)e, 2, (int64_t[]){4, 15}, t, alpha,
                                               e & 1, 0)) != SBT_OK;
        const sbt_pack_section *s = sbt_packfile_find(pf, name);
        unsigned char head[3] = {(unsigned char)(2 * e + 1), 4, 15};
        unsigned char *raw = malloc(s->bytes + 3);
        memcpy(raw, head, 3);
        memcpy(raw + 3, s->data, s->bytes);
        snprintf(name, sizeof name, "payload%d", e);
        bad |= write_seed(argv[1], name, raw[0], raw + 1, s->bytes + 2);
        free(raw);
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    bad |= sbt_packfile_encode(pf, &buf, &len) != SBT_OK;
    bad |= write_seed(argv[1], "all.sbt", 0, buf, len);
    free(buf);
    sbt_packfile_free(pf);
    if (bad) fprintf(stderr, "%s\n", sbt_last_error());
    return bad;
}
#endif
