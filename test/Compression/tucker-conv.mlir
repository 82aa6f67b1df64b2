// RUN: kiln-opt %s --kiln-tucker-conv="rank-in=1 rank-out=1" 2>&1 | FileCheck %s
// RUN: kiln-opt %s --kiln-tucker-conv="energy=0.999" 2>&1 | FileCheck %s
// RUN: kiln-opt %s --kiln-tucker-conv="rank-in=2 rank-out=2" 2>&1 >/dev/null | FileCheck %s --check-prefix=LARGER
// RUN: not kiln-opt %s --kiln-tucker-conv="rank-in=1 rank-out=1 layers=^missing" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not kiln-opt %s --kiln-tucker-conv="rank-in=1" 2>&1 | FileCheck %s --check-prefix=OPTIONS
// RUN: kiln-opt %s --kiln-tucker-conv="rank-in=1 rank-out=1 factor-bits=8" 2>&1 | FileCheck %s --check-prefix=QUANT
// RUN: not kiln-opt %s --kiln-tucker-conv="rank-in=1 rank-out=1 factor-bits=9" 2>&1 | FileCheck %s --check-prefix=BITS

// W[k, c, 0, s] = a[k]·b[c]·g[s] with a = (3, 4), b = (4, 3), g = (1, 2) has
// multilinear rank (1, 1): HOSVD gives out = a/5 = (0.6, 0.8), in = b/5 =
// (0.8, 0.6) and core = (a·out)(b·in)·g = 25·g = (25, 50), exactly W.
// CHECK: remark: {{.*}}kiln-tucker-conv: layer 'conv (Conv)': ranks (1, 1), 8 -> 6 parameters, 72 -> 60 multiply-adds
// CHECK: %[[IN:.*]] = arith.constant dense<{{\[\[}}8.000000e-01, 6.000000e-01]]> : tensor<1x2xf32>
// CHECK: %[[REDUCED:.*]] = linalg.generic {{.*}} ins(%[[X:.*]], %[[IN]] : tensor<1x1x2x3x4xf32>, tensor<1x2xf32>) outs(%{{.*}} : tensor<1x1x1x3x4xf32>)
// CHECK: %[[CORE:.*]] = arith.constant dense<{{\[\[\[\[\[}}2.500000e+01, 5.000000e+01]]]]]> : tensor<1x1x1x1x2xf32>
// CHECK: %[[CONV:.*]] = linalg.generic {{.*}} ins(%[[REDUCED]], %[[CORE]] : tensor<1x1x1x3x4xf32>, tensor<1x1x1x1x2xf32>) outs(%{{.*}} : tensor<1x1x1x3x3xf32>)
// CHECK: %[[OUT:.*]] = arith.constant dense<{{\[\[}}6.000000e-01], [8.000000e-01]]> : tensor<2x1xf32>
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[CONV]], %[[OUT]] : tensor<1x1x1x3x3xf32>, tensor<2x1xf32>) outs(%[[INIT:.*]] : tensor<1x1x2x3x3xf32>)
// CHECK: tensor.reshape %[[Y]]
// CHECK-NOT: tensor<2x2x1x2xf32>

// Ranks (2, 2) would take 2·2 + 4·2 + 2·2 = 16 parameters, more than 8.
// LARGER: warning: {{.*}}kiln-tucker-conv: layer 'conv (Conv)' left dense: Tucker-2 ranks (2, 2) would take 16 parameters and 156 multiply-adds, not fewer than 8 and 72
// MISSING: kiln-tucker-conv: layers pattern '^missing' matches no convolution
// factor-bits=8: each factor as symmetric int8 codes, one scale per output
// channel: in = (0.8, 0.6) -> scale 0.8/127, codes (127, round(95.25) = 95);
// core = (25, 50) -> scale 50/127, codes (round(63.5) = 64 (ties to even),
// 127); out = (0.6, 0.8) -> one code 127 per row, scales 0.6/127, 0.8/127.
// The core matrix [r2, r1·k] is expanded back to the grouped filter layout.
// QUANT: remark: {{.*}}ranks (1, 1), 8 -> 6 parameters (8-bit codes), 72 -> 60 multiply-adds
// QUANT: %[[INW:.*]] = kiln.weight payload(dense<[127, 95]> : tensor<2xi8>) scales(dense<0.00629921257> : tensor<1xf32>) : !kiln.compressed<1x2xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>
// QUANT: %[[IN:.*]] = kiln.dequantize %[[INW]] {{.*}} -> tensor<1x2xf32>
// QUANT: linalg.generic {{.*}} ins(%{{.*}}, %[[IN]] : tensor<1x1x2x3x4xf32>, tensor<1x2xf32>)
// QUANT: %[[COREW:.*]] = kiln.weight payload(dense<[64, 127]> : tensor<2xi8>) scales(dense<0.393700778> : tensor<1xf32>)
// QUANT: %[[CORE:.*]] = kiln.dequantize %[[COREW]] {{.*}} -> tensor<1x2xf32>
// QUANT: %[[GROUPED:.*]] = tensor.expand_shape %[[CORE]] {{\[\[}}0, 1], [2, 3, 4]] output_shape [1, 1, 1, 1, 2] : tensor<1x2xf32> into tensor<1x1x1x1x2xf32>
// QUANT: linalg.generic {{.*}} ins(%{{.*}}, %[[GROUPED]] : tensor<1x1x1x3x4xf32>, tensor<1x1x1x1x2xf32>)
// QUANT: %[[OUTW:.*]] = kiln.weight payload(dense<127> : tensor<2xi8>) scales(dense<[0.00472440943, 0.00629921257]> : tensor<2xf32>) : !kiln.compressed<2x1xf32
// QUANT: kiln.dequantize %[[OUTW]] {{.*}} -> tensor<2x1xf32>
// BITS: kiln-tucker-conv: factor-bits must be 0 (f32) or 2..8; got 9
// OPTIONS: kiln-tucker-conv: set rank-in > 0 and rank-out > 0, or 0 < energy <= 1; got rank-in=1 rank-out=0 energy=0

#map = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>
#map1 = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
#map2 = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
func.func @main(%x: tensor<1x2x3x4xf32>) -> tensor<1x2x3x3xf32> {
  %w = arith.constant dense<[[[[12.0, 24.0]], [[9.0, 18.0]]], [[[16.0, 32.0]], [[12.0, 24.0]]]]> : tensor<2x2x1x2xf32>
  %xshape = arith.constant dense<[1, 1, 2, 3, 4]> : tensor<5xi64>
  %wshape = arith.constant dense<[1, 2, 2, 1, 2]> : tensor<5xi64>
  %yshape = arith.constant dense<[1, 2, 3, 3]> : tensor<4xi64>
  %zero = arith.constant 0.0 : f32
  %xg = tensor.reshape %x(%xshape) : (tensor<1x2x3x4xf32>, tensor<5xi64>) -> tensor<1x1x2x3x4xf32>
  %wg = tensor.reshape %w(%wshape) : (tensor<2x2x1x2xf32>, tensor<5xi64>) -> tensor<1x2x2x1x2xf32>
  %empty = tensor.empty() : tensor<1x1x2x3x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x1x2x3x3xf32>) -> tensor<1x1x2x3x3xf32>
  %conv = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%xg, %wg : tensor<1x1x2x3x4xf32>, tensor<1x2x2x1x2xf32>) outs(%init : tensor<1x1x2x3x3xf32>) {
  ^bb0(%in: f32, %in_w: f32, %out: f32):
    %m = arith.mulf %in, %in_w : f32
    %a = arith.addf %out, %m : f32
    linalg.yield %a : f32
  } -> tensor<1x1x2x3x3xf32> loc("conv (Conv)")
  %y = tensor.reshape %conv(%yshape) : (tensor<1x1x2x3x3xf32>, tensor<4xi64>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}
