// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// Every op and encoding prints and parses back to itself.

// CHECK-LABEL: func @per_tensor_int8
// CHECK: kiln.weight payload(dense<{{.*}}> : tensor<32xi8>) scales(dense<2.500000e-01> : tensor<1xf32>) : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>>
func.func @per_tensor_int8() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>> {
  %w = kiln.weight payload(dense<1> : tensor<32xi8>) scales(dense<0.25> : tensor<1xf32>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>>
  return %w : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>>
}

// CHECK-LABEL: func @per_channel_int4
// CHECK: #kiln.quant<storage = si4, granularity = per_channel>
func.func @per_channel_int4() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, granularity = per_channel, axis = 0>> {
  %w = kiln.weight payload(dense<0> : tensor<16xi8>) scales(dense<1.0> : tensor<4xf32>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, granularity = per_channel, axis = 0>>
  return %w : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, granularity = per_channel, axis = 0>>
}

// CHECK-LABEL: func @per_group_asymmetric
// CHECK: zero_points(dense<8> : tensor<4x2xui8>)
// CHECK-SAME: #kiln.quant<storage = ui4, granularity = per_group, axis = 1, group_size = 4, symmetric = false, scale_type = f16, zero_point_type = ui8>
!asym = !kiln.compressed<4x8xf16, quant = #kiln.quant<storage = ui4, granularity = per_group, axis = 1, group_size = 4, symmetric = false, scale_type = f16, zero_point_type = ui8>>
func.func @per_group_asymmetric() -> !asym {
  %w = kiln.weight payload(dense<0> : tensor<16xi8>) scales(dense<1.0> : tensor<4x2xf16>)
      zero_points(dense<8> : tensor<4x2xui8>) : !asym
  return %w : !asym
}

// CHECK-LABEL: func @fp8_e4m3
// CHECK: #kiln.quant<storage = f8E4M3FN>
func.func @fp8_e4m3() -> !kiln.compressed<2x4xf16, quant = #kiln.quant<storage = f8E4M3FN>> {
  %w = kiln.weight payload(dense<56> : tensor<8xi8>) scales(dense<1.0> : tensor<1xf32>)
      : !kiln.compressed<2x4xf16, quant = #kiln.quant<storage = f8E4M3FN>>
  return %w : !kiln.compressed<2x4xf16, quant = #kiln.quant<storage = f8E4M3FN>>
}

// CHECK-LABEL: func @log2
// CHECK: #kiln.quant<storage = ui4, scheme = log2, granularity = per_channel>
!log2 = !kiln.compressed<2x4xf32, quant = #kiln.quant<storage = ui4, scheme = log2, granularity = per_channel>>
func.func @log2() -> !log2 {
  %w = kiln.weight payload(dense<17> : tensor<4xi8>) scales(dense<1.0> : tensor<2xf32>) : !log2
  return %w : !log2
}

// CHECK-LABEL: func @codebook_vectors
// CHECK: codebook(dense<{{.*}}> : tensor<16x2xf32>)
// CHECK-SAME: #kiln.quant<storage = ui4, scheme = codebook, vector_size = 2>
!cb = !kiln.compressed<2x4xf32, quant = #kiln.quant<storage = ui4, scheme = codebook, vector_size = 2>>
func.func @codebook_vectors() -> !cb {
  %w = kiln.weight payload(dense<0> : tensor<2xi8>) codebook(dense<0.5> : tensor<16x2xf32>) : !cb
  return %w : !cb
}

// CHECK-LABEL: func @codebook_per_group
// CHECK: codebook(dense<{{.*}}> : tensor<2x2x4x1xf32>)
!cbg = !kiln.compressed<2x8xf32, quant = #kiln.quant<storage = ui2, scheme = codebook, granularity = per_group, axis = 1, group_size = 4>>
func.func @codebook_per_group() -> !cbg {
  %w = kiln.weight payload(dense<0> : tensor<4xi8>) codebook(dense<1.0> : tensor<2x2x4x1xf32>) : !cbg
  return %w : !cbg
}

// CHECK-LABEL: func @two_four_int4
// CHECK: sparsity_meta(dense<{{.*}}> : tensor<2xi8>)
// CHECK-SAME: sparsity = #kiln.sparsity<kind = n_m, n = 2, m = 4>
!nm = !kiln.compressed<2x8xf32, quant = #kiln.quant<storage = si4, granularity = per_channel>, sparsity = #kiln.sparsity<kind = n_m, n = 2, m = 4>>
func.func @two_four_int4() -> !nm {
  %w = kiln.weight payload(dense<0> : tensor<4xi8>) scales(dense<1.0> : tensor<2xf32>)
      sparsity_meta(dense<[4, 4]> : tensor<2xi8>) : !nm
  return %w : !nm
}

// CHECK-LABEL: func @unstructured
// CHECK: #kiln.sparsity<kind = unstructured, density = 5.000000e-01 : f64>
!un = !kiln.compressed<2x4xf32, sparsity = #kiln.sparsity<kind = unstructured, density = 0.5 : f64>>
func.func @unstructured() -> !un {
  %w = kiln.weight payload(dense<0> : tensor<16xi8>) sparsity_meta(dense<53> : tensor<1xi8>) : !un
  return %w : !un
}

// CHECK-LABEL: func @block_sparse_int8
// CHECK: #kiln.sparsity<kind = block, density = 5.000000e-01 : f64, block_shape = [2, 2]>
!blk = !kiln.compressed<4x4xf32, quant = #kiln.quant<storage = si8>, sparsity = #kiln.sparsity<kind = block, density = 0.5 : f64, block_shape = [2, 2]>>
func.func @block_sparse_int8() -> !blk {
  %w = kiln.weight payload(dense<1> : tensor<8xi8>) scales(dense<1.0> : tensor<1xf32>)
      sparsity_meta(dense<5> : tensor<1xi8>) : !blk
  return %w : !blk
}

// CHECK-LABEL: func @low_rank_of_int4_factors
// CHECK: kiln.low_rank %{{.*}}, %{{.*}} : !kiln.compressed<8x2xf32, {{.*}}>, tensor<2x16xf32> -> !kiln.compressed<8x16xf32, low_rank = #kiln.low_rank<rank = 2>>
// CHECK: kiln.low_rank {{.*}} -> !kiln.compressed<8x16xf32, low_rank = #kiln.low_rank<rank = 2, layout = ut_v>>
!u = !kiln.compressed<8x2xf32, quant = #kiln.quant<storage = si4, granularity = per_channel>>
func.func @low_rank_of_int4_factors(%v: tensor<2x16xf32>, %ut: tensor<2x8xf32>)
    -> (!kiln.compressed<8x16xf32, low_rank = #kiln.low_rank<rank = 2>>,
        !kiln.compressed<8x16xf32, low_rank = #kiln.low_rank<rank = 2, layout = ut_v>>) {
  %u = kiln.weight payload(dense<0> : tensor<8xi8>) scales(dense<1.0> : tensor<8xf32>) : !u
  %w = kiln.low_rank %u, %v : !u, tensor<2x16xf32> -> !kiln.compressed<8x16xf32, low_rank = #kiln.low_rank<rank = 2>>
  %t = kiln.low_rank %ut, %v : tensor<2x8xf32>, tensor<2x16xf32> -> !kiln.compressed<8x16xf32, low_rank = #kiln.low_rank<rank = 2, layout = ut_v>>
  return %w, %t : !kiln.compressed<8x16xf32, low_rank = #kiln.low_rank<rank = 2>>, !kiln.compressed<8x16xf32, low_rank = #kiln.low_rank<rank = 2, layout = ut_v>>
}

// CHECK-LABEL: func @dequantize_and_linear
// CHECK: kiln.dequantize %{{.*}} : !kiln.compressed<4x8xf32, {{.*}}> -> tensor<4x8xf32>
// CHECK: kiln.linear %{{.*}}, %{{.*}} bias %{{.*}} : (tensor<?x8xf32>, !kiln.compressed<4x8xf32, {{.*}}>, tensor<4xf32>) -> tensor<?x4xf32>
func.func @dequantize_and_linear(%x: tensor<?x8xf32>, %b: tensor<4xf32>) -> (tensor<4x8xf32>, tensor<?x4xf32>) {
  %w = kiln.weight payload(dense<1> : tensor<32xi8>) scales(dense<0.25> : tensor<1xf32>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>>
  %d = kiln.dequantize %w : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>> -> tensor<4x8xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<?x8xf32>, !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>>, tensor<4xf32>) -> tensor<?x4xf32>
  return %d, %y : tensor<4x8xf32>, tensor<?x4xf32>
}

// CHECK-LABEL: func @fused_linear_epilogue
// CHECK: kiln.fused ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x8xf32>, !kiln.compressed<4x8xf32, {{.*}}>, tensor<2x4xf32>) -> tensor<2x4xf32> {
// CHECK:   kiln.linear
// CHECK:   arith.addf
// CHECK:   kiln.yield %{{.*}} : tensor<2x4xf32>
func.func @fused_linear_epilogue(%x: tensor<2x8xf32>, %r: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = kiln.weight payload(dense<1> : tensor<32xi8>) scales(dense<0.25> : tensor<1xf32>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>>
  %y = kiln.fused ins(%x, %w, %r : tensor<2x8xf32>, !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>>, tensor<2x4xf32>) -> tensor<2x4xf32> {
  ^bb0(%a: tensor<2x8xf32>, %b: !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>>, %c: tensor<2x4xf32>):
    %l = kiln.linear %a, %b : (tensor<2x8xf32>, !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>>) -> tensor<2x4xf32>
    %s = arith.addf %l, %c : tensor<2x4xf32>
    kiln.yield %s : tensor<2x4xf32>
  }
  return %y : tensor<2x4xf32>
}

// CHECK-LABEL: func @resource_payload
// CHECK: payload(dense_resource<w0> : tensor<8xi8>)
func.func @resource_payload() -> !kiln.compressed<2x8xf32, quant = #kiln.quant<storage = si4>> {
  %w = kiln.weight payload(dense_resource<w0> : tensor<8xi8>) scales(dense<1.0> : tensor<1xf32>)
      : !kiln.compressed<2x8xf32, quant = #kiln.quant<storage = si4>>
  return %w : !kiln.compressed<2x8xf32, quant = #kiln.quant<storage = si4>>
}

{-#
  dialect_resources: {
    builtin: {
      w0: "0x010000000102030405060708"
    }
  }
#-}
