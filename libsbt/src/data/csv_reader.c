/* csv_reader.c - numeric CSV tables (plain or gzip, LF or CRLF) and their conversion to
 * a labelled dataset.
 *
 * The forecasting files are "date,v1,v2,..." with a header row; the date column is kept
 * as text (row_keys) and every other cell must be a number. An empty or NaN cell is an
 * error naming the first one and the count, unless SBT_CSV_FILL_LINEAR asks for linear
 * interpolation down its column (then t->filled says how many per column): a value made
 * up without a word changes what a model is trained and measured on. Quoting is limited
 * to stripping a pair of surrounding double quotes: none of the supported files quotes a
 * comma.
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

/* ---- helpers ------------------------------------------------------------------- */

static int count_char(const char *p, char c) {
    int n = 0;
    for (; *p; p++) n += *p == c;
    return n;
}

/* Splits `line` in place at commas into exactly n fields, each trimmed of whitespace and
 * of one pair of surrounding double quotes. */
static void split_fields(char *line, char **fields, int n) {
    char *p = line;
    for (int i = 0; i < n; i++) {
        char *comma = strchr(p, ',');
        char *end = comma ? comma : p + strlen(p);
        *end = '\0';
        while (isspace((unsigned char)*p)) p++;
        char *e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1])) *--e = '\0';
        if (e - p >= 2 && *p == '"' && e[-1] == '"') {
            e[-1] = '\0';
            p++;
        }
        fields[i] = p;
        p = end + 1;
    }
}

/* ---- reading ------------------------------------------------------------------- */

typedef struct {
    const char *path;
    int ncols;     /* fields per row in the file */
    int skip;      /* index of skip_column among them, or -1 */
    char **fields; /* ncols pointers into the current line */
    char **names;  /* ncols header names */
    size_t cap_rows;
    int64_t *missing;        /* per table column: empty or NaN cells */
    int64_t n_missing;       /* all of them */
    int first_line, first_j; /* the first one: line and field index */
} csv_state;

void sbt_table_free(sbt_table *t) {
    if (!t) return;
    for (int j = 0; j < t->cols; j++) free(t->col_names[j]);
    if (t->row_keys)
        for (int i = 0; i < t->rows; i++) free(t->row_keys[i]);
    free(t->col_names);
    free(t->row_keys);
    free(t->values);
    free(t->filled);
    free(t);
}

int sbt_table_column(const sbt_table *t, const char *name) {
    for (int j = 0; name && j < t->cols; j++)
        if (strcmp(t->col_names[j], name) == 0) return j;
    return -1;
}

static sbt_status parse_header(csv_state *s, sbt_table *t, char *line, int lineno, const char *skip_column) {
    s->ncols = count_char(line, ',') + 1;
    s->fields = calloc((size_t)s->ncols, sizeof *s->fields);
    t->col_names = calloc((size_t)s->ncols, sizeof *t->col_names);
    if (!s->fields || !t->col_names) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", s->path);
    split_fields(line, s->fields, s->ncols);
    s->skip = -1;
    for (int j = 0; j < s->ncols; j++) {
        if (skip_column && s->skip < 0 && strcmp(s->fields[j], skip_column) == 0) {
            s->skip = j;
            continue;
        }
        if (!(t->col_names[t->cols] = strdup(s->fields[j])))
            return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", s->path);
        t->cols++;
    }
    if (skip_column && s->skip < 0)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: no column named '%s' in the header", s->path, lineno,
                        skip_column);
    if (t->cols == 0) return sbt_fail(SBT_ERR_PARSE, "%s:%d: no numeric columns", s->path, lineno);
    /* Error messages name columns by their header name, kept in file order. */
    s->names = calloc((size_t)s->ncols, sizeof *s->names);
    s->missing = calloc((size_t)t->cols, sizeof *s->missing);
    if (!s->names || !s->missing) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", s->path);
    for (int j = 0, k = 0; j < s->ncols; j++)
        s->names[j] = j == s->skip ? (char *)skip_column : t->col_names[k++];
    return SBT_OK;
}

static sbt_status grow_rows(csv_state *s, sbt_table *t, int lineno) {
    if ((size_t)t->rows < s->cap_rows) return SBT_OK;
    if (t->rows == INT_MAX) return sbt_fail(SBT_ERR_PARSE, "%s:%d: too many rows", s->path, lineno);
    size_t cap = s->cap_rows ? 2 * s->cap_rows : 1024;
    float *v = realloc(t->values, cap * (size_t)t->cols * sizeof *v);
    if (v) t->values = v;
    char **k = NULL;
    if (v && s->skip >= 0) {
        k = realloc(t->row_keys, cap * sizeof *k);
        if (k) t->row_keys = k;
    }
    if (!v || (s->skip >= 0 && !k)) return sbt_fail(SBT_ERR_NOMEM, "%s:%d: out of memory", s->path, lineno);
    s->cap_rows = cap;
    return SBT_OK;
}

static sbt_status parse_cell(const csv_state *s, int lineno, int j, const char *cell, float *out) {
    if (!*cell || strcasecmp(cell, "nan") == 0) {
        *out = NAN;
        return SBT_OK;
    }
    char *end = NULL;
    double x = strtod(cell, &end);
    if (*end || end == cell)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: column '%s': '%.40s' is not a number", s->path, lineno,
                        s->names[j], cell);
    if (!isfinite(x) || fabs(x) > FLT_MAX)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: column '%s': '%.40s' is not a finite float", s->path, lineno,
                        s->names[j], cell);
    *out = (float)x;
    return SBT_OK;
}

static sbt_status parse_row(csv_state *s, sbt_table *t, char *line, int lineno) {
    int n = count_char(line, ',') + 1;
    if (n != s->ncols)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: %d fields, expected %d as in the header", s->path, lineno, n,
                        s->ncols);
    sbt_status st = grow_rows(s, t, lineno);
    if (st != SBT_OK) return st;
    split_fields(line, s->fields, n);
    float *row = t->values + (size_t)t->rows * t->cols;
    for (int j = 0, k = 0; j < n; j++) {
        if (j == s->skip) continue;
        if ((st = parse_cell(s, lineno, j, s->fields[j], &row[k])) != SBT_OK) return st;
        if (isnan(row[k])) {
            if (!s->n_missing++) s->first_line = lineno, s->first_j = j;
            s->missing[k]++;
        }
        k++;
    }
    if (s->skip >= 0) {
        t->row_keys[t->rows] = strdup(s->fields[s->skip]);
        if (!t->row_keys[t->rows]) return sbt_fail(SBT_ERR_NOMEM, "%s:%d: out of memory", s->path, lineno);
    }
    t->rows++;
    return SBT_OK;
}

/* Missing cells: an error naming the first and the count, or filled (SBT_CSV_FILL_LINEAR),
 * counted per column in t->filled. */
static sbt_status missing_cells(csv_state *s, sbt_table *t, unsigned flags) {
    if (s->n_missing && !(flags & SBT_CSV_FILL_LINEAR)) {
        int cols_with = 0;
        for (int j = 0; j < t->cols; j++) cols_with += s->missing[j] > 0;
        return sbt_fail(SBT_ERR_NUMERIC,
                        "%s:%d: column '%s': empty or NaN cell; %lld such cells in %d column%s of the file "
                        "(nothing is filled in unless asked: --fill linear)",
                        s->path, s->first_line, s->names[s->first_j], (long long)s->n_missing, cols_with,
                        cols_with == 1 ? "" : "s");
    }
    for (int j = 0; j < t->cols; j++)
        if (s->missing[j] && sbt__fill_missing(t->values + j, t->rows, (size_t)t->cols) < 0)
            return sbt_fail(SBT_ERR_PARSE, "%s: column '%s' has no values (all missing)", s->path,
                            t->col_names[j]);
    if (flags & SBT_CSV_FILL_LINEAR) {
        t->filled = s->missing;
        s->missing = NULL;
    }
    return SBT_OK;
}

static sbt_status read_table(csv_state *s, sbt_table *t, sbt__line_reader *r, const char *skip_column,
                             unsigned flags) {
    int have_header = 0;
    for (;;) {
        int got = 0;
        sbt_status st = sbt__line_reader_next(r, &got);
        if (st != SBT_OK) return st;
        if (!got) break;
        const char *p = r->buf;
        while (isspace((unsigned char)*p)) p++;
        if (!*p) continue; /* blank lines, typically at the end */
        if (!have_header)
            st = parse_header(s, t, r->buf, r->line, skip_column);
        else
            st = parse_row(s, t, r->buf, r->line);
        if (st != SBT_OK) return st;
        have_header = 1;
    }
    if (!have_header) return sbt_fail(SBT_ERR_PARSE, "%s: empty file (no header row)", s->path);
    if (t->rows == 0) return sbt_fail(SBT_ERR_PARSE, "%s: no data rows after the header", s->path);
    return missing_cells(s, t, flags);
}

sbt_status sbt_csv_read(const char *path, const char *skip_column, sbt_table **out) {
    return sbt_csv_read_flags(path, skip_column, 0, out);
}

sbt_status sbt_csv_read_flags(const char *path, const char *skip_column, unsigned flags, sbt_table **out) {
    *out = NULL;
    sbt__line_reader r;
    sbt_status st = sbt__line_reader_open(&r, path, SBT__LINE_DEFAULT);
    if (st != SBT_OK) return st;
    sbt_table *t = calloc(1, sizeof *t);
    csv_state s = {.path = path, .skip = -1};
    st = t ? read_table(&s, t, &r, skip_column, flags) : sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    sbt__line_reader_close(&r);
    free(s.fields);
    free(s.names);
    free(s.missing);
    if (st != SBT_OK) {
        sbt_table_free(t);
        return st;
    }
    *out = t;
    return SBT_OK;
}

/* ---- table to dataset ---------------------------------------------------------- */

/* A label value as text, the way class names print: 3 -> "3", 0.5 -> "0.5". */
static void label_text(float v, char *buf, size_t cap) { snprintf(buf, cap, "%.9g", (double)v); }

static int label_matches(const char *name, float v) {
    char buf[32], *end = NULL;
    label_text(v, buf, sizeof buf);
    if (strcmp(name, buf) == 0) return 1;
    double x = strtod(name, &end);
    return end != name && !*end && (float)x == v;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Case boundaries (runs of equal case values) and a label check per case. */
static sbt_status scan_cases(const sbt_table *t, int ci, int li, int *n_cases, int *max_len) {
    int n = 0, run = 0;
    *max_len = 0;
    for (int r = 0; r < t->rows; r++) {
        const float *row = t->values + (size_t)r * t->cols;
        int same = r > 0 && row[ci] == row[ci - t->cols];
        if (same && li >= 0 && row[li] != row[li - t->cols])
            return sbt_fail(SBT_ERR_PARSE, "table: data row %d: label %g differs from %g earlier in case %g",
                            r + 1, (double)row[li], (double)row[li - t->cols], (double)row[ci]);
        run = same ? run + 1 : 1;
        n += !same;
        if (run > *max_len) *max_len = run;
    }
    *n_cases = n;
    return SBT_OK;
}

/* Class names: the sorted distinct label values, or label_ref's classes. */
static sbt_status table_classes(const sbt_table *t, int li, const sbt_dataset *ref, float **uniq,
                                int *n_uniq) {
    float *u = malloc(((size_t)t->rows + 1) * sizeof *u);
    if (!u) return sbt_fail(SBT_ERR_NOMEM, "table: out of memory");
    for (int r = 0; r < t->rows; r++) u[r] = t->values[(size_t)r * t->cols + li];
    qsort(u, (size_t)t->rows, sizeof *u, cmp_float);
    int n = 0;
    for (int r = 0; r < t->rows; r++)
        if (n == 0 || u[r] != u[n - 1]) u[n++] = u[r];
    *uniq = u;
    *n_uniq = n;
    for (int k = 0; ref && k < n; k++) {
        int found = 0;
        for (int j = 0; j < ref->n_classes && !found; j++) found = label_matches(ref->class_names[j], u[k]);
        if (!found) return sbt_fail(SBT_ERR_PARSE, "table: unknown class label '%g'", (double)u[k]);
    }
    return SBT_OK;
}

static int class_of(float v, const sbt_dataset *ref, const float *uniq, int n_uniq) {
    if (ref) {
        for (int j = 0; j < ref->n_classes; j++)
            if (label_matches(ref->class_names[j], v)) return j;
        return -1;
    }
    for (int k = 0; k < n_uniq; k++)
        if (uniq[k] == v) return k;
    return -1;
}

static sbt_status name_classes(sbt_dataset *ds, const sbt_dataset *ref, const float *uniq) {
    for (int k = 0; k < ds->n_classes; k++) {
        char buf[32];
        if (!ref) label_text(uniq[k], buf, sizeof buf);
        char *c = strdup(ref ? ref->class_names[k] : buf);
        if (!c) return sbt_fail(SBT_ERR_NOMEM, "table: out of memory");
        free(ds->class_names[k]);
        ds->class_names[k] = c;
    }
    return SBT_OK;
}

static void fill_cases(const sbt_table *t, int ci, int li, const sbt_dataset *ref, const float *uniq,
                       int n_uniq, sbt_dataset *ds) {
    int i = -1, step = 0;
    for (int r = 0; r < t->rows; r++) {
        const float *row = t->values + (size_t)r * t->cols;
        if (r == 0 || row[ci] != row[ci - t->cols]) {
            i++;
            step = 0;
            if (ds->y) ds->y[i] = class_of(row[li], ref, uniq, n_uniq);
        }
        float *dst = ds->x + ((size_t)i * ds->length + (size_t)step) * ds->channels;
        for (int j = 0, c = 0; j < t->cols; j++)
            if (j != ci && j != li) dst[c++] = row[j];
        ds->len[i] = ++step;
    }
}

sbt_status sbt_table_to_dataset(const sbt_table *t, const char *case_column, const char *label_column,
                                const sbt_dataset *label_ref, sbt_dataset **out) {
    *out = NULL;
    int ci = sbt_table_column(t, case_column);
    int li = label_column ? sbt_table_column(t, label_column) : -1;
    if (ci < 0)
        return sbt_fail(SBT_ERR_ARG, "table: no case column '%s'", case_column ? case_column : "(null)");
    if (label_column && li < 0) return sbt_fail(SBT_ERR_ARG, "table: no label column '%s'", label_column);
    if (li == ci) return sbt_fail(SBT_ERR_ARG, "table: the case and label columns are the same");
    int channels = t->cols - 1 - (li >= 0);
    if (channels < 1) return sbt_fail(SBT_ERR_ARG, "table: no columns left for channels");
    int n = 0, max_len = 0, n_uniq = 0;
    float *uniq = NULL;
    sbt_status st = scan_cases(t, ci, li, &n, &max_len);
    if (st == SBT_OK && li >= 0) st = table_classes(t, li, label_ref, &uniq, &n_uniq);
    int n_classes = li < 0 ? 0 : label_ref ? label_ref->n_classes : n_uniq;
    sbt_dataset *ds = NULL;
    if (st == SBT_OK) st = sbt_dataset_new(n, channels, max_len > 0 ? max_len : 1, n_classes, &ds);
    if (st == SBT_OK && n_classes) st = name_classes(ds, label_ref, uniq);
    if (st == SBT_OK) fill_cases(t, ci, li, label_ref, uniq, n_uniq, ds);
    free(uniq);
    if (st != SBT_OK) {
        sbt_dataset_free(ds);
        return st;
    }
    *out = ds;
    return SBT_OK;
}
