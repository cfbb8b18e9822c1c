#!/usr/bin/env bash
# scripts/setup-test.sh - installs what the tests need beyond scripts/setup-debian.sh
# (which it runs first): the peers the tests compare against and the tools of the checks.
#
#   python3-torch python3-numpy   golden references and the PyTorch benchmark peer
#   python3-onnx                  ONNX export checks
#   libbenchmark-tools python3-scipy   Google Benchmark's compare.py (needs SciPy)
#   clang libomp-dev              libFuzzer targets (-DSBT_FUZZ=ON; OpenMP for clang)
#   clang-format                  the format check
#   onnxruntime-node              ONNX Runtime, into .deps/node/ with npm --ignore-scripts
#                                 (project-local, git-ignored; node and npm from Debian
#                                 when missing)
#
# scripts/test.sh runs it. Idempotent, as root or through sudo, with no stdin. npm that
# cannot reach its registry is a warning (the ONNX Runtime checks then say they cannot run).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup-debian.sh"
SETUP_NAME=setup-test
# shellcheck source=lib/apt.bash
source "$repo/scripts/lib/apt.bash"

packages=(
    python3-torch python3-onnx python3-numpy python3-scipy libbenchmark-tools
    clang libomp-dev clang-format
)
# node and npm from Debian only when there are none (a NodeSource node brings its own npm,
# which Debian's npm package would conflict with)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
install_debian_packages "${packages[@]}"

node_dir=$repo/.deps/node
if [[ -d $node_dir/node_modules/onnxruntime-node ]]; then
    setup_log "onnxruntime-node already in .deps/node"
elif command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    setup_log "installing onnxruntime-node into .deps/node"
    mkdir -p "$node_dir"
    [[ -f $node_dir/package.json ]] || printf '{ "name": "sbt-deps", "private": true }\n' >"$node_dir/package.json"
    if ! (cd "$node_dir" && timeout 600 npm install --ignore-scripts --no-audit --no-fund \
        onnxruntime-node </dev/null >npm-install.log 2>&1); then
        setup_log "warning: npm install onnxruntime-node failed (see $node_dir/npm-install.log); ONNX Runtime checks will not run"
    fi
else
    setup_log "warning: node/npm not found; onnxruntime-node not installed (ONNX Runtime checks will not run)"
fi
exit 0
