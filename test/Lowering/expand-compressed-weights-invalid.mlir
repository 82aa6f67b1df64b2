// RUN: kiln-opt %s -split-input-file --kiln-expand-compressed-weights -verify-diagnostics
// Metadata that the type cannot check (its values) is checked when decoded.

func.func @repeated_index() -> tensor<1x4xf32> {
  // Indices (1, 1) repeat within the run.
  // expected-error@+2 {{sparsity metadata of run 0 has an invalid or repeated index 1}}
  // expected-error@+1 {{cannot decode this compressed weight}}
  %w = kiln.weight payload(dense<0> : tensor<8xi8>) sparsity_meta(dense<5> : tensor<1xi8>)
      : !kiln.compressed<1x4xf32, sparsity = #kiln.sparsity<kind = n_m, n = 2, m = 4>>
  %d = kiln.dequantize %w : !kiln.compressed<1x4xf32, sparsity = #kiln.sparsity<kind = n_m, n = 2, m = 4>> -> tensor<1x4xf32>
  return %d : tensor<1x4xf32>
}
