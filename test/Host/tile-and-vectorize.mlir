// RUN: kiln-opt %s --kiln-host-tile-and-vectorize --split-input-file | FileCheck %s

// Contraction (m, n, k) with a dynamic m: m gets tile 1, n an even tile
// (48 = 6 x 8), k a tile of 16 (256 = 16 x 16); each tile is one
// multiply of static vectors reduced along k, with no masks.
// CHECK-LABEL: func.func @contraction
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: vector.transfer_read {{.*}} : tensor<1x16xf32>, vector<1x8x16xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<8x16xf32>, vector<1x8x16xf32>
// CHECK: arith.mulf {{.*}} : vector<1x8x16xf32>
// CHECK: vector.multi_reduction <add>, {{.*}} [2] : vector<1x8x16xf32> to vector<1x8xf32>
// CHECK-NOT: vector.mask
// CHECK-NOT: linalg.generic
func.func @contraction(%x: tensor<?x256xf32>, %w: tensor<48x256xf32>, %init: tensor<?x48xf32>) -> tensor<?x48xf32> {
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x256xf32>, tensor<48x256xf32>) outs(%init : tensor<?x48xf32>) {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
  } -> tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}

// -----

// A short static innermost loop is one tile; elementwise math is vectorized.
// CHECK-LABEL: func.func @elementwise
// CHECK: math.exp {{.*}} : vector<1x10xf32>
// CHECK-NOT: linalg.generic
func.func @elementwise(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x10xf32>
  %e = tensor.empty(%n) : tensor<?x10xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x10xf32>) outs(%e : tensor<?x10xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = math.exp %a : f32
      linalg.yield %r : f32
  } -> tensor<?x10xf32>
  return %y : tensor<?x10xf32>
}

// -----

// A gather (tensor.extract with computed indices) on a dynamic loop: tile 1,
// a one-lane vector.gather.
// CHECK-LABEL: func.func @gather
// CHECK: scf.for
// CHECK: vector.gather {{.*}} : tensor<100xf32>, vector<1xindex>
func.func @gather(%table: tensor<100xf32>, %idx: tensor<?xindex>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %idx, %c0 : tensor<?xindex>
  %e = tensor.empty(%n) : tensor<?xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%idx : tensor<?xindex>) outs(%e : tensor<?xf32>) {
    ^bb0(%i: index, %o: f32):
      %v = tensor.extract %table[%i] : tensor<100xf32>
      linalg.yield %v : f32
  } -> tensor<?xf32>
  return %y : tensor<?xf32>
}
