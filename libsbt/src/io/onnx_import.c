/* onnx_import.c - ONNX file -> sbt graph: parsing (protobuf-c), the value table, the
 * input binding and layout, folding of constant sub-graphs, and the node loop. The ops
 * that become graph nodes are emitted by onnx_emit.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/onnx_import.h"

static sbt_status import_once(const void *data, size_t size, const char *name, const sbt_onnx_options *opt,
                              sbt_onnx_model **out);

struct sbt_onnx_model {
    sbt_graph *g;
    sbt_graph *desc;    /* symbolic batch, or NULL (see note) */
    int batch_symbolic; /* the file's batch axis is symbolic */
    char note[512];
    int input, output, opset;
    char layout[OC_MAX_DIMS + 1];
    char input_name[SBT_NAME_MAX + 1], output_name[SBT_NAME_MAX + 1];
    float **buffers;
    size_t n_buffers;
};

sbt_onnx_options sbt_onnx_defaults(void) {
    sbt_onnx_options o = {1, 0, NULL};
    return o;
}

/* ---- the value table: names -> values, FNV-1a hashed ---- */

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

onnx_val *onnx_lookup(onnx_importer *im, const char *name) {
    if (!im->n_slots || !name) return NULL;
    for (size_t k = fnv1a(name) & (im->n_slots - 1);; k = (k + 1) & (im->n_slots - 1)) {
        if (im->slots[k] < 0) return NULL;
        if (!strcmp(im->vals[im->slots[k]].name, name)) return &im->vals[im->slots[k]];
    }
}

/* A new value named `name`; NULL when out of memory or already defined (ONNX graphs
 * are in SSA form: each name is produced once). */
static onnx_val *define(onnx_importer *im, const char *name) {
    if (onnx_lookup(im, name)) return NULL;
    if (im->n_vals + 1 > im->n_slots / 2) { /* grow and rehash */
        size_t n = im->n_slots ? 2 * im->n_slots : 1024;
        int *slots = malloc(n * sizeof *slots);
        if (!slots) return NULL;
        memset(slots, 0xff, n * sizeof *slots);
        for (size_t v = 0; v < im->n_vals; v++) {
            size_t k = fnv1a(im->vals[v].name) & (n - 1);
            while (slots[k] >= 0) k = (k + 1) & (n - 1);
            slots[k] = (int)v;
        }
        free(im->slots);
        im->slots = slots;
        im->n_slots = n;
    }
    if (im->n_vals == im->cap_vals) {
        size_t cap = im->cap_vals ? 2 * im->cap_vals : 512;
        onnx_val *vals = realloc(im->vals, cap * sizeof *vals);
        if (!vals) return NULL;
        im->vals = vals;
        im->cap_vals = cap;
    }
    size_t k = fnv1a(name) & (im->n_slots - 1);
    while (im->slots[k] >= 0) k = (k + 1) & (im->n_slots - 1);
    im->slots[k] = (int)im->n_vals;
    onnx_val *v = &im->vals[im->n_vals++];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->node = -1;
    return v;
}

float *onnx_buffer(onnx_importer *im, int64_t n) {
    if (im->n_buffers == im->cap_buffers) {
        size_t cap = im->cap_buffers ? 2 * im->cap_buffers : 64;
        float **b = realloc(im->buffers, cap * sizeof *b);
        if (!b) return NULL;
        im->buffers = b;
        im->cap_buffers = cap;
    }
    float *p = calloc((size_t)(n > 0 ? n : 1), sizeof *p);
    if (p) im->buffers[im->n_buffers++] = p;
    return p;
}

sbt_status onnx_node_fail(onnx_importer *im, sbt_status code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const Onnx__NodeProto *n = im->node;
    return sbt_fail(code, "%s: node '%s' (op %s, opset %d): %s", im->file, n && n->name ? n->name : "",
                    n && n->op_type ? n->op_type : "?", im->opset, msg);
}

static void importer_release(onnx_importer *im) {
    for (size_t v = 0; v < im->n_vals; v++) oc_free(im->vals[v].c);
    free(im->vals);
    free(im->slots);
    for (size_t b = 0; b < im->n_buffers; b++) free(im->buffers[b]);
    free(im->buffers);
    sbt_graph_free(im->g);
}

/* ---- model-level checks ---- */

static int default_opset(const Onnx__ModelProto *mp) {
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        if ((!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")) && o->has_version)
            return (int)o->version;
    }
    return -1;
}

static sbt_status read_initializers(onnx_importer *im, const Onnx__GraphProto *gp) {
    if (gp->n_sparse_initializer)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "%s: sparse initializers are not supported", im->file);
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        if (!t->name || !t->name[0])
            return sbt_fail(SBT_ERR_FORMAT, "%s: initializer %zu has no name", im->file, i);
        char what[SBT_NAME_MAX + 600];
        snprintf(what, sizeof what, "%s: initializer '%.*s'", im->file, SBT_NAME_MAX, t->name);
        onnx_val *v = define(im, t->name);
        if (!v) return sbt_fail(SBT_ERR_FORMAT, "%s: defined twice (or out of memory)", what);
        sbt_status st = oc_from_proto(t, what, &v->c);
        if (st != SBT_OK) return st;
        v->kind = V_CONST;
        v->from_init = 1;
    }
    return SBT_OK;
}

/* Layout letters from which axes were symbolic: the first symbolic axis is the batch,
 * the last other axis the channels, the remaining one the time. */
static void tell_layout(int ndim, const int *symbolic, char *layout) {
    int batch = -1;
    for (int d = 0; d < ndim && batch < 0; d++)
        if (symbolic[d]) batch = d;
    if (batch < 0) batch = 0;
    int channel = ndim - 1 == batch ? ndim - 2 : ndim - 1;
    for (int d = 0; d < ndim; d++) layout[d] = d == batch ? 'B' : d == channel ? 'C' : 'T';
    layout[ndim] = 0;
}

static sbt_status bind_input(onnx_importer *im, const Onnx__ValueInfoProto *vi, const sbt_onnx_options *opt,
                             sbt_onnx_model *m) {
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
        !tp->tensor_type->shape)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "%s: input '%s' is not a tensor of known rank", im->file,
                        vi->name);
    if (oc_type_is_float(tp->tensor_type->elem_type) != 1)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "%s: input '%s' is not floating point", im->file, vi->name);
    const Onnx__TensorShapeProto *sp = tp->tensor_type->shape;
    int ndim = (int)sp->n_dim, symbolic[OC_MAX_DIMS] = {0};
    if (ndim < 1 || ndim > SBT_MAX_DIMS)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "%s: input '%s' has rank %d (1..%d supported)", im->file,
                        vi->name, ndim, SBT_MAX_DIMS);
    int64_t shape[SBT_MAX_DIMS];
    for (int d = 0; d < ndim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = sp->dim[d];
        symbolic[d] = dim->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        shape[d] = symbolic[d] ? -1 : dim->dim_value;
        if (!symbolic[d] && shape[d] < 1)
            return sbt_fail(SBT_ERR_FORMAT, "%s: input '%s' axis %d has size %lld", im->file, vi->name, d,
                            (long long)shape[d]);
    }
    tell_layout(ndim, symbolic, m->layout);
    m->batch_symbolic = strchr(m->layout, 'B') && symbolic[strchr(m->layout, 'B') - m->layout];
    if (opt->layout) {
        if (strlen(opt->layout) != (size_t)ndim || strspn(opt->layout, "BTC") != (size_t)ndim)
            return sbt_fail(SBT_ERR_ARG, "%s: layout '%s' does not fit input '%s' of rank %d", im->file,
                            opt->layout, vi->name, ndim);
        strcpy(m->layout, opt->layout);
    }
    for (int d = 0; d < ndim; d++) {
        if (!symbolic[d]) continue;
        int64_t bound = m->layout[d] == 'B' ? opt->batch : opt->length;
        if (bound < 1)
            return sbt_fail(
                SBT_ERR_ARG,
                "%s: input '%s' axis %d is dynamic and cannot be folded: give its %s (opt.length)", im->file,
                vi->name, d, m->layout[d] == 'B' ? "batch" : "length");
        shape[d] = bound;
    }
    if (sbt_shape_numel(ndim, shape) < 0 || sbt_shape_numel(ndim, shape) > ONNX_MAX_GRAPH_VALUES)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "%s: input '%s' is too large", im->file, vi->name);
    onnx_val *v = define(im, vi->name);
    if (!v) return sbt_fail(SBT_ERR_FORMAT, "%s: input '%s' defined twice", im->file, vi->name);
    v->kind = V_NODE;
    v->node = sbt_input(im->g, vi->name, ndim, shape);
    snprintf(m->input_name, sizeof m->input_name, "%s", vi->name);
    return v->node < 0 ? sbt_fail(SBT_ERR_ARG, "%s: input '%s': bad shape", im->file, vi->name) : SBT_OK;
}

/* The graph inputs that are not initializers: exactly one is supported. */
static sbt_status bind_inputs(onnx_importer *im, const Onnx__GraphProto *gp, const sbt_onnx_options *opt,
                              sbt_onnx_model *m) {
    const Onnx__ValueInfoProto *data = NULL;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !vi->name[0])
            return sbt_fail(SBT_ERR_FORMAT, "%s: input %zu has no name", im->file, i);
        onnx_val *v = onnx_lookup(im, vi->name);
        if (v && v->kind == V_CONST) continue; /* an initializer listed as input (IR < 4) */
        if (data)
            return sbt_fail(SBT_ERR_UNSUPPORTED, "%s: several data inputs ('%s', '%s'); one is supported",
                            im->file, data->name, vi->name);
        data = vi;
    }
    if (!data) return sbt_fail(SBT_ERR_FORMAT, "%s: the graph has no data input", im->file);
    return bind_input(im, data, opt, m);
}

/* ---- the node loop ---- */

static sbt_status constant_node(onnx_importer *im, const Onnx__NodeProto *n, onnx_val *out) {
    const Onnx__AttributeProto *a = n->n_attribute == 1 ? n->attribute[0] : NULL;
    if (!a || !a->name) return onnx_node_fail(im, SBT_ERR_FORMAT, "Constant needs exactly one attribute");
    if (!strcmp(a->name, "value") && a->t) return oc_from_proto(a->t, im->where, &out->c);
    int is_int = !strcmp(a->name, "value_int") || !strcmp(a->name, "value_ints");
    int list = !strcmp(a->name, "value_ints") || !strcmp(a->name, "value_floats");
    if (!is_int && strcmp(a->name, "value_float") && strcmp(a->name, "value_floats"))
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "Constant attribute '%s' is not supported", a->name);
    int64_t n_el = list ? (int64_t)(is_int ? a->n_ints : a->n_floats) : 1;
    out->c = oc_new(is_int, list, &n_el);
    if (!out->c) return onnx_node_fail(im, SBT_ERR_NOMEM, "out of memory");
    for (int64_t k = 0; k < n_el; k++) {
        if (is_int)
            out->c->i[k] = list ? a->ints[k] : a->i;
        else
            out->c->f[k] = list ? a->floats[k] : a->f;
    }
    return SBT_OK;
}

/* Shape (and Size) of a graph node: known at import, so folded. */
static sbt_status shape_of_node(onnx_importer *im, const Onnx__NodeProto *n, int node, onnx_val *out) {
    oc_tensor probe = {0};
    probe.ndim = sbt_node_ndim(im->g, node);
    probe.n = sbt_node_size(im->g, node);
    for (int d = 0; d < probe.ndim; d++) probe.shape[d] = sbt_node_dim(im->g, node, d);
    oc_tensor *in[1] = {&probe};
    return oc_eval(n, im->opset, in, 1, im->where, &out->c);
}

static sbt_status import_node(onnx_importer *im, const Onnx__NodeProto *n) {
    im->node = n;
    snprintf(im->where, sizeof im->where, "%s: node '%s' (op %s, opset %d)", im->file, n->name ? n->name : "",
             n->op_type ? n->op_type : "?", im->opset);
    if (!n->op_type || (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx")))
        return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "op of domain '%s' is not supported",
                              n->domain ? n->domain : "");
    if (n->n_output < 1 || !n->output[0] || !n->output[0][0])
        return onnx_node_fail(im, SBT_ERR_FORMAT, "node without output");
    if (n->n_input > 64) return onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "too many inputs");
    onnx_val *in[64] = {0};
    oc_tensor *cin[64] = {0};
    int all_const = 1;
    for (size_t i = 0; i < n->n_input; i++) {
        if (!n->input[i][0]) continue; /* absent optional input */
        in[i] = onnx_lookup(im, n->input[i]);
        if (!in[i] || in[i]->kind == V_UNSET)
            return onnx_node_fail(im, SBT_ERR_FORMAT, "input '%s' is not defined before use", n->input[i]);
        all_const &= in[i]->kind == V_CONST;
        cin[i] = in[i]->c;
    }
    /* Compute the result before defining the output: a node may reuse an input name. */
    onnx_val res = {.name = n->output[0], .node = -1};
    sbt_status st;
    if (!strcmp(n->op_type, "Constant")) {
        st = constant_node(im, n, &res);
        res.kind = V_CONST;
    } else if ((!strcmp(n->op_type, "Shape") || !strcmp(n->op_type, "Size")) && in[0] &&
               in[0]->kind != V_CONST) {
        int node = onnx_node_of(im, in[0]);
        st = node < 0 ? SBT_ERR_ARG : shape_of_node(im, n, node, &res);
        res.kind = V_CONST;
    } else if (all_const) {
        st = oc_eval(n, im->opset, cin, (int)n->n_input, im->where, &res.c);
        if (st == SBT_ERR_UNSUPPORTED && !res.c)
            st = onnx_node_fail(im, SBT_ERR_UNSUPPORTED, "unsupported op (on constants)");
        res.kind = V_CONST;
        /* Folded from a weight (a slice of a position table, a transposed matrix): still a
         * weight. Shape arithmetic never starts from one. */
        for (size_t i = 0; i < n->n_input; i++)
            res.from_init |= in[i] && in[i]->from_init && res.c && !res.c->is_int;
    } else {
        st = onnx_emit(im, in, (int)n->n_input, &res);
    }
    if (st != SBT_OK) return oc_free(res.c), st;
    onnx_val *out = define(im, n->output[0]);
    if (!out)
        return oc_free(res.c), onnx_node_fail(im, SBT_ERR_FORMAT, "output '%s' defined twice", n->output[0]);
    *out = res;
    return SBT_OK;
}

static sbt_status import_graph(onnx_importer *im, const Onnx__ModelProto *mp, const sbt_onnx_options *opt,
                               sbt_onnx_model *m) {
    const Onnx__GraphProto *gp = mp->graph;
    if (!gp) return sbt_fail(SBT_ERR_FORMAT, "%s: no graph (not an ONNX model?)", im->file);
    im->opset = default_opset(mp);
    if (im->opset < 7 || im->opset > 21)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "%s: opset %d is not supported (7..21)", im->file, im->opset);
    sbt_status st = read_initializers(im, gp);
    if (st == SBT_OK) st = bind_inputs(im, gp, opt, m);
    for (size_t i = 0; st == SBT_OK && i < gp->n_node; i++) st = import_node(im, gp->node[i]);
    if (st != SBT_OK) return st;
    im->node = NULL;
    if (gp->n_output != 1 || !gp->output[0]->name)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "%s: %zu graph outputs; one is supported", im->file,
                        gp->n_output);
    onnx_val *y = onnx_lookup(im, gp->output[0]->name);
    if (!y || y->kind == V_UNSET)
        return sbt_fail(SBT_ERR_FORMAT, "%s: output '%s' is never computed", im->file, gp->output[0]->name);
    if (y->kind == V_CONST)
        return sbt_fail(SBT_ERR_UNSUPPORTED, "%s: output '%s' does not depend on the input", im->file,
                        gp->output[0]->name);
    snprintf(im->where, sizeof im->where, "%s: output '%s'", im->file, gp->output[0]->name);
    m->output = onnx_node_of(im, y);
    if (m->output < 0) return sbt_fail(SBT_ERR_UNSUPPORTED, "%s", sbt_last_error());
    snprintf(m->output_name, sizeof m->output_name, "%s", gp->output[0]->name);
    m->input = onnx_lookup(im, m->input_name)->node;
    if (sbt_graph_finalize(im->g) != SBT_OK)
        return sbt_fail(SBT_ERR_SHAPE, "%s: building the graph: %s", im->file, sbt_last_error());
    return SBT_OK;
}

/* The same file imported at batch + 1 against m: a description with a symbolic batch. */
static void describe(const void *data, size_t size, const char *name, const sbt_onnx_options *opt,
                     sbt_onnx_model *m) {
    if (!m->batch_symbolic) {
        snprintf(m->note, sizeof m->note, "the file's batch axis is fixed");
        return;
    }
    sbt_onnx_options probe = *opt;
    probe.batch = opt->batch + 1;
    sbt_onnx_model *m2 = NULL;
    if (import_once(data, size, name, &probe, &m2) != SBT_OK) {
        snprintf(m->note, sizeof m->note, "at batch %lld: %s", (long long)probe.batch, sbt_last_error());
        return;
    }
    int batch_axis = (int)(strchr(m->layout, 'B') - m->layout);
    m->desc = onnx_symbolic_description(m->g, m2->g, opt->batch, m->input, m->output, batch_axis, m->note,
                                        sizeof m->note);
    sbt_onnx_model_free(m2);
}

sbt_status sbt_onnx_import_bytes(const void *data, size_t size, const char *name, const sbt_onnx_options *opt,
                                 sbt_onnx_model **out) {
    sbt_onnx_options defaults = sbt_onnx_defaults();
    if (!opt) opt = &defaults;
    sbt_status st = import_once(data, size, name, opt, out);
    if (st == SBT_OK) describe(data, size, name, opt, *out);
    return st;
}

static sbt_status import_once(const void *data, size_t size, const char *name, const sbt_onnx_options *opt,
                              sbt_onnx_model **out) {
    *out = NULL;
    sbt_onnx_options defaults = sbt_onnx_defaults();
    if (!opt) opt = &defaults;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, data);
    if (!mp) return sbt_fail(SBT_ERR_FORMAT, "%s: not a valid ONNX protobuf (truncated or corrupt)", name);
    sbt_onnx_model *m = calloc(1, sizeof *m);
    onnx_importer im = {.file = name, .g = sbt_graph_new()};
    sbt_status st =
        m && im.g ? import_graph(&im, mp, opt, m) : sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", name);
    onnx__model_proto__free_unpacked(mp, NULL);
    if (st != SBT_OK) {
        importer_release(&im);
        free(m);
        return st;
    }
    m->g = im.g;
    m->opset = im.opset;
    m->buffers = im.buffers;
    m->n_buffers = im.n_buffers;
    im.g = NULL;
    im.buffers = NULL;
    im.n_buffers = 0;
    importer_release(&im);
    *out = m;
    return SBT_OK;
}

sbt_status sbt_onnx_import(const char *path, const sbt_onnx_options *opt, sbt_onnx_model **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return sbt_fail(SBT_ERR_IO, "%s: cannot open", path);
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap) {
            unsigned char *b = cap > ((size_t)1 << 34) ? NULL : realloc(buf, cap * 2);
            if (!b) free(buf);
            buf = b;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) return sbt_fail(SBT_ERR_NOMEM, "%s: too large or out of memory", path);
    if (err) return free(buf), sbt_fail(SBT_ERR_IO, "%s: read error", path);
    sbt_status st = sbt_onnx_import_bytes(buf, len, path, opt, out);
    free(buf);
    return st;
}

void sbt_onnx_model_free(sbt_onnx_model *m) {
    if (!m) return;
    sbt_graph_free(m->g);
    sbt_graph_free(m->desc);
    for (size_t b = 0; b < m->n_buffers; b++) free(m->buffers[b]);
    free(m->buffers);
    free(m);
}

sbt_graph *sbt_onnx_graph(const sbt_onnx_model *m) { return m->g; }
const sbt_graph *sbt_onnx_description(const sbt_onnx_model *m) { return m->desc; }
const char *sbt_onnx_description_note(const sbt_onnx_model *m) { return m->desc ? "" : m->note; }
int sbt_onnx_input(const sbt_onnx_model *m) { return m->input; }
int sbt_onnx_output(const sbt_onnx_model *m) { return m->output; }
const char *sbt_onnx_layout(const sbt_onnx_model *m) { return m->layout; }
int sbt_onnx_opset(const sbt_onnx_model *m) { return m->opset; }
const char *sbt_onnx_input_name(const sbt_onnx_model *m) { return m->input_name; }
const char *sbt_onnx_output_name(const sbt_onnx_model *m) { return m->output_name; }
