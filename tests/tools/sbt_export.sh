#!/usr/bin/env bash
# tests/tools/sbt_export.sh TOOLS_DIR [DATA_DIR] - sbt-export on real data: for a
# classifier (JapaneseVowels), a forecaster (ETTh1) and an anomaly model (SMD machine-1-6),
# each trained briefly as a sparse binary model, the exported .sbt is much smaller than the
# model file and sbt-eval gives the same metrics from it (both mask encodings for the
# classifier, the default for the others); bad
# requests and corrupt .sbt files fail cleanly (exit code, message, no output file).
set -uo pipefail
source "$(dirname "$0")/lib/e2e.bash" "$@"
jv=$data/classification/JapaneseVowels
etth1=$data/forecasting/ETTh1/ETTh1.csv
smd=$data/anomaly/SMD
need_file "$jv/JapaneseVowels_TRAIN.ts"
need_file "$etth1"
need_file "$smd/train"

small=(--model sbt --d-model 32 --ffn 128 --epochs 1)
"$tools/sbt-train" --task classify "${small[@]}" --keep 0.25 --train "$jv/JapaneseVowels_TRAIN.ts" \
    -o "$tmp/jv.sbtm" >/dev/null 2>&1
"$tools/sbt-train" --task forecast "${small[@]}" --keep 0.1 --alpha row --train "$etth1" --window 24 \
    --train-stride 20 -o "$tmp/fc.sbtm" >/dev/null 2>&1
"$tools/sbt-train" --task anomaly "${small[@]}" --keep 0.5 --norm none --train "$smd" --entity machine-1-6 \
    --window 20 --train-stride 50 --pot-risk 0.001 -o "$tmp/an.sbtm" >/dev/null 2>&1
check "three models trained" '[ -s "$tmp/jv.sbtm" ] && [ -s "$tmp/fc.sbtm" ] && [ -s "$tmp/an.sbtm" ]'

# sbt-eval's JSON from a model, without the "model" field that names the file.
metrics() { "$tools/sbt-eval" "$@" --json 2>/dev/null | sed 's/"model": *"[^"]*", *//'; }

declare -A evalargs=([jv]="--test $jv/JapaneseVowels_TEST.ts" [fc]="--test $etth1"
                     [an]="--test $smd --entity machine-1-6")
for m in jv fc an; do
    # shellcheck disable=SC2086
    metrics "$tmp/$m.sbtm" ${evalargs[$m]} >"$tmp/$m.want"
    check "$m: sbt-eval on the model file" '[ -s "$tmp/$m.want" ] && grep -q "\"task\"" "$tmp/$m.want"'
    encodings=(seed-mask-coded)
    [ $m = jv ] && encodings+=(seed-mask) # one encoding for the others: their data is slow to read
    for enc in "${encodings[@]}"; do
        "$tools/sbt-export" "$tmp/$m.sbtm" -o "$tmp/$m.sbt" --encoding $enc >"$tmp/out" 2>&1
        check "$m $enc: exported" '[ -s "$tmp/$m.sbt" ] && grep -q "float32 file" "$tmp/out"'
        check "$m $enc: masks stored as $enc" 'grep -q "layer0.q.scores  *$enc " "$tmp/out"'
        check "$m $enc: at least 8x smaller than the model file" \
            '[ $(( $(stat -c %s "$tmp/$m.sbt") * 8 )) -lt "$(stat -c %s "$tmp/$m.sbtm")" ]'
        # shellcheck disable=SC2086
        metrics "$tmp/$m.sbt" ${evalargs[$m]} >"$tmp/$m.got"
        check "$m $enc: the same metrics from the .sbt" 'cmp -s "$tmp/$m.want" "$tmp/$m.got"'
    done
done
"$tools/sbt-info" "$tmp/an.sbt" >"$tmp/info" 2>&1
check "sbt-info reads a .sbt with its anomaly settings" 'grep -q "POT risk 0.001" "$tmp/info"'
check "sbt-info lists the sections of a .sbt" 'grep -q "^  layer0.q.scores  *seed-mask-coded  *[0-9]" "$tmp/info"'

"$tools/sbt-export" "$tmp/jv.sbtm" -o "$tmp/jv_z.sbt" --zlib --json >"$tmp/json" 2>&1
check "--json: one object with the sections and the ratio" \
    'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"ratio_to_f32\"] > 5 and \
any(s[\"encoding\"] == \"seed-mask-coded\" for s in d[\"sections\"])" "$tmp/json"'

# Bad requests: usage errors exit 2, failures exit 1, and no output file either way.
"$tools/sbt-export" "$tmp/jv.sbtm" -o "$tmp/x.sbt" --encoding ternary2 2>"$tmp/err"
check "--encoding ternary2 is a usage error" '[ $? -eq 2 ] && [ ! -e "$tmp/x.sbt" ] && grep -q "ternary2" "$tmp/err"'
"$tools/sbt-export" "$tmp/jv.sbtm" 2>"$tmp/err"
check "no -o is a usage error" '[ $? -eq 2 ]'
"$tools/sbt-export" "$tmp/jv.sbtm" -o "$tmp/no_such_dir/x.sbt" 2>"$tmp/err"
check "an unwritable output exits 1" '[ $? -eq 1 ] && grep -q "no_such_dir" "$tmp/err"'
head -c 100 "$tmp/jv.sbtm" >"$tmp/trunc.sbtm"
"$tools/sbt-export" "$tmp/trunc.sbtm" -o "$tmp/x.sbt" 2>"$tmp/err"
check "a truncated model exits 1, no output" '[ $? -eq 1 ] && [ ! -e "$tmp/x.sbt" ] && grep -q truncated "$tmp/err"'
head -c 300 "$tmp/jv.sbt" >"$tmp/trunc.sbt"
"$tools/sbt-eval" "$tmp/trunc.sbt" --test "$jv/JapaneseVowels_TEST.ts" 2>"$tmp/err"
check "sbt-eval on a truncated .sbt exits 1" '[ $? -eq 1 ] && grep -q "trunc.sbt: truncated" "$tmp/err"'
cp "$tmp/jv.sbt" "$tmp/flip.sbt"
size=$(stat -c %s "$tmp/flip.sbt")
printf '\x55' | dd of="$tmp/flip.sbt" bs=1 seek=$((size - 3)) conv=notrunc status=none
"$tools/sbt-eval" "$tmp/flip.sbt" --test "$jv/JapaneseVowels_TEST.ts" 2>"$tmp/err"
check "sbt-eval on a .sbt with a changed byte names the section" \
    '[ $? -eq 1 ] && grep -q "flip.sbt: section .*: payload checksum mismatch" "$tmp/err"'
finish
