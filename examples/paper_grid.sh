#!/usr/bin/env bash
# The paper's dense-vs-SBT grid on the datasets present in $SBT_DATA, one task at a time,
# written to reports/paper_grid_<task>.{json,md}. For every dataset and seed: the dense
# model, the SBT at each keep fraction of the task with the task's attention variant, and
# the SBT at keep 0.5 with full attention (so the variant can be compared with it); mean
# and spread over seeds. Every run is a plain sbt-train (examples/grid_run.sh); test data
# is evaluated once, after training.
#
# Usage: examples/paper_grid.sh [BUILD_DIR] [--task classify|forecast|anomaly] [--quick]
#   --quick   fewer datasets (minutes to an hour, not hours)
# Environment: SBT_DATA (default ../shared/data), SEEDS (default "0 1 2"), JOBS (parallel
#   runs, default 2, each on one thread), EPOCHS (default: classification sbt-train's own
#   (dense 100 / patience 20, SBT 200 / 50); forecast and anomaly 8, see below), DRY_RUN
#   (set: print the runs, one per line, and stop).
#
# What is scaled down, and why (2 cores): forecasting and anomaly runs stop after EPOCHS
# epochs (the paper allows 50-100 with patience 5) and the larger series train on every
# N-th window (--train-stride; validation and test keep every window). The stride and
# epochs of each run are in its "flags" in the JSON and in the table's header.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
task=classify quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --task) task=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    -*) echo "paper_grid.sh: unknown flag $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
tools=$build/tools
data=${SBT_DATA:-$(cd "$here/.." && pwd)/shared/data}
seeds=${SEEDS:-0 1 2}
jobs=${JOBS:-2}
out=$here/reports
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
joblist=$tmp/jobs

# job DATASET MODEL KEEP ATTENTION SEED FLAGS... -> one line of the job list
job() { echo "$task $*" >>"$joblist"; }

classify_jobs() {
  local sets="JapaneseVowels BasicMotions NATOPS Epilepsy ArticularyWordRecognition" epochs=()
  [ $quick -eq 1 ] && sets="JapaneseVowels BasicMotions NATOPS"
  [ -n "${EPOCHS:-}" ] && epochs=(--epochs "$EPOCHS")
  for ds in $sets; do
    [ -f "$data/classification/$ds/${ds}_TRAIN.ts" ] || { echo "skip $ds: not in $data" >&2; continue; }
    for seed in $seeds; do
      job "$ds" dense 1 full "$seed" "${epochs[@]}"
      for keep in 0.9 0.75 0.5; do
        for attn in full qkv-mask; do job "$ds" sbt "$keep" "$attn" "$seed" "${epochs[@]}"; done
      done
    done
  done
}

# The forecast and anomaly rows of one dataset, every seed: dense, SBT at keep 0.5 / 0.25 /
# 0.1 with Step-T, and SBT at keep 0.5 with full attention. Usage: window_jobs DATASET FLAGS...
window_jobs() {
  local ds=$1 seed keep
  shift
  for seed in $seeds; do
    job "$ds" dense 1 step-t "$seed" "$@"
    for keep in 0.5 0.25 0.1; do job "$ds" sbt "$keep" step-t "$seed" "$@"; done
    job "$ds" sbt 0.5 full "$seed" "$@"
  done
}

# Shapes from ../shared/paper-configs.md: d 64 (ETT), 100 (WTH); the electricity subset has
# 6 of ECL's 321 clients, so it gets ETT's width, not ECL's 350. Window 200 everywhere.
forecast_jobs() {
  local e=${EPOCHS:-8}
  local sets=("ETTh1/ETTh1.csv:64:1" "ETTm1/ETTm1.csv.gz:64:4" "WTH/WTH.csv:100:3"
    "electricity_subset/electricity_first6clients.csv:64:2")
  [ $quick -eq 1 ] && sets=("ETTh1/ETTh1.csv:64:1" "ETTm1/ETTm1.csv.gz:64:4")
  for spec in "${sets[@]}"; do
    IFS=: read -r file d stride <<<"$spec"
    [ -f "$data/forecasting/$file" ] || { echo "skip $file: not in $data" >&2; continue; }
    window_jobs "$file" --window 200 --d-model "$d" --epochs "$e" --train-stride "$stride"
  done
}

# SMD: one machine (machine-1-6: 6 of the 28 have arrays here), window 200, d 76 (= 2 C, sbt-train's default for anomaly models);
# MSL and SMAP: one model over all channels, window 50.
anomaly_jobs() {
  local e=${EPOCHS:-8}
  local sets=("SMD:machine-1-6:200:4" "MSL:all:50:4" "SMAP:all:50:8")
  [ $quick -eq 1 ] && sets=("SMD:machine-1-6:200:4")
  for spec in "${sets[@]}"; do
    IFS=: read -r folder entity window stride <<<"$spec"
    [ -d "$data/anomaly/$folder" ] || { echo "skip $folder: not in $data" >&2; continue; }
    window_jobs "$folder:$entity" --window "$window" --epochs "$e" --train-stride "$stride"
  done
}

: >"$joblist"
case $task in
  classify) classify_jobs ;;
  forecast) forecast_jobs ;;
  anomaly) anomaly_jobs ;;
  *) echo "paper_grid.sh: unknown task $task" >&2; exit 2 ;;
esac
if [ -n "${DRY_RUN:-}" ]; then cat "$joblist"; exit 0; fi
echo "$(wc -l <"$joblist") runs, $jobs at a time" >&2
runs=$tmp/runs.jsonl
# A failed run is reported on stderr and left out of the table rather than stopping the grid.
xargs -P "$jobs" -L 1 bash "$here/examples/grid_run.sh" "$tools" "$data" <"$joblist" >"$runs" ||
  echo "paper_grid.sh: some runs failed (see above); the table has the others" >&2

mkdir -p "$out"
/usr/bin/python3 "$here/examples/grid_table.py" "$runs" "$out/paper_grid_$task.json" "$out/paper_grid_$task.md" \
  "$task" "seeds: $seeds, $(date -u +%Y-%m-%d)"
echo "wrote $out/paper_grid_$task.json and $out/paper_grid_$task.md"
