/* examples/consumer/main.c - the smallest program using an installed libsbt: prints
 * the library version and the size of the built-in synthetic dataset. */
#include <stdio.h>

#include <sbt/data.h>
#include <sbt/error.h>

int main(void) {
    printf("libsbt %s\n", sbt_version());
    sbt_synth_config cfg = sbt_synth_default();
    sbt_dataset *train = NULL, *test = NULL;
    if (sbt_synth_classification(&cfg, &train, &test) != SBT_OK) {
        fprintf(stderr, "sbt-consumer: error: %s\n", sbt_last_error());
        return 1;
    }
    printf("synthetic dataset: %d train + %d test cases, %d channels, length %d, %d classes\n", train->n,
           test->n, train->channels, train->length, train->n_classes);
    sbt_dataset_free(train);
    sbt_dataset_free(test);
    return 0;
}
