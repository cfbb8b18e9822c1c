#!/usr/bin/env bash
# tests/tools/convert.sh TOOLS_DIR [DATA_DIR] - sbt-prune and sbt-binarize on a trained
# model: the table, the kept fraction, accuracy that survives, JSON, and the refusals
# (keep out of range, no linear weights, a corrupt model, an output that cannot be
# created: exit 1 or 2, the file named, no output file).
set -uo pipefail
source "$(dirname "$0")/lib/e2e.bash" "$@"

"$tools/sbt-train" --task classify --model dense --synthetic --epochs 5 -o "$tmp/dense.sbtm" >/dev/null 2>&1
check "a dense model to convert" '[ -s "$tmp/dense.sbtm" ]'

"$tools/sbt-prune" "$tmp/dense.sbtm" -o "$tmp/pruned.sbtm" --keep 0.5 >"$tmp/prune.txt" 2>"$tmp/prune.err"
check "sbt-prune exits 0" '[ $? -eq 0 ] && [ -s "$tmp/pruned.sbtm" ]'
check "sbt-prune keeps half of every weight" 'awk "\$1==\"total\" {exit !(\$4*2==\$3)}" "$tmp/prune.txt"'
check "sbt-prune names the layers" 'grep -q "^layer1.ff2 " "$tmp/prune.txt" && grep -q pruned "$tmp/prune.txt"'

"$tools/sbt-binarize" "$tmp/pruned.sbtm" -o "$tmp/tern.sbtm" --json >"$tmp/bin.json" 2>/dev/null
check "sbt-binarize --json is valid JSON with ternary layers" \
    '/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert all(l[\"after\"]==\"ternary\" for l in d[\"layers\"]); assert d[\"total\"][\"nonzero_after\"]*2==d[\"total\"][\"weights\"]" "$tmp/bin.json"'

acc() { "$tools/sbt-eval" "$1" --synthetic --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["accuracy"])'; }
dense_acc=$(acc "$tmp/dense.sbtm")
tern_acc=$(acc "$tmp/tern.sbtm")
echo "accuracy: dense $dense_acc, pruned+binarized (no retraining) $tern_acc"
check "the ternary model still classifies (accuracy above chance 0.25)" \
    '/usr/bin/python3 -c "import sys; sys.exit(not float(sys.argv[1]) > 0.4)" "$tern_acc"'
"$tools/sbt-info" "$tmp/tern.sbtm" >"$tmp/info.txt"
check "sbt-info reads the converted model" 'grep -q "layer0.q.scores" "$tmp/info.txt"'

# ONNX in and out: a PyTorch model (tests/golden/onnx_models.py, the onnx_models fixture)
onnx=$tools/../tests/onnx_models/paper_encoder_op17.onnx
need_file "$onnx"
"$tools/sbt-prune" "$onnx" -o "$tmp/pr.onnx" --keep 0.5 >"$tmp/pr.txt" 2>&1
check "sbt-prune reads ONNX and writes ONNX" '[ $? -eq 0 ] && [ -s "$tmp/pr.onnx" ]'
"$tools/sbt-binarize" "$tmp/pr.onnx" -o "$tmp/pr_b.onnx" --json >"$tmp/pr_b.json" 2>/dev/null
check "sbt-binarize on that ONNX: ternary layers, half the weights non-zero" \
    '/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"layers\"] and all(l[\"after\"]==\"ternary\" for l in d[\"layers\"]); assert abs(d[\"total\"][\"nonzero_after\"]*2-d[\"total\"][\"weights\"]) <= len(d[\"layers\"])" "$tmp/pr_b.json"'
check "the binarized ONNX is smaller than the pruned float one" '[ $(stat -c %s "$tmp/pr_b.onnx") -lt $(stat -c %s "$tmp/pr.onnx") ]'

refuse() { # refuse LABEL EXIT OUTPUT -- COMMAND...: exits EXIT, says something, leaves no OUTPUT
    local label=$1 want=$2 out=$3
    shift 4
    "$@" >/dev/null 2>"$tmp/err"
    local rc=$?
    check "$label: exit $want (got $rc)" '[ $rc -eq $want ] && [ -s "$tmp/err" ] && [ ! -e "$out" ]'
}
refuse "keep 0" 2 "$tmp/o1.sbtm" -- "$tools/sbt-prune" "$tmp/dense.sbtm" -o "$tmp/o1.sbtm" --keep 0
refuse "keep 1.5" 2 "$tmp/o1.sbtm" -- "$tools/sbt-prune" "$tmp/dense.sbtm" -o "$tmp/o1.sbtm" --keep 1.5
"$tools/sbt-train" --task classify --model sbt --synthetic --epochs 1 -o "$tmp/sbt.sbtm" >/dev/null 2>&1
refuse "no trained linear weights" 1 "$tmp/o2.sbtm" -- "$tools/sbt-prune" "$tmp/sbt.sbtm" -o "$tmp/o2.sbtm" --keep 0.5
check "the refusal says why" 'grep -q "no Linear layer" "$tmp/err"'
head -c 3000 "$tmp/dense.sbtm" >"$tmp/cut.sbtm"
refuse "a truncated model" 1 "$tmp/o3.sbtm" -- "$tools/sbt-binarize" "$tmp/cut.sbtm" -o "$tmp/o3.sbtm"
check "the truncated model is named" 'grep -q "cut.sbtm" "$tmp/err"'
refuse "an output in a missing folder" 1 "$tmp/nope/o.sbtm" -- "$tools/sbt-prune" "$tmp/dense.sbtm" -o "$tmp/nope/o.sbtm" --keep 0.5
check "the output is named" 'grep -q "nope/o.sbtm" "$tmp/err"'
check "no temporary files left" '[ -z "$(ls "$tmp" | grep -E "tmp|probe")" ]'
finish
