#!/usr/bin/env bash
# Every kernel shape the generators produce must assemble with ptxas for each
# architecture we ship (sm_80, sm_90a): both GEMV methods and the GEMM, all
# formats, batches 1..2048, K tails (11008), odd batch sizes and per-channel
# scales; both fused attention kernels; the sm_90a-only wgmma GEMM.
# Usage: ptxas-assemble.sh KILN_KERNELGEN PTXAS
set -euo pipefail
gen=$1
export KILN_PTXAS=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
specs=()
for fmt in f16 int8:g0 int8:g128 int4:g128 int4:g64; do
  f=${fmt%%:*}; g=${fmt#$f}
  for m in 1 5 16; do
    specs+=(--kernel="$f:m$m:n4096:k11008$g" --kernel="$f:m$m:n11008:k4096$g:r1:u8")
    [[ $g == :g64 ]] && continue  # below the tensor-core K block of 128
    specs+=(--kernel="$f:tc:m$m:n4096:k4096$g" --kernel="$f:tc:m$m:n11008:k2048$g:r8:u8")
    specs+=(--kernel="$f:tc:m$m:n4096:k11008$g:r32:u2:w8:s8")
    if [[ $m -eq 1 ]]; then  # persistent, pipelined SIMT grids
      specs+=(--kernel="$f:m1:n4096:k11008$g:r1:p264" --kernel="$f:m1:n11008:k4096$g:r2:p396")
    fi
  done
done
# Tensor-core GEMMs: default tilings at small and large M, M tails, the bias
# epilogue, 32- and 64-deep K tiles, 8-warp and 4-warp blocks.
for fmt in f16 int8:g0 int4:g128; do
  f=${fmt%%:*}; g=${fmt#$f}
  specs+=(--kernel="gemm:$f:m2048:n4096:k11008$g" --kernel="gemm:$f:m130:n11008:k4096$g:bias")
  specs+=(--kernel="gemm:$f:m17:n4096:k4096$g:t128x128x32:w2x4:s4")
  specs+=(--kernel="gemm:$f:m2048:n4096:k4096$g:t256x128x32:w4x2:s3:bias")
done
# Fused attention: f32 and f16, head dims 16 / 64 / 128 / 256, partial
# query and key tiles, masks of each broadcast, causal, strided operands.
specs+=(--kernel="attention:f32:b=1:h=4:q=16:k=16:d=16:v=16:scale=0.25:mask=1x16x4")
specs+=(--kernel="attention:f16:b=2:h=12:q=100:k=77:d=64:v=64:scale=0.125:causal:mask=2x1x12")
specs+=(--kernel="attention:f16:b=1:h=8:q=512:k=512:d=128:v=128:causal")
specs+=(--kernel="attention:f32:b=3:h=2:q=9:k=33:d=256:v=256:w=2:r=2:mask=6x9x1")
specs+=(--kernel="attention:f32:b=1:h=4:q=16:k=16:d=16:v=16:qs=0x16x192x1:ks=0x16x192x1:vs=0x16x192x1:ko=64:vo=128:qe=3072:ke=3072:ve=3072")
# Tensor-core attention (f16, head dims 16..128): causal grouped K/V, a
# per-row mask with partial tiles, 8 warps, Q/K/V slices of one fused QKV
# projection, and the SIMT kernel forced at a tensor-core shape.
specs+=(--kernel="attention:f16:b=1:h=16:q=2048:k=2048:d=64:v=64:causal:g=4")
specs+=(--kernel="attention:f16:b=2:h=4:q=100:k=77:d=128:v=64:causal:mask=2x100x4:g=2")
specs+=(--kernel="attention:f16:b=1:h=8:q=1000:k=1000:d=128:v=128:w=8")
specs+=(--kernel="attention:f16:b=3:h=2:q=40:k=77:d=16:v=32:mask=6x1x1")
specs+=(--kernel="attention:f16:b=2:h=4:q=128:k=128:d=64:v=64:qs=98304x64x768x1:ks=98304x64x768x1:vs=98304x64x768x1:ko=256:vo=512:qe=196608:ke=196608:ve=196608")
specs+=(--kernel="attention:f16:b=1:h=16:q=2048:k=2048:d=64:v=64:causal:g=4:simt")
for arch in sm_80 sm_90a; do
  "$gen" "${specs[@]}" --gpu-arch=$arch --emit=cubin -o "$work/$arch.cubin" \
    --manifest="$work/$arch.json"
  test -s "$work/$arch.cubin"
  n=$(grep -c '"name"' "$work/$arch.json")
  echo "ptxas-assemble: $n kernels assembled for $arch"
  [[ $n -eq ${#specs[@]} ]]
done
# Hopper TMA + wgmma GEMMs: sm_90a only (the generator refuses other archs).
wgmma=()
for fmt in f16 int8:g0 int4:g128; do
  for tile in t128x256 t128x128:s3 t64x128:s8 t64x64:s4; do
    wgmma+=(--kernel="wgmma:$fmt:m2048:n4096:k11008:$tile")
    wgmma+=(--kernel="wgmma:$fmt:m130:n11008:k4096:$tile:bias")
  done
done
"$gen" "${wgmma[@]}" --gpu-arch=sm_90a --emit=cubin -o "$work/wgmma.cubin" \
  --manifest="$work/wgmma.json"
test -s "$work/wgmma.cubin"
n=$(grep -c '"name"' "$work/wgmma.json")
echo "ptxas-assemble: $n wgmma kernels assembled for sm_90a"
[[ $n -eq ${#wgmma[@]} ]]
