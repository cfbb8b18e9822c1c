#include "core/kvline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sbt_status sbt_kv_bad(const sbt_kvline *c, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sbt_fail(SBT_ERR_FORMAT, "%s: %s line %d: %s", c->source, c->section, c->line, msg);
}

sbt_status sbt_kv_tokenize(sbt_kvline *c, char *line, char **words, int max_words, int *n_words) {
    int n = 0;
    char *save = NULL;
    c->n_kv = 0;
    for (char *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq && n < max_words && c->n_kv == 0) {
            words[n++] = tok;
            continue;
        }
        if (!eq || c->n_kv == SBT_KV_MAX) return sbt_kv_bad(c, "unexpected '%.40s'", tok);
        *eq = '\0';
        c->key[c->n_kv] = tok;
        c->value[c->n_kv] = eq + 1;
        c->used[c->n_kv++] = 0;
    }
    *n_words = n;
    return SBT_OK;
}

const char *sbt_kv_get(sbt_kvline *c, const char *key) {
    for (int i = 0; i < c->n_kv; i++)
        if (!strcmp(c->key[i], key)) {
            c->used[i] = 1;
            return c->value[i];
        }
    return NULL;
}

sbt_status sbt_kv_check_all_used(const sbt_kvline *c, const char *what) {
    for (int i = 0; i < c->n_kv; i++)
        if (!c->used[i]) return sbt_kv_bad(c, "unknown key '%.40s' for %s", c->key[i], what);
    return SBT_OK;
}

sbt_status sbt_kv_parse_i64(const sbt_kvline *c, const char *key, const char *s, int64_t lo, int64_t hi,
                            int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < lo || v > hi)
        return sbt_kv_bad(c, "%s=%s is not an integer in [%lld, %lld]", key, s ? s : "(missing)",
                          (long long)lo, (long long)hi);
    *out = v;
    return SBT_OK;
}

sbt_status sbt_kv_int(sbt_kvline *c, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    return sbt_kv_parse_i64(c, key, sbt_kv_get(c, key), lo, hi, out);
}

sbt_status sbt_kv_float(sbt_kvline *c, const char *key, float *out) {
    const char *s = sbt_kv_get(c, key);
    char *end = NULL;
    errno = 0;
    float v = s && *s ? strtof(s, &end) : 0.0f;
    if (!s || !*s || *end || errno || v != v)
        return sbt_kv_bad(c, "%s=%s is not a number", key, s ? s : "(missing)");
    *out = v;
    return SBT_OK;
}

sbt_status sbt_kv_u64(sbt_kvline *c, const char *key, uint64_t *out) {
    const char *s = sbt_kv_get(c, key);
    char *end = NULL;
    errno = 0;
    unsigned long long v = s && *s && *s != '-' ? strtoull(s, &end, 10) : 0;
    if (!s || !*s || *s == '-' || *end || errno)
        return sbt_kv_bad(c, "%s=%s is not an unsigned integer", key, s ? s : "(missing)");
    *out = v;
    return SBT_OK;
}

sbt_status sbt_kv_choice(sbt_kvline *c, const char *key, const char *const *names, int n, int *out) {
    const char *s = sbt_kv_get(c, key);
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return SBT_OK;
        }
    return sbt_kv_bad(c, "%s=%s is not one of the known values", key, s ? s : "(missing)");
}

int sbt_kv_split_list(char *s, char **items, int max) {
    int n = 0;
    for (;;) {
        if (n == max) return -1;
        items[n++] = s;
        char *comma = strchr(s, ',');
        if (!comma) return n;
        *comma = '\0';
        s = comma + 1;
    }
}

sbt_status sbt_kv_each_line(sbt_kvline *c, char *text, const char *header, sbt_kv_line_fn each, void *user) {
    sbt_status st = SBT_OK;
    c->line = 1;
    for (char *line = text, *next = NULL; !st && line; line = next, c->line++) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = '\0';
        if (c->line == 1)
            st = strcmp(line, header) ? sbt_kv_bad(c, "expected '%s'", header) : SBT_OK;
        else if (!*line && !next)
            break; /* after the final newline */
        else
            st = *line ? each(c, line, user) : sbt_kv_bad(c, "empty line");
    }
    return st;
}
