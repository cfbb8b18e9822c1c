#!/usr/bin/env bash
# examples/smd_csv.sh SMD_DIR MACHINE OUT_DIR [ROWS] - one machine of the Server Machine
# Dataset as the labelled CSV files that `sbt-train --task anomaly --label-column` reads:
#   OUT_DIR/train.csv   step,m0,...,m37         (the machine's train part)
#   OUT_DIR/test.csv    step,m0,...,m37,label   (its test part with the official 0/1 labels)
# ROWS keeps the first ROWS steps of each part (default: all). Reads SMD_DIR/train/MACHINE.npy.gz,
# SMD_DIR/test/MACHINE.npy.gz (float32 .npy, format 1.0, gzip or plain) and
# SMD_DIR/test_label/MACHINE.txt with coreutils and awk only.
set -eu # no pipefail: readers stop early on purpose (head, awk's exit)
export LC_ALL=C

smd=${1:?usage: smd_csv.sh SMD_DIR MACHINE OUT_DIR [ROWS]}
machine=${2:?usage: smd_csv.sh SMD_DIR MACHINE OUT_DIR [ROWS]}
out=${3:?usage: smd_csv.sh SMD_DIR MACHINE OUT_DIR [ROWS]}
rows=${4:-0}

array() { # the .npy (.gz) of PART
    local f
    for f in "$smd/$1/$machine.npy.gz" "$smd/$1/$machine.npy"; do
        [[ -f $f ]] && { echo "$f"; return 0; }
    done
    echo "smd_csv.sh: no $smd/$1/$machine.npy[.gz]" >&2
    return 1
}

# Prints the rows of a float32 .npy as comma-separated text, a step number first.
npy_csv() {
    local f=$1 header hlen cols
    header=$(zcat -f "$f" | head -c 4096 | tr -d '\0' | head -n 1)
    [[ $header == $'\x93NUMPY\x01'* && $header == *"'descr': '<f4'"* && $header == *"'fortran_order': False"* ]] ||
        { echo "smd_csv.sh: $f is not a C-order float32 .npy of format 1.0" >&2; return 1; }
    cols=$(sed -n "s/.*'shape': *([0-9]*, *\([0-9]*\)).*/\1/p" <<<"$header")
    [[ -n $cols ]] || { echo "smd_csv.sh: $f is not a 2-d array" >&2; return 1; }
    hlen=$(zcat -f "$f" | od -An -tu2 -j8 -N2 | tr -d ' ')
    zcat -f "$f" | tail -c +$((10 + hlen + 1)) | od -An -v -tf4 -w$((4 * cols)) |
        awk -v rows="$rows" '{ $1 = $1; gsub(/ /, ","); print NR - 1 "," $0 } rows > 0 && NR >= rows { exit }'
}

mkdir -p "$out"
train=$(array train)
test=$(array test)
labels=$smd/test_label/$machine.txt
[[ -f $labels ]] || { echo "smd_csv.sh: no $labels" >&2; exit 1; }
names=$(awk 'BEGIN { for (c = 0; c < 38; c++) printf ",m%d", c }')
{ echo "step$names"; npy_csv "$train"; } >"$out/train.csv"
{
    echo "step$names,label"
    paste -d, <(npy_csv "$test") "$labels" | awk -F, 'NF > 1 && $1 != ""'
} >"$out/test.csv"
n_test=$(($(wc -l <"$out/test.csv") - 1))
[[ $(wc -l <"$out/train.csv") -gt 1 && $n_test -gt 0 ]] || { echo "smd_csv.sh: no rows written" >&2; exit 1; }
((rows > 0)) || [[ $n_test -eq $(grep -c . "$labels") ]] ||
    { echo "smd_csv.sh: $n_test test steps but $(grep -c . "$labels") labels" >&2; exit 1; }
echo "smd_csv.sh: wrote $out/train.csv ($(($(wc -l <"$out/train.csv") - 1)) steps) and $out/test.csv ($(($(wc -l <"$out/test.csv") - 1)) steps)" >&2
