#!/usr/bin/env bash
# tests/tools/json_escaping.sh TOOLS_DIR [DATA_DIR] - every --json is valid JSON whatever the
# strings in it: a model path holding a quote and a backslash, class names with both, for
# sbt-info and sbt-eval on classification, forecasting and anomaly models (issue 16: an
# entity named m"1 came out as "entities": "m"1"). Small models, one epoch.
source "$(dirname "$0")/lib/e2e.bash" "$@"
py=/usr/bin/python3
etth1=$data/forecasting/ETTh1/ETTh1.csv
need_file "$etth1"
dir="$tmp/we\"ird\\dir"
mkdir -p "$dir"
# valid JSON whose "model" is exactly the path given
json_ok() { # FILE PATH
  "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["model"] != sys.argv[2])' "$1" "$2"
}
small=(--d-model 8 --heads 2 --ffn 16 --layers 1 --epochs 1 --quiet)

# classification, with class labels holding a quote and a backslash
{
  printf '@problemName q\n@dimensions 1\n@equalLength true\n@seriesLength 4\n'
  printf '@classLabel true a"b c\\d\n@data\n'
  for i in 1 2 3 4 5 6 7 8; do printf '%d,2,3,4:a"b\n%d,0,1,0:c\\d\n' "$i" "$((i % 3))"; done
} >"$dir/q.ts"
m=$dir/m\"1.sbtm
"$tools/sbt-train" --task classify --train "$dir/q.ts" --test "$dir/q.ts" "${small[@]}" -o "$m" >/dev/null
check "classify: trained into a path with a quote and a backslash" '[ -f "$m" ]'
"$tools/sbt-eval" "$m" --test "$dir/q.ts" --json >"$tmp/c_eval.json"
check "sbt-eval --json (classify) is valid and names the model" 'json_ok "$tmp/c_eval.json" "$m"'
"$tools/sbt-info" "$m" --json >"$tmp/c_info.json"
check "sbt-info --json (classify) is valid, class names intact" \
  'json_ok "$tmp/c_info.json" "$m" && [ "$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))[\"classes\"] == [\"a\\\"b\", \"c\\\\d\"])" "$tmp/c_info.json")" = True ]'

# forecasting
f=$dir/f\"2.sbtm
"$tools/sbt-train" --task forecast --train "$etth1" "${small[@]}" --window 16 --train-stride 60 -o "$f" >/dev/null
"$tools/sbt-eval" "$f" --test "$etth1" --json >"$tmp/f_eval.json"
check "sbt-eval --json (forecast) is valid and names the model" 'json_ok "$tmp/f_eval.json" "$f"'
"$tools/sbt-info" "$f" --json >"$tmp/f_info.json"
check "sbt-info --json (forecast) is valid" 'json_ok "$tmp/f_info.json" "$f"'

# anomaly on CSV files: a model path and a time column name with a quote
awk -F, 'NR == 1 { print "ti\"me,u,v"; next } NR <= 400 { print NR "," $2 "," $3 }' "$etth1" >"$dir/train.csv"
awk -F, 'NR == 1 { print "ti\"me,u,v,label"; next } NR <= 300 { print NR "," $2 "," $3 "," (NR % 50 == 0) }' "$etth1" >"$dir/test.csv"
a=$dir/a\"3.sbtm
"$tools/sbt-train" --task anomaly --train "$dir/train.csv" --test "$dir/test.csv" --label-column label \
  --time-column 'ti"me' "${small[@]}" --window 8 -o "$a" >/dev/null
"$tools/sbt-eval" "$a" --train "$dir/train.csv" --test "$dir/test.csv" --json >"$tmp/a_eval.json"
check "sbt-eval --json (anomaly) is valid and names the model" 'json_ok "$tmp/a_eval.json" "$a"'
check "the anomaly entity name (the test file) is intact" \
  '[ "$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))[\"entities\"][0][\"name\"])" "$tmp/a_eval.json")" = "$dir/test.csv" ]'
"$tools/sbt-info" "$a" --json >"$tmp/a_info.json"
check "sbt-info --json (anomaly) is valid" 'json_ok "$tmp/a_info.json" "$a"'
finish
