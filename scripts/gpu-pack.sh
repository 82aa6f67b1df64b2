#!/usr/bin/env bash
# Packs what the GPU benchmark runs need into one folder and prints the
# command to run there (the device machine has no MLIR/LLVM, so kernels are
# generated and assembled here): the GEMV sweep (gemv.*, bench/gemv_bench.py)
# and the linear-layer benchmark (linear.*, bench/linear_bench.py: GEMV for
# M <= 16, tensor-core GEMM for M >= 128: mma.sync, and for sm_90a also the
# TMA + wgmma GEMM).
#
#   scripts/gpu-pack.sh [DEST] [BUILD_DIR]
#     DEST       default: <repo>/.carry/gpu
#     BUILD_DIR  default: <repo>/build (must contain bin/kiln-kernelgen)
#   then on the GPU machine: DEST/run.sh [gemv|linear|all]   (default: gemv)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$repo/.carry/gpu}
build=${2:-$repo/build}
gen=$build/bin/kiln-kernelgen
arch=${KILN_GPU_ARCH:-sm_90a}
[[ -x $gen ]] || { echo "gpu-pack: $gen not found; build first (ninja -C $build kiln-kernelgen)" >&2; exit 1; }

# Every benchmark case and the tilings it is timed with (rows per warp r,
# 16-byte chunks in flight per row u); the benchmark keeps the fastest.
specs=()
for nk in n4096:k4096 n11008:k4096 n4096:k11008 n8192:k8192; do
  for fmt in f16 int8:g0 int4:g128; do
    for tile in r4:u4 r2:u8 r4:u8 r1:u16 r2:u16; do specs+=(--kernel="$fmt:m1:$nk:$tile"); done
    specs+=(--kernel="$fmt:m16:$nk:r4:u2")
    # Tensor-core variants (r = rows per warp in 8-row tiles, u = K blocks in
    # flight, s = warps of a block splitting K and sharing the activations).
    f=${fmt%%:*}; g=${fmt#$f}
    specs+=(--kernel="$f:tc:m1:$nk$g:r16:u4:w8:s8")
    for tile in r32:u2:w8:s8 r32:u4:w8:s8 r16:u4:w8:s8; do
      specs+=(--kernel="$f:tc:m16:$nk$g:$tile"); done
  done
done
# Persistent, software-pipelined int4 GEMV (p = blocks launched, sized so
# they are all resident on the 132 SMs of an H100 at their register use).
for spec in n4096:k4096:r1:p528 n4096:k4096:r1:p264 n4096:k4096:r2:p396 \
            n11008:k4096:r1:p528 n11008:k4096:r1:p264 n11008:k4096:r2:p396 \
            n4096:k11008:r1:p264 n8192:k8192:r1:p264; do
  specs+=(--kernel="int4:m1:${spec%%:r*}:g128:r${spec#*:r}")
done
# Linear-layer benchmark: the best GEMV tilings of the sweep for M = 1 and
# 16, GEMM block tilings (t BMxBNxBK, w warps, s stages) for M = 128 and
# 2048; plus checked-only kernels for an M tail and the bias epilogue.
linear=()
for nk in n4096:k4096 n11008:k4096 n4096:k11008 n8192:k8192; do
  for fmt in f16 int8:g0 int4:g128; do
    f=${fmt%%:*}; g=${fmt#$f}
    for tile in r2:u16 r2:u8 r4:u8 r1:u16; do linear+=(--kernel="$fmt:m1:$nk:$tile"); done
    # K split over the warps of a block (s), partial sums through shared memory.
    for tile in r2:w8:s2 r4:w8:s2 r4:w16:s4 r2:w8:s4; do linear+=(--kernel="$fmt:m1:$nk:$tile"); done
    for tile in r16:u4:w8:s8 r32:u4:w8:s8; do linear+=(--kernel="$f:tc:m16:$nk$g:$tile"); done
    for tile in t64x64x64:w2x2:s4 t64x64x64:w2x2:s3 t64x32x64:w2x2:s4; do
      linear+=(--kernel="gemm:$f:m128:$nk$g:$tile"); done
    for tile in t128x128x64:w2x2:s3 t128x128x32:w2x2:s4 t128x128x64:w2x4:s3 t128x128x64:w2x2:s4; do
      linear+=(--kernel="gemm:$f:m2048:$nk$g:$tile"); done
  done
done
for fmt in f16 int8:g0 int4:g128; do
  f=${fmt%%:*}; g=${fmt#$f}
  linear+=(--kernel="gemm:$f:m2000:n4096:k4096$g" --kernel="gemm:$f:m200:n4096:k4096$g:bias")
  linear+=(--kernel="gemm:$f:m37:n11008:k4096$g:bias")
done
# Hopper TMA + wgmma GEMMs (sm_90a only): block tiles BMxBN and stages for
# M = 128 and 2048 (int8/int4: the stages the shared memory allows), plus
# checked-only M-tail and bias kernels.
if [[ $arch == sm_90a ]]; then
  for nk in n4096:k4096 n11008:k4096 n4096:k11008 n8192:k8192; do
    for tile in t64x128:s4 t64x128:s8 t64x64:s6 t128x128:s4; do
      linear+=(--kernel="wgmma:f16:m128:$nk:$tile"); done
    for tile in t128x256:s4 t128x128:s6 t128x128:s3 t128x256:s3; do
      linear+=(--kernel="wgmma:f16:m2048:$nk:$tile"); done
    for fmt in int8:g0 int4:g128; do
      for tile in t64x128 t64x64; do linear+=(--kernel="wgmma:$fmt:m128:$nk:$tile"); done
      for tile in t128x128 t128x256; do linear+=(--kernel="wgmma:$fmt:m2048:$nk:$tile"); done
    done
  done
  for fmt in f16 int8:g0 int4:g128; do
    linear+=(--kernel="wgmma:$fmt:m2000:n4096:k4096" --kernel="wgmma:$fmt:m200:n4096:k4096:bias")
    linear+=(--kernel="wgmma:$fmt:m37:n11008:k4096:t64x128:s4:bias")
  done
fi
mkdir -p "$dest"
echo "gpu-pack: generating ${#specs[@]} GEMV sweep kernels for $arch into $dest" >&2
"$gen" "${specs[@]}" --gpu-arch="$arch" --emit=ptx -o "$dest/gemv.ptx"
"$gen" "${specs[@]}" --gpu-arch="$arch" --emit=cubin -o "$dest/gemv.cubin" \
  --manifest="$dest/gemv.json"
echo "gpu-pack: generating ${#linear[@]} linear-layer kernels for $arch into $dest" >&2
"$gen" "${linear[@]}" --gpu-arch="$arch" --emit=cubin -o "$dest/linear.cubin" \
  --manifest="$dest/linear.json"
cp "$repo/bench/gemv_bench.py" "$repo/bench/linear_bench.py" "$repo/bench/read_floor.py" "$dest/"
# The pure-read floor kernels (linear_bench --floor-cubin), when nvcc is here.
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [[ -x $nvcc ]]; then
  "$nvcc" -arch="$arch" -cubin -O3 -o "$dest/read_floor.cubin" "$repo/bench/read_floor.cu"
else
  echo "gpu-pack: nvcc not found: no read-floor kernels (linear_bench runs without them)" >&2
fi
cat > "$dest/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs on the GPU machine from this folder; results go to ${OUT:-./out}.
set -uo pipefail
cd "$(dirname "$0")"
out=${OUT:-$PWD/out}
mkdir -p "$out"
what=${1:-gemv}
shift || true
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv | tee "$out/nvidia-smi.csv"
rc=0
if [[ $what == gemv || $what == all ]]; then
  PYTHONUNBUFFERED=1 python3 gemv_bench.py --cubin gemv.cubin --manifest gemv.json --out "$out" 2>&1 | tee "$out/gemv_bench.log" || rc=1
fi
if [[ $what == linear || $what == all ]]; then
  floor=()
  [[ -f read_floor.cubin ]] && floor=(--floor-cubin read_floor.cubin)
  PYTHONUNBUFFERED=1 python3 linear_bench.py --cubin linear.cubin --manifest linear.json --out "$out" "${floor[@]}" "$@" 2>&1 | tee "$out/linear_bench.log" || rc=1
fi
exit $rc
RUN
chmod +x "$dest/run.sh"
du -sh "$dest" >&2
echo "run on the GPU machine: cd ${dest#$repo/} && ./run.sh [gemv|linear|all]"
