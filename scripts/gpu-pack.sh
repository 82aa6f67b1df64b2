#!/usr/bin/env bash
# Packs what the GPU benchmark run needs into one folder and prints the
# command to run there (the device machine has no MLIR/LLVM, so kernels are
# generated and assembled here).
#
#   scripts/gpu-pack.sh [DEST] [BUILD_DIR]
#     DEST       default: <repo>/.carry/gpu
#     BUILD_DIR  default: <repo>/build (must contain bin/kiln-kernelgen)
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
mkdir -p "$dest"
echo "gpu-pack: generating ${#specs[@]} kernels for $arch into $dest" >&2
"$gen" "${specs[@]}" --gpu-arch="$arch" --emit=ptx -o "$dest/gemv.ptx"
"$gen" "${specs[@]}" --gpu-arch="$arch" --emit=cubin -o "$dest/gemv.cubin" \
  --manifest="$dest/gemv.json"
cp "$repo/bench/gemv_bench.py" "$dest/"
cat > "$dest/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs on the GPU machine from this folder; results go to ${OUT:-./out}.
set -uo pipefail
cd "$(dirname "$0")"
out=${OUT:-$PWD/out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv | tee "$out/nvidia-smi.csv"
PYTHONUNBUFFERED=1 python3 gemv_bench.py --cubin gemv.cubin --manifest gemv.json --out "$out" 2>&1 | tee "$out/gemv_bench.log"
RUN
chmod +x "$dest/run.sh"
du -sh "$dest" >&2
echo "run on the GPU machine: cd ${dest#$repo/} && ./run.sh"
