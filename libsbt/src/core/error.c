#include "sbt/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[1024];

const char *sbt_last_error(void) { return last_message; }

sbt_status sbt_fail(sbt_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return code;
}

const char *sbt_status_name(sbt_status code) {
    switch (code) {
    case SBT_OK: return "ok";
    case SBT_ERR_IO: return "io";
    case SBT_ERR_PARSE: return "parse";
    case SBT_ERR_FORMAT: return "format";
    case SBT_ERR_SHAPE: return "shape";
    case SBT_ERR_ARG: return "argument";
    case SBT_ERR_NOMEM: return "out of memory";
    case SBT_ERR_UNSUPPORTED: return "unsupported";
    case SBT_ERR_NUMERIC: return "numeric";
    }
    return "unknown";
}

const char *sbt_version(void) { return SBT_VERSION_STRING; }
