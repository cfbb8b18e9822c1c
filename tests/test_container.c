/* test_container.c - the section container: round trips, the byte layout of
 * formats/sbtm.md, and rejection of truncated, corrupted and absurd files. */
#include "check.h"
#include "sbt/container.h"

#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers ---- */

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static uint32_t crc(const unsigned char *p, size_t n) { return (uint32_t)crc32(0L, p, (uInt)n); }

/* Recomputes the table and header checksums after a test patched a field, so that the
 * check under test is the one that fires, not a checksum. */
static void fix_crcs(unsigned char *buf, size_t len) {
    uint64_t table_len = get64(buf + 24);
    if (table_len <= len - 64) put32(buf + 32, crc(buf + 64, (size_t)table_len));
    put32(buf + 60, crc(buf, 60));
}

static sbt_status decode(const unsigned char *buf, size_t len) {
    sbt_container *c = NULL;
    sbt_status st = sbt_container_decode(buf, len, "mem.sbtm", "SBTM", &c);
    if (st) CHECK(c == NULL);
    sbt_container_free(c);
    return st;
}

static int contains(const char *s, const char *part) { return strstr(s, part) != NULL; }

/* A small file with a 0-d, a 2-d, a text and an empty section. */
static void small_file(unsigned char **buf, size_t *len) {
    sbt_container *c = sbt_container_new();
    const float w[6] = {1, 2, 3, 4, 5, 6};
    const uint64_t seed = 42;
    CHECK(sbt_container_add(c, "w", SBT_SECTION_F32, 2, (int64_t[]){2, 3}, w) == SBT_OK);
    CHECK(sbt_container_add(c, "seed", SBT_SECTION_U64, 0, NULL, &seed) == SBT_OK);
    CHECK(sbt_container_add(c, "cfg", SBT_SECTION_TEXT, 1, (int64_t[]){3}, "a=1") == SBT_OK);
    CHECK(sbt_container_add(c, "none", SBT_SECTION_U8, 1, (int64_t[]){0}, NULL) == SBT_OK);
    CHECK(sbt_container_encode(c, "SBTM", buf, len) == SBT_OK);
    sbt_container_free(c);
}

/* One f32 section "w" of shape [2] = {1, 2}: the example of formats/sbtm.md. */
static void one_section_file(unsigned char **buf, size_t *len) {
    sbt_container *c = sbt_container_new();
    CHECK(sbt_container_add(c, "w", SBT_SECTION_F32, 1, (int64_t[]){2}, (float[]){1, 2}) == SBT_OK);
    CHECK(sbt_container_encode(c, "SBTM", buf, len) == SBT_OK);
    sbt_container_free(c);
}

/* ---- round trips ---- */

static void check_same(const sbt_section *a, const sbt_section *b) {
    CHECK(!strcmp(a->name, b->name));
    CHECK(a->type == b->type);
    CHECK(a->ndim == b->ndim);
    for (int d = 0; d < a->ndim; d++) CHECK(a->shape[d] == b->shape[d]);
    CHECK(a->count == b->count);
    CHECK(a->bytes == b->bytes);
    CHECK(a->bytes == 0 || !memcmp(a->data, b->data, a->bytes));
    CHECK(b->data != NULL && (uintptr_t)b->data % 64 == 0);
    if (b->type == SBT_SECTION_TEXT) CHECK(((const char *)b->data)[b->bytes] == '\0');
}

static void test_roundtrip_every_type(void) {
    float f0 = 3.5f, f1[5] = {0, -1.5f, 1e-30f, 3.4e38f, -0.0f};
    int32_t i2[6] = {INT32_MIN, -1, 0, 1, 7, INT32_MAX};
    uint8_t u3[24];
    uint64_t q4[12];
    for (int i = 0; i < 24; i++) u3[i] = (uint8_t)(i * 11);
    for (int i = 0; i < 12; i++) q4[i] = UINT64_MAX - (uint64_t)i * 0x0102030405060708u;
    const char *text = "line one\nline two\n";
    sbt_container *c = sbt_container_new();
    REQUIRE(c);
    CHECK(sbt_container_add(c, "f0", SBT_SECTION_F32, 0, NULL, &f0) == SBT_OK);
    CHECK(sbt_container_add(c, "f1", SBT_SECTION_F32, 1, (int64_t[]){5}, f1) == SBT_OK);
    CHECK(sbt_container_add(c, "i2", SBT_SECTION_I32, 2, (int64_t[]){2, 3}, i2) == SBT_OK);
    CHECK(sbt_container_add(c, "u3", SBT_SECTION_U8, 3, (int64_t[]){2, 3, 4}, u3) == SBT_OK);
    CHECK(sbt_container_add(c, "q4", SBT_SECTION_U64, 4, (int64_t[]){1, 2, 3, 2}, q4) == SBT_OK);
    CHECK(sbt_container_add(c, "empty.f32", SBT_SECTION_F32, 1, (int64_t[]){0}, NULL) == SBT_OK);
    CHECK(sbt_container_add(c, "empty.2d", SBT_SECTION_I32, 2, (int64_t[]){3, 0}, NULL) == SBT_OK);
    CHECK(sbt_container_add(c, "text", SBT_SECTION_TEXT, 1, (int64_t[]){(int64_t)strlen(text)}, text) ==
          SBT_OK);
    CHECK(sbt_container_add(c, "text.empty", SBT_SECTION_TEXT, 1, (int64_t[]){0}, "") == SBT_OK);
    CHECK(sbt_container_count(c) == 9);
    CHECK(sbt_container_find(c, "f0")->count == 1 && sbt_container_find(c, "empty.2d")->count == 0);
    unsigned char *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    sbt_container *r = NULL;
    CHECK(sbt_container_encode(c, "SBTM", &buf, &len) == SBT_OK);
    CHECK(sbt_container_decode(buf, len, "mem", "SBTM", &r) == SBT_OK);
    if (r) {
        CHECK(sbt_container_count(r) == 9);
        for (int i = 0; i < sbt_container_count(c) && i < sbt_container_count(r); i++)
            check_same(sbt_container_at(c, i), sbt_container_at(r, i));
        CHECK(!strcmp(sbt_container_find(r, "text")->data, text));
        CHECK(!strcmp(sbt_container_find(r, "text.empty")->data, ""));
        CHECK(*(const float *)sbt_container_find(r, "f0")->data == 3.5f);
        CHECK(sbt_container_at(r, 9) == NULL && sbt_container_at(r, -1) == NULL);
        /* Re-encoding what was read gives the same bytes: the writer is deterministic. */
        CHECK(sbt_container_encode(r, "SBTM", &buf2, &len2) == SBT_OK);
        CHECK(len2 == len && buf2 && !memcmp(buf, buf2, len));
    }
    free(buf);
    free(buf2);
    sbt_container_free(r);
    sbt_container_free(c);
}

static void test_empty_container(void) {
    sbt_container *c = sbt_container_new(), *r = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    CHECK(sbt_container_encode(c, "SBTC", &buf, &len) == SBT_OK);
    CHECK(len == 64);
    CHECK(sbt_container_decode(buf, len, "mem", "SBTC", &r) == SBT_OK);
    CHECK(sbt_container_count(r) == 0 && sbt_container_find(r, "x") == NULL);
    free(buf);
    sbt_container_free(r);
    sbt_container_free(c);
}

/* The field positions of formats/sbtm.md on a real file (the spec's example). */
static void test_byte_layout(void) {
    unsigned char *b = NULL;
    size_t len = 0;
    one_section_file(&b, &len);
    REQUIRE(b && len == 136);
    CHECK(!memcmp(b, "SBTM", 4));
    CHECK(get32(b + 4) == SBT_CONTAINER_VERSION && get32(b + 8) == 0 && get32(b + 12) == 1);
    CHECK(get64(b + 16) == 136 && get64(b + 24) == 39);
    CHECK(get32(b + 32) == crc(b + 64, 39) && get32(b + 36) == 64 && get32(b + 60) == crc(b, 60));
    for (int i = 40; i < 60; i++) CHECK(b[i] == 0);
    const unsigned char entry[] = {1, 0, 'w', 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};
    CHECK(!memcmp(b + 64, entry, sizeof entry));
    CHECK(get64(b + 83) == 128 && get64(b + 91) == 8 && get32(b + 99) == crc(b + 128, 8));
    const unsigned char payload[] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40};
    CHECK(!memcmp(b + 128, payload, 8));
    for (int i = 103; i < 128; i++) CHECK(b[i] == 0);
    CHECK(crc((const unsigned char *)"123456789", 9) == 0xCBF43926u); /* the CRC the spec names */
    free(b);
}

/* ---- the in-memory API ---- */

static void test_add_rejects_bad_sections(void) {
    sbt_container *c = sbt_container_new();
    const float f[4] = {0};
    char long_name[SBT_SECTION_NAME_MAX + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CHECK(sbt_container_add(c, "a", SBT_SECTION_F32, 1, (int64_t[]){4}, f) == SBT_OK);
    CHECK(sbt_container_add(c, "a", SBT_SECTION_U8, 1, (int64_t[]){1}, f) == SBT_ERR_ARG);
    CHECK(contains(sbt_last_error(), "'a'") && contains(sbt_last_error(), "duplicate"));
    CHECK(sbt_container_add(c, "", SBT_SECTION_F32, 1, (int64_t[]){4}, f) == SBT_ERR_ARG);
    CHECK(sbt_container_add(c, long_name, SBT_SECTION_F32, 1, (int64_t[]){4}, f) == SBT_ERR_ARG);
    long_name[SBT_SECTION_NAME_MAX] = '\0'; /* exactly the maximum is fine */
    CHECK(sbt_container_add(c, long_name, SBT_SECTION_F32, 1, (int64_t[]){4}, f) == SBT_OK);
    CHECK(sbt_container_add(c, "a b", SBT_SECTION_F32, 1, (int64_t[]){4}, f) == SBT_ERR_ARG);
    CHECK(sbt_container_add(c, "a\n", SBT_SECTION_F32, 1, (int64_t[]){4}, f) == SBT_ERR_ARG);
    CHECK(sbt_container_add(c, "t0", (sbt_section_type)0, 1, (int64_t[]){4}, f) == SBT_ERR_ARG);
    CHECK(sbt_container_add(c, "t6", (sbt_section_type)6, 1, (int64_t[]){4}, f) == SBT_ERR_ARG);
    CHECK(sbt_container_add(c, "d9", SBT_SECTION_U8, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, f) ==
          SBT_ERR_ARG);
    CHECK(sbt_container_add(c, "dneg", SBT_SECTION_U8, -1, NULL, f) == SBT_ERR_ARG);
    CHECK(sbt_container_add(c, "neg", SBT_SECTION_F32, 2, (int64_t[]){2, -2}, f) == SBT_ERR_ARG);
    CHECK(sbt_container_add(c, "txt2", SBT_SECTION_TEXT, 2, (int64_t[]){1, 1}, "x") == SBT_ERR_ARG);
    CHECK(sbt_container_add(c, "txt0", SBT_SECTION_TEXT, 0, NULL, "x") == SBT_ERR_ARG);
    CHECK(sbt_container_add(c, "nodata", SBT_SECTION_F32, 1, (int64_t[]){4}, NULL) == SBT_ERR_ARG);
    CHECK(sbt_container_add(c, "huge", SBT_SECTION_F32, 2, (int64_t[]){1LL << 40, 1LL << 40}, f) ==
          SBT_ERR_ARG);
    CHECK(sbt_container_add(c, "big", SBT_SECTION_U64, 1, (int64_t[]){1LL << 46}, f) == SBT_ERR_ARG);
    /* A zero dimension makes the section empty however large the others are. */
    CHECK(sbt_container_add(c, "zero", SBT_SECTION_F32, 3, (int64_t[]){1LL << 40, 1LL << 40, 0}, NULL) ==
          SBT_OK);
    CHECK(sbt_container_count(c) == 3);
    sbt_container_free(c);
}

static void test_find_and_expect(void) {
    sbt_container *c = sbt_container_new();
    const float f[6] = {1, 2, 3, 4, 5, 6};
    const sbt_section *s = NULL;
    CHECK(sbt_container_add(c, "w", SBT_SECTION_F32, 2, (int64_t[]){2, 3}, f) == SBT_OK);
    const sbt_section *w = sbt_container_find(c, "w");
    REQUIRE(w && w->count == 6 && w->bytes == 24);
    CHECK(sbt_container_find(c, "x") == NULL && sbt_container_find(c, "") == NULL);
    CHECK(sbt_container_expect(c, "m.sbtm", "w", SBT_SECTION_F32, 6, &s) == SBT_OK && s == w);
    CHECK(sbt_container_expect(c, "m.sbtm", "x", SBT_SECTION_F32, 6, &s) == SBT_ERR_FORMAT && s == NULL);
    CHECK(contains(sbt_last_error(), "m.sbtm") && contains(sbt_last_error(), "'x'"));
    CHECK(sbt_container_expect(c, "m.sbtm", "w", SBT_SECTION_I32, 6, &s) == SBT_ERR_FORMAT);
    CHECK(contains(sbt_last_error(), "'w'") && contains(sbt_last_error(), "f32"));
    CHECK(sbt_container_expect(c, "m.sbtm", "w", SBT_SECTION_F32, 5, &s) == SBT_ERR_FORMAT);
    CHECK(contains(sbt_last_error(), "6 elements"));
    /* Many sections: the name index grows and earlier pointers stay valid. */
    char name[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "layer%d.bias", i);
        CHECK(sbt_container_add(c, name, SBT_SECTION_F32, 1, (int64_t[]){1}, f + i % 6) == SBT_OK);
    }
    CHECK(sbt_container_find(c, "w") == w && sbt_container_count(c) == 501);
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "layer%d.bias", i);
        const sbt_section *b = sbt_container_find(c, name);
        CHECK(b && b == sbt_container_at(c, i + 1) && *(const float *)b->data == f[i % 6]);
    }
    sbt_container_free(c);
}

/* ---- rejection of bad files ---- */

static void test_wrong_magic(void) {
    unsigned char *b = NULL;
    size_t len = 0;
    sbt_container *r = NULL;
    small_file(&b, &len);
    REQUIRE(b);
    CHECK(sbt_container_decode(b, len, "m.sbtc", "SBTC", &r) == SBT_ERR_FORMAT && r == NULL);
    CHECK(contains(sbt_last_error(), "m.sbtc") && contains(sbt_last_error(), "not a SBTC file"));
    CHECK(sbt_container_decode(b, len, "m", "SBT", &r) == SBT_ERR_ARG);
    b[0] = 0x01;
    CHECK(decode(b, len) == SBT_ERR_FORMAT && contains(sbt_last_error(), "\\x01BTM"));
    free(b);
    sbt_container *c = sbt_container_new();
    CHECK(sbt_container_encode(c, "TOOLONG", &b, &len) == SBT_ERR_ARG && b == NULL);
    sbt_container_free(c);
}

static void test_versions(void) {
    unsigned char *b = NULL;
    size_t len = 0;
    small_file(&b, &len);
    REQUIRE(b);
    put32(b + 4, SBT_CONTAINER_VERSION + 1);
    CHECK(decode(b, len) == SBT_ERR_FORMAT);
    CHECK(contains(sbt_last_error(), "newer") && contains(sbt_last_error(), "mem.sbtm"));
    fix_crcs(b, len); /* same verdict with a consistent header */
    CHECK(decode(b, len) == SBT_ERR_FORMAT && contains(sbt_last_error(), "newer"));
    put32(b + 4, 0);
    fix_crcs(b, len);
    CHECK(decode(b, len) == SBT_ERR_FORMAT && contains(sbt_last_error(), "version 0"));
    put32(b + 4, SBT_CONTAINER_VERSION);
    fix_crcs(b, len);
    CHECK(decode(b, len) == SBT_OK);
    free(b);
}

static void test_truncation_at_every_length(void) {
    unsigned char *b = NULL;
    size_t len = 0;
    small_file(&b, &len);
    REQUIRE(b && len > 64);
    CHECK(decode(b, len) == SBT_OK);
    for (size_t n = 0; n < len; n++) {
        /* A copy of exactly n bytes, so that ASan sees any read past the end. */
        unsigned char *t = malloc(n ? n : 1);
        memcpy(t, b, n);
        CHECK_MSG(decode(n ? t : NULL, n) == SBT_ERR_FORMAT, "length %zu", n);
        free(t);
    }
    unsigned char *longer = calloc(1, len + 1);
    memcpy(longer, b, len);
    CHECK(decode(longer, len + 1) == SBT_ERR_FORMAT && contains(sbt_last_error(), "trailing"));
    free(longer);
    free(b);
}

static void test_bit_flip_in_every_byte(void) {
    unsigned char *b = NULL;
    size_t len = 0;
    small_file(&b, &len);
    REQUIRE(b);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (unsigned char)(1u << bit);
            CHECK_MSG(decode(b, len) == SBT_ERR_FORMAT, "byte %zu bit %d", i, bit);
            b[i] ^= (unsigned char)(1u << bit);
        }
    }
    CHECK(decode(b, len) == SBT_OK);
    free(b);
}

/* Makes the file from `make`, writes `value` (1, 4 or 8 bytes wide) at `at`, fixes the
 * checksums and expects rejection with `message`. */
static void expect_patch_rejected(void (*make)(unsigned char **, size_t *), size_t at, uint64_t value,
                                  int width, const char *message) {
    unsigned char *b = NULL;
    size_t len = 0;
    make(&b, &len);
    if (!b) return;
    if (width == 1)
        b[at] = (unsigned char)value;
    else if (width == 4)
        put32(b + at, (uint32_t)value);
    else
        put64(b + at, value);
    fix_crcs(b, len);
    CHECK_MSG(decode(b, len) == SBT_ERR_FORMAT, "offset %zu = %llu", at, (unsigned long long)value);
    CHECK_MSG(contains(sbt_last_error(), message), "'%s' lacks '%s'", sbt_last_error(), message);
    free(b);
}

/* A header field of the small file. */
static void expect_header_patch_rejected(size_t at, uint64_t value, int width, const char *message) {
    expect_patch_rejected(small_file, at, value, width, message);
}

static void test_absurd_header_values(void) {
    expect_header_patch_rejected(12, 1u << 31, 4, "exceed the limit");
    expect_header_patch_rejected(12, 0xFFFFFFFFu, 4, "exceed the limit");
    expect_header_patch_rejected(12, 65537, 4, "exceed the limit");
    expect_header_patch_rejected(12, 0, 4, "impossible");
    expect_header_patch_rejected(12, 200, 4, "impossible");
    expect_header_patch_rejected(16, UINT64_MAX, 8, "truncated");
    expect_header_patch_rejected(16, 64, 8, "trailing");
    expect_header_patch_rejected(24, UINT64_MAX, 8, "impossible");
    expect_header_patch_rejected(24, 1u << 20, 8, "impossible");
    expect_header_patch_rejected(24, 150, 8, "runs past"); /* of 164: ends inside the last entry */
    expect_header_patch_rejected(8, 1, 4, "flags");
    expect_header_patch_rejected(36, 32, 4, "alignment");
    expect_header_patch_rejected(44, 7, 4, "reserved");
}

/* Patches the one-section file ("w", f32 [2]; entry at 64: name 66, type 67, ndim 71,
 * shape 75, offset 83, length 91, crc 99) and expects rejection. */
static void expect_entry_patch_rejected(size_t at, uint64_t value, int width, const char *message) {
    expect_patch_rejected(one_section_file, at, value, width, message);
}

static void test_absurd_entries(void) {
    expect_entry_patch_rejected(64, 0, 1, "name length");
    expect_entry_patch_rejected(64, 200, 1, "name length");
    expect_entry_patch_rejected(64, 30, 1, "runs past");
    expect_entry_patch_rejected(66, ' ', 1, "printable");
    expect_entry_patch_rejected(67, 99, 4, "unknown section type");
    expect_entry_patch_rejected(67, SBT_SECTION_TEXT, 4, "length"); /* 8 bytes for a text [2] */
    expect_entry_patch_rejected(71, 9, 4, "dimensions");
    expect_entry_patch_rejected(71, 0xFFFFFFFFu, 4, "dimensions");
    expect_entry_patch_rejected(71, 2, 4, "runs past");
    expect_entry_patch_rejected(75, 1ull << 63, 8, "above 2^48");
    expect_entry_patch_rejected(75, (1ull << 48) + 1, 8, "above 2^48");
    expect_entry_patch_rejected(75, 3, 8, "does not match its shape");
    expect_entry_patch_rejected(83, 129, 8, "misaligned");
    expect_entry_patch_rejected(83, 64, 8, "overlaps");
    expect_entry_patch_rejected(83, 1ull << 63, 8, "out of bounds");
    expect_entry_patch_rejected(83, UINT64_MAX - 63, 8, "out of bounds");
    expect_entry_patch_rejected(91, UINT64_MAX, 8, "does not match");
    expect_entry_patch_rejected(99, 0, 4, "payload checksum");
    expect_entry_patch_rejected(110, 0xAA, 1, "padding");
}

/* A 2-d f32 entry whose shape product overflows 64 bits. */
static void test_shape_product_overflow(void) {
    sbt_container *c = sbt_container_new();
    unsigned char *b = NULL;
    size_t len = 0;
    CHECK(sbt_container_add(c, "m", SBT_SECTION_F32, 2, (int64_t[]){1, 2}, (float[]){1, 2}) == SBT_OK);
    CHECK(sbt_container_encode(c, "SBTM", &b, &len) == SBT_OK);
    sbt_container_free(c);
    REQUIRE(b);
    const uint64_t dims[][2] = {{1ull << 40, 1ull << 40}, {1ull << 47, 1ull << 47}, {1ull << 48, 1ull << 48}};
    for (int k = 0; k < 3; k++) {
        put64(b + 75, dims[k][0]); /* shape[0], shape[1] at 75 and 83 */
        put64(b + 83, dims[k][1]);
        fix_crcs(b, len);
        CHECK(decode(b, len) == SBT_ERR_FORMAT && contains(sbt_last_error(), "exceeds 2^48"));
    }
    free(b);
}

static void test_duplicate_names_in_file(void) {
    sbt_container *c = sbt_container_new();
    unsigned char *b = NULL;
    size_t len = 0;
    CHECK(sbt_container_add(c, "a", SBT_SECTION_U8, 1, (int64_t[]){1}, "x") == SBT_OK);
    CHECK(sbt_container_add(c, "b", SBT_SECTION_U8, 1, (int64_t[]){1}, "y") == SBT_OK);
    CHECK(sbt_container_encode(c, "SBTM", &b, &len) == SBT_OK);
    sbt_container_free(c);
    REQUIRE(b);
    /* The first entry ("a", u8 [1]) is 30 + 1 + 8 = 39 bytes; names follow a u16 length. */
    CHECK(b[64 + 2] == 'a' && b[64 + 39 + 2] == 'b');
    b[64 + 39 + 2] = 'a';
    fix_crcs(b, len);
    CHECK(decode(b, len) == SBT_ERR_FORMAT && contains(sbt_last_error(), "duplicate"));
    free(b);
}

/* What the spec allows a reader to accept: optional flags, and payloads further out than
 * a libsbt writer puts them as long as the gap is zero. */
static void test_accepts_valid_variants(void) {
    unsigned char *b = NULL;
    size_t len = 0;
    one_section_file(&b, &len);
    REQUIRE(b);
    put32(b + 8, 1u << 16);
    fix_crcs(b, len);
    CHECK(decode(b, len) == SBT_OK);
    unsigned char *w = calloc(1, len + 64);
    memcpy(w, b, 128);
    memcpy(w + 192, b + 128, len - 128);
    put64(w + 16, len + 64);
    put64(w + 83, 192);
    fix_crcs(w, len + 64);
    sbt_container *r = NULL;
    CHECK(sbt_container_decode(w, len + 64, "mem", "SBTM", &r) == SBT_OK);
    CHECK(r && ((const float *)sbt_container_find(r, "w")->data)[1] == 2.0f);
    sbt_container_free(r);
    w[150] = 1;
    CHECK(decode(w, len + 64) == SBT_ERR_FORMAT && contains(sbt_last_error(), "padding"));
    free(w);
    free(b);
}

/* ---- files ---- */

static char tmp_dir[64];

static void path_in_tmp(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", tmp_dir, name);
}

static int count_tmp_leftovers(void) {
    DIR *d = opendir(tmp_dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void test_file_round_trip(void) {
    char path[128];
    path_in_tmp(path, sizeof path, "model.sbtm");
    sbt_container *c = sbt_container_new(), *r = NULL;
    CHECK(sbt_container_add(c, "w", SBT_SECTION_F32, 1, (int64_t[]){3}, (float[]){1, 2, 3}) == SBT_OK);
    CHECK(sbt_container_write(c, path, "SBTM") == SBT_OK);
    CHECK(sbt_container_read(path, "SBTM", &r) == SBT_OK);
    CHECK(r && sbt_container_count(r) == 1 && ((const float *)sbt_container_at(r, 0)->data)[2] == 3.0f);
    sbt_container_free(r);
    CHECK(sbt_container_read(path, "SBTC", &r) == SBT_ERR_FORMAT && r == NULL);
    CHECK(contains(sbt_last_error(), path));
    char missing[128];
    path_in_tmp(missing, sizeof missing, "missing.sbtm");
    CHECK(sbt_container_read(missing, "SBTM", &r) == SBT_ERR_IO && contains(sbt_last_error(), missing));
    CHECK(sbt_container_read(tmp_dir, "SBTM", &r) == SBT_ERR_IO && r == NULL);
    CHECK(count_tmp_leftovers() == 0);
    unlink(path);
    sbt_container_free(c);
}

static int file_is(const char *path, const char *content) {
    char got[64] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    return n == strlen(content) && !memcmp(got, content, n);
}

static void test_atomic_write(void) {
    char path[128], bad[128], tmp[160];
    struct stat sb;
    mode_t mask = umask(022);
    umask(mask);
    path_in_tmp(bad, sizeof bad, "no/such/dir/x.sbtm");
    CHECK(sbt_write_file_atomic(bad, "abc", 3) == SBT_ERR_IO);
    CHECK(contains(sbt_last_error(), bad) && contains(sbt_last_error(), "No such file"));
    path_in_tmp(bad, sizeof bad, "no");
    CHECK(stat(bad, &sb) != 0);
    path_in_tmp(path, sizeof path, "out.txt");
    CHECK(sbt_write_file_atomic(path, "old", 3) == SBT_OK && file_is(path, "old"));
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == (0644 & ~mask));
    CHECK(sbt_write_file_atomic(path, "new contents", 12) == SBT_OK && file_is(path, "new contents"));
    CHECK(count_tmp_leftovers() == 0);
    /* A leftover temporary file with our pid (an earlier crash) does not block writing. */
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (f) fclose(f);
    CHECK(sbt_write_file_atomic(path, "", 0) == SBT_OK && file_is(path, ""));
    CHECK(count_tmp_leftovers() == 0);
    /* Renaming over a directory fails; the directory and no temporary file remain. */
    path_in_tmp(bad, sizeof bad, "adir");
    CHECK(mkdir(bad, 0755) == 0);
    CHECK(sbt_write_file_atomic(bad, "x", 1) == SBT_ERR_IO && contains(sbt_last_error(), "rename"));
    CHECK(stat(bad, &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK(count_tmp_leftovers() == 0);
    rmdir(bad);
    unlink(path);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/sbt_container_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_roundtrip_every_type);
    RUN(test_empty_container);
    RUN(test_byte_layout);
    RUN(test_add_rejects_bad_sections);
    RUN(test_find_and_expect);
    RUN(test_wrong_magic);
    RUN(test_versions);
    RUN(test_truncation_at_every_length);
    RUN(test_bit_flip_in_every_byte);
    RUN(test_absurd_header_values);
    RUN(test_absurd_entries);
    RUN(test_shape_product_overflow);
    RUN(test_duplicate_names_in_file);
    RUN(test_accepts_valid_variants);
    RUN(test_file_round_trip);
    RUN(test_atomic_write);
    rmdir(tmp_dir);
    return check_summary();
}
