// RUN: kiln-opt %s -split-input-file --kiln-quantize-weights="bits=8" | FileCheck %s --check-prefix=INT8
// RUN: kiln-opt %s -split-input-file --kiln-quantize-weights="bits=4" | FileCheck %s --check-prefix=INT4
// RUN: kiln-opt %s -split-input-file --kiln-quantize-weights="bits=4 granularity=group group-size=2 symmetric=false" | FileCheck %s --check-prefix=ASYM
// RUN: kiln-opt %s -split-input-file --kiln-quantize-weights="bits=4 granularity=group group-size=3" 2>&1 | FileCheck %s --check-prefix=WARN
//
// Expected codes were computed by hand: symmetric scale = max|row| / (2^(b-1)-1),
// code = round-half-even(w / scale); asymmetric: the range [min(w,0), max(w,0)]
// maps onto [0, 15] with zero point round(-min / scale). Values are chosen away
// from rounding ties.

// WARN: warning: {{.*}}layer 'fc1 (Gemm)': group size 3 does not divide K = 4; weight left unquantized
// WARN: kiln.linear %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<2x4xf32>)

// INT8-LABEL: func @linear
// INT8: kiln.weight payload(dense<[22, -70, 98, 127, 76, 25, -13, 127]> : tensor<8xi8>)
// INT8-SAME: scales(dense<[0.031496{{[0-9]*}}, 0.007874{{[0-9]*}}]> : tensor<2xf32>)
// INT8-SAME: : !kiln.compressed<2x4xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>
// INT8-NOT: arith.constant

// INT4-LABEL: func @linear
// INT4: kiln.weight payload(dense<[-63, 117, 20, 127]> : tensor<4xi8>)
// INT4-SAME: scales(dense<[0.571428{{[0-9]*}}, 0.142857{{[0-9]*}}]> : tensor<2xf32>)
// INT4-SAME: #kiln.quant<storage = si4, granularity = per_channel>

// ASYM-LABEL: func @linear
// ASYM: kiln.weight payload(dense<[15, -4, 95, -16]> : tensor<4xi8>)
// ASYM-SAME: scales(dense<{{\[}}[0.19333{{[0-9]*}}, 0.26666{{[0-9]*}}], [0.04000{{[0-9]*}}, 0.07333{{[0-9]*}}]]> : tensor<2x2xf32>)
// ASYM-SAME: zero_points(dense<{{\[}}[11, 0], [0, 1]]> : tensor<2x2xui8>)
// ASYM-SAME: #kiln.quant<storage = ui4, granularity = per_group, axis = 1, group_size = 2, symmetric = false, zero_point_type = ui8>
func.func @linear(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.7, -2.2, 3.1, 4.0], [0.6, 0.2, -0.1, 1.0]]> : tensor<2x4xf32>
  %y = kiln.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32> loc("fc1 (Gemm)")
  return %y : tensor<3x2xf32>
}

// -----
// Weights that are not constants stay as they are.
// INT8-LABEL: func @dynamic_weight
// INT8: kiln.linear %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<2x4xf32>)
func.func @dynamic_weight(%x: tensor<3x4xf32>, %w: tensor<2x4xf32>) -> tensor<3x2xf32> {
  %y = kiln.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
