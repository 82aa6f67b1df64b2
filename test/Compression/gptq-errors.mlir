// RUN: not kiln-opt %s --kiln-gptq="bits=4 group-size=0" 2>&1 | FileCheck %s --check-prefix=NOEVAL
// RUN: not kiln-opt %s --kiln-gptq="bits=9" 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: kiln-gptq: needs bits 2..8


// NOEVAL: error: calibration: the reference evaluator does not support 'tensor.concat'
func.func @concat(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w2 = arith.constant dense<1.0> : tensor<2x8xf32>
  %cat = tensor.concat dim(1) %x, %x : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x8xf32>
  %y = kiln.linear %cat, %w2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x2xf32> loc("fc2 (Gemm)")
  return %y : tensor<2x2xf32>
}
