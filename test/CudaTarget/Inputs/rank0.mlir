module {
  func.func @main(%x: tensor<f32> {kiln.name = "x", kiln.dims = [], kiln.dtype = "float"})
      -> (tensor<f32> {kiln.name = "y", kiln.dims = [], kiln.dtype = "float"}) {
    %e = tensor.empty() : tensor<f32>
    %r = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>],
                         iterator_types = []}
        ins(%x : tensor<f32>) outs(%e : tensor<f32>) {
    ^bb0(%in: f32, %out: f32):
      %n = arith.negf %in : f32
      linalg.yield %n : f32
    } -> tensor<f32>
    return %r : tensor<f32>
  }
}
