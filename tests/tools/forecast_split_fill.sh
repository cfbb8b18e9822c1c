#!/usr/bin/env bash
# tests/tools/forecast_split_fill.sh TOOLS_DIR [DATA_DIR] - how sbt-train reads a forecasting
# CSV, and that sbt-eval reads it the same way:
#   - the split is printed with its rows and stored: a byte-identical copy of ETTh1.csv under
#     another name evaluates to the same windows and MSE (issue 16: 3484 windows, 0.1934
#     instead of 2880, 0.1602); --split ratio:A,B,C on the same data;
#   - an empty or NaN cell is an error naming file, line, column and count, with no model
#     left behind; --fill linear fills, says how many per column, and is stored;
#   - -o and --checkpoint that cannot be written fail before any work.
# Small models and one epoch: this checks the plumbing, not the accuracy.
source "$(dirname "$0")/lib/e2e.bash" "$@"
etth1=$data/forecasting/ETTh1/ETTh1.csv
need_file "$etth1"
py=/usr/bin/python3
small=(--d-model 16 --ffn 32 --layers 1 --window 24 --epochs 1 --train-stride 40 --quiet)
json_get() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

"$tools/sbt-train" --task forecast --train "$etth1" "${small[@]}" -o "$tmp/e.sbtm" >"$tmp/out" 2>"$tmp/err"
check "forecast: sbt-train exits 0" '[ $? -eq 0 ]'
check "the split is printed with its rows" \
  'grep -qxF "split ett-hour: train rows [0, 8640), validation [8640, 11520), test [11520, 14400) of 17420, rows from 14400 on unused" "$tmp/out"'
check "sbt-info shows the stored split and fill" \
  '"$tools/sbt-info" "$tmp/e.sbtm" | grep -qF "CSV split ett-hour, empty or NaN cells refused"'
cp "$etth1" "$tmp/mydata.csv"
"$tools/sbt-eval" "$tmp/e.sbtm" --test "$etth1" --json >"$tmp/a.json"
"$tools/sbt-eval" "$tmp/e.sbtm" --test "$tmp/mydata.csv" --json >"$tmp/b.json"
check "a renamed copy evaluates the same (stored split, not the file name)" \
  '[ "$(json_get "$tmp/a.json" "(d[\"windows\"], d[\"mse\"], d[\"split\"])")" = "(2880, $(json_get "$tmp/b.json" "d[\"mse\"]"), '"'"'ett-hour'"'"')" ]'
check "sbt-eval --json gives the split rows" \
  '[ "$(json_get "$tmp/b.json" "d[\"split_rows\"][\"test\"]")" = "[11520, 14400]" ]'

"$tools/sbt-train" --task forecast --train "$tmp/mydata.csv" --split ratio:0.6,0.2,0.2 "${small[@]}" \
  -o "$tmp/r.sbtm" >"$tmp/out_r" 2>&1
check "--split ratio: trained and printed" \
  'grep -qxF "split ratio:0.6,0.2,0.2: train rows [0, 10452), validation [10452, 13936), test [13936, 17420) of 17420" "$tmp/out_r"'
"$tools/sbt-eval" "$tmp/r.sbtm" --test "$etth1" >"$tmp/out_re"
check "sbt-eval applies the stored ratio to a file named ETTh1" 'grep -qF "split ratio:0.6,0.2,0.2: train rows [0, 10452)" "$tmp/out_re"'
"$tools/sbt-train" --task forecast --train "$etth1" --split ratio:0.6,0.2 -o "$tmp/x.sbtm" 2>"$tmp/err_u"
check "a bad --split is a usage error" '[ $? -eq 2 ] && grep -qF "ratio:0.6,0.2" "$tmp/err_u" && grep -qF "Try '"'"'sbt-train --help'"'"'" "$tmp/err_u"'

# gaps: rows 5 and 7 of column HUFL empty, row 9 of OT NaN (file lines 6, 8, 10)
awk -F, 'BEGIN { OFS = "," } NR == 6 || NR == 8 { $2 = "" } NR == 10 { $8 = "NaN" } { print }' "$etth1" >"$tmp/gaps.csv"
"$tools/sbt-train" --task forecast --train "$tmp/gaps.csv" "${small[@]}" -o "$tmp/g.sbtm" >/dev/null 2>"$tmp/err_g"
check "an empty or NaN cell: exit 1, file, line, column and count, no model" \
  '[ $? -eq 1 ] && grep -qF "gaps.csv:6: column '"'"'HUFL'"'"': empty or NaN cell; 3 such cells in 2 columns" "$tmp/err_g" && [ ! -e "$tmp/g.sbtm" ]'
"$tools/sbt-train" --task forecast --train "$tmp/gaps.csv" --fill linear "${small[@]}" -o "$tmp/g.sbtm" >/dev/null 2>"$tmp/err_f"
check "--fill linear: trained, the count per column said" \
  '[ $? -eq 0 ] && grep -qF "filled 2 empty or NaN cells of column '"'"'HUFL'"'"' (linear)" "$tmp/err_f" && grep -qF "filled 1 empty or NaN cells of column '"'"'OT'"'"'" "$tmp/err_f"'
"$tools/sbt-info" "$tmp/g.sbtm" --json >"$tmp/g_info.json"
check "--fill is stored (and the split a file so named gets)" '[ "$(json_get "$tmp/g_info.json" "d[\"fill\"], d[\"split\"]")" = "('"'"'linear'"'"', '"'"'ratio:0.7,0.1,0.2'"'"')" ]'
"$tools/sbt-eval" "$tmp/g.sbtm" --test "$tmp/gaps.csv" --json >"$tmp/g.json" 2>/dev/null
check "sbt-eval fills as training did" '[ "$(json_get "$tmp/g.json" "d[\"filled\"][\"HUFL\"], d[\"filled\"][\"OT\"]")" = "(2, 1)" ]'
"$tools/sbt-eval" "$tmp/e.sbtm" --test "$tmp/gaps.csv" >/dev/null 2>"$tmp/err_ge"
check "a model trained without --fill refuses the gaps in sbt-eval" '[ $? -eq 1 ] && grep -qF "gaps.csv:6" "$tmp/err_ge"'

# outputs that cannot be written: said at once, nothing trained
start=$SECONDS
"$tools/sbt-train" --task forecast --train "$etth1" -o "$tmp/no/such/dir/m.sbtm" >"$tmp/out_o" 2>"$tmp/err_o"
check "-o into a missing folder: exit 1 before any work" \
  '[ $? -eq 1 ] && grep -qF "cannot write $tmp/no/such/dir/m.sbtm" "$tmp/err_o" && [ ! -s "$tmp/out_o" ] && [ $((SECONDS - start)) -lt 5 ]'
"$tools/sbt-train" --synthetic -o "$tmp" 2>"$tmp/err_d"
check "-o naming a folder: exit 1" '[ $? -eq 1 ] && grep -qF "is a directory" "$tmp/err_d"'
"$tools/sbt-train" --synthetic -o "$tmp/ok.sbtm" --checkpoint "$tmp/none/c.sbtc" >"$tmp/out_c" 2>"$tmp/err_c"
check "--checkpoint into a missing folder: exit 1 before any work" \
  '[ $? -eq 1 ] && grep -qF "cannot write $tmp/none/c.sbtc" "$tmp/err_c" && [ ! -s "$tmp/out_c" ] && [ ! -e "$tmp/ok.sbtm" ]'
check "the probe leaves nothing behind" '! compgen -G "$tmp/ok.sbtm.tmp*" >/dev/null'
finish
