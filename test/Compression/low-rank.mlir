// RUN: kiln-opt %s --kiln-low-rank=energy=0.9 | FileCheck %s --check-prefix=IR
// RUN: kiln-opt %s --kiln-low-rank=energy=0.9 --kiln-expand-compressed-weights | FileCheck %s --check-prefix=DECODED
// RUN: kiln-opt %s --kiln-low-rank=max-error=0.25 | FileCheck %s --check-prefix=IR
// RUN: kiln-opt %s --kiln-low-rank=rank=1 --kiln-expand-compressed-weights | FileCheck %s --check-prefix=RANK1
// RUN: kiln-opt %s --kiln-low-rank="rank=2 factor-bits=8" | FileCheck %s --check-prefix=QUANT
// RUN: kiln-opt %s --kiln-low-rank="rank=2 factor-bits=8" --kiln-expand-compressed-weights | FileCheck %s --check-prefix=DECODED
// RUN: kiln-opt %s --kiln-low-rank=rank=3 2>&1 | FileCheck %s --check-prefix=TOOBIG

// Singular values 4, 2 and 1 (squared: 16, 4, 1 of 21). Energy 0.9 needs
// rank 2 (20/21); an error budget of 0.25 also needs rank 2 (rank 1 leaves
// sqrt(5/21) = 0.49, rank 2 sqrt(1/21) = 0.22). Rank 2 keeps the 4 and 2.
// IR: kiln.low_rank {{.*}} : tensor<3x2xf32>, tensor<2x8xf32> -> !kiln.compressed<3x8xf32, low_rank = #kiln.low_rank<rank = 2>>
// DECODED: dense<{{\[\[}}4.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 2.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]>
// RANK1: dense<{{\[\[}}4.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00
// QUANT: kiln.low_rank {{.*}} : !kiln.compressed<3x2xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>, !kiln.compressed<2x8xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>> -> !kiln.compressed<3x8xf32, low_rank = #kiln.low_rank<rank = 2>>
// Rank 3 factors (3*(3+8) = 33 values) are not smaller than W (24).
// TOOBIG: warning: {{.*}}kiln-low-rank: layer 'fc (Gemm)' left dense: rank 3 factors of [3, 8] would not be smaller or cheaper
func.func @main(%x: tensor<1x8xf32>) -> tensor<1x3xf32> {
  %w = arith.constant dense<[[4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                             [0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                             [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<3x8xf32>
  %y = kiln.linear %x, %w : (tensor<1x8xf32>, tensor<3x8xf32>) -> tensor<1x3xf32> loc("fc (Gemm)")
  return %y : tensor<1x3xf32>
}
