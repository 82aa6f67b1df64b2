// RUN: kiln-opt %s --kiln-prune-magnitude=density=0.5 | FileCheck %s --check-prefix=UNSTRUCTURED-IR
// RUN: kiln-opt %s --kiln-prune-magnitude=density=0.5 --kiln-expand-compressed-weights | FileCheck %s --check-prefix=UNSTRUCTURED
// RUN: kiln-opt %s --kiln-prune-magnitude="n=2 m=4" | FileCheck %s --check-prefix=NM-IR
// RUN: kiln-opt %s --kiln-prune-magnitude="n=2 m=4" --kiln-expand-compressed-weights | FileCheck %s --check-prefix=NM

// Unstructured at density 0.5 keeps the four largest magnitudes of the
// tensor (5, 2, 1 and, of the three 0.5s, the one with the lowest flat
// index 4); the bitmask is row-major, low bit first: 0b00010111 = 23.
// UNSTRUCTURED-IR: kiln.weight payload(dense<{{.*}}> : tensor<16xi8>) sparsity_meta(dense<23> : tensor<1xi8>)
// UNSTRUCTURED-IR-SAME: sparsity = #kiln.sparsity<kind = unstructured, density = 5.000000e-01 : f64>
// UNSTRUCTURED: dense<{{\[\[}}1.000000e+00, -5.000000e+00, 2.000000e+00, 0.000000e+00], [5.000000e-01, 0.000000e+00, 0.000000e+00, 0.000000e+00]]>
// 2:4 keeps the two largest magnitudes of each run of four; the ties
// among 0.5, -0.5, 0.5 go to the lower indices. Indices 1,2 and 0,2 in 2 bits each:
// 0b10_00_10_01 = 0x89 = -119 as i8.
// NM-IR: sparsity_meta(dense<-119> : tensor<1xi8>)
// NM-IR-SAME: sparsity = #kiln.sparsity<kind = n_m, n = 2, m = 4>
// NM: dense<{{\[\[}}0.000000e+00, -5.000000e+00, 2.000000e+00, 0.000000e+00], [5.000000e-01, 0.000000e+00, -5.000000e-01, 0.000000e+00]]>
func.func @main(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, -5.0, 2.0, 0.25], [0.5, 0.1, -0.5, 0.5]]> : tensor<2x4xf32>
  %y = kiln.linear %x, %w : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32> loc("fc (Gemm)")
  return %y : tensor<1x2xf32>
}
