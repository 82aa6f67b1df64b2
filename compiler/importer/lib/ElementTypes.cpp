//===- ElementTypes.cpp - ONNX element types and their MLIR types --------===//
#include "ElementTypes.h"

#include "mlir/IR/BuiltinTypes.h"

namespace kiln::onnx_import {

llvm::StringRef dtypeName(int32_t dtype) {
  switch (dtype) {
  case kFloat: return "float";
  case kUInt8: return "uint8";
  case kInt8: return "int8";
  case kUInt16: return "uint16";
  case kInt16: return "int16";
  case kInt32: return "int32";
  case kInt64: return "int64";
  case kString: return "string";
  case kBool: return "bool";
  case kFloat16: return "float16";
  case kDouble: return "double";
  case kUInt32: return "uint32";
  case kUInt64: return "uint64";
  case kComplex64: return "complex64";
  case kComplex128: return "complex128";
  case kBFloat16: return "bfloat16";
  case kFloat8E4M3FN: return "float8e4m3fn";
  case kFloat8E4M3FNUZ: return "float8e4m3fnuz";
  case kFloat8E5M2: return "float8e5m2";
  case kFloat8E5M2FNUZ: return "float8e5m2fnuz";
  case kUInt4: return "uint4";
  case kInt4: return "int4";
  default: return "unknown";
  }
}

mlir::Type computeElementType(mlir::MLIRContext *context, int32_t dtype) {
  switch (dtype) {
  case kFloat: return mlir::Float32Type::get(context);
  case kFloat16: return mlir::Float16Type::get(context);
  case kBFloat16: return mlir::BFloat16Type::get(context);
  case kDouble: return mlir::Float64Type::get(context);
  case kBool: return mlir::IntegerType::get(context, 1);
  case kUInt8: case kInt8: return mlir::IntegerType::get(context, 8);
  case kUInt16: case kInt16: return mlir::IntegerType::get(context, 16);
  case kUInt32: case kInt32: return mlir::IntegerType::get(context, 32);
  case kUInt64: case kInt64: return mlir::IntegerType::get(context, 64);
  default: return {};
  }
}

std::optional<unsigned> storageBits(int32_t dtype) {
  switch (dtype) {
  case kBool: case kUInt8: case kInt8: return 8;
  case kFloat8E4M3FN: case kFloat8E4M3FNUZ: case kFloat8E5M2: case kFloat8E5M2FNUZ: return 8;
  case kUInt16: case kInt16: case kFloat16: case kBFloat16: return 16;
  case kUInt32: case kInt32: case kFloat: return 32;
  case kUInt64: case kInt64: case kDouble: return 64;
  case kUInt4: case kInt4: return 4;
  default: return std::nullopt;
  }
}

bool isFloatDType(int32_t dtype) {
  return dtype == kFloat || dtype == kFloat16 || dtype == kBFloat16 || dtype == kDouble;
}
bool isUnsignedDType(int32_t dtype) {
  return dtype == kUInt8 || dtype == kUInt16 || dtype == kUInt32 || dtype == kUInt64 ||
         dtype == kBool;
}
bool isSignedIntDType(int32_t dtype) {
  return dtype == kInt8 || dtype == kInt16 || dtype == kInt32 || dtype == kInt64;
}

} // namespace kiln::onnx_import
