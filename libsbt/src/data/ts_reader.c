/* ts_reader.c - the UEA/sktime .ts reader (plain or gzip).
 *
 * Layout: '#' comment lines, '@key value' header lines, '@data', then one case per line:
 * dimensions separated by ':', values by ',', the class label last. The reader is strict
 * (every inconsistency with the header is an error naming file and line) but accepts
 * CRLF, a UTF-8 BOM, blank lines, whitespace around values, and a case broken over
 * several lines after a ',' or ':' (some archive files were wrapped by editors).
 *
 * Decision: the dimensions of one case must have the same number of values. The format
 * allows ragged dimensions in principle, but no archive file has them and padding them
 * silently would hide a truncated dimension, so they are reported as an error.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "data/interpolate.h"
#include "data/line_reader.h"
#include "sbt/data.h"

/* ---- parser state -------------------------------------------------------------- */

enum {
    KEY_PROBLEM,
    KEY_TIMESTAMPS,
    KEY_MISSING,
    KEY_UNIVARIATE,
    KEY_DIMENSIONS,
    KEY_EQUAL,
    KEY_LENGTH,
    KEY_LABEL
};
static const char *const key_names[] = {"@problemName", "@timeStamps",  "@missing",      "@univariate",
                                        "@dimensions",  "@equalLength", "@seriesLength", "@classLabel"};
#define N_KEYS ((int)(sizeof key_names / sizeof key_names[0]))

typedef struct {
    const char *path;
    const sbt_dataset *ref;
    unsigned seen;     /* bit per header key, to reject repeats */
    int in_data;       /* @data seen */
    int any_line;      /* a non-blank line was read */
    int dims;          /* 0 until known (@dimensions or the first case) */
    int univariate;    /* -1 unknown */
    int equal_length;  /* -1 unknown */
    int series_length; /* 0 unknown */
    int labelled;      /* @classLabel true */
    char **labels;     /* header class labels */
    int n_labels;
    float *vals; /* all cases, each stored dimension-major: dims blocks of len values */
    size_t n_vals, cap_vals;
    int *lens, *ys;
    int n, cap;
    int max_len;
} ts_state;

static void state_free(ts_state *s) {
    for (int k = 0; k < s->n_labels; k++) free(s->labels[k]);
    free(s->labels);
    free(s->vals);
    free(s->lens);
    free(s->ys);
}

/* ---- header -------------------------------------------------------------------- */

static int key_index(const char *key) {
    for (int k = 0; k < N_KEYS; k++)
        if (strcasecmp(key, key_names[k]) == 0) return k;
    return -1;
}

static sbt_status parse_bool(const ts_state *s, int line, const char *key, const char *v, int *out) {
    if (v && strcasecmp(v, "true") == 0)
        *out = 1;
    else if (v && strcasecmp(v, "false") == 0)
        *out = 0;
    else
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: %s expects true or false, got '%.40s'", s->path, line, key,
                        v ? v : "");
    return SBT_OK;
}

static sbt_status parse_count(const ts_state *s, int line, const char *key, const char *v, int *out) {
    char *end = NULL;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || end == v || errno || x < 1 || x > INT_MAX / 2)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: %s expects a positive integer, got '%.40s'", s->path, line,
                        key, v ? v : "");
    *out = (int)x;
    return SBT_OK;
}

/* "@classLabel true a b c" or "@classLabel false"; `save` holds the words after the key. */
static sbt_status parse_class_labels(ts_state *s, int line, char *flag, char **save) {
    sbt_status st = parse_bool(s, line, "@classLabel", flag, &s->labelled);
    if (st != SBT_OK) return st;
    for (char *w = strtok_r(NULL, " \t", save); w; w = strtok_r(NULL, " \t", save)) {
        if (!s->labelled)
            return sbt_fail(SBT_ERR_PARSE, "%s:%d: @classLabel false is followed by labels", s->path, line);
        for (int k = 0; k < s->n_labels; k++)
            if (strcmp(s->labels[k], w) == 0)
                return sbt_fail(SBT_ERR_PARSE, "%s:%d: class label '%.40s' listed twice", s->path, line, w);
        char **l = realloc(s->labels, (size_t)(s->n_labels + 1) * sizeof *l);
        if (!l) return sbt_fail(SBT_ERR_NOMEM, "%s:%d: out of memory", s->path, line);
        s->labels = l;
        if (!(s->labels[s->n_labels] = strdup(w)))
            return sbt_fail(SBT_ERR_NOMEM, "%s:%d: out of memory", s->path, line);
        s->n_labels++;
    }
    if (s->labelled && s->n_labels == 0)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: @classLabel true lists no labels", s->path, line);
    return SBT_OK;
}

static sbt_status header_value(ts_state *s, int line, int key, char *v, char **save) {
    const char *name = key_names[key];
    switch (key) {
    case KEY_PROBLEM: return SBT_OK;
    case KEY_TIMESTAMPS: {
        int ts = 0;
        sbt_status st = parse_bool(s, line, name, v, &ts);
        if (st == SBT_OK && ts)
            return sbt_fail(SBT_ERR_UNSUPPORTED,
                            "%s:%d: @timeStamps true is not supported (give values only)", s->path, line);
        return st;
    }
    case KEY_MISSING: {
        int m; /* missing values are accepted whatever this says */
        return parse_bool(s, line, name, v, &m);
    }
    case KEY_UNIVARIATE: return parse_bool(s, line, name, v, &s->univariate);
    case KEY_DIMENSIONS: return parse_count(s, line, name, v, &s->dims);
    case KEY_EQUAL: return parse_bool(s, line, name, v, &s->equal_length);
    case KEY_LENGTH: return parse_count(s, line, name, v, &s->series_length);
    default: return parse_class_labels(s, line, v, save);
    }
}

static sbt_status header_line(ts_state *s, int line, char *text) {
    char *save = NULL;
    char *key = strtok_r(text, " \t", &save);
    if (strcasecmp(key, "@data") == 0) {
        if (s->univariate == 1 && s->dims > 1)
            return sbt_fail(SBT_ERR_PARSE, "%s:%d: @univariate true contradicts @dimensions %d", s->path,
                            line, s->dims);
        if (s->univariate == 1) s->dims = 1;
        s->in_data = 1;
        return SBT_OK;
    }
    if (strcasecmp(key, "@targetLabel") == 0)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "%s:%d: @targetLabel (regression) is not supported", s->path,
                        line);
    int k = key_index(key);
    if (k < 0) return sbt_fail(SBT_ERR_PARSE, "%s:%d: unknown header key '%.40s'", s->path, line, key);
    if (s->seen & (1u << k))
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: %s given twice", s->path, line, key_names[k]);
    s->seen |= 1u << k;
    char *v = strtok_r(NULL, " \t", &save);
    sbt_status st = header_value(s, line, k, v, &save);
    if (st != SBT_OK || k == KEY_PROBLEM || k == KEY_LABEL) return st;
    if (strtok_r(NULL, " \t", &save))
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: %s takes one value", s->path, line, key_names[k]);
    return SBT_OK;
}

/* ---- labels -------------------------------------------------------------------- */

/* Equal as strings, or as numbers ("1" and "1.0"), since archives mix both spellings. */
static int same_label(const char *a, const char *b) {
    if (strcmp(a, b) == 0) return 1;
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    return ea != a && eb != b && !*ea && !*eb && x == y;
}

static int find_label(char *const *names, int n, const char *label) {
    for (int k = 0; k < n; k++)
        if (same_label(names[k], label)) return k;
    return -1;
}

static sbt_status unknown_label(const ts_state *s, int line, const char *label, char *const *names, int n) {
    char known[256];
    size_t pos = 0;
    known[0] = '\0';
    for (int k = 0; k < n; k++) {
        size_t w = strlen(names[k]) + 1;
        if (pos + w + 4 >= sizeof known) {
            snprintf(known + pos, sizeof known - pos, " ...");
            break;
        }
        pos += (size_t)snprintf(known + pos, sizeof known - pos, "%s%s", k ? " " : "", names[k]);
    }
    return sbt_fail(SBT_ERR_PARSE, "%s:%d: unknown class label '%.40s' (known: %s)", s->path, line, label,
                    known);
}

/* The class index of `label`: checked against the file's own @classLabel list, then
 * mapped to label_ref's classes when reading a TEST file against its TRAIN file. */
static sbt_status map_label(const ts_state *s, int line, const char *label, int *y) {
    int k = find_label(s->labels, s->n_labels, label);
    if (k < 0) return unknown_label(s, line, label, s->labels, s->n_labels);
    if (s->ref) {
        k = find_label(s->ref->class_names, s->ref->n_classes, label);
        if (k < 0) return unknown_label(s, line, label, s->ref->class_names, s->ref->n_classes);
    }
    *y = k;
    return SBT_OK;
}

/* ---- cases --------------------------------------------------------------------- */

static sbt_status reserve_values(ts_state *s, int line, size_t extra) {
    if (s->n_vals + extra <= s->cap_vals) return SBT_OK;
    size_t cap = s->cap_vals ? s->cap_vals : 1 << 16;
    while (cap < s->n_vals + extra) cap *= 2;
    float *v = realloc(s->vals, cap * sizeof *v);
    if (!v) return sbt_fail(SBT_ERR_NOMEM, "%s:%d: out of memory for values", s->path, line);
    s->vals = v;
    s->cap_vals = cap;
    return SBT_OK;
}

/* Parses the values of dimension `d` in [p, end) onto s->vals; *count gets their number. */
static sbt_status parse_dimension(ts_state *s, int line, int d, const char *p, const char *end, int *count) {
    int col = 0;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        while (p < stop && isspace((unsigned char)*p)) p++;
        const char *te = stop;
        while (te > p && isspace((unsigned char)te[-1])) te--;
        col++;
        sbt_status st = reserve_values(s, line, 1);
        if (st != SBT_OK) return st;
        if (te == p)
            return sbt_fail(SBT_ERR_PARSE, "%s:%d: column %d of dimension %d: empty value", s->path, line,
                            col, d);
        float v = NAN;
        if (!((te - p == 1 && *p == '?') || (te - p == 3 && strncasecmp(p, "nan", 3) == 0))) {
            char *e = NULL;
            double x = strtod(p, &e);
            int len = (int)(te - p) < 40 ? (int)(te - p) : 40;
            if (e != te)
                return sbt_fail(SBT_ERR_PARSE, "%s:%d: column %d of dimension %d: '%.*s' is not a number",
                                s->path, line, col, d, len, p);
            if (!isfinite(x) || fabs(x) > FLT_MAX)
                return sbt_fail(SBT_ERR_PARSE,
                                "%s:%d: column %d of dimension %d: '%.*s' is not a finite float", s->path,
                                line, col, d, len, p);
            v = (float)x;
        }
        s->vals[s->n_vals++] = v;
        p = stop + 1;
    }
    *count = col;
    return SBT_OK;
}

/* The number of values every case must have, or 0 when lengths may vary. */
static int required_length(const ts_state *s, const char **why) {
    if (s->equal_length != 0 && s->series_length) {
        *why = "@seriesLength";
        return s->series_length;
    }
    *why = "@equalLength true and the first case";
    return s->equal_length == 1 && s->n > 0 ? s->lens[0] : 0;
}

static sbt_status check_length(const ts_state *s, int line, int d, int count, int len) {
    const char *why = NULL;
    int want = required_length(s, &why);
    if (d > 1 && count != len)
        return sbt_fail(
            SBT_ERR_PARSE,
            "%s:%d: dimension %d has %d values but dimension 1 has %d (dimensions of one case must have "
            "equal lengths)",
            s->path, line, d, count, len);
    if (want && count != want)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: dimension %d has %d values, expected %d (%s)", s->path, line,
                        d, count, want, why);
    return SBT_OK;
}

/* Parses the dimensions part of a case (text without its label) onto s->vals. */
static sbt_status parse_dimensions(ts_state *s, int line, char *text, int ndims, int *len) {
    char *p = text;
    for (int d = 1; d <= ndims; d++) {
        char *colon = strchr(p, ':');
        char *end = colon ? colon : p + strlen(p);
        int count = 0;
        sbt_status st = parse_dimension(s, line, d, p, end, &count);
        if (st == SBT_OK) st = check_length(s, line, d, count, d == 1 ? count : *len);
        if (st != SBT_OK) return st;
        if (d == 1) *len = count;
        if (sbt__fill_missing(s->vals + s->n_vals - count, count, 1) < 0)
            return sbt_fail(SBT_ERR_PARSE, "%s:%d: dimension %d has no values (all missing)", s->path, line,
                            d);
        p = end + 1;
    }
    return SBT_OK;
}

static sbt_status push_case(ts_state *s, int line, int len, int y) {
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 256;
        int *l = realloc(s->lens, (size_t)cap * sizeof *l);
        if (l) s->lens = l;
        int *c = l ? realloc(s->ys, (size_t)cap * sizeof *c) : NULL;
        if (!c) return sbt_fail(SBT_ERR_NOMEM, "%s:%d: out of memory", s->path, line);
        s->ys = c;
        s->cap = cap;
    }
    s->lens[s->n] = len;
    s->ys[s->n] = y;
    s->n++;
    if (len > s->max_len) s->max_len = len;
    return SBT_OK;
}

static int count_char(const char *p, char c) {
    int n = 0;
    for (; *p; p++) n += *p == c;
    return n;
}

/* Splits the label off a labelled case. Returns the label, or NULL when the case has
 * none (no ':' at all, or the last field is a list of values). */
static char *split_label(char *text) {
    char *colon = strrchr(text, ':');
    if (!colon || strchr(colon + 1, ',')) return NULL;
    *colon = '\0';
    char *label = colon + 1;
    while (isspace((unsigned char)*label)) label++;
    char *e = label + strlen(label);
    while (e > label && isspace((unsigned char)e[-1])) *--e = '\0';
    return label;
}

/* One complete case spanning lines first..last; `at_end` when it is the file's last. */
static sbt_status parse_case(ts_state *s, char *text, int first, int last, int at_end) {
    char *label = NULL;
    if (s->labelled) {
        label = split_label(text);
        if (!label && at_end)
            return sbt_fail(SBT_ERR_PARSE, "%s: truncated: line %d ends inside a case (no class label)",
                            s->path, last);
        if (!label) return sbt_fail(SBT_ERR_PARSE, "%s:%d: case has no class label", s->path, first);
        if (!*label) return sbt_fail(SBT_ERR_PARSE, "%s:%d: empty class label", s->path, first);
    }
    int ndims = count_char(text, ':') + 1;
    const char *why = "@dimensions";
    if (s->dims == 0)
        s->dims = ndims;
    else if (!(s->seen & (1u << KEY_DIMENSIONS)))
        why = s->univariate == 1 ? "@univariate true" : "first case";
    if (ndims != s->dims)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: case has %d dimensions, expected %d (%s)", s->path, first,
                        ndims, s->dims, why);
    int len = 0, y = 0;
    sbt_status st = parse_dimensions(s, first, text, ndims, &len);
    if (st == SBT_OK && s->labelled) st = map_label(s, first, label, &y);
    if (st == SBT_OK) st = push_case(s, first, len, y);
    return st;
}

/* ---- assembly ------------------------------------------------------------------ */

static sbt_status set_class_names(sbt_dataset *ds, char *const *names) {
    for (int k = 0; k < ds->n_classes; k++) {
        char *c = strdup(names[k]);
        if (!c) return sbt_fail(SBT_ERR_NOMEM, "out of memory for class names");
        free(ds->class_names[k]);
        ds->class_names[k] = c;
    }
    return SBT_OK;
}

/* Moves the dimension-major cases of s into a (case, time, channel) dataset. */
static sbt_status build_dataset(ts_state *s, sbt_dataset **out) {
    int n_classes = !s->labelled ? 0 : s->ref ? s->ref->n_classes : s->n_labels;
    sbt_dataset *ds = NULL;
    sbt_status st = sbt_dataset_new(s->n, s->dims, s->max_len, n_classes, &ds);
    if (st == SBT_OK && n_classes) st = set_class_names(ds, s->ref ? s->ref->class_names : s->labels);
    if (st != SBT_OK) {
        sbt_dataset_free(ds);
        return st;
    }
    const float *src = s->vals;
    int C = s->dims;
    for (int i = 0; i < s->n; i++) {
        float *xi = ds->x + (size_t)i * ds->length * C;
        int L = s->lens[i];
        for (int c = 0; c < C; c++, src += L)
            for (int t = 0; t < L; t++) xi[(size_t)t * C + c] = src[t];
        ds->len[i] = L;
        if (ds->y) ds->y[i] = s->ys[i];
    }
    *out = ds;
    return SBT_OK;
}

/* ---- driver -------------------------------------------------------------------- */

typedef struct {
    char *buf; /* the case being gathered, possibly over several lines */
    size_t len, cap;
    int first, last; /* its line range */
} pending_case;

static sbt_status pending_append(pending_case *pc, const char *path, const char *text, size_t n, int line) {
    if (pc->len + n + 1 > pc->cap) {
        size_t cap = pc->cap ? pc->cap : 4096;
        while (cap < pc->len + n + 1) cap *= 2;
        char *b = realloc(pc->buf, cap);
        if (!b) return sbt_fail(SBT_ERR_NOMEM, "%s:%d: out of memory for a case", path, line);
        pc->buf = b;
        pc->cap = cap;
    }
    if (pc->len == 0) pc->first = line;
    memcpy(pc->buf + pc->len, text, n);
    pc->len += n;
    pc->buf[pc->len] = '\0';
    pc->last = line;
    return SBT_OK;
}

/* A case continues on the next line while its text so far ends with a separator. */
static int pending_open(const pending_case *pc) {
    return pc->len > 0 && (pc->buf[pc->len - 1] == ',' || pc->buf[pc->len - 1] == ':');
}

/* Handles one data-section line: a complete previous case is parsed first, so that the
 * last case of the file is known to be the last one (truncation is judged there). */
static sbt_status data_line(ts_state *s, pending_case *pc, const char *text, size_t n, int line) {
    if (text[0] == '@') return sbt_fail(SBT_ERR_PARSE, "%s:%d: header line after @data", s->path, line);
    if (pc->len > 0 && !pending_open(pc)) {
        sbt_status st = parse_case(s, pc->buf, pc->first, pc->last, 0);
        if (st != SBT_OK) return st;
        pc->len = 0;
    }
    return pending_append(pc, s->path, text, n, line);
}

static sbt_status read_lines(ts_state *s, sbt__line_reader *r, pending_case *pc) {
    for (;;) {
        int got = 0;
        sbt_status st = sbt__line_reader_next(r, &got);
        if (st != SBT_OK || !got) return st;
        char *t = r->buf, *e = r->buf + r->len;
        while (t < e && isspace((unsigned char)*t)) t++;
        while (e > t && isspace((unsigned char)e[-1])) *--e = '\0';
        if (t == e || *t == '#') continue;
        s->any_line = 1;
        if (s->in_data)
            st = data_line(s, pc, t, (size_t)(e - t), r->line);
        else if (*t == '@')
            st = header_line(s, r->line, t);
        else
            st = sbt_fail(SBT_ERR_PARSE, "%s:%d: unexpected line before @data: '%.40s'", s->path, r->line, t);
        if (st != SBT_OK) return st;
    }
}

static sbt_status finish(ts_state *s, pending_case *pc, int last_line) {
    if (!s->in_data)
        return sbt_fail(SBT_ERR_PARSE, "%s: %s", s->path,
                        s->any_line ? "no @data section" : "empty file (no @data section)");
    if (pending_open(pc))
        return sbt_fail(SBT_ERR_PARSE, "%s: truncated: line %d ends inside a case", s->path, pc->last);
    if (pc->len > 0) {
        sbt_status st = parse_case(s, pc->buf, pc->first, pc->last, 1);
        if (st != SBT_OK) return st;
    }
    if (s->n == 0) return sbt_fail(SBT_ERR_PARSE, "%s: no cases after @data (%d lines)", s->path, last_line);
    /* Read against a training file's classes (a test file), the cases need labels: an
     * unlabelled file would be scored against nothing (fuzz_ts found sbt-eval printing
     * "accuracy nan (-2147483648 of 1 cases)"). */
    if (s->ref && !s->labelled)
        return sbt_fail(
            SBT_ERR_PARSE,
            "%s: no class labels (@classLabel false or missing), but its cases are to be labelled "
            "with the training file's classes",
            s->path);
    return SBT_OK;
}

sbt_status sbt_ts_read(const char *path, const sbt_dataset *label_ref, sbt_dataset **out) {
    *out = NULL;
    if (label_ref && label_ref->n_classes < 1)
        return sbt_fail(SBT_ERR_ARG, "%s: the label reference dataset has no classes", path);
    sbt__line_reader r;
    sbt_status st = sbt__line_reader_open(&r, path, SBT__LINE_DEFAULT);
    if (st != SBT_OK) return st;
    ts_state s;
    memset(&s, 0, sizeof s);
    s.path = path;
    s.ref = label_ref;
    s.univariate = s.equal_length = -1;
    pending_case pc = {0};
    st = read_lines(&s, &r, &pc);
    if (st == SBT_OK) st = finish(&s, &pc, r.line);
    if (st == SBT_OK) st = build_dataset(&s, out);
    free(pc.buf);
    sbt__line_reader_close(&r);
    state_free(&s);
    return st;
}
