/* sbt-export: pack a model into the deployable .sbt file (formats/sbt.md) and report the
 * bytes, bits per weight and entropy bound of every section; or, for an .onnx output,
 * write the model's forward-only graph as ONNX (sbt/onnx.h) and report its size. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbt/c_export.h"
#include "sbt/model_pack.h"
#include "sbt/onnx.h"
#include "tool_common.h"

static const char *const TOOL = "sbt-export";

static void usage(void) {
    printf("Usage: %s MODEL -o OUT.sbt [--encoding ENC] [--zlib] [--json]\n"
           "       %s MODEL -o OUT.onnx [--length T] [--float] [--json]\n"
           "       %s MODEL -o OUT.c [--length T] [--prefix NAME]\n"
           "Pack a model (.sbtm, or .sbt) into a deployable .sbt file: sparse-binary layers as their\n"
           "keep mask (the frozen signs come back from the seed), everything else as float32. Prints\n"
           "every section's encoding, bytes, bits per weight and entropy bound, and the ratio to the\n"
           "same file with every tensor in float32. The output is written atomically.\n\n"
           "  -o, --output FILE   the .sbt file to write\n"
           "  --encoding ENC      default: each tensor in the smallest exact encoding (masks the\n"
           "                      smaller of seed-mask-coded and seed-mask, floats f32). Or force:\n"
           "                      seed-mask-coded or seed-mask (masks), f16 (other float tensors\n"
           "                      rounded to float16: not exact), f32 (every tensor float32, scores\n"
           "                      included: the baseline)\n"
           "  --zlib              deflate every section as well\n"
           "  --json              one JSON object instead of text\n"
           "An .onnx output is the model's forward-only graph (opset 17, symbolic batch, T steps:\n"
           "--length, default the model's max_len) with its inputs x, and the masks if it reads\n"
           "them; ternary Linear weights (binarised, SBT) as int8 codes and a scale through\n"
           "DequantizeLinear unless --float. Reports its size beside the all-float32 ONNX.\n"
           "A .c output (with OUT.h beside it) is dependency-free C99 for microcontrollers: the\n"
           "weights as static const arrays (ternary layers as base-3 codes, 5 weights a byte, and an alpha "
           "per row), one\n"
           "static arena sized at export, and int NAME_predict(window, steps, out) (sbt/c_export.h);\n"
           "--prefix NAME (default sbt_model). Reports the bytes of weights (flash) and arena (RAM).\n"
           "  -h, --help          this help      -V, --version   the version\n\n"
           "Example:\n"
           "  %s jv.sbtm -o jv.sbt\n"
           "  %s jv.sbtm -o jv.onnx\n"
           "  %s smd.sbtm -o smd.c --prefix smd\n",
           TOOL, TOOL, TOOL, TOOL, TOOL, TOOL);
}

static double bits_per(double bits, int64_t n) { return n > 0 ? bits / (double)n : 0; }

static void print_text(const char *out, const sbt_packfile *pf, size_t f32_bytes) {
    tool_print_packfile(out, pf);
    printf("float32 file %zu bytes: %.2fx smaller\n", f32_bytes,
           (double)f32_bytes / (double)sbt_packfile_size(pf));
}

static int print_json(const char *out, const sbt_packfile *pf, size_t f32_bytes) {
    size_t total = sbt_packfile_size(pf);
    cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "sections");
    tool_json_string(root, "file", out);
    cJSON_AddNumberToObject(root, "bytes", (double)total);
    cJSON_AddNumberToObject(root, "f32_bytes", (double)f32_bytes);
    tool_json_float(root, "ratio_to_f32", (double)f32_bytes / (double)total);
    for (int i = 0; list && i < sbt_packfile_count(pf); i++) {
        const sbt_pack_section *s = sbt_packfile_at(pf, i);
        cJSON *o = cJSON_CreateObject();
        tool_json_string(o, "name", s->name);
        cJSON_AddStringToObject(o, "encoding", sbt_encoding_name(s->encoding));
        cJSON_AddNumberToObject(o, "elements", (double)s->count);
        cJSON_AddNumberToObject(o, "bytes", (double)s->stored_bytes);
        cJSON_AddNumberToObject(o, "table_bytes", (double)sbt_packfile_entry_size(pf, i));
        tool_json_float(o, "bits_per_element", bits_per(8.0 * (double)s->stored_bytes, s->count));
        tool_json_float(o, "bound_bits", sbt_packfile_bound_bits(s));
        cJSON_AddItemToArray(list, o);
    }
    return tool_json_print(TOOL, root);
}

static int parse_encoding(const char *s, sbt_model_pack_options *o) {
    sbt_encoding e;
    if (sbt_encoding_parse(s, &e)) return -1;
    if (e == SBT_ENC_SEED_MASK || e == SBT_ENC_SEED_MASK_CODED)
        o->mask_encoding = e;
    else if (e == SBT_ENC_F16)
        o->float_encoding = e;
    else if (e == SBT_ENC_F32)
        o->mask_encoding = o->float_encoding = e;
    else
        return -1;
    return 0;
}

/* MODEL -> OUT.onnx: the forward-only graph at batch 1 (symbolic in the file), T steps. */
static int export_onnx(const char *in, const char *out, int length, int float_only, int json) {
    sbt_model *m = NULL; /* .sbtm, .sbt, or an ONNX classifier (re-exported, e.g. with ternary weights) */
    if (tool_load_model(TOOL, in, SBT_TASK_CLASSIFY, &m, NULL)) return TOOL_EXIT_RUNTIME;
    sbt_onnx_export_stats st;
    size_t f32_bytes = 0;
    int rc = tool_write_onnx(TOOL, m, out, length, float_only, &st, &f32_bytes);
    sbt_model_free(m);
    if (rc) return rc;
    double ratio = (double)f32_bytes / (double)st.file_bytes;
    if (json) {
        cJSON *root = cJSON_CreateObject();
        tool_json_string(root, "file", out);
        cJSON_AddStringToObject(root, "format", "onnx");
        cJSON_AddNumberToObject(root, "bytes", (double)st.file_bytes);
        cJSON_AddNumberToObject(root, "f32_bytes", (double)f32_bytes);
        tool_json_float(root, "ratio_to_f32", ratio);
        cJSON_AddNumberToObject(root, "ternary_layers", st.ternary_layers);
        cJSON_AddNumberToObject(root, "float_layers", st.float_layers);
        return tool_json_print(TOOL, root);
    } else
        printf("%s: ONNX (opset 17), %zu bytes; %d Linear weights as int8 ternary codes, %d as float32\n"
               "float32 ONNX %zu bytes: %.2fx smaller\n",
               out, st.file_bytes, st.ternary_layers, st.float_layers, f32_bytes, ratio);
    return TOOL_EXIT_OK;
}

/* MODEL -> OUT.c and OUT.h: C99 source of the forward-only graph at batch 1, T steps. */
static int export_c(const char *in, const char *out, int length, const char *prefix) {
    size_t n = strlen(out);
    char *h_path = malloc(n + 1);
    if (!h_path) return TOOL_EXIT_RUNTIME;
    memcpy(h_path, out, n + 1);
    h_path[n - 1] = 'h';
    sbt_model *m = NULL;
    int rc = tool_check_output(TOOL, h_path) || tool_load_model(TOOL, in, SBT_TASK_CLASSIFY, &m, NULL);
    sbt_c_export_options o = {.prefix = prefix, .length = length};
    sbt_c_export_stats st;
    if (!rc && sbt_c_export(m, &o, out, h_path, &st)) rc = tool_fail_lib(TOOL);
    if (!rc)
        printf("%s, %s: C99; %d Linear layers as ternary codes (1.6 bits a weight), %d as float32; %zu bytes "
               "of weights "
               "(flash), %zu bytes of activations (RAM)\n",
               out, h_path, st.ternary_layers, st.float_layers, st.weight_bytes, st.arena_bytes);
    sbt_model_free(m);
    free(h_path);
    return rc ? TOOL_EXIT_RUNTIME : TOOL_EXIT_OK;
}

int main(int argc, char **argv) {
    static const struct option longs[] = {
        {"output", required_argument, 0, 'o'}, {"encoding", required_argument, 0, 'e'},
        {"zlib", no_argument, 0, 'z'},         {"json", no_argument, 0, 'j'},
        {"length", required_argument, 0, 'l'}, {"float", no_argument, 0, 'f'},
        {"prefix", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},      {0, 0, 0, 0}};
    const char *out = NULL, *prefix = NULL;
    int json = 0, c, length = 0, float_only = 0;
    sbt_model_pack_options opt = {0, 0, 0};
    while ((c = getopt_long(argc, argv, "o:hV", longs, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'e':
            if (parse_encoding(optarg, &opt))
                return tool_usage_error(
                    TOOL, "--encoding: '%s' is not seed-mask-coded, seed-mask, f16 or f32", optarg);
            break;
        case 'z': opt.flags |= SBT_PACK_ZLIB; break;
        case 'j': json = 1; break;
        case 'l': {
            long v;
            if (tool_parse_int(optarg, 1, 1 << 20, &v))
                return tool_usage_error(TOOL, "--length: '%s' is not an integer in [1, 1048576]", optarg);
            length = (int)v;
            break;
        }
        case 'f': float_only = 1; break;
        case 'p': prefix = optarg; break;
        case 'h': usage(); return TOOL_EXIT_OK;
        case 'V': tool_print_version(TOOL); return TOOL_EXIT_OK;
        default: return tool_usage_error(TOOL, "unknown option");
        }
    }
    if (optind != argc - 1) return tool_usage_error(TOOL, "expected one MODEL argument");
    if (!out) return tool_usage_error(TOOL, "-o OUT.sbt is required");
    const char *in = argv[optind];
    if (tool_has_suffix(out, ".onnx")) return export_onnx(in, out, length, float_only, json);
    if (tool_has_suffix(out, ".c")) return export_c(in, out, length, prefix);
    sbt_model *m = NULL;
    sbt_container *c_in = NULL; /* every section of the input, task settings included */
    if (sbt_model_read_file(in, &m, &c_in)) return tool_fail_lib(TOOL);
    sbt_packfile *pf = NULL, *f32 = NULL;
    sbt_model_pack_options all_f32 = {SBT_ENC_F32, SBT_ENC_F32, 0};
    sbt_status st = sbt_model_pack_container(c_in, m, &opt, &pf);
    if (!st) st = sbt_model_pack_container(c_in, m, &all_f32, &f32);
    if (!st) st = sbt_packfile_write(pf, out);
    int rc = st ? tool_fail_lib(TOOL) : TOOL_EXIT_OK;
    if (!st && json) rc = print_json(out, pf, sbt_packfile_size(f32));
    if (!st && !json) print_text(out, pf, sbt_packfile_size(f32));
    sbt_packfile_free(pf);
    sbt_packfile_free(f32);
    sbt_container_free(c_in);
    sbt_model_free(m);
    return rc;
}
