/* tests/check.h - the assertions every test program uses.
 *
 * A test file defines test functions and calls them from main() with RUN(fn);
 * CHECK records a failure (file:line and the expression) and carries on; REQUIRE
 * returns from the current test. main() ends with `return check_summary();`, which
 * prints "N passed, N failed" and returns non-zero if any check failed.
 */
#ifndef SBT_TESTS_CHECK_H
#define SBT_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures_total;
static int check_tests_passed;
static int check_tests_failed;
static int check_current_failed;

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                         \
            check_failures_total++;                                                                          \
            check_current_failed = 1;                                                                        \
        }                                                                                                    \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                                 \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                         \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
            check_failures_total++;                                                                          \
            check_current_failed = 1;                                                                        \
        }                                                                                                    \
    } while (0)

#define REQUIRE(cond)                                                                                        \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);                       \
            check_failures_total++;                                                                          \
            check_current_failed = 1;                                                                        \
            return;                                                                                          \
        }                                                                                                    \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                                \
    do {                                                                                                     \
        double check_a_ = (a), check_b_ = (b);                                                               \
        CHECK_MSG(fabs(check_a_ - check_b_) <= (tol), "%s = %.9g, %s = %.9g", #a, check_a_, #b, check_b_);   \
    } while (0)

#define RUN(fn)                                                                                              \
    do {                                                                                                     \
        check_current_failed = 0;                                                                            \
        fn();                                                                                                \
        if (check_current_failed) {                                                                          \
            check_tests_failed++;                                                                            \
            fprintf(stderr, "FAIL %s\n", #fn);                                                               \
        } else {                                                                                             \
            check_tests_passed++;                                                                            \
            fprintf(stderr, "ok   %s\n", #fn);                                                               \
        }                                                                                                    \
    } while (0)

static inline int check_summary(void) {
    printf("%d passed, %d failed\n", check_tests_passed, check_tests_failed);
    return check_tests_failed ? 1 : 0;
}

/* $SBT_DATA, or ../shared/data relative to the source tree (set by CMake). */
static inline const char *check_data_dir(void) {
    const char *d = getenv("SBT_DATA");
    return d && *d ? d : SBT_DEFAULT_DATA_DIR;
}

#endif
