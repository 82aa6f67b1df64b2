// RUN: kiln-opt %s --kiln-lower-linear-to-linalg --split-input-file --verify-diagnostics | FileCheck %s

// W is read through the (n, k) map: no transposed copy; the bias is the
// accumulator's initial value.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[BIAS:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @linear_bias
// CHECK-SAME: (%[[IN:.*]]: tensor<?x4xf32>, %[[WT:.*]]: tensor<3x4xf32>, %[[B:.*]]: tensor<3xf32>)
// CHECK: %[[DIM:.*]] = tensor.dim %[[IN]], %c0
// CHECK: %[[EMPTY:.*]] = tensor.empty(%[[DIM]]) : tensor<?x3xf32>
// CHECK: %[[INIT:.*]] = linalg.generic {indexing_maps = [#[[BIAS]], #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%[[B]] : tensor<3xf32>) outs(%[[EMPTY]]
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[IN]], %[[WT]] : tensor<?x4xf32>, tensor<3x4xf32>) outs(%[[INIT]] : tensor<?x3xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: kiln.linear
func.func @linear_bias(%x: tensor<?x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<?x3xf32> {
  %y = kiln.linear %x, %w bias %b : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

// Batch dims stay loops of their own; no bias means a zero fill; the
// arithmetic stays in the element type.
// CHECK-DAG: #[[BX:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[BW:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[BY:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @batched_f16
// CHECK: linalg.fill ins(%cst : f16)
// CHECK: linalg.generic {indexing_maps = [#[[BX]], #[[BW]], #[[BY]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK: arith.mulf %{{.*}} : f16
// CHECK: arith.addf %{{.*}} : f16
func.func @batched_f16(%x: tensor<2x5x4xf16>, %w: tensor<3x4xf16>) -> tensor<2x5x3xf16> {
  %y = kiln.linear %x, %w : (tensor<2x5x4xf16>, tensor<3x4xf16>) -> tensor<2x5x3xf16>
  return %y : tensor<2x5x3xf16>
}
