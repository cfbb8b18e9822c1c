/* anomaly_data.c - sbt_series and the anomaly dataset readers: SMD (arrays or the official
 * text files), NASA MSL/SMAP (telemanom arrays + labeled_anomalies.csv), labelled CSV tables.
 *
 * The .npy reading itself is in npy.c. Text files (SMD rows, SMD labels, the NASA label CSV)
 * go through the internal gzip line reader (line_reader.c, shared with csv_reader.c), with
 * the options this file always had: no BOM stripping, lines capped below INT_MAX bytes.
 * sbt_csv_read itself cannot be reused here because SMD text files have no header row and
 * the NASA CSV quotes commas inside its fields; sbt_series_read_csv does not use it either,
 * because it fills in missing cells, which anomaly data must not have (the labelled CSV is
 * read with BOM stripping, as sbt_csv_read reads).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/line_reader.h"
#include "sbt/anomaly.h"

/* ---- series ---------------------------------------------------------------------- */

sbt_status sbt_series_new(int64_t steps, int channels, int with_labels, sbt_series **out) {
    *out = NULL;
    if (steps < 1 || channels < 1)
        return sbt_fail(SBT_ERR_ARG, "series: invalid sizes steps=%lld channels=%d", (long long)steps,
                        channels);
    if ((uint64_t)steps > SIZE_MAX / sizeof(float) / (size_t)channels)
        return sbt_fail(SBT_ERR_ARG, "series: %lld x %d values overflow memory", (long long)steps, channels);
    sbt_series *s = calloc(1, sizeof *s);
    if (!s) return sbt_fail(SBT_ERR_NOMEM, "series: out of memory");
    s->steps = steps;
    s->channels = channels;
    s->x = calloc((size_t)steps * (size_t)channels, sizeof *s->x);
    if (with_labels) s->label = calloc((size_t)steps, 1);
    if (!s->x || (with_labels && !s->label)) {
        sbt_series_free(s);
        return sbt_fail(SBT_ERR_NOMEM, "series: out of memory for %lld x %d values", (long long)steps,
                        channels);
    }
    *out = s;
    return SBT_OK;
}

static void free_names(char **names, int n) {
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

void sbt_series_free(sbt_series *s) {
    if (!s) return;
    free_names(s->channel_names, s->channels);
    free(s->x);
    free(s->label);
    free(s);
}

static sbt_status copy_names(sbt_series *s, char *const *names) {
    s->channel_names = calloc((size_t)s->channels, sizeof *s->channel_names);
    if (!s->channel_names) return sbt_fail(SBT_ERR_NOMEM, "series: out of memory");
    for (int c = 0; c < s->channels; c++)
        if (!(s->channel_names[c] = strdup(names[c])))
            return sbt_fail(SBT_ERR_NOMEM, "series: out of memory");
    return SBT_OK;
}

/* Checks that the parts fit together; *labels = 1 when all have labels. */
static sbt_status concat_check(const sbt_series *const *parts, int count, int *labels,
                               const sbt_series **named, int64_t *total) {
    int with = 0;
    *named = NULL;
    *total = 0;
    for (int k = 0; k < count; k++) {
        const sbt_series *p = parts[k];
        if (!p) return sbt_fail(SBT_ERR_ARG, "concat: part %d is NULL", k);
        if (p->channels != parts[0]->channels)
            return sbt_fail(SBT_ERR_SHAPE, "concat: part %d has %d channels, part 0 has %d", k, p->channels,
                            parts[0]->channels);
        if (p->steps > INT64_MAX - *total) return sbt_fail(SBT_ERR_ARG, "concat: too many steps");
        *total += p->steps;
        with += p->label != NULL;
        if (!p->channel_names) continue;
        if (!*named) *named = p;
        for (int c = 0; c < p->channels; c++)
            if (strcmp(p->channel_names[c], (*named)->channel_names[c]) != 0)
                return sbt_fail(SBT_ERR_ARG, "concat: part %d names channel %d '%s', an earlier part '%s'", k,
                                c, p->channel_names[c], (*named)->channel_names[c]);
    }
    if (with != 0 && with != count)
        return sbt_fail(SBT_ERR_ARG, "concat: %d of %d parts have labels (all or none must)", with, count);
    *labels = with == count;
    return SBT_OK;
}

sbt_status sbt_series_concat(const sbt_series *const *parts, int count, int64_t *starts, sbt_series **out) {
    *out = NULL;
    if (!parts || count < 1) return sbt_fail(SBT_ERR_ARG, "concat: no parts");
    int labels = 0;
    int64_t total = 0;
    const sbt_series *named = NULL;
    sbt_status st = concat_check(parts, count, &labels, &named, &total);
    sbt_series *s = NULL;
    if (st == SBT_OK) st = sbt_series_new(total, parts[0]->channels, labels, &s);
    if (st == SBT_OK && named) st = copy_names(s, named->channel_names);
    if (st != SBT_OK) {
        sbt_series_free(s);
        return st;
    }
    int64_t at = 0;
    for (int k = 0; k < count; k++) {
        const sbt_series *p = parts[k];
        if (starts) starts[k] = at;
        memcpy(s->x + (size_t)at * (size_t)s->channels, p->x,
               (size_t)p->steps * (size_t)p->channels * sizeof *p->x);
        if (labels) memcpy(s->label + at, p->label, (size_t)p->steps);
        at += p->steps;
    }
    if (starts) starts[count] = at;
    *out = s;
    return SBT_OK;
}

sbt_status sbt_series_from_table(const sbt_table *t, const char *label_column, sbt_series **out) {
    *out = NULL;
    int li = label_column ? sbt_table_column(t, label_column) : -1;
    if (label_column && li < 0) return sbt_fail(SBT_ERR_ARG, "table: no label column '%s'", label_column);
    int channels = t->cols - (li >= 0);
    if (channels < 1) return sbt_fail(SBT_ERR_ARG, "table: no columns left for channels");
    sbt_series *s = NULL;
    sbt_status st = sbt_series_new(t->rows, channels, li >= 0, &s);
    if (st == SBT_OK) {
        s->channel_names = calloc((size_t)channels, sizeof *s->channel_names);
        if (!s->channel_names) st = sbt_fail(SBT_ERR_NOMEM, "table: out of memory");
    }
    for (int j = 0, c = 0; st == SBT_OK && j < t->cols; j++)
        if (j != li && !(s->channel_names[c++] = strdup(t->col_names[j])))
            st = sbt_fail(SBT_ERR_NOMEM, "table: out of memory");
    for (int r = 0; st == SBT_OK && r < t->rows; r++) {
        const float *row = t->values + (size_t)r * t->cols;
        float *dst = s->x + (size_t)r * channels;
        for (int j = 0, c = 0; j < t->cols; j++)
            if (j != li) dst[c++] = row[j];
        if (li < 0) continue;
        if (row[li] != 0.0f && row[li] != 1.0f)
            st = sbt_fail(SBT_ERR_PARSE, "table: data row %d: label column '%s' holds %g, not 0 or 1", r + 1,
                          label_column, (double)row[li]);
        else
            s->label[r] = row[li] == 1.0f;
    }
    if (st != SBT_OK) {
        sbt_series_free(s);
        return st;
    }
    *out = s;
    return SBT_OK;
}

/* The last error again, prefixed with the file it concerns. */
static sbt_status name_file(sbt_status st, const char *path) {
    char why[512];
    snprintf(why, sizeof why, "%s", sbt_last_error());
    return sbt_fail(st, "%s: %s", path, why);
}

static int blank(const char *p) {
    while (isspace((unsigned char)*p)) p++;
    return !*p;
}

/* One row of comma-separated finite numbers into dst (exactly cols of them). */
static sbt_status parse_number_row(const sbt__line_reader *r, char *line, float *dst, int cols) {
    char *p = line;
    for (int c = 0; c < cols; c++) {
        char *end = NULL;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p)
            return sbt_fail(SBT_ERR_PARSE, "%s:%d: field %d is not a number", r->path, r->line, c + 1);
        if (!isfinite(v) || fabs(v) > FLT_MAX)
            return sbt_fail(SBT_ERR_NUMERIC, "%s:%d: field %d is not a finite float", r->path, r->line,
                            c + 1);
        while (isspace((unsigned char)*end)) end++;
        if (*end != (c + 1 < cols ? ',' : '\0'))
            return sbt_fail(SBT_ERR_PARSE, "%s:%d: field %d: unexpected '%.20s'", r->path, r->line, c + 1,
                            end);
        dst[c] = (float)v;
        p = end + 1;
    }
    return SBT_OK;
}

static int count_fields(const char *line) {
    int n = 1;
    for (; *line; line++) n += *line == ',';
    return n;
}

/* A headerless numeric text file: one comma-separated row per step (the official SMD
 * format). Blank lines are skipped. */
static sbt_status read_text_rows(sbt__line_reader *r, sbt_series **out) {
    int cols = 0;
    int64_t rows = 0, cap = 0;
    float *v = NULL;
    sbt_status st = SBT_OK;
    for (int got = 1; st == SBT_OK;) {
        if ((st = sbt__line_reader_next(r, &got)) != SBT_OK || !got) break;
        if (blank(r->buf)) continue;
        if (!cols) cols = count_fields(r->buf);
        if (rows == cap) {
            cap = cap ? 2 * cap : 4096;
            if ((size_t)cap > SIZE_MAX / sizeof *v / (size_t)cols) {
                st = sbt_fail(SBT_ERR_NOMEM, "%s:%d: too many values", r->path, r->line);
                break;
            }
            float *nv = realloc(v, (size_t)cap * (size_t)cols * sizeof *v);
            if (!nv) {
                st = sbt_fail(SBT_ERR_NOMEM, "%s:%d: out of memory", r->path, r->line);
                break;
            }
            v = nv;
        }
        if (count_fields(r->buf) != cols)
            st = sbt_fail(SBT_ERR_PARSE, "%s:%d: %d fields, expected %d as on the first row", r->path,
                          r->line, count_fields(r->buf), cols);
        else
            st = parse_number_row(r, r->buf, v + (size_t)rows++ * (size_t)cols, cols);
    }
    if (st == SBT_OK && rows == 0) st = sbt_fail(SBT_ERR_PARSE, "%s: no data rows", r->path);
    sbt_series *s = NULL;
    if (st == SBT_OK && (st = sbt_series_new(rows, cols, 0, &s)) != SBT_OK) st = name_file(st, r->path);
    if (st == SBT_OK) memcpy(s->x, v, (size_t)rows * (size_t)cols * sizeof *v);
    free(v);
    *out = s;
    return st;
}

static sbt_status read_text_series(const char *path, sbt_series **out) {
    *out = NULL;
    sbt__line_reader r;
    sbt_status st = sbt__line_reader_open(&r, path, SBT__LINE_INT_MAX_BUF);
    if (st == SBT_OK) st = read_text_rows(&r, out);
    sbt__line_reader_close(&r);
    return st;
}

/* ---- labelled CSV (sbt_series_read_csv) --------------------------------------------- */

typedef struct {
    const char *path;
    int ncols;       /* fields per row */
    int time, label; /* their field indices, or -1 */
    char **names;    /* ncols header names (owned) */
    char **fields;   /* ncols pointers into the current line */
    float *x;        /* rows * channels values so far */
    uint8_t *lab;    /* rows labels so far (when label >= 0) */
    int64_t rows, cap;
} csv_anomaly;

/* Splits line in place at every comma into n fields, each trimmed of blanks and of one pair
 * of surrounding double quotes. */
static void split_cells(char *line, char **fields, int n) {
    char *p = line;
    for (int i = 0; i < n; i++) {
        char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        *end = '\0';
        while (isspace((unsigned char)*p)) p++;
        char *e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1])) *--e = '\0';
        if (e - p >= 2 && *p == '"' && e[-1] == '"') e[-1] = '\0', p++;
        fields[i] = p;
        p = end + 1;
    }
}

static int find_name(const csv_anomaly *c, const char *name) {
    for (int j = 0; name && j < c->ncols; j++)
        if (strcmp(c->names[j], name) == 0) return j;
    return -1;
}

static sbt_status csv_header(csv_anomaly *c, char *line, int lineno, const char *time_column,
                             const char *label_column, unsigned flags) {
    c->ncols = count_fields(line);
    c->names = calloc((size_t)c->ncols, sizeof *c->names);
    c->fields = calloc((size_t)c->ncols, sizeof *c->fields);
    if (!c->names || !c->fields) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", c->path);
    split_cells(line, c->fields, c->ncols);
    for (int j = 0; j < c->ncols; j++)
        if (!(c->names[j] = strdup(c->fields[j])))
            return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", c->path);
    c->time = find_name(c, time_column);
    c->label = find_name(c, label_column);
    if (time_column && c->time < 0)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: no time column '%s' in the header", c->path, lineno,
                        time_column);
    if (label_column && c->label < 0 && !(flags & SBT_CSV_LABEL_OPTIONAL))
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: no label column '%s' in the header", c->path, lineno,
                        label_column);
    if (c->label >= 0 && c->label == c->time)
        return sbt_fail(SBT_ERR_ARG, "%s: the time and label columns are both '%s'", c->path, label_column);
    if (c->ncols - (c->time >= 0) - (c->label >= 0) < 1)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: no channel column in the header", c->path, lineno);
    return SBT_OK;
}

static int csv_channels(const csv_anomaly *c) { return c->ncols - (c->time >= 0) - (c->label >= 0); }

static sbt_status csv_grow(csv_anomaly *c, int lineno) {
    if (c->rows < c->cap) return SBT_OK;
    int64_t cap = c->cap ? 2 * c->cap : 4096;
    size_t ch = (size_t)csv_channels(c);
    if ((uint64_t)cap > SIZE_MAX / sizeof *c->x / ch)
        return sbt_fail(SBT_ERR_NOMEM, "%s:%d: too many values", c->path, lineno);
    float *x = realloc(c->x, (size_t)cap * ch * sizeof *x);
    if (x) c->x = x;
    uint8_t *lab = x && c->label >= 0 ? realloc(c->lab, (size_t)cap) : NULL;
    if (lab) c->lab = lab;
    if (!x || (c->label >= 0 && !lab))
        return sbt_fail(SBT_ERR_NOMEM, "%s:%d: out of memory", c->path, lineno);
    c->cap = cap;
    return SBT_OK;
}

/* One cell as a finite float; a missing value is an error, not something to fill in: a
 * made-up value in an anomaly series (or label) would be scored as if observed. */
static sbt_status csv_cell(const csv_anomaly *c, int lineno, int j, const char *cell, double *out) {
    char *end = NULL;
    double v = *cell ? strtod(cell, &end) : NAN;
    if (*cell && (end == cell || *end))
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: column '%s': '%.40s' is not a number", c->path, lineno,
                        c->names[j], cell);
    if (!isfinite(v) || fabs(v) > FLT_MAX)
        return sbt_fail(SBT_ERR_NUMERIC, "%s:%d: column '%s': %s (missing values are not filled in)", c->path,
                        lineno, c->names[j], !*cell ? "empty cell" : "not a finite float");
    *out = v;
    return SBT_OK;
}

static sbt_status csv_row(csv_anomaly *c, char *line, int lineno) {
    int n = count_fields(line);
    if (n != c->ncols)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: %d fields, expected %d as in the header", c->path, lineno, n,
                        c->ncols);
    sbt_status st = csv_grow(c, lineno);
    if (st != SBT_OK) return st;
    split_cells(line, c->fields, n);
    float *dst = c->x + (size_t)c->rows * (size_t)csv_channels(c);
    for (int j = 0; j < n; j++) {
        double v = 0.0;
        if (j == c->time) continue;
        if ((st = csv_cell(c, lineno, j, c->fields[j], &v)) != SBT_OK) return st;
        if (j != c->label) {
            *dst++ = (float)v;
        } else if (v == 0.0 || v == 1.0) {
            c->lab[c->rows] = v == 1.0;
        } else {
            return sbt_fail(SBT_ERR_PARSE, "%s:%d: label column '%s' holds '%.40s', not 0 or 1", c->path,
                            lineno, c->names[j], c->fields[j]);
        }
    }
    c->rows++;
    return SBT_OK;
}

static sbt_status csv_read_lines(csv_anomaly *c, sbt__line_reader *r, const char *time_column,
                                 const char *label_column, unsigned flags) {
    int have_header = 0;
    for (int got = 1;;) {
        sbt_status st = sbt__line_reader_next(r, &got);
        if (st != SBT_OK) return st;
        if (!got) break;
        if (blank(r->buf)) continue;
        st = have_header ? csv_row(c, r->buf, r->line)
                         : csv_header(c, r->buf, r->line, time_column, label_column, flags);
        if (st != SBT_OK) return st;
        have_header = 1;
    }
    if (!have_header) return sbt_fail(SBT_ERR_PARSE, "%s: empty file (no header row)", c->path);
    if (c->rows == 0) return sbt_fail(SBT_ERR_PARSE, "%s: no data rows after the header", c->path);
    return SBT_OK;
}

/* The series of a fully read file: values, labels and the channel names in file order. */
static sbt_status csv_series(const csv_anomaly *c, sbt_series **out) {
    int ch = csv_channels(c);
    sbt_series *s = NULL;
    sbt_status st = sbt_series_new(c->rows, ch, c->label >= 0, &s);
    if (st != SBT_OK) st = name_file(st, c->path);
    if (st == SBT_OK) {
        memcpy(s->x, c->x, (size_t)c->rows * (size_t)ch * sizeof *s->x);
        if (c->label >= 0) memcpy(s->label, c->lab, (size_t)c->rows);
        char **names = calloc((size_t)ch, sizeof *names);
        for (int j = 0, k = 0; names && j < c->ncols; j++)
            if (j != c->time && j != c->label) names[k++] = c->names[j];
        st = names ? copy_names(s, names) : sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", c->path);
        free(names);
    }
    if (st != SBT_OK) sbt_series_free(s);
    *out = st == SBT_OK ? s : NULL;
    return st;
}

sbt_status sbt_series_read_csv(const char *path, const char *time_column, const char *label_column,
                               unsigned flags, sbt_series **out) {
    *out = NULL;
    csv_anomaly c = {.path = path, .time = -1, .label = -1};
    sbt__line_reader r;
    sbt_status st = sbt__line_reader_open(&r, path, SBT__LINE_DEFAULT | SBT__LINE_INT_MAX_BUF);
    if (st == SBT_OK) st = csv_read_lines(&c, &r, time_column, label_column, flags);
    sbt__line_reader_close(&r);
    if (st == SBT_OK) st = csv_series(&c, out);
    free_names(c.names, c.ncols);
    free(c.fields);
    free(c.x);
    free(c.lab);
    return st;
}

/* ---- file lookup --------------------------------------------------------------------- */

static const char *const array_exts[] = {".npy", ".npy.gz", ".txt", ".txt.gz"};

/* The first of dir/sub/name<ext> that exists (exts[0..n_ext)), into buf; 0 if none. */
static int find_file(const char *dir, const char *sub, const char *name, const char *const *exts, int n_ext,
                     char *buf, size_t cap) {
    for (int k = 0; k < n_ext; k++) {
        int n = snprintf(buf, cap, "%s/%s/%s%s", dir, sub, name, exts[k]);
        if (n > 0 && (size_t)n < cap && access(buf, R_OK) == 0) return 1;
    }
    return 0;
}

static int is_npy(const char *path) {
    size_t n = strlen(path);
    return (n >= 4 && strcmp(path + n - 4, ".npy") == 0) || (n >= 7 && strcmp(path + n - 7, ".npy.gz") == 0);
}

static sbt_status read_array(const char *path, sbt_series **out) {
    return is_npy(path) ? sbt_npy_read(path, 0, out) : read_text_series(path, out);
}

/* ---- entity lists -------------------------------------------------------------------- */

void sbt_entity_list_free(sbt_entity_list *l) {
    if (!l) return;
    free_names(l->names, l->count);
    free_names(l->skipped, l->n_skipped);
    free(l);
}

static sbt_status list_add(char ***arr, int *n, const char *fmt, const char *a, const char *b) {
    char **grown = realloc(*arr, ((size_t)*n + 1) * sizeof **arr);
    if (!grown) return sbt_fail(SBT_ERR_NOMEM, "entity list: out of memory");
    *arr = grown;
    int len = snprintf(NULL, 0, fmt, a, b);
    char *s = len < 0 ? NULL : malloc((size_t)len + 1);
    if (!s) return sbt_fail(SBT_ERR_NOMEM, "entity list: out of memory");
    snprintf(s, (size_t)len + 1, fmt, a, b);
    grown[(*n)++] = s;
    return SBT_OK;
}

/* Natural order: digit runs compare as numbers, so machine-3-2 < machine-3-10. */
static int natural_cmp(const char *a, const char *b) {
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0') a++;
            while (*b == '0') b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la])) la++;
            while (isdigit((unsigned char)b[lb])) lb++;
            if (la != lb) return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c) return c;
            a += la;
            b += lb;
        } else {
            if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int natural_qsort(const void *a, const void *b) {
    return natural_cmp(*(char *const *)a, *(char *const *)b);
}

/* ---- SMD ------------------------------------------------------------------------------- */

static sbt_status read_labels(const char *path, int64_t expect, uint8_t **out) {
    sbt_series *s = NULL;
    sbt_status st = read_text_series(path, &s);
    if (st == SBT_OK && s->channels != 1)
        st = sbt_fail(SBT_ERR_PARSE, "%s: %d values per line, expected one 0/1 label", path, s->channels);
    if (st == SBT_OK && s->steps != expect)
        st = sbt_fail(SBT_ERR_PARSE, "%s: %lld labels for %lld test steps", path, (long long)s->steps,
                      (long long)expect);
    for (int64_t i = 0; st == SBT_OK && i < s->steps; i++)
        if (s->x[i] != 0.0f && s->x[i] != 1.0f)
            st = sbt_fail(SBT_ERR_PARSE, "%s: label %g at data line %lld is not 0 or 1", path,
                          (double)s->x[i], (long long)i + 1);
    uint8_t *lab = st == SBT_OK ? malloc((size_t)expect) : NULL;
    if (st == SBT_OK && !lab) st = sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    for (int64_t i = 0; st == SBT_OK && i < expect; i++) lab[i] = s->x[i] == 1.0f;
    sbt_series_free(s);
    *out = lab;
    return st;
}

/* Reads train and test arrays and checks that their channel counts agree. */
static sbt_status read_pair(const char *train_path, const char *test_path, sbt_series **train,
                            sbt_series **test) {
    sbt_status st = read_array(train_path, train);
    if (st == SBT_OK) st = read_array(test_path, test);
    if (st == SBT_OK && (*train)->channels != (*test)->channels)
        st = sbt_fail(SBT_ERR_SHAPE, "%s has %d channels but %s has %d", train_path, (*train)->channels,
                      test_path, (*test)->channels);
    return st;
}

sbt_status sbt_smd_read(const char *dir, const char *machine, sbt_series **train, sbt_series **test) {
    *train = *test = NULL;
    char ptrain[4096], ptest[4096], plabel[4096];
    if (!find_file(dir, "train", machine, array_exts, 4, ptrain, sizeof ptrain))
        return sbt_fail(SBT_ERR_IO, "%s/train: no %s.npy, .npy.gz, .txt or .txt.gz", dir, machine);
    if (!find_file(dir, "test", machine, array_exts, 4, ptest, sizeof ptest))
        return sbt_fail(SBT_ERR_IO, "%s/test: no %s.npy, .npy.gz, .txt or .txt.gz", dir, machine);
    if (!find_file(dir, "test_label", machine, array_exts + 2, 2, plabel, sizeof plabel))
        return sbt_fail(SBT_ERR_IO, "%s/test_label: no %s.txt or .txt.gz", dir, machine);
    sbt_series *tr = NULL, *te = NULL;
    sbt_status st = read_pair(ptrain, ptest, &tr, &te);
    if (st == SBT_OK) st = read_labels(plabel, te->steps, &te->label);
    if (st != SBT_OK) {
        sbt_series_free(tr);
        sbt_series_free(te);
        return st;
    }
    *train = tr;
    *test = te;
    return SBT_OK;
}

/* Adds to names[] the entity names of the files in dir/sub (extensions stripped). */
static sbt_status scan_dir(const char *dir, const char *sub, char ***names, int *n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (!d) return SBT_OK; /* a missing part shows up as "missing" in skipped */
    sbt_status st = SBT_OK;
    for (struct dirent *e; st == SBT_OK && (e = readdir(d));) {
        size_t len = strlen(e->d_name), stem = 0;
        for (int k = 3; k >= 0 && !stem; k--) {
            size_t el = strlen(array_exts[k]);
            if (len > el && strcmp(e->d_name + len - el, array_exts[k]) == 0) stem = len - el;
        }
        if (!stem || stem >= 256) continue;
        char name[256];
        memcpy(name, e->d_name, stem);
        name[stem] = '\0';
        int dup = 0;
        for (int i = 0; i < *n && !dup; i++) dup = strcmp((*names)[i], name) == 0;
        if (!dup) st = list_add(names, n, "%s%s", name, "");
    }
    closedir(d);
    return st;
}

sbt_status sbt_smd_list(const char *dir, sbt_entity_list **out) {
    *out = NULL;
    sbt_entity_list *l = calloc(1, sizeof *l);
    if (!l) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", dir);
    char **all = NULL;
    int n = 0;
    static const char *const parts[] = {"train", "test", "test_label"};
    sbt_status st = SBT_OK;
    for (int k = 0; k < 3 && st == SBT_OK; k++) st = scan_dir(dir, parts[k], &all, &n);
    if (st == SBT_OK && n == 0)
        st = sbt_fail(SBT_ERR_IO, "%s: no SMD files under train/, test/, test_label/", dir);
    if (all) qsort(all, (size_t)n, sizeof *all, natural_qsort);
    for (int i = 0; i < n && st == SBT_OK; i++) {
        char buf[4096];
        int has[3];
        for (int k = 0; k < 3; k++) /* labels are text only: array_exts + 2 is {.txt, .txt.gz} */
            has[k] = find_file(dir, parts[k], all[i], k < 2 ? array_exts : array_exts + 2, k < 2 ? 4 : 2, buf,
                               sizeof buf);
        if (has[0] && has[1] && has[2])
            st = list_add(&l->names, &l->count, "%s%s", all[i], "");
        else
            st = list_add(&l->skipped, &l->n_skipped, "%s: no %s", all[i],
                          !has[0]   ? "train array"
                          : !has[1] ? "test array"
                                    : "test labels");
    }
    free_names(all, n);
    if (st != SBT_OK) {
        sbt_entity_list_free(l);
        return st;
    }
    *out = l;
    return SBT_OK;
}

/* ---- NASA MSL / SMAP -------------------------------------------------------------------- */

typedef struct {
    char *chan, *craft;
    int64_t *ranges; /* n_ranges inclusive [start, end] pairs */
    int n_ranges;
    int64_t num_values;
    int line;
} nasa_row;

typedef struct {
    nasa_row *rows;
    int n;
    const char *path;
} nasa_csv;

static void nasa_csv_free(nasa_csv *t) {
    for (int i = 0; i < t->n; i++) {
        free(t->rows[i].chan);
        free(t->rows[i].craft);
        free(t->rows[i].ranges);
    }
    free(t->rows);
}

/* Splits a CSV line in place at commas outside double quotes, removing the quotes ("" inside
 * quotes is one quote). Returns the field count, or -1 for more than max fields or an
 * unterminated quote. */
static int split_quoted(char *line, char **fields, int max) {
    char *p = line, *w = line;
    for (int n = 0;; n++) {
        if (n == max) return -1;
        fields[n] = w;
        if (*p == '"') {
            for (p++;; p++) {
                if (!*p) return -1;
                if (*p == '"' && p[1] != '"') break;
                if (*p == '"') p++;
                *w++ = *p;
            }
            p++;
            if (*p && *p != ',') return -1;
        } else {
            while (*p && *p != ',') *w++ = *p++;
        }
        char c = *p;
        *w++ = '\0';
        if (!c) return n + 1;
        p++;
    }
}

static int parse_int64(const char **pp, int64_t *out) {
    const char *p = *pp;
    while (*p == ' ') p++;
    if (*p < '0' || *p > '9') return 0;
    int64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10) return 0;
        v = v * 10 + (*p - '0');
    }
    while (*p == ' ') p++;
    *pp = p;
    *out = v;
    return 1;
}

/* "[[a, b], [c, d], ...]" with 0 <= a <= b < num_values for every pair. */
static sbt_status parse_ranges(const nasa_csv *t, nasa_row *row, const char *text) {
    const char *p = text;
    int cap = 0;
    while (*p == ' ') p++;
    if (*p++ != '[') goto bad;
    while (*p == ' ') p++;
    while (*p == '[') {
        int64_t a, b;
        p++;
        if (!parse_int64(&p, &a) || *p++ != ',' || !parse_int64(&p, &b) || *p++ != ']') goto bad;
        if (a > b || b >= row->num_values)
            return sbt_fail(SBT_ERR_PARSE, "%s:%d: anomaly range [%lld, %lld] outside 0..num_values-1 = %lld",
                            t->path, row->line, (long long)a, (long long)b, (long long)row->num_values - 1);
        if (row->n_ranges == cap) {
            cap = cap ? 2 * cap : 8;
            int64_t *g = realloc(row->ranges, (size_t)cap * 2 * sizeof *g);
            if (!g) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", t->path);
            row->ranges = g;
        }
        row->ranges[2 * row->n_ranges] = a;
        row->ranges[2 * row->n_ranges++ + 1] = b;
        while (*p == ' ') p++;
        if (*p == ',') p++;
        while (*p == ' ') p++;
    }
    if (*p++ != ']') goto bad;
    while (*p == ' ') p++;
    if (!*p) return SBT_OK;
bad:
    return sbt_fail(SBT_ERR_PARSE, "%s:%d: anomaly_sequences '%.60s' is not a list of [start, end] pairs",
                    t->path, row->line, text);
}

enum { COL_CHAN, COL_CRAFT, COL_SEQ, COL_NUM, N_NASA_COLS };
static const char *const nasa_cols[N_NASA_COLS] = {"chan_id", "spacecraft", "anomaly_sequences",
                                                   "num_values"};

static sbt_status nasa_header(const nasa_csv *t, char **f, int nf, int *idx) {
    for (int k = 0; k < N_NASA_COLS; k++) {
        idx[k] = -1;
        for (int j = 0; j < nf && idx[k] < 0; j++)
            if (strcmp(f[j], nasa_cols[k]) == 0) idx[k] = j;
        if (idx[k] < 0)
            return sbt_fail(SBT_ERR_PARSE, "%s:1: no column '%s' in the header", t->path, nasa_cols[k]);
    }
    return SBT_OK;
}

static sbt_status nasa_row_parse(nasa_csv *t, char **f, const int *idx, int line) {
    nasa_row *g = realloc(t->rows, ((size_t)t->n + 1) * sizeof *g);
    if (!g) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", t->path);
    t->rows = g;
    nasa_row *row = &t->rows[t->n++];
    memset(row, 0, sizeof *row);
    row->line = line;
    row->chan = strdup(f[idx[COL_CHAN]]);
    row->craft = strdup(f[idx[COL_CRAFT]]);
    if (!row->chan || !row->craft) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", t->path);
    if (!*row->chan) return sbt_fail(SBT_ERR_PARSE, "%s:%d: empty chan_id", t->path, line);
    const char *p = f[idx[COL_NUM]];
    if (!parse_int64(&p, &row->num_values) || *p || row->num_values < 1)
        return sbt_fail(SBT_ERR_PARSE, "%s:%d: num_values '%.30s' is not a positive integer", t->path, line,
                        f[idx[COL_NUM]]);
    return parse_ranges(t, row, f[idx[COL_SEQ]]);
}

static sbt_status nasa_csv_load(const char *path, nasa_csv *t) {
    memset(t, 0, sizeof *t);
    t->path = path;
    sbt__line_reader r;
    sbt_status st = sbt__line_reader_open(&r, path, SBT__LINE_INT_MAX_BUF);
    int idx[N_NASA_COLS], nf = 0, have_header = 0;
    char *f[32];
    for (int got = 1; st == SBT_OK;) {
        if ((st = sbt__line_reader_next(&r, &got)) != SBT_OK || !got) break;
        if (blank(r.buf)) continue;
        int n = split_quoted(r.buf, f, 32);
        if (n < 0) {
            st = sbt_fail(SBT_ERR_PARSE, "%s:%d: bad quoting or too many fields", path, r.line);
        } else if (!have_header) {
            st = nasa_header(t, f, n, idx);
            nf = n;
            have_header = 1;
        } else if (n != nf) {
            st = sbt_fail(SBT_ERR_PARSE, "%s:%d: %d fields, the header has %d", path, r.line, n, nf);
        } else {
            st = nasa_row_parse(t, f, idx, r.line);
        }
    }
    if (st == SBT_OK && t->n == 0) st = sbt_fail(SBT_ERR_PARSE, "%s: no channel rows", path);
    sbt__line_reader_close(&r);
    if (st != SBT_OK) nasa_csv_free(t);
    return st;
}

static const nasa_row *nasa_find(const nasa_csv *t, const char *chan) {
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].chan, chan) == 0) return &t->rows[i];
    return NULL;
}

static sbt_status nasa_read_channel(const char *dir, const nasa_csv *t, const char *spacecraft,
                                    const char *channel, sbt_series **train, sbt_series **test) {
    const nasa_row *row = nasa_find(t, channel);
    if (!row) return sbt_fail(SBT_ERR_ARG, "%s: no row for channel '%s'", t->path, channel);
    if (strcmp(row->craft, spacecraft) != 0)
        return sbt_fail(SBT_ERR_ARG, "%s:%d: channel %s belongs to %s, not %s", t->path, row->line, channel,
                        row->craft, spacecraft);
    char ptrain[4096], ptest[4096];
    if (!find_file(dir, "train", channel, array_exts, 2, ptrain, sizeof ptrain))
        return sbt_fail(SBT_ERR_IO, "%s/train: no %s.npy or .npy.gz", dir, channel);
    if (!find_file(dir, "test", channel, array_exts, 2, ptest, sizeof ptest))
        return sbt_fail(SBT_ERR_IO, "%s/test: no %s.npy or .npy.gz", dir, channel);
    sbt_status st = read_pair(ptrain, ptest, train, test);
    if (st != SBT_OK) return st;
    if ((*test)->steps != row->num_values)
        return sbt_fail(SBT_ERR_SHAPE, "%s:%d: num_values %lld but %s has %lld steps", t->path, row->line,
                        (long long)row->num_values, ptest, (long long)(*test)->steps);
    if (!((*test)->label = calloc((size_t)(*test)->steps, 1)))
        return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", ptest);
    for (int k = 0; k < row->n_ranges; k++)
        for (int64_t i = row->ranges[2 * k]; i <= row->ranges[2 * k + 1]; i++) (*test)->label[i] = 1;
    return SBT_OK;
}

sbt_status sbt_nasa_read(const char *dir, const char *labels_csv, const char *spacecraft, const char *channel,
                         sbt_series **train, sbt_series **test) {
    *train = *test = NULL;
    nasa_csv t;
    sbt_status st = nasa_csv_load(labels_csv, &t);
    if (st != SBT_OK) return st;
    st = nasa_read_channel(dir, &t, spacecraft, channel, train, test);
    nasa_csv_free(&t);
    if (st != SBT_OK) {
        sbt_series_free(*train);
        sbt_series_free(*test);
        *train = *test = NULL;
    }
    return st;
}

/* Row i of the spacecraft goes to l->names, or to l->skipped with the reason. */
static sbt_status nasa_list_row(const char *dir, const nasa_csv *t, int i, unsigned flags,
                                sbt_entity_list *l) {
    const nasa_row *row = &t->rows[i];
    const nasa_row *first = nasa_find(t, row->chan);
    int copies = 0;
    for (int j = 0; j < t->n; j++) copies += strcmp(t->rows[j].chan, row->chan) == 0;
    char why[160], buf[4096];
    if (first != row) {
        if (flags & SBT_NASA_DROP_DUPLICATED) return SBT_OK; /* reported once, at its first row */
        snprintf(why, sizeof why, "repeated row (line %d; the row of line %d is used)", row->line,
                 first->line);
    } else if (copies > 1 && (flags & SBT_NASA_DROP_DUPLICATED)) {
        snprintf(why, sizeof why, "%d rows in the CSV (dropped with SBT_NASA_DROP_DUPLICATED)", copies);
    } else if (!find_file(dir, "train", row->chan, array_exts, 2, buf, sizeof buf)) {
        snprintf(why, sizeof why, "no train array under %s/train", dir);
    } else if (!find_file(dir, "test", row->chan, array_exts, 2, buf, sizeof buf)) {
        snprintf(why, sizeof why, "no test array under %s/test", dir);
    } else {
        return list_add(&l->names, &l->count, "%s%s", row->chan, "");
    }
    return list_add(&l->skipped, &l->n_skipped, "%s: %s", row->chan, why);
}

sbt_status sbt_nasa_list(const char *dir, const char *labels_csv, const char *spacecraft, unsigned flags,
                         sbt_entity_list **out) {
    *out = NULL;
    nasa_csv t;
    sbt_status st = nasa_csv_load(labels_csv, &t);
    if (st != SBT_OK) return st;
    sbt_entity_list *l = calloc(1, sizeof *l);
    if (!l) st = sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", labels_csv);
    int rows = 0;
    for (int i = 0; i < t.n && st == SBT_OK; i++)
        if (strcmp(t.rows[i].craft, spacecraft) == 0) {
            rows++;
            st = nasa_list_row(dir, &t, i, flags, l);
        }
    if (st == SBT_OK && rows == 0)
        st = sbt_fail(SBT_ERR_ARG, "%s: no channel of spacecraft '%s'", labels_csv, spacecraft);
    nasa_csv_free(&t);
    if (st != SBT_OK) {
        sbt_entity_list_free(l);
        return st;
    }
    *out = l;
    return SBT_OK;
}
