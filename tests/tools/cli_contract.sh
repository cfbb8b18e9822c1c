#!/usr/bin/env bash
# tests/tools/cli_contract.sh TOOLS_DIR [DATA_DIR] - what every sbt-* tool promises on
# its command line:
#   --help          exits 0, prints (on stdout) the tool's name and an example
#   --version       exits 0, prints (on stdout) the tool's name and a version number
#   --no-such-flag  exits 2 (usage error), says what is wrong on stderr and ends with the
#                   line "Try '<tool> --help'." (as every usage error does)
# The tools the README documents (sbt-train, sbt-eval, sbt-info) must exist.
# Ends with "N passed, N failed"; exits non-zero if any check failed.
set -uo pipefail

tools_dir=${1:?usage: cli_contract.sh TOOLS_DIR [DATA_DIR]}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbt-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# A sanitizer report means the tool misbehaved, whatever its exit code.
sanitizer_clean() { ! grep -qE 'Sanitizer|runtime error:' "$@"; }

for t in sbt-train sbt-eval sbt-info; do
    if [[ -x $tools_dir/$t ]]; then pass "$t exists"; else fail "$t missing from $tools_dir"; fi
done

tools=()
for f in "$tools_dir"/sbt-*; do
    [[ -f $f && -x $f ]] && tools+=("$f")
done

for exe in "${tools[@]}"; do
    name=$(basename "$exe")

    "$exe" --help </dev/null >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if ((rc != 0)); then
        fail "$name --help: exit $rc, expected 0"
    elif ! grep -qi 'example' "$tmp/out"; then
        fail "$name --help: no 'Example' on stdout"
    elif ! grep -qF "$name" "$tmp/out"; then
        fail "$name --help: its name '$name' is not on stdout"
    elif ! sanitizer_clean "$tmp/err"; then
        fail "$name --help: sanitizer report"
    else
        pass "$name --help"
    fi

    "$exe" --version </dev/null >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if ((rc != 0)); then
        fail "$name --version: exit $rc, expected 0"
    elif ! grep -qE '[0-9]+\.[0-9]+' "$tmp/out"; then
        fail "$name --version: no version number on stdout: $(head -c 200 "$tmp/out")"
    elif ! grep -qF "$name" "$tmp/out"; then
        fail "$name --version: its name '$name' is not on stdout"
    elif ! sanitizer_clean "$tmp/err"; then
        fail "$name --version: sanitizer report"
    else
        pass "$name --version"
    fi

    "$exe" --no-such-flag </dev/null >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if ((rc != 2)); then
        fail "$name --no-such-flag: exit $rc, expected 2"
    elif [[ ! -s $tmp/err ]]; then
        fail "$name --no-such-flag: nothing on stderr"
    elif ! grep -qxF "Try '$name --help'." "$tmp/err"; then
        fail "$name --no-such-flag: no \"Try '$name --help'.\" line on stderr"
    elif ! sanitizer_clean "$tmp/err"; then
        fail "$name --no-such-flag: sanitizer report"
    else
        pass "$name --no-such-flag"
    fi
done

echo "$passed passed, $failed failed"
((failed == 0))
