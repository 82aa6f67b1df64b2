//===- Semantics.h - reference decoding of compressed weights ------------===//
//
// The meaning of every encoding, evaluated on constants: what each kernel is
// tested against and what `kiln-expand-compressed-weights` folds to.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_SEMANTICS_H
#define KILN_DIALECT_SEMANTICS_H

#include "kiln/Dialect/KilnDialect.h"
#include "mlir/Support/LLVM.h"

#include <vector>

namespace kiln {

/// The raw bytes of an elements attribute (dense or dense_resource).
/// Splats are expanded. Fails for attributes with no byte storage.
mlir::FailureOr<std::vector<uint8_t>> getElementBytes(mlir::ElementsAttr attr);

/// Values of a float or integer elements attribute, converted to float.
mlir::FailureOr<std::vector<float>> getElementsAsFloats(mlir::ElementsAttr attr);

/// Decodes the weight produced by `value` (a kiln.weight, a kiln.low_rank of
/// decodable factors, or an arith.constant) into row-major floats.
mlir::FailureOr<std::vector<float>> decodeWeight(mlir::Value value);

/// Builds a dense constant attribute of `type` from row-major floats
/// (converted to the element type with round-to-nearest-even).
mlir::DenseElementsAttr buildDenseFloats(mlir::RankedTensorType type,
                                         const std::vector<float> &values);

} // namespace kiln

#endif // KILN_DIALECT_SEMANTICS_H
