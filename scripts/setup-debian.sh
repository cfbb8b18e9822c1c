#!/usr/bin/env bash
# scripts/setup-debian.sh - installs everything sbt needs on Debian 12 (bookworm).
#
# Idempotent: when every package is already installed it runs no apt command at all.
# Works as root or through sudo. Also puts onnxruntime-node (used by the ONNX
# cross-checks) into .deps/node/ when node and npm exist; if npm cannot be reached
# it warns and carries on.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(
    build-essential cmake pkg-config clang-format
    libopenblas-dev zlib1g-dev
    libprotobuf-c-dev protobuf-c-compiler libonnx-dev libcjson-dev
    libpapi-dev gnuplot-nox libbenchmark-tools
    python3-torch python3-onnx python3-numpy
)

log() { printf 'setup: %s\n' "$*" >&2; }

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$p")
done

if ((${#missing[@]})); then
    if ((EUID == 0)); then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        log "missing packages (${missing[*]}) and neither root nor sudo: install them by hand"
        exit 1
    fi
    log "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
else
    log "all ${#packages[@]} Debian packages already installed"
fi

# onnxruntime-node: project-local and git-ignored. Optional: never fails the setup.
node_dir=$repo/.deps/node
if [[ -d $node_dir/node_modules/onnxruntime-node ]]; then
    log "onnxruntime-node already in .deps/node"
elif command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    log "installing onnxruntime-node into .deps/node"
    mkdir -p "$node_dir"
    [[ -f $node_dir/package.json ]] || printf '{ "name": "sbt-deps", "private": true }\n' >"$node_dir/package.json"
    if ! (cd "$node_dir" && timeout 600 npm install --ignore-scripts --no-audit --no-fund \
        onnxruntime-node </dev/null >npm-install.log 2>&1); then
        log "warning: npm install onnxruntime-node failed (see $node_dir/npm-install.log); ONNX runtime checks will be skipped"
    fi
else
    log "warning: node/npm not found; onnxruntime-node not installed (ONNX runtime checks will be skipped)"
fi

exit 0
