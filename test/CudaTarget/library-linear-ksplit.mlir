// RUN: kiln-opt %s --kiln-cuda-library-linear | FileCheck %s

// Which warp K split the M <= 2 SIMT GEMVs get (LibraryLinearPlan.cpp,
// simtKSplit, from the H100 measurements in bench/NOTES.md): f16 splits K
// over all 8 warps of a block, int4 over 2 of 8 (at most 4096x11008
// weights), int8 keeps the unsplit default (below 4096x11008 weights); a
// split the shape does not allow falls back to the default tiling.

// CHECK-LABEL: func.func @f16_split8
// CHECK: gpu.launch_func @kiln_library_kernels::@gemv_f16_m1_n64_k256_r2u8w8s8 blocks in (%c32{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})
func.func @f16_split8(%x: tensor<1x256xf16>) -> tensor<1x64xf16> {
  %w = arith.constant dense<1.0> : tensor<64x256xf16>
  %y = kiln.linear %x, %w : (tensor<1x256xf16>, tensor<64x256xf16>) -> tensor<1x64xf16>
  return %y : tensor<1x64xf16>
}

// M = 2 too (the rows per warp default stays 2).
// CHECK-LABEL: func.func @int4_split2
// CHECK: gpu.launch_func @kiln_library_kernels::@gemv_int4_g128_m2_n64_k256_r2u8w8s2 blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})
func.func @int4_split2(%x: tensor<2x256xf32>) -> tensor<2x64xf32> {
  %w = kiln.weight payload(dense<18> : tensor<8192xi8>) scales(dense<0.5> : tensor<64x2xf32>)
      : !kiln.compressed<64x256xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 128>>
  %y = kiln.linear %x, %w : (tensor<2x256xf32>, !kiln.compressed<64x256xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 128>>) -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// CHECK-LABEL: func.func @int8_unsplit
// CHECK: gpu.launch_func @kiln_library_kernels::@gemv_int8_g256_m1_n64_k256_r2u8w4 blocks
func.func @int8_unsplit(%x: tensor<1x256xf32>) -> tensor<1x64xf32> {
  %w = kiln.weight payload(dense<-3> : tensor<16384xi8>) scales(dense<0.25> : tensor<64xf32>)
      : !kiln.compressed<64x256xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>
  %y = kiln.linear %x, %w : (tensor<1x256xf32>, !kiln.compressed<64x256xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// M = 4: no split. And K = 200 has 25 f16 chunks per row, which 8 warps
// cannot share evenly: the f16 default instead.
// CHECK-LABEL: func.func @no_split_m4
// CHECK: gpu.launch_func @kiln_library_kernels::@gemv_f16_m4_n64_k256_r4u2w4 blocks
// CHECK-LABEL: func.func @f16_chunks_not_divisible
// CHECK: gpu.launch_func @kiln_library_kernels::@gemv_f16_m1_n64_k200_r2u8w4 blocks
func.func @no_split_m4(%x: tensor<4x256xf16>) -> tensor<4x64xf16> {
  %w = arith.constant dense<1.0> : tensor<64x256xf16>
  %y = kiln.linear %x, %w : (tensor<4x256xf16>, tensor<64x256xf16>) -> tensor<4x64xf16>
  return %y : tensor<4x64xf16>
}
func.func @f16_chunks_not_divisible(%x: tensor<1x200xf16>) -> tensor<1x64xf16> {
  %w = arith.constant dense<1.0> : tensor<64x200xf16>
  %y = kiln.linear %x, %w : (tensor<1x200xf16>, tensor<64x200xf16>) -> tensor<1x64xf16>
  return %y : tensor<1x64xf16>
}
