#!/usr/bin/env bash
# examples/cortex_m.sh [BUILD_DIR] - the C-source export on a Cortex-M4.
#
# Trains (briefly: sizes and agreement do not depend on accuracy) the paper's SMD anomaly
# model (C 38, d 76, w 200, 2 layers, F 256, Step-T, no norm, SBT keep 0.25) on
# machine-1-6 and the JapaneseVowels classifier (d 32, SBT keep 0.5), exports both as C
# (sbt-export -o model.c), cross-compiles them for a Cortex-M4 (arm-none-eabi-gcc -mcpu=cortex-m4
# -mthumb -O2, hard float), reports flash and RAM (arm-none-eabi-size), then runs the SMD
# model on real test windows of machine-1-6 under qemu-system-arm (MPS2 AN386, semihosting)
# and compares every output with the host's sbt-predict. Writes bench/results/cortex_m.md.
# Needs Debian's gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm
# (scripts/setup-test.sh installs them).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
tools=$build/tools
data=${SBT_DATA:-$(cd "$repo/.." && pwd)/shared/data}
here=$repo/examples/cortex_m
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in arm-none-eabi-gcc arm-none-eabi-size qemu-system-arm; do
    command -v "$t" >/dev/null || { echo "cortex_m: $t not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)" >&2; exit 1; }
done
cflags=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -std=c99 -Wall -Wextra -Werror -ffunction-sections -fdata-sections)

"$tools/sbt-train" --task anomaly --model sbt --keep 0.25 --norm none --train "$data/anomaly/SMD" --entity machine-1-6 \
    --epochs 1 --train-stride 64 --quiet -o "$work/smd.sbtm" >/dev/null
"$tools/sbt-train" --task classify --model sbt --keep 0.5 --d-model 32 --epochs 1 --quiet \
    --train "$data/classification/JapaneseVowels/JapaneseVowels_TRAIN.ts" -o "$work/jv.sbtm" >/dev/null

# three consecutive real windows of machine-1-6's test part: 199 observed steps each
/usr/bin/python3 - "$data/anomaly/SMD/test/machine-1-6.npy.gz" "$work" <<'PY'
import gzip, sys
import numpy as np
rows = np.load(gzip.open(sys.argv[1]))[1000:1201].astype(np.float32).tolist()
steps, n = 199, len(rows) - 199 + 1
with open(sys.argv[2] + "/windows.h", "w") as f:
    f.write("#define N_WINDOWS %d\n#define WINDOW_STEPS %d\nstatic const float WINDOWS[%d][%d] = {\n" % (n, steps, n, steps * len(rows[0])))
    for w in range(n):
        f.write("    {" + ", ".join(repr(float(v)) + "f" for r in rows[w:w + steps] for v in r) + "},\n")
    f.write("};\n")
with open(sys.argv[2] + "/rows.csv", "w") as f:
    f.write(",".join("c%d" % i for i in range(len(rows[0]))) + "\n")
    for r in rows:
        f.write(",".join("%.9g" % v for v in r) + "\n")
PY

report=$repo/bench/results/cortex_m.md
{
    echo "# The C-source export on a Cortex-M4"
    echo
    echo "\`bash examples/cortex_m.sh build\`: \`arm-none-eabi-gcc ${cflags[*]}\`, linked for QEMU's MPS2 AN386 (startup and linker script in examples/cortex_m/). text = flash (code, weights and the test windows: SMD holds 3 windows of 199 x 38 floats = 90,744 B, JapaneseVowels one all-zero series), bss = RAM (the arena and the position table)."
    echo
    echo "| model | text (flash) B | data B | bss (RAM) B |"
    echo "|---|---|---|---|"
} >"$report"
for m in smd jv; do
    "$tools/sbt-export" "$work/$m.sbtm" -o "$work/model.c" --prefix model >"$work/$m.export.txt"
    cp "$work/model.c" "$work/$m.c"
    cp "$work/model.h" "$work/$m.h"
    if [ $m = jv ]; then # run for its size only: one all-zero series of full length
        printf '#define N_WINDOWS 1\n#define WINDOW_STEPS MODEL_LENGTH\nstatic const float WINDOWS[1][MODEL_LENGTH * MODEL_CHANNELS];\n' >"$work/windows.h"
    fi
    arm-none-eabi-gcc "${cflags[@]}" -I"$work" "$here/startup.c" "$work/model.c" "$here/main.c" -nostartfiles \
        -T "$here/mps2.ld" -Wl,--gc-sections -lm -o "$work/$m.elf"
    read -r text data bss _ < <(arm-none-eabi-size "$work/$m.elf" | tail -n 1)
    echo "| $m ($(head -c 200 "$work/$m.export.txt" | sed 's/.*C99; //; s/;.*//')) | $text | $data | $bss |" >>"$report"
    echo "$m: text $text, data $data, bss $bss" >&2
done
# the SMD model on the real windows, on the emulated Cortex-M4 and on the host
timeout 120 qemu-system-arm -M mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$work/smd.elf" >"$work/qemu.txt" 2>&1
"$tools/sbt-predict" "$work/smd.sbtm" --input "$work/rows.csv" -o "$work/host.csv"
/usr/bin/python3 - "$work/qemu.txt" "$work/host.csv" "$report" <<'PY'
import csv, struct, sys
bits = [l.strip() for l in open(sys.argv[1]) if len(l.strip()) == 8 and all(c in "0123456789abcdef" for c in l.strip())]
arm = [struct.unpack(">f", bytes.fromhex(b))[0] for b in bits]
host = [float(v) for r in list(csv.reader(open(sys.argv[2])))[1:] for v in r[1:]]
assert len(arm) == len(host) and arm, (len(arm), len(host))
scale = max(abs(v) for v in host)
worst = max(abs(a - h) for a, h in zip(arm, host)) / scale
with open(sys.argv[3], "a") as f:
    f.write("\nSMD model on %d real windows of machine-1-6 (test rows 1000-1200) under qemu-system-arm: %d outputs, "
            "largest difference from the host's sbt-predict %.2g of the output scale.\n" % (len(arm) // 38, len(arm), worst))
print("qemu vs host: %d outputs, largest difference %.2g of the output scale" % (len(arm), worst))
sys.exit(0 if worst < 1e-4 else 1)
PY
cat "$report"
