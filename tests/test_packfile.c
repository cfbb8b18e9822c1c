/* test_packfile.c - the .sbt file (sbt/packfile.h, formats/sbt.md): the byte layout of the
 * spec's example, round trips of every encoding through a file, sizes with headers against
 * the entropy bound and zlib, and a corpus of corrupt files, each refused with the message
 * that names its section and reason. */
#include "check.h"
#include "sbt/biprop.h"
#include "sbt/packfile.h"
#include "sbt/rng.h"

#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static int contains(const char *s, const char *part) { return strstr(s, part) != NULL; }
static uint32_t crc(const unsigned char *p, size_t n) { return (uint32_t)crc32(0L, p, (uInt)n); }
static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

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

/* ---- a raw file builder, so that a test can make a field lie while every CRC is right ---- */

typedef struct raw_entry {
    const char *name;
    int encoding, flags, ndim;
    int64_t shape[9];
    const unsigned char *payload; /* stored bytes */
    size_t stored_len;
    size_t raw_len;           /* written only with flag 1 (zlib) */
    int64_t stored_len_claim; /* >= 0: written instead of stored_len */
} raw_entry;

static size_t put_varint(unsigned char *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) p[n++] = (unsigned char)(v | 0x80), v >>= 7;
    p[n++] = (unsigned char)v;
    return n;
}

static unsigned char *build(const raw_entry *e, int count, size_t *len) {
    unsigned char *buf = calloc(1, 1 << 20), *p = buf + 32;
    for (int i = 0; i < count; i++) { /* names front-coded against the previous one */
        size_t nl = strlen(e[i].name), shared = 0;
        while (i > 0 && e[i - 1].name[shared] && e[i - 1].name[shared] == e[i].name[shared]) shared++;
        p += put_varint(p, shared);
        p += put_varint(p, nl - shared);
        memcpy(p, e[i].name + shared, nl - shared);
        p += nl - shared;
        *p++ = (unsigned char)e[i].encoding;
        *p++ = (unsigned char)e[i].flags;
        *p++ = (unsigned char)e[i].ndim;
        for (int d = 0; d < e[i].ndim; d++) p += put_varint(p, (uint64_t)e[i].shape[d]);
        p += put_varint(p, e[i].stored_len_claim >= 0 ? (uint64_t)e[i].stored_len_claim : e[i].stored_len);
        if (e[i].flags & 1) p += put_varint(p, e[i].raw_len);
        put32(p, crc(e[i].payload, e[i].stored_len));
        p += 4;
    }
    size_t table_len = (size_t)(p - buf) - 32;
    for (int i = 0; i < count; i++) {
        if (e[i].stored_len) memcpy(p, e[i].payload, e[i].stored_len);
        p += e[i].stored_len;
    }
    *len = (size_t)(p - buf);
    memcpy(buf, "SBTP", 4);
    buf[4] = 1;
    put32(buf + 8, (uint32_t)count);
    put32(buf + 12, (uint32_t)table_len);
    put32(buf + 16, (uint32_t)*len);
    put32(buf + 24, crc(buf + 32, table_len));
    put32(buf + 28, crc(buf, 28));
    return buf;
}

static void fix_crcs(unsigned char *buf, size_t len) {
    uint32_t table_len = get32(buf + 12);
    if (table_len <= len - 32) put32(buf + 24, crc(buf + 32, table_len));
    put32(buf + 28, crc(buf, 28));
}

static sbt_status decode(const unsigned char *buf, size_t len) {
    sbt_packfile *pf = NULL;
    sbt_status st = sbt_packfile_decode(buf, len, "bad.sbt", &pf);
    if (st) CHECK(pf == NULL);
    sbt_packfile_free(pf);
    return st;
}

static void expect_refused(const unsigned char *buf, size_t len, const char *message) {
    sbt_status st = decode(buf, len);
    CHECK_MSG(st == SBT_ERR_FORMAT && contains(sbt_last_error(), message), "expected '%s', got '%s'", message,
              st ? sbt_last_error() : "accepted");
}

static raw_entry entry(const char *name, int enc, int ndim, const int64_t *shape, const void *payload,
                       size_t n) {
    raw_entry e;
    memset(&e, 0, sizeof e);
    e.name = name;
    e.encoding = enc;
    e.ndim = ndim;
    for (int d = 0; d < ndim; d++) e.shape[d] = shape[d];
    e.payload = payload;
    e.stored_len = n;
    e.stored_len_claim = -1;
    return e;
}

/* ---- layout ---- */

static void test_spec_example_bytes(void) {
    sbt_packfile *pf = sbt_packfile_new();
    CHECK(sbt_packfile_add_floats(pf, "w", SBT_ENC_F32, 1, (int64_t[]){2}, (float[]){1, 2}, 0) == SBT_OK);
    unsigned char *buf = NULL;
    size_t len = 0;
    REQUIRE(sbt_packfile_encode(pf, &buf, &len) == SBT_OK);
    CHECK(len == 52 && sbt_packfile_size(pf) == 52);
    const unsigned char head[] = {'S', 'B', 'T', 'P', 1,  0, 0, 0, 1, 0, 0, 0,
                                  12,  0,   0,   0,   52, 0, 0, 0, 0, 0, 0, 0};
    CHECK(!memcmp(buf, head, sizeof head));
    CHECK(get32(buf + 24) == crc(buf + 32, 12) && get32(buf + 28) == crc(buf, 28));
    const unsigned char entry_bytes[] = {0, 1, 'w', 2, 0, 1, 2, 8, 0x76, 0xa5, 0x3f, 0x2e};
    CHECK(!memcmp(buf + 32, entry_bytes, sizeof entry_bytes));
    const unsigned char payload[] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40};
    CHECK(!memcmp(buf + 44, payload, 8));
    free(buf);
    sbt_packfile_free(pf);
}

/* Names are front-coded: each entry stores only what differs from the previous name, and
 * only the longest shared prefix is accepted. */
static void test_front_coded_names(void) {
    sbt_packfile *pf = sbt_packfile_new();
    float x = 1;
    const char *names[] = {"layer0.q.scores", "layer0.k.scores", "layer0", "layer0.norm1.gamma",
                           "head.scores"};
    for (int i = 0; i < 5; i++)
        CHECK(sbt_packfile_add_floats(pf, names[i], SBT_ENC_F32, 0, NULL, &x, 0) == SBT_OK);
    CHECK(sbt_packfile_entry_size(pf, 1) == 1 + 1 + 8 + 3 + 1 + 4); /* shares "layer0.", stores "k.scores" */
    CHECK(sbt_packfile_entry_size(pf, 2) == 1 + 1 + 0 + 3 + 1 + 4); /* a prefix of the previous name */
    unsigned char *buf = NULL;
    size_t len = 0;
    REQUIRE(sbt_packfile_encode(pf, &buf, &len) == SBT_OK);
    sbt_packfile *back = NULL;
    REQUIRE(sbt_packfile_decode(buf, len, "names.sbt", &back) == SBT_OK);
    for (int i = 0; i < 5; i++) CHECK(!strcmp(sbt_packfile_at(back, i)->name, names[i]));
    sbt_packfile_free(back);
    free(buf);
    sbt_packfile_free(pf);
    /* "ab" then "ac" written as shared 0 + "ac" (not the longest prefix), and shared 3 > 2. */
    const unsigned char bytes[4] = {0};
    raw_entry e[2] = {entry("ab", 2, 0, NULL, bytes, 4), entry("ac", 2, 0, NULL, bytes, 4)};
    buf = build(e, 2, &len);
    CHECK(decode(buf, len) == SBT_OK);
    size_t second = 32 + 1 + 1 + 2 + 3 + 1 + 4; /* the second entry */
    CHECK(buf[second] == 1 && buf[second + 1] == 1 && buf[second + 2] == 'c');
    buf[second] = 0;
    buf[second + 1] = 2;
    unsigned char *patched = malloc(len + 1);
    memcpy(patched, buf, second + 2);
    patched[second + 2] = 'a';
    memcpy(patched + second + 3, buf + second + 2, len - second - 2);
    put32(patched + 12, get32(buf + 12) + 1);
    put32(patched + 16, (uint32_t)len + 1);
    fix_crcs(patched, len + 1);
    expect_refused(patched, len + 1,
                   "section 1: the name does not share the longest prefix with the previous name");
    buf[second] = 3;
    buf[second + 1] = 1;
    fix_crcs(buf, len);
    expect_refused(buf, len, "section 1: the name shares more bytes than the previous name has");
    free(patched);
    free(buf);
}

/* Every encoding, zlib on some, an optional section, 0-d and zero-size tensors, through a file. */
static sbt_packfile *every_encoding(const uint8_t *mask, const int8_t *t, const float *x,
                                    const float *alpha) {
    sbt_packfile *pf = sbt_packfile_new();
    CHECK(sbt_packfile_add_text(pf, "graph", "input x f32 [B,T,12]\n", 0) == SBT_OK);
    CHECK(sbt_packfile_add_text(pf, "metadata", "task=classify\nseed=3\n", SBT_PACK_ZLIB) == SBT_OK);
    CHECK(sbt_packfile_add_floats(pf, "f32", SBT_ENC_F32, 2, (int64_t[]){7, 9}, x, 0) == SBT_OK);
    CHECK(sbt_packfile_add_floats(pf, "f32z", SBT_ENC_F32, 2, (int64_t[]){7, 9}, x, SBT_PACK_ZLIB) == SBT_OK);
    CHECK(sbt_packfile_add_floats(pf, "f16", SBT_ENC_F16, 1, (int64_t[]){63}, x, 0) == SBT_OK);
    CHECK(sbt_packfile_add_floats(pf, "scalar", SBT_ENC_F32, 0, NULL, x, 0) == SBT_OK);
    CHECK(sbt_packfile_add_floats(pf, "empty", SBT_ENC_F32, 2, (int64_t[]){0, 5}, NULL, 0) == SBT_OK);
    CHECK(sbt_packfile_add_mask(pf, "mask", SBT_ENC_SEED_MASK, 2, (int64_t[]){30, 33}, mask, alpha, 1, 0) ==
          SBT_OK);
    CHECK(sbt_packfile_add_mask(pf, "maskc", SBT_ENC_SEED_MASK_CODED, 2, (int64_t[]){30, 33}, mask, alpha, 0,
                                0) == SBT_OK);
    CHECK(sbt_packfile_add_mask(pf, "maskz", SBT_ENC_SEED_MASK, 3, (int64_t[]){2, 15, 33}, mask, alpha, 0,
                                SBT_PACK_ZLIB) == SBT_OK);
    CHECK(sbt_packfile_add_mask(pf, "mask0", SBT_ENC_SEED_MASK_CODED, 2, (int64_t[]){0, 4}, NULL, alpha, 0,
                                0) == SBT_OK);
    CHECK(sbt_packfile_add_ternary(pf, "t2", SBT_ENC_TERNARY2, 2, (int64_t[]){30, 33}, t, alpha, 1, 0) ==
          SBT_OK);
    CHECK(sbt_packfile_add_ternary(pf, "tb3", SBT_ENC_TERNARY_B3, 2, (int64_t[]){30, 33}, t, alpha, 0, 0) ==
          SBT_OK);
    CHECK(sbt_packfile_add_ternary(pf, "tc", SBT_ENC_TERNARY_CODED, 2, (int64_t[]){30, 33}, t, alpha, 1,
                                   SBT_PACK_ZLIB | SBT_PACK_OPTIONAL) == SBT_OK);
    return pf;
}

static void check_every_encoding(const sbt_packfile *pf, const uint8_t *mask, const int8_t *t, const float *x,
                                 const float *alpha) {
    REQUIRE(sbt_packfile_count(pf) == 14);
    float y[63], a[30];
    uint8_t m[990];
    int8_t u[990];
    int per_row = -1;
    const sbt_pack_section *s = sbt_packfile_find(pf, "metadata");
    REQUIRE(s != NULL);
    CHECK(s->bytes == 21 && !strcmp((const char *)s->data, "task=classify\nseed=3\n") &&
          s->flags == SBT_PACK_ZLIB);
    CHECK(sbt_packfile_floats(sbt_packfile_find(pf, "f32z"), y) == SBT_OK && !memcmp(x, y, sizeof y));
    CHECK(sbt_packfile_floats(sbt_packfile_find(pf, "f16"), y) == SBT_OK);
    for (int i = 0; i < 63; i++) CHECK(y[i] == sbt_f16_to_f32(sbt_f32_to_f16(x[i])));
    CHECK(sbt_packfile_floats(sbt_packfile_find(pf, "scalar"), y) == SBT_OK && y[0] == x[0]);
    s = sbt_packfile_find(pf, "empty");
    CHECK(s && s->count == 0 && s->bytes == 0 && sbt_packfile_floats(s, y) == SBT_OK);
    CHECK(sbt_packfile_mask(sbt_packfile_find(pf, "mask"), m, a, &per_row) == SBT_OK && per_row == 1);
    CHECK(!memcmp(m, mask, 990) && !memcmp(a, alpha, sizeof a));
    CHECK(sbt_packfile_mask(sbt_packfile_find(pf, "maskc"), m, a, &per_row) == SBT_OK && per_row == 0);
    CHECK(!memcmp(m, mask, 990) && a[0] == alpha[0]);
    s = sbt_packfile_find(pf, "maskz");
    CHECK(s && s->rows == 2 && s->cols == 495 && sbt_packfile_mask(s, m, a, NULL) == SBT_OK &&
          !memcmp(m, mask, 990));
    CHECK(sbt_packfile_mask(sbt_packfile_find(pf, "mask0"), m, a, NULL) == SBT_OK);
    const char *tern[] = {"t2", "tb3", "tc"};
    for (int k = 0; k < 3; k++) {
        memset(u, 9, sizeof u);
        CHECK(sbt_packfile_ternary(sbt_packfile_find(pf, tern[k]), u, a, NULL) == SBT_OK &&
              !memcmp(u, t, 990));
    }
    CHECK(sbt_packfile_ternary(sbt_packfile_find(pf, "mask"), u, a, NULL) == SBT_ERR_FORMAT);
    CHECK(contains(sbt_last_error(), "section 'mask': encoding seed-mask, expected ternary2"));
    CHECK(sbt_packfile_floats(sbt_packfile_find(pf, "tc"), y) == SBT_ERR_FORMAT);
}

static void test_every_encoding_through_a_file(void) {
    sbt_rng r;
    sbt_rng_seed(&r, 11);
    uint8_t mask[990];
    int8_t t[990];
    float x[63], alpha[30];
    topk_mask(&r, 990, 0.25f, mask);
    for (int i = 0; i < 990; i++) t[i] = (int8_t)(mask[i] ? (sbt_rng_below(&r, 2) ? 1 : -1) : 0);
    for (int i = 0; i < 63; i++) x[i] = sbt_rng_normal(&r);
    for (int i = 0; i < 30; i++) alpha[i] = sbt_rng_uniform(&r);
    sbt_packfile *pf = every_encoding(mask, t, x, alpha);
    check_every_encoding(pf, mask, t, x, alpha);
    char path[] = "test_packfile_every.sbt";
    REQUIRE(sbt_packfile_write(pf, path) == SBT_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (size_t)st.st_size == sbt_packfile_size(pf));
    sbt_packfile *back = NULL;
    REQUIRE(sbt_packfile_read(path, &back) == SBT_OK);
    check_every_encoding(back, mask, t, x, alpha);
    /* Read back, written again: the same bytes. */
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    CHECK(sbt_packfile_encode(pf, &a, &alen) == SBT_OK && sbt_packfile_encode(back, &b, &blen) == SBT_OK);
    CHECK(alen == blen && !memcmp(a, b, alen));
    free(a);
    free(b);
    sbt_packfile_free(back);
    sbt_packfile_free(pf);
    unlink(path);
}

static void test_add_refuses_bad_sections(void) {
    sbt_packfile *pf = sbt_packfile_new();
    float x[4] = {0};
    CHECK(sbt_packfile_add_floats(pf, "w", SBT_ENC_F32, 1, (int64_t[]){4}, x, 0) == SBT_OK);
    CHECK(sbt_packfile_add_floats(pf, "w", SBT_ENC_F32, 1, (int64_t[]){4}, x, 0) == SBT_ERR_ARG);
    CHECK(contains(sbt_last_error(), "section 'w': duplicate section name"));
    CHECK(sbt_packfile_add(pf, "v", SBT_ENC_F32, 1, (int64_t[]){3}, x, 16, 0) == SBT_ERR_ARG);
    CHECK(contains(sbt_last_error(), "section 'v': f32 payload is 16 bytes, 3 elements need 12"));
    CHECK(sbt_packfile_add_floats(pf, "bad name", SBT_ENC_F32, 1, (int64_t[]){4}, x, 0) == SBT_ERR_ARG);
    CHECK(sbt_packfile_add_floats(pf, "u", SBT_ENC_F32, 1, (int64_t[]){4}, x, 4) == SBT_ERR_ARG);
    CHECK(contains(sbt_last_error(), "unknown section flags"));
    CHECK(sbt_packfile_add_mask(pf, "m", SBT_ENC_SEED_MASK, 1, (int64_t[]){2}, (uint8_t[]){0, 3}, x, 0, 0) ==
          SBT_ERR_ARG);
    CHECK(contains(sbt_last_error(), "section 'm': pack: mask value 3 at 1"));
    CHECK(sbt_packfile_count(pf) == 1);
    /* A failed write leaves no file (and no temporary file) behind. */
    CHECK(sbt_packfile_write(pf, "no_such_dir/out.sbt") == SBT_ERR_IO);
    CHECK(access("no_such_dir/out.sbt", F_OK) != 0);
    sbt_packfile_free(pf);
}

/* ---- the corrupt corpus ---- */

static void test_truncated_and_flipped_files(void) {
    sbt_rng r;
    sbt_rng_seed(&r, 12);
    uint8_t mask[990];
    int8_t t[990];
    float x[63], alpha[30];
    topk_mask(&r, 990, 0.5f, mask);
    for (int i = 0; i < 990; i++) t[i] = (int8_t)(mask[i] ? 1 : 0);
    for (int i = 0; i < 63; i++) x[i] = (float)i;
    for (int i = 0; i < 30; i++) alpha[i] = 1;
    sbt_packfile *pf = every_encoding(mask, t, x, alpha);
    unsigned char *buf = NULL;
    size_t len = 0;
    REQUIRE(sbt_packfile_encode(pf, &buf, &len) == SBT_OK);
    sbt_packfile_free(pf);
    CHECK(decode(buf, len) == SBT_OK);
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++) accepted += decode(buf, cut) != SBT_ERR_FORMAT;
    CHECK(accepted == 0);
    expect_refused(buf, 10, "bad.sbt: truncated: 10 bytes, a header is 32");
    expect_refused(buf, len - 1, "truncated");
    /* Any flipped bit anywhere is refused. */
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= (unsigned char)(1u << (i % 8));
        accepted += decode(buf, len) != SBT_ERR_FORMAT;
        buf[i] ^= (unsigned char)(1u << (i % 8));
    }
    CHECK(accepted == 0);
    buf[len - 1] ^= 1; /* the last payload: section tc */
    expect_refused(buf, len, "bad.sbt: section 'tc': payload checksum mismatch");
    buf[len - 1] ^= 1;
    buf[40] ^= 1;
    expect_refused(buf, len, "bad.sbt: section table checksum mismatch");
    buf[40] ^= 1;
    buf[20] ^= 1;
    expect_refused(buf, len, "bad.sbt: header checksum mismatch");
    buf[20] ^= 1;
    buf[4] = 2;
    expect_refused(buf, len, "format version 2 is newer than this build supports (1)");
    buf[4] = 1;
    buf[0] = 'X';
    expect_refused(buf, len, "not an .sbt file");
    buf[0] = 'S';
    buf[6] = 1; /* a required header flag */
    fix_crcs(buf, len);
    expect_refused(buf, len, "unsupported required flags 0x1");
    free(buf);
}

static void test_lying_lengths(void) {
    const unsigned char text[] = "abcdefgh";
    size_t len;
    raw_entry e[2] = {entry("a", 1, 1, (int64_t[]){4}, text, 4),
                      entry("b", 1, 1, (int64_t[]){4}, text + 4, 4)};
    unsigned char *buf = build(e, 2, &len);
    CHECK(decode(buf, len) == SBT_OK);
    free(buf);
    e[1].stored_len_claim = 5; /* one more than the file holds */
    buf = build(e, 2, &len);
    expect_refused(buf, len, "section 'b': the payload runs past the end of the file");
    free(buf);
    /* The first section claims 3 bytes (and its CRC covers those 3): the text length then disagrees. */
    e[1].stored_len_claim = -1;
    e[0].stored_len = 3;
    e[0].stored_len_claim = 3;
    buf = build(e, 2, &len);
    expect_refused(buf, len, "section 'a': text payload is 3 bytes, 4 elements need 4");
    free(buf);
    /* Both texts 4 bytes long but 2 spare bytes before the end: a length lies. */
    e[0].stored_len = 4;
    e[0].stored_len_claim = -1;
    buf = build(e, 2, &len);
    unsigned char *longer = calloc(1, len + 2);
    memcpy(longer, buf, len);
    put32(longer + 16, (uint32_t)(len + 2));
    fix_crcs(longer, len + 2);
    expect_refused(longer, len + 2, "the payloads end at byte");
    put32(longer + 16, (uint32_t)(len + 1)); /* the header says 1 more than the file has */
    fix_crcs(longer, len + 2);
    expect_refused(longer, len + 2, "but the header records");
    free(longer);
    /* The table says one section more than it holds. */
    put32(buf + 8, 3);
    fix_crcs(buf, len);
    expect_refused(buf, len, "is impossible for 3 sections");
    put32(buf + 8, 2);
    put32(buf + 12, get32(buf + 12) + 10); /* table claims 10 bytes of the payloads */
    fix_crcs(buf, len);
    expect_refused(buf, len, "");
    free(buf);
}

static void test_unknown_encodings(void) {
    const unsigned char bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t len;
    raw_entry e[2] = {entry("future", 42, 1, (int64_t[]){64}, bytes, 8),
                      entry("w", 2, 1, (int64_t[]){2}, bytes, 8)};
    unsigned char *buf = build(e, 2, &len);
    expect_refused(buf, len,
                   "bad.sbt: section 'future': unknown encoding 42 (not optional; this build knows 1..9)");
    free(buf);
    e[0].flags = 2; /* optional: skipped, listed */
    buf = build(e, 2, &len);
    sbt_packfile *pf = NULL;
    REQUIRE(sbt_packfile_decode(buf, len, "ok.sbt", &pf) == SBT_OK);
    const sbt_pack_section *s = sbt_packfile_find(pf, "future");
    CHECK(s && !s->known && s->encoding == 42 && s->bytes == 8);
    CHECK(sbt_packfile_find(pf, "w")->known);
    float y[64];
    CHECK(sbt_packfile_floats(s, y) == SBT_ERR_FORMAT &&
          contains(sbt_last_error(), "section 'future': encoding ?"));
    CHECK(sbt_packfile_bound_bits(s) == -1);
    sbt_packfile_free(pf);
    free(buf);
    e[0].flags = 4; /* an unknown section flag */
    buf = build(e, 2, &len);
    expect_refused(buf, len, "section 'future': unknown section flags");
    free(buf);
}

static void test_shapes_disagreeing_with_bytes(void) {
    const unsigned char bytes[16] = {0};
    size_t len;
    struct {
        raw_entry e;
        const char *message;
    } cases[] = {
        {entry("w", 2, 1, (int64_t[]){3}, bytes, 8),
         "section 'w': f32 payload is 8 bytes, 3 elements need 12"},
        {entry("h", 3, 2, (int64_t[]){2, 2}, bytes, 6),
         "section 'h': f16 payload is 6 bytes, 4 elements need 8"},
        {entry("m", 4, 2, (int64_t[]){4, 4}, bytes, 6),
         "section 'm': seed-mask payload is 6 bytes, 16 weights need 7"},
        {entry("t", 6, 1, (int64_t[]){9}, bytes, 7),
         "section 't': ternary2 payload is 7 bytes, 9 weights need 8"},
        {entry("b", 7, 1, (int64_t[]){11}, bytes, 7),
         "section 'b': ternary-b3 payload is 7 bytes, 11 weights need 8"},
        {entry("x", 1, 2, (int64_t[]){2, 2}, bytes, 4),
         "section 'x': a text section must have exactly 1 dimension"},
        {entry("d", 2, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, bytes, 4),
         "section 'd': more than 8 dimensions"},
        {entry("big", 2, 4, (int64_t[]){1 << 20, 1 << 20, 1 << 20, 1 << 20}, bytes, 4),
         "section 'big': the element count exceeds 2^48"},
        /* zero-size tensors: the payload must be empty (or just the alpha block and counts) */
        {entry("z", 2, 2, (int64_t[]){0, 3}, bytes, 4),
         "section 'z': f32 payload is 4 bytes, 0 elements need 0"},
        {entry("zm", 5, 1, (int64_t[]){0}, (const unsigned char *)"\0\0\0\0\0\1", 6),
         "section 'zm': seed-mask-coded payload: 1 non-zero weights of 0"},
        {entry("zs", 4, 2, (int64_t[]){5, 0}, bytes, 5),
         "section 'zs': seed-mask payload is 5 bytes, too short for 5 alphas"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (i == 10) cases[i].e.payload = (const unsigned char *)"\1\0\0\0\0";
        unsigned char *buf = build(&cases[i].e, 1, &len);
        expect_refused(buf, len, cases[i].message);
        free(buf);
    }
    /* Zero-size tensors that are valid. */
    raw_entry ok[4] = {
        entry("z", 2, 2, (int64_t[]){0, 3}, bytes, 0), entry("t", 1, 1, (int64_t[]){0}, bytes, 0),
        entry("zm", 5, 1, (int64_t[]){0}, bytes, 6), entry("zt", 8, 2, (int64_t[]){4, 0}, bytes, 7)};
    unsigned char *buf = build(ok, 4, &len);
    sbt_packfile *pf = NULL;
    CHECK(sbt_packfile_decode(buf, len, "zero.sbt", &pf) == SBT_OK);
    CHECK(pf && sbt_packfile_find(pf, "zt")->count == 0 && sbt_packfile_find(pf, "zt")->rows == 4);
    sbt_packfile_free(pf);
    free(buf);
}

static void test_bad_zlib_and_streams(void) {
    /* A zlib payload that inflates to fewer bytes than it claims, and a zip bomb claim. */
    unsigned char z[64];
    uLongf zlen = sizeof z;
    CHECK(compress2(z, &zlen, (const unsigned char *)"\0\0\x80\x3f\0\0\0\x40", 8, 9) == Z_OK);
    size_t len;
    raw_entry e = entry("w", 2, 1, (int64_t[]){2}, z, zlen);
    e.flags = 1;
    e.raw_len = 8;
    unsigned char *buf = build(&e, 1, &len);
    CHECK(decode(buf, len) == SBT_OK);
    free(buf);
    e.raw_len = 12;
    e.shape[0] = 3;
    buf = build(&e, 1, &len);
    expect_refused(buf, len, "section 'w': the zlib stream does not fill the payload exactly");
    free(buf);
    e.raw_len = 4;
    e.shape[0] = 1;
    buf = build(&e, 1, &len);
    expect_refused(buf, len, "section 'w': the zlib stream is corrupt or longer than its raw length");
    free(buf);
    e.raw_len = (size_t)1 << 40;
    buf = build(&e, 1, &len);
    expect_refused(buf, len, "section 'w': zlib raw length exceeds 1032 times the stored length");
    free(buf);

    /* A coded mask whose stream is one byte short, in a file with every CRC right. */
    sbt_rng r;
    sbt_rng_seed(&r, 13);
    uint8_t mask[4096];
    topk_mask(&r, 4096, 0.1f, mask);
    unsigned char *p = NULL;
    size_t bytes = 0;
    float alpha = 1;
    REQUIRE(sbt_pack_encode_mask(SBT_ENC_SEED_MASK_CODED, mask, 64, 64, &alpha, 0, &p, &bytes) == SBT_OK);
    raw_entry m = entry("layer0.q.weight", 5, 2, (int64_t[]){64, 64}, p, bytes - 1);
    buf = build(&m, 1, &len);
    expect_refused(buf, len,
                   "bad.sbt: section 'layer0.q.weight': seed-mask-coded payload: the coded stream decodes "
                   "past its end");
    free(buf);
    m.stored_len = bytes;
    m.shape[0] =
        63; /* the shape disagrees with the coded counts: the stream no longer ends where it should */
    buf = build(&m, 1, &len);
    CHECK(decode(buf, len) == SBT_ERR_FORMAT);
    free(buf);
    free(p);

    /* Malformed table fields. */
    const unsigned char bytes8[8] = {0};
    raw_entry dup[2] = {entry("w", 2, 1, (int64_t[]){2}, bytes8, 8),
                        entry("w", 2, 1, (int64_t[]){2}, bytes8, 8)};
    buf = build(dup, 2, &len);
    expect_refused(buf, len, "section 'w': duplicate name");
    free(buf);
    raw_entry spaced = entry("a b", 2, 1, (int64_t[]){2}, bytes8, 8);
    buf = build(&spaced, 1, &len);
    expect_refused(buf, len, "section 0: name characters must be printable ASCII");
    free(buf);
    raw_entry w = entry("w", 2, 1, (int64_t[]){2}, bytes8, 8);
    buf = build(&w, 1, &len);
    buf[38] = 0x82; /* shape[0] = 2 as 0x82 0x00 would be non-minimal: here it swallows the length byte */
    buf[39] = 0x00;
    fix_crcs(buf, len);
    expect_refused(buf, len, "section 'w': a varint is not minimal");
    free(buf);
}

/* ---- sizes with headers ---- */

static size_t file_bytes(sbt_packfile *pf) {
    size_t n = sbt_packfile_size(pf);
    sbt_packfile_free(pf);
    return n;
}

/* >= 100k weights at keep 0.5, 0.25, 0.1: the whole file (header, table, alpha, counts and
 * stream) within 3 % of the entropy bound, and below zlib of the same data. */
static void test_file_sizes_near_the_bound(void) {
    enum { ROWS = 400, COLS = 256, N = ROWS * COLS };
    const int64_t shape[2] = {ROWS, COLS};
    const float keeps[] = {0.5f, 0.25f, 0.1f};
    sbt_rng r;
    sbt_rng_seed(&r, 14);
    uint8_t *mask = malloc(N);
    int8_t *t = malloc(N);
    float *w = malloc(N * sizeof *w), alpha = 0.05f;
    for (int i = 0; i < 3; i++) {
        topk_mask(&r, N, keeps[i], mask);
        int64_t k = 0, npos = 0;
        for (int j = 0; j < N; j++) {
            t[j] = (int8_t)(mask[j] ? (sbt_rng_below(&r, 2) ? 1 : -1) : 0);
            k += mask[j], npos += t[j] > 0;
            w[j] = alpha * t[j];
        }
        sbt_packfile *pf = sbt_packfile_new();
        CHECK(sbt_packfile_add_mask(pf, "layer.weight", SBT_ENC_SEED_MASK_CODED, 2, shape, mask, &alpha, 0,
                                    0) == 0);
        double bound = sbt_packfile_bound_bits(sbt_packfile_at(pf, 0));
        CHECK_NEAR(bound, sbt_pack_mask_bound_bits(N, k), 1e-6 * bound);
        size_t coded = file_bytes(pf);
        pf = sbt_packfile_new();
        CHECK(sbt_packfile_add_mask(pf, "layer.weight", SBT_ENC_SEED_MASK, 2, shape, mask, &alpha, 0,
                                    SBT_PACK_ZLIB) == 0);
        size_t zlib_mask = file_bytes(pf);
        pf = sbt_packfile_new();
        CHECK(sbt_packfile_add_floats(pf, "layer.weight", SBT_ENC_F32, 2, shape, w, SBT_PACK_ZLIB) == 0);
        size_t zlib_f32 = file_bytes(pf);
        CHECK_MSG(8.0 * coded <= 1.03 * bound, "keep %g: file %zu bytes, bound %.0f bits", keeps[i], coded,
                  bound);
        CHECK_MSG(coded < zlib_mask && coded < zlib_f32, "keep %g: %zu vs zlib %zu / %zu", keeps[i], coded,
                  zlib_mask, zlib_f32);

        pf = sbt_packfile_new();
        CHECK(sbt_packfile_add_ternary(pf, "layer.weight", SBT_ENC_TERNARY_CODED, 2, shape, t, &alpha, 0,
                                       0) == 0);
        double tbound = sbt_packfile_bound_bits(sbt_packfile_at(pf, 0));
        CHECK_NEAR(tbound, sbt_pack_ternary_bound_bits(N, k, npos), 1e-6 * tbound);
        size_t tcoded = file_bytes(pf);
        pf = sbt_packfile_new();
        CHECK(sbt_packfile_add_ternary(pf, "layer.weight", SBT_ENC_TERNARY2, 2, shape, t, &alpha, 0,
                                       SBT_PACK_ZLIB) == 0);
        size_t zlib_t2 = file_bytes(pf);
        CHECK_MSG(8.0 * tcoded <= 1.03 * tbound, "keep %g: file %zu bytes, bound %.0f bits", keeps[i], tcoded,
                  tbound);
        CHECK(tcoded < zlib_t2 && tcoded < zlib_f32);
    }
    free(mask);
    free(t);
    free(w);
}

int main(void) {
    RUN(test_spec_example_bytes);
    RUN(test_front_coded_names);
    RUN(test_every_encoding_through_a_file);
    RUN(test_add_refuses_bad_sections);
    RUN(test_truncated_and_flipped_files);
    RUN(test_lying_lengths);
    RUN(test_unknown_encodings);
    RUN(test_shapes_disagreeing_with_bytes);
    RUN(test_bad_zlib_and_streams);
    RUN(test_file_sizes_near_the_bound);
    return check_summary();
}
