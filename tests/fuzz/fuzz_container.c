/* fuzz_container.c - libFuzzer target for sbt_container_decode (see README.md).
 *
 * Any input must either be rejected with SBT_ERR_FORMAT or decode into a container that
 * re-encodes and decodes again to the same sections; anything else (a crash, a
 * sanitizer report, another status, a mismatch) is a finding.
 *
 * Built with -DFUZZ_SEED_MAIN instead, this file is a small program that writes a seed
 * corpus of valid files into the directory given as its argument.
 */
#include "sbt/container.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void same_or_abort(const sbt_container *a, const sbt_container *b) {
    if (sbt_container_count(a) != sbt_container_count(b)) abort();
    for (int i = 0; i < sbt_container_count(a); i++) {
        const sbt_section *x = sbt_container_at(a, i), *y = sbt_container_at(b, i);
        if (strcmp(x->name, y->name) || x->type != y->type || x->ndim != y->ndim || x->count != y->count ||
            x->bytes != y->bytes || memcmp(x->shape, y->shape, sizeof x->shape) ||
            (x->bytes && memcmp(x->data, y->data, x->bytes)))
            abort();
        if (sbt_container_find(a, x->name) != x || ((uintptr_t)x->data & 63)) abort();
        if (x->type == SBT_SECTION_TEXT && ((const char *)x->data)[x->bytes]) abort();
        const sbt_section *s = NULL;
        if (sbt_container_expect(a, "fuzz", x->name, x->type, x->count, &s) != SBT_OK || s != x) abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    sbt_container *c = NULL, *again = NULL;
    sbt_status st = sbt_container_decode(data, size, "fuzz", "SBTM", &c);
    if (st != SBT_OK) {
        if (st != SBT_ERR_FORMAT || c) abort();
        return 0;
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    if (sbt_container_encode(c, "SBTM", &buf, &len) != SBT_OK) abort();
    if (sbt_container_decode(buf, len, "fuzz-again", "SBTM", &again) != SBT_OK) abort();
    same_or_abort(c, again);
    free(buf);
    sbt_container_free(again);
    sbt_container_free(c);
    return 0;
}

#ifdef FUZZ_SEED_MAIN
static int write_seed(const char *dir, const char *name, const sbt_container *c) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (sbt_container_write(c, path, "SBTM") == SBT_OK) return 0;
    fprintf(stderr, "%s\n", sbt_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    const float w[6] = {1, 2, 3, 4, 5, 6};
    const int32_t i[2] = {-1, 7};
    const uint64_t q = 42;
    sbt_container *c = sbt_container_new();
    int bad = write_seed(argv[1], "empty.sbtm", c);
    bad |= sbt_container_add(c, "w", SBT_SECTION_F32, 2, (int64_t[]){2, 3}, w) != SBT_OK;
    bad |= write_seed(argv[1], "one.sbtm", c);
    bad |= sbt_container_add(c, "config", SBT_SECTION_TEXT, 1, (int64_t[]){7}, "d=4\nh=2") != SBT_OK;
    bad |= sbt_container_add(c, "i", SBT_SECTION_I32, 1, (int64_t[]){2}, i) != SBT_OK;
    bad |= sbt_container_add(c, "bytes", SBT_SECTION_U8, 3, (int64_t[]){1, 2, 3}, "abcdef") != SBT_OK;
    bad |= sbt_container_add(c, "seed", SBT_SECTION_U64, 0, NULL, &q) != SBT_OK;
    bad |= sbt_container_add(c, "none", SBT_SECTION_F32, 2, (int64_t[]){0, 5}, NULL) != SBT_OK;
    bad |= write_seed(argv[1], "all.sbtm", c);
    sbt_container_free(c);
    return bad;
}
#endif
