#!/usr/bin/env bash
# Compiles the shipped example model with int4 weights and prints the
# compressed kiln IR.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KILN_BUILD_DIR:-$root/build}"
model="$root/examples/mlp/mlp.onnx"
echo "kiln: compiling $model with int4 weights (groups of 32)"
"$build/bin/kilnc" "$model" --quantize=int4 --group-size=32 -o "$build/mlp.kiln.mlir"
cat "$build/mlp.kiln.mlir"
