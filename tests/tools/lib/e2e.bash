# Shared by the end-to-end tool tests (sourced, not a test itself): arguments, a
# scratch folder removed on exit, check() and the closing summary line.
# Usage in a test: source "$(dirname "$0")/lib/e2e.bash" "$@"; need_file PATH; ...; finish
tools=$1
data=${SBT_DATA:-$2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() { if eval "$2"; then passed=$((passed + 1)); else echo "FAIL: $1" >&2; failed=$((failed + 1)); fi; }
# A missing dataset is a failure, not a skip: the test cannot pass without checking.
need_file() {
  if [ ! -e "$1" ]; then
    echo "$1 not found (set SBT_DATA)" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
}
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
