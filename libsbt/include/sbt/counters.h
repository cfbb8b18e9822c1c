/* sbt/counters.h - hardware and software event counters through PAPI, where the machine
 * has them.
 *
 * Asks for every named event, keeps those PAPI can add and records, for each one it
 * cannot, PAPI's reason: a virtual machine without a PMU refuses PAPI_TOT_CYC. The kernel
 * still counts its software events (perf::TASK-CLOCK, perf::PAGE-FAULTS,
 * perf::CONTEXT-SWITCHES, perf::CPU-MIGRATIONS, ...); where PAPI cannot add them (PAPI
 * 7.0 disables its whole perf_event component when libpfm4 finds no core PMU: "Event does
 * not exist") they are opened with perf_event_open directly, and sbt_counters_source says
 * which path counts each event. Counting what can be counted and naming the rest is not
 * an error.
 *
 *     sbt_counters *k = NULL;
 *     if (sbt_counters_new("PAPI_TOT_CYC,perf::TASK-CLOCK", &k) != SBT_OK) ...  // PAPI missing
 *     for (int i = 0; i < sbt_counters_refused(k); i++)
 *         printf("%s: %s\n", sbt_counters_refused_name(k, i), sbt_counters_refused_reason(k, i));
 *     long long v[SBT_COUNTERS_MAX];
 *     sbt_counters_start(k);  work();  sbt_counters_stop(k, v);   // v[i]: event i
 *     sbt_counters_free(k);
 *
 * PAPI counts cover the calling thread only (its default); the perf_event_open software
 * events also count threads started after sbt_counters_start (inherit), not threads that
 * already exist (an OpenMP pool): run threaded work with that in mind. Never derive FLOPs from PAPI's
 * floating-point presets: they read about 0 on integer kernels; FLOPs come from sbt/cost.h.
 *
 * Ownership: sbt_counters_new returns an object the caller frees with sbt_counters_free;
 * names and reasons returned stay valid until then.
 */
#ifndef SBT_COUNTERS_H
#define SBT_COUNTERS_H

#include "sbt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SBT_COUNTERS_MAX 32
/* Cycles, instructions, L1 data and last-level cache misses, branch mispredictions,
 * then the software events that count even without a PMU. */
#define SBT_COUNTERS_DEFAULT                                                                                 \
    "PAPI_TOT_CYC,PAPI_TOT_INS,PAPI_L1_DCM,PAPI_L3_TCM,PAPI_BR_MSP,perf::TASK-CLOCK,perf::PAGE-FAULTS,"      \
    "perf::CONTEXT-SWITCHES"

typedef struct sbt_counters sbt_counters;

/* `names`: comma-separated PAPI event names (presets or native, e.g. perf::TASK-CLOCK);
 * NULL or "" for none. Fails only when PAPI itself cannot start (SBT_ERR_UNSUPPORTED) or
 * the list is malformed (SBT_ERR_ARG: empty name, more than SBT_COUNTERS_MAX). */
sbt_status sbt_counters_new(const char *names, sbt_counters **out);
void sbt_counters_free(sbt_counters *k);

/* The events being counted, in the order of the values sbt_counters_stop writes. */
int sbt_counters_count(const sbt_counters *k);
const char *sbt_counters_name(const sbt_counters *k, int i);
/* "papi" or "perf_event_open": what counts event i. */
const char *sbt_counters_source(const sbt_counters *k, int i);
/* The events that could not be added, with PAPI's reason. */
int sbt_counters_refused(const sbt_counters *k);
const char *sbt_counters_refused_name(const sbt_counters *k, int i);
const char *sbt_counters_refused_reason(const sbt_counters *k, int i);

/* Starts counting from zero; stop writes sbt_counters_count() values. With no event
 * counted both succeed and do nothing. */
sbt_status sbt_counters_start(sbt_counters *k);
sbt_status sbt_counters_stop(sbt_counters *k, long long *values);

/* PAPI's version ("7.0.1.0"), or NULL when the library cannot be initialised. */
const char *sbt_counters_papi_version(void);

#ifdef __cplusplus
}
#endif
#endif
