// RUN: kiln-opt %s --kiln-host-decode-weights-in-kernel --split-input-file | FileCheck %s

// int4 per group: the payload stays packed ([N, groups, bytes/group] i8),
// x is viewed as [batch, groups, bytes, 2] and each code is unpacked with
// shifts inside the contraction.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d3, d4)>
// CHECK-DAG: #[[P:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2, d3)>
// CHECK-DAG: #[[S:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1)>
// CHECK-LABEL: func.func @int4_per_group
// CHECK-DAG: %[[PAYLOAD:.*]] = arith.constant dense<{{\[\[\[}}33, 67], {{\[}}-119, -1]], {{\[\[}}0, 16], {{\[}}127, -128]]]> : tensor<2x2x2xi8>
// CHECK-DAG: %[[SCALES:.*]] = arith.constant dense<{{\[\[}}5.000000e-01, 2.500000e-01], {{\[}}1.000000e+00, 2.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2, 3]] output_shape [%{{.*}}, 2, 2, 2] : tensor<?x8xf32> into tensor<?x2x2x2xf32>
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[P]], #[[S]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[VIEW]], %[[PAYLOAD]], %[[SCALES]] :
// CHECK: linalg.index 4
// CHECK: arith.shli
// CHECK: arith.shrsi
// CHECK: arith.sitofp
// CHECK-NOT: kiln.linear
func.func @int4_per_group(%x: tensor<?x8xf32>) -> tensor<?x2xf32> {
  %w = kiln.weight payload(dense<[33, 67, -119, -1, 0, 16, 127, -128]> : tensor<8xi8>)
         scales(dense<[[0.5, 0.25], [1.0, 2.0]]> : tensor<2x2xf32>)
         : !kiln.compressed<2x8xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 4>>
  %y = kiln.linear %x, %w : (tensor<?x8xf32>, !kiln.compressed<2x8xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 4>>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// uint8 per channel with zero points: no shifts, the zero point is subtracted.
// CHECK-LABEL: func.func @uint8_per_channel
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<3x1x4x1xf32>, tensor<2x1x4xi8>, tensor<2xf32>, tensor<2xf32>)
// CHECK: arith.uitofp
// CHECK: arith.subf
// CHECK: arith.mulf
func.func @uint8_per_channel(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = kiln.weight payload(dense<[1, 2, 3, 4, -1, -2, -3, -4]> : tensor<8xi8>)
         scales(dense<[0.5, 0.25]> : tensor<2xf32>) zero_points(dense<[128, 3]> : tensor<2xui8>)
         : !kiln.compressed<2x4xf32, quant = #kiln.quant<storage = ui8, granularity = per_channel, axis = 0, symmetric = false, zero_point_type = ui8>>
  %y = kiln.linear %x, %w : (tensor<3x4xf32>, !kiln.compressed<2x4xf32, quant = #kiln.quant<storage = ui8, granularity = per_channel, axis = 0, symmetric = false, zero_point_type = ui8>>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// int3 codes straddle bytes: left for kiln-expand-compressed-weights.
// CHECK-LABEL: func.func @int3_left_alone
// CHECK: kiln.linear
func.func @int3_left_alone(%x: tensor<1x8xf32>) -> tensor<1x1xf32> {
  %w = kiln.weight payload(dense<[1, 2, 3]> : tensor<3xi8>) scales(dense<[0.5]> : tensor<1xf32>)
         : !kiln.compressed<1x8xf32, quant = #kiln.quant<storage = si3, granularity = per_channel, axis = 0>>
  %y = kiln.linear %x, %w : (tensor<1x8xf32>, !kiln.compressed<1x8xf32, quant = #kiln.quant<storage = si3, granularity = per_channel, axis = 0>>) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}
