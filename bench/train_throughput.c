/* train_throughput: libsbt's training throughput (samples per second) on two workloads,
 * plus the machine's dense sgemm rate for reference.
 *
 * For each workload and thread count it trains the encoder with sbt_trainer_fit for
 * N epochs (no validation set, no checkpoint), times every epoch from the epoch
 * callback, drops the first epoch (graph building, cold caches) and reports the median
 * of the rest. It also counts the multiply-accumulates of one training step per sample
 * by walking the model's graph (Linear and MatMul nodes, forward and the backward
 * products that actually run), so the throughput can be read as GMAC/s next to a
 * 512x512x512 OpenBLAS sgemm measured in the same process.
 *
 * With --dump DIR it writes each workload's data and initial model (raw little-endian
 * arrays and a manifest, see bench/README.md) so that bench/torch_train_throughput.py
 * trains PyTorch on exactly the same series from exactly the same weights.
 *
 * Output: one JSON object per line on stdout ("kind": "sgemm" or "train"); progress on
 * stderr. bench/run_train_throughput.sh collects these into bench/results/.
 */
#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sbt/data.h"
#include "sbt/error.h"
#include "sbt/model.h"
#include "sbt/runtime.h"
#include "sbt/train.h"

typedef struct {
    const char *name; /* "JapaneseVowels" or "SyntheticSAD" */
    int d_model, heads, layers, d_ff, batch;
    int epochs; /* including the warm-up epoch */
} workload;

typedef struct {
    const char *data_dir, *dump_dir, *only;
    int threads[8], n_threads;
    int epochs; /* 0: per-workload default */
    int synth_cases;
    double sgemm_seconds;
} options;

static double now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double s[256];
    if (n < 1) return NAN;
    if (n > 256) n = 256;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static void die(const char *what) {
    fprintf(stderr, "train_throughput: %s: %s\n", what, sbt_last_error());
    exit(1);
}

/* OpenBLAS's build string without characters that would need escaping in JSON. */
static const char *openblas_config(void) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s", openblas_get_config());
    for (char *p = buf; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = ' ';
    return buf;
}

/* ---- sgemm reference rate ---- */

static double sgemm_gmacs(double min_seconds) {
    const int n = 512;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    if (!a || !b || !c) {
        fprintf(stderr, "train_throughput: out of memory\n");
        exit(1);
    }
    for (unsigned i = 0; i < (unsigned)(n * n); i++) {
        a[i] = (float)((i * 7919u) % 1000u) / 1000.0f - 0.5f;
        b[i] = (float)((i * 104729u) % 1000u) / 1000.0f - 0.5f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                n); /* warm-up */
    int reps = 0;
    double t0 = now(CLOCK_MONOTONIC), t;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        reps++;
        t = now(CLOCK_MONOTONIC) - t0;
    } while (t < min_seconds || reps < 5);
    volatile float sink = c[n * n / 2];
    (void)sink;
    free(a);
    free(b);
    free(c);
    return (double)n * n * n * reps / t / 1e9;
}

/* ---- multiply-accumulates of one training step, from the graph ---- */

/* Forward products, plus the backward products that run (one per input with a gradient). */
static void count_macs(sbt_model *m, int batch, int length, double *fwd, double *bwd) {
    sbt_model_graph mg;
    if (sbt_model_graph_build(m, batch, length, &mg)) die("graph for counting");
    sbt_graph *g = mg.graph;
    *fwd = *bwd = 0.0;
    for (int i = 0; i < sbt_graph_count(g); i++) {
        sbt_op op = sbt_node_op(g, i);
        if (op != SBT_OP_LINEAR && op != SBT_OP_MATMUL) continue;
        int a = sbt_node_input(g, i, 0), b = sbt_node_input(g, i, 1);
        /* the reduced dimension: Linear's weight is (out, in); MatMul's a may be transposed */
        int64_t k = op == SBT_OP_LINEAR ? sbt_node_dim(g, b, 1)
                                        : sbt_node_dim(g, a, sbt_node_attr(g, i)->matmul.trans_a ? -2 : -1);
        double macs = (double)sbt_node_size(g, i) * (double)k;
        *fwd += macs;
        *bwd += (sbt_graph_grad(g, a) ? macs : 0.0) + (sbt_graph_grad(g, b) ? macs : 0.0);
    }
    *fwd /= batch;
    *bwd /= batch;
    sbt_model_graph_free(&mg);
}

/* ---- data and model dump for the PyTorch side ---- */

static void write_raw(const char *dir, const char *name, const void *data, size_t bytes) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes || fclose(f)) {
        fprintf(stderr, "train_throughput: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

static void make_dir(const char *path) {
    if (mkdir(path, 0777) && errno != EEXIST) {
        fprintf(stderr, "train_throughput: cannot create %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* DIR/NAME/: meta.txt (key=value), x.f32 (n, length, channels), len.i32, y.i32, and the
 * initial model: manifest.txt ("name dim..." per tensor) with one NAME.f32 per tensor. */
static void dump(const char *root, const workload *w, const sbt_dataset *ds, const sbt_model *m,
                 const sbt_train_config *tc) {
    char dir[1024], path[1100];
    make_dir(root);
    snprintf(dir, sizeof dir, "%s/%s", root, w->name);
    make_dir(dir);
    write_raw(dir, "x.f32", ds->x, sizeof(float) * (size_t)ds->n * ds->length * ds->channels);
    write_raw(dir, "len.i32", ds->len, sizeof(int) * (size_t)ds->n);
    write_raw(dir, "y.i32", ds->y, sizeof(int) * (size_t)ds->n);
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "train_throughput: cannot write %s\n", path);
        exit(1);
    }
    const sbt_config *c = &m->cfg;
    fprintf(f,
            "workload=%s\nn=%d\nlength=%d\nchannels=%d\nclasses=%d\nd_model=%d\nheads=%d\nlayers=%d\n"
            "d_ff=%d\nbatch=%d\nepochs=%d\nlr=%.9g\nclip=%.9g\nnorm_eps=%.9g\nbn_momentum=%.9g\n"
            "beta1=%.9g\nbeta2=%.9g\nadam_eps=%.9g\n",
            w->name, ds->n, ds->length, ds->channels, c->outputs, c->d_model, c->heads, c->layers, c->d_ff,
            tc->batch, tc->epochs, tc->lr, tc->clip_norm, c->norm_eps, c->bn_momentum, tc->beta1, tc->beta2,
            tc->adam_eps);
    fclose(f);
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    if (!(f = fopen(path, "w"))) {
        fprintf(stderr, "train_throughput: cannot write %s\n", path);
        exit(1);
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        fprintf(f, "%s %s", ti->name, ti->kind == SBT_TENSOR_PARAM ? "param" : "state");
        for (int d = 0; d < ti->ndim; d++) fprintf(f, " %lld", (long long)ti->shape[d]);
        fprintf(f, "\n");
        char file[SBT_NAME_MAX + 8];
        snprintf(file, sizeof file, "%s.f32", ti->name);
        write_raw(dir, file, m->values + ti->offset, sizeof(float) * (size_t)ti->size);
    }
    fclose(f);
}

/* ---- one timed training run ---- */

typedef struct {
    double wall[256], cpu[256], loss[256];
    int n;
    double cpu_last;
} epoch_log;

static void on_epoch(const sbt_epoch_report *rep, void *user) {
    epoch_log *log = user;
    double cpu = now(CLOCK_PROCESS_CPUTIME_ID);
    if (log->n < 256) {
        log->wall[log->n] = rep->seconds;
        log->cpu[log->n] = cpu - log->cpu_last;
        log->loss[log->n] = rep->train_loss;
        log->n++;
    }
    log->cpu_last = cpu;
    fprintf(stderr, "  epoch %d: %.3f s, loss %.4f\n", rep->epoch, rep->seconds, rep->train_loss);
}

static sbt_dataset *load_workload(const options *o, const workload *w) {
    sbt_dataset *ds = NULL;
    if (!strcmp(w->name, "JapaneseVowels")) {
        char path[1024];
        snprintf(path, sizeof path, "%s/classification/JapaneseVowels/JapaneseVowels_TRAIN.ts", o->data_dir);
        if (sbt_ts_read(path, NULL, &ds)) die("reading JapaneseVowels");
    } else {
        sbt_synth_config sc = sbt_synth_default();
        sc.n_train = o->synth_cases;
        sc.n_test = 10;
        sc.channels = 13;
        sc.length = 93;
        sc.n_classes = 10;
        sc.seed = 1;
        sbt_dataset *test = NULL;
        if (sbt_synth_classification(&sc, &ds, &test)) die("synthetic data");
        sbt_dataset_free(test);
    }
    return ds;
}

static void run_workload(const options *o, const workload *w, const sbt_dataset *ds, int threads,
                         int dumped) {
    sbt_config cfg = sbt_config_default(SBT_TASK_CLASSIFY);
    cfg.channels = ds->channels;
    cfg.outputs = ds->n_classes;
    cfg.max_len = ds->length;
    cfg.d_model = w->d_model;
    cfg.heads = w->heads;
    cfg.layers = w->layers;
    cfg.d_ff = w->d_ff;
    cfg.norm = SBT_NORM_BATCH;
    cfg.pos = SBT_POS_SINUSOIDAL;
    cfg.dropout = 0.0f;
    cfg.seed = 0;
    sbt_model *m = NULL;
    if (sbt_model_new(&cfg, &m)) die("model");
    if (sbt_model_fit_normalization(m, ds)) die("normalization");

    sbt_train_config tc = sbt_train_config_default(SBT_TASK_CLASSIFY);
    tc.batch = w->batch;
    tc.epochs = o->epochs > 0 ? o->epochs : w->epochs;
    tc.patience = 0;
    tc.seed = 0;
    if (o->dump_dir && !dumped) dump(o->dump_dir, w, ds, m, &tc);

    double fwd, bwd;
    count_macs(m, tc.batch, ds->length, &fwd, &bwd);

    sbt_set_threads(threads);
    double sgemm = sgemm_gmacs(o->sgemm_seconds);
    fprintf(stderr,
            "%s, %d thread(s): %d cases x %d steps x %d channels, %d classes, %lld parameters; "
            "sgemm %.1f GMAC/s\n",
            w->name, threads, ds->n, ds->length, ds->channels, ds->n_classes,
            (long long)sbt_model_param_count(m), sgemm);

    sbt_trainer *t = NULL;
    if (sbt_trainer_new(m, &tc, &t)) die("trainer");
    epoch_log log = {.n = 0, .cpu_last = now(CLOCK_PROCESS_CPUTIME_ID)};
    if (sbt_trainer_fit(t, ds, NULL, NULL, on_epoch, &log)) die("training");
    sbt_trainer_free(t);
    long long params = (long long)sbt_model_param_count(m);
    sbt_model_free(m);

    int timed = log.n - 1; /* the first epoch is the warm-up */
    if (timed < 1) {
        fprintf(stderr, "train_throughput: need at least 2 epochs\n");
        exit(1);
    }
    double wall = median(log.wall + 1, timed), cpu = median(log.cpu + 1, timed);
    double sps = ds->n / wall, macs = fwd + bwd;
    printf(
        "{\"kind\": \"train\", \"impl\": \"sbt\", \"workload\": \"%s\", \"threads\": %d, \"cases\": %d, "
        "\"length\": %d, \"channels\": %d, \"classes\": %d, \"batch\": %d, \"d_model\": %d, \"heads\": %d, "
        "\"layers\": %d, \"d_ff\": %d, \"params\": %lld, \"epochs_timed\": %d, "
        "\"median_epoch_seconds\": %.6f, \"median_epoch_cpu_seconds\": %.6f, "
        "\"samples_per_second\": %.3f, \"macs_per_sample_forward\": %.0f, "
        "\"macs_per_sample_train\": %.0f, \"achieved_gmacs\": %.4f, \"sgemm_gmacs\": %.3f, "
        "\"first_loss\": %.6f, \"last_loss\": %.6f, \"sbt_version\": \"%s\", \"openblas\": \"%s\", "
        "\"epoch_seconds\": [",
        w->name, threads, ds->n, ds->length, ds->channels, ds->n_classes, tc.batch, cfg.d_model, cfg.heads,
        cfg.layers, cfg.d_ff, params, timed, wall, cpu, sps, fwd, macs, sps * macs / 1e9, sgemm, log.loss[0],
        log.loss[log.n - 1], sbt_version(), openblas_config());
    for (int i = 0; i < log.n; i++) printf("%s%.6f", i ? ", " : "", log.wall[i]);
    printf("]}\n");
    fflush(stdout);
}

static void usage(void) {
    printf("Usage: train_throughput [options]\n"
           "Training throughput of libsbt (samples/s, median over epochs after a warm-up epoch).\n"
           "  --data DIR          data root (default $SBT_DATA or ../shared/data)\n"
           "  --threads LIST      comma-separated thread counts (default 1,2)\n"
           "  --epochs N          epochs per run including the warm-up (default: 11 JapaneseVowels,\n"
           "                      5 SyntheticSAD)\n"
           "  --workload NAME     JapaneseVowels or SyntheticSAD (default both)\n"
           "  --synth-cases N     cases of the synthetic workload (default 1000)\n"
           "  --sgemm-seconds S   time spent measuring sgemm per run (default 1)\n"
           "  --dump DIR          write each workload's data and initial model for the PyTorch side\n"
           "Prints one JSON object per line on stdout.\n");
}

int main(int argc, char **argv) {
    const char *env = getenv("SBT_DATA");
    options o = {.data_dir = env && *env ? env : "../shared/data",
                 .threads = {1, 2},
                 .n_threads = 2,
                 .synth_cases = 1000,
                 .sgemm_seconds = 1.0};
    static const struct option longopts[] = {{"data", required_argument, 0, 'd'},
                                             {"threads", required_argument, 0, 't'},
                                             {"epochs", required_argument, 0, 'e'},
                                             {"workload", required_argument, 0, 'w'},
                                             {"synth-cases", required_argument, 0, 'n'},
                                             {"sgemm-seconds", required_argument, 0, 's'},
                                             {"dump", required_argument, 0, 'D'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o.data_dir = optarg; break;
        case 't': {
            o.n_threads = 0;
            for (char *s = optarg; *s && o.n_threads < 8;) {
                char *end;
                long v = strtol(s, &end, 10);
                if (end == s || v < 1 || v > 256) {
                    fprintf(stderr, "train_throughput: bad --threads %s\n", optarg);
                    return 2;
                }
                o.threads[o.n_threads++] = (int)v;
                s = *end == ',' ? end + 1 : end;
                if (*end && *end != ',') {
                    fprintf(stderr, "train_throughput: bad --threads %s\n", optarg);
                    return 2;
                }
            }
            break;
        }
        case 'e': o.epochs = atoi(optarg); break;
        case 'w': o.only = optarg; break;
        case 'n': o.synth_cases = atoi(optarg); break;
        case 's': o.sgemm_seconds = atof(optarg); break;
        case 'D': o.dump_dir = optarg; break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if ((o.epochs != 0 && (o.epochs < 2 || o.epochs > 256)) || o.synth_cases < 1 || o.n_threads < 1) {
        fprintf(stderr, "train_throughput: --epochs must be 2..256, --synth-cases >= 1\n");
        return 2;
    }
    static const workload workloads[] = {
        {"JapaneseVowels", 32, 2, 2, 256, 8, 11},
        {"SyntheticSAD", 64, 2, 2, 256, 8, 5},
    };
    int ran = 0;
    for (size_t i = 0; i < sizeof workloads / sizeof *workloads; i++) {
        const workload *w = &workloads[i];
        if (o.only && strcmp(o.only, w->name)) continue;
        sbt_dataset *ds = load_workload(&o, w);
        for (int k = 0; k < o.n_threads; k++) run_workload(&o, w, ds, o.threads[k], k > 0);
        sbt_dataset_free(ds);
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "train_throughput: no workload called %s\n", o.only);
        return 2;
    }
    return 0;
}
