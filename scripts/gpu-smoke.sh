#!/usr/bin/env bash
# Runs the CUDA runtime's smoke test on a GPU machine: JIT-compiled PTX,
# kernels through the arena on a stream, CUDA graph replay, out-of-memory
# recovery. The binary is built here (it needs only glibc there):
#
#   ninja -C build kiln-runtime-smoke
#   device run: command="scripts/gpu-smoke.sh build", carry=["build/bin/kiln-runtime-smoke"]
#
# Writes the log to $OUT/runtime-smoke.txt when $OUT is set. Exit 0 only if
# every check passed on a real GPU (no GPU counts as a failure here).
set -uo pipefail

build_dir=${1:-build}
smoke="$build_dir/bin/kiln-runtime-smoke"
if [ ! -x "$smoke" ]; then
  echo "error: $smoke not found; build it with 'ninja -C $build_dir kiln-runtime-smoke' and carry it" >&2
  exit 2
fi
log=${OUT:-/tmp}/runtime-smoke.txt

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader 2>&1 || true
  "$smoke"
  status=$?
  if [ "$status" -eq 77 ]; then
    echo "error: the smoke test found no GPU on a machine that should have one"
    status=1
  fi
  sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  if [ "$status" -eq 0 ] && [ -x "$sanitizer" ]; then
    # The out-of-memory step fails a cuMemAlloc on purpose: API errors are expected.
    echo "--- again under compute-sanitizer (memcheck)"
    "$sanitizer" --tool memcheck --report-api-errors no --error-exitcode 3 "$smoke"
    status=$?
    echo "compute-sanitizer exit: $status"
  fi
  exit "$status"
} 2>&1 | tee "$log"
