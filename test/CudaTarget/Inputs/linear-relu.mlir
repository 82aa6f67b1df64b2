module {
  func.func @main(%x: tensor<2x4xf32> {kiln.name = "x", kiln.dims = ["", ""], kiln.dtype = "float"})
      -> (tensor<2x3xf32> {kiln.name = "y", kiln.dims = ["", ""], kiln.dtype = "float"}) {
    %w = arith.constant dense<[[0.1, -0.2, 0.3, 0.4], [0.5, 0.6, -0.7, 0.8], [0.9, 1.0, 1.1, -1.2]]> : tensor<3x4xf32>
    %b = arith.constant dense<[0.01, -0.02, 0.03]> : tensor<3xf32>
    %y = kiln.linear %x, %w bias %b : (tensor<2x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<2x3xf32>
    %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                         iterator_types = ["parallel", "parallel"]}
        ins(%y : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %m = arith.maximumf %in, %zero : f32
      linalg.yield %m : f32
    } -> tensor<2x3xf32>
    return %r : tensor<2x3xf32>
  }
}
