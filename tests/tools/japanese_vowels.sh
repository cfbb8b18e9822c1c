#!/usr/bin/env bash
# End to end on real data: sbt-train with its default settings on JapaneseVowels must
# reach >= 0.96 test accuracy (dense) and >= 0.93 (SBT, keep 0.5, Q/K/V mask); sbt-eval
# must agree with what sbt-train reported.
# Usage: japanese_vowels.sh TOOLS_DIR DATA_DIR
set -u
source "$(dirname "$0")/lib/e2e.bash" "$@"
jv=$data/classification/JapaneseVowels

need_file "$jv/JapaneseVowels_TRAIN.ts"
start=$(date +%s)
"$tools/sbt-train" --task classify --model dense --train "$jv/JapaneseVowels_TRAIN.ts" \
  --test "$jv/JapaneseVowels_TEST.ts" --seed 0 --progress -o "$tmp/jv.sbtm" >"$tmp/train.out" 2>"$tmp/train.err"
rc=$?
cat "$tmp/train.out"
tail -3 "$tmp/train.err"
echo "training took $(( $(date +%s) - start )) s"
check "sbt-train exits 0" '[ $rc -eq 0 ]'
check "progress lines on stderr" 'grep -q "val_acc" "$tmp/train.err"'
train_acc=$(sed -n 's/^test accuracy \([0-9.]*\).*/\1/p' "$tmp/train.out")
"$tools/sbt-eval" "$tmp/jv.sbtm" --test "$jv/JapaneseVowels_TEST.ts" --json >"$tmp/eval.json"
check "sbt-eval exits 0" '[ $? -eq 0 ]'
eval_acc=$(/usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["accuracy"])' "$tmp/eval.json")
echo "sbt-train test accuracy: $train_acc, sbt-eval: $eval_acc"
check "accuracy >= 0.96" "awk -v a='$eval_acc' 'BEGIN { exit !(a >= 0.96) }'"
check "sbt-eval agrees with sbt-train" '[ "$train_acc" = "$eval_acc" ]'
"$tools/sbt-info" "$tmp/jv.sbtm" >"$tmp/info.txt"
check "sbt-info describes the model" 'grep -q "layer1.ff2.weight" "$tmp/info.txt" && grep -q "^parameters" "$tmp/info.txt"'

# The sparse binary transformer at keep 0.5 (sparsity 0.5) with the fixed Q/K/V mask.
"$tools/sbt-train" --task classify --model sbt --keep 0.5 --attn qkv-mask --train "$jv/JapaneseVowels_TRAIN.ts" \
  --test "$jv/JapaneseVowels_TEST.ts" --seed 0 -o "$tmp/jv_sbt.sbtm" >"$tmp/sbt.out" 2>"$tmp/sbt.err"
rc=$?
cat "$tmp/sbt.out"
check "sbt-train --model sbt exits 0" '[ $rc -eq 0 ]'
sbt_acc=$("$tools/sbt-eval" "$tmp/jv_sbt.sbtm" --test "$jv/JapaneseVowels_TEST.ts" --json |
  /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["accuracy"])')
echo "SBT keep 0.5 qkv-mask test accuracy: $sbt_acc"
check "SBT accuracy >= 0.93" "awk -v a='$sbt_acc' 'BEGIN { exit !(a >= 0.93) }'"
check "sbt-info reports the sparse binary layers" '"$tools/sbt-info" "$tmp/jv_sbt.sbtm" | grep -q "layer0.q.scores"'
finish
