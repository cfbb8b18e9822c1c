#!/usr/bin/env bash
# End to end: one anomaly model over several entities, generic labelled CSV files, and the
# POT flags. Small windows and one epoch keep it short; what is checked is the plumbing:
#  - two NASA MSL channels train one model; the report is pooled over both channels' test
#    steps, sbt-eval (entities and POT settings taken from the model file) agrees with
#    sbt-train, and its JSON lists each channel with its own test length;
#  - "all" on a folder whose label file repeats a channel and names one without arrays
#    trains on the rest and says on stderr what it left out;
#  - CSV files with --label-column: train, sbt-eval agrees, the POT flags are stored;
#  - bad CSV input: exit 1, the file named, no model written; bad flags: exit 2.
# Usage: anomaly_concat.sh TOOLS_DIR DATA_DIR
set -u
source "$(dirname "$0")/lib/e2e.bash" "$@"
msl=$data/anomaly/MSL
labels=$data/anomaly/SMAP_MSL/labeled_anomalies.csv
py=/usr/bin/python3
need_file "$msl/train/C-1.npy.gz"
need_file "$labels"
small=(--window 16 --epochs 1 --train-stride 4 --seed 0 --quiet)

# jq-like field access without jq: json_get FILE EXPR (a Python expression on d)
json_get() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# --- two MSL channels, one model ------------------------------------------------------------
"$tools/sbt-train" --task anomaly --train "$msl" --entity C-1,C-2 "${small[@]}" -o "$tmp/msl.sbtm" \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/out"
tail -3 "$tmp/err"
check "sbt-train on C-1,C-2 exits 0" '[ $rc -eq 0 ] && [ -s "$tmp/msl.sbtm" ]'
check "says it trains one model over both" 'grep -q "^one model over 2 entities: C-1,C-2$" "$tmp/out"'
read -r steps anomalous auc < <(sed -n 's/^test: \([0-9]*\) steps, \([0-9]*\) anomalous; AUC-PR \([0-9.]*\)$/\1 \2 \3/p' "$tmp/out")
# the label file: C-1 has 2264 test steps (201 + 111 anomalous), C-2 2051 (101 + 36)
check "pooled over both channels' test steps" '[ "${steps:-}" = 4315 ] && [ "${anomalous:-}" = 449 ]'
check "the report says it is pooled" 'grep -q "pooled over the test steps of 2 entities" "$tmp/out"'
"$tools/sbt-eval" "$tmp/msl.sbtm" --test "$msl" --json >"$tmp/msl.json" 2>"$tmp/eval_err"
check "sbt-eval without --entity uses the model's entities" '[ $? -eq 0 ]'
check "sbt-eval agrees with sbt-train (AUC-PR)" '[ "$(json_get "$tmp/msl.json" "\"%.4f\" % d[\"auc_pr\"]")" = "$auc" ]'
train_pot=$(sed -n 's/^POT *threshold \([^:]*\):.*/\1/p' "$tmp/out")
check "sbt-eval agrees with sbt-train (POT threshold)" \
  '[ -n "$train_pot" ] && [ "$(json_get "$tmp/msl.json" "\"%.5g\" % d[\"pot\"][\"threshold\"]")" = "$train_pot" ]'
check "per-entity JSON: names and test lengths" \
  '[ "$(json_get "$tmp/msl.json" "[(e[\"name\"], e[\"steps\"], e[\"anomalous\"]) for e in d[\"entities\"]]")" = "[('"'"'C-1'"'"', 2264, 312), ('"'"'C-2'"'"', 2051, 137)]" ]'
check "per-entity true positives add up to the pooled ones" \
  '[ "$(json_get "$tmp/msl.json" "round(sum(e[\"quantile\"][\"recall\"] * e[\"anomalous\"] for e in d[\"entities\"])) == round(d[\"quantile\"][\"recall\"] * d[\"anomalous\"])")" = True ]'
check "the POT guard is reported" \
  'json_get "$tmp/msl.json" "d[\"pot\"][\"fallback\"]" | grep -qxE "none|fit-failed|not-finite|beyond-guard"'
"$tools/sbt-info" "$tmp/msl.sbtm" --json >"$tmp/info.json"
check "sbt-info shows the entities and POT settings stored in the model" \
  '[ "$(json_get "$tmp/info.json" "d[\"anomaly\"][\"entities\"], d[\"anomaly\"][\"pot_risk\"]")" = "('"'"'C-1,C-2'"'"', 0.0001)" ]'
"$tools/sbt-eval" "$tmp/msl.sbtm" --test "$msl" --entity C-1 --json >"$tmp/c1.json"
check "sbt-eval on one of the entities" '[ "$(json_get "$tmp/c1.json" "d[\"steps\"]")" = 2264 ]'

# --- "all" on a folder with a repeated channel and one without arrays -----------------------
mkdir -p "$tmp/nasa/MSL/train" "$tmp/nasa/MSL/test" "$tmp/nasa/SMAP_MSL"
for c in C-1 C-2 F-7; do
  ln -s "$msl/train/$c.npy.gz" "$tmp/nasa/MSL/train/$c.npy.gz"
  ln -s "$msl/test/$c.npy.gz" "$tmp/nasa/MSL/test/$c.npy.gz"
done
{
  head -1 "$labels"
  grep -E '^(C-1|C-2|F-7),MSL,' "$labels"
  grep -E '^C-2,MSL,' "$labels" # C-2 twice, as P-2 is in the real file
  echo 'T-99,MSL,"[[1, 2]]",[point],100'
} >"$tmp/nasa/SMAP_MSL/labeled_anomalies.csv"
"$tools/sbt-train" --task anomaly --train "$tmp/nasa/MSL" --entity all "${small[@]}" -o "$tmp/all.sbtm" \
  >"$tmp/out_all" 2>"$tmp/err_all"
rc=$?
cat "$tmp/err_all"
check "--entity all exits 0" '[ $rc -eq 0 ]'
check "--entity all trains on the readable, unrepeated channels (label-file order)" 'grep -q "^one model over 2 entities: F-7,C-1$" "$tmp/out_all"'
check "--entity all names what it left out, and why" \
  'grep -q "left out C-2: 2 rows in the CSV" "$tmp/err_all" && grep -q "left out T-99: no train array" "$tmp/err_all"'
"$tools/sbt-train" --task anomaly --train "$msl" --entity C-1,,C-2 -o "$tmp/bad.sbtm" 2>"$tmp/err_list"
rc=$?
check "an empty name in --entity: exit 1, said, no output" \
  '[ $rc -eq 1 ] && grep -q "empty entity name" "$tmp/err_list" && [ ! -e "$tmp/bad.sbtm" ]'

# --- generic labelled CSV -------------------------------------------------------------------
"$py" - "$tmp" <<'EOF'
import math, sys
d = sys.argv[1]
with open(d + "/train.csv", "w") as f:  # no label column
    f.write("time,u,v\n")
    for i in range(600):
        f.write("%d,%.5f,%.5f\n" % (i, math.sin(0.2 * i), math.cos(0.13 * i)))
with open(d + "/test.csv", "w") as f:
    f.write("time,u,v,is_anomaly\n")
    for i in range(300):
        bad = 100 <= i < 106 or 200 <= i < 203
        f.write("%d,%.5f,%.5f,%d\n" % (i, math.sin(0.2 * i) + (3 if bad else 0), math.cos(0.13 * i), bad))
EOF
csv_args=(--train "$tmp/train.csv" --test "$tmp/test.csv" --label-column is_anomaly --time-column time)
"$tools/sbt-train" --task anomaly "${csv_args[@]}" --pot-risk 1e-3 --pot-level 0.9 "${small[@]}" \
  -o "$tmp/csv.sbtm" >"$tmp/out_csv" 2>"$tmp/err_csv"
rc=$?
cat "$tmp/out_csv"
tail -3 "$tmp/err_csv"
check "CSV: sbt-train exits 0" '[ $rc -eq 0 ]'
check "CSV: every test row scored" 'grep -q "^test: 300 steps, 9 anomalous" "$tmp/out_csv"'
csv_auc=$(sed -n 's/^test: .*AUC-PR \([0-9.]*\)$/\1/p' "$tmp/out_csv")
csv_pot=$(sed -n 's/^POT *threshold \([^:]*\):.*/\1/p' "$tmp/out_csv")
# label and time columns, POT risk and level: all from the model file
"$tools/sbt-eval" "$tmp/csv.sbtm" --train "$tmp/train.csv" --test "$tmp/test.csv" --json >"$tmp/csv.json"
check "CSV: sbt-eval exits 0 with the settings from the model" '[ $? -eq 0 ]'
check "CSV: sbt-eval agrees with sbt-train" \
  '[ "$(json_get "$tmp/csv.json" "\"%.4f %.5g\" % (d[\"auc_pr\"], d[\"pot\"][\"threshold\"])")" = "$csv_auc $csv_pot" ]'
check "CSV: the POT flags were stored" \
  '[ "$(json_get "$tmp/csv.json" "(d[\"pot\"][\"risk\"], d[\"pot\"][\"level\"])")" = "(0.001, 0.9)" ]'
check "CSV: the spike is found (AUC-PR above chance)" "awk -v a='${csv_auc:-0}' 'BEGIN { exit !(a > 0.1) }'"

# bad CSV input: exit 1, the file named with the problem, no model left behind
bad_csv() { # LABEL FILE EXPECTED_TEXT -- the test file to use
  local label=$1 file=$2 text=$3
  rm -f "$tmp/x.sbtm"
  "$tools/sbt-train" --task anomaly --train "$tmp/train.csv" --test "$file" --label-column is_anomaly \
    --time-column time "${small[@]}" -o "$tmp/x.sbtm" 2>"$tmp/err_bad"
  local rc=$?
  check "$label" '[ $rc -eq 1 ] && grep -qF "$(basename "$file")" "$tmp/err_bad" && grep -qF "$text" "$tmp/err_bad" && [ ! -e "$tmp/x.sbtm" ] && ! compgen -G "$tmp/x.sbtm.tmp*" >/dev/null'
}
sed 's/,is_anomaly$/,label/' "$tmp/test.csv" >"$tmp/nolabel.csv"
bad_csv "CSV: test file without the label column" "$tmp/nolabel.csv" "no label column 'is_anomaly'"
sed '50s/^\([0-9]*\),[^,]*,/\1,nan,/' "$tmp/test.csv" >"$tmp/nan.csv"
bad_csv "CSV: NaN in a cell" "$tmp/nan.csv" ":50: column 'u'"
sed '7s/$/,1/' "$tmp/test.csv" >"$tmp/extra.csv"
bad_csv "CSV: a row with an extra field" "$tmp/extra.csv" ":7: 5 fields, expected 4"
sed '1s/,v,/,w,/' "$tmp/test.csv" >"$tmp/renamed.csv"
bad_csv "CSV: other channels than train" "$tmp/renamed.csv" "in $tmp/train.csv it is 'v'"

# usage errors: exit 2
usage_error() { # LABEL ARGS...
  local label=$1
  shift
  "$tools/sbt-train" --task anomaly "$@" -o "$tmp/u.sbtm" >/dev/null 2>"$tmp/err_u"
  local rc=$?
  check "$label" '[ $rc -eq 2 ] && [ -s "$tmp/err_u" ] && [ ! -e "$tmp/u.sbtm" ]'
}
usage_error "CSV without --test" --train "$tmp/train.csv" --label-column is_anomaly
usage_error "--entity with --label-column" "${csv_args[@]}" --entity C-1
usage_error "--pot-risk 0" --train "$msl" --entity C-1 --pot-risk 0
usage_error "--pot-level 1" --train "$msl" --entity C-1 --pot-level 1
usage_error "--pot-risk not below 1 - --pot-level" --train "$msl" --entity C-1 --pot-risk 0.1 --pot-level 0.95
"$tools/sbt-eval" "$tmp/csv.sbtm" --test "$tmp/test.csv" >/dev/null 2>"$tmp/err_e"
check "sbt-eval of a CSV model without --train: usage error" '[ $? -eq 2 ] && grep -q "needs --train" "$tmp/err_e"'
finish
