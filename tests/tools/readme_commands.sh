#!/usr/bin/env bash
# tests/tools/readme_commands.sh TOOLS_DIR [DATA_DIR] - the README's examples run as written.
#
# Every ```sh block of README.md is cut into commands (a line ending in '\' continues) and
# the commands run in order, in one shell, from a scratch folder laid out like the
# repository root (build -> the build tree under test, the rest -> the repository's), so
# that the README's own PATH and SBT_DATA set-up is what finds the tools and the data.
# Training is shortened, the commands are not: sbt-train gets --epochs 1 appended (and
# --train-stride 8 for forecast and anomaly). Also checked: every `sbt-...` line of any
# code block is in an sh block (so none escapes this test), and every sbt-* tool the README
# names exists. Ends with "N passed, N failed".
set -uo pipefail
source "$(dirname "$0")/lib/e2e.bash" "$@"
repo=$(cd "$(dirname "$0")/../.." && pwd)
readme=$repo/README.md
need_file "$readme"
need_file "$data/classification/JapaneseVowels/JapaneseVowels_TRAIN.ts"

# The commands of the sh blocks, one per line (continuations joined), into $tmp/commands;
# `sbt-` lines of other blocks into $tmp/stray.
awk -v cmds="$tmp/commands" -v stray="$tmp/stray" '
    /^```/ { if (!inblock) { inblock = 1; sh = ($0 ~ /^```sh[ \t]*$/) } else { inblock = 0 } next }
    !inblock { next }
    !sh { if ($0 ~ /^[ \t]*sbt-/) print NR ": " $0 > stray; next }
    { line = $0; sub(/[ \t]+#.*$/, "", line) }
    line ~ /^[ \t]*(#|$)/ && cmd == "" { next }
    { cmd = cmd (cmd == "" ? "" : " ") line }
    cmd ~ /\\$/ { sub(/[ \t]*\\$/, "", cmd); next }
    { print cmd > cmds; cmd = "" }
' "$readme"
check "the README has sh blocks with commands" '[ -s "$tmp/commands" ]'
check "every sbt-* line of the README is in an sh block (run here)" '[ ! -s "$tmp/stray" ] || { cat "$tmp/stray" >&2; false; }'
for name in $(grep -oE '\bsbt-[a-z]+' "$readme" | sort -u); do
    check "the README names $name, which exists" '[ -x "$tools/$name" ]'
done

work=$tmp/repo
mkdir -p "$work"
ln -s "$(cd "$tools/.." && pwd)" "$work/build"
for entry in "$repo"/*; do # examples/, reports/, ... as the README's paths expect them
  [[ $(basename "$entry") == build* ]] || ln -s "$entry" "$work/$(basename "$entry")"
done
cd "$work" || exit 1
# the tools must come from the README's PATH line, not from the test's environment
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$tools" | paste -sd: -)
export SBT_DATA=$data

sbt-train() { # the README's command with shorter training appended
    local extra=(--epochs 1 --quiet) a
    for a in "$@"; do [[ $a == forecast || $a == anomaly ]] && extra+=(--train-stride 8); done
    command sbt-train "$@" "${extra[@]}"
}

n=0
while IFS= read -r cmd; do
    n=$((n + 1))
    echo "+ $cmd" >>"$tmp/log"
    check "README command $n: $cmd" 'eval "$cmd" >>"$tmp/log" 2>&1 </dev/null'
    if grep -qE 'Sanitizer|runtime error:' "$tmp/log"; then
        check "README command $n: no sanitizer report" false
        : >"$tmp/log"
    fi
done <"$tmp/commands"
check "the README's PATH line found the tools under test" '[ "$(type -P sbt-train)" -ef "$tools/sbt-train" ]'
check "the first sbt-eval --json printed one JSON object" \
    'grep -m1 "^{\"model\":\"jv.sbtm\"" "$tmp/log" | /usr/bin/python3 -c "import json,sys; json.load(sys.stdin)"'
if ((failed)); then tail -n 40 "$tmp/log" >&2; fi
finish
