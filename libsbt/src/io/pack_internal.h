/* io/pack_internal.h - helpers shared by the .sbt codecs and the .sbt file reader/writer:
 * little-endian fields, LEB128 varints, the range coder of formats/sbt.md section 4. */
#ifndef SBT_IO_PACK_INTERNAL_H
#define SBT_IO_PACK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define PACK_MAX_COUNT ((uint64_t)1 << 48)
/* formats/sbt.md 3.8: a coded section holds at most this many weights per payload byte (+1). */
#define PACK_CODED_WEIGHTS_PER_BYTE 1024u
#define PACK_VARINT_MAX_BYTES 7

static inline void pack_put_u16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline void pack_put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void pack_put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint16_t pack_get_u16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t pack_get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t pack_get_u64(const unsigned char *p) {
    return pack_get_u32(p) | (uint64_t)pack_get_u32(p + 4) << 32;
}

/* Writes v (<= 2^48) as a minimal LEB128 varint at p; returns the byte count (1..7). */
int pack_put_varint(unsigned char *p, uint64_t v);
/* Bytes pack_put_varint would write. */
int pack_varint_size(uint64_t v);
/* Reads a varint from p[*pos .. end). NULL on success (advancing *pos), else why not
 * ("runs past the end", "is not minimal", "exceeds 2^48"). */
const char *pack_get_varint(const unsigned char *p, size_t *pos, size_t end, uint64_t *v);

/* rows * cols as a weight count, or -1 when negative or above 2^48. */
int64_t pack_count(int64_t rows, int64_t cols);

/* ---- range coder (formats/sbt.md section 4) ---- */

typedef struct pack_rc_enc {
    uint64_t low;
    uint32_t range;
    uint8_t cache;
    uint64_t cache_size;
    uint64_t shifted; /* bytes shifted out so far; the first (always 0) is not stored */
    int started;      /* a bit was coded (else the stream stays empty) */
    int nomem;
    unsigned char *buf;
    size_t len, cap;
} pack_rc_enc;

typedef struct pack_rc_dec {
    const unsigned char *p;
    size_t len, pos;
    uint32_t range, code;
    int started;
    int past_end; /* a renormalisation found no byte left */
    int bad;      /* code >= range: no encoder writes that */
} pack_rc_dec;

/* P(0) in units of 2^-16 for `zeros` zeros left among `left`, clamped to 1..65535. */
uint32_t pack_rc_p0(uint64_t zeros, uint64_t left);

void pack_rc_enc_init(pack_rc_enc *e);
void pack_rc_enc_bit(pack_rc_enc *e, int bit, uint32_t p0);
/* Flushes; returns 0, or -1 when out of memory. e->buf/e->len is the stream (caller frees). */
int pack_rc_enc_finish(pack_rc_enc *e);

void pack_rc_dec_init(pack_rc_dec *d, const unsigned char *p, size_t len);
/* A decoded bit; after running past the end (d->past_end) or on an impossible code
 * (d->bad), bits are 0. */
int pack_rc_dec_bit(pack_rc_dec *d, uint32_t p0);

#endif
