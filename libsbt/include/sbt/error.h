/* sbt/error.h - status codes and the last error message.
 *
 * Every libsbt function that can fail returns an sbt_status. On failure it also
 * records a human-readable message (naming the file, line and problem where there
 * is one) that sbt_last_error() returns. The library never prints and never exits.
 *
 *     sbt_dataset *ds = NULL;
 *     if (sbt_ts_read("X_TRAIN.ts", NULL, &ds) != SBT_OK)
 *         fprintf(stderr, "error: %s\n", sbt_last_error());
 *
 * The message is thread-local: it belongs to the thread that made the failing call
 * and stays valid until that thread's next failing call.
 */
#ifndef SBT_ERROR_H
#define SBT_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sbt_status {
    SBT_OK = 0,
    SBT_ERR_IO,          /* a file could not be opened, read or written */
    SBT_ERR_PARSE,       /* a text input (.ts, CSV, flag value) is malformed */
    SBT_ERR_FORMAT,      /* a binary file (model, checkpoint, .npy) is corrupt or of a wrong version */
    SBT_ERR_SHAPE,       /* tensor shapes do not fit together */
    SBT_ERR_ARG,         /* an argument is out of range or inconsistent */
    SBT_ERR_NOMEM,       /* an allocation failed */
    SBT_ERR_UNSUPPORTED, /* a valid request that this build does not implement */
    SBT_ERR_NUMERIC      /* NaN or infinity where a finite number is required */
} sbt_status;

/* The message of the calling thread's last failure ("" if none). Never NULL. */
const char *sbt_last_error(void);

/* Records a printf-style message for sbt_last_error() and returns `code`, so that
 * a failing path reads `return sbt_fail(SBT_ERR_PARSE, "%s:%d: ...", path, line);`. */
sbt_status sbt_fail(sbt_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A short name for a status code ("io", "parse", ...). */
const char *sbt_status_name(sbt_status code);

/* The library version, "MAJOR.MINOR.PATCH". */
const char *sbt_version(void);

#ifdef __cplusplus
}
#endif
#endif
