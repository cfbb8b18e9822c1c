#!/usr/bin/env bash
# tests/tools/torch_peer.sh TOOLS_DIR [DATA_DIR] - the PyTorch forward peer computes the same
# model as libsbt: for a dense BatchNorm classifier and an SBT LayerNorm forecaster (trimmed
# Step-T graph), every attention variant's output from bench/torch_forward.py matches
# sbt's to 1e-5, and its Google Benchmark JSON has run names compare.py pairs with ours.
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
check "the peer's run names mirror sbt-bench's" \
    'grep -q "\"torch/c/attn:full/batch:3/threads:1\"" "$tmp/c.torch.json" && grep -q "\"forward/classify-dense/attn:full/batch:3/threads:1\"" "$tmp/c.json"'
finish
