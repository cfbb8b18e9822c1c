/* The training loop: shuffled mini-batches, Adam/AdamW with global-norm clipping,
 * validation after each epoch, early stopping, best-weights selection, checkpoints. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbt/rng.h"
#include "sbt/train.h"

struct sbt_trainer {
    sbt_model *m;
    sbt_train_config tc;
    float *adam_m, *adam_v, *best_values;
    uint64_t step;  /* optimizer steps taken */
    int epoch;      /* epochs finished */
    int best_epoch; /* 0: none yet */
    double best_acc, best_loss;
    int bad_epochs;     /* since the last improvement */
    int plateau_epochs; /* since the last improvement or lr cut */
    float lr;
    int done;
};

sbt_train_config sbt_train_config_default(sbt_task task) {
    sbt_train_config tc;
    memset(&tc, 0, sizeof tc);
    int classify = task == SBT_TASK_CLASSIFY;
    tc.epochs = classify ? 100 : 50;
    tc.batch = classify ? 8 : 128;
    tc.optimizer = SBT_OPT_ADAM;
    tc.lr = 1e-3f;
    tc.beta1 = 0.9f;
    tc.beta2 = 0.999f;
    tc.adam_eps = 1e-8f;
    tc.clip_norm = classify ? 4.0f : 0.0f;
    tc.patience = classify ? 20 : 5;
    tc.plateau_factor = classify ? 1.0f : 0.75f;
    tc.plateau_patience = 2;
    return tc;
}

sbt_status sbt_train_config_check(const sbt_train_config *tc) {
    if (tc->epochs < 1 || tc->batch < 1)
        return sbt_fail(SBT_ERR_ARG, "train: epochs %d, batch %d", tc->epochs, tc->batch);
    if (!(tc->lr > 0.0f) || !(tc->weight_decay >= 0.0f))
        return sbt_fail(SBT_ERR_ARG, "train: lr %g, weight decay %g", tc->lr, tc->weight_decay);
    if (!(tc->beta1 >= 0.0f && tc->beta1 < 1.0f) || !(tc->beta2 >= 0.0f && tc->beta2 < 1.0f) ||
        !(tc->adam_eps > 0.0f))
        return sbt_fail(SBT_ERR_ARG, "train: Adam betas must be in [0, 1) and eps > 0");
    if (!(tc->clip_norm >= 0.0f) || tc->patience < 0 ||
        !(tc->plateau_factor > 0.0f && tc->plateau_factor <= 1.0f))
        return sbt_fail(SBT_ERR_ARG, "train: clip %g, patience %d, plateau factor %g", tc->clip_norm,
                        tc->patience, tc->plateau_factor);
    return SBT_OK;
}

static sbt_status trainer_alloc(sbt_model *m, const sbt_train_config *tc, sbt_trainer **out) {
    *out = NULL;
    sbt_status st = sbt_train_config_check(tc);
    if (st) return st;
    sbt_trainer *t = calloc(1, sizeof *t);
    size_t bytes = (size_t)m->n_values * sizeof(float);
    if (t) {
        t->adam_m = calloc(1, bytes);
        t->adam_v = calloc(1, bytes);
        t->best_values = malloc(bytes);
    }
    if (!t || !t->adam_m || !t->adam_v || !t->best_values) {
        sbt_trainer_free(t);
        return sbt_fail(SBT_ERR_NOMEM, "train: out of memory");
    }
    t->m = m;
    t->tc = *tc;
    t->lr = tc->lr;
    memcpy(t->best_values, m->values, bytes);
    *out = t;
    return SBT_OK;
}

sbt_status sbt_trainer_new(sbt_model *m, const sbt_train_config *tc, sbt_trainer **out) {
    return trainer_alloc(m, tc, out);
}

void sbt_trainer_free(sbt_trainer *t) {
    if (!t) return;
    free(t->adam_m);
    free(t->adam_v);
    free(t->best_values);
    free(t);
}

int sbt_trainer_done(const sbt_trainer *t) { return t->done; }
int sbt_trainer_epoch(const sbt_trainer *t) { return t->epoch; }
int sbt_trainer_best_epoch(const sbt_trainer *t) { return t->best_epoch; }

static void zero_grads(sbt_model *m) { memset(m->grads, 0, (size_t)m->n_values * sizeof(float)); }

/* PyTorch's clip_grad_norm_: scale by max_norm / (norm + 1e-6) when norm > max_norm. */
static void clip_grads(sbt_model *m, float max_norm) {
    double sq = 0.0;
    for (int64_t i = 0; i < m->n_values; i++) sq += (double)m->grads[i] * m->grads[i];
    double norm = sqrt(sq);
    if (norm <= max_norm) return;
    float scale = (float)(max_norm / (norm + 1e-6));
    for (int64_t i = 0; i < m->n_values; i++) m->grads[i] *= scale;
}

static void adam_step(sbt_trainer *t) {
    const sbt_train_config *tc = &t->tc;
    sbt_model *m = t->m;
    t->step++;
    float bc1 = 1.0f - powf(tc->beta1, (float)t->step), bc2 = 1.0f - powf(tc->beta2, (float)t->step);
    for (int i = 0; i < m->n_tensors; i++) {
        const sbt_tensor_info *ti = &m->tensors[i];
        if (ti->kind != SBT_TENSOR_PARAM) continue;
        float *p = m->values + ti->offset, *g = m->grads + ti->offset;
        float *mm = t->adam_m + ti->offset, *vv = t->adam_v + ti->offset;
        for (int64_t k = 0; k < ti->size; k++) {
            float grad = g[k];
            if (tc->optimizer == SBT_OPT_ADAMW)
                p[k] -= t->lr * tc->weight_decay * p[k];
            else
                grad += tc->weight_decay * p[k];
            mm[k] = tc->beta1 * mm[k] + (1.0f - tc->beta1) * grad;
            vv[k] = tc->beta2 * vv[k] + (1.0f - tc->beta2) * grad * grad;
            p[k] -= t->lr * (mm[k] / bc1) / (sqrtf(vv[k] / bc2) + tc->adam_eps);
        }
    }
}

/* Graphs for full batches and for the epoch's last, shorter batch. */
typedef struct {
    sbt_model_graph full, rest;
} batch_graphs;

static sbt_status graph_for(sbt_trainer *t, batch_graphs *bg, int count, int length, sbt_model_graph **out) {
    sbt_model_graph *mg = count == t->tc.batch ? &bg->full : &bg->rest;
    sbt_status st = SBT_OK;
    if (!mg->graph) st = sbt_model_graph_build(t->m, count, length, mg);
    *out = mg;
    return st;
}

static sbt_status train_epoch(sbt_trainer *t, const sbt_examples *train, batch_graphs *bg, int *order,
                              double *loss) {
    sbt_rng r;
    sbt_rng_seed(&r, sbt_rng_derive(t->tc.seed, 0xE90C00ULL + (uint64_t)t->epoch));
    int n = (int)train->count;
    for (int i = 0; i < n; i++) order[i] = i;
    sbt_rng_shuffle_int(&r, order, n);
    double sum = 0.0;
    int batches = 0;
    for (int start = 0; start < n; start += t->tc.batch, batches++) {
        int count = n - start < t->tc.batch ? n - start : t->tc.batch;
        sbt_model_graph *mg;
        sbt_status st = graph_for(t, bg, count, train->length, &mg);
        if (!st) st = sbt_model_graph_feed(mg, train, order + start, count);
        if (st) return st;
        zero_grads(t->m);
        sbt_graph_set_step(mg->graph, t->step);
        if ((st = sbt_graph_forward(mg->graph, 1)) || (st = sbt_graph_backward(mg->graph, mg->loss)))
            return st;
        float l = sbt_graph_value(mg->graph, mg->loss)[0];
        if (!isfinite(l))
            return sbt_fail(SBT_ERR_NUMERIC, "train: loss became %g at epoch %d", l, t->epoch + 1);
        sum += l;
        if (t->tc.clip_norm > 0.0f) clip_grads(t->m, t->tc.clip_norm);
        adam_step(t);
    }
    *loss = batches ? sum / batches : NAN;
    return SBT_OK;
}

/* Improvement: classification, higher validation accuracy or equal accuracy with lower
 * loss; other tasks, lower loss (MSE). */
static void after_validation(sbt_trainer *t, sbt_epoch_report *rep) {
    int by_accuracy = !isnan(rep->val_accuracy);
    int improved = t->best_epoch == 0 || (by_accuracy && rep->val_accuracy > t->best_acc) ||
                   ((!by_accuracy || rep->val_accuracy == t->best_acc) && rep->val_loss < t->best_loss);
    if (improved) {
        t->best_epoch = t->epoch;
        t->best_acc = rep->val_accuracy;
        t->best_loss = rep->val_loss;
        t->bad_epochs = t->plateau_epochs = 0;
        memcpy(t->best_values, t->m->values, (size_t)t->m->n_values * sizeof(float));
    } else {
        t->bad_epochs++;
        if (t->tc.plateau_factor < 1.0f && ++t->plateau_epochs >= t->tc.plateau_patience) {
            t->lr *= t->tc.plateau_factor;
            t->plateau_epochs = 0;
        }
    }
    rep->improved = improved;
    if (t->tc.patience && t->bad_epochs >= t->tc.patience) t->done = 1;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static sbt_status run_epoch(sbt_trainer *t, const sbt_examples *train, const sbt_examples *val,
                            batch_graphs *bg, int *order, sbt_epoch_report *rep) {
    double t0 = now_seconds();
    memset(rep, 0, sizeof *rep);
    rep->lr = t->lr;
    sbt_status st = train_epoch(t, train, bg, order, &rep->train_loss);
    if (st) return st;
    t->epoch++;
    rep->val_loss = rep->val_accuracy = NAN;
    if (val) {
        sbt_eval e;
        if ((st = sbt_model_evaluate(t->m, val, NULL, &e))) return st;
        rep->val_loss = e.loss;
        rep->val_accuracy = e.accuracy;
        after_validation(t, rep);
    } else {
        t->best_epoch = t->epoch;
        memcpy(t->best_values, t->m->values, (size_t)t->m->n_values * sizeof(float));
    }
    if (t->epoch >= t->tc.epochs) t->done = 1;
    rep->epoch = t->epoch;
    rep->epochs = t->tc.epochs;
    rep->best_epoch = t->best_epoch;
    rep->best_val_accuracy = val ? t->best_acc : NAN;
    rep->seconds = now_seconds() - t0;
    rep->eta_seconds = rep->seconds * (t->tc.epochs - t->epoch);
    return SBT_OK;
}

sbt_status sbt_trainer_fit(sbt_trainer *t, const sbt_dataset *train, const sbt_dataset *val,
                           const char *checkpoint, sbt_epoch_callback on_epoch, void *user) {
    sbt_examples tr = sbt_examples_of_dataset(train), va = val ? sbt_examples_of_dataset(val) : tr;
    return sbt_trainer_fit_examples(t, &tr, val ? &va : NULL, checkpoint, on_epoch, user);
}

sbt_status sbt_trainer_fit_examples(sbt_trainer *t, const sbt_examples *train, const sbt_examples *val,
                                    const char *checkpoint, sbt_epoch_callback on_epoch, void *user) {
    if (train->count < 1 || train->count > INT32_MAX)
        return sbt_fail(SBT_ERR_ARG, "train: %lld training examples", (long long)train->count);
    batch_graphs bg = {0};
    int *order = malloc((size_t)train->count * sizeof(int));
    sbt_status st = order ? SBT_OK : sbt_fail(SBT_ERR_NOMEM, "train: out of memory");
    for (int run = 0; !st && !t->done && (!t->tc.stop_after || run < t->tc.stop_after); run++) {
        sbt_epoch_report rep;
        st = run_epoch(t, train, val, &bg, order, &rep);
        if (!st && checkpoint) st = sbt_trainer_save(t, checkpoint);
        if (!st && on_epoch) on_epoch(&rep, user);
    }
    /* Finished: the model keeps the weights of the best validation epoch. */
    if (!st && t->done) memcpy(t->m->values, t->best_values, (size_t)t->m->n_values * sizeof(float));
    free(order);
    sbt_model_graph_free(&bg.full);
    sbt_model_graph_free(&bg.rest);
    return st;
}

/* ---- checkpoints: the model's sections plus the optimizer and loop state ---- */

static uint64_t double_bits(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bits_double(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Every field as a 64-bit word, in a fixed order (floats as their exact double bits). */
enum { STATE_WORDS = 22 };

static void pack_state(const sbt_trainer *t, uint64_t *w) {
    const sbt_train_config *tc = &t->tc;
    uint64_t v[STATE_WORDS] = {t->step,
                               (uint64_t)t->epoch,
                               (uint64_t)t->best_epoch,
                               double_bits(t->best_acc),
                               double_bits(t->best_loss),
                               (uint64_t)t->bad_epochs,
                               (uint64_t)t->plateau_epochs,
                               double_bits(t->lr),
                               (uint64_t)t->done,
                               (uint64_t)tc->epochs,
                               (uint64_t)tc->batch,
                               (uint64_t)tc->optimizer,
                               double_bits(tc->lr),
                               double_bits(tc->weight_decay),
                               double_bits(tc->beta1),
                               double_bits(tc->beta2),
                               double_bits(tc->adam_eps),
                               double_bits(tc->clip_norm),
                               (uint64_t)tc->patience,
                               double_bits(tc->plateau_factor),
                               (uint64_t)tc->plateau_patience,
                               tc->seed};
    memcpy(w, v, sizeof v);
}

static void unpack_state(sbt_trainer *t, const uint64_t *w) {
    sbt_train_config *tc = &t->tc;
    t->step = w[0];
    t->epoch = (int)w[1];
    t->best_epoch = (int)w[2];
    t->best_acc = bits_double(w[3]);
    t->best_loss = bits_double(w[4]);
    t->bad_epochs = (int)w[5];
    t->plateau_epochs = (int)w[6];
    t->lr = (float)bits_double(w[7]);
    t->done = (int)w[8];
    tc->epochs = (int)w[9];
    tc->batch = (int)w[10];
    tc->optimizer = (sbt_optimizer)w[11];
    tc->lr = (float)bits_double(w[12]);
    tc->weight_decay = (float)bits_double(w[13]);
    tc->beta1 = (float)bits_double(w[14]);
    tc->beta2 = (float)bits_double(w[15]);
    tc->adam_eps = (float)bits_double(w[16]);
    tc->clip_norm = (float)bits_double(w[17]);
    tc->patience = (int)w[18];
    tc->plateau_factor = (float)bits_double(w[19]);
    tc->plateau_patience = (int)w[20];
    tc->seed = w[21];
}

sbt_status sbt_trainer_save(const sbt_trainer *t, const char *path) {
    sbt_container *c = sbt_container_new();
    if (!c) return sbt_fail(SBT_ERR_NOMEM, "train: out of memory");
    uint64_t words[STATE_WORDS];
    pack_state(t, words);
    const int64_t n = t->m->n_values;
    sbt_status st = sbt_model_to_container(t->m, c);
    if (!st) st = sbt_container_add(c, "train.state", SBT_SECTION_U64, 1, (int64_t[]){STATE_WORDS}, words);
    if (!st) st = sbt_container_add(c, "train.adam_m", SBT_SECTION_F32, 1, &n, t->adam_m);
    if (!st) st = sbt_container_add(c, "train.adam_v", SBT_SECTION_F32, 1, &n, t->adam_v);
    if (!st) st = sbt_container_add(c, "train.best_values", SBT_SECTION_F32, 1, &n, t->best_values);
    if (!st) st = sbt_container_write(c, path, "SBTC");
    sbt_container_free(c);
    return st;
}

static sbt_status restore(sbt_trainer *t, const sbt_container *c, const char *path) {
    const sbt_section *s;
    int64_t n = t->m->n_values;
    sbt_status st = sbt_container_expect(c, path, "train.state", SBT_SECTION_U64, STATE_WORDS, &s);
    if (st) return st;
    unpack_state(t, s->data);
    if ((st = sbt_train_config_check(&t->tc)))
        return sbt_fail(SBT_ERR_FORMAT, "%s: bad training state", path);
    float *dst[3] = {t->adam_m, t->adam_v, t->best_values};
    const char *names[3] = {"train.adam_m", "train.adam_v", "train.best_values"};
    for (int i = 0; i < 3; i++) {
        if ((st = sbt_container_expect(c, path, names[i], SBT_SECTION_F32, n, &s))) return st;
        memcpy(dst[i], s->data, (size_t)n * sizeof(float));
    }
    return SBT_OK;
}

sbt_status sbt_trainer_resume(const char *path, sbt_model **model, sbt_trainer **trainer) {
    *model = NULL;
    *trainer = NULL;
    sbt_container *c = NULL;
    sbt_model *m = NULL;
    sbt_trainer *t = NULL;
    sbt_train_config tc = sbt_train_config_default(SBT_TASK_CLASSIFY);
    sbt_status st = sbt_container_read(path, "SBTC", &c);
    if (!st) st = sbt_model_from_container(c, path, &m);
    if (!st) st = trainer_alloc(m, &tc, &t);
    if (!st) st = restore(t, c, path);
    sbt_container_free(c);
    if (st) {
        sbt_trainer_free(t);
        sbt_model_free(m);
        return st;
    }
    *model = m;
    *trainer = t;
    return SBT_OK;
}
