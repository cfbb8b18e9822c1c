/* sbt-bench: time a model's forward pass for one window, count its cost and its PAPI
 * events, and write Google Benchmark JSON. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sbt/bench.h"
#include "sbt/cost.h"
#include "sbt/counters.h"
#include "sbt/forecast.h"
#include "sbt/gbench.h"
#include "sbt/model.h"
#include "sbt/rng.h"
#include "sbt/runtime.h"
#include "tool_common.h"

static const char *const TOOL = "sbt-bench";
#define MAX_LIST 8
#define MAX_REPS 1000

static void usage(void) {
    printf("Usage: %s MODEL.sbtm [options] [--json OUT.json]\n"
           "       %s --task T --model dense|sbt --channels C --outputs K --length W [shape flags] ...\n"
           "Time the forward pass of one window (batch of windows), count the model's cost (parameters,\n"
           "storage bits, MACs, FLOPs = 2 x MACs, add/sub, mults, nonlinear work) and PAPI events, and\n"
           "write Google Benchmark JSON (compare.py and sbt-report read it). Without MODEL the model is\n"
           "built from the shape flags (the same as sbt-train's) with seeded weights: count and time a\n"
           "model before training it.\n\n"
           "  --attn all|full|qkv-mask|step-t|self  attention variant(s) of the same weights (model's)\n"
           "  --batch LIST          windows per forward, e.g. 1,64 (1)\n"
           "  --threads LIST        thread counts, e.g. 1,2 (1)\n"
           "  --length W            steps per window (model: its max_len)\n"
           "  --counters LIST       PAPI event names (default: cycles, instructions, L1/LLC misses,\n"
           "                        branch misses and the software events task-clock, page faults,\n"
           "                        context switches; 'none' for none). Events this machine cannot\n"
           "                        count are named with PAPI's reason, and the rest are counted\n"
           "  --repetitions N       timed repetitions (9, what compare.py's U-test wants)\n"
           "  --min-time S          seconds per repetition at least (0.05)\n"
           "  --convention exact|paper  cost convention (exact: what runs; paper: its code's rules)\n"
           "  --kernel dense|ternary-f32|ternary-i8|all  what the frozen ternary weights run on: sgemm\n"
           "                        (dense, default), add/sub kernels with float or int8 activations\n"
           "  --graph infer|train   time the frozen forward-only graph (infer, default: sparse weights\n"
           "                        frozen once) or the training graph in eval mode (per-call top-k)\n"
           "  --json FILE           Google Benchmark JSON (written atomically)\n"
           "  --dump DIR            for the PyTorch peer (bench/torch_forward.py): DIR/attn-<variant>/ gets\n"
           "                        the config, every tensor, the effective (frozen) weights, an input\n"
           "                        batch and our output for it\n"
           "Shape flags (without MODEL): --task classify|forecast|anomaly --model dense|sbt --keep K\n"
           "  --alpha layer|row --attn-keep F --channels C --outputs K --length W (or --max-len W)\n"
           "  --d-model N --heads N --layers N --ffn N --norm batch|layer|none\n"
           "  --pos sinusoidal|learned --seed S\n"
           "  -h, --help  this help      -V, --version  the version\n\n"
           "Example:\n"
           "  %s jv.sbtm --attn all --batch 1,64 --threads 1,2 --json jv_bench.json\n"
           "  %s --task anomaly --model sbt --keep 0.25 --attn step-t --norm none --channels 38 \\\n"
           "            --outputs 38 --length 200 --d-model 76 --convention paper\n",
           TOOL, TOOL, TOOL, TOOL);
}

typedef struct {
    const char *model_path, *json_path, *counters, *dump_dir;
    int attn_all, attn_given, train_graph;
    sbt_weight_kernel kernels[3];
    int n_kernels;
    int batches[MAX_LIST], n_batches, threads[MAX_LIST], n_threads;
    int repetitions, length, channels_given, outputs_given;
    double min_time;
    sbt_cost_convention convention;
    sbt_config cfg;
} options;

enum {
    OPT_ATTN = 256,
    OPT_BATCH,
    OPT_THREADS,
    OPT_COUNTERS,
    OPT_REPS,
    OPT_MIN_TIME,
    OPT_CONV,
    OPT_JSON,
    OPT_TASK,
    OPT_LENGTH,
    OPT_CHANNELS,
    OPT_OUTPUTS,
    OPT_SHAPE,
    OPT_DUMP,
    OPT_GRAPH,
    OPT_KERNEL
};

static const struct option LONG_OPTIONS[] = {{"attn", required_argument, 0, OPT_ATTN},
                                             {"batch", required_argument, 0, OPT_BATCH},
                                             {"threads", required_argument, 0, OPT_THREADS},
                                             {"counters", required_argument, 0, OPT_COUNTERS},
                                             {"repetitions", required_argument, 0, OPT_REPS},
                                             {"min-time", required_argument, 0, OPT_MIN_TIME},
                                             {"convention", required_argument, 0, OPT_CONV},
                                             {"json", required_argument, 0, OPT_JSON},
                                             {"task", required_argument, 0, OPT_TASK},
                                             {"length", required_argument, 0, OPT_LENGTH},
                                             {"max-len", required_argument, 0, OPT_LENGTH},
                                             {"channels", required_argument, 0, OPT_CHANNELS},
                                             {"outputs", required_argument, 0, OPT_OUTPUTS},
                                             {"model", required_argument, 0, OPT_SHAPE},
                                             {"keep", required_argument, 0, OPT_SHAPE},
                                             {"alpha", required_argument, 0, OPT_SHAPE},
                                             {"attn-keep", required_argument, 0, OPT_SHAPE},
                                             {"d-model", required_argument, 0, OPT_SHAPE},
                                             {"heads", required_argument, 0, OPT_SHAPE},
                                             {"layers", required_argument, 0, OPT_SHAPE},
                                             {"ffn", required_argument, 0, OPT_SHAPE},
                                             {"norm", required_argument, 0, OPT_SHAPE},
                                             {"pos", required_argument, 0, OPT_SHAPE},
                                             {"seed", required_argument, 0, OPT_SHAPE},
                                             {"dump", required_argument, 0, OPT_DUMP},
                                             {"graph", required_argument, 0, OPT_GRAPH},
                                             {"kernel", required_argument, 0, OPT_KERNEL},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};

/* "1,64" -> {1, 64}; each in [1, hi]. Returns the count, or -1. */
static int parse_list(const char *s, long hi, int *out) {
    int n = 0;
    char buf[256];
    if (strlen(s) >= sizeof buf) return -1;
    strcpy(buf, s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long v;
        if (n == MAX_LIST || tool_parse_int(tok, 1, hi, &v)) return -1;
        out[n++] = (int)v;
    }
    return n && s[strlen(s) - 1] != ',' ? n : -1;
}

static const char *const KERNEL_NAMES[3] = {"dense", "ternary-f32", "ternary-i8"};

/* --kernel dense|ternary-f32|ternary-i8|all; returns nonzero for a bad value. */
static int parse_kernels(const char *arg, options *o) {
    o->n_kernels = 0;
    for (int k = 0; k < 3; k++)
        if (!strcmp(arg, "all") || !strcmp(arg, KERNEL_NAMES[k]))
            o->kernels[o->n_kernels++] = (sbt_weight_kernel)k;
    return o->n_kernels == 0;
}

/* Shape and bench flags; returns 0 when applied, else the usage error's exit code. */
static int apply(options *o, int opt, const char *name, const char *arg) {
    long v;
    int bad = 0;
    switch (opt) {
    case OPT_ATTN:
        o->attn_given = 1;
        if (!strcmp(arg, "all"))
            o->attn_all = 1;
        else
            bad = tool_model_flag("attn", arg, &o->cfg) != 0;
        break;
    case OPT_BATCH: bad = (o->n_batches = parse_list(arg, 1 << 16, o->batches)) < 0; break;
    case OPT_THREADS: bad = (o->n_threads = parse_list(arg, 1024, o->threads)) < 0; break;
    case OPT_COUNTERS: o->counters = strcmp(arg, "none") ? arg : ""; break;
    case OPT_REPS: bad = tool_parse_int(arg, 1, MAX_REPS, &v) || !(o->repetitions = (int)v); break;
    case OPT_MIN_TIME: bad = tool_parse_double(arg, 0, 3600, &o->min_time); break;
    case OPT_CONV:
        bad = sbt_cost_convention_parse(arg) < 0 || ((o->convention = sbt_cost_convention_parse(arg)), 0);
        break;
    case OPT_JSON: o->json_path = arg; break;
    case OPT_DUMP: o->dump_dir = arg; break;
    case OPT_KERNEL: bad = parse_kernels(arg, o); break;
    case OPT_GRAPH:
        bad = strcmp(arg, "infer") && strcmp(arg, "train"), o->train_graph = !strcmp(arg, "train");
        break;
    case OPT_TASK: bad = tool_task_of(arg) < 0; break;
    case OPT_LENGTH: bad = tool_parse_int(arg, 1, 1 << 20, &v) || !(o->length = (int)v); break;
    case OPT_CHANNELS:
        bad = tool_parse_int(arg, 1, 1 << 20, &v) || !(o->cfg.channels = (int)v), o->channels_given = 1;
        break;
    case OPT_OUTPUTS:
        bad = tool_parse_int(arg, 1, 1 << 20, &v) || !(o->cfg.outputs = (int)v), o->outputs_given = 1;
        break;
    default: bad = tool_model_flag(name, arg, &o->cfg) != 0;
    }
    return bad ? tool_usage_error(TOOL, "invalid value '%s' for --%s", arg, name) : 0;
}

/* Returns -1 to continue, or an exit code. */
static int parse_args(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->cfg = sbt_config_default((sbt_task)tool_prescan_task(argc, argv));
    o->repetitions = 9;
    o->min_time = 0.05;
    o->counters = SBT_COUNTERS_DEFAULT;
    int opt, idx = 0, shape_flags = 0;
    while ((opt = getopt_long(argc, argv, "hV", LONG_OPTIONS, &idx)) != -1) {
        if (opt == 'h') return usage(), TOOL_EXIT_OK;
        if (opt == 'V') return tool_print_version(TOOL), TOOL_EXIT_OK;
        if (opt == '?') return tool_usage_hint(TOOL);
        int rc = apply(o, opt, LONG_OPTIONS[idx].name, optarg);
        if (rc) return rc;
        shape_flags += opt == OPT_SHAPE || opt == OPT_TASK || opt == OPT_CHANNELS || opt == OPT_OUTPUTS;
    }
    if (optind < argc) o->model_path = argv[optind++];
    if (optind < argc) return tool_usage_error(TOOL, "unexpected argument '%s'", argv[optind]);
    if (o->model_path && shape_flags)
        return tool_usage_error(
            TOOL, "give a model file or shape flags (--task, --model, --channels ...), not both");
    if (!o->model_path && (!o->channels_given || !o->outputs_given || !o->length))
        return tool_usage_error(TOOL,
                                "give a model file, or a shape with --channels, --outputs and --length");
    if (!o->n_batches) o->batches[0] = 1, o->n_batches = 1;
    if (!o->n_threads) o->threads[0] = 1, o->n_threads = 1;
    if (!o->n_kernels) o->kernels[0] = SBT_KERNEL_DENSE, o->n_kernels = 1;
    if (o->train_graph && (o->n_kernels > 1 || o->kernels[0] != SBT_KERNEL_DENSE))
        return tool_usage_error(TOOL, "--kernel applies to the frozen graph (--graph infer)");
    if (!o->model_path) o->cfg.max_len = o->length;
    return -1;
}

static int load_model(const options *o, sbt_model **m) {
    if (o->model_path) {
        sbt_anomaly_settings s = {0};
        sbt_status st = sbt_anomaly_model_load(o->model_path, m, &s);
        sbt_anomaly_settings_free(&s);
        return st ? tool_fail_lib(TOOL) : TOOL_EXIT_OK;
    }
    return sbt_model_new(&o->cfg, m) ? tool_fail_lib(TOOL) : TOOL_EXIT_OK;
}

static void model_name(const options *o, char *buf, size_t cap) {
    if (!o->model_path) {
        snprintf(buf, cap, "%s-%s", sbt_task_name(o->cfg.task), sbt_weights_name(o->cfg.weights));
        return;
    }
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", o->model_path);
    snprintf(buf, cap, "%s", basename(tmp));
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf) *dot = '\0';
}

typedef struct {
    sbt_gbench *json;
    sbt_counters *k;
    char name[128];
    int family, instance;
} bench_state;

/* The PyTorch peer's inputs for this variant: DIR/attn-<variant>/. */
static int dump_peer(const char *root, sbt_model *m, sbt_model_graph *mg) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%.4000s/attn-%s", root, sbt_attention_name(m->cfg.attention));
    if (mkdir(root, 0755) && errno != EEXIST)
        return fprintf(stderr, "%s: error: cannot create %s: %s\n", TOOL, root, strerror(errno)),
               TOOL_EXIT_RUNTIME;
    return sbt_bench_dump(m, mg, dir) ? tool_fail_lib(TOOL) : TOOL_EXIT_OK;
}

/* Both conventions of one variant: the chosen one goes to the flat keys macs, flops, bits;
 * macs_exact and macs_paper let sbt-report put them side by side. */
typedef struct {
    sbt_cost chosen;
    int64_t macs_exact, macs_paper;
} variant_cost;

static int report_point(const options *o, const sbt_model *m, const variant_cost *vc, int batch, int threads,
                        const sbt_forward_timing *t, bench_state *b);

/* Times one (variant, batch, threads) point and adds it to the JSON and the table. */
static int bench_point(const options *o, sbt_model *m, const variant_cost *vc, int batch, int threads,
                       bench_state *b) {
    sbt_set_threads(threads);
    sbt_model_graph mg;
    int length = o->length ? o->length : m->cfg.max_len;
    sbt_status built = o->train_graph ? sbt_model_graph_build(m, batch, length, &mg)
                                      : sbt_model_graph_build_infer(m, batch, length, &mg);
    if (built) return tool_fail_lib(TOOL);
    sbt_bench_fill_inputs(&mg, 12345);
    sbt_forward_timing t;
    sbt_status st = sbt_bench_forward(&mg, o->repetitions, o->min_time, b->k, &t);
    /* one dump per variant, from the first kernel (the peer runs the float weights) */
    int dump = !st && o->dump_dir && b->instance == 0 && m->kernel == o->kernels[0];
    int rc = dump ? dump_peer(o->dump_dir, m, &mg) : TOOL_EXIT_OK;
    sbt_model_graph_free(&mg);
    if (st) return tool_fail_lib(TOOL);
    if (!rc) rc = report_point(o, m, vc, batch, threads, &t, b);
    sbt_forward_timing_free(&t);
    return rc;
}

/* Adds one timed point to the JSON and the table. */
static int report_point(const options *o, const sbt_model *m, const variant_cost *vc, int batch, int threads,
                        const sbt_forward_timing *t, bench_state *b) {
    const sbt_cost_counts *c = &vc->chosen.total;
    sbt_gbench_counter counters[12 + SBT_COUNTERS_MAX] = {{"batch", batch, NULL},
                                                          {"params", (double)c->params, NULL},
                                                          {"nonzero", (double)c->params_nonzero, NULL},
                                                          {"bits", (double)c->bits_paper, NULL},
                                                          {"bits_f32", (double)c->bits_f32, NULL},
                                                          {"bits_entropy", c->bits_entropy, NULL},
                                                          {"macs", (double)c->macs_nonzero, NULL},
                                                          {"macs_dense", (double)c->macs_dense, NULL},
                                                          {"macs_exact", (double)vc->macs_exact, NULL},
                                                          {"macs_paper", (double)vc->macs_paper, NULL},
                                                          {"flops", (double)sbt_cost_flops(c), NULL},
                                                          {"nonlinear", (double)c->nonlinear, NULL}};
    int n = 12;
    for (int e = 0; e < sbt_counters_count(b->k); e++)
        counters[n++] = (sbt_gbench_counter){sbt_counters_name(b->k, e), 0, t->events + e * t->repetitions};
    char run[256];
    /* the dense kernel keeps the plain name that the PyTorch peer's names mirror */
    char impl[32];
    snprintf(impl, sizeof impl, "forward%s%s", m->kernel ? "-" : "",
             m->kernel ? KERNEL_NAMES[m->kernel] : "");
    snprintf(run, sizeof run, "%s/%s/attn:%s/batch:%d/threads:%d", impl, b->name,
             sbt_attention_name(m->cfg.attention), batch, threads);
    sbt_gbench_run r = {.name = run,
                        .family_index = b->family,
                        .per_family_instance_index = b->instance++,
                        .threads = threads,
                        .iterations = t->iterations,
                        .repetitions = o->repetitions,
                        .real_seconds = t->real_seconds,
                        .cpu_seconds = t->cpu_seconds,
                        .time_unit = "us",
                        .counters = counters,
                        .n_counters = n};
    if (sbt_gbench_add_run(b->json, &r)) return tool_fail_lib(TOOL);
    sbt_stats s = sbt_stats_of(t->real_seconds, o->repetitions);
    double gmacs = (double)c->macs_nonzero * batch / s.median * 1e-9;
    printf("%-10s %-12s %6d %8d %14.2f %8.1f %14.2f %14lld %10.3f", sbt_attention_name(m->cfg.attention),
           o->train_graph ? "(training)" : KERNEL_NAMES[m->kernel], batch, threads, s.median * 1e6,
           100.0 * s.cv, s.median * 1e6 / batch, (long long)c->macs_nonzero, gmacs);
    for (int e = 0; e < sbt_counters_count(b->k); e++) {
        sbt_stats es = sbt_stats_of(t->events + e * t->repetitions, o->repetitions);
        printf("  %s %.4g", sbt_counters_name(b->k, e), es.median);
    }
    printf("\n");
    return TOOL_EXIT_OK;
}

/* The variants to run: all four, the one asked for, or the model's own. */
static int variants(const options *o, const sbt_model *m, sbt_attention *out) {
    if (o->attn_all) {
        for (int i = 0; i < 4; i++) out[i] = (sbt_attention)i;
        return 4;
    }
    out[0] = o->attn_given ? o->cfg.attention : m->cfg.attention;
    return 1;
}

static int describe_counters(const options *o, bench_state *b) {
    if (sbt_counters_new(o->counters, &b->k)) return tool_fail_lib(TOOL);
    const char *names[SBT_COUNTERS_MAX], *reasons[SBT_COUNTERS_MAX], *counted[SBT_COUNTERS_MAX],
        *sources[SBT_COUNTERS_MAX];
    int refused = sbt_counters_refused(b->k), any_papi = 0;
    for (int i = 0; i < refused; i++) {
        names[i] = sbt_counters_refused_name(b->k, i), reasons[i] = sbt_counters_refused_reason(b->k, i);
        fprintf(stderr, "%s: cannot count %s: %s\n", TOOL, names[i], reasons[i]);
    }
    for (int i = 0; i < sbt_counters_count(b->k); i++) {
        counted[i] = sbt_counters_name(b->k, i), sources[i] = sbt_counters_source(b->k, i);
        any_papi |= !strcmp(sources[i], "papi");
    }
    const char *papi = sbt_counters_papi_version();
    sbt_gbench_context_string(b->json, "papi_version", papi);
    sbt_gbench_context_bool(b->json, "papi_hardware_counters", any_papi);
    sbt_gbench_context_pairs(b->json, "counters_refused", names, reasons, refused);
    sbt_gbench_context_pairs(b->json, "counters_counted", counted, sources, sbt_counters_count(b->k));
    return TOOL_EXIT_OK;
}

static void describe_model(const options *o, const sbt_model *m, bench_state *b) {
    char cfg[2048];
    sbt_gbench_context_string(b->json, "model", o->model_path ? o->model_path : "(shape flags, untrained)");
    if (!sbt_config_to_text(&m->cfg, cfg, sizeof cfg))
        sbt_gbench_context_string(b->json, "model_config", cfg);
    sbt_gbench_context_string(b->json, "cost_convention", sbt_cost_convention_name(o->convention));
    sbt_gbench_context_string(b->json, "timed",
                              "sbt_model_graph_build + sbt_graph_forward_until(output), eval mode");
    sbt_gbench_context_string(b->json, "cpu_time", "CLOCK_PROCESS_CPUTIME_ID: every thread of the process");
}

static void print_cost_line(const sbt_cost *c, sbt_attention a) {
    const sbt_cost_counts *t = &c->total;
    printf(
        "cost [%s, %s convention, one window of %lld steps]: %lld parameters (%lld non-zero, %lld ternary), "
        "%lld bits (paper), %lld bits (float32), %lld MACs (%lld dense), %lld FLOPs, %lld add/sub, %lld "
        "mults, "
        "%lld nonlinear\n",
        sbt_attention_name(a), sbt_cost_convention_name(c->convention), (long long)c->window,
        (long long)t->params, (long long)t->params_nonzero, (long long)t->params_ternary,
        (long long)t->bits_paper, (long long)t->bits_f32, (long long)t->macs_nonzero,
        (long long)t->macs_dense, (long long)sbt_cost_flops(t), (long long)t->addsub, (long long)t->mults,
        (long long)t->nonlinear);
}

static int run(const options *o, sbt_model *m, char *argv0) {
    bench_state b = {0};
    if (sbt_gbench_new(argv0, &b.json)) return tool_fail_lib(TOOL);
    int rc = describe_counters(o, &b);
    model_name(o, b.name, sizeof b.name);
    describe_model(o, m, &b);
    sbt_attention vars[4], own = m->cfg.attention;
    int nv = variants(o, m, vars);
    for (int v = 0; !rc && v < nv; v++) {
        /* the same weights, this variant's graph (a converted model keeps its own graph) */
        if (vars[v] != m->cfg.attention) {
            m->cfg.attention = vars[v];
            if (sbt_model_build_graph(m)) {
                fprintf(stderr, "%s: error: attention %s: %s (a converted model runs its own variant, %s)\n",
                        TOOL, sbt_attention_name(vars[v]), sbt_last_error(), sbt_attention_name(own));
                rc = TOOL_EXIT_RUNTIME;
                break;
            }
        }
        variant_cost vc;
        sbt_cost other;
        if (sbt_cost_model(m, o->length, o->convention, &vc.chosen)) {
            rc = tool_fail_lib(TOOL);
            break;
        }
        if (sbt_cost_model(m, o->length, o->convention == SBT_COST_EXACT ? SBT_COST_PAPER : SBT_COST_EXACT,
                           &other)) {
            sbt_cost_free(&vc.chosen);
            rc = tool_fail_lib(TOOL);
            break;
        }
        int exact_chosen = o->convention == SBT_COST_EXACT;
        vc.macs_exact = (exact_chosen ? &vc.chosen : &other)->total.macs_nonzero;
        vc.macs_paper = (exact_chosen ? &other : &vc.chosen)->total.macs_nonzero;
        sbt_cost_free(&other);
        print_cost_line(&vc.chosen, vars[v]);
        if (v == 0)
            printf("%-10s %-12s %6s %8s %14s %8s %14s %14s %10s  events (median per forward)\n", "attention",
                   "kernel", "batch", "threads", "forward (us)", "cv (%)", "window (us)", "MACs/window",
                   "GMAC/s");
        for (int kk = 0; !rc && kk < o->n_kernels; kk++) {
            m->kernel = o->kernels[kk];
            b.family = v * o->n_kernels + kk, b.instance = 0;
            for (int i = 0; !rc && i < o->n_batches; i++)
                for (int j = 0; !rc && j < o->n_threads; j++)
                    rc = bench_point(o, m, &vc, o->batches[i], o->threads[j], &b);
        }
        sbt_cost_free(&vc.chosen);
    }
    printf("times: median over %d repetitions; cv = stddev / mean; GMAC/s = MACs per window x batch / time\n",
           o->repetitions);
    if (!rc && o->json_path && sbt_gbench_write(b.json, o->json_path)) rc = tool_fail_lib(TOOL);
    sbt_counters_free(b.k);
    sbt_gbench_free(b.json);
    return rc;
}

int main(int argc, char **argv) {
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    sbt_model *m = NULL;
    rc = load_model(&o, &m);
    if (!rc) rc = run(&o, m, argv[0]);
    sbt_model_free(m);
    return rc;
}
