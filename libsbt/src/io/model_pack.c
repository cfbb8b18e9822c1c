/* model_pack.c - a model to a .sbt file and back (sbt/model_pack.h).
 *
 * Both directions go through the model's container form (sbt_model_to_container /
 * sbt_model_from_container), so the .sbt holds exactly what a model file holds, section
 * for section, except that sparse-weight scores become their keep mask. The mask is what
 * the top-k of the scores selects (sbt_biprop_select with the layer's keep), and loading
 * gives back scores in {0, 1} with exactly k ones, whose top-k is the same mask.
 */
#include "sbt/model_pack.h"

#include "sbt/biprop.h"
#include "sbt/container.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sbt_model_sparse_scores(const sbt_model *m, const char *name, float *keep, int *per_row) {
    const sbt_graph *g = m ? m->graph : NULL;
    for (int id = 0; g && id < sbt_graph_count(g); id++) {
        if (sbt_node_op(g, id) != SBT_OP_SPARSE_WEIGHT) continue;
        const sbt_attr *at = sbt_node_attr(g, id);
        if (at->sparse.mode == SBT_SPARSE_BINARIZE || sbt_node_input_count(g, id) < 2) continue;
        if (strcmp(sbt_node_name(g, sbt_node_input(g, id, 0)), name)) continue;
        if (keep) *keep = at->sparse.keep;
        if (per_row) *per_row = at->sparse.per_row_alpha;
        return 1;
    }
    return 0;
}

/* The alpha(s) the layer uses: mean |W| over the kept entries of the layer or of each row.
 * W is the node's second input; a W that is not a tensor of the model gives alpha 0 (the
 * section's alpha is informative only: loading recomputes it from W). */
static void layer_alpha(const sbt_model *m, const char *scores_name, const float *mask_f, int64_t rows,
                        int64_t cols, int per_row, float *alpha) {
    const sbt_graph *g = m->graph;
    const float *w = NULL;
    for (int id = 0; id < sbt_graph_count(g) && !w; id++) {
        if (sbt_node_op(g, id) != SBT_OP_SPARSE_WEIGHT || sbt_node_input_count(g, id) < 2) continue;
        if (strcmp(sbt_node_name(g, sbt_node_input(g, id, 0)), scores_name)) continue;
        const sbt_tensor_info *ti = sbt_model_tensor(m, sbt_node_name(g, sbt_node_input(g, id, 1)));
        if (ti && ti->size == rows * cols) w = m->values + ti->offset;
    }
    for (int64_t r = 0; r < (per_row ? rows : 1); r++)
        alpha[r] = !w        ? 0.0f
                   : per_row ? sbt_biprop_alpha(w + r * cols, mask_f + r * cols, cols)
                             : sbt_biprop_alpha(w, mask_f, rows * cols);
}

/* The smaller of seed-mask-coded and seed-mask for this mask, both as they would be stored
 * (with `flags`, so a plain mask may be deflated); seed-mask-coded when the other fails. At
 * keep near 0.5 the plain bits win by the coder's few flush bytes. */
static sbt_encoding smallest_mask_encoding(const sbt_section *s, const uint8_t *mask, const float *alpha,
                                           int per_row, unsigned flags) {
    const sbt_encoding candidates[2] = {SBT_ENC_SEED_MASK_CODED, SBT_ENC_SEED_MASK};
    size_t best = SIZE_MAX;
    sbt_encoding pick = SBT_ENC_SEED_MASK_CODED;
    for (int i = 0; i < 2; i++) {
        sbt_packfile *one = sbt_packfile_new();
        if (one &&
            !sbt_packfile_add_mask(one, s->name, candidates[i], s->ndim, s->shape, mask, alpha, per_row,
                                   flags) &&
            sbt_packfile_size(one) < best) {
            best = sbt_packfile_size(one);
            pick = candidates[i];
        }
        sbt_packfile_free(one);
    }
    return pick;
}

static sbt_status add_mask_section(sbt_packfile *pf, const sbt_model *m, const sbt_section *s, float keep,
                                   int per_row, sbt_encoding enc, unsigned flags) {
    int64_t n = s->count, rows = s->ndim ? s->shape[0] : 1, cols = rows ? n / rows : 0;
    float *mask_f = malloc((size_t)n * sizeof *mask_f + 1),
          *alpha = malloc((size_t)(rows > 1 ? rows : 1) * 4);
    int32_t *scratch = malloc((size_t)n * sizeof *scratch + 1);
    uint8_t *mask = malloc((size_t)n + 1);
    sbt_status st = SBT_OK;
    if (!mask_f || !alpha || !scratch || !mask) {
        st = sbt_fail(SBT_ERR_NOMEM, "sbt: section '%s': out of memory", s->name);
    } else {
        if (n) sbt_biprop_select(s->data, n, sbt_biprop_keep_count(keep, n), mask_f, scratch);
        for (int64_t i = 0; i < n; i++) mask[i] = mask_f[i] != 0.0f;
        layer_alpha(m, s->name, mask_f, rows, cols, per_row, alpha);
        if (!enc) enc = smallest_mask_encoding(s, mask, alpha, per_row, flags);
        st = sbt_packfile_add_mask(pf, s->name, enc, s->ndim, s->shape, mask, alpha, per_row, flags);
    }
    free(mask_f);
    free(alpha);
    free(scratch);
    free(mask);
    return st;
}

static sbt_status check_options(const sbt_model_pack_options *o) {
    if (o->mask_encoding && o->mask_encoding != SBT_ENC_SEED_MASK_CODED &&
        o->mask_encoding != SBT_ENC_SEED_MASK && o->mask_encoding != SBT_ENC_F32)
        return sbt_fail(SBT_ERR_ARG,
                        "sbt: sparse-weight masks cannot be stored as %s (seed-mask-coded, "
                        "seed-mask or f32)",
                        sbt_encoding_name(o->mask_encoding));
    if (o->float_encoding != SBT_ENC_F32 && o->float_encoding != SBT_ENC_F16)
        return sbt_fail(SBT_ERR_ARG, "sbt: float tensors cannot be stored as %s (f32 or f16)",
                        sbt_encoding_name(o->float_encoding));
    return SBT_OK;
}

sbt_status sbt_model_pack_container(const sbt_container *c, const sbt_model *m,
                                    const sbt_model_pack_options *opt, sbt_packfile **out) {
    sbt_model_pack_options o = opt ? *opt : (sbt_model_pack_options){0, 0, 0};
    if (!o.float_encoding) o.float_encoding = SBT_ENC_F32;
    if (!(o.flags & SBT_PACK_ZLIB)) o.flags |= SBT_PACK_ZLIB_AUTO; /* the text sections shrink about 5x */
    if (!c || !m || !out) return sbt_fail(SBT_ERR_ARG, "sbt: pack: invalid argument");
    *out = NULL;
    sbt_status st = check_options(&o);
    if (st) return st;
    sbt_packfile *pf = sbt_packfile_new();
    if (!pf) return sbt_fail(SBT_ERR_NOMEM, "sbt: out of memory");
    for (int i = 0; i < sbt_container_count(c) && !st; i++) {
        const sbt_section *s = sbt_container_at(c, i);
        float keep = 1;
        int per_row = 0;
        if (s->type == SBT_SECTION_TEXT)
            st = sbt_packfile_add_text(pf, s->name, s->data, o.flags);
        else if (s->type != SBT_SECTION_F32)
            st = sbt_fail(SBT_ERR_UNSUPPORTED, "sbt: section '%s' of a model file has no .sbt encoding",
                          s->name);
        else if (o.mask_encoding != SBT_ENC_F32 && sbt_model_sparse_scores(m, s->name, &keep, &per_row))
            st = add_mask_section(pf, m, s, keep, per_row, o.mask_encoding, o.flags);
        else
            st = sbt_packfile_add_floats(pf, s->name, o.float_encoding, s->ndim, s->shape, s->data, o.flags);
    }
    if (st) {
        sbt_packfile_free(pf);
        return st;
    }
    *out = pf;
    return SBT_OK;
}

sbt_status sbt_model_pack(const sbt_model *m, const sbt_model_pack_options *opt, sbt_packfile **out) {
    if (!m || !out) return sbt_fail(SBT_ERR_ARG, "sbt: pack: invalid argument");
    *out = NULL;
    sbt_container *c = sbt_container_new();
    sbt_status st = c ? sbt_model_to_container(m, c) : sbt_fail(SBT_ERR_NOMEM, "sbt: out of memory");
    if (!st) st = sbt_model_pack_container(c, m, opt, out);
    sbt_container_free(c);
    return st;
}

/* A weight section as the f32 section the model file would hold: floats as they are, a
 * mask as scores in {0, 1}. */
static sbt_status add_as_f32(sbt_container *c, const sbt_pack_section *s, const char *path) {
    float *x = malloc((size_t)s->count * sizeof *x + 1);
    uint8_t *mask = NULL;
    if (!x) return sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    sbt_status st;
    if (sbt_encoding_kind(s->encoding) == SBT_ENC_KIND_MASK) {
        mask = malloc((size_t)s->count + 1);
        st = mask ? sbt_packfile_mask(s, mask, NULL, NULL)
                  : sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
        for (int64_t i = 0; !st && i < s->count; i++) x[i] = mask[i] ? 1.0f : 0.0f;
    } else if (s->encoding == SBT_ENC_F32 || s->encoding == SBT_ENC_F16) {
        st = sbt_packfile_floats(s, x);
    } else {
        st = sbt_fail(SBT_ERR_UNSUPPORTED, "section '%s': a model cannot load %s tensors yet", s->name,
                      sbt_encoding_name(s->encoding));
    }
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", sbt_last_error());
        st = sbt_fail(st, "%s: %s", path, why);
    }
    if (!st) st = sbt_container_add(c, s->name, SBT_SECTION_F32, s->ndim, s->shape, x);
    free(x);
    free(mask);
    return st;
}

/* Each mask must keep exactly the k entries the layer's keep selects, else its top-k would
 * not give it back. */
static sbt_status check_masks(const sbt_model *m, const sbt_packfile *pf, const char *path) {
    for (int i = 0; i < sbt_packfile_count(pf); i++) {
        const sbt_pack_section *s = sbt_packfile_at(pf, i);
        float keep = 1;
        if (sbt_encoding_kind(s->encoding) != SBT_ENC_KIND_MASK) continue;
        if (!sbt_model_sparse_scores(m, s->name, &keep, NULL))
            return sbt_fail(SBT_ERR_FORMAT, "%s: section '%s': a mask, but no sparse weight reads it", path,
                            s->name);
        const float *x = sbt_model_data((sbt_model *)m, s->name);
        int64_t kept = 0;
        for (int64_t j = 0; j < s->count; j++) kept += x[j] != 0.0f;
        int64_t k = s->count ? sbt_biprop_keep_count(keep, s->count) : 0;
        if (kept != k)
            return sbt_fail(SBT_ERR_FORMAT,
                            "%s: section '%s': the mask keeps %" PRId64 " of %" PRId64
                            ", the layer's keep %g selects %" PRId64,
                            path, s->name, kept, s->count, (double)keep, k);
    }
    return SBT_OK;
}

sbt_status sbt_packfile_to_container(const sbt_packfile *pf, const char *path_for_message,
                                     sbt_container **out) {
    const char *path = path_for_message ? path_for_message : "(memory)";
    if (!pf || !out) return sbt_fail(SBT_ERR_ARG, "sbt: unpack: invalid argument");
    *out = NULL;
    sbt_container *c = sbt_container_new();
    sbt_status st = c ? SBT_OK : sbt_fail(SBT_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < sbt_packfile_count(pf) && !st; i++) {
        const sbt_pack_section *s = sbt_packfile_at(pf, i);
        if (!s->known) continue; /* an optional section of a newer encoding */
        if (s->encoding == SBT_ENC_TEXT)
            st = sbt_container_add(c, s->name, SBT_SECTION_TEXT, 1, (int64_t[]){(int64_t)s->bytes}, s->data);
        else
            st = add_as_f32(c, s, path);
    }
    if (st) {
        sbt_container_free(c);
        return st;
    }
    *out = c;
    return SBT_OK;
}

sbt_status sbt_model_unpack(const sbt_packfile *pf, const char *path_for_message, sbt_model **out) {
    const char *path = path_for_message ? path_for_message : "(memory)";
    if (!pf || !out) return sbt_fail(SBT_ERR_ARG, "sbt: unpack: invalid argument");
    *out = NULL;
    sbt_container *c = NULL;
    sbt_model *m = NULL;
    sbt_status st = sbt_packfile_to_container(pf, path, &c);
    if (!st) st = sbt_model_from_container(c, path, &m);
    if (!st) st = check_masks(m, pf, path);
    sbt_container_free(c);
    if (st) {
        sbt_model_free(m);
        return st;
    }
    *out = m;
    return SBT_OK;
}

static int has_sbt_magic(const char *path) {
    FILE *f = fopen(path, "rb");
    unsigned char magic[4] = {0};
    int yes = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "SBTP", 4);
    if (f) fclose(f);
    return yes;
}

sbt_status sbt_model_read_file(const char *path, sbt_model **m, sbt_container **c_out) {
    if (!path || !m) return sbt_fail(SBT_ERR_ARG, "model: read: invalid argument");
    *m = NULL;
    if (c_out) *c_out = NULL;
    sbt_container *c = NULL;
    sbt_packfile *pf = NULL;
    sbt_status st;
    if (has_sbt_magic(path)) {
        st = sbt_packfile_read(path, &pf);
        if (!st) st = sbt_packfile_to_container(pf, path, &c);
    } else {
        st = sbt_container_read(path, "SBTM", &c);
    }
    if (!st) st = sbt_model_from_container(c, path, m);
    if (!st && pf) st = check_masks(*m, pf, path);
    sbt_packfile_free(pf);
    if (st) {
        sbt_model_free(*m);
        *m = NULL;
        sbt_container_free(c);
        return st;
    }
    if (c_out)
        *c_out = c;
    else
        sbt_container_free(c);
    return SBT_OK;
}

sbt_status sbt_model_save_sbt(const sbt_model *m, const char *path, const sbt_model_pack_options *opt) {
    sbt_packfile *pf = NULL;
    sbt_status st = sbt_model_pack(m, opt, &pf);
    if (!st) st = sbt_packfile_write(pf, path);
    sbt_packfile_free(pf);
    return st;
}

sbt_status sbt_model_load_sbt(const char *path, sbt_model **out) {
    sbt_packfile *pf = NULL;
    if (out) *out = NULL;
    sbt_status st = sbt_packfile_read(path, &pf);
    if (!st) st = sbt_model_unpack(pf, path, out);
    sbt_packfile_free(pf);
    return st;
}
