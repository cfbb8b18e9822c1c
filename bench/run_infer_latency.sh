#!/usr/bin/env bash
# Inference latency per window, dense vs SBT keep 0.5, JapaneseVowels and SMD shapes,
# batch 1 and 64, 1 thread: the training graph in eval mode against the frozen
# forward-only graph. Writes bench/results/infer_latency.{json,md}.
#
# Usage: bench/run_infer_latency.sh [BUILD_DIR]   (default build; it builds nothing)
# Environment: MIN_TIME seconds per measurement (default 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bin="$build/bench/infer_latency"
[[ -x $bin ]] || { echo "run_infer_latency: $bin not found; build first (cmake --build $build)" >&2; exit 1; }
mkdir -p "$here/results"
source "$here/openblas_env.sh" # the dense baseline at its best (see there)
busy=$(awk '{print $1}' /proc/loadavg)
echo "run_infer_latency: load average $busy (numbers from a busy machine are noisy)" >&2
"$bin" --min-time "${MIN_TIME:-2}" --json "$here/results/infer_latency.json" --md "$here/results/infer_latency.md"
printf '\nLoad average at the start: %s. OPENBLAS_CORETYPE=%s.\n' "$busy" "${OPENBLAS_CORETYPE:-unset}" >>"$here/results/infer_latency.md"
cat "$here/results/infer_latency.md"
