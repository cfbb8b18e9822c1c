#!/usr/bin/env bash
# The paper's dense-vs-SBT grid on the datasets present in $SBT_DATA, written to
# reports/paper_grid.{json,md}. For every dataset and seed: the dense model, then the
# SBT at each keep fraction with each attention variant of its task; mean and spread
# over seeds. Every run is a plain sbt-train; test data is evaluated only after training.
#
# Usage: examples/paper_grid.sh [BUILD_DIR] [--quick]
#   --quick   classification only, fewer datasets (minutes, not hours)
# Environment: SBT_DATA (default ../shared/data), SEEDS (default "0 1 2"), EPOCHS_CLASSIFY
#   (default: sbt-train's own: dense 100 epochs / patience 20, SBT 200 / 50).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
quick=0
[ "${2:-}" = "--quick" ] && quick=1
tools=$build/tools
data=${SBT_DATA:-$(cd "$here/.." && pwd)/shared/data}
seeds=${SEEDS:-0 1 2}
epochs=${EPOCHS_CLASSIFY:-}
out=$here/reports
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
runs=$tmp/runs.jsonl
: >"$runs"

classify_sets="JapaneseVowels BasicMotions NATOPS Epilepsy ArticularyWordRecognition"
[ $quick -eq 1 ] && classify_sets="JapaneseVowels BasicMotions NATOPS"

# one run: dataset model keep attention seed -> a JSON line
classify_run() {
  local ds=$1 model=$2 keep=$3 attn=$4 seed=$5 dir=$data/classification/$1
  local args=(--task classify --model "$model" --attn "$attn" --train "$dir/${ds}_TRAIN.ts"
    --seed "$seed" --quiet -o "$tmp/m.sbtm")
  [ -n "$epochs" ] && args+=(--epochs "$epochs")
  [ "$model" = sbt ] && args+=(--keep "$keep")
  local start=$SECONDS
  "$tools/sbt-train" "${args[@]}" >/dev/null
  "$tools/sbt-eval" "$tmp/m.sbtm" --test "$dir/${ds}_TEST.ts" --json |
    /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); a=sys.argv[1:]; print(json.dumps({"task":"classify","dataset":a[0],"model":a[1],"keep":float(a[2]),"attention":a[3],"seed":int(a[4]),"metric":"accuracy","value":r["accuracy"],"seconds":int(a[5])}))' \
      "$ds" "$model" "$keep" "$attn" "$seed" $((SECONDS - start)) >>"$runs"
}

for ds in $classify_sets; do
  [ -f "$data/classification/$ds/${ds}_TRAIN.ts" ] || { echo "skip $ds: not in $data" >&2; continue; }
  for seed in $seeds; do
    classify_run "$ds" dense 1 full "$seed"
    for keep in 0.9 0.75 0.5; do
      for attn in full qkv-mask; do classify_run "$ds" sbt "$keep" "$attn" "$seed"; done
    done
    echo "$ds seed $seed done" >&2
  done
done

mkdir -p "$out"
/usr/bin/python3 "$here/examples/grid_table.py" "$runs" "$out/paper_grid.json" "$out/paper_grid.md" \
  "epochs ${epochs:-sbt-train defaults}, seeds: $seeds, $(date -u +%Y-%m-%d)"
echo "wrote $out/paper_grid.json and $out/paper_grid.md"
