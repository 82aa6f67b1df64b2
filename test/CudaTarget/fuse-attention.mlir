// RUN: kiln-opt %s --kiln-cuda-fuse-attention | FileCheck %s
// RUN: kiln-opt %s --kiln-cuda-fuse-attention -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOTE
// RUN: kiln-opt %s --kiln-cuda-fuse-attention=f16=true | FileCheck %s --check-prefix=F16

// Which attention chains (Q·Kᵀ, constant scale, mask, softmax over the last
// axis, ·V) become one launch of the generated flash-style kernel
// (kernels/Attention.h), and the one remark naming the attention sites that
// keep the generic kernels and why.
// NOTE: remark: kiln-cuda-fuse-attention: 5 of 9 attention sites run as one fused kernel; generic kernels for
// NOTE-SAME: the softmax or its intermediates have other users: probs_returned (MatMul);
// NOTE-SAME: the scores are scaled after the mask is added: mask_then_scale (MatMul);
// NOTE-SAME: an elementwise op other than a constant scale or a mask add between the scores and the softmax: runtime_scale (MatMul);
// NOTE-SAME: the mask is broadcast over the keys: mask_per_row (MatMul){{$}}

// CHECK: module attributes {gpu.container_module}

#qk_q = affine_map<(b, h, i, j, d) -> (b, h, i, d)>
#qk_kt = affine_map<(b, h, i, j, d) -> (b, h, d, j)>
#qk_k = affine_map<(b, h, i, j, d) -> (b, h, j, d)>
#qk_out = affine_map<(b, h, i, j, d) -> (b, h, i, j)>
#pv_p = affine_map<(b, h, i, e, j) -> (b, h, i, j)>
#pv_v = affine_map<(b, h, i, e, j) -> (b, h, j, e)>
#id4 = affine_map<(b, h, i, j) -> (b, h, i, j)>
#scalar4 = affine_map<(b, h, i, j) -> ()>
#row4 = affine_map<(b, h, i, j) -> (b, h, i, 0)>
#mask_shared = affine_map<(b, h, i, j) -> (0, 0, i, j)>
#mask_batch = affine_map<(b, h, i, j) -> (b, 0, 0, j)>
#mask_keys = affine_map<(b, h, i, j) -> (b, 0, i, 0)>

// gpt2 / llama (dynamo export): Q and V transposed [b, s, h, d] -> [b, h, s, d],
// K to [b, h, d, s], scaled by a scalar tensor, a [1, 1, s, s] mask added.
// The kernel reads the untransposed tensors' own buffers (no copy) with
// strides [b 1024, h 16, s 64, d 1]; the mask is shared by all 4 heads.
// CHECK-LABEL: func.func @gpt2_style
// CHECK-NOT: linalg.generic
// CHECK: %[[QF:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1, 2, 3]] : tensor<1x16x4x16xf32> into tensor<1024xf32>
// The buffers are taken right before the launch, after every tensor op.
// CHECK: %[[Q:.*]] = bufferization.to_buffer %[[QF]] read_only : tensor<1024xf32> to memref<1024xf32>
// CHECK: %[[K:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1024xf32> to memref<1024xf32>
// CHECK: %[[V:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1024xf32> to memref<1024xf32>
// CHECK: %[[M:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<256xf32> to memref<256xf32>
// CHECK: %[[O:.*]] = memref.alloc() : memref<1024xf32>
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[SHARED:.*]] = arith.constant 5248 : i32
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK: gpu.launch_func @kiln_library_kernels::@[[GPT2:attention_f32_b1h4_q16k16_d16v16_s3e800000_mask1x16d4_qs1024x16x64x1o0e1024_ks1024x16x64x1o0e1024_vs1024x16x64x1o0e1024_w4r4]]
// CHECK-SAME: blocks in (%[[C4]], %[[C1]], %[[C1]]) threads in (%[[C128]], %[[C1]], %[[C1]]) dynamic_shared_memory_size %[[SHARED]]
// CHECK-SAME: args(%[[Q]] : memref<1024xf32>, %[[K]] : memref<1024xf32>, %[[V]] : memref<1024xf32>, %[[M]] : memref<256xf32>, %[[O]] : memref<1024xf32>)
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[O]] restrict : memref<1024xf32> to tensor<1024xf32>
// CHECK: %[[R:.*]] = tensor.expand_shape %[[T]] {{\[\[}}0, 1, 2, 3]] output_shape [1, 4, 16, 16]
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @gpt2_style(%qs: tensor<1x16x4x16xf32>, %ks: tensor<1x16x4x16xf32>, %vs: tensor<1x16x4x16xf32>, %mask: tensor<1x1x16x16xf32>) -> tensor<1x4x16x16xf32> {
  %eq = tensor.empty() : tensor<1x4x16x16xf32>
  %q = linalg.transpose ins(%qs : tensor<1x16x4x16xf32>) outs(%eq : tensor<1x4x16x16xf32>) permutation = [0, 2, 1, 3]
  %ek = tensor.empty() : tensor<1x4x16x16xf32>
  %kt = linalg.transpose ins(%ks : tensor<1x16x4x16xf32>) outs(%ek : tensor<1x4x16x16xf32>) permutation = [0, 2, 3, 1]
  %ev = tensor.empty() : tensor<1x4x16x16xf32>
  %v = linalg.transpose ins(%vs : tensor<1x16x4x16xf32>) outs(%ev : tensor<1x4x16x16xf32>) permutation = [0, 2, 1, 3]
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x4x16x16xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x4x16x16xf32>) -> tensor<1x4x16x16xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_kt, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %kt : tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>) outs(%z0 : tensor<1x4x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x4x16x16xf32>
  %ex0 = tensor.empty() : tensor<1x4x16x16xf32>
  %c0 = arith.constant dense<0.25> : tensor<f32>
  %x0 = linalg.generic {indexing_maps = [#id4, #scalar4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s, %c0 : tensor<1x4x16x16xf32>, tensor<f32>) outs(%ex0 : tensor<1x4x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x4x16x16xf32>
  %ex1 = tensor.empty() : tensor<1x4x16x16xf32>
  %x1 = linalg.generic {indexing_maps = [#id4, #mask_shared, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x0, %mask : tensor<1x4x16x16xf32>, tensor<1x1x16x16xf32>) outs(%ex1 : tensor<1x4x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x4x16x16xf32>
  %e1 = tensor.empty() : tensor<1x4x16x1xf32>
  %lo = linalg.fill ins(%lowest : f32) outs(%e1 : tensor<1x4x16x1xf32>) -> tensor<1x4x16x1xf32>
  %max = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x1 : tensor<1x4x16x16xf32>) outs(%lo : tensor<1x4x16x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x16x1xf32>
  %e2 = tensor.empty() : tensor<1x4x16x16xf32>
  %sub = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x1, %max : tensor<1x4x16x16xf32>, tensor<1x4x16x1xf32>) outs(%e2 : tensor<1x4x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x4x16x16xf32>
  %e3 = tensor.empty() : tensor<1x4x16x16xf32>
  %exp = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%sub : tensor<1x4x16x16xf32>) outs(%e3 : tensor<1x4x16x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x16x16xf32>
  %e4 = tensor.empty() : tensor<1x4x16x1xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<1x4x16x1xf32>) -> tensor<1x4x16x1xf32>
  %sum = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%exp : tensor<1x4x16x16xf32>) outs(%z1 : tensor<1x4x16x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x16x1xf32>
  %e5 = tensor.empty() : tensor<1x4x16x16xf32>
  %p = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%exp, %sum : tensor<1x4x16x16xf32>, tensor<1x4x16x1xf32>) outs(%e5 : tensor<1x4x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x4x16x16xf32>
  %e6 = tensor.empty() : tensor<1x4x16x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<1x4x16x16xf32>) -> tensor<1x4x16x16xf32>
  %out = linalg.generic {indexing_maps = [#pv_p, #pv_v, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>) outs(%z2 : tensor<1x4x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x4x16x16xf32> loc(#gpt2_style)
  return %out : tensor<1x4x16x16xf32>
}

// gpt2's fused c_attn projection: Q, K and V are slices of one [s, 3·h·d]
// tensor, reshaped and transposed; the kernel reads that one buffer at
// offsets 0, 32 and 64 (strides [h 16, s 96, d 1]); the scale divides.
// CHECK-LABEL: func.func @qkv_slices
// CHECK: %[[QKV:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<768xf32> to memref<768xf32>
// CHECK-NOT: bufferization.to_buffer
// CHECK: gpu.launch_func @kiln_library_kernels::@[[SLICES:attention_f32_b1h2_q8k8_d16v16_s3e800000_qs0x16x96x1o0e768_ks0x16x96x1o32e768_vs0x16x96x1o64e768_w4r4]]
// CHECK-SAME: args(%[[QKV]] : memref<768xf32>, %[[QKV]] : memref<768xf32>, %[[QKV]] : memref<768xf32>, %{{.*}} : memref<256xf32>)
func.func @qkv_slices(%qkv: tensor<8x96xf32>) -> tensor<1x2x8x16xf32> {
  %qkv3 = tensor.expand_shape %qkv [[0, 1], [2]] output_shape [1, 8, 96] : tensor<8x96xf32> into tensor<1x8x96xf32>
  %qs3 = tensor.extract_slice %qkv3[0, 0, 0] [1, 8, 32] [1, 1, 1] : tensor<1x8x96xf32> to tensor<1x8x32xf32>
  %qs = tensor.expand_shape %qs3 [[0], [1], [2, 3]] output_shape [1, 8, 2, 16] : tensor<1x8x32xf32> into tensor<1x8x2x16xf32>
  %ks3 = tensor.extract_slice %qkv3[0, 0, 32] [1, 8, 32] [1, 1, 1] : tensor<1x8x96xf32> to tensor<1x8x32xf32>
  %ks = tensor.expand_shape %ks3 [[0], [1], [2, 3]] output_shape [1, 8, 2, 16] : tensor<1x8x32xf32> into tensor<1x8x2x16xf32>
  %vs3 = tensor.extract_slice %qkv3[0, 0, 64] [1, 8, 32] [1, 1, 1] : tensor<1x8x96xf32> to tensor<1x8x32xf32>
  %vs = tensor.expand_shape %vs3 [[0], [1], [2, 3]] output_shape [1, 8, 2, 16] : tensor<1x8x32xf32> into tensor<1x8x2x16xf32>
  %eq = tensor.empty() : tensor<1x2x8x16xf32>
  %q = linalg.transpose ins(%qs : tensor<1x8x2x16xf32>) outs(%eq : tensor<1x2x8x16xf32>) permutation = [0, 2, 1, 3]
  %ek = tensor.empty() : tensor<1x2x16x8xf32>
  %kt = linalg.transpose ins(%ks : tensor<1x8x2x16xf32>) outs(%ek : tensor<1x2x16x8xf32>) permutation = [0, 2, 3, 1]
  %ev = tensor.empty() : tensor<1x2x8x16xf32>
  %v = linalg.transpose ins(%vs : tensor<1x8x2x16xf32>) outs(%ev : tensor<1x2x8x16xf32>) permutation = [0, 2, 1, 3]
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x2x8x8xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_kt, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %kt : tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) outs(%z0 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %ex0 = tensor.empty() : tensor<1x2x8x8xf32>
  %c0 = arith.constant 4.0 : f32
  %x0 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s : tensor<1x2x8x8xf32>) outs(%ex0 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.divf %a, %c0 : f32
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
  %e6 = tensor.empty() : tensor<1x2x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %out = linalg.generic {indexing_maps = [#pv_p, #pv_v, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) outs(%z2 : tensor<1x2x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x16xf32> loc(#qkv_slices)
  return %out : tensor<1x2x8x16xf32>
}

// bert: batch 2, a [b, 1, 1, s] padding mask (one mask row per batch, shared
// by the heads: group b·h / 2), scale as a division by a captured constant.
// CHECK-LABEL: func.func @bert_style
// CHECK: gpu.launch_func @kiln_library_kernels::@[[BERT:attention_f32_b2h2_q8k8_d16v16_s3e800000_mask2x1d2_w4r4]]
// CHECK-SAME: args(%{{.*}} : memref<512xf32>, %{{.*}} : memref<512xf32>, %{{.*}} : memref<512xf32>, %{{.*}} : memref<16xf32>, %{{.*}} : memref<512xf32>)
func.func @bert_style(%q: tensor<2x2x8x16xf32>, %k: tensor<2x2x8x16xf32>, %v: tensor<2x2x8x16xf32>, %mask: tensor<2x1x1x8xf32>) -> tensor<2x2x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<2x2x8x8xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x2x8x8xf32>) -> tensor<2x2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>) outs(%z0 : tensor<2x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x8xf32>
  %ex0 = tensor.empty() : tensor<2x2x8x8xf32>
  %c0 = arith.constant 4.0 : f32
  %x0 = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s : tensor<2x2x8x8xf32>) outs(%ex0 : tensor<2x2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.divf %a, %c0 : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x8xf32>
  %ex1 = tensor.empty() : tensor<2x2x8x8xf32>
  %x1 = linalg.generic {indexing_maps = [#id4, #mask_batch, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x0, %mask : tensor<2x2x8x8xf32>, tensor<2x1x1x8xf32>) outs(%ex1 : tensor<2x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x8xf32>
  %e1 = tensor.empty() : tensor<2x2x8x1xf32>
  %lo = linalg.fill ins(%lowest : f32) outs(%e1 : tensor<2x2x8x1xf32>) -> tensor<2x2x8x1xf32>
  %max = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x1 : tensor<2x2x8x8xf32>) outs(%lo : tensor<2x2x8x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x1xf32>
  %e2 = tensor.empty() : tensor<2x2x8x8xf32>
  %sub = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x1, %max : tensor<2x2x8x8xf32>, tensor<2x2x8x1xf32>) outs(%e2 : tensor<2x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x8xf32>
  %e3 = tensor.empty() : tensor<2x2x8x8xf32>
  %exp = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%sub : tensor<2x2x8x8xf32>) outs(%e3 : tensor<2x2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x8xf32>
  %e4 = tensor.empty() : tensor<2x2x8x1xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<2x2x8x1xf32>) -> tensor<2x2x8x1xf32>
  %sum = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%exp : tensor<2x2x8x8xf32>) outs(%z1 : tensor<2x2x8x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x1xf32>
  %e5 = tensor.empty() : tensor<2x2x8x8xf32>
  %p = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%exp, %sum : tensor<2x2x8x8xf32>, tensor<2x2x8x1xf32>) outs(%e5 : tensor<2x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x8xf32>
  %e6 = tensor.empty() : tensor<2x2x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<2x2x8x16xf32>) -> tensor<2x2x8x16xf32>
  %out = linalg.generic {indexing_maps = [#pv_p, #pv_v, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<2x2x8x8xf32>, tensor<2x2x8x16xf32>) outs(%z2 : tensor<2x2x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x16xf32> loc(#bert_style)
  return %out : tensor<2x2x8x16xf32>
}

// vit: no mask.
// CHECK-LABEL: func.func @vit_style
// CHECK: gpu.launch_func @kiln_library_kernels::@[[VIT:attention_f32_b1h2_q8k8_d16v16_s3e800000_w4r4]]
// CHECK-SAME: args(%{{.*}} : memref<256xf32>, %{{.*}} : memref<256xf32>, %{{.*}} : memref<256xf32>, %{{.*}} : memref<256xf32>)
func.func @vit_style(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x2x8x8xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) outs(%z0 : tensor<1x2x8x8xf32>) {
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
  %e6 = tensor.empty() : tensor<1x2x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %out = linalg.generic {indexing_maps = [#pv_p, #pv_v, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) outs(%z2 : tensor<1x2x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x16xf32> loc(#vit_style)
  return %out : tensor<1x2x8x16xf32>
}

// A constant causal mask (0 on and below the diagonal, -inf above) is not
// read: the kernel masks causally and skips the key tiles past each block.
// CHECK-LABEL: func.func @causal_constant
// CHECK: gpu.launch_func @kiln_library_kernels::@[[CAUSAL:attention_f32_b1h2_q8k8_d16v16_s3e800000_causal_w4r4]]
// CHECK-SAME: args(%{{.*}} : memref<256xf32>, %{{.*}} : memref<256xf32>, %{{.*}} : memref<256xf32>, %{{.*}} : memref<256xf32>)
func.func @causal_constant(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x2x8x8xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) outs(%z0 : tensor<1x2x8x8xf32>) {
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
  %ex1 = tensor.empty() : tensor<1x2x8x8xf32>
  %mask = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0.0, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0.0, 0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x1x8x8xf32>
  %x1 = linalg.generic {indexing_maps = [#id4, #mask_shared, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x0, %mask : tensor<1x2x8x8xf32>, tensor<1x1x8x8xf32>) outs(%ex1 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %e1 = tensor.empty() : tensor<1x2x8x1xf32>
  %lo = linalg.fill ins(%lowest : f32) outs(%e1 : tensor<1x2x8x1xf32>) -> tensor<1x2x8x1xf32>
  %max = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x1 : tensor<1x2x8x8xf32>) outs(%lo : tensor<1x2x8x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x1xf32>
  %e2 = tensor.empty() : tensor<1x2x8x8xf32>
  %sub = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x1, %max : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%e2 : tensor<1x2x8x8xf32>) {
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
  %e6 = tensor.empty() : tensor<1x2x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %out = linalg.generic {indexing_maps = [#pv_p, #pv_v, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) outs(%z2 : tensor<1x2x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x16xf32> loc(#causal_constant)
  return %out : tensor<1x2x8x16xf32>
}

// Not fused: the probabilities are also a result.
// CHECK-LABEL: func.func @probs_returned
// CHECK-NOT: gpu.launch_func
// CHECK: math.exp
// CHECK: return
func.func @probs_returned(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x2x8x8xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) outs(%z0 : tensor<1x2x8x8xf32>) {
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
  %e6 = tensor.empty() : tensor<1x2x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %out = linalg.generic {indexing_maps = [#pv_p, #pv_v, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) outs(%z2 : tensor<1x2x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x16xf32> loc(#probs_returned)
  return %out, %p : tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>
}

// Not fused: the mask is added before the scale.
// CHECK-LABEL: func.func @mask_then_scale
// CHECK-NOT: gpu.launch_func
// CHECK: math.exp
func.func @mask_then_scale(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %mask: tensor<1x1x8x8xf32>) -> tensor<1x2x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x2x8x8xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) outs(%z0 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %ex0 = tensor.empty() : tensor<1x2x8x8xf32>
  %x0 = linalg.generic {indexing_maps = [#id4, #mask_shared, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s, %mask : tensor<1x2x8x8xf32>, tensor<1x1x8x8xf32>) outs(%ex0 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %ex1 = tensor.empty() : tensor<1x2x8x8xf32>
  %c1 = arith.constant dense<0.25> : tensor<f32>
  %x1 = linalg.generic {indexing_maps = [#id4, #scalar4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x0, %c1 : tensor<1x2x8x8xf32>, tensor<f32>) outs(%ex1 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %e1 = tensor.empty() : tensor<1x2x8x1xf32>
  %lo = linalg.fill ins(%lowest : f32) outs(%e1 : tensor<1x2x8x1xf32>) -> tensor<1x2x8x1xf32>
  %max = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x1 : tensor<1x2x8x8xf32>) outs(%lo : tensor<1x2x8x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x1xf32>
  %e2 = tensor.empty() : tensor<1x2x8x8xf32>
  %sub = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x1, %max : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%e2 : tensor<1x2x8x8xf32>) {
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
  %e6 = tensor.empty() : tensor<1x2x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %out = linalg.generic {indexing_maps = [#pv_p, #pv_v, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) outs(%z2 : tensor<1x2x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x16xf32> loc(#mask_then_scale)
  return %out : tensor<1x2x8x16xf32>
}

// Not fused: the scale is not a constant.
// CHECK-LABEL: func.func @runtime_scale
// CHECK-NOT: gpu.launch_func
// CHECK: math.exp
func.func @runtime_scale(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %scale: tensor<f32>) -> tensor<1x2x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x2x8x8xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) outs(%z0 : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %ex0 = tensor.empty() : tensor<1x2x8x8xf32>
  %x0 = linalg.generic {indexing_maps = [#id4, #scalar4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s, %scale : tensor<1x2x8x8xf32>, tensor<f32>) outs(%ex0 : tensor<1x2x8x8xf32>) {
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
  %e6 = tensor.empty() : tensor<1x2x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %out = linalg.generic {indexing_maps = [#pv_p, #pv_v, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) outs(%z2 : tensor<1x2x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x16xf32> loc(#runtime_scale)
  return %out : tensor<1x2x8x16xf32>
}

// Not fused: a mask broadcast over the keys.
// CHECK-LABEL: func.func @mask_per_row
// CHECK-NOT: gpu.launch_func
// CHECK: math.exp
func.func @mask_per_row(%q: tensor<2x2x8x16xf32>, %k: tensor<2x2x8x16xf32>, %v: tensor<2x2x8x16xf32>, %mask: tensor<2x1x8x1xf32>) -> tensor<2x2x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<2x2x8x8xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x2x8x8xf32>) -> tensor<2x2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>) outs(%z0 : tensor<2x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x8xf32>
  %ex0 = tensor.empty() : tensor<2x2x8x8xf32>
  %x0 = linalg.generic {indexing_maps = [#id4, #mask_keys, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s, %mask : tensor<2x2x8x8xf32>, tensor<2x1x8x1xf32>) outs(%ex0 : tensor<2x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x8xf32>
  %e1 = tensor.empty() : tensor<2x2x8x1xf32>
  %lo = linalg.fill ins(%lowest : f32) outs(%e1 : tensor<2x2x8x1xf32>) -> tensor<2x2x8x1xf32>
  %max = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x0 : tensor<2x2x8x8xf32>) outs(%lo : tensor<2x2x8x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x1xf32>
  %e2 = tensor.empty() : tensor<2x2x8x8xf32>
  %sub = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x0, %max : tensor<2x2x8x8xf32>, tensor<2x2x8x1xf32>) outs(%e2 : tensor<2x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x8xf32>
  %e3 = tensor.empty() : tensor<2x2x8x8xf32>
  %exp = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%sub : tensor<2x2x8x8xf32>) outs(%e3 : tensor<2x2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x8xf32>
  %e4 = tensor.empty() : tensor<2x2x8x1xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<2x2x8x1xf32>) -> tensor<2x2x8x1xf32>
  %sum = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%exp : tensor<2x2x8x8xf32>) outs(%z1 : tensor<2x2x8x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x1xf32>
  %e5 = tensor.empty() : tensor<2x2x8x8xf32>
  %p = linalg.generic {indexing_maps = [#id4, #row4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%exp, %sum : tensor<2x2x8x8xf32>, tensor<2x2x8x1xf32>) outs(%e5 : tensor<2x2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x8xf32>
  %e6 = tensor.empty() : tensor<2x2x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<2x2x8x16xf32>) -> tensor<2x2x8x16xf32>
  %out = linalg.generic {indexing_maps = [#pv_p, #pv_v, #qk_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<2x2x8x8xf32>, tensor<2x2x8x16xf32>) outs(%z2 : tensor<2x2x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8x16xf32> loc(#mask_per_row)
  return %out : tensor<2x2x8x16xf32>
}

#gpt2_style = loc("gpt2_style (MatMul)"("m.onnx":0:0))
#qkv_slices = loc("qkv_slices (MatMul)"("m.onnx":0:0))
#bert_style = loc("bert_style (MatMul)"("m.onnx":0:0))
#vit_style = loc("vit_style (MatMul)"("m.onnx":0:0))
#causal_constant = loc("causal_constant (MatMul)"("m.onnx":0:0))
#probs_returned = loc("probs_returned (MatMul)"("m.onnx":0:0))
#mask_then_scale = loc("mask_then_scale (MatMul)"("m.onnx":0:0))
#runtime_scale = loc("runtime_scale (MatMul)"("m.onnx":0:0))
#mask_per_row = loc("mask_per_row (MatMul)"("m.onnx":0:0))

// The kernels, one per distinct spec, in the library gpu.module that
// kiln-cuda-merge-gpu-modules later joins with the model's other kernels.
// CHECK: gpu.module @kiln_library_kernels
// CHECK: llvm.mlir.global external @kiln_dynamic_shared()
// CHECK: gpu.func @[[GPT2]](%{{.*}}: memref<1024xf32> {llvm.noalias}, %{{.*}}: memref<1024xf32> {llvm.noalias}, %{{.*}}: memref<1024xf32> {llvm.noalias}, %{{.*}}: memref<256xf32> {llvm.noalias}, %{{.*}}: memref<1024xf32> {llvm.noalias}) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK: gpu.func @[[SLICES]](
// CHECK: gpu.func @[[BERT]](
// CHECK: gpu.func @[[VIT]](
// CHECK: gpu.func @[[CAUSAL]](
// CHECK-NOT: gpu.func

// --precision=f16: Q, K, V cast to f16 (f16 kernel), the f16 output widened
// back to the model's f32 (kiln-f16-activations later keeps it f16).
// The three casts come first, then the buffers (a buffer taken before
// another cast could be reused by it: bufferization does not see the
// kernel's reads).
// F16-LABEL: func.func @vit_style
// F16: %[[QH:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<256xf32>) outs(%{{.*}} : tensor<256xf16>)
// F16: arith.truncf %{{.*}} : f32 to f16
// F16: linalg.generic
// F16: linalg.generic
// F16-NOT: linalg.generic
// F16: %[[Q:.*]] = bufferization.to_buffer %[[QH]] read_only : tensor<256xf16> to memref<256xf16>
// F16: bufferization.to_buffer
// F16: bufferization.to_buffer
// F16: gpu.launch_func @kiln_library_kernels::@attention_f16_b1h2_q8k8_d16v16_s3e800000_tc_w4
// F16-SAME: args(%[[Q]] : memref<256xf16>, %{{.*}} : memref<256xf16>, %{{.*}} : memref<256xf16>, %[[O:.*]] : memref<256xf16>)
// F16: %[[T:.*]] = bufferization.to_tensor %[[O]] restrict : memref<256xf16> to tensor<256xf16>
// F16: %[[E:.*]] = tensor.expand_shape %[[T]]
// F16: linalg.generic {{.*}} ins(%[[E]] : tensor<1x2x8x16xf16>) outs(%{{.*}} : tensor<1x2x8x16xf32>)
// F16: arith.extf
