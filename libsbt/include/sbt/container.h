/* sbt/container.h - the checksummed, versioned file container for models and checkpoints.
 *
 * A container is a list of named sections. Each section has a type tag, a shape and a
 * payload; the file has a versioned header, and every section carries a CRC-32 of its
 * payload. The byte layout is specified in formats/sbtm.md. Readers check every length,
 * offset and checksum before use, so a truncated or corrupted file is an SBT_ERR_FORMAT
 * naming the file and the section, never a crash.
 *
 * Writing is atomic: sbt_container_write() writes `path.tmp.<pid>` in the same directory,
 * flushes it and renames it over `path`; on any failure the temporary file is removed and
 * `path` is left untouched.
 *
 *     sbt_container *c = sbt_container_new();
 *     sbt_container_add(c, "config", SBT_SECTION_TEXT, 1, (int64_t[]){len}, text);
 *     sbt_container_add(c, "layer0.weight", SBT_SECTION_F32, 2, (int64_t[]){64, 32}, w);
 *     if (sbt_container_write(c, "model.sbtm", "SBTM") != SBT_OK) ...
 *     sbt_container_free(c);
 *
 *     sbt_container *r = NULL;
 *     if (sbt_container_read("model.sbtm", "SBTM", &r) != SBT_OK) ...
 *     const sbt_section *s = sbt_container_find(r, "layer0.weight");
 *
 * Ownership: sbt_container_new/read return a container the caller frees with
 * sbt_container_free(). sbt_container_add copies the payload. Sections returned by
 * sbt_container_find/at point into the container and live as long as it does.
 */
#ifndef SBT_CONTAINER_H
#define SBT_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "sbt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SBT_CONTAINER_VERSION 1
#define SBT_SECTION_MAX_DIMS 8
#define SBT_SECTION_NAME_MAX 127

typedef enum sbt_section_type {
    SBT_SECTION_F32 = 1,  /* little-endian IEEE float32 */
    SBT_SECTION_I32 = 2,  /* little-endian int32 */
    SBT_SECTION_U8 = 3,   /* raw bytes */
    SBT_SECTION_TEXT = 4, /* UTF-8 text, not NUL-terminated in the file (a NUL is appended in memory) */
    SBT_SECTION_U64 = 5   /* little-endian uint64 */
} sbt_section_type;

typedef struct sbt_section {
    char name[SBT_SECTION_NAME_MAX + 1];
    sbt_section_type type;
    int ndim;
    int64_t shape[SBT_SECTION_MAX_DIMS];
    int64_t count; /* product of shape (elements) */
    size_t bytes;  /* payload size in bytes */
    void *data;    /* payload, 64-byte aligned; for TEXT one extra NUL byte follows */
} sbt_section;

typedef struct sbt_container sbt_container;

sbt_container *sbt_container_new(void);
void sbt_container_free(sbt_container *c);

/* Appends a section (payload copied). Names are unique: adding an existing name is an
 * SBT_ERR_ARG. The element size follows from the type; count = product(shape). */
sbt_status sbt_container_add(sbt_container *c, const char *name, sbt_section_type type, int ndim,
                             const int64_t *shape, const void *data);
int sbt_container_count(const sbt_container *c);
const sbt_section *sbt_container_at(const sbt_container *c, int i);
/* NULL if absent. */
const sbt_section *sbt_container_find(const sbt_container *c, const char *name);
/* Like find, but an absent section, another type or another element count is an
 * SBT_ERR_FORMAT naming `path_for_message` and the section. */
sbt_status sbt_container_expect(const sbt_container *c, const char *path_for_message, const char *name,
                                sbt_section_type type, int64_t count, const sbt_section **out);

/* `magic` is 4 ASCII characters naming the kind of file ("SBTM" model, "SBTC" checkpoint);
 * reading a file with another magic is an SBT_ERR_FORMAT. */
sbt_status sbt_container_write(const sbt_container *c, const char *path, const char *magic);
sbt_status sbt_container_read(const char *path, const char *magic, sbt_container **out);
/* The same from/to memory (used by fuzzers and tests). *out_buf is malloc'ed. */
sbt_status sbt_container_encode(const sbt_container *c, const char *magic, unsigned char **out_buf,
                                size_t *out_len);
sbt_status sbt_container_decode(const unsigned char *buf, size_t len, const char *name_for_message,
                                const char *magic, sbt_container **out);

/* Writes `len` bytes to `path` atomically (temporary file in the same directory, then
 * rename). Used by every tool for every output file. */
sbt_status sbt_write_file_atomic(const char *path, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
