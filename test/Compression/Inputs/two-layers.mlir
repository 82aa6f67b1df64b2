func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %w1 = arith.constant dense<[[1.0, -5.0, 2.0, 0.25], [0.5, 0.1, -0.5, 0.5], [1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]]> : tensor<4x4xf32>
  %w2 = arith.constant dense<[[8.0, -4.0, 3.0, 0.05], [1.0, 0.5, -0.25, 0.3], [1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0]]> : tensor<4x4xf32>
  %zero = arith.constant dense<0.0> : tensor<1x4xf32>
  %h = kiln.linear %x, %w1 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32> loc("fc1 (Gemm)")
  %r = arith.maximumf %h, %zero : tensor<1x4xf32>
  %y = kiln.linear %r, %w2 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32> loc("fc2 (Gemm)")
  return %y : tensor<1x4xf32>
}
