/* Internal to libsbt: the CRC-32 every container and packed file checks (zlib's). */
#ifndef SBT_IO_CRC_H
#define SBT_IO_CRC_H

#include <stdint.h>
#include <zlib.h>

/* zlib's crc32 takes a 32-bit length, so large payloads go in chunks. */
static inline uint32_t sbt_crc32(const unsigned char *p, uint64_t n) {
    uLong c = crc32(0L, Z_NULL, 0);
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

/* Fuzzing builds (the OSS-Fuzz convention) accept any checksum, so that mutated inputs
 * reach the checks behind the checksums. Never defined in a real build. */
static inline int sbt_crc_matches(uint32_t stored, uint32_t computed) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)stored;
    (void)computed;
    return 1;
#else
    return stored == computed;
#endif
}

#endif
