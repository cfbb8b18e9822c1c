/* bench/kernels.c - ternary linear-layer kernels against OpenBLAS sgemm, in the same run.
 *
 * For each layer shape (rows x in x out), thread count and keep fraction it times
 *   sgemm            y = x W^T with cblas_sgemm on the dense float weight (the baseline),
 *   ternary_f32_P    sbt_ternary_matmul, float activations, path P (add/sub, index lists),
 *   ternary_i8_P     sbt_ternary_matmul, int8 activations, path P (quantisation included),
 *   bitmap_f32       (AVX-512 only) the float kernel with per-output bitmaps instead of index
 *                    lists, decoded with tzcnt: the measurement behind the choice of lists,
 * for every SIMD path P this CPU has. The unit is dense multiply-accumulates: one call does
 * rows * in * out MACs whatever the keep, so a ternary kernel's MAC/s is what a dense kernel
 * would need to reach to be as fast. Rates are per core (divided by the thread count).
 * Threads: sgemm uses OpenBLAS's own threads (openblas_set_num_threads); the ternary kernels
 * are single-threaded and reentrant, so at 2 threads the rows are split between the caller
 * and one persistent worker thread (a spinning handoff, so a call costs no thread start-up).
 *
 * Timing: after a warm-up, calls run in 11 batches of a size that takes about --seconds / 11;
 * real_time and cpu_time are each the fastest batch's per call. The rate per core is dense
 * MACs per CPU-second of the process (cpu_time counts every thread of the process, spinning
 * included): on a shared machine wall time includes time stolen by other processes, CPU
 * time does not. gmacs_per_core_wall (MACs / real_time / threads) is in the JSON too (cpu_time from the
 * process CPU clock over the same batches). Writes Google-Benchmark-style JSON (--json) and a Markdown table
 * (--md).
 */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernels_bitmap.h"
#include "sbt/error.h"
#include "sbt/kernels.h"

typedef struct {
    int64_t rows, in, out;
} shape;

static double now(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "kernels: %s: %s\n", what, sbt_last_error());
    exit(1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "kernels: out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- the thing being timed ---- */

typedef enum { IMPL_SGEMM, IMPL_TERNARY, IMPL_BITMAP } impl_kind;

typedef struct {
    impl_kind kind;
    sbt_act act;
    sbt_kernel_path path;
    const float *x, *w;
    const sbt_ternary_matrix *m;
    const sbt_bitmap_matrix *bm;
    int64_t rows, in, out;
    float *y;
    void *scratch[2]; /* one per thread */
} job;

/* Rows [r0, r1) of the job on thread slot t. */
static void run_rows(const job *j, int64_t r0, int64_t r1, int t) {
    if (r1 <= r0) return;
    const float *x = j->x + r0 * j->in;
    float *y = j->y + r0 * j->out;
    if (j->kind == IMPL_TERNARY) {
        if (sbt_ternary_matmul(j->m, j->act, j->path, x, r1 - r0, NULL, y, j->scratch[t])) die("matmul");
    } else if (j->kind == IMPL_BITMAP) {
        sbt_bitmap_matmul(j->bm, x, r1 - r0, y, j->scratch[t]);
    }
}

/* One persistent worker: the caller posts a job generation, the worker runs the second half
 * of the rows and acknowledges. Spinning (with a yield) keeps a handoff well under 1 us. */
static struct {
    pthread_t thread;
    atomic_int posted, done, quit;
    const job *j;
    int64_t r0, r1;
} worker;

static void *worker_main(void *arg) {
    (void)arg;
    int seen = 0;
    for (;;) {
        int p;
        while ((p = atomic_load_explicit(&worker.posted, memory_order_acquire)) == seen) {
            if (atomic_load(&worker.quit)) return NULL;
            sched_yield();
        }
        seen = p;
        run_rows(worker.j, worker.r0, worker.r1, 1);
        atomic_store_explicit(&worker.done, p, memory_order_release);
    }
}

/* The worker runs only while 2-thread ternary kernels are measured (it spins when idle). */
static void worker_start(void) {
    atomic_store(&worker.quit, 0);
    atomic_store(&worker.posted, 0);
    atomic_store(&worker.done, 0);
    if (pthread_create(&worker.thread, NULL, worker_main, NULL)) {
        fprintf(stderr, "kernels: cannot start the worker thread\n");
        exit(1);
    }
}

static void worker_stop(void) {
    atomic_store(&worker.quit, 1);
    pthread_join(worker.thread, NULL);
}

static void run_job(const job *j, int threads) {
    if (j->kind == IMPL_SGEMM) {
        sbt_dense_linear(j->x, j->rows, j->w, j->out, j->in, NULL, j->y);
        return;
    }
    if (threads < 2 || j->rows < 2) {
        run_rows(j, 0, j->rows, 0);
        return;
    }
    int64_t half = (j->rows + 1) / 2;
    worker.j = j;
    worker.r0 = half;
    worker.r1 = j->rows;
    int gen = atomic_load(&worker.posted) + 1;
    atomic_store_explicit(&worker.posted, gen, memory_order_release);
    run_rows(j, 0, half, 0);
    while (atomic_load_explicit(&worker.done, memory_order_acquire) != gen) sched_yield();
}

typedef struct {
    double real, cpu; /* seconds per call */
    long iterations;
} timing;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define BATCHES 11

static timing measure(const job *j, int threads, double seconds) {
    run_job(j, threads); /* warm-up: caches, OpenBLAS buffers */
    double t0 = now(CLOCK_MONOTONIC);
    run_job(j, threads);
    double once = now(CLOCK_MONOTONIC) - t0;
    long n = (long)(seconds / BATCHES / (once > 1e-9 ? once : 1e-9));
    if (n < 1) n = 1;
    double real[BATCHES], cpu[BATCHES];
    for (int b = 0; b < BATCHES; b++) {
        double c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        t0 = now(CLOCK_MONOTONIC);
        for (long i = 0; i < n; i++) run_job(j, threads);
        real[b] = (now(CLOCK_MONOTONIC) - t0) / (double)n;
        cpu[b] = (now(CLOCK_PROCESS_CPUTIME_ID) - c0) / (double)n;
    }
    qsort(real, BATCHES, sizeof *real, cmp_double);
    qsort(cpu, BATCHES, sizeof *cpu, cmp_double);
    return (timing){real[0], cpu[0], BATCHES * n};
}

/* ---- data ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double urand(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* A Biprop-like weight: exactly keep * in non-zeros per row would be top-k per layer; random
 * positions with probability keep are close enough for timing; one alpha per row. */
static float *make_weight(int64_t out, int64_t in, double keep) {
    float *w = xmalloc(sizeof(float) * (size_t)(out * in));
    for (int64_t o = 0; o < out; o++) {
        float alpha = (float)(0.01 + 0.1 * urand());
        for (int64_t k = 0; k < in; k++)
            w[o * in + k] = urand() >= keep ? 0.0f : urand() < 0.5 ? -alpha : alpha;
    }
    return w;
}

/* ---- results ---- */

typedef struct {
    char name[160], impl[32];
    shape s;
    double keep;
    int threads;
    int64_t nonzeros;
    timing t;
    double gmacs_core, gmacs_wall_core, ratio;
} result;

static result results[4096];
static int n_results;

static void record(const char *impl, const shape *s, double keep, int threads, int64_t nnz, timing t,
                   double sgemm_gmacs_core) {
    if (n_results >= (int)(sizeof results / sizeof *results)) return;
    result *r = &results[n_results++];
    snprintf(r->impl, sizeof r->impl, "%s", impl);
    if (keep > 0)
        snprintf(r->name, sizeof r->name, "kernels/%lldx%lldx%lld/%s/keep:%.2f/threads:%d",
                 (long long)s->rows, (long long)s->in, (long long)s->out, impl, keep, threads);
    else
        snprintf(r->name, sizeof r->name, "kernels/%lldx%lldx%lld/%s/threads:%d", (long long)s->rows,
                 (long long)s->in, (long long)s->out, impl, threads);
    r->s = *s;
    r->keep = keep;
    r->threads = threads;
    r->nonzeros = nnz;
    r->t = t;
    /* per CPU-second of the process (all its threads): robust to time stolen by other
     * processes on a shared machine, and counts any spinning of idle threads as cost */
    r->gmacs_core = (double)(s->rows * s->in * s->out) / t.cpu / 1e9;
    r->gmacs_wall_core = (double)(s->rows * s->in * s->out) / t.real / 1e9 / threads;
    r->ratio = sgemm_gmacs_core > 0 ? r->gmacs_core / sgemm_gmacs_core : 1.0;
    fprintf(stderr, "%-58s %10.3f us  %7.2f GMAC/s/core  %5.2fx sgemm\n", r->name, t.real * 1e6,
            r->gmacs_core, r->ratio);
}

static const char *openblas_config_clean(void) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s", openblas_get_config());
    return buf;
}

static void cpu_model(char *buf, size_t size) {
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(buf, size, "%s", strchr(line, ':') + 2);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    fclose(f);
}

static void write_json(const char *path, const char *cpu_busy) {
    cJSON *root = cJSON_CreateObject(), *ctx = cJSON_AddObjectToObject(root, "context");
    char date[64], host[256] = "", model[256], list[64];
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S%z", localtime(&t));
    gethostname(host, sizeof host - 1);
    cpu_model(model, sizeof model);
    double load[3] = {0, 0, 0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = load[1] = load[2] = 0;
        fclose(f);
    }
    cJSON_AddStringToObject(ctx, "date", date);
    cJSON_AddStringToObject(ctx, "host_name", host);
    cJSON_AddStringToObject(ctx, "executable", "bench/kernels");
    cJSON_AddNumberToObject(ctx, "num_cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
    cJSON_AddNumberToObject(ctx, "mhz_per_cpu", 0);
    cJSON_AddBoolToObject(ctx, "cpu_scaling_enabled", 0);
    cJSON_AddArrayToObject(ctx, "caches");
    cJSON_AddItemToObject(ctx, "load_avg", cJSON_CreateDoubleArray(load, 3));
    cJSON_AddStringToObject(ctx, "library_build_type", "release");
    cJSON_AddStringToObject(ctx, "cpu_model", model);
    cJSON_AddStringToObject(ctx, "sbt_version", sbt_version());
    cJSON_AddStringToObject(ctx, "openblas", openblas_config_clean());
    cJSON_AddStringToObject(ctx, "openblas_corename", openblas_get_corename());
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    cJSON_AddStringToObject(ctx, "openblas_coretype_env", coretype ? coretype : "");
    cJSON_AddStringToObject(ctx, "kernel_paths_float", sbt_kernel_list(SBT_ACT_F32, list, sizeof list));
    cJSON_AddStringToObject(ctx, "kernel_paths_int8", sbt_kernel_list(SBT_ACT_I8, list, sizeof list));
    if (cpu_busy) cJSON_AddStringToObject(ctx, "cpu_busy_percent_before_run", cpu_busy);
    cJSON_AddStringToObject(
        ctx, "mac_unit",
        "dense multiply-accumulates: rows * in * out per call, whatever the keep; "
        "gmacs_per_core = dense MACs / cpu_time (CPU seconds of all threads per call); "
        "gmacs_per_core_wall = dense MACs / real_time / threads; fastest of 11 batches each");
    cJSON *arr = cJSON_AddArrayToObject(root, "benchmarks");
    for (int i = 0; i < n_results; i++) {
        const result *r = &results[i];
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "name", r->name);
        cJSON_AddNumberToObject(b, "family_index", i);
        cJSON_AddNumberToObject(b, "per_family_instance_index", 0);
        cJSON_AddStringToObject(b, "run_name", r->name);
        cJSON_AddStringToObject(b, "run_type", "iteration");
        cJSON_AddNumberToObject(b, "repetitions", 1);
        cJSON_AddNumberToObject(b, "repetition_index", 0);
        cJSON_AddNumberToObject(b, "threads", r->threads);
        cJSON_AddNumberToObject(b, "iterations", (double)r->t.iterations);
        cJSON_AddNumberToObject(b, "real_time", r->t.real * 1e6);
        cJSON_AddNumberToObject(b, "cpu_time", r->t.cpu * 1e6);
        cJSON_AddStringToObject(b, "time_unit", "us");
        cJSON_AddStringToObject(b, "impl", r->impl);
        cJSON_AddNumberToObject(b, "rows", (double)r->s.rows);
        cJSON_AddNumberToObject(b, "in", (double)r->s.in);
        cJSON_AddNumberToObject(b, "out", (double)r->s.out);
        cJSON_AddNumberToObject(b, "keep", r->keep > 0 ? r->keep : 1.0);
        cJSON_AddNumberToObject(b, "nonzeros", (double)r->nonzeros);
        cJSON_AddNumberToObject(b, "dense_macs", (double)(r->s.rows * r->s.in * r->s.out));
        cJSON_AddNumberToObject(b, "gmacs_per_core", r->gmacs_core);
        cJSON_AddNumberToObject(b, "gmacs_per_core_wall", r->gmacs_wall_core);
        cJSON_AddNumberToObject(b, "ratio_to_sgemm", r->ratio);
        cJSON_AddItemToArray(arr, b);
    }
    char *text = cJSON_Print(root);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (!out || fputs(text, out) < 0 || fputc('\n', out) < 0 || fclose(out) || rename(tmp, path)) {
        fprintf(stderr, "kernels: cannot write %s\n", path);
        exit(1);
    }
    free(text);
    cJSON_Delete(root);
}

static const result *find(const shape *s, int threads, double keep, const char *impl) {
    for (int i = 0; i < n_results; i++) {
        const result *r = &results[i];
        if (r->s.rows == s->rows && r->s.in == s->in && r->s.out == s->out && r->threads == threads &&
            fabs(r->keep - keep) < 1e-9 && !strcmp(r->impl, impl))
            return r;
    }
    return NULL;
}

static void cell(FILE *f, const result *r) {
    if (r)
        fprintf(f, " %.1f (%.2fx) |", r->gmacs_core, r->ratio);
    else
        fprintf(f, " - |");
}

static void write_md(const char *path, const shape *shapes, int n_shapes, const int *threads, int n_threads,
                     const double *keeps, int n_keeps, const char *cpu_busy) {
    char tmp[1100], model[256], list[64];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "kernels: cannot write %s\n", path);
        exit(1);
    }
    cpu_model(model, sizeof model);
    fprintf(f, "# Ternary kernels vs OpenBLAS sgemm\n\n");
    fprintf(f, "%s; OpenBLAS kernel %s; paths: float %s, ", model, openblas_get_corename(),
            sbt_kernel_list(SBT_ACT_F32, list, sizeof list));
    fprintf(
        f,
        "int8 %s; CPUs %s%% busy before the run (shared machine). GMAC/s per core in dense MACs (rows x in "
        "x\n"
        "out per call, whatever the keep) per CPU-second of the process (all its threads; fastest of 11\n"
        "batches), and the ratio to OpenBLAS sgemm at the same thread count in the same run. `i8` includes\n"
        "the per-row quantisation of x, `f32` the transposes of x and y. At 2 threads sgemm uses OpenBLAS's\n"
        "threads and the ternary kernels split the rows with one worker thread (1-row calls are not split);\n"
        "the wall times are in the JSON. `bitmap f32` is the float kernel with bitmaps instead of index\n"
        "lists and without the few-rows kernel (bench/kernels_bitmap.c), kept for the comparison.\n\n",
        sbt_kernel_list(SBT_ACT_I8, list, sizeof list), cpu_busy ? cpu_busy : "?");
    static const char *const cols[] = {"ternary_f32_avx512", "ternary_f32_avx2", "bitmap_f32_avx512",
                                       "ternary_i8_avx512", "ternary_i8_avx2"};
    fprintf(f,
            "| rows x in x out | thr | sgemm | keep | f32 avx512 | f32 avx2 | bitmap f32 avx512 | i8 vnni | "
            "i8 avx2 |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < n_shapes; i++)
        for (int t = 0; t < n_threads; t++) {
            const result *sg = find(&shapes[i], threads[t], 0, "sgemm");
            for (int k = 0; k < n_keeps; k++) {
                fprintf(f, "| %lldx%lldx%lld | %d | %.1f | %.2f |", (long long)shapes[i].rows,
                        (long long)shapes[i].in, (long long)shapes[i].out, threads[t],
                        sg ? sg->gmacs_core : 0.0, keeps[k]);
                for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
                    cell(f, find(&shapes[i], threads[t], keeps[k], cols[c]));
                fprintf(f, "\n");
            }
        }
    if (fclose(f) || rename(tmp, path)) {
        fprintf(stderr, "kernels: cannot write %s\n", path);
        exit(1);
    }
}

/* ---- main loop ---- */

static void bench_shape(const shape *s, const int *threads, int n_threads, const double *keeps, int n_keeps,
                        double seconds) {
    float *x = xmalloc(sizeof(float) * (size_t)(s->rows * s->in)),
          *y = xmalloc(sizeof(float) * (size_t)(s->rows * s->out));
    for (int64_t i = 0; i < s->rows * s->in; i++) x[i] = (float)(2.0 * urand() - 1.0);
    for (int k = 0; k < n_keeps; k++) {
        float *w = make_weight(s->out, s->in, keeps[k]);
        sbt_ternary_matrix *m = NULL;
        if (sbt_ternary_prepare(w, s->out, s->in, &m)) die("prepare");
        sbt_bitmap_matrix *bm = sbt_bitmap_available() ? sbt_bitmap_prepare(w, s->out, s->in) : NULL;
        size_t sb = sbt_ternary_scratch_bytes(m, SBT_ACT_F32), sbi = sbt_ternary_scratch_bytes(m, SBT_ACT_I8);
        if (sbi > sb) sb = sbi;
        if (bm && sbt_bitmap_scratch_bytes(bm) > sb) sb = sbt_bitmap_scratch_bytes(bm);
        job j = {.x = x, .w = w, .m = m, .bm = bm, .rows = s->rows, .in = s->in, .out = s->out, .y = y};
        j.scratch[0] = xmalloc(sb);
        j.scratch[1] = xmalloc(sb);
        for (int t = 0; t < n_threads; t++) {
            openblas_set_num_threads(threads[t]);
            const result *sg = find(s, threads[t], 0, "sgemm");
            if (!sg) {
                j.kind = IMPL_SGEMM;
                record("sgemm", s, 0, threads[t], s->out * s->in, measure(&j, threads[t], seconds), 0);
                sg = &results[n_results - 1];
            }
            if (threads[t] > 1) worker_start();
            j.kind = IMPL_TERNARY;
            for (int a = 0; a < 2; a++)
                for (int p = SBT_PATH_COUNT - 1; p > SBT_PATH_SCALAR; p--) {
                    if (!sbt_kernel_available((sbt_kernel_path)p, (sbt_act)a)) continue;
                    char impl[32];
                    snprintf(impl, sizeof impl, "ternary_%s_%s", a ? "i8" : "f32",
                             sbt_kernel_path_name((sbt_kernel_path)p));
                    j.act = (sbt_act)a;
                    j.path = (sbt_kernel_path)p;
                    record(impl, s, keeps[k], threads[t], sbt_ternary_nonzeros(m),
                           measure(&j, threads[t], seconds), sg->gmacs_core);
                }
            if (bm) {
                j.kind = IMPL_BITMAP;
                record("bitmap_f32_avx512", s, keeps[k], threads[t], sbt_ternary_nonzeros(m),
                       measure(&j, threads[t], seconds), sg->gmacs_core);
            }
            if (threads[t] > 1) worker_stop();
        }
        free(j.scratch[0]);
        free(j.scratch[1]);
        sbt_bitmap_free(bm);
        sbt_ternary_free(m);
        free(w);
    }
    free(x);
    free(y);
}

static int parse_list(const char *s, double *v, int max) {
    int n = 0;
    while (*s && n < max) {
        char *end;
        v[n++] = strtod(s, &end);
        if (end == s) return -1;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

static void usage(void) {
    printf("Usage: kernels [options]\n"
           "Ternary linear-layer kernels against OpenBLAS sgemm (GMAC/s per core, dense MACs).\n"
           "  --seconds S        time per measurement (default 0.25)\n"
           "  --threads LIST     thread counts (default 1,2)\n"
           "  --keep LIST        keep fractions (default 0.5,0.25,0.1)\n"
           "  --shape RxIxO      only this shape (repeatable; default: the paper's shapes and 1024^3)\n"
           "  --json PATH        Google-Benchmark-style JSON (default bench/results/kernels.json)\n"
           "  --md PATH          Markdown table (default bench/results/kernels.md)\n"
           "  --cpu-busy PCT     recorded in the JSON context (the run script measures it)\n");
}

int main(int argc, char **argv) {
    static shape shapes[32] = {{200, 76, 76}, {200, 76, 256},  {200, 256, 76},    {29, 32, 32}, {29, 64, 64},
                               {29, 64, 256}, {29, 256, 64},   {1, 76, 76},       {1, 76, 256}, {1, 256, 76},
                               {1, 64, 64},   {1, 1024, 1024}, {1024, 1024, 1024}};
    int n_shapes = 13, user_shapes = 0;
    double seconds = 0.25, keeps[8] = {0.5, 0.25, 0.1}, tv[8] = {1, 2};
    int n_keeps = 3, n_threads = 2, threads[8];
    const char *json = "bench/results/kernels.json", *md = "bench/results/kernels.md", *busy = NULL;
    static const struct option opts[] = {{"seconds", required_argument, 0, 's'},
                                         {"threads", required_argument, 0, 't'},
                                         {"keep", required_argument, 0, 'k'},
                                         {"shape", required_argument, 0, 'S'},
                                         {"json", required_argument, 0, 'j'},
                                         {"md", required_argument, 0, 'm'},
                                         {"cpu-busy", required_argument, 0, 'b'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': seconds = atof(optarg); break;
        case 't': n_threads = parse_list(optarg, tv, 8); break;
        case 'k': n_keeps = parse_list(optarg, keeps, 8); break;
        case 'S': {
            long long r, i, o;
            if (sscanf(optarg, "%lldx%lldx%lld", &r, &i, &o) != 3 || r < 1 || i < 1 || o < 1 ||
                user_shapes >= 32) {
                fprintf(stderr, "kernels: bad --shape %s (want ROWSxINxOUT)\n", optarg);
                return 2;
            }
            shapes[user_shapes++] = (shape){r, i, o};
            n_shapes = user_shapes;
            break;
        }
        case 'j': json = optarg; break;
        case 'm': md = optarg; break;
        case 'b': busy = optarg; break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if (n_threads < 1 || n_keeps < 1 || !(seconds > 0)) {
        fprintf(stderr, "kernels: bad --threads, --keep or --seconds\n");
        return 2;
    }
    for (int t = 0; t < n_threads; t++) {
        threads[t] = (int)tv[t];
        if (threads[t] < 1 || threads[t] > 2) {
            fprintf(stderr, "kernels: --threads takes 1 and/or 2\n");
            return 2;
        }
    }
    for (int i = 0; i < n_shapes; i++) bench_shape(&shapes[i], threads, n_threads, keeps, n_keeps, seconds);
    write_json(json, busy);
    write_md(md, shapes, n_shapes, threads, n_threads, keeps, n_keeps, busy);
    return 0;
}
