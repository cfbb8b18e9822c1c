#!/usr/bin/env bash
# scripts/setup-debian.sh - installs what building and running sbt needs on Debian 12
# (bookworm): compiler and CMake, OpenBLAS, zlib, protobuf-c and the ONNX schema (model
# import/export), cJSON (--json), PAPI (hardware counters of the benchmarks) and gnuplot
# (report plots). Nothing for the tests: scripts/setup-test.sh adds those (PyTorch, ONNX,
# ONNX Runtime, Google Benchmark's compare.py with SciPy, clang for libFuzzer, clang-format).
#
# Idempotent: when every package is already installed it runs no apt command at all.
# Works as root or through sudo, with no stdin.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SETUP_NAME=setup
# shellcheck source=lib/apt.bash
source "$repo/scripts/lib/apt.bash"

packages=(
    build-essential cmake pkg-config
    libopenblas-dev zlib1g-dev
    libprotobuf-c-dev protobuf-c-compiler libonnx-dev libcjson-dev
    libpapi-dev gnuplot-nox
)

install_debian_packages "${packages[@]}"
