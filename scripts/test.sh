#!/usr/bin/env bash
# scripts/test.sh - the whole check, as CI runs it (.ci/run).
#
# Set-up (scripts/setup-test.sh: what building needs, then the test peers), then five
# steps, each reported on one line:
#   build+ctest  Release build with -Werror in build/, ctest
#   sanitize     ASan+UBSan RelWithDebInfo build in build-asan/, ctest without the
#                tests labelled `slow`
#   format       clang-format --dry-run --Werror over the tracked *.c/*.h
#   install      cmake --install into a scratch prefix, then examples/consumer built
#                against it with find_package(sbt) and with pkg-config
#   fuzz         clang build with -DSBT_FUZZ=ON in build-fuzz/, every tests/fuzz target run
#                for SBT_FUZZ_SECONDS (30) on its seed corpus (scripts/fuzz.sh), two at a time
# Every step runs even when an earlier one failed; the exit status is non-zero if any
# failed. The last line counts tests: "total: N passed, N failed" (each ctest test
# counts once; format and install count as one each, each fuzz target as one; a step that
# could not run its tests counts as one failure).
#
# SBT_DATA (the shared datasets) defaults to ../shared/data beside the repository.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1

export SBT_DATA=${SBT_DATA:-$(cd "$repo/.." && pwd)/shared/data}
[[ -d $SBT_DATA ]] || echo "test: warning: SBT_DATA=$SBT_DATA does not exist; tests needing data may fail" >&2

if ! bash scripts/setup-test.sh; then
    echo "test: setup failed" >&2
    echo "total: 0 passed, 1 failed"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbt-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

summary=()   # one line per step
total_pass=0
total_fail=0
any_failed=0

banner() { printf '\n==== %s ====\n' "$*"; }

record() { # record NAME OK(0/1) PASSED FAILED DETAIL
    local name=$1 ok=$2 p=$3 f=$4 detail=$5
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    if ((ok == 0)); then
        summary+=("$(printf '%-13s ok    %s' "$name" "$detail")")
    else
        any_failed=1
        summary+=("$(printf '%-13s FAIL  %s' "$name" "$detail")")
    fi
}

# Runs ctest in $1 with the remaining arguments, teeing to a log, then records the
# step from ctest's "N% tests passed, F tests failed out of T" line.
run_ctest() {
    local name=$1 dir=$2 log=$tmp/$1.ctest.log
    shift 2
    ctest --test-dir "$dir" --output-on-failure -j2 "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    local line t f
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
    if [[ -z $line ]]; then
        if grep -q 'No tests were found' "$log"; then
            record "$name" 1 0 1 "ctest found no tests"
        else
            record "$name" 1 0 1 "ctest did not finish (exit $rc)"
        fi
        return
    fi
    t=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
    f=$(sed -E 's/.*, ([0-9]+) tests? failed.*/\1/' <<<"$line")
    if ((rc == 0 && f == 0 && t > 0)); then
        record "$name" 0 $((t - f)) "$f" "$((t - f)) passed, $f failed"
    else
        ((f == 0)) && f=1
        record "$name" 1 $((t - f < 0 ? 0 : t - f)) "$f" "$((t - f < 0 ? 0 : t - f)) passed, $f failed (ctest exit $rc)"
    fi
}

# ---- (a) normal build with -Werror + ctest ------------------------------------------
banner "build + ctest (build/, Release, -Werror)"
if bash scripts/build.sh "$repo/build"; then
    run_ctest build+ctest "$repo/build"
else
    record build+ctest 1 0 1 "build failed"
fi

# ---- (b) ASan + UBSan build + ctest -LE slow ---------------------------------------
# -Werror is checked by (a); sanitizer instrumentation makes GCC emit extra
# false-positive warnings, so this build does not turn them into errors.
banner "sanitizers (build-asan/, RelWithDebInfo, ASan+UBSan, -LE slow)"
if bash scripts/build.sh "$repo/build-asan" -DSBT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSBT_WERROR=OFF; then
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_ctest sanitize "$repo/build-asan" -LE slow
else
    record sanitize 1 0 1 "build failed"
fi

# ---- (c) clang-format ----------------------------------------------------------------
banner "clang-format --dry-run --Werror"
sources=()
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
    git -C "$repo" ls-files >/dev/null 2>&1; then
    while IFS= read -r -d '' f; do [[ -f $f ]] && sources+=("$f"); done \
        < <(git -C "$repo" ls-files -z -- '*.c' '*.h')
else
    while IFS= read -r -d '' f; do sources+=("${f#./}"); done \
        < <(find . \( -path './build*' -o -path './.deps' -o -path './.git' -o -name node_modules \) -prune \
            -o -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
fi
bad=()
for f in "${sources[@]}"; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>"$tmp/format.err" || {
        bad+=("$f")
        head -n 6 "$tmp/format.err"
    }
done
if ((${#sources[@]} == 0)); then
    record format 1 0 1 "no *.c/*.h files found"
elif ((${#bad[@]} == 0)); then
    record format 0 1 0 "${#sources[@]} files clean"
else
    record format 1 0 1 "${#bad[@]} of ${#sources[@]} files need clang-format -i: ${bad[*]}"
fi

# ---- (d) install + consumer ----------------------------------------------------------
banner "install + examples/consumer"
install_check() {
    local prefix=$tmp/prefix cc=${CC:-cc}
    [[ -f $repo/build/CMakeCache.txt ]] || { echo "install: build/ was not configured"; return 1; }
    cmake --install "$repo/build" --prefix "$prefix" || return 1
    echo "-- find_package(sbt), shared library"
    cmake -S "$repo/examples/consumer" -B "$tmp/consumer-shared" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_BUILD_TYPE=Release || return 1
    cmake --build "$tmp/consumer-shared" || return 1
    "$tmp/consumer-shared/sbt-consumer" || return 1
    echo "-- find_package(sbt), static library"
    cmake -S "$repo/examples/consumer" -B "$tmp/consumer-static" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_BUILD_TYPE=Release -DSBT_CONSUMER_STATIC=ON || return 1
    cmake --build "$tmp/consumer-static" || return 1
    "$tmp/consumer-static/sbt-consumer" || return 1
    echo "-- pkg-config sbt"
    local pcdir
    pcdir=$(dirname "$(find "$prefix" -name sbt.pc -print -quit)")
    [[ -f $pcdir/sbt.pc ]] || { echo "install: sbt.pc not installed"; return 1; }
    local flags
    flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs sbt) || return 1
    echo "pkg-config --cflags --libs sbt: $flags"
    # shellcheck disable=SC2086  # word splitting of the flags is intended
    "$cc" -std=c11 -Wall -Wextra -Werror "$repo/examples/consumer/main.c" $flags -o "$tmp/consumer-pc" || return 1
    LD_LIBRARY_PATH=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir sbt) "$tmp/consumer-pc" || return 1
    echo "-- installed tools"
    local t
    for t in "$prefix"/bin/sbt-*; do
        [[ -x $t ]] || continue
        "$t" --version || { echo "install: $t --version failed"; return 1; }
    done
    return 0
}
if install_check; then
    record install 0 1 0 "installed; consumer built and ran (CMake shared, CMake static, pkg-config)"
else
    record install 1 0 1 "see the output above"
fi

# ---- (e) fuzz ------------------------------------------------------------------------------
fuzz_seconds=${SBT_FUZZ_SECONDS:-30}
banner "fuzz (build-fuzz/, clang, libFuzzer + ASan + UBSan, ${fuzz_seconds} s per target)"
if bash scripts/build.sh "$repo/build-fuzz" -DCMAKE_C_COMPILER=clang -DSBT_FUZZ=ON -DSBT_BUILD_TESTS=OFF \
    -DSBT_WERROR=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
    JOBS=2 bash scripts/fuzz.sh "$repo/build-fuzz" "$fuzz_seconds" | tee "$tmp/fuzz.log"
    fuzz_rc=${PIPESTATUS[0]}
    fuzz_ok=$(grep -c ' ok ' "$tmp/fuzz.log")
    fuzz_bad=$(grep -c ' FAIL ' "$tmp/fuzz.log")
    if ((fuzz_rc == 0 && fuzz_bad == 0 && fuzz_ok > 0)); then
        record fuzz 0 "$fuzz_ok" 0 "$fuzz_ok targets ran ${fuzz_seconds} s each without a finding"
    else
        ((fuzz_bad == 0)) && fuzz_bad=1
        record fuzz 1 "$fuzz_ok" "$fuzz_bad" "$fuzz_bad target(s) failed (findings in build-fuzz/fuzz-findings/)"
    fi
else
    record fuzz 1 0 1 "build failed"
fi

# ---- summary ---------------------------------------------------------------------------
printf '\n==== summary ====\n'
printf '%s\n' "${summary[@]}"
echo "total: $total_pass passed, $total_fail failed"
exit "$any_failed"
