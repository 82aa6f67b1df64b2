//===- ElementTypes.h - ONNX element types and their MLIR types ----------===//
#ifndef KILN_IMPORTER_ELEMENTTYPES_H
#define KILN_IMPORTER_ELEMENTTYPES_H

#include "mlir/IR/Types.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace kiln::onnx_import {

/// ONNX TensorProto.DataType codes, including those newer than the 1.12
/// schema that Debian's libonnx ships (the field is a plain int32).
enum DType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
  kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20,
  kUInt4 = 21,
  kInt4 = 22,
};

/// "float", "uint8", ... (the contract's kiln.dtype spelling).
llvm::StringRef dtypeName(int32_t dtype);
/// The MLIR element type that holds a tensor of `dtype` in imported IR
/// (signless integers; 4-bit and fp8 types only inside kiln.weight), or
/// a null type when Kiln cannot compute on it.
mlir::Type computeElementType(mlir::MLIRContext *context, int32_t dtype);
/// Bits of one element as stored in an ONNX tensor, or nullopt.
std::optional<unsigned> storageBits(int32_t dtype);

bool isFloatDType(int32_t dtype);
bool isUnsignedDType(int32_t dtype);
bool isSignedIntDType(int32_t dtype);
inline bool isIntegerDType(int32_t dtype) {
  return isUnsignedDType(dtype) || isSignedIntDType(dtype);
}

} // namespace kiln::onnx_import

#endif // KILN_IMPORTER_ELEMENTTYPES_H
