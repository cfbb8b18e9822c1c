#!/usr/bin/env bash
# One run of the paper grid: trains with sbt-train, evaluates the test split once with
# sbt-eval --json, and prints one JSON line (the run's configuration, every test metric,
# seconds). paper_grid.sh calls it, several at a time.
#
# Usage: grid_run.sh TOOLS_DIR DATA_DIR TASK DATASET MODEL KEEP ATTENTION SEED [sbt-train flags...]
#   TASK classify: DATASET is a UEA name under DATA_DIR/classification
#   TASK forecast: DATASET is a CSV path relative to DATA_DIR/forecasting
#   TASK anomaly:  DATASET is FOLDER:ENTITY relative to DATA_DIR/anomaly (e.g. SMD:machine-1-1)
set -euo pipefail
tools=$1 data=$2 task=$3 dataset=$4 model=$5 keep=$6 attn=$7 seed=$8
shift 8
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(--task "$task" --model "$model" --attn "$attn" --seed "$seed" --threads 1 --quiet -o "$tmp/m.sbtm" "$@")
[ "$model" = sbt ] && args+=(--keep "$keep")
case $task in
  classify)
    dir=$data/classification/$dataset
    args+=(--train "$dir/${dataset}_TRAIN.ts")
    eval_args=(--test "$dir/${dataset}_TEST.ts")
    ;;
  forecast)
    args+=(--train "$data/forecasting/$dataset")
    eval_args=(--test "$data/forecasting/$dataset")
    ;;
  anomaly)
    folder=${dataset%%:*} entity=${dataset#*:}
    args+=(--train "$data/anomaly/$folder" --entity "$entity")
    eval_args=(--test "$data/anomaly/$folder" --entity "$entity")
    ;;
  *) echo "grid_run.sh: unknown task $task" >&2; exit 2 ;;
esac
start=$SECONDS
"$tools/sbt-train" "${args[@]}" >"$tmp/train.out"
"$tools/sbt-eval" "$tmp/m.sbtm" "${eval_args[@]}" --json >"$tmp/eval.json"
/usr/bin/python3 - "$tmp/eval.json" "$task" "$dataset" "$model" "$keep" "$attn" "$seed" $((SECONDS - start)) "$*" <<'EOF'
import json, sys
path, task, dataset, model, keep, attn, seed, seconds, flags = sys.argv[1:]
r = json.load(open(path))
metrics = {k: v for k, v in r.items() if isinstance(v, (int, float))}
for k, v in r.items():  # anomaly: {"pot": {...}, "quantile": {...}} -> pot_f1, ...
    if isinstance(v, dict):
        metrics.update({f"{k}_{kk}": vv for kk, vv in v.items() if isinstance(vv, (int, float))})
print(json.dumps({"task": task, "dataset": dataset, "model": model, "keep": float(keep), "attention": attn,
                  "seed": int(seed), "metrics": metrics, "seconds": int(seconds), "flags": flags}))
EOF
