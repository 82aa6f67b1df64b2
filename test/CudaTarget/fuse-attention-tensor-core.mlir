// RUN: kiln-opt %s --kiln-cuda-fuse-attention=f16=true | FileCheck %s
// RUN: kiln-opt %s --kiln-cuda-fuse-attention=f16=true -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOTE
// RUN: kiln-opt %s --kiln-cuda-fuse-attention -o /dev/null 2>&1 | FileCheck %s --check-prefix=F32 --allow-empty --implicit-check-not=remark

// f16 attention sites run the tensor-core kernel (kernels/Attention.h) where
// it fits, the SIMT kernel otherwise; one remark says which and why. f32
// sites all run the SIMT kernel and say nothing.
// NOTE: remark: kiln-cuda-fuse-attention: 1 of 2 fused attention kernels run on tensor cores (mma.sync); the SIMT kernel for head dims other than 16, 32, 64 or 128: head_dim_24 (MatMul){{$}}

#qk_q = affine_map<(b, h, i, j, d) -> (b, h, i, d)>
#qk_k = affine_map<(b, h, i, j, d) -> (b, h, j, d)>
#qk_out = affine_map<(b, h, i, j, d) -> (b, h, i, j)>
#pv_p = affine_map<(b, h, i, e, j) -> (b, h, i, j)>
#pv_v = affine_map<(b, h, i, e, j) -> (b, h, j, e)>
#id4 = affine_map<(b, h, i, j) -> (b, h, i, j)>
#scalar4 = affine_map<(b, h, i, j) -> ()>
#row4 = affine_map<(b, h, i, j) -> (b, h, i, 0)>

// Head dim 64: the tensor-core kernel, one block of 4 warps x 16 rows per
// head; shared memory: Q 64 x 64 + 2 x (K 64 x 64 + V 64 x 64) f16.
// CHECK-LABEL: func.func @head_dim_64
// CHECK-DAG: %[[SHARED:.*]] = arith.constant 40960 : i32
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK: gpu.launch_func @kiln_library_kernels::@attention_f16_b1h2_q8k8_d64v64_s3e000000_tc_w4
// CHECK-SAME: blocks in (%[[C2]], %{{.*}}, %{{.*}}) threads in (%[[C128]], %{{.*}}, %{{.*}}) dynamic_shared_memory_size %[[SHARED]]
// CHECK-SAME: args(%{{.*}} : memref<1024xf16>, %{{.*}} : memref<1024xf16>, %{{.*}} : memref<1024xf16>, %{{.*}} : memref<1024xf16>)
func.func @head_dim_64(%q: tensor<1x2x8x64xf32>, %k: tensor<1x2x8x64xf32>, %v: tensor<1x2x8x64xf32>) -> tensor<1x2x8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x2x8x8xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x2x8x64xf32>, tensor<1x2x8x64xf32>) outs(%z0 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %ex0 = tensor.empty() : tensor<1x2x8x8xf32>
  %c0 = arith.constant dense<0.125> : tensor<f32>
  %x0 = linalg.generic {indexing_maps = [#id4, #scalar4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s, %c0 : tensor<1x2x8x8xf32>, tensor<f32>) outs(%ex0 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %e1 = tensor.empty() : tensor<1x2x8x1xf32>
  %lo = linalg.fill ins(%lowest : f32) outs(%e1 : tensor<1x2x8x1xf32>) -> tensor<1x2x8x1xf32>
  %max = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x0 : tensor<1x2x8x8xf32>) outs(%lo : tensor<1x2x8x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x1xf32>
  %e2 = tensor.empty() : tensor<1x2x8x8xf32>
  %sub = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x0, %max : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%e2 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %e3 = tensor.empty() : tensor<1x2x8x8xf32>
  %exp = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%sub : tensor<1x2x8x8xf32>) outs(%e3 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %e4 = tensor.empty() : tensor<1x2x8x1xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<1x2x8x1xf32>) -> tensor<1x2x8x1xf32>
  %sum = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%exp : tensor<1x2x8x8xf32>) outs(%z1 : tensor<1x2x8x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x1xf32>
  %e5 = tensor.empty() : tensor<1x2x8x8xf32>
  %p = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%exp, %sum : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%e5 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %e6 = tensor.empty() : tensor<1x2x8x64xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<1x2x8x64xf32>) -> tensor<1x2x8x64xf32>
  %out = linalg.generic {indexing_maps = [#pv_p, #pv_v, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<1x2x8x8xf32>, tensor<1x2x8x64xf32>) outs(%z2 : tensor<1x2x8x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x64xf32> loc(#head_dim_64)
  return %out : tensor<1x2x8x64xf32>
}

// Head dim 24: the SIMT kernel.
// CHECK-LABEL: func.func @head_dim_24
// CHECK: gpu.launch_func @kiln_library_kernels::@attention_f16_b1h2_q8k8_d24v24_s3e800000_w4r4
func.func @head_dim_24(%q: tensor<1x2x8x24xf32>, %k: tensor<1x2x8x24xf32>, %v: tensor<1x2x8x24xf32>) -> tensor<1x2x8x24xf32> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x2x8x8xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x2x8x24xf32>, tensor<1x2x8x24xf32>) outs(%z0 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %ex0 = tensor.empty() : tensor<1x2x8x8xf32>
  %c0 = arith.constant dense<0.25> : tensor<f32>
  %x0 = linalg.generic {indexing_maps = [#id4, #scalar4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s, %c0 : tensor<1x2x8x8xf32>, tensor<f32>) outs(%ex0 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %e1 = tensor.empty() : tensor<1x2x8x1xf32>
  %lo = linalg.fill ins(%lowest : f32) outs(%e1 : tensor<1x2x8x1xf32>) -> tensor<1x2x8x1xf32>
  %max = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x0 : tensor<1x2x8x8xf32>) outs(%lo : tensor<1x2x8x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x1xf32>
  %e2 = tensor.empty() : tensor<1x2x8x8xf32>
  %sub = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x0, %max : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%e2 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %e3 = tensor.empty() : tensor<1x2x8x8xf32>
  %exp = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%sub : tensor<1x2x8x8xf32>) outs(%e3 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %e4 = tensor.empty() : tensor<1x2x8x1xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<1x2x8x1xf32>) -> tensor<1x2x8x1xf32>
  %sum = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%exp : tensor<1x2x8x8xf32>) outs(%z1 : tensor<1x2x8x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x1xf32>
  %e5 = tensor.empty() : tensor<1x2x8x8xf32>
  %p = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%exp, %sum : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%e5 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %e6 = tensor.empty() : tensor<1x2x8x24xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<1x2x8x24xf32>) -> tensor<1x2x8x24xf32>
  %out = linalg.generic {indexing_maps = [#pv_p, #pv_v, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<1x2x8x8xf32>, tensor<1x2x8x24xf32>) outs(%z2 : tensor<1x2x8x24xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x24xf32> loc(#head_dim_24)
  return %out : tensor<1x2x8x24xf32>
}

// The kernel module: mma.sync, ldmatrix (transposed for V) and cp.async in
// the tensor-core kernel.
// CHECK: gpu.module @kiln_library_kernels
// CHECK: gpu.func @attention_f16_b1h2_q8k8_d64v64_s3e000000_tc_w4
// CHECK: nvgpu.device_async_copy
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.mma.sync
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK: gpu.func @attention_f16_b1h2_q8k8_d24v24_s3e800000_w4r4
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.return

// F32-NOT: remark

#head_dim_64 = loc("head_dim_64 (MatMul)"("m.onnx":0:0))
#head_dim_24 = loc("head_dim_24 (MatMul)"("m.onnx":0:0))
