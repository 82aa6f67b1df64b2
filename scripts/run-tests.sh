#!/usr/bin/env bash
# Runs every test (lit, GoogleTest, end-to-end) through ctest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KILN_BUILD_DIR:-$root/build}"
cd "$build"
ctest --output-on-failure -j "${KILN_JOBS:-$(nproc)}" "$@"
