// RUN: kiln-opt %s --kiln-cuda-library-linear | FileCheck %s
// RUN: kiln-opt %s --kiln-cuda-library-linear -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOTE
// RUN: kiln-opt %s --kiln-cuda-library-linear=f32-weights=true | FileCheck %s --check-prefix=F32

// Which kiln.linear layers run on generated GEMV kernels (kernels/), and the
// one remark naming each layer that keeps the generic kernels and why.
// NOTE: remark: kiln-cuda-library-linear: 5 of 9 linear layers run on library kernels (f16 activations; 1 exact f32); generic kernels for
// NOTE-SAME: M = 32 needs the GEMM kernel, which refuses: N = 8 must be a multiple of the block N 64 (pick another block tile): batch32 (Gemm), batch32_again (Gemm);
// NOTE-SAME: zero points (the kernel is symmetric only): asymmetric (Gemm);
// NOTE-SAME: group size 16 must divide K = 64 and be a multiple of 32: group16 (Gemm){{$}}

// CHECK: module attributes {gpu.container_module}

// int4, groups of 32 along K, M = 1: activations cast to f16 and copied into
// a buffer the kernel reads as vectors; weight bytes are the payload itself.
// CHECK-LABEL: func.func @int4_group32
// CHECK: %[[XH:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x64xf32>) outs(%{{.*}} : tensor<1x64xf16>)
// CHECK: arith.truncf
// CHECK: %[[XBUF:.*]] = memref.alloc() : memref<128xi8>
// CHECK: %[[XV:.*]] = memref.view %[[XBUF]][%{{.*}}][] : memref<128xi8> to memref<1x64xf16>
// CHECK: %[[XVEC:.*]] = memref.view %[[XBUF]][%{{.*}}][] : memref<128xi8> to memref<1x8xvector<8xf16>>
// CHECK: bufferization.materialize_in_destination %[[XH]] in restrict writable %[[XV]]
// CHECK: %[[WB:.*]] = memref.get_global @kiln_library_weight : memref<256xi8>
// CHECK: %[[W:.*]] = memref.view %[[WB]][%{{.*}}][] : memref<256xi8> to memref<8x2xvector<4xi32>>
// CHECK: %[[S:.*]] = memref.get_global @kiln_library_scales : memref<8x2xf16>
// CHECK: %[[YBUF:.*]] = memref.alloc() : memref<16xi8>
// CHECK: %[[YH:.*]] = memref.view %[[YBUF]][%{{.*}}][] : memref<16xi8> to memref<1x8xf16>
// CHECK: %[[Y:.*]] = memref.view %[[YBUF]][%{{.*}}][] : memref<16xi8> to memref<1x8xf16>
// M = 1 and a small weight: K split over 2 warps of an 8-warp block.
// CHECK: gpu.launch_func @kiln_library_kernels::@[[INT4:gemv_int4_g32_m1_n8_k64_r2u[0-9]+w8s2]] blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) args(%[[XVEC]] : memref<1x8xvector<8xf16>>, %[[W]] : memref<8x2xvector<4xi32>>, %[[S]] : memref<8x2xf16>, %[[Y]] : memref<1x8xf16>)
// CHECK: %[[YT:.*]] = bufferization.to_tensor %[[YH]] restrict : memref<1x8xf16> to tensor<1x8xf16>
// CHECK: %[[OUT:.*]] = linalg.generic {{.*}} ins(%[[YT]], %arg1 : tensor<1x8xf16>, tensor<8xf32>) outs(%{{.*}} : tensor<1x8xf32>)
// CHECK: arith.extf
// CHECK: arith.addf
// CHECK: return %[[OUT]]
func.func @int4_group32(%x: tensor<1x64xf32>, %b: tensor<8xf32>) -> tensor<1x8xf32> {
  %w = kiln.weight payload(dense<18> : tensor<256xi8>) scales(dense<0.5> : tensor<8x2xf32>)
      : !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 32>>
  %y = kiln.linear %x, %w bias %b : (tensor<1x64xf32>, !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 32>>, tensor<8xf32>) -> tensor<1x8xf32> loc(#int4)
  return %y : tensor<1x8xf32>
}

// int8 per output channel, M = 2 x 4 = 8: the tensor-core GEMV, K split over
// the 8 warps of a block (256 threads); the [2, 4, K] input is collapsed to
// [8, K] and the result expanded.
// CHECK-LABEL: func.func @int8_channel
// CHECK: tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]] : tensor<2x4x64xf32> into tensor<8x64xf32>
// CHECK: memref.get_global @kiln_library_scales_{{[0-9]+}} : memref<8x1xf16>
// CHECK: gpu.launch_func @kiln_library_kernels::@[[INT8:gemv_tc_int8_g64_m8_n8_k64_r8u4w8s8]] blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [2, 4, 8] : tensor<8x8xf32> into tensor<2x4x8xf32>
func.func @int8_channel(%x: tensor<2x4x64xf32>) -> tensor<2x4x8xf32> {
  %w = kiln.weight payload(dense<-3> : tensor<512xi8>) scales(dense<0.25> : tensor<8xf32>)
      : !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>
  %y = kiln.linear %x, %w : (tensor<2x4x64xf32>, !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>) -> tensor<2x4x8xf32> loc(#int8)
  return %y : tensor<2x4x8xf32>
}

// M = 32 > 16: the tensor-core GEMM (kernels/Gemm.h) with its launch shape,
// dynamic shared memory included; it writes y as f16 pairs.
// CHECK-LABEL: func.func @gemm_int8
// CHECK: memref.get_global @kiln_library_scales
// CHECK: %[[YB:.*]] = memref.alloc() : memref<4096xi8>
// CHECK: %[[YG:.*]] = memref.view %[[YB]][%{{.*}}][] : memref<4096xi8> to memref<32x32xvector<2xf16>>
// CHECK: gpu.launch_func @kiln_library_kernels::@[[GEMM:gemm_int8_g64_m32_n64_k64_[a-z0-9x]+]] blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c128{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c{{[0-9]+}}_i32 args(%{{.*}} : memref<32x64xf16>, %{{.*}} : memref<64x16xi32>, %{{.*}} : memref<64x1xf16>, %[[YG]] : memref<32x32xvector<2xf16>>)
func.func @gemm_int8(%x: tensor<4x8x64xf32>) -> tensor<4x8x64xf32> {
  %w = kiln.weight payload(dense<-3> : tensor<4096xi8>) scales(dense<0.25> : tensor<64xf32>)
      : !kiln.compressed<64x64xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>
  %y = kiln.linear %x, %w : (tensor<4x8x64xf32>, !kiln.compressed<64x64xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>) -> tensor<4x8x64xf32> loc(#gemm)
  return %y : tensor<4x8x64xf32>
}

// A dense f16 weight and f16 activations of rank 1: no input cast, the
// weight's f16 bytes as they are (1.0 = 0x3C00), no scales.
// CHECK-LABEL: func.func @dense_f16
// CHECK-NOT: arith.truncf
// CHECK: tensor.expand_shape %arg0 {{\[}}[0, 1]] output_shape [1, 16] : tensor<16xf16> into tensor<1x16xf16>
// CHECK: gpu.launch_func @kiln_library_kernels::@gemv_f16_m1_n8_k16_{{[a-z0-9]+}} blocks
// CHECK-SAME: args(%{{.*}} : memref<1x2xvector<8xf16>>, %{{.*}} : memref<8x2xvector<8xf16>>, %{{.*}} : memref<1x8xf16>)
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1]] : tensor<1x8xf16> into tensor<8xf16>
func.func @dense_f16(%x: tensor<16xf16>) -> tensor<8xf16> {
  %w = arith.constant dense<1.0> : tensor<8x16xf16>
  %y = kiln.linear %x, %w : (tensor<16xf16>, tensor<8x16xf16>) -> tensor<8xf16> loc(#f16)
  return %y : tensor<8xf16>
}

// Fallbacks keep their kiln.linear.
// CHECK-LABEL: func.func @batch32
// CHECK: kiln.linear
func.func @batch32(%x: tensor<32x64xf32>) -> tensor<32x8xf32> {
  %w = kiln.weight payload(dense<18> : tensor<256xi8>) scales(dense<0.5> : tensor<8x2xf32>)
      : !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 32>>
  %y = kiln.linear %x, %w : (tensor<32x64xf32>, !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 32>>) -> tensor<32x8xf32> loc(#batch32)
  return %y : tensor<32x8xf32>
}

// A second layer with the same reason joins the first in the remark.
// CHECK-LABEL: func.func @batch32_again
// CHECK: kiln.linear
func.func @batch32_again(%x: tensor<32x32xf16>) -> tensor<32x8xf16> {
  %w = arith.constant dense<1.0> : tensor<8x32xf16>
  %y = kiln.linear %x, %w : (tensor<32x32xf16>, tensor<8x32xf16>) -> tensor<32x8xf16> loc(#batch32_again)
  return %y : tensor<32x8xf16>
}

// CHECK-LABEL: func.func @asymmetric
// CHECK: kiln.linear
func.func @asymmetric(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = kiln.weight payload(dense<18> : tensor<256xi8>) scales(dense<0.5> : tensor<8x2xf32>) zero_points(dense<8> : tensor<8x2xui8>)
      : !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = ui4, granularity = per_group, axis = 1, group_size = 32, symmetric = false, zero_point_type = ui8>>
  %y = kiln.linear %x, %w : (tensor<1x64xf32>, !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = ui4, granularity = per_group, axis = 1, group_size = 32, symmetric = false, zero_point_type = ui8>>) -> tensor<1x8xf32> loc(#asymmetric)
  return %y : tensor<1x8xf32>
}

// CHECK-LABEL: func.func @group16
// CHECK: kiln.linear
func.func @group16(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = kiln.weight payload(dense<18> : tensor<256xi8>) scales(dense<0.5> : tensor<8x4xf32>)
      : !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 16>>
  %y = kiln.linear %x, %w : (tensor<1x64xf32>, !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 16>>) -> tensor<1x8xf32> loc(#group16)
  return %y : tensor<1x8xf32>
}

// f32 weights stay exact unless asked: the f32 SIMT GEMM (library-linear-f32.mlir
// has its cases); with f32-weights=true they are rounded to f16 (1.5 = 0x3E00).
// CHECK-LABEL: func.func @dense_f32
// CHECK: gpu.launch_func @kiln_library_kernels::@sgemv_f32_m1_n8_k32_
// F32-LABEL: func.func @dense_f32
// F32: gpu.launch_func @kiln_library_kernels::@gemv_f16_m1_n8_k32_
func.func @dense_f32(%x: tensor<1x32xf32>) -> tensor<1x8xf32> {
  %w = arith.constant dense<1.5> : tensor<8x32xf32>
  %y = kiln.linear %x, %w : (tensor<1x32xf32>, tensor<8x32xf32>) -> tensor<1x8xf32> loc(#f32)
  return %y : tensor<1x8xf32>
}

// The kernels, one per shape, in their own gpu.module.
// CHECK: gpu.module @kiln_library_kernels
// CHECK: gpu.func @[[INT4]](%{{.*}}: memref<1x8xvector<8xf16>>
// CHECK-SAME: kernel
// CHECK: gpu.func @[[INT8]](
// CHECK: gpu.func @[[GEMM]](
// CHECK: gpu.func @gemv_f16_m1_n8_k16_
// CHECK: kiln_library.int4 (Gemm).weight{{"?}}: "0x{{[0-9A-F]+}}1212121212121212
// CHECK: kiln_library.f16 (Gemm).weight{{"?}}: "0x{{[0-9A-F]+}}003C003C003C003C
// F32: kiln_library.dense_f32 (Gemm).weight{{"?}}: "0x{{[0-9A-F]+}}003E003E003E003E

#int4 = loc("int4 (Gemm)"("m.onnx":0:0))
#int8 = loc("int8 (Gemm)"("m.onnx":0:0))
#f16 = loc("f16 (Gemm)"("m.onnx":0:0))
#gemm = loc("gemm (Gemm)"("m.onnx":0:0))
#f32 = loc("dense_f32 (Gemm)"("m.onnx":0:0))
#batch32 = loc("batch32 (Gemm)"("m.onnx":0:0))
#batch32_again = loc("batch32_again (Gemm)"("m.onnx":0:0))
#asymmetric = loc("asymmetric (Gemm)"("m.onnx":0:0))
#group16 = loc("group16 (Gemm)"("m.onnx":0:0))
