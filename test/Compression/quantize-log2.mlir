// RUN: kiln-opt %s --kiln-quantize-log2=bits=4 | FileCheck %s --check-prefix=IR
// RUN: kiln-opt %s --kiln-quantize-log2=bits=4 --kiln-expand-compressed-weights | FileCheck %s --check-prefix=DECODED
// RUN: not kiln-opt %s --kiln-quantize-log2=bits=2 2>&1 | FileCheck %s --check-prefix=BITS

// Scales are the row maxima (8 and 1). 4-bit codes hold exponents 1..7:
// 3/8 = 2^-1.42 rounds to 2^-1 (4); 0.05/8 is below half of the smallest
// step 2^-6 and flushes to 0; 0.3 = 2^-1.74 rounds to 2^-2 (0.25).
// IR: scales(dense<[8.000000e+00, 1.000000e+00]> : tensor<2xf32>)
// IR-SAME: quant = #kiln.quant<storage = ui4, scheme = log2, granularity = per_channel
// DECODED: arith.constant dense<{{\[\[}}8.000000e+00, -4.000000e+00, 4.000000e+00, 0.000000e+00], [1.000000e+00, 5.000000e-01, -2.500000e-01, 2.500000e-01]]> : tensor<2x4xf32>
// BITS: kiln-quantize-log2: bits must be 3 to 8, got 2
func.func @main(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[8.0, -4.0, 3.0, 0.05], [1.0, 0.5, -0.25, 0.3]]> : tensor<2x4xf32>
  %y = kiln.linear %x, %w : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32> loc("fc (Gemm)")
  return %y : tensor<1x2xf32>
}
