#!/usr/bin/env bash
# The main job on the shipped example: compile examples/mlp/mlp.onnx into
# standalone shared libraries (float weights, and int4 weights in groups of
# 32), run them from the C example program, and compare with onnxruntime.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KILN_BUILD_DIR:-$root/build}"
python="$root/.venv/bin/python3"
model="$root/examples/mlp/mlp.onnx"
check="$root/examples/mlp/check_with_onnxruntime.py"
out="$build/example"
mkdir -p "$out"

echo "== kilnc: the compressed kiln IR of $model (int4 weights, groups of 32)"
"$build/bin/kilnc" "$model" --quantize=int4 --group-size=32 -o "$out/mlp-int4.kiln.mlir"
grep -E "kiln\.(weight|linear)" "$out/mlp-int4.kiln.mlir" | cut -c1-150

"$python" "$check" make-input "$model" 4 "$out/x.bin"
for variant in float int4; do
  flags=()
  tolerance=1e-4
  if [ "$variant" = int4 ]; then
    flags=(--quantize=int4 --group-size=32)
    tolerance=0.25 # int4 rounding of random weights, measured against float weights
  fi
  echo "== kilnc ${flags[*]} --target=host -> $out/libmlp-$variant.so (+ .h, .json)"
  "$build/bin/kilnc" "$model" "${flags[@]}" --target=host --name=mlp \
    -o "$out/libmlp-$variant.so"
  echo "== kiln-run-model (examples/c/run_model.c), batch of 4"
  "$build/bin/kiln-run-model" "$out/libmlp-$variant.so" mlp --dim batch=4 \
    --input "0=$out/x.bin" --print-all > "$out/output-$variant.txt"
  cut -c1-150 "$out/output-$variant.txt"
  "$python" "$check" compare "$model" "$out/x.bin" 4 "$tolerance" < "$out/output-$variant.txt"
done
