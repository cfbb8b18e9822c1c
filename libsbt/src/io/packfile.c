/* packfile.c - the .sbt file: header, section table, checksums, optional zlib
 * (formats/sbt.md sections 2 and 5).
 *
 * The file is untrusted input. Decoding checks every field before use, computes sizes
 * without overflow, allocates only after the checks that bound the allocation by the input
 * length (a zlib payload may expand at most 1032:1, which is deflate's own limit), and then
 * validates every payload of a known encoding with the codecs of pack.h.
 */
#include "sbt/packfile.h"

#include "io/integrity.h"

#include "io/pack_internal.h"
#include "sbt/container.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum {
    HEADER_BYTES = 32,
    MAX_SECTIONS = 65536,
    ENTRY_MIN = 10, /* name_shared, suffix_len, encoding, flags, ndim, stored_length, crc + 1 name byte */
    KNOWN_FLAGS = SBT_PACK_ZLIB | SBT_PACK_OPTIONAL,
    REQUIRED_HEADER_FLAGS = 0xFF, /* version 1 knows none */
    ZLIB_MAX_RATIO = 1032
};

/* Header field offsets. */
enum {
    H_VERSION = 4,
    H_FLAGS = 6,
    H_COUNT = 8,
    H_TABLE_LEN = 12,
    H_FILE_LEN = 16,
    H_TABLE_CRC = 24,
    H_CRC = 28
};

static const char MAGIC[4] = {'S', 'B', 'T', 'P'};

/* A section and what only the writer needs: the bytes as stored, and their CRC. */
typedef struct section {
    sbt_pack_section pub;  /* first: a pointer to it is a pointer to the section */
    unsigned char *stored; /* == pub.data unless zlib */
    uint32_t crc;
} section;

struct sbt_packfile {
    section **sec;
    int n, cap;
    int *slots;    /* open-addressing name index: section index + 1, 0 = empty */
    size_t nslots; /* 0 or a power of two > 2 n */
};

/* ---- sections and the index ---- */

static void section_free(section *s) {
    if (!s) return;
    if (s->stored != s->pub.data) free(s->stored);
    free(s->pub.data);
    free(s);
}

sbt_packfile *sbt_packfile_new(void) { return calloc(1, sizeof(sbt_packfile)); }

void sbt_packfile_free(sbt_packfile *pf) {
    if (!pf) return;
    for (int i = 0; i < pf->n; i++) section_free(pf->sec[i]);
    free(pf->sec);
    free(pf->slots);
    free(pf);
}

static size_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

static int index_find(const sbt_packfile *pf, const char *name) {
    if (!pf->nslots) return -1;
    for (size_t k = name_hash(name) & (pf->nslots - 1);; k = (k + 1) & (pf->nslots - 1)) {
        int i = pf->slots[k] - 1;
        if (i < 0) return -1;
        if (!strcmp(pf->sec[i]->pub.name, name)) return i;
    }
}

static void index_put(sbt_packfile *pf, int i) {
    size_t k = name_hash(pf->sec[i]->pub.name) & (pf->nslots - 1);
    while (pf->slots[k]) k = (k + 1) & (pf->nslots - 1);
    pf->slots[k] = i + 1;
}

/* Appends s, taking ownership only on success. */
static sbt_status append(sbt_packfile *pf, section *s) {
    if (pf->n == pf->cap) {
        int cap = pf->cap ? 2 * pf->cap : 16;
        section **p = realloc(pf->sec, (size_t)cap * sizeof *p);
        if (!p) return sbt_fail(SBT_ERR_NOMEM, "sbt: out of memory");
        pf->sec = p;
        pf->cap = cap;
    }
    if (2 * (size_t)(pf->n + 1) >= pf->nslots) {
        size_t ns = pf->nslots ? 2 * pf->nslots : 64;
        int *slots = calloc(ns, sizeof *slots);
        if (!slots) return sbt_fail(SBT_ERR_NOMEM, "sbt: out of memory");
        free(pf->slots);
        pf->slots = slots;
        pf->nslots = ns;
        for (int i = 0; i < pf->n; i++) index_put(pf, i);
    }
    pf->sec[pf->n] = s;
    index_put(pf, pf->n++);
    return SBT_OK;
}

int sbt_packfile_count(const sbt_packfile *pf) { return pf ? pf->n : 0; }

const sbt_pack_section *sbt_packfile_at(const sbt_packfile *pf, int i) {
    return pf && i >= 0 && i < pf->n ? &pf->sec[i]->pub : NULL;
}

const sbt_pack_section *sbt_packfile_find(const sbt_packfile *pf, const char *name) {
    int i = pf && name ? index_find(pf, name) : -1;
    return i >= 0 ? &pf->sec[i]->pub : NULL;
}

/* ---- shapes and names ---- */

static const char *name_problem(const char *name, size_t len) {
    if (len < 1 || len > SBT_PACK_NAME_MAX) return "name length must be 1..127";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7E)
            return "name characters must be printable ASCII without spaces";
    return NULL;
}

/* Fills count, rows and cols of s from its shape; NULL if valid, else why not. */
static const char *shape_problem(sbt_pack_section *s) {
    if (s->ndim < 0 || s->ndim > SBT_PACK_MAX_DIMS) return "more than 8 dimensions";
    if (s->encoding == SBT_ENC_TEXT && s->ndim != 1) return "a text section must have exactly 1 dimension";
    uint64_t n = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->shape[i] < 0 || (uint64_t)s->shape[i] > PACK_MAX_COUNT) return "a dimension is above 2^48";
        if (s->shape[i] == 0) n = 0;
    }
    for (int i = 0; i < s->ndim && n; i++) {
        if ((uint64_t)s->shape[i] > PACK_MAX_COUNT / n) return "the element count exceeds 2^48";
        n *= (uint64_t)s->shape[i];
    }
    s->count = (int64_t)n;
    s->rows = s->ndim ? s->shape[0] : 1;
    s->cols = s->rows > 0 ? s->count / s->rows : 1; /* rows = 0: no weights, no per-row alpha */
    return NULL;
}

/* Validates s->data against the encoding and shape; the codec says why not. */
static sbt_status payload_problem(const sbt_pack_section *s) {
    return sbt_pack_validate((sbt_encoding)s->encoding, s->data, s->bytes, s->rows, s->cols);
}

/* ---- writing ---- */

static sbt_status deflate_payload(section *s) {
    uLongf len = compressBound((uLong)s->pub.bytes);
    s->stored = malloc(len + 1);
    if (!s->stored) return sbt_fail(SBT_ERR_NOMEM, "sbt: section '%s': out of memory", s->pub.name);
    if (compress2(s->stored, &len, s->pub.data, (uLong)s->pub.bytes, 9) != Z_OK)
        return sbt_fail(SBT_ERR_NOMEM, "sbt: section '%s': zlib compression failed", s->pub.name);
    s->pub.stored_bytes = (size_t)len;
    return SBT_OK;
}

/* SBT_PACK_ZLIB_AUTO: back to the plain payload unless deflating saved bytes (the zlib
 * form also stores raw_length) or the caller asked for zlib anyway. */
static void keep_zlib_if_smaller(section *s, unsigned flags) {
    size_t bytes = s->pub.bytes;
    if (!(flags & SBT_PACK_ZLIB) && s->pub.stored_bytes + (size_t)pack_varint_size(bytes) >= bytes) {
        free(s->stored);
        s->stored = s->pub.data;
        s->pub.stored_bytes = bytes;
        s->pub.flags &= ~SBT_PACK_ZLIB;
    } else {
        s->pub.flags |= SBT_PACK_ZLIB;
    }
    s->pub.flags &= ~SBT_PACK_ZLIB_AUTO;
}

sbt_status sbt_packfile_add(sbt_packfile *pf, const char *name, sbt_encoding enc, int ndim,
                            const int64_t *shape, const void *payload, size_t bytes, unsigned flags) {
    if (!pf || !name || ndim < 0 || (ndim > 0 && !shape) || (bytes && !payload))
        return sbt_fail(SBT_ERR_ARG, "sbt: add: invalid argument");
    const char *why = name_problem(name, strlen(name));
    if (!why && (flags & ~(unsigned)(KNOWN_FLAGS | SBT_PACK_ZLIB_AUTO))) why = "unknown section flags";
    if (!why && (enc < SBT_ENC_FIRST || enc > SBT_ENC_LAST)) why = "unknown encoding";
    if (!why && index_find(pf, name) >= 0) why = "duplicate section name";
    if (!why && pf->n >= MAX_SECTIONS) why = "more than 65536 sections";
    if (!why && bytes > PACK_MAX_COUNT) why = "payload above 2^48 bytes";
    if (why) return sbt_fail(SBT_ERR_ARG, "sbt: section '%.127s': %s", name, why);
    section *s = calloc(1, sizeof *s);
    if (!s || !(s->pub.data = malloc(bytes + 1))) {
        free(s);
        return sbt_fail(SBT_ERR_NOMEM, "sbt: section '%s': out of memory", name);
    }
    strcpy(s->pub.name, name);
    s->pub.encoding = enc;
    s->pub.known = 1;
    s->pub.flags = flags;
    s->pub.ndim = ndim;
    for (int i = 0; i < ndim && i < SBT_PACK_MAX_DIMS; i++) s->pub.shape[i] = shape[i];
    s->pub.bytes = s->pub.stored_bytes = bytes;
    if (bytes) memcpy(s->pub.data, payload, bytes);
    s->pub.data[bytes] = 0;
    s->stored = s->pub.data;
    sbt_status st = SBT_OK;
    if ((why = shape_problem(&s->pub)))
        st = sbt_fail(SBT_ERR_ARG, "sbt: section '%s': %s", name, why);
    else if (payload_problem(&s->pub)) {
        char codec[512];
        snprintf(codec, sizeof codec, "%s", sbt_last_error());
        st = sbt_fail(SBT_ERR_ARG, "sbt: section '%s': %s", name, codec);
    } else if (flags & (SBT_PACK_ZLIB | SBT_PACK_ZLIB_AUTO)) {
        st = deflate_payload(s);
    }
    if (st == SBT_OK && (flags & SBT_PACK_ZLIB_AUTO)) keep_zlib_if_smaller(s, flags);
    if (st == SBT_OK) s->crc = sbt_crc32(s->stored, s->pub.stored_bytes);
    if (st == SBT_OK) st = append(pf, s);
    if (st) section_free(s);
    return st;
}

sbt_status sbt_packfile_add_text(sbt_packfile *pf, const char *name, const char *text, unsigned flags) {
    size_t len = text ? strlen(text) : 0;
    return sbt_packfile_add(pf, name, SBT_ENC_TEXT, 1, (int64_t[]){(int64_t)len}, text, len, flags);
}

/* rows and cols of a shape as the codecs take them (formats/sbt.md section 1). */
static sbt_status rows_cols(const char *name, int ndim, const int64_t *shape, int64_t *rows, int64_t *cols) {
    sbt_pack_section s;
    memset(&s, 0, sizeof s);
    s.ndim = ndim;
    s.encoding = SBT_ENC_F32;
    for (int i = 0; i < ndim && i < SBT_PACK_MAX_DIMS; i++) s.shape[i] = shape[i];
    const char *why = ndim > 0 && !shape ? "no shape" : shape_problem(&s);
    if (why) return sbt_fail(SBT_ERR_ARG, "sbt: section '%s': %s", name ? name : "(null)", why);
    *rows = s.rows;
    *cols = s.cols;
    return SBT_OK;
}

/* Adds the payload an encoder produced and frees it. */
static sbt_status add_encoded(sbt_packfile *pf, const char *name, sbt_encoding enc, int ndim,
                              const int64_t *shape, sbt_status encoded, unsigned char *payload, size_t bytes,
                              unsigned flags) {
    sbt_status st = encoded;
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", sbt_last_error());
        st = sbt_fail(st, "sbt: section '%s': %s", name, why);
    } else {
        st = sbt_packfile_add(pf, name, enc, ndim, shape, payload, bytes, flags);
    }
    free(payload);
    return st;
}

sbt_status sbt_packfile_add_floats(sbt_packfile *pf, const char *name, sbt_encoding enc, int ndim,
                                   const int64_t *shape, const float *x, unsigned flags) {
    int64_t rows, cols;
    unsigned char *p = NULL;
    size_t bytes = 0;
    sbt_status st = rows_cols(name, ndim, shape, &rows, &cols);
    if (st) return st;
    st = sbt_pack_encode_floats(enc, x, rows * cols, &p, &bytes);
    return add_encoded(pf, name, enc, ndim, shape, st, p, bytes, flags);
}

sbt_status sbt_packfile_add_mask(sbt_packfile *pf, const char *name, sbt_encoding enc, int ndim,
                                 const int64_t *shape, const uint8_t *mask, const float *alpha,
                                 int alpha_per_row, unsigned flags) {
    int64_t rows, cols;
    unsigned char *p = NULL;
    size_t bytes = 0;
    sbt_status st = rows_cols(name, ndim, shape, &rows, &cols);
    if (st) return st;
    st = sbt_pack_encode_mask(enc, mask, rows, cols, alpha, alpha_per_row, &p, &bytes);
    return add_encoded(pf, name, enc, ndim, shape, st, p, bytes, flags);
}

sbt_status sbt_packfile_add_ternary(sbt_packfile *pf, const char *name, sbt_encoding enc, int ndim,
                                    const int64_t *shape, const int8_t *codes, const float *alpha,
                                    int alpha_per_row, unsigned flags) {
    int64_t rows, cols;
    unsigned char *p = NULL;
    size_t bytes = 0;
    sbt_status st = rows_cols(name, ndim, shape, &rows, &cols);
    if (st) return st;
    st = sbt_pack_encode_ternary(enc, codes, rows, cols, alpha, alpha_per_row, &p, &bytes);
    return add_encoded(pf, name, enc, ndim, shape, st, p, bytes, flags);
}

/* Bytes that name shares with the name of the entry before it (formats/sbt.md 2.2: names
 * are front-coded, as LevelDB's block keys are). */
static size_t shared_prefix(const sbt_packfile *pf, int i) {
    if (i <= 0) return 0;
    const char *a = pf->sec[i - 1]->pub.name, *b = pf->sec[i]->pub.name;
    size_t n = 0;
    while (a[n] && a[n] == b[n]) n++;
    return n;
}

size_t sbt_packfile_entry_size(const sbt_packfile *pf, int i) {
    if (!pf || i < 0 || i >= pf->n) return 0;
    const sbt_pack_section *s = &pf->sec[i]->pub;
    size_t shared = shared_prefix(pf, i), suffix = strlen(s->name) - shared;
    size_t size = (size_t)pack_varint_size(shared) + (size_t)pack_varint_size(suffix) + suffix + 3 + 4;
    for (int d = 0; d < s->ndim; d++) size += (size_t)pack_varint_size((uint64_t)s->shape[d]);
    size += (size_t)pack_varint_size(s->stored_bytes);
    if (s->flags & SBT_PACK_ZLIB) size += (size_t)pack_varint_size(s->bytes);
    return size;
}

static size_t table_size(const sbt_packfile *pf) {
    size_t t = 0;
    for (int i = 0; i < pf->n; i++) t += sbt_packfile_entry_size(pf, i);
    return t;
}

size_t sbt_packfile_size(const sbt_packfile *pf) {
    if (!pf) return 0;
    size_t total = HEADER_BYTES + table_size(pf);
    for (int i = 0; i < pf->n; i++) total += pf->sec[i]->pub.stored_bytes;
    return total;
}

static unsigned char *put_entry(unsigned char *p, const sbt_packfile *pf, int i) {
    const section *sec = pf->sec[i];
    const sbt_pack_section *s = &sec->pub;
    size_t shared = shared_prefix(pf, i), suffix = strlen(s->name) - shared;
    p += pack_put_varint(p, shared);
    p += pack_put_varint(p, suffix);
    memcpy(p, s->name + shared, suffix);
    p += suffix;
    *p++ = (unsigned char)s->encoding;
    *p++ = (unsigned char)s->flags;
    *p++ = (unsigned char)s->ndim;
    for (int d = 0; d < s->ndim; d++) p += pack_put_varint(p, (uint64_t)s->shape[d]);
    p += pack_put_varint(p, s->stored_bytes);
    if (s->flags & SBT_PACK_ZLIB) p += pack_put_varint(p, s->bytes);
    pack_put_u32(p, sec->crc);
    return p + 4;
}

sbt_status sbt_packfile_encode(const sbt_packfile *pf, unsigned char **out_buf, size_t *out_len) {
    if (!pf || !out_buf || !out_len) return sbt_fail(SBT_ERR_ARG, "sbt: encode: invalid argument");
    *out_buf = NULL;
    *out_len = 0;
    size_t table_len = table_size(pf), total = sbt_packfile_size(pf);
    if (table_len > UINT32_MAX || total > PACK_MAX_COUNT)
        return sbt_fail(SBT_ERR_ARG, "sbt: %zu bytes (table %zu) exceed the format's limits", total,
                        table_len);
    unsigned char *buf = calloc(1, total);
    if (!buf) return sbt_fail(SBT_ERR_NOMEM, "sbt: out of memory for %zu bytes", total);
    unsigned char *p = buf + HEADER_BYTES, *payload = buf + HEADER_BYTES + table_len;
    for (int i = 0; i < pf->n; i++) {
        p = put_entry(p, pf, i);
        if (pf->sec[i]->pub.stored_bytes) memcpy(payload, pf->sec[i]->stored, pf->sec[i]->pub.stored_bytes);
        payload += pf->sec[i]->pub.stored_bytes;
    }
    memcpy(buf, MAGIC, 4);
    pack_put_u16(buf + H_VERSION, SBT_PACKFILE_VERSION);
    pack_put_u16(buf + H_FLAGS, 0);
    pack_put_u32(buf + H_COUNT, (uint32_t)pf->n);
    pack_put_u32(buf + H_TABLE_LEN, (uint32_t)table_len);
    pack_put_u64(buf + H_FILE_LEN, total);
    pack_put_u32(buf + H_TABLE_CRC, sbt_crc32(buf + HEADER_BYTES, table_len));
    pack_put_u32(buf + H_CRC, sbt_crc32(buf, H_CRC));
    *out_buf = buf;
    *out_len = total;
    return SBT_OK;
}

sbt_status sbt_packfile_write(const sbt_packfile *pf, const char *path) {
    unsigned char *buf = NULL;
    size_t len = 0;
    sbt_status st = sbt_packfile_encode(pf, &buf, &len);
    if (st == SBT_OK) st = sbt_write_file_atomic(path, buf, len);
    free(buf);
    return st;
}

/* ---- reading ---- */

typedef struct header {
    uint32_t count, table_len;
    uint64_t file_len;
} header;

static sbt_status check_header(const unsigned char *buf, size_t len, const char *path, header *h) {
    if (len >= 4 && memcmp(buf, MAGIC, 4))
        return sbt_fail(SBT_ERR_FORMAT, "%s: not an .sbt file (magic %02x %02x %02x %02x, expected 'SBTP')",
                        path, buf[0], buf[1], buf[2], buf[3]);
    if (len < HEADER_BYTES)
        return sbt_fail(SBT_ERR_FORMAT, "%s: truncated: %zu bytes, a header is %d", path, len, HEADER_BYTES);
    unsigned version = pack_get_u16(buf + H_VERSION);
    if (version == 0) return sbt_fail(SBT_ERR_FORMAT, "%s: invalid format version 0", path);
    if (version > SBT_PACKFILE_VERSION)
        return sbt_fail(SBT_ERR_FORMAT, "%s: format version %u is newer than this build supports (%d)", path,
                        version, SBT_PACKFILE_VERSION);
    if (!sbt_crc_matches(pack_get_u32(buf + H_CRC), sbt_crc32(buf, H_CRC)))
        return sbt_fail(SBT_ERR_FORMAT, "%s: header checksum mismatch", path);
    unsigned flags = pack_get_u16(buf + H_FLAGS);
    if (flags & REQUIRED_HEADER_FLAGS)
        return sbt_fail(SBT_ERR_FORMAT, "%s: unsupported required flags 0x%x", path,
                        flags & REQUIRED_HEADER_FLAGS);
    h->count = pack_get_u32(buf + H_COUNT);
    h->table_len = pack_get_u32(buf + H_TABLE_LEN);
    h->file_len = pack_get_u64(buf + H_FILE_LEN);
    sbt_status st = sbt_check_file_length(path, len, h->file_len);
    if (st) return st;
    if (h->count > MAX_SECTIONS)
        return sbt_fail(SBT_ERR_FORMAT, "%s: %" PRIu32 " sections exceed the limit %d", path, h->count,
                        MAX_SECTIONS);
    if (h->table_len > h->file_len - HEADER_BYTES || h->table_len < (uint64_t)ENTRY_MIN * h->count)
        return sbt_fail(SBT_ERR_FORMAT,
                        "%s: section table length %" PRIu32 " is impossible for %" PRIu32
                        " sections in %" PRIu64 " bytes",
                        path, h->table_len, h->count, h->file_len);
    if (!sbt_crc_matches(pack_get_u32(buf + H_TABLE_CRC), sbt_crc32(buf + HEADER_BYTES, h->table_len)))
        return sbt_fail(SBT_ERR_FORMAT, "%s: section table checksum mismatch", path);
    return SBT_OK;
}

/* One table entry as read. */
typedef struct entry {
    uint64_t stored_len, raw_len;
    uint32_t crc;
} entry;

static sbt_status entry_fail(const char *path, int i, const char *name, const char *why) {
    if (name && *name) return sbt_fail(SBT_ERR_FORMAT, "%s: section '%s': %s", path, name, why);
    return sbt_fail(SBT_ERR_FORMAT, "%s: section %d: %s", path, i, why);
}

/* Reads the front-coded name at *pos: `shared` bytes of the previous name `prev`, then the
 * suffix. Only the longest shared prefix is valid, so that a name has one encoding. */
static sbt_status read_name(const unsigned char *buf, size_t *pos, size_t end, const char *path, int i,
                            const char *prev, char *name) {
    const char *why;
    uint64_t shared = 0, suffix = 0;
    size_t prev_len = strlen(prev);
    if ((why = pack_get_varint(buf, pos, end, &shared)) || (why = pack_get_varint(buf, pos, end, &suffix)))
        return entry_fail(path, i, NULL, why);
    if (shared > prev_len)
        return entry_fail(path, i, NULL, "the name shares more bytes than the previous name has");
    if (shared + suffix < 1 || shared + suffix > SBT_PACK_NAME_MAX)
        return entry_fail(path, i, NULL, "name length is not 1..127");
    if (end - *pos < suffix + 3) return entry_fail(path, i, NULL, "the entry runs past the end of the table");
    if (suffix && shared < prev_len && buf[*pos] == (unsigned char)prev[shared])
        return entry_fail(path, i, NULL, "the name does not share the longest prefix with the previous name");
    memcpy(name, prev, (size_t)shared);
    memcpy(name + shared, buf + *pos, (size_t)suffix);
    name[shared + suffix] = '\0';
    *pos += (size_t)suffix;
    if ((why = name_problem(name, (size_t)(shared + suffix)))) return entry_fail(path, i, NULL, why);
    return SBT_OK;
}

/* Reads the entry at *pos, never past `end`, into s (name, encoding, flags, shape) and e;
 * prev is the previous entry's name ("" for the first). */
static sbt_status read_entry(const unsigned char *buf, size_t *pos, size_t end, const char *path, int i,
                             const char *prev, sbt_pack_section *s, entry *e) {
    const char *why;
    uint64_t v = 0;
    sbt_status st = read_name(buf, pos, end, path, i, prev, s->name);
    if (st) return st;
    s->encoding = buf[*pos];
    s->flags = buf[*pos + 1];
    s->ndim = buf[*pos + 2];
    *pos += 3;
    if (s->flags & ~(unsigned)KNOWN_FLAGS) return entry_fail(path, i, s->name, "unknown section flags");
    if (s->ndim > SBT_PACK_MAX_DIMS) return entry_fail(path, i, s->name, "more than 8 dimensions");
    for (int d = 0; d < s->ndim; d++) {
        if ((why = pack_get_varint(buf, pos, end, &v))) return entry_fail(path, i, s->name, why);
        s->shape[d] = (int64_t)v;
    }
    if ((why = pack_get_varint(buf, pos, end, &e->stored_len))) return entry_fail(path, i, s->name, why);
    e->raw_len = e->stored_len;
    if ((s->flags & SBT_PACK_ZLIB) && (why = pack_get_varint(buf, pos, end, &e->raw_len)))
        return entry_fail(path, i, s->name, why);
    if (end - *pos < 4) return entry_fail(path, i, s->name, "the entry runs past the end of the table");
    e->crc = pack_get_u32(buf + *pos);
    *pos += 4;
    if ((why = shape_problem(s))) return entry_fail(path, i, s->name, why);
    return SBT_OK;
}

/* The payload of s from its stored bytes: a copy, or inflated to exactly raw_len bytes. */
static sbt_status load_payload(const unsigned char *stored, const entry *e, const char *path, section *sec) {
    sbt_pack_section *s = &sec->pub;
    if ((s->flags & SBT_PACK_ZLIB) && e->raw_len > ZLIB_MAX_RATIO * e->stored_len + 64)
        return entry_fail(path, 0, s->name, "zlib raw length exceeds 1032 times the stored length");
    if (e->raw_len > SIZE_MAX - 1) return entry_fail(path, 0, s->name, "too large for this machine");
    s->data = malloc((size_t)e->raw_len + 1);
    if (!s->data) return sbt_fail(SBT_ERR_NOMEM, "%s: section '%s': out of memory", path, s->name);
    s->bytes = (size_t)e->raw_len;
    s->stored_bytes = (size_t)e->stored_len;
    s->data[s->bytes] = 0;
    sec->stored = s->data;
    if (!(s->flags & SBT_PACK_ZLIB)) {
        if (s->bytes) memcpy(s->data, stored, s->bytes);
        return SBT_OK;
    }
    sec->stored = malloc((size_t)e->stored_len + 1); /* kept, so that the file re-encodes as it was */
    if (!sec->stored) return sbt_fail(SBT_ERR_NOMEM, "%s: section '%s': out of memory", path, s->name);
    if (e->stored_len) memcpy(sec->stored, stored, (size_t)e->stored_len);
    uLongf out_len = (uLongf)e->raw_len;
    uLong in_len = (uLong)e->stored_len;
    int z = uncompress2(s->data, &out_len, stored, &in_len);
    if (z != Z_OK || out_len != e->raw_len || in_len != e->stored_len)
        return entry_fail(path, 0, s->name,
                          z == Z_OK ? "the zlib stream does not fill the payload exactly"
                                    : "the zlib stream is corrupt or longer than its raw length");
    return SBT_OK;
}

/* Stored range, checksum, payload and (for known encodings) the codec's validation. */
static sbt_status load_section(const unsigned char *buf, const header *h, uint64_t *payload_pos,
                               const entry *e, const char *path, section *sec) {
    sbt_pack_section *s = &sec->pub;
    if (e->stored_len > h->file_len - *payload_pos)
        return entry_fail(path, 0, s->name,
                          "the payload runs past the end of the file (truncated or a lying length)");
    const unsigned char *stored = buf + *payload_pos;
    if (!sbt_crc_matches(e->crc, sbt_crc32(stored, e->stored_len)))
        return entry_fail(path, 0, s->name, "payload checksum mismatch");
    *payload_pos += e->stored_len;
    sec->crc = e->crc;
    s->known = s->encoding >= SBT_ENC_FIRST && s->encoding <= SBT_ENC_LAST;
    if (!s->known && !(s->flags & SBT_PACK_OPTIONAL))
        return sbt_fail(SBT_ERR_FORMAT,
                        "%s: section '%s': unknown encoding %d (not optional; this build knows %d..%d)", path,
                        s->name, s->encoding, SBT_ENC_FIRST, SBT_ENC_LAST);
    sbt_status st = load_payload(stored, e, path, sec);
    if (st || !s->known) return st;
    if (payload_problem(s)) {
        char why[512];
        snprintf(why, sizeof why, "%s", sbt_last_error());
        return entry_fail(path, 0, s->name, why);
    }
    return SBT_OK;
}

static sbt_status decode_sections(const unsigned char *buf, const header *h, const char *path,
                                  sbt_packfile *pf) {
    size_t pos = HEADER_BYTES, table_end = HEADER_BYTES + (size_t)h->table_len;
    uint64_t payload_pos = table_end;
    for (uint32_t i = 0; i < h->count; i++) {
        section *sec = calloc(1, sizeof *sec);
        entry e;
        if (!sec) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
        const char *prev = pf->n ? pf->sec[pf->n - 1]->pub.name : "";
        sbt_status st = read_entry(buf, &pos, table_end, path, (int)i, prev, &sec->pub, &e);
        if (!st && index_find(pf, sec->pub.name) >= 0)
            st = entry_fail(path, 0, sec->pub.name, "duplicate name");
        if (!st) st = load_section(buf, h, &payload_pos, &e, path, sec);
        if (!st) st = append(pf, sec);
        if (st) {
            section_free(sec);
            return st;
        }
    }
    if (pos != table_end)
        return sbt_fail(SBT_ERR_FORMAT, "%s: the section table has %zu bytes after its last entry", path,
                        table_end - pos);
    if (payload_pos != h->file_len)
        return sbt_fail(SBT_ERR_FORMAT,
                        "%s: the payloads end at byte %" PRIu64 ", the file at %" PRIu64 " (a length lies)",
                        path, payload_pos, h->file_len);
    return SBT_OK;
}

sbt_status sbt_packfile_decode(const unsigned char *buf, size_t len, const char *name_for_message,
                               sbt_packfile **out) {
    const char *path = name_for_message ? name_for_message : "(memory)";
    if (!out || (!buf && len)) return sbt_fail(SBT_ERR_ARG, "sbt: decode: invalid argument");
    *out = NULL;
    header h = {0, 0, 0};
    sbt_status st = check_header(buf, len, path, &h);
    if (st) return st;
    sbt_packfile *pf = sbt_packfile_new();
    if (!pf) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    st = decode_sections(buf, &h, path, pf);
    if (st) {
        sbt_packfile_free(pf);
        return st;
    }
    *out = pf;
    return SBT_OK;
}

sbt_status sbt_packfile_read(const char *path, sbt_packfile **out) {
    if (!path || !out) return sbt_fail(SBT_ERR_ARG, "sbt: read: invalid argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return sbt_fail(SBT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) { /* read to the end, growing: a pipe or /proc file has no useful size */
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 65536;
            unsigned char *p = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!p) {
                free(buf);
                fclose(f);
                return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
            }
            buf = p;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    sbt_status st =
        failed ? sbt_fail(SBT_ERR_IO, "%s: read error", path) : sbt_packfile_decode(buf, len, path, out);
    free(buf);
    return st;
}

/* ---- decoding sections ---- */

static sbt_status wrong_kind(const sbt_pack_section *s, const char *wanted) {
    return sbt_fail(SBT_ERR_FORMAT, "section '%s': encoding %s, expected %s", s->name,
                    sbt_encoding_name(s->encoding), wanted);
}

static sbt_status named(const sbt_pack_section *s, sbt_status st) {
    if (st == SBT_OK) return st;
    char why[512];
    snprintf(why, sizeof why, "%s", sbt_last_error());
    return sbt_fail(st, "section '%s': %s", s->name, why);
}

sbt_status sbt_packfile_floats(const sbt_pack_section *s, float *x) {
    if (!s) return sbt_fail(SBT_ERR_ARG, "sbt: no section");
    if (s->encoding != SBT_ENC_F32 && s->encoding != SBT_ENC_F16) return wrong_kind(s, "f32 or f16");
    return named(s, sbt_pack_decode_floats((sbt_encoding)s->encoding, s->data, s->bytes, s->count, x));
}

sbt_status sbt_packfile_mask(const sbt_pack_section *s, uint8_t *mask, float *alpha, int *alpha_per_row) {
    if (!s) return sbt_fail(SBT_ERR_ARG, "sbt: no section");
    if (sbt_encoding_kind(s->encoding) != SBT_ENC_KIND_MASK)
        return wrong_kind(s, "seed-mask or seed-mask-coded");
    return named(s, sbt_pack_decode_mask((sbt_encoding)s->encoding, s->data, s->bytes, s->rows, s->cols, mask,
                                         alpha, alpha_per_row));
}

sbt_status sbt_packfile_ternary(const sbt_pack_section *s, int8_t *codes, float *alpha, int *alpha_per_row) {
    if (!s) return sbt_fail(SBT_ERR_ARG, "sbt: no section");
    if (sbt_encoding_kind(s->encoding) != SBT_ENC_KIND_TERNARY)
        return wrong_kind(s, "ternary2, ternary-b3 or ternary-coded");
    return named(s, sbt_pack_decode_ternary((sbt_encoding)s->encoding, s->data, s->bytes, s->rows, s->cols,
                                            codes, alpha, alpha_per_row));
}

double sbt_packfile_bound_bits(const sbt_pack_section *s) {
    if (!s || !s->known) return -1;
    return sbt_pack_payload_bound_bits((sbt_encoding)s->encoding, s->data, s->bytes, s->rows, s->cols);
}
