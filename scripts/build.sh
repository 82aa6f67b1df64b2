#!/usr/bin/env bash
# Configures and builds Kiln into build/ (incremental on later runs).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
llvm=$(head -n1 "$root/cmake/llvm-version.txt")
build="${KILN_BUILD_DIR:-$root/build}"
jobs="${KILN_JOBS:-$(nproc)}"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="clang-$llvm" -DCMAKE_CXX_COMPILER="clang++-$llvm" \
    -DKILN_PYTHON="$root/.venv/bin/python3" \
    ${KILN_CMAKE_ARGS:-}
fi
ninja -C "$build" -j "$jobs"
