/* line_reader.h - internal to libsbt (not installed): the gzip-or-plain text line reader
 * shared by ts_reader.c, csv_reader.c and anomaly_data.c.
 */
#ifndef SBT_LINE_READER_H
#define SBT_LINE_READER_H

#include <stddef.h>
#include <zlib.h>

#include "sbt/error.h"

/* Options of sbt__line_reader_open (bits). */
enum {
    SBT__LINE_STRIP_BOM = 1,      /* drop a UTF-8 BOM at the start of line 1 */
    SBT__LINE_TRIM_ZLIB_PATH = 2, /* drop the "path: " prefix zlib puts on its error messages */
    SBT__LINE_INT_MAX_BUF = 4,    /* a line needing a buffer over INT_MAX bytes is "out of memory" */
    /* The behaviour of the .ts and CSV readers. */
    SBT__LINE_DEFAULT = SBT__LINE_STRIP_BOM | SBT__LINE_TRIM_ZLIB_PATH
};

typedef struct {
    gzFile f;
    const char *path;
    char *buf;
    size_t cap, len;
    int line; /* number of the line in buf, 1-based */
    int flags;
} sbt__line_reader;

/* Opens path (plain or gzip) for reading; on failure the error names the path. Call
 * sbt__line_reader_close whatever the result. */
sbt_status sbt__line_reader_open(sbt__line_reader *r, const char *path, int flags);
void sbt__line_reader_close(sbt__line_reader *r);

/* Reads the next line of any length into r->buf without its CR/LF; *got = 0 at end. */
sbt_status sbt__line_reader_next(sbt__line_reader *r, int *got);

#endif
