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

// -----

// ConvTranspose's flipped kernel (index -k + 2) decreases with its loop:
// tiling would compute the kernel's slice from the first and last index of
// a tile and get an empty one (the op then failed to verify, "operand #1
// has shape's dimension #3 to be greater than or equal to 3, but found 1").
// Such ops stay whole; the kernel is read in full.
// CHECK-LABEL: func.func @flipped_kernel
// CHECK-NOT: scf.for
// CHECK-NOT: tensor.extract_slice
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x1x1x7xf32>, tensor<1x1x1x3xf32>, tensor<3xf32>)
func.func @flipped_kernel(%x: tensor<1x1x1x7xf32>, %w: tensor<1x1x1x3xf32>, %init: tensor<1x1x1x5xf32>) -> tensor<1x1x1x5xf32> {
  %k = tensor.empty() : tensor<3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(n, g, m, o, c, k) -> (n, g, c, o + k)>,
                                        affine_map<(n, g, m, o, c, k) -> (g, c, m, -k + 2)>,
                                        affine_map<(n, g, m, o, c, k) -> (k)>,
                                        affine_map<(n, g, m, o, c, k) -> (n, g, m, o)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w, %k : tensor<1x1x1x7xf32>, tensor<1x1x1x3xf32>, tensor<3xf32>) outs(%init : tensor<1x1x1x5xf32>) {
    ^bb0(%a: f32, %b: f32, %unused: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
  } -> tensor<1x1x1x5xf32>
  return %y : tensor<1x1x1x5xf32>
}

// -----

// A convolution window (o + k) and a packed index (k floordiv 2) grow with
// their loops: such ops are still tiled.
// CHECK-LABEL: func.func @increasing_window
// CHECK: scf.for
// CHECK: linalg.generic
func.func @increasing_window(%x: tensor<64x67xf32>, %w: tensor<2xf32>, %init: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %k = tensor.empty() : tensor<4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(r, o, k) -> (r, o + k)>,
                                        affine_map<(r, o, k) -> (k floordiv 2)>,
                                        affine_map<(r, o, k) -> (k)>,
                                        affine_map<(r, o, k) -> (r, o)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w, %k : tensor<64x67xf32>, tensor<2xf32>, tensor<4xf32>) outs(%init : tensor<64x64xf32>) {
    ^bb0(%a: f32, %b: f32, %unused: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
  } -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}
