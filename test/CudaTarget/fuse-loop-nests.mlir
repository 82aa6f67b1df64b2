// RUN: kiln-opt %s --convert-linalg-to-parallel-loops --cse --kiln-cuda-fuse-loop-nests \
// RUN:   | FileCheck %s

#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#row = affine_map<(i, j) -> (i)>
#tr = affine_map<(i, j) -> (j, i)>

// Epilogue: the zero fill, the contraction (its k loop in the thread) and
// the bias + ReLU after it touch y[i, j] only from thread (i, j): one nest.
// CHECK-LABEL: func.func @matmul_bias_relu
// CHECK:     scf.parallel (%[[I:.*]], %[[J:.*]]) =
// CHECK:       memref.store %{{.*}}, %[[Y:.*]][%[[I]], %[[J]]]
// CHECK:       scf.for
// CHECK:         arith.mulf
// CHECK:         arith.addf
// CHECK:       memref.load %[[Y]][%[[I]], %[[J]]]
// CHECK:       arith.addf
// CHECK:       arith.maximumf
// CHECK:       memref.store
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @matmul_bias_relu(%x: memref<4x8xf32>, %w: memref<8x16xf32>, %b: memref<16xf32>,
                            %y: memref<4x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<4x16xf32>)
  linalg.matmul ins(%x, %w : memref<4x8xf32>, memref<8x16xf32>) outs(%y : memref<4x16xf32>)
  linalg.generic {indexing_maps = [#col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<16xf32>) outs(%y : memref<4x16xf32>) {
  ^bb0(%bias: f32, %acc: f32):
    %s = arith.addf %acc, %bias : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// Softmax as left by elementwise fusion: row max, row sum of exp, then the
// normalization over (row, column). The last nest's column dimension
// becomes a loop in the row's thread: one nest with a thread per row.
// CHECK-LABEL: func.func @softmax_rows
// CHECK:     scf.parallel (%[[R:.*]]) =
// CHECK:       scf.for
// CHECK:         arith.maximumf
// CHECK:       scf.for
// CHECK:         math.exp
// CHECK:         arith.addf
// CHECK:       scf.for %[[C:.*]] =
// CHECK:         memref.load %[[MAX:.*]][%[[R]]]
// CHECK:         arith.divf
// CHECK:         memref.store %{{.*}}, %{{.*}}[%[[R]], %[[C]]]
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @softmax_rows(%x: memref<4x16xf32>, %y: memref<4x16xf32>) {
  %lowest = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %max = memref.alloc() : memref<4xf32>
  %sum = memref.alloc() : memref<4xf32>
  linalg.fill ins(%lowest : f32) outs(%max : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x16xf32>) outs(%max : memref<4xf32>) {
  ^bb0(%a: f32, %m: f32):
    %n = arith.maximumf %a, %m : f32
    linalg.yield %n : f32
  }
  linalg.fill ins(%zero : f32) outs(%sum : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %max : memref<4x16xf32>, memref<4xf32>) outs(%sum : memref<4xf32>) {
  ^bb0(%a: f32, %m: f32, %s: f32):
    %d = arith.subf %a, %m : f32
    %e = math.exp %d : f32
    %t = arith.addf %s, %e : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max, %sum : memref<4x16xf32>, memref<4xf32>, memref<4xf32>) outs(%y : memref<4x16xf32>) {
  ^bb0(%a: f32, %m: f32, %s: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %e = math.exp %d : f32
    %q = arith.divf %e, %s : f32
    linalg.yield %q : f32
  }
  return
}

// Not fused: the transpose reads t[j, i], which another thread wrote.
// CHECK-LABEL: func.func @transpose_after_elementwise
// CHECK: scf.parallel
// CHECK:   math.exp
// CHECK: scf.parallel
// CHECK:   memref.load %{{.*}}[%{{.*}}, %{{.*}}] : memref<4x4xf32>
// CHECK: return
func.func @transpose_after_elementwise(%x: memref<4x4xf32>, %y: memref<4x4xf32>) {
  %t = memref.alloc() : memref<4x4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x4xf32>) outs(%t : memref<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<4x4xf32>) outs(%y : memref<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  return
}

// Not fused: an elementwise nest with more dimensions after one without a
// loop in its threads would lose parallelism for nothing.
// CHECK-LABEL: func.func @broadcast_after_elementwise
// CHECK: scf.parallel (%{{[^,]*}}) =
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) =
// CHECK: return
func.func @broadcast_after_elementwise(%x: memref<4xf32>, %y: memref<4x8xf32>) {
  %t = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%x : memref<4xf32>) outs(%t : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<4xf32>) outs(%y : memref<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  return
}
