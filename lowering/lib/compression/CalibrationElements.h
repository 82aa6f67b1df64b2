//===- CalibrationElements.h - element types of calibration inputs -------===//
//
// Calibration feeds every model input in its own element type (token ids as
// int64, masks as bool or int64, ...). These helpers name the element kinds
// that files (.npy descr, ONNX TensorProto data_type) and function
// arguments (element type plus the importer's kiln.dtype) can have, and
// convert values between kinds only where no value changes meaning.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LOWERING_COMPRESSION_CALIBRATIONELEMENTS_H
#define KILN_LOWERING_COMPRESSION_CALIBRATIONELEMENTS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace kiln::compression {

enum class ElementKind { F16, BF16, F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Bool };

/// numpy's spelling: "float32", "int64", "bool", "bfloat16", ...
llvm::StringRef elementKindName(ElementKind kind);
/// Bytes per element (bool: one byte, 0 or 1).
unsigned elementKindBytes(ElementKind kind);
bool isFloatKind(ElementKind kind);

/// The kind function argument `index` takes: its kiln.dtype (the ONNX
/// spelling the importer records) or else its element type (signless
/// integers read as signed); nullopt for anything else.
std::optional<ElementKind> argumentElementKind(mlir::func::FuncOp func, unsigned index);
/// A little-endian or byte-sized numpy descr ("<i8", "|b1", "<f4", ...).
std::optional<ElementKind> elementKindFromNpyDescr(llvm::StringRef descr);
/// An ONNX TensorProto.DataType (1 FLOAT, 7 INT64, 9 BOOL, ...).
std::optional<ElementKind> elementKindFromOnnx(uint64_t dataType);

/// `bytes` (elements of `from`) as elements of `to`. Floats convert to
/// floats (rounding to nearest), integers and bools to integers and bools
/// when every value fits (bool: 0 or 1); anything else fails, naming the
/// first value that does not fit or the kinds that do not mix.
llvm::Expected<std::vector<uint8_t>> convertElements(llvm::ArrayRef<uint8_t> bytes,
                                                     ElementKind from, ElementKind to);

/// Every element of `bytes` (elements of `kind`) as a float.
std::vector<float> elementsAsFloats(llvm::ArrayRef<uint8_t> bytes, ElementKind kind);
/// `values` stored as elements of the float kind `kind`.
std::vector<uint8_t> floatsAsElements(llvm::ArrayRef<float> values, ElementKind kind);

} // namespace kiln::compression

#endif // KILN_LOWERING_COMPRESSION_CALIBRATIONELEMENTS_H
