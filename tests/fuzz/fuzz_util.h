/* fuzz_util.h - what the reader fuzz targets share (header-only, included once per target).
 *
 * The readers take paths, so an input is handed over as a file: one memfd per process,
 * rewritten per input and opened through /proc/self/fd/N (no disk, no cleanup). Seed
 * writers (built with -DFUZZ_SEED_MAIN) cut their corpus from the real datasets under
 * SBT_DATA (default: SBT_DEFAULT_DATA_DIR from CMake, ../shared/data beside the repo).
 */
#ifndef SBT_FUZZ_UTIL_H
#define SBT_FUZZ_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "sbt/error.h"

/* The path of a file holding exactly data[0..size). slot picks one of a few files, for
 * targets that need several inputs at once. */
static inline const char *fuzz_input_file(int slot, const uint8_t *data, size_t size) {
    static int fd[4] = {-1, -1, -1, -1};
    static char path[4][64];
    if (slot < 0 || slot > 3) abort();
    if (fd[slot] < 0) {
        fd[slot] = memfd_create("sbt-fuzz", 0);
        if (fd[slot] < 0) abort();
        snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
    }
    if (ftruncate(fd[slot], 0) || (size && pwrite(fd[slot], data, size, 0) != (ssize_t)size)) abort();
    return path[slot];
}

/* A failed read must leave a message and no result. */
static inline void fuzz_expect_failure(sbt_status st, const void *out) {
    if (st == SBT_OK || out) abort();
    const char *msg = sbt_last_error();
    if (!msg || !*msg) abort();
}

#ifdef FUZZ_SEED_MAIN
#ifndef SBT_DEFAULT_DATA_DIR
#define SBT_DEFAULT_DATA_DIR "../shared/data"
#endif

static inline const char *fuzz_data_path(const char *rel) {
    static char buf[4096];
    const char *root = getenv("SBT_DATA");
    snprintf(buf, sizeof buf, "%s/%s", root && *root ? root : SBT_DEFAULT_DATA_DIR, rel);
    return buf;
}

static inline int fuzz_write_seed(const char *dir, const char *name, const void *data, size_t size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f)) {
        fprintf(stderr, "seed: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

/* Up to `limit` bytes of a (plain or gzip) file, decompressed; *size receives the count. */
static inline unsigned char *fuzz_read_head(const char *path, size_t limit, size_t *size) {
    gzFile f = gzopen(path, "rb");
    unsigned char *buf = f ? malloc(limit + 1) : NULL;
    int n = buf ? gzread(f, buf, (unsigned)limit) : -1;
    if (f) gzclose(f);
    if (n < 0) {
        fprintf(stderr, "seed: cannot read %s (set SBT_DATA)\n", path);
        free(buf);
        return NULL;
    }
    *size = (size_t)n;
    buf[n] = 0;
    return buf;
}

/* The first `lines` lines of a data file (relative to SBT_DATA), plain, as seed `name`. */
static inline int fuzz_seed_lines(const char *dir, const char *name, const char *rel, int lines) {
    size_t n = 0;
    unsigned char *buf = fuzz_read_head(fuzz_data_path(rel), 1 << 16, &n);
    if (!buf) return 1;
    size_t end = 0;
    for (int l = 0; end < n && l < lines; end++)
        if (buf[end] == '\n') l++;
    int bad = fuzz_write_seed(dir, name, buf, end);
    free(buf);
    return bad;
}
#endif

#endif
