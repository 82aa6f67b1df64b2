// RUN: kiln-opt %s -split-input-file -verify-diagnostics
// Every verifier of the encodings and of the compressed type rejects
// inconsistent input with a precise message, and never crashes.

// expected-error@+1 {{integer storage must say its signedness (si4 or ui4)}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = i4>>

// -----
// expected-error@+1 {{integer storage must be 2 to 8 bits, got 9}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si9>>

// -----
// expected-error@+1 {{storage must be a 2-8 bit integer or an fp8 type, got 'f16'}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = f16>>

// -----
// expected-error@+1 {{fp8 storage only supports the linear scheme}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = f8E5M2, scheme = log2>>

// -----
// expected-error@+1 {{codebook indices must be unsigned integers}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, scheme = codebook>>

// -----
// expected-error@+1 {{codebook vector_size must be 1, 2 or 4, got 3}}
func.func private @f() -> !kiln.compressed<4x6xf32, quant = #kiln.quant<storage = ui4, scheme = codebook, vector_size = 3>>

// -----
// expected-error@+1 {{vector_size is only meaningful for codebooks}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, vector_size = 2>>

// -----
// expected-error@+1 {{log2 codes are unsigned (sign bit + exponent)}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, scheme = log2>>

// -----
// expected-error@+1 {{per_group needs a positive group_size, got 0}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1>>

// -----
// expected-error@+1 {{group_size is only meaningful with per_group}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, granularity = per_channel, group_size = 4>>

// -----
// expected-error@+1 {{scale_type must be a float type, got 'i32'}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, scale_type = i32>>

// -----
// expected-error@+1 {{symmetric encodings have no zero_point_type}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, zero_point_type = ui8>>

// -----
// expected-error@+1 {{asymmetric encodings need a zero_point_type}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = ui4, symmetric = false>>

// -----
// expected-error@+1 {{group size 128 does not divide dimension 1 (size 200)}}
func.func private @f() -> !kiln.compressed<64x200xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 128>>

// -----
// expected-error@+1 {{quantization axis 2 is out of range for rank 2}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4, granularity = per_channel, axis = 2>>

// -----
// expected-error@+1 {{n_m sparsity needs 1 <= n < m, got n = 4, m = 4}}
func.func private @f() -> !kiln.compressed<4x8xf32, sparsity = #kiln.sparsity<kind = n_m, n = 4, m = 4>>

// -----
// expected-error@+1 {{2:4 sparsity needs the last dimension (size 6) to be a multiple of 4}}
func.func private @f() -> !kiln.compressed<4x6xf32, sparsity = #kiln.sparsity<kind = n_m, n = 2, m = 4>>

// -----
// expected-error@+1 {{unstructured and block sparsity need a density}}
func.func private @f() -> !kiln.compressed<4x8xf32, sparsity = #kiln.sparsity<kind = unstructured>>

// -----
// expected-error@+1 {{density must lie in (0, 1], got 1.5}}
func.func private @f() -> !kiln.compressed<4x8xf32, sparsity = #kiln.sparsity<kind = unstructured, density = 1.5 : f64>>

// -----
// expected-error@+1 {{block sparsity needs a block_shape}}
func.func private @f() -> !kiln.compressed<4x8xf32, sparsity = #kiln.sparsity<kind = block, density = 0.5 : f64>>

// -----
// expected-error@+1 {{block_shape has rank 1 but the weight has rank 2}}
func.func private @f() -> !kiln.compressed<4x8xf32, sparsity = #kiln.sparsity<kind = block, density = 0.5 : f64, block_shape = [4]>>

// -----
// expected-error@+1 {{block dimension 3 does not divide weight dimension 8}}
func.func private @f() -> !kiln.compressed<4x8xf32, sparsity = #kiln.sparsity<kind = block, density = 0.5 : f64, block_shape = [2, 3]>>

// -----
// expected-error@+1 {{low-rank rank 5 exceeds min(N, K) = 4}}
func.func private @f() -> !kiln.compressed<4x8xf32, low_rank = #kiln.low_rank<rank = 5>>

// -----
// expected-error@+1 {{low-rank rank must be positive, got 0}}
func.func private @f() -> !kiln.compressed<4x8xf32, low_rank = #kiln.low_rank<rank = 0>>

// -----
// expected-error@+1 {{a low-rank weight carries no other encoding itself; compress its factors instead}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4>, low_rank = #kiln.low_rank<rank = 2>>

// -----
// expected-error@+1 {{a compressed weight needs at least one encoding}}
func.func private @f() -> !kiln.compressed<4x8xf32>

// -----
// expected-error@+1 {{compressed weights decompress to a float type, got 'i32'}}
func.func private @f() -> !kiln.compressed<4x8xi32, quant = #kiln.quant<storage = si4>>

// -----
// expected-error@+1 {{compressed weight dimensions must be static and positive, got 0}}
func.func private @f() -> !kiln.compressed<0x8xf32, quant = #kiln.quant<storage = si4>>

// -----
// expected-error@+1 {{compressed weight element count overflows int64}}
func.func private @f() -> !kiln.compressed<4294967296x4294967296xf32, quant = #kiln.quant<storage = si4>>

// -----
// expected-error@+1 {{unknown encoding 'sparse' (expected quant, sparsity or low_rank)}}
func.func private @f() -> !kiln.compressed<4x8xf32, sparse = #kiln.quant<storage = si4>>

// -----
// expected-error@+1 {{encoding 'quant' given twice}}
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4>, quant = #kiln.quant<storage = si8>>
