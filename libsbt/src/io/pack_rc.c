/* pack_rc.c - the binary range coder of the coded .sbt encodings (formats/sbt.md section 4)
 * and the varints of the .sbt section table.
 *
 * The coder is LZMA's: a 64-bit `low` with carry propagation through a cached byte and a
 * run of 0xFF bytes, a 32-bit `range` renormalised a byte at a time below 2^24. The split
 * uses a full 64-bit product `(range * p0) >> 16` rather than LZMA's `(range >> 11) * p`,
 * because truncating range costs up to 1/256 of a bit per symbol, over 1 % of a mask at
 * keep 0.1. The encoder's first byte is always 0 (the interval never leaves [0, 1)), so it
 * is not stored; the decoder's first four bytes are then the initial code.
 */
#include "io/pack_internal.h"

#include <stdlib.h>
#include <string.h>

int pack_varint_size(uint64_t v) {
    int n = 1;
    while (v >= 0x80) v >>= 7, n++;
    return n;
}

int pack_put_varint(unsigned char *p, uint64_t v) {
    int n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

const char *pack_get_varint(const unsigned char *p, size_t *pos, size_t end, uint64_t *v) {
    uint64_t x = 0;
    for (int i = 0; i < PACK_VARINT_MAX_BYTES; i++) {
        if (*pos + (size_t)i >= end) return "a varint runs past the end";
        unsigned char b = p[*pos + (size_t)i];
        x |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            if (b == 0 && i > 0) return "a varint is not minimal";
            if (x > PACK_MAX_COUNT) return "a varint exceeds 2^48";
            *pos += (size_t)i + 1;
            *v = x;
            return NULL;
        }
    }
    return "a varint exceeds 2^48";
}

int64_t pack_count(int64_t rows, int64_t cols) {
    if (rows < 0 || cols < 0) return -1;
    if (rows == 0 || cols == 0) return 0;
    if ((uint64_t)rows > PACK_MAX_COUNT / (uint64_t)cols) return -1;
    return rows * cols;
}

uint32_t pack_rc_p0(uint64_t zeros, uint64_t left) {
    uint64_t p = (zeros << 16) / left; /* zeros <= left <= 2^48: no overflow */
    return p < 1 ? 1 : p > 65535 ? 65535 : (uint32_t)p;
}

/* ---- encoder ---- */

void pack_rc_enc_init(pack_rc_enc *e) {
    memset(e, 0, sizeof *e);
    e->range = 0xFFFFFFFFu;
    e->cache_size = 1;
}

static void emit(pack_rc_enc *e, unsigned char b) {
    if (e->shifted++ == 0) return; /* the always-zero first byte */
    if (e->len == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 256;
        unsigned char *p = realloc(e->buf, cap);
        if (!p) {
            e->nomem = 1;
            return;
        }
        e->buf = p;
        e->cap = cap;
    }
    e->buf[e->len++] = b;
}

static void shift_low(pack_rc_enc *e) {
    if ((uint32_t)e->low < 0xFF000000u || (e->low >> 32) != 0) {
        unsigned char carry = (unsigned char)(e->low >> 32);
        unsigned char b = e->cache;
        do {
            emit(e, (unsigned char)(b + carry));
            b = 0xFF;
        } while (--e->cache_size != 0);
        e->cache = (uint8_t)(e->low >> 24);
    }
    e->cache_size++;
    e->low = (e->low & 0x00FFFFFFu) << 8;
}

void pack_rc_enc_bit(pack_rc_enc *e, int bit, uint32_t p0) {
    uint32_t bound = (uint32_t)(((uint64_t)e->range * p0) >> 16);
    e->started = 1;
    if (!bit) {
        e->range = bound;
    } else {
        e->low += bound;
        e->range -= bound;
    }
    while (e->range < (1u << 24)) {
        e->range <<= 8;
        shift_low(e);
    }
}

int pack_rc_enc_finish(pack_rc_enc *e) {
    if (e->started)
        for (int i = 0; i < 5; i++) shift_low(e);
    return e->nomem ? -1 : 0;
}

/* ---- decoder ---- */

void pack_rc_dec_init(pack_rc_dec *d, const unsigned char *p, size_t len) {
    memset(d, 0, sizeof *d);
    d->p = p;
    d->len = len;
    d->range = 0xFFFFFFFFu;
}

static uint32_t next_byte(pack_rc_dec *d) {
    if (d->pos >= d->len) {
        d->past_end = 1;
        return 0;
    }
    return d->p[d->pos++];
}

int pack_rc_dec_bit(pack_rc_dec *d, uint32_t p0) {
    if (!d->started) { /* lazily, so that a stream with no coded bit is empty */
        d->started = 1;
        for (int i = 0; i < 4; i++) d->code = (d->code << 8) | next_byte(d);
        if (d->code >= d->range) d->bad = 1;
    }
    if (d->past_end || d->bad) return 0;
    uint32_t bound = (uint32_t)(((uint64_t)d->range * p0) >> 16);
    int bit;
    if (d->code < bound) {
        d->range = bound;
        bit = 0;
    } else {
        d->code -= bound;
        d->range -= bound;
        bit = 1;
    }
    while (d->range < (1u << 24)) {
        d->range <<= 8;
        d->code = (d->code << 8) | next_byte(d);
    }
    if (d->code >= d->range) d->bad = 1;
    return bit;
}
