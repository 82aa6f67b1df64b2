// RUN: kiln-opt %s --kiln-quantize-codebook="bits=2 group-size=4" 2>&1 >/dev/null | FileCheck %s --check-prefix=WARN
// RUN: not kiln-opt %s --kiln-quantize-codebook="layers=^nothing" 2>&1 | FileCheck %s --check-prefix=PATTERN
// RUN: not kiln-opt %s --kiln-quantize-codebook="vector-size=3" 2>&1 | FileCheck %s --check-prefix=OPTIONS
// PATTERN: kiln-quantize-codebook: layers pattern '^nothing' matches no kiln.linear layer
// OPTIONS: got bits=4 vector-size=3 group-size=0

func.func @indivisible(%x: tensor<1x6xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x6xf32>
// WARN: warning: {{.*}}kiln-quantize-codebook: layer 'odd (MatMul)' left dense: K = 6 is not a multiple of the group size 4 and the vector size 1
  %y = kiln.linear %x, %w : (tensor<1x6xf32>, tensor<2x6xf32>) -> tensor<1x2xf32> loc("odd (MatMul)")
  return %y : tensor<1x2xf32>
}

func.func @tiny(%x: tensor<1x4xf32>) -> tensor<1x1xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
// WARN: warning: {{.*}}kiln-quantize-codebook: layer 'tiny (Gemm)' left dense: the compressed weight would take 17 bytes, not fewer than the dense 16
  %y = kiln.linear %x, %w : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x1xf32> loc("tiny (Gemm)")
  return %y : tensor<1x1xf32>
}
