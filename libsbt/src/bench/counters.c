/* PAPI event counting that adds what it can and names what it cannot (sbt/counters.h). */
#define _DEFAULT_SOURCE /* syscall() for perf_event_open */
#include "sbt/counters.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <papi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NAME_CAP 128

struct sbt_counters {
    int event_set;
    int n, n_papi;
    char names[SBT_COUNTERS_MAX][NAME_CAP];
    int fd[SBT_COUNTERS_MAX];         /* Linux perf_event fd, or -1 for an event PAPI counts */
    int papi_index[SBT_COUNTERS_MAX]; /* position in PAPI's value array */
    int n_refused;
    char refused[SBT_COUNTERS_MAX][NAME_CAP];
    char reason[SBT_COUNTERS_MAX][320];
    int running;
};

static pthread_once_t papi_once = PTHREAD_ONCE_INIT;
static int papi_init_rc;
static char papi_version[32];

static void papi_init(void) {
    papi_init_rc = PAPI_library_init(PAPI_VER_CURRENT);
    if (papi_init_rc == PAPI_VER_CURRENT) {
        int v = PAPI_get_opt(PAPI_LIB_VERSION, NULL);
        snprintf(papi_version, sizeof papi_version, "%d.%d.%d.%d", PAPI_VERSION_MAJOR(v),
                 PAPI_VERSION_MINOR(v), PAPI_VERSION_REVISION(v), PAPI_VERSION_INCREMENT(v));
    }
}

static int papi_ready(void) {
    pthread_once(&papi_once, papi_init);
    return papi_init_rc == PAPI_VER_CURRENT;
}

const char *sbt_counters_papi_version(void) { return papi_ready() ? papi_version : NULL; }

static void refuse(sbt_counters *k, const char *name, const char *reason) {
    int i = k->n_refused++;
    snprintf(k->refused[i], NAME_CAP, "%s", name);
    snprintf(k->reason[i], sizeof k->reason[i], "%s", reason);
}

/* The software events of perf_event that PAPI names perf::<NAME>. */
static const struct {
    const char *name;
    unsigned long long config;
} SOFTWARE[] = {{"perf::TASK-CLOCK", PERF_COUNT_SW_TASK_CLOCK},
                {"perf::CPU-CLOCK", PERF_COUNT_SW_CPU_CLOCK},
                {"perf::PAGE-FAULTS", PERF_COUNT_SW_PAGE_FAULTS},
                {"perf::MINOR-FAULTS", PERF_COUNT_SW_PAGE_FAULTS_MIN},
                {"perf::MAJOR-FAULTS", PERF_COUNT_SW_PAGE_FAULTS_MAJ},
                {"perf::CONTEXT-SWITCHES", PERF_COUNT_SW_CONTEXT_SWITCHES},
                {"perf::CPU-MIGRATIONS", PERF_COUNT_SW_CPU_MIGRATIONS}};

/* PAPI 7.0's perf_event component disables itself when libpfm4 finds no core PMU (a VM
 * without one), software events included, though the kernel counts those: open them
 * directly. Returns the fd or -1 with errno set. */
static int open_software(const char *name) {
    for (size_t i = 0; i < sizeof SOFTWARE / sizeof *SOFTWARE; i++) {
        if (strcmp(name, SOFTWARE[i].name)) continue;
        struct perf_event_attr a;
        memset(&a, 0, sizeof a);
        a.type = PERF_TYPE_SOFTWARE;
        a.size = sizeof a;
        a.config = SOFTWARE[i].config;
        a.disabled = 1;
        a.inherit = 1; /* threads started while counting are counted too */
        a.exclude_hv = 1;
        return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    }
    errno = ENOENT;
    return -1;
}

/* Why PAPI disabled the component of an event it knows ("" if that is not the refusal). */
static const char *disabled_reason(int code, int rc) {
    static __thread char buf[160];
    if (rc != PAPI_ECMP_DISABLED) return "";
    const PAPI_component_info_t *ci = PAPI_get_component_info(PAPI_get_event_component(code));
    if (!ci || !ci->disabled_reason[0]) return "";
    snprintf(buf, sizeof buf, " (%.30s: %.120s)", ci->name, ci->disabled_reason);
    return buf;
}

/* Adds one event through PAPI, else (software events) through perf_event_open, or records
 * why neither would. */
static void add_event(sbt_counters *k, const char *name) {
    int code, rc = PAPI_event_name_to_code(name, &code);
    if (rc == PAPI_OK) rc = PAPI_add_event(k->event_set, code);
    int i = k->n;
    if (rc == PAPI_OK) {
        k->fd[i] = -1;
        k->papi_index[i] = k->n_papi++;
    } else {
        int fd = open_software(name);
        if (fd < 0) {
            char reason[320];
            int err = errno;
            snprintf(reason, sizeof reason, "%.60s%s%s%.60s", PAPI_strerror(rc), disabled_reason(code, rc),
                     err == ENOENT ? "" : "; perf_event_open: ", err == ENOENT ? "" : strerror(err));
            refuse(k, name, reason);
            return;
        }
        k->fd[i] = fd;
        k->papi_index[i] = -1;
    }
    snprintf(k->names[k->n++], NAME_CAP, "%s", name);
}

/* Splits the comma-separated list; an empty item or too many items is a usage error. */
static sbt_status add_list(sbt_counters *k, const char *names) {
    const char *p = names;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || len >= NAME_CAP)
            return sbt_fail(SBT_ERR_ARG, "counters: bad event name in '%s'", names);
        if (k->n + k->n_refused >= SBT_COUNTERS_MAX)
            return sbt_fail(SBT_ERR_ARG, "counters: more than %d events", SBT_COUNTERS_MAX);
        char name[NAME_CAP];
        memcpy(name, p, len);
        name[len] = '\0';
        add_event(k, name);
        p = end ? end + 1 : NULL;
        if (end && !*p) return sbt_fail(SBT_ERR_ARG, "counters: bad event name in '%s'", names);
    }
    return SBT_OK;
}

sbt_status sbt_counters_new(const char *names, sbt_counters **out) {
    *out = NULL;
    if (!papi_ready())
        return sbt_fail(SBT_ERR_UNSUPPORTED, "counters: PAPI could not start: %s",
                        PAPI_strerror(papi_init_rc));
    sbt_counters *k = calloc(1, sizeof *k);
    if (!k) return sbt_fail(SBT_ERR_NOMEM, "counters: out of memory");
    k->event_set = PAPI_NULL;
    int rc = PAPI_create_eventset(&k->event_set);
    if (rc != PAPI_OK) {
        free(k);
        return sbt_fail(SBT_ERR_UNSUPPORTED, "counters: PAPI_create_eventset: %s", PAPI_strerror(rc));
    }
    sbt_status st = add_list(k, names);
    if (st) {
        sbt_counters_free(k);
        return st;
    }
    *out = k;
    return SBT_OK;
}

void sbt_counters_free(sbt_counters *k) {
    if (!k) return;
    if (k->running && k->n_papi) {
        long long scratch[SBT_COUNTERS_MAX];
        PAPI_stop(k->event_set, scratch);
    }
    for (int i = 0; i < k->n; i++)
        if (k->fd[i] >= 0) close(k->fd[i]);
    PAPI_cleanup_eventset(k->event_set);
    PAPI_destroy_eventset(&k->event_set);
    free(k);
}

int sbt_counters_count(const sbt_counters *k) { return k ? k->n : 0; }
const char *sbt_counters_name(const sbt_counters *k, int i) {
    return k && i >= 0 && i < k->n ? k->names[i] : NULL;
}
int sbt_counters_refused(const sbt_counters *k) { return k ? k->n_refused : 0; }

const char *sbt_counters_refused_name(const sbt_counters *k, int i) {
    return k && i >= 0 && i < k->n_refused ? k->refused[i] : NULL;
}

const char *sbt_counters_refused_reason(const sbt_counters *k, int i) {
    return k && i >= 0 && i < k->n_refused ? k->reason[i] : NULL;
}

sbt_status sbt_counters_start(sbt_counters *k) {
    if (!k->n) return SBT_OK;
    for (int i = 0; i < k->n; i++)
        if (k->fd[i] >= 0 &&
            (ioctl(k->fd[i], PERF_EVENT_IOC_RESET, 0) || ioctl(k->fd[i], PERF_EVENT_IOC_ENABLE, 0)))
            return sbt_fail(SBT_ERR_UNSUPPORTED, "counters: %s: %s", k->names[i], strerror(errno));
    int rc = k->n_papi ? PAPI_start(k->event_set) : PAPI_OK;
    if (rc != PAPI_OK) return sbt_fail(SBT_ERR_UNSUPPORTED, "counters: PAPI_start: %s", PAPI_strerror(rc));
    k->running = 1;
    return SBT_OK;
}

sbt_status sbt_counters_stop(sbt_counters *k, long long *values) {
    if (!k->n) return SBT_OK;
    if (!k->running) return sbt_fail(SBT_ERR_ARG, "counters: stop without start");
    k->running = 0;
    long long papi[SBT_COUNTERS_MAX] = {0};
    int rc = k->n_papi ? PAPI_stop(k->event_set, papi) : PAPI_OK;
    for (int i = 0; i < k->n; i++) {
        if (k->fd[i] < 0) {
            values[i] = papi[k->papi_index[i]];
            continue;
        }
        long long v = 0;
        if (ioctl(k->fd[i], PERF_EVENT_IOC_DISABLE, 0) || read(k->fd[i], &v, sizeof v) != (ssize_t)sizeof v)
            return sbt_fail(SBT_ERR_UNSUPPORTED, "counters: %s: %s", k->names[i], strerror(errno));
        values[i] = v;
    }
    return rc == PAPI_OK ? SBT_OK
                         : sbt_fail(SBT_ERR_UNSUPPORTED, "counters: PAPI_stop: %s", PAPI_strerror(rc));
}

const char *sbt_counters_source(const sbt_counters *k, int i) {
    if (!k || i < 0 || i >= k->n) return NULL;
    return k->fd[i] < 0 ? "papi" : "perf_event_open";
}
