#!/usr/bin/env bash
# Forward latency of one window: libsbt (sbt-bench, every attention variant and weight
# kernel) against PyTorch CPU (bench/torch_forward.py) and ONNX Runtime on the dense ONNX
# export (bench/ort_forward.js, when .deps/node has onnxruntime-node) on the same model,
# weights, input batch and thread counts, plus the cost of each variant. Writes
#   bench/results/forward_<model>_{sbt,torch,ort}.json  (Google Benchmark JSON)
#   bench/results/forward.md   (median times, ratios peer / sbt, MACs; how it was made)
#   bench/results/forward_report/  (sbt-report of the same files)
#
# Usage: bench/run_forward.sh [BUILD_DIR]          (default: build; builds nothing)
# Models: the paper's JapaneseVowels shape (C 12, d 32, h 2, L 2, F 256, w 29, BatchNorm),
# dense and SBT keep 0.5, counted and timed untrained (weights from the seed: the timing
# does not depend on them). Environment: THREADS (default "1,2"), BATCHES (default "1,64"),
# REPS (9), MIN_TIME (0.1), PYTHON (/usr/bin/python3), RESULTS (bench/results),
# ORT_NODE_MODULES (default .deps/node/node_modules of the repository).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/openblas_env.sh" # sgemm (ours and PyTorch's, through libblas.so.3) at its best
build=${1:-build}
python=${PYTHON:-/usr/bin/python3}
threads=${THREADS:-1,2}
batches=${BATCHES:-1,64}
reps=${REPS:-9}
min_time=${MIN_TIME:-0.1}
results=${RESULTS:-$here/results}
tools="$build/tools"
ort_modules=${ORT_NODE_MODULES:-$here/../.deps/node/node_modules}
[ -x "$tools/sbt-bench" ] || { echo "run_forward: $tools/sbt-bench not found; build first" >&2; exit 1; }
have_ort=0
if [ -d "$ort_modules/onnxruntime-node" ] && command -v node >/dev/null; then
    have_ort=1
else
    echo "run_forward: no $ort_modules/onnxruntime-node: the ONNX Runtime peer is skipped (scripts/setup-test.sh)" >&2
fi
mkdir -p "$results"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Several Google Benchmark files of one peer -> one file (the first one's context).
merge() {
    "$python" -c '
import json, sys
docs = [json.load(open(p)) for p in sys.argv[2:]]
json.dump({"context": docs[0]["context"], "benchmarks": [b for d in docs for b in d["benchmarks"]]},
          open(sys.argv[1], "w"), indent=1)' "$@"
}

shape=(--task classify --channels 12 --outputs 9 --length 29 --d-model 32 --heads 2 --layers 2 --ffn 256 --norm batch)
for kind in dense sbt; do
    extra=()
    [ "$kind" = sbt ] && extra=(--keep 0.5)
    name="jv-$kind"
    IFS=, read -r -a blist <<<"$batches"
    "$tools/sbt-bench" "${shape[@]}" --model "$kind" "${extra[@]}" --attn all --kernel all --batch "$batches" \
        --threads "$threads" --repetitions "$reps" --min-time "$min_time" --json "$results/forward_${name}_sbt.json" |
        tee "$tmp/$name.txt"
    torch_files=() ort_files=()
    for b in "${blist[@]}"; do # the peers take one dump per batch size
        "$tools/sbt-bench" "${shape[@]}" --model "$kind" "${extra[@]}" --attn all --batch "$b" --repetitions 1 \
            --min-time 0 --counters none --dump "$tmp/dump-$name-b$b" >/dev/null
        "$python" "$here/torch_forward.py" "$tmp/dump-$name-b$b" --name "classify-$kind" --threads "$threads" \
            --repetitions "$reps" --min-time "$min_time" --json "$tmp/$name-b$b.torch.json"
        torch_files+=("$tmp/$name-b$b.torch.json")
        if [ "$have_ort" = 1 ]; then
            ORT_NODE_MODULES=$ort_modules node "$here/ort_forward.js" "$tmp/dump-$name-b$b" --name "classify-$kind" \
                --threads "$threads" --repetitions "$reps" --min-time "$min_time" --json "$tmp/$name-b$b.ort.json"
            ort_files+=("$tmp/$name-b$b.ort.json")
        fi
    done
    merge "$results/forward_${name}_torch.json" "${torch_files[@]}"
    [ "${#ort_files[@]}" -gt 0 ] && merge "$results/forward_${name}_ort.json" "${ort_files[@]}"
done

"$python" "$here/forward_table.py" "$results" >"$results/forward.md"
rm -rf "$results/forward_report"
"$tools/sbt-report" "$results"/forward_jv-*.json -o "$results/forward_report"
rm -f "$results/forward_report/gnuplot.log"
cat "$results/forward.md"
