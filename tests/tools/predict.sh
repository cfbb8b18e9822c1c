#!/usr/bin/env bash
# tests/tools/predict.sh TOOLS_DIR [DATA_DIR] - sbt-predict on the first rows of ETTh1 with
# a small forecaster: one prediction per full window (and one past the end), in the file's
# units, the same on sgemm and on the ternary kernels; refusals name the file.
set -uo pipefail
source "$(dirname "$0")/lib/e2e.bash" "$@"
csv=$data/forecasting/ETTh1/ETTh1.csv
need_file "$csv"
head -n 121 "$csv" >"$tmp/recent.csv"                   # 120 steps
"$tools/sbt-train" --task forecast --model sbt --keep 0.5 --train "$csv" --epochs 1 --window 48 \
    --d-model 16 --ffn 32 --train-stride 8 -o "$tmp/f.sbtm" >/dev/null 2>&1
check "a forecaster to run" '[ -s "$tmp/f.sbtm" ]'
"$tools/sbt-predict" "$tmp/f.sbtm" --input "$tmp/recent.csv" --time-column date -o "$tmp/dense.csv"
check "sbt-predict exits 0" '[ $? -eq 0 ]'
check "one row per full window of 47 steps, plus the step after the end" '[ $(($(wc -l <"$tmp/dense.csv") - 1)) -eq 74 ]'
check "the header names the channels" 'head -n 1 "$tmp/dense.csv" | grep -q "^step,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT$"'
"$tools/sbt-predict" "$tmp/f.sbtm" --input "$tmp/recent.csv" --time-column date --kernel ternary -o "$tmp/tern.csv"
"$tools/sbt-predict" "$tmp/f.sbtm" --input "$tmp/recent.csv" --time-column date --kernel int8 -o "$tmp/int8.csv"
close() { # close A B TOL: every number of A within TOL (relative to the column's scale) of B
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import csv, sys
a = list(csv.reader(open(sys.argv[1])))[1:]
b = list(csv.reader(open(sys.argv[2])))[1:]
tol = float(sys.argv[3])
assert len(a) == len(b) and a
for j in range(1, len(a[0])):
    scale = max(abs(float(r[j])) for r in a) or 1
    worst = max(abs(float(x[j]) - float(y[j])) for x, y in zip(a, b)) / scale
    assert worst <= tol, (j, worst)
PY
}
check "ternary kernels agree with sgemm (1e-5)" 'close "$tmp/dense.csv" "$tmp/tern.csv" 1e-5'
check "int8 activations stay close (5 %)" 'close "$tmp/dense.csv" "$tmp/int8.csv" 0.05'
check "predictions are in the file's units (OT near its values)" \
    '/usr/bin/python3 -c "
import csv,sys
r=list(csv.DictReader(open(sys.argv[1])))
assert all(0 < float(x[\"OT\"]) < 60 for x in r)" "$tmp/dense.csv"'
cut -d, -f1-4 "$tmp/recent.csv" >"$tmp/narrow.csv"
"$tools/sbt-predict" "$tmp/f.sbtm" --input "$tmp/narrow.csv" --time-column date -o "$tmp/x.csv" 2>"$tmp/err"
check "wrong channel count: exit 1, file named, no output" '[ $? -eq 1 ] && grep -q narrow.csv "$tmp/err" && [ ! -e "$tmp/x.csv" ]'
"$tools/sbt-predict" "$tmp/f.sbtm" --input "$tmp/missing.csv" 2>"$tmp/err" >/dev/null
check "missing input: exit 1, file named" '[ $? -eq 1 ] && grep -q missing.csv "$tmp/err"'
finish
