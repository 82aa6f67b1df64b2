//===- OnnxImporter.cpp - ONNX models into kiln IR -----------------------===//
// Placeholder until the importer lands (issue 3).
#include "kiln/Importer/OnnxImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace kiln {

void registerImportedDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::func::FuncDialect, mlir::linalg::LinalgDialect>();
}

llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxModel(mlir::MLIRContext &, llvm::StringRef path, const ImportOptions &) {
  return llvm::createStringError(path + ": the ONNX importer is not built yet");
}

} // namespace kiln
