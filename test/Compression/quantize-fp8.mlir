// RUN: kiln-opt %s --kiln-quantize-fp8 | FileCheck %s --check-prefix=IR
// RUN: kiln-opt %s --kiln-quantize-fp8 --kiln-expand-compressed-weights | FileCheck %s --check-prefix=DECODED

// Row 0 has max |w| = 448, the largest e4m3 value, so its scale is 1 and
// 1.1 rounds to the nearest e4m3 value 1.125 (3 mantissa bits). Row 1 has
// scale 3.5 / 448 = 2^-7; all of its values are exact in e4m3.
// IR: kiln.weight payload(dense<{{.*}}> : tensor<8xi8>) scales(dense<[1.000000e+00, 7.812500e-03]> : tensor<2xf32>)
// IR-SAME: quant = #kiln.quant<storage = f8E4M3FN, granularity = per_channel
// DECODED: arith.constant dense<{{\[\[}}4.480000e+02, -2.240000e+02, 1.125000e+00, 5.000000e-01], [3.500000e+00, -1.750000e+00, 4.375000e-01, 0.000000e+00]]> : tensor<2x4xf32>
func.func @main(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[448.0, -224.0, 1.1, 0.5], [3.5, -1.75, 0.4375, 0.0]]> : tensor<2x4xf32>
  %y = kiln.linear %x, %w : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32> loc("fc (Gemm)")
  return %y : tensor<1x2xf32>
}
