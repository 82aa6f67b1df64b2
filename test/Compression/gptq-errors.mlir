// RUN: kiln-opt %s --kiln-gptq="bits=4 group-size=0 layers=^fc2" | FileCheck %s --check-prefix=CONCAT
// RUN: kiln-opt %s --kiln-gptq="bits=4 group-size=3 layers=^fc2" 2>&1 >/dev/null | FileCheck %s --check-prefix=GROUP
// RUN: not kiln-opt %s --kiln-gptq="bits=9" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not kiln-opt %s --kiln-gptq="bits=4 layers=^dynamic" 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// BITS: kiln-gptq: needs bits 2..8

// Calibration runs the compiled model, so ops the reference evaluator lacks
// (tensor.concat) are fine.
// CONCAT-LABEL: func.func @concat
// CONCAT: kiln.weight
// A group size that does not divide K leaves the layer dense, named.
// GROUP: warning: {{.*}}kiln-gptq: layer 'fc2 (Gemm)' left dense: group size 3 does not divide K = 8
func.func @concat(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w2 = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]]> : tensor<2x8xf32>
  %cat = tensor.concat dim(1) %x, %x : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x8xf32>
  %y = kiln.linear %cat, %w2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x2xf32> loc("fc2 (Gemm)")
  return %y : tensor<2x2xf32>
}

// Calibration needs static input shapes; the error names the input.
// DYNAMIC: error: input 'tokens' has a dynamic dimension 0 with no name; calibration runs static shapes: give the model a static size there
func.func @dynamic(%x: tensor<?x4xf32> {kiln.name = "tokens"}) -> tensor<?x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = kiln.linear %x, %w : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32> loc("dynamic (Gemm)")
  return %y : tensor<?x2xf32>
}
