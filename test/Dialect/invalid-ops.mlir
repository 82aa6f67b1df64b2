// RUN: kiln-opt %s -split-input-file -verify-diagnostics
// The op verifiers point at the op and say what the encoding needs.

func.func @f() {
  // expected-error@+1 {{payload has 8 bytes but 32 codes of si4 need 16 bytes}}
  %w = kiln.weight payload(dense<0> : tensor<8xi8>) scales(dense<1.0> : tensor<1xf32>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4>>
  return
}

// -----
func.func @f() {
  // expected-error@+1 {{payload must be a 1-D tensor of i8 bytes, got 'tensor<4x4xi8>'}}
  %w = kiln.weight payload(dense<0> : tensor<4x4xi8>) scales(dense<1.0> : tensor<1xf32>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4>>
  return
}

// -----
func.func @f() {
  // expected-error@+1 {{needs 'scales' because quantized values are scaled}}
  %w = kiln.weight payload(dense<0> : tensor<16xi8>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4>>
  return
}

// -----
func.func @f() {
  // expected-error@+1 {{'scales' has shape 4 but the encoding needs 4, 2}}
  %w = kiln.weight payload(dense<0> : tensor<16xi8>) scales(dense<1.0> : tensor<4xf32>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 4>>
  return
}

// -----
func.func @f() {
  // expected-error@+1 {{'scales' has element type 'f32' but the encoding needs 'f16'}}
  %w = kiln.weight payload(dense<0> : tensor<16xi8>) scales(dense<1.0> : tensor<1xf32>)
      : !kiln.compressed<4x8xf16, quant = #kiln.quant<storage = si4, scale_type = f16>>
  return
}

// -----
func.func @f() {
  // expected-error@+1 {{has 'zero_points' but the encoding is symmetric or unquantized}}
  %w = kiln.weight payload(dense<0> : tensor<16xi8>) scales(dense<1.0> : tensor<1xf32>)
      zero_points(dense<0> : tensor<1xui8>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4>>
  return
}

// -----
func.func @f() {
  // expected-error@+1 {{needs 'zero_points' because the encoding is asymmetric}}
  %w = kiln.weight payload(dense<0> : tensor<16xi8>) scales(dense<1.0> : tensor<1xf32>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = ui4, symmetric = false, zero_point_type = ui8>>
  return
}

// -----
func.func @f() {
  // expected-error@+1 {{needs 'codebook' because the scheme is codebook}}
  %w = kiln.weight payload(dense<0> : tensor<16xi8>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = ui4, scheme = codebook>>
  return
}

// -----
func.func @f() {
  // expected-error@+1 {{has 'scales' but codebook encodings take no scales}}
  %w = kiln.weight payload(dense<0> : tensor<16xi8>) scales(dense<1.0> : tensor<1xf32>)
      codebook(dense<1.0> : tensor<16x1xf32>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = ui4, scheme = codebook>>
  return
}

// -----
func.func @f() {
  // expected-error@+1 {{'codebook' has shape 8, 1 but the encoding needs 16, 1}}
  %w = kiln.weight payload(dense<0> : tensor<16xi8>) codebook(dense<1.0> : tensor<8x1xf32>)
      : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = ui4, scheme = codebook>>
  return
}

// -----
func.func @f() {
  // 2:4 on [2, 8]: 8 kept values, each with a 2-bit index: 2 bytes of metadata.
  // expected-error@+1 {{'sparsity_meta' has shape 4 but the encoding needs 2}}
  %w = kiln.weight payload(dense<0> : tensor<4xi8>) scales(dense<1.0> : tensor<2xf32>)
      sparsity_meta(dense<0> : tensor<4xi8>)
      : !kiln.compressed<2x8xf32, quant = #kiln.quant<storage = si4, granularity = per_channel>, sparsity = #kiln.sparsity<kind = n_m, n = 2, m = 4>>
  return
}

// -----
func.func @f() {
  // expected-error@+1 {{needs 'sparsity_meta' because the weight is sparse}}
  %w = kiln.weight payload(dense<0> : tensor<4xi8>) scales(dense<1.0> : tensor<2xf32>)
      : !kiln.compressed<2x8xf32, quant = #kiln.quant<storage = si4, granularity = per_channel>, sparsity = #kiln.sparsity<kind = n_m, n = 2, m = 4>>
  return
}

// -----
func.func @f() {
  // The bitmask keeps 4 of 8 elements: 4 f32 values are 16 bytes.
  // expected-error@+1 {{payload has 12 bytes but 4 values of f32 need 16 bytes}}
  %w = kiln.weight payload(dense<0> : tensor<12xi8>) sparsity_meta(dense<53> : tensor<1xi8>)
      : !kiln.compressed<2x4xf32, sparsity = #kiln.sparsity<kind = unstructured, density = 0.5 : f64>>
  return
}

// -----
func.func @f() {
  // expected-error@+1 {{cannot hold a low-rank weight; build it with kiln.low_rank from two factors}}
  %w = kiln.weight payload(dense<0> : tensor<8xi8>)
      : !kiln.compressed<4x8xf32, low_rank = #kiln.low_rank<rank = 2>>
  return
}

// -----
func.func @f(%u: tensor<4x3xf32>, %v: tensor<2x8xf32>) {
  // expected-error@+1 {{first factor has shape 4, 3 but rank 2 with layout uv needs 4, 2}}
  %w = kiln.low_rank %u, %v : tensor<4x3xf32>, tensor<2x8xf32> -> !kiln.compressed<4x8xf32, low_rank = #kiln.low_rank<rank = 2>>
  return
}

// -----
func.func @f(%u: tensor<4x2xf16>, %v: tensor<2x8xf16>) {
  // expected-error@+1 {{factors must decompress to 'f32'}}
  %w = kiln.low_rank %u, %v : tensor<4x2xf16>, tensor<2x8xf16> -> !kiln.compressed<4x8xf32, low_rank = #kiln.low_rank<rank = 2>>
  return
}

// -----
func.func @f(%u: tensor<4x2xf32>, %v: tensor<2x8xf32>) {
  // expected-error@+1 {{result type needs a low_rank encoding}}
  %w = kiln.low_rank %u, %v : tensor<4x2xf32>, tensor<2x8xf32> -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>>
  return
}

// -----
func.func @f(%w: !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>>) {
  // expected-error@+1 {{result must be 'tensor<4x8xf32>', the weight's decompressed type, got 'tensor<8x4xf32>'}}
  %d = kiln.dequantize %w : !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si8>> -> tensor<8x4xf32>
  return
}

// -----
func.func @f(%x: tensor<2x6xf32>, %w: tensor<4x8xf32>) {
  // expected-error@+1 {{input has K = 6 but the weight [N, K] has K = 8}}
  %y = kiln.linear %x, %w : (tensor<2x6xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return
}

// -----
func.func @f(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{bias must be [4], got 'tensor<3xf32>'}}
  %y = kiln.linear %x, %w bias %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  return
}

// -----
func.func @f(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error@+1 {{result last dimension must be N = 4}}
  %y = kiln.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x5xf32>
  return
}

// -----
func.func @f(%x: tensor<2x8xf32>, %w: tensor<4x8xf16>) {
  // expected-error@+1 {{weight element type 'f16' differs from input element type 'f32'}}
  %y = kiln.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf16>) -> tensor<2x4xf32>
  return
}

// -----
func.func @f(%x: tensor<2x8xf32>, %w: tensor<8x8xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{must contain exactly one contraction, found 2}}
  %y = kiln.fused ins(%x, %w : tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32> {
  ^bb0(%a: tensor<2x8xf32>, %b: tensor<8x8xf32>):
    %l = kiln.linear %a, %b : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
    %m = kiln.linear %l, %b : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
    kiln.yield %m : tensor<2x8xf32>
  }
  return %y : tensor<2x8xf32>
}

// -----
func.func @f(%x: tensor<2x8xf32>, %w: tensor<8x8xf32>) -> tensor<1x8xf32> {
  %y = kiln.fused ins(%x, %w : tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<1x8xf32> {
  ^bb0(%a: tensor<2x8xf32>, %b: tensor<8x8xf32>):
    %l = kiln.linear %a, %b : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
    // expected-error@+1 {{cannot be fused into a kiln.fused region: only one contraction plus elementwise prologue and epilogue ops}}
    %s = tensor.extract_slice %l[0, 0] [1, 8] [1, 1] : tensor<2x8xf32> to tensor<1x8xf32>
    kiln.yield %s : tensor<1x8xf32>
  }
  return %y : tensor<1x8xf32>
}

// -----
func.func @f(%x: tensor<2x8xf32>, %w: tensor<8x8xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{body argument 1 has type 'tensor<8x8xf16>' but input 1 has type 'tensor<8x8xf32>'}}
  %y = kiln.fused ins(%x, %w : tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32> {
  ^bb0(%a: tensor<2x8xf32>, %b: tensor<8x8xf16>):
    kiln.yield %a : tensor<2x8xf32>
  }
  return %y : tensor<2x8xf32>
}
