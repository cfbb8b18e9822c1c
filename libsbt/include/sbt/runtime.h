/* sbt/runtime.h - process-wide settings: the number of threads.
 *
 *     sbt_set_threads(2);   // OpenMP and OpenBLAS both use 2 threads
 *
 * Results are reproducible for a given thread count; they may differ in the last bits
 * between thread counts (OpenBLAS splits sums differently).
 */
#ifndef SBT_RUNTIME_H
#define SBT_RUNTIME_H

#ifdef __cplusplus
extern "C" {
#endif

/* n >= 1 sets the count; n == 0 keeps the default (all cores). */
void sbt_set_threads(int n);
int sbt_get_threads(void);

#ifdef __cplusplus
}
#endif
#endif
