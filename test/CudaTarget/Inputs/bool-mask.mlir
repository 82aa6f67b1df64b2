module {
  func.func @main(%x: tensor<2x3xf32> {kiln.name = "x", kiln.dims = ["", ""], kiln.dtype = "float"})
      -> (tensor<2x3xf32> {kiln.name = "y", kiln.dims = ["", ""], kiln.dtype = "float"}) {
    %mask = arith.constant dense<[[true, false, true], [false, true, true]]> : tensor<2x3xi1>
    %lowest = arith.constant -1.0e4 : f32
    %e = tensor.empty() : tensor<2x3xf32>
    %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>,
                                          affine_map<(i, j) -> (i, j)>],
                         iterator_types = ["parallel", "parallel"]}
        ins(%x, %mask : tensor<2x3xf32>, tensor<2x3xi1>) outs(%e : tensor<2x3xf32>) {
    ^bb0(%a: f32, %m: i1, %o: f32):
      %s = arith.select %m, %a, %lowest : f32
      linalg.yield %s : f32
    } -> tensor<2x3xf32>
    return %r : tensor<2x3xf32>
  }
}
