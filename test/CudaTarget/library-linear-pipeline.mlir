// RUN: kiln-opt %s --kiln-cuda-lowering | FileCheck %s

// The whole CUDA lowering with a routed linear: one kernel casts the input
// to f16 straight into the buffer the GEMV reads as vectors (the copy into
// it became a loop nest and fused with the cast), then the library kernel
// on the packed weight and f16 scales, then the epilogue kernel (bias, to
// f32); the library kernel ends up in the one gpu.module with the generic
// ones.
// CHECK-LABEL: func.func @kiln_model_entry
// CHECK: %[[XBUF:.*]] = memref.alloc() : memref<256xi8>
// CHECK: %[[XV:.*]] = memref.view %[[XBUF]]{{.*}} to memref<2x64xf16>
// CHECK: %[[XVEC:.*]] = memref.view %[[XBUF]]{{.*}} to memref<2x8xvector<8xf16>>
// CHECK: gpu.launch_func @[[MOD:[a-z_]+]]::@{{.*}} args({{.*}}%arg0 : memref<2x64xf32>, {{.*}}%[[XV]] : memref<2x64xf16>)
// CHECK: memref.get_global @kiln_library_weight : memref<256xi8>
// CHECK: memref.get_global @kiln_library_scales : memref<8x2xf16>
// CHECK: %[[YBUF:.*]] = memref.alloc() : memref<32xi8>
// CHECK: %[[Y:.*]] = memref.view %[[YBUF]]{{.*}} to memref<2x8xf16>
// CHECK: gpu.launch_func @[[MOD]]::@gemv_int4_g32_m2_n8_k64_{{[a-z0-9]+}} {{.*}} args(%[[XVEC]] : {{.*}}, %[[Y]] : memref<2x8xf16>)
// CHECK: gpu.launch_func @[[MOD]]::@{{.*}} args({{.*}}%[[Y]] : memref<2x8xf16>, %arg1 : memref<8xf32>, %arg2 : memref<2x8xf32>)
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.module @[[MOD]]
// CHECK: gpu.func @gemv_int4_g32_m2_n8_k64_
// CHECK-NOT: gpu.module
func.func @main(%x: tensor<2x64xf32> {kiln.name = "x"}, %b: tensor<8xf32> {kiln.name = "b"}) -> (tensor<2x8xf32> {kiln.name = "y"}) {
  %w = kiln.weight payload(dense<18> : tensor<256xi8>) scales(dense<0.5> : tensor<8x2xf32>)
      : !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 32>>
  %y = kiln.linear %x, %w bias %b : (tensor<2x64xf32>, !kiln.compressed<8x64xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 32>>, tensor<8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
