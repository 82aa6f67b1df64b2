//===- QuantizedWeights.h - pre-quantized constant weights ---------------===//
//
// A DequantizeLinear of constant codes (or a MatMulNBits weight) is kept as
// its codes, scales and zero points until a consumer needs it: a MatMul or
// Gemm takes it as a kiln.weight in [N, K] layout (repacked when the model
// stores [K, N]); any other consumer gets kiln.dequantize of that weight.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IMPORTER_QUANTIZEDWEIGHTS_H
#define KILN_IMPORTER_QUANTIZEDWEIGHTS_H

#include "ImportContext.h"
#include "kiln/Dialect/KilnDialect.h"

namespace kiln::onnx_import {

class GraphImporter;

struct QuantizedConstant {
  llvm::SmallVector<int64_t> shape;  // logical shape, row-major codes
  std::vector<uint32_t> codes;       // raw `bits`-bit patterns
  mlir::Type storage;                // siN / uiN / f8E4M3FN / f8E5M2
  unsigned bits = 8;
  std::vector<float> scales;
  llvm::SmallVector<int64_t> scaleShape;
  mlir::Type scaleType;              // also the dequantized element type
  int32_t scaleDType = kFloat;
  std::vector<int32_t> zeroPoints;   // empty when symmetric
  mlir::Type zeroPointType;
  QuantGranularity granularity = QuantGranularity::PerTensor;
  int64_t axis = 0;
  int64_t groupSize = 0;

  /// The same weight with its two dimensions swapped.
  QuantizedConstant transposed() const;
};

/// kiln.weight for `weight` (2-D), transposed first when `transpose`.
mlir::Value buildQuantizedWeight(GraphImporter &importer, const QuantizedConstant &weight,
                                 bool transpose, mlir::Location loc, llvm::StringRef name);
/// The dense value: kiln.dequantize of the weight in its own layout.
mlir::Value buildDequantizedValue(GraphImporter &importer, const QuantizedConstant &weight,
                                  mlir::Location loc, llvm::StringRef name);

} // namespace kiln::onnx_import

#endif // KILN_IMPORTER_QUANTIZEDWEIGHTS_H
