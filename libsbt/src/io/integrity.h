/* Internal to libsbt: the integrity checks the container (.sbtm) and the packed file
 * (.sbt) share: zlib's CRC-32 and the file length a header records. */
#ifndef SBT_IO_INTEGRITY_H
#define SBT_IO_INTEGRITY_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "sbt/error.h"

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

/* The length `header_len` that a file's header records against the `len` bytes read:
 * truncated, trailing data and above 2^48 bytes are SBT_ERR_FORMAT naming `path`. */
static inline sbt_status sbt_check_file_length(const char *path, size_t len, uint64_t header_len) {
    if (header_len > len)
        return sbt_fail(SBT_ERR_FORMAT, "%s: truncated: %zu bytes, the header records %" PRIu64, path, len,
                        header_len);
    if (header_len < len)
        return sbt_fail(SBT_ERR_FORMAT, "%s: %zu bytes, but the header records %" PRIu64 " (trailing data)",
                        path, len, header_len);
    if (header_len > ((uint64_t)1 << 48))
        return sbt_fail(SBT_ERR_FORMAT, "%s: %" PRIu64 " bytes exceed the 2^48-byte limit", path, header_len);
    return SBT_OK;
}

#endif
