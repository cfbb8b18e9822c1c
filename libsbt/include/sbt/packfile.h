/* sbt/packfile.h - the deployable .sbt file: named sections, each one tensor (or text)
 * in one of the encodings of sbt/pack.h, behind a versioned, checksummed header.
 *
 * The byte layout is specified in formats/sbt.md. A reader checks every length, offset,
 * count and CRC before use and validates every payload of a known encoding against its
 * shape (coded streams decoded in full), so a corrupt file is an SBT_ERR_FORMAT naming the
 * file, the section and the reason, never a crash. A section with an encoding this build
 * does not know is refused, unless the writer flagged it optional: then it is listed with
 * known = 0 and not decoded.
 *
 *     sbt_packfile *pf = sbt_packfile_new();
 *     sbt_packfile_add_text(pf, "graph", graph_text, 0);
 *     sbt_packfile_add_mask(pf, "layer0.q.weight", SBT_ENC_SEED_MASK_CODED, 2, (int64_t[]){64, 64},
 *                           mask, &alpha, 0, 0);
 *     sbt_packfile_add_floats(pf, "layer0.norm1.gamma", SBT_ENC_F32, 1, (int64_t[]){64}, gamma, 0);
 *     if (sbt_packfile_write(pf, "model.sbt") != SBT_OK) ...   // atomic: temp file + rename
 *     sbt_packfile_free(pf);
 *
 *     sbt_packfile *r = NULL;
 *     if (sbt_packfile_read("model.sbt", &r) != SBT_OK) fprintf(stderr, "%s\n", sbt_last_error());
 *     const sbt_pack_section *s = sbt_packfile_find(r, "layer0.q.weight");
 *     sbt_packfile_mask(s, mask, alpha, &per_row);
 *
 * Ownership: sbt_packfile_new/read/decode return a file the caller frees with
 * sbt_packfile_free(). The add functions copy (and encode) their input. Sections returned
 * by sbt_packfile_find/at point into the file and live as long as it does.
 */
#ifndef SBT_PACKFILE_H
#define SBT_PACKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "sbt/error.h"
#include "sbt/pack.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SBT_PACKFILE_VERSION 1
#define SBT_PACK_NAME_MAX 127
#define SBT_PACK_MAX_DIMS 8

/* Section flags (formats/sbt.md 2.2). */
#define SBT_PACK_ZLIB 1u     /* stored as a zlib stream */
#define SBT_PACK_OPTIONAL 2u /* a reader that does not know the encoding skips the section */
/* Writer only (never stored): deflate, and keep the zlib form only when it is smaller. */
#define SBT_PACK_ZLIB_AUTO 0x100u

typedef struct sbt_pack_section {
    char name[SBT_PACK_NAME_MAX + 1];
    int encoding; /* the tag as stored (sbt_encoding when known) */
    int known;    /* 0: an optional section of an encoding this build does not know */
    unsigned flags;
    int ndim;
    int64_t shape[SBT_PACK_MAX_DIMS];
    int64_t count;       /* weights (product of shape); bytes for text */
    int64_t rows, cols;  /* count = rows * cols: rows = shape[0] (1 for a 0-d tensor) */
    size_t stored_bytes; /* payload bytes in the file (deflated when SBT_PACK_ZLIB) */
    size_t bytes;        /* payload bytes as the encoding defines them */
    unsigned char *data; /* those bytes (never NULL; a NUL byte follows them) */
} sbt_pack_section;

typedef struct sbt_packfile sbt_packfile;

sbt_packfile *sbt_packfile_new(void);
void sbt_packfile_free(sbt_packfile *pf);

/* Adds an encoded payload (validated against the shape first; copied). Names are unique,
 * 1..127 printable ASCII characters. */
sbt_status sbt_packfile_add(sbt_packfile *pf, const char *name, sbt_encoding enc, int ndim,
                            const int64_t *shape, const void *payload, size_t bytes, unsigned flags);
/* Encode and add. */
sbt_status sbt_packfile_add_text(sbt_packfile *pf, const char *name, const char *text, unsigned flags);
sbt_status sbt_packfile_add_floats(sbt_packfile *pf, const char *name, sbt_encoding enc, int ndim,
                                   const int64_t *shape, const float *x, unsigned flags);
sbt_status sbt_packfile_add_mask(sbt_packfile *pf, const char *name, sbt_encoding enc, int ndim,
                                 const int64_t *shape, const uint8_t *mask, const float *alpha,
                                 int alpha_per_row, unsigned flags);
sbt_status sbt_packfile_add_ternary(sbt_packfile *pf, const char *name, sbt_encoding enc, int ndim,
                                    const int64_t *shape, const int8_t *codes, const float *alpha,
                                    int alpha_per_row, unsigned flags);

int sbt_packfile_count(const sbt_packfile *pf);
const sbt_pack_section *sbt_packfile_at(const sbt_packfile *pf, int i);
const sbt_pack_section *sbt_packfile_find(const sbt_packfile *pf, const char *name); /* NULL if absent */
/* Bytes the file takes when encoded (header, table and payloads). */
size_t sbt_packfile_size(const sbt_packfile *pf);
/* Bytes of the table entry of section i. */
size_t sbt_packfile_entry_size(const sbt_packfile *pf, int i);

/* Decoding a section's values; a section of another kind is an SBT_ERR_FORMAT naming it.
 * Output arrays hold s->count values (alpha: max(s->rows, 1)); each may be NULL. */
sbt_status sbt_packfile_floats(const sbt_pack_section *s, float *x); /* f32, f16 */
sbt_status sbt_packfile_mask(const sbt_pack_section *s, uint8_t *mask, float *alpha, int *alpha_per_row);
sbt_status sbt_packfile_ternary(const sbt_pack_section *s, int8_t *codes, float *alpha, int *alpha_per_row);
/* The entropy bound of the section's payload in bits (sbt_pack_payload_bound_bits). */
double sbt_packfile_bound_bits(const sbt_pack_section *s);

sbt_status sbt_packfile_encode(const sbt_packfile *pf, unsigned char **out_buf,
                               size_t *out_len); /* malloc'ed */
sbt_status sbt_packfile_decode(const unsigned char *buf, size_t len, const char *name_for_message,
                               sbt_packfile **out);
/* Atomic (sbt_write_file_atomic): a failed write leaves no file behind. */
sbt_status sbt_packfile_write(const sbt_packfile *pf, const char *path);
sbt_status sbt_packfile_read(const char *path, sbt_packfile **out);

#ifdef __cplusplus
}
#endif
#endif
