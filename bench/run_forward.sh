#!/usr/bin/env bash
# Forward latency of one window: libsbt (sbt-bench, every attention variant) against the
# PyTorch CPU peer (bench/torch_forward.py) on the same model, weights, input batch and
# thread counts, plus the cost of each variant. Writes
#   bench/results/forward_<model>_sbt.json, forward_<model>_torch.json  (Google Benchmark JSON)
#   bench/results/forward.md   (median times, ratios torch / sbt, MACs; how it was made)
#   bench/results/forward_report/  (sbt-report of the same files)
#
# Usage: bench/run_forward.sh [BUILD_DIR]          (default: build; builds nothing)
# Models: the paper's JapaneseVowels shape (C 12, d 32, h 2, L 2, F 256, w 29, BatchNorm),
# dense and SBT keep 0.5, counted and timed untrained (weights from the seed: the timing
# does not depend on them). Environment: THREADS (default "1,2"), BATCHES (default "1,64"),
# REPS (9), MIN_TIME (0.1), PYTHON (/usr/bin/python3), RESULTS (bench/results).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
python=${PYTHON:-/usr/bin/python3}
threads=${THREADS:-1,2}
batches=${BATCHES:-1,64}
reps=${REPS:-9}
min_time=${MIN_TIME:-0.1}
results=${RESULTS:-$here/results}
tools="$build/tools"
[ -x "$tools/sbt-bench" ] || { echo "run_forward: $tools/sbt-bench not found; build first" >&2; exit 1; }
mkdir -p "$results"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

shape=(--task classify --channels 12 --outputs 9 --length 29 --d-model 32 --heads 2 --layers 2 --ffn 256 --norm batch)
for kind in dense sbt; do
    extra=()
    [ "$kind" = sbt ] && extra=(--keep 0.5)
    name="jv-$kind"
    IFS=, read -r -a blist <<<"$batches"
    # sbt-bench times every batch; the peer needs one dump per batch size.
    "$tools/sbt-bench" "${shape[@]}" --model "$kind" "${extra[@]}" --attn all --kernel all --batch "$batches" --threads "$threads" \
        --repetitions "$reps" --min-time "$min_time" --json "$results/forward_${name}_sbt.json" \
        | tee "$tmp/$name.txt"
    : >"$tmp/$name.torch.list"
    for b in "${blist[@]}"; do
        "$tools/sbt-bench" "${shape[@]}" --model "$kind" "${extra[@]}" --attn all --batch "$b" --repetitions 1 \
            --min-time 0 --counters none --dump "$tmp/dump-$name-b$b" >/dev/null
        "$python" "$here/torch_forward.py" "$tmp/dump-$name-b$b" --name "classify-$kind" --threads "$threads" --repetitions "$reps" \
            --min-time "$min_time" --json "$tmp/$name-b$b.torch.json"
        echo "$tmp/$name-b$b.torch.json" >>"$tmp/$name.torch.list"
    done
    # one peer file per model with every batch
    "$python" - "$results/forward_${name}_torch.json" $(cat "$tmp/$name.torch.list") <<'EOF'
import json, sys
out, docs = sys.argv[1], [json.load(open(p)) for p in sys.argv[2:]]
merged = {"context": docs[0]["context"], "benchmarks": [b for d in docs for b in d["benchmarks"]]}
json.dump(merged, open(out, "w"), indent=1)
EOF
done

"$python" "$here/forward_table.py" "$results" >"$results/forward.md"
"$tools/sbt-report" "$results"/forward_jv-*_sbt.json "$results"/forward_jv-*_torch.json -o "$results/forward_report"
cat "$results/forward.md"
