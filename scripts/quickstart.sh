#!/usr/bin/env bash
# scripts/quickstart.sh - from a fresh Debian 12 checkout to a trained model.
#
# Installs the Debian packages, builds into build/, trains a dense classifier on the
# built-in synthetic dataset, evaluates it and prints what the model file holds.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash scripts/setup-debian.sh
bash scripts/build.sh build

echo "== sbt-train (synthetic task, dense model) ==" >&2
build/tools/sbt-train --task classify --model dense --synthetic -o build/quickstart.sbtm
echo "== sbt-eval ==" >&2
build/tools/sbt-eval build/quickstart.sbtm --synthetic
echo "== sbt-info ==" >&2
build/tools/sbt-info build/quickstart.sbtm
echo "== the tools are in build/tools; to run the README's examples from here: ==" >&2
echo "export PATH=\"\$PWD/build/tools:\$PATH\" SBT_DATA=\"\${SBT_DATA:-\$PWD/../shared/data}\"" >&2
