// RUN: kiln-opt %s --kiln-quantize-codebook="bits=2 layers=^fc" --kiln-expand-compressed-weights | FileCheck %s --check-prefix=TENSOR
// RUN: kiln-opt %s --kiln-quantize-codebook="bits=2 group-size=16 vector-size=2 layers=^vec" | FileCheck %s --check-prefix=GROUPIR
// RUN: kiln-opt %s --kiln-quantize-codebook="bits=2 group-size=16 vector-size=2 layers=^vec" --kiln-expand-compressed-weights | FileCheck %s --check-prefix=GROUP

// Four clusters of two values each: a 4-entry codebook holds their means.
// TENSOR-LABEL: func.func @clusters
// TENSOR: dense<{{\[\[}}5.000000e-02, 5.000000e-02, 1.010000e+01, 1.010000e+01], [2.020000e+01, 2.020000e+01, 3.050000e+01, 3.050000e+01]]>
func.func @clusters(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[0.0, 0.1, 10.0, 10.2], [20.0, 20.4, 30.0, 31.0]]> : tensor<2x4xf32>
  %y = kiln.linear %x, %w : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32> loc("fc (Gemm)")
  return %y : tensor<1x2xf32>
}

// One codebook of four 2-element vectors per row (group of 16 along K);
// each row uses exactly four distinct vectors, so decoding is exact.
// GROUPIR-LABEL: func.func @vectors
// GROUPIR: codebook({{.*}} : tensor<2x1x4x2xf32>)
// GROUPIR-SAME: quant = #kiln.quant<storage = ui2, scheme = codebook, granularity = per_group, axis = 1, group_size = 16, vector_size = 2>
// GROUP-LABEL: func.func @vectors
// GROUP: dense<{{\[\[}}0.000000e+00, 1.000000e-01, 1.000000e+01, 1.020000e+01, 0.000000e+00, 1.000000e-01, 1.000000e+00, 1.000000e+00, 2.000000e+00, 2.000000e+00, 1.000000e+00, 1.000000e+00, 0.000000e+00, 1.000000e-01, 1.000000e+01, 1.020000e+01], [-1.000000e+00, 1.000000e+00, -1.000000e+00, 1.000000e+00, 5.000000e+00, 0.000000e+00, 0.000000e+00, 5.000000e+00, 5.000000e+00, 0.000000e+00, 3.000000e+00, 3.000000e+00, -1.000000e+00, 1.000000e+00, 3.000000e+00, 3.000000e+00]]>
func.func @vectors(%x: tensor<1x16xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[0.0, 0.1, 10.0, 10.2, 0.0, 0.1, 1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 0.0, 0.1, 10.0, 10.2],
                             [-1.0, 1.0, -1.0, 1.0, 5.0, 0.0, 0.0, 5.0, 5.0, 0.0, 3.0, 3.0, -1.0, 1.0, 3.0, 3.0]]> : tensor<2x16xf32>
  %y = kiln.linear %x, %w : (tensor<1x16xf32>, tensor<2x16xf32>) -> tensor<1x2xf32> loc("vec (MatMul)")
  return %y : tensor<1x2xf32>
}
