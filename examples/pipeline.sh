#!/usr/bin/env bash
# The whole flow on JapaneseVowels, one step after another:
#   1 PyTorch-trained float model -> ONNX        (bench/torch_forward.py's twin, torch.onnx)
#   2 sbt-prune    ONNX -> pruned model           3 sbt-binarize  -> sparse binary model
#   4 sbt-train --init  recover accuracy          5 sbt-export    -> .sbt / ONNX / C
#   6 sbt-bench    cost, latency, counters (Google Benchmark JSON)
#   7 sbt-report   report.md, report.html, plots
# Each step runs when its tool (or flag) exists in BUILD_DIR/tools, and is named as "not
# landed yet" otherwise. Until the ONNX import lands, a dense model trained by sbt-train
# stands in for the PyTorch one; a natively trained SBT is benchmarked beside the
# converted model.
#
# Usage: examples/pipeline.sh [BUILD_DIR] [OUT_DIR]     (defaults: build, pipeline_out)
# Environment: SBT_DATA (default ../shared/data), EPOCHS (native training, default 20),
#   PYTHON (default /usr/bin/python3).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
out=${2:-pipeline_out}
tools=$build/tools
data=${SBT_DATA:-$(cd "$here/.." && pwd)/shared/data}
python=${PYTHON:-/usr/bin/python3}
jv=$data/classification/JapaneseVowels
mkdir -p "$out"
declare -a summary

has() { [ -x "$tools/$1" ]; }
step() { summary+=("$(printf '%-28s %s' "$1" "$2")"); echo "== $1: $2" >&2; }

# 1. A float model trained by PyTorch, exported to ONNX. Needs an ONNX importer in libsbt
# to go further; until one lands, the step is named and skipped.
if has sbt-import || { has sbt-prune && "$tools/sbt-prune" --help 2>/dev/null | grep -qi onnx; }; then
    step "1 PyTorch -> ONNX" "importer present; export from PyTorch not scripted yet"
else
    step "1 PyTorch -> ONNX" "not scripted here yet (sbt-train --init reads .onnx; tests/golden/onnx_models.py exports test models)"
fi
# Until step 1 lands, a dense model trained by sbt-train stands in for the imported one.
train_args=(--synthetic)
[ -f "$jv/JapaneseVowels_TRAIN.ts" ] &&
    train_args=(--train "$jv/JapaneseVowels_TRAIN.ts" --test "$jv/JapaneseVowels_TEST.ts" --d-model 32)
dense=$out/jv_dense.sbtm
"$tools/sbt-train" --task classify --model dense "${train_args[@]}" --epochs "${EPOCHS:-20}" --patience 0 --quiet \
    -o "$dense" >"$out/train_dense.txt" && step "  dense sbt-train" "stands in for step 1: $(tail -1 "$out/train_dense.txt")"
converted=""
if has sbt-prune && [ -f "$dense" ]; then
    "$tools/sbt-prune" "$dense" -o "$out/jv_pruned.sbtm" --keep 0.5 >"$out/prune.txt" 2>&1 &&
        step "2 sbt-prune" "ran: keep 0.5 -> $out/jv_pruned.sbtm" || step "2 sbt-prune" "FAILED (see $out/prune.txt)"
else
    step "2 sbt-prune" "not landed yet (tools/sbt-prune.c)"
fi
if has sbt-binarize && [ -f "$out/jv_pruned.sbtm" ]; then
    "$tools/sbt-binarize" "$out/jv_pruned.sbtm" -o "$out/jv_ternary.sbtm" >"$out/binarize.txt" 2>&1 &&
        converted=$out/jv_ternary.sbtm && step "3 sbt-binarize" "ran: -> $converted (weights -alpha, 0, +alpha)" ||
        step "3 sbt-binarize" "FAILED (see $out/binarize.txt)"
else
    step "3 sbt-binarize" "not landed yet (tools/sbt-binarize.c)"
fi
if has sbt-train && "$tools/sbt-train" --help | grep -q -- '--init'; then
    if [ -n "$converted" ]; then
        "$tools/sbt-train" --init "$converted" --model sbt --keep 0.5 "${train_args[@]}" --epochs "${EPOCHS:-20}" \
            --patience 0 --quiet -o "$out/jv_recovered.sbtm" >"$out/init.txt" 2>&1 &&
            step "4 sbt-train --init" "ran: $(tail -1 "$out/init.txt")" && converted=$out/jv_recovered.sbtm ||
            step "4 sbt-train --init" "FAILED (see $out/init.txt)"
    else
        step "4 sbt-train --init" "landed; needs step 3's model, skipped"
    fi
else
    step "4 sbt-train --init" "not landed yet (sbt-train has no --init)"
fi

# A natively trained SBT (keep 0.5, Q/K/V mask) beside the converted model.
model=$out/jv_sbt.sbtm
"$tools/sbt-train" --task classify --model sbt --keep 0.5 --attn qkv-mask "${train_args[@]}" \
    --epochs "${EPOCHS:-20}" --patience 0 --quiet -o "$model" >"$out/train.txt" &&
    step "  native SBT sbt-train" "$(tail -1 "$out/train.txt")"

if has sbt-export && [ -f "$model" ]; then
    # named like the model, so that sbt-report puts its sizes beside the model's benchmark
    "$tools/sbt-export" "$model" -o "$out/jv_sbt.sbt" --json >"$out/export.json" 2>"$out/export.err" &&
        step "5 sbt-export" "ran: $out/jv_sbt.sbt ($(wc -c <"$out/jv_sbt.sbt") bytes)" ||
        step "5 sbt-export" "FAILED (see $out/export.err)"
else
    step "5 sbt-export" "not landed yet (tools/sbt-export.c)"
fi
if [ -f "$model" ]; then
    "$tools/sbt-bench" "$model" --attn all --batch 1,64 --repetitions 9 --min-time 0.05 --json "$out/bench.json" \
        >"$out/bench.txt" 2>"$out/bench.err" && step "6 sbt-bench" "ran: $out/bench.json, $out/bench.txt" ||
        step "6 sbt-bench" "FAILED (see $out/bench.err)"
    if [ -n "$converted" ]; then
        "$tools/sbt-bench" "$converted" --batch 1,64 --repetitions 9 --min-time 0.05 --json "$out/bench_converted.json" \
            >"$out/bench_converted.txt" 2>&1 && step "6 sbt-bench (converted)" "ran: $out/bench_converted.json" ||
            step "6 sbt-bench (converted)" "FAILED (see $out/bench_converted.txt)"
    fi
    "$tools/sbt-bench" "$model" --dump "$out/peer" --repetitions 1 --min-time 0 --counters none >/dev/null 2>&1 &&
        "$python" "$here/bench/torch_forward.py" "$out/peer" --name "$(basename "$model" .sbtm)" --repetitions 9 \
            --json "$out/torch.json" >"$out/torch.txt" 2>&1 &&
        step "6b PyTorch peer" "ran: $out/torch.json ($(head -1 "$out/torch.txt"))" ||
        step "6b PyTorch peer" "FAILED (see $out/torch.txt)"
fi
inputs=("$out/bench.json")
[ -f "$out/bench_converted.json" ] && inputs+=("$out/bench_converted.json")
[ -f "$out/torch.json" ] && inputs+=("$out/torch.json")
[ -s "$out/export.json" ] && inputs+=("$out/export.json")
for g in "$here"/reports/paper_grid_*.json; do [ -f "$g" ] && inputs+=("$g"); done
if [ -f "$out/bench.json" ] && "$tools/sbt-report" "${inputs[@]}" -o "$out/report" >"$out/report.txt" 2>&1; then
    step "7 sbt-report" "ran: $out/report/report.html"
else
    step "7 sbt-report" "FAILED (see $out/report.txt)"
fi

printf '%s\n' "pipeline summary:" "${summary[@]}"
