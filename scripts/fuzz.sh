#!/usr/bin/env bash
# scripts/fuzz.sh BUILD_DIR SECONDS [NAME...] - run the libFuzzer targets of a -DSBT_FUZZ=ON build.
#
# For each target (default: every BUILD_DIR/tests/fuzz/fuzz_* that is not a seed writer),
# the seed writer fills BUILD_DIR/fuzz-corpus/NAME/ (cut from the datasets in SBT_DATA),
# with the earlier findings of tests/fuzz/regressions/NAME/ beside them,
# then the target runs for SECONDS with AddressSanitizer and UBSan, a 2 GB RSS limit (a
# reader asking for memory the input does not hold is a finding) and its findings written
# to BUILD_DIR/fuzz-findings/NAME/. One line per target:
#     fuzz_NAME ok|FAIL  <executions> execs, cov <edges>, <corpus> inputs[, findings: FILES]
# Exit status: the number of failed targets (0: all ran clean). JOBS targets run at once (1).
set -uo pipefail

build=${1:?usage: fuzz.sh BUILD_DIR SECONDS [NAME...]}
seconds=${2:?usage: fuzz.sh BUILD_DIR SECONDS [NAME...]}
shift 2
build=$(cd "$build" && pwd) || exit 1
dir=$build/tests/fuzz
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SBT_DATA=${SBT_DATA:-$(cd "$repo/.." && pwd)/shared/data}

names=("$@")
if ((${#names[@]} == 0)); then
    for f in "$dir"/fuzz_*; do
        [[ -x $f && $f != *_seeds ]] && names+=("$(basename "$f")")
    done
fi
((${#names[@]})) || { echo "fuzz: no targets in $dir (configure with -DSBT_FUZZ=ON)" >&2; exit 1; }

run_one() { # NAME -> one summary line on stdout, the log in fuzz-logs/NAME.log
    local name=$1 corpus=$build/fuzz-corpus/$1 findings=$build/fuzz-findings/$1 log=$build/fuzz-logs/$1.log
    mkdir -p "$corpus" "$findings" "$build/fuzz-logs"
    # earlier findings (each with a regression test) stay in the corpus
    [[ -d $repo/tests/fuzz/regressions/$name ]] && cp "$repo/tests/fuzz/regressions/$name"/* "$corpus"/
    if [[ -x $dir/${name}_seeds ]] && ! "$dir/${name}_seeds" "$corpus" >"$log" 2>&1; then
        printf '%-22s FAIL  the seed writer failed (see %s)\n' "$name" "$log"
        return 1
    fi
    (cd "$findings" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        "$dir/$name" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=25 \
        -max_len=8192 -print_final_stats=1 "$corpus" >>"$log" 2>&1)
    local rc=$? execs cov units found
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    units=$(find "$corpus" -type f | wc -l)
    found=$(cd "$findings" && ls 2>/dev/null | tr '\n' ' ')
    if ((rc == 0)) && [[ -z $found ]]; then
        printf '%-22s ok    %s execs, cov %s, %s inputs\n' "$name" "${execs:-?}" "${cov:-?}" "$units"
        return 0
    fi
    printf '%-22s FAIL  exit %d, %s execs, cov %s; findings: %s(log %s)\n' "$name" "$rc" "${execs:-?}" \
        "${cov:-?}" "${found:-none }" "$log"
    return 1
}

jobs=${JOBS:-1}
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((i = 0; i < ${#names[@]}; i += jobs)); do
    pids=()
    for ((j = i; j < i + jobs && j < ${#names[@]}; j++)); do
        run_one "${names[j]}" >"$tmp/$j" &
        pids+=($!)
    done
    for ((k = 0; k < ${#pids[@]}; k++)); do
        wait "${pids[k]}" || failed=$((failed + 1))
        cat "$tmp/$((i + k))"
    done
done
exit "$failed"
