#!/usr/bin/env bash
# tests/tools/onnx_export.sh TOOLS_DIR [DATA_DIR] - sbt-export to ONNX: a sparse binary
# classifier (the paper's sizes, trained one epoch on the built-in synthetic set) is
# written with int8 ternary weights, reported beside the float32 ONNX (about 3x smaller
# here: biases, norms and the input layer stay float32), and ONNX Runtime runs the file
# (when onnxruntime-node is in .deps/node); an imported PyTorch model is re-exported; bad
# requests fail cleanly without an output.
set -uo pipefail
source "$(dirname "$0")/lib/e2e.bash" "$@"
repo=$(cd "$(dirname "$0")/../.." && pwd)

"$tools/sbt-train" --synthetic --task classify --model sbt --epochs 1 -o "$tmp/syn.sbtm" >/dev/null 2>&1
check "model trained" '[ -s "$tmp/syn.sbtm" ]'

"$tools/sbt-export" "$tmp/syn.sbtm" -o "$tmp/syn.onnx" >"$tmp/out" 2>&1
rc=$?
check "exported (exit 0)" '[ $rc -eq 0 ] && [ -s "$tmp/syn.onnx" ]'
check "report names the ternary layers" 'grep -q "14 Linear weights as int8 ternary codes, 0 as float32" "$tmp/out"'
ratio=$(sed -n 's/.*bytes: \([0-9.]*\)x smaller/\1/p' "$tmp/out")
check "ternary ONNX is more than 2.5x below float32 ($ratio)" \
    "[ -n \"$ratio\" ] && awk 'BEGIN { exit !($ratio > 2.5) }'"
"$tools/sbt-export" "$tmp/syn.sbtm" -o "$tmp/syn_f32.onnx" --float --json >"$tmp/f32.json" 2>&1
check "--float --json: the float32 size the first report gave" \
    "grep -q '\"ratio_to_f32\":1,' \"$tmp/f32.json\" && [ \$(stat -c %s \"$tmp/syn_f32.onnx\") -gt \$(stat -c %s \"$tmp/syn.onnx\") ]"

if [ -d "$repo/.deps/node/node_modules/onnxruntime-node" ] && command -v node >/dev/null; then
    head -c $((48 * 6 * 4)) /dev/zero >"$tmp/x.f32"
    head -c $((48 * 4)) /dev/zero >"$tmp/attn.f32"
    /usr/bin/python3 -c "import struct,sys; sys.stdout.buffer.write(struct.pack('<48f', *[1.0]*48))" >"$tmp/step.f32"
    node "$repo/tests/golden/ort_run.js" "$tmp/syn.onnx" "$tmp/x.f32" "$tmp/y.f32" 1 48 6 -- \
        step_mask "$tmp/step.f32" 1,48 attn_mask "$tmp/attn.f32" 1,1,1,48 2>"$tmp/ort.err"
    rc=$?
    check "ONNX Runtime runs it: 4 logits" '[ $rc -eq 0 ] && [ "$(stat -c %s "$tmp/y.f32")" -eq 16 ]'
else
    echo "note: onnxruntime-node not installed (scripts/setup-debian.sh): ORT run not checked" >&2
fi

# An imported PyTorch model (the onnx_models fixture) goes back out as ONNX, and our own
# native export (several inputs: x and the masks) is refused as an import, cleanly.
torch_model="$tools/../tests/onnx_models/pre_gelu_op17.onnx"
need_file "$torch_model"
"$tools/sbt-export" "$torch_model" -o "$tmp/torch.onnx" >"$tmp/out" 2>&1
rc=$?
check "PyTorch ONNX re-exported" '[ $rc -eq 0 ] && [ -s "$tmp/torch.onnx" ] && grep -q "10 as float32" "$tmp/out"'
"$tools/sbt-export" "$tmp/syn.onnx" -o "$tmp/again.onnx" >/dev/null 2>"$tmp/err"
rc=$?
check "multi-input ONNX refused: exit 1, named, no output" \
    '[ $rc -eq 1 ] && grep -q "several data inputs" "$tmp/err" && [ ! -e "$tmp/again.onnx" ]'

"$tools/sbt-export" "$tmp/missing.sbtm" -o "$tmp/bad.onnx" >/dev/null 2>"$tmp/err"
rc=$?
check "missing model: exit 1, message, no output" '[ $rc -eq 1 ] && grep -q missing.sbtm "$tmp/err" && [ ! -e "$tmp/bad.onnx" ]'
"$tools/sbt-export" "$tmp/syn.sbtm" -o "$tmp/bad.onnx" --length 0 >/dev/null 2>"$tmp/err"
rc=$?
check "--length 0: exit 2, no output" '[ $rc -eq 2 ] && [ ! -e "$tmp/bad.onnx" ]'
finish
