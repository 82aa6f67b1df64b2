func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w1 = arith.constant dense<[[1.0, 0.001, 0.001, 0.001], [0.001, 1.0, 0.001, 0.001], [0.001, 0.001, 1.0, 0.001], [0.001, 0.001, 0.001, 1.0],
                              [-1.0, 0.001, 0.001, 0.001], [0.001, -1.0, 0.001, 0.001], [0.001, 0.001, -1.0, 0.001], [0.001, 0.001, 0.001, -1.0]]> : tensor<8x4xf32>
  %w2 = arith.constant dense<[[0.9, -0.8, 0.7, 0.6, 0.8, -0.7, 0.9, 0.9], [0.6, 0.7, 0.8, 0.9, -0.5, 0.6, -0.7, 0.8],
                              [0.5, -0.9, 0.8, -0.7, 0.6, 0.8, -0.6, 0.7], [-0.6, 0.6, 0.9, 0.7, -0.8, 0.5, 0.7, -0.8]]> : tensor<4x8xf32>
  %zero = arith.constant dense<0.0> : tensor<2x8xf32>
  %h = kiln.linear %x, %w1 : (tensor<2x4xf32>, tensor<8x4xf32>) -> tensor<2x8xf32> loc("fc1 (Gemm)")
  %r = arith.maximumf %h, %zero : tensor<2x8xf32>
  %y = kiln.linear %r, %w2 : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32> loc("fc2 (Gemm)")
  return %y : tensor<2x4xf32>
}
