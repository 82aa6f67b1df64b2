#!/usr/bin/env bash
# Model benchmark on the GPU: a Llama-style decoder block (prefill, decode;
# fp32/int8/int4, f16 when kilnc has --precision) and the real exported
# models, compiled here with kilnc --target=cuda, checked and timed there
# against PyTorch eager / CUDA graph / torch.compile (bench/models_bench.py).
#
#   scripts/gpu-bench-models.sh pack BUILD_DIR DEST [--only SUBSTRING]...
#                                  here, from the repository root: compile and pack
#   DEST/gpu-bench-models.sh run DEST [BUDGET_S]
#                                  on the GPU machine, from the repository root
#                                  (the real models' ONNX files are read from
#                                  test/models/real for the onnxruntime reference);
#                                  writes $OUT/models_bench.{json,png,log}
#
# The device tool sends /work/main's tree, so pack into
# /work/main/.carry/NAME and pass carry [".carry/NAME"], command
# "bash .carry/NAME/gpu-bench-models.sh run .carry/NAME". The run took 170 s
# on the H100 (2026-11-24); BUDGET_S (default 300) is when the remaining
# torch.compile baselines are skipped (at 200 the real models' were).
set -uo pipefail

pack() {
  local build=$1 dest=$2
  shift 2
  local python=${KILN_PYTHON:-python3}
  "$python" bench/models/pack_models.py "$build/bin/kilnc" "$dest" "$@" || return $?
  cp "$0" "$dest/gpu-bench-models.sh" || return 2
}

run() {
  local dest=$1 budget=${2:-300} out=${OUT:-/tmp/models-bench}
  mkdir -p "$out"
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "device: $(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>&1)"
    python3 -c "import tarfile, sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter='data')" \
      "$dest/cases.tar.xz" "$dest" || { echo "cannot unpack $dest/cases.tar.xz"; return 2; }
    PYTHONUNBUFFERED=1 python3 "$dest/models_bench.py" "$dest" "$out" --budget-s "$budget"
  } 2>&1 | tee "$out/models_bench.log"
  return "${PIPESTATUS[0]}"
}

case ${1:-} in
  pack) shift; pack "${1:-build}" "${2:-.carry/bench}" "${@:3}" ;;
  run) run "${2:-.carry/bench}" "${3:-300}" ;;
  *) echo "usage: $0 pack BUILD_DIR DEST [--only SUBSTRING]... | run DEST [BUDGET_S]" >&2; exit 2 ;;
esac
