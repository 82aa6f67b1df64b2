// RUN: kiln-opt %s --kiln-gptq="bits=3 group-size=4 layers=^fc2" | FileCheck %s
// RUN: kiln-opt %s --kiln-gptq="bits=3 group-size=4 layers=^fc2" --kiln-expand-compressed-weights | FileCheck %s --check-prefix=LEVELS
// The numerics and the comparison with round-to-nearest are tested in
// test/unit/compression/GptqPassTest.cpp; here: encoding and diagnostics.

// CHECK-LABEL: func.func @mlp
// CHECK: kiln.weight payload(dense<{{.*}}> : tensor<6xi8>) scales(dense<{{.*}}> : tensor<2x2xf32>)
// CHECK-SAME: quant = #kiln.quant<storage = si3, granularity = per_group, axis = 1, group_size = 4>
// The all-zero first group of row 0 decodes to exact zeros (its error is
// zero, so nothing spreads into it from earlier columns).
// LEVELS: dense<{{\[\[}}0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00,
func.func @mlp(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w1 = arith.constant dense<[[1.0, 0.5, 0.0, 0.0], [0.5, 1.0, 0.5, 0.0], [0.0, 0.5, 1.0, 0.5], [0.0, 0.0, 0.5, 1.0],
                              [1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 0.0, 1.0]]> : tensor<8x4xf32>
  %w2 = arith.constant dense<[[0.0, 0.0, 0.0, 0.0, 0.3, -0.7, 0.2, 0.9], [0.1, 0.2, 0.3, 0.4, -0.5, 0.6, -0.7, 0.8]]> : tensor<2x8xf32>
  %c = arith.constant dense<1.0> : tensor<2x8xf32>
  %h = kiln.linear %x, %w1 : (tensor<2x4xf32>, tensor<8x4xf32>) -> tensor<2x8xf32> loc("fc1 (Gemm)")
  %s = arith.subf %h, %c : tensor<2x8xf32>
  %y = kiln.linear %s, %w2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x2xf32> loc("fc2 (Gemm)")
  return %y : tensor<2x2xf32>
}
