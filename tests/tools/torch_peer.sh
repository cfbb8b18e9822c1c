#!/usr/bin/env bash
# tests/tools/torch_peer.sh TOOLS_DIR [DATA_DIR] - the forward peers compute the same model
# as libsbt: for a dense BatchNorm classifier and an SBT LayerNorm forecaster (trimmed
# Step-T graph), every attention variant's output from bench/torch_forward.py (PyTorch) and
# bench/ort_forward.js (ONNX Runtime on the dense ONNX export; skipped, and said, without
# .deps/node/node_modules/onnxruntime-node) matches sbt's to 1e-5, and their Google
# Benchmark JSON has run names compare.py pairs with ours.
set -uo pipefail
source "$(dirname "$0")/lib/e2e.bash" "$@"
peer="$(dirname "$0")/../../bench/torch_forward.py"
py=/usr/bin/python3

"$tools/sbt-bench" --task classify --model dense --channels 5 --outputs 3 --length 12 --d-model 16 --ffn 32 \
    --attn all --batch 3 --repetitions 2 --min-time 0 --counters none --dump "$tmp/c" --json "$tmp/c.json" >/dev/null
"$tools/sbt-bench" --task forecast --model sbt --keep 0.5 --norm layer --channels 4 --outputs 4 --length 16 \
    --d-model 16 --ffn 32 --attn all --batch 2 --repetitions 2 --min-time 0 --counters none --dump "$tmp/f" >/dev/null
check "sbt-bench --dump writes one folder per attention variant" \
    '[ -s "$tmp/c/attn-full/manifest.txt" ] && [ -s "$tmp/f/attn-step-t/output.ours.f32" ] && [ -s "$tmp/f/attn-self/config.txt" ]'
for m in c f; do
    "$py" "$peer" "$tmp/$m" --threads 1 --repetitions 2 --min-time 0.001 --json "$tmp/$m.torch.json" >"$tmp/$m.out" 2>&1
    check "torch_forward.py runs on $m" '[ $? -eq 0 ] || { cat "$tmp/$m.out" >&2; false; }'
    check "torch and sbt agree on every variant of $m (max |diff| <= 1e-5)" \
        '"$py" -c "import json,sys; d=json.load(open(sys.argv[1]))[\"context\"][\"max_abs_diff_vs_sbt\"]; print(d); sys.exit(not (len(d)==4 and max(d.values())<=1e-5))" "$tmp/$m.torch.json" >"$tmp/$m.diff"'
done
ort_modules=${ORT_NODE_MODULES:-$(cd "$(dirname "$0")/../.." && pwd)/.deps/node/node_modules}
if [ -d "$ort_modules/onnxruntime-node" ] && command -v node >/dev/null; then
    for m in c f; do
        ORT_NODE_MODULES=$ort_modules node "$(dirname "$0")/../../bench/ort_forward.js" "$tmp/$m" --repetitions 2 \
            --min-time 0.001 --json "$tmp/$m.ort.json" >"$tmp/$m.ort.out" 2>&1
        check "ort_forward.js runs on $m" '[ $? -eq 0 ] || { cat "$tmp/$m.ort.out" >&2; false; }'
        check "ONNX Runtime and sbt agree on every exported variant of $m (max |diff| <= 1e-5)" \
            '"$py" -c "import json,sys; c=json.load(open(sys.argv[1]))[\"context\"]; d=c[\"max_abs_diff_vs_sbt\"]; print(d, c[\"onnx_refused\"]); sys.exit(not (len(d)+len(c[\"onnx_refused\"])==4 and len(d)>=1 and max(d.values())<=1e-5))" "$tmp/$m.ort.json" >"$tmp/$m.ort.diff"'
    done
else
    echo "SKIP: ONNX Runtime peer (no $ort_modules/onnxruntime-node; scripts/setup-test.sh installs it)" >&2
fi
check "the peer's run names mirror sbt-bench's" \
    'grep -q "\"torch/c/attn:full/batch:3/threads:1\"" "$tmp/c.torch.json" && grep -q "\"forward/classify-dense/attn:full/batch:3/threads:1\"" "$tmp/c.json"'
finish
