#!/usr/bin/env bash
# Runs kilnc --target=cuda models on a GPU and compares them with the host
# target (same model, same compression, run here on the CPU) and onnxruntime.
#
#   scripts/gpu-models.sh pack BUILD_DIR DEST   here: compile every model (host + cuda),
#                                               make inputs and references, copy the
#                                               runner and this script into DEST
#   DEST/gpu-models.sh run DEST                 on the GPU machine; writes $OUT/gpu-models.txt
#
# The device tool sends /work/main's tree, so pack into
# /work/main/.carry/gpu-models and pass carry [".carry/gpu-models"], command
# "bash .carry/gpu-models/gpu-models.sh run .carry/gpu-models".
set -uo pipefail

# Static shapes for the CUDA target: each model's symbolic dims pinned.
MODELS=(
  "mlp.b1 examples/mlp/mlp.onnx --dim=batch=1"
  "mlp.b4 examples/mlp/mlp.onnx --dim=batch=4"
  "mlp.b256 examples/mlp/mlp.onnx --dim=batch=256"
)
for f in test/models/real/*.onnx; do
  name=$(basename "$f" .onnx)
  case $name in
    *.torchscript) MODELS+=("$name $f --dim=batch=1") ;;
    *) MODELS+=("$name $f") ;;
  esac
done
VARIANTS=(
  "fp32"
  "int8 --quantize=int8"
  "int4 --quantize=int4 --group-size=32"
)

pack() {
  local build=$1 dest=$2
  local kilnc=$build/bin/kilnc python=${KILN_PYTHON:-python3} generated
  rm -rf "$dest" && mkdir -p "$dest" || return 2
  generated=$(mktemp -d)
  "$python" test/gpu/models/make_ops_model.py "$generated/ops.onnx" || return 2
  MODELS+=("ops $generated/ops.onnx")
  cp "$build/bin/kiln-run-cuda-model" "$0" "$dest/" || return 2
  for model in "${MODELS[@]}"; do
    read -r name path dims <<<"$model"
    # KILN_GPU_MODELS_ONLY=REGEX packs only the matching model names.
    [[ $name =~ ${KILN_GPU_MODELS_ONLY:-.} ]] || continue
    for variant in "${VARIANTS[@]}"; do
      read -r tag flags <<<"$variant"
      local case_dir=$dest/$name.$tag work
      work=$(mktemp -d)
      mkdir -p "$case_dir"
      echo "pack: $name $tag"
      # shellcheck disable=SC2086
      if ! "$kilnc" "$path" --target=host --name=m $dims $flags -o "$work/libm.so" \
             >"$work/log" 2>&1 ||
         ! "$kilnc" "$path" --target=cuda --gpu-arch=sm_90a,sm_80 --name=m $dims $flags \
             -o "$case_dir/libm.so" >>"$work/log" 2>&1 ||
         ! "$python" test/gpu/models/make_reference.py "$work/m.json" "$work/libm.so" m \
             "$path" "$case_dir" >>"$work/log" 2>&1; then
        head -c 400 "$work/log" | tr '\n' ' ' >"$case_dir/FAILED"
        rm -f "$case_dir/libm.so"
      fi
      rm -rf "$work"
    done
  done
  rm -rf "$generated"
}

run() {
  local dest=$1 out=${OUT:-/tmp}/gpu-models.txt
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "device: $(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>&1)"
    local status=0
    for case_dir in "$dest"/*/; do
      local case_name
      case_name=$(basename "$case_dir")
      if [ -f "$case_dir/FAILED" ]; then
        echo "== $case_name: not compiled: $(cat "$case_dir/FAILED")"
        continue
      fi
      # Against the host target: same arithmetic up to summation order, but
      # int8/int4 linears with M <= 16 run on library GEMV kernels with f16
      # activations and outputs (docs/cuda-target.md): f16 tolerance.
      local host_tolerance=1e-4
      case $case_name in *.int8 | *.int4) host_tolerance=${KILN_F16_TOLERANCE:-1e-2} ;; esac
      echo "== $case_name vs host (tolerance $host_tolerance)"
      "$dest/kiln-run-cuda-model" "$case_dir/libm.so" m "$case_dir/host" "$host_tolerance" ||
        status=1
      # Against onnxruntime: reported; quantized variants differ by design.
      echo "== $case_name vs onnxruntime"
      local tolerance=1e-4
      case $case_name in *.fp32) ;; *) tolerance=1e9 ;; esac
      "$dest/kiln-run-cuda-model" "$case_dir/libm.so" m "$case_dir/ort" "$tolerance" || status=1
    done
    echo "exit: $status"
    return $status
  } 2>&1 | tee "$out"
  return "${PIPESTATUS[0]}"
}

case ${1:-} in
  pack) pack "${2:-build}" "${3:-.carry/gpu-models}" ;;
  run) run "${2:-.carry/gpu-models}" ;;
  *) echo "usage: $0 pack BUILD_DIR DEST | run DEST" >&2; exit 2 ;;
esac
