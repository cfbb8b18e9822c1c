/* container.c - the checksummed, versioned section container (formats/sbtm.md).
 *
 * The file is untrusted input: decoding checks every count, length and offset for
 * overflow and bounds before it is used, and allocates only after the checks that bound
 * the allocation by the real input length. Integers are encoded byte by byte so that the
 * code is independent of the host's byte order; payloads are held in memory in host
 * order, 64-byte aligned.
 */
#include "sbt/container.h"

#include "io/integrity.h"
#include "sbt/rng.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Layout constants of format version 1 (formats/sbtm.md, sections 2 and 3). */
enum {
    HEADER_BYTES = 64,
    ALIGN = 64,
    MAX_SECTIONS = 65536,
    ENTRY_MIN = 31,   /* fixed part (30) + a 1-byte name */
    ENTRY_FIXED = 30, /* u16 name_len, u32 type, u32 ndim, u64 offset, u64 length, u32 crc */
    ENTRY_MAX = ENTRY_FIXED + SBT_SECTION_NAME_MAX + 8 * SBT_SECTION_MAX_DIMS,
    REQUIRED_FLAGS = 0xFFFF /* flag bits a reader must understand; v1 knows none */
};
#define MAX_BYTES ((uint64_t)1 << 48)

/* Header field offsets. */
enum {
    H_MAGIC = 0,
    H_VERSION = 4,
    H_FLAGS = 8,
    H_COUNT = 12,
    H_FILE_LEN = 16,
    H_TABLE_LEN = 24,
    H_TABLE_CRC = 32,
    H_ALIGN = 36,
    H_RESERVED = 40,
    H_CRC = 60
};

struct sbt_container {
    sbt_section **sec; /* one allocation per section, so returned pointers stay valid */
    int n, cap;
    int *slots;    /* open-addressing name index: section index + 1, 0 = empty */
    size_t nslots; /* 0 or a power of two > 2 * n */
};

/* ---- byte order ---- */

static void put_u16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint16_t get_u16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int host_is_little_endian(void) {
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Element-wise conversion between host order and the file's little-endian order, for
 * elements of 4 or 8 bytes. On a little-endian host both directions are a memcpy;
 * elsewhere each element goes through the byte helpers. */
static void host_to_le(unsigned char *dst, const unsigned char *src, size_t n, size_t size) {
    if (size == 1 || host_is_little_endian()) {
        if (n) memcpy(dst, src, n * size);
        return;
    }
    for (size_t i = 0; i < n; i++, dst += size, src += size) {
        if (size == 4) {
            uint32_t v;
            memcpy(&v, src, 4);
            put_u32(dst, v);
        } else {
            uint64_t v;
            memcpy(&v, src, 8);
            put_u64(dst, v);
        }
    }
}

static void le_to_host(unsigned char *dst, const unsigned char *src, size_t n, size_t size) {
    if (size == 1 || host_is_little_endian()) {
        if (n) memcpy(dst, src, n * size);
        return;
    }
    for (size_t i = 0; i < n; i++, dst += size, src += size) {
        if (size == 4) {
            uint32_t v = get_u32(src);
            memcpy(dst, &v, 4);
        } else {
            uint64_t v = get_u64(src);
            memcpy(dst, &v, 8);
        }
    }
}

static uint64_t align64(uint64_t x) { return (x + (ALIGN - 1)) & ~(uint64_t)(ALIGN - 1); }

/* ---- validation shared by add() and decode() ---- */

static size_t elem_size(uint32_t type) {
    switch (type) {
    case SBT_SECTION_F32: return 4;
    case SBT_SECTION_I32: return 4;
    case SBT_SECTION_U8: return 1;
    case SBT_SECTION_TEXT: return 1;
    case SBT_SECTION_U64: return 8;
    }
    return 0;
}

static const char *type_name(sbt_section_type type) {
    static const char *names[] = {"?", "f32", "i32", "u8", "text", "u64"};
    return (unsigned)type < sizeof names / sizeof *names ? names[type] : "?";
}

/* NULL if `name[0..len)` is a valid section name, else why not. */
static const char *name_problem(const char *name, size_t len) {
    if (len < 1 || len > SBT_SECTION_NAME_MAX) return "name length must be 1..127";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7E)
            return "name characters must be printable ASCII without spaces";
    return NULL;
}

/* Checks type and shape and computes the element count and byte size without overflow.
 * NULL if valid, else why not. */
static const char *shape_problem(uint32_t type, uint32_t ndim, const int64_t *shape, int64_t *count,
                                 uint64_t *bytes) {
    size_t esize = elem_size(type);
    if (!esize) return "unknown section type";
    if (ndim > SBT_SECTION_MAX_DIMS) return "more than 8 dimensions";
    if (type == SBT_SECTION_TEXT && ndim != 1) return "a text section must have exactly 1 dimension";
    uint64_t n = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (uint64_t)shape[i] > MAX_BYTES) return "a dimension is negative or above 2^48";
        if (shape[i] == 0) n = 0; /* an empty section, however large the other dimensions */
    }
    for (uint32_t i = 0; i < ndim && n; i++) {
        if ((uint64_t)shape[i] > MAX_BYTES / n) return "the element count exceeds 2^48";
        n *= (uint64_t)shape[i];
    }
    if (n > MAX_BYTES / esize) return "the byte size exceeds 2^48";
    *count = (int64_t)n;
    *bytes = n * esize;
    return NULL;
}

/* ---- sections and the container ---- */

static void section_free(sbt_section *s) {
    if (!s) return;
    free(s->data);
    free(s);
}

/* A section with a zeroed 64-byte-aligned buffer of bytes + 1 (the + 1 holds the NUL
 * after text; aligned_alloc wants a size that is a multiple of the alignment). */
static sbt_section *section_new(const char *name, size_t name_len, sbt_section_type type, int ndim,
                                const int64_t *shape, int64_t count, uint64_t bytes) {
    if (bytes >= SIZE_MAX - ALIGN) return NULL;
    sbt_section *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    size_t cap = (size_t)align64(bytes + 1);
    s->data = aligned_alloc(ALIGN, cap);
    if (!s->data) {
        free(s);
        return NULL;
    }
    memset((char *)s->data + bytes, 0, cap - (size_t)bytes);
    memcpy(s->name, name, name_len);
    s->name[name_len] = '\0';
    s->type = type;
    s->ndim = ndim;
    for (int i = 0; i < ndim; i++) s->shape[i] = shape[i];
    s->count = count;
    s->bytes = (size_t)bytes;
    return s;
}

sbt_container *sbt_container_new(void) { return calloc(1, sizeof(sbt_container)); }

void sbt_container_free(sbt_container *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) section_free(c->sec[i]);
    free(c->sec);
    free(c->slots);
    free(c);
}

static size_t name_hash(const char *s) { return (size_t)sbt_rng_stream_key(s); }

static int index_find(const sbt_container *c, const char *name) {
    if (!c->nslots) return -1;
    for (size_t k = name_hash(name) & (c->nslots - 1);; k = (k + 1) & (c->nslots - 1)) {
        int i = c->slots[k] - 1;
        if (i < 0) return -1;
        if (!strcmp(c->sec[i]->name, name)) return i;
    }
}

static void index_put(sbt_container *c, int i) {
    size_t k = name_hash(c->sec[i]->name) & (c->nslots - 1);
    while (c->slots[k]) k = (k + 1) & (c->nslots - 1);
    c->slots[k] = i + 1;
}

/* Appends s (taking ownership only on success); the name must not be present yet. */
static sbt_status append(sbt_container *c, sbt_section *s) {
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        sbt_section **p = realloc(c->sec, (size_t)cap * sizeof *p);
        if (!p) return sbt_fail(SBT_ERR_NOMEM, "container: out of memory");
        c->sec = p;
        c->cap = cap;
    }
    if (2 * (size_t)(c->n + 1) >= c->nslots) { /* keep the index at most half full */
        size_t ns = c->nslots ? 2 * c->nslots : 64;
        int *slots = calloc(ns, sizeof *slots);
        if (!slots) return sbt_fail(SBT_ERR_NOMEM, "container: out of memory");
        free(c->slots);
        c->slots = slots;
        c->nslots = ns;
        for (int i = 0; i < c->n; i++) index_put(c, i);
    }
    c->sec[c->n] = s;
    index_put(c, c->n++);
    return SBT_OK;
}

sbt_status sbt_container_add(sbt_container *c, const char *name, sbt_section_type type, int ndim,
                             const int64_t *shape, const void *data) {
    if (!c || !name || ndim < 0 || (ndim > 0 && !shape))
        return sbt_fail(SBT_ERR_ARG, "container: add: invalid argument");
    const char *why = name_problem(name, strlen(name));
    int64_t count = 0;
    uint64_t bytes = 0;
    if (!why) why = shape_problem((uint32_t)type, (uint32_t)ndim, shape, &count, &bytes);
    if (!why && bytes && !data) why = "no data";
    if (!why && index_find(c, name) >= 0) why = "duplicate section name";
    if (!why && c->n >= MAX_SECTIONS) why = "more than 65536 sections";
    if (why) return sbt_fail(SBT_ERR_ARG, "container: section '%.127s': %s", name, why);
    sbt_section *s = section_new(name, strlen(name), type, ndim, shape, count, bytes);
    if (!s) return sbt_fail(SBT_ERR_NOMEM, "container: section '%s': out of memory", name);
    if (bytes) memcpy(s->data, data, (size_t)bytes);
    sbt_status st = append(c, s);
    if (st) section_free(s);
    return st;
}

int sbt_container_count(const sbt_container *c) { return c ? c->n : 0; }

const sbt_section *sbt_container_at(const sbt_container *c, int i) {
    return c && i >= 0 && i < c->n ? c->sec[i] : NULL;
}

const sbt_section *sbt_container_find(const sbt_container *c, const char *name) {
    int i = c && name ? index_find(c, name) : -1;
    return i >= 0 ? c->sec[i] : NULL;
}

sbt_status sbt_container_expect(const sbt_container *c, const char *path_for_message, const char *name,
                                sbt_section_type type, int64_t count, const sbt_section **out) {
    const char *path = path_for_message ? path_for_message : "container";
    const sbt_section *s = sbt_container_find(c, name);
    if (out) *out = NULL;
    if (!s) return sbt_fail(SBT_ERR_FORMAT, "%s: section '%s': missing", path, name ? name : "(null)");
    if (s->type != type)
        return sbt_fail(SBT_ERR_FORMAT, "%s: section '%s': type %s, expected %s", path, name,
                        type_name(s->type), type_name(type));
    if (s->count != count)
        return sbt_fail(SBT_ERR_FORMAT, "%s: section '%s': %" PRId64 " elements, expected %" PRId64, path,
                        name, s->count, count);
    if (out) *out = s;
    return SBT_OK;
}

/* ---- encoding ---- */

static int magic_ok(const char *magic) { return magic && strlen(magic) == 4; }

static size_t entry_size(const sbt_section *s) { return ENTRY_FIXED + strlen(s->name) + 8 * (size_t)s->ndim; }

/* Writes the table entry of s at p and returns the end of the entry. */
static unsigned char *put_entry(unsigned char *p, const sbt_section *s, uint64_t offset, uint32_t crc) {
    size_t len = strlen(s->name);
    put_u16(p, (uint16_t)len);
    memcpy(p + 2, s->name, len);
    p += 2 + len;
    put_u32(p, (uint32_t)s->type);
    put_u32(p + 4, (uint32_t)s->ndim);
    p += 8;
    for (int i = 0; i < s->ndim; i++, p += 8) put_u64(p, (uint64_t)s->shape[i]);
    put_u64(p, offset);
    put_u64(p + 8, s->bytes);
    put_u32(p + 16, crc);
    return p + 20;
}

static void put_header(unsigned char *buf, const char *magic, int count, uint64_t total, uint64_t table_len) {
    memcpy(buf + H_MAGIC, magic, 4);
    put_u32(buf + H_VERSION, SBT_CONTAINER_VERSION);
    put_u32(buf + H_FLAGS, 0);
    put_u32(buf + H_COUNT, (uint32_t)count);
    put_u64(buf + H_FILE_LEN, total);
    put_u64(buf + H_TABLE_LEN, table_len);
    put_u32(buf + H_TABLE_CRC, sbt_crc32(buf + HEADER_BYTES, table_len));
    put_u32(buf + H_ALIGN, ALIGN);
    put_u32(buf + H_CRC, sbt_crc32(buf, H_CRC));
}

sbt_status sbt_container_encode(const sbt_container *c, const char *magic, unsigned char **out_buf,
                                size_t *out_len) {
    if (!out_buf || !out_len) return sbt_fail(SBT_ERR_ARG, "container: encode: invalid argument");
    *out_buf = NULL;
    *out_len = 0;
    if (!c || !magic_ok(magic)) return sbt_fail(SBT_ERR_ARG, "container: encode: magic must be 4 characters");
    uint64_t table_len = 0, end;
    for (int i = 0; i < c->n; i++) table_len += entry_size(c->sec[i]);
    end = HEADER_BYTES + table_len;
    for (int i = 0; i < c->n; i++) { /* each size <= 2^48 and at most 2^16 of them: no u64 overflow */
        end = align64(end) + c->sec[i]->bytes;
    }
    if (end > MAX_BYTES || end > SIZE_MAX)
        return sbt_fail(SBT_ERR_ARG, "container: %" PRIu64 " bytes exceed the 2^48-byte limit", end);
    unsigned char *buf = calloc(1, (size_t)end); /* calloc: padding and reserved bytes are zero */
    if (!buf) return sbt_fail(SBT_ERR_NOMEM, "container: out of memory for %" PRIu64 " bytes", end);
    unsigned char *p = buf + HEADER_BYTES;
    uint64_t offset = HEADER_BYTES + table_len;
    for (int i = 0; i < c->n; i++) {
        const sbt_section *s = c->sec[i];
        size_t esize = elem_size(s->type);
        offset = align64(offset);
        host_to_le(buf + offset, s->data, s->bytes / esize, esize);
        p = put_entry(p, s, offset, sbt_crc32(buf + offset, s->bytes));
        offset += s->bytes;
    }
    put_header(buf, magic, c->n, end, table_len);
    *out_buf = buf;
    *out_len = (size_t)end;
    return SBT_OK;
}

/* ---- decoding ---- */

typedef struct header {
    uint32_t count;
    uint64_t file_len, table_len;
} header;

/* `magic` for a message: printable characters as they are, others as \xNN. */
static const char *show_magic(const unsigned char *m, size_t n, char out[17]) {
    char *o = out;
    for (size_t i = 0; i < n && i < 4; i++) {
        if (m[i] >= 0x20 && m[i] < 0x7F && m[i] != '\\')
            *o++ = (char)m[i];
        else
            o += sprintf(o, "\\x%02x", m[i]);
    }
    *o = '\0';
    return out;
}

/* Steps 1-2 of formats/sbtm.md section 4: identity before anything else, because a newer
 * version may lay out the rest of the header differently. */
static sbt_status check_identity(const unsigned char *buf, size_t len, const char *path, const char *magic) {
    char shown[17];
    if (len >= 4 && memcmp(buf, magic, 4))
        return sbt_fail(SBT_ERR_FORMAT, "%s: not a %s file (magic '%s')", path, magic,
                        show_magic(buf, 4, shown));
    if (len < 8)
        return sbt_fail(SBT_ERR_FORMAT, "%s: truncated: %zu bytes, a header is %d", path, len, HEADER_BYTES);
    uint32_t version = get_u32(buf + H_VERSION);
    if (version == 0) return sbt_fail(SBT_ERR_FORMAT, "%s: invalid format version 0", path);
    if (version > SBT_CONTAINER_VERSION)
        return sbt_fail(SBT_ERR_FORMAT,
                        "%s: format version %" PRIu32 " is newer than this build supports (%d)", path,
                        version, SBT_CONTAINER_VERSION);
    return SBT_OK;
}

static sbt_status decode_header(const unsigned char *buf, size_t len, const char *path, header *h) {
    if (len < HEADER_BYTES)
        return sbt_fail(SBT_ERR_FORMAT, "%s: truncated: %zu bytes, a header is %d", path, len, HEADER_BYTES);
    if (!sbt_crc_matches(get_u32(buf + H_CRC), sbt_crc32(buf, H_CRC)))
        return sbt_fail(SBT_ERR_FORMAT, "%s: header checksum mismatch", path);
    uint32_t flags = get_u32(buf + H_FLAGS);
    if (flags & REQUIRED_FLAGS)
        return sbt_fail(SBT_ERR_FORMAT, "%s: unsupported required flags 0x%" PRIx32, path,
                        flags & REQUIRED_FLAGS);
    if (get_u32(buf + H_ALIGN) != ALIGN)
        return sbt_fail(SBT_ERR_FORMAT, "%s: payload alignment is not 64", path);
    for (int i = H_RESERVED; i < H_CRC; i++)
        if (buf[i]) return sbt_fail(SBT_ERR_FORMAT, "%s: reserved header bytes are not zero", path);
    h->count = get_u32(buf + H_COUNT);
    h->file_len = get_u64(buf + H_FILE_LEN);
    h->table_len = get_u64(buf + H_TABLE_LEN);
    sbt_status st = sbt_check_file_length(path, len, h->file_len);
    if (st) return st;
    if (h->count > MAX_SECTIONS)
        return sbt_fail(SBT_ERR_FORMAT, "%s: %" PRIu32 " sections exceed the limit %d", path, h->count,
                        MAX_SECTIONS);
    if (h->table_len > h->file_len - HEADER_BYTES || h->table_len < (uint64_t)ENTRY_MIN * h->count ||
        h->table_len > (uint64_t)ENTRY_MAX * h->count)
        return sbt_fail(SBT_ERR_FORMAT,
                        "%s: section table length %" PRIu64 " is impossible for %" PRIu32
                        " sections in %" PRIu64 " bytes",
                        path, h->table_len, h->count, h->file_len);
    if (!sbt_crc_matches(get_u32(buf + H_TABLE_CRC), sbt_crc32(buf + HEADER_BYTES, h->table_len)))
        return sbt_fail(SBT_ERR_FORMAT, "%s: section table checksum mismatch", path);
    return SBT_OK;
}

/* One table entry as read, before its semantic checks. */
typedef struct entry {
    char name[SBT_SECTION_NAME_MAX + 1];
    uint32_t type, ndim;
    int64_t shape[SBT_SECTION_MAX_DIMS];
    uint64_t offset, length;
    uint32_t crc;
} entry;

/* Reads the entry at *pos, never past `end`; advances *pos. */
static sbt_status read_entry(const unsigned char *buf, uint64_t *pos, uint64_t end, const char *path, int i,
                             entry *e) {
    const char *trunc = "%s: section %d: the entry runs past the end of the section table";
    if (end - *pos < 2) return sbt_fail(SBT_ERR_FORMAT, trunc, path, i);
    const unsigned char *p = buf + *pos;
    size_t name_len = get_u16(p);
    if (name_len < 1 || name_len > SBT_SECTION_NAME_MAX)
        return sbt_fail(SBT_ERR_FORMAT, "%s: section %d: name length %zu is not 1..127", path, i, name_len);
    if (end - *pos < ENTRY_FIXED + name_len) return sbt_fail(SBT_ERR_FORMAT, trunc, path, i);
    const char *why = name_problem((const char *)p + 2, name_len);
    if (why) return sbt_fail(SBT_ERR_FORMAT, "%s: section %d: %s", path, i, why);
    memcpy(e->name, p + 2, name_len);
    e->name[name_len] = '\0';
    p += 2 + name_len;
    e->type = get_u32(p);
    e->ndim = get_u32(p + 4);
    p += 8;
    if (e->ndim > SBT_SECTION_MAX_DIMS)
        return sbt_fail(SBT_ERR_FORMAT, "%s: section '%s': %" PRIu32 " dimensions, the limit is %d", path,
                        e->name, e->ndim, SBT_SECTION_MAX_DIMS);
    uint64_t size = ENTRY_FIXED + name_len + 8 * (uint64_t)e->ndim;
    if (end - *pos < size) return sbt_fail(SBT_ERR_FORMAT, trunc, path, i);
    for (uint32_t d = 0; d < e->ndim; d++, p += 8) {
        uint64_t v = get_u64(p);
        e->shape[d] = v > MAX_BYTES ? -1 : (int64_t)v; /* anything above 2^48 is rejected as "-1" */
    }
    e->offset = get_u64(p);
    e->length = get_u64(p + 8);
    e->crc = get_u32(p + 16);
    *pos += size;
    return SBT_OK;
}

static int all_zero(const unsigned char *p, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* Semantic checks of an entry; *prev_end is the end of the previous payload (or table).
 * On success *out is the loaded section. */
static sbt_status load_entry(const unsigned char *buf, const header *h, const entry *e, const char *path,
                             uint64_t *prev_end, sbt_section **out) {
    int64_t count;
    uint64_t bytes;
    const char *why = shape_problem(e->type, e->ndim, e->shape, &count, &bytes);
    if (why) return sbt_fail(SBT_ERR_FORMAT, "%s: section '%s': %s", path, e->name, why);
    if (e->length != bytes)
        return sbt_fail(SBT_ERR_FORMAT,
                        "%s: section '%s': payload length %" PRIu64 " does not match its shape (%" PRIu64
                        " bytes)",
                        path, e->name, e->length, bytes);
    if (e->offset % ALIGN || e->offset < *prev_end || e->offset > h->file_len ||
        e->length > h->file_len - e->offset)
        return sbt_fail(SBT_ERR_FORMAT,
                        "%s: section '%s': payload offset %" PRIu64 " is misaligned, overlaps or is "
                        "out of bounds",
                        path, e->name, e->offset);
    if (!all_zero(buf + *prev_end, e->offset - *prev_end))
        return sbt_fail(SBT_ERR_FORMAT, "%s: section '%s': padding before the payload is not zero", path,
                        e->name);
    if (!sbt_crc_matches(e->crc, sbt_crc32(buf + e->offset, e->length)))
        return sbt_fail(SBT_ERR_FORMAT, "%s: section '%s': payload checksum mismatch", path, e->name);
    sbt_section *s = section_new(e->name, strlen(e->name), (sbt_section_type)e->type, (int)e->ndim, e->shape,
                                 count, bytes);
    if (!s) return sbt_fail(SBT_ERR_NOMEM, "%s: section '%s': out of memory", path, e->name);
    size_t esize = elem_size(e->type);
    le_to_host(s->data, buf + e->offset, (size_t)bytes / esize, esize);
    *prev_end = e->offset + e->length;
    *out = s;
    return SBT_OK;
}

static sbt_status decode_sections(const unsigned char *buf, const header *h, const char *path,
                                  sbt_container *c) {
    uint64_t pos = HEADER_BYTES, table_end = HEADER_BYTES + h->table_len, prev_end = table_end;
    for (uint32_t i = 0; i < h->count; i++) {
        entry e;
        sbt_section *s = NULL;
        sbt_status st = read_entry(buf, &pos, table_end, path, (int)i, &e);
        if (st) return st;
        if (index_find(c, e.name) >= 0)
            return sbt_fail(SBT_ERR_FORMAT, "%s: section '%s': duplicate name", path, e.name);
        if ((st = load_entry(buf, h, &e, path, &prev_end, &s))) return st;
        if ((st = append(c, s))) {
            section_free(s);
            return st;
        }
    }
    if (pos != table_end)
        return sbt_fail(SBT_ERR_FORMAT, "%s: %" PRIu64 " unused bytes at the end of the section table", path,
                        table_end - pos);
    if (!all_zero(buf + prev_end, h->file_len - prev_end))
        return sbt_fail(SBT_ERR_FORMAT, "%s: padding after the last payload is not zero", path);
    return SBT_OK;
}

sbt_status sbt_container_decode(const unsigned char *buf, size_t len, const char *name_for_message,
                                const char *magic, sbt_container **out) {
    const char *path = name_for_message ? name_for_message : "container";
    if (!out) return sbt_fail(SBT_ERR_ARG, "%s: decode: invalid argument", path);
    *out = NULL;
    if ((!buf && len) || !magic_ok(magic))
        return sbt_fail(SBT_ERR_ARG, "%s: decode: invalid buffer or magic (must be 4 characters)", path);
    header h;
    sbt_status st = check_identity(buf, len, path, magic);
    if (!st) st = decode_header(buf, len, path, &h);
    if (st) return st;
    sbt_container *c = sbt_container_new();
    if (!c) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    if ((st = decode_sections(buf, &h, path, c))) {
        sbt_container_free(c);
        return st;
    }
    *out = c;
    return SBT_OK;
}

/* ---- files ---- */

/* Reads a whole regular file; a file that shrinks while being read comes back short
 * (and then fails decoding as truncated). */
static sbt_status read_file(const char *path, unsigned char **out, size_t *out_len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sbt_fail(SBT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    sbt_status st = SBT_OK;
    if (fstat(fd, &sb))
        st = sbt_fail(SBT_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = sbt_fail(SBT_ERR_IO, "%s: not a regular file", path);
    else if ((uint64_t)sb.st_size > MAX_BYTES || (uint64_t)sb.st_size >= SIZE_MAX)
        st = sbt_fail(SBT_ERR_FORMAT, "%s: %jd bytes exceed the container limit", path, (intmax_t)sb.st_size);
    size_t want = st ? 0 : (size_t)sb.st_size, got = 0;
    unsigned char *buf = st ? NULL : malloc(want ? want : 1);
    if (!st && !buf) st = sbt_fail(SBT_ERR_NOMEM, "%s: out of memory for %zu bytes", path, want);
    while (!st && got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) st = sbt_fail(SBT_ERR_IO, "%s: read error: %s", path, strerror(errno));
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (st) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_len = got;
    return SBT_OK;
}

sbt_status sbt_container_read(const char *path, const char *magic, sbt_container **out) {
    if (!out) return sbt_fail(SBT_ERR_ARG, "container: read: invalid argument");
    *out = NULL;
    if (!path || !magic_ok(magic)) return sbt_fail(SBT_ERR_ARG, "container: read: invalid path or magic");
    unsigned char *buf = NULL;
    size_t len = 0;
    sbt_status st = read_file(path, &buf, &len);
    if (!st) st = sbt_container_decode(buf, len, path, magic, out);
    free(buf);
    return st;
}

sbt_status sbt_container_write(const sbt_container *c, const char *path, const char *magic) {
    unsigned char *buf = NULL;
    size_t len = 0;
    sbt_status st = sbt_container_encode(c, magic, &buf, &len);
    if (!st) st = sbt_write_file_atomic(path, buf, len);
    free(buf);
    return st;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Makes the rename durable. Best effort: the file is already in place, and some file
 * systems refuse to fsync a directory, so failures are ignored. */
static void sync_parent(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* O_EXCL so that we never write through a file someone else created. A leftover with
 * our pid can only come from an earlier process that died mid-write (pids repeat, e.g.
 * in containers), so it is removed and the creation retried once. */
static int create_temp(const char *tmp) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    return fd;
}

sbt_status sbt_write_file_atomic(const char *path, const void *data, size_t len) {
    if (!path || !*path || (!data && len)) return sbt_fail(SBT_ERR_ARG, "write: invalid argument");
    size_t tmp_size = strlen(path) + 32;
    char *tmp = malloc(tmp_size);
    if (!tmp) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());
    int fd = create_temp(tmp);
    if (fd < 0) {
        sbt_status st = sbt_fail(SBT_ERR_IO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        free(tmp);
        return st;
    }
    const char *what = NULL;
    int err = 0;
    if (write_all(fd, data, len))
        what = "write";
    else if (fsync(fd))
        what = "fsync";
    if (what) err = errno;
    if (close(fd) && !what) what = "close", err = errno;
    if (!what && rename(tmp, path)) what = "rename", err = errno;
    if (what) {
        unlink(tmp);
        free(tmp);
        return sbt_fail(SBT_ERR_IO, "%s: cannot %s: %s", path, what, strerror(err));
    }
    free(tmp);
    sync_parent(path);
    return SBT_OK;
}
