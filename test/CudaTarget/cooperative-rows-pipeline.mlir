// RUN: kiln-opt %s --kiln-cuda-lowering | FileCheck %s
// RUN: kiln-opt %s --kiln-cuda-loops | FileCheck %s --check-prefix=LOOPS

// A softmax over rows of 64 through the whole CUDA lowering: the row kernel
// runs a warp per row (4 rows, each a block of 32 lanes) with shuffle
// reductions. kiln-cuda-loops (the CPU test pipeline) stops before that pass:
// its nest keeps a thread per row and no GPU op.
// CHECK: func.func @kiln_model_entry
// CHECK: gpu.launch_func @{{.*}} blocks in (%[[C4:.*]], %{{.*}}, %{{.*}}) threads in (%[[C32:.*]], %{{.*}}, %{{.*}})
// CHECK: gpu.func
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: arith.maximumf
// CHECK: nvvm.bar.warp.sync
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: nvvm.bar.warp.sync
// CHECK: arith.divf
// LOOPS: scf.parallel (%{{[^)]*}}) = (%{{.*}}) to (%{{.*}}) step
// LOOPS-NOT: gpu.
// LOOPS: return
module {
  func.func @main(%x: tensor<4x64xf32> {kiln.name = "x", kiln.dims = ["", ""], kiln.dtype = "float"})
      -> (tensor<4x64xf32> {kiln.name = "y", kiln.dims = ["", ""], kiln.dtype = "float"}) {
    %lowest = arith.constant 0xFF800000 : f32
    %zero = arith.constant 0.0 : f32
    %e1 = tensor.empty() : tensor<4xf32>
    %m0 = linalg.fill ins(%lowest : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
    %max = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                           iterator_types = ["parallel", "reduction"]}
        ins(%x : tensor<4x64xf32>) outs(%m0 : tensor<4xf32>) {
    ^bb0(%a: f32, %m: f32):
      %n = arith.maximumf %a, %m : f32
      linalg.yield %n : f32
    } -> tensor<4xf32>
    %s0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
    %sum = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>,
                                            affine_map<(i, j) -> (i)>],
                           iterator_types = ["parallel", "reduction"]}
        ins(%x, %max : tensor<4x64xf32>, tensor<4xf32>) outs(%s0 : tensor<4xf32>) {
    ^bb0(%a: f32, %m: f32, %s: f32):
      %d = arith.subf %a, %m : f32
      %e = math.exp %d : f32
      %t = arith.addf %s, %e : f32
      linalg.yield %t : f32
    } -> tensor<4xf32>
    %e2 = tensor.empty() : tensor<4x64xf32>
    %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>,
                                          affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>],
                         iterator_types = ["parallel", "parallel"]}
        ins(%x, %max, %sum : tensor<4x64xf32>, tensor<4xf32>, tensor<4xf32>) outs(%e2 : tensor<4x64xf32>) {
    ^bb0(%a: f32, %m: f32, %s: f32, %o: f32):
      %d = arith.subf %a, %m : f32
      %e = math.exp %d : f32
      %q = arith.divf %e, %s : f32
      linalg.yield %q : f32
    } -> tensor<4x64xf32>
    return %y : tensor<4x64xf32>
  }
}
