// RUN: kiln-opt %s --kiln-prune-magnitude="n=2 m=4" 2>&1 >/dev/null | FileCheck %s --check-prefix=NM
// RUN: kiln-opt %s --kiln-prune-magnitude=density=1.0 2>&1 >/dev/null | FileCheck %s --check-prefix=LARGER
// RUN: not kiln-opt %s --kiln-prune-magnitude="n=4 m=4" 2>&1 | FileCheck %s --check-prefix=OPTIONS

// NM: warning: {{.*}}kiln-prune-magnitude: layer 'odd (MatMul)' left dense: 2:4 sparsity needs K (6) to be a multiple of 4
// Density 1 stores all 12 values (48 bytes) plus a 2-byte mask.
// LARGER: warning: {{.*}}kiln-prune-magnitude: layer 'odd (MatMul)' left dense: the compressed weight would take 50 bytes, not fewer than the dense 48
// OPTIONS: kiln-prune-magnitude: needs 1 <= n < m <= 16 for N:M, or 0 < density <= 1; got n=4 m=4
func.func @main(%x: tensor<1x6xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]> : tensor<2x6xf32>
  %y = kiln.linear %x, %w : (tensor<1x6xf32>, tensor<2x6xf32>) -> tensor<1x2xf32> loc("odd (MatMul)")
  return %y : tensor<1x2xf32>
}
