/* Internal to libsbt: a growing text buffer for writers of text formats (graph text, C
 * source). Out of memory is remembered and reported once, at the end. */
#ifndef SBT_STRBUF_H
#define SBT_STRBUF_H

#include <stddef.h>

typedef struct sbt_strbuf {
    char *buf; /* NUL-terminated once anything was written */
    size_t len, cap;
    int failed;
} sbt_strbuf;

void sbt_strbuf_printf(sbt_strbuf *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
