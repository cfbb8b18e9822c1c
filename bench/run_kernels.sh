#!/usr/bin/env bash
# Ternary linear-layer kernels against OpenBLAS sgemm in the same run: runs bench/kernels
# (built beforehand; this script builds nothing) and writes
#   bench/results/kernels.json  (Google Benchmark JSON; compare.py reads it)
#   bench/results/kernels.md    (a short table)
#
# Usage: bench/run_kernels.sh [BUILD_DIR] [extra kernels options...]   (default build)
# Environment: SECONDS_PER (time per measurement, default 0.25), THREADS (default 1,2),
#   KEEP (default 0.5,0.25,0.1), RESULTS (output folder), OPENBLAS_CORETYPE (see below).
#
# OpenBLAS 0.3.21 (Debian 12) does not recognise every recent CPU: on this project's Xeon
# (family 6 model 207) its DYNAMIC_ARCH build falls back to the Prescott (SSE3) kernel, and
# sgemm runs at about 16 GMAC/s per core instead of about 74 with its AVX-512 kernel. The
# baseline must be OpenBLAS at its best, so unless OPENBLAS_CORETYPE is already set this
# script sets it from the CPU flags (SkylakeX with AVX-512, Haswell with AVX2) and records
# the kernel OpenBLAS used in the results.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
(($#)) && shift
bin="$build/bench/kernels"
results=${RESULTS:-$here/results}

if [ ! -x "$bin" ]; then
    echo "run_kernels: $bin not found; build first (cmake --build $build)" >&2
    exit 1
fi
mkdir -p "$results"

source "$here/openblas_env.sh"

# Other work on the machine ruins the numbers: measure how busy the CPUs are (all processes,
# over 2 s) before starting, warn, and record it in the results.
cpu_busy() {
    local a b tot=0 k
    read -r -a a </proc/stat
    sleep 2
    read -r -a b </proc/stat
    for k in 1 2 3 4 5 6 7 8; do tot=$((tot + b[k] - a[k])); done
    echo $((100 * (tot - (b[4] - a[4]) - (b[5] - a[5])) / (tot > 0 ? tot : 1)))
}
busy=$(cpu_busy)
if [ "$busy" -gt 10 ]; then
    echo "run_kernels: warning: the CPUs are already ${busy}% busy; results will be low and noisy" >&2
fi

"$bin" --seconds "${SECONDS_PER:-0.25}" --threads "${THREADS:-1,2}" --keep "${KEEP:-0.5,0.25,0.1}" \
    --cpu-busy "$busy" --json "$results/kernels.json" --md "$results/kernels.md" "$@"
echo "run_kernels: wrote $results/kernels.json and $results/kernels.md" >&2
