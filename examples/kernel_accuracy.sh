#!/usr/bin/env bash
# examples/kernel_accuracy.sh [BUILD_DIR] - what the inference kernels do to the metrics:
# one SBT model per task (JapaneseVowels keep 0.5, ETTh1 keep 0.5, SMD machine-1-6 keep
# 0.25), each evaluated with its ternary weights on sgemm (dense, what training computes),
# on the add/sub kernels with float activations, and with int8 activations (sbt-eval
# --kernel). Training is short (fits two cores); the comparison is between kernels on the
# same weights. Writes reports/kernel_accuracy.{md,json}.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
tools=$build/tools
data=${SBT_DATA:-$(cd "$repo/.." && pwd)/shared/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jv=$data/classification/JapaneseVowels/JapaneseVowels
"$tools/sbt-train" --task classify --model sbt --keep 0.5 --d-model 32 --epochs 60 --patience 20 --quiet \
    --train "${jv}_TRAIN.ts" -o "$work/jv.sbtm" >/dev/null
"$tools/sbt-train" --task forecast --model sbt --keep 0.5 --window 96 --train-stride 4 --epochs 5 --quiet \
    --train "$data/forecasting/ETTh1/ETTh1.csv" -o "$work/etth1.sbtm" >/dev/null
"$tools/sbt-train" --task anomaly --model sbt --keep 0.25 --norm none --train "$data/anomaly/SMD" --entity machine-1-6 \
    --epochs 2 --train-stride 8 --quiet -o "$work/smd.sbtm" >/dev/null
rows=()
for k in dense ternary int8; do
    "$tools/sbt-eval" "$work/jv.sbtm" --test "${jv}_TEST.ts" --kernel "$k" --json >"$work/jv_$k.json"
    "$tools/sbt-eval" "$work/etth1.sbtm" --test "$data/forecasting/ETTh1/ETTh1.csv" --kernel "$k" --json >"$work/et_$k.json"
    "$tools/sbt-eval" "$work/smd.sbtm" --test "$data/anomaly/SMD" --entity machine-1-6 --kernel "$k" --json >"$work/smd_$k.json"
    rows+=("$k")
done
/usr/bin/python3 - "$work" "$repo/reports" <<'PY'
import json, sys
w, out = sys.argv[1], sys.argv[2]
def load(name): return json.load(open(f"{w}/{name}.json"))
def find(d, *keys):
    for k in keys:
        if isinstance(d, dict) and k in d: return d[k]
    for v in (d.values() if isinstance(d, dict) else []):
        if isinstance(v, dict):
            r = find(v, *keys)
            if r is not None: return r
    return None
res = {}
for k in ("dense", "ternary", "int8"):
    smd = load(f"smd_{k}")
    res[k] = {"jv_accuracy": load(f"jv_{k}")["accuracy"], "etth1_mse": load(f"et_{k}")["mse"],
              "smd_auc_pr": find(smd, "auc_pr", "aucpr"), "smd_f1": find(smd, "f1")}
json.dump(res, open(f"{out}/kernel_accuracy.json", "w"), indent=1)
with open(f"{out}/kernel_accuracy.md", "w") as f:
    f.write("# What the inference kernels do to the metrics\n\n`bash examples/kernel_accuracy.sh build`: one SBT "
            "model per task (short training), its ternary weights on sgemm (dense: what training computes), on the "
            "add/sub kernels with float activations, and with int8 activations (per-row dynamic quantisation).\n\n")
    f.write("| kernel | JapaneseVowels test accuracy | ETTh1 test MSE (standardised) | SMD machine-1-6 AUC-PR | SMD F1 (pooled, no point adjustment) |\n|---|---|---|---|---|\n")
    for k, r in res.items():
        f.write("| %s | %.4f | %.5f | %s | %s |\n" % (k, r["jv_accuracy"], r["etth1_mse"],
                "%.4f" % r["smd_auc_pr"] if r["smd_auc_pr"] is not None else "?",
                "%.4f" % r["smd_f1"] if r["smd_f1"] is not None else "?"))
print(open(f"{out}/kernel_accuracy.md").read())
PY
