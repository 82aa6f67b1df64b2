//===- ModelSignature.h - the C-visible signature of a compiled model ----===//
#ifndef KILN_TARGETS_HOST_MODELSIGNATURE_H
#define KILN_TARGETS_HOST_MODELSIGNATURE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::host {

/// Values of kiln_dtype in runtime/include/kiln/kiln_model.h.
enum class DType : int32_t {
  F32 = 1, F16 = 2, BF16 = 3, F64 = 4, I8 = 5, I16 = 6, I32 = 7, I64 = 8,
  U8 = 9, U16 = 10, U32 = 11, U64 = 12, Bool = 13
};

/// The ONNX spelling of a dtype ("float", "uint8", ...), used in the JSON.
llvm::StringRef onnxDTypeName(DType dtype);

struct TensorSignature {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;         ///< -1 for symbolic dimensions
  std::vector<std::string> dimNames;  ///< "" for static dimensions
  std::vector<int32_t> dimSymbols;    ///< index into ModelSignature::symbols, -1 if static
};

struct SymbolSignature {
  std::string name;
  int64_t min;
  int64_t max;
};

struct ModelSignature {
  std::vector<TensorSignature> inputs;
  std::vector<TensorSignature> outputs;
  std::vector<SymbolSignature> symbols;
};

/// Reads the signature of @main (docs/ir-contract.md): names, dtypes,
/// symbolic dimensions and their bounds. Fails when an output has a
/// dynamic dimension that no input determines.
llvm::Expected<ModelSignature> extractModelSignature(mlir::ModuleOp module);

/// The signature as JSON (what `<prefix>_signature_json()` returns).
std::string signatureToJson(const ModelSignature &signature, llvm::StringRef prefix);

/// The self-contained C header of a model compiled with symbol `prefix`.
std::string generateHeader(const ModelSignature &signature, llvm::StringRef prefix);

/// Whether `name` can prefix C symbols.
bool isValidSymbolPrefix(llvm::StringRef name);

} // namespace kiln::host

#endif // KILN_TARGETS_HOST_MODELSIGNATURE_H
