/* Reading result JSON (grid results, Google Benchmark files, packed sizes) into plain
 * records, checking every field's type on the way. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"
#include "sbt/gbench.h"

#define MAX_FILE_BYTES (64L << 20)

sbt_status sbt_report_new(sbt_report **out) {
    *out = calloc(1, sizeof **out);
    return *out ? SBT_OK : sbt_fail(SBT_ERR_NOMEM, "report: out of memory");
}

void sbt_report_free(sbt_report *r) {
    if (!r) return;
    free(r->grid);
    free(r->bench);
    free(r->packed);
    free(r->inputs);
    free(r);
}

void sbt_report_counts(const sbt_report *r, int *grid_rows, int *bench_runs, int *packed_sizes) {
    if (grid_rows) *grid_rows = r->n_grid;
    if (bench_runs) *bench_runs = r->n_bench;
    if (packed_sizes) *packed_sizes = r->n_packed;
}

/* Grows an array of `size`-byte items to hold one more; returns the new item or NULL. */
static void *grow(void **items, int *n, int *cap, size_t size) {
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 16;
        void *p = realloc(*items, (size_t)c * size);
        if (!p) return NULL;
        *items = p, *cap = c;
    }
    void *item = (char *)*items + (size_t)(*n)++ * size;
    memset(item, 0, size);
    return item;
}

static void copy(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src ? src : ""); }

static sbt_status bad(const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static sbt_status bad(const char *name, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sbt_fail(SBT_ERR_PARSE, "%s: %s", name, msg);
}

static const char *str_field(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int num_field(const cJSON *o, const char *key, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return -1;
    *out = v->valuedouble;
    return 0;
}

static double num_or_nan(const cJSON *o, const char *key) {
    double v;
    return num_field(o, key, &v) ? NAN : v;
}

/* ---- grid results ---------------------------------------------------------------------- */

/* {mean, std, values: [..]} of one row's metric. */
static sbt_status read_metric(const char *name, int i, const cJSON *m, rpt_grid_row *row) {
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(m, "values");
    if (!cJSON_IsObject(m) || num_field(m, "mean", &row->mean) || !cJSON_IsArray(values))
        return bad(name, "rows[%d].%s: expected {mean, std, values: [...]}", i, row->metric);
    if (num_field(m, "std", &row->std)) row->std = 0.0;
    row->lo = row->hi = row->mean;
    const cJSON *v;
    cJSON_ArrayForEach(v, values) {
        if (!cJSON_IsNumber(v)) return bad(name, "rows[%d].%s.values: a non-number", i, row->metric);
        row->lo = fmin(row->lo, v->valuedouble), row->hi = fmax(row->hi, v->valuedouble), row->n++;
    }
    return SBT_OK;
}

static sbt_status read_grid(sbt_report *r, const char *name, const cJSON *doc) {
    const char *task = str_field(doc, "task"), *metric = str_field(doc, "main_metric");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "rows"), *row;
    if (!task || !metric || !cJSON_IsArray(rows))
        return bad(name, "grid results need \"task\", \"main_metric\" (strings) and \"rows\" (an array)");
    int i = 0;
    cJSON_ArrayForEach(row, rows) {
        const char *dataset = str_field(row, "dataset"), *model = str_field(row, "model"),
                   *attn = str_field(row, "attention");
        double keep;
        if (!dataset || !model || !attn || num_field(row, "keep", &keep) || keep <= 0 || keep > 1)
            return bad(name, "rows[%d]: needs dataset, model, attention (strings) and keep in (0, 1]", i);
        rpt_grid_row *g = grow((void **)&r->grid, &r->n_grid, &r->cap_grid, sizeof *g);
        if (!g) return sbt_fail(SBT_ERR_NOMEM, "report: out of memory");
        copy(g->source, sizeof g->source, name), copy(g->task, sizeof g->task, task);
        copy(g->dataset, sizeof g->dataset, dataset), copy(g->model, sizeof g->model, model);
        copy(g->attention, sizeof g->attention, attn), copy(g->metric, sizeof g->metric, metric);
        g->keep = keep;
        sbt_status st = read_metric(name, i, cJSON_GetObjectItemCaseSensitive(row, metric), g);
        if (st) {
            r->n_grid--;
            return st;
        }
        i++;
    }
    return SBT_OK;
}

/* ---- Google Benchmark ------------------------------------------------------------------ */

static double to_microseconds(double t, const char *unit) {
    if (!unit || !strcmp(unit, "ns")) return t * 1e-3;
    if (!strcmp(unit, "us")) return t;
    if (!strcmp(unit, "ms")) return t * 1e3;
    return t * 1e6; /* "s" */
}

/* A count read from a file, as an int in [1, 2^20] (1 for anything else). */
static double clamp_count(double v) { return v >= 1 && v <= (1 << 20) ? floor(v) : 1; }

/* "impl/model/attn:X/batch:B/threads:T" (ours and the peers'); unknown parts stay empty. */
static void parse_run_name(const char *run, rpt_bench_run *b) {
    char buf[256];
    copy(buf, sizeof buf, run);
    int part = 0;
    b->batch = 1;
    for (char *save = NULL, *tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save), part++) {
        if (!strncmp(tok, "attn:", 5))
            copy(b->attention, sizeof b->attention, tok + 5);
        else if (!strncmp(tok, "batch:", 6))
            b->batch = atoi(tok + 6) > 0 ? atoi(tok + 6) : 1;
        else if (part == 0)
            copy(b->impl, sizeof b->impl, tok);
        else if (part == 1)
            copy(b->model, sizeof b->model, tok);
    }
}

static rpt_bench_run *find_run(sbt_report *r, const char *source, const char *run_name) {
    for (int i = 0; i < r->n_bench; i++)
        if (!strcmp(r->bench[i].run_name, run_name) && !strcmp(r->bench[i].source, source))
            return &r->bench[i];
    return NULL;
}

/* The repetitions of one run: their real times (us) for its median and cv. */
static sbt_status collect_times(const char *name, const cJSON *benchmarks, const char *run_name,
                                double **times, int *n) {
    const cJSON *e;
    *n = 0;
    int cap = cJSON_GetArraySize(benchmarks);
    *times = malloc((size_t)(cap > 0 ? cap : 1) * sizeof **times);
    if (!*times) return sbt_fail(SBT_ERR_NOMEM, "report: out of memory");
    cJSON_ArrayForEach(e, benchmarks) {
        const char *rn = str_field(e, "run_name"), *type = str_field(e, "run_type");
        double t;
        if (!rn || strcmp(rn, run_name) || (type && strcmp(type, "iteration"))) continue;
        if (num_field(e, "real_time", &t)) return bad(name, "%s: real_time is not a number", run_name);
        (*times)[(*n)++] = to_microseconds(t, str_field(e, "time_unit"));
    }
    return SBT_OK;
}

static sbt_status add_run(sbt_report *r, const char *name, const cJSON *benchmarks, const cJSON *e) {
    const char *run_name = str_field(e, "run_name");
    if (!run_name) run_name = str_field(e, "name");
    if (!run_name) return bad(name, "a benchmark without \"name\"");
    if (find_run(r, name, run_name)) return SBT_OK;
    double *times = NULL;
    int n = 0;
    sbt_status st = collect_times(name, benchmarks, run_name, &times, &n);
    rpt_bench_run *b = st || !n ? NULL : grow((void **)&r->bench, &r->n_bench, &r->cap_bench, sizeof *b);
    if (!st && n && !b) st = sbt_fail(SBT_ERR_NOMEM, "report: out of memory");
    if (b) {
        copy(b->source, sizeof b->source, name), copy(b->run_name, sizeof b->run_name, run_name);
        parse_run_name(run_name, b);
        sbt_stats s = sbt_stats_of(times, n);
        b->median_us = s.median, b->cv = s.cv, b->repetitions = n;
        double threads;
        b->threads = num_field(e, "threads", &threads) ? 1 : (int)clamp_count(threads);
        b->params = num_or_nan(e, "params"), b->bits_paper = num_or_nan(e, "bits");
        b->bits_f32 = num_or_nan(e, "bits_f32"), b->bits_entropy = num_or_nan(e, "bits_entropy");
        b->macs_exact = num_or_nan(e, "macs_exact"), b->macs_paper = num_or_nan(e, "macs_paper");
    }
    free(times);
    return st;
}

static sbt_status read_bench(sbt_report *r, const char *name, const cJSON *doc) {
    const cJSON *benchmarks = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"), *e;
    if (!cJSON_IsArray(benchmarks)) return bad(name, "\"benchmarks\" is not an array");
    cJSON_ArrayForEach(e, benchmarks) {
        if (!cJSON_IsObject(e)) return bad(name, "a benchmark entry is not an object");
        const char *type = str_field(e, "run_type");
        if (type && strcmp(type, "iteration")) continue; /* aggregates: recomputed from the repetitions */
        sbt_status st = add_run(r, name, benchmarks, e);
        if (st) return st;
    }
    return SBT_OK;
}

/* ---- packed sizes ---------------------------------------------------------------------- */

static sbt_status read_packed(sbt_report *r, const char *name, const cJSON *doc) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "encodings"), *e;
    if (!cJSON_IsArray(arr)) return bad(name, "\"encodings\" is not an array");
    int i = 0;
    cJSON_ArrayForEach(e, arr) {
        const char *model = str_field(e, "model"), *enc = str_field(e, "encoding");
        double bytes;
        if (!model || !enc || num_field(e, "bytes", &bytes) || bytes < 0)
            return bad(name, "encodings[%d]: needs model, encoding (strings) and bytes >= 0", i);
        rpt_packed *p = grow((void **)&r->packed, &r->n_packed, &r->cap_packed, sizeof *p);
        if (!p) return sbt_fail(SBT_ERR_NOMEM, "report: out of memory");
        copy(p->source, sizeof p->source, name), copy(p->model, sizeof p->model, model);
        copy(p->encoding, sizeof p->encoding, enc);
        p->bytes = bytes;
        i++;
    }
    return SBT_OK;
}

static sbt_status add_packed(sbt_report *r, const char *name, const char *model, const char *encoding,
                             double bytes) {
    rpt_packed *p = grow((void **)&r->packed, &r->n_packed, &r->cap_packed, sizeof *p);
    if (!p) return sbt_fail(SBT_ERR_NOMEM, "report: out of memory");
    copy(p->source, sizeof p->source, name), copy(p->model, sizeof p->model, model);
    copy(p->encoding, sizeof p->encoding, encoding);
    p->bytes = bytes;
    return SBT_OK;
}

/* sbt-export --json: {file, bytes, f32_bytes, sections: [{encoding, bytes, bound_bits}]}.
 * The model is the file's name without folder and extension (name the .sbt like the
 * model benchmarked); its sizes: the file (metadata included), the same file all float32,
 * and the sum of the tensor sections' entropy bounds. */
static sbt_status read_export(sbt_report *r, const char *name, const cJSON *doc) {
    const char *file = str_field(doc, "file");
    const cJSON *sections = cJSON_GetObjectItemCaseSensitive(doc, "sections"), *e;
    double bytes, f32, bound = 0.0;
    if (!file || num_field(doc, "bytes", &bytes) || num_field(doc, "f32_bytes", &f32) ||
        !cJSON_IsArray(sections))
        return bad(name, "sbt-export JSON needs file (a string), bytes, f32_bytes and sections");
    int i = 0;
    cJSON_ArrayForEach(e, sections) {
        double b;
        const char *enc = str_field(e, "encoding");
        if (num_field(e, "bound_bits", &b) || b < 0)
            return bad(name, "sections[%d].bound_bits: not a number >= 0", i);
        if (!enc || strcmp(enc, "text")) bound += b; /* the tensors; text metadata has no bound */
        i++;
    }
    char model[RPT_STR];
    const char *slash = strrchr(file, '/');
    copy(model, sizeof model, slash ? slash + 1 : file);
    char *dot = strrchr(model, '.');
    if (dot && dot != model) *dot = '\0';
    sbt_status st = add_packed(r, name, model, "sbt-export file", bytes);
    if (!st) st = add_packed(r, name, model, "sbt-export, all float32", f32);
    if (!st) st = add_packed(r, name, model, "sbt-export entropy bound (tensor sections)", bound / 8.0);
    return st;
}

sbt_status sbt_report_add_json(sbt_report *r, const char *name, const char *text, size_t len) {
    cJSON *doc = cJSON_ParseWithLength(text, len);
    if (!doc) return bad(name, "not valid JSON");
    sbt_status st;
    const char *kind;
    if (!cJSON_IsObject(doc)) {
        st = bad(name, "expected a JSON object"), kind = NULL;
    } else if (cJSON_HasObjectItem(doc, "benchmarks")) {
        st = read_bench(r, name, doc), kind = "benchmarks";
    } else if (cJSON_HasObjectItem(doc, "rows") && cJSON_HasObjectItem(doc, "main_metric")) {
        st = read_grid(r, name, doc), kind = "grid results";
    } else if (cJSON_HasObjectItem(doc, "encodings")) {
        st = read_packed(r, name, doc), kind = "packed sizes";
    } else if (cJSON_HasObjectItem(doc, "sections") && cJSON_HasObjectItem(doc, "f32_bytes")) {
        st = read_export(r, name, doc), kind = "sbt-export sizes";
    } else {
        st = bad(name,
                 "neither grid results (rows, main_metric), Google Benchmark JSON (benchmarks) nor packed "
                 "sizes (encodings)"),
        kind = NULL;
    }
    cJSON_Delete(doc);
    rpt_input *in = st ? NULL : grow((void **)&r->inputs, &r->n_inputs, &r->cap_inputs, sizeof *in);
    if (in) copy(in->path, sizeof in->path, name), in->kind = kind;
    return st ? st : in ? SBT_OK : sbt_fail(SBT_ERR_NOMEM, "report: out of memory");
}

sbt_status sbt_report_add_file(sbt_report *r, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return sbt_fail(SBT_ERR_IO, "%s: cannot open", path);
    char *buf = NULL;
    long size = -1;
    if (!fseek(f, 0, SEEK_END)) size = ftell(f);
    if (size < 0 || size > MAX_FILE_BYTES || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        return sbt_fail(SBT_ERR_IO, "%s: unreadable or larger than 64 MiB", path);
    }
    buf = malloc((size_t)size + 1);
    size_t got = buf ? fread(buf, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!buf) return sbt_fail(SBT_ERR_NOMEM, "report: out of memory");
    sbt_status st = got == (size_t)size ? sbt_report_add_json(r, path, buf, got)
                                        : sbt_fail(SBT_ERR_IO, "%s: read failed", path);
    free(buf);
    return st;
}
