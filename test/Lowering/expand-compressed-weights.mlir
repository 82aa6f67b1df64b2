// RUN: kiln-opt %s -split-input-file --kiln-expand-compressed-weights | FileCheck %s
// The reference semantics of every encoding, on small weights whose decoded
// values were worked out by hand.

// Asymmetric ui4 per group of 4: scales [[0.5, 2.0]], zero points [[8, 0]],
// codes [8, 9, 10, 0 | 0, 1, 2, 15] packed low nibble first.
// CHECK-LABEL: func @asymmetric_int4_groups
// CHECK: arith.constant dense<{{\[}}[0.000000e+00, 5.000000e-01, 1.000000e+00, -4.000000e+00, 0.000000e+00, 2.000000e+00, 4.000000e+00, 3.000000e+01]]> : tensor<1x8xf32>
// CHECK-NOT: kiln.weight
// CHECK-NOT: kiln.dequantize
func.func @asymmetric_int4_groups() -> tensor<1x8xf32> {
  %w = kiln.weight payload(dense<[-104, 10, 16, -14]> : tensor<4xi8>)
      scales(dense<[[0.5, 2.0]]> : tensor<1x2xf32>) zero_points(dense<[[8, 0]]> : tensor<1x2xui8>)
      : !kiln.compressed<1x8xf32, quant = #kiln.quant<storage = ui4, granularity = per_group, axis = 1, group_size = 4, symmetric = false, zero_point_type = ui8>>
  %d = kiln.dequantize %w : !kiln.compressed<1x8xf32, quant = #kiln.quant<storage = ui4, granularity = per_group, axis = 1, group_size = 4, symmetric = false, zero_point_type = ui8>> -> tensor<1x8xf32>
  return %d : tensor<1x8xf32>
}

// -----
// Signed int4 per channel: codes 1, -4 | 7, -8 with scales 0.5 and 0.25.
// CHECK-LABEL: func @signed_int4_channels
// CHECK: arith.constant dense<{{\[}}[5.000000e-01, -2.000000e+00], [1.750000e+00, -2.000000e+00]]>
func.func @signed_int4_channels() -> tensor<2x2xf32> {
  %w = kiln.weight payload(dense<[-63, -121]> : tensor<2xi8>) scales(dense<[0.5, 0.25]> : tensor<2xf32>)
      : !kiln.compressed<2x2xf32, quant = #kiln.quant<storage = si4, granularity = per_channel>>
  %d = kiln.dequantize %w : !kiln.compressed<2x2xf32, quant = #kiln.quant<storage = si4, granularity = per_channel>> -> tensor<2x2xf32>
  return %d : tensor<2x2xf32>
}

// -----
// fp8 e4m3 codes 0x38 (1.0), 0x40 (2.0), 0xB8 (-1.0), 0x00 times scale 0.5.
// CHECK-LABEL: func @fp8
// CHECK: arith.constant dense<{{\[}}[5.000000e-01, 1.000000e+00, -5.000000e-01, 0.000000e+00]]>
func.func @fp8() -> tensor<1x4xf32> {
  %w = kiln.weight payload(dense<[56, 64, -72, 0]> : tensor<4xi8>) scales(dense<0.5> : tensor<1xf32>)
      : !kiln.compressed<1x4xf32, quant = #kiln.quant<storage = f8E4M3FN>>
  %d = kiln.dequantize %w : !kiln.compressed<1x4xf32, quant = #kiln.quant<storage = f8E4M3FN>> -> tensor<1x4xf32>
  return %d : tensor<1x4xf32>
}

// -----
// log2 ui4 codes 1, 2, 9 (sign + 1), 3 with scale 2: 2, 1, -2, 0.5.
// CHECK-LABEL: func @log2
// CHECK: arith.constant dense<{{\[}}[2.000000e+00, 1.000000e+00, -2.000000e+00, 5.000000e-01]]>
func.func @log2() -> tensor<1x4xf32> {
  %w = kiln.weight payload(dense<[33, 57]> : tensor<2xi8>) scales(dense<2.0> : tensor<1xf32>)
      : !kiln.compressed<1x4xf32, quant = #kiln.quant<storage = ui4, scheme = log2>>
  %d = kiln.dequantize %w : !kiln.compressed<1x4xf32, quant = #kiln.quant<storage = ui4, scheme = log2>> -> tensor<1x4xf32>
  return %d : tensor<1x4xf32>
}

// -----
// Codebook of 2-element vectors, 2-bit indices [2, 1]: entries (3, 4), (1, 2).
// CHECK-LABEL: func @codebook_vectors
// CHECK: arith.constant dense<{{\[}}[3.000000e+00, 4.000000e+00, 1.000000e+00, 2.000000e+00]]>
func.func @codebook_vectors() -> tensor<1x4xf32> {
  %w = kiln.weight payload(dense<6> : tensor<1xi8>)
      codebook(dense<[[0.0, 0.0], [1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<4x2xf32>)
      : !kiln.compressed<1x4xf32, quant = #kiln.quant<storage = ui2, scheme = codebook, vector_size = 2>>
  %d = kiln.dequantize %w : !kiln.compressed<1x4xf32, quant = #kiln.quant<storage = ui2, scheme = codebook, vector_size = 2>> -> tensor<1x4xf32>
  return %d : tensor<1x4xf32>
}

// -----
// Per-group codebooks: group 0 uses [10, 11, 12, 13], group 1 [20, 21, 22, 23];
// indices 0 1 2 3 | 3 2 1 0.
// CHECK-LABEL: func @codebook_groups
// CHECK: arith.constant dense<{{\[}}[1.000000e+01, 1.100000e+01, 1.200000e+01, 1.300000e+01, 2.300000e+01, 2.200000e+01, 2.100000e+01, 2.000000e+01]]>
func.func @codebook_groups() -> tensor<1x8xf32> {
  %w = kiln.weight payload(dense<[-28, 27]> : tensor<2xi8>)
      codebook(dense<[[[[10.0], [11.0], [12.0], [13.0]], [[20.0], [21.0], [22.0], [23.0]]]]> : tensor<1x2x4x1xf32>)
      : !kiln.compressed<1x8xf32, quant = #kiln.quant<storage = ui2, scheme = codebook, granularity = per_group, axis = 1, group_size = 4>>
  %d = kiln.dequantize %w : !kiln.compressed<1x8xf32, quant = #kiln.quant<storage = ui2, scheme = codebook, granularity = per_group, axis = 1, group_size = 4>> -> tensor<1x8xf32>
  return %d : tensor<1x8xf32>
}

// -----
// 2:4 of dense f32 values [1, 2, 3, 4]; indices (1, 3) then (0, 2).
// CHECK-LABEL: func @two_four
// CHECK: arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00, 0.000000e+00, 2.000000e+00, 3.000000e+00, 0.000000e+00, 4.000000e+00, 0.000000e+00]]>
func.func @two_four() -> tensor<1x8xf32> {
  %w = kiln.weight payload(dense<[0, 0, -128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, -128, 64]> : tensor<16xi8>)
      sparsity_meta(dense<-115> : tensor<1xi8>)
      : !kiln.compressed<1x8xf32, sparsity = #kiln.sparsity<kind = n_m, n = 2, m = 4>>
  %d = kiln.dequantize %w : !kiln.compressed<1x8xf32, sparsity = #kiln.sparsity<kind = n_m, n = 2, m = 4>> -> tensor<1x8xf32>
  return %d : tensor<1x8xf32>
}

// -----
// Unstructured: mask 0b00110101 keeps elements 0, 2, 4, 5; int8 codes 1..4, scale 1.
// CHECK-LABEL: func @unstructured_int8
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 0.000000e+00, 2.000000e+00, 0.000000e+00], [3.000000e+00, 4.000000e+00, 0.000000e+00, 0.000000e+00]]>
func.func @unstructured_int8() -> tensor<2x4xf32> {
  %w = kiln.weight payload(dense<[1, 2, 3, 4]> : tensor<4xi8>) scales(dense<1.0> : tensor<1xf32>)
      sparsity_meta(dense<53> : tensor<1xi8>)
      : !kiln.compressed<2x4xf32, quant = #kiln.quant<storage = si8>, sparsity = #kiln.sparsity<kind = unstructured, density = 0.5 : f64>>
  %d = kiln.dequantize %w : !kiln.compressed<2x4xf32, quant = #kiln.quant<storage = si8>, sparsity = #kiln.sparsity<kind = unstructured, density = 0.5 : f64>> -> tensor<2x4xf32>
  return %d : tensor<2x4xf32>
}

// -----
// Block sparse: 2x2 blocks, mask 0b0101 keeps blocks 0 (top left) and 2 (bottom left).
// CHECK-LABEL: func @block_sparse
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 0.000000e+00, 0.000000e+00], [3.000000e+00, 4.000000e+00, 0.000000e+00, 0.000000e+00], [5.000000e+00, 6.000000e+00, 0.000000e+00, 0.000000e+00], [7.000000e+00, 8.000000e+00, 0.000000e+00, 0.000000e+00]]>
func.func @block_sparse() -> tensor<4x4xf32> {
  %w = kiln.weight payload(dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi8>) scales(dense<1.0> : tensor<1xf32>)
      sparsity_meta(dense<5> : tensor<1xi8>)
      : !kiln.compressed<4x4xf32, quant = #kiln.quant<storage = si8>, sparsity = #kiln.sparsity<kind = block, density = 0.5 : f64, block_shape = [2, 2]>>
  %d = kiln.dequantize %w : !kiln.compressed<4x4xf32, quant = #kiln.quant<storage = si8>, sparsity = #kiln.sparsity<kind = block, density = 0.5 : f64, block_shape = [2, 2]>> -> tensor<4x4xf32>
  return %d : tensor<4x4xf32>
}

// -----
// Low rank with an int8 first factor: U = [[1], [2]] (codes 2, 4, scale 0.5), V = [[1, 2, 3]].
// The linear's weight becomes the dense product; the factors disappear.
// CHECK-LABEL: func @low_rank_linear
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>
// CHECK: kiln.linear %{{.*}}, %[[W]] : (tensor<5x3xf32>, tensor<2x3xf32>) -> tensor<5x2xf32>
// CHECK-NOT: kiln.low_rank
// CHECK-NOT: kiln.weight
!u8 = !kiln.compressed<2x1xf32, quant = #kiln.quant<storage = si8>>
!lr = !kiln.compressed<2x3xf32, low_rank = #kiln.low_rank<rank = 1>>
func.func @low_rank_linear(%x: tensor<5x3xf32>) -> tensor<5x2xf32> {
  %u = kiln.weight payload(dense<[2, 4]> : tensor<2xi8>) scales(dense<0.5> : tensor<1xf32>) : !u8
  %v = arith.constant dense<[[1.0, 2.0, 3.0]]> : tensor<1x3xf32>
  %w = kiln.low_rank %u, %v : !u8, tensor<1x3xf32> -> !lr
  %y = kiln.linear %x, %w : (tensor<5x3xf32>, !lr) -> tensor<5x2xf32>
  return %y : tensor<5x2xf32>
}

// -----
// Transposed first factor Ut = [[1, 2]] gives the same product.
// CHECK-LABEL: func @low_rank_transposed
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>
func.func @low_rank_transposed() -> tensor<2x3xf32> {
  %ut = arith.constant dense<[[1.0, 2.0]]> : tensor<1x2xf32>
  %v = arith.constant dense<[[1.0, 2.0, 3.0]]> : tensor<1x3xf32>
  %w = kiln.low_rank %ut, %v : tensor<1x2xf32>, tensor<1x3xf32> -> !kiln.compressed<2x3xf32, low_rank = #kiln.low_rank<rank = 1, layout = ut_v>>
  %d = kiln.dequantize %w : !kiln.compressed<2x3xf32, low_rank = #kiln.low_rank<rank = 1, layout = ut_v>> -> tensor<2x3xf32>
  return %d : tensor<2x3xf32>
}
