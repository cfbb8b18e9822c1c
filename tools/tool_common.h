/* tools/tool_common.h - what every sbt-* tool shares: exit codes, number parsing for
 * flags, the --version line and error reporting. Kept out of libsbt because it is
 * about command lines, not about models. */
#ifndef SBT_TOOL_COMMON_H
#define SBT_TOOL_COMMON_H

#include <stdint.h>

enum { TOOL_EXIT_OK = 0, TOOL_EXIT_RUNTIME = 1, TOOL_EXIT_USAGE = 2 };

/* Prints "<tool> (sbt) <version>" to stdout. */
void tool_print_version(const char *tool);
/* Prints "<tool>: error: <sbt_last_error()>" to stderr and returns TOOL_EXIT_RUNTIME. */
int tool_fail_lib(const char *tool);
/* Prints "<tool>: <message>\nTry '<tool> --help'." to stderr and returns TOOL_EXIT_USAGE. */
int tool_usage_error(const char *tool, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Strict parsers for flag values: the whole string must be a number in [lo, hi].
 * Return 0 on success, -1 (nothing written) otherwise. */
int tool_parse_int(const char *s, long lo, long hi, long *out);
int tool_parse_u64(const char *s, uint64_t *out);
int tool_parse_double(const char *s, double lo, double hi, double *out);

struct sbt_anomaly_report;
/* The test metrics of an anomaly model: text lines, or one JSON object when
 * json_model_path is not NULL (it names the model in the object). */
void tool_print_anomaly_report(const struct sbt_anomaly_report *r, const char *json_model_path);

#endif
