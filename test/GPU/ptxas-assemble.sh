#!/usr/bin/env bash
# Every kernel shape the generators produce must assemble with ptxas for each
# architecture we ship (sm_80, sm_90a): both methods, all formats, batches
# 1..16, K tails (11008), odd batch sizes and per-channel scales.
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
for arch in sm_80 sm_90a; do
  "$gen" "${specs[@]}" --gpu-arch=$arch --emit=cubin -o "$work/$arch.cubin" \
    --manifest="$work/$arch.json"
  test -s "$work/$arch.cubin"
  n=$(grep -c '"name"' "$work/$arch.json")
  echo "ptxas-assemble: $n kernels assembled for $arch"
  [[ $n -eq ${#specs[@]} ]]
done
