/* tests/tiny_model.h - the small native model configuration several tests build: 3
 * channels, 12 steps, d 8, 2 heads, 2 layers, F 16 (4 classes when classifying). */
#ifndef SBT_TESTS_TINY_MODEL_H
#define SBT_TESTS_TINY_MODEL_H

#include "sbt/model.h"

static inline sbt_config tiny_config(sbt_task task, sbt_weights weights, sbt_attention attention) {
    sbt_config c = sbt_config_default(task);
    c.channels = 3;
    c.outputs = task == SBT_TASK_CLASSIFY ? 4 : 3;
    c.max_len = 12;
    c.d_model = 8;
    c.heads = 2;
    c.layers = 2;
    c.d_ff = 16;
    c.seed = 9;
    c.weights = weights;
    c.keep = weights == SBT_WEIGHTS_SBT ? 0.5f : 1.0f;
    c.attention = attention;
    return c;
}

#endif
