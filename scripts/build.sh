#!/usr/bin/env bash
# scripts/build.sh [BUILD_DIR] [extra cmake args...] - configure and build sbt.
#
# Release, warnings as errors, two jobs. BUILD_DIR defaults to build/ in the repo;
# extra arguments go to the configure step (they override the defaults), e.g.
#     bash scripts/build.sh build-asan -DSBT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${1:-$repo/build}
(($#)) && shift

cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DSBT_WERROR=ON "$@"
cmake --build "$build_dir" -j2
