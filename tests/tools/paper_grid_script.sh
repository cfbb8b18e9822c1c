#!/usr/bin/env bash
# The paper-grid scripts without training: paper_grid.sh lists the runs the issue asks for
# (dense, SBT at the task's keep fractions with its attention variant, SBT 0.5 with full
# attention; three seeds), and grid_table.py turns hand-made runs into the right means,
# spreads and gaps (points for accuracy and F1, percent for MSE).
# Usage: paper_grid_script.sh TOOLS_DIR DATA_DIR
set -u
source "$(dirname "$0")/lib/e2e.bash" "$@"
root=$(cd "$(dirname "$0")/../.." && pwd)
need_file "$data/forecasting/ETTh1/ETTh1.csv"
need_file "$data/anomaly/SMD"

runs() { SBT_DATA=$data DRY_RUN=1 bash "$root/examples/paper_grid.sh" "$@" 2>/dev/null; }
runs --task forecast --quick >"$tmp/forecast"
check "forecast --quick: 2 datasets x 3 seeds x 5 models" '[ "$(wc -l <"$tmp/forecast")" -eq 30 ]'
check "forecast: keeps 0.5 / 0.25 / 0.1 with step-t, 0.5 with full" \
  '[ "$(grep -c "ETTh1.csv sbt 0.1 step-t 2 " "$tmp/forecast")" -eq 1 ] && [ "$(grep -c "ETTm1.csv.gz sbt 0.5 full " "$tmp/forecast")" -eq 3 ]'
check "forecast: the window and stride of each dataset are passed" \
  'grep -q "^forecast ETTm1/ETTm1.csv.gz dense 1 step-t 0 --window 200 --d-model 64 --epochs 8 --train-stride 4$" "$tmp/forecast"'
runs --task classify --quick >"$tmp/classify"
check "classify --quick: 3 datasets x 3 seeds x (dense + 3 keeps x 2 variants)" '[ "$(wc -l <"$tmp/classify")" -eq 63 ]'
runs --task anomaly --quick >"$tmp/anomaly"
check "anomaly --quick: one SMD machine x 3 seeds x 5 models" '[ "$(wc -l <"$tmp/anomaly")" -eq 15 ]'
runs --task nonsense >/dev/null
check "an unknown task is refused" '[ $? -eq 2 ]'

# grid_table.py on hand-made runs
py=/usr/bin/python3
line() { echo "{\"task\": \"$1\", \"dataset\": \"D\", \"model\": \"$2\", \"keep\": $3, \"attention\": \"$4\", \"seed\": $5, \"metrics\": {\"$6\": $7}, \"seconds\": 1}"; }
{
  line forecast dense 1 step-t 0 mse 0.10
  line forecast dense 1 step-t 1 mse 0.12
  line forecast sbt 0.5 step-t 0 mse 0.115
  line forecast sbt 0.5 step-t 1 mse 0.116
  line forecast sbt 0.5 full 0 mse 0.10
} >"$tmp/f.jsonl"
"$py" "$root/examples/grid_table.py" "$tmp/f.jsonl" "$tmp/f.json" "$tmp/f.md" forecast note
get() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
check "mean and sample spread over seeds" \
  '[ "$(get "$tmp/f.json" "[(r[\"mse\"][\"mean\"], round(r[\"mse\"][\"std\"], 6)) for r in d[\"rows\"] if r[\"model\"] == \"dense\"]")" = "[(0.11, 0.014142)]" ]'
check "MSE gap to dense in percent: (0.1155 - 0.11) / 0.11 = +5 %" \
  '[ "$(get "$tmp/f.json" "[r[\"vs_dense\"] for r in d[\"rows\"] if r[\"attention\"] == \"step-t\" and r[\"model\"] == \"sbt\"]")" = "[5.0]" ]'
check "step-t against full attention at keep 0.5: +15.5 %" \
  '[ "$(get "$tmp/f.json" "[r[\"vs_full_attention\"] for r in d[\"rows\"] if \"vs_full_attention\" in r]")" = "[15.5]" ]'
check "the Markdown table has the gap" 'grep -q "| D | sbt | 0.5 | step-t | 2 | 0.1155 ± 0.0007 | .* | +5.00 | +15.50 |" "$tmp/f.md"'
{
  line classify dense 1 full 0 accuracy 0.90
  line classify sbt 0.5 qkv-mask 0 accuracy 0.88
} >"$tmp/c.jsonl"
"$py" "$root/examples/grid_table.py" "$tmp/c.jsonl" "$tmp/c.json" "$tmp/c.md" classify note
check "accuracy gap in points: -2" \
  '[ "$(get "$tmp/c.json" "[r[\"vs_dense\"] for r in d[\"rows\"] if r[\"model\"] == \"sbt\"]")" = "[-2.0]" ]'
finish
