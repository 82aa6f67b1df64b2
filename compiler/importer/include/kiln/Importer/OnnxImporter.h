//===- OnnxImporter.h - ONNX models into kiln IR -------------------------===//
#ifndef KILN_IMPORTER_ONNXIMPORTER_H
#define KILN_IMPORTER_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace kiln {

struct ImportOptions {
  /// "NAME=VALUE" pins a symbolic dimension; "NAME=MIN..MAX" bounds it.
  std::vector<std::string> dimBindings;
  /// Files (model or external data) larger than this are refused.
  uint64_t maxFileBytes = uint64_t(64) << 30;
};

/// Imports the ONNX model at `path`. On failure the error reads
/// "<file>: node '<name>' (<op>): <reason>" (or "<file>: <reason>" when no
/// node is to blame).
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxModel(mlir::MLIRContext &context, llvm::StringRef path,
                const ImportOptions &options);

/// Imports a model held in memory; `path` names it in errors and locates
/// its external data (the fuzzer's entry point).
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxModelFromBuffer(mlir::MLIRContext &context, llvm::StringRef bytes,
                          llvm::StringRef path, const ImportOptions &options);

/// Registers the dialects that imported IR uses.
void registerImportedDialects(mlir::DialectRegistry &registry);

} // namespace kiln

#endif // KILN_IMPORTER_ONNXIMPORTER_H
