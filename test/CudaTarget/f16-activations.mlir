// RUN: kiln-opt %s --kiln-f16-activations | FileCheck %s

// --precision=f16: the weight becomes an f16 constant (saturated: 70000 is
// above the f16 maximum 65504), the elementwise product is stored as f16
// (computed in f32, clamped, truncated), the row sum reads it widened and
// accumulates into an f32 result, and the function still returns f32: the
// product is widened back for the return. The reshape follows its source.
// CHECK-LABEL: func.func @scale_and_sum
// CHECK-DAG: %[[W:.*]] = arith.constant dense<[1.000000e+00, 2.500000e-01, -3.000000e+00, 6.550400e+04]> : tensor<4xf16>
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[W]] : tensor<2x4xf32>, tensor<4xf16>) outs(%{{.*}} : tensor<2x4xf16>)
// CHECK: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f16, %{{.*}}: f16):
// CHECK:   %[[BW:.*]] = arith.extf %[[B]] : f16 to f32
// CHECK:   %[[M:.*]] = arith.mulf %[[A]], %[[BW]] : f32
// CHECK:   arith.minimumf %[[M]]
// CHECK:   arith.maximumf
// CHECK:   %[[T:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK:   linalg.yield %[[T]] : f16
// CHECK: %[[WIDE:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<2x4xf16>) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK:   arith.extf
// CHECK: %[[FILL:.*]] = linalg.generic {{.*}} ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2xf32>)
// CHECK-NOT: tensor<2xf16>
// CHECK: %[[S:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} ins(%[[P]] : tensor<2x4xf16>) outs(%[[FILL]] : tensor<2xf32>)
// CHECK:   arith.extf
// CHECK:   arith.addf {{.*}} : f32
// CHECK: } -> tensor<2xf32>
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[P]] {{.*}} : tensor<2x4xf16> into tensor<8xf16>
// CHECK: %[[N:.*]] = linalg.generic {{.*}} ins(%[[R]] : tensor<8xf16>) outs(%{{.*}} : tensor<8xf16>)
// CHECK:   arith.negf {{.*}} : f32
// CHECK: return %[[S]], %[[WIDE]], %{{.*}} : tensor<2xf32>, tensor<2x4xf32>, tensor<8xf32>
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#row = affine_map<(i, j) -> (i)>
func.func @scale_and_sum(%x: tensor<2x4xf32>) -> (tensor<2xf32>, tensor<2x4xf32>, tensor<8xf32>) {
  %w = arith.constant dense<[1.0, 0.25, -3.0, 70000.0]> : tensor<4xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %p = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %w : tensor<2x4xf32>, tensor<4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x4xf32>
  %zero = arith.constant 0.0 : f32
  %r0 = tensor.empty() : tensor<2xf32>
  %f = linalg.fill ins(%zero : f32) outs(%r0 : tensor<2xf32>) -> tensor<2xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%p : tensor<2x4xf32>) outs(%f : tensor<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sum = arith.addf %acc, %a : f32
    linalg.yield %sum : f32
  } -> tensor<2xf32>
  %flat = tensor.collapse_shape %p [[0, 1]] : tensor<2x4xf32> into tensor<8xf32>
  %e8 = tensor.empty() : tensor<8xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%flat : tensor<8xf32>) outs(%e8 : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %neg = arith.negf %a : f32
    linalg.yield %neg : f32
  } -> tensor<8xf32>
  return %s, %p, %n : tensor<2xf32>, tensor<2x4xf32>, tensor<8xf32>
}
