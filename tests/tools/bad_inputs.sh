#!/usr/bin/env bash
# tests/tools/bad_inputs.sh TOOLS_DIR [DATA_DIR] - the tools refuse bad input cleanly.
#
# For every bad dataset in tests/bad/ (and a path that does not exist), sbt-train must
# exit 1 with a message on stderr naming the file, and leave neither the model nor a
# temporary file behind. sbt-eval must exit 1 naming the file on a garbage model and on
# a truncated copy of a real one. A fixture missing from tests/bad/ counts as a failure
# (it is not created here). Ends with "N passed, N failed".
set -uo pipefail

tools_dir=${1:?usage: bad_inputs.sh TOOLS_DIR [DATA_DIR]}
repo=$(cd "$(dirname "$0")/../.." && pwd)
bad_dir=$repo/tests/bad
train=$tools_dir/sbt-train
eval_=$tools_dir/sbt-eval
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbt-bad.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# expect_error LABEL NAMED_FILE OUTPUT_OR_EMPTY -- COMMAND...
# The command must exit 1, name NAMED_FILE's basename on stderr, print no sanitizer
# report, and (if OUTPUT is given) leave neither OUTPUT nor OUTPUT.tmp* behind.
expect_error() {
    local label=$1 named=$2 out=$3
    shift 4
    rm -f "$tmp/stderr"
    "$@" </dev/null >"$tmp/stdout" 2>"$tmp/stderr"
    local rc=$? base problems=()
    base=$(basename "$named")
    ((rc == 1)) || problems+=("exit $rc, expected 1")
    grep -qF "$base" "$tmp/stderr" || problems+=("stderr does not name $base")
    if grep -qE 'Sanitizer|runtime error:' "$tmp/stderr"; then problems+=("sanitizer report"); fi
    if [[ -n $out ]]; then
        [[ -e $out ]] && problems+=("$(basename "$out") was written")
        compgen -G "$out.tmp*" >/dev/null && problems+=("temporary $(basename "$out").tmp* left behind")
    fi
    if ((${#problems[@]} == 0)); then
        pass "$label"
    else
        local joined
        joined=$(printf '%s; ' "${problems[@]}")
        fail "$label: ${joined%; }"
        sed 's/^/    stderr: /' "$tmp/stderr" | head -n 8
    fi
    [[ -z $out ]] || rm -f "$out" "$out".tmp*
}

have_tool() {
    [[ -x $1 ]] && return 0
    fail "$(basename "$1") not found in $tools_dir"
    return 1
}

out=$tmp/out.sbtm

# ---- sbt-train on bad datasets ---------------------------------------------------------
if have_tool "$train"; then
    for name in truncated.ts wrong_dims.ts non_numeric.ts empty.ts nan_channel.ts; do
        f=$bad_dir/$name
        if [[ ! -f $f ]]; then
            fail "sbt-train on $name: fixture tests/bad/$name does not exist (not checked)"
            continue
        fi
        expect_error "sbt-train on $name" "$f" "$out" -- \
            "$train" --task classify --model dense --train "$f" --test "$f" --epochs 1 -o "$out"
    done

    good=$bad_dir/unknown_label_TRAIN.ts
    f=$bad_dir/unknown_label_TEST.ts
    if [[ ! -f $good || ! -f $f ]]; then
        fail "sbt-train on unknown_label_TEST.ts: fixture unknown_label_TRAIN.ts or unknown_label_TEST.ts missing from tests/bad (not checked)"
    else
        expect_error "sbt-train on unknown_label_TEST.ts (train: unknown_label_TRAIN.ts)" "$f" "$out" -- \
            "$train" --task classify --model dense --train "$good" --test "$f" --epochs 1 -o "$out"
    fi

    good=$bad_dir/unknown_label_TRAIN.ts
    f=$bad_dir/unlabelled_TEST.ts
    expect_error "sbt-train on unlabelled_TEST.ts (train: unknown_label_TRAIN.ts)" "$f" "$out" -- \
        "$train" --task classify --model dense --train "$good" --test "$f" --epochs 1 -o "$out"

    f=$bad_dir/gaps.csv
    expect_error "sbt-train --task forecast on gaps.csv" "$f" "$out" -- \
        "$train" --task forecast --train "$f" --window 2 --epochs 1 -o "$out"

    f=$tmp/no_such_file.ts
    expect_error "sbt-train on a missing file" "$f" "$out" -- \
        "$train" --task classify --model dense --train "$f" --test "$f" --epochs 1 -o "$out"
fi

# ---- sbt-eval on corrupt models --------------------------------------------------------
if have_tool "$eval_"; then
    garbage=$tmp/garbage.sbtm
    printf 'not a model\x00\x01\x02\xff' >"$garbage"
    expect_error "sbt-eval on a garbage model" "$garbage" "" -- "$eval_" "$garbage" --synthetic

    real=$tmp/real.sbtm
    if [[ ! -x $train ]]; then
        fail "sbt-eval on a truncated model: no sbt-train to make the model (not checked)"
    elif ! "$train" --task classify --model dense --synthetic --epochs 1 -o "$real" </dev/null \
        >"$tmp/train.log" 2>&1 || [[ ! -s $real ]]; then
        fail "sbt-eval on a truncated model: sbt-train --synthetic --epochs 1 made no model (not checked)"
        tail -n 8 "$tmp/train.log" | sed 's/^/    /'
    else
        size=$(wc -c <"$real")
        truncated=$tmp/truncated.sbtm
        head -c $((size / 2)) "$real" >"$truncated"
        expect_error "sbt-eval on a model truncated to $((size / 2)) of $size bytes" "$truncated" "" -- \
            "$eval_" "$truncated" --synthetic
    fi
fi

echo "$passed passed, $failed failed"
((failed == 0))
