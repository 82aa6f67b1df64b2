#!/usr/bin/env bash
# Runs kilnc --target=cuda models on a GPU and compares them with the host
# target (same model, same compression, run here on the CPU) and onnxruntime.
# Models: the example MLP, the differential tests' mlp/cnn/transformer, an
# op-coverage model and the real exported models (test/models/real); each in
# fp32, f16 (--precision=f16), int8 and int4 (group 32) weights; or, with
# KILN_GPU_MODELS_VARIANTS=compressed, the other compression methods.
#
# Tolerances: an output passes when max|gpu - ref| <= TOL * max(1, max|ref|).
#   vs host, int8/int4: 1e-2 (linears run on library kernels with f16
#     activations and outputs, docs/cuda-target.md);
#   vs host, fp32: 1e-4 (same arithmetic, only summation order and
#     libdevice vs libm transcendentals differ);
#   vs host, f16: 3e-2 (the host runs f32; activations and weights are stored
#     as f16, about 3 decimal digits, through up to a few dozen layers);
#   vs onnxruntime, fp32: 1e-3; f16: 3e-2; int8/int4: reported only (the
#     quantized weights differ from the model's by design); ops.f16 and
#     SmoothQuant: below.
#
#   scripts/gpu-models.sh pack BUILD_DIR DEST   here: compile every model (host + cuda),
#                                               make inputs and references, copy the
#                                               runner and this script into DEST
#   DEST/gpu-models.sh run DEST                 on the GPU machine; writes $OUT/gpu-models-<DEST name>.txt
#
# The device tool sends /work/main's tree, so pack into
# /work/main/.carry/gpu-models and pass carry [".carry/gpu-models"], command
# "bash .carry/gpu-models/gpu-models.sh run .carry/gpu-models".
set -uo pipefail

# Static shapes for the CUDA target: each model's symbolic dims pinned.
MODELS=(
  "mlp.b1 examples/mlp/mlp.onnx --dim=batch=1"
  "mlp.b4 examples/mlp/mlp.onnx --dim=batch=4"
  "mlp.b16 examples/mlp/mlp.onnx --dim=batch=16"
  "mlp.b256 examples/mlp/mlp.onnx --dim=batch=256"
)
for f in test/models/real/*.onnx; do
  name=$(basename "$f" .onnx)
  case $name in
    *.torchscript) MODELS+=("$name $f --dim=batch=1") ;;
    *) MODELS+=("$name $f") ;;
  esac
done
# tag | flags for both targets | flags for the CUDA target only
VARIANTS=(
  "fp32||"
  "f16||--precision=f16"
  "int8|--quantize=int8|"
  "int4|--quantize=int4 --group-size=32|"
)
# KILN_GPU_MODELS_VARIANTS=compressed: every other compression method of
# docs/compression.md instead, one recipe each (test/gpu/models/recipes).
if [ "${KILN_GPU_MODELS_VARIANTS:-}" = compressed ]; then
  VARIANTS=()
  for recipe in ${KILN_GPU_MODELS_RECIPES:-test/gpu/models/recipes/*.json}; do
    VARIANTS+=("$(basename "$recipe" .json)|--recipe=$recipe|")
    # W8A8 also without library kernels: f32 throughout, so it must match
    # the host as closely as fp32 does.
    [ "$(basename "$recipe")" = smoothquant.json ] &&
      VARIANTS+=("smoothquant-generic|--recipe=$recipe|--library-kernels=false")
  done
fi

# KILN_GPU_MODELS_EXTRA_VARIANTS="TAG|FLAGS|CUDA_FLAGS;..." adds variants, such
# as "int4g64|--quantize=int4 --group-size=64|" (int4 groups the sm_90a wgmma
# GEMM takes: multiples of 64).
IFS=';' read -ra extra_variants <<<"${KILN_GPU_MODELS_EXTRA_VARIANTS:-}"
VARIANTS+=("${extra_variants[@]}")

# Tolerance against the host target and against onnxruntime, per case
# (MODEL.TAG). int8/int4 linears run on the library kernels with f16
# activations, hence 1e-2 against the host. ops.f16 is reported only: its
# Where(h2 > 0.5) has an element within 1e-5 of the threshold, which f16
# storage moves across, so one output element takes the other branch (max
# error 0.054, by design).
#
# SmoothQuant W8A8 on library kernels: each layer's activations are
# re-quantized to int8 codes after the previous layer's f16 output, so codes
# near a rounding boundary land one step away from the host's (f32) choice,
# a difference as large as the quantization noise itself (H100, 2026-11-25:
# up to 0.6x the compression's own error). So the GPU is held to the host
# within the compression's own error (the host's distance from the
# uncompressed model, make_reference.py; at least 1e-2), and to the
# uncompressed model (onnxruntime) within 1.25x that error: as faithful as
# the host. smoothquant-generic (--library-kernels=false) is held to fp32's
# 1e-4 against the host.
own_error() { cat "$1/host/compression_error.txt" 2>/dev/null || echo 0; }
scaled_at_least() { # FACTOR ERROR FLOOR
  awk -v f="$1" -v e="$2" -v floor="$3" 'BEGIN { t = f * e; if (t < floor) t = floor; printf "%.3g\n", t }'
}
host_tolerance() {
  case $1 in
    ops.f16) echo 1e9 ;;
    *.f16) echo 3e-2 ;;
    *.smoothquant) scaled_at_least 1 "$(own_error "$2")" 1e-2 ;;
    *.int8 | *.int4 | *.int4g* | *.gptq4 | *.awq4) echo 1e-2 ;;
    *) echo 1e-4 ;;
  esac
}
ort_tolerance() {
  case $1 in
    ops.f16) echo 1e9 ;;
    *.fp32) echo 1e-3 ;;
    *.f16) echo 3e-2 ;;
    *.smoothquant) scaled_at_least 1.25 "$(own_error "$2")" 1e-3 ;;
    *) echo 1e9 ;;
  esac
}

# One case: the host library and references here, the CUDA library for the
# device. A case finished by an earlier pack (PACK_RESUME=1) is kept.
pack_case() {
  local kilnc=$1 python=$2 dest=$3 name=$4 path=$5 dims=$6 tag=$7 flags=$8 cuda_flags=$9
  local case_dir=$dest/$name.$tag work
  if [ -f "$case_dir/libm.so" ] && [ -f "$case_dir/ort/reference_0.bin" ]; then
    echo "pack: $name $tag (kept)"
    return 0
  fi
  rm -rf "$case_dir" && mkdir -p "$case_dir" && work=$(mktemp -d) || return 2
  echo "pack: $name $tag"
  # shellcheck disable=SC2086
  if ! "$kilnc" "$path" --target=host --name=m $dims $flags -o "$work/libm.so" \
         >"$work/log" 2>&1 ||
     ! "$kilnc" "$path" --target=cuda --gpu-arch=sm_90a,sm_80 --name=m $dims $flags \
         $cuda_flags -o "$case_dir/libm.so" >>"$work/log" 2>&1 ||
     ! "$python" test/gpu/models/make_reference.py "$work/m.json" "$work/libm.so" m \
         "$path" "$case_dir" >>"$work/log" 2>&1; then
    head -c 400 "$work/log" | tr '\n' ' ' >"$case_dir/FAILED"
    rm -f "$case_dir/libm.so"
  fi
  rm -rf "$work"
}

pack() {
  local build=$1 dest=$2
  local kilnc=$build/bin/kilnc python=${KILN_PYTHON:-python3} generated jobs=${PACK_JOBS:-3}
  [ "${PACK_RESUME:-0}" = 1 ] || rm -rf "$dest"
  mkdir -p "$dest" && generated=$dest/.models && mkdir -p "$generated" || return 2
  "$python" test/gpu/models/make_ops_model.py "$generated/ops.onnx" || return 2
  MODELS+=("ops $generated/ops.onnx")
  "$python" test/gpu/models/save_differential_models.py "$generated" >/dev/null || return 2
  for name in mlp cnn transformer; do
    MODELS+=("diff-$name $generated/$name.onnx --dim=batch=3")
  done
  # The tiny Llama-style decoder block (grouped-query attention, an additive
  # mask input, a KV cache), prefill and decode.
  "$python" bench/models/make_decoder_block.py tiny "$generated/decoder" >/dev/null || return 2
  MODELS+=("decoder-prefill $generated/decoder/prefill.onnx")
  MODELS+=("decoder-decode $generated/decoder/decode.onnx")
  cp "$build/bin/kiln-run-cuda-model" "$0" "$dest/" || return 2
  # KILN_GPU_MODELS_EXTRA="NAME PATH [--dim=...];..." adds models.
  local extra
  IFS=';' read -ra extra <<<"${KILN_GPU_MODELS_EXTRA:-}"
  MODELS+=("${extra[@]}")
  for model in "${MODELS[@]}"; do
    read -r name path dims <<<"$model"
    [ -n "$name" ] || continue
    # KILN_GPU_MODELS_ONLY=REGEX packs only the matching model names.
    [[ $name =~ ${KILN_GPU_MODELS_ONLY:-.} ]] || continue
    for variant in "${VARIANTS[@]}"; do
      IFS='|' read -r tag flags cuda_flags <<<"$variant"
      [ -n "$tag" ] || continue
      # KILN_GPU_MODELS_TAGS=REGEX packs only the matching variants (fp32, f16, ...).
      [[ $tag =~ ^(${KILN_GPU_MODELS_TAGS:-.*})$ ]] || continue
      while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
      pack_case "$kilnc" "$python" "$dest" "$name" "$path" "$dims" "$tag" "$flags" \
        "$cuda_flags" &
    done
  done
  wait
  rm -rf "$generated"
  # The device tool carries at most 64 MiB: the cases travel compressed.
  (cd "$dest" && find . -mindepth 1 -maxdepth 1 -type d -printf '%P\n' | sort |
     tar -czf cases.tar.gz -T - && find . -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +) ||
    return 2
  du -sh "$dest"
}

run() {
  local dest=$1 out=${OUT:-/tmp}/gpu-models-$(basename "$1").txt cases=$1
  if [ -f "$dest/cases.tar.gz" ]; then
    cases=$(mktemp -d) && tar -C "$cases" -xzf "$dest/cases.tar.gz" || return 2
  fi
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "device: $(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>&1)"
    local status=0
    for case_dir in "$cases"/*/; do
      local case_name
      case_name=$(basename "$case_dir")
      if [ -f "$case_dir/FAILED" ]; then
        echo "== $case_name: not compiled: $(cat "$case_dir/FAILED")"
        continue
      fi
      local tolerance
      tolerance=$(host_tolerance "$case_name" "$case_dir")
      echo "== $case_name vs host (tolerance $tolerance)"
      "$dest/kiln-run-cuda-model" "$case_dir/libm.so" m "$case_dir/host" "$tolerance" ||
        status=1
      tolerance=$(ort_tolerance "$case_name" "$case_dir")
      echo "== $case_name vs onnxruntime (tolerance $tolerance)"
      "$dest/kiln-run-cuda-model" "$case_dir/libm.so" m "$case_dir/ort" "$tolerance" ||
        status=1
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
