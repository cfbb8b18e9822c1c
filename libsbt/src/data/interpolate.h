/* interpolate.h - internal to libsbt (not installed): filling missing values. */
#ifndef SBT_INTERPOLATE_H
#define SBT_INTERPOLATE_H

#include <stddef.h>

/* Fills the NaNs in v[0], v[stride], ... (n values) by linear interpolation between the
 * nearest known values and by constant extension at the ends. Returns 0, or -1 when no
 * value is known at all (v is then left as it was). */
int sbt__fill_missing(float *v, int n, size_t stride);

#endif
