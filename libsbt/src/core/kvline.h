/* Internal to libsbt: strict parsing of "word word key=value ..." lines, shared by the
 * text sections of model files (the graph, the tensor table). Every value is checked in
 * full; errors name the source, the section and the line. */
#ifndef SBT_KVLINE_H
#define SBT_KVLINE_H

#include <stdint.h>

#include "sbt/error.h"

#define SBT_KV_MAX 24

typedef struct sbt_kvline {
    const char *source;  /* file name for messages */
    const char *section; /* "graph", "tensors" */
    int line;
    char *key[SBT_KV_MAX], *value[SBT_KV_MAX];
    int n_kv;
    int used[SBT_KV_MAX];
} sbt_kvline;

/* SBT_ERR_FORMAT: "<source>: <section> line <n>: <message>". */
sbt_status sbt_kv_bad(const sbt_kvline *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Splits `line` in place into up to max_words leading words and key=value pairs. */
sbt_status sbt_kv_tokenize(sbt_kvline *c, char *line, char **words, int max_words, int *n_words);
/* The value of `key` (marked as used), or NULL. */
const char *sbt_kv_get(sbt_kvline *c, const char *key);
/* An error naming the first key that no reader asked for. */
sbt_status sbt_kv_check_all_used(const sbt_kvline *c, const char *what);
sbt_status sbt_kv_parse_i64(const sbt_kvline *c, const char *key, const char *s, int64_t lo, int64_t hi,
                            int64_t *out);
sbt_status sbt_kv_int(sbt_kvline *c, const char *key, int64_t lo, int64_t hi, int64_t *out);
sbt_status sbt_kv_float(sbt_kvline *c, const char *key, float *out);
sbt_status sbt_kv_u64(sbt_kvline *c, const char *key, uint64_t *out);
/* One of names[0..n); *out is its index. */
sbt_status sbt_kv_choice(sbt_kvline *c, const char *key, const char *const *names, int n, int *out);
/* Splits a comma-separated list in place into up to `max` items; -1 if there are more. */
int sbt_kv_split_list(char *s, char **items, int max);
/* Calls `each` for the lines of `text` after its first, which must equal `header`;
 * c->line counts from 1. A final newline ends the text; an empty line is an error. */
typedef sbt_status (*sbt_kv_line_fn)(sbt_kvline *c, char *line, void *user);
sbt_status sbt_kv_each_line(sbt_kvline *c, char *text, const char *header, sbt_kv_line_fn each, void *user);

#endif
