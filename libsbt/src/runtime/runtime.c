#include "sbt/runtime.h"

#include <cblas.h>
#include <omp.h>

void sbt_set_threads(int n) {
    if (n < 1) return;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int sbt_get_threads(void) { return omp_get_max_threads(); }
