/* line_reader.c - the text line reader shared by the dataset readers (see line_reader.h). */
#include "data/line_reader.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

sbt_status sbt__line_reader_open(sbt__line_reader *r, const char *path, int flags) {
    memset(r, 0, sizeof *r);
    r->path = path;
    r->flags = flags;
    errno = 0;
    r->f = gzopen(path, "rb");
    if (!r->f)
        return sbt_fail(SBT_ERR_IO, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(r->f, 1 << 17);
    return SBT_OK;
}

void sbt__line_reader_close(sbt__line_reader *r) {
    if (r->f) gzclose(r->f);
    free(r->buf);
}

sbt_status sbt__line_reader_next(sbt__line_reader *r, int *got) {
    r->len = 0;
    *got = 0;
    for (;;) {
        if (r->cap - r->len < 2) {
            size_t cap = r->cap ? 2 * r->cap : 4096;
            char *b =
                (r->flags & SBT__LINE_INT_MAX_BUF) && cap > (size_t)INT_MAX ? NULL : realloc(r->buf, cap);
            if (!b) return sbt_fail(SBT_ERR_NOMEM, "%s:%d: out of memory for a line", r->path, r->line + 1);
            r->buf = b;
            r->cap = cap;
        }
        size_t room = r->cap - r->len;
        if (room > INT_MAX) room = INT_MAX;
        if (!gzgets(r->f, r->buf + r->len, (int)room)) {
            int err = Z_OK;
            const char *msg = gzerror(r->f, &err);
            if (r->flags & SBT__LINE_TRIM_ZLIB_PATH) {
                size_t plen = strlen(r->path); /* zlib prefixes its message with the path */
                if (strncmp(msg, r->path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0) msg += plen + 2;
            }
            if (err != Z_OK && err != Z_STREAM_END)
                return sbt_fail(SBT_ERR_IO, "%s: read error after line %d: %s", r->path, r->line,
                                err == Z_ERRNO ? strerror(errno) : msg);
            break;
        }
        r->len += strlen(r->buf + r->len);
        if (r->len > 0 && r->buf[r->len - 1] == '\n') break;
    }
    if (r->len == 0) return SBT_OK;
    r->line++;
    while (r->len > 0 && (r->buf[r->len - 1] == '\n' || r->buf[r->len - 1] == '\r')) r->len--;
    r->buf[r->len] = '\0';
    if ((r->flags & SBT__LINE_STRIP_BOM) && r->line == 1 && r->len >= 3 &&
        memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) {
        memmove(r->buf, r->buf + 3, r->len - 2);
        r->len -= 3;
    }
    *got = 1;
    return SBT_OK;
}
