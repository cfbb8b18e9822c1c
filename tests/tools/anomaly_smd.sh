#!/usr/bin/env bash
# End to end on real data: an anomaly model on one SMD machine. sbt-train must report
# precision/recall/F1 with and without point adjustment for both thresholds (fitted on
# train + validation scores only) and an AUC-PR well above the share of anomalous steps
# (what a random score gets).
# Usage: anomaly_smd.sh TOOLS_DIR DATA_DIR
set -u
source "$(dirname "$0")/lib/e2e.bash" "$@"
smd=$data/anomaly/SMD

need_file "$smd/train"
# window 50 and 2 epochs keep this to about a minute (the paper: window 200, 50 epochs)
"$tools/sbt-train" --task anomaly --model sbt --keep 0.5 --train "$smd" --entity machine-1-6 --window 50 \
  --epochs 2 --seed 0 --checkpoint "$tmp/smd.sbtc" -o "$tmp/smd.sbtm" >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/out"
tail -3 "$tmp/err"
check "sbt-train --task anomaly exits 0" '[ $rc -eq 0 ]'
check "POT and quantile rows, raw and point-adjusted" \
  'grep -q "^POT .*F1 .*point-adjusted: .*F1" "$tmp/out" && grep -q "^quantile .*point-adjusted" "$tmp/out"'
read -r steps anomalous auc < <(sed -n 's/^test: \([0-9]*\) steps, \([0-9]*\) anomalous; AUC-PR \([0-9.]*\)$/\1 \2 \3/p' "$tmp/out")
echo "AUC-PR $auc; share of anomalous steps $anomalous / $steps"
check "AUC-PR well above chance" "awk -v a='${auc:-0}' -v p='${anomalous:-1}' -v n='${steps:-1}' 'BEGIN { exit !(a > 2 * p / n) }'"
eval_auc=$("$tools/sbt-eval" "$tmp/smd.sbtm" --test "$smd" --entity machine-1-6 --json |
  /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["auc_pr"])')
check "sbt-eval --json agrees with sbt-train" '[ "$eval_auc" = "$auc" ]'
# a checkpoint resumed on other data: a clear error in the data's terms, no output
"$tools/sbt-train" --task forecast --train "$data/forecasting/ETTh1/ETTh1.csv" --resume "$tmp/smd.sbtc" \
  -o "$tmp/wrong.sbtm" 2>"$tmp/err3"
rc=$?
check "resuming an anomaly checkpoint for forecasting fails clearly" \
  '[ $rc -eq 1 ] && grep -q "checkpoint is a(n) anomaly model for 38 channels" "$tmp/err3" && [ ! -e "$tmp/wrong.sbtm" ]'
check "missing --entity is a usage error" '"$tools/sbt-train" --task anomaly --train "$smd" -o "$tmp/x.sbtm" 2>/dev/null; [ $? -eq 2 ]'
"$tools/sbt-train" --task anomaly --train "$smd" --entity machine-9-9 -o "$tmp/y.sbtm" 2>"$tmp/err2"
rc=$?
check "unknown machine: exit 1, named, no output" '[ $rc -eq 1 ] && grep -q "machine-9-9" "$tmp/err2" && [ ! -e "$tmp/y.sbtm" ]'
finish
