/* Google Benchmark JSON through cJSON (sbt/gbench.h). */
#define _DEFAULT_SOURCE /* getloadavg, gethostname */
#include "sbt/gbench.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbt/container.h"

struct sbt_gbench {
    cJSON *root, *context, *benchmarks;
    int next_family;
};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

sbt_stats sbt_stats_of(const double *v, int n) {
    sbt_stats s = {NAN, NAN, NAN, NAN};
    if (n < 1) return s;
    double sum = 0.0, *sorted = malloc((size_t)n * sizeof *sorted);
    for (int i = 0; i < n; i++) sum += v[i];
    s.mean = sum / n;
    double sq = 0.0;
    for (int i = 0; i < n; i++) sq += (v[i] - s.mean) * (v[i] - s.mean);
    s.stddev = n > 1 ? sqrt(sq / (n - 1)) : 0.0;
    s.cv = s.mean != 0.0 ? s.stddev / s.mean : 0.0;
    if (sorted) {
        memcpy(sorted, v, (size_t)n * sizeof *sorted);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
        s.median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
        free(sorted);
    }
    return s;
}

/* ---- context --------------------------------------------------------------------------- */

static long read_long_file(const char *path) {
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f && fscanf(f, "%ld", &v) != 1) v = -1;
    if (f) fclose(f);
    return v;
}

static void read_word_file(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    buf[0] = '\0';
    if (f && fgets(buf, (int)cap, f)) buf[strcspn(buf, "\n")] = '\0';
    if (f) fclose(f);
}

static double cpu_mhz(void) {
    long khz = read_long_file("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
    if (khz > 0) return (double)khz / 1000.0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0.0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7) && sscanf(strchr(line, ':') + 1, "%lf", &mhz) == 1) break;
    if (f) fclose(f);
    return mhz;
}

/* Google Benchmark's test: scaling is on when a governor other than "performance" runs. */
static int cpu_scaling(void) {
    char gov[64];
    read_word_file("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", gov, sizeof gov);
    return gov[0] && strcmp(gov, "performance") != 0;
}

/* CPUs in a list such as "0-1" or "0,2,4-7". */
static int count_cpu_list(const char *s) {
    int n = 0;
    while (*s) {
        char *end;
        long lo = strtol(s, &end, 10), hi = lo;
        if (end == s) break;
        if (*end == '-') hi = strtol(end + 1, &end, 10);
        n += (int)(hi - lo + 1);
        s = *end == ',' ? end + 1 : end;
        if (*end != ',') break;
    }
    return n;
}

/* Caches of cpu0 as Google Benchmark lists them: type, level, size (bytes), num_sharing. */
static cJSON *caches(void) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < 16; i++) {
        char path[128], type[32], size[32], shared[256];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        read_word_file(path, type, sizeof type);
        if (!type[0]) break;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        long level = read_long_file(path);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        read_word_file(path, size, sizeof size);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/shared_cpu_list", i);
        read_word_file(path, shared, sizeof shared);
        long bytes = atol(size) * (strchr(size, 'K') ? 1024 : strchr(size, 'M') ? 1024 * 1024 : 1);
        int sharing = count_cpu_list(shared);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "type", type);
        cJSON_AddNumberToObject(c, "level", (double)level);
        cJSON_AddNumberToObject(c, "size", (double)bytes);
        cJSON_AddNumberToObject(c, "num_sharing", sharing > 0 ? sharing : 1);
        cJSON_AddItemToArray(arr, c);
    }
    return arr;
}

static void fill_context(cJSON *ctx, const char *executable) {
    char date[64], host[256] = "";
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S%z", &tm);
    /* +0000 -> +00:00, the form Google Benchmark writes */
    size_t n = strlen(date);
    if (n > 4) memmove(date + n - 1, date + n - 2, 3), date[n - 2] = ':';
    gethostname(host, sizeof host - 1);
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 3) load[0] = load[1] = load[2] = 0;
    cJSON_AddStringToObject(ctx, "date", date);
    cJSON_AddStringToObject(ctx, "host_name", host);
    cJSON_AddStringToObject(ctx, "executable", executable ? executable : "");
    cJSON_AddNumberToObject(ctx, "num_cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
    cJSON_AddNumberToObject(ctx, "mhz_per_cpu", floor(cpu_mhz()));
    cJSON_AddBoolToObject(ctx, "cpu_scaling_enabled", cpu_scaling());
    cJSON_AddItemToObject(ctx, "caches", caches());
    cJSON_AddItemToObject(ctx, "load_avg", cJSON_CreateDoubleArray(load, 3));
    cJSON_AddStringToObject(ctx, "library_version", sbt_version());
#ifdef NDEBUG
    cJSON_AddStringToObject(ctx, "library_build_type", "release");
#else
    cJSON_AddStringToObject(ctx, "library_build_type", "debug");
#endif
    cJSON_AddNumberToObject(ctx, "json_schema_version", 1);
}

sbt_status sbt_gbench_new(const char *executable, sbt_gbench **out) {
    *out = NULL;
    sbt_gbench *b = calloc(1, sizeof *b);
    if (b) b->root = cJSON_CreateObject();
    if (b && b->root) {
        b->context = cJSON_AddObjectToObject(b->root, "context");
        b->benchmarks = cJSON_AddArrayToObject(b->root, "benchmarks");
    }
    if (!b || !b->context || !b->benchmarks) {
        sbt_gbench_free(b);
        return sbt_fail(SBT_ERR_NOMEM, "gbench: out of memory");
    }
    fill_context(b->context, executable);
    *out = b;
    return SBT_OK;
}

void sbt_gbench_free(sbt_gbench *b) {
    if (!b) return;
    cJSON_Delete(b->root);
    free(b);
}

static sbt_status set_context(sbt_gbench *b, const char *key, cJSON *item) {
    if (!item) return sbt_fail(SBT_ERR_NOMEM, "gbench: out of memory");
    cJSON_DeleteItemFromObjectCaseSensitive(b->context, key);
    cJSON_AddItemToObject(b->context, key, item);
    return SBT_OK;
}

sbt_status sbt_gbench_context_string(sbt_gbench *b, const char *key, const char *value) {
    return set_context(b, key, value ? cJSON_CreateString(value) : cJSON_CreateNull());
}

sbt_status sbt_gbench_context_number(sbt_gbench *b, const char *key, double value) {
    return set_context(b, key, cJSON_CreateNumber(value));
}

sbt_status sbt_gbench_context_bool(sbt_gbench *b, const char *key, int value) {
    return set_context(b, key, cJSON_CreateBool(value));
}

sbt_status sbt_gbench_context_pairs(sbt_gbench *b, const char *key, const char *const *names,
                                    const char *const *values, int n) {
    cJSON *obj = cJSON_CreateObject();
    for (int i = 0; obj && i < n; i++) cJSON_AddStringToObject(obj, names[i], values[i] ? values[i] : "");
    return set_context(b, key, obj);
}

/* ---- benchmarks ------------------------------------------------------------------------ */

static double unit_scale(const char *unit) {
    if (!strcmp(unit, "s")) return 1.0;
    if (!strcmp(unit, "ms")) return 1e3;
    if (!strcmp(unit, "us")) return 1e6;
    return 1e9;
}

/* The fields every entry of a run starts with. */
static cJSON *entry(const sbt_gbench_run *r, int family, const char *suffix, const char *run_type) {
    char name[512];
    snprintf(name, sizeof name, "%s%s", r->name, suffix);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddNumberToObject(e, "family_index", family);
    cJSON_AddNumberToObject(e, "per_family_instance_index", r->per_family_instance_index);
    cJSON_AddStringToObject(e, "run_name", r->name);
    cJSON_AddStringToObject(e, "run_type", run_type);
    cJSON_AddNumberToObject(e, "repetitions", r->repetitions);
    return e;
}

static void add_times(cJSON *e, const sbt_gbench_run *r, double iterations, double real, double cpu) {
    const char *unit = r->time_unit ? r->time_unit : "ns";
    cJSON_AddNumberToObject(e, "threads", r->threads);
    cJSON_AddNumberToObject(e, "iterations", iterations);
    cJSON_AddNumberToObject(e, "real_time", real * unit_scale(unit));
    cJSON_AddNumberToObject(e, "cpu_time", cpu * unit_scale(unit));
    cJSON_AddStringToObject(e, "time_unit", unit);
}

static double counter_at(const sbt_gbench_counter *c, int rep) {
    return c->per_repetition ? c->per_repetition[rep] : c->value;
}

static void add_repetitions(cJSON *arr, const sbt_gbench_run *r, int family) {
    for (int rep = 0; rep < r->repetitions; rep++) {
        cJSON *e = entry(r, family, "", "iteration");
        cJSON_AddNumberToObject(e, "repetition_index", rep);
        add_times(e, r, (double)r->iterations, r->real_seconds[rep], r->cpu_seconds[rep]);
        for (int i = 0; i < r->n_counters; i++)
            cJSON_AddNumberToObject(e, r->counters[i].name, counter_at(&r->counters[i], rep));
        cJSON_AddItemToArray(arr, e);
    }
}

static double pick(const sbt_stats *s, int which) {
    return which == 0 ? s->mean : which == 1 ? s->median : which == 2 ? s->stddev : s->cv;
}

/* mean, median, stddev (time) and cv (percentage, as a fraction) over the repetitions, of
 * the times and of every counter. */
static sbt_status add_aggregates(cJSON *arr, const sbt_gbench_run *r, int family) {
    static const char *const NAMES[4] = {"mean", "median", "stddev", "cv"};
    int n = r->repetitions;
    double *col = malloc((size_t)n * sizeof *col);
    if (!col) return sbt_fail(SBT_ERR_NOMEM, "gbench: out of memory");
    sbt_stats real = sbt_stats_of(r->real_seconds, n), cpu = sbt_stats_of(r->cpu_seconds, n);
    for (int a = 0; a < 4; a++) {
        char suffix[16];
        snprintf(suffix, sizeof suffix, "_%s", NAMES[a]);
        cJSON *e = entry(r, family, suffix, "aggregate");
        cJSON_AddStringToObject(e, "aggregate_name", NAMES[a]);
        cJSON_AddStringToObject(e, "aggregate_unit", a == 3 ? "percentage" : "time");
        if (a == 3) { /* a ratio: no time unit scaling */
            add_times(e, r, n, 0, 0);
            cJSON_ReplaceItemInObject(e, "real_time", cJSON_CreateNumber(real.cv));
            cJSON_ReplaceItemInObject(e, "cpu_time", cJSON_CreateNumber(cpu.cv));
        } else {
            add_times(e, r, n, pick(&real, a), pick(&cpu, a));
        }
        for (int i = 0; i < r->n_counters; i++) {
            for (int rep = 0; rep < n; rep++) col[rep] = counter_at(&r->counters[i], rep);
            sbt_stats s = sbt_stats_of(col, n);
            cJSON_AddNumberToObject(e, r->counters[i].name, pick(&s, a));
        }
        cJSON_AddItemToArray(arr, e);
    }
    free(col);
    return SBT_OK;
}

sbt_status sbt_gbench_add_run(sbt_gbench *b, const sbt_gbench_run *r) {
    if (!r->name || r->repetitions < 1 || !r->real_seconds || !r->cpu_seconds || r->iterations < 1)
        return sbt_fail(SBT_ERR_ARG, "gbench: a run needs a name, iterations and repetitions with times");
    int family = r->family_index >= 0 ? r->family_index : b->next_family;
    if (family >= b->next_family) b->next_family = family + 1;
    add_repetitions(b->benchmarks, r, family);
    return r->repetitions > 1 ? add_aggregates(b->benchmarks, r, family) : SBT_OK;
}

char *sbt_gbench_text(const sbt_gbench *b) { return cJSON_Print(b->root); }

sbt_status sbt_gbench_write(const sbt_gbench *b, const char *path) {
    char *text = sbt_gbench_text(b);
    if (!text) return sbt_fail(SBT_ERR_NOMEM, "gbench: out of memory");
    sbt_status st = sbt_write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return st;
}
