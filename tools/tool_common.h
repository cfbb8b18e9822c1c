/* tools/tool_common.h - what every sbt-* tool shares: exit codes, number parsing for
 * flags, the --version line and error reporting. Kept out of libsbt because it is
 * about command lines, not about models. */
#ifndef SBT_TOOL_COMMON_H
#define SBT_TOOL_COMMON_H

#include <stddef.h>
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
/* After getopt has said what was wrong with an option (unknown, or missing its value):
 * prints "Try '<tool> --help'." to stderr and returns TOOL_EXIT_USAGE. */
int tool_usage_hint(const char *tool);
/* Whether `path` can be written the way the tools write files (a temporary file beside it,
 * then a rename), checked before any work so that a long run never ends in "cannot write":
 * creates and removes the temporary file. Returns 0, or prints
 * "<tool>: error: cannot write <path>: <reason>" and returns TOOL_EXIT_RUNTIME. */
int tool_check_output(const char *tool, const char *path);
/* 1 when s ends with suffix (file extensions, tensor name endings). */
int tool_has_suffix(const char *s, const char *suffix);
/* Reads a model the way every tool takes one: .sbtm or .sbt (with the anomaly settings
 * stored beside it; s may be NULL), or .onnx imported as a model of `onnx_task` (inputs
 * fed raw, as PyTorch took them). Returns 0, or prints the error and returns
 * TOOL_EXIT_RUNTIME. */
struct sbt_model;
struct sbt_anomaly_settings;
int tool_load_model(const char *tool, const char *path, int onnx_task, struct sbt_model **m,
                    struct sbt_anomaly_settings *s);
/* Writes m's forward-only graph (batch symbolic, `length` steps; 0: the model's max_len) as
 * ONNX, ternary Linear weights as int8 codes + scale unless float_only; *bytes and
 * *f32_bytes (may be NULL) get its size and that of the all-float32 ONNX. Returns 0, or
 * prints the error and returns TOOL_EXIT_RUNTIME. */
struct sbt_onnx_export_stats;
int tool_write_onnx(const char *tool, struct sbt_model *m, const char *path, int length, int float_only,
                    struct sbt_onnx_export_stats *stats, size_t *f32_bytes);

/* Lists the sections of a .sbt file (name, encoding, elements, bytes, bits per element, the
 * entropy bound per element) and the total, on stdout. */
struct sbt_packfile;
void tool_print_packfile(const char *path, const struct sbt_packfile *pf);
/* Strict parsers for flag values: the whole string must be a number in [lo, hi].
 * Return 0 on success, -1 (nothing written) otherwise. */
int tool_parse_int(const char *s, long lo, long hi, long *out);
int tool_parse_u64(const char *s, uint64_t *out);
int tool_parse_double(const char *s, double lo, double hi, double *out);

/* --json output: every tool builds a cJSON object and prints it with tool_json_print, so
 * that any string (a path with a quote, a class name with a backslash) is escaped. */
struct cJSON;
/* Adds a number rounded to 9 significant digits (what a float holds; null when not finite). */
void tool_json_float(struct cJSON *obj, const char *key, double v);
/* Adds a string, or null for NULL. */
void tool_json_string(struct cJSON *obj, const char *key, const char *s);
/* Prints obj on one line to stdout and frees it; returns 0, or TOOL_EXIT_RUNTIME (said on
 * stderr) when obj is NULL or cannot be printed (out of memory while building it). */
int tool_json_print(const char *tool, struct cJSON *obj);

/* ---- model flags shared by sbt-train, sbt-bench (and sbt-info) ------------------------- */

struct sbt_config;
/* "classify", "forecast", "anomaly" -> the task, else -1. */
int tool_task_of(const char *name);
/* The task named by --task NAME or --task=NAME anywhere in argv (default classify): its
 * defaults apply before any other flag, wherever --task stands. */
int tool_prescan_task(int argc, char **argv);
/* Applies one model-shape flag, given by its long name without dashes: model, alpha, attn,
 * norm, pos, window-norm (choices); d-model, heads, layers, ffn, keep, attn-keep, dropout,
 * seed (numbers). Returns 0 when applied, -1 for a bad value, 1 when `flag` is not a model
 * flag. */
int tool_model_flag(const char *flag, const char *arg, struct sbt_config *cfg);

struct sbt_anomaly_report;
struct sbt_anomaly_options;
struct sbt_forecast_data;
struct sbt_entity_list;

/* Where anomaly data comes from, as sbt-train and sbt-eval take it on the command line:
 * a folder (SMD, NASA MSL/SMAP) with entities (a name, a comma-separated list or "all"),
 * or a pair of labelled CSV files. */
typedef struct {
    const char *dir;          /* folder mode: the SMD / MSL / SMAP folder */
    const char *entities;     /* folder mode: NAME, NAME,NAME,... or all */
    const char *labels;       /* folder mode, NASA: labeled_anomalies.csv (NULL: beside dir) */
    const char *train_csv;    /* CSV mode: the training file */
    const char *test_csv;     /* CSV mode: the test file (labelled) */
    const char *label_column; /* CSV mode: the label column (its presence selects CSV mode) */
    const char *time_column;  /* CSV mode: a time stamp column to leave out, or NULL */
} tool_anomaly_source;

/* Reads the data of `src` into windows (*window <= 0: the data's default, reported back).
 * Folder mode resolves the entities first and says on stderr which ones "all" left out and
 * why; *names receives the entities read (NULL in CSV mode; free with
 * sbt_entity_list_free). Returns 0, or TOOL_EXIT_RUNTIME after printing the error. */
int tool_anomaly_load(const char *tool, const tool_anomaly_source *src, int *window,
                      struct sbt_forecast_data **d, struct sbt_entity_list **names);

/* The entity names joined by commas (malloc'ed; NULL for no list). */
char *tool_join_names(const struct sbt_entity_list *names);

/* The test metrics of an anomaly model: text lines, or one JSON object when
 * json_model_path is not NULL (it names the model in the object). Pooled metrics first;
 * the JSON object also lists each entity (names from `names`, or `single_name` when it is
 * NULL) and the POT settings and guard (whether the fitted POT threshold was replaced). */
struct sbt_model;
/* Evaluates a forecasting model on the test split of d and the persistence baseline
 * beside it, and prints both: text, or one JSON object naming json_model_path when it is
 * not NULL. Returns an exit code (failures reported under `tool`). */
int tool_report_forecast(const char *tool, struct sbt_model *m, const struct sbt_forecast_data *d,
                         const char *json_model_path);
/* "split <rule>: train rows [a, b), ..." on stdout (to_stdout) or stderr, and on stderr how
 * many empty or NaN cells were filled in each column (when the data was read with fill). */
void tool_print_forecast_data(const char *tool, const struct sbt_forecast_data *d, int to_stdout);

void tool_print_anomaly_report(const struct sbt_anomaly_report *r, const struct sbt_anomaly_options *o,
                               const struct sbt_entity_list *names, const char *single_name,
                               const char *json_model_path);

#endif
