// RUN: kiln-opt %s --kiln-cuda-library-linear | FileCheck %s
// RUN: kiln-opt %s --kiln-cuda-library-linear -o /dev/null 2>&1 | count 0
// RUN: kiln-opt %s --kiln-cuda-library-linear=f32-gemm=false -o /dev/null 2>&1 | FileCheck %s --check-prefix=OFF

// Dense f32 weights with f32 activations run on the exact f32 kernels at any
// M (kernels/F32Gemv.h for M <= 8 with K % 4 == 0, else kernels/SimtGemm.h): nothing is cast to f16, the weight bytes are
// the f32 values, and the bias stays in the f32 epilogue that later fuses
// with the following elementwise ops. Every layer is routed: no remark;
// f32-gemm=false keeps the generic kernels and says so.
// OFF: remark: kiln-cuda-library-linear: 0 of 6 linear layers run on library kernels (f16 activations); generic kernels for f32 weights (f32-gemm=false): prefill (Gemm), odd (Gemm), wide (Gemm), tall (Gemm), decode (Gemm), decode_odd (Gemm){{$}}

// M = 2 x 150 = 300: too few blocks for the large tiles, so 64x64 tiles of
// 4x4 per thread (256 threads), 5 M tiles x 2 N tiles; 16-byte vectors for
// x, W and y (K, N multiples of 4); 2 x 16 x (64 + 64) f32 of
// double-buffered shared memory.
// CHECK-LABEL: func.func @prefill
// CHECK-NOT: arith.truncf
// CHECK: tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]] : tensor<2x150x64xf32> into tensor<300x64xf32>
// CHECK: %[[XBUF:.*]] = memref.alloc() : memref<76800xi8>
// CHECK: %[[XV:.*]] = memref.view %[[XBUF]][%{{.*}}][] : memref<76800xi8> to memref<300x64xf32>
// CHECK: %[[XVEC:.*]] = memref.view %[[XBUF]][%{{.*}}][] : memref<76800xi8> to memref<300x16xvector<4xf32>>
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[XV]]
// CHECK: %[[WB:.*]] = memref.get_global @kiln_library_weight : memref<24576xi8>
// CHECK: %[[W:.*]] = memref.view %[[WB]][%{{.*}}][] : memref<24576xi8> to memref<96x16xvector<4xf32>>
// CHECK: %[[YBUF:.*]] = memref.alloc() : memref<115200xi8>
// CHECK: %[[YF:.*]] = memref.view %[[YBUF]][%{{.*}}][] : memref<115200xi8> to memref<300x96xf32>
// CHECK: %[[Y:.*]] = memref.view %[[YBUF]][%{{.*}}][] : memref<115200xi8> to memref<300x24xvector<4xf32>>
// CHECK: gpu.launch_func @kiln_library_kernels::@[[PREFILL:sgemm_f32_m300_n96_k64_b64x64x16t4x4]] blocks in (%c2{{.*}}, %c5{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c16384_i32 args(%[[XVEC]] : memref<300x16xvector<4xf32>>, %[[W]] : memref<96x16xvector<4xf32>>, %[[Y]] : memref<300x24xvector<4xf32>>)
// CHECK: %[[YT:.*]] = bufferization.to_tensor %[[YF]] restrict : memref<300x96xf32> to tensor<300x96xf32>
// CHECK: linalg.generic {{.*}} ins(%[[YT]], %arg1 : tensor<300x96xf32>, tensor<96xf32>) outs(%{{.*}} : tensor<300x96xf32>)
// CHECK-NEXT: ^bb0(%[[P:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[P]], %[[B]] : f32
// CHECK-NEXT: linalg.yield %[[S]] : f32
// CHECK: tensor.expand_shape
func.func @prefill(%x: tensor<2x150x64xf32>, %b: tensor<96xf32>) -> tensor<2x150x96xf32> {
  %w = arith.constant dense<0.25> : tensor<96x64xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<2x150x64xf32>, tensor<96x64xf32>, tensor<96xf32>) -> tensor<2x150x96xf32> loc(#prefill)
  return %y : tensor<2x150x96xf32>
}

// K = 30 and N = 10 are not multiples of 4: scalar f32 operands (the
// kernel guards the K and N tails); M = 20: 64x64 tiles of 4x4.
// CHECK-LABEL: func.func @odd
// CHECK: gpu.launch_func @kiln_library_kernels::@[[ODD:sgemm_f32_m20_n10_k30_b64x64x16t4x4]] blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c16384_i32 args(%{{.*}} : memref<20x30xf32>, %{{.*}} : memref<10x30xf32>, %{{.*}} : memref<20x10xf32>)
func.func @odd(%x: tensor<20x30xf32>) -> tensor<20x10xf32> {
  %w = arith.constant dense<-1.0> : tensor<10x30xf32>
  %y = kiln.linear %x, %w : (tensor<20x30xf32>, tensor<10x30xf32>) -> tensor<20x10xf32> loc(#odd)
  return %y : tensor<20x10xf32>
}

// Large M: the largest tile that still makes a full wave of 256 blocks:
// 128x128 of 8x8 (16 x 16 blocks) for N = 2048, 128x64 of 8x8 (128 threads)
// for N = 1024.
// CHECK-LABEL: func.func @wide
// CHECK: gpu.launch_func @kiln_library_kernels::@sgemm_f32_m2048_n2048_k4_b128x128x8t8x8 blocks in (%c16{{.*}}, %c16{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c16384_i32
// CHECK: gpu.launch_func @kiln_library_kernels::@sgemm_f32_m2048_n1024_k4_b128x64x8t8x8 blocks in (%c16{{.*}}, %c16{{.*}}, %c1{{.*}}) threads in (%c128{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c12288_i32
func.func @wide(%x: tensor<2048x4xf32>) -> (tensor<2048x2048xf32>, tensor<2048x1024xf32>) {
  %w = arith.constant dense<0.5> : tensor<2048x4xf32>
  %y = kiln.linear %x, %w : (tensor<2048x4xf32>, tensor<2048x4xf32>) -> tensor<2048x2048xf32> loc(#wide)
  %w2 = arith.constant dense<0.5> : tensor<1024x4xf32>
  %y2 = kiln.linear %x, %w2 : (tensor<2048x4xf32>, tensor<1024x4xf32>) -> tensor<2048x1024xf32> loc(#tall)
  return %y, %y2 : tensor<2048x2048xf32>, tensor<2048x1024xf32>
}

// M = 2 (rank 1 counts as one row; here 2 x 1): the warp-per-column GEMV
// (a column per warp, 8 warps per block: 2 blocks for N = 12), x and W as
// 16-byte vectors, no shared memory.
// CHECK-LABEL: func.func @decode
// CHECK: gpu.launch_func @kiln_library_kernels::@[[DECODE:sgemv_f32_m2_n12_k64_r1w8u1]] blocks in (%c2{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) args(%{{.*}} : memref<2x16xvector<4xf32>>, %{{.*}} : memref<12x16xvector<4xf32>>, %{{.*}} : memref<2x12xf32>)
func.func @decode(%x: tensor<2x1x64xf32>, %b: tensor<12xf32>) -> tensor<2x1x12xf32> {
  %w = arith.constant dense<0.5> : tensor<12x64xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<2x1x64xf32>, tensor<12x64xf32>, tensor<12xf32>) -> tensor<2x1x12xf32> loc(#decode)
  return %y : tensor<2x1x12xf32>
}

// M = 1 but K = 30 is no multiple of 4: the GEMM with its decode tiling.
// CHECK-LABEL: func.func @decode_odd
// CHECK: gpu.launch_func @kiln_library_kernels::@sgemm_f32_m1_n16_k30_b16x32x32t4x4 blocks
func.func @decode_odd(%x: tensor<30xf32>) -> tensor<16xf32> {
  %w = arith.constant dense<0.5> : tensor<16x30xf32>
  %y = kiln.linear %x, %w : (tensor<30xf32>, tensor<16x30xf32>) -> tensor<16xf32> loc(#decode_odd)
  return %y : tensor<16xf32>
}

// The kernels: f32 operands, one K loop of FMAs on 16-byte shared vectors.
// CHECK: gpu.module @kiln_library_kernels
// CHECK: gpu.func @[[PREFILL]](%{{.*}}: memref<300x16xvector<4xf32>> {llvm.noalias}, %{{.*}}: memref<96x16xvector<4xf32>> {llvm.noalias}, %{{.*}}: memref<300x24xvector<4xf32>> {llvm.noalias}) kernel
// CHECK: scf.for
// CHECK: memref.load %{{.*}} : memref<2x16x16xvector<4xf32>, #gpu.address_space<workgroup>>
// CHECK: vector.fma %{{.*}} : vector<4xf32>
// CHECK: gpu.barrier
// CHECK: gpu.func @[[ODD]](%{{.*}}: memref<20x30xf32> {llvm.noalias}, %{{.*}}: memref<10x30xf32> {llvm.noalias}, %{{.*}}: memref<20x10xf32> {llvm.noalias}) kernel
// CHECK: gpu.func @[[DECODE]](%{{.*}}: memref<2x16xvector<4xf32>> {llvm.noalias}, %{{.*}}: memref<12x16xvector<4xf32>> {llvm.noalias}, %{{.*}}: memref<2x12xf32> {llvm.noalias}) kernel
// CHECK: vector.fma %{{.*}} : vector<4xf32>
// CHECK: vector.reduction <add>
// CHECK: gpu.shuffle xor
// CHECK: kiln_library.prefill (Gemm).weight{{"?}}: "0x{{[0-9A-F]+}}0000803E0000803E

#prefill = loc("prefill (Gemm)"("m.onnx":0:0))
#odd = loc("odd (Gemm)"("m.onnx":0:0))
#decode = loc("decode (Gemm)"("m.onnx":0:0))
#wide = loc("wide (Gemm)"("m.onnx":0:0))
#tall = loc("tall (Gemm)"("m.onnx":0:0))
#decode_odd = loc("decode_odd (Gemm)"("m.onnx":0:0))
