/* interpolate.c - missing-value filling shared by the .ts and CSV readers. */
#include "data/interpolate.h"

#include <math.h>

int sbt__fill_missing(float *v, int n, size_t stride) {
    int prev = -1;
    for (int i = 0; i < n; i++) {
        float vi = v[(size_t)i * stride];
        if (isnan(vi)) continue;
        for (int j = prev + 1; j < i; j++) {
            float a = prev < 0 ? vi : v[(size_t)prev * stride];
            v[(size_t)j * stride] = prev < 0 ? vi : a + (vi - a) * (float)(j - prev) / (float)(i - prev);
        }
        prev = i;
    }
    if (prev < 0) return -1;
    for (int j = prev + 1; j < n; j++) v[(size_t)j * stride] = v[(size_t)prev * stride];
    return 0;
}
