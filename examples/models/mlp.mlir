module attributes {kiln.source = "mlp.onnx"} {
  func.func @main(%x: tensor<?x4xf32> {kiln.name = "x", kiln.dims = ["batch", ""], kiln.dtype = "float"})
      -> (tensor<?x3xf32> {kiln.name = "y", kiln.dims = ["batch", ""], kiln.dtype = "float"})
      attributes {kiln.dim_bounds = {batch = array<i64: 1, 64>}} {
    %w1 = arith.constant dense<[[0.1, -0.2, 0.3, 0.4], [0.5, 0.6, -0.7, 0.8], [0.9, 1.0, 1.1, -1.2], [0.05, 0.15, 0.25, 0.35], [-0.3, 0.2, 0.1, 0.0]]> : tensor<5x4xf32>
    %b1 = arith.constant dense<[0.01, 0.02, 0.03, 0.04, 0.05]> : tensor<5xf32>
    %w2 = arith.constant dense<[[1.0, -1.0, 0.5, 0.25, 2.0], [0.3, 0.3, 0.3, 0.3, 0.3], [-0.5, 0.5, -0.5, 0.5, -0.5]]> : tensor<3x5xf32>
    %b2 = arith.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf32>
    %h = kiln.linear %x, %w1 bias %b1 : (tensor<?x4xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<?x5xf32>
    %c0 = arith.constant 0 : index
    %n = tensor.dim %h, %c0 : tensor<?x5xf32>
    %e = tensor.empty(%n) : tensor<?x5xf32>
    %zero = arith.constant 0.0 : f32
    %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
        ins(%h : tensor<?x5xf32>) outs(%e : tensor<?x5xf32>) {
      ^bb0(%a: f32, %o: f32):
        %m = arith.maximumf %a, %zero : f32
        linalg.yield %m : f32
    } -> tensor<?x5xf32>
    %y = kiln.linear %r, %w2 bias %b2 : (tensor<?x5xf32>, tensor<3x5xf32>, tensor<3xf32>) -> tensor<?x3xf32>
    return %y : tensor<?x3xf32>
  }
}
