func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w1 = arith.constant dense<[[1.0, 0.5, 0.0, 0.0], [0.5, 1.0, 0.5, 0.0], [0.0, 0.5, 1.0, 0.5], [0.0, 0.0, 0.5, 1.0],
                              [1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 0.0, 1.0]]> : tensor<8x4xf32>
  %w2 = arith.constant dense<[[0.9, -0.3, 0.2, 0.4, 0.3, -0.7, 0.2, 0.9], [0.1, 0.2, 0.3, 0.4, -0.5, 0.6, -0.7, 0.8],
                              [0.5, -0.1, 0.8, -0.2, 0.4, 0.1, -0.6, 0.3], [-0.4, 0.6, 0.1, 0.7, -0.2, 0.5, 0.3, -0.8]]> : tensor<4x8xf32>
  %c = arith.constant dense<0.5> : tensor<2x8xf32>
  %h = kiln.linear %x, %w1 : (tensor<2x4xf32>, tensor<8x4xf32>) -> tensor<2x8xf32> loc("fc1 (Gemm)")
  %s = arith.subf %h, %c : tensor<2x8xf32>
  %y = kiln.linear %s, %w2 : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32> loc("fc2 (Gemm)")
  return %y : tensor<2x4xf32>
}
